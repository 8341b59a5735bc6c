"""White balance: scale camera RGB so that the scene's neutral becomes R = G = B.

Reads/writes normalised linear camera RGB (mosaic or 3-channel), float32. Gains are
normalised so that green is 1 (the channel that clips first keeps its range; highlight
reconstruction deals with what clips after scaling).

Modes: ``asshot`` (the camera's AsShotNeutral), ``auto`` (estimated from the image,
shades-of-grey, Finlayson & Trezzi 2004, "Shades of Gray and Colour Constancy", CIC 12,
on unclipped mid-tone pixels), ``kelvin`` (a correlated colour temperature plus tint: the
illuminant's white on the CIE daylight locus above 4000 K, on the Planckian locus below,
by :func:`redframe.color.cct_to_xy`, mapped to camera RGB with the file's XYZ->camera
matrix), ``daylight`` (5500 K).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from redframe.color import cct_to_xy, xy_to_xyz
from redframe.io.scene import pattern_to_index
from redframe.isp.stage import Stage, is_raw
from redframe.isp.stats import quantile
from redframe.params import param, validate

__all__ = ["WhiteBalanceParams", "white_balance", "white_balance_gains",
           "estimate_neutral_shades_of_grey", "parse_wb", "STAGE"]


@dataclass
class WhiteBalanceParams:
    mode: str = param("asshot", choices=("asshot", "auto", "kelvin", "daylight"),
                      doc="where the white comes from: the camera, the image, a temperature")
    kelvin: float = param(5500.0, lo=2000.0, hi=12000.0, unit="K",
                          doc="colour temperature of the light, for mode kelvin")
    tint: float = param(0.0, lo=-100.0, hi=100.0, unit="Duv x 1000",
                        doc="green (-) / magenta (+) tint, for mode kelvin")

    def __post_init__(self):
        validate(self, "wb")


def parse_wb(text: str) -> WhiteBalanceParams:
    """``asshot`` | ``auto`` | ``daylight`` | ``5500K`` | ``5500K+10`` (Kelvin and tint)."""
    t = text.strip().lower()
    if t in ("asshot", "as-shot", "camera"):
        return WhiteBalanceParams("asshot")
    if t in ("auto", "daylight"):
        return WhiteBalanceParams(t)
    body = t.rstrip()
    tint = 0.0
    for sign in ("+", "-"):
        if sign in body[1:]:
            idx = body.index(sign, 1)
            body, tint = body[:idx], float(body[idx:])
            break
    if body.endswith("k"):
        body = body[:-1]
    try:
        kelvin = float(body)
    except ValueError:
        raise ValueError(f"white balance must be asshot, auto, daylight or a temperature like "
                         f"5500K, got {text!r}") from None
    if not 2000 <= kelvin <= 12000 or not -100 <= tint <= 100:
        raise ValueError(f"white balance {text!r}: temperature must be 2000..12000 K and "
                         f"tint -100..100")
    return WhiteBalanceParams("kelvin", kelvin, tint)


def estimate_neutral_shades_of_grey(rgb: np.ndarray, p: float = 6.0) -> np.ndarray:
    """Camera-RGB neutral of a linear (H, W, 3) image (a small preview is enough).

    Minkowski p-norm of each channel over pixels that are neither clipped (any channel
    >= 0.95 of white) nor in deep shadow (bottom 5% of green), Finlayson & Trezzi 2004.
    """
    flat = rgb.reshape(-1, 3).astype(np.float64)
    ok = np.all(np.isfinite(flat), axis=1) & (flat.max(axis=1) < 0.95)
    flat = flat[ok]
    if flat.shape[0] < 16:
        return np.ones(3)
    g = flat[:, 1]
    flat = flat[g > quantile(g, 0.05)]
    flat = np.clip(flat, 0, None)
    norm = np.power(np.mean(np.power(flat, p), axis=0), 1.0 / p)
    if not np.all(norm > 0):
        return np.ones(3)
    return norm / norm[1]


def white_balance_gains(
    params: WhiteBalanceParams,
    xyz_to_camera: np.ndarray | None,
    as_shot_neutral: np.ndarray | None,
    preview: np.ndarray | None = None,
) -> tuple[np.ndarray, str]:
    """(R, G, B) gains with G = 1 and a note saying where they came from."""
    mode = params.mode
    if mode == "asshot" and as_shot_neutral is None:
        mode = "auto" if preview is not None else "daylight"
        note = f"no as-shot white balance in the file; used {mode}"
    else:
        note = mode
    if mode == "asshot":
        neutral = np.asarray(as_shot_neutral, dtype=np.float64)
    elif mode == "auto":
        if preview is None:
            raise ValueError("auto white balance needs a preview image")
        neutral = estimate_neutral_shades_of_grey(preview)
    else:
        kelvin = 5500.0 if mode == "daylight" else params.kelvin
        if xyz_to_camera is None:
            raise ValueError("a Kelvin white balance needs the camera's colour matrix")
        # the tint names the light, + magenta (below the locus): duv = -tint / 1000
        tint = params.tint if mode == "kelvin" else 0.0
        xy = cct_to_xy(kelvin, -tint / 1000.0)
        neutral = np.asarray(xyz_to_camera, dtype=np.float64) @ xy_to_xyz(xy)
        note = f"{kelvin:.0f} K" + (f", tint {params.tint:+g}" if params.tint else "")
    neutral = np.asarray(neutral, dtype=np.float64)
    if neutral.shape != (3,) or not np.all(np.isfinite(neutral)) or np.any(neutral <= 0):
        raise ValueError(f"white balance neutral must be three positive numbers, got {neutral}")
    gains = neutral[1] / neutral
    return gains.astype(np.float32), note


def white_balance(
    image: np.ndarray,
    gains: np.ndarray,
    pattern: str | None = None,
    origin: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """Multiply by ``gains``: per CFA site for a mosaic (``pattern`` of the full frame,
    ``origin`` of the tile) or per channel for (H, W, 3). Returns a new float32 array."""
    gains = np.asarray(gains, dtype=np.float32)
    if image.ndim == 3:
        return (image * gains).astype(np.float32, copy=False)
    site = np.roll(pattern_to_index(pattern), (-(origin[0] % 2), -(origin[1] % 2)), axis=(0, 1))
    out = np.empty(image.shape, dtype=np.float32)
    for dy in range(2):
        for dx in range(2):
            np.multiply(image[dy::2, dx::2], gains[site[dy, dx]], out=out[dy::2, dx::2])
    return out


def _analyse(ctx) -> None:
    cal, plan = ctx.calibration, ctx.plan
    gains, note = white_balance_gains(ctx.params.wb, cal.xyz_to_camera, cal.as_shot_neutral,
                                      ctx.preview.rgb)
    plan.gains, plan.clip = gains, gains.copy()
    plan.notes.append(f"white balance: {note}")


def _apply(x: np.ndarray, ctx, rows) -> np.ndarray:
    if x.ndim == 2:
        return white_balance(x, ctx.plan.gains, ctx.calibration.pattern, origin=(rows[0], 0))
    return white_balance(x, ctx.plan.gains)


STAGE = Stage(
    name="white_balance",
    params="wb",
    reads="normalised linear camera RGB (CFA mosaic or 3 channels)",
    writes="white-balanced linear camera RGB (G gain 1), unclipped",
    apply=_apply,
    cite="DNG 1.6 AsShotNeutral; Finlayson & Trezzi 2004, 'Shades of Gray and Colour "
         "Constancy', CIC 12 (auto); CIE 015:2018 daylight locus (Kelvin)",
    enabled=is_raw,
    analyse=_analyse,
    preview=True,
)
