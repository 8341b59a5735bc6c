"""Camera RGB -> working space (linear Rec.2020, D65) with the file's colour matrix.

Reads white-balanced linear camera RGB, writes linear Rec.2020, float32, unclipped.
With DNG ``ColorMatrix`` M (XYZ -> camera) and the scene light's camera neutral, camera
RGB is mapped to XYZ under the scene light and adapted to D65 with Bradford (Adobe,
"Digital Negative Specification" 1.6, ch. 6): unlike dcraw's row-normalised matrix, which
adapts in camera space, this keeps colours right under tungsten as well as daylight.
Without a matrix, camera RGB is treated as linear sRGB primaries (and a warning is kept).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from redframe.color import (
    D65_XY,
    XYZ_TO_REC2020,
    bradford_matrix,
    rgb_to_rgb_matrix,
    xy_to_xyz,
)
from redframe.isp.stage import Stage, is_raw
from redframe.params import param, validate

__all__ = ["ColorParams", "camera_to_working_matrix", "apply_matrix", "STAGE"]


@dataclass
class ColorParams:
    working_space: str = param("rec2020", choices=("rec2020",),
                               doc="the working space: linear Rec.2020, D65 (fixed)")

    def __post_init__(self):
        validate(self, "color")


def camera_to_working_matrix(xyz_to_camera: np.ndarray | None,
                             neutral: np.ndarray | None = None) -> np.ndarray:
    """3x3 matrix: white-balanced camera RGB -> linear Rec.2020 (D65).

    With the camera-RGB ``neutral`` of the scene light (the inverse of the WB gains), the
    light's white point is ``inv(ColorMatrix) @ neutral``; camera RGB goes to XYZ under that
    light and a Bradford adaptation takes it to D65 (DNG spec 1.6, "Mapping Camera Color
    Space to CIE XYZ Space"). A white-balanced neutral (1, 1, 1) lands on the D65 white
    with Y = 1. Without ``neutral`` the light is taken as D65.
    """
    if xyz_to_camera is None:
        return rgb_to_rgb_matrix("srgb", "rec2020")
    m = np.asarray(xyz_to_camera, dtype=np.float64)
    if abs(np.linalg.det(m)) < 1e-12:
        raise ValueError("colour matrix is singular")
    camera_to_xyz = np.linalg.inv(m)
    if neutral is None:
        neutral = m @ xy_to_xyz(D65_XY)
    neutral = np.asarray(neutral, dtype=np.float64)
    white = camera_to_xyz @ neutral
    if not np.all(np.isfinite(white)) or white[1] <= 0:
        raise ValueError(f"colour matrix maps the white-balance neutral {neutral} to {white}")
    white_xy = (white[0] / white.sum(), white[1] / white.sum())
    adapt = bradford_matrix(white_xy, D65_XY)
    to_xyz = adapt @ camera_to_xyz @ np.diag(neutral) / white[1]
    return XYZ_TO_REC2020 @ to_xyz


def apply_matrix(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``image @ matrix.T`` for (H, W, 3) float32, via OpenCV (multithreaded)."""
    import cv2

    m = np.asarray(matrix, dtype=np.float32)
    src = np.ascontiguousarray(image, dtype=np.float32)
    return cv2.transform(src, m)


def _analyse(ctx) -> None:
    plan = ctx.plan
    plan.matrix = camera_to_working_matrix(ctx.calibration.xyz_to_camera,
                                           1.0 / plan.gains.astype(np.float64))


def _apply(x: np.ndarray, ctx, rows) -> np.ndarray:
    return apply_matrix(x, ctx.plan.matrix)


STAGE = Stage(
    name="color",
    params=None,
    reads="white-balanced linear camera RGB",
    writes="linear Rec.2020 (D65) scene light, unclipped",
    apply=_apply,
    cite="Adobe DNG specification 1.6, 'Mapping Camera Color Space to CIE XYZ Space'; "
         "Bradford adaptation (Lam 1985)",
    enabled=is_raw,
    analyse=_analyse,
    preview=True,
)
