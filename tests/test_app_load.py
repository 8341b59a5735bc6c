"""Load: 50 concurrent uploads from a bounded client on loopback, against a real uvicorn.

Every capture must be stored exactly once (retries with the same client id included) and
the server must stay responsive meanwhile: health p99 under 200 ms.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import numpy as np
from test_app_support import picture_bytes, running_server

from redframe.app import create_app

UPLOADS = 50
CONCURRENCY = 10  # the bounded client: at most this many requests in flight


async def _load(base: str) -> tuple[list[dict], list[float], float]:
    pictures = [picture_bytes(640, 480, seed=i) for i in range(UPLOADS)]
    limits = httpx.Limits(max_connections=CONCURRENCY + 2, max_keepalive_connections=CONCURRENCY)
    gate = asyncio.Semaphore(CONCURRENCY)
    latencies: list[float] = []
    done = asyncio.Event()
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

        async def upload(i: int, client_id: str) -> dict:
            async with gate:
                r = await client.post("/api/captures", files={"file": (f"{i}.jpg", pictures[i])},
                                      data={"client_id": client_id, "look": "", "frame": "classic",
                                            "meta": json.dumps({"device": "load test"})})
                assert r.status_code in (200, 201), r.text
                return r.json()

        async def probe() -> None:
            async with httpx.AsyncClient(base_url=base, timeout=10) as own:
                while not done.is_set():
                    t0 = time.perf_counter()
                    r = await own.get("/api/health")
                    latencies.append(time.perf_counter() - t0)
                    assert r.status_code == 200
                    await asyncio.sleep(0.01)

        prober = asyncio.create_task(probe())
        t0 = time.perf_counter()
        ids = [f"load-{i:04d}-client" for i in range(UPLOADS)]
        # five of them are sent twice (a client retrying after a lost response)
        jobs = [upload(i, ids[i]) for i in range(UPLOADS)] + [upload(i, ids[i]) for i in range(5)]
        results = await asyncio.gather(*jobs)
        # keep probing while the workers develop the backlog
        while True:
            r = await client.get("/api/health")
            if r.json()["pending"] == 0 and r.json()["busy"] == 0:
                break
            await asyncio.sleep(0.1)
        elapsed = time.perf_counter() - t0
        done.set()
        await prober
    return results, latencies, elapsed


def test_fifty_concurrent_uploads_stored_once_and_health_stays_fast(tmp_path):
    app = create_app(tmp_path / "data", workers=1, executor="thread")
    store = app.state.store
    with running_server(app) as base:
        results, latencies, elapsed = asyncio.run(_load(base))
        p99 = float(np.percentile(latencies, 99)) * 1000
        print(f"\n{UPLOADS} uploads (+5 retries), {CONCURRENCY} in flight: all developed in "
              f"{elapsed:.1f} s; health p50 {np.percentile(latencies, 50) * 1000:.1f} ms, "
              f"p99 {p99:.1f} ms, max {max(latencies) * 1000:.1f} ms over {len(latencies)} probes")
        assert p99 < 200, f"health p99 {p99:.0f} ms"
    ids = {r["id"] for r in results}
    assert len(ids) == UPLOADS  # the retries got the first record back
    caps = store.list(limit=1000)
    assert len(caps) == UPLOADS
    assert len({c.client_id for c in caps}) == UPLOADS
    assert {c.state for c in caps} == {"done"}
    originals = list((store.root / "originals").iterdir())
    renders = list((store.root / "renders").iterdir())
    assert len(originals) == UPLOADS and len(renders) == UPLOADS
    assert not list((store.root / "tmp").iterdir())
