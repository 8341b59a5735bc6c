"""Look files (TOML) and LUT files (.cube): loading, strict validation, export, import."""

from __future__ import annotations

import os

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
    ("LUT_3D_SIZE 1\n" + GRID, r"line 1: LUT_3D_SIZE must be an integer 2..129"),
    ("LUT_3D_SIZE 256\n" + GRID, r"line 1: LUT_3D_SIZE must be an integer 2..129, got '256'"),
    ("LUT_1D_SIZE 65537\n" + GRID, r"line 1: LUT_1D_SIZE must be an integer 2..65536"),
    # the table: a NaN first (it once read "keyword nan after the table data"), inf, garbage
    (GOOD_HEADER + GRID.replace("0 0 0\n", "nan 0 0\n", 1),
     r"line 3: a table row has a NaN or infinite value: 'nan 0 0'"),
    (GOOD_HEADER + GRID.replace("0 1 0\n", "0 -inf 0\n"),
     r"line 5: a table row has a NaN or infinite value"),
    (GOOD_HEADER + GRID.replace("0 1 0\n", "0 1e400 0\n"),
     r"line 5: a table row has a NaN or infinite value"),
    (GOOD_HEADER + GRID.replace("0 1 0\n", "0 1e39 0\n"), r"table row 3 .* beyond float32"),
    (GOOD_HEADER + GRID.replace("0 1 0\n", "0 1.2.3 0\n"), r"line 5: .* not a number"),
    (GOOD_HEADER + GRID.replace("0 1 0\n", "0 1 0 5\n"), r"line 5: a table row needs 3 numbers"),
    (GOOD_HEADER + GRID + "1 1 1\n", r"LUT_3D_SIZE 2\^3 needs 8 table rows, found 9 "
     r"\(data from line 3\)"),
    (GOOD_HEADER + GRID[:-3], r"line 10: a table row needs 3 numbers, got '1 1'"),
    (GOOD_HEADER + GRID + "abc\n", r"line 11: keyword abc after the table data"),
    (GOOD_HEADER + GRID.replace("0 1 0\n", "0 \x01 0\n"), r"line 5: .* not a number"),
    (GOOD_HEADER, r"needs 8 table rows, found 0$"),
    ("LUT_1D_SIZE 2\nLUT_3D_SIZE 2\n0 0 0\n" + GRID, r"LUT_1D_SIZE 2 \+ LUT_3D_SIZE 2\^3 "
     r"needs 10 table rows, found 9"),
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


def test_cube_comments_blank_lines_and_line_ends(tmp_path):
    """Comments (whole-line and trailing, in the table too), blank lines, CRLF: read as the
    rows they carry; our tags are found anywhere on a comment line."""
    rows = GRID.splitlines()
    text = ("# made by hand\nTITLE \"t\" # trailing\n\nLUT_3D_SIZE 2\n"
            + "\n".join(rows[:4]) + "\n\n  # redframe-input: slog3\n"
            + "\n".join(r + "  # row" for r in rows[4:]) + "\n\n")
    cube = read_cube(write(tmp_path, "c.cube", text))
    lattice = np.stack(np.meshgrid(*[np.arange(2.0)] * 3, indexing="ij"), -1)
    assert cube.title == "t" and cube.tags == {"input": "slog3"}
    assert np.array_equal(cube.table3, lattice)  # red fastest in the file, [r, g, b] here
    crlf = read_cube(write(tmp_path, "d.cube", text.replace("\n", "\r\n")))
    assert np.array_equal(crlf.table3, lattice) and crlf.tags == cube.tags
    with pytest.raises(UsageError, match=r"line 11: a table row needs 3 numbers"):
        read_cube(write(tmp_path, "e.cube", text.replace("0 0 1  # row", "0 0  # row")))


def _identity_cube(path, n):
    codes = [f"{i / (n - 1):.6f}" for i in range(n)]
    plane = [f"{codes[r]} {codes[g]} " for g in range(n) for r in range(n)]
    with open(path, "w") as f:
        f.write(f'TITLE "identity"\nLUT_3D_SIZE {n}\n')
        for b in range(n):
            f.write("\n".join(p + codes[b] for p in plane) + "\n")
    return path


def test_a_129_cube_loads_in_seconds(tmp_path):
    """129^3 (2.1 M rows, 55 MB) took 9-39 s and 580-790 MB with a Python loop a row."""
    import time

    path = _identity_cube(tmp_path / "big.cube", 129)
    start = time.perf_counter()
    cube = read_cube(path)
    assert time.perf_counter() - start < 6
    lattice = np.stack(np.meshgrid(*[np.linspace(0, 1, 129)] * 3, indexing="ij"), -1)
    assert cube.table3.shape == (129, 129, 129, 3) and cube.table3.dtype == np.float32
    assert np.abs(cube.table3 - lattice).max() < 1e-6


def test_oversized_cubes_are_refused_before_the_table_is_parsed(tmp_path, monkeypatch):
    import tracemalloc

    from redframe.looks import cube as cube_module

    def no_parse(*args):
        raise AssertionError("the table was parsed")

    monkeypatch.setattr(cube_module, "_parse_table", no_parse)
    huge = tmp_path / "huge.cube"
    with open(huge, "wb") as f:  # sparse: takes no disk
        f.write(b"LUT_3D_SIZE 65\n")
        f.truncate(cube_module.MAX_BYTES + 1)
    declared = write(tmp_path, "d.cube", "LUT_3D_SIZE 256\n" + "0.5 0.5 0.5\n" * 200_000)
    rows = "0.5 0.5 0.5\n" * ((cube_module.MAX_HEADER_BYTES + 80 * 8) // 12 + 1)
    long_table = write(tmp_path, "l.cube", "LUT_3D_SIZE 2\n" + rows)
    tracemalloc.start()
    try:
        with pytest.raises(UsageError, match=r"LUT file is \d+ bytes; a \.cube is read up to"):
            read_cube(huge)
        assert tracemalloc.get_traced_memory()[1] < 1 << 20  # nothing was read
        with pytest.raises(UsageError, match=r"line 1: LUT_3D_SIZE must be .* got '256'"):
            read_cube(declared)
        with pytest.raises(UsageError, match=r"the table \(from line 2\) is \d+ bytes; "
                                             r"LUT_3D_SIZE 2\^3 \(8 rows\) takes at most"):
            read_cube(long_table)
    finally:
        tracemalloc.stop()
    fifo = tmp_path / "fifo.cube"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="a LUT must be a regular file"):
        read_cube(fifo)  # would block forever on open


def test_cubes_colour_science_writes_read_the_same(tmp_path):
    """colour-science (the oracle) writes a 1D shaper + 3D LUT with input ranges, and a 3D
    LUT with per-channel domains: we read exactly the tables and domains it reads back."""
    rng = np.random.default_rng(5)
    shaper = colour.LUT3x1D(colour.LUT3x1D.linear_table(9) ** 0.5,
                            domain=np.array([[0.0] * 3, [2.0] * 3]))
    cube3 = colour.LUT3D(rng.uniform(-0.1, 1.1, (7, 7, 7, 3)),
                         domain=np.array([[-0.1] * 3, [1.2] * 3]))
    colour.write_LUT(colour.LUTSequence(shaper, cube3), str(tmp_path / "seq.cube"))
    theirs = colour.read_LUT(str(tmp_path / "seq.cube"))
    ours = read_cube(tmp_path / "seq.cube")
    assert np.abs(ours.table1 - theirs[0].table).max() < 1e-7
    assert np.abs(ours.table3 - theirs[1].table).max() < 1e-7
    assert np.array_equal(ours.domain1_max, [2, 2, 2]) and np.array_equal(ours.domain_min,
                                                                          [-0.1] * 3)
    domain = np.array([[-0.1, 0.0, 0.05], [1.2, 1.0, 1.1]])
    colour.io.write_LUT_IridasCube(colour.LUT3D(cube3.table, domain=domain),
                                   str(tmp_path / "iridas.cube"))
    theirs = colour.read_LUT(str(tmp_path / "iridas.cube"))
    ours = read_cube(tmp_path / "iridas.cube")
    assert np.abs(ours.table3 - theirs.table).max() < 1e-7
    assert np.allclose(ours.domain_min, domain[0]) and np.allclose(ours.domain_max, domain[1])
