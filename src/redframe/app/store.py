"""The camera's storage: originals and renders as files, their records in SQLite (WAL).

Layout of the data folder (every name in it is made here, never taken from a client)::

    redframe.sqlite3           records (WAL journal, synchronous=FULL)
    originals/ID.jpg|png|webp  a photo as the browser sent it, byte for byte
    originals/ID/00.jpg ...    the frames of a burst (night capture)
    renders/ID.jpg             the developed picture (look, frame, EXIF)
    thumbs/ID.jpg              its thumbnail
    tmp/                       uploads being received
    cache/                     look LUTs

A capture is never lost: :meth:`Store.add` moves the fsynced original into place *before*
its record is committed, and the record starts ``pending``. A worker then claims it
(``processing``), and ends it ``done`` or ``error`` (the original stays retrievable). On
start, :meth:`Store.recover` puts interrupted ``processing`` records back to ``pending``
(giving up after :data:`MAX_ATTEMPTS`, e.g. on an input that crashes the process), and
adopts originals that have no record (a crash between the file and the record).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redframe.io.decode import sniff
from redframe.io.encode import fsync_dir

__all__ = ["Store", "Capture", "new_id", "valid_id", "STATES", "MAX_ATTEMPTS", "EXTENSIONS"]

STATES = ("pending", "processing", "done", "error")
#: A capture whose processing was interrupted this many times is marked as an error.
MAX_ATTEMPTS = 3
#: sniffed container -> extension of the stored original
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp"}

_ID = re.compile(r"^[0-9a-f]{32}$")
_ORIGINAL = re.compile(r"^([0-9a-f]{32})(?:\.(jpg|png|webp))?$")
_FRAME = re.compile(r"^\d{2}\.(jpg|png|webp)$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS captures (
    id TEXT PRIMARY KEY,
    client_id TEXT UNIQUE,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    kind TEXT NOT NULL,
    mode TEXT NOT NULL,
    look TEXT NOT NULL,
    frame TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    original TEXT NOT NULL,
    frames INTEGER NOT NULL DEFAULT 1,
    format TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    width INTEGER,
    height INTEGER,
    render TEXT,
    render_width INTEGER,
    render_height INTEGER,
    merged INTEGER,
    capture TEXT NOT NULL DEFAULT '{}',
    notes TEXT NOT NULL DEFAULT '[]',
    options TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS captures_state ON captures (state, created);
CREATE INDEX IF NOT EXISTS captures_created ON captures (created);
"""


def new_id() -> str:
    """A fresh capture id: 32 lowercase hex digits (random, so not guessable)."""
    return uuid.uuid4().hex


def valid_id(value: str) -> bool:
    """Whether ``value`` has the shape of a capture id (the only client input used in paths)."""
    return isinstance(value, str) and bool(_ID.match(value))


@dataclass
class Capture:
    """One record of the gallery."""

    id: str
    client_id: str | None
    created: float
    updated: float
    kind: str  # "photo" | "burst"
    mode: str  # "photo" | "night" | "mono"
    look: str
    frame: str | None
    state: str
    attempts: int
    error: str | None
    original: str  # file (photo) or folder (burst) name under originals/
    frames: int
    format: str
    bytes: int
    width: int | None
    height: int | None
    render: str | None
    render_width: int | None
    render_height: int | None
    merged: bool | None
    capture: dict
    notes: list
    options: dict  # how to develop it beyond look and frame: {"hdr": bool, "character": name}

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Capture:
        d = dict(row)
        d["capture"] = json.loads(d["capture"] or "{}")
        d["notes"] = json.loads(d["notes"] or "[]")
        d["options"] = json.loads(d.get("options") or "{}")
        d["merged"] = None if d["merged"] is None else bool(d["merged"])
        return cls(**d)


class Store:
    """Files and records of one data folder; safe to use from many threads."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser().resolve()
        for sub in ("originals", "renders", "thumbs", "tmp", "cache"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.root / "redframe.sqlite3", check_same_thread=False,
                                   isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(captures)")}
        if "options" not in columns:  # a gallery made before develop options existed
            self._db.execute("ALTER TABLE captures ADD COLUMN options TEXT NOT NULL "
                             "DEFAULT '{}'")
        self._clean_tmp()

    # --- paths (ids only) -----------------------------------------------------------------

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    def original_path(self, cap: Capture, index: int = 0) -> Path:
        base = self.root / "originals" / cap.original
        if cap.kind == "burst":
            frames = self.burst_frames(cap)
            if not 0 <= index < len(frames):
                raise IndexError(index)
            return frames[index]
        return base

    def burst_frames(self, cap: Capture) -> list[Path]:
        folder = self.root / "originals" / cap.original
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if _FRAME.match(p.name))

    def render_path(self, cid: str) -> Path:
        assert valid_id(cid)
        return self.root / "renders" / f"{cid}.jpg"

    def thumb_path(self, cid: str, source: str = "render") -> Path:
        assert valid_id(cid)
        suffix = "" if source == "render" else "-original"
        return self.root / "thumbs" / f"{cid}{suffix}.jpg"

    # --- writing ------------------------------------------------------------------------------

    def add(self, *, kind: str, mode: str, look: str, frame: str | None, files: list[Path],
            formats: list[str], sizes: list[tuple[int, int]], client_id: str | None,
            capture: dict[str, Any], options: dict[str, Any] | None = None
            ) -> tuple[Capture, bool]:
        """Store received files (already fsynced in :attr:`tmp`) as a new pending capture.

        Returns (capture, created). With a ``client_id`` seen before, the earlier capture
        is returned with ``created=False`` and the files are discarded: a retried upload
        is stored exactly once.
        """
        if client_id is not None:
            existing = self.by_client_id(client_id)
            if existing is not None:
                _discard(files)
                return existing, False
        cid = new_id()
        originals = self.root / "originals"
        if kind == "burst":
            folder_tmp = self.tmp / f"{cid}.dir"
            folder_tmp.mkdir()
            for i, (f, fmt) in enumerate(zip(files, formats, strict=True)):
                os.replace(f, folder_tmp / f"{i:02d}.{EXTENSIONS[fmt]}")
            fsync_dir(folder_tmp)
            os.replace(folder_tmp, originals / cid)
            name = cid
        else:
            name = f"{cid}.{EXTENSIONS[formats[0]]}"
            os.replace(files[0], originals / name)
        fsync_dir(originals)
        now = time.time()
        if kind == "burst":
            total = sum(p.stat().st_size for p in (originals / name).iterdir())
        else:
            total = (originals / name).stat().st_size
        width, height = sizes[0] if sizes else (None, None)
        try:
            with self._lock:
                self._db.execute(
                    "INSERT INTO captures (id, client_id, created, updated, kind, mode, look, "
                    "frame, state, original, frames, format, bytes, width, height, capture, "
                    "options) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)",
                    (cid, client_id, now, now, kind, mode, look, frame, name, len(files),
                     formats[0], total, width, height, json.dumps(capture),
                     json.dumps(options or {})),
                )
        except sqlite3.IntegrityError:
            # the same client_id arrived twice at once: keep the first, drop ours
            self._remove_original(name)
            existing = self.by_client_id(client_id) if client_id else None
            if existing is None:
                raise
            return existing, False
        return self.get(cid), True

    def claim(self) -> Capture | None:
        """The oldest pending capture, now marked ``processing`` (or None)."""
        with self._lock:
            row = self._db.execute(
                "UPDATE captures SET state='processing', attempts=attempts+1, updated=? "
                "WHERE id = (SELECT id FROM captures WHERE state='pending' "
                "ORDER BY created LIMIT 1) RETURNING *", (time.time(),)
            ).fetchone()
        return Capture.from_row(row) if row else None

    def finish(self, cid: str, *, render: str, width: int, height: int,
               merged: bool | None, notes: list[str]) -> bool:
        """Mark a capture done; False when it was deleted meanwhile."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE captures SET state='done', error=NULL, render=?, render_width=?, "
                "render_height=?, merged=?, notes=?, updated=? WHERE id=?",
                (render, width, height, None if merged is None else int(merged),
                 json.dumps(notes), time.time(), cid),
            )
        return cur.rowcount == 1

    def fail(self, cid: str, message: str, notes: list[str] | None = None) -> bool:
        """Mark a capture as failed (its original stays); False when it was deleted."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE captures SET state='error', error=?, notes=?, updated=? WHERE id=?",
                (message[:500], json.dumps(notes or []), time.time(), cid),
            )
        return cur.rowcount == 1

    def requeue(self, cid: str, *, look: str, frame: str | None, mode: str,
                options: dict[str, Any] | None = None) -> Capture | None:
        """Develop a finished (or failed) capture again with another look/frame (and
        develop options; None keeps them)."""
        with self._lock:
            if options is None:
                row = self._db.execute("SELECT options FROM captures WHERE id=?",
                                       (cid,)).fetchone()
                options = json.loads(row[0]) if row else {}
            cur = self._db.execute(
                "UPDATE captures SET state='pending', attempts=0, error=NULL, look=?, frame=?, "
                "mode=?, options=?, updated=? WHERE id=? AND state IN ('done', 'error')",
                (look, frame, mode, json.dumps(options), time.time(), cid),
            )
        return self.get(cid) if cur.rowcount == 1 else None

    def delete(self, cid: str) -> bool:
        """Remove a capture's record, then its files; False when there was none."""
        cap = self.get(cid)
        if cap is None:
            return False
        with self._lock:
            cur = self._db.execute("DELETE FROM captures WHERE id=?", (cid,))
        if cur.rowcount != 1:
            return False
        self._remove_original(cap.original)
        for p in (self.render_path(cid), self.thumb_path(cid), self.thumb_path(cid, "original")):
            p.unlink(missing_ok=True)
        return True

    # --- reading ------------------------------------------------------------------------------

    def get(self, cid: str) -> Capture | None:
        if not valid_id(cid):
            return None
        with self._lock:
            row = self._db.execute("SELECT * FROM captures WHERE id=?", (cid,)).fetchone()
        return Capture.from_row(row) if row else None

    def by_client_id(self, client_id: str) -> Capture | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM captures WHERE client_id=?", (client_id,)
            ).fetchone()
        return Capture.from_row(row) if row else None

    def list(self, limit: int = 60, before: float | None = None) -> list[Capture]:
        """Newest first; ``before`` (a ``created`` time) pages back."""
        with self._lock:
            if before is None:
                rows = self._db.execute(
                    "SELECT * FROM captures ORDER BY created DESC LIMIT ?", (limit,)
                ).fetchall()
            else:
                rows = self._db.execute(
                    "SELECT * FROM captures WHERE created < ? ORDER BY created DESC LIMIT ?",
                    (before, limit),
                ).fetchall()
        return [Capture.from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT state, COUNT(*) FROM captures GROUP BY state"
            ).fetchall()
        out = dict.fromkeys(STATES, 0)
        out.update({r[0]: r[1] for r in rows})
        return out

    # --- start-up -----------------------------------------------------------------------------

    def recover(self, default_look: str = "") -> dict[str, int]:
        """Resume interrupted work (see the module docstring); returns what was done."""
        now = time.time()
        with self._lock:
            gave_up = self._db.execute(
                "UPDATE captures SET state='error', updated=?, error='processing was "
                "interrupted ' || attempts || ' times; the original is kept' "
                "WHERE state='processing' AND attempts >= ?", (now, MAX_ATTEMPTS)
            ).rowcount
            resumed = self._db.execute(
                "UPDATE captures SET state='pending', updated=? WHERE state='processing'",
                (now,),
            ).rowcount
            known = {r[0] for r in self._db.execute("SELECT original FROM captures")}
        adopted = 0
        for p in sorted((self.root / "originals").iterdir()):
            m = _ORIGINAL.match(p.name)
            if not m or p.name in known:
                continue
            if self._adopt(p, m.group(1), now, default_look):
                adopted += 1
        pending = self.counts()["pending"]
        return {"resumed": resumed, "gave_up": gave_up, "adopted": adopted, "pending": pending}

    def _adopt(self, path: Path, cid: str, now: float, look: str) -> bool:
        """Give an orphan original (file stored, record lost to a crash) a pending record."""
        if path.is_dir():
            frames = sorted(p for p in path.iterdir() if _FRAME.match(p.name))
            if not frames:
                return False
            kind, first, count = "burst", frames[0], len(frames)
            size = sum(p.stat().st_size for p in frames)
        else:
            kind, first, count, size = "photo", path, 1, path.stat().st_size
        with open(first, "rb") as fh:
            fmt = sniff(fh.read(64))
        if fmt not in EXTENSIONS:
            return False
        mode = "night" if kind == "burst" else "photo"
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO captures (id, created, updated, kind, mode, look, state, "
                    "original, frames, format, bytes, notes) VALUES (?, ?, ?, ?, ?, ?, "
                    "'pending', ?, ?, ?, ?, ?)",
                    (cid, path.stat().st_mtime, now, kind, mode, look, path.name, count, fmt,
                     size, json.dumps(["recovered after an interrupted upload"])),
                )
            except sqlite3.IntegrityError:
                return False
        return True

    def _clean_tmp(self) -> None:
        for p in self.tmp.iterdir():
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)

    def _remove_original(self, name: str) -> None:
        path = self.root / "originals" / name
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _discard(files: list[Path]) -> None:
    for f in files:
        Path(f).unlink(missing_ok=True)
