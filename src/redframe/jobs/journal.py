"""The batch journal: one SQLite database (WAL) that records every job of a batch, so a
batch killed at any moment (``kill -9``, a power cut, a lost cluster) is resumed where it
stopped and nothing is written twice.

One row per output: the inputs (and their size and modification time), a hash of the
recipe and job kind, the status (``pending`` -> ``running`` -> ``done`` | ``failed``), and
for a done output its size, modification time and SHA-256. Each change is its own
transaction, committed before the next file is handed out, so the journal is never behind
the outputs by more than the files in flight.

On the next run of the same batch (``--resume``, or the same ``--journal``):

- an output recorded ``done`` whose file is still there with the recorded size (and the
  recorded modification time, or else the recorded SHA-256) is skipped;
- an output that was in flight and did not exist before the batch, but exists now, was
  renamed into place by the killed run just before it could say so: outputs appear only
  complete (temp + fsync + rename, :func:`redframe.io.write_image`), so it is adopted, not
  written again;
- everything else (pending, in flight, failed, or changed recipe or input) is run again,
  after the killed run's temporary ``.NAME.XXXX.part`` files for it are removed.

While a batch runs it holds an exclusive lock (``JOURNAL.lock``); a second batch on the same
journal is refused, and holding the lock is what proves the temporary files of the
journal's outputs belong to no live writer.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redframe import __version__
from redframe.errors import UsageError
from redframe.jobs import urls
from redframe.jobs.recipe import recipe_to_dict
from redframe.jobs.runner import Job, JobResult

__all__ = ["Journal", "JOURNAL_NAME", "STATUSES", "job_hash", "read_status", "file_digest",
           "default_journal"]

#: the journal's name in the output folder (hidden: folder walks skip it)
JOURNAL_NAME = ".redframe-journal.sqlite"

STATUSES = ("pending", "running", "done", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    output      TEXT PRIMARY KEY,
    inputs      TEXT NOT NULL,
    input_sig   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    recipe_hash TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    existed     INTEGER NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    bytes       INTEGER,
    mtime_ns    INTEGER,
    sha256      TEXT,
    width       INTEGER,
    height      INTEGER,
    error       TEXT,
    exit_code   INTEGER,
    seconds     REAL,
    started     REAL,
    finished    REAL
);
CREATE INDEX IF NOT EXISTS files_status ON files (status);
"""


def job_hash(job: Job) -> str:
    """What decides the output's pixels: the kind, the full recipe (every value explicit),
    the burst parameters and the DNG target."""
    data = {"kind": job.kind, "recipe": recipe_to_dict(job.recipe), "dng": job.dng,
            "burst": repr(job.burst) if job.burst is not None else None}
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def default_journal(output_folder: str | os.PathLike) -> str:
    """The journal ``--resume`` keeps for an output folder: :data:`JOURNAL_NAME` in it; an
    output URL needs ``--journal FILE`` (SQLite lives on a local file system)."""
    folder = urls.local_path(output_folder)
    if urls.is_remote(folder):
        raise UsageError(f"--resume with an output URL ({folder}) needs --journal FILE: the "
                         "journal is a local SQLite file")
    return str(Path(folder) / JOURNAL_NAME)


def _input_sig(job: Job) -> str:
    sig = []
    for p in job.inputs:
        got = urls.info(p)
        sig.append([p, *(got if got is not None else (None, None))])
    return json.dumps(sig)


def file_digest(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _key(path: str) -> str:
    return path if urls.is_remote(path) else os.path.abspath(path)


@dataclass
class Skipped:
    """A job the journal says is done (or that a killed run finished): not run again."""

    job: Job
    output: str
    adopted: bool  # finished by a killed run, recorded now

    def to_json(self) -> dict[str, Any]:
        return {"input": self.job.inputs[0], "inputs": list(self.job.inputs),
                "output": self.output, "status": "skipped", "error": None, "exit_code": 0,
                "reason": "finished by the run that was stopped" if self.adopted
                else "done (journal)"}


def _connect(path: Path) -> sqlite3.Connection:
    try:
        db = sqlite3.connect(str(path), timeout=30.0, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across a killed process
        db.executescript(_SCHEMA)
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"not a redframe journal ({exc})", path=str(path)) from None
    return db


class Journal:
    """An open journal, locked for one batch (a context manager)."""

    def __init__(self, path: str | os.PathLike) -> None:
        path = urls.local_path(path)
        if urls.is_remote(path):
            raise UsageError("the journal is a local SQLite file, not a URL", path=path)
        self.path = Path(path)
        if self.path.is_dir():
            raise UsageError("is a folder; --journal takes a file", path=str(self.path))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = open(f"{self.path}.lock", "a")  # noqa: SIM115 - held until close()
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise UsageError("another redframe batch is using this journal; wait for it "
                             "to finish", path=str(self.path)) from None
        self.db = _connect(self.path)
        self._put_meta("redframe", __version__)
        self._put_meta("created", self._meta("created") or _now_text())

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.db is not None:
            try:
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass
            self.db.close()
            self.db = None
        if not self._lock.closed:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _put_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) "
                        "DO UPDATE SET value = excluded.value", (key, value))

    # --- planning a run ---------------------------------------------------------------------

    def plan(self, jobs: Sequence[Job], *, redo_done: bool = False,
             command: Sequence[str] | None = None) -> tuple[list[Job], list[Skipped]]:
        """The jobs still to run, and those skipped as done (``redo_done``: run done ones
        again too, as ``--overwrite`` without ``--resume`` asks). Records every job."""
        if command is not None:
            self._put_meta("command", json.dumps(list(command)))
        todo: list[Job] = []
        skipped: list[Skipped] = []
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for job in jobs:
                key = _key(job.output)
                digest, sig = job_hash(job), _input_sig(job)
                row = self.db.execute(
                    "SELECT status, existed, bytes, mtime_ns, sha256, recipe_hash, input_sig "
                    "FROM files WHERE output = ?", (key,)).fetchone()
                same = row is not None and row[5] == digest and row[6] == sig
                if same and row[0] == "done" and not redo_done and _verified(key, *row[2:5]):
                    skipped.append(Skipped(job, key, adopted=False))
                    continue
                if same and row[0] in ("pending", "running") and not row[1] \
                        and urls.isfile(key):
                    self._record_done(key, None, adopted=True)
                    skipped.append(Skipped(job, key, adopted=True))
                    continue
                # in flight before (and not finished), never seen, failed, or changed:
                # run it, after what a killed writer left of it is gone
                existed = row[1] if (same and row[0] in ("pending", "running")) \
                    else int(urls.exists(key))
                _remove_parts(key)
                if job.dng is not None:
                    _remove_parts(_key(job.dng))
                self.db.execute(
                    "INSERT INTO files (output, inputs, input_sig, kind, recipe_hash, status, "
                    "existed) VALUES (?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT(output) DO "
                    "UPDATE SET inputs = excluded.inputs, input_sig = excluded.input_sig, "
                    "kind = excluded.kind, recipe_hash = excluded.recipe_hash, "
                    "status = 'pending', existed = excluded.existed, error = NULL, "
                    "exit_code = NULL, bytes = NULL, mtime_ns = NULL, sha256 = NULL",
                    (key, json.dumps(list(job.inputs)), sig, job.kind, digest, existed))
                todo.append(job)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return todo, skipped

    # --- while it runs ----------------------------------------------------------------------

    def started(self, job: Job) -> None:
        self.db.execute("UPDATE files SET status = 'running', attempts = attempts + 1, "
                        "started = ? WHERE output = ?", (time.time(), _key(job.output)))

    def finished(self, job: Job, result: JobResult) -> None:
        key = _key(job.output)
        if result.error is None and result.output is not None:
            self._record_done(key, result)
        else:
            self.db.execute("UPDATE files SET status = 'failed', error = ?, exit_code = ?, "
                            "seconds = ?, finished = ? WHERE output = ?",
                            (result.error, result.exit_code, result.seconds, time.time(), key))

    def _record_done(self, key: str, result: JobResult | None, adopted: bool = False) -> None:
        size, mtime_ns = urls.info(key) or (None, None)
        sha = result.sha256 if result is not None and result.sha256 else urls.digest(key)
        self.db.execute(
            "UPDATE files SET status = 'done', bytes = ?, mtime_ns = ?, sha256 = ?, width = ?, "
            "height = ?, error = NULL, exit_code = 0, seconds = ?, finished = ? "
            "WHERE output = ?",
            (size, mtime_ns, sha,
             result.width if result else None, result.height if result else None,
             result.seconds if result else None, time.time(), key))

    # --- reading ----------------------------------------------------------------------------

    def rows(self) -> list[dict[str, Any]]:
        return _rows(self.db)


def _verified(path: str, size: int | None, mtime_ns: int | None, sha: str | None) -> bool:
    got = urls.info(path)
    if got is None or size is None or got[0] != size or not urls.isfile(path):
        return False
    return (mtime_ns is not None and got[1] == mtime_ns) \
        or (sha is not None and urls.digest(path) == sha)


def _remove_parts(target: str) -> None:
    """Remove the temporary files our writers make for ``target`` (``.NAME.XXXX.part``):
    the journal's lock proves no live batch owns them."""
    if urls.is_remote(target):
        urls.remove_parts(target)
        return
    folder, name = os.path.split(target)
    for part in glob.glob(os.path.join(glob.escape(folder), f".{glob.escape(name)}.*.part")):
        try:
            if os.path.isfile(part) and not os.path.islink(part):
                os.unlink(part)
        except OSError:
            pass


def _rows(db: sqlite3.Connection) -> list[dict[str, Any]]:
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM files ORDER BY output")]
    finally:
        db.row_factory = None


def _now_text() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def read_status(path: str | os.PathLike) -> dict[str, Any]:
    """Counts per status, the failures and the command of the journal at ``path`` (read
    without taking the batch's lock: a running batch's journal can be watched)."""
    path = Path(path)
    if not path.is_file():
        raise UsageError("no such journal" if not path.exists() else "is not a file",
                         path=str(path))
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
        try:
            rows = _rows(db)
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"not a redframe journal ({exc})", path=str(path)) from None
    counts = {s: 0 for s in STATUSES}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    failures = [{"input": json.loads(r["inputs"])[0], "output": r["output"],
                 "error": r["error"], "exit_code": r["exit_code"], "attempts": r["attempts"]}
                for r in rows if r["status"] == "failed"]
    done = [r for r in rows if r["status"] == "done"]
    pixels = sum((r["width"] or 0) * (r["height"] or 0) for r in done)
    seconds = sum(r["seconds"] or 0 for r in done)
    command = json.loads(meta["command"]) if "command" in meta else None
    return {"journal": str(path), "total": len(rows), **counts, "failures": failures,
            "bytes": sum(r["bytes"] or 0 for r in done), "megapixels": round(pixels / 1e6, 2),
            "cpu_seconds": round(seconds, 2), "command": command,
            "redframe": meta.get("redframe"), "created": meta.get("created")}


def consistent(path: str | os.PathLike) -> list[str]:
    """What is wrong with the journal at ``path`` against the files (empty: nothing): done
    outputs missing or changed, outputs recorded twice."""
    problems = []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = _rows(db)
    finally:
        db.close()
    seen: set[str] = set()
    for r in rows:
        if r["output"].lower() in seen:
            problems.append(f"{r['output']}: recorded twice")
        seen.add(r["output"].lower())
        if r["status"] == "done" and not _verified(r["output"], r["bytes"], None, r["sha256"]):
            problems.append(f"{r['output']}: recorded done but missing or changed")
    return problems


def statuses(path: str | os.PathLike) -> Iterable[tuple[str, str]]:
    """(output, status) for every row (tests and tools)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return list(db.execute("SELECT output, status FROM files ORDER BY output"))
    finally:
        db.close()
