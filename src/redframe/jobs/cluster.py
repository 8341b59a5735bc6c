"""The job runner on a Dask distributed cluster (the optional ``[cluster]`` extra).

``redframe develop PATHS -o OUT --scheduler tcp://HOST:8786`` sends each file's
:class:`~redframe.jobs.Job` (plain data: paths and a recipe) to the cluster's workers, which
run the same :func:`~redframe.jobs.run_job` as the local pool, one file per worker thread,
one thread per file's kernels; ``--scheduler local:N`` starts a LocalCluster of N worker
processes on this machine for the length of the command. Inputs and outputs must be on
storage every worker sees at the same path (a shared file system or a mounted bucket) or
be fsspec URLs (``s3://``, ``gs://``: :mod:`redframe.jobs.urls`): the workers read the
inputs and write the outputs themselves (temp + fsync + rename, or one whole upload), only
the small results travel back. Results stream back as they finish, into the same journal,
progress bar and summary as a local batch.

A worker lost mid-task (killed, out of memory, its machine gone) has its task run again
elsewhere by the scheduler, at most ``allowed-failures`` times (``--retries``, set for a
LocalCluster; a running scheduler keeps its own ``distributed.scheduler.allowed-failures``);
then the file is reported failed and the batch goes on.

With ``--timeout-per-file S`` each task develops its file on a thread of its own and waits
for it at most S seconds (the job travels pickled and is unpickled on that thread, so a
file that hangs anywhere in the worker is caught); past that the task returns the file as
failed (``took longer than S s``, as the local pool says) and this process has the
worker's nanny restart it, which ends the hung develop with the worker process. The batch
goes on.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from redframe.errors import EXIT, UsageError
from redframe.jobs import urls
from redframe.jobs.pool import _timed_out_message, one_thread_per_file, watch_parent
from redframe.jobs.recipe import recipe_to_dict
from redframe.jobs.runner import Job, JobResult, run_job
from redframe.runtime import WORKER_START_METHOD, start_fork_server

__all__ = ["parse_scheduler", "run_on_dask", "connect", "LOCAL", "LOCAL_CONFIG"]

#: ``--scheduler local:N``: a LocalCluster of N worker processes
LOCAL = "local:"

#: what a LocalCluster's scheduler and workers leave out, measured on 8 x 12 MP with 2
#: workers on 2 cores (docs/scale.md): the workers' 10 ms stack sampler, work stealing and
#: the active memory manager (one file per worker thread, small results: nothing to steal
#: or move), the 20 ms event-loop tick and the 0.5 s system monitor; together 3.5 -> 1.7
#: CPU seconds outside the tasks in the workers and 1.4 -> 0.7 in this process. The
#: workers are forked from a fork server that has imported distributed and the develop
#: pipeline once (:func:`redframe.runtime.start_fork_server`, which says what it saves),
#: with MALLOC_ARENA_MAX=1 in its environment: a Dask task runs on a thread of the
#: worker's pool, and glibc gives such a thread its own malloc arena, whose heaps cannot
#: hold a 12 MP develop's large buffers: each was mapped fresh and given back per file
#: (18k page faults, ~0.15 s of a 1.3 s file); with the one main arena the freed buffers
#: are reused, as in the local pool (:func:`redframe.runtime.reuse_freed_memory`). A
#: cluster started by hand takes the same settings from its workers' environment
#: (docs/scale.md).
LOCAL_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.scheduler.work-stealing": False,
    "distributed.scheduler.active-memory-manager.start": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.multiprocessing-method": WORKER_START_METHOD,
}

_configured = False
_lock = threading.Lock()


def parse_scheduler(text: str) -> tuple[str, int | str]:
    """("local", N) for ``local:N`` or ("address", URL) for ``tcp://HOST:PORT`` (any
    ``scheme://`` Dask speaks); UsageError otherwise."""
    if text.startswith(LOCAL):
        try:
            n = int(text[len(LOCAL):])
        except ValueError:
            n = 0
        if not 1 <= n <= 256:
            raise UsageError(f"--scheduler local:N takes 1 to 256 workers, not {text!r}")
        return "local", n
    if "://" in text and text.split("://", 1)[1]:
        return "address", text
    raise UsageError(f"--scheduler takes local:N or a scheduler address such as "
                     f"tcp://HOST:8786, not {text!r}")


def _configure(parent: int | None) -> None:
    global _configured
    with _lock:
        if not _configured:
            if parent is not None:
                watch_parent(parent)  # a kill -9 leaves no worker writing behind
            _configured = True


def _task_watched(pickled: bytes, source: str, parent: int | None, fresh: bool,
                  timeout: float) -> tuple[JobResult, str | None]:
    """:func:`_task` with ``--timeout-per-file``: (the result, None) or, when the file took
    longer than ``timeout`` seconds, (it reported failed, this worker's address: the hung
    thread cannot be stopped, so the client has the worker restarted)."""
    _configure(parent)
    box: list[Any] = []

    def develop() -> None:
        try:
            box.append(_task(pickle.loads(pickled), parent, fresh))
        except BaseException as exc:  # noqa: BLE001 - handed to the task's thread
            box.append(exc)

    thread = threading.Thread(target=develop, name="redframe-develop", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        from distributed import get_worker
        return (JobResult(source=source, inputs=[source],
                          error=_timed_out_message(source, timeout),
                          exit_code=EXIT["internal"], seconds=timeout),
                get_worker().address)
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0], None


def _task(job: Job, parent: int | None, fresh: bool) -> JobResult:
    """What a Dask worker runs: the same settings as a local pool's worker, then the job.

    ``fresh``: the output did not exist when the task was sent. The scheduler runs a task
    again when the worker that holds its result is lost before the result is fetched; if
    that earlier run got as far as renaming the output into place (outputs appear only
    whole), the output is kept as it is, not written a second time."""
    one_thread_per_file()  # in every task: the kernels' thread count is per thread, and Dask may
    _configure(parent)     # run a task on a thread of its pool that it started afresh
    if fresh and not job.overwrite and urls.isfile(job.output) \
            and (job.dng is None or urls.isfile(job.dng)):
        return _already_written(job)
    return run_job(job)


def _already_written(job: Job) -> JobResult:
    result = JobResult(source=job.inputs[0], inputs=list(job.inputs), output=job.output,
                       dng=job.dng, recipe=recipe_to_dict(job.recipe),
                       notes=["written by an earlier run of this task (its worker was lost "
                              "before the result came back): kept, not written again"])
    if not urls.is_remote(job.output):
        from PIL import Image  # (only here, on a task run a second time)

        try:
            with Image.open(job.output) as im:
                result.width, result.height = im.size
        except (OSError, ValueError, Image.DecompressionBombError):
            pass
    return result


def _lost(job: Job, why: str) -> JobResult:
    return JobResult(source=job.inputs[0], inputs=list(job.inputs),
                     error=f"{job.inputs[0]}: {why}; the other files go on",
                     exit_code=EXIT["internal"])


def run_on_dask(jobs: Sequence[Job], scheduler: str, *,
                on_start: Callable[[Job], None] | None = None,
                on_finish: Callable[[Job, JobResult], None] | None = None,
                on_result: Callable[[JobResult], None] | None = None,
                retries: int = 2, timeout: float | None = None) -> list[JobResult]:
    """Run ``jobs`` on the cluster at ``scheduler`` (``local:N`` or an address); the
    results in the order they finished. ``timeout``: seconds a file may take before it is
    reported failed and its worker restarted (None: no limit)."""
    try:  # the optional [cluster] extra, imported on use
        from distributed import as_completed
        from distributed.scheduler import KilledWorker
    except ImportError:
        raise UsageError("--scheduler needs Dask: pip install 'redframe[cluster]'") from None
    results: list[JobResult] = []
    if not jobs:
        parse_scheduler(scheduler)
        return results
    with connect(scheduler, retries) as (client, parent):
        futures = {}
        for job in jobs:
            if on_start:
                on_start(job)
            fresh = not urls.exists(job.output)
            if timeout is None:
                fut = client.submit(_task, job, parent, fresh, pure=False)
            else:
                fut = client.submit(_task_watched, pickle.dumps(job), job.inputs[0], parent,
                                    fresh, float(timeout), pure=False)
            futures[fut] = job
        for fut in as_completed(futures):
            job = futures.pop(fut)
            try:
                result = fut.result()
                if timeout is not None:
                    result, hung = result
                    if hung is not None:
                        _restart(client, hung)
            except KilledWorker:
                result = _lost(job, f"its worker was lost {int(retries) + 1} times "
                                    "(killed, out of memory or gone)")
            except Exception as exc:  # noqa: BLE001 - a task that could not run at all
                result = _lost(job, f"the cluster could not run it ({type(exc).__name__}: "
                                    f"{exc})")
            results.append(result)
            if on_finish:
                on_finish(job, result)
            if on_result:
                on_result(result)
    return results


def _restart(client: Any, address: str) -> None:
    """Have the nanny of the worker at ``address`` restart it (a thread in it hangs); a
    worker without a nanny, or one that does not come back, is left to the scheduler."""
    try:
        client.restart_workers([address], timeout=30, raise_for_error=False)
    except Exception as exc:  # noqa: BLE001 - the batch goes on without that worker
        logging.getLogger(__name__).warning("could not restart the worker %s: %s",
                                            address, exc)


@contextmanager
def connect(scheduler: str, retries: int = 2) -> Iterator[tuple[Any, int | None]]:
    """(a Dask client of the cluster at ``scheduler``, the pid its workers watch: this
    process's for a LocalCluster it starts, else None), closed (and the LocalCluster
    stopped) on exit."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise UsageError("--scheduler needs Dask: pip install 'redframe[cluster]'") from None
    kind, where = parse_scheduler(scheduler)
    cluster = None
    # worker-saturation 1.0: a worker is handed one file per thread, no more queued on it,
    # so a worker that dies (a file that crashes it, the OOM killer) takes only the file it
    # was developing with it; at Dask's default (1.1) a second file could sit on it and be
    # counted lost as often as the crashing one
    with dask.config.set({"distributed.scheduler.allowed-failures": int(retries),
                          "distributed.scheduler.worker-saturation": 1.0,
                          "distributed.worker.daemon": False,
                          **(LOCAL_CONFIG if kind == "local" else {})}):
        try:
            if kind == "local":
                start_fork_server()  # started already by the `redframe` command
                cluster = LocalCluster(n_workers=int(where), threads_per_worker=1,
                                       processes=True, memory_limit=0,
                                       dashboard_address=None, silence_logs=logging.CRITICAL)
                client = Client(cluster)
                parent: int | None = os.getpid()
            else:
                client = Client(where, timeout="30s")
                parent = None
        except OSError as exc:
            if cluster is not None:
                cluster.close()
            raise UsageError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
    try:
        yield client, parent
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
