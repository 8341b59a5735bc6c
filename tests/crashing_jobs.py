"""Jobs that kill (or hang) the worker process they are sent to, for the crash-isolation
tests: a job is unpickled in the worker, and there it dies as a crash in native code would
(SIGSEGV, SIGKILL as the OOM killer sends, os.abort) or never finishes. Only tests can make
such jobs: the product has no hook for it. :class:`ParentRecordingJob` only says, in a
file next to its output, which process forked the worker it was sent to.

:func:`cli` is ``redframe``'s main with these jobs for the inputs named in
``REDFRAME_TEST_CRASH`` (``name=how,name=how``), so a test can run the real command line
in a subprocess: ``python -c "import crashing_jobs; crashing_jobs.cli()" develop ...``.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import redframe.cli
from redframe.jobs import Job


class CrashingJob(Job):
    how = "segv"

    def __setstate__(self, state):
        self.__dict__.update(state)
        if os.getpid() == state["_creator"]:
            return
        how = state.get("_how", "segv")
        if how == "segv":
            os.kill(os.getpid(), signal.SIGSEGV)
        elif how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif how == "abort":
            os.abort()
        elif how == "hang":
            time.sleep(3600)

    def __getstate__(self):
        return dict(self.__dict__, _creator=os.getpid(), _how=self.how)


class ParentRecordingJob(Job):
    def __setstate__(self, state):
        self.__dict__.update(state)
        if os.getpid() != state["_creator"]:
            Path(self.output + ".parent").write_text(
                f"{os.getppid()} {os.environ.get('MALLOC_ARENA_MAX')}")

    def __getstate__(self):
        return dict(self.__dict__, _creator=os.getpid())


def crashing(how: str, *args, **kwargs) -> CrashingJob:
    job = CrashingJob(*args, **kwargs)
    job.how = how
    return job


def cli() -> None:
    plan = dict(item.split("=", 1) for item in os.environ["REDFRAME_TEST_CRASH"].split(","))
    real = redframe.cli.Job

    def job(inputs, *args, **kwargs):
        how = plan.get(Path(inputs[0]).name)
        return crashing(how, inputs, *args, **kwargs) if how else real(inputs, *args, **kwargs)

    redframe.cli.Job = job
    sys.exit(redframe.cli.main(sys.argv[1:]))
