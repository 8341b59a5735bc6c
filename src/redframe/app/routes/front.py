"""The shipped front end: ``/``, ``/static/...``, the web manifest (ETag, no-cache)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from redframe.app.context import AppContext


def router(ctx: AppContext) -> APIRouter:
    r = APIRouter()

    def static_response(name: str, request: Request):
        found = ctx.static.get(name)
        if found is None:
            raise HTTPException(404, "not found")
        data, kind, etag = found
        headers = {"ETag": f'"{etag}"', "Cache-Control": "no-cache"}
        if request.headers.get("if-none-match") == f'"{etag}"':
            return Response(status_code=304, headers=headers)
        return Response(data, media_type=kind, headers=headers)

    @r.get("/", include_in_schema=False)
    async def index(request: Request):
        return static_response("index.html", request)

    @r.get("/street", include_in_schema=False)
    async def street(request: Request):  # quick launch: the camera opens in street mode
        return static_response("index.html", request)

    @r.get("/static/{name:path}", include_in_schema=False)
    async def static_file(name: str, request: Request):
        return static_response(name, request)

    @r.get("/manifest.webmanifest", include_in_schema=False)
    async def manifest(request: Request):
        return static_response("manifest.webmanifest", request)

    return r
