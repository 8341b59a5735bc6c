"""Develop parameters are declared once (redframe.params) and validated as a rule."""

from __future__ import annotations

import dataclasses
import math
import tomllib

import numpy as np
import pytest

from redframe import params as P
from redframe.errors import ParameterError, UsageError
from redframe.isp.demosaic import DemosaicParams
from redframe.isp.denoise import DenoiseParams
from redframe.isp.pipeline import DevelopParams, develop
from redframe.isp.sharpen import SharpenParams
from redframe.isp.tone import ToneParams
from redframe.isp.white_balance import WhiteBalanceParams


@dataclasses.dataclass
class Inner:
    gain: float = P.param(1.0, lo=0.0, hi=4.0, unit="x", doc="how much")
    mode: str = P.param("a", choices=("a", "b"), doc="which way")

    def __post_init__(self):
        P.validate(self)


@dataclasses.dataclass
class Outer:
    inner: Inner = dataclasses.field(default_factory=Inner)
    count: int = P.param(3, lo=1, doc="how many")
    flag: bool = P.param(False, doc="on or off")
    limit: float | None = P.param(None, lo=0.0, doc="unset: none")
    weights: list = P.param([1.0, 2.0], lo=0.0, hi=9.0, doc="per channel")
    opt: Inner | None = P.param(None)
    obj: object = None  # not a parameter


def test_error_names_key_value_range_and_meaning():
    p = DevelopParams()
    p.sharpen.amount = -7
    with pytest.raises(ParameterError) as err:
        P.validate(p)
    assert str(err.value) == "sharpen.amount = -7 is outside 0..2 (output sharpening strength)"
    assert err.value.key == "sharpen.amount" and err.value.value == -7
    assert isinstance(err.value, UsageError) and isinstance(err.value, ValueError)
    assert err.value.exit_code == 2


def test_develop_refuses_mutated_parameters_before_any_work():
    from redframe.sim.scenes import natural_xyz
    from redframe.sim.sensor import simulate_raw

    scene, _ = simulate_raw(natural_xyz("coffee", 32), pattern="RGGB", iso=100, seed=1)
    for mutate, key in [
        (lambda p: setattr(p.sharpen, "amount", -7), "sharpen.amount = -7"),
        (lambda p: setattr(p.tone, "exposure", 55), "tone.exposure = 55 is outside -10..10 EV"),
        (lambda p: setattr(p.wb, "mode", "sunny"), "wb.mode = 'sunny' is not one of"),
        (lambda p: setattr(p, "output_bits", 12), "output_bits = 12 is not one of 8, 16"),
        (lambda p: setattr(p.denoise, "luma", float("nan")), "denoise.luma = nan is not a finite"),
        (lambda p: setattr(p.tone, "local", True), "tone.local = true must be a number"),
        (lambda p: setattr(p, "strip_rows", 1.5), "strip_rows = 1.5 must be an integer"),
        (lambda p: setattr(p.highlights, "threshold", "0.9"), "must be a number"),
        (lambda p: setattr(p, "sharpen", 3), "sharpen must be SharpenParams"),
        (lambda p: setattr(p, "demosaic", "menon2007"), "demosaic must be DemosaicParams"),
    ]:
        p = DevelopParams()
        mutate(p)
        with pytest.raises(ParameterError) as err:
            develop(scene, p)
        assert key in str(err.value), str(err.value)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: SharpenParams(amount=3), "sharpen.amount = 3 is outside 0..2"),
        (lambda: ToneParams(white=0.5), "tone.white = 0.5 is outside 1..64 scene"),
        (lambda: WhiteBalanceParams("kelvin", 900), "wb.kelvin = 900 is outside 2000..12000 K"),
        (lambda: DemosaicParams(method="ahd"), "demosaic.method = 'ahd' is not one of"),
        (lambda: DenoiseParams(chroma=-0.1), "denoise.chroma = -0.1 is outside 0..1"),
        (lambda: DevelopParams(quality="best"), "quality = 'best' is not one of 'high', 'fast'"),
        (lambda: DevelopParams(threads=-1), "threads = -1 is below 0"),
        (lambda: DevelopParams(tone_curve=1), "tone_curve = 1 must be true or false"),
    ],
)
def test_construction_validates(make, message):
    with pytest.raises(ParameterError) as err:
        make()
    assert str(err.value).startswith(message), str(err.value)


def test_infinity_bool_and_string_are_not_numbers():
    for bad, text in [(math.inf, "not a finite"), (True, "must be a number"),
                      ("1", "must be a number"), (None, "must be set")]:
        with pytest.raises(ParameterError, match=text):
            Inner(gain=bad)
    assert Inner(gain=2).gain == 2  # an int is a number
    assert Inner(gain=np.float32(2.5)).gain == 2.5  # so are NumPy scalars
    o = Outer()
    o.count = 2.0
    with pytest.raises(ParameterError, match="count = 2.0 must be an integer"):
        P.validate(o)


def test_validate_walks_nested_and_optional_values():
    o = Outer()
    assert P.validate(o) is o
    o.opt = Inner(gain=2.0)
    o.opt.mode = "c"
    with pytest.raises(ParameterError, match=r"^cfg\.opt\.mode = 'c' is not one of 'a', 'b'"):
        P.validate(o, "cfg")
    o.opt = None
    o.weights = [1.0, -1.0]
    with pytest.raises(ParameterError, match=r"weights\[1\] = -1.0 is outside 0..9"):
        P.validate(o)
    assert Outer().weights is not Outer().weights  # mutable defaults are per instance


def test_dict_round_trip_is_explicit_and_strict():
    p = DevelopParams(quality="fast", output_bits=8)
    p.sharpen.amount = 1.25
    p.demosaic = DemosaicParams(method="bilinear")
    d = P.to_dict(p)
    assert "look" not in d  # not a parameter
    assert d["sharpen"] == {"amount": 1.25, "radius": 0.8, "threshold": 0.01}
    assert "black" not in d["levels"] and "luma" not in d["denoise"]  # None is omitted
    assert d["tone"]["exposure"] == 0.0 and d["wb"]["mode"] == "asshot"  # defaults explicit
    back = P.from_dict(DevelopParams, d)
    assert back == p
    # through TOML text
    toml = _to_toml(d)
    assert P.from_dict(DevelopParams, tomllib.loads(toml)) == p
    # ints where floats are declared are stored as floats
    assert P.from_dict(DevelopParams, {"tone": {"exposure": 1}}).tone.exposure == 1.0
    assert isinstance(P.from_dict(DevelopParams, {"tone": {"exposure": 1}}).tone.exposure, float)


def test_from_dict_names_the_key_and_the_file():
    with pytest.raises(ParameterError) as err:
        P.from_dict(DevelopParams, {"sharpen": {"amout": 1}}, "develop", path="r.toml")
    msg = str(err.value)
    assert msg.startswith("r.toml: unknown key 'develop.sharpen.amout'")
    assert "did you mean 'develop.sharpen.amount'" in msg
    with pytest.raises(ParameterError, match=r"^develop\.tone\.exposure = 55 is outside"):
        P.from_dict(DevelopParams, {"tone": {"exposure": 55}}, "develop")
    with pytest.raises(ParameterError, match="tone must be a table"):
        P.from_dict(DevelopParams, {"tone": 3})
    with pytest.raises(ParameterError, match="unknown key 'look'"):
        P.from_dict(DevelopParams, {"look": "authentic"})
    with pytest.raises(ParameterError, match="half_size = 'yes' must be true or false"):
        P.from_dict(DevelopParams, {"half_size": "yes"})


def test_describe_lists_every_develop_parameter():
    rows = P.describe(DevelopParams)
    keys = [r[0] for r in rows]
    assert len(keys) == len(set(keys))
    assert ("sharpen.amount", 0.5, "0..2", "", "output sharpening strength") in rows
    for key in ("tone.exposure", "wb.kelvin", "denoise.luma", "demosaic.method",
                "highlights.threshold", "levels.black", "output.space", "engine",
                "strip_rows", "threads", "output_bits", "orient", "tone_curve", "quality",
                "half_size"):
        assert key in keys
    for key, _default, allowed, _unit, doc in rows:
        assert allowed, key  # every parameter says what it allows
        assert doc, key  # and what it means


def test_look_parameters_share_the_declaration():
    from redframe.looks.params import Grain, Tone

    f = {f.name: f for f in dataclasses.fields(Tone)}["contrast"]
    assert P.is_param(f) and f.metadata["range"] == (0.5, 2.0)
    assert P.describe(Grain)[0][:3] == ("amount", 0.0, "0..20")


def _to_toml(d: dict, prefix: str = "") -> str:
    """A tiny TOML writer for the test (numbers, strings, bools, nested tables)."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return f'"{v}"'
        return repr(v)

    lines = [f"{k} = {value(v)}" for k, v in d.items() if not isinstance(v, dict)]
    for k, v in d.items():
        if isinstance(v, dict):
            name = f"{prefix}{k}"
            lines += ["", f"[{name}]", _to_toml(v, name + ".")]
    return "\n".join(lines)
