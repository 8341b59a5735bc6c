"""A hostile corpus through every command (issue 13), as a user runs them: the real CLI in a
subprocess. Generated here, small: zero-length and truncated files of each format, junk
bytes named .jpg/.png/.dng/.svg, a decompression-bomb PNG (as input and as ``--logo``), a
JPEG declaring 65000x65000 pixels, EXIF with control characters, bidi overrides and 65 kB
strings, malformed look, layout, recipe and .cube files, a malformed sidecar, outputs that
cannot be written.

Every case: no traceback, the documented exit code (2 usage, 3 input, 4 output; never 70),
one line naming the file, nothing partial or temporary left in the output folder, every
input's sha256 unchanged, each refusal well within 20 s and 1.5 GB of peak RSS (each CLI
call's own, with its workers'). Inputs are batched into few CLI calls (``--json`` gives each
file's own exit code).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from redframe.errors import EXIT, OutputError
from redframe.jobs.runner import Job, _check_targets

SAMPLE_DNG = Path(__file__).parents[1] / "src" / "redframe" / "data" / "sample_nikon_rose.dng"
REFUSE_SECONDS = 20
PEAK_RSS = 1.5e9  # bytes, per CLI call (its own peak and its pool workers')
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


# The CLI runs under a small launcher that reports its child's peak RSS: a process forked
# from pytest itself would report pytest's RSS at fork time (Linux carries the old mm's
# high-water mark across exec into ru_maxrss), which in a long suite is over 1.5 GB.
LAUNCHER = """
import os, resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as fh:
    fh.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code if code >= 0 else 128 - code)
"""


def cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        rss_file = Path(tmp) / "rss"
        command = [sys.executable, "-c", LAUNCHER, str(rss_file), sys.executable, "-m",
                   "redframe", *args]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, cwd=cwd, start_new_session=True,
                                 env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"})
        try:
            out, err = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)  # the launcher, the CLI and its workers
            child.communicate()
            pytest.fail(f"{args} ran past {timeout} s")
        proc = subprocess.CompletedProcess([sys.executable, "-m", "redframe", *args],
                                           child.returncode, out, err)
        # ru_maxrss of the launcher's reaped children: the CLI and its pool workers
        proc.peak_rss = int(rss_file.read_text()) * (1 if sys.platform == "darwin" else 1024)
    proc.seconds = time.perf_counter() - t0
    assert proc.seconds < timeout, (args, proc.seconds)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert proc.returncode != EXIT["internal"], proc.stderr
    assert proc.peak_rss < PEAK_RSS, (args, proc.peak_rss)
    return proc


def error_lines(stderr: str) -> list[str]:
    """The refusals on stderr, without the batch summary and its indented repeat."""
    return [line for line in stderr.splitlines()
            if line.strip() and not line.startswith("  ")
            and not re.fullmatch(r"\d+ \w+, \d+ failed:", line)]


def assert_one_line(proc: subprocess.CompletedProcess, code: int, name: str) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    lines = error_lines(proc.stderr)
    assert len(lines) == 1, proc.stderr
    assert name in lines[0], lines
    assert not CONTROL.search(lines[0]), lines
    return lines[0]


def leftovers(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def sha256s(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


# --- the corpus -------------------------------------------------------------------------------

def _picture(fmt: str, exif: bytes | None = None) -> bytes:
    rng = np.random.default_rng(7)
    img = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    buf = io.BytesIO()
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    kwargs = {"exif": exif} if exif else {}
    Image.fromarray(img).save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(side: int = 60000) -> bytes:
    """A ~100-byte PNG declaring side x side RGB pixels."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + _png_chunk(b"IEND", b""))


def huge_jpeg(side: int = 65000) -> bytes:
    """A 16x16 JPEG whose frame header declares side x side pixels."""
    data = bytearray(_picture("JPEG"))
    sof = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, side, side)
    return bytes(data)


def hostile_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Evil\x1b[2J\x07Cam\u202eftel"  # Make: terminal escape, bell, RTL override
    exif[0x0110] = "M\x00odel\r\nsecond line"  # Model: NUL and a line break
    exif[0x013B] = "A" * 65000  # Artist: as long as a JPEG APP1 segment allows
    exif[0x010E] = "\u2066isolate\u2069" + "\x7f" * 100  # ImageDescription
    return exif.tobytes()


FORMATS = {"jpg": "JPEG", "png": "PNG", "tif": "TIFF", "webp": "WEBP", "heic": "HEIF"}

#: name -> why it is refused (a word its one-line error must hold)
REFUSED_PICTURES = {
    **{f"empty.{ext}": "empty" for ext in (*FORMATS, "dng")},
    **{f"cut.{ext}": "" for ext in (*FORMATS, "dng")},
    "junk.jpg": "not a JPEG", "junk.png": "not a PNG", "junk.dng": "not a DNG",
    "text.jpg": "not a JPEG", "text.tif": "not a TIFF",
    "bomb.png": "60000x60000", "huge.jpg": "65000x65000",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    pics = root / "in"
    pics.mkdir()
    rng = np.random.default_rng(13)
    for ext, fmt in FORMATS.items():
        (pics / f"empty.{ext}").write_bytes(b"")
        data = _picture(fmt)
        (pics / f"cut.{ext}").write_bytes(data[: len(data) * 3 // 10])
    (pics / "empty.dng").write_bytes(b"")
    raw = SAMPLE_DNG.read_bytes()
    (pics / "cut.dng").write_bytes(raw[: len(raw) * 3 // 10])
    (pics / "junk.jpg").write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    (pics / "junk.png").write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    (pics / "junk.dng").write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    (pics / "text.jpg").write_bytes(b"this is not a picture\n" * 20)
    (pics / "text.tif").write_bytes("\u202etxt.exe \x1b[31m red".encode() * 10)
    (pics / "bomb.png").write_bytes(bomb_png())
    (pics / "huge.jpg").write_bytes(huge_jpeg())
    assert set(REFUSED_PICTURES) == {p.name for p in pics.iterdir()}

    other = root / "other"  # files given by name, and the good pictures
    other.mkdir()
    (other / "junk.svg").write_bytes(rng.integers(0, 256, 512, dtype=np.uint8).tobytes())
    (other / "drawing.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (other / "exif.jpg").write_bytes(_picture("JPEG", exif=hostile_exif()))
    (other / "good.jpg").write_bytes(_picture("JPEG"))
    (other / "side.jpg").write_bytes(_picture("JPEG"))
    (other / "side.jpg.redframe.toml").write_text("version = 1\n[develop.tone]\nexposure = [\n")
    (other / "bomb_logo.png").write_bytes(bomb_png())
    (other / "junk_logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)

    bad = root / "bad"  # malformed settings files
    bad.mkdir()
    (bad / "look.toml").write_text('version = 1\ndescription = "x"\n[tone]\ncontrast = "high"\n')
    (bad / "look_syntax.toml").write_text("version = 1\n[tone\n")
    (bad / "look_nested.toml").write_text("version = 1\ndescription = 'x'\nhue = "
                                          + "[" * 5000 + "]" * 5000 + "\n")
    (bad / "layout.toml").write_text('extends = "classic"\n[canvas]\nborder = "wide"\n')
    (bad / "layout_syntax.toml").write_bytes(b"\xff\xfe[canvas\n")
    (bad / "recipe.toml").write_text("version = 1\n[output]\nquality = 1000\n")
    (bad / "recipe_future.toml").write_text("version = 99\n")
    (bad / "recipe_binary.toml").write_bytes(os.urandom(300))
    (bad / "nan.cube").write_text("LUT_3D_SIZE 2\n" + "nan 0 0\n" * 8)
    (bad / "short.cube").write_text("LUT_3D_SIZE 33\n" + "0 0 0\n" * 100)
    (bad / "huge.cube").write_text("LUT_3D_SIZE 100000\n0 0 0\n")
    (bad / "junk.cube").write_bytes(os.urandom(2000))
    return root


@pytest.fixture(scope="module")
def hashes(corpus):
    before = sha256s(corpus)
    yield before
    assert sha256s(corpus) == before  # after every test of the module: originals untouched


def _json_lines(proc) -> dict[str, dict]:
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return {Path(r["input"]).name: r for r in rows}


# --- pictures through develop and frame ---------------------------------------------------------

@pytest.mark.parametrize("command", ["develop", "frame"])
def test_every_hostile_picture_is_refused_with_one_line(corpus, hashes, tmp_path, command):
    out = tmp_path / "out"
    proc = cli(command, str(corpus / "in"), "-o", str(out), "--json", cwd=corpus)
    assert proc.returncode == EXIT["input"], proc.stderr
    rows = _json_lines(proc)
    expected = {n: w for n, w in REFUSED_PICTURES.items()  # frame walks pictures, not raws
                if command == "develop" or not n.endswith(".dng")}
    assert set(rows) == set(expected), (set(rows) ^ set(expected), proc.stderr)
    for name, word in expected.items():
        row = rows[name]
        assert row["status"] == "error" and row["exit_code"] == EXIT["input"], row
        error = row["error"]
        assert name in error and "\n" not in error and word in error, (name, error)
        assert "LibRaw" not in error or name.endswith(".dng"), error
        assert "internal error" not in error and not CONTROL.search(error), error
        assert row["seconds"] < REFUSE_SECONDS, row
    assert leftovers(out) == []


@pytest.mark.parametrize("command", ["develop", "frame", "info"])
def test_svg_and_junk_named_svg_are_refused(corpus, hashes, tmp_path, command):
    for name, word in (("junk.svg", "not an SVG"), ("drawing.svg", "only read as a --logo")):
        args = (command, str(corpus / "other" / name))
        args += () if command == "info" else ("-o", str(tmp_path / "out"))
        line = assert_one_line(cli(*args, cwd=corpus), EXIT["input"], name)
        assert word in line, line
    assert leftovers(tmp_path / "out") == []


def test_info_refuses_each_hostile_file_with_one_line(corpus, hashes):
    for name in ("empty.heic", "cut.dng", "junk.jpg", "text.tif", "bomb.png", "huge.jpg"):
        proc = cli("info", str(corpus / "in" / name), cwd=corpus)
        assert proc.seconds < REFUSE_SECONDS
        assert_one_line(proc, EXIT["input"], name)


def test_night_refuses_a_burst_of_hostile_frames(corpus, hashes, tmp_path):
    frames = [str(corpus / "in" / n) for n in ("cut.dng", "junk.dng", "empty.jpg", "bomb.png")]
    out = tmp_path / "out"
    proc = cli("night", *frames, "-o", str(out / "night.jpg"), "--dng", str(out / "n.dng"),
               cwd=corpus)
    assert proc.returncode == EXIT["input"], proc.stderr
    assert "Traceback" not in proc.stderr and len(error_lines(proc.stderr)) >= 1
    assert leftovers(out) == []


# --- EXIF text that tries to break out ----------------------------------------------------------

def test_hostile_exif_text_develops_frames_and_prints_clean(corpus, hashes, tmp_path):
    src = str(corpus / "other" / "exif.jpg")
    info = cli("info", src, cwd=corpus)
    assert info.returncode == 0, info.stderr
    assert not CONTROL.search(info.stdout), repr(info.stdout[:300])
    assert len(info.stdout) < 20_000  # 64 kB of Artist is not dumped on the terminal
    as_json = cli("info", src, "--json", cwd=corpus)
    assert as_json.returncode == 0 and json.loads(as_json.stdout)
    for command in ("develop", "frame"):
        out = tmp_path / command
        proc = cli(command, src, "-o", str(out), *(["--frame", "classic"]
                                                   if command == "develop" else []), cwd=corpus)
        assert proc.returncode == 0, proc.stderr
        assert [p.name for p in leftovers(out)] == ["exif.jpg"]
        assert not CONTROL.search(proc.stderr + proc.stdout)


# --- malformed settings files -------------------------------------------------------------------

SETTINGS_CASES = [
    ("develop", "--look", "look.toml", "tone.contrast"),
    ("develop", "--look", "look_syntax.toml", "TOML"),
    ("develop", "--look", "look_nested.toml", ""),
    ("develop", "--look", "nan.cube", "line"),
    ("develop", "--look", "short.cube", ""),
    ("develop", "--look", "huge.cube", ""),
    ("develop", "--look", "junk.cube", ""),
    ("develop", "--frame", "layout.toml", "border"),
    ("frame", "--layout", "layout_syntax.toml", ""),
    ("develop", "--recipe", "recipe.toml", "output.quality"),
    ("frame", "--recipe", "recipe_future.toml", "version"),
    ("develop", "--recipe", "recipe_binary.toml", ""),
    ("night", "--look", "nan.cube", "line"),
    ("night", "--recipe", "recipe.toml", "output.quality"),
]


@pytest.mark.parametrize("command, flag, name, word", SETTINGS_CASES,
                         ids=[f"{c}{f}={n}" for c, f, n, _ in SETTINGS_CASES])
def test_malformed_settings_files_are_usage_errors(corpus, hashes, tmp_path, command, flag,
                                                   name, word):
    out = tmp_path / "out"
    target = str(out / "n.jpg") if command == "night" else str(out)
    proc = cli(command, str(corpus / "other" / "good.jpg"), "-o", target, flag,
               str(corpus / "bad" / name), cwd=corpus)
    assert proc.seconds < REFUSE_SECONDS
    line = assert_one_line(proc, EXIT["usage"], name)
    assert word in line, line
    assert leftovers(out) == []


def test_lut_of_a_malformed_look_is_a_usage_error(corpus, hashes, tmp_path):
    for name in ("look.toml", "look_nested.toml"):
        proc = cli("lut", str(corpus / "bad" / name), "-o", str(tmp_path / "x.cube"),
                   cwd=corpus)
        assert_one_line(proc, EXIT["usage"], name)
    assert leftovers(tmp_path) == []


def test_a_malformed_sidecar_fails_only_its_own_picture(corpus, hashes, tmp_path):
    out = tmp_path / "out"
    other = corpus / "other"
    proc = cli("develop", str(other / "side.jpg"), str(other / "good.jpg"), "-o", str(out),
               "--json", cwd=corpus)
    assert proc.returncode == EXIT["partial"], proc.stderr
    rows = _json_lines(proc)
    assert rows["good.jpg"]["status"] == "ok"
    error = rows["side.jpg"]["error"]
    assert "side.jpg.redframe.toml" in error and "\n" not in error, error
    assert rows["side.jpg"]["exit_code"] == EXIT["usage"]
    assert [p.name for p in leftovers(out)] == ["good.jpg"]


@pytest.mark.parametrize("logo, word", [("bomb_logo.png", "decompression-bomb"),
                                        ("junk_logo.png", "cannot be read")])
@pytest.mark.parametrize("command", ["frame", "develop"])
def test_a_hostile_logo_is_a_usage_error(corpus, hashes, tmp_path, command, logo, word):
    out = tmp_path / "out"
    extra = ["--frame", "classic"] if command == "develop" else []
    proc = cli(command, str(corpus / "other" / "good.jpg"), "-o", str(out), *extra,
               "--logo", str(corpus / "other" / logo), cwd=corpus)
    assert proc.seconds < REFUSE_SECONDS
    line = assert_one_line(proc, EXIT["usage"], logo)
    assert word in line, line
    assert leftovers(out) == []


# --- outputs that cannot be written: refused before the develop ---------------------------------

def test_outputs_that_cannot_be_written_are_output_errors(corpus, hashes, tmp_path):
    good = str(corpus / "other" / "good.jpg")
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    cases = [
        ("develop", good, "-o", str(blocker)),  # -o is a file
        ("develop", good, "-o", str(blocker / "sub")),  # a folder under a file
        ("frame", good, "-o", str(blocker / "sub")),
        ("night", good, "-o", str(blocker / "n.jpg")),
        ("night", good, "-o", str(tmp_path / "n.jpg"), "--dng", str(blocker / "d" / "n.dng")),
        ("develop", good, "-o", str(loop)),  # a symlink loop (was exit 70)
        ("frame", good, "-o", str(loop)),
        ("night", good, "-o", str(loop / "n.jpg")),
    ]
    for args in cases:
        proc = cli(*args, cwd=corpus)
        assert proc.seconds < REFUSE_SECONDS
        line = assert_one_line(proc, EXIT["output"], str(tmp_path))
        assert "develop" not in proc.stdout, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "loop"]


def test_a_folder_that_is_not_writable_fails_before_any_work(tmp_path, monkeypatch):
    src = tmp_path / "a.jpg"
    src.write_bytes(_picture("JPEG"))
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw:
                        False if Path(p) == locked else real_access(p, mode, **kw))
    for output, message in ((locked / "a.jpg", "folder is not writable"),
                            (locked / "new" / "deeper" / "a.jpg", "cannot create the folder")):
        with pytest.raises(OutputError, match=message) as info:
            _check_targets(Job((str(src),), str(output)))
        assert info.value.exit_code == EXIT["output"]
    with pytest.raises(OutputError, match="not writable"):
        _check_targets(Job((str(src),), str(tmp_path / "n.jpg"), kind="night",
                           dng=str(locked / "n.dng")))
