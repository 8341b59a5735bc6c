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


# The HDR tests' scene (tests/test_hdr.py, tests/test_hdr_heic.py): a window 10 EV above
# a dark room, as a 16-bit linear DNG.
HDR_SHAPE = (192, 256)


@pytest.fixture(scope="module")
def window_dng(tmp_path_factory):
    """A dark room and a bright window 10 EV apart (textured, +-20 %), as a 16-bit linear
    DNG - what an HDR bracket merge delivers: the window far above SDR white."""
    from redframe.io.dng import write_dng
    from redframe.isp.exposure import RAW_EXPOSURE_EV
    from redframe.sim.scenes import hdr_xyz
    from redframe.sim.sensor import linear_camera_scene

    xyz, _ = hdr_xyz(HDR_SHAPE, 10.0)
    cam = linear_camera_scene(xyz)
    top = 8.0  # scene value stored as the white level
    data = np.clip(np.rint(cam.rgb / top * 65535), 0, 65535).astype(np.uint16)
    cal = cam.calibration
    path = tmp_path_factory.mktemp("hdr") / "window.dng"
    write_dng(path, data, pattern=None, black_level=0.0, white_level=65535,
              xyz_to_camera=cal.xyz_to_camera, as_shot_neutral=cal.as_shot_neutral,
              meta=cam.meta, baseline_exposure=float(np.log2(top)) - RAW_EXPOSURE_EV)
    return path


@pytest.fixture(scope="module")
def window(window_dng):
    """(decoded window scene, its regions)."""
    from redframe.io.decode import read_image
    from redframe.sim.scenes import hdr_xyz

    _, regions = hdr_xyz(HDR_SHAPE, 10.0)
    return read_image(window_dng), regions
