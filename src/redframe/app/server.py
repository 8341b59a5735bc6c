"""`create_app`: the camera's HTTP API and front end (FastAPI).

API (JSON unless said otherwise; every capture is addressed by its id, never by a path):

=========================================  ===================================================
``GET /``                                  the camera (static front end, shipped in the package)
``GET /api/health``                        liveness and queue length (answered on the loop)
``GET /api/config``                        looks, frames, modes, lens characters, limits
``GET /api/looks/{name}/lut.cube``         the look as a 3D LUT for the preview (``?size=33``)
``GET /api/sounds/{name}.wav``             a shutter sound (``?seed=N``; ``exposure=1/60``)
``GET /api/frames/{name}/preview.jpg``     a frame around a sample picture (frame picker)
``POST /api/captures``                     multipart: ``file`` (a photo) or ``frames`` (a
                                           burst), ``look``, ``frame``, ``mode``, ``hdr``,
                                           ``character``, ``meta`` (JSON: taken, device,
                                           model, location, zoom, focus distance...)
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

The routes live by concern in :mod:`redframe.app.routes` (``front``: the shipped files;
``media``: config, LUTs, frames, sounds, characters; ``captures``); they share an
:class:`redframe.app.context.AppContext`. This module assembles them behind the
:class:`redframe.app.security.Gate`.
"""


import contextlib
import hashlib
import mimetypes
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from redframe import __version__
from redframe.app.context import HDR_FRAMES, MODES, NIGHT_FRAMES, AppContext
from redframe.app.security import Gate
from redframe.app.store import Store
from redframe.app.uploads import camera_label, clean_capture_info
from redframe.app.worker import Workers
from redframe.errors import UsageError
from redframe.frame import list_layouts

__all__ = ["create_app", "Limits", "default_data_dir", "MODES", "NIGHT_FRAMES", "HDR_FRAMES",
           "camera_label", "clean_capture_info"]


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
        from fastapi import FastAPI
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise UsageError(f"the camera app needs its extra: pip install 'redframe[app]' "
                         f"({exc.name} is missing)") from None
    from redframe.app.routes import captures, front, media

    limits = limits or Limits()
    store = Store(data_dir if data_dir is not None else default_data_dir())
    pool = Workers(store, threads=workers, executor=executor)
    ctx = AppContext(store=store, pool=pool, limits=limits, token=token,
                     layouts=list_layouts(), static=_static_files())

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
    app.state.context = ctx
    for module in (front, media, captures):
        app.include_router(module.router(ctx))

    gate = Gate(app, token=token, allowed_hosts=allowed_hosts,
                max_body=limits.max_request_bytes, secure_cookie=secure_cookie)
    gate.state = app.state  # the store, the workers, the token, the limits
    gate.fastapi = app
    return gate
