"""`create_app`: the camera's HTTP API and front end (FastAPI).

API (JSON unless said otherwise; every capture is addressed by its id, never by a path):

=========================================  ===================================================
``GET /``                                  the camera (static front end, shipped in the package)
``GET /api/health``                        liveness and queue length (answered on the loop)
``GET /api/config``                        looks, frames, modes, limits, night merge available
``GET /api/looks/{name}/lut.cube``         the look as a 3D LUT for the preview (``?size=33``)
``GET /api/sounds/{name}.wav``             a shutter sound (``?seed=N``; ``exposure=1/60``)
``GET /api/frames/{name}/preview.jpg``     a frame around a sample picture (frame picker)
``POST /api/captures``                     multipart: ``file`` (a photo) or ``frames`` (a
                                           burst), ``look``, ``frame``, ``mode``, ``meta`` (JSON:
                                           client_id, taken, device, model, location...)
``GET /api/captures``                      the gallery, newest first (``?limit=&before=``)
``GET|DELETE /api/captures/{id}``          one capture / delete it
``POST /api/captures/{id}/process``        develop again with ``{"look", "frame"}``
``GET /api/captures/{id}/image|thumb``     the render / its thumbnail
``GET /api/captures/{id}/original``        what the browser sent (``?frame=N`` for bursts)
``GET /api/captures/{id}/download``        the render (or the original) as an attachment
=========================================  ===================================================

Uploads are content-sniffed (JPEG, PNG, WebP; the declared type and name are ignored),
limited in bytes and pixels, written to disk and fsynced, then recorded ``pending``; a
worker pool (:mod:`redframe.app.worker`) develops them off the event loop.
"""


import contextlib
import hashlib
import json
import math
import mimetypes
import os
import re
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from redframe import __version__
from redframe.app import integrations
from redframe.app.security import BodyTooLarge, Gate
from redframe.app.store import EXTENSIONS, Store, new_id, valid_id
from redframe.app.worker import Workers
from redframe.errors import UsageError
from redframe.frame import list_layouts, render_frame
from redframe.io.decode import sniff
from redframe.io.metadata import Metadata, clean_text
from redframe.io.thumbnail import write_thumbnail
from redframe.sound import EXPORTS, SOUNDS, sound_wav

__all__ = ["create_app", "Limits", "default_data_dir", "MODES", "NIGHT_FRAMES"]

MODES = ("photo", "night", "mono")
#: frames the front end captures for a night shot
NIGHT_FRAMES = 8

_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True)
class Limits:
    """What one upload may be."""

    max_file_bytes: int = 32 << 20  # one photo or burst frame
    max_request_bytes: int = 160 << 20  # the whole request (a burst)
    max_pixels: int = 50_000_000  # per image, from its header, before decoding
    #: per request (a night burst), from the headers, before decoding: 8 frames of 12 MP
    max_request_pixels: int = 100_000_000
    max_burst: int = 16
    min_burst: int = 2
    max_meta_bytes: int = 8192


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/redframe``, else ``~/.local/share/redframe``."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                            "share")
    return Path(base) / "redframe"


def _static_files() -> dict[str, tuple[bytes, str, str]]:
    """name -> (bytes, media type, etag) of the shipped front end, read once."""
    out: dict[str, tuple[bytes, str, str]] = {}
    root = resources.files("redframe.app") / "static"

    def walk(node, prefix: str) -> None:
        for child in node.iterdir():
            name = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, f"{name}/")
            elif not child.name.startswith("."):
                data = child.read_bytes()
                kind = {".js": "text/javascript", ".webmanifest": "application/manifest+json",
                        ".svg": "image/svg+xml", ".css": "text/css",
                        ".html": "text/html"}.get(Path(name).suffix)
                kind = kind or mimetypes.guess_type(name)[0] or "application/octet-stream"
                if kind.startswith("text/") or kind.endswith(("json", "xml")):
                    kind += "; charset=utf-8"
                out[name] = (data, kind, hashlib.sha1(data).hexdigest()[:16])

    if root.is_dir():
        walk(root, "")
    fonts = resources.files("redframe.frame") / "fonts"  # the frames' Inter, for the UI too
    for name in ("Inter-Light.otf", "Inter-Regular.otf", "Inter-Bold.otf", "Inter-OFL.txt"):
        node = fonts / name
        if node.is_file():
            data = node.read_bytes()
            kind = "font/otf" if name.endswith(".otf") else "text/plain; charset=utf-8"
            out[f"fonts/{name}"] = (data, kind, hashlib.sha1(data).hexdigest()[:16])
    return out


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


def _number(value: Any, lo: float, hi: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) and lo <= value <= hi else None


def camera_label(text: str) -> str | None:
    """A camera's label as a person would write it: Android's "camera2 0, facing back" ->
    "Back camera", USB ids dropped; labels that are paths (virtual cameras) are dropped."""
    label = clean_text(text, 64)
    if not label or "/" in label or "\\" in label:
        return None
    m = re.fullmatch(r"camera2? \d+, facing (back|front)", label, re.IGNORECASE)
    if m:
        return f"{m.group(1).capitalize()} camera"
    label = re.sub(r"\s*\([0-9a-f]{4}:[0-9a-f]{4}\)", "", label, flags=re.IGNORECASE).strip()
    return label or None


def clean_capture_info(raw: str | None, limit: int) -> dict[str, Any]:
    """What the browser said about a capture, checked field by field (bad fields dropped)."""
    if not raw:
        return {}
    if len(raw) > limit:
        raise ValueError(f"meta is larger than {limit} bytes")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"meta is not JSON ({exc.msg})") from None
    except RecursionError:
        raise ValueError("meta is not JSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise ValueError("meta must be a JSON object")
    out: dict[str, Any] = {}
    taken = data.get("taken")
    if isinstance(taken, str) and len(taken) <= 40:
        import datetime as dt

        try:
            dt.datetime.fromisoformat(taken)
            out["taken"] = taken
        except ValueError:
            pass
    if isinstance(data.get("device"), str) and camera_label(data["device"]):
        out["device"] = camera_label(data["device"])
    if isinstance(data.get("model"), str) and clean_text(data["model"], 64):
        out["model"] = clean_text(data["model"], 64)
    loc = data.get("location")
    if isinstance(loc, dict):
        lat, lon = _number(loc.get("lat"), -90, 90), _number(loc.get("lon"), -180, 180)
        if lat is not None and lon is not None:
            out["location"] = {"lat": lat, "lon": lon,
                               "alt": _number(loc.get("alt"), -12000, 20000)}
    for key, lo, hi in (("exposure_time", 1e-6, 60.0), ("iso", 1, 409600),
                        ("width", 1, 100000), ("height", 1, 100000)):
        v = _number(data.get(key), lo, hi)
        if v is not None:
            out[key] = int(v) if key in ("width", "height") else v
    return out


def create_app(data_dir: str | os.PathLike | None = None, token: str | None = None, *,
               allowed_hosts: list[str] | None = None, workers: int = 1,
               executor: str = "thread", limits: Limits | None = None,
               secure_cookie: bool = False, start_workers: bool = True):
    """The camera app (an ASGI application).

    Parameters
    ----------
    data_dir : where captures live (default :func:`default_data_dir`); created if needed.
    token : when given, every request must carry it (see :mod:`redframe.app.security`).
    allowed_hosts : Host header names to answer (None: any); ``serve`` passes the
        localhost names when bound to localhost, against DNS rebinding.
    workers, executor : size and kind (``"thread"`` / ``"process"``) of the pool that
        develops captures.
    limits : upload limits (:class:`Limits`).
    secure_cookie : mark the token cookie ``Secure`` (served over https).
    start_workers : False keeps uploads pending (tests of restart recovery).
    """
    try:
        from fastapi import FastAPI, HTTPException, Query, Request
        from fastapi.responses import FileResponse, JSONResponse, Response
        from starlette.concurrency import run_in_threadpool
        from starlette.datastructures import UploadFile
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise UsageError(f"the camera app needs its extra: pip install 'redframe[app]' "
                         f"({exc.name} is missing)") from None

    limits = limits or Limits()
    store = Store(data_dir if data_dir is not None else default_data_dir())
    pool = Workers(store, threads=workers, executor=executor)
    static = _static_files()
    layouts = list_layouts()

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if start_workers:
            pool.start()
        try:
            yield
        finally:
            pool.stop()

    app = FastAPI(title="redframe camera", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store
    app.state.workers = pool
    app.state.token = token
    app.state.limits = limits

    # --- helpers ------------------------------------------------------------------------------

    def look_names() -> list[str]:
        return [info.name for info in integrations.available_looks()]

    def default_look(mode: str) -> str:
        infos = integrations.available_looks()
        if mode != "mono" and any(i.name == "authentic" for i in infos):
            return "authentic"  # the signature rendering, when the looks module has it
        for info in infos:
            if info.mono == (mode == "mono"):
                return info.name
        return infos[0].name

    def item(cap) -> dict[str, Any]:
        base = f"/api/captures/{cap.id}"
        v = int(cap.updated * 1000)
        done = cap.state == "done"
        return {
            "id": cap.id, "created": cap.created, "updated": cap.updated,
            "taken": cap.capture.get("taken"), "kind": cap.kind, "mode": cap.mode,
            "look": cap.look, "frame": cap.frame, "state": cap.state, "error": cap.error,
            "frames": cap.frames, "merged": cap.merged, "format": cap.format,
            "width": cap.render_width if done else cap.width,
            "height": cap.render_height if done else cap.height,
            "device": cap.capture.get("device"), "located": "location" in cap.capture,
            "notes": cap.notes,
            "urls": {"thumb": f"{base}/thumb?v={v}",
                     "image": f"{base}/image?v={v}" if done else None,
                     "original": f"{base}/original", "download": f"{base}/download"},
        }

    def get_or_404(cid: str):
        cap = store.get(cid) if valid_id(cid) else None
        if cap is None:
            raise HTTPException(404, "no such capture")
        return cap

    def check_choice(look: str | None, frame: str | None, mode: str) -> tuple[str, str | None]:
        if mode not in MODES:
            raise HTTPException(422, f"mode must be one of {', '.join(MODES)}")
        names = look_names()
        look = look or default_look(mode)
        if look not in names:
            raise HTTPException(422, f"unknown look; known: {', '.join(names)}")
        if frame in (None, "", "none"):
            frame = None
        elif frame not in layouts:
            raise HTTPException(422, f"unknown frame; known: none, {', '.join(layouts)}")
        return look, frame

    def receive(uploads: list, tmp: Path) -> tuple[list[Path], list[str], list[tuple]]:
        """Copy uploads to fsynced files in tmp, checking size, content and pixel count."""
        from PIL import Image

        paths, formats, sizes = [], [], []
        try:
            for up in uploads:
                path = tmp / f"{new_id()}.part"
                paths.append(path)
                size = 0
                head = b""
                with open(path, "wb") as out:
                    up.file.seek(0)
                    while chunk := up.file.read(1 << 20):
                        size += len(chunk)
                        if size > limits.max_file_bytes:
                            raise HTTPException(413, f"a picture is larger than "
                                                f"{limits.max_file_bytes >> 20} MiB")
                        if len(head) < 64:
                            head += chunk[: 64 - len(head)]
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
                if size == 0:
                    raise HTTPException(422, "empty picture")
                kind = sniff(head)
                if kind not in EXTENSIONS:
                    found = kind.upper() if kind else "not a picture"
                    raise HTTPException(415, f"send JPEG, PNG or WebP (this is {found})")
                try:
                    with Image.open(path) as im:
                        w, h = im.size
                except Image.DecompressionBombError:
                    raise HTTPException(413, "too many pixels") from None
                except Exception:  # noqa: BLE001 - unreadable header
                    raise HTTPException(422, f"cannot read this {kind.upper()}") from None
                if w * h > limits.max_pixels:
                    raise HTTPException(413, f"{w}x{h} is more than "
                                        f"{limits.max_pixels / 1e6:.0f} MP")
                if sum(a * b for a, b in sizes) + w * h > limits.max_request_pixels:
                    raise HTTPException(413, f"the burst is more than "
                                        f"{limits.max_request_pixels / 1e6:.0f} MP in all")
                formats.append(kind)
                sizes.append((w, h))
        except BaseException:
            for p in paths:
                p.unlink(missing_ok=True)
            raise
        return paths, formats, sizes

    # --- front end --------------------------------------------------------------------------

    def static_response(name: str, request: Request):
        found = static.get(name)
        if found is None:
            raise HTTPException(404, "not found")
        data, kind, etag = found
        headers = {"ETag": f'"{etag}"', "Cache-Control": "no-cache"}
        if request.headers.get("if-none-match") == f'"{etag}"':
            return Response(status_code=304, headers=headers)
        return Response(data, media_type=kind, headers=headers)

    @app.get("/", include_in_schema=False)
    async def index(request: Request):
        return static_response("index.html", request)

    @app.get("/static/{name:path}", include_in_schema=False)
    async def static_file(name: str, request: Request):
        return static_response(name, request)

    @app.get("/manifest.webmanifest", include_in_schema=False)
    async def manifest(request: Request):
        return static_response("manifest.webmanifest", request)

    # --- small things ------------------------------------------------------------------------

    @app.get("/api/health")
    async def health():
        return {"ok": True, "version": __version__, "pending": pool.pending,
                "busy": pool.busy, "processed": pool.processed, "failed": pool.failed}

    @app.get("/api/config")
    def config():
        return {
            "version": __version__,
            "looks": [asdict(i) for i in integrations.available_looks()],
            "default_look": {m: default_look(m) for m in MODES},
            "frames": ["none", *layouts],
            "modes": list(MODES),
            "night": {"frames": NIGHT_FRAMES, "merge": True},
            "sounds": list(SOUNDS),
            "limits": asdict(limits),
            "secure_token": token is not None,
        }

    @lru_cache(maxsize=32)
    def cached_preview(name: str) -> bytes:
        return frame_preview(name)

    @app.get("/api/frames/{name}/preview.jpg")
    def frame_picture(name: str):
        if name not in layouts:
            raise HTTPException(404, "no such frame")
        return Response(cached_preview(name), media_type="image/jpeg",
                        headers={"Cache-Control": "private, max-age=86400"})

    @app.get("/api/looks")
    def looks():
        return [asdict(i) for i in integrations.available_looks()]

    @app.get("/api/looks/{name}/lut.cube")
    def look_lut(name: str, request: Request, size: int = Query(33)):
        if name not in look_names():
            raise HTTPException(404, "no such look")
        if size not in integrations.LUT_SIZES:
            raise HTTPException(422, f"size must be one of {integrations.LUT_SIZES}")
        data = integrations.look_cube(name, size, store.root / "cache")
        etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(data, media_type="text/plain; charset=utf-8", headers=headers)

    @app.get("/api/sounds")
    def sounds():
        return {"sounds": list(SOUNDS), "exports": list(EXPORTS)}

    @lru_cache(maxsize=64)
    def cached_sound(name: str, seed: int, exposure: float | None) -> bytes:
        params = {"exposure_time": exposure} if exposure is not None else {}
        return sound_wav(name, seed=seed, **params)

    @app.get("/api/sounds/{name}.wav")
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

    # --- captures ----------------------------------------------------------------------------

    @app.post("/api/captures", status_code=201)
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
            for key in ("look", "frame", "mode", "meta", "client_id"):
                value = form.get(key)
                if value is not None and not isinstance(value, str):
                    raise HTTPException(422, f"{key} must be a text field")
                fields[key] = value
            mode = fields["mode"] or ("night" if frames else "photo")
            look, frame = check_choice(fields["look"], fields["frame"], mode)
            try:
                info = clean_capture_info(fields["meta"], limits.max_meta_bytes)
            except ValueError as exc:
                raise HTTPException(422, str(exc)) from None
            client_id = fields["client_id"]
            if client_id is not None and not _CLIENT_ID.match(client_id):
                raise HTTPException(422, "client_id must be 8-64 letters, digits, - or _")
            uploads = frames or files
            paths, formats, sizes = await run_in_threadpool(receive, uploads, store.tmp)
            cap, created = await run_in_threadpool(
                lambda: store.add(kind="burst" if frames else "photo", mode=mode, look=look,
                                  frame=frame, files=paths, formats=formats, sizes=sizes,
                                  client_id=client_id, capture=info))
        finally:
            await form.close()
        if created:
            pool.wake()
        return JSONResponse(item(cap), status_code=201 if created else 200)

    @app.get("/api/captures")
    def list_captures(limit: int = Query(60, ge=1, le=500), before: float | None = None):
        caps = store.list(limit, before)
        return {"items": [item(c) for c in caps], "counts": store.counts()}

    @app.get("/api/captures/{cid}")
    def get_capture(cid: str):
        return item(get_or_404(cid))

    @app.delete("/api/captures/{cid}", status_code=204)
    def delete_capture(cid: str):
        get_or_404(cid)
        if not store.delete(cid):
            raise HTTPException(404, "no such capture")
        return Response(status_code=204)

    @app.post("/api/captures/{cid}/process", status_code=202)
    async def reprocess(cid: str, request: Request):
        cap = await run_in_threadpool(get_or_404, cid)
        try:
            body = await request.json()
        except Exception:  # noqa: BLE001
            raise HTTPException(422, "send a JSON object with look and frame") from None
        if not isinstance(body, dict):
            raise HTTPException(422, "send a JSON object with look and frame")
        mode = body.get("mode", cap.mode)
        look, frame = check_choice(body.get("look"), body.get("frame", cap.frame), mode)
        updated = await run_in_threadpool(store.requeue, cid, look=look, frame=frame, mode=mode)
        if updated is None:
            raise HTTPException(409, "this capture is still being processed")
        pool.wake()
        return JSONResponse(item(updated), status_code=202)

    def file_response(path: Path, media: str, *, name: str | None = None,
                      cache: bool = True) -> FileResponse:
        headers = {"Cache-Control": "private, max-age=31536000" if cache else "no-cache"}
        if not path.is_file():
            raise HTTPException(404, "file not found")
        if name:
            return FileResponse(path, media_type=media, filename=name, headers=headers)
        return FileResponse(path, media_type=media, headers=headers)

    @app.get("/api/captures/{cid}/image")
    def image(cid: str):
        cap = get_or_404(cid)
        if cap.state != "done":
            raise HTTPException(409, f"not developed yet ({cap.state})")
        return file_response(store.render_path(cid), "image/jpeg")

    @app.get("/api/captures/{cid}/thumb")
    def thumb(cid: str):
        cap = get_or_404(cid)
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

    @app.get("/api/captures/{cid}/original")
    def original(cid: str, frame: int = Query(0, ge=0, le=99)):
        cap = get_or_404(cid)
        path, media = _original(cap, frame)
        return file_response(path, media)

    @app.get("/api/captures/{cid}/download")
    def download(cid: str):
        cap = get_or_404(cid)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(cap.created))
        if cap.state == "done":
            return file_response(store.render_path(cid), "image/jpeg",
                                 name=f"redframe-{stamp}.jpg", cache=False)
        path, media = _original(cap, 0)
        return file_response(path, media, name=f"redframe-{stamp}-original{path.suffix}",
                             cache=False)

    gate = Gate(app, token=token, allowed_hosts=allowed_hosts,
                max_body=limits.max_request_bytes, secure_cookie=secure_cookie)
    gate.state = app.state  # the store, the workers, the token, the limits
    gate.fastapi = app
    return gate
