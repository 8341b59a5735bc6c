"""Camera RGB -> working space (linear Rec.2020, D65) with the file's colour matrix.

Reads white-balanced linear camera RGB, writes linear Rec.2020, float32, unclipped.
The matrix follows dcraw/LibRaw and the DNG spec's simple case: with DNG ``ColorMatrix``
M (XYZ -> camera), ``M @ RGB2020_to_XYZ`` is row-normalised so that the working-space
white maps to camera (1, 1, 1), i.e. to a white-balanced neutral; its inverse takes
white-balanced camera RGB to Rec.2020 (Adobe, "Digital Negative Specification" 1.6, ch. 6).
Without a matrix, camera RGB is treated as linear sRGB primaries (and a warning is kept).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from redframe.isp.colorspaces import REC2020_TO_XYZ, rgb_to_rgb_matrix

__all__ = ["ColorParams", "camera_to_working_matrix", "apply_matrix"]


@dataclass
class ColorParams:
    working_space: str = "rec2020"  # fixed: linear Rec.2020, D65


def camera_to_working_matrix(xyz_to_camera: np.ndarray | None) -> np.ndarray:
    """3x3 matrix: white-balanced camera RGB -> linear Rec.2020."""
    if xyz_to_camera is None:
        return rgb_to_rgb_matrix("srgb", "rec2020")
    cam_from_working = np.asarray(xyz_to_camera, dtype=np.float64) @ REC2020_TO_XYZ
    rows = cam_from_working.sum(axis=1, keepdims=True)
    if np.any(np.abs(rows) < 1e-9):
        raise ValueError("colour matrix maps white to zero in a channel")
    cam_from_working = cam_from_working / rows
    return np.linalg.inv(cam_from_working)


def apply_matrix(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``image @ matrix.T`` for (H, W, 3) float32, via OpenCV (multithreaded)."""
    import cv2

    m = np.asarray(matrix, dtype=np.float32)
    src = np.ascontiguousarray(image, dtype=np.float32)
    return cv2.transform(src, m)
