"""The web camera: ``redframe serve`` turns a phone or laptop browser into the camera.

Public API (FastAPI, uvicorn, python-multipart and cryptography come with the ``app``
extra; importing this package does not need them):

- :func:`create_app` -> an ASGI app (API + front end) over a data folder;
- :func:`serve` -> run it with uvicorn (localhost by default; beyond it with an access
  token and, with ``https=True``, a self-signed certificate);
- :func:`default_data_dir`.

See ``docs/app.md``.
"""

from __future__ import annotations

__all__ = ["create_app", "serve", "default_data_dir", "Limits"]


def __getattr__(name: str):
    if name in ("create_app", "default_data_dir", "Limits"):
        from redframe.app import server

        return getattr(server, name)
    if name == "serve":
        from redframe.app.launcher import serve

        return serve
    raise AttributeError(f"module 'redframe.app' has no attribute {name!r}")
