"""The camera's use of :mod:`redframe.looks` and :mod:`redframe.burst`, with fallbacks.

The app works without either module: without looks it offers ``neutral`` (identity) and
``mono`` (luminance), and serves matching identity / greyscale LUTs for the preview;
without a night merge it stores a burst unmerged and develops its first frame.

What is called, when present:

- ``redframe.looks.list_looks()`` -> names, (name, description, path) tuples, or looks
  with a ``.name``; a look that ``get_look`` cannot load is left out;
- ``redframe.looks.get_look(name)`` -> a callable ``look(rgb)`` (linear Rec.2020 -> display
  linear Rec.2020), used as ``DevelopParams.look``; when its ``apply`` takes
  ``display_referred``, it is called with ``display_referred=True``, since browser captures
  are display-referred JPEGs, which is also what the preview LUT is made from;
- ``redframe.looks.export_cube(look, path, size, input="srgb")`` -> a ``.cube`` file;
- ``redframe.burst.<merge>``: the first name of ``redframe.burst.__all__`` among
  :data:`MERGE_NAMES`, else the first containing "rgb" or "jpeg" and "merge" or "night";
  called with the frame paths (``list[str]``), or, if that raises ``TypeError``, with the
  decoded scenes (``list[Scene]``). It may return a ``Scene``, an object with ``.scene`` or
  ``.rgb``, or an (H, W, 3) array: float = linear Rec.2020, uint8/uint16 = sRGB-encoded.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from redframe import __version__

__all__ = ["LookInfo", "available_looks", "develop_look", "look_cube", "identity_cube",
           "burst_merger", "merge_burst", "MERGE_NAMES", "NEUTRAL", "MONO", "LUT_SIZES"]

log = logging.getLogger("redframe.app")

NEUTRAL = "neutral"
MONO = "mono"
#: LUT edge lengths the preview may ask for
LUT_SIZES = (17, 33, 65)
#: preferred names of the RGB night merge in redframe.burst
MERGE_NAMES = ("merge_rgb", "merge_rgb_burst", "merge_jpeg_burst", "merge_jpegs",
               "night_rgb", "merge_images", "merge_rgb_frames")

_SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,47}$")
_REC2020_Y = np.array([0.2627, 0.6780, 0.0593], np.float32)
_REC709_Y = np.array([0.2126, 0.7152, 0.0722])
_cube_lock = threading.Lock()


@dataclass(frozen=True)
class LookInfo:
    name: str
    label: str
    mono: bool
    description: str = ""


def _looks_module():
    try:
        from redframe import looks
    except Exception as exc:  # noqa: BLE001 - a half-built module must not stop the camera
        log.debug("redframe.looks unavailable: %s", exc)
        return None
    if not all(hasattr(looks, n) for n in ("list_looks", "get_look")):
        return None
    return looks


def _label(name: str) -> str:
    words = re.split(r"[-_ ]+", name)
    special = {"bw": "B&W", "hc": "HC"}
    return " ".join(special.get(w.lower(), w.upper() if len(w) <= 2 else w.capitalize())
                    for w in words if w)


def _is_mono(look, name: str) -> bool:
    enabled = getattr(getattr(getattr(look, "params", None), "monochrome", None), "enabled", None)
    if isinstance(enabled, bool):
        return enabled
    flag = getattr(look, "monochrome", None)
    if isinstance(flag, bool):
        return flag
    return bool(re.search(r"(mono|bw|noir|black)", name))


_FALLBACK = (LookInfo(NEUTRAL, "Neutral", False, "no look (the picture as captured)"),
             LookInfo(MONO, "Mono", True, "luminance only"))


@functools.lru_cache(maxsize=1)
def _cached_looks() -> tuple[LookInfo, ...]:
    looks = _looks_module()
    if looks is None:
        return _FALLBACK
    try:
        listed = list(looks.list_looks())
    except Exception as exc:  # noqa: BLE001
        log.warning("looks unavailable (%s); using the neutral fallback", exc)
        return _FALLBACK
    out = []
    for item in listed:
        if isinstance(item, str):
            name = item
        elif isinstance(item, tuple | list) and item and isinstance(item[0], str):
            name = item[0]
        else:
            name = getattr(item, "name", None)
        if not isinstance(name, str) or not _SAFE_NAME.match(name):
            continue
        try:
            look = looks.get_look(name)
        except Exception as exc:  # noqa: BLE001 - a broken user look is left out
            log.warning("look %s left out: %s", name, exc)
            continue
        out.append(LookInfo(name, _label(name), _is_mono(look, name),
                            str(getattr(look, "description", "") or "")))
    return tuple(out) or _FALLBACK


def available_looks() -> list[LookInfo]:
    """The looks the camera offers (the looks module's, else neutral and mono)."""
    return list(_cached_looks())


def _find(name: str) -> LookInfo:
    for info in _cached_looks():
        if info.name == name:
            return info
    raise KeyError(name)


def _luminance_look(rgb: np.ndarray) -> np.ndarray:
    y = np.clip(rgb @ _REC2020_Y, 0.0, None)
    return np.repeat(y[..., None], 3, axis=-1).astype(np.float32)


def develop_look(name: str) -> Callable[[np.ndarray], np.ndarray] | None:
    """The ``DevelopParams.look`` for look ``name`` (None: no look); KeyError if unknown."""
    _find(name)
    looks = _looks_module()
    if looks is None or _cached_looks() is _FALLBACK:
        return _luminance_look if name == MONO else None
    look = looks.get_look(name)
    apply = getattr(look, "apply", None)
    if apply is not None:
        try:
            if "display_referred" in inspect.signature(apply).parameters:
                return functools.partial(apply, display_referred=True)
        except (TypeError, ValueError):
            pass
    return look


def identity_cube(size: int, mono: bool = False) -> bytes:
    """A ``.cube`` 3D LUT (sRGB in, sRGB out) doing nothing, or keeping luminance only."""
    grid = np.linspace(0.0, 1.0, size)
    b, g, r = np.meshgrid(grid, grid, grid, indexing="ij")  # red varies fastest in .cube
    rgb = np.stack([r, g, b], axis=-1).reshape(-1, 3)
    if mono:
        lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
        y = lin @ _REC709_Y
        enc = np.where(y <= 0.0031308, 12.92 * y, 1.055 * np.power(y, 1 / 2.4) - 0.055)
        rgb = np.repeat(enc[:, None], 3, axis=1)
    lines = [f"TITLE \"{'mono' if mono else 'neutral'}\"", f"LUT_3D_SIZE {size}",
             "DOMAIN_MIN 0 0 0", "DOMAIN_MAX 1 1 1"]
    lines += [f"{x:.6f} {y:.6f} {z:.6f}" for x, y, z in rgb]
    return ("\n".join(lines) + "\n").encode()


def look_cube(name: str, size: int, cache_dir: str | os.PathLike) -> bytes:
    """The ``.cube`` (sRGB-encoded in and out) of look ``name`` for the live preview.

    Made once by ``redframe.looks.export_cube`` and cached in ``cache_dir`` under a key
    of the look's version and file; identity/greyscale LUTs without the looks module.
    KeyError for an unknown look, ValueError for a size outside :data:`LUT_SIZES`.
    """
    if size not in LUT_SIZES:
        raise ValueError(f"LUT size must be one of {LUT_SIZES}, not {size!r}")
    info = _find(name)
    looks = _looks_module()
    if looks is None or _cached_looks() is _FALLBACK or not hasattr(looks, "export_cube"):
        return identity_cube(size, mono=info.mono)
    look = looks.get_look(name)
    source = getattr(look, "path", None)
    stamp = ""
    if source:
        try:
            st = Path(source).stat()
            stamp = f"{st.st_mtime_ns}:{st.st_size}"
        except OSError:
            pass
    key = hashlib.sha1(
        f"{name}|{size}|{getattr(look, 'version', '')}|{stamp}|{__version__}".encode()
    ).hexdigest()[:12]
    folder = Path(cache_dir) / "luts"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{size}-{key}.cube"
    if path.is_file():
        return path.read_bytes()
    with _cube_lock:
        if not path.is_file():
            tmp = folder / f".{path.name}.{os.getpid()}.{threading.get_ident()}.part"
            try:
                looks.export_cube(look, tmp, size, input="srgb")
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
    return path.read_bytes()


# --- night merge ------------------------------------------------------------------------------

def burst_merger() -> tuple[str, Callable] | None:
    """(name, function) of the RGB night merge in :mod:`redframe.burst`, or None."""
    try:
        from redframe import burst
    except Exception as exc:  # noqa: BLE001
        log.debug("redframe.burst unavailable: %s", exc)
        return None
    names = [n for n in getattr(burst, "__all__", []) if isinstance(n, str)]
    chosen = next((n for n in MERGE_NAMES if n in names), None)
    if chosen is None:
        chosen = next((n for n in names if re.search(r"rgb|jpe?g", n)
                       and re.search(r"merge|night", n)), None)
    fn = getattr(burst, chosen, None) if chosen else None
    return (chosen, fn) if callable(fn) else None


def _scene_from(result, meta):
    from redframe.io.scene import Scene
    from redframe.isp.colorspaces import rgb_to_rgb_matrix, srgb_decode

    if isinstance(result, tuple) and result:
        result = result[0]
    if isinstance(result, Scene):
        return result
    for attr in ("scene", "rgb", "image"):
        inner = getattr(result, attr, None)
        if inner is not None:
            return _scene_from(inner, getattr(result, "meta", None) or meta)
    array = np.asarray(result)
    if array.ndim != 3 or array.shape[2] != 3:
        raise TypeError(f"the night merge returned {type(result).__name__} {array.shape}")
    if array.dtype in (np.uint8, np.uint16):
        enc = array.astype(np.float32) / np.float32(np.iinfo(array.dtype).max)
        matrix = rgb_to_rgb_matrix("srgb", "rec2020").astype(np.float32)
        linear = srgb_decode(enc) @ matrix.T
    else:
        linear = array.astype(np.float32)
    return Scene(meta=meta, rgb=np.ascontiguousarray(linear, np.float32), space="rec2020")


def merge_burst(paths: list[Path]):
    """(scene, merged, notes) for a burst: merged by the night merge when available, else
    the first frame, with a note that the burst is stored unmerged."""
    from redframe.io.decode import read_image

    found = burst_merger()
    first = None
    if found is not None:
        name, fn = found
        try:
            try:
                result = fn([str(p) for p in paths])
            except TypeError:
                first = [read_image(p) for p in paths]
                result = fn(first)
            meta = (first[0].meta if first else read_image(paths[0]).meta)
            return _scene_from(result, meta), True, [f"night merge of {len(paths)} frames "
                                                     f"(redframe.burst.{name})"]
        except Exception as exc:  # noqa: BLE001 - the frames stay stored; show one
            log.warning("night merge failed: %s", exc)
            note = f"night merge failed ({type(exc).__name__}: {exc}); showing frame 1"
            scene = first[0] if first else read_image(paths[0])
            return scene, False, [note[:300]]
    return (read_image(paths[0]), False,
            [f"burst of {len(paths)} frames stored unmerged (night merge not available)"])
