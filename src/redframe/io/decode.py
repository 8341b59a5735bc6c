"""`read_image`: open any supported file and return a :class:`Scene` plus its metadata.

The file's *content* decides how it is decoded (magic bytes), not its extension: a JPEG
named ``.dng`` is refused with a message that says so. Raws go through :mod:`redframe.io.raw`;
JPEG, HEIC/HEIF, PNG, WebP and 8/16-bit or float TIFF are decoded to linear Rec.2020
(float32), using the embedded ICC profile to know the encoding primaries (sRGB, Display P3,
Adobe RGB, Rec.2020; anything unknown is taken as sRGB, with a note).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

from redframe.color import rgb_to_rgb_matrix, srgb_decode
from redframe.errors import InputError
from redframe.io.exif import metadata_from_exif, read_exif
from redframe.io.heif import check_isobmff_complete
from redframe.io.metadata import Metadata
from redframe.io.raw import RAW_EXTENSIONS, decode_raw, dng_tags, quiet_native_stderr
from redframe.io.scene import Scene

__all__ = [
    "read_image",
    "read_metadata",
    "check_readable",
    "check_regular_file",
    "sniff",
    "MAX_IMAGE_PIXELS",
    "IMAGE_EXTENSIONS",
    "SUPPORTED_EXTENSIONS",
]

#: Refuse images with more pixels than this (decompression bombs, hostile headers).
MAX_IMAGE_PIXELS = 250_000_000

#: LZW codes (at least 1 bit) stand for at most 4096 pixels: a GIF whose screen is larger
#: than this many pixels per byte of file is mostly a background fill, a decompression bomb
#: (fuzzing: 569 bytes declaring 13107x13107 took 6.4 GB and 25 s to develop)
_GIF_PIXELS_PER_BYTE = 4096 * 8

IMAGE_EXTENSIONS = frozenset(".jpg .jpeg .jpe .heic .heif .hif .png .tif .tiff .webp".split())
SUPPORTED_EXTENSIONS = IMAGE_EXTENSIONS | RAW_EXTENSIONS


def sniff(head: bytes) -> str | None:
    """The container a file's first bytes announce: jpeg, png, tiff, heic, webp, cr3, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"crx ":
            return "cr3"
        if brand in (
            b"heic",
            b"heix",
            b"hevc",
            b"hevx",
            b"mif1",
            b"msf1",
            b"heim",
            b"heis",
            b"avif",
        ):
            return "heic"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"GIF8"):
        return "gif"
    return None


_NOT_REGULAR = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def check_regular_file(path: str) -> os.stat_result:
    """``os.stat(path)`` (symlinks followed) of a regular file, or InputError: missing, a
    folder, a FIFO, socket or device. Nothing is opened: opening a FIFO blocks until a writer
    comes, and a device like /dev/zero never ends."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except PermissionError:
        raise InputError("permission denied", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror or exc})", path=path) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError("is a folder, not an image", path=path)
    if not stat.S_ISREG(st.st_mode):
        what = next((name for test, name in _NOT_REGULAR if test(st.st_mode)), "special file")
        raise InputError(f"is {what}, not a regular file", path=path)
    return st


def check_readable(path: str, *, complete: bool = True) -> bytes:
    """The file's first 64 bytes, or InputError: missing, a folder or other non-regular
    file (FIFO, socket, device), unreadable, empty; with ``complete``, also an ISOBMFF file
    (HEIC/HEIF/AVIF, CR3) that ends before the data its boxes and items declare (decoders
    turn those into flat tiles without a word, see :mod:`redframe.io.heif`)."""
    check_regular_file(path)
    try:
        # O_NONBLOCK: should a FIFO replace the file since the check, open does not hang
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise InputError("is not a regular file", path=path)
            head = fh.read(64)
    except PermissionError:
        raise InputError("permission denied", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror or exc})", path=path) from None
    if not head:
        raise InputError("empty file (0 bytes)", path=path)
    check_content(path, head)
    if complete and sniff(head) in ("heic", "cr3"):
        check_isobmff_complete(path)
    return head


#: extension -> (what it names, the first bytes that kind of file may start with)
_EXPECTED_HEADS = {
    **dict.fromkeys((".jpg", ".jpeg", ".jpe"), ("JPEG", (b"\xff\xd8\xff",))),
    ".png": ("PNG", (b"\x89PNG\r\n\x1a\n",)),
    **dict.fromkeys((".tif", ".tiff"), ("TIFF", (b"II*\x00", b"MM\x00*", b"II+\x00",
                                                 b"MM\x00+"))),
    ".dng": ("DNG", (b"II*\x00", b"MM\x00*")),
    ".webp": ("WebP", (b"RIFF",)),
    ".svg": ("SVG", ()),
}


def describe_bytes(head: bytes) -> str:
    """What a file's first bytes are, for a one-line error: a known kind, text (quoted,
    printable characters only) or the bytes in hex."""
    kind = sniff(head)
    if kind is not None:
        return f"a {kind.upper()}"
    if head.lstrip().startswith((b"<?xml", b"<svg")):
        return "SVG/XML text"
    try:
        text = head[:24].decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text and all(c.isprintable() or c in "\t\r\n" for c in text):
        return f"text ({' '.join(text.split())[:20]!r}...)"
    return f"no image format redframe reads (they begin {head[:8].hex(' ')})"


def check_content(path: str, head: bytes) -> None:
    """InputError when the extension names a picture kind (or DNG) that the first bytes
    are not, and the bytes are no other kind we read (junk, text, a truncated header): so
    junk named ``.jpg`` reads "not a JPEG", not a raw decoder's complaint. A file whose
    bytes are another known kind (a PNG named .jpg) is decoded by its content."""
    ext = Path(path).suffix.lower()
    expected = _EXPECTED_HEADS.get(ext)
    if expected is None:
        return
    name, heads = expected
    if ext == ".svg":
        if head.lstrip().startswith((b"<?xml", b"<svg")):
            raise InputError("an SVG is a drawing, not a photo (SVG is only read as a --logo)",
                             path=path)
        raise InputError(f"not an SVG: the file's bytes are {describe_bytes(head)}", path=path)
    if sniff(head) is None and not head.startswith(heads):
        raise InputError(f"not a {name}: the file's bytes are {describe_bytes(head)}",
                         path=path)


def _is_dng(path: str) -> bool:
    return "DNGVersion" in dng_tags(path)


def read_metadata(path: str) -> Metadata:
    """Metadata only (no pixel decode), for ``redframe info`` and frames."""
    path = str(path)
    check_readable(path, complete=False)
    exif, icc, warnings = read_exif(path)
    meta = metadata_from_exif(exif, Metadata(path=path))
    meta.icc_profile = icc
    meta.warnings.extend(warnings)
    return meta


def read_image(path: str | os.PathLike) -> Scene:
    """Decode ``path`` into a :class:`Scene` (raw mosaic, or linear Rec.2020 RGB)."""
    path = str(path)
    head = check_readable(path)
    kind = sniff(head)
    ext = Path(path).suffix.lower()
    if ext in RAW_EXTENSIONS and kind in ("jpeg", "png", "webp", "gif", "heic"):
        raise InputError(
            f"the extension says raw ({ext}) but the content is {kind.upper()}; "
            f"rename it to .{'jpg' if kind == 'jpeg' else kind}",
            path=path,
        )
    meta = read_metadata(path)
    if kind in ("jpeg", "png", "webp", "heic", "gif") or (
        kind == "tiff" and ext in IMAGE_EXTENSIONS and not _is_dng(path)
    ):
        meta.format = kind
        return _decode_picture(path, kind, meta)
    return decode_raw(path, meta)


def encoding_space(icc: bytes | None) -> tuple[str, float | None, str | None]:
    """(primaries, gamma or None for the sRGB curve, note) for an input's ICC profile,
    read from the profile's description."""
    if not icc:
        return "srgb", None, None
    try:
        import io

        from PIL import ImageCms

        desc = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    except Exception:  # noqa: BLE001 - a broken profile is treated as sRGB
        return "srgb", None, "unreadable ICC profile; assumed sRGB"
    d = desc.lower()
    if "p3" in d:
        return "display-p3", None, None
    if "adobe rgb" in d or "adobergb" in d:
        return "adobe-rgb", 563 / 256, None
    if "2020" in d:
        return "rec2020", None, None
    if "srgb" in d or "61966" in d:
        return "srgb", None, None
    return "srgb", None, f"ICC profile {desc.strip()!r} not recognised; assumed sRGB"


def _decode_picture(path: str, kind: str, meta: Metadata) -> Scene:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # we check the size ourselves, with a clear message
    try:
        if kind == "heic":
            import pillow_heif

            pillow_heif.register_heif_opener()
        with quiet_native_stderr(), Image.open(path) as im:
            w, h = im.size
            if w * h > MAX_IMAGE_PIXELS:
                raise InputError(
                    f"image claims {w}x{h} pixels; refusing more than "
                    f"{MAX_IMAGE_PIXELS:,} (decompression-bomb guard)",
                    path=path,
                )
            if kind == "gif" and w * h > _GIF_PIXELS_PER_BYTE * os.path.getsize(path):
                raise InputError(
                    f"GIF claims {w}x{h} pixels in {os.path.getsize(path):,} bytes, more than "
                    f"its LZW coding can hold (a decompression bomb)",
                    path=path,
                )
            if kind == "heic":
                # HEIF orientation (irot/imir) is applied by the decoder; EXIF's is then stale
                meta.orientation = 1
            array = picture_pixels(path, kind, im)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow/cv2/tifffile raise many types
        raise InputError(f"cannot decode {kind.upper()} ({_short(exc)})", path=path) from None
    meta.height, meta.width = array.shape[:2]
    space, gamma, note = encoding_space(meta.icc_profile)

    def decode_curve(encoded: np.ndarray) -> np.ndarray:
        return srgb_decode(encoded) if gamma is None else np.power(np.clip(encoded, 0, None), gamma)

    if array.dtype in (np.uint8, np.uint16):  # a table of every code: no pow per pixel
        top = np.iinfo(array.dtype).max
        table = decode_curve(np.arange(top + 1, dtype=np.float32) / np.float32(top))
        linear = np.take(table.astype(np.float32), array)
    else:
        linear = decode_curve(
            np.nan_to_num(array.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
        )
    if space != "rec2020":
        import cv2

        matrix = rgb_to_rgb_matrix(space, "rec2020").astype(np.float32)
        linear = cv2.transform(np.ascontiguousarray(linear, dtype=np.float32), matrix)
    scene = Scene(meta=meta, rgb=np.ascontiguousarray(linear, dtype=np.float32), space="rec2020")
    if note:
        scene.notes.append(note)
    return scene


def picture_pixels(path: str, kind: str, im) -> np.ndarray:
    """Pixels of the opened Pillow image ``im`` of ``path`` (``kind`` from :func:`sniff`) as
    (H, W, 3) uint8/uint16/float32: 16 bits kept, alpha dropped, grey and CMYK expanded.
    Raises what the decoders raise (a truncated file among them); what libpng/libtiff/OpenCV
    print on the way is silenced (the caller reports the error, once)."""
    with quiet_native_stderr():
        return _picture_pixels(path, kind, im)


def _picture_pixels(path: str, kind: str, im) -> np.ndarray:
    if kind in ("png", "tiff"):
        array = None
        if kind == "tiff":
            import tifffile

            try:
                array = tifffile.imread(path)
                if array.ndim == 3 and array.shape[0] in (3, 4) and array.shape[-1] not in (3, 4):
                    array = np.moveaxis(array, 0, -1)  # planar
                photometric = tifffile.TiffFile(path).pages[0].photometric
                if int(photometric) == 5:  # separated (CMYK): let Pillow convert
                    array = None
            except Exception:  # noqa: BLE001 - fall back to Pillow
                array = None
        else:
            import cv2

            data = np.fromfile(path, dtype=np.uint8)
            array = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if _png_chunks_fit(data) else None
            if array is not None and array.ndim == 3:
                array = array[..., [2, 1, 0, 3][: array.shape[2]]] if array.shape[2] >= 3 else array
        if array is not None and array.dtype in (np.uint8, np.uint16, np.float32, np.float64):
            if array.ndim == 2:
                array = np.repeat(array[..., None], 3, axis=2)
            if array.ndim == 3 and array.shape[2] >= 3:
                return np.ascontiguousarray(array[..., :3])
    im.load()
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        grey = np.asarray(im, dtype=np.uint16 if im.mode != "I" else np.int32)
        grey = np.clip(grey, 0, 65535).astype(np.uint16)
        return np.repeat(grey[..., None], 3, axis=2)
    if (
        im.mode in ("RGBA", "LA", "PA", "P")
        and "transparency" in im.info
        or im.mode in ("RGBA", "LA")
    ):
        im = im.convert("RGBA").convert("RGB")
    elif im.mode == "CMYK" and im.info.get("icc_profile"):
        im = im.convert("RGB")
    elif im.mode != "RGB":
        im = im.convert("RGB")
    return np.asarray(im, dtype=np.uint8)


def _png_chunks_fit(data: np.ndarray) -> bool:
    """Whether every chunk of the PNG ``data`` (up to IEND) fits in the file. OpenCV
    allocates what a chunk declares before reading it (fuzzing: a 299-byte PNG declaring a
    4 GB chunk took 4 GB and 6 s); one that does not fit is left to Pillow, which reads as
    it goes and refuses it."""
    buf = data.tobytes()
    pos, n = 8, len(buf)
    while pos + 8 <= n:
        length = int.from_bytes(buf[pos:pos + 4], "big")
        if length > n - pos - 12:
            return False
        if buf[pos + 4:pos + 8] == b"IEND":
            return True
        pos += 12 + length
    return False


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]
