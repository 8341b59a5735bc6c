"""Process-level settings for redframe's own processes (the CLI, its workers, benchmarks).

Not applied on import: a library should not change its host process.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading

__all__ = ["reuse_freed_memory", "warm_heap", "heap_estimate"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
#: Heap a develop needs per pixel of its raw, below its measured peak (~20 B/px at 12 MP).
HEAP_PER_PIXEL = 16


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


def heap_estimate(argv: list[str]) -> int:
    """Bytes of heap worth faulting in ahead for a command line: a ``develop`` of one raw
    file in this process (a 16-bit raw holds ~2 bytes per pixel; a compressed one more
    pixels, so this errs low); 0 for anything else (batches develop in workers)."""
    if not argv or argv[0] != "develop":
        return 0
    files = [a for a in argv[1:] if not a.startswith("-") and os.path.isfile(a)]
    if len(files) != 1 or "--scheduler" in argv:
        return 0
    pixels = os.path.getsize(files[0]) // 2
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0
    return int(min(HEAP_PER_PIXEL * pixels, ram // 8, 1 << 30))


def warm_heap(nbytes: int) -> threading.Thread | None:
    """Fault in ``nbytes`` of the process heap on a second thread, while the command is
    still importing, and keep it for the develop (after :func:`reuse_freed_memory`).

    A first develop in a fresh process spent ~0.3 s of a 12 MP file in the kernel's page
    faults (16,000 of them: every frame-sized buffer is new memory); a second develop in
    the same process none. Touching the heap ahead moves that work onto a core the imports
    leave idle: the thread allocates from the main arena (one arena for all threads, so
    the pages are the ones later allocations get), writes every page and frees the block,
    which glibc keeps (the trim threshold). The C calls release the GIL. Returns the
    thread (None when there is nothing to do or off glibc)."""
    if nbytes <= 0 or not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.malloc.restype = ctypes.c_void_p
        libc.malloc.argtypes = [ctypes.c_size_t]
        libc.free.argtypes = [ctypes.c_void_p]
        libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
        if not libc.mallopt(_M_ARENA_MAX, 1):
            return None
    except (OSError, AttributeError):
        return None

    def touch() -> None:
        block = libc.malloc(nbytes)
        if block:
            libc.memset(block, 0, nbytes)
            libc.free(block)

    thread = threading.Thread(target=touch, name="redframe-warm-heap", daemon=True)
    thread.start()
    return thread
