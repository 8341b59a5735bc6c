"""An on-disk cache of baked video LUTs, content-addressed.

A clip's look is baked (:func:`redframe.looks.cube.bake_table`) into a 33^3 lattice once
per process, 0.1-0.2 s of a fresh ``redframe video`` run on 2 cores: on a 2 s clip that is
5-10 % of the run. The lattice (431 KiB for 33^3) is kept in the user's cache folder and
read back by later processes in about a millisecond.

- **Where**: ``$REDFRAME_CACHE_DIR`` if set, else the platform's user cache folder as
  platformdirs names it (``$XDG_CACHE_HOME/redframe`` or ``~/.cache/redframe`` on Linux,
  ``~/Library/Caches/redframe`` on macOS, ``%LOCALAPPDATA%\\redframe\\Cache`` on Windows),
  sub-folder ``video-luts``. ``REDFRAME_NO_CACHE=1`` turns it off.
- **Key** (SHA-256, the file's name): what the bake reads -- the look's resolved
  parameters (a TOML look with its ``extends`` merged: a change to the file or its parent
  changes them) or a .cube look's table and encodings, the LUT size, the input and
  output encodings -- and what computes it: redframe's version, NumPy's, and the name,
  size and modification time of every source and compiled file of ``redframe.looks``,
  ``redframe.isp`` and ``redframe.color`` (an edited or rebuilt module is another key).
- **Entries** are written to a temporary file in the folder and renamed into place
  (atomic: a reader sees the whole entry or none); each holds a SHA-256 of its table, and
  an entry that is short, fails its checksum or holds values outside [0, 1] is ignored and
  baked again (and rewritten). A folder that cannot be written only costs the bake.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

import redframe
from redframe.looks import CubeLook, Look

__all__ = ["cache_dir", "look_key", "load", "store", "code_version"]

MAGIC = b"redframe-video-lut 1\n"
_DIGEST = 32
_CODE: list[str] = []


def cache_dir() -> Path | None:
    """The cache folder (not created here), or None when caching is off."""
    if os.environ.get("REDFRAME_NO_CACHE", "") not in ("", "0"):
        return None
    env = os.environ.get("REDFRAME_CACHE_DIR")
    if env:
        return Path(env).expanduser() / "video-luts"
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches" / "redframe"
    elif os.name == "nt":
        local = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        base = Path(local) / "redframe" / "Cache"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        base = (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache") / "redframe"
    return base / "video-luts"


def code_version() -> str:
    """A digest of the code that bakes a LUT (see the module docstring); once a process."""
    if not _CODE:
        h = hashlib.sha256(f"{redframe.__version__} numpy {np.__version__}".encode())
        root = Path(redframe.__file__).parent
        for pkg in ("looks", "isp", "color"):
            for folder, dirs, files in os.walk(root / pkg):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                for name in sorted(files):
                    if name.endswith((".py", ".pyx", ".pxd", ".so", ".pyd")):
                        st = os.stat(os.path.join(folder, name))
                        rel = os.path.relpath(os.path.join(folder, name), root)
                        h.update(f"{rel} {st.st_size} {st.st_mtime_ns}\n".encode())
        _CODE.append(h.hexdigest())
    return _CODE[0]


def look_key(look, kind: str, size: int, input: str, output: str) -> str | None:
    """The cache key of a bake, or None for a look this cache does not know how to name."""
    h = hashlib.sha256(f"{kind} {size} {input} {output} {code_version()}\n".encode())
    if isinstance(look, Look):
        h.update(b"look\n" + repr(look.params).encode())
    elif isinstance(look, CubeLook):
        d = look.data
        h.update(f"cube {look.input} {look.output} {sorted(d.tags.items())!r}\n".encode())
        for part in (d.table3, d.table1, d.domain_min, d.domain_max, d.domain1_min,
                     d.domain1_max):
            if part is None:
                h.update(b"-")
            else:
                a = np.ascontiguousarray(part)
                h.update(f"{a.dtype} {a.shape}\n".encode() + a.tobytes())
    else:
        return None
    return h.hexdigest()


def load(key: str, size: int) -> np.ndarray | None:
    """The cached (size, size, size, 3) float32 table of ``key``, or None (absent, or not a
    whole, valid entry)."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        raw = (folder / f"{key}.lut").read_bytes()
    except OSError:
        return None
    count = size ** 3 * 3
    head = len(MAGIC) + _DIGEST
    if len(raw) != head + 4 * count or not raw.startswith(MAGIC):
        return None
    payload = raw[head:]
    if hashlib.sha256(payload).digest() != raw[len(MAGIC):head]:
        return None
    table = np.frombuffer(payload, "<f4").reshape(size, size, size, 3).astype(np.float32)
    if not (np.isfinite(table).all() and table.min() >= 0.0 and table.max() <= 1.0):
        return None
    return table


def store(key: str, table: np.ndarray) -> bool:
    """Write ``table`` as the entry of ``key`` (temporary file + rename). False when the
    folder cannot be written (the cache is then simply not used)."""
    folder = cache_dir()
    if folder is None:
        return False
    payload = np.ascontiguousarray(table, "<f4").tobytes()
    tmp = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key[:16]}.", suffix=".part", dir=folder)
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + hashlib.sha256(payload).digest() + payload)
        os.replace(tmp, folder / f"{key}.lut")
        tmp = None
        return True
    except OSError:
        return False
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
