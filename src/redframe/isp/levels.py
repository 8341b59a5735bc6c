"""Black and white levels: raw DN -> normalised linear camera signal.

Reads: CFA mosaic (H, W) in raw DN (any integer or float dtype), or linear camera RGB.
Writes: float32, 0 = black, 1 = the sensor's white (clipping) level, per CFA site / channel.
Values are *not* clipped: noise below black stays negative so that averages stay unbiased.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from redframe.isp.stage import Stage, is_raw
from redframe.params import param, validate

__all__ = ["LevelsParams", "black_white_levels", "levels_identity", "STAGE"]


@dataclass
class LevelsParams:
    """Levels in raw DN; ``None`` takes the file's values (DNG BlackLevel/WhiteLevel)."""

    black: float | None = param(None, lo=0.0, unit="DN",
                                doc="black level of every CFA site; unset: the file's")
    white: float | None = param(None, lo=0.0, unit="DN",
                                doc="white (clipping) level; unset: the file's")

    def __post_init__(self):
        validate(self, "levels")


def black_white_levels(
    image: np.ndarray,
    black: np.ndarray,
    white: float,
    params: LevelsParams | None = None,
    origin: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """Return ``(image - black) / (white - black)`` as float32.

    ``black`` is (2, 2) per CFA site for a mosaic (site (y % 2, x % 2) of the full frame;
    ``origin`` is the crop's top-left when ``image`` is a tile) or (3,) per channel for RGB.
    """
    params = params or LevelsParams()
    black = np.asarray(black, dtype=np.float32)
    if params.black is not None:
        black = np.full_like(black, params.black)
    white = float(params.white if params.white is not None else white)
    if image.ndim == 2:
        if black.shape != (2, 2):
            raise ValueError(f"black level for a mosaic must be (2, 2), got {black.shape}")
        black = np.roll(black, (-(origin[0] % 2), -(origin[1] % 2)), axis=(0, 1))
        h, w = image.shape
        black_plane = np.tile(black, ((h + 1) // 2, (w + 1) // 2))[:h, :w]
        scale = (1.0 / np.maximum(white - black_plane, 1.0)).astype(np.float32)
        return ((image.astype(np.float32) - black_plane) * scale).astype(np.float32, copy=False)
    if image.ndim == 3 and image.shape[2] == 3:
        black = np.broadcast_to(black.ravel()[:3] if black.size >= 3 else black.ravel()[0], (3,))
        scale = (1.0 / np.maximum(white - black, 1e-6)).astype(np.float32)
        return ((image.astype(np.float32) - black) * scale).astype(np.float32, copy=False)
    raise ValueError(f"expected a (H, W) mosaic or (H, W, 3) image, got shape {image.shape}")


def levels_identity(cal, levels: LevelsParams) -> bool:
    """Whether black/white levels leave an RGB scene as it is (black 0, white 1)."""
    return (
        levels.black is None
        and levels.white is None
        and cal.white_level == 1.0
        and not np.any(np.asarray(cal.black_level))
    )


def _apply(x: np.ndarray, ctx, rows) -> np.ndarray:
    cal, lv = ctx.calibration, ctx.params.levels
    if x.ndim == 2:
        return black_white_levels(x, cal.black_level, cal.white_level, lv, origin=(rows[0], 0))
    if levels_identity(cal, lv):
        return np.ascontiguousarray(x, dtype=np.float32)
    return black_white_levels(x, cal.black_level, cal.white_level, lv)


STAGE = Stage(
    name="levels",
    params="levels",
    reads="raw DN: CFA mosaic (H, W) or camera RGB (H, W, 3)",
    writes="normalised linear camera signal, 0 = black, 1 = sensor white, unclipped",
    apply=_apply,
    cite="Adobe DNG specification 1.6, ch. 5 (BlackLevel, WhiteLevel, linearisation)",
    enabled=is_raw,
    preview=True,
)
