"""Golden frames: reference renders in tests/data/frames, compared perceptually (SSIM).

Regenerate on purpose only, after looking at the new renders:
``REDFRAME_UPDATE_GOLDEN=1 python -m pytest tests/test_frame_golden.py``.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import structural_similarity

from redframe.frame import frame_plan, list_layouts
from redframe.frame.draw import draw_frame
from redframe.io.metadata import Metadata

GOLDEN = Path(__file__).parent / "data" / "frames"
UPDATE = os.environ.get("REDFRAME_UPDATE_GOLDEN") == "1"
META = Metadata(make="Xiaomi", model="2304FPN6DC", lens="Main camera 8.7mm f/1.9",
                focal_length=8.7, focal_length_35mm=23.0, f_number=1.63, exposure_time=1 / 120,
                iso=50.0, datetime=dt.datetime(2024, 5, 17, 18, 32))


def scene(h: int = 320, w: int = 480) -> np.ndarray:
    """A smooth synthetic photo: sky gradient, a sun, hills (compresses well as PNG)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    sky = np.stack([70 + 90 * y / h, 120 + 80 * y / h, 200 + 40 * y / h], axis=-1)
    sun = ((x - 0.7 * w) ** 2 + (y - 0.3 * h) ** 2) < (0.08 * h) ** 2
    sky[sun] = (255, 236, 170)
    hill = y > 0.62 * h + 0.08 * h * np.sin(x / w * 7)
    ground = np.stack([40 + 60 * (1 - y / h), 90 + 70 * (1 - y / h), 40 + 0 * y], axis=-1)
    return np.where(hill[..., None], ground, sky).astype(np.uint8)


def _gray(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


@pytest.mark.parametrize("layout", list_layouts())
def test_golden(layout):
    photo = scene()
    plan = frame_plan(photo, META, layout)
    out = draw_frame(plan, photo)
    path = GOLDEN / f"{layout}.png"
    if UPDATE:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        Image.fromarray(out).save(path, optimize=True)
    assert path.exists(), f"no golden image {path}; create it with REDFRAME_UPDATE_GOLDEN=1"
    ref = np.asarray(Image.open(path).convert("RGB"))
    assert ref.shape == out.shape, f"canvas {out.shape} != golden {ref.shape}"
    a, b = _gray(out), _gray(ref)
    whole = structural_similarity(a, b, data_range=255)
    # the frame itself (everything but the photo), where a layout regression shows most
    x0, y0, x1, y1 = plan.photo_box
    keep = np.ones(a.shape, bool)
    if layout not in ("overlay", "film"):
        keep[y0:y1, x0:x1] = False
    _, ssim_map = structural_similarity(a, b, data_range=255, full=True)
    frame = float(ssim_map[keep].mean())
    assert whole > 0.98 and frame > 0.97, f"SSIM whole {whole:.4f}, frame {frame:.4f}"
    assert float(np.abs(a - b).mean()) < 1.5


def test_golden_comparison_catches_a_missing_line():
    photo = scene()
    plan = frame_plan(photo, META, "classic")
    plan.elements = [e for e in plan.elements if e.line_id != "exposure"]
    out = _gray(draw_frame(plan, photo))
    ref = _gray(np.asarray(Image.open(GOLDEN / "classic.png").convert("RGB")))
    _, ssim_map = structural_similarity(out, ref, data_range=255, full=True)
    x0, y0, x1, y1 = plan.photo_box
    assert float(ssim_map[y1:].mean()) < 0.97
