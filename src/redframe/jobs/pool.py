"""Run jobs on all local cores: each worker process runs :func:`run_job` on one file at a
time (the pipeline's kernels use threads inside a file; a pool of N workers gives each one
thread, so cores are not oversubscribed). Results come back as they finish, through
``on_result``.

A worker that dies (a segfault in native code, the OOM killer, ``os.abort``) fails only
the file it held: the files that were in flight with it are run again, one at a time, in a
fresh pool, so the one that kills its worker is found and reported (``killed by SIGSEGV``)
and the batch goes on. Workers never outlive the command: each watches the process that
started it and exits when it is gone (and, on Linux, asks the kernel for SIGKILL when its
parent dies), so a ``kill -9`` of ``redframe`` leaves no worker behind. Workers are
started with ``spawn``: fresh interpreters, no thread pools forked mid-flight, and no
long-lived fork server to be orphaned.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

import cv2
import numba

from redframe.errors import EXIT
from redframe.io import jpeg_bands
from redframe.jobs.runner import Job, JobResult, run_job
from redframe.runtime import reuse_freed_memory

__all__ = ["run_jobs", "WATCH_SECONDS"]

#: how often a worker checks that the process that started it is still there
WATCH_SECONDS = 0.5

_PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    """Exit when ``parent`` is gone: the kernel's parent-death signal where there is one
    (Linux), and a watchdog thread everywhere (it also covers a parent that is not the
    one that forked us)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(WATCH_SECONDS)
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass

    threading.Thread(target=watch, name="redframe-parent-watch", daemon=True).start()


def _init_worker(parent: int) -> None:
    _die_with(parent)
    cv2.setNumThreads(1)  # one file per core: no nested thread pools
    numba.set_num_threads(1)
    jpeg_bands.set_threads(1)
    reuse_freed_memory()


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                               initializer=_init_worker, initargs=(os.getpid(),))


def _workers_of(pool: ProcessPoolExecutor) -> list:
    """The pool's worker processes so far (kept by us: a broken pool forgets them)."""
    return list((getattr(pool, "_processes", None) or {}).values())


def _death(procs: list) -> str:
    """How one of ``procs`` died, from its exit code (``killed by SIGSEGV``)."""
    for proc in procs:
        proc.join(timeout=2.0)  # reaped, so its exit code is known
    for proc in procs:
        code = proc.exitcode
        if code is not None and code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        if code not in (None, 0):
            return f"exited with status {code}"
    return "died"


def _crashed(job: Job, how: str) -> JobResult:
    return JobResult(source=job.inputs[0], inputs=list(job.inputs),
                     error=f"{job.inputs[0]}: the worker developing it {how} (a crash in "
                           f"native code or out of memory); the other files go on",
                     exit_code=EXIT["internal"])


def run_jobs(jobs: Iterable[Job], *, workers: int = 1,
             on_result: Callable[[JobResult], None] | None = None) -> list[JobResult]:
    """:func:`run_job` for every job, ``workers`` > 1 in a process pool; the results in
    the order they finished."""
    jobs = list(jobs)
    results: list[JobResult] = []

    def emit(r: JobResult) -> None:
        results.append(r)
        if on_result:
            on_result(r)

    workers = max(1, min(workers, len(jobs), os.cpu_count() or 1))
    if workers == 1:
        for job in jobs:
            emit(run_job(job))
        return results
    todo = list(jobs)
    while todo:
        lost, todo = _run_pool(todo, workers, emit)
        for job, _ in lost:  # in flight when a worker died: once more, alone, to find it
            again, _ = _run_pool([job], 1, emit)
            for _, how in again:
                emit(_crashed(job, how))
    return results


def _run_pool(jobs: list[Job], workers: int, emit: Callable[[JobResult], None]
              ) -> tuple[list[tuple[Job, str]], list[Job]]:
    """Run ``jobs`` in a pool of ``workers``, never more in flight than there are workers
    (so a dead worker loses only the files being developed). Returns the jobs lost with
    a dead worker, with how it died, and the jobs not started (to run in a new pool)."""
    pool = _pool(workers)
    queue = list(reversed(jobs))
    running: dict = {}
    lost: list[Job] = []
    procs: dict = {}
    try:
        while queue and len(running) < workers:
            job = queue.pop()
            running[pool.submit(run_job, job)] = job
        procs.update({id(p): p for p in _workers_of(pool)})
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                job = running.pop(fut)
                try:
                    emit(fut.result())
                except BrokenProcessPool:
                    lost.append(job)
            if lost:  # the pool is broken: what is still running is lost with it
                for fut in list(running):
                    try:
                        emit(fut.result(timeout=0))
                    except Exception:  # noqa: BLE001 - BrokenProcessPool or not finished
                        lost.append(running[fut])
                running.clear()
                break
            while queue and len(running) < workers:
                job = queue.pop()
                running[pool.submit(run_job, job)] = job
            procs.update({id(p): p for p in _workers_of(pool)})
    finally:
        how = _death(list(procs.values())) if lost else ""
        pool.shutdown(wait=True, cancel_futures=True)
    return [(job, how) for job in lost], list(reversed(queue))
