"""The camera's looks: which ones it offers, and their preview LUTs.

The looks are :mod:`redframe.looks` (bundled and the user's own); a capture is developed
with its look by the one job runner (:mod:`redframe.app.processing`), and the live
preview applies the same look as a ``.cube`` 3D LUT made by
:func:`redframe.looks.export_cube` from sRGB-encoded input (browser frames are
display-referred), cached per look version.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from redframe import __version__
from redframe.color import rgb_to_rgb_matrix, srgb_decode
from redframe.isp.output import OutputParams, output_transform
from redframe.looks import Look, export_cube, get_look, list_looks
from redframe.looks.characters import list_characters
from redframe.looks.cube import write_cube

__all__ = ["LookInfo", "available_looks", "look_cube", "preview_table", "LUT_SIZES",
           "available_characters", "character_names", "character_setting"]

log = logging.getLogger("redframe.app")

#: LUT edge lengths the preview may ask for
LUT_SIZES = (17, 33, 65)

_SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,47}$")
_cube_lock = threading.Lock()


@dataclass(frozen=True)
class LookInfo:
    name: str
    label: str
    mono: bool
    description: str = ""


def _label(name: str) -> str:
    words = re.split(r"[-_ ]+", name)
    special = {"bw": "B&W", "hc": "HC"}
    return " ".join(special.get(w.lower(), w.upper() if len(w) <= 2 else w.capitalize())
                    for w in words if w)


def _is_mono(look) -> bool:
    params = getattr(look, "params", None)
    return bool(params is not None and params.monochrome.enabled)


@functools.lru_cache(maxsize=1)
def _cached_looks() -> tuple[LookInfo, ...]:
    out = []
    for name, description, _ in list_looks():
        if not _SAFE_NAME.match(name):  # a user look whose name cannot be a URL segment
            log.warning("look %r left out: not a safe name", name)
            continue
        try:
            look = get_look(name)
        except Exception as exc:  # noqa: BLE001 - a broken user look is left out
            log.warning("look %s left out: %s", name, exc)
            continue
        out.append(LookInfo(name, _label(name), _is_mono(look), description or ""))
    return tuple(out)


def available_looks() -> list[LookInfo]:
    """The looks the camera offers (bundled and the user's own that load)."""
    return list(_cached_looks())


def _find(name: str) -> LookInfo:
    for info in _cached_looks():
        if info.name == name:
            return info
    raise KeyError(name)


def look_cube(name: str, size: int, cache_dir: str | os.PathLike) -> bytes:
    """The ``.cube`` (sRGB-encoded in and out) of look ``name`` for the live preview.

    Made once by :func:`redframe.looks.export_cube` and cached in ``cache_dir`` under a
    key of the look's version and file. KeyError for an unknown look, ValueError for a
    size outside :data:`LUT_SIZES`.
    """
    if size not in LUT_SIZES:
        raise ValueError(f"LUT size must be one of {LUT_SIZES}, not {size!r}")
    _find(name)
    look = get_look(name)
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
                if isinstance(look, Look):
                    export_cube(look, tmp, size, input="srgb")
                else:  # a user's .cube look: its rendering of sRGB frames, sampled
                    write_cube(tmp, preview_table(look, size), title=name)
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
    return path.read_bytes()


def preview_table(look, size: int) -> np.ndarray:
    """(size, size, size, 3) table indexed [r, g, b]: what ``look`` makes of each
    sRGB-encoded colour of a browser frame (display light), sRGB-encoded: the develop's
    look and output stages on the lattice (a look without position: no vignette, grain)."""
    grid = np.linspace(0.0, 1.0, size, dtype=np.float32)
    r, g, b = np.meshgrid(grid, grid, grid, indexing="ij")
    codes = np.stack([r, g, b], axis=-1).reshape(1, -1, 3)
    light = srgb_decode(codes) @ rgb_to_rgb_matrix("srgb", "rec2020").T.astype(np.float32)
    shown = look.apply(np.ascontiguousarray(light, np.float32), rows=(0, 1),
                       full_shape=(1, codes.shape[1]), display_referred=True)
    return output_transform(shown, OutputParams(space="srgb")).reshape(size, size, size, 3)


# --- lens characters (redframe.looks.characters) -----------------------------------------

def available_characters() -> list[dict]:
    """The lens characters the camera offers: ``list_characters()``'s JSON-ready dicts
    (name, label, preview parameters)."""
    try:
        out = []
        for info in list_characters():
            if isinstance(info, dict) and _SAFE_NAME.match(str(info.get("name", ""))):
                out.append(info)
        return out
    except Exception as exc:  # noqa: BLE001 - a broken character list: none offered
        log.warning("lens characters unavailable: %s", exc)
        return []


def character_names() -> list[str]:
    return [c["name"] for c in available_characters()]


def character_setting(name: str) -> dict:
    """The recipe settings of lens character ``name`` (``character = NAME``, top level)."""
    return {"character": name} if name in character_names() else {}
