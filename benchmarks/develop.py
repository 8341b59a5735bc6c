"""Develop speed and memory against LibRaw, measured in the same run.

Whole process (the default, ``--whole-process``; turn off with ``--no-whole-process``):
what a user waits for, each run a fresh process timed from outside, median of
``--repeat`` rounds that take the contenders in turn (interleaved: a load change on a
shared machine hits them alike):

- one 12 MP raw -> JPEG: ``redframe develop RAW -o DIR`` (and ``--fast``) against
  ``python -c`` rawpy ``postprocess()`` + Pillow JPEG q90, warm (after one run) and cold
  (empty caches: redframe's own byte code removed, as an editable install leaves it, and a
  new ``XDG_CACHE_HOME``: the first run after an install);
- the bundled 0.4 MP sample the same way;
- a batch of ``--batch`` copies of the 12 MP raw, ``redframe develop DIR -o OUT --jobs N``
  against rawpy + Pillow in a process pool of the same size N (all cores).

In-process (``--in-process``, default on): for a 12 MP raw (a synthetic 4000x3000 DNG
written by redframe's DNG writer, plus any raws given on the command line) this prints
wall time and peak RSS of

- rawpy ``postprocess()`` with default settings (LibRaw AHD, 8-bit sRGB),
- ``redframe develop`` at full quality (decode + develop + JPEG encode),
- ``redframe develop --fast`` (the half-size proof),

each in its own fresh process (peak RSS is the whole process, imports included) and as
ratios to rawpy. Times are the best of ``--repeat`` runs inside that process, after one
warm-up (first-touch page faults and the look's bake excluded).

    python benchmarks/develop.py [--size 4000x3000] [--repeat 3] [--batch 8] [RAW ...]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

CHILD = textwrap.dedent(
    """
    import json, resource, sys, time, tempfile, os
    kind, path, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if kind == "rawpy":
        import rawpy
        def work():
            with rawpy.imread(path) as raw:
                return raw.postprocess()
    else:
        from redframe.runtime import apply_command_environ, reuse_freed_memory
        apply_command_environ()  # as the `redframe` command does, before NumPy loads
        from redframe.jobs import Job, Recipe, merge_recipe, run_job
        reuse_freed_memory()  # as the `redframe` command does
        out = os.path.join(tempfile.mkdtemp(), "out.jpg")
        fast = {"develop": {"quality": "fast", "half_size": True}} if kind == "fast" else {}
        job = Job((path,), out, merge_recipe(Recipe(), fast), overwrite=True)
        def work():
            r = run_job(job)  # what `redframe develop` runs for each file
            assert r.error is None, r.error
    work()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter(); work(); best = min(best, time.perf_counter() - t)
    # VmHWM is this process's own peak (ru_maxrss would include the parent's, via exec)
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0]
    rss = int(hwm.split()[1]) * 1024
    print(json.dumps({"seconds": best, "rss": rss}))
    """
)


def measure(kind: str, path: str, repeat: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, kind, path, str(repeat)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


RAWPY_ONE = textwrap.dedent(
    """
    import sys, rawpy
    from PIL import Image
    with rawpy.imread(sys.argv[1]) as raw:
        rgb = raw.postprocess()
    Image.fromarray(rgb).save(sys.argv[2], quality=90)
    """
)

RAWPY_POOL = textwrap.dedent(
    """
    import os, sys
    from multiprocessing import Pool
    def one(args):
        import rawpy
        from PIL import Image
        src, dst = args
        with rawpy.imread(src) as raw:
            rgb = raw.postprocess()
        Image.fromarray(rgb).save(dst, quality=90)
    if __name__ == "__main__":
        src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
        names = sorted(os.listdir(src))
        with Pool(n) as pool:
            pool.map(one, [(os.path.join(src, f), os.path.join(out, f + ".jpg"))
                           for f in names], chunksize=1)
    """
)


def redframe_command() -> list[str]:
    """The installed ``redframe`` script, as a user runs it (else ``python -m redframe``)."""
    exe = shutil.which("redframe")
    return [exe] if exe else [sys.executable, "-m", "redframe"]


def user_env() -> dict:
    """The environment as on a user's machine: Python writes and reuses its byte code
    (some CI and sandbox images set PYTHONDONTWRITEBYTECODE, which makes every process
    compile every module it imports: 0.25 s of redframe's start-up here)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd: list[str], env: dict | None = None) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=env if env is not None else user_env())
    return time.perf_counter() - t


def cold_env(tmp: str) -> dict:
    """Empty caches: what the first run after a fresh install sees. ``pip install``
    compiles the byte code of what it installs (NumPy, OpenCV, ...: its --compile
    default); an editable install leaves redframe's own modules uncompiled, so their
    ``__pycache__`` folders are removed here. A new XDG cache folder (the looks' and
    video's caches)."""
    import importlib.util

    for root in importlib.util.find_spec("redframe").submodule_search_locations:
        for folder, dirs, _ in os.walk(root):
            if "__pycache__" in dirs:
                shutil.rmtree(os.path.join(folder, "__pycache__"), ignore_errors=True)
    d = tempfile.mkdtemp(dir=tmp)
    return dict(user_env(), XDG_CACHE_HOME=os.path.join(d, "cache"),
                REDFRAME_CACHE_DIR=os.path.join(d, "redframe-cache"))


def interleaved(contenders: dict, repeat: int) -> dict[str, list[float]]:
    """Each command timed ``repeat`` times, warm (one untimed run each first: caches
    filled, files in the page cache), in rounds that take every contender in turn, in
    alternating order, so that a load change on a shared machine hits them alike (timed
    one contender's block after another, the ratios of the same build moved by 25 % between
    two runs on the 2-core VM)."""
    runs = {name: run if callable(run) else functools.partial(timed, run)
            for name, run in contenders.items()}  # a command line, or a function that times
    names = list(runs)
    for name in names:
        runs[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(repeat):
        for name in names if i % 2 == 0 else names[::-1]:
            times[name].append(runs[name]())
    return times


def whole_process(raw: str, label: str, tmp: str, repeat: int, cold: bool) -> list[dict]:
    """Fresh processes on one file: rawpy + Pillow, redframe develop (and --fast)."""
    out = os.path.join(tmp, "out")
    os.makedirs(out, exist_ok=True)
    rf = redframe_command()
    contenders = {
        "rawpy + Pillow": [sys.executable, "-c", RAWPY_ONE, raw, os.path.join(out, "r.jpg")],
        "redframe develop": [*rf, "develop", raw, "-o", out, "--overwrite"],
        "redframe develop --fast": [*rf, "develop", raw, "-o", out, "--overwrite", "--fast"],
    }
    rows = []
    warm = {name: statistics.median(times)
            for name, times in interleaved(contenders, repeat).items()}
    base = warm["rawpy + Pillow"]
    for name, cmd in contenders.items():
        row = {"file": label, "contender": name, "warm_s": warm[name],
               "warm_ratio": warm[name] / base}
        if cold and name != "rawpy + Pillow":
            row["cold_s"] = statistics.median(timed(cmd, cold_env(tmp))
                                              for _ in range(max(1, repeat // 2)))
            row["cold_over_warm"] = row["cold_s"] / warm[name]
        rows.append(row)
    return rows


def whole_batch(raw: str, copies: int, tmp: str, repeat: int) -> list[dict]:
    """``copies`` files on all cores: redframe's pool against rawpy in a Pool."""
    src = os.path.join(tmp, "batch")
    os.makedirs(src, exist_ok=True)
    for i in range(copies):
        dst = os.path.join(src, f"b{i:02d}.dng")
        if not os.path.exists(dst):
            shutil.copyfile(raw, dst)
    n = os.cpu_count() or 1
    out = os.path.join(tmp, "batch-out")

    def fresh() -> str:
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        return out

    def run_rawpy() -> float:
        return timed([sys.executable, "-c", RAWPY_POOL, src, fresh(), str(n)])

    def run_redframe() -> float:
        return timed([*redframe_command(), "develop", src, "-o", fresh(), "--jobs", str(n)])

    times = interleaved({"rawpy": run_rawpy, "redframe": run_redframe}, repeat)
    base, ours = statistics.median(times["rawpy"]), statistics.median(times["redframe"])
    label = f"{copies} x batch, {n} workers"
    return [{"file": label, "contender": "rawpy + Pillow pool", "warm_s": base,
             "warm_ratio": 1.0},
            {"file": label, "contender": "redframe develop --jobs", "warm_s": ours,
             "warm_ratio": ours / base}]


def print_whole(rows: list[dict]) -> None:
    print(f"{'whole process':<28} {'contender':<26} {'warm s':>7} {'ratio':>6} "
          f"{'cold s':>7} {'cold/warm':>9}")
    for r in rows:
        cold = (f"{r['cold_s']:7.2f} {r['cold_over_warm']:9.2f}" if "cold_s" in r
                else f"{'':>7} {'':>9}")
        print(f"{r['file'][:28]:<28} {r['contender']:<26} {r['warm_s']:7.2f} "
              f"{r['warm_ratio']:6.2f} {cold}")


def synthetic_dng(path: str, width: int, height: int) -> None:
    import cv2
    import numpy as np

    from redframe.io.dng import write_dng
    from redframe.sim.scenes import natural_xyz
    from redframe.sim.sensor import simulate_raw

    xyz = natural_xyz("astronaut", None).astype(np.float32)
    xyz = cv2.resize(xyz, (width, height), interpolation=cv2.INTER_LINEAR)
    scene, _ = simulate_raw(xyz, pattern="RGGB", iso=400, exposure=0.6, seed=3)
    cal = scene.calibration
    write_dng(
        path,
        scene.mosaic,
        pattern="RGGB",
        black_level=cal.black_level,
        white_level=int(cal.white_level),
        xyz_to_camera=cal.xyz_to_camera,
        as_shot_neutral=cal.as_shot_neutral,
        meta=scene.meta,
        noise_profile=cal.noise_profile,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raws", nargs="*", help="extra raw files to measure")
    parser.add_argument("--size", default="4000x3000", help="synthetic DNG size (WxH)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--whole-process", action=argparse.BooleanOptionalAction,
                        default=True, help="fresh-process timings (default on)")
    parser.add_argument("--in-process", action=argparse.BooleanOptionalAction,
                        default=True, help="in-process timings and memory (default on)")
    parser.add_argument("--cold", action=argparse.BooleanOptionalAction, default=True,
                        help="also time first runs with empty caches")
    parser.add_argument("--batch", type=int, default=8, help="files in the batch (0: none)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    tmp = tempfile.mkdtemp()
    synthetic = os.path.join(tmp, f"synthetic_{width}x{height}.dng")
    synthetic_dng(synthetic, width, height)
    report: dict = {}
    if args.whole_process:
        from redframe.demo import sample_path

        rows = whole_process(synthetic, f"{width}x{height} DNG", tmp, args.repeat, args.cold)
        rows += whole_process(str(sample_path()), "sample 0.4 MP", tmp, args.repeat,
                              args.cold)
        if args.batch:
            rows += whole_batch(synthetic, args.batch, tmp, max(1, args.repeat // 2))
        print_whole(rows)
        report["whole_process"] = rows
    if not args.in_process:
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(report, fh, indent=2)
        return 0
    files = [(synthetic, width * height)]
    for raw in args.raws:
        import rawpy

        with rawpy.imread(raw) as r:
            files.append((raw, r.sizes.width * r.sizes.height))
    results = []
    print(f"{'file':<28} {'contender':<22} {'time s':>8} {'ratio':>6} {'RSS MB':>8} {'B/px':>6}")
    for path, pixels in files:
        base = measure("rawpy", path, args.repeat)
        for kind, label in (
            ("rawpy", "rawpy postprocess()"),
            ("high", "redframe develop"),
            ("fast", "redframe develop --fast"),
        ):
            m = base if kind == "rawpy" else measure(kind, path, args.repeat)
            ratio = m["seconds"] / base["seconds"]
            per_px = m["rss"] / pixels
            results.append(
                {
                    "file": os.path.basename(path),
                    "pixels": pixels,
                    "contender": label,
                    "seconds": m["seconds"],
                    "ratio": ratio,
                    "rss": m["rss"],
                    "bytes_per_pixel": per_px,
                }
            )
            print(
                f"{os.path.basename(path)[:28]:<28} {label:<22} {m['seconds']:8.3f} "
                f"{ratio:6.2f} {m['rss'] / 2**20:8.0f} {per_px:6.1f}"
            )
    if args.json:
        report["in_process"] = results
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
