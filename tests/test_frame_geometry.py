"""Frame geometry for every layout x aspect x field set: inside the canvas, no overlaps,
baselines shared and honoured, photo pixels untouched, ink only where the plan says."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math

import numpy as np
import pytest

from redframe.frame import frame_plan, list_layouts, render_frame
from redframe.frame.draw import draw_frame
from redframe.io.metadata import Metadata

LONG_LENS = ("Super Ultra Wide Telephoto Macro Zoom Apochromatic Aspherical Lens with Image "
             "Stabilisation, Weather Sealing and Hood 12-400mm")[:120]
assert len(LONG_LENS) == 120

FULL = Metadata(make="SONY", model="ILCE-7RM5", lens="FE 24-70mm F2.8 GM II",
                focal_length=35.0, focal_length_35mm=35.0, f_number=1.63,
                exposure_time=1 / 120, iso=50.0, datetime=dt.datetime(2024, 5, 17, 18, 32))
FIELD_SETS = {
    "all": FULL,
    "no-lens": dataclasses.replace(FULL, lens=None),
    "long-lens": dataclasses.replace(FULL, lens=LONG_LENS),
    "no-exif": Metadata(),
}
SIZES = {"landscape": (400, 600), "portrait": (600, 400), "square": (480, 480)}


def photo_of(h: int, w: int, seed: int = 1) -> np.ndarray:
    """A textured, colourful photo (no flat areas, so any change to it shows)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([x / w, y / h, 0.5 + 0.5 * np.sin(x / 17.0 + y / 23.0)], axis=-1)
    noisy = base * 200 + rng.integers(0, 50, size=(h, w, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


PHOTOS = {aspect: photo_of(*hw) for aspect, hw in SIZES.items()}


def _overlap(a, b) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def _inside(inner, outer) -> bool:
    return (inner[0] >= outer[0] and inner[1] >= outer[1] and inner[2] <= outer[2]
            and inner[3] <= outer[3])


def _ink_box(e):
    """The element's box without the 1 px anti-aliasing margin text boxes carry."""
    x0, y0, x1, y1 = e.box
    return (x0 + 1, y0 + 1, x1 - 1, y1 - 1) if e.kind == "text" else e.box


def _allowed_on_photo(plan) -> np.ndarray:
    """Where the layout may change photo pixels by design (canvas coordinates)."""
    W, H = plan.canvas_size
    mask = np.zeros((H, W), bool)
    for e in plan.elements:
        if e.on_photo:
            x0, y0, x1, y1 = e.box
            mask[max(0, y0):y1, max(0, x0):x1] = True
    for sc in plan.scrims:
        x0, y0, x1, y1 = sc.box
        f = sc.feather
        mask[max(0, y0 - f):y1 + f, max(0, x0 - f):x1 + f] = True
    n = math.ceil(plan.corner_radius)
    if n:
        x0, y0, x1, y1 = plan.photo_box
        for cy, cx in itertools.product((y0, y1 - n), (x0, x1 - n)):
            mask[cy:cy + n, cx:cx + n] = True
    return mask


CASES = [(layout, aspect, fs) for layout in list_layouts() for aspect in SIZES
         for fs in FIELD_SETS]


def test_there_are_at_least_eight_layouts():
    assert {"classic", "classic-dark", "centered", "blur", "border", "film", "overlay",
            "minimal"} <= set(list_layouts())


@pytest.mark.parametrize("layout, aspect, fieldset", CASES)
def test_geometry(layout, aspect, fieldset):
    photo = PHOTOS[aspect]
    meta = FIELD_SETS[fieldset]
    plan = frame_plan(photo, meta, layout)
    canvas = draw_frame(plan, photo)
    W, H = plan.canvas_size
    assert canvas.shape == (H, W, 3) and canvas.dtype == np.uint8
    px0, py0, px1, py1 = plan.photo_box
    assert (px1 - px0, py1 - py0) == (photo.shape[1], photo.shape[0])

    # the photo is copied bit for bit, except where the layout draws on it by design
    allowed = _allowed_on_photo(plan)[py0:py1, px0:px1]
    same = np.all(canvas[py0:py1, px0:px1] == photo, axis=2)
    assert same[~allowed].all(), f"{(~same & ~allowed).sum()} photo pixels changed"
    assert allowed.mean() < 0.12, "too much of the photo is exempt for this test to mean much"

    texts = [e for e in plan.elements if e.kind == "text"]
    for e in plan.elements:
        x0, y0, x1, y1 = e.box
        assert 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H, f"{e.kind} {e.text!r} outside canvas"
        if e.on_photo:
            assert _inside(e.box, plan.photo_box), f"{e.text!r} leaves the photo"
        else:
            assert not _overlap(e.box, plan.photo_box), f"{e.kind} {e.text!r} on the photo"
    for a, b in itertools.combinations(plan.elements, 2):
        assert not _overlap(_ink_box(a), _ink_box(b)), f"{a.kind} {a.text!r} x {b.kind} {b.text!r}"

    # content: never "None", a 120-character lens is cut, not overflowing
    assert all("None" not in e.text and e.text.strip() for e in texts)
    if fieldset == "no-exif":
        assert not texts
        assert not any(e.kind == "divider" for e in plan.elements)  # never an empty divider
    else:
        assert any("α7R V" in e.text for e in texts), [e.text for e in texts]
    if fieldset == "long-lens":
        lens = [e for e in texts if e.line_id == "lens"]
        assert all(e.text.endswith("…") and len(e.text) < 120 for e in lens)

    if plan.background is not None:
        _check_ink(canvas, plan)
    _check_baselines(plan, layout, fieldset)


def _check_ink(canvas, plan):
    """Outside the photo, every pixel that is not background lies in an element's box,
    and every element has ink."""
    W, H = plan.canvas_size
    bg = np.array(plan.background, np.uint8)
    differs = np.any(canvas != bg, axis=2)
    px0, py0, px1, py1 = plan.photo_box
    differs[py0:py1, px0:px1] = False
    covered = np.zeros((H, W), bool)
    for e in plan.elements:
        x0, y0, x1, y1 = e.box
        covered[max(0, y0):y1, max(0, x0):x1] = True
        if not e.on_photo:
            assert differs[y0:y1, x0:x1].any(), f"{e.kind} {e.text!r} drew nothing"
    assert not (differs & ~covered).any(), "ink outside the planned boxes"
    # text sits on its baseline: lines without descenders end their ink there
    for e in plan.elements:
        if e.kind != "text" or e.on_photo or set(e.text) & set("gjpqyQ,;/()[]{}|_"):
            continue
        x0, y0, x1, y1 = e.box
        region = np.abs(canvas[y0:y1, x0:x1].astype(int) - bg.astype(int)).max(axis=2)
        strong = np.nonzero(region.max(axis=1) > 0.5 * region.max())[0]
        assert abs((y0 + strong.max() + 1) - e.baseline) <= 1.5, (e.text, e.baseline)


def _check_baselines(plan, layout, fieldset):
    """Lines at the same position of stacks with the same shape share their baseline."""
    texts = [e for e in plan.elements if e.kind == "text"]
    stacks = {}
    for e in texts:
        stacks.setdefault((e.group, e.row), []).append(e)
    compared = 0
    for a, b in itertools.combinations(texts, 2):
        sa, sb = stacks[(a.group, a.row)], stacks[(b.group, b.row)]
        if a.group == b.group or a.on_photo != b.on_photo or len(sa) != len(sb):
            continue
        if sa.index(a) == sb.index(b) and abs(a.size - b.size) < 1e-6 \
                and abs(a.origin[1] - b.origin[1]) < 0.2 * a.size:
            compared += 1
            assert abs(a.baseline - b.baseline) < 0.01, (a.text, b.text)
    if layout.startswith("classic") and fieldset == "all":
        assert compared >= 2  # camera/exposure and lens/date share their baselines


def test_sizes_are_the_same_dtype_and_uint16_is_exact():
    photo = photo_of(300, 450).astype(np.uint16) * 257 + 3
    out = render_frame(photo, FULL, "classic")
    plan = frame_plan(photo, FULL, "classic")
    assert out.dtype == np.uint16
    x0, y0, x1, y1 = plan.photo_box
    assert np.array_equal(out[y0:y1, x0:x1], photo)
    bar = out[y1:, :, :]
    assert bar.max() == 65535 and bar.min() < 20000  # white bar, dark text at 16 bits
