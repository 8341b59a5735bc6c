"""The lensfun lens database (through lensfunpy): match a camera + lens from EXIF.

lensfun (https://lensfun.github.io) holds measured distortion (``poly3``, ``poly5``,
``ptlens``), transverse chromatic aberration and vignetting (``pa``) models for ~1,500
lenses, each at calibrated focal lengths (and apertures, distances for vignetting), for a
calibration crop factor. :func:`match_lens` reads the database once per process (the XML
files shipped with lensfunpy: the only I/O) and finds the camera by maker + model and the
lens by model name (and maker), as lensfun's own ``lfDatabase::FindLenses`` scores them;
a picture without a lens model never reads it. :func:`crop_factor` (the 35 mm
equivalent) reads only the files that list cameras of the picture's maker (found by a
text scan of the XML), none for a maker lensfun does not know (most phones).

The develop (:mod:`redframe.isp.lens_warp`, :mod:`redframe.isp.lens_shading`) asks the
match for a :class:`LensfunGeometry` at the image's size (lensfun's own per-pixel source
coordinates for distortion + TCA, scaled by lensfun's autoscale or not) and a coarse
vignetting gain grid (lensfun's correction of a flat image, bilinearly interpolated).
"""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import threading
from dataclasses import dataclass

import numpy as np

from redframe.io.metadata import Metadata

__all__ = ["LensfunMatch", "LensfunGeometry", "match_lens", "available", "crop_factor"]

_DB = None
_DB_LOCK = threading.Lock()
_CAMERA_DBS: dict[frozenset, object] = {}
_MAKERS: dict[str, set[str]] | None = None
#: where lensfun itself looks for its database besides lensfunpy's bundled copy (the
#: system and user folders of lfDatabase::Load)
_COMMON_DIRS = ("/usr/share/lensfun", "/usr/local/share/lensfun",
                "~/.local/share/lensfun", "$XDG_DATA_HOME/lensfun")
_CAMERA = re.compile(r"<camera>(.*?)</camera>", re.S)
_MAKER = re.compile(r"<maker(?:\s[^>]*)?>(.*?)</maker>", re.S)


def available() -> bool:
    try:
        import lensfunpy  # noqa: F401
    except ImportError:
        return False
    return True


def _database():
    global _DB
    with _DB_LOCK:
        if _DB is None:
            import lensfunpy

            _DB = lensfunpy.Database()
        return _DB


def _key(maker: str) -> str:
    """A maker name as compared here: lower case, letters and digits only (looser than
    lensfun's own comparison, so a file is never missed)."""
    return re.sub(r"[^0-9a-z]", "", maker.lower())


def _xml_files() -> list[str]:
    spec = importlib.util.find_spec("lensfunpy")  # does not import it
    if spec is None or not spec.submodule_search_locations:
        return []
    dirs = [os.path.join(p, "db_files") for p in spec.submodule_search_locations]
    dirs += [os.path.expandvars(os.path.expanduser(d)) for d in _COMMON_DIRS]
    files: list[str] = []
    for d in dirs:
        if os.path.isdir(d):
            files += sorted(glob.glob(os.path.join(d, "**", "*.xml"), recursive=True))
    return files


def _camera_makers() -> dict[str, set[str]]:
    """Camera maker (:func:`_key`) -> the database files that list cameras of it: a text
    scan of the XML (~4 MB, ~10 ms), once per process, without reading the database."""
    global _MAKERS
    with _DB_LOCK:
        if _MAKERS is None:
            makers: dict[str, set[str]] = {}
            for path in _xml_files():
                try:
                    with open(path, encoding="utf-8", errors="replace") as f:
                        text = f.read()
                except OSError:
                    continue
                for cam in _CAMERA.findall(text):
                    for maker in _MAKER.findall(cam):
                        makers.setdefault(_key(maker), set()).add(path)
            _MAKERS = makers
        return _MAKERS


def _camera_database(make: str):
    """A lensfun database holding every camera of maker ``make`` (its files only, or the
    whole database when it is loaded already); None when no file lists that maker."""
    with _DB_LOCK:
        if _DB is not None:
            return _DB
    files = frozenset(_camera_makers().get(_key(make), ()))
    if not files:
        return None
    with _DB_LOCK:
        if files not in _CAMERA_DBS:
            import lensfunpy

            _CAMERA_DBS[files] = lensfunpy.Database(paths=sorted(files), load_common=False,
                                                    load_bundled=False)
        return _CAMERA_DBS[files]


@dataclass
class LensfunMatch:
    """A camera and lens found in the lensfun database for one picture."""

    camera: object  # lensfunpy.Camera
    lens: object  # lensfunpy.Lens
    focal: float  # mm, as shot
    aperture: float  # f-number (the lens's widest when EXIF has none)
    distance: float  # m (1000: infinity when EXIF has none)
    score: int

    @property
    def name(self) -> str:
        return f"{self.lens.maker} {self.lens.model}"

    @property
    def camera_name(self) -> str:
        return f"{self.camera.maker} {self.camera.model}"

    def has(self) -> dict[str, bool]:
        """Which models the lens has calibration data for (at any focal length)."""
        return {"distortion": bool(self.lens.calib_distortion),
                "tca": bool(self.lens.calib_tca),
                "vignetting": bool(self.lens.calib_vignetting)}

    def _modifier(self, width: int, height: int, flags: int, scale: float,
                  reverse: bool = False):
        import lensfunpy

        mod = lensfunpy.Modifier(self.lens, self.camera.crop_factor, int(width), int(height))
        mod.initialize(self.focal, self.aperture, self.distance, scale=scale,
                       targeom=self.lens.type, pixel_format=np.float32, flags=flags,
                       reverse=reverse)
        return mod

    def geometry(self, width: int, height: int, *, distortion: bool = True,
                 tca: bool = True, autoscale: bool = True,
                 reverse: bool = False) -> LensfunGeometry | None:
        """lensfun's per-pixel source coordinates for an image of ``width`` x ``height``
        (None when there is nothing to correct)."""
        import lensfunpy

        flags = 0
        if distortion and self.lens.calib_distortion:
            flags |= lensfunpy.ModifyFlags.DISTORTION
        if tca and self.lens.calib_tca:
            flags |= lensfunpy.ModifyFlags.TCA
        if not flags:
            return None
        if autoscale and not reverse:
            flags |= lensfunpy.ModifyFlags.SCALE
        mod = self._modifier(width, height, flags, 0.0 if autoscale and not reverse else 1.0,
                             reverse)
        return LensfunGeometry(mod, int(width), int(height))

    def vignetting_gains(self, width: int, height: int, points: int = 65) -> np.ndarray | None:
        """(pv, ph) gains that undo the lens's vignetting, on a grid of ``points`` along
        the long side spanning the image (first and last point on its edges): lensfun's
        correction of a flat image of that grid's size."""
        import lensfunpy

        if not self.lens.calib_vignetting:
            return None
        long = max(width, height)
        pw = max(2, round(points * width / long))
        ph = max(2, round(points * height / long))
        mod = self._modifier(pw, ph, lensfunpy.ModifyFlags.VIGNETTING, 1.0)
        flat = np.ones((ph, pw, 3), np.float32)
        if not mod.apply_color_modification(flat):
            return None
        gains = flat[..., 1].astype(np.float32)
        if not np.all(np.isfinite(gains)) or gains.min() <= 0:
            return None
        return gains


class LensfunGeometry:
    """Source coordinates (lensfun's) for rows of an image of a fixed size."""

    def __init__(self, mod, width: int, height: int):
        self._mod, self.width, self.height = mod, width, height
        self._lock = threading.Lock()

    def coords(self, y0: int, y1: int) -> np.ndarray:
        """(y1 - y0, width, 3, 2) float32: for each pixel and channel R, G, B the source
        (x, y) in pixels of the uncorrected image."""
        with self._lock:
            out = self._mod.apply_subpixel_geometry_distortion(0, int(y0), self.width,
                                                               int(y1 - y0))
        return out


def _clean(text: str | None) -> str:
    return (text or "").strip()


def crop_factor(meta: Metadata) -> float | None:
    """The camera's crop factor (full-frame diagonal / sensor diagonal) from the lensfun
    database, or None when the camera is not in it."""
    make, model = _clean(meta.make), _clean(meta.model)
    if not make or not model:
        return None
    db = _camera_database(make)  # a maker lensfun has no camera of: nothing is read
    if db is None:
        return None
    cams = db.find_cameras(make, model)
    crop = float(cams[0].crop_factor) if cams else 0.0
    return crop if 0.5 < crop < 20 else None


def match_lens(meta: Metadata) -> tuple[LensfunMatch | None, str]:
    """The lensfun camera + lens of a picture from its EXIF, and a one-line reason when
    there is none (no lens model in EXIF, camera or lens not in the database, ...). Without
    a lens model the database is not read (nor lensfunpy imported)."""
    make, model, lens_name = _clean(meta.make), _clean(meta.model), _clean(meta.lens)
    if not make or not model:
        return None, "no camera maker/model in EXIF"
    if not lens_name:
        return None, "no lens model in EXIF"
    if not available():
        return None, "lensfunpy is not installed"
    if not meta.focal_length or not 0.5 < meta.focal_length < 5000:
        return None, "no focal length in EXIF"
    db = _database()
    cams = db.find_cameras(make, model)
    if not cams:
        return None, f"camera {make} {model} is not in the lensfun database"
    cam = cams[0]
    lenses = db.find_lenses(cam, _clean(meta.lens_make) or None, lens_name)
    if not lenses:
        return None, f"lens {lens_name!r} is not in the lensfun database for this camera"
    lens = lenses[0]
    aperture = float(meta.f_number or lens.min_aperture or 8.0)
    distance = 1000.0
    focus = getattr(meta, "focus_distance", None)
    if focus and 0 < focus < 1000:
        distance = float(focus)
    return LensfunMatch(cam, lens, float(meta.focal_length), aperture, distance,
                        int(lens.score)), ""
