"""Process-level settings for redframe's own processes (the CLI, its workers, benchmarks).

Not applied on import: a library should not change its host process.
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["reuse_freed_memory"]

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

