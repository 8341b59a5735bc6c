"""`--look neutral` is colorimetric through the product path, not only in the lab setup.

A flat-lit ColorChecker on black card (colour-science's spectral reflectances under D65,
the frame around the patches at Y 0.005, so the scene spans ~9 EV as a real chart
shot does) is captured by the simulated sensor through a REAL camera's colour matrix,
written as a CFA DNG by redframe's writer, and developed by a fresh
``python -m redframe develop chart.dng --look neutral -o out/`` with every other option
at its default (JPEG, sRGB). The JPEG's patch means are read with colour-science only
(the oracle owes nothing to redframe's colour code), one exposure factor is fitted on
the six grey patches, and CIEDE2000 is taken on all 24 patches: mean <= 1.0.

The default rendering (no look: tone curve and local tone mapping, a picture, not a
measurement) and LibRaw's linear sRGB (rawpy) of the same file are measured the same way
for context; the figures are printed and written to tests/artifacts/neutral_product.txt
(docs/looks.md quotes them).

Matrices (DNG ColorMatrix, XYZ D65 -> camera):
- Nikon: ColorMatrix1 of the bundled sample src/redframe/data/sample_nikon_rose.dng,
  read from the file here.
- Samsung Galaxy S9 (a phone) and Canon EOS 5D Mark IV (a DSLR): LibRaw's
  ``adobe_coeff`` table, src/tables/colordata.cpp at LibRaw commit e419de08001d
  ("All matrices are from Adobe DNG Converter unless otherwise noted"), entries
  ``Samsung "Galaxy S9"`` and ``Canon "EOS 5D Mark IV"``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import colour
import numpy as np
import pytest
import tifffile
from conftest import SAMPLE_RAW, delta_e_2000
from PIL import Image

from redframe.io.dng import write_dng
from redframe.sim.scenes import PATCH_NAMES, colorchecker_image, colorchecker_xyz
from redframe.sim.sensor import SensorModel, simulate_raw

GREYS = list(range(18, 24))
SRGB = colour.RGB_COLOURSPACES["sRGB"]
WHITE = colour.XYZ_to_xy(colour.xy_to_XYZ([0.3127, 0.3290]))
RECORD = Path(__file__).parent / "artifacts" / "neutral_product.txt"
#: a camera's meter on a flat-lit chart: the white patch at ~55 % of the raw's range
EXPOSURE = 0.6


def _sample_color_matrix() -> np.ndarray:
    with tifffile.TiffFile(SAMPLE_RAW) as tif:
        tags = tif.pages[0].tags
        assert tags[50778].value == 21  # CalibrationIlluminant1: D65
        v = np.array(tags[50721].value, np.float64)  # ColorMatrix1, SRATIONAL pairs
    return (v[0::2] / v[1::2]).reshape(3, 3)


def _adobe_coeff(*values: int) -> np.ndarray:
    return np.array(values, np.float64).reshape(3, 3) / 10000.0


MATRICES = {
    "nikon-sample": _sample_color_matrix,
    "samsung-galaxy-s9": lambda: _adobe_coeff(13292, -6142, -1268, -4095, 12890, 1283,
                                              -557, 1930, 5163),
    "canon-eos-5d-mark-iv": lambda: _adobe_coeff(6446, -366, -864, -4436, 12204, 2513,
                                                 -952, 2496, 6348),
}


def chart_dng(path: Path, xyz_to_camera: np.ndarray):
    """The chart as a CFA DNG; returns (reference XYZ, patch boxes)."""
    ref = colorchecker_xyz("D65")
    img, boxes = colorchecker_image(ref, patch=64, gap=16, surround=0.005)
    scene, _ = simulate_raw(img, pattern="RGGB", iso=100, exposure=EXPOSURE, seed=3,
                            sensor=SensorModel(xyz_to_camera=xyz_to_camera))
    cal = scene.calibration
    write_dng(path, scene.mosaic, pattern=cal.pattern, black_level=cal.black_level,
              white_level=int(cal.white_level), xyz_to_camera=cal.xyz_to_camera,
              as_shot_neutral=cal.as_shot_neutral, meta=scene.meta,
              noise_profile=cal.noise_profile)
    return ref, boxes


def cli_develop(dng: Path, out: Path, *flags: str) -> np.ndarray:
    """A fresh `python -m redframe develop DNG [flags] -o OUT`: the JPEG as linear sRGB."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDFRAME_")}
    proc = subprocess.run([sys.executable, "-m", "redframe", "develop", str(dng), *flags,
                           "-o", str(out)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    with Image.open(out / f"{dng.stem}.jpg") as im:
        enc = np.asarray(im.convert("RGB"), np.float64) / 255.0
    return SRGB.cctf_decoding(enc)


def libraw_linear(dng: Path) -> np.ndarray:
    import rawpy

    with rawpy.imread(str(dng)) as raw:
        rgb = raw.postprocess(gamma=(1, 1), no_auto_bright=True, use_camera_wb=True,
                              output_color=rawpy.ColorSpace.sRGB, output_bps=16)
    return rgb / 65535.0


def measure(linear_srgb: np.ndarray, boxes, ref: np.ndarray) -> dict:
    """Patch means -> XYZ, one exposure factor fitted on the greys (geometric mean of the
    luminance ratios), CIEDE2000 against the reference."""
    rgb = np.array([linear_srgb[b].reshape(-1, 3).mean(axis=0) for b in boxes])
    xyz = rgb @ SRGB.matrix_RGB_to_XYZ.T
    k = float(np.exp(np.mean(np.log(ref[GREYS, 1] / xyz[GREYS, 1]))))
    xyz = xyz * k
    de = delta_e_2000(xyz, ref)
    lum = colour.XYZ_to_Lab(xyz, WHITE)[:, 0]
    lum_ref = colour.XYZ_to_Lab(ref, WHITE)[:, 0]
    return {"mean": float(de.mean()), "max": float(de.max()), "worst": PATCH_NAMES[de.argmax()],
            "exposure": k, "L": lum[GREYS], "L_ref": lum_ref[GREYS]}


def _line(camera: str, what: str, m: dict) -> str:
    grey = " ".join(f"{a:.1f}/{b:.1f}" for a, b in zip(m["L"], m["L_ref"], strict=True))
    return (f"{camera:22s} {what:16s} mean dE00 {m['mean']:.2f}  max {m['max']:.2f} "
            f"({m['worst']})  fitted exposure x{m['exposure']:.3f}  grey L* out/ref {grey}")


@pytest.fixture(scope="module")
def record():
    lines: list[str] = []
    yield lines
    RECORD.parent.mkdir(parents=True, exist_ok=True)
    RECORD.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("camera", list(MATRICES))
def test_neutral_through_the_cli_is_colorimetric(camera, tmp_path, record):
    dng = tmp_path / f"chart-{camera}.dng"
    ref, boxes = chart_dng(dng, MATRICES[camera]())
    neutral = measure(cli_develop(dng, tmp_path / "neutral", "--look", "neutral"), boxes, ref)
    default = measure(cli_develop(dng, tmp_path / "default"), boxes, ref)
    libraw = measure(libraw_linear(dng), boxes, ref)
    lines = [_line(camera, "--look neutral", neutral), _line(camera, "default (no look)", default),
             _line(camera, "LibRaw linear", libraw)]
    print("\n" + "\n".join(lines))
    record.extend(lines)
    assert libraw["mean"] <= 1.0, libraw  # the chart and the oracle are sound
    assert neutral["mean"] <= 1.0, neutral
    # linear tones to 90 % white: every grey at its lightness, white patch to black
    assert np.max(np.abs(neutral["L"] - neutral["L_ref"])) <= 1.0, neutral
    assert 0.97 <= neutral["exposure"] <= 1.03, neutral  # the camera's exposure, kept


def test_the_develop_asks_the_look_how_much_local_tone_mapping(tmp_path):
    """The pipeline scales its local tone mapping by the look's ``local_tone_mapping``:
    none for neutral, all of it for authentic and for the default rendering, half for a
    look that asks for half; a look without the attribute (a .cube) gets all of it."""
    from redframe.io.decode import read_image
    from redframe.isp.pipeline import DevelopParams, develop
    from redframe.looks import Look, get_look
    from redframe.looks.params import LookParams, Tone

    dng = tmp_path / "chart.dng"
    chart_dng(dng, MATRICES["nikon-sample"]())
    scene = read_image(str(dng))

    def compression(look) -> float:
        notes = develop(scene, DevelopParams(look=look)).notes
        ltm = [n for n in notes if n.startswith("local tone mapping")]
        return float(ltm[0].rsplit("x", 1)[1]) if ltm else 1.0

    full = compression(None)
    assert full < 0.8  # the chart on black card spans enough range to be compressed
    assert compression(get_look("authentic")) == full
    assert compression(get_look("neutral")) == 1.0
    half = Look(LookParams(tone=Tone(local_tone_mapping=0.5)))
    assert compression(half) == pytest.approx(1 - 0.5 * (1 - full), abs=0.011)

    class Plain:  # the look protocol without the optional attribute
        def apply(self, rgb, *, rows=None, full_shape=None, display_referred=False):
            return np.clip(rgb, 0.0, 1.0)

    assert compression(Plain()) == full
