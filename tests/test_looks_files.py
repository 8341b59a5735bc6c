"""Look files (TOML) and LUT files (.cube): loading, strict validation, export, import."""

from __future__ import annotations

import colour
import numpy as np
import pytest
from conftest import delta_e_2000

from redframe.color import XYZ_TO_REC2020, rgb_to_xyz_matrix, srgb_decode
from redframe.errors import UsageError
from redframe.isp.pipeline import RAW_EXPOSURE_EV, DevelopParams, develop
from redframe.looks import (
    BUNDLED,
    CubeLook,
    Look,
    export_cube,
    get_look,
    list_looks,
    load_cube,
    read_cube,
)
from redframe.looks.cube import decode, encode
from redframe.sim.scenes import colorchecker_image, colorchecker_xyz, natural_xyz
from redframe.sim.sensor import simulate_raw

EXPOSE = 2.0**-RAW_EXPOSURE_EV


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    folder = tmp_path / "looks"
    folder.mkdir()
    monkeypatch.setenv("REDFRAME_LOOKS", str(folder))
    return folder


def write(folder, name, text):
    path = folder / name
    path.write_text(text, "utf-8")
    return path


def test_bundled_looks_load_and_are_listed(user_dir):
    listed = {name: (description, path) for name, description, path in list_looks()}
    assert list(listed)[: len(BUNDLED)] == list(BUNDLED)
    for name in BUNDLED:
        look = get_look(name)
        assert isinstance(look, Look) and look.version == 1
        assert look.description == listed[name][0] and len(look.description) > 20
        assert listed[name][1].endswith(f"{name}.toml")
    assert get_look("authentic").params.vignette.amount < 0
    assert get_look("bw-natural").params.monochrome.enabled


def test_user_looks_extend_and_override(user_dir):
    write(user_dir, "warm-authentic.toml", 'version = 1\ndescription = "Authentic, warmer."\n'
          'extends = "authentic"\n[white_balance]\nwarmth = 15\n')
    write(user_dir, "vibrant.toml", 'version = 1\ndescription = "My vibrant."\n'
          '[color]\nsaturation = 1.5\n')
    write(user_dir, "broken.toml", "version = 1\n[tone]\ncontrast = 9\n")
    listed = {name: description for name, description, _ in list_looks()}
    assert listed["warm-authentic"] == "Authentic, warmer."
    assert listed["vibrant"] == "My vibrant."
    assert listed["broken"].startswith("(does not load:")
    look = get_look("warm-authentic")
    assert look.params.white_balance.warmth == 15
    assert look.params.tone == get_look("authentic").params.tone  # inherited
    assert get_look("vibrant").params.color.saturation == 1.5
    by_path = get_look(str(user_dir / "warm-authentic.toml"))
    assert by_path.params == look.params


BAD = [
    ("version = 1\ndescription = 'x'\n[tone\ncontrast = 1\n", r"not valid TOML.*line 3"),
    ("version = 1\ndescription = 'x'\n[tone]\ncontrst = 1.2\n",
     r"unknown key tone\.'contrst' \(did you mean 'contrast'\?\)"),
    ("version = 1\ndescription = 'x'\ncolour = 1\n", r"unknown key 'colour'"),
    ("version = 1\ndescription = 'x'\n[tone]\ncontrast = 'high'\n",
     r"tone\.contrast must be a number \(0\.5\.\.2"),
    ("version = 1\ndescription = 'x'\n[tone]\ncontrast = true\n", r"tone\.contrast must be"),
    ("version = 1\ndescription = 'x'\n[tone]\ncontrast = 3.5\n",
     r"tone\.contrast = 3\.5 is out of range; allowed 0\.5\.\.2"),
    ("version = 1\ndescription = 'x'\n[tone]\nlocal_tone_mapping = 1.5\n",
     r"tone\.local_tone_mapping = 1\.5 is out of range; allowed 0\.\.1"),
    ("version = 1\ndescription = 'x'\n[vignette]\namount = -5\n",
     r"vignette\.amount = -5 is out of range; allowed -2\.\.1 \(EV at the corner\)"),
    ("version = 1\ndescription = 'x'\n[grain]\nseed = 1.5\n", r"grain\.seed must be an integer"),
    ("version = 1\ndescription = 'x'\n[monochrome]\nfilter = 'purple'\n",
     r"monochrome\.filter = 'purple' is not allowed; allowed one of 'none', 'yellow'"),
    ("version = 1\ndescription = 'x'\n[monochrome]\nmix = [1, 2]\n",
     r"monochrome\.mix must be a list of 3 numbers"),
    ("version = 1\ndescription = 'x'\n[monochrome]\nenabled = 1\n",
     r"monochrome\.enabled must be true or false"),
    ("version = 1\ndescription = 'x'\n[[hue]]\ncenter = 400\n",
     r"hue\[0\]\.center = 400 is out of range; allowed 0\.\.360"),
    ("version = 1\ndescription = 'x'\nhue = 3\n", r"hue must be an array of tables"),
    ("version = 1\ndescription = 'x'\ntone = 3\n", r"tone must be a table"),
    ("description = 'x'\n", r"missing key 'version'"),
    ("version = 2\ndescription = 'x'\n", r"version = 2 is not supported"),
    ("version = 1\n", r"description must be a non-empty string"),
    ("version = 1\ndescription = 'x'\nextends = 'nosuchlook'\n", r"extends = 'nosuchlook'"),
    ("version = 1\ndescription = 'x'\nextends = 'bad.toml'\n", r"makes a cycle"),
]


def test_looks_say_how_much_local_tone_mapping_they_want(user_dir):
    """neutral asks the develop for none (its tones are the measured scene's), the styled
    looks for all of it; a look extending neutral inherits that, and may change it."""
    assert get_look("neutral").local_tone_mapping == 0.0
    for name in ("authentic", "vibrant", "bw-natural", "bw-contrast"):
        assert get_look(name).local_tone_mapping == 1.0
    write(user_dir, "calm.toml", 'version = 1\ndescription = "Neutral, a bit brighter."\n'
          'extends = "neutral"\n[tone]\nexposure = 0.3\n')
    write(user_dir, "half.toml", 'version = 1\ndescription = "Half the range compression."\n'
          'extends = "neutral"\n[tone]\nlocal_tone_mapping = 0.5\n')
    assert get_look("calm").local_tone_mapping == 0.0
    assert get_look("half").local_tone_mapping == 0.5
    assert Look().local_tone_mapping == 1.0


@pytest.mark.parametrize("text, message", BAD)
def test_bad_look_files_name_file_key_and_range(user_dir, text, message):
    path = write(user_dir, "bad.toml", text)
    with pytest.raises(UsageError, match=message) as err:
        get_look(str(path))
    assert str(path) in str(err.value)
    assert err.value.exit_code == 2


def test_unknown_look_names_and_missing_files(user_dir):
    with pytest.raises(UsageError, match=r"unknown look 'autentic' \(did you mean 'authentic'"):
        get_look("autentic")
    with pytest.raises(UsageError, match="look file not found"):
        get_look(str(user_dir / "nope.toml"))
    with pytest.raises(UsageError, match="LUT file not found"):
        get_look(str(user_dir / "nope.cube"))


# --- .cube ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def authentic_cube(tmp_path_factory):
    path = tmp_path_factory.mktemp("cube") / "authentic.cube"
    export_cube(get_look("authentic"), path, size=65, input="srgb")
    return path


def test_exported_cube_loads_in_colour_science(authentic_cube):
    from colour.algebra import table_interpolation_tetrahedral

    lut = colour.read_LUT(str(authentic_cube))
    assert isinstance(lut, colour.LUT3D) and lut.table.shape == (65, 65, 65, 3)
    ours = read_cube(authentic_cube)
    assert np.abs(lut.table - ours.table3).max() < 1e-6
    assert ours.tags == {"input": "srgb", "output": "srgb"}
    x = np.random.default_rng(2).uniform(0, 1, (2000, 3)).astype(np.float32)
    theirs = lut.apply(x, interpolator=table_interpolation_tetrahedral)
    assert np.abs(load_cube(authentic_cube).lut(x) - theirs).max() < 1e-5
    text = authentic_cube.read_text()
    assert "LUT_3D_SIZE 65" in text and "TITLE \"authentic\"" in text


@pytest.fixture(scope="module")
def chart():
    ref = colorchecker_xyz("D65")
    img, boxes = colorchecker_image(ref)
    scene, _ = simulate_raw(img, pattern="RGGB", iso=100, exposure=EXPOSE, seed=1)
    return scene, boxes


def _chart_xyz(scene, boxes, look):
    p = DevelopParams(tone_curve=False, look=look, engine="reference")
    p.sharpen.amount = 0.0
    lin = srgb_decode(develop(scene, p).image).astype(np.float64) @ rgb_to_xyz_matrix("srgb").T
    return np.array([lin[b].reshape(-1, 3).mean(axis=0) for b in boxes])


@pytest.mark.parametrize("name", ["authentic", "vibrant", "bw-contrast"])
def test_cube_round_trip_on_the_chart(tmp_path, chart, authentic_cube, name):
    """The chart developed with the exported 65-point LUT matches the look applied directly
    (vignette and grain left out: a LUT cannot carry them)."""
    look = get_look(name).without_spatial()
    path = authentic_cube if name == "authentic" else export_cube(look, tmp_path / "l.cube", 65)
    scene, boxes = chart
    de = delta_e_2000(_chart_xyz(scene, boxes, get_look(str(path))),
                      _chart_xyz(scene, boxes, look))
    assert de.mean() <= 0.5, de.mean()


@pytest.mark.parametrize("encoding", ["srgb", "slog3", "logc3", "acescct", "rec709",
                                      "display-p3"])
def test_cube_round_trip_for_every_encoding(tmp_path, encoding):
    """On a photo's scene light, for each input encoding (33 points)."""
    look = get_look("authentic").without_spatial()
    path = export_cube(look, tmp_path / "a.cube", size=33, input=encoding)
    cube = load_cube(path)
    assert isinstance(cube, CubeLook) and cube.input == encoding
    scene = (natural_xyz("astronaut", 96) @ XYZ_TO_REC2020.T).astype(np.float32) * 1.4
    a, b = cube.apply(scene), look.apply(scene, engine="reference")
    # compare what the LUT's output shows on its own display
    a, b = decode(encode(a, cube.output), cube.output), decode(encode(b, cube.output), cube.output)
    to_xyz = np.linalg.inv(XYZ_TO_REC2020).T
    de = delta_e_2000(a.reshape(-1, 3) @ to_xyz, b.reshape(-1, 3) @ to_xyz)
    assert de.mean() <= 0.5, (encoding, de.mean())


def test_log_encodings_match_colour_science():
    x = np.geomspace(0.001, 10, 50)
    pairs = [("slog3", colour.models.log_encoding_SLog3),
             ("logc3", colour.models.log_encoding_ARRILogC3),
             ("acescct", colour.models.log_encoding_ACEScct)]
    from redframe.looks.cube import ENCODINGS

    for name, theirs in pairs:
        ours = ENCODINGS[name].encode(x)
        assert np.abs(ours - theirs(x)).max() < 2e-4, name
        assert np.allclose(ENCODINGS[name].decode(ours), x, rtol=1e-4), name
    assert np.isclose(ENCODINGS["slog3"].encode(0.18), 420 / 1023, atol=1e-6)


def test_export_rejects_bad_arguments(tmp_path, authentic_cube):
    with pytest.raises(UsageError, match="LUT size must be an integer 2..129"):
        export_cube(get_look("authentic"), tmp_path / "a.cube", size=300)
    with pytest.raises(UsageError, match="unknown LUT encoding 'vlog'"):
        export_cube(get_look("authentic"), tmp_path / "a.cube", input="vlog")
    with pytest.raises(UsageError, match="unknown LUT encoding 'slog3'; choose one of srgb"):
        export_cube(get_look("authentic"), tmp_path / "a.cube", output="slog3")
    with pytest.raises(UsageError, match="already a .cube"):
        export_cube(load_cube(authentic_cube), tmp_path / "a.cube")


GOOD_HEADER = "TITLE \"t\"\nLUT_3D_SIZE 2\n"
GRID = "".join(f"{r} {g} {b}\n" for b in (0, 1) for g in (0, 1) for r in (0, 1))
BAD_CUBES = [
    (GOOD_HEADER + GRID.replace("1 1 1\n", ""), r"LUT_3D_SIZE 2\^3 needs 8 table rows, found 7"),
    (GOOD_HEADER + GRID.replace("0 1 0\n", "0 nan 0\n"),
     r"line 5: a table row has a NaN or infinite value"),
    (GOOD_HEADER + GRID.replace("0 1 0\n", "0 x 0\n"), r"line 5: .* not a number"),
    (GOOD_HEADER + GRID.replace("0 1 0\n", "0 1\n"), r"line 5: a table row needs 3 numbers"),
    ("LUT_3D_SIZE 1\n" + GRID, r"line 1: LUT_3D_SIZE must be an integer 2..256"),
    ("LUT_3D_SIZE 2\nLUT_FANCY 3\n" + GRID, r"line 2: unknown keyword 'LUT_FANCY'"),
    (GOOD_HEADER + GRID + "DOMAIN_MIN 0 0 0\n", r"line 11: keyword DOMAIN_MIN after the table"),
    ("TITLE \"t\"\n" + GRID, r"no LUT_3D_SIZE"),
    ("LUT_3D_SIZE 2\nDOMAIN_MIN 1 1 1\n" + GRID, r"DOMAIN_MAX must be above DOMAIN_MIN"),
]


@pytest.mark.parametrize("text, message", BAD_CUBES)
def test_malformed_cube_files(tmp_path, text, message):
    path = write(tmp_path, "bad.cube", text)
    with pytest.raises(UsageError, match=message) as err:
        get_look(str(path))
    assert str(path) in str(err.value)


def test_identity_cube_with_1d_shaper_is_an_identity(tmp_path):
    """A hand-written identity .cube (1D + 3D, Resolve style) leaves colours alone."""
    text = "LUT_1D_SIZE 2\nLUT_3D_SIZE 2\n0 0 0\n1 1 1\n" + GRID
    cube = load_cube(write(tmp_path, "id.cube", text))
    x = np.random.default_rng(3).uniform(0, 1, (100, 1, 3)).astype(np.float32)
    assert np.abs(cube.lut(x) - x).max() < 1e-6
