"""Robust temporal merge of aligned frames onto the reference frame's pixel grid.

Reads: *planes* - (H, W, P) channel-last float32 normalised linear signal (0 = black,
1 = white): the four Bayer sites of a CFA mosaic as a half-resolution image of quads
(P = 4, sites (0,0), (0,1), (1,0), (1,1): ``mosaic[dy::2, dx::2]`` is plane ``2 dy + dx``),
or the three channels of linear RGB frames (P = 3); one
:class:`~redframe.burst.align.TileAlignment` per alternate frame. Writes: the merged planes
in the same units (unclipped float32), and the per-pixel sum of the frames' weights.

Method - a kernel-regression robust merge in the sense of Wronski et al. 2019, "Handheld
Multi-Frame Super-Resolution", ACM TOG 38(4), arXiv:1905.03277 (sections 5-6), reduced to
the reference grid (no super-resolution):

1. **Resampling.** Each alternate frame's plane is resampled at the positions its flow
   says the reference pixels moved to (bicubic, Keys 1981: a separable kernel regression
   of the frame's samples of that colour around the position), the flow being the tile
   displacements interpolated bilinearly between tile centres (rotation-safe). Working per
   plane keeps every Bayer colour with its own samples whatever the CFA phase.
2. **Robustness.** The difference between the resampled frame and the reference is
   averaged over a (2r+1)^2 window per plane, and compared with the noise it would have
   if the frames agreed: ``2 (S mu + O) / n`` from the noise model (DNG NoiseProfile or
   estimated; ``mu`` the reference's local mean). The normalised squared difference
   ``z2``, pooled over the planes, is a chi-square / P variable when the frames agree;
   the frame's weight is 1 below ``t_lo``, 0 above ``t_hi``, linear in between (Wronski
   et al.'s robustness ``R``; Hasinoff et al. 2016's pairwise Wiener filter plays the same
   role in the frequency domain). A second statistic, the window mean of the squared
   differences over their expected variance, sees detail the resampling of the
   half-resolution planes cannot reproduce (it is zero-mean, so the first misses it): its
   excess ``e2`` over the noise scales the weight by ``sigma2 / (sigma2 + e2)``, the
   inverse-variance weight of a frame whose samples carry that extra error. The weight is
   then min-filtered so that the rim of a moving object is rejected with it. Where the
   noise model is estimated, both statistics are first calibrated on the frame pair most
   alike (:meth:`RobustMerger.calibrate`).
3. **Accumulation.** ``out = (ref + sum_n w_n frame_n) / (1 + sum_n w_n)``: a plain average
   where everything agrees - the sqrt(N) noise reduction - and the reference alone where
   nothing does (moving objects, occlusions, failed alignment): no ghosts.

Where a frame's flow points outside it, its weight is 0. Frames are added one at a time,
so memory does not grow with the burst length.

Schedule (the math is :func:`merge_reference`, whole frames in NumPy/OpenCV; tests hold the
fast path to it): :class:`RobustMerger` works in strips of rows, each strip resampled,
weighed and accumulated by serial kernels that release the GIL, strips spread over a
thread pool. Strip intermediates stay in cache, nothing frame-sized is allocated per frame,
and there is no barrier between cores that a busy machine could stall. The kernels are
compiled ahead of time (Cython, ``_merge.pyx``); the bicubic resampling there is OpenCV's
``remap`` reproduced and fused with the normalisation and difference, kept in float32
instead of rounded to a uint16 frame's DN.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from redframe._threads import get_num_threads
from redframe.burst import _merge
from redframe.burst.align import TileAlignment

__all__ = [
    "MergeParams",
    "RobustMerger",
    "FramePlanes",
    "FrameContribution",
    "merge_reference",
    "flow_maps",
    "planes_from_mosaic",
    "mosaic_from_planes",
    "grey_from_mosaic",
]


@dataclass
class MergeParams:
    """Robust merge parameters (units: plane pixels; ``z2`` is a normalised chi-square / P)."""

    radius: int = 2  # the difference is averaged over (2 radius + 1)^2 plane pixels
    t_lo: float = 4.0  # z2 up to which an alternate frame counts fully
    t_hi: float = 12.0  # z2 from which it does not count at all
    #: residual variance above the noise's, as a fraction of it, that is tolerated before
    #: a frame's weight falls for detail it cannot reproduce (resampling error)
    slack: float = 0.3
    #: calibrate the two test statistics on the best-matching frame pair: "auto" when the
    #: noise model is estimated (spatially correlated noise of demosaiced/JPEG frames is
    #: not white), "always", or "never" (trust the DNG NoiseProfile)
    calibrate: str = "auto"
    erode: int = 1  # min-filter radius of the weights (reject the rim of a moving object too)
    interpolation: str = "cubic"  # "cubic" | "linear": resampling of the alternate frames
    #: a frame whose mean weight is below this does not show the reference's scene (a
    #: different scene, a corrupt frame, failed alignment): it is dropped with a warning
    min_accept: float = 0.2

    def __post_init__(self) -> None:
        if self.radius < 0 or self.erode < 0:
            raise ValueError("radius and erode must be >= 0")
        if not 0 <= self.t_lo < self.t_hi:
            raise ValueError(f"need 0 <= t_lo < t_hi, got {self.t_lo}, {self.t_hi}")
        if self.calibrate not in ("auto", "always", "never"):
            raise ValueError(f"calibrate must be auto, always or never, got {self.calibrate!r}")
        if self.interpolation not in ("cubic", "linear"):
            raise ValueError(
                f"interpolation must be 'cubic' or 'linear', got {self.interpolation!r}"
            )


def _interp_axis(n: int, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For pixels 0..n-1: the two tile centres around each and the weight of the second
    (constant beyond the first and last centres)."""
    pos = np.arange(n, dtype=np.float64)
    if len(centres) == 1:
        z = np.zeros(n, np.int64)
        return z, z, np.zeros(n, np.float32)
    i1 = np.clip(np.searchsorted(centres, pos), 1, len(centres) - 1)
    i0 = i1 - 1
    wgt = (pos - centres[i0]) / (centres[i1] - centres[i0])
    return i0.astype(np.int64), i1.astype(np.int64), np.clip(wgt, 0, 1).astype(np.float32)


def flow_maps(alignment: TileAlignment, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel sampling positions (map_x, map_y) in the alternate frame's planes, float32:
    the tile displacements interpolated bilinearly between tile centres."""
    h, w = shape
    map_x = np.empty((h, w), np.float32)
    map_y = np.empty((h, w), np.float32)
    _merge.maps(np.ascontiguousarray(alignment.displacement, np.float32),
                *_interp_axis(h, alignment.centres_y), *_interp_axis(w, alignment.centres_x), 0,
                map_x, map_y)
    return map_x, map_y


@dataclass
class FrameContribution:
    """What one alternate frame added: its mean weight (the share of the reference it
    matched) and whether it was kept."""

    mean_weight: float
    accepted: bool


_SITES = ((0, 0), (0, 1), (1, 0), (1, 1))


@dataclass
class FramePlanes:
    """One frame's planes as stored - raw DN (uint16 or float) or already normalised - and
    the per-plane ``black`` and ``scale`` that normalise them: ``(data - black) * scale``.
    ``data`` is channel-last, (H, W, P): a mosaic's Bayer quads, or an RGB image as is."""

    data: np.ndarray  # (H, W, P), C-contiguous
    black: np.ndarray  # (P,) float32
    scale: np.ndarray  # (P,) float32

    @classmethod
    def from_mosaic(cls, mosaic: np.ndarray, black: np.ndarray, white: float) -> FramePlanes:
        """The Bayer quads of ``mosaic`` (sites (0,0), (0,1), (1,0), (1,1)), kept in the
        mosaic's own dtype (a uint16 frame costs 2 bytes a sample until it is resampled)."""
        h, w = mosaic.shape[0] // 2, mosaic.shape[1] // 2
        if mosaic.dtype not in (np.uint16, np.float32):
            mosaic = mosaic.astype(np.float32)
        data = np.empty((h, w, 4), mosaic.dtype)
        _merge.split_quads(np.ascontiguousarray(mosaic), data)
        return cls(data, *_site_levels(black, white))

    @classmethod
    def normalised(cls, planes: np.ndarray) -> FramePlanes:
        p_n = planes.shape[2]
        return cls(np.ascontiguousarray(planes, dtype=np.float32), np.zeros(p_n, np.float32),
                   np.ones(p_n, np.float32))

    def to_float(self) -> np.ndarray:
        """(H, W, P) float32 normalised signal."""
        out = self.data.astype(np.float32)
        out -= self.black
        out *= self.scale
        return out


def _site_levels(black: np.ndarray, white: float) -> tuple[np.ndarray, np.ndarray]:
    """Per Bayer site (quad order): black level and 1 / (white - black)."""
    b = np.broadcast_to(np.asarray(black, np.float32), (2, 2))
    bl = np.array([b[dy, dx] for dy, dx in _SITES], np.float32)
    return bl, (1.0 / np.maximum(np.float32(white) - bl, 1.0)).astype(np.float32)


def grey_from_mosaic(mosaic: np.ndarray, black: np.ndarray, white: float) -> np.ndarray:
    """The normalised 2x2 (Bayer quad) average of a mosaic, float32 (H // 2, W // 2)."""
    out = np.empty((mosaic.shape[0] // 2, mosaic.shape[1] // 2), np.float32)
    if mosaic.dtype not in (np.uint16, np.float32, np.float64):
        mosaic = mosaic.astype(np.float32)
    _merge.grey_quads(np.ascontiguousarray(mosaic), *_site_levels(black, white), out)
    return out


def planes_from_mosaic(mosaic: np.ndarray, black: np.ndarray, white: float) -> np.ndarray:
    """(H // 2, W // 2, 4) float32 normalised Bayer quads."""
    out = np.empty((mosaic.shape[0] // 2, mosaic.shape[1] // 2, 4), np.float32)
    if mosaic.dtype not in (np.uint16, np.float32, np.float64):
        mosaic = mosaic.astype(np.float32)
    _merge.normalised_quads(np.ascontiguousarray(mosaic), *_site_levels(black, white), out)
    return out


def mosaic_from_planes(
    planes: np.ndarray, black: np.ndarray, white: float, into: np.ndarray
) -> np.ndarray:
    """Write normalised (H', W', 4) quads back into the float32 DN mosaic ``into``."""
    bl, scale = _site_levels(black, white)
    h, w = planes.shape[0] * 2, planes.shape[1] * 2
    for k, (dy, dx) in enumerate(_SITES):
        into[dy:h:2, dx:w:2] = planes[..., k] / scale[k] + bl[k]
    return into


def _kernel_ready(frame: FramePlanes | np.ndarray) -> FramePlanes:
    """The frame as the compiled kernels take it: C-contiguous uint16 or float32 samples,
    float32 levels."""
    if isinstance(frame, np.ndarray):
        return FramePlanes.normalised(frame)
    data = frame.data
    if data.dtype not in (np.uint16, np.float32):
        data = data.astype(np.float32)
    data = np.ascontiguousarray(data)
    black = np.ascontiguousarray(frame.black, np.float32)
    scale = np.ascontiguousarray(frame.scale, np.float32)
    if data is frame.data and black is frame.black and scale is frame.scale:
        return frame
    return FramePlanes(data, black, scale)


def _inverse_variance_of(ref: np.ndarray, noise: tuple[float, float], radius: int) -> np.ndarray:
    """Per plane pixel ``1 / (2 var)`` of a frame difference, with the variance from the
    noise model at the reference's local mean."""
    k = 2 * radius + 1
    mu = cv2.blur(ref, (k, k), borderType=cv2.BORDER_REFLECT_101)
    s, o = (max(float(v), 0.0) for v in noise)
    _merge.inverse_variance(mu, np.float32(s), np.float32(max(o, 1e-12)), mu)
    return mu


class RobustMerger:
    """Accumulates alternate frames onto a reference (see the module docstring).

    ``threads``: strips processed at once (0 = as many as the compiled kernels may use in
    this thread, :func:`redframe._threads.get_num_threads`, at most the machine's cores).
    """

    def __init__(
        self,
        ref_planes: np.ndarray,
        noise: tuple[float, float],
        params: MergeParams | None = None,
        strip_rows: int = 64,
        threads: int = 0,
    ):
        self.params = params = params or MergeParams()
        self.ref = np.ascontiguousarray(ref_planes, dtype=np.float32)
        self.inv_var = _inverse_variance_of(self.ref, noise, params.radius)
        h, w, p_n = self.ref.shape
        self.acc = np.zeros_like(self.ref)
        self.wsum = np.zeros((h, w), np.float32)
        self.strip_rows = max(8, int(strip_rows))
        self.halo = params.radius + params.erode
        self.threads = threads or max(1, min(get_num_threads(), os.cpu_count() or 1))
        self._local = threading.local()
        self.frames = 0
        k = 2 * params.radius + 1
        self.z_mult = float(k * k) / p_n  # the window mean of white noise: variance / k^2
        self.q_mult = 1.0
        self.calibration: tuple[float, float] | None = None
        self._empty_stats = np.zeros((0, 1, 1), np.float32)

    def calibrate(self, frame: FramePlanes | np.ndarray, alignment: TileAlignment) -> tuple:
        """Rescale the two test statistics so that, between the reference and this frame
        (the one most like it), their medians are those of agreeing frames.

        A noise model estimated from one frame's spatial residuals misjudges noise that is
        spatially correlated (demosaiced, JPEG-compressed, resampled); the frame pair shows
        the real spread. Scales are bounded (noise at most 16x stronger, at most 2x weaker
        than modelled) so that a bad pair cannot make everything agree. Returns the
        (window, pixel) scale factors applied.
        """
        from scipy.stats import chi2

        frame = _kernel_ready(frame)
        p_n = self.ref.shape[2]
        h = self.ref.shape[0]
        job = (frame, np.ascontiguousarray(alignment.displacement, np.float32),
               _interp_axis(h, alignment.centres_y), _interp_axis(self.ref.shape[1],
                                                                  alignment.centres_x),
               np.float32(0.0))
        starts = list(range(0, h, self.strip_rows))
        starts = starts[:: max(1, len(starts) // 8)]  # about 8 strips spread over the frame
        samples = [self._strip(y0, *job, stats=True) for y0 in starts]
        z = np.concatenate([s[0] for s in samples if s is not None])
        q = np.concatenate([s[1] for s in samples if s is not None])
        if z.size < 100:
            return 1.0, 1.0
        target = float(chi2.median(p_n) / p_n)
        z_factor = float(np.clip(target / max(np.median(z), 1e-12), 1 / 16, 2.0))
        q_factor = float(np.clip(target / max(np.median(q), 1e-12), 1 / 16, 2.0))
        self.z_mult *= z_factor
        self.q_mult *= q_factor
        self.calibration = (z_factor, q_factor)
        return self.calibration

    def add(self, frame: FramePlanes | np.ndarray, alignment: TileAlignment) -> FrameContribution:
        """Resample ``frame`` by ``alignment``, weigh it against the reference and add it -
        or, when it matches less than ``min_accept`` of the reference, leave it out."""
        frame = _kernel_ready(frame)
        if frame.data.shape != self.ref.shape:
            raise ValueError(
                f"planes {frame.data.shape} do not match the reference {self.ref.shape}"
            )
        total = self._pass(frame, alignment, 1.0)
        mean_weight = total / self.wsum.size
        if mean_weight < self.params.min_accept:
            self._pass(frame, alignment, -1.0)  # the same weights again: take it back out
            return FrameContribution(mean_weight, False)
        self.frames += 1
        return FrameContribution(mean_weight, True)

    def _pass(self, frame: FramePlanes, alignment: TileAlignment, sign: float) -> float:
        h, w = self.ref.shape[:2]
        job = (
            frame,
            np.ascontiguousarray(alignment.displacement, np.float32),
            _interp_axis(h, alignment.centres_y),
            _interp_axis(w, alignment.centres_x),
            np.float32(sign),
        )
        starts = range(0, h, self.strip_rows)
        if self.threads > 1:
            with ThreadPoolExecutor(self.threads) as pool:
                return float(sum(pool.map(lambda y0: self._strip(y0, *job), starts)))
        return float(sum(self._strip(y0, *job) for y0 in starts))

    def _scratch(self, p_n: int, rows: int, w: int, dtype) -> dict:
        """Per-thread strip buffers, allocated once."""
        key = (p_n, rows, w, np.dtype(dtype).str)
        s = getattr(self._local, "buffers", None)
        if s is None or s["key"] != key:
            s = {
                "key": key,
                "map_x": np.empty((rows, w), np.float32),
                "map_y": np.empty((rows, w), np.float32),
                "warped": np.empty((rows, w, p_n), dtype),
                "wf": np.empty((rows, w, p_n), np.float32),
                "d": np.empty((rows, w, p_n), np.float32),
                "q": np.empty((rows, w), np.float32),
                "weight": np.empty((rows, w), np.float32),
            }
            self._local.buffers = s
        return s

    def _strip(self, y0, frame, disp, y_axis, x_axis, sign, stats: bool = False):
        prm = self.params
        h, w, p_n = self.ref.shape
        y1 = min(h, y0 + self.strip_rows)
        a, b = max(0, y0 - self.halo), min(h, y1 + self.halo)
        n = b - a
        buf = self._scratch(p_n, self.strip_rows + 2 * self.halo, w, frame.data.dtype)
        map_x, map_y = buf["map_x"][:n], buf["map_y"][:n]
        y_min, y_max = _merge.maps(disp, *y_axis, *x_axis, a, map_x, map_y)
        # only the frame rows this strip samples (+-2 for the cubic kernel) are read
        lo = int(max(0, math.floor(y_min) - 2))
        hi = int(min(h, math.ceil(y_max) + 3))
        if hi <= lo:
            return None if stats else 0.0  # the strip maps entirely outside the frame
        wf, d, q, weight = buf["wf"][:n], buf["d"][:n], buf["q"][:n], buf["weight"][:n]
        if prm.interpolation == "cubic":  # resampled, normalised and differenced at once
            _merge.resample_diff(frame.data, frame.black, frame.scale, self.ref, a,
                                 self.inv_var, map_x, map_y, wf, d, q)
        else:
            map_y -= np.float32(lo)
            warped = buf["warped"][:n]
            cv2.remap(frame.data[lo:hi], map_x, map_y, cv2.INTER_LINEAR, dst=warped,
                      borderMode=cv2.BORDER_REFLECT_101)
            map_y += np.float32(lo)
            _merge.strip_diff(warped, frame.black, frame.scale, self.ref, a, self.inv_var, wf,
                              d, q)
        k = 2 * prm.radius + 1
        cv2.blur(d, (k, k), dst=d, borderType=cv2.BORDER_REFLECT_101)
        cv2.blur(q, (k, k), dst=q, borderType=cv2.BORDER_REFLECT_101)
        if stats:
            out = np.empty((2, n, w), np.float32)
            _merge.weights(d, self.inv_var, q, map_x, map_y, self.z_mult, self.q_mult,
                           prm.t_lo, prm.t_hi, prm.slack, a, h, weight, out)
            inside = (map_x >= 0) & (map_y >= 0) & (map_x <= w - 1) & (map_y <= h - 1)
            return out[0][inside][::7], out[1][inside][::7]
        _merge.weights(d, self.inv_var, q, map_x, map_y, self.z_mult, self.q_mult, prm.t_lo,
                       prm.t_hi, prm.slack, a, h, weight, self._empty_stats)
        if prm.erode > 0:
            e = 2 * prm.erode + 1
            cv2.erode(weight, np.ones((e, e), np.uint8), dst=weight,
                      borderType=cv2.BORDER_REPLICATE)
        return _merge.accumulate(self.acc, self.wsum, wf, weight, y0, y0 - a, y1 - y0, sign)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(merged planes, sum of the alternate frames' weights per pixel)."""
        out = np.empty_like(self.ref)
        _merge.finish(self.ref, self.acc, self.wsum, out)
        return out, self.wsum

    def result_mosaic(self, black: np.ndarray, white: float, into: np.ndarray) -> np.ndarray:
        """Write the merged Bayer quads into the float32 DN mosaic ``into`` (whose odd last
        row/column, if any, is left as it is); return the weight sum."""
        bl, scale = _site_levels(black, white)
        target = np.ascontiguousarray(into, np.float32)
        _merge.finish_mosaic(self.ref, self.acc, self.wsum, bl, (1.0 / scale).astype(np.float32),
                             target)
        if target is not into:
            into[...] = target
        return self.wsum


def merge_reference(
    ref_planes: np.ndarray,
    frames: list[tuple[np.ndarray, TileAlignment]],
    noise: tuple[float, float],
    params: MergeParams | None = None,
) -> tuple[np.ndarray, np.ndarray, list[FrameContribution]]:
    """The merge written plainly on whole frames (NumPy + OpenCV): the definition that
    :class:`RobustMerger` is tested against. ``frames`` holds normalised (H, W, P) planes
    with their alignment. Returns (merged planes, weight sum, one report per frame)."""
    params = params or MergeParams()
    ref = np.asarray(ref_planes, np.float32)
    h, w, p_n = ref.shape
    k, e = 2 * params.radius + 1, 2 * params.erode + 1

    def box(x):
        return cv2.blur(np.asarray(x, np.float32), (k, k), borderType=cv2.BORDER_REFLECT_101)

    var2 = 2.0 * (max(noise[0], 0.0) * np.maximum(box(ref), 0) + max(noise[1], 1e-12))
    acc, wsum, report = np.zeros_like(ref), np.zeros((h, w), np.float32), []
    interp = cv2.INTER_CUBIC if params.interpolation == "cubic" else cv2.INTER_LINEAR
    for planes, alignment in frames:
        map_x, map_y = flow_maps(alignment, (h, w))
        warped = cv2.remap(np.asarray(planes, np.float32), map_x, map_y, interp,
                           borderMode=cv2.BORDER_REFLECT_101).reshape(h, w, p_n)
        diff = warped - ref
        z2 = np.mean(box(diff).reshape(h, w, p_n) ** 2 * (k * k) / var2, axis=2)
        resid = box(np.mean(diff**2 / var2, axis=2))
        motion = np.clip((params.t_hi - z2) / (params.t_hi - params.t_lo), 0, 1)
        detail = 1.0 / (1.0 + 2.0 * np.maximum(resid - 1.0 - params.slack, 0))
        inside = (map_x >= 0) & (map_y >= 0) & (map_x <= w - 1) & (map_y <= h - 1)
        weight = (motion * detail * inside).astype(np.float32)
        if params.erode:
            weight = cv2.erode(weight, np.ones((e, e), np.uint8), borderType=cv2.BORDER_REPLICATE)
        accepted = float(weight.mean()) >= params.min_accept
        report.append(FrameContribution(float(weight.mean()), accepted))
        if accepted:
            acc += weight[..., None] * warped
            wsum += weight
    return (ref + acc) / (1.0 + wsum[..., None]), wsum, report
