"""write_image: pixels, bit depth, ICC, EXIF round trip, hostile metadata, atomic writes."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageOps

from redframe import SOFTWARE
from redframe.color import rgb_to_rgb_matrix, srgb_decode
from redframe.errors import OutputError, UsageError
from redframe.io import encode
from redframe.io.decode import read_image, read_metadata
from redframe.io.encode import (
    FORMATS,
    apply_orientation,
    exif_tags,
    output_path,
    quantise,
    write_image,
)
from redframe.io.icc import icc_description
from redframe.io.metadata import MAX_TEXT, Gps, Metadata

SHIP = Path(__file__).parent / "data" / "xiaomi_mi_a1_ship.jpg"  # photoprism fixture, AGPL-3.0


@pytest.fixture(scope="module")
def gradient() -> np.ndarray:
    h, w = 48, 64
    x, y = np.meshgrid(np.linspace(0, 1, w), np.linspace(0, 1, h))
    return np.dstack([x, y, 0.25 + 0.5 * x * y]).astype(np.float32)


@pytest.fixture(scope="module")
def ship_meta() -> Metadata:
    return read_metadata(str(SHIP))


def _no_leftovers(folder: Path) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".part")]


def _heif_pixels(path: Path, hdr: bool = False):
    import pillow_heif

    heif = pillow_heif.open_heif(str(path), convert_hdr_to_8bit=not hdr)
    return np.asarray(heif[0]), heif[0].info


# --- pixels, bit depth, ICC ------------------------------------------------------------

def test_jpeg_pixels_and_icc(tmp_path, gradient):
    path = write_image(tmp_path / "a.jpg", gradient, format="jpeg", meta=None)
    with Image.open(path) as im:
        assert im.format == "JPEG" and im.mode == "RGB" and im.size == (64, 48)
        assert icc_description(im.info["icc_profile"]) == "sRGB"
        from PIL import JpegImagePlugin

        assert JpegImagePlugin.get_sampling(im) == 0  # 4:4:4 at quality >= 90
        got = np.asarray(im).astype(np.float32) / 255
    assert np.abs(got - gradient).mean() < 2 / 255
    low = write_image(tmp_path / "b.jpg", gradient, format="jpg", meta=None, quality=70)
    with Image.open(low) as im:
        assert JpegImagePlugin.get_sampling(im) == 2  # 4:2:0
    _no_leftovers(tmp_path)


def test_png_16_bit_exact_and_8_bit(tmp_path, gradient):
    path = write_image(tmp_path / "a.png", gradient, format="png", meta=None,
                       color_space="display-p3")
    got = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert got.dtype == np.uint16
    np.testing.assert_array_equal(got, np.round(gradient * 65535).astype(np.uint16))
    with Image.open(path) as im:
        assert icc_description(im.info["icc_profile"]) == "Display P3"
    path8 = write_image(tmp_path / "b.png", gradient, format="png", meta=None, bit_depth=8)
    got8 = cv2.imread(str(path8), cv2.IMREAD_UNCHANGED)[..., ::-1].astype(int)
    assert got8.dtype != np.uint16 and np.abs(got8 - np.round(gradient * 255)).max() <= 1


def test_tiff_16_bit_exact_deflate_icc(tmp_path, gradient):
    path = write_image(tmp_path / "a.tif", gradient, format="tiff", meta=None,
                       color_space="rec2020")
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        np.testing.assert_array_equal(page.asarray(), np.round(gradient * 65535).astype(np.uint16))
        assert int(page.compression) == 8  # Adobe deflate
        assert icc_description(page.tags[34675].value) == "Rec.2020 (sRGB curve)"
    path8 = write_image(tmp_path / "b.tif", gradient, format="tiff", meta=None, bit_depth=8)
    assert tifffile.imread(path8).dtype == np.uint8


def test_integer_input_written_as_is(tmp_path):
    pixels = np.random.default_rng(1).integers(0, 65536, (9, 7, 3), dtype=np.uint16)
    path = write_image(tmp_path / "a.tif", pixels, format="tiff", meta=None)
    np.testing.assert_array_equal(tifffile.imread(path), pixels)
    small = (pixels >> 8).astype(np.uint8)
    path8 = write_image(tmp_path / "b.png", small, format="png", meta=None)  # keeps 8 bits
    np.testing.assert_array_equal(cv2.imread(str(path8), cv2.IMREAD_UNCHANGED)[..., ::-1], small)


def test_heic_8_and_10_bit(tmp_path, gradient):
    path = write_image(tmp_path / "a.heic", gradient, format="heic", meta=None,
                       color_space="display-p3")
    got, info = _heif_pixels(path)
    assert got.shape == (48, 64, 3) and got.dtype == np.uint8
    assert np.abs(got / 255 - gradient).mean() < 3 / 255
    assert icc_description(info["icc_profile"]) == "Display P3"
    path10 = write_image(tmp_path / "b.heic", gradient, format="heic", meta=None, bit_depth=10)
    got10, info10 = _heif_pixels(path10, hdr=True)
    assert info10["bit_depth"] == 10
    assert np.abs(got10 / 65535 - gradient).mean() < 2 / 255


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_decode_reads_our_files_back(tmp_path, gradient, fmt):
    path = write_image(tmp_path / f"a{FORMATS[fmt]}", gradient, format=fmt, meta=None,
                       color_space="display-p3")
    scene = read_image(path)
    assert not scene.notes  # the profile was recognised
    matrix = rgb_to_rgb_matrix("display-p3", "rec2020").astype(np.float32)
    expected = srgb_decode(gradient) @ matrix.T
    tolerance = 0.002 if fmt in ("png", "tiff") else 0.02
    assert np.abs(scene.rgb - expected).mean() < tolerance


# --- EXIF ------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", list(FORMATS))
def test_exif_round_trip(tmp_path, gradient, ship_meta, fmt):
    path = write_image(tmp_path / f"a{FORMATS[fmt]}", gradient, format=fmt, meta=ship_meta,
                       color_space="display-p3")
    back = read_metadata(str(path))
    for field in ("make", "model", "f_number", "exposure_time", "iso", "focal_length",
                  "focal_length_35mm", "datetime", "gps"):
        assert getattr(back, field) == getattr(ship_meta, field), field
    assert back.orientation == 1
    assert back.software == SOFTWARE
    assert back.exif["Exif.Photo.ColorSpace"] == "65535"
    if fmt == "tiff":  # the size is in IFD0 there; EXIF 2.32 forbids these tags in TIFF
        assert "Exif.Photo.PixelXDimension" not in back.exif
    else:
        assert back.exif["Exif.Photo.PixelXDimension"] == "64"
        assert back.exif["Exif.Photo.PixelYDimension"] == "48"
    assert not [k for k in back.exif if k.startswith(("Exif.Thumbnail.", "Exif.Iop."))]
    assert icc_description(back.icc_profile) == "Display P3"
    assert not back.warnings
    _no_leftovers(tmp_path)


@pytest.mark.parametrize("fmt", ["jpeg", "heic"])
def test_strip_gps(tmp_path, gradient, fmt):
    meta = Metadata(make="Test", exif={
        "Exif.Image.Make": "Test",
        "Exif.GPSInfo.GPSLatitudeRef": "S",
        "Exif.GPSInfo.GPSLatitude": "33/1 51/1 2160/100",
        "Exif.GPSInfo.GPSLongitudeRef": "E",
        "Exif.GPSInfo.GPSLongitude": "151/1 12/1 3600/100",
    })
    kept = read_metadata(str(write_image(tmp_path / f"k{FORMATS[fmt]}", gradient, format=fmt,
                                         meta=meta)))
    assert kept.gps.latitude == pytest.approx(-(33 + 51 / 60 + 21.6 / 3600))
    gone = read_metadata(str(write_image(tmp_path / f"s{FORMATS[fmt]}", gradient, format=fmt,
                                         meta=meta, strip_gps=True)))
    assert gone.gps is None and not [k for k in gone.exif if "GPS" in k]
    assert gone.make == "Test"


def test_fills_standard_tags_from_metadata(tmp_path, gradient):
    meta = Metadata(make="NIKON CORPORATION", model="NIKON Z 6", lens="NIKKOR Z 35mm f/1.8 S",
                    focal_length=35.0, focal_length_35mm=35.0, f_number=1.8,
                    exposure_time=1 / 250, iso=400.0, exposure_bias=-0.7,
                    datetime=dt.datetime(2021, 5, 1, 10, 20, 30),
                    gps=Gps(48.8583, 2.2945, 35.0))
    back = read_metadata(str(write_image(tmp_path / "a.jpg", gradient, format="jpeg",
                                         meta=meta)))
    for field in ("make", "model", "lens", "focal_length", "focal_length_35mm", "f_number",
                  "iso", "datetime"):
        assert getattr(back, field) == getattr(meta, field), field
    assert back.exposure_time == pytest.approx(1 / 250)
    assert back.exposure_bias == pytest.approx(-0.7)
    assert back.gps.latitude == pytest.approx(48.8583, abs=1e-6)
    assert back.gps.altitude == pytest.approx(35.0)
    assert back.exif["Exif.Photo.ColorSpace"] == "1"


def test_tags_exif_requires_per_container():
    jpeg = exif_tags(None, width=4, height=3, ycbcr=True)
    assert jpeg["Exif.Image.YCbCrPositioning"] == "1" and jpeg["Exif.Image.XResolution"] == "72/1"
    assert jpeg["Exif.Photo.PixelXDimension"] == "4"
    tiff = exif_tags(None, width=4, height=3, tiff=True)
    assert "Exif.Image.YCbCrPositioning" not in tiff and "Exif.Photo.PixelXDimension" not in tiff
    assert tiff["Exif.Photo.FlashpixVersion"] == "48 49 48 48"


def test_zero_source_values_are_filled_and_estimates_not_written(tmp_path, gradient):
    meta = Metadata(f_number=2.8, focal_length=50.0, focal_length_35mm=75.0, exif={
        "Exif.Photo.FNumber": "0/10",  # manual lens: the camera wrote "unknown"
        "Exif.Photo.FocalLength": "0/10",
        "Exif.Photo.FocalPlaneXResolution": "5472000/1413",  # so the 35 mm value is a guess
        "Exif.Photo.UserComment": "charset=Ascii",
    })
    tags = exif_tags(meta, width=4, height=4)
    assert tags["Exif.Photo.FNumber"] == "14/5" and tags["Exif.Photo.FocalLength"] == "50/1"
    assert "Exif.Photo.FocalLengthIn35mmFilm" not in tags
    assert "Exif.Photo.UserComment" not in tags


def test_source_specific_tags_are_dropped():
    meta = Metadata(exif={
        "Exif.Image.Make": "Canon",
        "Exif.Image.StripOffsets": "1234",
        "Exif.Image.DNGVersion": "1 4 0 0",
        "Exif.Image.CFAPattern": "0 1 1 2",
        "Exif.Image.Orientation": "6",
        "Exif.Image.Software": "Camera 1.0",
        "Exif.Photo.MakerNote": "1 2 3",
        "Exif.Photo.InteroperabilityTag": "900",
        "Exif.Photo.PixelXDimension": "6000",
        "Exif.Photo.UserComment": "hello",
        "Exif.Thumbnail.JPEGInterchangeFormat": "1054",
        "Exif.Iop.InteroperabilityIndex": "R98",
        "Exif.Canon.LensModel": "EF 50mm",
        "Exif.SubImage1.ImageWidth": "160",
        "Xmp.xmp.CreatorTool": "x",
    })
    tags = exif_tags(meta, width=10, height=5)
    assert tags["Exif.Image.Make"] == "Canon" and tags["Exif.Photo.UserComment"] == "hello"
    assert tags["Exif.Image.Orientation"] == "1" and tags["Exif.Image.Software"] == SOFTWARE
    assert tags["Exif.Photo.PixelXDimension"] == "10"
    for key in ("Exif.Image.StripOffsets", "Exif.Image.DNGVersion", "Exif.Image.CFAPattern",
                "Exif.Photo.MakerNote", "Exif.Photo.InteroperabilityTag",
                "Exif.Thumbnail.JPEGInterchangeFormat", "Exif.Iop.InteroperabilityIndex",
                "Exif.Canon.LensModel", "Exif.SubImage1.ImageWidth", "Xmp.xmp.CreatorTool"):
        assert key not in tags


@pytest.mark.parametrize("fmt", ["jpeg", "tiff", "heic"])
def test_hostile_text_is_sanitised_and_bad_values_skipped(tmp_path, gradient, fmt):
    meta = Metadata(exif={
        "Exif.Image.Make": "Evil\x1b[31m\u202eCorp\x00",
        "Exif.Image.Model": "X\r\nInjected: yes",
        "Exif.Image.ImageDescription": "A" * 65536,
        "Exif.Image.Artist": "\u202egnp.exe\u202c",
        "Exif.Photo.FNumber": "not a number",
        "Exif.Photo.ISOSpeedRatings": "99999999",
        "Exif.Photo.NoSuchTag": "1",
        "Exif.Photo.ExposureTime": "1/60",
    })
    path = write_image(tmp_path / f"a{FORMATS[fmt]}", gradient, format=fmt, meta=meta)
    back = read_metadata(str(path))
    assert back.make == "Evil [31mCorp"
    assert back.model == "X Injected: yes"
    raw = back.exif
    assert len(raw["Exif.Image.ImageDescription"]) <= MAX_TEXT
    assert not any(ch in value for value in raw.values() for ch in "\x00\x1b\u202e\r\n")
    assert back.f_number is None and back.iso is None
    assert back.exposure_time == pytest.approx(1 / 60)
    assert back.software == SOFTWARE


# --- files -----------------------------------------------------------------------------

def test_existing_file_is_not_touched(tmp_path, gradient):
    path = tmp_path / "a.jpg"
    path.write_bytes(b"precious")
    with pytest.raises(OutputError, match="exists; use --overwrite") as err:
        write_image(path, gradient, format="jpeg", meta=None)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    assert path.read_bytes() == b"precious"
    write_image(path, gradient, format="jpeg", meta=None, overwrite=True)
    assert path.read_bytes()[:3] == b"\xff\xd8\xff"
    _no_leftovers(tmp_path)


@pytest.mark.parametrize("overwrite", [False, True])
def test_failing_encoder_leaves_nothing(tmp_path, gradient, monkeypatch, overwrite):
    def broken(tmp, pixels, *args):
        Path(tmp).write_bytes(b"half a file")
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setitem(encode._WRITERS, "png", broken)
    path = tmp_path / "a.png"
    if overwrite:
        path.write_bytes(b"old")
    with pytest.raises(OutputError) as err:
        write_image(path, gradient, format="png", meta=None, overwrite=overwrite)
    assert str(err.value) == f"{path}: cannot write PNG (disk on fire)"
    assert (path.read_bytes() == b"old") if overwrite else not path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == (["a.png"] if overwrite else [])


def test_creates_missing_folder_and_sets_readable_mode(tmp_path, gradient):
    path = write_image(tmp_path / "new" / "deeper" / "a.tif", gradient, format="tiff", meta=None)
    assert path.exists()
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_usage_errors(tmp_path, gradient):
    with pytest.raises(UsageError, match="unknown output format"):
        write_image(tmp_path / "a.gif", gradient, format="gif", meta=None)
    with pytest.raises(UsageError, match="bits"):
        write_image(tmp_path / "a.jpg", gradient, format="jpeg", meta=None, bit_depth=16)
    with pytest.raises(UsageError, match="quality"):
        write_image(tmp_path / "a.jpg", gradient, format="jpeg", meta=None, quality=0)
    with pytest.raises(UsageError, match="colour space"):
        write_image(tmp_path / "a.jpg", gradient, format="jpeg", meta=None, color_space="cmyk")
    with pytest.raises(ValueError, match="shape"):
        write_image(tmp_path / "a.jpg", gradient[..., 0], format="jpeg", meta=None)
    assert not list(tmp_path.iterdir())


def test_output_path(tmp_path):
    assert output_path(tmp_path / "out", "/photos/DSC_0001.NEF", "jpeg") == \
        tmp_path / "out" / "DSC_0001.jpg"
    assert output_path("o", "a/b.c.dng", "tif") == Path("o") / "b.c.tif"
    source = tmp_path / "IMG_1.heic"
    source.write_bytes(b"x")
    with pytest.raises(UsageError, match="replace its own source"):
        output_path(tmp_path, source, "heic")


# --- orientation and quantisation --------------------------------------------------------

@pytest.mark.parametrize("orientation", range(1, 9))
def test_apply_orientation_matches_pillow(orientation):
    pixels = np.arange(3 * 5 * 3, dtype=np.uint8).reshape(3, 5, 3) * 5
    image = Image.fromarray(pixels)
    image.getexif()[0x0112] = orientation
    expected = np.asarray(ImageOps.exif_transpose(image))
    np.testing.assert_array_equal(apply_orientation(pixels, orientation), expected)


def test_apply_orientation_rejects_bad_code():
    assert apply_orientation(np.zeros((2, 3, 3)), None).shape == (2, 3, 3)
    with pytest.raises(ValueError, match="1..8"):
        apply_orientation(np.zeros((2, 3, 3)), 9)


def test_quantise_dither():
    ramp = np.linspace(0, 1, 4096, dtype=np.float32)[None, :, None].repeat(16, 0).repeat(3, 2)
    a, b = quantise(ramp, 8), quantise(ramp, 8)
    np.testing.assert_array_equal(a, b)  # seeded
    assert np.abs(a.astype(float) - ramp * 255).max() <= 1.5
    assert abs(a.astype(float).mean() - (ramp * 255).mean()) < 0.05  # unbiased
    flat = np.full((64, 64, 3), 0.5, np.float32)
    assert len(np.unique(quantise(flat, 8))) > 1  # dithered, no single-level band
    edges = np.zeros((8, 8, 3), np.float32)
    edges[:4] = 1.0
    np.testing.assert_array_equal(quantise(edges, 8), (edges * 255).astype(np.uint8))
    nan = np.full((2, 2, 3), np.nan, np.float32)
    assert quantise(nan, 16).max() == 0
    ten = quantise(np.full((1, 1, 3), 65535, np.uint16), 10)
    assert ten.dtype == np.uint16 and ten.max() == 1023
