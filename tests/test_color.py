"""redframe.color against colour-science as the oracle (the runtime never imports it)."""

from __future__ import annotations

import doctest
import importlib

import colour
import numpy as np
import pytest

from redframe.color import (
    ACES_WHITE_XY,
    D50_XY,
    D65_XY,
    LUMA_REC709,
    LUMA_REC2020,
    PRIMARIES,
    REC2020_TO_XYZ,
    SRGB_TO_XYZ,
    XYZ_TO_REC2020,
    XYZ_TO_SRGB,
    bradford_matrix,
    cct_to_xy,
    dither,
    luminance,
    rgb_to_rgb_matrix,
    rgb_to_xyz_matrix,
    srgb_decode,
    srgb_encode,
    transfer,
    uv_to_xy,
    xy_to_uv,
    xy_to_xyz,
)
from redframe.color._dither import hashes_and_dither
from redframe.color.encodings import ENCODINGS
from redframe.color.temperature import daylight_locus_xy, planckian_locus_xy

MODULES = ["chromaticity", "primaries", "adaptation", "transfer", "encodings", "luma",
           "temperature", "dither"]

#: our name -> colour-science's colourspace
COLOURSPACES = {"srgb": "sRGB", "display-p3": "Display P3", "rec2020": "ITU-R BT.2020",
                "adobe-rgb": "Adobe RGB (1998)", "s-gamut3.cine": "S-Gamut3.Cine",
                "arri-wide-gamut-3": "ARRI Wide Gamut 3", "aces-ap1": "ACEScg"}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run_and_every_module_cites_and_exports(name):
    module = importlib.import_module(f"redframe.color.{name}")
    assert doctest.testmod(module).failed == 0
    assert module.__doc__ and len(module.__doc__) > 200
    assert all(hasattr(module, n) for n in module.__all__)


# --- transfer curves -------------------------------------------------------------------------

def test_srgb_curve_is_iec_61966_2_1():
    x = np.linspace(0.0, 1.0, 4097)
    enc = srgb_encode(x)
    assert enc.dtype == np.float32
    np.testing.assert_allclose(enc, colour.cctf_encoding(x, function="sRGB"), atol=2e-7)
    np.testing.assert_allclose(srgb_decode(x), colour.cctf_decoding(x, function="sRGB"),
                               atol=2e-7)
    np.testing.assert_allclose(srgb_decode(enc), x.astype(np.float32), atol=2e-6)
    assert srgb_encode(np.array([-1.0, 2.0])) == pytest.approx([0.0, 1.0], abs=1e-7)  # clipped


def test_icc_curve_constants_are_derived_from_the_transfer_constants():
    from redframe.io.icc import SRGB_CURVE

    assert SRGB_CURVE == (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
    g, a, b, c, d = SRGB_CURVE
    x = np.linspace(0, 1, 257)
    ours = np.where(x >= d, (a * x + b) ** g, c * x)
    np.testing.assert_allclose(ours, colour.cctf_decoding(x, function="sRGB"), atol=1e-12)


@pytest.mark.parametrize("name, theirs", [
    ("slog3", colour.models.log_encoding_SLog3),
    ("logc3", colour.models.log_encoding_ARRILogC3),
    ("acescct", colour.models.log_encoding_ACEScct),
    ("rec709", colour.models.eotf_inverse_BT1886),
])
def test_encodings_transfer_curves_match_colour_science(name, theirs):
    x = np.geomspace(0.001, 10 if name != "rec709" else 1, 60)
    enc = ENCODINGS[name]
    assert np.abs(enc.encode(x) - theirs(x)).max() < 2e-4, name
    np.testing.assert_allclose(enc.decode(enc.encode(x)), x, rtol=1e-4)


def test_log_mid_greys():
    assert np.isclose(transfer.slog3_encode(0.18), 420 / 1023, atol=1e-6)
    assert np.isclose(transfer.logc3_encode(0.18), 0.391, atol=1e-3)
    assert np.isclose(transfer.acescct_encode(0.18), 0.4135, atol=1e-4)


# --- primaries, matrices, adaptation --------------------------------------------------------

@pytest.mark.parametrize("space", sorted(COLOURSPACES))
def test_rgb_to_xyz_matrices_are_rp177_of_the_primaries(space):
    cs = colour.RGB_COLOURSPACES[COLOURSPACES[space]]
    np.testing.assert_allclose(np.asarray(PRIMARIES[space]), cs.primaries, atol=1e-12)
    ours = rgb_to_xyz_matrix(space)
    exact = colour.normalised_primary_matrix(cs.primaries, cs.whitepoint)
    np.testing.assert_allclose(ours, exact, atol=5e-5)  # whites: 4 decimals vs CIE's 5
    np.testing.assert_allclose(ours, cs.matrix_RGB_to_XYZ, atol=2e-4)  # the published ones
    assert np.allclose(ours @ np.ones(3), xy_to_xyz(cs.whitepoint if space == "aces-ap1"
                                                      else D65_XY), atol=1e-12)


def test_named_matrices_and_inverses():
    np.testing.assert_allclose(SRGB_TO_XYZ @ XYZ_TO_SRGB, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(REC2020_TO_XYZ @ XYZ_TO_REC2020, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(SRGB_TO_XYZ[0], [0.4124, 0.3576, 0.1805], atol=1e-4)


@pytest.mark.parametrize("source, target", [("srgb", "rec2020"), ("display-p3", "srgb"),
                                            ("aces-ap1", "rec2020"),
                                            ("s-gamut3.cine", "rec2020")])
def test_rgb_to_rgb_matches_colour_science_with_bradford(source, target):
    theirs = colour.matrix_RGB_to_RGB(COLOURSPACES[source], COLOURSPACES[target],
                                      chromatic_adaptation_transform="Bradford")
    np.testing.assert_allclose(rgb_to_rgb_matrix(source, target), theirs, atol=3e-4)


def test_unknown_space_is_named():
    with pytest.raises(ValueError, match="unknown RGB colour space 'prophoto'.*srgb"):
        rgb_to_xyz_matrix("prophoto")


@pytest.mark.parametrize("source, target", [(D65_XY, D50_XY), ((0.44757, 0.40745), D65_XY),
                                            (ACES_WHITE_XY, D65_XY)])
def test_bradford_matches_colour_science(source, target):
    theirs = colour.adaptation.matrix_chromatic_adaptation_VonKries(
        colour.xy_to_XYZ(source), colour.xy_to_XYZ(target), transform="Bradford")
    np.testing.assert_allclose(bradford_matrix(source, target), theirs, atol=1e-12)
    np.testing.assert_allclose(bradford_matrix(source, target) @ xy_to_xyz(source),
                               xy_to_xyz(target), atol=1e-12)


def test_encoding_matrices_go_to_rec2020():
    for name, enc in ENCODINGS.items():
        theirs = colour.matrix_RGB_to_RGB(COLOURSPACES[enc.space], "ITU-R BT.2020",
                                          chromatic_adaptation_transform="Bradford")
        np.testing.assert_allclose(enc.to_2020, theirs, atol=3e-4, err_msg=name)
        assert not enc.to_2020.flags.writeable


# --- luma --------------------------------------------------------------------------------------

def test_luma_weights_are_the_y_rows_of_the_standards():
    bt2020 = colour.RGB_COLOURSPACES["ITU-R BT.2020"].matrix_RGB_to_XYZ[1]
    bt709 = colour.RGB_COLOURSPACES["ITU-R BT.709"].matrix_RGB_to_XYZ[1]
    np.testing.assert_allclose(LUMA_REC2020, bt2020, atol=1e-4)
    np.testing.assert_allclose(LUMA_REC709, bt709, atol=1e-4)
    kr, kb = colour.WEIGHTS_YCBCR["ITU-R BT.2020"]
    assert LUMA_REC2020[0] == np.float32(kr) and LUMA_REC2020[2] == np.float32(kb)
    kr, kb = colour.WEIGHTS_YCBCR["ITU-R BT.709"]
    assert LUMA_REC709[0] == np.float32(kr) and LUMA_REC709[2] == np.float32(kb)
    np.testing.assert_allclose(LUMA_REC709, rgb_to_xyz_matrix("srgb")[1], atol=1e-4)
    assert LUMA_REC2020.dtype == np.float32 and not LUMA_REC2020.flags.writeable


def test_luminance():
    rgb = np.random.default_rng(0).random((5, 7, 3)).astype(np.float32)
    y = luminance(rgb)
    assert y.dtype == np.float32 and y.shape == (5, 7)
    np.testing.assert_allclose(y, rgb @ REC2020_TO_XYZ[1].astype(np.float32), atol=1e-4)
    assert luminance(rgb.astype(np.float64), LUMA_REC709).dtype == np.float64
    assert luminance(np.full(3, 255, np.uint8), LUMA_REC709) == pytest.approx(255, rel=1e-6)
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        luminance(np.zeros((4, 4)))


# --- colour temperature ----------------------------------------------------------------------

def test_cct_to_xy_follows_cie_daylight_above_4000k():
    for t in np.linspace(4000, 25000, 43):
        np.testing.assert_allclose(cct_to_xy(t), colour.temperature.CCT_to_xy_CIE_D(t),
                                   atol=1e-12)
    assert cct_to_xy(6504.0) == pytest.approx(D65_XY, abs=2e-4)


def test_cct_to_xy_follows_the_planckian_locus_below_4000k():
    for t in np.linspace(1667, 3999, 40):
        np.testing.assert_allclose(cct_to_xy(t), colour.temperature.CCT_to_xy_Kang2002(t),
                                   atol=1e-12)
        # the spline is within 4e-4 (u, v) of the true Planckian locus
        planck = colour.temperature.CCT_to_uv_Planck1900(t)
        assert np.hypot(*(np.subtract(xy_to_uv(*cct_to_xy(t)), planck))) < 4e-4
    for t in (5000.0, 12000.0):  # the fit above 4000 K, kept for callers that want Planck
        np.testing.assert_allclose(planckian_locus_xy(t),
                                   colour.temperature.CCT_to_xy_Kang2002(t), atol=1e-12)
    assert daylight_locus_xy(6504.0) == cct_to_xy(6504.0)


@pytest.mark.parametrize("cct", [2500.0, 3200.0, 5500.0, 9000.0])
@pytest.mark.parametrize("duv", [-0.02, -0.005, 0.01, 0.02])
def test_duv_moves_across_the_locus_with_the_ansi_sign(cct, duv):
    """+duv is above the locus (greener): Ohno 2013's Duv grows by duv, the CCT stays."""
    base_t, base_duv = colour.temperature.uv_to_CCT_Ohno2013(np.array(xy_to_uv(*cct_to_xy(cct))))
    t, d = colour.temperature.uv_to_CCT_Ohno2013(np.array(xy_to_uv(*cct_to_xy(cct, duv))))
    assert d - base_duv == pytest.approx(duv, abs=5e-4)
    assert t == pytest.approx(base_t, rel=0.01)


def test_cct_range_is_checked():
    for bad in (1000.0, 30000.0, float("nan")):
        with pytest.raises(ValueError, match="1667..25000 K"):
            cct_to_xy(bad)
    with pytest.raises(ValueError, match="duv"):
        cct_to_xy(5000.0, float("inf"))


def test_uv_round_trip():
    for xy in ((0.3127, 0.3290), (0.64, 0.33), (0.15, 0.06)):
        assert uv_to_xy(*xy_to_uv(*xy)) == pytest.approx(xy, abs=1e-15)
        np.testing.assert_allclose(xy_to_uv(*xy), colour.xy_to_UCS_uv(xy), atol=1e-15)


def test_callers_keep_their_documented_tints():
    """``--wb 5500K+10``: the light is 10/1000 Duv more magenta (below the locus); a look's
    ``tint = +10``: the assumed light is greener, so grey renders magenta."""
    from redframe.isp.white_balance import parse_wb, white_balance_gains
    from redframe.looks.oklab import white_balance_bias

    for text, kelvin, tint in (("5500K+10", 5500.0, 10.0), ("3200K-20", 3200.0, -20.0)):
        gains, _ = white_balance_gains(parse_wb(text), np.eye(3), None)  # camera RGB = XYZ
        light = 1.0 / gains.astype(np.float64)
        np.testing.assert_allclose(light / light[1], xy_to_xyz(cct_to_xy(kelvin, -tint / 1000)),
                                   rtol=1e-6)
        _, d = colour.temperature.uv_to_CCT_Ohno2013(np.array(xy_to_uv(*cct_to_xy(kelvin))))
        _, d_wb = colour.temperature.uv_to_CCT_Ohno2013(
            np.array(xy_to_uv(*colour.XYZ_to_xy(light))))
        assert d_wb - d == pytest.approx(-tint / 1000, abs=5e-4)
    m = white_balance_bias(0.0, 10.0)  # adapts the greener light to D65
    light = XYZ_TO_REC2020 @ xy_to_xyz(cct_to_xy(6504.0, 0.010))
    out = m @ light
    np.testing.assert_allclose(out / out[1], 1.0, atol=1e-3)
    grey = m @ np.full(3, 0.18)
    assert grey[1] < min(grey[0], grey[2])  # the picture turns magenta


# --- dither and position hash ----------------------------------------------------------------

def test_compiled_and_numpy_hashes_and_dither_agree():
    hashes, noise = hashes_and_dither(37, 5, 301, dither.DITHER_SEED)
    np.testing.assert_array_equal(hashes, dither.position_hash_np(37, 5, 301, dither.DITHER_SEED))
    np.testing.assert_array_equal(noise, dither.dither_noise(37, 5, 301))
    assert dither.dither_noise(37, 5, 301, 1).shape == (5, 301, 1)
    with pytest.raises(ValueError, match="1 to 3 channels"):
        dither.dither_noise(0, 1, 1, 4)


def test_dither_is_triangular_and_positional():
    n = dither.dither_noise(0, 256, 256)
    assert np.abs(n).max() < 1 and abs(float(n.mean())) < 0.01
    hist = np.histogram(n[..., 0], bins=8, range=(-1, 1))[0] / n[..., 0].size
    assert hist[3] > 2.5 * hist[0]  # triangular: dense near 0, sparse at the ends
    np.testing.assert_array_equal(dither.dither_noise(100, 20, 256), n[100:120])
    assert dither.hash32_np(np.uint64(0)) == 0 and dither.hash32_np(np.uint64(1)) < 2**32


def test_kernels_cube_root_is_within_three_ulps_of_libm():
    from redframe.isp import _pixel

    rng = np.random.default_rng(0)
    plain = rng.uniform(-2, 2, 200_000)
    signs = np.sign(rng.uniform(-1, 1, 200_000))
    x = np.concatenate([plain, signs * 10 ** rng.uniform(-300, 300, 200_000),
                        [0.0, -0.0, 1e-310, -1e-320, 8.0, -27.0]])
    out = np.empty_like(x)
    _pixel.cbrt_loop(x, out)
    ref = np.cbrt(x)
    assert np.array_equal(out[-6:-4], ref[-6:-4]) and np.signbit(out[-5])  # signed zeros
    ulps = np.abs(out - ref)[ref != 0] / np.spacing(np.abs(ref[ref != 0]))
    assert ulps.max() <= 3.0
    special = np.array([np.inf, -np.inf, np.nan])
    _pixel.cbrt_loop(special, out[:3])
    assert out[0] == np.inf and out[1] == -np.inf and np.isnan(out[2])


@pytest.mark.parametrize("space", ["srgb", "display-p3"])
def test_gamut_boundary_is_the_first_exit_along_the_line(space):
    """boundary_along (ITP root finding) against a dense scan for the first point outside,
    refined by 50 bisection steps, on lines as the compression draws them: from a grey at
    the colour's lightness (or toward its cusp's) through colours beyond the boundary."""
    from redframe.color import gamut
    from redframe.color.gamut import OKLAB_TO_LMS_C, lms_to_rgb
    from redframe.color.oklab import LMS_TO_OKLAB

    rng = np.random.default_rng(2)
    n = 20_000
    m = lms_to_rgb(space)
    rgb = rng.uniform(-0.3, 1.3, (n, 3)) * rng.uniform(0.01, 1, (n, 1)) ** 2
    lab = np.cbrt(np.linalg.solve(m, rgb.T).T) @ LMS_TO_OKLAB.T
    light, a, b = np.clip(lab[:, 0], 0, 1), lab[:, 1], lab[:, 2]
    cl, cc = gamut.cusp(np.arctan2(b, a), space)
    w = np.minimum(np.hypot(a, b) / cc, 1)
    anchor = np.where(cl < light, light + w * (cl - light), light)
    t_max = np.full(n, 1 / 0.97)

    def excess(t):
        p = np.stack([anchor + t * (light - anchor), t * a, t * b], -1)
        v = (p @ OKLAB_TO_LMS_C.T) ** 3 @ m.T
        return np.maximum((v - 1).max(-1), (-v).max(-1)) - 1e-9

    keep = (excess(t_max) > 1e-7) & (excess(np.zeros(n)) <= 0) & (np.hypot(a, b) > 1e-6)
    light, a, b, anchor, t_max = light[keep], a[keep], b[keep], anchor[keep], t_max[keep]
    k = int(keep.sum())
    assert k > 5000
    lo, hi, found, prev = np.zeros(k), t_max.copy(), np.zeros(k, bool), np.zeros(k)
    for t in np.linspace(0, 1 / 0.97, 401)[1:]:
        newly = (excess(np.full(k, t)) > 0) & ~found
        lo[newly], hi[newly] = prev[newly], t
        found |= newly
        prev = np.where(found, prev, t)
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        inside = excess(mid) <= 0
        lo, hi = np.where(inside, mid, lo), np.where(inside, hi, mid)
    got = gamut.boundary_along(light, a, b, anchor, space, t_max, 20)
    err = np.abs(got - lo)
    assert np.quantile(err, 0.999) < 2e-6 and (err > 1e-4).sum() <= k // 10_000
    assert np.all(excess(got) <= 1e-12)  # never a point outside
