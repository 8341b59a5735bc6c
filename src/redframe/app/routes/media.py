"""Configuration and media: health, ``/api/config``, look LUTs, frame previews, shutter
sounds and the lens characters' preview parameters."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from functools import lru_cache

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from redframe import __version__
from redframe.app import integrations
from redframe.app.context import HDR_FRAMES, MODES, NIGHT_FRAMES, AppContext
from redframe.frame import render_frame
from redframe.io.metadata import Metadata
from redframe.sound import EXPORTS, SOUNDS, sound_wav


def frame_preview(layout: str) -> bytes:
    """A small JPEG of ``layout`` around a sample picture, for the frame picker."""
    import datetime as dt
    import io

    import numpy as np
    from PIL import Image

    h, w = 300, 400
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    k = np.clip(y / (0.66 * h), 0, 1)[..., None]  # dusk: deep blue sky to amber horizon
    sky = np.array([0.14, 0.2, 0.42]) * (1 - k) + np.array([0.98, 0.64, 0.4]) * k
    glow = np.exp(-np.hypot(x - 0.66 * w, y - 0.6 * h) / (0.12 * w))[..., None]
    sky = sky + np.array([0.5, 0.35, 0.2]) * glow
    hill = (y > h * (0.6 + 0.06 * np.sin(x / w * 6.0 + 1)))[..., None]
    photo = np.where(hill, np.array([0.19, 0.15, 0.24]), sky)
    photo = (np.clip(photo, 0, 1) * 255).astype(np.uint8)
    meta = Metadata(lens="Back Camera", datetime=dt.datetime(2025, 6, 21, 19, 42),
                    focal_length=6.0, focal_length_35mm=26, f_number=1.8,
                    exposure_time=1 / 120, iso=50)
    framed = render_frame(photo, meta, layout)
    buf = io.BytesIO()
    Image.fromarray(framed).save(buf, format="JPEG", quality=88)
    return buf.getvalue()


def router(ctx: AppContext) -> APIRouter:
    r = APIRouter()
    pool, limits, store = ctx.pool, ctx.limits, ctx.store

    @r.get("/api/health")
    async def health():
        return {"ok": True, "version": __version__, "pending": pool.pending,
                "busy": pool.busy, "processed": pool.processed, "failed": pool.failed}

    @r.get("/api/config")
    def config():
        return {
            "version": __version__,
            "looks": [asdict(i) for i in integrations.available_looks()],
            "default_look": {m: ctx.default_look(m) for m in MODES},
            "frames": ["none", *ctx.layouts],
            "modes": list(MODES),
            "night": {"frames": NIGHT_FRAMES, "merge": True},
            "hdr": {"frames": HDR_FRAMES, "format": "ultrahdr-jpeg"},
            "characters": integrations.available_characters(),
            "sounds": list(SOUNDS),
            "limits": asdict(limits),
            "secure_token": ctx.token is not None,
        }

    @r.get("/api/characters")
    def characters():
        return integrations.available_characters()

    @lru_cache(maxsize=32)
    def cached_preview(name: str) -> bytes:
        return frame_preview(name)

    @r.get("/api/frames/{name}/preview.jpg")
    def frame_picture(name: str):
        if name not in ctx.layouts:
            raise HTTPException(404, "no such frame")
        return Response(cached_preview(name), media_type="image/jpeg",
                        headers={"Cache-Control": "private, max-age=86400"})

    @r.get("/api/looks")
    def looks():
        return [asdict(i) for i in integrations.available_looks()]

    @r.get("/api/looks/{name}/lut.cube")
    def look_lut(name: str, request: Request, size: int = Query(33)):
        if name not in ctx.look_names():
            raise HTTPException(404, "no such look")
        if size not in integrations.LUT_SIZES:
            raise HTTPException(422, f"size must be one of {integrations.LUT_SIZES}")
        data = integrations.look_cube(name, size, store.root / "cache")
        etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(data, media_type="text/plain; charset=utf-8", headers=headers)

    @r.get("/api/sounds")
    def sounds():
        return {"sounds": list(SOUNDS), "exports": list(EXPORTS)}

    @lru_cache(maxsize=64)
    def cached_sound(name: str, seed: int, exposure: float | None) -> bytes:
        params = {"exposure_time": exposure} if exposure is not None else {}
        return sound_wav(name, seed=seed, **params)

    @r.get("/api/sounds/{name}.wav")
    def sound(name: str, seed: int = Query(0, ge=0, le=1023),
              exposure: str | None = Query(None, max_length=16)):
        if name not in SOUNDS:
            raise HTTPException(404, "no such sound")
        t = None
        if exposure is not None:
            if name != "rangefinder":
                raise HTTPException(422, "only the rangefinder follows the exposure time")
            try:
                num, _, den = exposure.partition("/")
                t = float(num) / float(den) if den else float(num)
            except (ValueError, ZeroDivisionError):
                raise HTTPException(422, "exposure must be seconds, e.g. 0.01 or 1/60") from None
            if not (1e-5 <= t <= 60):
                raise HTTPException(422, "exposure must be between 1/100000 and 60 s")
        return Response(cached_sound(name, seed, t), media_type="audio/wav",
                        headers={"Cache-Control": "public, max-age=86400"})

    return r
