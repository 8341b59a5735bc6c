"""The ``redframe`` command's entry point.

It checks that the compiled kernels (Cython + OpenMP, built by ``pip install``; see
setup.py) are importable before it imports the command line: a checkout run without an
install, or an install whose build was skipped, gets one line that says how to build them
instead of an ImportError traceback from deep inside a develop.
"""

from __future__ import annotations

import sys
from importlib.util import find_spec

#: the extension every build makes (redframe/_threads.pyx)
PROBE = "redframe._threads"

MISSING = ("redframe: error: the compiled kernels are not built (no {probe}); build them "
           "with `pip install -e .` on a machine with a C compiler (gcc or clang)")


def main() -> int:
    if find_spec(PROBE) is None:
        print(MISSING.format(probe=PROBE), file=sys.stderr)
        return 70
    from redframe.runtime import heap_estimate, reuse_freed_memory, warm_heap

    reuse_freed_memory()
    warm_heap(heap_estimate(sys.argv[1:]))  # while the command line imports
    from redframe.cli import main as cli_main  # after the check, on purpose

    return cli_main()
