"""The `redframe` command end to end: outputs, summaries, exit codes, bad input."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from redframe.cli import main
from redframe.io.decode import read_metadata


def run(*args: str) -> subprocess.CompletedProcess:
    """Run the real command in a subprocess (tracebacks and exit codes as users see them)."""
    return subprocess.run([sys.executable, "-m", "redframe", *args], capture_output=True,
                          text=True, timeout=300)


def digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_help_reads_well():
    out = run("--help")
    assert out.returncode == 0
    for word in ("develop", "info", "demo", "examples"):
        assert word in out.stdout
    dev = run("develop", "--help")
    for flag in ("--format", "--quality", "--wb", "--exposure", "--jobs", "--overwrite"):
        assert flag in dev.stdout


def test_develop_raw_and_jpeg_keeps_exif_and_never_touches_inputs(tmp_path, sample_raw,
                                                                   data_dir):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(sample_raw, src / "rose.dng")
    shutil.copy(data_dir / "iphone5s_rot180.jpg", src / "phone.jpg")
    before = {p.name: digest(p) for p in src.iterdir()}
    out = tmp_path / "out"
    assert main(["develop", str(src), "-o", str(out), "--format", "jpeg"]) == 0
    assert {p.name: digest(p) for p in src.iterdir()} == before
    assert sorted(p.name for p in out.iterdir()) == ["phone.jpg", "rose.jpg"]
    phone = read_metadata(out / "phone.jpg")
    assert (phone.make, phone.model, phone.iso, phone.f_number) == ("Apple", "iPhone 5s", 32, 2.2)
    assert phone.orientation == 1  # applied to the pixels once, then reset
    from PIL import Image

    assert Image.open(out / "phone.jpg").size == (500, 375)
    rose = read_metadata(out / "rose.jpg")
    assert rose.make == "NIKON CORPORATION"
    assert rose.software and rose.software.startswith("redframe")
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left


def test_rotated_photo_is_rotated_exactly_once(tmp_path, data_dir):
    from PIL import Image, ImageOps

    out = tmp_path / "out"
    assert main(["develop", str(data_dir / "iphone5s_rot180.jpg"), "-o", str(out),
                 "--format", "png"]) == 0
    ours = np.asarray(Image.open(out / "iphone5s_rot180.png").convert("RGB"), np.float32)
    upright = np.asarray(ImageOps.exif_transpose(Image.open(data_dir / "iphone5s_rot180.jpg"))
                         .convert("RGB"), np.float32)
    assert ours.shape == upright.shape
    assert np.abs(ours - upright).mean() < 2.0  # same picture, same way up


@pytest.mark.parametrize("fmt,suffix", [("heic", ".heic"), ("tiff", ".tif"), ("png", ".png")])
def test_formats(tmp_path, sample_raw, fmt, suffix):
    out = tmp_path / "out"
    assert main(["develop", str(sample_raw), "-o", str(out), "--format", fmt, "--fast"]) == 0
    path = out / f"sample_nikon_rose{suffix}"
    meta = read_metadata(path)
    assert meta.make == "NIKON CORPORATION" and meta.icc_profile
    if fmt in ("tiff", "png"):
        import cv2

        assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).dtype == np.uint16


def test_existing_output_needs_overwrite(tmp_path, sample_raw):
    out = tmp_path / "out"
    assert main(["develop", str(sample_raw), "-o", str(out), "--fast"]) == 0
    target = out / "sample_nikon_rose.jpg"
    first = digest(target)
    result = run("develop", str(sample_raw), "-o", str(out), "--fast")
    assert result.returncode == 4 and "exists" in result.stderr
    assert digest(target) == first
    assert main(["develop", str(sample_raw), "-o", str(out), "--overwrite", "--wb", "3200K",
                 "--fast"]) == 0
    assert digest(target) != first


def test_bad_inputs_fail_cleanly_and_the_batch_goes_on(tmp_path, sample_raw, data_dir):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(sample_raw, src / "good.dng")
    (src / "empty.dng").write_bytes(b"")
    (src / "random.cr2").write_bytes(os.urandom(40_000))
    shutil.copy(data_dir / "xiaomi_mi_a1_ship.jpg", src / "renamed.nef")
    shutil.copy(data_dir / "broken" / "panasonic_lx3_truncated.rw2", src / "garbage.rw2")
    shutil.copy(data_dir / "broken" / "iphone12pro_proraw_truncated.dng", src / "zeros.dng")
    out = tmp_path / "out"
    result = run("develop", str(src), "-o", str(out), "--fast", "--jobs", "2")
    assert result.returncode == 1  # partial success
    assert "Traceback" not in result.stderr
    assert "1 developed, 5 failed" in result.stderr
    for name in ("empty.dng", "random.cr2", "renamed.nef", "garbage.rw2", "zeros.dng"):
        line = [ln for ln in result.stderr.splitlines() if name in ln and "error" in ln]
        assert line, f"no one-line error for {name}:\n{result.stderr}"
    assert sorted(p.name for p in out.iterdir()) == ["good.jpg"]


def test_all_inputs_failing_gives_the_input_exit_code_and_no_output(tmp_path):
    bad = tmp_path / "bad.dng"
    bad.write_bytes(b"\0" * 1000)
    result = run("develop", str(bad), str(tmp_path / "missing.nef"), "-o", str(tmp_path / "o"))
    assert result.returncode == 3
    assert "Traceback" not in result.stderr and "no such file" in result.stderr
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_usage_errors(tmp_path, sample_raw):
    for args in (["--quality", "0"], ["--wb", "warm"], ["--exposure", "99"]):
        result = run("develop", str(sample_raw), "-o", str(tmp_path), *args)
        assert result.returncode == 2 and "Traceback" not in result.stderr, args


def test_info_prints_and_json(sample_raw, data_dir, capsys):
    import json

    assert main(["info", str(data_dir / "iphone5s_rot180.jpg")]) == 0
    text = capsys.readouterr().out
    assert "iPhone 5s" in text and "1/387 s" in text and "29 mm equivalent" in text
    assert main(["info", str(sample_raw), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["raw"]["cfa_pattern"] == "RGGB" and data["raw"]["white_level"] == 15520


def test_demo_writes_what_it_prints(tmp_path):
    result = run("demo", "-o", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr
    made = sorted(p.name for p in (tmp_path / "demo").iterdir())
    assert {"rose.jpg", "rose-p3.heic", "rose-16bit.tif", "rose-16bit.png"} <= set(made)
    for name in made:
        assert name in result.stdout


REAL_FILES = ["kodak_dc50.kdc", "xiaomi_mi_a1_ship.jpg", "iphone5s_rot180.jpg",
              "samsung_sm-g900f.jpg", "huawei_ele-l29.jpg", "nokia_x71.jpg",
              "iphone13promax_rot90.heic"]


@pytest.mark.parametrize("name", REAL_FILES)
def test_every_real_file_develops_and_keeps_its_camera(tmp_path, data_dir, name):
    out = tmp_path / "out"
    assert main(["develop", str(data_dir / name), "-o", str(out), "--fast"]) == 0
    (result,) = list(out.iterdir())
    from redframe.io.decode import read_image

    src, dst = read_image(data_dir / name).meta, read_metadata(result)
    assert (dst.make, dst.model, dst.iso, dst.f_number) == (src.make, src.model, src.iso,
                                                            src.f_number)
    assert dst.orientation == 1 and dst.icc_profile
    from PIL import Image

    w, h = Image.open(result).size
    if name.endswith(".heic"):
        assert (w, h) == (3024, 4032)  # upright, as the phone showed it


def test_night_command_merges_a_burst_and_writes_a_dng(tmp_path):
    import rawpy
    from conftest import write_burst_dngs

    from redframe.burst import simulate_burst
    from redframe.sim.scenes import natural_xyz

    sim = simulate_burst(natural_xyz("coffee", 192), 4, iso=3200, exposure=0.35, seed=2)
    frames = write_burst_dngs(sim, tmp_path, "burst")
    out, dng = tmp_path / "night.jpg", tmp_path / "merged.dng"
    result = run("night", *frames, "-o", str(out), "--dng", str(dng), "--look", "authentic")
    assert result.returncode == 0, result.stderr
    assert "4 frames merged" in result.stdout and "Traceback" not in result.stderr
    assert read_metadata(out).iso == 3200
    with rawpy.imread(str(dng)) as raw:
        assert raw.raw_image_visible.shape == sim.frames[0].mosaic.shape
    single = run("night", frames[0], "-o", str(tmp_path / "one.jpg"))
    assert single.returncode in (0, 2) and "Traceback" not in single.stderr


def test_looks_lut_and_sounds_commands(tmp_path, sample_raw):
    listed = run("looks")
    assert listed.returncode == 0
    for name in ("authentic", "vibrant", "bw-natural", "bw-contrast", "neutral"):
        assert name in listed.stdout
    cube = tmp_path / "vibrant.cube"
    assert main(["lut", "vibrant", "-o", str(cube), "--size", "17"]) == 0
    assert "LUT_3D_SIZE 17" in cube.read_text()
    assert run("lut", "vibrant", "-o", str(cube)).returncode == 4  # exists
    bad = tmp_path / "bad.toml"
    bad.write_text('version = 1\ncontrast = "lots"\n')
    result = run("develop", str(sample_raw), "-o", str(tmp_path / "o"), "--look", str(bad))
    assert result.returncode == 2 and "bad.toml" in result.stderr
    assert "Traceback" not in result.stderr
    assert main(["sounds", "-o", str(tmp_path / "sounds")]) == 0
    assert len(list((tmp_path / "sounds").glob("*.wav"))) >= 3
