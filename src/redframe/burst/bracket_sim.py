"""Test oracle of the HDR bracket merge: a 16 EV scene and a handheld exposure bracket of it.

:func:`scene_16ev` is a neutral radiance map (CIE XYZ, Y = 1 white) with every region
textured so detail can be measured: a deep shadow at 2^-10 of mid-grey, a mid-grey
surround, a bright sky/window at 2^6 of mid-grey and a sun (clipped in every frame).
:func:`simulate_bracket` captures it as frames of different exposure times with
:func:`redframe.sim.sensor.simulate_raw` (shot + read noise, 14-bit ADC, clipping), each
frame from its own handheld pose (translation + rotation, warped in linear light before
mosaicing, as :mod:`redframe.burst.simulate` does) and with a textured disc moving between
frames; the truth in every frame's coordinates is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from redframe.io.scene import Scene
from redframe.sim.sensor import simulate_raw

__all__ = ["scene_16ev", "simulate_bracket", "Bracket", "MID_GREY"]

MID_GREY = 0.18
_WHITE = np.array([0.9505, 1.0, 1.089])


def _texture(h: int, w: int, period: float, seed: int) -> np.ndarray:
    """A smooth random texture of +-~25 % (log2 std ~0.25), features of ``period`` px."""
    rng = np.random.default_rng(seed)
    small = rng.standard_normal((max(2, int(h / period) + 2), max(2, int(w / period) + 2)))
    t = cv2.resize(small.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return np.exp2(0.35 * t / max(float(t.std()), 1e-6)).astype(np.float64)


def scene_16ev(shape: tuple[int, int] = (192, 256), seed: int = 0):
    """(XYZ (H, W, 3), Y (H, W), regions {name: (rows, cols) slices}): left third deep
    shadow (2^-10 mid-grey), middle mid-grey, right third sky (2^6), a sun disc (2^12) in
    the sky's top corner. The regions name interiors away from the borders."""
    h, w = shape
    y = np.full(shape, MID_GREY)
    a, b = w // 3, 2 * w // 3
    y[:, :a] = MID_GREY * 2.0 ** -10
    y[:, b:] = MID_GREY * 2.0 ** 6
    y *= _texture(h, w, 10.0, seed)
    yy, xx = np.mgrid[0:h, 0:w]
    sun = (yy - h * 0.15) ** 2 + (xx - w * 0.9) ** 2 < (0.05 * h) ** 2
    y[sun] = MID_GREY * 2.0 ** 12
    m = max(8, h // 12)
    regions = {
        "shadow": (slice(m, h - m), slice(m, a - m)),
        "mid": (slice(m, h - m), slice(a + m, b - m)),
        "sky": (slice(h // 3, h - m), slice(b + m, w - m)),
        "border": (slice(m, h - m), slice(a + m, w - m)),  # mid | sky, the edge at b
    }
    return y[..., None] * _WHITE, y, regions


@dataclass
class Bracket:
    frames: list[Scene]
    exposures: list[float]
    poses: list[np.ndarray]
    truth: list[np.ndarray]  # per frame: Y of the scene in that frame's coordinates
    object_alpha: list[np.ndarray]  # per frame: the moving disc's coverage


def _pose(rng, shape, translation, rotation) -> np.ndarray:
    h, w = shape
    c = np.array([(w - 1) / 2, (h - 1) / 2])
    t = rng.uniform(-translation, translation, 2)
    a = np.radians(rng.uniform(-rotation, rotation))
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return np.hstack([r, (c - r @ c + t)[:, None]])


def _warp(img: np.ndarray, pose: np.ndarray, shape) -> np.ndarray:
    return cv2.warpAffine(img.astype(np.float32), pose, (shape[1], shape[0]),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT_101)


def simulate_bracket(xyz: np.ndarray, exposures=(1 / 16, 1 / 2, 4.0, 32.0), *,
                     base: float = 0.5, iso: float = 50.0, translation: float = 4.0,
                     rotation: float = 0.3, moving: bool = True, seed: int = 0) -> Bracket:
    """Frames of ``xyz`` at ``base * exposures[i]`` (exposure time 1/60 s x that factor),
    each from its own pose; a textured disc crosses the mid-grey area when ``moving``."""
    rng = np.random.default_rng(seed)
    h, w = xyz.shape[:2]
    frames, poses, truth, alphas = [], [], [], []
    n = len(exposures)
    yy, xx = np.mgrid[0:h, 0:w]
    disc_tex = _texture(h, w, 6.0, seed + 99) * MID_GREY * 2
    for i, e in enumerate(exposures):
        pose = np.array([[1.0, 0, 0], [0, 1.0, 0]]) if i == n // 2 else \
            _pose(rng, (h, w), translation, rotation)
        scene = xyz.copy()
        alpha = np.zeros((h, w), np.float32)
        if moving:
            cx = w * 0.42 + (i - (n - 1) / 2) * w * 0.05
            cy = h * 0.5
            alpha = ((yy - cy) ** 2 + (xx - cx) ** 2 < (0.1 * h) ** 2).astype(np.float32)
            scene = scene * (1 - alpha[..., None]) + (disc_tex[..., None] * _WHITE) * \
                alpha[..., None]
        warped = _warp(scene, pose, (h, w))
        raw, _ = simulate_raw(warped, iso=iso, exposure=base * e, seed=seed * 100 + i)
        raw.meta.exposure_time = e / 60.0
        frames.append(raw)
        poses.append(pose)
        truth.append(_warp(scene[..., 1], pose, (h, w)))
        alphas.append(_warp(alpha, pose, (h, w)))
    return Bracket(frames, [float(v) for v in exposures], poses, truth, alphas)
