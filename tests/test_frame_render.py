"""Frames on hostile input: bad EXIF text, tiny and large photos, user fonts/logos/layouts,
overlay contrast, padding to feed ratios, and the errors users see."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import numpy as np
import pytest
from PIL import Image

from redframe.errors import UsageError
from redframe.frame import frame_plan, list_layouts, render_frame
from redframe.frame.draw import draw_frame
from redframe.frame.fonts import BUNDLED, FALLBACKS
from redframe.frame.plan import contrast_ratio
from redframe.io.metadata import Metadata

META = Metadata(make="NIKON CORPORATION", model="NIKON Z 6_2", lens="NIKKOR Z 24-70mm f/4 S",
                focal_length=24.0, f_number=4.0, exposure_time=1 / 250, iso=100.0,
                datetime=dt.datetime(2023, 9, 2, 7, 5))


def photo(h=300, w=450, value=None, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if value is not None:
        return np.full((h, w, 3), value, np.uint8)
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def texts(plan):
    return [e.text for e in plan.elements if e.kind == "text"]


def test_hostile_text_does_not_crash_and_draws_what_it_can():
    meta = dataclasses.replace(META, model="Z 6\x00\x07\u202e 😀 写真 מצלמה", make="NIKON",
                               lens="عدسة 50mm 🤖🤖🤖 " + "x" * 2000)
    for layout in list_layouts():
        plan = frame_plan(photo(), meta, layout)
        canvas = draw_frame(plan, photo())
        assert canvas.shape[0] >= 300
        for t in texts(plan):
            assert not {"😀", "🤖", "写", "\x00", "\u202e"} & set(t)
    plan = frame_plan(photo(), meta, "classic")
    camera = next(e for e in plan.elements if e.line_id == "camera")
    assert "מצלמה" in camera.text
    used = {path.rsplit("/", 1)[-1] for path, _ in camera.shaped.runs}
    assert "NotoSansHebrew-Regular.ttf" in used and BUNDLED["bold"] in used
    assert FALLBACKS[1] in {p.rsplit("/", 1)[-1] for e in plan.elements if e.shaped
                            for p, _ in e.shaped.runs}  # the Arabic lens found its face


@pytest.mark.parametrize("layout", list_layouts())
def test_tiny_photo(layout):
    tiny = photo(16, 16)
    plan = frame_plan(tiny, META, layout)
    out = draw_frame(plan, tiny)
    x0, y0, x1, y1 = plan.photo_box
    assert out.shape[0] >= 16 and out.shape[1] >= 16
    if layout not in ("film", "blur"):  # these draw on / round the photo by design
        assert np.array_equal(out[y0:y1, x0:x1], tiny)
    assert not texts(plan)  # 16 px leave no room for legible text: none, not garbage
    for e in plan.elements:
        assert 0 <= e.box[0] < e.box[2] <= out.shape[1] and 0 <= e.box[1] < e.box[3] <= out.shape[0]
    assert render_frame(photo(1, 1), META, layout).shape[0] >= 1


def test_large_photo_scales_text_and_stays_fast():
    big = np.zeros((4000, 6000, 3), np.uint8)
    big[::7] = 200
    t = time.perf_counter()
    plan = frame_plan(big, META, "classic")
    out = draw_frame(plan, big)
    elapsed = time.perf_counter() - t
    camera = next(e for e in plan.elements if e.line_id == "camera")
    assert camera.size > 100  # type scales with the photo (0.030 of the short side)
    assert out.shape == (4440, 6000, 3)
    assert np.array_equal(out[:4000], big)
    assert elapsed < 3.0


@pytest.mark.parametrize("value, expect", [(245, "scrim-or-dark"), (12, "light"),
                                           (None, "scrim")])
def test_overlay_contrast(value, expect):
    if value is None:  # worst case: a fine black/white checkerboard
        img = np.zeros((400, 600, 3), np.uint8)
        img[(np.indices((400, 600)).sum(axis=0) // 2) % 2 == 0] = 255
    else:
        img = photo(400, 600, value=value)
        img = np.clip(img.astype(int) + np.random.default_rng(1).integers(-8, 9, img.shape),
                      0, 255).astype(np.uint8)
    plan = frame_plan(img, META, "overlay")
    before_text = draw_frame(dataclasses.replace(plan, elements=[]), img)
    lines = [e for e in plan.elements if e.kind == "text"]
    assert len(lines) == 2
    for e in lines:
        x0, y0, x1, y1 = e.box
        region = before_text[y0:y1, x0:x1].reshape(-1, 3).astype(np.float64) / 255
        lin = np.where(region <= 0.04045, region / 12.92, ((region + 0.055) / 1.055) ** 2.4)
        lum = lin @ [0.2126, 0.7152, 0.0722]
        c = np.array(e.color) / 255
        text_lum = float((np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4))
                         @ [0.2126, 0.7152, 0.0722])
        worst = np.percentile(lum, 95) if text_lum > 0.5 else np.percentile(lum, 5)
        assert contrast_ratio(text_lum, float(worst)) >= 4.5, (e.text, e.color)
    light = all(e.color == (255, 255, 255) for e in lines)
    if expect == "light":
        assert light and not plan.scrims
    elif expect == "scrim":
        assert light and plan.scrims
    else:
        assert plan.scrims or not light


def test_pad_to_feed_ratios():
    for ratio, (h, w) in (("1:1", (300, 450)), ("4:5", (300, 450)), ("9:16", (450, 300))):
        out = render_frame(photo(h, w), META, "border", pad_to=ratio)
        a, b = (int(v) for v in ratio.split(":"))
        assert abs(out.shape[1] / out.shape[0] - a / b) < 0.01
    black = render_frame(photo(), META, "border", variant="black")
    assert tuple(black[2, 2]) == (14, 14, 14)
    with pytest.raises(UsageError):
        render_frame(photo(), META, "border", pad_to="wide")
    with pytest.raises(UsageError):
        render_frame(photo(), META, "border", variant="nope")


def test_missing_policy_dash_and_templates():
    meta = Metadata(make="Canon", model="Canon EOS R5")
    plan = frame_plan(photo(), meta, "classic")
    assert texts(plan) == ["Canon EOS R5"]
    plan = frame_plan(photo(), meta, "classic", missing="dash")
    assert "–" in texts(plan)
    plan = frame_plan(photo(), META, "classic", templates={"exposure": "{shutter}s · ISO{iso}"},
                      fields={"camera": "My camera"})
    assert "1/250s · ISO100" in texts(plan) and "My camera" in texts(plan)


def test_user_fonts(tmp_path):
    from redframe.frame.fonts import _bundled

    plan = frame_plan(photo(), META, "classic", font=_bundled(BUNDLED["light"]))
    assert all(p.endswith(BUNDLED["light"]) for e in plan.elements if e.shaped
               for p, _ in e.shaped.runs)
    with pytest.raises(UsageError, match="not found"):
        render_frame(photo(), META, "classic", font=str(tmp_path / "missing.ttf"))
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"\x00\x01\x00\x00" + b"garbage" * 50)
    with pytest.raises(UsageError, match="cannot be read"):
        render_frame(photo(), META, "classic", font=str(broken))


def test_user_logo_keeps_its_aspect(tmp_path):
    logo = np.zeros((100, 400, 4), np.uint8)
    logo[20:80, 10:390] = (20, 40, 200, 255)  # a 380x60 wordmark inside transparent margins
    path = tmp_path / "logo.png"
    Image.fromarray(logo, "RGBA").save(path)
    plan = frame_plan(photo(), META, "classic", logo=str(path))
    mark = next(e for e in plan.elements if e.kind == "logo")
    x0, y0, x1, y1 = mark.rect
    assert abs((x1 - x0) / (y1 - y0) - 380 / 60) < 0.1 * 380 / 60 or (x1 - x0) / (y1 - y0) == 6
    out = draw_frame(plan, photo())
    blue = np.all(out[y0:y1, x0:x1] == (20, 40, 200), axis=2)
    assert blue.mean() > 0.5
    assert not any(e.kind == "emblem" for e in plan.elements)
    for bad, match in ((tmp_path / "none.png", "not found"),
                       (tmp_path / "bad.png", "cannot be read")):
        if bad.name == "bad.png":
            bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
        with pytest.raises(UsageError, match=match):
            render_frame(photo(), META, "classic", logo=str(bad))
    empty = tmp_path / "clear.png"
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(empty)
    with pytest.raises(UsageError, match="transparent"):
        render_frame(photo(), META, "classic", logo=str(empty))


SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="300" height="60">'
       '<rect x="0" y="0" width="300" height="60" fill="#c00"/></svg>')


def test_svg_logo(tmp_path, monkeypatch):
    path = tmp_path / "mark.svg"
    path.write_text(SVG)
    try:
        import resvg_py  # noqa: F401
    except ImportError:
        with pytest.raises(UsageError, match="resvg"):
            render_frame(photo(), META, "classic", logo=str(path))
        return
    plan = frame_plan(photo(), META, "classic", logo=str(path))
    mark = next(e for e in plan.elements if e.kind == "logo")
    x0, y0, x1, y1 = mark.rect
    assert abs((x1 - x0) / (y1 - y0) - 5) < 0.3
    out = draw_frame(plan, photo())
    assert np.all(out[y0 + 2:y1 - 2, x0 + 2:x1 - 2] == (204, 0, 0))
    import builtins

    real = builtins.__import__

    def no_resvg(name, *args, **kwargs):
        if name == "resvg_py":
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_resvg)
    with pytest.raises(UsageError, match="resvg"):
        render_frame(photo(), META, "classic", logo=str(path))


def test_user_layout_file(tmp_path):
    mine = tmp_path / "mine.toml"
    mine.write_text('version = 1\nextends = "classic"\n[palette]\nbackground = "#F0E8D8"\n')
    out = render_frame(photo(), META, str(mine))
    assert tuple(out[-2, 2]) == (0xF0, 0xE8, 0xD8)
    for text, match in (("version = 1\n[[group]\n", "TOML"),
                        ('version = 1\nextends = "classic"\ncolour = 1\n', "unknown key"),
                        ('version = 2\n', "version"),
                        ('version = 1\nextends = "classic"\n[[group]]\nband = "left"\n'
                         '[[group.item]]\ntype = "emblem"\n', "band")):
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        with pytest.raises(UsageError, match=match):
            render_frame(photo(), META, str(bad))


def test_usage_errors():
    with pytest.raises(UsageError, match="unknown layout"):
        render_frame(photo(), META, "fancy")
    with pytest.raises(UsageError, match="unknown frame option"):
        render_frame(photo(), META, "classic", colour="red")
    with pytest.raises(UsageError):
        render_frame(photo(), META, "classic", text_scale=9)
    with pytest.raises(UsageError, match="unknown field"):
        render_frame(photo(), META, "classic", templates={"exposure": "{aperture}"})
    with pytest.raises(ValueError):
        render_frame(photo().astype(np.float32), META, "classic")
    with pytest.raises(ValueError):
        render_frame(photo()[..., 0], META, "classic")


def test_emblem_off_and_no_metadata():
    plan = frame_plan(photo(), META, "classic", emblem=False)
    assert not any(e.kind in ("emblem", "divider") for e in plan.elements)
    plan = frame_plan(photo(), None, "classic")
    assert not texts(plan) and any("no camera metadata" in n for n in plan.notes)
