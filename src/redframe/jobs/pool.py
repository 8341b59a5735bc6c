"""Run jobs on all local cores: each worker process runs :func:`run_job` on one file at a
time (the pipeline's kernels use threads inside a file; a pool of N workers gives each one
thread, so cores are not oversubscribed).

Workers start with ``forkserver`` so OpenCV/numba thread pools are never forked
mid-flight. Results come back as they finish, through ``on_result``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed

import cv2
import numba

from redframe.io import jpeg_bands
from redframe.jobs.runner import Job, JobResult, run_job
from redframe.runtime import reuse_freed_memory

__all__ = ["run_jobs"]


def _init_worker() -> None:
    cv2.setNumThreads(1)  # one file per core: no nested thread pools
    numba.set_num_threads(1)
    jpeg_bands.set_threads(1)
    reuse_freed_memory()


def run_jobs(jobs: Iterable[Job], *, workers: int = 1,
             on_result: Callable[[JobResult], None] | None = None) -> list[JobResult]:
    """:func:`run_job` for every job, ``workers`` > 1 in a process pool; the results in
    the order they finished."""
    jobs = list(jobs)
    results: list[JobResult] = []
    workers = max(1, min(workers, len(jobs), os.cpu_count() or 1))
    if workers == 1:
        for job in jobs:
            r = run_job(job)
            results.append(r)
            if on_result:
                on_result(r)
        return results
    ctx = mp.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker) as pool:
        futures = [pool.submit(run_job, job) for job in jobs]
        for fut in as_completed(futures):
            r = fut.result()
            results.append(r)
            if on_result:
                on_result(r)
    return results
