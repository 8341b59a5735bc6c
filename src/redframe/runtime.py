"""Process-level settings for redframe's own processes (the CLI, its workers, benchmarks).

Not applied on import: a library should not change its host process.
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["reuse_freed_memory", "start_fork_server", "apply_command_environ",
           "WORKER_START_METHOD", "FORK_SERVER_PRELOAD", "POOL_PRELOAD",
           "FORK_SERVER_ENVIRON", "COMMAND_ENVIRON"]

#: how the local pool's and a LocalCluster's worker processes start: forked from the fork server
#: (:func:`start_fork_server`), or spawned where there is no fork (Windows)
WORKER_START_METHOD = "spawn" if sys.platform == "win32" else "forkserver"

#: what the fork server imports once, before it forks worker processes: a LocalCluster's
#: worker (Dask's) and the task it runs (redframe.jobs.cluster imports the job runner and
#: the whole develop pipeline)
FORK_SERVER_PRELOAD = ("distributed", "redframe.jobs.cluster")

#: what the fork server imports for the local pool's workers (``--jobs N``): the job runner
#: and the develop pipeline (redframe.jobs.pool imports them), not Dask
POOL_PRELOAD = ("redframe.jobs.pool",)

#: the fork server's environment, which its children inherit; each is read once at a
#: process's start, so it must be set before the server starts: one malloc arena
#: (redframe.jobs.cluster.LOCAL_CONFIG says why) and single-threaded OpenMP and BLAS pools
#: (what Dask's nanny sets before it spawns a worker; a worker develops one file per core)
FORK_SERVER_ENVIRON = {"MALLOC_ARENA_MAX": "1", "OMP_NUM_THREADS": "1",
                       "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

#: the ``redframe`` command's own process settings. Its thread pools, idle, sleep instead
#: of spinning.
#: A develop runs its kernels on OpenMP threads and calls NumPy's OpenBLAS (luma as a
#: matrix-vector product on previews) and OpenCV's own pool in between: three pools on
#: the cores. Idle, libgomp's threads spin before they sleep, and OpenBLAS's server
#: threads spin after each call, on the cores the next step needs (perf of a 12 MP
#: develop: 25 % of its CPU samples in libgomp, 2.5 % in blas_thread_server; of
#: ``--fast``: 10 % and 6 %). Passive OpenMP threads and a single-threaded OpenBLAS,
#: measured whole process on 2 cores: CPU time (median of 11 interleaved rounds) 12 MP
#: develop 1.35 -> 1.02 s, ``--fast`` 0.72 -> 0.45 s, the 0.4 MP sample 0.46 -> 0.26 s;
#: wall time within the noise (15 interleaved rounds, median: 0.796 -> 0.802 s, 0.425 ->
#: 0.424 s, 0.279 -> 0.272 s): the cores the spinning took were mostly idle, but a
#: second process on the machine (a batch's, the camera app's, anyone's) gets them back.
#: Each setting alone, and a short spin (GOMP_SPINCOUNT=20000), saved less CPU.
#:
#: And NumPy's arrays on ordinary 4 KiB pages: NumPy asks the kernel for transparent huge
#: pages on every large array (``madvise(MADV_HUGEPAGE)``), and a command is one develop in
#: a fresh process, so nearly all of its ~250 MB is memory touched for the first time. A
#: fault on such an array zeroes a whole 2 MiB page, and finding one may mean compacting
#: memory; on the project's VM (a Firecracker guest, THP "madvise") that was 12-18 % of a
#: 12 MP develop's CPU samples in ``clear_page_erms``, against 0.4 % with 4 KiB pages. The
#: first develop in a process, three interleaved pairs: 0.86-0.95 s -> 0.63-0.65 s; warm
#: (memory reused) 0.54-0.55 s either way (the kernels stream rows, TLB reach does not
#: matter to them). Whole process, 12 MP, median of 10 / 14 / 12 interleaved rounds:
#: 0.98 -> 0.82, 0.85 -> 0.78, 0.93 -> 0.83 s; CPU -5 to -15 %; ``--fast`` within the
#: noise. Huge pages made the runs faster only at their best (min 0.77 against 0.76-0.81 s)
#: and slow whenever the kernel had none ready.
#: Defaults only: a value the user set is kept.
COMMAND_ENVIRON = {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_NUM_THREADS": "1",
                   "NUMPY_MADVISE_HUGEPAGE": "0"}

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def reuse_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse instead of returning it to the system.

    A develop allocates and frees the same few tens of MB per strip; by default glibc maps
    arrays over 32 MB fresh each time and gives them back on free, so every strip pays the
    kernel's page faults again (~5 % of a develop on our 2-core VM, more under memory
    pressure). Peak memory is unchanged: freed blocks are reused, not added to.
    Returns whether the setting took (False off glibc)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        # the process's own symbols (libc is loaded): ctypes.util.find_library would run
        # ldconfig in a subprocess, ~10 ms of every command's start-up
        libc = ctypes.CDLL(None)
        return bool(
            libc.mallopt(_M_MMAP_THRESHOLD, 1 << 30) and libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)
        )
    except (OSError, AttributeError):
        return False


def apply_command_environ() -> None:
    """Set :data:`COMMAND_ENVIRON` where the environment does not say otherwise. Read
    when libgomp, OpenBLAS and NumPy load, so called before NumPy or a kernel is imported: the
    ``redframe`` command calls it first (:mod:`redframe.launch`); its worker processes
    inherit it."""
    for key, value in COMMAND_ENVIRON.items():
        os.environ.setdefault(key, value)


def start_fork_server(preload: tuple[str, ...] = FORK_SERVER_PRELOAD) -> None:
    """Start :mod:`multiprocessing`'s fork server, which imports ``preload`` once and then
    forks a process for each worker that asks: a LocalCluster's (``--scheduler local:N``:
    distributed's ``multiprocessing-method`` ``forkserver``; :data:`FORK_SERVER_PRELOAD`)
    and the local pool's (``--jobs N``: :data:`POOL_PRELOAD`).

    Spawned afresh, each worker imported ``distributed`` and then, on its first file, the
    develop pipeline: 0.9-1.3 s of CPU a worker before its first file, every command.
    Forked from the server, a worker starts with both loaded; the server's imports run on
    another core while this process is still importing the command line (the ``redframe``
    command starts it before that, :mod:`redframe.launch`). Measured on 2 cores, a
    LocalCluster of 2 from start to its first task back: 1.3-1.4 s spawned, 0.9-1.2 s
    forked with the server started just before; closing: 0.25-0.5 s -> 0.03-0.05 s. The
    local pool's workers, spawned, each imported the develop pipeline (0.2 s) after the
    command's own import; forked, 8 x 12 MP with ``--jobs 2`` took 2.62 -> 2.48 s (best of
    3, benchmarks/batch.py).

    Idempotent: a server already running is kept (and keeps its preload). The server is a
    single-threaded process that exits with this one. Nothing to start where the workers
    are spawned (:data:`WORKER_START_METHOD`)."""
    if WORKER_START_METHOD != "forkserver":
        return
    import multiprocessing
    from multiprocessing import forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(list(preload))
    saved = {key: os.environ.get(key) for key in FORK_SERVER_ENVIRON}
    os.environ.update(FORK_SERVER_ENVIRON)
    try:
        forkserver.ensure_running()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
