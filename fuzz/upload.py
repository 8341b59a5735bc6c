"""Target ``upload``: ``POST /api/captures`` of the camera app (FastAPI, through
``fastapi.testclient.TestClient``, workers not started so nothing is developed).

Input: one byte choosing the Content-Type header (the right boundary, none, another, quoted,
a charset after it, not multipart, empty), then the request body as sent. Every response
must be JSON with a status below 500, and nothing may be left in the data folder's ``tmp/``.
Seeds: well-formed bodies: one JPEG, one PNG with every text field, a WebP burst of 2,
bursts with too many frames, bad fields and an empty part."""

from __future__ import annotations

import json
import logging
import shutil

from fuzz.harness import Target, scratch
from fuzz.seeds import pictures

INSTRUMENT = ("redframe", "python_multipart", "multipart")  # top-level packages
BOUNDARY = b"fuzzb0undary"
HEADERS = (
    "multipart/form-data; boundary=fuzzb0undary",
    "multipart/form-data",
    "multipart/form-data; boundary=other",
    'multipart/form-data; boundary="fuzzb0undary"',
    "multipart/form-data; boundary=fuzzb0undary; charset=utf-8",
    "text/plain",
    "",
    "multipart/form-data; boundary=",
)
#: a fresh app (and data folder) every this many executions: the store only grows
RESET_EVERY = 500


def _client(state: dict):
    for name in ("multipart", "python_multipart"):  # it logs every malformed body
        logging.getLogger(name).setLevel(logging.CRITICAL)
    from fastapi.testclient import TestClient

    from redframe.app import create_app

    if state.get("n", 0) % RESET_EVERY == 0:
        if "dir" in state:
            shutil.rmtree(state["dir"], ignore_errors=True)
        state["dir"] = scratch() / f"app{state.get('n', 0)}"
        app = create_app(state["dir"], start_workers=False)
        state["client"] = TestClient(app)
    state["n"] = state.get("n", 0) + 1
    return state["client"]


def one(data: bytes) -> None:
    if not data:
        return
    client = _client(TARGET.state)
    ctype = HEADERS[data[0] % len(HEADERS)]
    headers = {"content-type": ctype} if ctype else {}
    r = client.post("/api/captures", content=data[1:], headers=headers)
    assert r.status_code < 500, (r.status_code, r.text[:300])
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    json.loads(r.text)
    tmp = TARGET.state["dir"] / "tmp"
    left = list(tmp.iterdir()) if tmp.exists() else []
    assert not left, f"left in tmp/: {left}"


def body(parts: list[tuple[str, bytes, str | None, str | None]]) -> bytes:
    """A multipart body: (name, content, filename, content type) per part."""
    out = b""
    for name, content, filename, ctype in parts:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += b"--" + BOUNDARY + b"\r\nContent-Disposition: " + disp.encode() + b"\r\n"
        if ctype:
            out += b"Content-Type: " + ctype.encode() + b"\r\n"
        out += b"\r\n" + content + b"\r\n"
    return out + b"--" + BOUNDARY + b"--\r\n"


def seeds() -> list[bytes]:
    pics = pictures()
    jpg, png, webp = pics["a.jpg"], pics["a.png"], pics["a.webp"]
    meta = json.dumps({"taken": "2024-05-01T10:20:30", "device": "Pixel 8", "model": "x",
                       "location": {"lat": 52.5, "lon": 13.4, "alt": 34},
                       "exposure_time": 0.01, "iso": 100, "width": 16, "height": 12}).encode()
    bodies = [
        body([("file", jpg, "a.jpg", "image/jpeg")]),
        body([("file", png, "a.png", "image/png"), ("look", b"neutral", None, None),
              ("frame", b"classic", None, None), ("mode", b"photo", None, None),
              ("meta", meta, None, None), ("client_id", b"client-0001", None, None)]),
        body([("frames", webp, "0.webp", "image/webp"), ("frames", webp, "1.webp", "image/webp"),
              ("mode", b"night", None, None)]),
        body([("frames", jpg, f"{i}.jpg", "image/jpeg") for i in range(3)]
             + [("file", jpg, "x.jpg", "image/jpeg")]),
        body([("file", b"", "e.jpg", "image/jpeg"), ("look", b"nope", None, None)]),
        body([("file", pics["a.gif"], "a.gif", "image/gif"), ("meta", b"[1, 2]", None, None)]),
    ]
    return [bytes([i % 3]) + b for i, b in enumerate(bodies)]


TARGET = Target("upload", one, seeds, tokens=(
    b"--fuzzb0undary", b"--fuzzb0undary--", b"\r\n", b"\r\n\r\n", b"Content-Disposition: ",
    b"form-data; name=\"file\"", b"; filename=\"", b"name=\"frames\"", b"name=\"meta\"",
    b"name=\"look\"", b"name=\"mode\"", b"Content-Type: image/jpeg", b"filename*=utf-8''",
    b"{\"taken\": \"", b"{\"location\": {\"lat\": ", b"[" * 64, b"1e999", b"NaN", b"Infinity",
), max_len=128 * 1024)
