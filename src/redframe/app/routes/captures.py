"""The captures: upload (a photo, a burst; HDR and lens character options), the gallery,
one capture, develop again, delete, and the files (render, thumbnail, original, download).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from redframe.app.context import AppContext
from redframe.app.security import BodyTooLarge
from redframe.app.uploads import UploadRefused, clean_capture_info, receive
from redframe.io.thumbnail import write_thumbnail

_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_FIELDS = ("look", "frame", "mode", "meta", "client_id", "hdr", "character")


def _flag(value: str | None, name: str) -> bool:
    if value in (None, "", "0", "false", "off"):
        return False
    if value in ("1", "true", "on"):
        return True
    raise HTTPException(422, f"{name} must be 1 or 0")


def router(ctx: AppContext) -> APIRouter:
    r = APIRouter()
    store, pool, limits = ctx.store, ctx.pool, ctx.limits

    @r.post("/api/captures", status_code=201)
    async def upload(request: Request):
        ctype = request.headers.get("content-type", "")
        if not ctype.lower().startswith("multipart/form-data"):
            raise HTTPException(415, "send multipart/form-data with a 'file' part "
                                "(or 'frames' parts for a burst)")
        try:
            form = await request.form(max_files=limits.max_burst + 1, max_fields=16)
        except BodyTooLarge:
            raise HTTPException(413, f"upload larger than {limits.max_request_bytes >> 20} "
                                "MiB") from None
        except HTTPException:
            raise
        except Exception as exc:  # noqa: BLE001 - malformed multipart
            raise HTTPException(422, f"malformed upload ({exc})") from None
        try:
            files = [f for f in form.getlist("file") if isinstance(f, UploadFile)]
            frames = [f for f in form.getlist("frames") if isinstance(f, UploadFile)]
            if files and frames or len(files) > 1:
                raise HTTPException(422, "send one 'file', or 'frames' for a burst")
            if not files and not frames:
                raise HTTPException(422, "no picture: send a 'file' part")
            if frames and not limits.min_burst <= len(frames) <= limits.max_burst:
                raise HTTPException(422, f"a burst has {limits.min_burst} to "
                                    f"{limits.max_burst} frames")
            fields = {}
            for key in _FIELDS:
                value = form.get(key)
                if value is not None and not isinstance(value, str):
                    raise HTTPException(422, f"{key} must be a text field")
                fields[key] = value
            mode = fields["mode"] or ("night" if frames else "photo")
            look, frame = ctx.check_choice(fields["look"], fields["frame"], mode)
            options = {}
            if _flag(fields["hdr"], "hdr"):
                options["hdr"] = True
            character = ctx.check_character(fields["character"])
            if character:
                options["character"] = character
            try:
                info = clean_capture_info(fields["meta"], limits.max_meta_bytes)
            except ValueError as exc:
                raise HTTPException(422, str(exc)) from None
            client_id = fields["client_id"]
            if client_id is not None and not _CLIENT_ID.match(client_id):
                raise HTTPException(422, "client_id must be 8-64 letters, digits, - or _")
            uploads = frames or files
            try:
                paths, formats, sizes = await run_in_threadpool(receive, uploads, store.tmp,
                                                                limits)
            except UploadRefused as exc:
                raise HTTPException(exc.status, exc.message) from None
            cap, created = await run_in_threadpool(
                lambda: store.add(kind="burst" if frames else "photo", mode=mode, look=look,
                                  frame=frame, files=paths, formats=formats, sizes=sizes,
                                  client_id=client_id, capture=info, options=options))
        finally:
            await form.close()
        if created:
            pool.wake()
        return JSONResponse(ctx.item(cap), status_code=201 if created else 200)

    @r.get("/api/captures")
    def list_captures(limit: int = Query(60, ge=1, le=500), before: float | None = None):
        caps = store.list(limit, before)
        return {"items": [ctx.item(c) for c in caps], "counts": store.counts()}

    @r.get("/api/captures/{cid}")
    def get_capture(cid: str):
        return ctx.item(ctx.get_or_404(cid))

    @r.delete("/api/captures/{cid}", status_code=204)
    def delete_capture(cid: str):
        ctx.get_or_404(cid)
        if not store.delete(cid):
            raise HTTPException(404, "no such capture")
        return Response(status_code=204)

    @r.post("/api/captures/{cid}/process", status_code=202)
    async def reprocess(cid: str, request: Request):
        cap = await run_in_threadpool(ctx.get_or_404, cid)
        try:
            body = await request.json()
        except Exception:  # noqa: BLE001
            raise HTTPException(422, "send a JSON object with look and frame") from None
        if not isinstance(body, dict):
            raise HTTPException(422, "send a JSON object with look and frame")
        mode = body.get("mode", cap.mode)
        look, frame = ctx.check_choice(body.get("look"), body.get("frame", cap.frame), mode)
        options = dict(cap.options)
        if "character" in body:
            character = body["character"]
            if character is not None and not isinstance(character, str):
                raise HTTPException(422, "character must be a name or null")
            character = ctx.check_character(character)
            if character:
                options["character"] = character
            else:
                options.pop("character", None)
        if "hdr" in body:
            if not isinstance(body["hdr"], bool):
                raise HTTPException(422, "hdr must be true or false")
            options["hdr"] = body["hdr"]
        updated = await run_in_threadpool(store.requeue, cid, look=look, frame=frame, mode=mode,
                                          options=options)
        if updated is None:
            raise HTTPException(409, "this capture is still being processed")
        pool.wake()
        return JSONResponse(ctx.item(updated), status_code=202)

    def file_response(path: Path, media: str, *, name: str | None = None,
                      cache: bool = True) -> FileResponse:
        headers = {"Cache-Control": "private, max-age=31536000" if cache else "no-cache"}
        if not path.is_file():
            raise HTTPException(404, "file not found")
        if name:
            return FileResponse(path, media_type=media, filename=name, headers=headers)
        return FileResponse(path, media_type=media, headers=headers)

    @r.get("/api/captures/{cid}/image")
    def image(cid: str):
        """The render: for an HDR capture the Ultra HDR JPEG itself (SDR base + gain map),
        which Chromium shows as HDR on an HDR screen and as the SDR base elsewhere."""
        cap = ctx.get_or_404(cid)
        if cap.state != "done":
            raise HTTPException(409, f"not developed yet ({cap.state})")
        return file_response(store.render_path(cid), "image/jpeg")

    @r.get("/api/captures/{cid}/thumb")
    def thumb(cid: str):
        cap = ctx.get_or_404(cid)
        path = store.thumb_path(cid)
        if cap.state != "done" or not path.is_file():
            path = store.thumb_path(cid, "original")
            if not path.is_file():
                try:
                    write_thumbnail(store.original_path(cap), path)
                except Exception:  # noqa: BLE001
                    raise HTTPException(404, "no thumbnail for this capture") from None
                if store.get(cid) is None:  # deleted while we made it: leave nothing behind
                    path.unlink(missing_ok=True)
                    raise HTTPException(404, "no such capture")
        return file_response(path, "image/jpeg")

    def _original(cap, index: int) -> tuple[Path, str]:
        try:
            path = store.original_path(cap, index)
        except IndexError:
            raise HTTPException(404, "no such frame") from None
        kind = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
        return path, kind[path.suffix[1:]]

    @r.get("/api/captures/{cid}/original")
    def original(cid: str, frame: int = Query(0, ge=0, le=99)):
        cap = ctx.get_or_404(cid)
        path, media = _original(cap, frame)
        return file_response(path, media)

    @r.get("/api/captures/{cid}/download")
    def download(cid: str):
        cap = ctx.get_or_404(cid)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(cap.created))
        if cap.state == "done":
            return file_response(store.render_path(cid), "image/jpeg",
                                 name=f"redframe-{stamp}.jpg", cache=False)
        path, media = _original(cap, 0)
        return file_response(path, media, name=f"redframe-{stamp}-original{path.suffix}",
                             cache=False)

    return r
