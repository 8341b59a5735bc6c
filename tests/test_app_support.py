"""Helpers for the camera app tests (no tests here): pictures, a live server, a fake camera."""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from pathlib import Path

import numpy as np

ARTIFACTS = Path(__file__).parent / "artifacts" / "app"
DOCS_IMG = Path(__file__).parents[1] / "docs" / "img" / "app"
CHROMIUM = Path("/usr/bin/chromium")


def picture_bytes(w: int = 64, h: int = 48, fmt: str = "JPEG", seed: int = 0) -> bytes:
    """A small picture (smooth colours plus a little noise) encoded as ``fmt``."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([x / w, y / h, 0.5 + 0.3 * np.sin(x / 7)], -1) * 220 + 20
    img += rng.normal(0, 4, img.shape)
    buf = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(app, port: int | None = None):
    """Serve ``app`` with uvicorn on 127.0.0.1 in a thread; yields the base URL."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def wait_state(client, cid: str, states=("done", "error"), timeout: float = 60.0) -> dict:
    """Poll a capture until it reaches one of ``states``."""
    deadline = time.monotonic() + timeout
    while True:
        item = client.get(f"/api/captures/{cid}").json()
        if item["state"] in states:
            return item
        if time.monotonic() > deadline:
            raise TimeoutError(f"capture {cid} stayed {item['state']}")
        time.sleep(0.05)


# --- a fake camera: a synthetic dusk landscape as a Y4M video ------------------------------

def landscape(w: int, h: int) -> np.ndarray:
    """A synthetic dusk landscape (sRGB uint8): sky, sun glow, hazy ridges, a lake, a shore."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = x / w, y / h
    horizon = 0.58
    top, mid, low = (np.array(c, np.float32) for c in ((0.10, 0.16, 0.34), (0.52, 0.44, 0.55),
                                                       (1.0, 0.62, 0.33)))

    def sky_at(k):
        k = np.clip(k, 0, 1)[..., None]
        return np.where(k < 0.6, top + (mid - top) * (k / 0.6),
                        mid + (low - mid) * ((k - 0.6) / 0.4))

    sx, sy = 0.66, horizon - 0.07
    sky = sky_at(v / horizon)
    d = np.sqrt(((u - sx) * w / h) ** 2 + (v - sy) ** 2)[..., None]
    img = sky + np.array([1.0, 0.72, 0.42]) * 0.55 * np.exp(-d / 0.12) + np.where(d < 0.035, 1.2, 0)
    for base, amp, col in ((0.50, 0.05, (0.38, 0.30, 0.42)), (0.54, 0.06, (0.22, 0.18, 0.28)),
                           (0.575, 0.045, (0.10, 0.09, 0.13))):
        ph = rng.uniform(0, 6, 3)
        ridge = base - amp * (0.6 * np.sin(u * 7 + ph[0]) + 0.3 * np.sin(u * 19 + ph[1])
                              + 0.12 * np.sin(u * 53 + ph[2]))
        a = np.clip((v - ridge) * h / 1.5, 0, 1)[..., None]
        img = img * (1 - a) + np.array(col) * a
    depth = np.clip(v - horizon, 0, 1)
    mirror = np.clip(2 * horizon - v, 0, 1)
    streaks = np.convolve(rng.normal(0, 1, h), np.ones(3) / 3, mode="same")[:, None]
    wobble = np.sin(u * 60 * (1 + 6 * depth) + streaks * 3)
    ripple = (1 + 0.05 * streaks + 0.04 * wobble * np.clip(depth * 8, 0, 1))[..., None]
    dd = np.sqrt(((u - sx) * w / h * 2.5) ** 2 + (mirror - sy) ** 2)[..., None]
    water = (sky_at(mirror / horizon) * (0.55 - 0.5 * depth[..., None]) * ripple
             + np.array([1.0, 0.7, 0.4]) * 0.5 * np.exp(-dd / 0.08) * ripple)
    img = np.where((v > horizon)[..., None], water, img)
    shore = 0.9 - 0.04 * np.sin(u * 5 + 1) - 0.02 * np.sin(u * 17)
    a = np.clip((v - shore) * h / 2, 0, 1)[..., None]
    img = img * (1 - a) + np.array([0.16, 0.13, 0.14]) * a
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def camera_frames(w: int, h: int, n: int = 10, seed: int = 0) -> list[np.ndarray]:
    """``n`` frames of the landscape with a slight handheld drift and fresh sensor noise."""
    pad = 8
    base = landscape(w + 2 * pad, h + 2 * pad).astype(np.float32)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        dx = int(round(pad + 3 * np.sin(i / n * 2 * np.pi)))
        dy = int(round(pad + 2 * np.cos(i / n * 2 * np.pi)))
        crop = base[dy : dy + h, dx : dx + w] + rng.normal(0, 3.0, (h, w, 3))
        out.append(np.clip(crop + 0.5, 0, 255).astype(np.uint8))
    return out


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 15) -> Path:
    """A YUV4MPEG2 4:2:0 video (full-range BT.601, as Chromium's fake capture reads it)."""
    h, w = frames[0].shape[:2]
    with open(path, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for f in frames:
            rgb = f.astype(np.float32)
            yy = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
            cb = -0.168736 * rgb[..., 0] - 0.331264 * rgb[..., 1] + 0.5 * rgb[..., 2] + 128
            cr = 0.5 * rgb[..., 0] - 0.418688 * rgb[..., 1] - 0.081312 * rgb[..., 2] + 128
            fh.write(b"FRAME\n")
            for plane in (yy, cb, cr):
                if plane is not yy:
                    plane = plane.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
                fh.write(np.clip(plane + 0.5, 0, 255).astype(np.uint8).tobytes())
    return path
