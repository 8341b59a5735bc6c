"""The noise model of a frame: variance = S * x + O on the normalised linear signal x.

This is the DNG ``NoiseProfile`` form (shot noise grows with the signal, read noise does
not; Foi et al. 2008, "Practical Poissonian-Gaussian noise modeling and fitting for
single-image raw-data", IEEE TIP 17(10), doi:10.1109/TIP.2008.2001399). Raw frames bring it
in their calibration; for raws without one and for JPEG/HEIC frames it is *estimated* from
the reference frame itself, following the same paper's idea: local means and robust
(median absolute deviation) estimates of the local noise, binned by signal level, then a
weighted least-squares line through them.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["estimate_noise_profile", "noise_profile_of"]


def estimate_noise_profile(planes: np.ndarray, bins: int = 16) -> tuple[float, float]:
    """(S, O) such that variance = S * x + O, from (H, W, P) float32 planes of one frame.

    The residual ``x - mean of its 4 neighbours`` of white noise has variance 1.25 sigma^2;
    texture inflates it, which the median of each bin and the lower envelope of the fit
    mostly ignore. Spatially correlated noise (JPEG, demosaiced) is underestimated - that
    makes the merge more cautious, not less.
    """
    planes = np.asarray(planes, np.float32)
    means, resids = [], []
    kernel = np.array([[0, 0.25, 0], [0.25, 0, 0.25], [0, 0.25, 0]], np.float32)
    for k in range(planes.shape[2] if planes.ndim == 3 else 1):
        p = planes[..., k] if planes.ndim == 3 else planes
        step = max(1, int(np.sqrt(p.size / 250_000)))  # ~250k samples per plane is plenty
        sub = np.ascontiguousarray(p[::step, ::step]) if step > 1 else p
        r = sub - cv2.filter2D(sub, cv2.CV_32F, kernel, borderType=cv2.BORDER_REFLECT_101)
        m = cv2.blur(sub, (5, 5), borderType=cv2.BORDER_REFLECT_101)
        means.append(m[2:-2, 2:-2].ravel())
        resids.append(r[2:-2, 2:-2].ravel())
    m = np.concatenate(means)
    r = np.concatenate(resids)
    edges = np.unique(np.quantile(m, np.linspace(0.02, 0.98, bins + 1)))
    xs, vs, ns = [], [], []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (m >= lo) & (m < hi)
        if np.count_nonzero(sel) < 64:
            continue
        rr = r[sel]
        mad = np.median(np.abs(rr - np.median(rr)))
        xs.append(float(np.median(m[sel])))
        vs.append((1.4826 * mad) ** 2 / 1.25)
        ns.append(np.count_nonzero(sel))
    if len(xs) < 2:
        v = float(np.var(r) / 1.25) if r.size else 1e-6
        return 0.0, max(v, 1e-10)
    xs, vs, ns = np.array(xs), np.array(vs), np.array(ns, float)
    a = np.stack([xs, np.ones_like(xs)], axis=1)
    w = np.sqrt(ns) / np.maximum(vs, 1e-12)  # relative errors: weight by 1 / variance
    s, o = np.linalg.lstsq(a * w[:, None], vs * w, rcond=None)[0]
    if s < 0:  # flat noise (e.g. a JPEG's): a constant
        s, o = 0.0, float(np.median(vs))
    if o <= 0:
        o = max(float(np.min(vs)) * 0.1, 1e-10)
    return float(s), float(o)


def noise_profile_of(scene, planes) -> tuple[tuple[float, float], str]:
    """The frame's noise model and where it came from ("calibration" or "estimated").

    ``planes``: the frame's (H, W, P) normalised planes, or a function returning them
    (called only when the model has to be estimated)."""
    cal = scene.calibration
    if cal is not None and cal.noise_profile is not None:
        s, o = (float(v) for v in cal.noise_profile)
        if np.isfinite(s) and np.isfinite(o) and s >= 0 and o > 0:
            return (s, o), "calibration"
    if callable(planes):
        planes = planes()
    if not isinstance(planes, np.ndarray):
        planes = planes.to_float()
    return estimate_noise_profile(planes), "estimated"
