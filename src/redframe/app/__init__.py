"""The web camera: ``redframe serve`` turns a phone or laptop browser into the camera.

Public API (FastAPI, uvicorn, python-multipart and cryptography come with the ``app``
extra; importing this package does not need them: they are imported when a server is
made or started, and a missing extra is a one-line error):

- :func:`create_app` -> an ASGI app (API + front end) over a data folder;
- :func:`serve` -> run it with uvicorn (localhost by default; beyond it with an access
  token and, with ``https=True``, a self-signed certificate);
- :func:`default_data_dir`.

See ``docs/app.md``.
"""

from __future__ import annotations

from redframe.app.launcher import serve
from redframe.app.server import Limits, create_app, default_data_dir

__all__ = ["create_app", "serve", "default_data_dir", "Limits"]
