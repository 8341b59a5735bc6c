"""docs/img/pipeline/led_ramps.png: the saturated-LED ramps of tests/test_rendering_scenes.py
(Canon EOS 5D Mark IV matrix, Bayer, 0.5 % of white to 4x past clipping, left to right),
LibRaw's default render (top of each pair) and redframe's default render (bottom)."""

import sys
from pathlib import Path

import numpy as np
import rawpy
from PIL import Image

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
import test_rendering_scenes as t  # noqa: E402

out = Path(__file__).parent / "img" / "pipeline" / "led_ramps.png"
tmp = Path("/tmp/redframe-ramps")
tmp.mkdir(exist_ok=True)
rows = []
for led, xy in t.LEDS.items():
    dng = tmp / f"{led}.dng"
    t.ramp_dng(dng, xy, t.MATRICES["canon-eos-5d-mark-iv"], linear=False)
    with rawpy.imread(str(dng)) as raw:
        theirs = raw.postprocess(use_camera_wb=True, output_bps=8)
    ours = np.round(t.develop16(dng, tmp / "o.tif") * 255).astype(np.uint8)
    for img in (theirs, ours):
        rows.append(np.repeat(img[4:20, : t.N * 4], 2, axis=0))
    rows.append(np.full((6, t.N * 4, 3), 255, np.uint8))
Image.fromarray(np.concatenate(rows[:-1])).save(out)
print(out)
