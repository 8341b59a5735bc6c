"""Batches at scale (issue 17): a journal that survives kill -9, crash isolation through the
real command line, Dask, progress.

- ``kill -9`` of ``redframe develop`` at random moments of a 12-file batch, each followed by
  ``--resume``: every output present exactly once, byte-identical to an uninterrupted run,
  no temporary or partial file left, the journal consistent with the files (4 moments in
  the default suite, all 20 with ``-m slow``);
- a worker killed with SIGKILL, one that calls os.abort and one that hangs past
  ``--timeout-per-file``: those files reported failed (how, named), all others developed,
  exit code 1; ``redframe batch status`` says so; a rerun develops only those;
- ``--scheduler local:2`` (a Dask LocalCluster), inputs and outputs as file:// URLs:
  outputs bit-identical to the local pool's; a worker lost mid-task retried, then the file
  reported; a file that hangs past ``--timeout-per-file`` reported failed, its worker
  restarted, the others developed bit-identically.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from redframe.cli import main
from redframe.jobs.journal import JOURNAL_NAME, Journal, consistent, statuses

TESTS = Path(__file__).parent
N_FILES = 12
KILL_MOMENTS = 20
DEFAULT_MOMENTS = 4


def cli(*args: str, timeout: float = 180, env: dict | None = None
        ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "redframe", *args], capture_output=True,
                          text=True, timeout=timeout,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})})


def crash_cli(plan: str, *args: str) -> subprocess.CompletedProcess:
    """The real command line, with the inputs named in ``plan`` made into jobs that kill
    their worker (tests/crashing_jobs.py: only tests can do this)."""
    path = os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-c", "import crashing_jobs; crashing_jobs.cli()",
                           *args], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "PYTHONPATH": path, "REDFRAME_TEST_CRASH": plan,
                               "NO_COLOR": "1"})


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """12 small pictures and their outputs from an uninterrupted run of the local pool."""
    root = tmp_path_factory.mktemp("batch")
    src = root / "in"
    src.mkdir()
    rng = np.random.default_rng(17)
    y, x = np.mgrid[0:240, 0:320]
    for i in range(N_FILES):
        base = np.stack([x / 320, y / 240, (x + y) / 560], axis=-1) * (0.4 + 0.05 * i)
        noisy = np.clip(base + rng.normal(0, 0.03, base.shape), 0, 1)
        Image.fromarray((noisy * 255).astype(np.uint8)).save(src / f"p{i:02d}.png")
    ref = root / "ref"
    t = time.perf_counter()
    done = cli("develop", str(src), "-o", str(ref), "--jobs", "2")
    seconds = time.perf_counter() - t
    assert done.returncode == 0, done.stderr
    outputs = {p.name: p.read_bytes() for p in sorted(ref.iterdir())}
    assert sorted(outputs) == [f"p{i:02d}.jpg" for i in range(N_FILES)]
    return src, outputs, seconds


def _complete_pictures(folder: Path) -> list[str]:
    """The pictures in ``folder``, each decoded whole (a partial file would fail here)."""
    names = []
    for p in sorted(folder.iterdir()):
        if not p.name.startswith("."):
            with Image.open(p) as im:
                im.load()
                assert im.size == (320, 240)
            names.append(p.name)
    return names


def _assert_finished(out: Path, outputs: dict[str, bytes]) -> None:
    pictures = _complete_pictures(out)
    assert pictures == sorted(outputs)  # each exactly once, nothing else, no "-2" copies
    for name in pictures:
        assert (out / name).read_bytes() == outputs[name], name
    hidden = sorted(p.name for p in out.iterdir() if p.name.startswith("."))
    assert hidden == [JOURNAL_NAME, f"{JOURNAL_NAME}.lock"], hidden  # no .part, no -wal
    journal = out / JOURNAL_NAME
    rows = statuses(journal)
    assert len(rows) == N_FILES and {s for _, s in rows} == {"done"}, rows
    assert consistent(journal) == []


def _kill_then_resume(trial: int, batch, root: Path) -> None:
    src, outputs, seconds = batch
    rng = random.Random(1700 + trial)
    jobs = "1" if trial % 2 == 0 else "2"
    at = 0.2 + rng.random() * seconds * 1.2
    out = root / f"out{trial}"
    args = ("develop", str(src), "-o", str(out), "--resume", "--jobs", jobs)
    proc = subprocess.Popen([sys.executable, "-m", "redframe", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=at)
    except subprocess.TimeoutExpired:
        proc.kill()  # SIGKILL
        proc.wait()
    if out.exists():
        _complete_pictures(out)  # what the killed run left is whole pictures only
    again = cli(*args)
    assert again.returncode == 0, (trial, at, again.stderr)
    _assert_finished(out, outputs)


@pytest.mark.parametrize("trial", range(DEFAULT_MOMENTS))
def test_kill_9_at_a_random_moment_then_resume(batch, tmp_path, trial):
    _kill_then_resume(trial, batch, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(DEFAULT_MOMENTS, KILL_MOMENTS))
def test_kill_9_at_more_random_moments_then_resume(batch, tmp_path, trial):
    _kill_then_resume(trial, batch, tmp_path)


def test_a_rerun_skips_what_is_done_and_redoes_what_changed(batch, tmp_path):
    src, outputs, _ = batch
    out = tmp_path / "out"
    journal = tmp_path / "batch.sqlite"
    first = cli("develop", str(src), "-o", str(out), "--journal", str(journal), "--json")
    assert first.returncode == 0, first.stderr
    lines = [json.loads(line) for line in first.stdout.splitlines()]
    assert len(lines) == N_FILES and {d["status"] for d in lines} == {"ok"}
    last = lines[-1]["progress"]
    assert last["done"] == last["total"] == N_FILES and last["eta_s"] == 0
    assert last["files_per_s"] > 0 and last["mp_per_s"] > 0
    assert abs(last["mp_per_s"] / last["files_per_s"] - 320 * 240 / 1e6) < 0.01
    # a picture deleted by hand is made again, the others are skipped
    (out / "p03.jpg").unlink()
    again = cli("develop", str(src), "-o", str(out), "--journal", str(journal), "--json")
    assert again.returncode == 0, again.stderr
    lines = {Path(d["input"]).name: d["status"] for d in
             map(json.loads, again.stdout.splitlines())}
    assert lines.pop("p03.png") == "ok" and set(lines.values()) == {"skipped"}
    assert len(lines) == N_FILES - 1
    assert (out / "p03.jpg").read_bytes() == outputs["p03.jpg"]
    # another recipe is another output: not skipped (and not overwritten without asking)
    other = cli("develop", str(src), "-o", str(out), "--journal", str(journal), "--look",
                "vibrant")
    assert other.returncode == 4 and "exists; use --overwrite" in other.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(outputs)
    status = cli("batch", "status", str(journal), "--json")
    info = json.loads(status.stdout)
    assert (info["total"], info["failed"], info["done"]) == (N_FILES, N_FILES, 0)


def test_a_killed_worker_fails_only_its_file(batch, tmp_path):
    src, outputs, _ = batch
    out = tmp_path / "out"
    plan = "p02.png=kill,p05.png=abort,p07.png=hang"
    run = crash_cli(plan, "develop", str(src), "-o", str(out), "--jobs", "2", "--resume",
                    "--timeout-per-file", "6", "--json")
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    by_name = {Path(d["input"]).name: d for d in map(json.loads, run.stdout.splitlines())}
    assert len(by_name) == N_FILES
    assert "killed by SIGKILL" in by_name["p02.png"]["error"]
    assert "killed by SIGABRT" in by_name["p05.png"]["error"]
    assert "took longer than 6 s" in by_name["p07.png"]["error"]
    bad = {"p02.png", "p05.png", "p07.png"}
    for name, line in by_name.items():
        assert (line["status"] == "error") == (name in bad), (name, line["error"])
    assert _complete_pictures(out) == sorted(n for n in outputs if n[:3] + ".png" not in bad)
    for name in _complete_pictures(out):
        assert (out / name).read_bytes() == outputs[name]
    status = cli("batch", "status", str(out))
    assert status.returncode == 0
    assert f"{N_FILES}: 9 done, 3 failed, 0 to do" in status.stdout
    assert "killed by SIGKILL" in status.stdout and "killed by SIGABRT" in status.stdout
    # the same batch without the crashes: only the three failed files are developed
    again = cli("develop", str(src), "-o", str(out), "--jobs", "2", "--resume")
    assert again.returncode == 0, again.stderr
    assert "3 developed, 0 failed, 9 already done" in again.stdout
    _assert_finished(out, outputs)


def test_dask_local_cluster_is_bit_identical_to_the_local_pool(batch, tmp_path):
    """... with the input and output folders given as file:// URLs (the issue's stand-in
    for shared storage: a file:// URL is a local path on every worker)."""
    src, outputs, _ = batch
    out = tmp_path / "out"
    run = cli("develop", src.as_uri(), "-o", out.as_uri(), "--scheduler", "local:2",
              "--resume", "--json")
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(lines) == N_FILES and lines[-1]["progress"]["done"] == N_FILES
    _assert_finished(out, outputs)


def test_dask_retries_a_lost_worker_then_reports_the_file(batch, tmp_path):
    src, outputs, _ = batch
    out = tmp_path / "out"
    run = crash_cli("p04.png=kill", "develop", str(src), "-o", str(out), "--scheduler",
                    "local:2", "--retries", "1", "--json")
    assert run.returncode == 1, run.stderr
    by_name = {Path(d["input"]).name: d for d in map(json.loads, run.stdout.splitlines())}
    assert "worker was lost 2 times" in by_name.pop("p04.png")["error"]
    assert {d["status"] for d in by_name.values()} == {"ok"} and len(by_name) == N_FILES - 1
    for name in _complete_pictures(out):
        assert (out / name).read_bytes() == outputs[name]


def test_dask_a_file_that_hangs_is_timed_out_and_the_batch_goes_on(batch, tmp_path):
    src, outputs, _ = batch
    out = tmp_path / "out"
    t0 = time.monotonic()
    run = crash_cli("p03.png=hang", "develop", str(src), "-o", str(out), "--scheduler",
                    "local:2", "--timeout-per-file", "8", "--json")
    took = time.monotonic() - t0
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    by_name = {Path(d["input"]).name: d for d in map(json.loads, run.stdout.splitlines())}
    assert len(by_name) == N_FILES
    assert "took longer than 8 s" in by_name.pop("p03.png")["error"]
    assert {d["status"] for d in by_name.values()} == {"ok"}
    assert _complete_pictures(out) == sorted(n for n in outputs if not n.startswith("p03"))
    for name in _complete_pictures(out):
        assert (out / name).read_bytes() == outputs[name]
    assert took < 120  # not the hang's hour: the worker was restarted, the cluster closed


def test_batch_flags_and_journals_that_are_not(tmp_path, batch, capsys):
    src = batch[0]
    for flags, words in ((["--scheduler", "local:0"], "local:N"),
                         (["--scheduler", "nowhere"], "tcp://HOST:8786"),
                         (["--timeout-per-file", "0"], "--timeout-per-file"),
                         (["--retries", "-1"], "--retries"),
                         (["--journal", str(tmp_path)], "--journal takes a file")):
        assert main(["develop", str(src), "-o", str(tmp_path / "o"), *flags]) == 2, flags
        err = capsys.readouterr().err
        assert words in err and len(err.strip().splitlines()) == 1, (flags, err)
        assert not (tmp_path / "o").exists()
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database" * 100)
    for args in (["batch", "status", str(junk)], ["batch", "status", str(tmp_path / "no")],
                 ["develop", str(src), "-o", str(tmp_path / "o"), "--journal", str(junk)]):
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, (args, err)
    # a second batch on a journal in use is refused before it touches anything
    with Journal(tmp_path / "busy.sqlite"):
        assert main(["develop", str(src), "-o", str(tmp_path / "o"), "--journal",
                     str(tmp_path / "busy.sqlite")]) == 2
        assert "another redframe batch" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
