"""Hostile inputs (issue 13): truncated files of every kind and paths that are not regular
files are refused with one line and exit 3, through the real command, leaving nothing behind.
"""

from __future__ import annotations

import io
import os
import re
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from redframe.errors import EXIT, InputError
from redframe.io.decode import check_readable, read_image
from redframe.io.heif import check_isobmff_complete

DATA = Path(__file__).parent / "data"
IPHONE_HEIC = DATA / "iphone13promax_rot90.heic"
SAMPLE_DNG = Path(__file__).parents[1] / "src" / "redframe" / "data" / "sample_nikon_rose.dng"
PERCENTS = (5, 30, 60, 90, 99)
# the CLI's own refusal; anything else (libpng/libtiff/OpenCV chatter) is noise
OUR_LINE = re.compile(r"(redframe: )?error:? \S")


def cli(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "redframe", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"})


def refusal_lines(stderr: str) -> list[str]:
    """stderr without the batch summary ("0 developed, 1 failed:" and its indented repeat)
    and progress lines: the refusal itself."""
    return [line for line in stderr.splitlines()
            if line.strip() and not line.startswith("  ")
            and not re.fullmatch(r"\d+ \w+, \d+ failed:", line)]


def assert_refused(proc: subprocess.CompletedProcess, name: str, out: Path) -> str:
    assert proc.returncode == EXIT["input"], (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = refusal_lines(proc.stderr)
    assert len(lines) == 1 and OUR_LINE.match(lines[0]), proc.stderr
    assert name in lines[0], lines
    leftovers = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert leftovers == [], leftovers  # no picture, no hidden .part file
    return lines[0]


def truncate(data: bytes, percent: int, path: Path) -> Path:
    path.write_bytes(data[: len(data) * percent // 100])
    return path


def noisy_rgb(h: int = 240, w: int = 320, seed: int = 0) -> np.ndarray:
    """Incompressible enough that any truncation cuts into the pixel data."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    img[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
    return img


def heic_bytes(img: np.ndarray, grid: int = 0) -> bytes:
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    saved = pillow_heif.options.GRID_TILE_SIZE
    pillow_heif.options.GRID_TILE_SIZE = grid  # tiles like a phone's, when > 0
    try:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="HEIF", quality=90)
    finally:
        pillow_heif.options.GRID_TILE_SIZE = saved
    return buf.getvalue()


# --- truncated HEIC ------------------------------------------------------------------------

@pytest.mark.parametrize("percent", PERCENTS)
def test_truncated_iphone_heic_is_refused_by_develop(tmp_path, percent):
    bad = truncate(IPHONE_HEIC.read_bytes(), percent, tmp_path / f"cut{percent}.heic")
    out = tmp_path / "out"
    proc = cli("develop", bad.name, "-o", str(out), cwd=tmp_path)
    line = assert_refused(proc, bad.name, out)
    assert "truncated" in line


def test_intact_iphone_heic_still_develops(tmp_path):
    out = tmp_path / "out"
    proc = cli("develop", str(IPHONE_HEIC), "-o", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in out.iterdir()] == ["iphone13promax_rot90.jpg"]


@pytest.mark.parametrize("grid", [0, 128])
def test_truncated_written_heic_is_refused(tmp_path, grid):
    data = heic_bytes(noisy_rgb(), grid=grid)
    good = tmp_path / "good.heic"
    good.write_bytes(data)
    assert read_image(good).rgb.shape == (240, 320, 3)
    for percent in PERCENTS:
        bad = truncate(data, percent, tmp_path / f"cut{percent}.heic")
        with pytest.raises(InputError, match=f"cut{percent}.heic: .*truncated"):
            read_image(bad)
    out = tmp_path / "out"
    proc = cli("develop", "cut60.heic", "-o", str(out), cwd=tmp_path)
    assert_refused(proc, "cut60.heic", out)


def _mdat_to_end_of_file(data: bytes) -> bytes:
    """The same file with its mdat box declared as "to the end of the file" (size 0)."""
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if kind == b"mdat":
            assert size not in (0, 1)
            return data[:offset] + struct.pack(">I", 0) + data[offset + 4:]
        offset += size
    raise AssertionError("no mdat")


def test_heic_whose_mdat_runs_to_the_end_is_checked_by_its_item_locations(tmp_path):
    data = _mdat_to_end_of_file(heic_bytes(noisy_rgb(), grid=128))
    whole = tmp_path / "whole.heic"
    whole.write_bytes(data)
    check_isobmff_complete(str(whole))  # complete: no complaint
    assert read_image(whole).rgb.shape == (240, 320, 3)
    for percent in PERCENTS:
        bad = truncate(data, percent, tmp_path / f"cut{percent}.heic")
        with pytest.raises(InputError, match="image item .* present"):
            check_isobmff_complete(str(bad))


def test_cut_in_the_meta_box_is_refused(tmp_path):
    data = IPHONE_HEIC.read_bytes()
    for cut in (20, 44, 1000, 3700):  # ftyp, meta header, inside meta, end of meta
        bad = tmp_path / f"cut{cut}.heic"
        bad.write_bytes(data[:cut])
        with pytest.raises(InputError, match=f"cut{cut}.heic"):
            read_image(bad)


# --- the same sweep for every other kind ---------------------------------------------------

def _other_formats(tmp_path: Path) -> dict[str, bytes]:
    import tifffile
    from PIL import Image

    img = noisy_rgb()
    files = {"huawei.jpg": (DATA / "huawei_ele-l29.jpg").read_bytes(),
             "rose.dng": SAMPLE_DNG.read_bytes()}
    for name, fmt, options in [("gen.jpg", "JPEG", {"quality": 95}), ("gen.png", "PNG", {}),
                               ("gen.tif", "TIFF", {}),
                               ("lzw.tif", "TIFF", {"compression": "tiff_lzw"}),
                               ("gen.webp", "WEBP", {"quality": 90}),
                               ("lossless.webp", "WEBP", {"lossless": True})]:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format=fmt, **options)
        files[name] = buf.getvalue()
    wide = img.astype(np.uint16) * 257
    for name, options in [("sixteen.tif", {}), ("zlib.tif", {"compression": "zlib"})]:
        buf = io.BytesIO()
        tifffile.imwrite(buf, wide, **options)
        files[name] = buf.getvalue()
    buf = io.BytesIO()
    Image.fromarray(wide[..., 1]).save(buf, format="PNG")
    files["grey16.png"] = buf.getvalue()
    return files


def test_every_format_refuses_its_truncations(tmp_path):
    files = _other_formats(tmp_path)
    cut_names = []
    for name, data in files.items():
        whole = tmp_path / name
        whole.write_bytes(data)
        read_image(whole)  # the intact file decodes
        for percent in PERCENTS:
            bad = truncate(data, percent, tmp_path / f"cut{percent}_{name}")
            with pytest.raises(InputError, match=re.escape(bad.name)):
                read_image(bad)
            cut_names.append(bad.name)
    # and through the command, all at once: every one refused, nothing written
    out = tmp_path / "out"
    proc = cli("develop", *cut_names, "-o", str(out), cwd=tmp_path, timeout=180)
    assert proc.returncode == EXIT["input"], proc.stderr
    assert "Traceback" not in proc.stderr
    lines = refusal_lines(proc.stderr)
    assert len(lines) == len(cut_names), proc.stderr
    assert all(OUR_LINE.match(line) for line in lines), proc.stderr
    assert all(any(n in line for line in lines) for n in cut_names)
    assert not out.exists() or not any(out.rglob("*"))


# --- paths that are not regular files ------------------------------------------------------

@pytest.fixture
def fifo(tmp_path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    path = tmp_path / "pipe.jpg"
    os.mkfifo(path)
    return path


COMMANDS = {
    "develop": lambda src, out: ["develop", src, "-o", str(out)],
    "frame": lambda src, out: ["frame", src, "-o", str(out)],
    "night": lambda src, out: ["night", src, "-o", str(out / "night.jpg")],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("source", ["fifo", "/dev/zero"])
def test_non_regular_inputs_are_refused_at_once(tmp_path, request, command, source):
    if source == "fifo":
        src, what = str(request.getfixturevalue("fifo")), "FIFO"
    else:
        if not os.path.exists(source):
            pytest.skip("no /dev/zero")
        src, what = source, "character device"
    out = tmp_path / "out"
    started = time.monotonic()
    proc = cli(*COMMANDS[command](src, out), cwd=tmp_path, timeout=30)  # a hang fails here
    assert time.monotonic() - started < 20
    line = assert_refused(proc, Path(src).name, out)
    assert what in line and "not a regular file" in line


def test_check_readable_refuses_every_kind_of_non_regular_file(tmp_path, fifo):
    with pytest.raises(InputError, match="FIFO"):
        check_readable(str(fifo))
    sock_path = tmp_path / "s.jpg"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(sock_path))
        with pytest.raises(InputError, match="socket, not a regular file"):
            check_readable(str(sock_path))
    with pytest.raises(InputError, match="character device"):
        check_readable("/dev/null")
    folder = tmp_path / "folder.jpg"
    folder.mkdir()
    with pytest.raises(InputError, match="folder"):
        read_image(folder)
    dangling = tmp_path / "dangling.jpg"
    dangling.symlink_to(tmp_path / "missing.jpg")
    with pytest.raises(InputError, match="no such file"):
        read_image(dangling)
    to_fifo = tmp_path / "to_fifo.jpg"
    to_fifo.symlink_to(fifo)
    with pytest.raises(InputError, match="FIFO"):
        read_image(to_fifo)


def test_a_symlink_to_a_regular_file_is_fine(tmp_path):
    link = tmp_path / "link.jpg"
    link.symlink_to(DATA / "nokia_x71.jpg")
    assert read_image(link).rgb is not None
