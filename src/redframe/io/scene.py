"""`Scene`: the decoded image handed to the develop pipeline, and `RawCalibration`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from redframe.io.metadata import Metadata

__all__ = ["Scene", "RawCalibration", "CFA_PATTERNS", "pattern_to_index"]

#: The four Bayer phases, named by the colours of the top-left 2x2 block read row-wise.
CFA_PATTERNS = ("RGGB", "BGGR", "GRBG", "GBRG")


def pattern_to_index(pattern: str) -> np.ndarray:
    """``"RGGB"`` -> ``[[0, 1], [1, 2]]`` (0 = R, 1 = G, 2 = B)."""
    if pattern not in CFA_PATTERNS:
        raise ValueError(f"CFA pattern must be one of {CFA_PATTERNS}, got {pattern!r}")
    return np.array(["RGB".index(c) for c in pattern], dtype=np.intp).reshape(2, 2)


@dataclass
class RawCalibration:
    """What the sensor told us, untouched: levels in raw DN, matrices as in the DNG spec.

    ``xyz_to_camera`` follows DNG ``ColorMatrix``: XYZ (D65-adapted, the calibration
    illuminant) to non-white-balanced camera RGB. ``as_shot_neutral`` is the camera RGB
    of a neutral under the shooting light (DNG ``AsShotNeutral``; WB gains are its inverse).
    ``noise_profile`` is (S, O) of the DNG ``NoiseProfile``: variance = S * x + O for a
    signal x normalised to [0, 1].
    """

    pattern: str | None  # one of CFA_PATTERNS, or None for demosaiced/linear data
    black_level: np.ndarray  # (2, 2) per CFA site, or (3,) per channel for RGB data
    white_level: float
    xyz_to_camera: np.ndarray | None = None
    as_shot_neutral: np.ndarray | None = None
    noise_profile: tuple[float, float] | None = None
    baseline_exposure: float = 0.0  # EV, DNG BaselineExposure
    source: str = ""  # where the matrix came from, for `redframe info`
    #: the DNG's opcode lists (redframe.io.dng_opcodes.OpcodeLists), None when it has none
    opcodes: object | None = None
    #: the lensfun camera + lens matched from EXIF (redframe.io.lensfun.LensfunMatch)
    lensfun: object | None = None
    lensfun_reason: str = ""  # why there is no match, for `redframe info`


@dataclass
class Scene:
    """A decoded image: exactly one of ``mosaic`` or ``rgb`` is set.

    - ``mosaic``: (H, W) raw CFA values in DN (uint16 or float32), with ``calibration``.
    - ``rgb``: (H, W, 3) float32, linear light. ``space`` says which RGB:
      ``"camera"`` (raw sensors that LibRaw demosaiced for us: X-Trans, linear DNG; still
      needs levels/WB/matrix via ``calibration``) or ``"rec2020"`` (JPEG/HEIC/PNG/TIFF
      inputs, already white-balanced and display-referred, decoded to linear Rec.2020).
    """

    meta: Metadata
    mosaic: np.ndarray | None = None
    rgb: np.ndarray | None = None
    calibration: RawCalibration | None = None
    space: str = "cfa"
    notes: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int]:
        array = self.mosaic if self.mosaic is not None else self.rgb
        return int(array.shape[0]), int(array.shape[1])
