"""The one gamut compression (redframe.color.gamut, color/_gamut.pxd): its direction per
hue below the cusp, measured on Oklab colours outside sRGB and Display P3.

Above a hue's cusp lightness a colour moves toward the cusp's grey (unchanged here); below
it toward the cusp's grey where the cusp is light (green, yellow, cyan) and at constant
lightness where it is dark (blue, red, magenta), a smoothstep of the cusp lightness
between CUSP_DARK and CUSP_LIGHT.
"""

from __future__ import annotations

import numpy as np
import pytest

from redframe.color.gamut import (
    CUSP_DARK,
    CUSP_LIGHT,
    boundary_chroma,
    compress_oklab,
    cusp,
)

THRESHOLD = 0.97  # the output transform's (redframe.isp.output.GAMUT_THRESHOLD)
SPACES = ("srgb", "display-p3")


def compress(lightness, chroma, hue_deg, space):
    h = np.radians(np.asarray(hue_deg, np.float64))
    lightness, chroma = np.broadcast_arrays(np.asarray(lightness, np.float64),
                                            np.asarray(chroma, np.float64))
    out_l, a, b = compress_oklab(lightness, chroma * np.cos(h), chroma * np.sin(h), space,
                                 THRESHOLD)
    return out_l, np.hypot(a, b), np.degrees(np.arctan2(b, a)) % 360.0


@pytest.mark.parametrize("space", SPACES)
def test_the_cusp_lightness_sorts_the_hues(space):
    """The hues named light-cusped are (green, cyan, yellow at or above CUSP_LIGHT), the
    dark-cusped ones are (blue, red, magenta at or below CUSP_DARK)."""
    for hue in (110.0, 142.5, 156.0, 180.0, 195.0):  # yellow, green, the LED's, cyan
        assert cusp(np.radians(hue), space)[0] >= CUSP_LIGHT, hue
    for hue in (25.0, 29.0, 264.0, 268.0, 328.0):  # red, blue, magenta
        assert cusp(np.radians(hue), space)[0] <= CUSP_DARK, hue


@pytest.mark.parametrize("space", SPACES)
def test_a_saturated_green_darker_than_its_cusp_moves_toward_the_cusp(space):
    """A saturated green (the LED ramp's hue, 156 deg) darker than its cusp comes out on
    the boundary, lighter and more chromatic than at its own lightness (where constant
    lightness left a muted, darker teal), and still below the cusp; hue kept."""
    hue = 156.0
    cl, cc = cusp(np.radians(hue), space)
    lightness = np.array([0.3, 0.45, 0.6, 0.75])
    out_l, out_c, out_h = compress(lightness, 0.45, hue, space)
    np.testing.assert_allclose(out_h, hue, atol=1e-6)
    at_own = boundary_chroma(lightness, np.radians(hue), space)  # constant lightness
    assert np.all(out_l > lightness + 0.03), out_l
    assert np.all(out_l < cl), out_l
    assert np.all(out_c > at_own * 1.05), (out_c, at_own)
    # on the boundary (the knee rolls off from 97 %)
    assert np.all(out_c >= 0.96 * boundary_chroma(out_l, np.radians(hue), space))
    assert np.all(np.diff(out_l) > 0)  # lightness order kept


@pytest.mark.parametrize("space", SPACES)
@pytest.mark.parametrize("hue", [25.0, 268.0, 328.0])
def test_a_colour_darker_than_a_dark_cusp_keeps_its_lightness(space, hue):
    """Blue, red, magenta below their cusp move at constant lightness (a dark saturated blue
    is not lifted by how far outside it lies)."""
    cl, _ = cusp(np.radians(hue), space)
    lightness = np.linspace(0.1, 0.95 * cl, 7)
    out_l, out_c, _ = compress(lightness, 0.5, hue, space)
    np.testing.assert_allclose(out_l, lightness, atol=1e-12)
    assert np.all(out_c < 0.5)


@pytest.mark.parametrize("space", SPACES)
def test_a_dim_light_keeps_about_its_lightness(space):
    """Toward the cusp less the darker the colour: along the green LED's ramp (C about
    half of L) a dim light is lifted by a hundredth of Oklab L at most (0.005-0.010
    measured at L 0.1), a mid one by up to 0.05-0.09."""
    lightness = np.array([0.05, 0.1, 0.45])
    out_l, _, _ = compress(lightness, 0.51 * lightness, 156.0, space)
    lift = out_l - lightness
    assert np.all(lift > 0), lift
    assert lift[1] <= 0.012 and lift[0] <= 0.004, lift
    assert lift[2] >= 0.04, lift


@pytest.mark.parametrize("space", SPACES)
@pytest.mark.parametrize("lightness, chroma", [(0.2, 0.2), (0.35, 0.4), (0.55, 0.4),
                                               (0.75, 0.4), (0.9, 0.3)])
def test_the_direction_changes_smoothly_with_hue(space, lightness, chroma):
    """Around the hue circle in quarter degrees the compressed lightness never jumps (the
    smoothstep between dark- and light-cusped hues): <= 0.006 Oklab L per step."""
    hues = np.arange(0.0, 360.0, 0.25)
    out_l, _, _ = compress(np.full(hues.shape, lightness), chroma, hues, space)
    steps = np.abs(np.diff(np.append(out_l, out_l[0])))
    assert steps.max() <= 0.006, (hues[np.argmax(steps)], steps.max())


@pytest.mark.parametrize("space", SPACES)
@pytest.mark.parametrize("hue", [57.0, 110.0, 156.0, 180.0, 225.0, 268.0, 328.0])
def test_a_ramp_of_light_stays_monotonic(space, hue):
    """A light whose intensity rises (Oklab scales as the cube root: L and C together) is
    compressed to a lightness that rises too, at every hue."""
    k = np.cbrt(np.geomspace(1e-3, 1.0, 300))
    out_l, _, _ = compress(0.9 * k, 0.45 * k, hue, space)
    assert np.all(np.diff(out_l) > 0)


@pytest.mark.parametrize("space", ["srgb", "display-p3", "rec2020"])
def test_the_cusp_table_is_the_maximum_over_every_lightness(space):
    """The cusp search (every 8th lightness, then all within 8 of the largest) finds what
    evaluating the boundary chroma at all 195 lightnesses of every hue finds."""
    from redframe.color import gamut

    hues = np.radians(np.arange(0.0, 361.0))
    ls = gamut._CUSP_LIGHTNESS
    c = gamut.boundary_chroma(np.broadcast_to(ls[None, :], (361, ls.size)),
                              np.broadcast_to(hues[:, None], (361, ls.size)), space)
    table_l, table_c = gamut.cusp_table(space)
    assert np.array_equal(table_l, ls[np.argmax(c, axis=1)])
    assert np.array_equal(table_c, np.max(c, axis=1))
