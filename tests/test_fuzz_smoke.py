"""The fuzz targets of fuzz/ (issue 13) in the default suite: a short, seeded, in-process run
of each (the long coverage-guided atheris job is ``python -m fuzz TARGET -runs=100000``,
see fuzz/README.md), and one regression test per crash the fuzzing found."""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the fuzz/ package lives beside src/, not installed

from fuzz import TARGETS  # noqa: E402
from fuzz.harness import guarded, load, smoke  # noqa: E402
from redframe.errors import ParameterError, UsageError  # noqa: E402

#: executions per target in the smoke run (about 35 s for all eight on 2 cores)
SMOKE_RUNS = 2000
SEED = 13


@pytest.mark.parametrize("name", list(TARGETS))
def test_smoke(name):
    pytest.importorskip("fastapi") if name == "upload" else None
    start = time.perf_counter()
    result = smoke(name, SMOKE_RUNS, SEED)
    assert result.runs == SMOKE_RUNS
    report = "\n\n".join(f"input {data[:200]!r}\n{tb}" for data, tb in result.failures)
    assert not result.failures, f"{name}: {len(result.failures)} findings\n{report}"
    assert time.perf_counter() - start < 60


def test_seeds_are_accepted():
    """Every target's seeds run clean (a seed that is itself refused would hide coverage:
    the picture, look, layout, recipe and cube seeds must load)."""
    for name in ("look", "layout", "recipe", "cube"):
        target = load(name)
        for seed in target.seeds():
            target.one(seed)  # no RedframeError either


def test_opcode_seeds_are_accepted_and_truncated_ones_refused():
    """The opcodes target's well-formed seeds (every opcode redframe reads, on the three
    frames) run clean; the truncated ones are OpcodeErrors."""
    from fuzz.opcodes import seed_lists
    from redframe.io.dng_opcodes import OpcodeError

    target = load("opcodes")
    seeds = target.seeds()
    whole = 3 * len(seed_lists())
    for seed in seeds[:whole]:
        target.one(seed)
    for seed in seeds[whole:]:
        with pytest.raises(OpcodeError):
            target.one(seed)


def test_mutator_is_deterministic():
    from fuzz.harness import Mutator

    a = Mutator([b"version = 1\n"], [b"["], seed=5, max_len=64)
    b = Mutator([b"version = 1\n"], [b"["], seed=5, max_len=64)
    assert [a() for _ in range(50)] == [b() for _ in range(50)]


# --- regressions: inputs the fuzzing found -----------------------------------------------------

HUGE_INT = b"version = 1\ndescription = \"x\"\n[tone]\ncontrast = " + b"9" * 5000 + b"\n"
DEEP = b"version = 1\na = " + b"[" * 3000 + b"]" * 3000 + b"\n"
DEEP_TABLE = b"version = 1\na = " + b"{b=" * 3000 + b"1" + b"}" * 3000 + b"\n"


@pytest.mark.parametrize("text", [HUGE_INT, DEEP, DEEP_TABLE], ids=["int", "array", "table"])
def test_look_toml_over_python_limits(tmp_path, text):
    """tomllib raised ValueError (integer over 4300 digits) or RecursionError: exit 70."""
    from redframe.looks import load_look

    path = tmp_path / "x.toml"
    path.write_bytes(text)
    with pytest.raises(UsageError, match="not valid TOML") as err:
        load_look(path)
    assert err.value.exit_code == 2 and "\n" not in str(err.value)


@pytest.mark.parametrize("text", [HUGE_INT, DEEP, DEEP_TABLE], ids=["int", "array", "table"])
def test_layout_toml_over_python_limits(tmp_path, text):
    from redframe.frame import load_layout

    path = tmp_path / "x.toml"
    path.write_bytes(text)
    with pytest.raises(UsageError, match="not valid TOML") as err:
        load_layout(str(path))
    assert err.value.exit_code == 2


@pytest.mark.parametrize("text", [HUGE_INT, DEEP, DEEP_TABLE], ids=["int", "array", "table"])
def test_recipe_toml_over_python_limits(tmp_path, text):
    from redframe.jobs import load_recipe, loads_recipe

    path = tmp_path / "x.toml"
    path.write_bytes(text)
    with pytest.raises(ParameterError, match="not valid TOML") as err:
        load_recipe(path)
    assert err.value.exit_code == 2
    with pytest.raises(ParameterError, match="digits|nested"):
        loads_recipe(text.decode())


def test_exif_rational_too_large_for_a_float():
    """Fraction('9'*400 + '/1') is fine, float() of it raised OverflowError."""
    from redframe.io.exif import metadata_from_exif, parse_rational

    assert parse_rational("9" * 400 + "/1") is None
    meta = metadata_from_exif({"Exif.Photo.FNumber": "9" * 400 + "/1",
                               "Exif.GPSInfo.GPSLatitude": "1/1 " + "9" * 400 + "/1 0/1",
                               "Exif.GPSInfo.GPSLongitude": "1/1 1/1 1/1"})
    assert meta.f_number is None and meta.gps is None


def test_metadata_target_regression():
    """The metadata target's crashing input, as the fuzzer found it."""
    guarded(load("metadata"), b"\x17" + b"5" + b"9" * 400 + b"/1")


def test_upload_meta_nested_too_deeply(tmp_path):
    """A 'meta' field of 5000 '[' made json.loads raise RecursionError: a 500."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from fuzz.seeds import pictures
    from fuzz.upload import body
    from redframe.app import create_app

    client = TestClient(create_app(tmp_path, start_workers=False))
    data = body([("file", pictures()["a.jpg"], "a.jpg", "image/jpeg"),
                 ("meta", b"[" * 5000, None, None)])
    r = client.post("/api/captures", content=data,
                    headers={"content-type": "multipart/form-data; boundary=fuzzb0undary"})
    assert r.status_code == 422, r.text
    assert "nested too deeply" in r.json()["detail"]
    assert not list((tmp_path / "tmp").iterdir())


def test_png_declaring_a_4gb_chunk():
    """299 bytes of PNG whose IDAT declares 0xffd8ffd7 bytes: OpenCV allocated them (4.1 GB
    peak, 6 s; libFuzzer's rss limit). Now refused at once, as Pillow sees it."""
    from redframe.errors import InputError
    from redframe.io.decode import read_image

    path = ROOT / "tests" / "data" / "fuzz" / "png_chunk_4gb.png"
    start = time.perf_counter()
    with pytest.raises(InputError, match="PNG"):
        read_image(path)
    assert time.perf_counter() - start < 2.0


def test_gif_screen_bomb():
    """568 bytes of GIF whose logical screen is 13107x13107 (171 MP, under the 250 MP limit):
    decoding filled the background and developing took 6.4 GB and 25 s."""
    from redframe.errors import InputError
    from redframe.io.decode import read_image

    path = ROOT / "tests" / "data" / "fuzz" / "gif_screen_13107.gif"
    start = time.perf_counter()
    with pytest.raises(InputError, match="decompression bomb"):
        read_image(path)
    assert time.perf_counter() - start < 2.0


def _opcode_list_overflow():
    from redframe.io import dng_opcodes as ops

    area = ops.AreaSpec(0, 0, 24, 32, 0, 3, 1, 1)
    gain = ops.gain_map(np.linspace(1, 1.5, 24).reshape(2, 4, 3), area)
    poly = ops.MapPolynomial(8, 0x01030000, 0, area=area,
                             coefficients=(0.0, 1.02, 2.8984043344610e169))
    return ops, gain, poly, area


def test_opcode_list_whose_finite_coefficients_overflow_the_raw():
    """The smoke run's find: a MapPolynomial term of 2.9e169 after a GainMap (finite, so
    read) made the corrected raw inf, and the demosaic's ValueError exited 70. The opcodes
    of a list may now scale [0, 1] by at most MAX_AMPLIFICATION (2^32), checked in list
    order: refused when not optional, skipped with a warning when optional."""
    ops, gain, poly, area = _opcode_list_overflow()
    data = ops.encode_opcode_list([gain, poly])
    with pytest.raises(ops.OpcodeError, match="MapPolynomial .opcode 2 of 2. scales values"):
        ops.parse_opcode_list(data, 2)
    optional = ops.encode_opcode_list([gain, replace(poly, flags=1)])
    got, warnings = ops.parse_opcode_list(optional, 2)
    assert [op.name for op in got] == ["GainMap"] and "skipped (optional)" in warnings[0]
    # the target's crashing input, rebuilt: refused cleanly now
    guarded(load("opcodes"), bytes([5]) + data)
    # each bounded on its own, stacked: 1024^3 = 2^30 is read, a fourth (2^40) is not
    full = ops.gain_map(np.full((2, 2), 1024.0), area)
    assert len(ops.parse_opcode_list(ops.encode_opcode_list([full] * 3), 2)[0]) == 3
    with pytest.raises(ops.OpcodeError, match="opcode 4 of 4"):
        ops.parse_opcode_list(ops.encode_opcode_list([full] * 4), 2)
    # a phone's four per-phase maps of up to x8 (+3 EV) and a strong vignette are read
    phases = [ops.gain_map(np.full((3, 4), 8.0), ops.AreaSpec(k // 2, k % 2, 24, 32, 0, 1, 2, 2))
              for k in range(4)]
    vig = ops.FixVignetteRadial(3, 0x01030000, 0, k=(2.0, -1.0, 0.5, 0, 0))
    assert len(ops.parse_opcode_list(ops.encode_opcode_list([*phases, vig]), 2)[0]) == 5
    for big in (ops.FixVignetteRadial(3, 0x01030000, 0, k=(1e300, 0, 0, 0, 0)),
                ops.PerRowColumn(12, 0x01030000, 0, area=ops.AreaSpec(0, 0, 24, 32),
                                 values=np.full(24, 3e38, np.float32)),
                ops.PerRowColumn(11, 0x01030000, 0, area=ops.AreaSpec(0, 0, 24, 32),
                                 values=np.full(32, -3e38, np.float32))):
        with pytest.raises(ops.OpcodeError, match="scales values by up to"):
            ops.parse_opcode_list(ops.encode_opcode_list([big]), 1)
