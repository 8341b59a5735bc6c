"""A simulated Bayer sensor: scene XYZ -> raw DN with the noise a real one adds.

Model: camera RGB = ColorMatrix @ XYZ (the DNG convention, so the pipeline's matrix is the
inverse of the truth); electrons = signal x full-well / gain(ISO); shot noise is Poisson
(Gaussian approximation, variance = electrons), read noise Gaussian; then the analogue
gain, the black level, 14-bit quantisation and clipping at the white level. The as-shot
neutral is what the camera would report for the scene illuminant. The resulting DNG
NoiseProfile (variance = S x + O on the [0, 1] signal) is returned too.
Parameters follow a 1/1.7" phone sensor: 6000 e- full well at base ISO 50, 2.5 e- read noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from redframe.io.metadata import Metadata
from redframe.io.scene import RawCalibration, Scene
from redframe.isp.demosaic import mosaic_rgb as mosaic_from_rgb  # one sampler for all

__all__ = [
    "SensorModel",
    "simulate_raw",
    "linear_camera_scene",
    "NIKON_D65_MATRIX",
    "mosaic_from_rgb",
]

#: DNG ColorMatrix (XYZ D65 -> camera) of the bundled Nikon sample, used as our sensor.
NIKON_D65_MATRIX = np.array(
    [[0.9020, -0.2890, -0.0715], [-0.4535, 1.2436, 0.2348], [-0.0934, 0.1919, 0.7086]]
)


@dataclass
class SensorModel:
    xyz_to_camera: np.ndarray = field(default_factory=lambda: NIKON_D65_MATRIX.copy())
    black_level: int = 600  # DN
    white_level: int = 15520  # DN (14-bit ADC)
    full_well: float = 6000.0  # electrons at base ISO
    base_iso: float = 50.0
    read_noise: float = 2.5  # electrons, at the sensor
    adc_noise: float = 1.0  # DN after the gain


def simulate_raw(
    xyz: np.ndarray,
    *,
    pattern: str = "RGGB",
    iso: float = 100.0,
    exposure: float = 1.0,
    illuminant_xyz: np.ndarray | None = None,
    sensor: SensorModel | None = None,
    seed: int = 0,
    noise: bool = True,
) -> tuple[Scene, np.ndarray]:
    """Simulate a raw capture of scene ``xyz`` (Y = 1 white) scaled by ``exposure``.

    Returns the :class:`Scene` (uint16 mosaic + calibration + metadata) and the noiseless
    camera RGB (normalised 0..1 of white, before clipping) for reference.
    """
    sensor = sensor or SensorModel()
    rng = np.random.default_rng(seed)
    white_xyz = (
        np.array([0.9505, 1.0, 1.0890]) if illuminant_xyz is None else np.asarray(illuminant_xyz)
    )
    m = np.asarray(sensor.xyz_to_camera, dtype=np.float64)
    # DNG convention: ColorMatrix is scaled so that a D65 perfect white has max channel 1
    m = m / np.max(m @ np.array([0.9505, 1.0, 1.0890]))
    neutral = m @ white_xyz
    neutral = neutral / neutral[1]
    cam = (np.asarray(xyz, dtype=np.float64) @ m.T) * exposure
    signal = mosaic_from_rgb(cam, pattern)
    gain = max(iso, sensor.base_iso) / sensor.base_iso
    full = sensor.full_well / gain  # electrons at white for this ISO
    span = sensor.white_level - sensor.black_level
    if noise:
        electrons = np.clip(signal, 0, None) * full
        electrons = electrons + rng.standard_normal(signal.shape) * np.sqrt(
            electrons + sensor.read_noise**2
        )
        dn = sensor.black_level + electrons / full * span
        dn = dn + rng.standard_normal(signal.shape) * sensor.adc_noise
    else:
        dn = sensor.black_level + signal * span
    dn = np.clip(np.round(dn), 0, 2**14 - 1).astype(np.uint16)
    # NoiseProfile on the [0, 1] signal: var = S x + O
    s = 1.0 / full
    o = (sensor.read_noise / full) ** 2 + (sensor.adc_noise / span) ** 2
    cal = RawCalibration(
        pattern=pattern,
        black_level=np.full((2, 2), float(sensor.black_level), np.float32),
        white_level=float(sensor.white_level),
        xyz_to_camera=m.copy(),
        as_shot_neutral=neutral,
        noise_profile=(s, o),
        source="simulated",
    )
    meta = Metadata(
        make="redframe",
        model="simulated sensor",
        iso=float(iso),
        exposure_time=1 / 60,
        f_number=1.8,
        focal_length=6.0,
        focal_length_35mm=26.0,
        orientation=1,
        format="dng",
        width=dn.shape[1],
        height=dn.shape[0],
        as_shot_neutral=tuple(float(v) for v in neutral),
    )
    return Scene(meta=meta, mosaic=dn, calibration=cal, space="cfa"), cam


def linear_camera_scene(
    xyz: np.ndarray, *, exposure: float = 1.0, iso: float = 100.0, sensor: SensorModel | None = None
) -> Scene:
    """A noiseless, unquantised camera-RGB scene (``space="camera"``), as a merged HDR burst
    or a linear DNG delivers: for testing tone mapping beyond one 14-bit exposure's range."""
    sensor = sensor or SensorModel()
    m = np.asarray(sensor.xyz_to_camera, dtype=np.float64)
    m = m / np.max(m @ np.array([0.9505, 1.0, 1.0890]))
    neutral = m @ np.array([0.9505, 1.0, 1.0890])
    neutral = neutral / neutral[1]
    cam = (np.asarray(xyz, dtype=np.float64) @ m.T * exposure).astype(np.float32)
    cal = RawCalibration(
        pattern=None,
        black_level=np.zeros(3, np.float32),
        white_level=1.0,
        xyz_to_camera=m,
        as_shot_neutral=neutral,
        source="simulated",
    )
    meta = Metadata(
        make="redframe",
        model="simulated HDR merge",
        iso=float(iso),
        orientation=1,
        width=cam.shape[1],
        height=cam.shape[0],
        as_shot_neutral=tuple(float(v) for v in neutral),
    )
    return Scene(meta=meta, rgb=cam, calibration=cal, space="camera")
