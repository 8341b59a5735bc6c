"""Measuring a merge against the simulated truth (used by the tests and benchmarks/night.py).

Two places to measure, as REFERENCES.md asks:

- **raw**: the merged mosaic against the reference frame's noiseless mosaic, both
  normalised (0 = black, 1 = white), PSNR with peak 1. Averaging N frames can gain at most
  ``10 log10(N)`` dB here (9.0 dB for 8): this is where the sqrt(N) limit is stated.
- **developed**: everything through :func:`redframe.isp.pipeline.develop` with a
  colorimetric rendering (no tone curve, no sharpening), against the noiseless mosaic
  developed the same way; PSNR on linear RGB and on the sRGB-encoded output, and SSIM on
  the encoded output (Wang et al. 2004, via scikit-image).

The developed comparison includes the contenders the issue names: the reference frame
alone, our single-frame denoiser on it, the plain mean of the unaligned frames, and
OpenCV's ``fastNlMeansDenoisingColoredMulti`` (Buades et al. 2005, non-local means over
time) on the developed 8-bit frames.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from redframe.burst.night import BurstResult
from redframe.burst.simulate import BurstSim
from redframe.color import srgb_decode
from redframe.io.scene import Scene
from redframe.isp.levels import black_white_levels
from redframe.isp.pipeline import DevelopParams, develop

__all__ = [
    "psnr",
    "normalised",
    "raw_metrics",
    "alignment_errors",
    "colorimetric",
    "developed_metrics",
    "IDEAL_GAIN",
]


def IDEAL_GAIN(n: int) -> float:  # noqa: N802 - reads as the constant it is
    """The averaging limit in dB: 10 log10(n)."""
    return 10.0 * float(np.log10(n))


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None, peak: float = 1.0
         ) -> float:
    d = (np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2
    if mask is not None:
        d = d[np.broadcast_to(mask if d.ndim == mask.ndim else mask[..., None], d.shape)]
    return 10.0 * float(np.log10(peak**2 / max(float(np.mean(d)), 1e-20)))


def normalised(scene: Scene) -> np.ndarray:
    """A raw scene's mosaic as normalised signal (0 = black, 1 = white), float32."""
    cal = scene.calibration
    return black_white_levels(scene.mosaic, cal.black_level, cal.white_level)


def _crop(border: int):
    return (slice(border, -border), slice(border, -border)) if border else (slice(None),) * 2


def raw_metrics(sim: BurstSim, result: BurstResult, border: int = 16) -> dict:
    """PSNR (dB) of the reference frame and of the merge against the clean mosaic, the
    gain, and the same inside / outside the moving object's region."""
    ref = result.reference
    crop = _crop(border)
    truth = sim.clean_mosaic(ref)[crop]
    single = normalised(sim.frames[ref])[crop]
    merged = normalised(result.scene)[crop]
    out = {"ref": psnr(single, truth), "merge": psnr(merged, truth)}
    out["gain"] = out["merge"] - out["ref"]
    moving = sim.moving_mask(ref)[crop]
    if moving.any():
        out["gain_outside"] = psnr(merged, truth, ~moving) - psnr(single, truth, ~moving)
        out["mse_inside_ref"] = float(np.mean((single - truth)[moving] ** 2))
        out["mse_inside_merge"] = float(np.mean((merged - truth)[moving] ** 2))
        out["gain_inside"] = 10 * np.log10(out["mse_inside_ref"] / out["mse_inside_merge"])
    return out


def alignment_errors(sim: BurstSim, result: BurstResult, exclude_moving: bool = True
                     ) -> np.ndarray:
    """|estimated - true| displacement (frame pixels) of every tile of every aligned frame,
    at the tile centres; tiles on the moving object follow it, not the camera, so they are
    left out by default."""
    ref = result.reference
    mask = sim.moving_mask(ref, dilate=16) if exclude_moving else None
    errors = []
    for i, alignment in result.alignments.items():
        pts = alignment.frame_points().reshape(-1, 2)
        est = alignment.frame_flow().reshape(-1, 2)
        err = np.hypot(*(est - sim.true_flow(ref, i, pts)).T)
        if mask is not None:
            h, w = mask.shape
            iy = np.clip(np.rint(pts[:, 1]).astype(int), 0, h - 1)
            ix = np.clip(np.rint(pts[:, 0]).astype(int), 0, w - 1)
            err = err[~mask[iy, ix]]
        errors.append(err)
    return np.concatenate(errors) if errors else np.zeros(0)


def colorimetric(denoise: bool = False):
    """Develop parameters for measurements: no tone curve, no sharpening; our single-frame
    denoiser off, or on at its defaults (strengths from the ISO, threshold from the noise
    it measures)."""
    p = DevelopParams(tone_curve=False)
    p.sharpen.amount = 0.0
    if not denoise:
        p.denoise.luma = p.denoise.chroma = 0.0
    return p


def _truth_scene(sim: BurstSim, ref: int) -> Scene:
    frame = sim.frames[ref]
    cal = frame.calibration
    black = np.tile(np.asarray(cal.black_level, np.float32), (frame.shape[0] // 2 + 1,
                                                              frame.shape[1] // 2 + 1))
    black = black[: frame.shape[0], : frame.shape[1]]
    dn = sim.clean_mosaic(ref) * (np.float32(cal.white_level) - black) + black
    return dataclasses.replace(frame, mosaic=dn.astype(np.float32), notes=[])


def developed_metrics(sim: BurstSim, result: BurstResult, border: int = 16,
                      nlmeans: bool = True) -> dict[str, dict[str, float]]:
    """Developed outputs against the developed truth: ``{name: {"psnr_linear",
    "psnr_srgb", "ssim"}}`` for the reference frame, our single-frame denoiser, the mean of
    the unaligned frames, OpenCV non-local means over the burst, our merge, and our merge
    with the denoiser."""
    from skimage.metrics import structural_similarity

    ref = result.reference
    crop = _crop(border)
    off = colorimetric(False)
    truth = develop(_truth_scene(sim, ref), off).image[crop]
    frame = sim.frames[ref]
    outputs = {
        "reference frame": develop(frame, off).image,
        "single-frame denoiser": develop(frame, colorimetric(True)).image,
    }
    mean = np.mean([f.mosaic.astype(np.float32) for f in sim.frames], axis=0)
    outputs["mean of unaligned frames"] = develop(dataclasses.replace(frame, mosaic=mean),
                                                  off).image
    if nlmeans:
        outputs["OpenCV fastNlMeansMulti"] = _nlmeans(sim, ref, off)
    outputs["our merge"] = develop(result.scene, off).image
    outputs["our merge + denoiser"] = develop(result.scene, colorimetric(True)).image
    table = {}
    for name, image in outputs.items():
        enc = np.asarray(image, np.float32)[crop]
        table[name] = {
            "psnr_linear": psnr(srgb_decode(enc), srgb_decode(truth)),
            "psnr_srgb": psnr(enc, truth),
            "ssim": float(structural_similarity(enc, truth, channel_axis=2, data_range=1.0)),
        }
    return table


#: fastNlMeans filter strength h = H_FACTOR x the measured noise sigma (8-bit units): the
#: best of a sweep 0.4 ... 4 on our ISO 3200 test bursts (PSNR flat from 1.3 to 1.6), so
#: the contender runs at its best
H_FACTOR = 1.4


def _nlmeans(sim: BurstSim, ref: int, params) -> np.ndarray:
    """OpenCV's temporal non-local means on the developed 8-bit frames around ``ref``;
    ``h`` follows the noise measured on the reference frame (MAD of a Laplacian)."""
    import cv2

    p8 = dataclasses.replace(params, output_bits=8)
    others = [i for i in range(len(sim.frames)) if i != ref]
    window = min(len(sim.frames) - (len(sim.frames) + 1) % 2, 7)  # odd, at most 7
    half = window // 2
    order = others[:half] + [ref] + others[half : 2 * half]  # the reference in the middle
    frames = [np.ascontiguousarray(develop(sim.frames[i], p8).image[..., ::-1]) for i in order]
    grey = cv2.cvtColor(frames[half], cv2.COLOR_BGR2GRAY).astype(np.float32)
    lap = cv2.Laplacian(grey, cv2.CV_32F, ksize=1)
    sigma = float(np.median(np.abs(lap - np.median(lap)))) / 0.6745 / np.sqrt(20.0)
    h = float(np.clip(H_FACTOR * sigma, 3.0, 80.0))
    out = cv2.fastNlMeansDenoisingColoredMulti(frames, half, window, None, h, h, 7, 21)
    return out[..., ::-1].astype(np.float32) / 255.0
