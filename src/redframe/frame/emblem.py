"""The emblem: a plain red dot drawn by code, or the user's own logo (PNG, or SVG).

We ship no maker's logo or trademark. The default emblem is a flat red disc whose edge is
anti-aliased analytically (coverage = clamp(r - d + 0.5, 0, 1) for a pixel centre at
distance d from the centre), so it is sharp at any size with no bitmap scaling.

User logos keep their aspect ratio (a wide wordmark stays wide; it is never squashed into
a square), are scaled to the emblem height at final size from the source file (SVG is
rasterised at that size with resvg when the optional ``resvg-py`` package is installed),
and a missing, unreadable or empty logo is a :class:`~redframe.errors.UsageError` naming
the file.
"""

from __future__ import annotations

import functools
import io
import math
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from redframe.errors import UsageError

__all__ = ["dot_mask", "Logo", "load_logo", "MAX_LOGO_ASPECT"]

#: A logo wider than this many times its height is shrunk to fit this width.
MAX_LOGO_ASPECT = 6.0
_MAX_LOGO_BYTES = 20_000_000


def dot_mask(cx: float, cy: float, radius: float) -> tuple[np.ndarray, int, int]:
    """Coverage mask (float32 0..1) of a disc centred at canvas (cx, cy), and its top-left."""
    x0, y0 = math.floor(cx - radius) - 1, math.floor(cy - radius) - 1
    x1, y1 = math.ceil(cx + radius) + 1, math.ceil(cy + radius) + 1
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5 - cy
    xs = np.arange(x0, x1, dtype=np.float32)[None, :] + 0.5 - cx
    dist = np.sqrt(xs * xs + ys * ys)
    return np.clip(radius - dist + 0.5, 0.0, 1.0), x0, y0


class Logo:
    """A user logo file, checked once and rasterised on demand at a target height."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise UsageError(f"logo {str(path)!r} not found")
        data = self.path.read_bytes()
        if not data:
            raise UsageError(f"logo {str(path)!r} is empty")
        if len(data) > _MAX_LOGO_BYTES:
            raise UsageError(f"logo {str(path)!r} is larger than 20 MB")
        head = data[:512].lstrip()
        self.is_svg = self.path.suffix.lower() in (".svg", ".svgz") or head.startswith(
            (b"<?xml", b"<svg"))
        self._data = data
        if self.is_svg:
            png = _svg_to_png(data, str(path), height=None)
            self._source = _decode_png(png, str(path))
        else:
            self._source = _decode_png(data, str(path))
        h, w = self._source.shape[:2]
        alpha = self._source[..., 3]
        if not alpha.any():
            raise UsageError(f"logo {str(path)!r} is fully transparent")
        ys, xs = np.nonzero(alpha)
        # trim transparent borders so that the visible logo is what gets sized
        self._crop = (int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1)
        y0, y1, x0, x1 = self._crop
        self.aspect = (x1 - x0) / (y1 - y0)
        self._full = (h, w)

    def size_for(self, height: float) -> tuple[int, int]:
        """(width, height) in px at ``height``, shrunk to :data:`MAX_LOGO_ASPECT`."""
        h = max(1.0, height)
        w = h * self.aspect
        if w > h * MAX_LOGO_ASPECT:
            h = h * MAX_LOGO_ASPECT / self.aspect
            w = h * self.aspect
        return max(1, round(w)), max(1, round(h))

    def render(self, width: int, height: int) -> np.ndarray:
        """The logo as RGBA uint8 (height, width, 4), rasterised at that size."""
        return _render(self, width, height)


@functools.lru_cache(maxsize=16)
def _render(logo: Logo, width: int, height: int) -> np.ndarray:
    y0, y1, x0, x1 = logo._crop
    if logo.is_svg:
        full_h, full_w = logo._full
        # rasterise the whole SVG so that the crop box scales to (width, height) exactly
        scale = height / (y1 - y0)
        png = _svg_to_png(logo._data, str(logo.path), height=max(1, round(full_h * scale)))
        rgba = _decode_png(png, str(logo.path))
        sy, sx = rgba.shape[0] / full_h, rgba.shape[1] / full_w
        rgba = rgba[round(y0 * sy): round(y1 * sy), round(x0 * sx): round(x1 * sx)]
        if rgba.shape[:2] == (height, width):
            return rgba
        source = rgba
    else:
        source = logo._source[y0:y1, x0:x1]
    image = Image.fromarray(np.ascontiguousarray(source), "RGBA")
    # premultiply so that transparent pixels do not bleed their colour into the edges
    return _resize_rgba(image, width, height)


def _resize_rgba(image: Image.Image, width: int, height: int) -> np.ndarray:
    pre = image.convert("RGBa")
    pre = pre.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return np.asarray(pre.convert("RGBA"))


#: A logo may declare at most this many pixels (checked from its header before decoding).
MAX_LOGO_PIXELS = 64_000_000


def _decode_png(data: bytes, name: str) -> np.ndarray:
    try:
        with warnings.catch_warnings():  # our own limit is lower than Pillow's warning's
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                if im.width * im.height > MAX_LOGO_PIXELS:
                    raise UsageError(f"logo {name!r} is too large ({im.width}x{im.height} "
                                     f"pixels; at most {MAX_LOGO_PIXELS:,})")
                im.load()
                return np.asarray(im.convert("RGBA"))
    except UsageError:
        raise
    except Image.DecompressionBombError:  # declared size beyond Pillow's own bomb guard
        raise UsageError(f"logo {name!r} declares a size beyond {MAX_LOGO_PIXELS:,} pixels "
                         "(decompression-bomb guard)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise UsageError(f"logo {name!r} cannot be read ({type(exc).__name__}); "
                         "use a PNG or SVG file") from None


def _svg_to_png(data: bytes, name: str, height: int | None) -> bytes:
    try:
        import resvg_py
    except ImportError:
        raise UsageError(f"logo {name!r} is an SVG; rendering SVG needs the optional package "
                         "resvg-py (pip install resvg-py), or use a PNG logo") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        import gzip

        try:
            text = gzip.decompress(data).decode("utf-8")
        except (OSError, UnicodeDecodeError):
            raise UsageError(f"logo {name!r} is not a readable SVG") from None
    try:
        out = resvg_py.svg_to_bytes(svg_string=text, height=height, skip_system_fonts=False)
    except (ValueError, RuntimeError) as exc:
        raise UsageError(f"logo {name!r} is not a valid SVG ({str(exc)[:80]})") from None
    return bytes(out)


def load_logo(path: str | Path | None) -> Logo | None:
    """A :class:`Logo` for ``path`` (``None`` for none); raises UsageError on a bad file."""
    return None if path in (None, "") else Logo(path)
