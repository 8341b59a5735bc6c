"""Batch throughput of ``redframe develop`` on this machine: the local pool against a Dask
LocalCluster, 1 and 2 workers, on N copies of a synthetic 12 MP DNG.

Each configuration is the real command line in a fresh process (``redframe develop DIR -o
OUT --json ...``); the figures are its whole wall time (interpreter start and workers'
start included) and the batch's own (``progress.elapsed_s`` of the last JSON line: from
the first file handed out to the last one back), best of ``--repeat`` rounds (each round runs every
configuration once, so a busy moment of a shared machine hits them alike). Printed as
ratios: the pool's scaling from 1 to 2 workers, Dask's from 1 to 2, and Dask's overhead
against the local pool with the same number of workers. Outputs of the pool and Dask are
compared byte for byte.

    python benchmarks/batch.py [--files 8] [--size 4000x3000] [--repeat 2] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from develop import synthetic_dng  # noqa: E402 - the develop benchmark's 12 MP DNG

CONFIGS = {
    "pool-1": ["--jobs", "1", "--timeout-per-file", "600"],  # one worker process
    "pool-2": ["--jobs", "2"],
    "dask-1": ["--scheduler", "local:1"],
    "dask-2": ["--scheduler", "local:2"],
    "in-process": ["--jobs", "1"],  # no worker: the kernels' own threads use the cores
}


def run(src: str, out: str, flags: list[str]) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "redframe", "develop", src, "-o", out,
                           "--json", *flags], capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{flags}: exit {proc.returncode}\n{proc.stderr}")
    last = json.loads(proc.stdout.splitlines()[-1])
    return {"wall_s": wall, "batch_s": last["progress"]["elapsed_s"],
            "mp_per_s": last["progress"]["mp_per_s"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--size", default="4000x3000", help="synthetic DNG size (WxH)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--only", nargs="*", choices=list(CONFIGS),
                        help="measure only these (no ratios)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    tmp = tempfile.mkdtemp()
    src = os.path.join(tmp, "in")
    os.mkdir(src)
    first = os.path.join(src, "f00.dng")
    synthetic_dng(first, width, height)
    for i in range(1, args.files):
        shutil.copy(first, os.path.join(src, f"f{i:02d}.dng"))
    run(first, os.path.join(tmp, "warm"), [])  # files in the page cache
    results: dict[str, dict] = {}
    names = [n for n in CONFIGS if not args.only or n in args.only]
    for round_ in range(args.repeat):  # round-robin: a busy moment hits every config alike
        for name in names:
            m = run(src, os.path.join(tmp, name), CONFIGS[name])
            print(f"{round_ + 1}  {name:<11} wall {m['wall_s']:6.2f} s   batch "
                  f"{m['batch_s']:6.2f} s   {m['mp_per_s']:5.1f} MP/s", flush=True)
            if name not in results or m["wall_s"] < results[name]["wall_s"]:
                results[name] = m
    if args.only:
        return 0
    same = all(open(os.path.join(tmp, "pool-2", f), "rb").read()
               == open(os.path.join(tmp, "dask-2", f), "rb").read()
               for f in os.listdir(os.path.join(tmp, "pool-2")) if not f.startswith("."))
    ratios = {
        "pool scaling 1 -> 2 workers (wall)": results["pool-1"]["wall_s"]
        / results["pool-2"]["wall_s"],
        "pool scaling 1 -> 2 workers (batch)": results["pool-1"]["batch_s"]
        / results["pool-2"]["batch_s"],
        "dask scaling 1 -> 2 workers (wall)": results["dask-1"]["wall_s"]
        / results["dask-2"]["wall_s"],
        "dask-2 / pool-2 wall time": results["dask-2"]["wall_s"] / results["pool-2"]["wall_s"],
        "dask-2 / pool-2 batch time": results["dask-2"]["batch_s"]
        / results["pool-2"]["batch_s"],
        "pool-2 / in-process wall time": results["pool-2"]["wall_s"]
        / results["in-process"]["wall_s"],
    }
    print(f"{args.files} x {width * height / 1e6:.0f} MP, {os.cpu_count()} cores")
    for name, value in ratios.items():
        print(f"  {name:<36} {value:5.2f}")
    print(f"  dask-2 outputs byte-identical to pool-2's: {same}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"files": args.files, "size": [width, height], "cores": os.cpu_count(),
                       "results": results, "ratios": ratios, "identical": same}, fh,
                      indent=2)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
