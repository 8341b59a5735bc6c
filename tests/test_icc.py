"""Our ICC profiles, checked against LittleCMS (through Pillow's ImageCms) and colour-science."""

from __future__ import annotations

import hashlib
import io
import struct

import numpy as np
import pytest
from PIL import Image, ImageCms

from redframe.color import D65_XY, bradford_matrix, rgb_to_xyz_matrix
from redframe.io.icc import ICC_SPACES, PCS_D50, icc_colorants, icc_description, icc_profile


def _lcms(data: bytes) -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(io.BytesIO(data))


def _grid(step: int = 15) -> np.ndarray:
    levels = np.arange(0, 256, step, dtype=np.uint8)
    levels = np.unique(np.append(levels, 255)).astype(np.uint8)
    rgb = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1)
    return rgb.reshape(-1, 1, 3)


def _convert(pixels: np.ndarray, source: bytes, target=None) -> np.ndarray:
    transform = ImageCms.buildTransform(_lcms(source), target or ImageCms.createProfile("sRGB"),
                                        "RGB", "RGB")
    return np.asarray(ImageCms.applyTransform(Image.fromarray(pixels), transform)).astype(int)


@pytest.mark.parametrize("version", [4, 2])
@pytest.mark.parametrize("space", list(ICC_SPACES))
def test_littlecms_reads_profile(space, version):
    data = icc_profile(space, version)
    profile = _lcms(data)
    assert ImageCms.getProfileDescription(profile).strip() == ICC_SPACES[space][0]
    assert icc_description(data) == ICC_SPACES[space][0]
    assert profile.profile.version == pytest.approx(4.4 if version == 4 else 2.4)
    assert profile.profile.xcolor_space.strip() == "RGB"
    assert profile.profile.connection_space.strip() == "XYZ"
    assert len(data) % 4 == 0 and struct.unpack(">I", data[:4])[0] == len(data)


@pytest.mark.parametrize("space", list(ICC_SPACES))
def test_profile_id_is_md5_of_profile(space):
    data = icc_profile(space)
    zeroed = bytearray(data)
    zeroed[44:48] = zeroed[64:68] = b"\0\0\0\0"
    zeroed[84:100] = b"\0" * 16
    assert data[84:100] == hashlib.md5(bytes(zeroed)).digest()
    assert _lcms(data).profile.profile_id == data[84:100]


def test_tags_are_aligned_and_inside():
    data = icc_profile("display-p3")
    count = struct.unpack(">I", data[128:132])[0]
    sigs = set()
    for i in range(count):
        sig, offset, size = struct.unpack(">4sII", data[132 + 12 * i: 144 + 12 * i])
        sigs.add(sig)
        assert offset % 4 == 0 and offset + size <= len(data)
    assert sigs == {b"desc", b"cprt", b"wtpt", b"chad", b"rXYZ", b"gXYZ", b"bXYZ",
                    b"rTRC", b"gTRC", b"bTRC"}


@pytest.mark.parametrize("version", [4, 2])
def test_srgb_profile_is_identity_to_littlecms_srgb(version):
    grid = _grid()
    out = _convert(grid, icc_profile("srgb", version))
    assert np.abs(out - grid.astype(int)).max() <= 1


def test_display_p3_to_srgb_matches_colour_science():
    colour = pytest.importorskip("colour")
    grid = _grid(17)
    out = _convert(grid, icc_profile("display-p3"))
    expected = colour.RGB_to_RGB(grid.astype(np.float64) / 255, "Display P3", "sRGB",
                                 chromatic_adaptation_transform=None,
                                 apply_cctf_decoding=True, apply_cctf_encoding=False)
    expected = colour.models.eotf_inverse_sRGB(np.clip(expected, 0, 1))
    expected = np.round(expected * 255).astype(int)
    assert np.abs(out - expected).max() <= 2
    # pure P3 red is outside sRGB: red clips, green and blue stay at 0
    red = _convert(np.array([[[255, 0, 0]]], np.uint8), icc_profile("display-p3"))
    assert red.ravel().tolist() == [255, 0, 0]
    # a P3 colour inside sRGB lands where colour-science says
    inside = np.array([[[200, 120, 60]]], np.uint8)
    ref = colour.RGB_to_RGB(inside / 255.0, "Display P3", "sRGB", apply_cctf_decoding=True,
                            apply_cctf_encoding=True)
    assert np.abs(_convert(inside, icc_profile("display-p3")) - np.round(ref * 255)).max() <= 1


@pytest.mark.parametrize("space", ["display-p3", "rec2020", "adobe-rgb"])
def test_wide_profiles_roundtrip_through_littlecms(space):
    grid = _grid(51)
    data = icc_profile(space)
    to_srgb_and_back = _convert(_convert(grid, data).astype(np.uint8), icc_profile("srgb"),
                                _lcms(data))
    # only in-gamut colours survive sRGB; check that neutrals do
    neutral = grid[..., 0] == grid[..., 1]
    neutral &= grid[..., 1] == grid[..., 2]
    assert np.abs(to_srgb_and_back[neutral] - grid[neutral]).max() <= 1


@pytest.mark.parametrize("space", list(ICC_SPACES))
def test_colorants_are_adapted_primaries(space):
    d50_xy = (PCS_D50[0] / sum(PCS_D50), PCS_D50[1] / sum(PCS_D50))
    expected = bradford_matrix(D65_XY, d50_xy) @ rgb_to_xyz_matrix(space)
    colorants = icc_colorants(icc_profile(space))
    np.testing.assert_allclose(colorants, expected, atol=1e-3)
    # balanced: R = G = B = 1 is exactly the D50 white of the PCS
    np.testing.assert_allclose(colorants.sum(axis=1), PCS_D50, atol=1 / 65536)


def test_reader_rejects_garbage():
    assert icc_description(b"") is None
    assert icc_description(b"\0" * 200) is None
    assert icc_colorants(None) is None
    assert icc_colorants(icc_profile("srgb")[:140]) is None
    truncated = icc_profile("srgb")[:300]
    icc_description(truncated)  # must not raise


def test_reads_littlecms_profile():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    assert "srgb" in (icc_description(srgb) or "").lower()
    np.testing.assert_allclose(icc_colorants(srgb), icc_colorants(icc_profile("srgb")), atol=2e-3)


def test_unknown_space():
    with pytest.raises(ValueError, match="unknown ICC space"):
        icc_profile("prophoto")
