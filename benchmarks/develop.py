"""Develop speed and memory against LibRaw, measured in the same run.

For a 12 MP raw (a synthetic 4000x3000 DNG written by redframe's DNG writer, plus any raws
given on the command line) this prints wall time and peak RSS of

- rawpy ``postprocess()`` with default settings (LibRaw AHD, 8-bit sRGB),
- ``redframe develop`` at full quality (decode + develop + JPEG encode),
- ``redframe develop --fast`` (the half-size proof),

each in its own fresh process (peak RSS is the whole process, imports included) and as
ratios to rawpy. Times are the best of ``--repeat`` runs inside that process, after one
warm-up (numba's compiled kernels are cached on disk after the first ever run).

    python benchmarks/develop.py [--size 4000x3000] [--repeat 3] [RAW ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap

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
        from redframe.jobs import Job, Recipe, merge_recipe, run_job
        from redframe.runtime import reuse_freed_memory
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
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    tmp = tempfile.mkdtemp()
    synthetic = os.path.join(tmp, f"synthetic_{width}x{height}.dng")
    synthetic_dng(synthetic, width, height)
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
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
