"""The LocalCluster that ``--scheduler local:N`` starts (redframe.jobs.cluster.connect):
its workers reuse a file's freed buffers instead of page-faulting them in again for every
file, and leave out Dask's per-worker sampling, measured in the workers themselves.
"""

from __future__ import annotations

import resource
import time

import numpy as np

from redframe.jobs.cluster import connect
from redframe.runtime import reuse_freed_memory

#: one 12 MP develop's float32 RGB plane, about the size of its largest buffers
BUFFER_BYTES = 4000 * 3000 * 3 * 4


def _faults_per_buffer(rounds: int = 4) -> list[int]:
    """Page faults of allocating, touching and freeing a 12 MP float32 RGB buffer, each
    round, on the thread that runs Dask's tasks (the settings a job's worker has)."""
    reuse_freed_memory()
    faults = []
    for _ in range(rounds):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        buf = np.empty(BUFFER_BYTES // 4, np.float32)
        buf.fill(1.0)
        del buf
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return faults


def _sampled() -> float:
    """Seconds of a busy task thread while Dask's stack sampler would run: with the
    sampler off, the worker's profile stays empty."""
    from distributed import get_worker

    t = time.perf_counter()
    while time.perf_counter() - t < 0.3:
        sum(range(1000))
    return get_worker().profile_recent["count"]


def test_local_cluster_workers_reuse_freed_buffers_and_do_not_sample():
    with connect("local:1") as (client, parent):
        faults = client.submit(_faults_per_buffer, pure=False).result()
        samples = client.submit(_sampled, pure=False).result()
    assert parent is not None
    # the first round maps the memory (numpy asks for huge pages: ~400-900 faults here);
    # later rounds reuse it. In the task thread's own malloc arena (Dask's default) every
    # round maps it afresh and faults as often as the first (measured: 409 each round)
    assert faults[0] > 50, faults
    assert max(faults[1:]) <= faults[0] // 20, faults
    assert samples == 0


def _parent_and_arenas() -> tuple[int, str | None]:
    import os

    return os.getppid(), os.environ.get("MALLOC_ARENA_MAX")


def test_local_cluster_workers_are_forked_with_the_pipeline_loaded():
    """redframe.runtime.start_fork_server: the workers come from the fork server (not
    spawned by a nanny in this process), with the develop pipeline imported before their
    first task and the fork server's environment."""
    import os

    expr = "'redframe.jobs.runner' in __import__('sys').modules"
    with connect("local:1") as (client, _):
        # a builtin as the first task: unpickling it imports nothing of redframe
        loaded = client.submit(eval, expr, pure=False).result()
        parent, arenas = client.submit(_parent_and_arenas, pure=False).result()
    assert loaded
    assert parent != os.getpid()
    assert arenas == "1"
