"""The look engine: reference math against colour-science, the fast path against the
reference, strips against whole frames, grain determinism, bad pixels."""

from __future__ import annotations

import dataclasses

import colour
import numpy as np
import pytest

from redframe.color import REC2020_TO_XYZ, XYZ_TO_REC2020
from redframe.isp.tone import NEUTRAL_TONE, display_to_scene
from redframe.looks import Look, get_look
from redframe.looks.fast import noise_plane, noise_reference, tetrahedral, tetrahedral_reference
from redframe.looks.oklab import oklab_to_rec2020, rec2020_to_oklab
from redframe.looks.params import Color, Grain, LookParams, Skin, Vignette, WhiteBalanceBias
from redframe.sim.scenes import natural_xyz

WHITE = colour.XYZ_to_xy(colour.xy_to_XYZ([0.3127, 0.3290]))
BUNDLED = ("neutral", "authentic", "vibrant", "bw-natural", "bw-contrast")


def lab(rgb2020):
    return colour.XYZ_to_Lab(np.asarray(rgb2020, np.float64) @ REC2020_TO_XYZ.T, WHITE)


def delta_e(a, b):
    return colour.delta_E(lab(a), lab(b), method="CIE 2000")


@pytest.fixture(scope="module")
def photo():
    """A natural picture as scene light: mid-tones near 0.18, highlights above 1."""
    return (natural_xyz("astronaut", 160) @ XYZ_TO_REC2020.T).astype(np.float32) * 1.6


def test_oklab_matches_colour_science():
    rng = np.random.default_rng(0)
    rgb = rng.uniform(0, 1, (500, 3))
    ours = rec2020_to_oklab(rgb)
    theirs = colour.XYZ_to_Oklab(rgb @ REC2020_TO_XYZ.T)
    assert np.abs(ours - theirs).max() < 1e-6
    assert np.abs(oklab_to_rec2020(ours) - rgb).max() < 1e-9


def test_tetrahedral_kernel_matches_reference_and_colour_science():
    from colour.algebra import table_interpolation_tetrahedral

    rng = np.random.default_rng(1)
    lut = rng.uniform(0, 1, (9, 9, 9, 3)).astype(np.float32)
    x = rng.uniform(0, 1, (4000, 3)).astype(np.float32)
    x[:9] = [[0, 0, 0], [1, 1, 1], [0.5, 0.5, 0.5], [1, 0, 0], [0, 1, 1], [0.25, 0.25, 0.75],
             [0.125, 0.125, 0.125], [1, 1, 0], [0.3, 0.3, 0.9]]  # ties and faces
    ours = tetrahedral(x, lut)
    assert np.abs(ours - tetrahedral_reference(x, lut)).max() < 1e-5
    assert np.abs(ours - table_interpolation_tetrahedral(x, lut)).max() < 1e-5
    # lattice points come back exactly, greys interpolate along the grey diagonal only
    assert np.abs(tetrahedral(np.array([[0.5, 0.5, 0.5]]), lut) - lut[4, 4, 4]).max() < 1e-6


def test_noise_kernel_is_the_reference_hash():
    assert np.array_equal(noise_plane(17, 8, 33, seed=5), noise_reference(17, 8, 33, seed=5))
    n = noise_plane(0, 256, 256, seed=1)
    assert abs(n.mean()) < 0.02 and abs(n.std() - 1.0) < 0.02
    assert not np.array_equal(n, noise_plane(0, 256, 256, seed=2))


@pytest.mark.parametrize("name", BUNDLED)
@pytest.mark.parametrize("display", [False, True])
def test_fast_path_matches_reference(photo, name, display):
    look = get_look(name)
    x = np.clip(photo / 1.6, 0, 1) if display else photo
    fast = look.apply(x, display_referred=display)
    ref = look.apply(x, display_referred=display, engine="reference")
    de = delta_e(fast, ref)
    assert de.mean() < 0.2, de.mean()
    assert np.percentile(de, 99) < 1.5, np.percentile(de, 99)


def test_strips_equal_the_whole_frame(photo):
    """Vignette and grain depend on the position in the full frame, not in the strip."""
    p = dataclasses.replace(get_look("bw-contrast").params, vignette=Vignette(-0.8, 0.1, 0.5),
                            grain=Grain(amount=6.0, size=2.0, seed=3))
    look = Look(p)
    h, w = photo.shape[:2]
    whole = look.apply(photo)
    for engine in ("lut", "reference"):
        full = look.apply(photo, engine=engine)
        parts = [look.apply(photo[a : a + 37], rows=(a, min(h, a + 37)), full_shape=(h, w),
                            engine=engine) for a in range(0, h, 37)]
        assert np.abs(np.concatenate(parts) - full).max() < 1e-5
    assert np.abs(look.apply(photo, engine="reference") - whole).mean() < 2e-3


def test_grain_is_deterministic_and_luminance_only():
    grey = np.full((64, 96, 3), 0.18, np.float32)
    look = Look(LookParams(grain=Grain(amount=5.0, size=1.0, seed=11)))
    a, b = look.apply(grey), look.apply(grey)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, Look(LookParams(grain=Grain(5.0, 1.0, 12))).apply(grey))
    # multiplicative on all channels alike: the grain has no colour
    assert np.abs(a[..., 0] - a[..., 1]).max() < 1e-6 < a[..., 0].std()
    rel = a[..., 1] / np.median(a[..., 1]) - 1
    assert 0.035 < rel.std() < 0.065  # 5 % RMS


def test_vignette_is_radial_and_follows_the_frame():
    look = Look(LookParams(vignette=Vignette(amount=-1.0, radius=0.0, roundness=0.0)))
    out = look.apply(np.full((60, 120, 3), 0.18, np.float32), engine="reference")
    y = out[..., 1]
    assert y[30, 60] > y[30, 100] > y[30, 119]  # darker toward the edge
    assert np.isclose(y[0, 0], y[-1, -1], rtol=1e-4) and np.isclose(y[0, -1], y[-1, 0])
    # elliptical (roundness 0): the middle of the long and short edges match
    assert np.isclose(y[30, 0], y[0, 60], rtol=0.02)


def test_nan_and_inf_never_get_through():
    rgb = np.full((4, 6, 3), 0.18, np.float32)
    rgb[0, 0] = np.nan
    rgb[0, 1] = np.inf
    rgb[0, 2] = -np.inf
    rgb[0, 3] = [np.nan, 0.5, np.inf]
    rgb[0, 4] = -1.0
    for name in BUNDLED:
        look = get_look(name)
        for engine in ("lut", "reference"):
            for display in (False, True):
                out = look.apply(rgb, engine=engine, display_referred=display)
                assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1, name
                black = look.apply(np.zeros_like(rgb), engine=engine,
                                   display_referred=display)
                assert np.allclose(out[0, 0], black[0, 0], atol=1e-4)  # NaN renders as black
                assert np.allclose(out[0, 4], black[0, 4], atol=1e-4)  # so does negative light
    out = get_look("neutral").apply(rgb)
    assert out[0, 1].min() > 0.99  # +inf is the brightest light


def test_neutral_leaves_a_finished_picture_alone(data_dir):
    """Display-referred input (a JPEG) goes back to scene light through the inverse of the
    neutral curve, so the neutral look is an identity on it (up to its near-white
    desaturation)."""
    from redframe.io.decode import read_image

    rgb = read_image(data_dir / "xiaomi_mi_a1_ship.jpg").rgb
    out = get_look("neutral").apply(rgb, display_referred=True)
    diff = np.abs(out - rgb)
    assert diff.mean() < 2e-3 and np.percentile(diff, 99) < 0.02
    back = display_to_scene(np.array([[0.05, 0.18, 0.5, 0.85, 0.95]]).T.repeat(3, axis=1))
    from redframe.isp.tone import filmic_curve

    assert np.allclose(filmic_curve(back[:, 0], NEUTRAL_TONE), [0.05, 0.18, 0.5, 0.85, 0.95],
                       atol=1e-4)


def test_white_balance_bias_warms_and_tints():
    grey = np.full((2, 2, 3), 0.18, np.float32)
    warm = Look(LookParams(white_balance=WhiteBalanceBias(warmth=30))).apply(grey)[0, 0]
    cool = Look(LookParams(white_balance=WhiteBalanceBias(warmth=-30))).apply(grey)[0, 0]
    magenta = Look(LookParams(white_balance=WhiteBalanceBias(tint=10))).apply(grey)[0, 0]
    assert warm[0] > warm[2] * 1.05 and cool[2] > cool[0] * 1.05
    assert magenta[1] < min(magenta[0], magenta[2])


def test_vibrance_favours_muted_colours_and_skin_protection_works():
    def chroma_gain(params, rgb):
        rgb = np.asarray(rgb, np.float32).reshape(1, 1, 3)
        out = Look(params).apply(rgb, engine="reference")
        c = lambda x: np.hypot(*rec2020_to_oklab(x)[0, 0, 1:])  # noqa: E731
        return c(out) / c(Look().apply(rgb, engine="reference"))

    vib = LookParams(color=Color(vibrance=0.5))
    muted, vivid = [0.20, 0.17, 0.15], [0.40, 0.08, 0.03]
    assert chroma_gain(vib, muted) > chroma_gain(vib, vivid) + 0.15
    skin = [0.462, 0.325, 0.236]  # the ColorChecker's light skin in linear Rec.2020
    sat = Color(saturation=1.4)
    assert chroma_gain(LookParams(color=sat), skin) > 1.3
    protected = chroma_gain(LookParams(color=sat, skin=Skin(protect=1.0)), skin)
    assert abs(protected - 1.0) < 0.05


def test_gamut_compression_keeps_saturated_gradients_apart():
    """Ever more saturated reds beyond the gamut stay distinct and ordered: no flat patch
    of clipped colour (a plain clip would map them all to the same value). These reds are
    darker than red's cusp, so they are compressed at constant lightness: their lightness
    falls with the input's luminance, their hue stays, neighbours stay apart."""
    base = np.array([0.30, 0.05, 0.04])
    steps = np.stack([base * [1.0, f, f] for f in np.linspace(1.0, 0.0, 12)])[:, None, :]
    look = Look(LookParams(color=Color(saturation=1.6)))
    out = look.apply(steps.astype(np.float32), engine="reference")[:, 0]
    lab = rec2020_to_oklab(out)
    assert np.all(np.linalg.norm(np.diff(lab, axis=0), axis=1) > 1e-3), lab
    assert np.all(np.diff(lab[:, 0]) < 0), lab  # ordered as the input's luminance
    hue = np.degrees(np.arctan2(lab[:, 2], lab[:, 1]))
    assert np.ptp(hue) < 3.0, hue
    assert out.max() <= 1.0 and out.min() >= 0.0


def test_bad_arguments():
    look = get_look("neutral")
    with pytest.raises(ValueError, match="H, W, 3"):
        look.apply(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="full_shape"):
        look.apply(np.zeros((4, 4, 3), np.float32), rows=(0, 4))
    with pytest.raises(ValueError, match="do not match"):
        look.apply(np.zeros((4, 4, 3), np.float32), rows=(0, 5), full_shape=(10, 4))
    with pytest.raises(ValueError, match="engine"):
        look.apply(np.zeros((4, 4, 3), np.float32), engine="gpu")

