"""Synthetic test clips: a moving test pattern, colour patches and a tone, made with PyAV.

For the tests, the benchmark and the docs (nothing is downloaded). :func:`make_clip`
writes an 8-bit BT.709 SDR clip or a 10-bit BT.2100 HLG one (Rec.2020, tagged as a phone
tags it), with a 1 kHz sine as AAC, optional variable frame rate, rotation and the
QuickTime tags a phone writes (device, date, location).

The picture (:func:`pattern`): a colour checker's 24 patches (sRGB values of the
ColorChecker Classic as in colour-science's ``ColorChecker24 - After November 2014``,
rounded), a grey ramp, and a bright bar sweeping across: enough motion that every frame
differs and the encoder works as on footage.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from redframe.color.encodings import ENCODINGS
from redframe.video.kernel import MATRICES, Signal, rgb_to_yuv
from redframe.video.probe import require_av

__all__ = ["make_clip", "pattern", "PATCHES"]

#: ColorChecker Classic patches, sRGB 8-bit (row by row)
PATCHES = np.array([
    [115, 82, 68], [194, 150, 130], [98, 122, 157], [87, 108, 67], [133, 128, 177],
    [103, 189, 170], [214, 126, 44], [80, 91, 166], [193, 90, 99], [94, 60, 108],
    [157, 188, 64], [224, 163, 46], [56, 61, 150], [70, 148, 73], [175, 54, 60],
    [231, 199, 31], [187, 86, 149], [8, 133, 161], [243, 243, 242], [200, 200, 200],
    [160, 160, 160], [122, 122, 121], [85, 85, 85], [52, 52, 52]], np.float64) / 255.0


def pattern(width: int, height: int, t: float) -> np.ndarray:
    """Display-referred R'G'B' in [0, 1] (height, width, 3) at time ``t`` seconds."""
    img = np.empty((height, width, 3), np.float64)
    x = (np.arange(width) + 0.5) / width
    y = (np.arange(height) + 0.5) / height
    # background: a slow colour gradient drifting with time
    img[..., 0] = 0.25 + 0.2 * np.sin(2 * np.pi * (x[None, :] + 0.1 * t))
    img[..., 1] = 0.3 + 0.15 * np.cos(2 * np.pi * (y[:, None] + 0.05 * t))
    img[..., 2] = 0.35 + 0.1 * np.sin(2 * np.pi * (x[None, :] * y[:, None] + 0.2 * t))
    # patches: 6 x 4 in the middle 60 % of the frame
    x0, x1, y0, y1 = int(0.2 * width), int(0.8 * width), int(0.15 * height), int(0.65 * height)
    cw, ch = (x1 - x0) // 6, (y1 - y0) // 4
    g = max(1, cw // 12)
    for k, rgb in enumerate(PATCHES):
        r, c = divmod(k, 6)
        img[y0 + r * ch + g:y0 + (r + 1) * ch - g, x0 + c * cw + g:x0 + (c + 1) * cw - g] = rgb
    # a grey ramp along the bottom
    img[int(0.75 * height):int(0.9 * height)] = x[None, :, None]
    # a bright bar sweeping across
    pos = int((t * 0.5 % 1.0) * width)
    img[:, pos:pos + max(2, width // 40)] = (0.95, 0.9, 0.8)
    return np.clip(img, 0.0, 1.0)


def _hlg_codes(display: np.ndarray) -> np.ndarray:
    """An SDR pattern as an HLG clip would hold it: sRGB display light taken as scene
    light (white 1.0 = HLG reference white), Rec.709 -> Rec.2020, HLG-encoded; the sweeping
    bar is made 3x brighter (a highlight above reference white)."""
    srgb, hlg = ENCODINGS["srgb"], ENCODINGS["hlg"]
    lin = srgb.decode(display.astype(np.float32)).astype(np.float64)
    lin = lin @ srgb.to_2020.T
    bright = (display[..., 0] > 0.94) & (display[..., 2] > 0.79) & (display[..., 2] < 0.81)
    lin[bright] *= 3.0
    return hlg.encode(lin)


def make_clip(path, *, width: int = 320, height: int = 180, seconds: float = 0.5,
              fps: int = 30, hdr: bool = False, codec: str | None = None, audio: bool = True,
              vfr: bool = False, rotation: int = 0, tags: dict | None = None,
              container: str | None = None) -> dict:
    """Write a clip; returns what was written (frames, pts, sample count...)."""
    av = require_av()
    codec = codec or ("libx265" if hdr else "libx264")
    bits = 10 if hdr else 8
    fmt = "yuv420p10le" if hdr else "yuv420p"
    sig = Signal(bits, False, MATRICES[9] if hdr else MATRICES[1])
    out = av.open(str(path), "w", format=container, options={"movflags": "use_metadata_tags"})
    for k, v in (tags or {}).items():
        out.metadata[k] = v
    tb = Fraction(1, 90000 if vfr else fps * 100)
    vs = out.add_stream(codec, rate=fps)
    vs.width, vs.height, vs.pix_fmt = width, height, fmt
    vs.time_base = tb
    cc = vs.codec_context
    cc.time_base = tb
    if hdr:
        cc.color_primaries, cc.color_trc, cc.colorspace = 9, 18, 9
    else:
        cc.color_primaries, cc.color_trc, cc.colorspace = 1, 1, 1
    cc.color_range = 1
    cc.options = {"preset": "ultrafast", "crf": "16"} | (
        {"x265-params": "log-level=error"} if codec == "libx265" else {})
    if rotation:
        vs.set_display_rotation(rotation)
    a_s = None
    if audio:
        a_s = out.add_stream("aac", rate=48000, layout="mono")
    n = max(1, round(seconds * fps))
    rng = np.random.default_rng(7)
    pts_list = []
    t_pts = 0
    for i in range(n):
        t = i / fps
        img = pattern(width, height, t)
        codes = _hlg_codes(img) if hdr else img
        y, u, v = rgb_to_yuv(codes, sig)
        u = u.reshape(height // 2, 2, width // 2, 2).mean((1, 3))
        v = v.reshape(height // 2, 2, width // 2, 2).mean((1, 3))
        frame = av.VideoFrame(width, height, fmt)
        dt = np.uint16 if hdr else np.uint8
        for plane, data in zip(frame.planes, (y, u, v), strict=True):
            buf = np.frombuffer(plane, dt).reshape(plane.height, -1)
            buf[:, : plane.width] = np.clip(np.round(data), 0, (1 << bits) - 1).astype(dt)
        frame.pts = t_pts
        frame.time_base = tb
        frame.colorspace = sig.matrix is MATRICES[9] and 9 or 1
        frame.color_range = 1
        pts_list.append(t_pts)
        if vfr:  # 1/fps, with every third frame held 1.5x as long
            step = (1.5 if i % 3 == 2 else 1.0) / fps
            t_pts += int(round(step * 90000 + rng.integers(-30, 30)))
        else:
            t_pts += int(round(1 / fps / tb))
        for p in vs.encode(frame):
            out.mux(p)
    for p in vs.encode(None):
        out.mux(p)
    samples = 0
    if a_s is not None:
        total = int(round(t_pts * float(tb) * 48000))
        chunk = 1024
        for start in range(0, total, chunk):
            m = min(chunk, total - start)
            s = np.arange(start, start + m) / 48000.0
            tone = (0.25 * np.sin(2 * np.pi * 1000.0 * s)).astype(np.float32)[None, :]
            af = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
            af.sample_rate = 48000
            af.pts = start
            samples += m
            for p in a_s.encode(af):
                out.mux(p)
        for p in a_s.encode(None):
            out.mux(p)
    out.close()
    return {"frames": n, "pts": pts_list, "time_base": tb, "samples": samples,
            "width": width, "height": height, "bits": bits}
