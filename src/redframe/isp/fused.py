"""Fast path of the develop pipeline: the same per-pixel math as the NumPy reference stages,
fused into a few kernels that run on all cores without full-size temporaries.

This is the Halide camera_pipe idea (Ragan-Kelley et al. 2013, "Halide: a language and
compiler for optimizing parallelism, locality, and recomputation in image processing
pipelines", PLDI): the algorithm of each stage stays readable in its own module
(levels, white_balance, highlights, color, denoise, tone, output, sharpen), while this
module is only a *schedule* of it: which runs of stages of
:data:`redframe.isp.stages.STAGES` each kernel computes (:data:`SCHEDULE`), tiled in rows
and vectorised. The per-pixel formulas are not repeated here: the kernels inline the
scalar functions of :mod:`redframe.isp.pixel` (``_pixel.pxd``), the same ones the reference
stages run over arrays. ``tests/test_stages.py`` checks, stage by stage, that both engines
agree. The kernels are compiled ahead of time (Cython + OpenMP) in ``_fused.pyx``; this
module allocates their outputs and prepares their arguments.
"""

from __future__ import annotations

import cv2
import numpy as np

from redframe.color import LUMA_REC709, LUMA_REC2020, rgb_to_rgb_matrix
from redframe.color.dither import DITHER_SEED
from redframe.io.scene import pattern_to_index
from redframe.isp import _fused as _k
from redframe.isp import _lens_shading as _shading
from redframe.isp.compose import Kernel
from redframe.isp.denoise import denoise_coefficients, resolve
from redframe.isp.filters import weighted_sum
from redframe.isp.highlights import weight_from_fraction
from redframe.isp.lens_shading import mosaic_gains
from redframe.isp.output import OUTPUT_SPACES, gamut_table
from redframe.isp.quantize import OUTPUT_DTYPES
from redframe.isp.sharpen import SharpenParams
from redframe.isp.tone import tone_vector

__all__ = ["levels_wb", "highlights_matrix", "finish", "finish_denoise_only", "sharpen_apply",
           "sharpen_quantize", "denoise_domain", "bin_preview", "clip_weight", "SCHEDULE"]

_LUMA_709 = LUMA_REC709  # as redframe.isp.sharpen
# the luma weights (float32) as the kernels take them
_LUM_2020 = np.ascontiguousarray(LUMA_REC2020, np.float32)
_LUM_709 = np.ascontiguousarray(LUMA_REC709, np.float32)
#: mosaic dtypes the kernels read as they are (others are converted to float32 first, the
#: conversion the kernels make per value)
_MOSAIC_DTYPES = (np.dtype(np.uint16), np.dtype(np.float32))


def _mosaic(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype not in _MOSAIC_DTYPES:
        x = x.astype(np.float32)
    return np.ascontiguousarray(x)


def _f32(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)


def levels_wb(
    mosaic: np.ndarray, black: np.ndarray, white: float, gains_site: np.ndarray, row0: int = 0,
    shading: tuple | None = None,
) -> np.ndarray:
    """Fused :func:`black_white_levels` + :func:`white_balance` on a mosaic (or strip of it
    starting at full-frame row ``row0``). ``gains_site`` is the gain per CFA site (2, 2).
    ``shading``: the lens shading's per-pixel gains in the same pass
    (:func:`redframe.isp.lens_shading.mosaic_gains`, ``_lens_shading.levels_shade``: the
    values of the two passes, without the second pass over the mosaic)."""
    black = np.ascontiguousarray(black, dtype=np.float32)
    scale = np.ascontiguousarray(
        np.asarray(gains_site, np.float32) / np.maximum(np.float32(white) - black, 1.0),
        dtype=np.float32)
    mosaic = _mosaic(mosaic)
    out = np.empty(mosaic.shape, np.float32)
    if shading is None:
        _k.levels_wb(mosaic, black, scale, int(row0), out)
    else:
        _shading.levels_shade(mosaic, black, scale, int(row0), out, *shading)
    return out


_NO_WEIGHT = np.zeros((1, 1, 3), np.float32)


def _ratios(rho) -> np.ndarray:
    return (np.full((3, 3), -1.0, np.float32) if rho is None
            else np.ascontiguousarray(rho, np.float32))


def clip_weight(
    rgb: np.ndarray, clip: np.ndarray, threshold: float, gain: np.ndarray | None = None
) -> np.ndarray | None:
    """:func:`redframe.isp.highlights.clip_weight` of ``rgb * gain`` (one kernel for the
    common case where nothing is near clipping)."""
    gain = np.ones(3, np.float32) if gain is None else np.asarray(gain, np.float32)
    inv = (1.0 / np.asarray(clip, np.float64)).astype(np.float32)
    rgb = _f32(rgb)
    row_max = np.empty(rgb.shape[0], np.float32)
    # the row maxima first: without anything near clipping (most pictures) no frame-sized
    # array of fractions is made (fresh memory, 36 MB for a 3 MP preview, costs 0.3-3 us
    # a page to fault in on our VM)
    _k.clip_row_max(rgb, _f32(gain), inv, row_max)
    if not np.any(row_max > np.float32(threshold)):
        return None
    frac = np.empty(rgb.shape, np.float32)
    _k.clip_fraction(rgb, _f32(gain), inv, frac, row_max)
    return weight_from_fraction(frac, threshold)


def highlights_matrix(
    rgb: np.ndarray,
    clip: np.ndarray,
    threshold: float,
    reconstruct: bool,
    matrix: np.ndarray,
    gain: np.ndarray | None = None,
    out: np.ndarray | None = None,
    rho: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`reconstruct_highlights` (with the ratios ``rho``) then ``matrix @ rgb``
    (colour + exposure), of ``rgb * gain`` (white balance, when not applied yet), into
    ``out`` (default: in place)."""
    gain = np.ones(3, np.float32) if gain is None else np.asarray(gain, np.float32)
    weight = clip_weight(rgb, clip, threshold, gain) if reconstruct else None
    src = _f32(rgb)
    target = rgb if out is None else out  # default: in place
    dst = target if (target.dtype == np.float32 and target.flags.c_contiguous
                     and target.shape == src.shape) else np.empty(src.shape, np.float32)
    _k.highlights_matrix(
        src,
        _f32(gain),
        _f32(weight) if weight is not None else _NO_WEIGHT,
        _ratios(rho),
        weight is not None,
        _f32(matrix),
        dst,
    )
    if dst is not target:
        target[...] = dst
    return target


def axis_map(n_dst: int, n_src: int, start: int = 0, n_full: int | None = None):
    """Source indices and weights of cv2.resize INTER_LINEAR along one axis, for destination
    pixels ``start .. start + n_dst`` of a full axis of ``n_full`` (default ``n_dst``)."""
    n_full = n_dst if n_full is None else n_full
    f = (np.arange(start, start + n_dst, dtype=np.float64) + 0.5) * (n_src / n_full) - 0.5
    f = np.clip(f, 0.0, n_src - 1)
    i0 = np.floor(f).astype(np.int64)
    i0 = np.minimum(i0, n_src - 1)
    i1 = np.minimum(i0 + 1, n_src - 1)
    return i0, i1, (f - i0).astype(np.float32)


_EMPTY4 = np.zeros((4, 1, 1), np.float32)
_EMPTY2 = np.zeros((1, 1), np.float32)
_EMPTY_T = np.zeros((0, 0), np.float32)


def finish(
    rgb: np.ndarray,
    *,
    denoise=None,
    ltm=None,
    ltm_row0: int = 0,
    tone=None,
    space: str = "srgb",
    sqrt_input: bool = False,
    luma: np.ndarray | None = None,
    planar: bool = False,
    gain: tuple | None = None,
) -> np.ndarray:
    """Denoise (coefficients precomputed) -> local tone map -> tone curve -> output
    transform -> encode, in one pass. Returns encoded float32 (H, W, 3). With
    ``sqrt_input`` (and ``denoise``), ``rgb`` is already in the denoiser's domain
    (:func:`denoise_domain`). ``luma`` (H, W) float32, if given, receives the Rec.709 luma
    of the encoded result (what output sharpening works on). ``planar``: return (3, H, W)
    instead of (H, W, 3) (what :func:`sharpen_quantize` reads fastest).

    ``denoise`` is ``(yz, (a, b), chroma_s, luma_s, bias)`` (see denoise_coefficients and
    :func:`redframe.isp.denoise.denoise` for the bias, None for none) or None;
    ``ltm`` is a :class:`redframe.isp.tone.LocalToneMap` or None; ``tone`` a ToneParams or
    None (no curve).

    ``gain``: ``(table, out)``, the HDR rendition's gain wanted too (the fast path of
    :func:`redframe.isp.hdr.gain_rows`, from the light the tone curve gets and the same
    before the local tone map): ``table`` as :func:`redframe.isp.hdr.kernel_table` makes
    it, ``out`` (H, W) float32 receives it.
    """
    if space not in OUTPUT_SPACES:
        raise ValueError(f"output space must be one of {OUTPUT_SPACES}, got {space!r}")
    h, w, _ = rgb.shape
    out = np.empty((3, h, w), np.float32)  # planar: every row store is contiguous
    if denoise is not None:
        yz, (ca, cb), chroma_s, luma_s, bias = denoise
        dn = True
    else:
        yz, ca, cb, chroma_s, luma_s, dn, bias = _EMPTY2, _EMPTY4, _EMPTY4, 0.0, 0.0, False, None
    bias = np.zeros(3, np.float32) if bias is None else np.asarray(bias, np.float32)
    if ltm is not None:
        # the grid rows this strip needs, interpolated along x once (as cv2.resize does):
        # per pixel only a lerp between two contiguous rows is left
        t0, t1, ft = axis_map(h, ltm.a.shape[0], ltm_row0, ltm.full_shape[0])
        r0, r1 = int(t0.min()), int(t1.max()) + 1
        ta, tb = (
            cv2.resize(np.ascontiguousarray(g[r0:r1], np.float32), (w, r1 - r0),
                       interpolation=cv2.INTER_LINEAR).reshape(r1 - r0, w)
            for g in (ltm.a, ltm.b)
        )
        tmy = (t0 - r0, t1 - r0, ft)
        ltm_lim = np.array([ltm.floor, ltm.max_gain], np.float32)
    else:
        ta = tb = _EMPTY_T
        tmy = axis_map(h, 1)
        ltm_lim = np.array([2.0**-24, 24.0], np.float32)
    tv = tone_vector(tone) if tone is not None else np.zeros(6)
    mout = rgb_to_rgb_matrix("rec2020", space).astype(np.float32)
    gamut = gamut_table(space)
    cmy, cmx = axis_map(h, ca.shape[1]), axis_map(w, ca.shape[2])
    _k.finish(
        _f32(rgb),
        _f32(yz),
        dn,
        dn and sqrt_input,
        _f32(ca),
        _f32(cb),
        np.float32(chroma_s),
        np.float32(luma_s),
        bias,
        cmy,
        cmx,
        _f32(ta),
        _f32(tb),
        tmy,
        ltm_lim,
        tone is not None,
        np.ascontiguousarray(tv, np.float64),
        mout,
        np.ascontiguousarray(gamut, np.float64),
        out,
        luma is not None,
        _EMPTY2 if luma is None else luma,
        _LUM_2020,
        _LUM_709,
        gain is not None,
        *((gain[1], gain[0][0], gain[0][1]) if gain is not None else (None, None, None)),
    )
    return out if planar else np.ascontiguousarray(np.moveaxis(out, 0, -1))


def sharpen_apply(img: np.ndarray, params) -> np.ndarray:
    """In place: :func:`redframe.isp.sharpen.sharpen` with the final add fused."""
    if params.amount <= 0:
        return img
    y = weighted_sum(img, _LUMA_709)
    blur = cv2.GaussianBlur(y, (0, 0), params.radius, borderType=cv2.BORDER_REFLECT_101)
    work = img if (img.dtype == np.float32 and img.flags.c_contiguous) else _f32(img)
    _k.sharpen_apply(work, _f32(y), _f32(blur), np.float32(params.amount),
                     np.float32(params.threshold))
    if work is not img:
        img[...] = work
    return img


def denoise_domain(
    rgb: np.ndarray,
    clip: np.ndarray | None = None,
    threshold: float = 0.9,
    matrix: np.ndarray | None = None,
    gain: np.ndarray | None = None,
    rho: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The denoiser's working domain in one pass over ``rgb``: optionally white balance
    (``gain``), highlight repair (when ``clip`` is given) and ``matrix`` first (as
    :func:`highlights_matrix`), then ``z = sign(x) sqrt|x|`` (H, W, 3), its Rec.2020 luma
    (H, W) and ``z`` binned 2x2 (:func:`redframe.isp.denoise.bin2x2`)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.float32)
    h, w, _ = rgb.shape
    gain = np.ones(3, np.float32) if gain is None else np.asarray(gain, np.float32)
    weight = clip_weight(rgb, clip, threshold, gain) if clip is not None else None
    m = np.eye(3, dtype=np.float32) if matrix is None else np.asarray(matrix, np.float32)
    z = np.empty((h, w, 3), np.float32)
    y = np.empty((h, w), np.float32)
    z_low = np.empty(((h + 1) // 2, (w + 1) // 2, 3), np.float32)
    _k.denoise_domain(
        rgb,
        _f32(gain),
        _f32(weight) if weight is not None else _NO_WEIGHT,
        _ratios(rho),
        weight is not None,
        _f32(m),
        _LUM_2020,
        z,
        y,
        z_low,
    )
    return z, y, z_low


def finish_denoise_only(rgb: np.ndarray, dn, sqrt_input: bool = False) -> np.ndarray:
    """Apply only the denoise part of :func:`finish`, returning linear light (for looks)."""
    h, w, _ = rgb.shape
    yz, (ca, cb), chroma_s, luma_s, bias = dn
    bias = np.zeros(3, np.float32) if bias is None else np.asarray(bias, np.float32)
    rgb = _f32(rgb)
    out = np.empty_like(rgb)
    cmy, cmx = axis_map(h, ca.shape[1]), axis_map(w, ca.shape[2])
    _k.denoise_only(rgb, _f32(yz), _f32(ca), _f32(cb), np.float32(chroma_s),
                    np.float32(luma_s), cmy, cmx, bool(sqrt_input), bias, out)
    return out


def bin_preview(
    mosaic: np.ndarray, pattern_index: np.ndarray, black: np.ndarray, white: float
) -> np.ndarray:
    """Fused :func:`redframe.isp.pipeline.preview_camera_rgb` (2x2 binning + levels)."""
    black = np.asarray(black, dtype=np.float32).reshape(2, 2)
    scale = (1.0 / np.maximum(np.float32(white) - black, 1.0)).astype(np.float32)
    idx = np.asarray(pattern_index)
    greens = [(dy, dx) for dy in range(2) for dx in range(2) if idx[dy, dx] == 1]
    (ry, rx), (by, bx) = (
        next((dy, dx) for dy in range(2) for dx in range(2) if idx[dy, dx] == c) for c in (0, 2)
    )
    site = np.array([(ry, rx), greens[0], greens[1], (by, bx)], np.int64)
    mosaic = _mosaic(mosaic)
    out = np.empty((mosaic.shape[0] // 2, mosaic.shape[1] // 2, 3), np.float32)
    _k.bin_preview(
        mosaic,
        np.ascontiguousarray(black[site[:, 0], site[:, 1]]),
        np.ascontiguousarray(scale[site[:, 0], site[:, 1]]),
        site,
        out,
    )
    return out


def sharpen_quantize(
    img: np.ndarray,
    params,
    out: np.ndarray,
    offset: int = 0,
    row0: int = 0,
    dither: bool | None = None,
    luma: np.ndarray | None = None,
    planar: bool = False,
) -> np.ndarray:
    """:func:`redframe.isp.sharpen.sharpen` then quantisation into ``out`` (uint8/uint16),
    with triangular (TPDF) dither of +-1 LSB for 8-bit output, seeded by pixel position so
    strips and reruns give identical files (Lipshitz, Wannamaker, Vanderkooy 1992,
    "Quantization and dither: a theoretical survey", J. AES 40(5)).

    ``img`` may be a padded strip: rows ``offset .. offset + len(out)`` are written, and
    ``row0`` is the full-frame row of ``out[0]`` (for the dither pattern). ``luma``: the
    Rec.709 luma of ``img`` when already known (see :func:`finish`). ``planar``: ``img`` is
    (3, H, W) (as :func:`finish` returns it with ``planar=True``); ``out`` is (H, W, 3).
    """
    n = out.shape[0]
    maxval = np.float32(np.iinfo(out.dtype).max)
    if dither is None:
        dither = out.dtype == np.uint8
    if not planar:
        img = np.ascontiguousarray(np.moveaxis(img, -1, 0), dtype=np.float32)
    if params.amount > 0:
        if luma is not None:
            y = luma
        else:
            k = _LUMA_709
            y = k[0] * img[0] + k[1] * img[1] + k[2] * img[2]
        blur = cv2.GaussianBlur(y, (0, 0), params.radius, borderType=cv2.BORDER_REFLECT_101)
        y, blur = y[offset : offset + n], blur[offset : offset + n]
    else:
        y = blur = np.zeros((1, 1), np.float32)
    planes = [_f32(img[c, offset : offset + n]) for c in range(3)]
    target = out
    if not out.flags.c_contiguous:
        out = np.empty(out.shape, out.dtype)
    _k.sharpen_quantize(
        *planes,
        _f32(y),
        _f32(blur),
        np.float32(max(params.amount, 0.0)),
        np.float32(params.threshold),
        int(row0),
        out,
        maxval,
        bool(dither),
        DITHER_SEED,
    )
    if out is not target:
        target[...] = out
    return target


# ----------------------------------------------------------------------------- the schedule
# Kernels over runs of consecutive stages of redframe.isp.stages.STAGES (see
# redframe.isp.compose.Kernel). A stage no kernel covers runs its reference implementation.

_NO_SHARPEN = SharpenParams(amount=0.0)


def _levels_wb_take(names, ctx) -> int:
    if ctx.kind != "cfa" or names[:2] != ["levels", "white_balance"]:
        return 0
    return 3 if names[2:3] == ["lens_shading"] and mosaic_gains(ctx) is not None else 2


def _levels_wb_run(ctx, strip, names, rest):
    """Levels and white balance on the mosaic, one pass; with the lens shading when it
    follows and is a gain per pixel."""
    x = strip.take()
    cal, lv = ctx.calibration, ctx.params.levels
    black = cal.black_level if lv.black is None else np.full((2, 2), lv.black, np.float32)
    white = cal.white_level if lv.white is None else lv.white
    return levels_wb(x, black, white, ctx.plan.gains[pattern_to_index(cal.pattern)],
                     row0=strip.a,
                     shading=mosaic_gains(ctx) if "lens_shading" in names else None)


#: the stages the render kernel can run, in list order
_RENDER = ("white_balance", "highlights", "color", "exposure", "denoise", "local_tone_map",
           "tone_curve", "output")
_MATRIX = ("white_balance", "highlights", "color", "exposure")


def _render_accepts(name: str, ctx) -> bool:
    if name == "exposure":  # a gain in the matrix; a decoded picture's runs its reference
        return ctx.kind != "rec2020"
    if name == "white_balance":  # on RGB (a mosaic is balanced per CFA site, above)
        return ctx.kind == "camera"
    if name == "highlights":
        return ctx.params.highlights.mode == "reconstruct"
    return True


def _render_take(names, ctx) -> int:
    if "output" in names:  # the finish pass: linear light in, encoded out
        return names.index("output") + 1
    # linear light out: the matrix pass (and the denoiser) only
    n = 0
    while n < len(names) and names[n] in (*_MATRIX, "denoise"):
        n += 1
    return n


def _render_run(ctx, strip, names, rest, hdr_gain=None):
    """White balance (camera RGB), highlight repair, the colour matrix and exposure in one
    pass (:func:`highlights_matrix`, or :func:`denoise_domain` into the denoiser's sqrt
    domain); then denoise, local tone map, tone curve, output transform and encoding in
    one more (:func:`finish`), or the denoiser alone when linear light is wanted.
    ``hdr_gain``: ``(table, out)`` handed to :func:`finish` when it runs the tone curve (the HDR
    rendition's gain, :mod:`redframe.isp.hdr`); ``out`` is then the strip's rows (b - a, W)."""
    plan, params = ctx.plan, ctx.params
    rgb = np.ascontiguousarray(strip.take(), dtype=np.float32)
    dn = None
    if any(n in names for n in _MATRIX) or "denoise" in names:
        gain = plan.gains if "white_balance" in names else None
        reconstruct = "highlights" in names
        m = np.asarray(plan.matrix if "color" in names else np.eye(3), np.float64)
        if "exposure" in names:
            m = m * plan.exposure
        threshold = params.highlights.threshold
        if "denoise" in names:
            luma_s, chroma_s, sigma = resolve(params.denoise, ctx.scene.meta.iso, plan.sigma)
            rgb, yz, z_low = denoise_domain(rgb, plan.clip if reconstruct else None,
                                            threshold, m, gain, rho=plan.highlight_ratio)
            dn = (yz, denoise_coefficients(z_low, sigma), chroma_s, luma_s, plan.denoise_bias)
        else:
            shared = strip.source is not None and np.may_share_memory(rgb, strip.source)
            rgb = highlights_matrix(
                rgb, plan.clip, threshold, reconstruct, m, gain=gain, rho=plan.highlight_ratio,
                out=np.empty(rgb.shape, np.float32) if (gain is not None or shared) else None,
            )
    if "output" not in names:
        return rgb if dn is None else finish_denoise_only(rgb, dn, sqrt_input=True)
    # hand-over to the quantiser kernel: planar rows, and the luma sharpening needs
    to_quantizer = rest[:1] == ("quantize",) or rest[:2] == ("sharpen", "quantize")
    luma = (np.empty(rgb.shape[:2], np.float32)
            if to_quantizer and rest[0] == "sharpen" else None)
    enc = finish(
        rgb,
        denoise=dn,
        ltm=plan.ltm if "local_tone_map" in names else None,
        ltm_row0=strip.a,
        tone=params.tone if "tone_curve" in names else None,
        space=params.output.space,
        sqrt_input=dn is not None,
        luma=luma,
        planar=to_quantizer,
        gain=hdr_gain if "tone_curve" in names else None,
    )
    strip.planar, strip.luma = to_quantizer, luma
    return enc


def _sharpen_quantize_take(names, ctx) -> int:
    return len(names)


def _sharpen_quantize_run(ctx, strip, names, rest):
    """Output sharpening and quantisation into the frame's rows, one pass; or sharpening
    alone, in place (float output)."""
    x = strip.take()
    sharp = ctx.params.sharpen if "sharpen" in names else _NO_SHARPEN
    if "quantize" in names:
        if not rest and strip.out is not None:  # straight into the frame's rows
            sharpen_quantize(x, sharp, strip.out[strip.y0 : strip.y1],
                             offset=strip.y0 - strip.a, row0=strip.y0, luma=strip.luma,
                             planar=strip.planar)
            return None
        h, w = x.shape[1:] if strip.planar else x.shape[:2]
        out = np.empty((h, w, 3), OUTPUT_DTYPES[ctx.params.output_bits])
        sharpen_quantize(x, sharp, out, row0=strip.a, luma=strip.luma, planar=strip.planar)
        strip.planar, strip.luma = False, None
        return out
    if strip.planar:
        x = np.ascontiguousarray(np.moveaxis(x, 0, -1))
        strip.planar, strip.luma = False, None
    elif strip.source is not None and np.may_share_memory(x, strip.source):
        x = np.array(x, dtype=np.float32)
    return sharpen_apply(np.ascontiguousarray(x, dtype=np.float32), sharp)


#: The fused schedule of the stage list (tried in this order at each stage).
SCHEDULE = (
    Kernel("levels_wb", ("levels", "white_balance", "lens_shading"), _levels_wb_take,
           _levels_wb_run),
    Kernel("render", _RENDER, _render_take, _render_run, _render_accepts),
    Kernel("sharpen_quantize", ("sharpen", "quantize"), _sharpen_quantize_take,
           _sharpen_quantize_run),
)
