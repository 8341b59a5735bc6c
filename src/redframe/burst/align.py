"""Tile alignment of burst frames: a coarse-to-fine pyramid search with sub-pixel refinement.

Reads: a *grey* image per frame, float32 (H, W) - for raw frames the 2x2-averaged CFA
mosaic (one grey pixel per Bayer quad, so the search never mixes colours and works the
same for all four CFA phases), for RGB frames the luma. Writes: per tile of the reference,
the displacement ``u`` (grey pixels, (dy, dx)) such that ``alt(p + u) ~ ref(p)``.

Method (Hasinoff et al. 2016, "Burst photography for high dynamic range and low-light
imaging on mobile cameras", ACM TOG 35(6), doi:10.1145/2980179.2980254, section 4; with
the parameters of Monod, Delon & Veit 2021, "An Analysis and Implementation of the HDR+
Burst Denoising Method", IPOL 11:142-169, doi:10.5201/ipol.2021.336):

- a pyramid of 4 levels, each level the box-average of the previous one by
  ``factors = (1, 2, 4, 4)`` (fine -> coarse);
- at every level, non-overlapping tiles of ``tile_sizes = (16, 16, 16, 8)`` pixels are
  matched by exhaustive search within ``radii = (1, 4, 4, 4)`` pixels around an initial
  guess, with the L1 distance at the finest level (robust) and L2 above;
- the initial guess of a tile is the best, by the current level's distance, of the
  up-scaled displacements of the three nearest coarser tiles (the tile containing it and
  its two nearest neighbours): a tile straddling two motions picks the right one;
- at the finest level the integer displacement is refined to sub-pixel accuracy by a few
  Gauss-Newton iterations of the inverse compositional algorithm on the tile (Baker &
  Matthews 2004, "Lucas-Kanade 20 years on", IJCV 56(3); used for burst alignment by
  Wronski et al. 2019, arXiv:1905.03277, and analysed by Lafenetre, Facciolo & Eboli 2023,
  IPOL 13, doi:10.5201/ipol.2023.460), on slightly blurred images so that noise neither
  biases the gradients nor locks the estimate to whole pixels;
- then the camera's motion - a similarity (translation, rotation, scale) over the frame -
  is fitted to every tile's estimate, each counting with its *signal* information (its
  Gauss-Newton matrix less what noise puts there, over its residual variance), robustly
  (Tukey's biweight, started from the information-weighted median); a tile keeps its own
  displacement only where it explains the tile significantly better than the camera's
  motion (likelihood-ratio test): a moving object, parallax. At high ISO most tiles of a
  dark scene are noise, and this is what keeps them from a random displacement.

The tile loops are compiled ahead of time in ``_align.pyx`` (Cython + OpenMP), parallel over
tiles; the L1 and L2 searches are one kernel specialised per distance at compile time.
Nothing loops over pixels in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from redframe.burst import _align as _k

__all__ = [
    "AlignParams",
    "TileAlignment",
    "Pyramid",
    "build_pyramid",
    "align_frame",
    "fit_motion",
    "sharpness",
]


@dataclass
class AlignParams:
    """Pyramid alignment parameters (defaults: Monod et al. 2021, table of HDR+ parameters)."""

    factors: tuple[int, ...] = (1, 2, 4, 4)  # downsampling of each level from the previous
    tile_sizes: tuple[int, ...] = (16, 16, 16, 8)  # tile side per level, px of that level
    radii: tuple[int, ...] = (1, 4, 4, 4)  # search radius per level, px of that level
    l1_levels: int = 1  # the finest ``l1_levels`` levels use L1, the others L2
    subpixel_iterations: int = 2  # inverse-compositional iterations at the finest level
    subpixel_sigma: float = 1.0  # Gaussian blur (grey px) of both images for the refinement
    #: the camera's motion, fitted to all tiles; a tile keeps its own displacement only where
    #: that is significantly better (moving objects, parallax). "similarity" (translation,
    #: rotation, scale: what a hand shakes), "affine", or "none" (tiles only)
    global_model: str = "similarity"
    #: a tile keeps its own displacement when it explains the tile better than the model
    #: by more than this likelihood ratio (chi-square with 2 dof: 13.8 is the 0.1 % tail)
    model_threshold: float = 13.8

    def __post_init__(self) -> None:
        n = len(self.factors)
        if not (len(self.tile_sizes) == len(self.radii) == n) or n == 0:
            raise ValueError("factors, tile_sizes and radii need one entry per pyramid level")
        if self.factors[0] != 1 or any(f < 1 for f in self.factors):
            raise ValueError(f"factors must start with 1 and be >= 1, got {self.factors}")
        if any(t < 2 for t in self.tile_sizes) or any(r < 0 for r in self.radii):
            raise ValueError("tile sizes must be >= 2 and radii >= 0")
        if self.global_model not in ("similarity", "affine", "none"):
            raise ValueError(
                f"global_model must be similarity, affine or none, got {self.global_model!r}"
            )


@dataclass
class Pyramid:
    """Levels fine -> coarse, and the tile grid of each level (origins of the tiles)."""

    levels: list[np.ndarray]
    origins: list[tuple[np.ndarray, np.ndarray]]  # per level: (row origins, column origins)
    tiles: list[int]  # tile size per level
    factors: list[int]  # factor of each level from the previous (first = 1)
    blurred: np.ndarray | None = field(default=None, repr=False)  # finest level, blurred
    gradients: tuple | None = field(default=None, repr=False)  # (gx, gy, per-tile Hessians)


@dataclass
class TileAlignment:
    """The result of aligning one frame to the reference, kept for inspection.

    ``displacement[ty, tx] = (dy, dx)`` in grey pixels at the finest level, for the tile
    whose centre is ``(centres_y[ty], centres_x[tx])`` (grey pixels). ``scale`` converts to
    the frame's own pixels (2 for a mosaic, where grey pixel ``(i, j)`` is the Bayer quad
    centred on mosaic ``(2 i + 0.5, 2 j + 0.5)``; 1 for RGB frames).
    """

    displacement: np.ndarray  # (Ty, Tx, 2) float32, (dy, dx), grey px
    centres_y: np.ndarray  # (Ty,) float64, grey px
    centres_x: np.ndarray  # (Tx,)
    scale: int
    levels: list[np.ndarray]  # integer (dy, dx) per level, fine -> coarse, px of that level
    cost: np.ndarray  # (Ty, Tx) mean |alt - ref| of the tile at the integer displacement
    local: np.ndarray | None = None  # (Ty, Tx, 2) each tile's own sub-pixel estimate
    model: np.ndarray | None = None  # (2, 3): (dx, dy) = model @ (x, y, 1), grey px
    from_model: np.ndarray | None = None  # (Ty, Tx) bool: the tile took the model's value
    info: np.ndarray | None = field(default=None, repr=False)  # (Ty, Tx, 3) Hessian terms
    residual: np.ndarray | None = field(default=None, repr=False)  # (Ty, Tx) mean square

    def frame_points(self) -> np.ndarray:
        """Tile centres in frame pixel coordinates, (Ty, Tx, 2) as (x, y)."""
        off = 0.5 if self.scale == 2 else 0.0
        yy, xx = np.meshgrid(self.centres_y, self.centres_x, indexing="ij")
        return np.stack([xx * self.scale + off, yy * self.scale + off], axis=-1)

    def frame_flow(self) -> np.ndarray:
        """Tile displacements in frame pixels, (Ty, Tx, 2) as (x, y)."""
        return self.displacement[..., ::-1].astype(np.float64) * self.scale


def sharpness(grey: np.ndarray) -> float:
    """Gradient energy of the grey image binned 2x2 once more (binning keeps noise from
    counting as detail): the reference-frame criterion of Hasinoff et al. 2016, sec. 4."""
    h, w = (grey.shape[0] // 2) * 2, (grey.shape[1] // 2) * 2
    g = grey[:h, :w]
    small = 0.25 * (g[0::2, 0::2] + g[0::2, 1::2] + g[1::2, 0::2] + g[1::2, 1::2])
    gx = np.diff(small, axis=1)
    gy = np.diff(small, axis=0)
    return float(np.mean(gx * gx) + np.mean(gy * gy))


def _origins(size: int, tile: int) -> np.ndarray:
    """Non-overlapping tiles covering ``size``; the last one is moved inside the image."""
    n = max(1, -(-size // tile))
    o = np.arange(n, dtype=np.int64) * tile
    o[-1] = max(0, size - tile)
    return np.unique(o)


def _downsample(image: np.ndarray, f: int) -> np.ndarray:
    if f == 1:
        return image
    h, w = image.shape[0] // f, image.shape[1] // f
    return cv2.resize(image[: h * f, : w * f], (w, h), interpolation=cv2.INTER_AREA)


def build_pyramid(grey: np.ndarray, params: AlignParams, blur: bool = True) -> Pyramid:
    """The alignment pyramid of a grey image; levels too small for one tile are dropped."""
    grey = np.ascontiguousarray(grey, dtype=np.float32)
    levels, origins, tiles, factors = [grey], [], [], [1]
    for f, t in zip(params.factors[1:], params.tile_sizes[1:], strict=True):
        nxt = _downsample(levels[-1], f)
        if min(nxt.shape) < t:
            break
        levels.append(nxt)
        factors.append(f)
    for level, t in zip(levels, params.tile_sizes, strict=False):
        t = min(t, *level.shape)
        tiles.append(t)
        origins.append((_origins(level.shape[0], t), _origins(level.shape[1], t)))
    blurred = gradients = None
    if blur and params.subpixel_iterations > 0:
        blurred = _blur(grey, params.subpixel_sigma)
        # the inverse compositional algorithm needs the reference's gradients only: once
        kx = np.array([[-0.5, 0.0, 0.5]], np.float32)
        gx = cv2.filter2D(blurred, cv2.CV_32F, kx, borderType=cv2.BORDER_REPLICATE)
        gy = cv2.filter2D(blurred, cv2.CV_32F, kx.T, borderType=cv2.BORDER_REPLICATE)
        info = np.empty((len(origins[0][0]), len(origins[0][1]), 3), np.float64)
        _tile_hessians(gx, gy, origins[0][0], origins[0][1], tiles[0], info)
        gradients = (gx, gy, info)
    return Pyramid(levels, origins, tiles, factors, blurred, gradients)


def _correlation(sigma: float) -> float:
    """Sum of the correlation coefficients of white noise after a Gaussian blur of ``sigma``
    (1 / sum of the squared normalised kernel weights, about 4 pi sigma^2)."""
    if sigma <= 0:
        return 1.0
    k = cv2.getGaussianKernel(2 * int(np.ceil(3 * sigma)) + 1, sigma).ravel()
    return float(1.0 / np.sum(np.outer(k, k) ** 2))


def _signal_information(info: np.ndarray, resid: np.ndarray, n: int, sigma: float) -> np.ndarray:
    """Per tile Gauss-Newton terms (sum gx^2, sum gx gy, sum gy^2) less their noise part.

    ``resid`` (the tile's mean squared frame difference) is about twice the variance of
    the blurred noise; a central difference of blurred white noise has variance
    ``0.5 var (1 - rho(2))``, rho the noise correlation at lag 2 after the blur - so each
    diagonal term holds about ``theta n resid`` of noise, ``theta = (1 - rho(2)) / 4``.
    Resampling the frame smooths part of its noise away, so the factor is read off the
    tiles themselves (their 20th percentile: noise-only tiles, in any scene with some
    flat sky or wall), bounded to [1.2, 2] theta. A flat tile is left with ~0
    information whatever its noise, and a badly aligned one (large residual) too."""
    if sigma > 0:
        k = cv2.getGaussianKernel(2 * int(np.ceil(3 * sigma)) + 1, sigma).ravel()
        rho2 = float(np.sum(k[:-2] * k[2:]) / np.sum(k * k))
    else:
        rho2 = 0.0
    theta = 0.25 * (1.0 - rho2)
    ratio = 0.5 * (info[..., 0] + info[..., 2]) / np.maximum(n * resid, 1e-30)
    factor = float(np.clip(np.percentile(ratio, 20), 1.2 * theta, 2.0 * theta))
    noise = factor * n * resid
    out = info.copy()
    out[..., 0] = np.maximum(info[..., 0] - noise, 0.0)
    out[..., 2] = np.maximum(info[..., 2] - noise, 0.0)
    lim = np.sqrt(out[..., 0] * out[..., 2])  # keep the matrix positive semi-definite
    out[..., 1] = np.clip(info[..., 1], -lim, lim)
    return out


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return image
    return cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)


def _tile_search(ref, alt, pad, oy, ox, t, cand, radius, l1, out, cost) -> None:
    """Best integer displacement per tile (L1 if ``l1`` else L2 distance): the best of the
    candidates, then the best within +-radius around it (``alt`` padded by ``pad``)."""
    _k.tile_search(ref, alt, pad, oy, ox, t, cand, radius, bool(l1), out, cost)


#: per tile: sum gx^2, sum gx gy, sum gy^2 (the Gauss-Newton matrix)
_tile_hessians = _k.tile_hessians
#: inverse compositional Gauss-Newton on each tile (translation model); the tile's mean
#: square difference at the last evaluated position
_ica_refine = _k.ica_refine
#: mean square of ``alt(p + disp) - ref(p)`` over each tile (bilinear sampling)
_tile_residuals = _k.tile_residuals


def _centres(origins: np.ndarray, t: int) -> np.ndarray:
    return origins.astype(np.float64) + (t - 1) / 2.0


def _candidates(
    coarse: np.ndarray, coarse_pyr: tuple, fine_origins: tuple, t_fine: int, f: int
) -> np.ndarray:
    """(Ty, Tx, 3, 2) int32: up-scaled displacements of the 3 nearest coarser tiles."""
    (coy, cox), t_coarse = coarse_pyr
    ccy, ccx = _centres(coy, t_coarse), _centres(cox, t_coarse)
    fy = (_centres(fine_origins[0], t_fine) - (f - 1) / 2.0) / f  # in coarse pixels
    fx = (_centres(fine_origins[1], t_fine) - (f - 1) / 2.0) / f

    def nearest_two(c, centres):
        i = np.clip(np.searchsorted(centres, c), 0, len(centres) - 1)
        j = np.clip(i - 1, 0, len(centres) - 1)
        near = np.where(np.abs(centres[j] - c) < np.abs(centres[i] - c), j, i)
        other = np.where(near == i, j, i)
        return near, other

    ny, oy2 = nearest_two(fy, ccy)
    nx, ox2 = nearest_two(fx, ccx)
    cand = np.empty((len(fy), len(fx), 3, 2), np.int32)
    cand[:, :, 0] = coarse[ny[:, None], nx[None, :]] * f
    cand[:, :, 1] = coarse[oy2[:, None], nx[None, :]] * f
    cand[:, :, 2] = coarse[ny[:, None], ox2[None, :]] * f
    return cand


def _max_reach(pyr: Pyramid, params: AlignParams) -> list[int]:
    """Largest displacement each level can reach, px of that level (the padding needed)."""
    n = len(pyr.levels)
    reach = [0] * n
    for lev in range(n - 1, -1, -1):
        above = reach[lev + 1] * pyr.factors[lev + 1] if lev + 1 < n else 0
        reach[lev] = params.radii[lev] + above
    return reach


def align_frame(
    ref: Pyramid, alt_grey: np.ndarray, params: AlignParams | None = None, scale: int = 2
) -> TileAlignment:
    """Align one frame's grey image to the reference pyramid ``ref`` (see module docstring).

    ``scale`` is the number of frame pixels per grey pixel (2 for a mosaic, 1 for RGB).
    """
    params = params or AlignParams()
    if alt_grey.shape != ref.levels[0].shape:
        raise ValueError(f"grey images differ in shape: {alt_grey.shape} vs {ref.levels[0].shape}")
    alt = build_pyramid(alt_grey, params, blur=False)
    n = len(ref.levels)
    reach = _max_reach(ref, params)
    levels: list[np.ndarray] = [None] * n  # type: ignore[list-item]
    cost = None
    for lev in range(n - 1, -1, -1):
        r_img, a_img = ref.levels[lev], alt.levels[lev]
        oy, ox = ref.origins[lev]
        t = ref.tiles[lev]
        if lev == n - 1:
            cand = np.zeros((len(oy), len(ox), 1, 2), np.int32)
        else:
            f = ref.factors[lev + 1]
            cand = _candidates(
                levels[lev + 1], (ref.origins[lev + 1], ref.tiles[lev + 1]), (oy, ox), t, f
            )
        # pad only as far as this level's search can reach (at most ``reach``)
        pad = min(reach[lev], int(np.abs(cand).max()) + params.radii[lev])
        a_pad = a_img
        if pad:
            a_pad = cv2.copyMakeBorder(a_img, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
        out = np.empty((len(oy), len(ox), 2), np.int32)
        cost = np.empty((len(oy), len(ox)), np.float32)
        l1 = lev < params.l1_levels
        _tile_search(r_img, np.ascontiguousarray(a_pad), pad, oy, ox, t, cand,
                     params.radii[lev], l1, out, cost)
        levels[lev] = out
    disp = levels[0].astype(np.float32)
    oy, ox = ref.origins[0]
    t = ref.tiles[0]
    info = resid = model = from_model = None
    local = disp
    if params.subpixel_iterations > 0:
        pad = int(np.abs(disp).max()) + 3 if disp.size else 3
        if ref.gradients is None:
            ref.blurred = _blur(ref.levels[0], params.subpixel_sigma)
            ref.gradients = build_pyramid(ref.levels[0], params).gradients
        r_blur = ref.blurred
        gx, gy, info = ref.gradients
        a_blur = _blur(alt.levels[0], params.subpixel_sigma)
        a_pad = cv2.copyMakeBorder(a_blur, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
        local = np.empty_like(disp)
        resid = np.zeros((len(oy), len(ox)), np.float64)
        _ica_refine(r_blur, gx, gy, info, a_pad, pad, oy, ox, t, disp,
                    params.subpixel_iterations, local, resid)
        disp = local
        if params.global_model != "none":
            centres = (_centres(oy, t), _centres(ox, t))
            # blurred noise is correlated: the estimate's covariance is kappa * s2 * H^-1
            # the information of a tile is its *signal* gradient energy: remove what noise
            # adds to the Gauss-Newton matrix (else flat noisy tiles look textured)
            signal = _signal_information(info, resid, t * t, params.subpixel_sigma)
            fit = fit_motion(centres, local, signal, resid * _correlation(params.subpixel_sigma),
                             similarity=params.global_model == "similarity")
            if fit is not None:
                model, _ = fit
                yy, xx = np.meshgrid(centres[0], centres[1], indexing="ij")
                pred = np.ascontiguousarray(_affine_apply(model, xx, yy), dtype=np.float32)
                # likelihood-ratio test per tile: does the tile's own displacement explain
                # it significantly better than the camera's motion? (chi-square, 2 dof)
                r_model = np.empty_like(resid)
                _tile_residuals(r_blur, a_pad, pad, oy, ox, t, pred, r_model)
                kappa = _correlation(params.subpixel_sigma)
                s2 = np.maximum(resid, 1e-12)
                lr = t * t * (r_model - resid) / (kappa * s2)
                from_model = lr < params.model_threshold
                disp = np.where(from_model[..., None], pred, local).astype(np.float32)
    return TileAlignment(
        displacement=disp.astype(np.float32),
        centres_y=_centres(oy, t),
        centres_x=_centres(ox, t),
        scale=scale,
        levels=levels,
        cost=cost,
        local=local,
        model=model,
        from_model=from_model,
        info=info,
        residual=resid,
    )


def _affine_apply(model: np.ndarray, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """(dy, dx) of the affine ``model`` ((dx, dy) = model @ (x, y, 1)) at grid points."""
    dx = model[0, 0] * xx + model[0, 1] * yy + model[0, 2]
    dy = model[1, 0] * xx + model[1, 1] * yy + model[1, 2]
    return np.stack([dy, dx], axis=-1)


#: affine parameters (a11, a12, tx, a21, a22, ty) of a similarity (p, q, tx, ty)
_SIMILARITY = np.array(
    [[1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]],
    dtype=np.float64,
)


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    if not np.any(weights > 0):
        return float(np.median(values))
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, 0.5 * cum[-1])])


def fit_motion(
    centres: tuple[np.ndarray, np.ndarray],
    local: np.ndarray,
    info: np.ndarray,
    resid: np.ndarray,
    iterations: int = 8,
    similarity: bool = True,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Robust weighted least-squares camera motion from tile displacements: a similarity
    (4 parameters) or an affine map (6) of the displacement over the frame.

    Each tile's estimate counts with its information matrix ``H / s2`` (the Gauss-Newton
    Hessian over the residual variance of the tile, i.e. its inverse covariance), so flat
    tiles barely count; Tukey's biweight on the Mahalanobis distance removes moving objects
    and failed tiles (iteratively reweighted least squares). Returns ``(model, m2)``: the
    (2, 3) model in grey pixels and each tile's squared Mahalanobis distance to it, or
    ``None`` when too few tiles carry information.
    """
    yy, xx = np.meshgrid(centres[0], centres[1], indexing="ij")
    x, y = xx.ravel(), yy.ravel()
    u = np.stack([local[..., 1].ravel(), local[..., 0].ravel()], axis=1).astype(np.float64)
    h = info.reshape(-1, 3)
    s2 = resid.ravel()
    noise = np.median(s2[s2 > 0]) if np.any(s2 > 0) else 0.0
    s2 = np.maximum(s2, max(noise, 1e-12))
    hm = np.empty((len(x), 2, 2))
    hm[:, 0, 0] = h[:, 0] / s2
    hm[:, 0, 1] = hm[:, 1, 0] = h[:, 1] / s2
    hm[:, 1, 1] = h[:, 2] / s2
    if np.count_nonzero(h[:, 0] + h[:, 2] > 0) < 6:
        return None
    # normalised coordinates keep the normal equations well conditioned
    cx, cy = x.mean(), y.mean()
    sc = max(np.ptp(x), np.ptp(y), 1.0) / 2
    xn, yn = (x - cx) / sc, (y - cy) / sc
    phi = np.stack([xn, yn, np.ones_like(xn)], axis=1)  # (n, 3): the affine basis
    ha, hb, hc = hm[:, 0, 0], hm[:, 0, 1], hm[:, 1, 1]
    # start from the information-weighted median translation, counting only the tiles
    # close to it (a rotation of ~1 degree): dark scenes have few informative tiles among
    # many noise-only ones, and a plain least-squares start is pulled off by the latter
    # (each component weighted by its own information: an edge fixes only its normal)
    t0 = np.array([_weighted_median(u[:, 0], ha), _weighted_median(u[:, 1], hc)])
    gate = 2.0 + 0.01 * max(np.ptp(x), np.ptp(y))
    euclid2 = 2.0**2  # grey pixels
    weight = (np.hypot(u[:, 0] - t0[0], u[:, 1] - t0[1]) < gate).astype(np.float64)
    if not np.any(weight * (ha + hc) > 0):
        weight = np.ones(len(x))
    theta = None
    m2 = np.zeros(len(x))
    for it in range(iterations):
        # normal equations of sum_n (u_n - J_n t)^T W_n (u_n - J_n t), with
        # J_n = [[phi_n, 0], [0, phi_n]]: blocks of weighted outer products of phi
        wa, wb, wc = ha * weight, hb * weight, hc * weight
        a = np.empty((6, 6))
        a[:3, :3] = phi.T @ (phi * wa[:, None])
        a[:3, 3:] = a[3:, :3] = phi.T @ (phi * wb[:, None])
        a[3:, 3:] = phi.T @ (phi * wc[:, None])
        b = np.concatenate([phi.T @ (wa * u[:, 0] + wb * u[:, 1]),
                            phi.T @ (wb * u[:, 0] + wc * u[:, 1])])
        a += np.eye(6) * 1e-9 * np.trace(a)
        try:
            if similarity:  # dx = p x - q y + tx, dy = q x + p y + ty
                theta = _SIMILARITY @ np.linalg.solve(_SIMILARITY.T @ a @ _SIMILARITY,
                                                      _SIMILARITY.T @ b)
            else:
                theta = np.linalg.solve(a, b)
        except np.linalg.LinAlgError:
            return None
        rx = u[:, 0] - phi @ theta[:3]
        ry = u[:, 1] - phi @ theta[3:]
        m2 = ha * rx * rx + 2 * hb * rx * ry + hc * ry * ry
        # Tukey biweight on the Mahalanobis distance (scale shrinking from loose to 3
        # sigma), and on the distance in pixels: a tile whose own estimate is several
        # pixels off the camera's motion is a moving object or a failure, however little
        # information it claims
        c2 = max(9.0 * 2.0, 200.0 / (1 + it) ** 2)
        e2 = rx * rx + ry * ry
        weight = np.where(m2 < c2, (1 - m2 / c2) ** 2, 0.0) * np.where(
            e2 < euclid2, (1 - e2 / euclid2) ** 2, 0.0)
        if not np.any(weight > 0):
            return None
    a11, a12, b1, a21, a22, b2 = theta
    # back to pixel coordinates: d = A (p - c) / sc + b
    model = np.array(
        [
            [a11 / sc, a12 / sc, b1 - (a11 * cx + a12 * cy) / sc],
            [a21 / sc, a22 / sc, b2 - (a21 * cx + a22 * cy) / sc],
        ]
    )
    return model, m2.reshape(local.shape[:2])
