"""The one product path: every entry point runs the one job runner with a recipe.

Recipes round-trip bit-identically, sidecars are picked up, old versions migrate, bad
recipes are refused with the file and key named, ``--json`` prints one object per input,
and night mode with a look on tall JPEG frames has no seams at strip boundaries.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from redframe.app.processing import CaptureJob, render_capture
from redframe.cli import main
from redframe.color import srgb_decode
from redframe.errors import ParameterError, UsageError
from redframe.io.icc import icc_description
from redframe.jobs import (
    RECIPE_VERSION,
    Job,
    Recipe,
    dump_recipe,
    execute,
    load_recipe,
    loads_recipe,
    merge_recipe,
    recipe_to_dict,
    runner,
)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "redframe", *args], capture_output=True,
                          text=True, timeout=300)


def pixels(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


# --- recipes ----------------------------------------------------------------------------------

def test_a_recipe_round_trips_with_every_value_explicit():
    recipe = merge_recipe(Recipe(), {"look": "authentic",
                                     "develop": {"wb": {"mode": "kelvin", "kelvin": 4300.0},
                                                 "tone": {"exposure": 0.3},
                                                 "sharpen": {"amount": 0.7}},
                                     "output": {"format": "heic", "quality": 88},
                                     "frame": {"layout": "film", "missing": "dash"}})
    text = dump_recipe(recipe)
    assert f"version = {RECIPE_VERSION}" in text
    for line in ('look = "authentic"', "kelvin = 4300.0", "amount = 0.7", 'layout = "film"',
                 "threshold = 0.9", "contrast = 1.0"):  # defaults are written too
        assert line in text, line
    again = loads_recipe(text)
    assert recipe_to_dict(again) == recipe_to_dict(recipe)
    assert dump_recipe(again) == text


def test_save_recipe_then_recipe_gives_bit_identical_output(tmp_path, sample_raw):
    saved = tmp_path / "mine.toml"
    assert main(["develop", str(sample_raw), "-o", str(tmp_path / "a"), "--look", "authentic",
                 "--wb", "4300K+5", "--exposure", "0.3", "--quality", "95",
                 "--save-recipe", str(saved)]) == 0
    recipe = load_recipe(saved)
    assert recipe.look == "authentic" and recipe.output.quality == 95
    assert (recipe.develop.wb.mode, recipe.develop.wb.kelvin, recipe.develop.wb.tint) == (
        "kelvin", 4300.0, 5.0)
    assert recipe.develop.tone.exposure == 0.3
    assert main(["develop", str(sample_raw), "-o", str(tmp_path / "b"),
                 "--recipe", str(saved)]) == 0
    a, b = pixels(tmp_path / "a" / "sample_nikon_rose.jpg"), pixels(
        tmp_path / "b" / "sample_nikon_rose.jpg")
    assert np.array_equal(a, b)
    # a flag given overrides the recipe
    assert main(["develop", str(sample_raw), "-o", str(tmp_path / "c"), "--recipe", str(saved),
                 "--wb", "asshot"]) == 0
    assert not np.array_equal(a, pixels(tmp_path / "c" / "sample_nikon_rose.jpg"))


def test_a_sidecar_is_used_unless_told_not_to(tmp_path, sample_raw, capsys):
    src = tmp_path / "in"
    src.mkdir()
    raw = src / "rose.dng"
    shutil.copy(sample_raw, raw)
    (src / "rose.dng.redframe.toml").write_text('version = 1\nlook = "bw-contrast"\n')
    assert main(["develop", str(src), "-o", str(tmp_path / "side"), "--json"]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[0])
    assert line["recipe"]["look"] == "bw-contrast" and line["status"] == "ok"
    mono = pixels(tmp_path / "side" / "rose.jpg").astype(int)
    assert np.abs(mono[..., 0] - mono[..., 2]).max() <= 2  # black and white
    assert main(["develop", str(src), "-o", str(tmp_path / "plain"), "--no-sidecar"]) == 0
    colour = pixels(tmp_path / "plain" / "rose.jpg").astype(int)
    assert np.abs(colour[..., 0] - colour[..., 2]).mean() > 10
    # flags override the sidecar ("none": no look at all)
    assert main(["develop", str(raw), "-o", str(tmp_path / "none"), "--look", "none"]) == 0
    assert np.array_equal(pixels(tmp_path / "none" / "rose.jpg"), colour.astype(np.uint8))
    assert main(["develop", str(raw), "-o", str(tmp_path / "flag"), "--look", "vibrant"]) == 0
    assert np.abs(pixels(tmp_path / "flag" / "rose.jpg").astype(int)[..., 0]
                  - pixels(tmp_path / "flag" / "rose.jpg").astype(int)[..., 2]).mean() > 10


def test_a_version_0_recipe_migrates(tmp_path, sample_raw):
    old = tmp_path / "old.toml"
    old.write_text('version = 0\nwb = "4300K"\nlook = "vibrant"\nfast = true\nquality = 80\n')
    recipe = load_recipe(old)
    assert recipe.develop.wb.mode == "kelvin" and recipe.develop.wb.kelvin == 4300.0
    assert recipe.look == "vibrant" and recipe.develop.half_size and recipe.output.quality == 80
    assert main(["develop", str(sample_raw), "-o", str(tmp_path / "o"), "--recipe", str(old),
                 "--save-recipe", str(tmp_path / "new.toml")]) == 0
    assert "version = 1" in (tmp_path / "new.toml").read_text()
    assert recipe_to_dict(load_recipe(tmp_path / "new.toml")) == recipe_to_dict(recipe)
    with Image.open(tmp_path / "o" / "sample_nikon_rose.jpg") as im:
        assert im.size == (384, 256)  # the fast proof: half size


@pytest.mark.parametrize("text,words", [
    ("version = 1\n[develop.sharpen]\namount = -7\n", ["develop.sharpen.amount", "-7", "0..2"]),
    ("version = 1\n[develop.sharpen]\namout = 1\n", ["develop.sharpen.amout", "amount"]),
    ("version = 1\n[develop.tone]\nexposure = 55\n", ["develop.tone.exposure", "55"]),
    ("version = 1\n[output]\nformat = \"gif\"\n", ["output.format", "gif", "jpeg"]),
    ("version = 1\n[develop]\nengine = \"reference\"\n", ["develop.engine", "not a recipe"]),
    ("version = 1\n[develop.output]\nspace = \"srgb\"\n", ["develop.output.space", "[output]"]),
    ("version = 1\nlook = 3\n", ["look"]),
    ("version = 1\ndevelop = 3\n", ["[develop] must be a table"]),
    ("version = 99\n", ["version 99", "newer"]),
    ("look = \"authentic\"\n", ["version must be an integer"]),
    ("version = 1\n[develop\n", ["not valid TOML"]),
    ("version = 0\nsharpness = 3\n", ["sharpness", "version 0"]),
])
def test_bad_recipes_are_refused_naming_the_file_and_key(tmp_path, sample_raw, text, words):
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    with pytest.raises(UsageError) as info:
        load_recipe(bad)
    message = str(info.value)
    assert message.startswith(str(bad)), message
    for word in words:
        assert word in message, (word, message)
    result = run("develop", str(sample_raw), "-o", str(tmp_path / "o"), "--recipe", str(bad))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "bad.toml" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_hostile_recipe_files_are_cheap_to_refuse(tmp_path, sample_raw):
    huge = tmp_path / "huge.toml"
    huge.write_bytes(b"version = 1\n" + b"#" * (1 << 20))
    with pytest.raises(UsageError, match="at most"):
        load_recipe(huge)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00version")
    with pytest.raises(UsageError, match="UTF-8"):
        load_recipe(binary)
    with pytest.raises(UsageError, match="no such recipe"):
        load_recipe(tmp_path / "missing.toml")
    with pytest.raises(ParameterError):
        merge_recipe(Recipe(), {"develop": {"denoise": {"luma": float("nan")}}})


# --- --json -----------------------------------------------------------------------------------

def test_json_prints_one_object_per_input(tmp_path, sample_raw, data_dir):
    broken = tmp_path / "broken.dng"
    broken.write_bytes(b"\0" * 1000)
    result = run("develop", str(sample_raw), str(data_dir / "nokia_x71.jpg"), str(broken),
                 "-o", str(tmp_path / "o"), "--json", "--look", "authentic")
    assert result.returncode == 1  # some failed
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3
    by_input = {Path(d["input"]).name: d for d in lines}
    ok = by_input["sample_nikon_rose.dng"]
    assert ok["status"] == "ok" and ok["error"] is None and Path(ok["output"]).is_file()
    assert ok["recipe"]["look"] == "authentic" and ok["recipe"]["version"] == RECIPE_VERSION
    assert {"decode", "develop", "write", "total"} <= set(ok["timings"])
    bad = by_input["broken.dng"]
    assert bad["status"] == "error" and bad["exit_code"] == 3 and bad["output"] is None


# --- one code path ----------------------------------------------------------------------------

@pytest.fixture
def spy(monkeypatch):
    """Counts the pictures the job runner writes (its own write step)."""
    calls: list[str] = []
    real = runner.write_image

    def write_image(path, *args, **kwargs):
        calls.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(runner, "write_image", write_image)
    return calls


def test_every_entry_point_runs_the_job_runner(tmp_path, sample_raw, data_dir, spy):
    from redframe.demo import DEMO, run_demo

    assert main(["develop", str(sample_raw), "-o", str(tmp_path / "d")]) == 0
    assert len(spy) == 1
    assert main(["frame", str(data_dir / "nokia_x71.jpg"), "-o", str(tmp_path / "f")]) == 0
    assert len(spy) == 2
    frames = []
    for i in range(2):
        frames.append(str(tmp_path / f"n{i}.jpg"))
        shutil.copy(data_dir / "nokia_x71.jpg", frames[-1])
    assert main(["night", *frames, "-o", str(tmp_path / "night.jpg")]) == 0
    assert len(spy) == 3
    assert run_demo(str(tmp_path / "demo")) == 0
    assert len(spy) == 3 + len(DEMO)
    shutil.copy(data_dir / "nokia_x71.jpg", tmp_path / "cap.jpg")
    out = render_capture(CaptureJob(id="x", kind="photo", originals=[str(tmp_path / "cap.jpg")],
                                    look="authentic", frame="classic",
                                    render_path=str(tmp_path / "r.jpg"),
                                    thumb_path=str(tmp_path / "t.jpg")))
    assert len(spy) == 4 + len(DEMO) and out["width"] > 0
    assert (tmp_path / "t.jpg").is_file()


def test_develop_flags_reach_night_mode(tmp_path):
    from conftest import write_burst_dngs

    from redframe.burst import simulate_burst
    from redframe.sim.scenes import natural_xyz

    sim = simulate_burst(natural_xyz("coffee", 160), 3, iso=800, exposure=0.35, seed=4)
    frames = write_burst_dngs(sim, tmp_path, "burst")
    for name, flags in (("plain", []), ("dark", ["--exposure", "-1"]),
                        ("p3", ["--space", "display-p3"])):
        assert main(["night", *frames, "-o", str(tmp_path / f"{name}.png"), *flags]) == 0
    plain = pixels(tmp_path / "plain.png").astype(float)
    assert pixels(tmp_path / "dark.png").mean() < plain.mean() - 5
    with Image.open(tmp_path / "p3.png") as im:
        assert "Display P3" in icc_description(im.info["icc_profile"])


# --- originals and outputs --------------------------------------------------------------------

def test_an_output_never_replaces_an_input(tmp_path, data_dir):
    src = tmp_path / "a.jpg"
    shutil.copy(data_dir / "nokia_x71.jpg", src)
    before = src.read_bytes()
    result = run("develop", str(src), "-o", str(tmp_path), "--overwrite")
    assert result.returncode == 2 and "replace an input" in result.stderr
    assert src.read_bytes() == before
    frames = [str(tmp_path / "a.jpg"), str(tmp_path / "b.jpg")]
    shutil.copy(src, frames[1])
    result = run("night", *frames, "-o", frames[1], "--overwrite")
    assert result.returncode == 2 and "replace an input" in result.stderr
    assert Path(frames[1]).read_bytes() == before
    with pytest.raises(UsageError, match="replace an input"):
        execute(Job((frames[0],), frames[0], kind="frame", overwrite=True))


def test_an_output_named_for_another_format_is_refused(tmp_path, sample_raw):
    """A job whose output's name says one format and whose recipe asks for another is
    refused before any work, nothing written (it wrote JPEG bytes into x.png); with the
    format ``auto`` the name decides."""
    out = tmp_path / "x.png"
    with pytest.raises(UsageError, match=r"x\.png: the name says png but the recipe asks "
                                         r"for jpeg; name it x\.jpg"):
        execute(Job((str(sample_raw),), str(out)))  # the recipe's default: jpeg
    assert list(tmp_path.iterdir()) == []
    execute(Job((str(sample_raw),), str(out),
                recipe=merge_recipe(Recipe(), {"output": {"format": "auto"}})))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_output_folder_inside_an_input_folder_is_not_walked(tmp_path, data_dir):
    shutil.copy(data_dir / "nokia_x71.jpg", tmp_path / "x.jpg")
    assert main(["develop", str(tmp_path), "-o", str(tmp_path / "out")]) == 0
    assert main(["develop", str(tmp_path), "-o", str(tmp_path / "out"), "--overwrite"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["x.jpg"]
    # an input folder inside the output folder is walked whole
    (tmp_path / "out" / "sub").mkdir()
    shutil.copy(data_dir / "nokia_x71.jpg", tmp_path / "out" / "sub" / "y.jpg")
    assert main(["develop", str(tmp_path / "out" / "sub"), "-o", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "y.jpg").is_file()


# --- looks through night mode -----------------------------------------------------------------

def test_night_with_a_look_on_tall_jpeg_frames_has_no_strip_seams(tmp_path):
    """A look's vignette and grain are drawn for the whole frame, not per strip: a flat
    grey burst of 2000-row JPEGs merged with --look authentic has no step between rows."""
    rng = np.random.default_rng(0)
    frames = []
    for i in range(3):
        grey = np.clip(118 + rng.normal(0, 1.5, (2000, 320, 3)), 0, 255).astype(np.uint8)
        frames.append(str(tmp_path / f"g{i}.jpg"))
        Image.fromarray(grey).save(frames[-1], quality=95)
    out = tmp_path / "night.png"
    assert main(["night", *frames, "-o", str(out), "--look", "authentic"]) == 0
    image = cv2.imread(str(out), cv2.IMREAD_UNCHANGED).astype(np.float64)  # 16 bits
    rows = image[:, 40:-40].mean(axis=(1, 2))
    jumps = np.abs(np.diff(rows)) / rows.mean()
    assert rows[1000] > rows[5] * 1.05  # the vignette is there (corners darker)
    assert jumps.max() <= 0.005, (jumps.argmax(), jumps.max())


# --- settings on finished pictures ------------------------------------------------------------

def test_exposure_reaches_a_finished_picture_and_rolls_off_its_highlights(tmp_path):
    """--exposure on a JPEG/PNG: less light scales it, more rolls its highlights off
    through the develop's shoulder; 0 EV leaves the picture as it is."""
    ramp = np.tile(np.linspace(0, 255, 256).round().astype(np.uint8), (32, 1))
    src = tmp_path / "ramp.png"
    Image.fromarray(np.dstack([ramp] * 3)).save(src)
    outs = {}
    for name, flags in (("none", []), ("zero", ["--exposure", "0"]), ("up", ["--exposure", "1"]),
                        ("down", ["--exposure", "-1"])):
        assert main(["develop", str(src), "-o", str(tmp_path / name), "--format", "png",
                     *flags]) == 0
        outs[name] = cv2.imread(str(tmp_path / name / "ramp.png"),
                                cv2.IMREAD_UNCHANGED)[16, :, 1].astype(np.float64)
    assert np.array_equal(outs["none"], outs["zero"])
    up, down, none = outs["up"], outs["down"], outs["none"]
    assert np.all(np.diff(up) >= 0) and np.all(np.diff(down) >= 0)  # no reversal, no banding
    mid = 128  # sRGB code 128: linear 0.216, below the shoulder: exactly one stop
    lin = srgb_decode(up / 65535) / np.maximum(srgb_decode(none / 65535), 1e-9)
    assert 1.95 < lin[mid] < 2.05
    assert np.sum(up >= 65535) <= 2  # highlights roll off: only the top codes reach white
    assert np.all(np.diff(up[200:]) > 0)  # ... and keep their gradation
    lin_down = srgb_decode(down / 65535) / np.maximum(srgb_decode(none / 65535), 1e-9)
    assert np.allclose(lin_down[32:], 0.5, atol=0.01)  # one stop less, white included


def test_raw_only_settings_on_a_picture_are_said_not_silently_dropped(tmp_path, data_dir):
    result = run("develop", str(data_dir / "nokia_x71.jpg"), "-o", str(tmp_path / "o"),
                 "--wb", "4300K", "--auto-exposure")
    assert result.returncode == 0
    assert "white balance kelvin and auto exposure apply to raws" in result.stderr


def test_picture_and_dng_appear_together_or_not_at_all(tmp_path):
    from conftest import write_burst_dngs

    from redframe.burst import simulate_burst
    from redframe.sim.scenes import natural_xyz

    sim = simulate_burst(natural_xyz("coffee", 128), 2, iso=800, exposure=0.35, seed=5)
    frames = write_burst_dngs(sim, tmp_path, "burst")
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    dng = tmp_path / "out" / "merged.dng"
    result = run("night", *frames, "-o", str(blocker / "night.jpg"), "--dng", str(dng))
    assert result.returncode == 4 and "Traceback" not in result.stderr  # the picture failed
    assert not dng.parent.exists() or not list(dng.parent.iterdir())  # ... so no DNG either
    picture = tmp_path / "night.jpg"
    result = run("night", *frames, "-o", str(picture), "--dng", str(blocker / "merged.dng"))
    assert result.returncode == 4 and not picture.exists()  # the DNG failed: no picture
    assert main(["night", *frames, "-o", str(picture), "--dng", str(dng)]) == 0
    assert dng.exists() and picture.exists()


def test_a_killed_runs_temporary_files_are_removed_by_the_next_write(tmp_path, data_dir):
    import time

    out = tmp_path / "out"
    out.mkdir()
    stale, fresh = out / ".nokia_x71.jpg.0badc0de.part", out / ".nokia_x71.jpg.0000beef.part"
    for p in (stale, fresh):
        p.write_bytes(b"half a JPEG")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    other = out / ".someone-else.txt.part"
    other.write_bytes(b"not ours")
    os.utime(other, (old, old))
    assert main(["develop", str(data_dir / "nokia_x71.jpg"), "-o", str(out)]) == 0
    assert not stale.exists()  # left by a killed run: removed
    assert fresh.exists() and other.exists()  # a live writer's, and not ours: kept


# --- the pool ---------------------------------------------------------------------------------

def test_a_worker_that_dies_fails_only_its_own_file(tmp_path, data_dir):
    from crashing_jobs import CrashingJob

    from redframe.jobs import run_jobs

    src = data_dir / "nokia_x71.jpg"
    jobs = [Job((str(src),), str(tmp_path / f"ok{i}.jpg")) for i in range(4)]
    jobs.insert(1, CrashingJob((str(src),), str(tmp_path / "crash.jpg")))
    results = run_jobs(jobs, workers=2)
    assert len(results) == 5
    bad = [r for r in results if r.error]
    assert len(bad) == 1 and "killed by SIGSEGV" in bad[0].error, [r.error for r in bad]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"ok{i}.jpg" for i in range(4)]


def test_pool_workers_are_forked_from_the_fork_server(tmp_path, data_dir):
    """redframe.runtime.start_fork_server(POOL_PRELOAD): the pool's workers come from the
    fork server (which imported the develop pipeline once), not spawned by this process,
    with the server's environment (one malloc arena)."""
    from crashing_jobs import ParentRecordingJob

    from redframe.jobs import run_jobs

    src = str(data_dir / "nokia_x71.jpg")
    jobs = [ParentRecordingJob((src,), str(tmp_path / f"p{i}.jpg")) for i in range(2)]
    results = run_jobs(jobs, workers=2)
    assert [r.error for r in results] == [None, None]
    for i in range(2):
        parent, arenas = (tmp_path / f"p{i}.jpg.parent").read_text().split()
        assert int(parent) != os.getpid() and arenas == "1"


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        kids = _children(todo.pop())
        found += kids
        todo += kids
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_kill_9_of_the_command_leaves_no_worker_behind(tmp_path, data_dir):
    import signal
    import time

    src = tmp_path / "in"
    src.mkdir()
    for i in range(40):
        shutil.copy(data_dir / "huawei_ele-l29.jpg", src / f"h{i}.jpg")
    cli = subprocess.Popen([sys.executable, "-m", "redframe", "develop", str(src), "-o",
                            str(tmp_path / "out"), "--jobs", "2"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    workers: list[int] = []
    while time.time() < deadline and not (tmp_path / "out").is_dir():
        time.sleep(0.2)
    while time.time() < deadline and len(workers) < 3:
        # the fork server and the two workers it forked (and multiprocessing's helpers)
        workers = [p for p in _descendants(cli.pid) if _alive(p)]
        time.sleep(0.1)
    assert len(workers) >= 3, "no workers started"
    everything = set(_descendants(cli.pid))
    os.kill(cli.pid, signal.SIGKILL)
    cli.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(p) for p in everything):
        time.sleep(0.2)
    assert not [p for p in everything if _alive(p)]


# --- small promises ---------------------------------------------------------------------------

def test_the_same_frame_given_twice_is_merged_once(tmp_path, data_dir):
    frames = [str(tmp_path / "a.jpg"), str(tmp_path / "b.jpg")]
    for f in frames:
        shutil.copy(data_dir / "nokia_x71.jpg", f)
    result = execute(Job((frames[0], frames[1], frames[0], f"{tmp_path}/./a.jpg"),
                         str(tmp_path / "n.jpg"), kind="night"))
    assert result.used == frames
    assert any("a.jpg given 3 times: merged once" in n for n in result.notes)


def test_cli_odds_and_ends(tmp_path, sample_raw):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    result = run("develop", str(sample_raw), "-o", str(a_file))
    assert result.returncode == 4 and "not a folder" in result.stderr  # an output problem
    assert run("sounds", "-o", str(tmp_path / "s")).returncode == 0
    again = run("sounds", "-o", str(tmp_path / "s"))
    assert again.returncode == 4 and "--overwrite" in again.stderr
    assert run("sounds", "-o", str(tmp_path / "s"), "--overwrite").returncode == 0
    assert main(["lut", "neutral", "-o", str(tmp_path / "n.cube"), "--size", "17"]) == 0
    umask = os.umask(0o022)
    os.umask(umask)
    assert (tmp_path / "n.cube").stat().st_mode & 0o777 == 0o666 & ~umask  # not 0600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    piped = subprocess.run(f"{sys.executable} -m redframe info --json {sample_raw} | head -c 10",
                           shell=True, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in piped.stderr and "internal error" not in piped.stderr
    looks = tmp_path / "looks"
    looks.mkdir()
    evil = 'version = 1\ndescription = "\\u001b[2J\\u001b]0;pwned\\u0007"\n'
    (looks / "evil.toml").write_text(evil)
    listed = subprocess.run([sys.executable, "-m", "redframe", "looks"], capture_output=True,
                            text=True, timeout=120,
                            env={**os.environ, "REDFRAME_LOOKS": str(looks)})
    assert listed.returncode == 0 and "evil" in listed.stdout
    assert "\x1b" not in listed.stdout and "\x07" not in listed.stdout
