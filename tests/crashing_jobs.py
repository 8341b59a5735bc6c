"""A job that kills the worker process it is sent to (for the pool's crash-isolation test):
it is unpickled in the worker, and there it raises SIGSEGV, as a crash in native code would."""

from __future__ import annotations

import os
import signal

from redframe.jobs import Job


class CrashingJob(Job):
    def __setstate__(self, state):
        self.__dict__.update(state)
        if os.getpid() != state["_creator"]:
            os.kill(os.getpid(), signal.SIGSEGV)

    def __getstate__(self):
        return dict(self.__dict__, _creator=os.getpid())
