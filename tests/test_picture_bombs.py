"""Pictures that declare more pixels than their data holds (issue 13, docs/reliability.md):
OpenCV and Pillow pad the missing rows with zeros, so a 250-byte PNG declaring 15000x15000
took 25 s and 10 GB, and a 16x16 JPEG under a 12000x12000 header 13 s and 6.6 GB. They are
refused from the file's structure before anything full-size is allocated: exit 3, one line,
fast, in little memory (the CLI runs under a 2 GB address-space limit, so a regression fails
fast instead of eating the machine). Legitimate flat pictures, which compress very well but
hold all their data, still decode.
"""

from __future__ import annotations

import io
import os
import re
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from redframe.errors import EXIT, InputError
from redframe.io.decode import check_readable, picture_pixels, read_image

MEMORY_LIMIT = 2 << 30
SECONDS = 5  # interpreter start-up included; the checks themselves take well under 1 ms


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, idat: bytes) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat)
            + _chunk(b"IEND", b""))


def png_bomb(side: int = 15000, rows: int = 4) -> bytes:
    """A PNG declaring side x side RGB pixels whose data holds ``rows`` rows."""
    return png(side, side, zlib.compress(b"".join(b"\0" + bytes(3 * side) for _ in range(rows)), 9))


def png_cut_stream(width: int = 1000, height: int = 1000, rows: int = 10) -> bytes:
    """A PNG whose random rows compress too badly to trip the ratio bound, but whose zlib
    stream stops (flushed, never finished) after ``rows`` of its ``height`` rows."""
    rng = np.random.default_rng(3)
    raw = b"".join(b"\0" + rng.integers(0, 256, 3 * width, dtype=np.uint8).tobytes()
                   for _ in range(rows))
    comp = zlib.compressobj(6)
    return png(width, height, comp.compress(raw) + comp.flush(zlib.Z_SYNC_FLUSH))


def jpeg_bomb(side: int = 12000) -> bytes:
    """A small JPEG's data under a frame header declaring side x side pixels."""
    img = np.random.default_rng(7).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG")
    data = bytearray(buf.getvalue())
    sof = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, side, side)
    return bytes(data)


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "redframe", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=60, preexec_fn=_limit_memory,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"})
    proc.seconds = time.perf_counter() - t0
    return proc


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bombs")
    (root / "bomb.png").write_bytes(png_bomb())
    (root / "bomb.jpg").write_bytes(jpeg_bomb())
    (root / "cut_stream.png").write_bytes(png_cut_stream())
    return root


@pytest.mark.parametrize("command", ["develop", "frame"])
@pytest.mark.parametrize(("name", "words"), [
    ("bomb.png", "declares 15000x15000 pixels but holds data for at most 4 of"),
    ("bomb.jpg", "declares 12000x12000 pixels but holds"),
    ("cut_stream.png", "image data ends after 10 of 1,000 rows"),
])
def test_short_picture_refused_fast_in_little_memory(bombs, tmp_path, command, name, words):
    assert (bombs / name).stat().st_size < 100_000
    proc = cli(command, str(bombs / name), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == EXIT["input"], (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines()  # the batch summary left out
             if line.strip() and not line.startswith("  ")
             and not re.fullmatch(r"\d+ \w+, \d+ failed:", line)]
    assert len(lines) == 1, proc.stderr
    assert name in lines[0] and words in lines[0], lines
    assert proc.seconds < SECONDS, proc.seconds
    assert not any((tmp_path / "out").rglob("*.*")) if (tmp_path / "out").exists() else True


@pytest.mark.parametrize("name", ["bomb.png", "bomb.jpg", "cut_stream.png"])
def test_short_picture_refused_in_process(bombs, name):
    with pytest.raises(InputError, match="declares"):
        read_image(bombs / name)


def test_flat_png_holds_all_its_data(tmp_path):
    """8000x6000 of one colour: ~150 kB, near deflate's 1032:1, and complete."""
    path = tmp_path / "flat.png"
    Image.new("RGB", (8000, 6000), (120, 130, 140)).save(path)
    assert path.stat().st_size < 400_000
    check_readable(str(path))
    with Image.open(path) as im:
        pixels = picture_pixels(str(path), "png", im)
    assert pixels.shape == (6000, 8000, 3)
    assert (pixels == np.array([120, 130, 140], np.uint8)).all()


def test_flat_interlaced_png_decodes(tmp_path):
    path = tmp_path / "flat_adam7.png"
    flat = np.full((1200, 1600, 3), 90, np.uint8)
    flat[::7] = 200
    Image.fromarray(flat).save(path)
    # Pillow writes no interlaced PNG: set the flag and re-encode the data as Adam7
    rows = []
    for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
                           (1, 0, 2, 2), (0, 1, 1, 2)):
        sub = flat[y0::dy, x0::dx]
        rows += [b"\0" + row.tobytes() for row in sub]
    ihdr = struct.pack(">IIBBBBB", 1600, 1200, 8, 2, 0, 0, 1)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
                     + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + _chunk(b"IEND", b""))
    check_readable(str(path))
    with Image.open(path) as im:
        assert im.info.get("interlace") == 1
        pixels = picture_pixels(str(path), "png", im)
    assert (pixels == flat).all()


def test_flat_progressive_jpeg_decodes(tmp_path):
    path = tmp_path / "flat_progressive.jpg"
    Image.new("RGB", (8000, 6000), (120, 130, 140)).save(path, progressive=True, quality=90)
    assert b"\xff\xc2" in path.read_bytes()[:2000]
    check_readable(str(path))
    with Image.open(path) as im:
        pixels = picture_pixels(str(path), "jpeg", im)
    assert pixels.shape == (6000, 8000, 3)
    assert abs(pixels.astype(int).mean(axis=(0, 1)) - [120, 130, 140]).max() < 3


@pytest.mark.parametrize("subsampling", [0, 2])
def test_flat_baseline_jpeg_decodes(tmp_path, subsampling):
    path = tmp_path / "flat.jpg"
    Image.new("L" if subsampling == 0 else "RGB", (4000, 3000), 128).save(
        path, quality=50, subsampling=subsampling)
    check_readable(str(path))


def test_truncated_pictures_still_refused(tmp_path):
    for name, data in (("cut.png", png_bomb(300, 300)[:-40]),
                       ("cut.jpg", jpeg_bomb(16)[:-200])):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(InputError):
            read_image(path)
