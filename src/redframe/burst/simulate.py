"""A handheld burst simulator: N raw frames of one scene, with their exact ground truth.

Reads: a clean linear scene in CIE XYZ (Y = 1 white), (H, W, 3), as
:mod:`redframe.sim.scenes` makes. Writes: N raw :class:`~redframe.io.scene.Scene` frames
(uint16 CFA mosaics with calibration), each one a capture by
:func:`redframe.sim.sensor.simulate_raw` - the same sensor model, noise model (shot + read
noise from ISO, black level, 14-bit clipping) and NoiseProfile - of the scene *as that
frame saw it*:

- **handheld motion**: each frame's camera pose is an affine map (translation of a few
  pixels plus a small rotation about the image centre), drawn at random. The clean scene
  is warped by it in linear light, at sub-pixel accuracy (``cv2.warpAffine``, Lanczos-4)
  *before* mosaicing, so every frame's noiseless image is known exactly;
- **a moving object** (optional): a textured disc that moves in a straight line across the
  scene between frames, independently of the camera, so a merge that ignores it ghosts.

Conventions: a pose ``M`` (2x3) maps frame pixel coordinates ``(x, y)`` (column, row;
pixel centres on integers) to scene coordinates: ``frame(p) = scene(M p)``
(``cv2.WARP_INVERSE_MAP``). The displacement that brings frame ``n`` onto the reference
frame ``r`` at reference pixel ``p`` is ``M_n^-1 M_r p - p``: ``frame_n(p + u) = frame_r(p)``.
That is what :func:`redframe.burst.align.align_frame` estimates (:meth:`BurstSim.true_flow`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from redframe.io.scene import Scene
from redframe.sim.sensor import SensorModel, mosaic_from_rgb, simulate_raw

__all__ = ["HandheldMotion", "MovingObject", "BurstSim", "simulate_burst"]


@dataclass
class HandheldMotion:
    """Per-frame camera shake, drawn uniformly and independently for every frame."""

    translation: float = 6.0  # px (mosaic pixels): each of x, y in [-translation, +translation]
    rotation: float = 0.5  # degrees: in [-rotation, +rotation], about the image centre


@dataclass
class MovingObject:
    """A textured disc crossing the scene in a straight line, centred on the middle frame."""

    radius: float = 0.14  # fraction of the short side
    velocity: tuple[float, float] = (5.0, 3.0)  # px per frame (x, y), in scene coordinates
    centre: tuple[float, float] = (0.62, 0.4)  # fraction of (width, height) at the middle frame
    reflectance: tuple[float, float] = (0.02, 0.7)  # texture range (dark, bright), Y
    period: float = 12.0  # texture stripe period, px


@dataclass
class BurstSim:
    """A simulated burst and its truth. See the module docstring for the conventions."""

    frames: list[Scene]
    poses: list[np.ndarray]  # (2, 3) per frame: frame pixel -> scene coordinates
    clean: list[np.ndarray] | None  # per frame: noiseless camera RGB, 1 = white (unclipped)
    object_alpha: list[np.ndarray] | None  # per frame: object coverage in frame coordinates
    pattern: str
    object_scene_alpha: list[np.ndarray] | None = field(default=None, repr=False)

    def clean_mosaic(self, index: int) -> np.ndarray:
        """Frame ``index``'s noiseless CFA signal, normalised (0 = black, 1 = white), float32."""
        if self.clean is None:
            raise ValueError("simulate_burst(..., keep_clean=False) kept no ground truth")
        return mosaic_from_rgb(self.clean[index], self.pattern).astype(np.float32)

    def true_flow(self, ref: int, index: int, points: np.ndarray) -> np.ndarray:
        """Displacements ``u`` (x, y) with ``frame_index(p + u) = frame_ref(p)`` at ``points``
        (N, 2) given as (x, y) reference-frame pixel coordinates (camera motion only)."""
        m_ref = np.vstack([self.poses[ref], [0, 0, 1]])
        m_n = np.vstack([self.poses[index], [0, 0, 1]])
        a = np.linalg.inv(m_n) @ m_ref
        pts = np.asarray(points, np.float64)
        return pts @ a[:2, :2].T + a[:2, 2] - pts

    def moving_mask(self, ref: int, dilate: int = 2) -> np.ndarray:
        """Where the moving object is, in any frame, seen from the reference frame's pose:
        the pixels a merge can ghost in. All False without a moving object."""
        shape = self.frames[ref].shape
        if self.object_scene_alpha is None:
            return np.zeros(shape, bool)
        mask = np.zeros(shape, bool)
        for alpha in self.object_scene_alpha:
            mask |= _warp(alpha, self.poses[ref], shape) > 0.01
        if dilate:
            k = np.ones((2 * dilate + 1, 2 * dilate + 1), np.uint8)
            mask = cv2.dilate(mask.astype(np.uint8), k).astype(bool)
        return mask


def _warp(image: np.ndarray, pose: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return cv2.warpAffine(
        image,
        np.asarray(pose, np.float64),
        (shape[1], shape[0]),
        flags=cv2.INTER_LANCZOS4 | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT_101,
    )


def _poses(n: int, shape: tuple[int, int], motion: HandheldMotion | None, rng) -> list:
    h, w = shape
    cx, cy = (w - 1) / 2, (h - 1) / 2
    poses = []
    for _ in range(n):
        if motion is None:
            poses.append(np.array([[1.0, 0, 0], [0, 1.0, 0]]))
            continue
        t = rng.uniform(-motion.translation, motion.translation, 2)
        a = np.radians(rng.uniform(-motion.rotation, motion.rotation))
        c, s = np.cos(a), np.sin(a)
        rot = np.array([[c, -s], [s, c]])
        # rotate about the centre, then translate: scene = R (p - centre) + centre + t
        offset = np.array([cx, cy]) - rot @ np.array([cx, cy]) + t
        poses.append(np.hstack([rot, offset[:, None]]))
    return poses


def _object_layers(shape, obj: MovingObject, n: int):
    """(texture XYZ, per-frame alpha in scene coordinates) for the moving disc."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    radius = obj.radius * min(h, w)
    # diagonal stripes times rings: texture at every orientation, so motion is visible
    phase = np.sin(2 * np.pi * (xx + yy) / obj.period) * np.cos(2 * np.pi * (xx - yy) / 17.0)
    dark, bright = obj.reflectance
    texture_y = dark + (bright - dark) * (0.5 + 0.5 * phase)
    alphas, textures = [], []
    mid = (n - 1) / 2
    for i in range(n):
        cx = obj.centre[0] * w + (i - mid) * obj.velocity[0]
        cy = obj.centre[1] * h + (i - mid) * obj.velocity[1]
        r = np.hypot(xx - cx, yy - cy)
        alphas.append(np.clip(radius + 0.5 - r, 0.0, 1.0).astype(np.float32))  # 1 px soft edge
        vx, vy = (i - mid) * obj.velocity[0], (i - mid) * obj.velocity[1]
        shift = np.float64([[1, 0, -vx], [0, 1, -vy]])
        textures.append(_warp(texture_y, shift, shape))  # the texture moves with the disc
    white = np.array([0.9505, 1.0, 1.0890], np.float32)
    return textures, alphas, white


def simulate_burst(
    xyz: np.ndarray,
    n: int = 8,
    *,
    iso: float = 3200.0,
    exposure: float = 0.35,
    motion: HandheldMotion | None = HandheldMotion(),  # noqa: B008 - immutable in practice
    moving_object: MovingObject | bool | None = None,
    pattern: str = "RGGB",
    seed: int = 0,
    sensor: SensorModel | None = None,
    keep_clean: bool = True,
) -> BurstSim:
    """Simulate a handheld burst of ``n`` raw frames of scene ``xyz``.

    Parameters
    ----------
    xyz : (H, W, 3) linear CIE XYZ of the scene (Y = 1 white); H and W even.
    n : number of frames.
    iso, exposure : as :func:`redframe.sim.sensor.simulate_raw` (a dim scene at high ISO
        is what night mode is for: the defaults give a per-pixel SNR of about 2 in the
        mid-tones).
    motion : camera shake per frame; ``None`` for a tripod (all frames aligned).
    moving_object : ``True`` for the default :class:`MovingObject`, or one of your own.
    pattern : CFA pattern of the sensor (any of the four Bayer phases).
    seed : seeds the poses and every frame's noise (frame ``i`` uses ``seed * 1009 + i``).
    keep_clean : keep every frame's noiseless camera RGB (the ground truth); turn off for
        large benchmarks.

    Returns
    -------
    :class:`BurstSim` with the frames, poses, ground truth and object coverage.
    """
    xyz = np.asarray(xyz)
    if xyz.ndim != 3 or xyz.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) XYZ scene, got shape {xyz.shape}")
    if xyz.shape[0] % 2 or xyz.shape[1] % 2:
        raise ValueError(f"scene height and width must be even for a Bayer mosaic, got {xyz.shape}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    shape = xyz.shape[:2]
    rng = np.random.default_rng(seed)
    poses = _poses(n, shape, motion, rng)
    if moving_object is True:
        moving_object = MovingObject()
    layers = _object_layers(shape, moving_object, n) if moving_object else None
    base = np.ascontiguousarray(xyz, dtype=np.float32)
    frames, clean, alphas = [], [] if keep_clean else None, [] if layers else None
    for i, pose in enumerate(poses):
        scene_i = base
        if layers is not None:
            textures, scene_alpha, white = layers
            a = scene_alpha[i][..., None]
            scene_i = base * (1 - a) + (textures[i][..., None] * white) * a
            alphas.append(_warp(scene_alpha[i], pose, shape))
        view = _warp(scene_i, pose, shape)
        frame, cam = simulate_raw(
            view, pattern=pattern, iso=iso, exposure=exposure, sensor=sensor, seed=seed * 1009 + i
        )
        frame.notes.append(f"simulated burst frame {i + 1}/{n}")
        frames.append(frame)
        if keep_clean:
            clean.append(cam.astype(np.float32))
        del view, cam
    return BurstSim(
        frames=frames,
        poses=poses,
        clean=clean,
        object_alpha=alphas,
        pattern=pattern,
        object_scene_alpha=layers[1] if layers else None,
    )
