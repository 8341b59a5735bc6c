"""Frame text: make/model prettifying, field values, templates and the missing-field policy."""

from __future__ import annotations

import datetime as dt

import pytest

from redframe.errors import UsageError
from redframe.frame.text import (
    THIN,
    check_template,
    fields,
    first_filled,
    format_template,
    pretty_camera,
    pretty_lens,
    pretty_make,
)
from redframe.io.exif import metadata_from_exif
from redframe.io.metadata import Gps, Metadata


@pytest.mark.parametrize("make, model, camera", [
    ("SONY", "ILCE-7RM5", "Sony α7R V"),
    ("SONY", "ILCE-7M3", "Sony α7 III"),
    ("SONY", "ILCE-7RM4A", "Sony α7R IVA"),
    ("SONY", "ILCE-1", "Sony α1"),
    ("SONY", "DSC-RX100M7", "Sony RX100 VII"),
    ("NIKON CORPORATION", "NIKON Z 6_2", "Nikon Z 6II"),
    ("NIKON CORPORATION", "NIKON D850", "Nikon D850"),
    ("Canon", "Canon EOS R5", "Canon EOS R5"),
    ("OLYMPUS IMAGING CORP.", "E-M1MarkII", "Olympus E-M1 Mark II"),
    ("OM Digital Solutions", "OM-1", "OM System OM-1"),
    ("FUJIFILM", "X-T5", "Fujifilm X-T5"),
    ("Panasonic", "DC-S5M2", "Lumix S5II"),
    ("LEICA CAMERA AG", "LEICA Q2", "Leica Q2"),
    ("RICOH IMAGING COMPANY, LTD.", "PENTAX K-1 Mark II", "Pentax K-1 Mark II"),
    ("Apple", "iPhone 13 Pro Max", "iPhone 13 Pro Max"),
    ("Xiaomi", "2304FPN6DC", "Xiaomi 13 Ultra"),
    ("Xiaomi", "Redmi Note 8 Pro", "Redmi Note 8 Pro"),
    ("Xiaomi", "Mi A1", "Xiaomi Mi A1"),
    ("HMD Global", "Nokia 8.3 5G", "Nokia 8.3 5G"),
    ("samsung", "SM-G900F", "Galaxy S5"),
    ("HUAWEI", "ELE-L29", "Huawei P30"),
    (None, "X100V", "X100V"),
])
def test_camera_names_are_prettified(make, model, camera):
    assert pretty_camera(make, model)[2] == camera


def test_model_without_repeated_brand():
    assert pretty_camera("SONY", "ILCE-7RM5")[1] == "α7R V"
    assert pretty_camera("NIKON CORPORATION", "NIKON Z 6_2")[1] == "Z 6II"
    assert pretty_make("ACME IMAGING CO., LTD.") == "ACME"
    assert pretty_make("  ") is None and pretty_camera(None, None) == (None, None, None)


def test_lens_drops_the_camera_name_phones_repeat():
    assert pretty_lens("HUAWEI P30 Rear Main Camera", "HUAWEI", "ELE-L29") == "Rear Main Camera"
    assert pretty_lens("iPhone 13 Pro Max back triple camera 5.7mm f/1.5", "Apple",
                       "iPhone 13 Pro Max") == "Back triple camera 5.7mm f/1.5"
    assert pretty_lens("FE 24-70mm F2.8 GM II", "SONY", "ILCE-7RM5") == "FE 24-70mm F2.8 GM II"
    assert pretty_lens("0.0 mm f/0.0") is None and pretty_lens("----") is None


def _meta(**kw) -> Metadata:
    base = dict(make="Xiaomi", model="2304FPN6DC", lens=None, focal_length=8.7,
                focal_length_35mm=23.0, f_number=1.63, exposure_time=1 / 120, iso=50.0,
                datetime=dt.datetime(2024, 5, 17, 18, 32, 10))
    base.update(kw)
    return Metadata(**base)


def test_exposure_line_typography():
    v = fields(_meta())
    # phones: the 35 mm equivalent, not the real 8.7 mm; thin spaces between values
    assert v["exposure"] == f"23mm{THIN}f/1.63{THIN}1/120s{THIN}ISO50"
    assert v["focal_real"] == "8.7" and v["focal35"] == "23"
    assert v["datetime"] == "2024.05.17 18:32" and v["stamp"] == "'24 5 17"
    # an APS-C camera keeps its real focal length (crop 1.5 is not "phone-like")
    assert fields(_meta(focal_length=23.0, focal_length_35mm=35.0))["focal"] == "23"
    assert fields(_meta(exposure_time=2.5))["shutter"] == "2.5"
    assert fields(_meta(f_number=11.0))["fnumber"] == "11"


@pytest.mark.parametrize("bad", [
    dict(focal_length=0.0, focal_length_35mm=0.0),
    dict(focal_length=float("nan"), focal_length_35mm=None),
    dict(iso=1e9),
    dict(f_number=-2.0),
    dict(exposure_time=0.0),
])
def test_absurd_values_are_missing_not_printed(bad):
    v = fields(_meta(**bad))
    text = " ".join(x for x in v.values() if x is not None)
    assert "None" not in text and "nan" not in text and "inf" not in text
    assert "1000000000" not in text and "f/-2" not in text and "0mm" not in v["exposure"]
    assert v["exposure"]  # what is valid is still shown


def test_absurd_exif_through_the_metadata_reader():
    meta = metadata_from_exif({
        "Exif.Image.Make": "NIKON\x00\x07 CORPORATION", "Exif.Image.Model": "M" * 2048,
        "Exif.Photo.FocalLength": "0/1", "Exif.Photo.ISOSpeedRatings": "1000000000",
        "Exif.Photo.FNumber": "18/10", "Exif.Photo.LensModel": "\u202eevil\u202c lens",
    })
    v = fields(meta)
    assert v["make"] == "Nikon" and v["focal"] is None and v["iso"] is None
    assert len(v["camera"]) <= 256 + len("Nikon ") and "\x00" not in v["camera"]
    assert "\u202e" not in v["lens"]
    assert v["exposure"] == "f/1.8"


def test_missing_policy_hide_and_dash():
    v = {"camera": "Nikon Z 6II", "focal": "23", "fnumber": None, "shutter": "1/120",
         "iso": "50", "lens": None}
    t = "{camera} · {focal}mm f/{fnumber} {shutter}s ISO{iso}"
    assert format_template(t, v) == "Nikon Z 6II · 23mm 1/120s ISO50"
    assert format_template(t, v, missing="dash") == "Nikon Z 6II · 23mm – 1/120s ISO50"
    # a separator never dangles; a literal never stands alone
    assert format_template("{lens} · {camera}", v) == "Nikon Z 6II"
    assert format_template("{camera} | {lens}", v) == "Nikon Z 6II"
    assert format_template("Shot on {lens}", v) == ""
    assert format_template("{lens}", v, missing="dash") == ""
    assert first_filled(["{lens}", "{camera}"], v) == "Nikon Z 6II"
    assert first_filled(["{lens}"], v, missing="dash") == "–"
    assert format_template("{camera!u}", v) == "NIKON Z 6II"


def test_location_only_when_asked():
    meta = _meta(gps=Gps(52.4597, -13.3218))
    assert fields(meta)["location"] is None
    assert fields(meta, show_location=True)["location"] == "52°27′35″N 13°19′18″W"


def test_bad_templates_are_usage_errors():
    for bad in ("{nope}", "{iso:>5}", "{iso!r}", "{iso"):
        with pytest.raises(UsageError):
            check_template(bad)
    with pytest.raises(UsageError):
        fields(_meta(), overrides={"nope": "x"})
    assert fields(_meta(), overrides={"camera": "My camera"})["camera"] == "My camera"
    assert fields(None)["camera"] is None
