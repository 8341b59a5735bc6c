"""Parallel JPEG: bands joined at restart markers decode to exactly the one-piece encode."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from redframe.io import jpeg_bands
from redframe.io.jpeg_bands import encode_jpeg


def _photo(h: int, w: int) -> np.ndarray:
    import cv2

    from redframe.color import XYZ_TO_SRGB, srgb_encode
    from redframe.sim.scenes import natural_xyz  # a real picture, not noise: real entropy

    rgb = srgb_encode(np.clip(natural_xyz("astronaut", None) @ XYZ_TO_SRGB.T, 0, 1))
    return (cv2.resize(rgb.astype(np.float32), (w, h)) * 255).round().astype(np.uint8)


def _decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return np.asarray(im)


@pytest.mark.parametrize("subsampling", [0, 2])
@pytest.mark.parametrize("shape", [(1501, 1333), (1024, 1024), (37, 3000)])
def test_bands_decode_exactly_like_one_piece(monkeypatch, subsampling, shape):
    monkeypatch.setattr(jpeg_bands, "MIN_BAND_PIXELS", 1000)
    pixels = _photo(*shape)
    one = encode_jpeg(pixels, quality=92, subsampling=subsampling, workers=1)
    for workers in (2, 3, 4):
        banded = encode_jpeg(pixels, quality=92, subsampling=subsampling, workers=workers)
        with Image.open(io.BytesIO(banded)) as im:
            assert im.size == (shape[1], shape[0]) and im.format == "JPEG"
        np.testing.assert_array_equal(_decode(banded), _decode(one))
        # per MCU row: the RST marker, bit padding, DC values coded afresh; plus the DRI
        assert len(banded) - len(one) < 16 * (shape[0] // 8 + 2)
    import cv2  # a second decoder (OpenCV's libjpeg) reads the joined file the same

    cv = cv2.imdecode(np.frombuffer(banded, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
    np.testing.assert_array_equal(cv, _decode(one))


def test_header_carries_icc_and_exif_once():
    from redframe.io.icc import icc_profile

    icc = icc_profile("srgb")
    exif = Image.Exif()
    exif[0x0131] = "redframe test"
    pixels = _photo(1600, 1400)
    data = encode_jpeg(pixels, quality=90, subsampling=0, workers=2, icc_profile=icc,
                       exif=exif.tobytes())
    with Image.open(io.BytesIO(data)) as im:
        assert im.info["icc_profile"] == icc
        assert im.getexif()[0x0131] == "redframe test"
    assert data.count(b"ICC_PROFILE") == 1 and data.count(b"Exif\0\0") == 1
