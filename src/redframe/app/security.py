"""The gate in front of every request (a plain ASGI middleware, cheap on every call).

- **Access token** (when the server listens beyond localhost): every request must carry it,
  as ``Authorization: Bearer TOKEN``, the ``redframe_token`` cookie, or ``?token=TOKEN``.
  A page opened with ``?token=`` (the printed link / QR code) gets the cookie and is
  redirected to the same address without the token, so it does not linger in the history.
  Tokens are compared in constant time.
- **Host check** (when bound to localhost): only ``localhost``-style Host headers, which
  defeats DNS rebinding (a web page making its own name resolve to 127.0.0.1).
- **Cross-site writes**: a POST/PUT/PATCH/DELETE whose ``Origin`` is not this server is
  refused, so another site open in the same browser cannot upload or delete.
- **Body size**: ``Content-Length`` above the limit is refused before reading; a chunked
  body is counted as it arrives and cut off at the limit (413).
- **Headers**: a strict Content-Security-Policy (everything from this server, nothing
  inline), ``nosniff``, no referrer, no framing, camera/location for this origin only.
"""

from __future__ import annotations

import json
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, quote, urlencode

__all__ = ["Gate", "BodyTooLarge", "COOKIE", "LOOPBACK_HOSTS", "new_token"]

COOKIE = "redframe_token"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")

_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
     b"media-src 'self' blob: mediastream:; connect-src 'self'; worker-src 'self' blob:; "
     b"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(self), microphone=(), geolocation=(self)"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def new_token() -> str:
    """A fresh access token (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


class BodyTooLarge(Exception):
    """Raised from ``receive`` when a body passes the limit (endpoints turn it into 413)."""


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Gate:
    """ASGI middleware; see the module docstring."""

    def __init__(self, app, *, token: str | None = None, allowed_hosts=None,
                 max_body: int = 200 << 20, secure_cookie: bool = False):
        self.app = app
        self.token = token.encode() if token else None
        self.allowed_hosts = (None if allowed_hosts is None
                              else {_host_name(h) for h in allowed_hosts})
        self.max_body = int(max_body)
        self.secure_cookie = secure_cookie

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            return await self.app(scope, receive, send)
        headers = {}
        for k, v in scope.get("headers", []):
            headers.setdefault(k.decode("latin-1").lower(), v.decode("latin-1"))
        method = scope["method"]
        host = headers.get("host", "")
        if self.allowed_hosts is not None and _host_name(host) not in self.allowed_hosts:
            return await _reply(send, 403, "this server only answers to localhost")
        if method in _UNSAFE:
            origin = headers.get("origin")
            if origin is not None and origin.split("://", 1)[-1].lower() != host.lower():
                return await _reply(send, 403, "cross-site request refused")
        set_cookie = None
        if self.token is not None:
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            given = self._given(headers, query)
            if given is None or not secrets.compare_digest(given.encode(), self.token):
                return await _reply(send, 401, "access token required: open the link "
                                    "that `redframe serve` printed")
            if "token" in query:
                set_cookie = self._cookie()
                if method == "GET" and not scope["path"].startswith("/api/"):
                    rest = urlencode([(k, v) for k, v in query.items() if k != "token"])
                    location = "/" + quote(scope["path"].lstrip("/")) + (f"?{rest}" if rest else "")
                    return await _redirect(send, location, set_cookie)
        length = headers.get("content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_body
            except ValueError:
                return await _reply(send, 400, "bad Content-Length")
            if too_big:
                return await _reply(send, 413, f"upload larger than {self.max_body >> 20} MiB")

        received = 0
        started = False

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge
            return message

        async def guarded_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                extra = list(_HEADERS)
                if set_cookie:
                    extra.append((b"set-cookie", set_cookie.encode("latin-1")))
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            if not started:
                await _reply(send, 413, f"upload larger than {self.max_body >> 20} MiB")

    def _given(self, headers: dict[str, str], query: dict[str, str]) -> str | None:
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        if "token" in query:
            return query["token"]
        cookie = headers.get("cookie")
        if cookie:
            jar = SimpleCookie()
            try:
                jar.load(cookie)
            except Exception:  # noqa: BLE001 - a malformed cookie header: no token
                return None
            if COOKIE in jar:
                return jar[COOKIE].value
        return None

    def _cookie(self) -> str:
        value = self.token.decode()
        attrs = "Path=/; HttpOnly; SameSite=Lax; Max-Age=2592000"
        return f"{COOKIE}={value}; {attrs}" + ("; Secure" if self.secure_cookie else "")


async def _reply(send, status: int, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *_HEADERS]})
    await send({"type": "http.response.body", "body": body})


async def _redirect(send, location: str, cookie: str) -> None:
    await send({"type": "http.response.start", "status": 303,
                "headers": [(b"location", location.encode("latin-1")),
                            (b"set-cookie", cookie.encode("latin-1")),
                            (b"content-length", b"0"), *_HEADERS]})
    await send({"type": "http.response.body", "body": b""})
