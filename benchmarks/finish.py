"""The fused finish kernel (redframe.isp._fused.finish) alone, on the strips a real develop
hands it: capture once, then time it and compare its output with the capture's.

    python benchmarks/finish.py capture DIR [RAW ...]   # the 12 MP test frame + RAWs
    python benchmarks/finish.py time DIR [--repeat 5] [--threads 1]
    python benchmarks/finish.py compare DIR

``capture`` develops the synthetic 12 MP DNG of benchmarks/develop.py (and any raws given)
through the job runner with the default recipe and the ``vibrant`` look, and stores every
call of the finish kernel (its arguments and its encoded output) and the 8-bit codes the
quantiser wrote. ``time`` runs the kernel on the 12 MP frame's strips (best of
``--repeat``, one thread by default: CPU time of one core). ``compare`` runs today's kernel
on every captured call and prints the largest difference of its encoded output (in 8-bit
codes) and of the final codes of a develop from the captured ones.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

LOOKS = (None, "vibrant")


def _copy(v):
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, tuple):
        return tuple(_copy(x) for x in v)
    return v


def _develop(raw: str, look: str | None, calls: list | None, codes: list):
    """Develop ``raw``; append the finish kernel's calls to ``calls`` (None: do not record)
    and the quantiser's output to ``codes``."""
    from redframe.isp import fused
    from redframe.jobs import Job, Recipe, merge_recipe, run_job

    k = fused._k
    real_finish, real_quant = k.finish, k.sharpen_quantize

    def finish(*args):
        real_finish(*args)
        if calls is not None:
            calls.append(_copy(args))

    def quant(*args):
        real_quant(*args)
        codes.append((int(args[7]), np.asarray(args[8]).copy()))  # row0, out

    fused._k = type("K", (), {"__getattr__": lambda self, n: getattr(k, n)})()
    fused._k.finish, fused._k.sharpen_quantize = finish, quant
    try:
        out = os.path.join(tempfile.mkdtemp(), "out.jpg")
        job = Job((raw,), out, merge_recipe(Recipe(look=look), {}), overwrite=True)
        r = run_job(job)
        assert r.error is None, r.error
    finally:
        fused._k = k
    codes.sort(key=lambda c: c[0])
    return np.concatenate([c[1] for c in codes]) if codes else None


def capture(folder: Path, raws: list[str]) -> None:
    from develop import synthetic_dng

    folder.mkdir(parents=True, exist_ok=True)
    dng = str(folder / "synthetic_12mp.dng")
    if not os.path.exists(dng):
        synthetic_dng(dng, 4000, 3000)
    for raw in [dng, *raws]:
        for look in LOOKS:
            calls: list = []
            codes = _develop(raw, look, calls, [])
            name = f"{Path(raw).stem}-{look or 'none'}.pkl"
            with open(folder / name, "wb") as f:
                pickle.dump({"raw": raw, "look": look, "calls": calls, "codes": codes}, f,
                            protocol=5)
            print(name, len(calls), "calls", "codes", None if codes is None else codes.shape)


def _load(folder: Path):
    for p in sorted(folder.glob("*.pkl")):
        with open(p, "rb") as f:
            yield p.name, pickle.load(f)


def _run(call):
    from redframe.isp import _fused

    args = list(call)
    out = np.empty_like(args[19])
    args[19] = out
    _fused.finish(*args)
    return out


def time_kernel(folder: Path, repeat: int, threads: int) -> None:
    from redframe._threads import set_num_threads
    from redframe.isp import _fused

    set_num_threads(threads)
    with open(folder / "synthetic_12mp-none.pkl", "rb") as f:
        calls = pickle.load(f)["calls"]
    px = sum(c[0].shape[0] * c[0].shape[1] for c in calls)
    outs = [np.empty_like(c[19]) for c in calls]
    argss = []
    for c, o in zip(calls, outs, strict=True):
        a = list(c)
        a[19] = o
        argss.append(a)
    times, cpu = [], []
    for _ in range(repeat + 1):
        t, c = time.perf_counter(), time.process_time()
        for a in argss:
            _fused.finish(*a)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    times, cpu = sorted(times[1:]), sorted(cpu[1:])
    print(f"finish, {len(calls)} strips, {px / 1e6:.1f} Mpx, {threads} thread(s): wall best "
          f"{times[0]:.3f} s, median {times[len(times) // 2]:.3f} s; CPU best {cpu[0]:.3f} s, "
          f"median {cpu[len(cpu) // 2]:.3f} s")


def compare(folder: Path) -> None:
    worst = 0.0
    for name, d in _load(folder):
        diff = max(float(np.abs(_run(c) - c[19]).max()) for c in d["calls"])
        codes = _develop(d["raw"], d["look"], None, [])
        dc = np.abs(codes.astype(int) - d["codes"].astype(int))
        print(f"{name:<40} finish max |diff| {diff * 255:.4f} codes; develop codes max "
              f"{dc.max()}, differing {np.mean(dc > 0) * 100:.4f} %")
        worst = max(worst, diff)
    print(f"largest finish difference: {worst * 255:.4f} 8-bit codes")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("capture", "time", "compare"))
    parser.add_argument("folder", type=Path)
    parser.add_argument("raws", nargs="*")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.what == "capture":
        capture(args.folder, args.raws)
    elif args.what == "time":
        time_kernel(args.folder, args.repeat, args.threads)
    else:
        compare(args.folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
