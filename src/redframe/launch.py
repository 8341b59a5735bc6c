"""The ``redframe`` command's entry point.

It checks that the compiled kernels (Cython + OpenMP, built by ``pip install``; see
setup.py) are importable before it imports the command line: a checkout run without an
install, or an install whose build was skipped, gets one line that says how to build them
instead of an ImportError traceback from deep inside a develop. A command that will start a
LocalCluster (``--scheduler local:N``) or the local pool's worker processes (``--jobs N``)
has the fork server its workers come from started first, so that its imports overlap the
command line's (:func:`starts_local_cluster`, :func:`starts_worker_pool`). Before all of
that, the command's process settings are made: idle thread pools sleep rather than spin,
NumPy's arrays use ordinary pages (:func:`redframe.runtime.apply_command_environ`). When
the command is done the process ends without the interpreter's teardown (:func:`finish`).
"""

from __future__ import annotations

import sys
from importlib.util import find_spec

from redframe.runtime import (  # ctypes and os: no kernel, no NumPy
    POOL_PRELOAD,
    apply_command_environ,
    start_fork_server,
)

#: the extension every build makes (redframe/_threads.pyx)
PROBE = "redframe._threads"

MISSING = ("redframe: error: the compiled kernels are not built (no {probe}); build them "
           "with `pip install -e .` on a machine with a C compiler (gcc or clang)")


def main() -> int:
    apply_command_environ()  # before anything loads libgomp, OpenBLAS or NumPy
    if find_spec(PROBE) is None:
        print(MISSING.format(probe=PROBE), file=sys.stderr)
        return 70
    if starts_local_cluster(sys.argv[1:]):
        start_fork_server()
    elif starts_worker_pool(sys.argv[1:]):
        start_fork_server(POOL_PRELOAD)
    from redframe.cli import main as cli_main  # after the check, on purpose

    return finish(cli_main())


def _before_dashes(argv: list[str]) -> list[str]:
    return argv[:argv.index("--")] if "--" in argv else argv


def _values(argv: list[str], option: str) -> list[str]:
    """The values given to ``option`` as written out (``--option V`` or ``--option=V``)."""
    args = _before_dashes(argv)
    return [arg[len(option) + 1:] if arg != option else args[k + 1]
            for k, arg in enumerate(args)
            if arg.startswith(option + "=") or (arg == option and k + 1 < len(args))]


def starts_local_cluster(argv: list[str]) -> bool:
    """Whether ``argv`` asks for ``--scheduler local:N`` as written out (an abbreviated
    option is still honoured by the command line: its fork server then starts when the
    cluster does, a little later)."""
    return any(v.startswith("local:") for v in _values(argv, "--scheduler"))


def starts_worker_pool(argv: list[str]) -> bool:
    """Whether ``argv`` asks for worker processes of the local pool as written out:
    ``--jobs N`` with N other than 1 (0 is all cores), or ``--timeout-per-file`` (each file
    in a worker of its own). A command given one file does not use them: its fork server
    then imports the pipeline (~0.2 s of CPU) while that file develops in the command's
    process, and is never asked for a worker."""
    return (any(a.startswith("--timeout-per-file") for a in _before_dashes(argv))
            or any(v.strip() != "1" for v in _values(argv, "--jobs")))


def finish(code: int | None) -> int:
    """End the process with ``code`` once the command is done, without the interpreter's
    own teardown: what a command writes is complete when it returns (atomic writes,
    fsynced), the other threads are joined and the exit functions run (temporary folders,
    finalizers, pools) as at a normal exit; what is skipped is clearing ~1,000 modules and
    freeing a develop's heap object by object, 40-100 ms of every command (measured on a
    12 MP develop: 0.09-0.12 s from the command's end to the process's, 0.02-0.03 s
    after)."""
    import atexit
    import os
    import threading

    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(0 if code is None else code if isinstance(code, int) else 1)  # as SystemExit
