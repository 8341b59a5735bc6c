"""Run jobs on all local cores with a progress bar and a summary.

Processes, not threads: each worker decodes and develops one file at a time (the
pipeline itself uses threads inside a file). Workers start with ``forkserver`` so
OpenCV/numba thread pools are never forked mid-flight.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed

from redframe.batch.jobs import JobResult

__all__ = ["run_jobs", "collect_inputs", "plan_outputs"]


def collect_inputs(
    paths: Sequence[str], extensions: frozenset[str]
) -> tuple[list[str], list[JobResult]]:
    """Expand folders (recursively, sorted, hidden files skipped) into files; paths that do
    not exist become failed results rather than exceptions."""
    from pathlib import Path

    files: list[str] = []
    missing: list[JobResult] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if (
                    f.is_file()
                    and not any(part.startswith(".") for part in f.relative_to(p).parts)
                    and f.suffix.lower() in extensions
                ):
                    files.append(str(f))
        elif p.exists() or p.is_symlink():
            files.append(str(p))
        else:
            missing.append(
                JobResult(source=str(p), error=f"{p}: no such file or folder", exit_code=3)
            )
    return files, missing


def plan_outputs(files: Sequence[str], out_dir: str, suffix: str) -> list[str]:
    """Output path per input; inputs sharing a name (IMG_1.NEF, IMG_1.JPG) get the source
    extension added so no output overwrites another."""
    from collections import Counter
    from pathlib import Path

    stems = Counter(Path(f).stem.lower() for f in files)
    out = []
    for f in files:
        p = Path(f)
        stem = p.stem if stems[p.stem.lower()] == 1 else f"{p.stem}_{p.suffix.lstrip('.')}"
        out.append(str(Path(out_dir) / f"{stem}{suffix}"))
    if len(set(o.lower() for o in out)) != len(out):  # same name in different folders
        seen: Counter = Counter()
        unique = []
        for o in out:
            key = o.lower()
            seen[key] += 1
            unique.append(
                o if seen[key] == 1 else str(Path(o).with_stem(f"{Path(o).stem}-{seen[key]}"))
            )
        out = unique
    return out


def _init_worker() -> None:
    import cv2
    import numba

    from redframe.io import jpeg_bands
    from redframe.runtime import reuse_freed_memory

    cv2.setNumThreads(1)  # one file per core: no nested thread pools
    numba.set_num_threads(1)
    jpeg_bands.set_threads(1)
    reuse_freed_memory()


def run_jobs(
    jobs: Iterable[tuple],
    func: Callable[..., JobResult],
    *,
    workers: int = 1,
    on_result: Callable[[JobResult], None] | None = None,
) -> list[JobResult]:
    """Run ``func(*job)`` for every job; ``workers`` > 1 uses a process pool."""
    jobs = list(jobs)
    results: list[JobResult] = []
    workers = max(1, min(workers, len(jobs), os.cpu_count() or 1))
    if workers == 1:
        for job in jobs:
            r = func(*job)
            results.append(r)
            if on_result:
                on_result(r)
        return results
    ctx = mp.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker) as pool:
        futures = [pool.submit(func, *job) for job in jobs]
        for fut in as_completed(futures):
            r = fut.result()
            results.append(r)
            if on_result:
                on_result(r)
    return results
