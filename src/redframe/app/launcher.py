"""`serve`: run the camera with uvicorn, and tell the user how to reach it.

- Bound to localhost (the default): no token, and the server answers only to localhost
  Host names (DNS-rebinding guard).
- Bound beyond localhost (``host="0.0.0.0"``): a one-time access token is made for this
  run; the link carrying it is printed, with a QR code in the terminal (when the small
  pure-Python ``segno`` package is installed) for a phone to scan.
- ``https=True``: a self-signed certificate (:mod:`redframe.app.tls`), since phones give
  the camera only to secure contexts.
"""

from __future__ import annotations

import errno
import socket
import sys
import threading
import webbrowser
from pathlib import Path
from typing import TextIO

from redframe.app.security import LOOPBACK_HOSTS, new_token
from redframe.app.server import create_app, default_data_dir
from redframe.app.tls import ensure_certificate, fingerprint
from redframe.errors import UsageError

__all__ = ["serve", "lan_addresses", "qr_text", "access_urls"]


def lan_addresses() -> list[str]:
    """This machine's LAN IPv4 address(es) (the one routing outward; nothing is sent)."""
    found = []
    for probe in ("10.254.254.254", "192.168.254.254"):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect((probe, 9))
                ip = s.getsockname()[0]
        except OSError:
            continue
        if ip and not ip.startswith("127.") and ip not in found:
            found.append(ip)
    return found


def qr_text(data: str) -> str | None:
    """``data`` as a QR code drawn with Unicode half blocks (light modules as blocks, for
    dark terminals), or None when ``segno`` is not installed."""
    try:
        import segno
    except ImportError:
        return None
    qr = segno.make(data, error="m", micro=False)
    border = 2
    size = len(qr.matrix) + 2 * border
    dark = [[False] * size for _ in range(size)]
    for y, row in enumerate(qr.matrix):
        for x, v in enumerate(row):
            dark[y + border][x + border] = bool(v)
    if size % 2:
        dark.append([False] * size)
    lines = []
    for y in range(0, len(dark), 2):
        top, bottom = dark[y], dark[y + 1]
        lines.append("".join(
            {(False, False): "\u2588", (False, True): "\u2580", (True, False): "\u2584",
             (True, True): " "}[(t, b)] for t, b in zip(top, bottom, strict=True)))
    return "\n".join(lines)


def _is_loopback(host: str) -> bool:
    return host.strip("[]") in ("127.0.0.1", "localhost", "::1")


def access_urls(host: str, port: int, https: bool, token: str | None) -> list[str]:
    """The addresses to open, the LAN ones first when bound beyond localhost."""
    scheme = "https" if https else "http"
    suffix = f"/?token={token}" if token else "/"
    if _is_loopback(host):
        shown = "[::1]" if host.strip("[]") == "::1" else host
        return [f"{scheme}://{shown}:{port}{suffix}"]
    hosts = lan_addresses() if host in ("0.0.0.0", "::", "") else [host]
    return [f"{scheme}://{h}:{port}{suffix}" for h in hosts] + [
        f"{scheme}://127.0.0.1:{port}{suffix}"]


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host.strip("[]"), port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} is already in use; try --port {port + 1}") from None
        if exc.errno in (errno.EADDRNOTAVAIL, socket.EAI_NONAME):
            raise UsageError(f"cannot listen on {host}: not an address of this machine") \
                from None
        raise UsageError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None


def serve(host: str = "127.0.0.1", port: int = 8000, data_dir: str | Path | None = None,
          https: bool = False, open_browser: bool = False, *, token: str | None = None,
          workers: int = 1, executor: str = "thread", log_level: str = "warning",
          out: TextIO | None = None) -> None:
    """Run the camera until interrupted (Ctrl-C); see the module docstring.

    Raises :class:`UsageError` when the extra is missing, the port is taken or the
    address is not this machine's.
    """
    try:
        import uvicorn
    except ImportError:
        raise UsageError("the camera app needs its extra: pip install 'redframe[app]'") \
            from None

    out = out or sys.stdout
    if not 1 <= int(port) <= 65535:
        raise UsageError(f"port must be 1-65535, not {port}")
    loopback = _is_loopback(host)
    if not loopback:
        token = token or new_token()
    data = Path(data_dir).expanduser() if data_dir else default_data_dir()
    _check_port(host, port)
    ssl = {}
    if https:
        names = [socket.gethostname(), *lan_addresses()] if not loopback else []
        if not loopback and host not in ("0.0.0.0", "::"):
            names.append(host)
        cert, key = ensure_certificate(data / "tls", names)
        ssl = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    app = create_app(data, token, allowed_hosts=list(LOOPBACK_HOSTS) if loopback else None,
                     workers=workers, executor=executor, secure_cookie=https)
    urls = access_urls(host, port, https, token)

    say = lambda text="": print(text, file=out, flush=True)  # noqa: E731
    say(f"redframe camera: {urls[0]}")
    for extra in urls[1:]:
        say(f"              also {extra}")
    say(f"photos are kept in {data}")
    if token:
        say(f"access token for this run: {token} (the links above carry it; keep it private)")
        picture = qr_text(urls[0])
        if picture:
            say("scan with the phone's camera:")
            say(picture)
    if https:
        say(f"self-signed certificate, SHA-256 {fingerprint(ssl['ssl_certfile'])}")
        say("the browser warns once about it: check the fingerprint, then continue")
    elif not loopback:
        say("note: phones give the camera only to https pages; add --https")
    say("press Ctrl-C to stop")
    if open_browser:
        local = access_urls("127.0.0.1", port, https, token)[0]
        threading.Timer(1.0, webbrowser.open, args=[local]).start()
    config = uvicorn.Config(app, host=host.strip("[]"), port=int(port), log_level=log_level,
                            access_log=False, lifespan="on", timeout_graceful_shutdown=3,
                            server_header=False, **ssl)
    uvicorn.Server(config).run()
