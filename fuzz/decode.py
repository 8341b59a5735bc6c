"""Target ``decode``: :func:`redframe.io.decode.read_metadata` and ``read_image`` on a file.

Input: one byte choosing the file's extension (the extension decides raw vs picture along
with the content), then the file's bytes (at most ``max_len``). Seeds: tiny JPEG, PNG, TIFF
(8 and 16 bit), WebP, GIF, HEIC with EXIF/ICC, and five small truncated raws."""

from __future__ import annotations

from fuzz.harness import Target, temp_file
from fuzz.seeds import pictures, raws
from redframe.io.decode import read_image, read_metadata

INSTRUMENT = ("redframe", "tomllib")  # top-level packages (atheris matches those)
EXTENSIONS = (".jpg", ".png", ".tif", ".heic", ".webp", ".gif", ".dng", ".nef", ".cr2", ".arw",
              ".rw2", ".cr3", ".raf", ".jpeg", ".tiff", ".bin")


def one(data: bytes) -> None:
    if not data:
        return
    ext = EXTENSIONS[data[0] % len(EXTENSIONS)]
    with temp_file(data[1:], ext) as path:
        read_metadata(str(path))
        scene = read_image(str(path))
        assert scene is not None


def seeds() -> list[bytes]:
    out = []
    for name, blob in {**pictures(), **raws()}.items():
        ext = "." + name.rsplit(".", 1)[1]
        index = EXTENSIONS.index(ext) if ext in EXTENSIONS else len(EXTENSIONS) - 1
        out.append(bytes([index]) + blob)
    return out


TARGET = Target("decode", one, seeds, tokens=(
    b"\xff\xd8\xff", b"\xff\xd9", b"\xff\xe1", b"Exif\x00\x00", b"\x89PNG\r\n\x1a\n", b"IHDR",
    b"IDAT", b"IEND", b"II*\x00", b"MM\x00*", b"ftypheic", b"ftypcrx ", b"ftypmif1", b"mdat",
    b"iloc", b"meta", b"RIFF", b"WEBPVP8 ", b"GIF89a", b"\xff\xff\xff\x7f", b"\x00\x00\x01\x00",
), max_len=256 * 1024)
