"""Write CFA and linear DNG files (Adobe DNG specification 1.4) with tifffile.

Used to turn synthetic scenes and merged bursts into real files that LibRaw - and so every
raw editor - can read. We write the tags a reader needs to develop correctly: CFA layout,
Black/WhiteLevel, ColorMatrix1 (D65), AsShotNeutral, NoiseProfile, BaselineExposure, and
the shooting EXIF (ExposureTime, FNumber, ISO, FocalLength, DateTimeOriginal) in IFD 0 as
TIFF/EP allows.
"""

from __future__ import annotations

import datetime as _dt
from fractions import Fraction
from pathlib import Path

import numpy as np

from redframe import SOFTWARE
from redframe.io.dng_opcodes import OPCODE_TAGS, encode_opcode_list
from redframe.io.metadata import Metadata
from redframe.io.scene import pattern_to_index

__all__ = ["write_dng"]


def _srational(values, den: int = 10000) -> list[int]:
    out: list[int] = []
    for v in np.ravel(values):
        out += [int(round(float(v) * den)), den]
    return out


def _rational(value: float) -> tuple[int, int]:
    f = Fraction(float(value)).limit_denominator(1_000_000)
    return f.numerator, f.denominator


def write_dng(
    path: str | Path,
    data: np.ndarray,
    *,
    pattern: str | None,
    black_level: float | np.ndarray,
    white_level: int,
    xyz_to_camera: np.ndarray,
    as_shot_neutral: np.ndarray,
    meta: Metadata | None = None,
    noise_profile: tuple[float, float] | None = None,
    baseline_exposure: float = 0.0,
    unique_camera_model: str = "redframe synthetic sensor",
    opcodes: dict | None = None,
) -> Path:
    """Write ``data`` - (H, W) uint16 CFA with ``pattern`` or (H, W, 3) uint16 linear RGB with
    ``pattern=None`` - as a DNG. ``xyz_to_camera`` is DNG ColorMatrix1 for illuminant D65.
    ``opcodes``: ``{1|2|3: [Opcode, ...] or bytes}``, written as OpcodeList1/2/3
    (:mod:`redframe.io.dng_opcodes`); the DNG version is then 1.4 (lists 1-3 need 1.3)."""
    import tifffile

    path = Path(path)
    data = np.ascontiguousarray(data)
    if data.dtype not in (np.uint16, np.float32):  # float32: SampleFormat 3 (an HDR merge)
        raise ValueError(f"DNG data must be uint16 or float32, got {data.dtype}")
    meta = meta or Metadata()
    tags: list[tuple] = []

    def tag(code: int, dtype: str, count: int, value) -> None:
        tags.append((code, dtype, count, value, True))

    tag(50706, "B", 4, (1, 4, 0, 0))  # DNGVersion
    tag(50707, "B", 4, (1, 1, 0, 0))  # DNGBackwardVersion
    tag(50708, "s", 0, unique_camera_model)  # UniqueCameraModel
    if data.ndim == 2:
        if pattern is None:
            raise ValueError("a 2-D DNG needs a CFA pattern")
        idx = pattern_to_index(pattern).ravel()
        tag(33421, "H", 2, (2, 2))  # CFARepeatPatternDim
        tag(33422, "B", 4, tuple(int(i) for i in idx))  # CFAPattern
        tag(50710, "B", 3, (0, 1, 2))  # CFAPlaneColor
        tag(50711, "H", 1, 1)  # CFALayout: rectangular
        photometric = 32803
        black = np.broadcast_to(np.asarray(black_level, dtype=np.float64), (2, 2)).ravel()
        tag(50713, "H", 2, (2, 2))  # BlackLevelRepeatDim
        tag(50714, "2I", 4, _rational_list(black))  # BlackLevel (RATIONAL)
    else:
        photometric = 34892  # LinearRaw
        black = np.broadcast_to(np.asarray(black_level, dtype=np.float64).ravel()[:1], (1,))
        tag(50714, "2I", 1, _rational_list(black))
    tag(50717, "I", 1, int(white_level))  # WhiteLevel
    tag(50721, "2i", 9, _srational(xyz_to_camera))  # ColorMatrix1
    tag(50778, "H", 1, 21)  # CalibrationIlluminant1 = D65
    neutral = np.asarray(as_shot_neutral, dtype=np.float64)
    tag(50728, "2I", 3, _rational_list(neutral))  # AsShotNeutral
    tag(50730, "2i", 1, _srational([baseline_exposure], 100))  # BaselineExposure
    if noise_profile is not None:
        tag(51041, "d", 2, tuple(float(v) for v in noise_profile))  # NoiseProfile
    if meta.exposure_time:
        tag(33434, "2I", 1, _rational(meta.exposure_time))
    if meta.f_number:
        tag(33437, "2I", 1, _rational(meta.f_number))
    if meta.iso:
        tag(34855, "H", 1, int(min(65535, round(meta.iso))))
    if meta.focal_length:
        tag(37386, "2I", 1, _rational(meta.focal_length))
    date = meta.datetime or _dt.datetime.now().replace(microsecond=0)
    tag(36867, "s", 0, date.strftime("%Y:%m:%d %H:%M:%S"))
    tag(274, "H", 1, int(meta.orientation or 1))
    if meta.lens:
        tag(42036, "s", 0, meta.lens)  # LensModel
    if meta.lens_make:
        tag(42035, "s", 0, meta.lens_make)  # LensMake
    if meta.focal_length_35mm:
        tag(41989, "H", 1, int(round(meta.focal_length_35mm)))  # FocalLengthIn35mmFilm
    for n, ops in sorted((opcodes or {}).items()):
        raw = ops if isinstance(ops, bytes | bytearray) else encode_opcode_list(list(ops))
        tag(OPCODE_TAGS[n], 7, len(raw), bytes(raw))  # UNDEFINED

    tag(271, "s", 0, meta.make or "redframe")  # Make
    tag(272, "s", 0, meta.model or "synthetic")  # Model
    tifffile.imwrite(
        path, data, photometric=photometric, planarconfig="contig", software=SOFTWARE,
        extratags=tags, metadata=None, subfiletype=0,
    )
    return path


def _rational_list(values) -> list[int]:
    out: list[int] = []
    for v in np.ravel(values):
        n, d = _rational(float(v))
        out += [n, d]
    return out
