"""frame_file (the job runner's frame job): decode the encoded pixels, orient once, frame,
write with EXIF and ICC."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms

from redframe.errors import InputError, OutputError, UsageError
from redframe.frame import frame_plan
from redframe.io.decode import read_metadata
from redframe.io.icc import icc_profile
from redframe.jobs import frame_file

DATA = Path(__file__).parent / "data"
SAMPLE_RAW = Path(__file__).parents[1] / "src" / "redframe" / "data" / "sample_nikon_rose.dng"
TAGS = {"Exif.Image.Make": "SONY", "Exif.Image.Model": "ILCE-7RM5",
        "Exif.Photo.FNumber": "18/10", "Exif.Photo.ExposureTime": "1/125",
        "Exif.Photo.ISOSpeedRatings": "200", "Exif.Photo.FocalLength": "35/1",
        "Exif.Photo.DateTimeOriginal": "2024:05:17 18:32:00"}


def _exif(path: Path, tags: dict) -> None:
    import pyexiv2

    with pyexiv2.Image(str(path)) as im:
        im.modify_exif(tags)


def _marked(h: int = 40, w: int = 60) -> np.ndarray:
    img = np.full((h, w, 3), 90, np.uint8)
    img[:8, :8] = (255, 0, 0)  # a red marker in the stored top-left corner
    return img


def test_real_jpeg_keeps_exif_and_pixels(tmp_path):
    src = DATA / "huawei_ele-l29.jpg"
    out = frame_file(src, tmp_path, layout="classic")
    assert out == tmp_path / "huawei_ele-l29.jpg" and out.exists()
    meta = read_metadata(str(out))
    assert meta.model == "ELE-L29" and meta.orientation == 1 and meta.icc_profile
    framed = np.asarray(Image.open(out).convert("RGB")).astype(float)
    original = np.asarray(Image.open(src).convert("RGB")).astype(float)
    h, w = original.shape[:2]
    assert framed.shape[1] == w and framed.shape[0] > h
    mse = np.mean((framed[:h] - original) ** 2)
    assert 10 * np.log10(255 ** 2 / mse) > 35  # only the re-encode differs
    assert framed[h + 5:, :20].mean() > 250  # a white bar under it
    with pytest.raises(OutputError, match="exists"):
        frame_file(src, tmp_path, layout="classic")
    assert frame_file(src, tmp_path, layout="minimal", overwrite=True) == out


@pytest.mark.parametrize("orientation, marker", [(1, "tl"), (3, "br"), (6, "tr"), (8, "bl")])
def test_orientation_applied_once(tmp_path, orientation, marker):
    src = tmp_path / "o.jpg"
    Image.fromarray(_marked()).save(src, quality=95)
    _exif(src, {**TAGS, "Exif.Image.Orientation": str(orientation)})
    out = frame_file(src, tmp_path / "out", layout="classic")
    assert read_metadata(str(out)).orientation == 1
    framed = np.asarray(Image.open(out).convert("RGB")).astype(int)
    plan = frame_plan(np.zeros((60, 40, 3) if orientation in (6, 8) else (40, 60, 3), np.uint8),
                      read_metadata(str(src)), "classic")
    x0, y0, x1, y1 = plan.photo_box
    assert framed.shape[:2] == (plan.canvas_size[1], plan.canvas_size[0])
    photo = framed[y0:y1, x0:x1]
    corners = {"tl": photo[2, 2], "tr": photo[2, -3], "bl": photo[-3, 2], "br": photo[-3, -3]}
    reds = [k for k, v in corners.items() if v[0] > 200 and v[1] < 60]
    assert reds == [marker]


def test_sixteen_bit_png_is_bit_exact(tmp_path):
    rng = np.random.default_rng(3)
    img = rng.integers(0, 65536, size=(48, 64, 3), dtype=np.uint16)
    src = tmp_path / "deep.png"
    cv2.imwrite(str(src), img[..., ::-1])
    out = frame_file(src, tmp_path / "out", layout="border")
    back = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert back.dtype == np.uint16
    plan = frame_plan(img, None, "border")
    x0, y0, x1, y1 = plan.photo_box
    assert np.array_equal(back[y0:y1, x0:x1], img)
    assert any("no camera metadata" in n for n in plan.notes)


def test_cmyk_jpeg(tmp_path):
    cmyk = Image.new("CMYK", (64, 48), (255, 0, 0, 0))  # pure cyan ink
    src = tmp_path / "cmyk.jpg"
    cmyk.save(src, quality=95)
    _exif(src, TAGS)
    out = frame_file(src, tmp_path / "out", layout="classic")
    rgb = np.asarray(Image.open(out).convert("RGB"))
    r, g, b = rgb[10, 10].astype(int)
    assert r < 60 and g > 180 and b > 180
    icc = Image.open(out).info.get("icc_profile")
    assert icc and b"RGB " == icc[16:20]  # an RGB profile, never the CMYK one


def test_display_p3_profile_is_kept_and_gps_stripped(tmp_path):
    src = tmp_path / "p3.jpg"
    Image.fromarray(_marked()).save(src, quality=95, icc_profile=icc_profile("display-p3"))
    _exif(src, {**TAGS, "Exif.GPSInfo.GPSLatitudeRef": "N",
                "Exif.GPSInfo.GPSLatitude": "52/1 27/1 35/1",
                "Exif.GPSInfo.GPSLongitudeRef": "E",
                "Exif.GPSInfo.GPSLongitude": "13/1 19/1 18/1"})
    kept = frame_file(src, tmp_path / "a", layout="classic")
    stripped = frame_file(src, tmp_path / "b", layout="classic", strip_gps=True)
    icc = Image.open(kept).info["icc_profile"]
    desc = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    assert "P3" in desc
    assert read_metadata(str(kept)).gps is not None
    assert read_metadata(str(stripped)).gps is None


def test_heic_roundtrip(tmp_path):
    import pillow_heif

    src = tmp_path / "small.heic"
    pillow_heif.from_bytes("RGB", (64, 48), _marked(48, 64).tobytes()).save(str(src), quality=90)
    out = frame_file(src, tmp_path / "out", layout="centered")
    assert out.suffix == ".heic" and out.stat().st_size > 0
    pillow_heif.register_heif_opener()
    assert Image.open(out).size[1] > 48


def test_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        frame_file(tmp_path / "missing.jpg", tmp_path)
    with pytest.raises(InputError, match="develop --frame"):
        frame_file(SAMPLE_RAW, tmp_path)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        frame_file(empty, tmp_path / "o")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 40)
    with pytest.raises(InputError):
        frame_file(broken, tmp_path / "o")
    src = tmp_path / "ok.jpg"
    Image.fromarray(_marked()).save(src)
    with pytest.raises(UsageError, match="replace its own source"):
        frame_file(src, tmp_path)
    with pytest.raises(UsageError, match="unknown layout"):
        frame_file(src, tmp_path / "o", layout="nope")
    with pytest.raises(UsageError, match="logo"):
        frame_file(src, tmp_path / "o", options={"logo": str(tmp_path / "none.png")})
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_webp_becomes_jpeg_and_format_is_honoured(tmp_path):
    src = tmp_path / "web.webp"
    Image.fromarray(_marked()).save(src, quality=90)
    out = frame_file(src, tmp_path / "a", layout="minimal")
    assert out.suffix == ".jpg"
    png = frame_file(src, tmp_path / "b", layout="minimal", format="png")
    assert png.suffix == ".png" and Image.open(png).format == "PNG"
    with pytest.raises(UsageError, match="format"):
        frame_file(src, tmp_path / "c", layout="minimal", format="gif")
