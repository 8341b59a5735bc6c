"""The bounded pool that develops captures, off the event loop.

``threads`` worker threads each claim the oldest pending capture from the store, develop it
(:func:`redframe.app.processing.render_capture`, a job of the one job runner) and record
the outcome. Work is queued in the database, not in memory, so the queue is bounded by the
disk, survives a restart, and an upload only has to wake a worker up.

``executor="process"`` runs each development in a process pool of the same size: compiled
kernels and decoders that hold the GIL then cannot slow the server down, and a decoder
that crashes takes down only its worker process (the capture is marked as an error).
``"thread"`` develops in the worker threads themselves (less memory, no start-up cost).
"""

from __future__ import annotations

import logging
import multiprocessing
import re
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from redframe.app.integrations import available_looks
from redframe.app.processing import CaptureJob, render_capture, write_thumbnail
from redframe.app.store import Capture, Store
from redframe.errors import RedframeError

__all__ = ["Workers"]

log = logging.getLogger("redframe.app")


class Workers:
    """Start with :meth:`start`, nudge with :meth:`wake` after an upload, end with :meth:`stop`."""

    def __init__(self, store: Store, *, threads: int = 1, executor: str = "thread"):
        if executor not in ("thread", "process"):
            raise ValueError(f"executor must be 'thread' or 'process', not {executor!r}")
        if threads < 1:
            raise ValueError(f"threads must be >= 1, not {threads!r}")
        self.store = store
        self.threads = threads
        self.executor = executor
        self._cond = threading.Condition()
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._pool: ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self.busy = 0
        self.processed = 0
        self.failed = 0
        self.pending = 0
        self.recovered: dict[str, int] = {}

    def start(self) -> None:
        self.recovered = self.store.recover(available_looks()[0].name)
        self.pending = self.recovered.get("pending", 0)
        if self.recovered.get("resumed") or self.recovered.get("adopted"):
            log.warning("resuming %d interrupted capture(s)", self.pending)
        for i in range(self.threads):
            t = threading.Thread(target=self._loop, name=f"redframe-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def wake(self) -> None:
        with self._cond:
            self.pending += 1
            self._cond.notify()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    @property
    def alive(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    # --- the loop ---------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
            try:
                cap = self.store.claim()
            except Exception:  # noqa: BLE001 - e.g. the database closed on shutdown
                log.exception("cannot claim work")
                cap = None
            if cap is None:
                with self._cond:
                    if self._stopping:
                        return
                    self.pending = 0
                    self._cond.wait(timeout=2.0)
                continue
            with self._cond:
                self.busy += 1
            try:
                self._process(cap)
            finally:
                with self._cond:
                    self.busy -= 1
                    self.pending = max(0, self.pending - 1)

    def _job(self, cap: Capture) -> CaptureJob:
        if cap.kind == "burst":
            originals = [str(p) for p in self.store.burst_frames(cap)]
        else:
            originals = [str(self.store.original_path(cap))]
        return CaptureJob(id=cap.id, kind=cap.kind, originals=originals, look=cap.look,
                   frame=cap.frame, render_path=str(self.store.render_path(cap.id)),
                   thumb_path=str(self.store.thumb_path(cap.id)), capture=cap.capture,
                   hdr=bool(cap.options.get("hdr")), character=cap.options.get("character"))

    def _run(self, job: CaptureJob) -> dict:
        if self.executor == "thread":
            return render_capture(job)
        with self._pool_lock:
            if self._pool is None:
                ctx = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(self.threads, mp_context=ctx)
            pool = self._pool
        try:
            return pool.submit(render_capture, job).result()
        except BrokenProcessPool:
            with self._pool_lock:
                if self._pool is pool:
                    self._pool = None
            raise

    def _process(self, cap: Capture) -> None:
        if not cap.look:  # adopted after a crash: the default look
            cap.look = available_looks()[0].name
        job = self._job(cap)
        try:
            if not job.originals:
                raise RedframeError("the original is missing")
            result = self._run(job)
        except RedframeError as exc:
            self._failed(cap, exc.message if exc.path else str(exc))
            return
        except BrokenProcessPool:
            self._failed(cap, "processing crashed (the original is kept)")
            return
        except MemoryError:
            self._failed(cap, "out of memory while processing (the original is kept)")
            return
        except Exception as exc:  # noqa: BLE001 - a bug: keep the capture, say what happened
            log.exception("processing %s failed", cap.id)
            lines = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()
            first = lines[0] if lines else ""
            self._failed(cap, f"internal error {type(exc).__name__}: {first}"[:300])
            return
        ok = self.store.finish(cap.id, render=f"{cap.id}.jpg", width=result["width"],
                               height=result["height"], merged=result["merged"],
                               notes=result["notes"])
        if ok:
            self.processed += 1
        else:  # deleted while we worked: leave nothing behind
            self.store.render_path(cap.id).unlink(missing_ok=True)
            self.store.thumb_path(cap.id).unlink(missing_ok=True)

    def _failed(self, cap: Capture, message: str) -> None:
        self.failed += 1
        log.warning("capture %s: %s", cap.id, message)
        self.store.fail(cap.id, message)
        try:  # a thumbnail of the original, so the gallery still shows it
            write_thumbnail(self.store.original_path(cap), self.store.thumb_path(cap.id,
                                                                                  "original"))
        except Exception:  # noqa: BLE001 - undecodable originals have no thumbnail
            pass
