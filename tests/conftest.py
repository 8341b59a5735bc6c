"""Shared fixtures: paths to the bundled files and synthetic scenes with ground truth."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"
SAMPLE_RAW = Path(__file__).parents[1] / "src" / "redframe" / "data" / "sample_nikon_rose.dng"

warnings.filterwarnings("ignore", message=".*Matplotlib.*")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def sample_raw() -> Path:
    return SAMPLE_RAW


def delta_e_2000(xyz_a: np.ndarray, xyz_b: np.ndarray) -> np.ndarray:
    """CIEDE2000 between two XYZ arrays (D65 white, Y = 1), via colour-science."""
    import colour

    white = colour.XYZ_to_xy(colour.xy_to_XYZ([0.3127, 0.3290]))
    return colour.delta_E(colour.XYZ_to_Lab(xyz_a, white), colour.XYZ_to_Lab(xyz_b, white),
                          method="CIE 2000")


def psnr(a: np.ndarray, b: np.ndarray, border: int = 8) -> float:
    if border:
        a, b = a[border:-border, border:-border], b[border:-border, border:-border]
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return 10 * np.log10(1.0 / max(mse, 1e-20))


def write_burst_dngs(sim, folder, stem: str = "frame") -> list[str]:
    """Write a simulated burst's frames as CFA DNGs (via redframe's DNG writer)."""
    from redframe.io.dng import write_dng

    paths = []
    for i, f in enumerate(sim.frames):
        cal = f.calibration
        path = folder / f"{stem}_{i}.dng"
        write_dng(path, f.mosaic, pattern=cal.pattern, black_level=cal.black_level,
                  white_level=int(cal.white_level), xyz_to_camera=cal.xyz_to_camera,
                  as_shot_neutral=cal.as_shot_neutral, meta=f.meta,
                  noise_profile=cal.noise_profile)
        paths.append(str(path))
    return paths
