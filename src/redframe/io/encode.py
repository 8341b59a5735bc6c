"""`write_image`: encode a rendered image as JPEG, HEIC, TIFF or PNG, atomically, with metadata.

Input: ``(H, W, 3)`` pixels already in the output encoding (non-linear, e.g. sRGB-encoded
values in [0, 1]) and already oriented for display (the pipeline applies the EXIF
orientation to the pixels once, with :func:`apply_orientation`, so we always write
``Orientation = 1``). float arrays are quantised here; uint8/uint16 arrays are written as
they are (rescaled exactly only when the format needs another depth).

Every file carries the ICC profile of its colour space (:mod:`redframe.io.icc`) and a
filtered copy of the source EXIF: capture settings, date, GPS (unless ``strip_gps``) and
authorship are kept; maker notes, thumbnails, interoperability and sub-IFDs, strip/tile
layout and DNG/CFA tags are dropped, because they describe the *source* file and would be
wrong (or private) in ours. Every value goes through :func:`clean_text`, and each tag is
first written alone into a tiny in-memory JPEG with exiv2: a tag exiv2 refuses (unknown key,
or a value it cannot parse and reads back empty) is skipped, never failing the write.

How EXIF reaches each container:

- JPEG and HEIC: the EXIF block is the ``APP1`` payload of the tiny JPEG exiv2 wrote
  during validation (exiv2 built it, so it is the same TIFF structure the other formats
  get), handed to the encoder as ``exif=``: no second pass over a large file (exiv2 cannot
  write ISO BMFF at all).
- PNG, TIFF: pixels (and the ICC profile) are written by the encoder, then exiv2 adds the
  EXIF in place (``eXIf`` chunk / IFD0 + Exif IFD).

HDR (``hdr=``, issue 16): a HEIC (10-bit) or PNG (16-bit) of the HDR rendition in BT.2100
PQ or HLG, labelled by its H.273 colours (HEIC ``nclx``, PNG ``cICP``) and no ICC profile
(:mod:`redframe.io.bt2100`); JPEG carries HDR as an Ultra HDR gain map instead
(``gain_map=``); TIFF carries no HDR.

Quantisation: ``round(clip(x, 0, 1) * max)``. 8-bit outputs from float input get
triangular-PDF dither of +-1 LSB before rounding (Lipshitz, Wannamaker & Vanderkooy 1992,
"Quantization and dither: a theoretical survey", JAES 40(5)): it turns the banding of
smooth gradients (skies, vignettes) into invisible noise. The noise is a hash of the pixel's
position (the develop pipeline's own dither, :func:`redframe.color.dither.dither_noise`),
so the same image writes the same bytes; exact 0 and 1 are left undithered so that pure
black and white (frames, borders) stay clean. 10- and 16-bit outputs are not dithered.

Atomicity: the file is written under a hidden ``.NAME.XXXX.part`` name in the destination
folder, fsynced, then renamed over the destination (or hard-linked, when overwriting is
not allowed, so that a file appearing meanwhile is not clobbered). On any failure the
temporary file is removed and :class:`OutputError` names the destination.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import struct
import zlib
from collections.abc import Callable, Mapping
from fractions import Fraction
from pathlib import Path

import numpy as np

from redframe import SOFTWARE
from redframe.color.dither import dither_noise
from redframe.errors import OutputError, UsageError
from redframe.io.bt2100 import HdrPicture, bt2100_codes, light_levels, nclx
from redframe.io.exif import parse_rational, pyexiv2_module
from redframe.io.icc import ICC_SPACES, icc_profile
from redframe.io.jpeg_bands import encode_jpeg
from redframe.io.metadata import MAX_TEXT, Metadata, clean_text
from redframe.io.ultrahdr import GainMap, assemble, jpeg_segments

__all__ = ["write_image", "output_path", "apply_orientation", "quantise", "exif_tags",
           "FORMATS", "BIT_DEPTHS"]

log = logging.getLogger(__name__)

#: format -> file extension.
FORMATS = {"jpeg": ".jpg", "heic": ".heic", "tiff": ".tif", "png": ".png"}
_ALIASES = {"jpg": "jpeg", "heif": "heic", "tif": "tiff"}
#: format -> allowed bit depths, the default first.
BIT_DEPTHS = {"jpeg": (8,), "heic": (8, 10), "tiff": (16, 8), "png": (16, 8)}

_CHUNK_PIXELS = 1 << 20  # quantise in blocks of rows of about this many pixels

# EXIF filtering. Only these Exif.Image tags are copied (the rest of IFD0 describes the
# source file's layout: strips, tiles, DNG and CFA tags, sub-IFD pointers).
_IMAGE_KEEP = frozenset({"Make", "Model", "DateTime", "Artist", "Copyright", "ImageDescription"})
# Exif.Photo tags that point into the source file, describe its encoding, or that we set.
_PHOTO_DROP = frozenset({
    "MakerNote", "InteroperabilityTag", "PixelXDimension", "PixelYDimension", "ColorSpace",
    "ComponentsConfiguration", "CompressedBitsPerPixel", "Gamma", "Padding", "OffsetSchema",
    "0xea1c", "0xea1d",
})
_NUMERIC = frozenset("0123456789 /-+.")
_ZERO_MEANS_UNKNOWN = frozenset(f"Exif.Photo.{name}" for name in (
    "FNumber", "ExposureTime", "ISOSpeedRatings", "FocalLength", "FocalLengthIn35mmFilm"))
_EMPTY_COMMENT = re.compile(r"charset=\S+\s*")  # a UserComment with nothing after its charset
# HEIF nclx colour description (ITU-T H.273): primaries per space; transfer 13 = sRGB curve.
_NCLX_PRIMARIES = {"srgb": 1, "display-p3": 12, "rec2020": 9, "adobe-rgb": 2}


# --- orientation and quantisation --------------------------------------------------------

def apply_orientation(image: np.ndarray, orientation: int | None) -> np.ndarray:
    """Turn stored pixels (H, W, ...) into display orientation for EXIF ``orientation`` 1..8.

    1 as is, 2 flip left-right, 3 rotate 180, 4 flip top-bottom, 5 transpose, 6 rotate
    90 degrees clockwise, 7 transverse, 8 rotate 90 degrees counter-clockwise (TIFF 6.0 /
    EXIF 2.32 Orientation). ``None`` means 1. Returns a view where NumPy can (no copy).
    """
    if orientation is None or orientation == 1:
        return image
    if orientation == 2:
        return image[:, ::-1]
    if orientation == 3:
        return image[::-1, ::-1]
    if orientation == 4:
        return image[::-1]
    if orientation == 5:
        return image.swapaxes(0, 1)
    if orientation == 6:
        return image[::-1].swapaxes(0, 1)
    if orientation == 7:
        return image[::-1, ::-1].swapaxes(0, 1)
    if orientation == 8:
        return image[:, ::-1].swapaxes(0, 1)
    raise ValueError(f"EXIF orientation must be 1..8, not {orientation!r}")


def quantise(image: np.ndarray, bits: int, *, dither: bool | None = None) -> np.ndarray:
    """Pixels as uint8 (``bits`` 8) or uint16 (10 or 16: values up to ``2**bits - 1``).

    float input: ``round(clip(x, 0, 1) * max)``, NaN as 0; ``dither`` (default: on for
    8 bits) adds seeded triangular noise of +-1 LSB inside (0, 1). Integer input is rescaled
    exactly (``round(x * max_out / max_in)``) and never dithered.
    """
    out_max = (1 << bits) - 1
    out_dtype = np.uint8 if bits <= 8 else np.uint16
    if image.dtype in (np.uint8, np.uint16):
        in_max = np.iinfo(image.dtype).max
        if in_max == out_max:
            return np.ascontiguousarray(image)
        scaled = (image.astype(np.uint32) * out_max + in_max // 2) // in_max
        return scaled.astype(out_dtype)
    if not np.issubdtype(image.dtype, np.floating):
        raise ValueError(f"pixels must be float, uint8 or uint16, not {image.dtype}")
    if dither is None:
        dither = bits == 8
    out = np.empty(image.shape, dtype=out_dtype)
    rows = max(1, _CHUNK_PIXELS // max(1, image.shape[1]))
    for top in range(0, image.shape[0], rows):
        block = np.nan_to_num(image[top: top + rows].astype(np.float32), nan=0.0)
        block = np.clip(block, 0.0, 1.0)
        scaled = block * np.float32(out_max)
        if dither:  # the develop pipeline's dither: seeded by pixel position
            h, w = block.shape[:2]
            noise = dither_noise(top, h, w, block.shape[2] if block.ndim == 3 else 1)
            noise = noise.reshape(block.shape)
            scaled += np.where((block > 0) & (block < 1), noise, np.float32(0))
        out[top: top + rows] = np.clip(np.rint(scaled), 0, out_max).astype(out_dtype)
    return out


# --- EXIF --------------------------------------------------------------------------------

def _rational(value: float, max_denominator: int = 10000) -> str:
    f = Fraction(value).limit_denominator(max_denominator)
    return f"{f.numerator}/{f.denominator}"


def _exposure(seconds: float) -> str:
    if seconds < 1 and abs(1 / seconds - round(1 / seconds)) < 1e-3 * (1 / seconds):
        return f"1/{round(1 / seconds)}"
    return _rational(seconds, 100000)


def _dms(degrees: float) -> str:
    d = int(degrees)
    m = int((degrees - d) * 60)
    s = (degrees - d - m / 60) * 3600
    return f"{d}/1 {m}/1 {round(s * 10000)}/10000"


def _copied(source: Mapping[str, str], strip_gps: bool) -> dict[str, str]:
    tags = {}
    for key, value in source.items():
        parts = key.split(".")
        if len(parts) != 3 or parts[0] != "Exif" or not isinstance(value, str):
            continue
        group, name = parts[1], parts[2]
        if not (group == "Image" and name in _IMAGE_KEEP
                or group == "Photo" and name not in _PHOTO_DROP
                or group == "GPSInfo" and not strip_gps):
            continue
        text = clean_text(value)
        if text is None or _EMPTY_COMMENT.fullmatch(text):
            continue
        if len(value) > MAX_TEXT and set(value) <= _NUMERIC:
            continue  # a long binary/number array: cutting it would make garbage, drop it
        tags[key] = text
    return tags


def _from_metadata(meta: Metadata, strip_gps: bool) -> dict[str, str]:
    """Standard tags for what Metadata knows (raws keep some only in maker notes).

    FocalLengthIn35mmFilm is not filled when the source has focal-plane resolution tags:
    Metadata then *estimated* it from the sensor size, and EXIF's tag means what the camera
    reported.
    """
    fills: dict[str, str | None] = {
        "Exif.Image.Make": clean_text(meta.make),
        "Exif.Image.Model": clean_text(meta.model),
        "Exif.Image.Artist": clean_text(meta.artist),
        "Exif.Image.Copyright": clean_text(meta.copyright),
        "Exif.Photo.LensMake": clean_text(meta.lens_make),
        "Exif.Photo.LensModel": clean_text(meta.lens),
    }
    if meta.f_number and meta.f_number > 0:
        fills["Exif.Photo.FNumber"] = _rational(meta.f_number, 100)
    if meta.exposure_time and meta.exposure_time > 0:
        fills["Exif.Photo.ExposureTime"] = _exposure(meta.exposure_time)
    if meta.iso and 1 <= meta.iso <= 65535:
        fills["Exif.Photo.ISOSpeedRatings"] = str(int(round(meta.iso)))
    if meta.focal_length and meta.focal_length > 0:
        fills["Exif.Photo.FocalLength"] = _rational(meta.focal_length, 1000)
    estimated = "Exif.Photo.FocalPlaneXResolution" in (meta.exif or {})
    if meta.focal_length_35mm and 1 <= meta.focal_length_35mm <= 65535 and not estimated:
        fills["Exif.Photo.FocalLengthIn35mmFilm"] = str(int(round(meta.focal_length_35mm)))
    if meta.exposure_bias is not None:
        fills["Exif.Photo.ExposureBiasValue"] = _rational(meta.exposure_bias, 100)
    if meta.datetime is not None:
        fills["Exif.Photo.DateTimeOriginal"] = meta.datetime.strftime("%Y:%m:%d %H:%M:%S")
    if meta.gps is not None and not strip_gps:
        gps = meta.gps
        fills["Exif.GPSInfo.GPSVersionID"] = "2 3 0 0"
        fills["Exif.GPSInfo.GPSLatitudeRef"] = "N" if gps.latitude >= 0 else "S"
        fills["Exif.GPSInfo.GPSLatitude"] = _dms(abs(gps.latitude))
        fills["Exif.GPSInfo.GPSLongitudeRef"] = "E" if gps.longitude >= 0 else "W"
        fills["Exif.GPSInfo.GPSLongitude"] = _dms(abs(gps.longitude))
        if gps.altitude is not None:
            fills["Exif.GPSInfo.GPSAltitudeRef"] = "0" if gps.altitude >= 0 else "1"
            fills["Exif.GPSInfo.GPSAltitude"] = _rational(abs(gps.altitude), 1000)
    return {k: v for k, v in fills.items() if v is not None}


def exif_tags(meta: Metadata | None, *, width: int, height: int, color_space: str = "srgb",
              strip_gps: bool = False, software: str = SOFTWARE,
              ycbcr: bool = False, tiff: bool = False) -> dict[str, str]:
    """The exiv2 key/values an output of ``width`` x ``height`` gets (before exiv2 checks them)."""
    tags: dict[str, str] = {}
    if meta is not None:
        tags = _copied(meta.exif or {}, strip_gps)
        has_gps = any(k.startswith("Exif.GPSInfo.") for k in tags)
        for key, value in _from_metadata(meta, strip_gps or has_gps).items():
            # fill what the source lacks, or has as 0 ("unknown", e.g. manual lenses)
            if key not in tags or (key in _ZERO_MEANS_UNKNOWN and not parse_rational(tags[key])):
                tags[key] = value
    tags.setdefault("Exif.Photo.ExifVersion", "48 50 51 50")  # "0232"
    # the tags EXIF 2.32 requires (exiftool -validate lists them when missing); the YCbCr
    # ones only where the pixels are YCbCr (JPEG, HEIC)
    required = [("Exif.Image.XResolution", "72/1"), ("Exif.Image.YResolution", "72/1"),
                ("Exif.Image.ResolutionUnit", "2"),
                ("Exif.Photo.FlashpixVersion", "48 49 48 48")]  # "0100"
    if ycbcr:
        required += [("Exif.Image.YCbCrPositioning", "1"),
                     ("Exif.Photo.ComponentsConfiguration", "1 2 3 0")]
    for key, value in required:
        tags.setdefault(key, value)
    tags["Exif.Image.Orientation"] = "1"
    software_text = clean_text(software)
    if software_text:
        tags["Exif.Image.Software"] = software_text
    tags["Exif.Photo.ColorSpace"] = "1" if color_space == "srgb" else "65535"
    if not tiff:  # TIFF says its size in IFD0 (EXIF 2.32 does not allow these there)
        tags["Exif.Photo.PixelXDimension"] = str(int(width))
        tags["Exif.Photo.PixelYDimension"] = str(int(height))
    return tags


_TINY_JPEG: bytes | None = None


def _tiny_jpeg() -> bytes:
    """An 8x8 JPEG for exiv2 to write tags into (libjpeg-turbo through OpenCV: Pillow's
    JPEG writer would load its plugins, 20 ms of every develop's first write)."""
    global _TINY_JPEG
    if _TINY_JPEG is None:
        _TINY_JPEG = encode_jpeg(np.zeros((8, 8, 3), np.uint8), quality=50, subsampling=2)
    return _TINY_JPEG


def _exiv2_checked(tags: Mapping[str, str]) -> tuple[dict[str, str], bytes | None]:
    """(tags as exiv2 reads them back, EXIF ``APP1`` payload) after writing them one by one.

    A tag that exiv2 refuses (it raises), or whose value it cannot parse (it reads back
    empty), is skipped and logged.
    """
    pyexiv2 = pyexiv2_module()

    pyexiv2.set_log_level(4)
    refused = []
    data = pyexiv2.ImageData(_tiny_jpeg())
    try:
        for key, value in tags.items():
            try:
                data.modify_exif({key: value})
            except Exception:  # noqa: BLE001 - exiv2 raises RuntimeError for bad keys/values
                refused.append(key)
        written = data.read_exif()
        for key in tags:
            if key not in refused and not str(written.get(key, "")).strip():
                refused.append(key)
                try:
                    data.modify_exif({key: None})
                except Exception:  # noqa: BLE001
                    pass
        written = data.read_exif()
        blob = data.get_bytes()
    finally:
        data.close()
    if refused:
        log.info("EXIF tags skipped (exiv2 refused their values): %s", ", ".join(refused))
    accepted = {k: written[k] for k in tags if k not in refused and k in written}
    # the APP1 segment's payload, ``Exif\0\0`` prefix included (what Pillow calls info["exif"])
    payload = next((data for marker, data, _ in jpeg_segments(blob)
                    if marker == 0xE1 and data.startswith(b"Exif\0\0")), None)
    return accepted, payload


def _exiv2_write(path: str, tags: Mapping[str, str]) -> None:
    pyexiv2 = pyexiv2_module()

    pyexiv2.set_log_level(4)
    with pyexiv2.Image(path) as image:
        try:
            image.modify_exif(dict(tags))
        except Exception:  # noqa: BLE001 - fall back to one tag at a time
            for key, value in tags.items():
                try:
                    image.modify_exif({key: value})
                except Exception:  # noqa: BLE001
                    log.info("EXIF tag %s skipped for %s", key, path)


# --- encoders ----------------------------------------------------------------------------

def _write_jpeg(tmp: str, pixels: np.ndarray, icc: bytes, tags: dict, exif: bytes | None,
                quality: int, space: str) -> None:
    if exif and len(exif) > 65533:  # one APP1 segment cannot hold it: let exiv2 decide
        exif = None
    data = encode_jpeg(pixels, quality=quality, subsampling=0 if quality >= 90 else 2,
                       icc_profile=icc, exif=exif)
    with open(tmp, "wb") as f:
        f.write(data)
    if not exif:
        _exiv2_write(tmp, tags)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _write_png(tmp: str, pixels: np.ndarray, icc: bytes, tags: dict, exif: bytes | None,
               quality: int, space: str) -> None:
    import cv2

    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(pixels[..., ::-1]),
                               [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:
        raise RuntimeError("OpenCV could not encode the PNG")
    data = encoded.tobytes()
    # iCCP right after IHDR (signature 8 + IHDR 25 bytes). We write it ourselves: exiv2
    # writes an empty profile name, which the PNG spec forbids and libpng rejects.
    iccp = _png_chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(icc, 9))
    with open(tmp, "wb") as fh:
        fh.write(data[:33] + iccp + data[33:])
    _exiv2_write(tmp, tags)


def _write_tiff(tmp: str, pixels: np.ndarray, icc: bytes, tags: dict, exif: bytes | None,
                quality: int, space: str) -> None:
    import tifffile

    tifffile.imwrite(tmp, pixels, photometric="rgb", compression="zlib", predictor=True,
                     iccprofile=icc, metadata=None, software=tags.get("Exif.Image.Software"))
    _exiv2_write(tmp, tags)


def _write_heic(tmp: str, pixels: np.ndarray, icc: bytes, tags: dict, exif: bytes | None,
                quality: int, space: str) -> None:
    import pillow_heif

    ten_bit = pixels.dtype == np.uint16
    height, width = pixels.shape[:2]
    # 4:2:0 always: Apple's and Windows' HEVC decoders expect Main/Main10 4:2:0.
    pillow_heif.encode(
        "RGB;10" if ten_bit else "RGB", (width, height), np.ascontiguousarray(pixels).tobytes(),
        tmp, quality=quality, bit_depth=10 if ten_bit else 8, chroma=420, icc_profile=icc,
        exif=exif, save_nclx_profile=True, color_primaries=_NCLX_PRIMARIES[space],
        transfer_characteristics=13 if space != "adobe-rgb" else 2, matrix_coefficients=6,
        full_range_flag=1, tile_size=0)  # one image, no grid: exiv2 reads EXIF of grids badly


def _write_heic_hdr(tmp: str, sdr: np.ndarray, hdr: HdrPicture, exif: bytes | None,
                    quality: int, space: str) -> None:
    """A 10-bit HEIC of the HDR rendition (``sdr`` codes times ``hdr.gain``) in BT.2100 PQ
    or HLG (:mod:`redframe.io.bt2100`): nclx only, no ICC profile (ours describe the sRGB
    curve; a reader preferring the ICC would show PQ codes as sRGB); PQ files also say
    their light levels (clli) and where SDR white is (ndwt, 203 cd/m^2)."""
    import pillow_heif

    codes = bt2100_codes(sdr, hdr.gain, space, hdr.transfer, 10)
    height, width = codes.shape[:2]
    extra: dict = {}
    if hdr.transfer == "pq":
        max_cll, max_fall = light_levels(codes, 10)
        extra = {"content_light_level": {"max_content_light_level": max_cll,
                                         "max_pic_average_light_level": max_fall},
                 "nominal_diffuse_white_luminance": 203}
    pillow_heif.encode("RGB;10", (width, height), codes.tobytes(), tmp, quality=quality,
                       bit_depth=10, chroma=420, exif=exif, save_nclx_profile=True,
                       **nclx(space, hdr.transfer), tile_size=0, **extra)


def _write_png_hdr(tmp: str, sdr: np.ndarray, hdr: HdrPicture, tags: dict,
                   space: str) -> None:
    """A 16-bit PNG of the HDR rendition in BT.2100 PQ or HLG, labelled by a ``cICP``
    chunk (PNG Third Edition, W3C 2025, section 11.3.2.6: H.273 primaries, transfer, matrix
    0 - RGB - and full range) instead of an ICC profile; PQ files also get ``cLLi``
    (MaxCLL, MaxFALL in 0.0001 cd/m^2). EXIF by exiv2, as the SDR PNGs."""
    import cv2

    codes = bt2100_codes(sdr, hdr.gain, space, hdr.transfer, 16)
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(codes[..., ::-1]),
                               [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:
        raise RuntimeError("OpenCV could not encode the PNG")
    data = encoded.tobytes()
    colours = nclx(space, hdr.transfer)
    chunks = _png_chunk(b"cICP", bytes([colours["color_primaries"],
                                        colours["transfer_characteristics"], 0, 1]))
    if hdr.transfer == "pq":
        max_cll, max_fall = light_levels(codes, 16)
        chunks += _png_chunk(b"cLLi", struct.pack(">II", max_cll * 10000, max_fall * 10000))
    with open(tmp, "wb") as fh:
        fh.write(data[:33] + chunks + data[33:])
    _exiv2_write(tmp, tags)


_WRITERS: dict[str, Callable[..., None]] = {
    "jpeg": _write_jpeg, "png": _write_png, "tiff": _write_tiff, "heic": _write_heic,
}


# --- public ------------------------------------------------------------------------------

def _format(format: str) -> str:
    key = str(format).strip().lower().lstrip(".")
    key = _ALIASES.get(key, key)
    if key not in FORMATS:
        raise UsageError(f"unknown output format {format!r}; choose one of {', '.join(FORMATS)}")
    return key


def output_path(out_dir: str | os.PathLike, source_path: str | os.PathLike, format: str) -> Path:
    """``out_dir/<source stem><extension of format>``; refuses to name the source itself."""
    fmt = _format(format)
    target = Path(out_dir) / (Path(source_path).stem + FORMATS[fmt])
    try:
        same = target.resolve() == Path(source_path).resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python 3.11)
        same = False
    if same:
        raise UsageError("the output would replace its own source; choose another folder "
                         "with -o", path=str(source_path))
    return target


def _short(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def _bit_depth(fmt: str, image: np.ndarray, bit_depth: int | None) -> int:
    allowed = BIT_DEPTHS[fmt]
    if bit_depth is None:
        native = {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16}.get(image.dtype)
        return native if native in allowed else allowed[0]
    if bit_depth not in allowed:
        raise UsageError(f"{fmt.upper()} is written with {' or '.join(map(str, allowed))} bits, "
                         f"not {bit_depth}")
    return bit_depth


def _check_hdr(fmt: str, hdr: HdrPicture, image: np.ndarray, bit_depth: int | None,
               space: str, gain_map, icc_profile) -> None:
    """UsageError (one line) for an HDR picture in a combination that cannot carry it."""
    if fmt not in ("heic", "png"):
        raise UsageError(f"an HDR picture (PQ/HLG) is written in HEIC or PNG files, not "
                         f"{fmt.upper()}; JPEG carries HDR as a gain map (Ultra HDR)")
    if gain_map is not None:
        raise UsageError("give a gain map (JPEG) or an HDR picture (HEIC, PNG), not both")
    bits = 10 if fmt == "heic" else 16
    if bit_depth not in (None, bits):
        raise UsageError(f"an HDR {fmt.upper()} is {bits}-bit (PQ/HLG needs 10 bits or more), "
                         f"not {bit_depth}")
    if icc_profile:
        raise UsageError(f"an HDR {fmt.upper()} is described by its H.273 colours (nclx, "
                         "cICP), not an ICC profile")
    try:
        nclx(space, hdr.transfer)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if np.asarray(hdr.gain).shape != image.shape[:2]:
        raise ValueError(f"HDR gain of shape {np.asarray(hdr.gain).shape} for pixels of "
                         f"{image.shape[:2]}")


def _commit(tmp: str, path: Path, overwrite: bool) -> None:
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    if overwrite:
        os.replace(tmp, path)
    else:
        try:  # link() refuses an existing name, so a file that appeared meanwhile survives
            os.link(tmp, path)
        except FileExistsError:
            raise OutputError("exists; use --overwrite", path=str(path)) from None
        except OSError:  # file systems without hard links
            if path.exists():
                raise OutputError("exists; use --overwrite", path=str(path)) from None
            os.replace(tmp, path)
        else:
            os.unlink(tmp)
    fsync_dir(path.parent)  # make the rename itself durable


def fsync_dir(path: str | os.PathLike) -> None:
    """fsync a folder so a rename into it survives a crash (best effort: some file
    systems refuse to open or sync folders)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _icc_for(space: str) -> bytes:
    """Our profile for ``space`` (write_image's ``icc_profile`` argument shadows the name)."""
    return icc_profile(space)


def write_image(
    path: str | os.PathLike,
    image: np.ndarray,
    *,
    format: str,
    meta: Metadata | None,
    color_space: str = "srgb",
    quality: int = 92,
    bit_depth: int | None = None,
    overwrite: bool = False,
    strip_gps: bool = False,
    software: str = SOFTWARE,
    icc_profile: bytes | None = None,
    gain_map: GainMap | None = None,
    hdr: HdrPicture | None = None,
) -> Path:
    """Write ``image`` to ``path`` atomically with ICC profile and filtered EXIF; return the path.

    Parameters
    ----------
    image : (H, W, 3) float in [0, 1] in the output encoding, or uint8 / uint16, oriented
        for display.
    format : "jpeg", "heic", "tiff" or "png" ("jpg", "tif", "heif" also accepted).
    meta : the source's metadata, for EXIF; ``None`` writes only our own tags.
    color_space : "srgb", "display-p3", "rec2020" or "adobe-rgb": which ICC profile to embed.
    quality : 1..100 for JPEG and HEIC (JPEG uses 4:4:4 chroma at >= 90, else 4:2:0).
    bit_depth : JPEG 8; HEIC 8 (default) or 10; TIFF and PNG 16 (default) or 8. ``None``
        keeps a uint8/uint16 input's depth where the format allows it.
    overwrite : replace an existing file; otherwise :class:`OutputError` before any work.
    strip_gps : leave the GPS tags out.
    icc_profile : embed these bytes instead of our profile for ``color_space`` (to keep a
        source's own profile, e.g. ProPhoto, when its pixels are passed through unchanged).
    gain_map : JPEG only: write an Ultra HDR JPEG, ``image`` as its SDR base (the same
        bytes as without it) and this gain map (:func:`redframe.io.ultrahdr.assemble`).
    hdr : HEIC and PNG: write the HDR rendition (``image`` times ``hdr.gain``) instead, as
        a 10-bit (HEIC) or 16-bit (PNG) BT.2100 PQ or HLG picture (:mod:`redframe.io.bt2100`;
        docs/hdr.md). ``image``
        should then be 16-bit (uint16 or float): the rendition is made from its codes.

    Raises
    ------
    UsageError for an unknown format, colour space, quality or bit depth; ValueError for
    pixels of the wrong shape or type; OutputError when the file cannot be written.
    """
    fmt = _format(format)
    if color_space not in ICC_SPACES:
        raise UsageError(f"unknown colour space {color_space!r}; choose one of "
                         f"{', '.join(ICC_SPACES)}")
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) \
            or not 1 <= quality <= 100:
        raise UsageError(f"quality must be an integer 1..100, not {quality!r}")
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"expected pixels of shape (H, W, 3), got {image.shape}")
    if gain_map is not None and fmt != "jpeg":
        raise UsageError(f"a gain map (Ultra HDR) is written in JPEG files, not {fmt.upper()}")
    if hdr is not None:
        _check_hdr(fmt, hdr, image, bit_depth, color_space, gain_map, icc_profile)
        bits = 10 if fmt == "heic" else 16
    else:
        bits = _bit_depth(fmt, image, bit_depth)
    path = Path(path)
    if path.is_dir():
        raise OutputError("is a folder", path=str(path))
    if not overwrite and (path.exists() or path.is_symlink()):
        raise OutputError("exists; use --overwrite", path=str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder ({_short(exc)})", path=str(path)) from None

    tmp: str | None = None
    done = False
    try:
        pixels = quantise(image, bits) if hdr is None else image
        tags, exif = _exiv2_checked(exif_tags(meta, width=image.shape[1], height=image.shape[0],
                                              color_space=color_space if hdr is None else "hdr",
                                              strip_gps=strip_gps,
                                              software=software, ycbcr=fmt in ("jpeg", "heic"),
                                              tiff=fmt == "tiff"))
        tmp = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.part")
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        icc = icc_profile if icc_profile else _icc_for(color_space)
        if hdr is not None and fmt == "png":
            _write_png_hdr(tmp, pixels, hdr, tags, color_space)
        elif hdr is not None:
            _write_heic_hdr(tmp, pixels, hdr, exif, int(quality), color_space)
        else:
            _WRITERS[fmt](tmp, pixels, icc, tags, exif, int(quality), color_space)
        if gain_map is not None:  # after exiv2 (which may have rewritten the file)
            with open(tmp, "rb") as fh:
                data = assemble(fh.read(), gain_map)
            with open(tmp, "wb") as fh:
                fh.write(data)
        _commit(tmp, path, overwrite)
        done = True
    except OutputError:
        raise
    except Exception as exc:  # noqa: BLE001 - encoders and file systems raise many types
        raise OutputError(f"cannot write {fmt.upper()} ({_short(exc)})", path=str(path)) from exc
    finally:
        if not done and tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return path
