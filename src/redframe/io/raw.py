"""Decode camera raws through LibRaw (rawpy), exposing the sensor data without developing it.

- Bayer sensors (all four CFA phases, DNG included): the visible CFA mosaic in DN with
  per-site black levels, white level, the XYZ->camera matrix and the as-shot neutral.
- Linear DNG (e.g. smartphone "ProRAW"-style files) and non-Bayer sensors (Fujifilm X-Trans,
  Foveon, 4-colour CFAs): **documented fallback** - LibRaw demosaics to linear *camera* RGB
  (no white balance, no colour matrix, no gamma, no auto-brightness), and our pipeline takes
  it from there (levels are already removed, so ``calibration`` is set to 0..1).

Matrices: DNG files carry ``ColorMatrix1/2`` which we read from the tags ourselves (LibRaw
does not always expose them as ``rgb_xyz_matrix``); other raws use LibRaw's table
(``rgb_xyz_matrix``, from Adobe's DNG converter data). When neither exists we fall back to
LibRaw's ``cmatrix``, then to the ``rgb_cam`` LibRaw builds in for some old cameras
(measured from its own renderings: :func:`libraw_rgb_cam`) and, failing all, the identity
with a warning.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import sys
import warnings

import numpy as np

from redframe.color import XYZ_TO_SRGB
from redframe.errors import InputError
from redframe.io.dng_opcodes import (
    MAX_LIST_BYTES,
    OPCODE_TAGS,
    OpcodeError,
    OpcodeLists,
    parse_opcode_list,
)
from redframe.io.lensfun import crop_factor, match_lens
from redframe.io.metadata import Metadata, clean_text
from redframe.io.scene import RawCalibration, Scene
from redframe.io.tiff_ifd import NotClassic, TiffError, read_ifds

__all__ = ["decode_raw", "MAX_RAW_PIXELS", "RAW_EXTENSIONS", "quiet_native_stderr"]

#: Refuse sensors larger than this (pixels): a guard against hostile headers.
MAX_RAW_PIXELS = 400_000_000
#: A raw that stores fewer bits per pixel than this is truncated (even lossy raws use > 2).
MIN_BITS_PER_PIXEL = 0.5

RAW_EXTENSIONS = frozenset(
    ".3fr .ari .arw .bay .braw .cr2 .cr3 .crw .cap .data .dcs .dcr .dng .drf .eip .erf .fff .gpr "
    ".iiq .k25 .kdc .mdc .mef .mos .mrw .nef .nrw .obm .orf .pef .ptx .pxn .r3d .raf .raw .rwl "
    ".rw2 .rwz .sr2 .srf .srw .x3f".split()
)

# XYZ(D50) is not used: DNG ColorMatrix with a D65 calibration illuminant maps XYZ(D65).
_ILLUMINANT_CCT = {17: 2856, 21: 6504, 20: 5503, 22: 7504, 23: 5003, 10: 6504, 11: 7504,
                   1: 5503, 2: 4150, 3: 2856, 4: 5503, 12: 6430, 13: 5000, 14: 4150, 15: 3450,
                   18: 4874, 19: 6774, 24: 3200}


@contextlib.contextmanager
def quiet_native_stderr():
    """LibRaw, libpng, libtiff and OpenCV print warnings ("Unexpected end of file") on fd 2,
    tifffile logs them and Pillow warns: we report errors ourselves, once, in one line."""
    if os.environ.get("REDFRAME_DEBUG"):
        yield
        return
    with warnings.catch_warnings(), _logger_level("tifffile", logging.ERROR):
        warnings.simplefilter("ignore")
        with _native_stderr_to_devnull():
            yield


@contextlib.contextmanager
def _logger_level(name: str, level: int):
    logger = logging.getLogger(name)
    saved = logger.level
    logger.setLevel(max(level, saved))
    try:
        yield
    finally:
        logger.setLevel(saved)


@contextlib.contextmanager
def _native_stderr_to_devnull():
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


#: the tags of IFD 0 the develop reads
_DNG_TAGS = {50721: "ColorMatrix1", 50722: "ColorMatrix2", 50778: "CalibrationIlluminant1",
             50779: "CalibrationIlluminant2", 50728: "AsShotNeutral", 51041: "NoiseProfile",
             50730: "BaselineExposure", 50706: "DNGVersion"}


def dng_tags(path: str) -> dict:
    """ColorMatrix/AsShotNeutral/NoiseProfile/... from a DNG's IFD0, or {} if not a DNG
    (the IFDs walked by :mod:`redframe.io.tiff_ifd`; tifffile for a BigTIFF)."""
    try:
        with open(path, "rb") as f:
            tags = read_ifds(f).tags
            return {name: tags[code].value for code, name in _DNG_TAGS.items()
                    if code in tags}
    except NotClassic:
        pass
    except (OSError, TiffError, struct.error, OverflowError):
        return {}  # not a TIFF-based file, or damaged tags
    import tifffile

    try:
        with quiet_native_stderr(), tifffile.TiffFile(path) as tif:
            tags = tif.pages[0].tags
            return {name: tags[code].value for code, name in _DNG_TAGS.items()
                    if code in tags}
    except Exception:  # noqa: BLE001 - damaged tags
        return {}


def opcode_lists(path: str) -> OpcodeLists | None:
    """The DNG's OpcodeList1/2/3 (tags 51008, 51009, 51022), parsed, from the raw image's
    IFD (NewSubFileType 0: IFD 0 or one of its SubIFDs), else IFD 0; None without any
    (the IFDs walked by :mod:`redframe.io.tiff_ifd`; tifffile for a BigTIFF).

    A list that is malformed is kept as ``OpcodeLists.error`` (raised by the develop only
    when it asks for the file's opcodes): ``--lens off`` still develops the file."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            page0 = read_ifds(f)
            pages = [p for p in page0.subifds if p.subfiletype == 0] + [page0]
            return _opcodes_of(pages, size)
    except NotClassic:
        pass
    except Exception:  # noqa: BLE001 - not a TIFF-based raw: no opcodes
        return None
    import tifffile

    try:
        with quiet_native_stderr(), tifffile.TiffFile(path) as tif:
            page0 = tif.pages[0]
            pages = [page0]
            try:
                pages = [p for p in (page0.pages or []) if p.subfiletype == 0] + pages
            except Exception:  # noqa: BLE001 - damaged SubIFDs: IFD 0 only
                pass
            return _opcodes_of(pages, tif.filehandle.size)
    except Exception:  # noqa: BLE001 - not a TIFF-based raw: no opcodes
        return None


def _opcodes_of(pages: list, size: int) -> OpcodeLists | None:
    """The opcode lists of the first of ``pages`` (IFDs whose ``tags`` map codes to
    entries with ``count``, ``valueoffset`` and ``value``: ours or tifffile's) that has
    any, in a file of ``size`` bytes."""
    found = OpcodeLists()
    try:
        for page in pages:
            tags = page.tags
            present = {n: tags[code] for n, code in OPCODE_TAGS.items() if code in tags}
            if not present:
                continue
            for n, tag in present.items():
                count = int(tag.count)
                if count > MAX_LIST_BYTES or tag.valueoffset + count > size:
                    raise OpcodeError(
                        f"OpcodeList{n} claims {count:,} bytes; the file holds "
                        f"{max(0, size - tag.valueoffset):,} after it"
                        if count <= MAX_LIST_BYTES else
                        f"OpcodeList{n} claims {count:,} bytes; refusing more than "
                        f"{MAX_LIST_BYTES:,}")
                value = tag.value
                data = value if isinstance(value, bytes) else bytes(
                    np.asarray(value, np.uint8).ravel())
                ops, warns = parse_opcode_list(data, n)
                found.lists[n] = ops
                found.warnings += warns
            break
    except OpcodeError as exc:
        found.error = str(exc)
    return found if found else None


def _rational_array(value, count: int) -> np.ndarray | None:
    """tifffile gives SRATIONAL arrays flattened as (num, den, num, den, ...)."""
    values = np.asarray(value, dtype=np.float64).ravel()
    if values.size == 2 * count:
        num, den = values[0::2], values[1::2]
        if np.any(den == 0):
            return None
        values = num / den
    if values.size != count or not np.all(np.isfinite(values)):
        return None
    return values


def _pick_color_matrix(tags: dict) -> np.ndarray | None:
    """The DNG ColorMatrix whose calibration illuminant is closest to D65 (6504 K)."""
    best, best_distance = None, None
    for i in (1, 2):
        if f"ColorMatrix{i}" not in tags:
            continue
        matrix = _rational_array(tags[f"ColorMatrix{i}"], 9)
        if matrix is None or not np.any(matrix):
            continue
        cct = _ILLUMINANT_CCT.get(int(tags.get(f"CalibrationIlluminant{i}", 21) or 21), 6504)
        distance = abs(1e6 / cct - 1e6 / 6504)  # in mireds
        if best_distance is None or distance < best_distance:
            best, best_distance = matrix.reshape(3, 3), distance
    return best


_PATTERN_LETTERS = {0: "R", 1: "G", 2: "B", 3: "G"}


def _bayer_pattern(raw) -> str | None:
    pattern = raw.raw_pattern
    desc = raw.color_desc.decode("ascii", errors="replace") if raw.color_desc else "RGBG"
    if pattern is None or pattern.shape != (2, 2) or raw.num_colors != 3 or desc != "RGBG":
        return None
    letters = "".join(_PATTERN_LETTERS[int(i)] for i in pattern.ravel())
    return letters if letters in ("RGGB", "BGGR", "GRBG", "GBRG") else None


def decode_raw(path: str, meta: Metadata) -> Scene:
    """Open ``path`` with LibRaw and return its sensor data as a :class:`Scene`.

    Raises :class:`InputError` for anything that is not a complete, decodable raw: unknown
    format, truncated data (LibRaw sometimes "decodes" those into zeros or garbage: we check
    the stored bits per pixel and the data range), or a sensor larger than MAX_RAW_PIXELS.
    """
    import rawpy

    size = os.path.getsize(path)
    raw = rawpy.RawPy()
    try:
        with quiet_native_stderr():
            try:
                raw.open_file(path)
            except rawpy.LibRawError as exc:
                raise InputError(f"not a raw file LibRaw can read ({_libraw_reason(exc)})",
                                 path=path) from None
            sizes = raw.sizes
            pixels = int(sizes.raw_width) * int(sizes.raw_height)
            if pixels <= 0 or pixels > MAX_RAW_PIXELS:
                raise InputError(f"raw claims {sizes.raw_width}x{sizes.raw_height} pixels; "
                                 f"refusing more than {MAX_RAW_PIXELS:,}", path=path)
            if size * 8 / pixels < MIN_BITS_PER_PIXEL:
                raise InputError(
                    f"truncated raw: {size:,} bytes cannot hold {sizes.raw_width}x"
                    f"{sizes.raw_height} pixels", path=path)
            try:
                raw.unpack()
            except rawpy.LibRawError as exc:
                raise InputError(f"raw data is corrupt or truncated ({_libraw_reason(exc)})",
                                 path=path) from None
            return _scene_from_raw(raw, path, meta)
    finally:
        raw.close()


def _built_in_matrix(raw, meta: Metadata) -> tuple[np.ndarray | None, str]:
    """(XYZ -> camera, its source) from LibRaw's built-in ``rgb_cam`` (camera RGB -> linear
    sRGB, :func:`libraw_rgb_cam`), or (None, "") with a warning: the identity."""
    rgb_cam = libraw_rgb_cam(raw)
    if rgb_cam is not None:
        return (np.linalg.inv(rgb_cam) @ XYZ_TO_SRGB,
                "LibRaw rgb_cam (built in; measured from its renderings)")
    meta.warnings.append("no colour matrix in the file or LibRaw's tables; colours are the "
                         "sensor's own (identity matrix)")
    return None, ""


def libraw_rgb_cam(raw) -> np.ndarray | None:
    """LibRaw's camera RGB -> linear sRGB matrix (``rgb_cam``) for a camera it knows no
    ``rgb_xyz_matrix`` for, or None when it has none either (the identity).

    Some cameras (dcraw's old Kodaks, the DC40/DC50/DC120) get ``rgb_cam`` from code in
    LibRaw's identify() rather than from its matrix table, and rawpy exposes neither that
    nor ``rgb_cam`` itself. LibRaw applies it to make its sRGB output, so it is measured
    there: the half-size image rendered twice, linear (gamma 1, no auto-brightness, no
    white balance), in raw colour and in sRGB, is exactly ``srgb = rgb_cam @ raw`` away
    from clipping; a least-squares fit on the pixels clear of 0 and of the clip level
    recovers it (the Kodak DC50's: rows 1.81 -0.34 -0.48 / -0.44 1.85 -0.42 / -0.68 -1.39
    3.07, rms residual 0.37 of 65535: the renderings' rounding). Cost: two half-size
    renderings, only for such files."""
    import rawpy

    common = dict(half_size=True, gamma=(1, 1), no_auto_bright=True, output_bps=16,
                  user_wb=[1.0, 1.0, 1.0, 1.0], user_flip=0)
    try:
        cam = raw.postprocess(output_color=rawpy.ColorSpace.raw, **common)
        srgb = raw.postprocess(output_color=rawpy.ColorSpace.sRGB, **common)
    except (rawpy.LibRawError, MemoryError, ValueError):
        return None
    # at most ~1 M pixels for the fit (a 100 MP frame's half size would be 600 MB in double)
    step = max(1, cam.shape[0] * cam.shape[1] // 1_000_000)
    a = cam.reshape(-1, 3)[::step].astype(np.float64)
    b = srgb.reshape(-1, 3)[::step].astype(np.float64)
    del cam, srgb
    ok = (np.all((a > 256) & (a < 60000), axis=1)
          & np.all((b > 256) & (b < 60000), axis=1))
    if np.count_nonzero(ok) < 256:
        return None
    a, b = a[ok], b[ok]
    m = np.linalg.lstsq(a, b, rcond=None)[0].T
    residual = np.sqrt(np.mean((a @ m.T - b) ** 2)) / 65535.0
    if (not np.all(np.isfinite(m)) or residual > 2e-3 or abs(np.linalg.det(m)) < 1e-6
            or np.allclose(m, np.eye(3), atol=2e-3)):
        return None
    return m


def _libraw_reason(exc: Exception) -> str:
    text = exc.args[0] if exc.args else str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return str(text).strip() or type(exc).__name__


def _scene_from_raw(raw, path: str, meta: Metadata) -> Scene:
    import rawpy

    tags = dng_tags(path)
    _fill_from_libraw(raw, meta)
    sizes = raw.sizes
    meta.width = meta.width or int(sizes.width)
    meta.height = meta.height or int(sizes.height)
    if meta.orientation is None:
        meta.orientation = {0: 1, 3: 3, 5: 8, 6: 6}.get(int(sizes.flip), 1)

    white = float(raw.white_level)
    black_channel = np.asarray(raw.black_level_per_channel, dtype=np.float32)
    xyz_to_cam, source = _pick_color_matrix(tags), "DNG ColorMatrix"
    if xyz_to_cam is None:
        m = np.asarray(raw.rgb_xyz_matrix, dtype=np.float64)[:3]
        xyz_to_cam, source = (m, "LibRaw rgb_xyz_matrix") if np.any(m) else (None, "")
    if xyz_to_cam is None:
        rgb_cam = np.asarray(raw.color_matrix, dtype=np.float64)[:, :3]
        if np.any(rgb_cam) and abs(np.linalg.det(rgb_cam)) > 1e-6:
            xyz_to_cam = np.linalg.inv(rgb_cam) @ XYZ_TO_SRGB
            source = "LibRaw rgb_cam"
        # else: LibRaw's built-in rgb_cam, measured once the sensor data is copied
        # (its renderings change the raw buffer): _built_in_matrix
    neutral = None
    if "AsShotNeutral" in tags:
        neutral = _rational_array(tags["AsShotNeutral"], 3)
    if neutral is None:
        gains = np.asarray(raw.camera_whitebalance, dtype=np.float64)[:3]
        # (1, 1, 1) is LibRaw's placeholder when the file has no white balance at all
        if np.all(gains > 0) and not np.allclose(gains, 1.0):
            neutral = 1.0 / gains
    if neutral is not None and (np.any(neutral <= 0) or not np.all(np.isfinite(neutral))):
        neutral = None
    if neutral is not None:
        neutral = neutral / neutral[1]
        meta.as_shot_neutral = tuple(float(v) for v in neutral)
    noise = None
    if "NoiseProfile" in tags:
        values = np.asarray(tags["NoiseProfile"], dtype=np.float64).ravel()
        if values.size >= 2 and np.all(np.isfinite(values[:2])) and values[0] >= 0:
            noise = (float(values[0]), float(values[1]))
    baseline = 0.0
    if "BaselineExposure" in tags:
        b = _rational_array(tags["BaselineExposure"], 1)
        baseline = float(b[0]) if b is not None and abs(b[0]) < 10 else 0.0
    meta.format = "dng" if tags.get("DNGVersion") is not None else "raw"
    opcodes = opcode_lists(path) if meta.format == "dng" else None

    pattern = _bayer_pattern(raw) if raw.raw_type == rawpy.RawType.Flat else None
    if pattern is not None:
        mosaic = raw.raw_image_visible.copy()
        # the 2x2 site colours, relative to the visible area as the pattern itself (LibRaw
        # COLOR(row, col)); rawpy's raw_colors_visible would tile a full-size plane for this
        colors = np.asarray(raw.raw_pattern)[:2, :2]
        black = black_channel[colors].astype(np.float32)
        _check_not_empty(mosaic, black, white, path)
        if xyz_to_cam is None:
            xyz_to_cam, source = _built_in_matrix(raw, meta)
        calibration = RawCalibration(pattern, black, white, xyz_to_cam, neutral, noise,
                                     baseline, source, opcodes)
        _attach_lensfun(calibration, meta)
        return Scene(meta=meta, mosaic=mosaic, calibration=calibration, space="cfa")

    # Fallback: LibRaw demosaics (its X-Trans/AHD code), we keep linear camera RGB.
    rgb16 = raw.postprocess(
        output_color=rawpy.ColorSpace.raw, gamma=(1, 1), no_auto_bright=True,
        use_camera_wb=False, use_auto_wb=False, user_wb=[1.0, 1.0, 1.0, 1.0],
        output_bps=16, user_flip=0, highlight_mode=rawpy.HighlightMode.Ignore,
    )
    rgb = rgb16.astype(np.float32) * np.float32(1.0 / 65535.0)
    _check_not_empty(rgb, np.zeros(3, np.float32), 1.0, path)
    if xyz_to_cam is None:
        xyz_to_cam, source = _built_in_matrix(raw, meta)
    calibration = RawCalibration(None, np.zeros(3, np.float32), 1.0, xyz_to_cam, neutral,
                                 noise, baseline, source, opcodes)
    _attach_lensfun(calibration, meta)
    scene = Scene(meta=meta, rgb=rgb, calibration=calibration, space="camera")
    scene.notes.append("non-Bayer or linear raw: demosaiced by LibRaw (documented fallback)")
    return scene


def _attach_lensfun(calibration: RawCalibration, meta: Metadata) -> None:
    """The lensfun camera + lens for this raw (the database is read once per process)."""
    try:
        calibration.lensfun, calibration.lensfun_reason = match_lens(meta)
        if meta.focal_length_35mm is None and meta.focal_length:
            # 35 mm equivalent: EXIF's, else the focal-plane size (io.exif), else the crop
            # factor lensfun knows for the camera
            crop = crop_factor(meta)
            if crop is not None:
                meta.focal_length_35mm = float(round(meta.focal_length * crop))
    except Exception as exc:  # noqa: BLE001 - a broken database must not stop a develop
        calibration.lensfun, calibration.lensfun_reason = None, f"lensfun failed: {exc}"


def _fill_from_libraw(raw, meta: Metadata) -> None:
    """Shooting data LibRaw parsed from maker notes, for fields EXIF did not give us."""
    try:
        other, lens = raw.other, raw.lens
    except AttributeError:  # rawpy < 0.25
        return
    if meta.iso is None and 0 < other.iso_speed < 10_000_000:
        meta.iso = float(other.iso_speed)
    if meta.exposure_time is None and 0 < other.shutter_speed < 86400:
        meta.exposure_time = float(other.shutter_speed)
    if meta.f_number is None and 0.5 < other.aperture < 256:
        meta.f_number = round(float(other.aperture), 2)
    if meta.focal_length is None and 0.1 < other.focal_length < 5000:
        meta.focal_length = float(other.focal_length)
    if meta.datetime is None and other.timestamp and other.timestamp.year > 1970:
        meta.datetime = other.timestamp
    if meta.lens is None:
        meta.lens = clean_text(lens.model)
    if meta.lens_make is None:
        meta.lens_make = clean_text(lens.make)


def _check_not_empty(data: np.ndarray, black: np.ndarray, white: float, path: str) -> None:
    """LibRaw returns an all-black frame for some truncated files instead of failing."""
    step = max(1, int(np.sqrt(data.shape[0] * data.shape[1] / 250_000)))
    sample = data[::step, ::step]
    if sample.size == 0 or float(sample.max()) <= float(np.max(black)):
        raise InputError("raw holds no image data (every pixel at black level): the file is "
                         "truncated or only a metadata container", path=path)
