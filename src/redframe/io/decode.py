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
    "check_picture_data",
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
    kind = sniff(head)
    if complete and kind in ("heic", "cr3"):
        check_isobmff_complete(path)
    if complete and kind in ("png", "jpeg"):
        check_picture_data(path, kind)
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
            check_png_inflates(path, data.tobytes())
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


# --- pictures that declare more pixels than their data holds (issue 13) ----------------------
# OpenCV and Pillow pad a short image with zeros without a word: a 1.3 kB PNG declaring
# 15000x15000 took 25 s and 10 GB to develop, a 16x16 JPEG under a 12000x12000 header 13 s
# and 6.6 GB. The checks below read only the file's structure (and, for PNG, inflate its
# data into nothing) before anything full-size is allocated.

#: deflate codes a 258-byte match in at least 2 bits (1-bit length and distance codes), so
#: no deflate stream inflates to more than 1032 times its size
_DEFLATE_MAX_RATIO = 1032
_DEFLATE_SLACK = 1024  # raw bytes allowed on top: tiny images, block headers

_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
#: Adam7 passes: (x start, y start, x step, y step)
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
          (0, 1, 1, 2))


def check_picture_data(path: str, kind: str) -> None:
    """InputError when a PNG or JPEG declares more pixels than its data can hold, read from
    the file's structure alone (no pixel decoded): a PNG whose IDAT data is too small to
    inflate to the rows its header declares, a JPEG whose entropy-coded data is too small for
    the blocks its frame declares. Files whose structure cannot be followed are left to the
    decoders, which refuse them."""
    with open(path, "rb") as fh:
        buf = fh.read()
    problem = _png_short(buf) if kind == "png" else _jpeg_short(buf)
    if problem:
        raise InputError(problem, path=path)


def _png_layout(buf: bytes) -> tuple[int, int, int, int, int, list[tuple[int, int]]] | None:
    """(width, height, bits per pixel, bit depth, interlace, IDAT (start, length) spans) of a
    PNG, or None when its chunks cannot be followed."""
    if len(buf) < 33 or buf[12:16] != b"IHDR":
        return None
    width, height = int.from_bytes(buf[16:20], "big"), int.from_bytes(buf[20:24], "big")
    depth, colour, interlace = buf[24], buf[25], buf[28]
    channels = _PNG_CHANNELS.get(colour)
    if channels is None or not width or not height:
        return None
    spans, pos, n = [], 8, len(buf)
    while pos + 8 <= n:
        length = int.from_bytes(buf[pos:pos + 4], "big")
        tag = buf[pos + 4:pos + 8]
        if tag == b"IDAT":
            spans.append((pos + 8, min(length, max(0, n - pos - 8))))
        elif tag == b"IEND":
            break
        pos += 12 + length
    return width, height, channels * depth, depth, interlace, spans


def _png_raw_rows(width: int, height: int, bpp: int, interlace: int) -> list[tuple[int, int]]:
    """(bytes of a filtered row, filter byte included; how many such rows) for each pass of
    the data a PNG inflates to: one pass, or Adam7's seven."""
    if interlace != 1:
        return [(1 + (width * bpp + 7) // 8, height)]
    passes = []
    for x0, y0, dx, dy in _ADAM7:
        w = (width - x0 + dx - 1) // dx if width > x0 else 0
        h = (height - y0 + dy - 1) // dy if height > y0 else 0
        if w and h:
            passes.append((1 + (w * bpp + 7) // 8, h))
    return passes


def _png_rows_within(passes: list[tuple[int, int]], size: int) -> int:
    """How many whole rows of ``passes`` the first ``size`` bytes hold."""
    rows = 0
    for row, count in passes:
        if size < row * count:
            return rows + size // row
        size -= row * count
        rows += count
    return rows


def _png_short(buf: bytes) -> str | None:
    layout = _png_layout(buf)
    if layout is None:
        return None
    width, height, bpp, _, interlace, spans = layout
    passes = _png_raw_rows(width, height, bpp, interlace)
    idat = sum(length for _, length in spans)
    bound = _DEFLATE_MAX_RATIO * idat + _DEFLATE_SLACK
    if sum(row * count for row, count in passes) <= bound:
        return None
    fit, rows = _png_rows_within(passes, bound), sum(count for _, count in passes)
    return (f"PNG declares {width}x{height} pixels but holds data for at most {fit:,} of its "
            f"{rows:,} rows ({idat:,} bytes of image data; a decompression bomb)")


def check_png_inflates(path: str, buf: bytes) -> None:
    """InputError when a PNG's image data (its zlib stream) ends before the rows its header
    declares: decoders pad the rest with zeros. Inflates in pieces, keeping nothing."""
    import zlib

    layout = _png_layout(buf)
    if layout is None:
        return
    width, height, bpp, _, interlace, spans = layout
    passes = _png_raw_rows(width, height, bpp, interlace)
    expected = sum(row * count for row, count in passes)
    inflater = zlib.decompressobj()
    got = 0
    try:
        for start, length in spans:
            data = buf[start:start + length]
            while data and got < expected and not inflater.eof:
                got += len(inflater.decompress(data, 1 << 22))
                data = inflater.unconsumed_tail
            if got >= expected or inflater.eof:
                break
    except zlib.error:
        return  # corrupt data: the decoder refuses it with its own words
    if got < expected:
        fit, rows = _png_rows_within(passes, got), sum(count for _, count in passes)
        raise InputError(f"PNG declares {width}x{height} pixels but its image data ends after "
                         f"{fit:,} of {rows:,} rows (truncated or a decompression bomb)",
                         path=path)


#: SOF markers: sequential Huffman (baseline, extended), progressive Huffman
_JPEG_SEQUENTIAL = (0xC0, 0xC1)
_JPEG_PROGRESSIVE = (0xC2,)


def _jpeg_short(buf: bytes) -> str | None:
    """Whether a Huffman-coded JPEG's entropy-coded data is too small for its frame: every
    8x8 block of a sequential JPEG takes at least 2 bits (a DC and an AC code, 1 bit each at
    best), and of a progressive one at least 1 bit (its DC scan has no end-of-band runs).
    Arithmetic-coded, lossless and hierarchical JPEGs have no such floor: left alone."""
    n = len(buf)
    pos = 2
    frame = None
    entropy = 0
    arr = None
    while pos + 4 <= n:
        if buf[pos] != 0xFF:
            return None  # lost the structure: the decoder will say
        marker = buf[pos + 1]
        if marker == 0xFF:
            pos += 1  # fill byte
            continue
        if marker == 0xD9:
            break
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = int.from_bytes(buf[pos + 2:pos + 4], "big")
        if length < 2:
            return None
        seg = buf[pos + 4:pos + 2 + length]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and frame is None:
            if len(seg) < 6:
                return None
            height, width, count = (int.from_bytes(seg[1:3], "big"),
                                    int.from_bytes(seg[3:5], "big"), seg[5])
            sampling = [(seg[7 + 3 * i] >> 4, seg[7 + 3 * i] & 15) for i in range(count)
                        if 8 + 3 * i <= len(seg)]
            frame = (marker, width, height, sampling)
        pos += 2 + length
        if marker == 0xDA:  # entropy-coded data follows, up to the next non-RST marker
            if arr is None:
                arr = np.frombuffer(buf, dtype=np.uint8)
            end = _jpeg_next_marker(arr, pos)
            entropy += end - pos
            pos = end
    if frame is None:
        return None
    marker, width, height, sampling = frame
    if marker in _JPEG_SEQUENTIAL:
        bits_per_block = 2
    elif marker in _JPEG_PROGRESSIVE:
        bits_per_block = 1
    else:
        return None
    if not width or not height or not sampling or any(h < 1 or v < 1 for h, v in sampling):
        return None
    hmax, vmax = max(h for h, _ in sampling), max(v for _, v in sampling)
    blocks = sum(_ceil(_ceil(width * h, hmax), 8) * _ceil(_ceil(height * v, vmax), 8)
                 for h, v in sampling)
    need = _ceil(blocks * bits_per_block, 8)
    if entropy >= need:
        return None
    return (f"JPEG declares {width}x{height} pixels but holds {entropy:,} bytes of image data, "
            f"less than the {need:,} that many pixels take at least (truncated or a "
            f"decompression bomb)")


def _ceil(a: int, b: int) -> int:
    return (a + b - 1) // b


def _jpeg_next_marker(arr: np.ndarray, start: int, step: int = 1 << 20) -> int:
    """Offset of the first marker at or after ``start`` that ends entropy-coded data (0xFF
    followed by anything but a stuffed 0x00, a fill 0xFF or a restart marker), or the end."""
    n = len(arr)
    pos = start
    while pos < n - 1:
        window = arr[pos:min(n, pos + step + 1)]
        ff = np.flatnonzero(window[:-1] == 0xFF)
        if ff.size:
            nxt = window[ff + 1]
            hit = ff[(nxt != 0x00) & (nxt != 0xFF) & ((nxt < 0xD0) | (nxt > 0xD7))]
            if hit.size:
                return pos + int(hit[0])
        pos += step
    return n


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]
