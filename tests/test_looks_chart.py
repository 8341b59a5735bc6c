"""Looks measured on a synthetic ColorChecker through the simulated sensor and develop.

The chart (colour-science's spectral reflectances under D65) is captured by the simulated
sensor and developed with ``DevelopParams(look=...)`` without local tone mapping or
sharpening, so the output is the look's rendering of known colorimetry. Colour fidelity is
measured on Display P3 output (every patch is inside P3; sRGB would add its own gamut
mapping of the cyan patch), clipping on sRGB and P3. The numbers are in docs/looks.md.
"""

from __future__ import annotations

import dataclasses

import colour
import numpy as np
import pytest
from conftest import delta_e_2000

from redframe.color import rgb_to_xyz_matrix, srgb_decode
from redframe.isp.output import OutputParams
from redframe.isp.pipeline import RAW_EXPOSURE_EV, DevelopParams, develop
from redframe.looks import Look, get_look
from redframe.looks.params import LookParams, Monochrome
from redframe.sim.scenes import PATCH_NAMES, SKIN_PATCHES, colorchecker_image, colorchecker_xyz
from redframe.sim.sensor import simulate_raw

EXPOSE = 2.0**-RAW_EXPOSURE_EV
WHITE = colour.XYZ_to_xy(colour.xy_to_XYZ([0.3127, 0.3290]))
CHROMATIC = list(range(18))
NON_SKIN = [i for i in CHROMATIC if i not in SKIN_PATCHES]
GREYS = [20, 21, 22]  # neutral 6.5, 5, 3.5: around mid-grey
#: The NumPy stages (the fused engine equals them, tests/test_develop.py): the chart is
#: measured on the reference math.
ENGINE = "reference"


@pytest.fixture(scope="module")
def chart():
    ref = colorchecker_xyz("D65")
    img, boxes = colorchecker_image(ref)
    scene, _ = simulate_raw(img, pattern="RGGB", iso=100, exposure=EXPOSE, seed=1)
    return ref, scene, boxes


def render(scene, look, space="display-p3", bits=None):
    p = DevelopParams(tone_curve=False, look=look, output=OutputParams(space), output_bits=bits,
                      engine=ENGINE)
    p.sharpen.amount = 0.0
    return develop(scene, p).image


def patches_xyz(encoded, boxes, space="display-p3"):
    lin = srgb_decode(encoded).astype(np.float64) @ rgb_to_xyz_matrix(space).T
    return np.array([lin[b].reshape(-1, 3).mean(axis=0) for b in boxes])


def lch(xyz):
    lab = colour.XYZ_to_Lab(xyz, WHITE)
    return lab, np.hypot(lab[:, 1], lab[:, 2]), np.degrees(np.arctan2(lab[:, 2], lab[:, 1]))


def hue_diff(a, b):
    return (a - b + 180.0) % 360.0 - 180.0


def grey_slope(xyz, ref):
    """d log2(Y out) / d log2(Y scene) over the greys around mid-grey (least squares)."""
    return np.polyfit(np.log2(ref[GREYS, 1]), np.log2(xyz[GREYS, 1]), 1)[0]


@pytest.fixture(scope="module")
def measured(chart):
    ref, scene, boxes = chart
    return {name: patches_xyz(render(scene, get_look(name)), boxes)
            for name in ("neutral", "authentic", "vibrant")}


@pytest.mark.parametrize("space", ["srgb", "display-p3"])
def test_neutral_is_colorimetric(chart, space):
    ref, scene, boxes = chart
    de = delta_e_2000(patches_xyz(render(scene, get_look("neutral"), space), boxes, space), ref)
    assert de.mean() <= 1.5, de.mean()


def test_authentic_faithful_hues_and_more_contrast(chart, measured):
    ref = chart[0]
    xyz = measured["authentic"]
    assert delta_e_2000(xyz, ref).mean() <= 4.0
    _, _, hue = lch(xyz)
    _, _, hue_ref = lch(ref)
    errors = np.abs(hue_diff(hue[CHROMATIC], hue_ref[CHROMATIC]))
    assert errors.max() <= 4.0, dict(zip(PATCH_NAMES, errors.round(1), strict=False))
    gain = grey_slope(xyz, ref) / grey_slope(measured["neutral"], ref) - 1
    assert 0.15 <= gain <= 0.40, gain


def flat_grey_scene(shape=(192, 288)):
    grey = np.array([0.9505, 1.0, 1.089]) * 0.18
    img = np.broadcast_to(grey, (*shape, 3)).copy()
    return simulate_raw(img, pattern="RGGB", iso=100, exposure=EXPOSE, seed=4)[0]


def corner_ev(encoded, box=12):
    y = srgb_decode(encoded).astype(np.float64) @ np.array([0.2126, 0.7152, 0.0722])
    h, w = y.shape
    corners = [y[:box, :box], y[:box, -box:], y[-box:, :box], y[-box:, -box:]]
    centre = y[h // 2 - box : h // 2 + box, w // 2 - box : w // 2 + box]
    return float(np.log2(np.mean([c.mean() for c in corners]) / centre.mean()))


def test_authentic_vignette_at_the_corners():
    scene = flat_grey_scene()
    ev = corner_ev(render(scene, get_look("authentic"), "srgb"))
    assert -0.7 <= ev <= -0.3, ev
    assert abs(corner_ev(render(scene, get_look("neutral"), "srgb"))) < 0.03


def test_vibrant_saturates_but_keeps_skin(measured):
    _, chroma_n, hue_n = lch(measured["neutral"])
    _, chroma_v, hue_v = lch(measured["vibrant"])
    gain = chroma_v[NON_SKIN].mean() / chroma_n[NON_SKIN].mean() - 1
    assert 0.20 <= gain <= 0.40, gain
    _, _, hue_ref = lch(colorchecker_xyz("D65"))
    for i in SKIN_PATCHES:
        assert abs(hue_diff(hue_v[i], hue_ref[i])) <= 3.0, (PATCH_NAMES[i], hue_v[i])
        assert chroma_v[i] <= 1.10 * chroma_n[i], (PATCH_NAMES[i], chroma_v[i] / chroma_n[i])
    # and the whole picture is brighter than the neutral rendering
    assert measured["vibrant"][21, 1] > 1.08 * measured["neutral"][21, 1]


@pytest.mark.parametrize("space", ["srgb", "display-p3"])
def test_vibrant_clips_no_patch(chart, space):
    """No channel of any patch at (or within half a code value of) 0 or 255."""
    _, scene, boxes = chart
    enc = render(scene, get_look("vibrant"), space, bits=8).astype(np.float64)
    means = np.array([enc[b].reshape(-1, 3).mean(axis=0) for b in boxes])
    assert means.min() >= 1.0 and means.max() <= 254.0, (means.min(), means.max())


def test_vibrant_without_its_gamut_compression_would_clip(chart):
    """The same boost compressed only into Rec.2020 clips in sRGB: the compression works."""
    _, scene, boxes = chart
    p = get_look("vibrant").params
    naive = Look(dataclasses.replace(p, gamut=dataclasses.replace(p.gamut, space="rec2020")))
    enc = render(scene, naive, "srgb", bits=8).astype(np.float64)
    means = np.array([enc[b].reshape(-1, 3).mean(axis=0) for b in boxes])
    assert means.min() < 1.0 or means.max() > 254.0, (means.min(), means.max())


@pytest.mark.parametrize("name", ["bw-natural", "bw-contrast"])
def test_monochrome_is_neutral(chart, name):
    _, scene, boxes = chart
    lab, _, _ = lch(patches_xyz(render(scene, get_look(name)), boxes))
    assert np.abs(lab[:, 1:]).max() < 0.05, np.abs(lab[:, 1:]).max()


def test_monochrome_contrast_ordering(chart):
    ref, scene, boxes = chart
    natural = grey_slope(patches_xyz(render(scene, get_look("bw-natural")), boxes), ref)
    strong = grey_slope(patches_xyz(render(scene, get_look("bw-contrast")), boxes), ref)
    assert strong > natural + 0.3, (natural, strong)


def _mono_lightness(scene, boxes, filter_name):
    look = Look(LookParams(monochrome=Monochrome(enabled=True, filter=filter_name)))
    lab, _, _ = lch(patches_xyz(render(scene, look), boxes))
    return dict(zip(PATCH_NAMES, lab[:, 0], strict=False))


def test_colour_filters_change_lightness_in_the_documented_direction(chart):
    _, scene, boxes = chart
    none = _mono_lightness(scene, boxes, "none")
    red = _mono_lightness(scene, boxes, "red")
    green = _mono_lightness(scene, boxes, "green")
    yellow = _mono_lightness(scene, boxes, "yellow")
    # red: dark skies and blues, light reds and skin
    assert red["blue sky"] < none["blue sky"] - 2
    assert red["blue"] < none["blue"] - 3
    assert red["red"] > none["red"] + 10
    assert red["light skin"] > none["light skin"] + 3
    # green: light foliage and greens, dark reds
    assert green["foliage"] > none["foliage"] + 1
    assert green["green"] > none["green"] + 2
    assert green["red"] < none["red"] - 4
    # yellow: a milder red filter
    assert red["blue sky"] < yellow["blue sky"] < none["blue sky"]
    # neutrals keep their value whatever the filter (the filter factor is compensated)
    for grey in ("neutral 6.5", "neutral 5", "neutral 3.5"):
        assert abs(red[grey] - none[grey]) < 0.5 and abs(green[grey] - none[grey]) < 0.5
