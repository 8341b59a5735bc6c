"""Run jobs on all local cores: each worker process runs :func:`run_job` on one file at a
time (the pipeline's kernels use threads inside a file; a pool of N workers gives each one
thread, so cores are not oversubscribed). Results come back as they finish, through
``on_result``.

Each worker holds exactly one file at a time, over its own pipe, so the pool always knows
which file a worker held. A worker that dies (a segfault in native code, the OOM killer,
``os.abort``) fails only that file, reported as such (``killed by SIGSEGV``); a file that
takes longer than ``timeout`` seconds has its worker killed (``took longer than 300 s``).
Either way a fresh worker takes the dead one's place and the batch goes on. Workers never
outlive the command: each watches the process that started it and exits when it is gone
(and, on Linux, asks the kernel for SIGKILL when its parent dies), so a ``kill -9`` of
``redframe`` leaves no worker behind. Workers are forked from multiprocessing's fork
server (:func:`redframe.runtime.start_fork_server`), a single-threaded process that has
imported the develop pipeline once and that exits when the command does (its workers get
SIGKILL from the kernel then): no thread pools forked mid-flight, and no worker importing
redframe again after the command did (0.2 s of CPU each).
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from multiprocessing.connection import wait

import cv2

from redframe import _threads as kernel_threads
from redframe.errors import EXIT
from redframe.io import jpeg_bands
from redframe.jobs.runner import Job, JobResult, run_job
from redframe.runtime import (
    POOL_PRELOAD,
    WORKER_START_METHOD,
    reuse_freed_memory,
    start_fork_server,
)

__all__ = ["run_jobs", "watch_parent", "WATCH_SECONDS", "DEFAULT_TIMEOUT", "one_thread_per_file"]

#: how often a worker checks that the process that started it is still there
WATCH_SECONDS = 0.5

#: seconds one file may take before its worker is killed (``--timeout-per-file``): generous,
#: a 100 MP raw at full quality takes about a minute on one core
DEFAULT_TIMEOUT = 300.0

_PR_SET_PDEATHSIG = 1

_READY = "ready"

#: workers that die before they are ready, in a row, before the batch gives up on the pool
_START_FAILURES = 3


def _die_with(parent: int) -> None:
    """Exit when ``parent`` (the command's process) is gone: the kernel's parent-death
    signal where there is one (Linux: it fires when the process that forked this one
    exits: the fork server, which exits with the command, or the command itself), and a
    watchdog thread everywhere."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)  # the process's own libc: no ldconfig run
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    try:
        os.kill(parent, 0)
    except ProcessLookupError:  # the command died before the signal was armed
        os._exit(1)
    except PermissionError:
        pass
    watch_parent(parent)


def watch_parent(parent: int) -> None:
    """A daemon thread that ends this process when ``parent`` is gone (checked every
    :data:`WATCH_SECONDS`)."""
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


def one_thread_per_file() -> None:
    """One file per core: no nested thread pools (the local pool's and Dask's workers)."""
    cv2.setNumThreads(1)
    kernel_threads.set_num_threads(1)
    jpeg_bands.set_threads(1)
    reuse_freed_memory()


def _serve(conn, parent: int) -> None:
    """A worker: receive a job, send back its result, until told to stop (None)."""
    _die_with(parent)
    one_thread_per_file()
    conn.send(_READY)  # a file's time starts when its worker can take it
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            job = None
        if job is None:
            # nothing left to finish (every output is renamed into place and fsynced): exit
            # at once, without the interpreter's teardown of NumPy, OpenCV and the kernels
            # (60 ms a worker, which the batch waited for at its end)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        conn.send(run_job(job))


class _Worker:
    def __init__(self, ctx) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, os.getpid()), daemon=True,
                                name="redframe-worker")
        self.proc.start()
        child.close()
        self.job: Job | None = None
        self.started = 0.0
        self.ready = False

    def give(self, job: Job) -> None:
        self.job, self.started = job, time.monotonic()
        self.conn.send(job)

    def ask_to_stop(self) -> bool:
        """Tell the worker to exit when it is idle; False when it cannot be told."""
        try:
            self.conn.send(None)
            return True
        except OSError:
            return False

    def stop(self, kill: bool = False, asked: bool = False) -> None:
        """Stop the worker: asked to exit (unless ``asked`` already) and given 2 s, or
        killed (``kill``)."""
        if not kill and (asked or self.ask_to_stop()):
            self.proc.join(timeout=2.0)
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(timeout=2.0)
        self.conn.close()


def _death(proc) -> str:
    """How ``proc`` died, from its exit code (``killed by SIGSEGV``)."""
    proc.join(timeout=2.0)  # reaped, so its exit code is known
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


def _timed_out_message(source: str, seconds: float) -> str:
    return (f"{source}: took longer than {seconds:g} s (--timeout-per-file): its worker "
            f"was stopped; the other files go on")


def _timed_out(job: Job, seconds: float) -> JobResult:
    return JobResult(source=job.inputs[0], inputs=list(job.inputs),
                     error=_timed_out_message(job.inputs[0], seconds),
                     exit_code=EXIT["internal"], seconds=seconds)


def run_jobs(jobs: Iterable[Job], *, workers: int = 1,
             on_result: Callable[[JobResult], None] | None = None,
             on_start: Callable[[Job], None] | None = None,
             on_finish: Callable[[Job, JobResult], None] | None = None,
             timeout: float | None = None, isolate: bool = False) -> list[JobResult]:
    """:func:`run_job` for every job; the results in the order they finished.

    ``workers`` > 1 (or ``isolate``) runs them in worker processes, each file alone in its
    worker, killed after ``timeout`` seconds (default :data:`DEFAULT_TIMEOUT`); one worker
    runs in this process (no isolation, no timeout). ``on_start(job)`` is called as a job is
    handed to a worker, ``on_finish(job, result)`` then ``on_result(result)`` as it
    finishes."""
    jobs = list(jobs)
    results: list[JobResult] = []

    def emit(job: Job, r: JobResult) -> None:
        results.append(r)
        if on_finish:
            on_finish(job, r)
        if on_result:
            on_result(r)

    workers = max(1, min(workers, len(jobs), os.cpu_count() or 1))
    if workers == 1 and not isolate:
        for job in jobs:
            if on_start:
                on_start(job)
            emit(job, run_job(job))
        return results
    if jobs:
        _run_pool(jobs, workers, emit, on_start,
                  DEFAULT_TIMEOUT if timeout is None else float(timeout))
    return results


def _run_pool(jobs: list[Job], workers: int, emit: Callable[[Job, JobResult], None],
              on_start: Callable[[Job], None] | None, timeout: float) -> None:
    # forked from the fork server, which has imported the develop pipeline (on another
    # core, while the command imported its own: the `redframe` command starts it first)
    start_fork_server(POOL_PRELOAD)
    ctx = mp.get_context(WORKER_START_METHOD)
    queue = deque(jobs)
    pool: list[_Worker] = []
    start_failures = 0
    try:
        while queue or any(w.job is not None for w in pool):
            busy = sum(w.job is not None for w in pool)
            while len(pool) < min(workers, len(queue) + busy):  # a dead worker's place
                pool.append(_Worker(ctx))
            for w in pool:  # ready, idle workers take the next files
                if w.ready and w.job is None and queue:
                    _give(w, queue.popleft(), on_start)
            deadlines = [w.started + timeout for w in pool if w.job is not None]
            left = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            wait([w.conn for w in pool] + [w.proc.sentinel for w in pool], timeout=left)
            for w in list(pool):
                job = w.job
                message = None
                if w.conn.poll():
                    try:
                        message = w.conn.recv()
                    except (EOFError, OSError):
                        message = None
                if message == _READY:
                    w.ready, start_failures = True, 0
                elif message is not None:
                    w.job = None
                    emit(job, message)
                elif not w.proc.is_alive():
                    pool.remove(w)
                    how = _death(w.proc)
                    w.stop(kill=True)
                    if job is not None:
                        emit(job, _crashed(job, how))
                    elif not w.ready:
                        start_failures += 1
                        if start_failures >= _START_FAILURES:
                            for lost in queue:
                                emit(lost, _crashed(lost, f"could not start ({how})"))
                            queue.clear()
                elif job is not None and time.monotonic() - w.started > timeout:
                    pool.remove(w)
                    w.stop(kill=True)
                    emit(job, _timed_out(job, timeout))
    finally:
        kill = any(x.job is not None for x in pool)
        asked = {id(w): not kill and w.ask_to_stop() for w in pool}  # all at once
        for w in pool:
            w.stop(kill=kill, asked=asked[id(w)])


def _give(w: _Worker, job: Job, on_start: Callable[[Job], None] | None) -> None:
    if on_start:
        on_start(job)
    try:
        w.give(job)
    except OSError:  # died before it could take the job: the wait loop reports it
        pass
