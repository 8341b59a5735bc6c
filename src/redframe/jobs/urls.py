"""Inputs and outputs given as fsspec URLs (``redframe develop s3://bucket/raws -o
s3://bucket/out``): what a batch needs to list, check, fetch and publish them.

- ``file://`` URLs are local paths (``file:///data/x.dng`` is ``/data/x.dng``): they take
  the local path everywhere, outputs included (temp + fsync + rename).
- Any other URL (``s3://``, ``gs://``, ``az://``, ``memory://``...) is opened through
  `fsspec <https://filesystem-spec.readthedocs.io>`_ (installed with the ``[cluster]``
  extra; ``s3://`` needs ``s3fs``, ``gs://`` ``gcsfs``, with their usual credentials).
  The job runner copies such inputs into a temporary folder of the process that develops
  them, develops there, and publishes each output whole: to an object store with one
  upload (an object appears only complete), to other file systems as a hidden
  ``.NAME.XXXXXXXX.part`` renamed into place. Nothing is written twice: an existing output
  is an error unless ``--overwrite``.
- A batch journal is a local SQLite file; it records a URL output by its URL.

No pixels here: paths, listings and bytes (the I/O the stages never do).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from redframe.errors import InputError, OutputError, UsageError

__all__ = ["is_url", "is_remote", "local_path", "filesystem", "join", "name", "walk",
           "exists", "isfile", "info", "digest", "fetch", "publish", "remove_parts",
           "OBJECT_STORES"]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_LOCAL = ("file", "local")

#: protocols whose writes appear whole (one object per upload): published directly
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oss",
                           "memory"})


def _scheme(text: str) -> str | None:
    m = _SCHEME.match(str(text))
    return m.group(1).lower() if m else None


def is_url(text: str | os.PathLike) -> bool:
    """Whether ``text`` is a URL (``scheme://...``), ``file://`` included."""
    return _scheme(os.fspath(text)) is not None


def local_path(text: str | os.PathLike) -> str:
    """``text`` with a ``file://`` URL made into its local path; anything else as it is."""
    text = os.fspath(text)
    scheme = _scheme(text)
    if scheme not in _LOCAL:
        return text
    rest = text[len(scheme) + 3:]
    if rest.startswith("localhost/"):
        rest = rest[len("localhost"):]
    if not rest.startswith("/"):
        raise UsageError("a file:// URL takes an absolute path (file:///folder/x)", path=text)
    return rest


def is_remote(text: str | os.PathLike | None) -> bool:
    """A URL that is not a local path: opened through fsspec."""
    return text is not None and _scheme(os.fspath(text)) not in (None, *_LOCAL)


def filesystem(url: str) -> tuple[Any, str]:
    """(the fsspec file system of ``url``, its path there); UsageError when fsspec or the
    protocol's package is missing."""
    try:
        import fsspec  # the [cluster] extra (Dask needs it too), imported on use
    except ImportError:
        raise UsageError("URLs need fsspec: pip install 'redframe[cluster]'", path=url) \
            from None
    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise UsageError(f"cannot open this URL ({exc})", path=url) from None


def join(folder: str, child: str) -> str:
    """``folder/child`` for a path or a URL (a URL keeps its ``//``)."""
    if is_url(folder):
        return folder.rstrip("/") + "/" + child
    return str(Path(folder) / child)


def name(path: str) -> str:
    """The last part of a path or URL."""
    return PurePosixPath(path.rstrip("/")).name if is_url(path) else Path(path).name


def walk(url: str, extensions: Iterable[str], skip: str | None = None) -> list[str] | None:
    """The files under the URL ``url`` with one of ``extensions`` (sorted, hidden ones and
    those under ``skip`` left out), ``[url]`` for a file, None when there is nothing."""
    fs, path = filesystem(url)
    if fs.isfile(path):
        return [url]
    if not fs.isdir(path):
        return None
    root = path.rstrip("/")
    skipped = None
    if skip is not None and is_remote(skip):
        skip_fs, skip_path = filesystem(skip)
        if type(skip_fs) is type(fs):
            skipped = skip_path.rstrip("/") + "/"
    exts = {e.lower() for e in extensions}
    found = []
    for p in sorted(fs.find(root)):
        rel = p[len(root):].lstrip("/")
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        if PurePosixPath(p).suffix.lower() not in exts:
            continue
        if skipped is not None and (p + "/").startswith(skipped):
            continue
        found.append(join(url, rel))
    return found


def exists(path: str) -> bool:
    if is_remote(path):
        fs, p = filesystem(path)
        return bool(fs.exists(p))
    return os.path.lexists(path)


def isfile(path: str) -> bool:
    if is_remote(path):
        fs, p = filesystem(path)
        return bool(fs.isfile(p))
    return os.path.isfile(path) and not os.path.islink(path)


def info(path: str) -> tuple[int, int | None] | None:
    """(size in bytes, modification time in ns or None where the store has none) of a
    file; None when it is not there."""
    if not is_remote(path):
        try:
            st = os.stat(path)
        except OSError:
            return None
        return st.st_size, st.st_mtime_ns
    fs, p = filesystem(path)
    try:
        size = int(fs.info(p)["size"])
    except (OSError, KeyError, ValueError):
        return None
    try:
        mtime = int(fs.modified(p).timestamp() * 1e9)
    except (OSError, NotImplementedError, AttributeError, ValueError):
        mtime = None
    return size, mtime


def digest(path: str) -> str:
    """SHA-256 of a file's bytes (a URL is read through fsspec)."""
    h = hashlib.sha256()
    if is_remote(path):
        fs, p = filesystem(path)
        opened = fs.open(p, "rb")
    else:
        opened = open(path, "rb")  # noqa: SIM115 - closed by the with below
    with opened as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(url: str, local: str) -> None:
    """Copy the file at ``url`` to the local path ``local``; InputError when it cannot."""
    fs, p = filesystem(url)
    try:
        fs.get_file(p, local)
    except FileNotFoundError:
        raise InputError("no such file", path=url) from None
    except OSError as exc:
        raise InputError(f"cannot read ({exc})", path=url) from None


def publish(local: str, url: str, overwrite: bool) -> None:
    """Upload the finished local file ``local`` to ``url`` so that it appears whole: one
    upload to an object store, else a hidden ``.part`` beside it, renamed into place.
    OutputError when it exists (unless ``overwrite``) or cannot be written."""
    fs, p = filesystem(url)
    if not overwrite and fs.exists(p):
        raise OutputError("exists; use --overwrite", path=url)
    folder, _, base = p.rstrip("/").rpartition("/")
    try:
        if folder:
            fs.makedirs(folder, exist_ok=True)
        if _scheme(url) in OBJECT_STORES:
            fs.put_file(local, p)
            return
        part = f"{folder}/.{base}.{secrets.token_hex(4)}.part" if folder \
            else f".{base}.{secrets.token_hex(4)}.part"
        fs.put_file(local, part)
        try:
            fs.mv(part, p)
        except BaseException:
            fs.rm(part)
            raise
    except OSError as exc:
        raise OutputError(f"cannot write ({exc})", path=url) from None


def remove_parts(target: str) -> None:
    """Remove what a killed upload left of the URL ``target`` (its hidden ``.part``
    files; object stores have none)."""
    if _scheme(target) in OBJECT_STORES:
        return
    fs, p = filesystem(target)
    folder, _, base = p.rstrip("/").rpartition("/")
    try:
        for part in fs.glob(f"{folder}/.{base}.*.part"):
            fs.rm(part)
    except OSError:
        pass

