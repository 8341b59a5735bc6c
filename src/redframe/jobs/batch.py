"""A batch: jobs, their journal, and where they run (this machine's pool or a Dask
cluster). What ``redframe develop`` and ``redframe frame`` call for more than one file.

- with a journal (:mod:`redframe.jobs.journal`), the jobs already done are skipped
  (reported through ``on_skip``) and every start and finish is recorded;
- ``scheduler`` None runs them in the local pool (:func:`redframe.jobs.pool.run_jobs`),
  else on Dask (:func:`redframe.jobs.cluster.run_on_dask`): the same job runner, the same
  callbacks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from redframe.jobs.cluster import parse_scheduler, run_on_dask
from redframe.jobs.journal import Journal, Skipped
from redframe.jobs.pool import run_jobs
from redframe.jobs.runner import Job, JobResult

__all__ = ["run_batch"]


def run_batch(jobs: Sequence[Job], *, workers: int = 1,
              journal: str | os.PathLike | None = None, redo_done: bool = False,
              scheduler: str | None = None, timeout: float | None = None,
              isolate: bool = False, retries: int = 2,
              on_result: Callable[[JobResult], None] | None = None,
              on_skip: Callable[[Skipped], None] | None = None,
              on_plan: Callable[[int, int], None] | None = None,
              command: Sequence[str] | None = None) -> tuple[list[JobResult], list[Skipped]]:
    """Run ``jobs``; (their results in the order they finished, the jobs skipped as done).
    ``on_plan(to_run, skipped)`` is called once the journal has said what is left."""
    if scheduler is not None:
        parse_scheduler(scheduler)  # a bad address fails before the journal is touched
    book = Journal(journal) if journal is not None else None
    try:
        skipped: list[Skipped] = []
        todo = list(jobs)
        if book is not None:
            todo, skipped = book.plan(todo, redo_done=redo_done, command=command)
        if on_plan:
            on_plan(len(todo), len(skipped))
        for s in skipped:
            if on_skip:
                on_skip(s)
        on_start = book.started if book is not None else None
        on_finish = book.finished if book is not None else None
        if scheduler is not None:
            results = run_on_dask(todo, scheduler, on_start=on_start, on_finish=on_finish,
                                  on_result=on_result, retries=retries, timeout=timeout)
        else:
            results = run_jobs(todo, workers=workers, on_result=on_result, on_start=on_start,
                               on_finish=on_finish, timeout=timeout, isolate=isolate)
        return results, skipped
    finally:
        if book is not None:
            book.close()
