"""A DNG whose opcode lists hold finite but huge coefficients (found by the ``opcodes`` fuzz
target's smoke run, fuzz/README.md): the corrected raw overflowed to inf and the develop
failed with an internal error (exit 70). Now a one-line input error (exit 3), and
``--lens off`` still develops the file."""

from __future__ import annotations

import numpy as np
import pytest

from redframe.cli import main
from redframe.io import dng_opcodes as ops
from redframe.io.dng import write_dng
from redframe.io.metadata import Metadata
from redframe.sim.sensor import NIKON_D65_MATRIX

H, W = 48, 64
AREA = ops.AreaSpec(0, 0, H, W)
CASES = {
    "MapPolynomial 2.9e169": [ops.gain_map(np.full((2, 2), 1.2), AREA),
                              ops.MapPolynomial(8, 0x01030000, 0, area=AREA,
                                                coefficients=(0.0, 1.02, 2.9e169))],
    "FixVignetteRadial 1e300": [ops.FixVignetteRadial(3, 0x01030000, 0, k=(1e300, 0, 0, 0, 0))],
    "ScalePerRow 3e38": [ops.PerRowColumn(12, 0x01030000, 0, area=AREA,
                                          values=np.full(H, 3e38, np.float32))],
    "DeltaPerRow -3e38": [ops.PerRowColumn(10, 0x01030000, 0, area=AREA,
                                           values=np.full(H, -3e38, np.float32))],
}


@pytest.mark.parametrize("name", CASES)
def test_huge_finite_coefficients_are_a_one_line_input_error(name, tmp_path, capsys):
    rng = np.random.default_rng(3)
    mosaic = (512 + rng.integers(0, 12000, (H, W))).astype(np.uint16)
    path = tmp_path / "o.dng"
    write_dng(path, mosaic, pattern="RGGB", black_level=512, white_level=15000,
              xyz_to_camera=NIKON_D65_MATRIX, as_shot_neutral=np.array([0.5, 1.0, 0.7]),
              meta=Metadata(make="Phone", model="P1"), opcodes={2: CASES[name]})
    assert main(["develop", str(path), "-o", str(tmp_path / "out")]) == 3  # was 70
    err = capsys.readouterr().err
    assert "scales values by up to" in err and "OpcodeList2" in err
    assert "Traceback" not in err and "internal error" not in err
    assert main(["develop", str(path), "-o", str(tmp_path / "off"), "--lens", "off"]) == 0
