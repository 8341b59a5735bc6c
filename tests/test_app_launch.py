"""`serve`: localhost by default, a token beyond it, https with a self-signed certificate;
the terminal QR code; the certificate itself; the process-pool executor."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from test_app_support import free_port, picture_bytes, wait_state

from redframe.app import create_app
from redframe.app.launcher import access_urls, qr_text, serve
from redframe.app.tls import ensure_certificate, fingerprint
from redframe.errors import UsageError


def _serve(tmp_path, **kwargs):
    """Start `serve(**kwargs)` in a subprocess; returns (process, banner lines)."""
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    code = f"from redframe.app import serve; serve({args}, data_dir={str(tmp_path / 'data')!r})"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if "Ctrl-C" in line:
            return proc, lines
    proc.kill()
    raise AssertionError("serve did not start:\n" + "\n".join(lines))


def _wait_up(url: str, **kw) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.get(url, timeout=2, **kw)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _stop(proc) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_serve_on_localhost_needs_no_token(tmp_path):
    port = free_port()
    proc, banner = _serve(tmp_path, port=port)
    try:
        assert banner[0] == f"redframe camera: http://127.0.0.1:{port}/"
        assert not any("token" in line for line in banner)
        assert _wait_up(f"http://127.0.0.1:{port}/api/health").status_code == 200
        # answers only to localhost names (DNS rebinding guard)
        r = httpx.get(f"http://127.0.0.1:{port}/api/health", headers={"host": "evil.example"})
        assert r.status_code == 403
        with pytest.raises(UsageError, match="already in use"):
            serve(port=port, data_dir=tmp_path / "other")
    finally:
        _stop(proc)
    assert (tmp_path / "data" / "redframe.sqlite3").is_file()


def test_serve_beyond_localhost_prints_and_requires_a_token_over_https(tmp_path):
    port = free_port()
    proc, banner = _serve(tmp_path, host="0.0.0.0", port=port, https=True)
    try:
        text = "\n".join(banner)
        token = next(line.split("access token for this run: ")[1].split()[0]
                     for line in banner if "access token" in line)
        assert len(token) >= 20
        assert f"https://127.0.0.1:{port}/?token={token}" in text
        assert "SHA-256" in text
        base = f"https://127.0.0.1:{port}"
        assert _wait_up(f"{base}/api/health", verify=False).status_code == 401
        ok = httpx.get(f"{base}/api/health", verify=False,
                       headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
        first = httpx.get(f"{base}/?token={token}", verify=False, follow_redirects=False)
        assert first.status_code == 303 and "Secure" in first.headers["set-cookie"]
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)  # TLS only
    finally:
        _stop(proc)
    cert = tmp_path / "data" / "tls" / "cert.pem"
    assert cert.is_file() and (cert.parent / "key.pem").stat().st_mode & 0o077 == 0


def test_access_urls():
    assert access_urls("127.0.0.1", 8000, False, None) == ["http://127.0.0.1:8000/"]
    urls = access_urls("192.168.1.20", 8443, True, "tok")
    assert urls[0] == "https://192.168.1.20:8443/?token=tok"


def test_qr_code_in_the_terminal_decodes_to_the_link():
    pytest.importorskip("segno")
    import cv2

    url = "https://192.168.1.20:8000/?token=Zx9-abcdefghijklmnop"
    text = qr_text(url)
    rows = text.split("\n")
    assert len({len(r) for r in rows}) == 1
    # back to pixels: each character is two modules stacked; light modules are blocks
    top = {"\u2588": 1, "\u2580": 1, "\u2584": 0, " ": 0}
    bottom = {"\u2588": 1, "\u2580": 0, "\u2584": 1, " ": 0}
    light = np.array([[m[c] for c in r] for r in rows for m in (top, bottom)], np.uint8)
    img = np.kron(light * 255, np.ones((8, 8), np.uint8))
    img = np.pad(img, 32, constant_values=255)
    decoded, _, _ = cv2.QRCodeDetector().detectAndDecode(img)
    assert decoded == url


def test_self_signed_certificate(tmp_path):
    from cryptography import x509

    cert, key = ensure_certificate(tmp_path, ["192.168.1.20", "studio-laptop"])
    c = x509.load_pem_x509_certificate(cert.read_bytes())
    san = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"localhost", "studio-laptop"} <= set(san.get_values_for_type(x509.DNSName))
    assert {str(i) for i in san.get_values_for_type(x509.IPAddress)} >= {"127.0.0.1",
                                                                          "192.168.1.20"}
    assert key.stat().st_mode & 0o077 == 0
    first = fingerprint(cert)
    assert fingerprint(ensure_certificate(tmp_path, ["192.168.1.20"])[0]) == first  # reused
    assert fingerprint(ensure_certificate(tmp_path, ["10.0.0.7"])[0]) != first  # new address


def test_process_pool_executor(tmp_path):
    with TestClient(create_app(tmp_path / "data", executor="process")) as c:
        cid = c.post("/api/captures", files={"file": ("a.jpg", picture_bytes())}).json()["id"]
        assert wait_state(c, cid, timeout=120)["state"] == "done"


def test_port_check_names_the_problem(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(UsageError, match=f"--port {port + 1}"):
            serve(port=port, data_dir=tmp_path)
    with pytest.raises(UsageError, match="port must be"):
        serve(port=0, data_dir=tmp_path)
