"""Batch throughput of ``redframe develop`` on this machine: the local pool against a Dask
LocalCluster, 1 and 2 workers, and against rawpy + Pillow in a process pool of 2, on N
copies of a synthetic 12 MP DNG.

Each configuration is a fresh process timed from outside: the real command line
(``redframe develop DIR -o OUT --json ...``) or, for ``rawpy-2``, the script that
``benchmarks/develop.py --batch`` times (rawpy ``postprocess()`` + Pillow JPEG q90 in a
``multiprocessing.Pool(2)``). For each run: its whole wall time (interpreter and workers'
start included), the batch's own (``progress.elapsed_s`` of the last JSON line), the CPU
time of the whole process tree (user + system, workers included: on a machine shared with
other jobs this is the steadier figure) and the peak RSS of its largest process (a worker)
per input pixel. Best of ``--repeat`` rounds; each round runs every configuration once, so
a busy moment of a shared machine hits them alike. Printed as ratios: the pool's scaling
from 1 to 2 workers, Dask's, Dask's overhead against the local pool with the same number of
workers (issue 17: <= 1.10), and the pool of 2 against rawpy's (issue 14: <= 0.8). Outputs
of the pool and Dask are compared byte for byte.

    python benchmarks/batch.py [--files 8] [--size 4000x3000] [--repeat 2] [--json FILE]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from develop import RAWPY_POOL, user_env  # noqa: E402 - the develop benchmark's

CONFIGS = {
    "pool-1": ["--jobs", "1", "--timeout-per-file", "600"],  # one worker process
    "pool-2": ["--jobs", "2"],
    "dask-1": ["--scheduler", "local:1"],
    "dask-2": ["--scheduler", "local:2"],
    "in-process": ["--jobs", "1"],  # no worker: the kernels' own threads use the cores
    "rawpy-2": None,  # rawpy + Pillow in a process pool of 2 (benchmarks/develop.py --batch)
}


def run(src: str, out: str, flags: list[str] | None) -> dict:
    """One configuration in a fresh process (byte code written and reused, as on a user's
    machine): wall, batch and CPU seconds, peak RSS of its largest process."""
    shutil.rmtree(out, ignore_errors=True)
    if flags is None:
        os.makedirs(out)
        cmd = [sys.executable, "-c", RAWPY_POOL, src, out, "2"]
    else:
        cmd = [sys.executable, "-m", "redframe", "develop", src, "-o", out, "--json", *flags]
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, env=user_env())
        # wait4's usage covers the process and the descendants it reaped (its workers): CPU
        # is their sum, ru_maxrss the largest one's peak (Linux: kilobytes)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu, peak = usage.ru_utime + usage.ru_stime, usage.ru_maxrss
        for orphan in reap_orphans():  # a LocalCluster's fork server and its workers
            cpu += orphan.ru_utime + orphan.ru_stime
            peak = max(peak, orphan.ru_maxrss)
        stdout.seek(0)
        stderr.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{flags}: exit {proc.returncode}\n{stderr.read()}")
        lines = stdout.read().splitlines()
    m = {"wall_s": wall, "cpu_s": cpu, "peak_rss": peak * 1024}
    if flags is not None:
        last = json.loads(lines[-1])
        m.update(batch_s=last["progress"]["elapsed_s"], mp_per_s=last["progress"]["mp_per_s"])
    return m


PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Have the processes a command leaves orphaned reparented to this one (Linux), so that
    :func:`reap_orphans` can count them: ``--scheduler local:N``'s workers are children of
    multiprocessing's fork server, which the command starts and which exits after it."""
    try:
        return ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def reap_orphans(wait_s: float = 10.0) -> list:
    """The resource usage of every descendant left after the command exited, each waited
    for (a fork server's usage includes the workers it reaped)."""
    usages = []
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            pid, _, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            time.sleep(0.02)
            continue
        usages.append(usage)
    return usages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--size", default="4000x3000", help="synthetic DNG size (WxH)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--only", nargs="*", choices=list(CONFIGS),
                        help="measure only these (no ratios)")
    args = parser.parse_args()
    become_subreaper()
    width, height = (int(v) for v in args.size.lower().split("x"))
    tmp = tempfile.mkdtemp()
    src = os.path.join(tmp, "in")
    os.mkdir(src)
    first = os.path.join(src, "f00.dng")
    # in a process of its own: a child's peak RSS counts the memory of the process that
    # started it (Linux carries it over at exec), so this one stays small
    subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {HERE!r}); from "
                    f"develop import synthetic_dng; synthetic_dng({first!r}, {width}, "
                    f"{height})"], check=True)
    for i in range(1, args.files):
        shutil.copy(first, os.path.join(src, f"f{i:02d}.dng"))
    run(first, os.path.join(tmp, "warm"), [])  # files in the page cache
    rounds: list[dict[str, dict]] = []
    names = [n for n in CONFIGS if not args.only or n in args.only]
    pixels = width * height
    for round_ in range(args.repeat):  # round-robin: a busy moment hits every config alike
        rounds.append({})
        for name in names:
            m = run(src, os.path.join(tmp, name), CONFIGS[name])
            rounds[-1][name] = m
            batch = f"batch {m['batch_s']:6.2f} s" if "batch_s" in m else " " * 14
            print(f"{round_ + 1}  {name:<11} wall {m['wall_s']:6.2f} s   {batch}   cpu "
                  f"{m['cpu_s']:6.2f} s   peak {m['peak_rss'] / pixels:5.1f} B/px",
                  flush=True)
    best = {"mp_per_s": max}  # every other figure: the smallest is the best
    results = {n: {k: best.get(k, min)(r[n][k] for r in rounds) for k in rounds[0][n]}
               for n in names}
    if args.only:
        return 0
    same = all(open(os.path.join(tmp, "pool-2", f), "rb").read()
               == open(os.path.join(tmp, "dask-2", f), "rb").read()
               for f in os.listdir(os.path.join(tmp, "pool-2")) if not f.startswith("."))
    pairs = {  # name: (numerator, denominator, key)
        "pool scaling 1 -> 2 workers (wall)": ("pool-1", "pool-2", "wall_s"),
        "pool scaling 1 -> 2 workers (batch)": ("pool-1", "pool-2", "batch_s"),
        "dask scaling 1 -> 2 workers (wall)": ("dask-1", "dask-2", "wall_s"),
        "dask-2 / pool-2 wall time": ("dask-2", "pool-2", "wall_s"),
        "dask-2 / pool-2 CPU time": ("dask-2", "pool-2", "cpu_s"),
        "pool-2 / rawpy-2 wall time": ("pool-2", "rawpy-2", "wall_s"),
        "pool-2 / rawpy-2 CPU time": ("pool-2", "rawpy-2", "cpu_s"),
        "pool-2 / in-process wall time": ("pool-2", "in-process", "wall_s"),
    }
    # each ratio two ways: of the best of the rounds, and the median of each round's own
    # ratio (the two runs of a pair a minute apart at most)
    ratios = {k: {"best": results[a][key] / results[b][key],
                  "rounds": statistics.median(r[a][key] / r[b][key] for r in rounds)}
              for k, (a, b, key) in pairs.items()}
    print(f"{args.files} x {pixels / 1e6:.0f} MP, {os.cpu_count()} cores, best of "
          f"{args.repeat} / median of the rounds' ratios")
    for name, value in ratios.items():
        print(f"  {name:<36} {value['best']:5.2f}  {value['rounds']:5.2f}")
    print(f"  peak RSS of a pool-2 worker: {results['pool-2']['peak_rss'] / pixels:.1f} B/px, "
          f"dask-2: {results['dask-2']['peak_rss'] / pixels:.1f} B/px")
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
