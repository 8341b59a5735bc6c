"""Property tests (issue 13): recipe round trips over every declared parameter, the job
runner's output policy against every spelling of an input, and look TOML round trips.

Strategies are built from the parameter declarations themselves
(:func:`redframe.params.describe` lists the keys; each field's metadata gives its range or
choices), so a parameter added to a stage is covered without touching this file.
"""

from __future__ import annotations

import dataclasses
import os
import string
import tempfile
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from redframe.errors import OutputError, ParameterError, UsageError
from redframe.isp.pipeline import DevelopParams
from redframe.jobs import (
    FrameRecipe,
    MetadataRecipe,
    OutputRecipe,
    Recipe,
    collect_inputs,
    dump_recipe,
    loads_recipe,
    recipe_from_dict,
    recipe_to_dict,
)
from redframe.jobs.recipe import _RUNTIME_FIELDS, _toml_value
from redframe.jobs.runner import Job, _check_targets
from redframe.looks.params import (
    LOOK_VERSION,
    MAX_HUE_RANGES,
    HueRange,
    LookParams,
    parse_look_table,
)
from redframe.params import _kinds, describe, is_param

SETTINGS = settings(max_examples=200, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
INT64 = 2**63 - 1

TABLES = {"develop": DevelopParams, "output": OutputRecipe, "frame": FrameRecipe,
          "metadata": MetadataRecipe}
# not recipe settings: how to compute (runtime fields) and the develop's own output space
SKIP = {f"develop.{k}" for k in _RUNTIME_FIELDS} | {"develop.output.space"}


def _skipped(key: str) -> bool:
    return any(key == s or key.startswith(s + ".") for s in SKIP)


def leaf_fields(cls: type, prefix: str) -> dict[str, tuple[dataclasses.Field, object]]:
    """dotted key -> (field, kind) of every parameter of ``cls``, nested tables flattened."""
    out: dict[str, tuple[dataclasses.Field, object]] = {}
    kinds = _kinds(cls)
    for f in dataclasses.fields(cls):
        key, kind = f"{prefix}.{f.name}", kinds[f.name]
        if kind.nested is not None:
            out.update(leaf_fields(kind.nested, key))
        elif is_param(f):
            out[key] = (f, kind)
    return out


FIELDS = {k: v for name, cls in TABLES.items() for k, v in leaf_fields(cls, name).items()
          if not _skipped(k)}


def test_the_strategies_cover_every_declared_parameter():
    declared = {row[0] for name, cls in TABLES.items() for row in describe(cls, name)}
    assert {k for k in declared if not _skipped(k)} == set(FIELDS)
    assert len(FIELDS) > 30


# text as users type it, and as hostile files hold it: quotes, backslashes, control
# characters, bidi overrides, astral-plane and private-use characters
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)


def value_strategy(f: dataclasses.Field, kind) -> st.SearchStrategy:
    meta = f.metadata
    if meta.get("choices"):
        values = st.sampled_from(meta["choices"])
    elif kind.scalar is bool:
        values = st.booleans()
    elif kind.scalar in (int, float):
        lo, hi = meta.get("range", (None, None))
        if kind.scalar is int:
            values = st.integers(min_value=-INT64 if lo is None else int(lo),
                                 max_value=INT64 if hi is None else int(hi))
        else:
            floats = st.floats(min_value=lo, max_value=hi, allow_nan=False,
                               allow_infinity=False)
            ilo = -10**6 if lo is None else int(-(-lo // 1))
            ihi = 10**6 if hi is None else int(hi // 1)
            values = floats | st.integers(ilo, ihi) if ilo <= ihi else floats  # ints too
    elif kind.scalar is str:
        values = TEXT
    else:
        pytest.fail(f"no strategy for {f.name} ({kind})")
    if meta.get("optional") or kind.none_ok:
        values = st.none() | values
    return values


def _nest(flat: dict[str, object]) -> dict[str, dict]:
    data: dict[str, dict] = {}
    for key, value in flat.items():
        if value is None:  # left to the program: the key is absent
            continue
        *tables, leaf = key.split(".")
        node = data
        for t in tables:
            node = node.setdefault(t, {})
        node[leaf] = value
    return data


LOOKS = st.none() | TEXT.filter(lambda s: s.strip() != "")


@st.composite
def recipe_data(draw) -> dict:
    flat = {key: draw(value_strategy(f, kind), label=key) for key, (f, kind) in FIELDS.items()}
    data = {"version": 1, **_nest(flat)}
    look = draw(LOOKS, label="look")
    if look is not None:
        data["look"] = look
    return data


@SETTINGS
@given(recipe_data())
def test_any_valid_recipe_round_trips_through_toml(data):
    recipe = recipe_from_dict(data)
    text = dump_recipe(recipe)
    back = loads_recipe(text, path="r.toml")
    assert recipe_to_dict(back) == recipe_to_dict(recipe)
    assert dump_recipe(back) == text  # and the text is a fixed point


@SETTINGS
@given(st.builds(Recipe))
def test_recipes_built_in_code_round_trip(recipe):
    assert recipe_to_dict(loads_recipe(dump_recipe(recipe))) == recipe_to_dict(recipe)


def _toml_number(value) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


BOUNDED = sorted(k for k, (f, kind) in FIELDS.items()
                 if kind.scalar in (int, float) and not f.metadata.get("choices")
                 and f.metadata.get("range", (None, None)) != (None, None))
CHOICES = sorted(k for k, (f, _) in FIELDS.items() if f.metadata.get("choices"))
BOOLS = sorted(k for k, (f, kind) in FIELDS.items() if kind.scalar is bool)


def _one_key_recipe(key: str, value_text: str) -> str:
    *tables, leaf = key.split(".")
    return f"version = 1\n[{'.'.join(tables)}]\n{leaf} = {value_text}\n"


def _assert_refused(text: str, key: str) -> None:
    with pytest.raises(ParameterError) as info:
        loads_recipe(text, path="bad.toml")
    message = str(info.value)
    assert message.startswith("bad.toml: ") and "\n" not in message
    assert key in message and info.value.key == key


@SETTINGS
@given(st.sampled_from(BOUNDED), st.data())
def test_out_of_range_values_are_refused_naming_the_key(key, data):
    f, kind = FIELDS[key]
    lo, hi = f.metadata["range"]
    sides = [s for s, b in (("lo", lo), ("hi", hi)) if b is not None]
    side = data.draw(st.sampled_from(sides))
    step = data.draw(st.integers(1, 10**6) if kind.scalar is int
                     else st.floats(1e-6, 1e12, allow_nan=False))
    value = (lo - step) if side == "lo" else (hi + step)
    if kind.scalar is float:
        value = float(value)
        assume(value < lo if side == "lo" else value > hi)  # not rounded back into range
    _assert_refused(_one_key_recipe(key, _toml_number(value)), key)


@SETTINGS
@given(st.sampled_from(CHOICES), TEXT)
def test_values_outside_the_choices_are_refused_naming_the_key(key, word):
    f, _ = FIELDS[key]
    assume(word not in f.metadata["choices"])
    escaped = word.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c.isprintable() else f"\\U{ord(c):08x}" for c in escaped)
    _assert_refused(_one_key_recipe(key, f'"{escaped}"'), key)


@SETTINGS
@given(st.sampled_from(BOOLS), st.integers(-5, 5) | st.just('"yes"'))
def test_bools_take_only_true_or_false(key, value):
    _assert_refused(_one_key_recipe(key, str(value)), key)


@SETTINGS
@given(st.sampled_from(sorted(TABLES)), st.text(string.ascii_lowercase + "_", min_size=1,
                                              max_size=12))
def test_unknown_keys_are_refused_naming_the_key(table, word):
    assume(f"{table}.{word}" not in FIELDS and word not in ("wb", "levels", "demosaic",
           "highlights", "denoise", "tone", "sharpen", "output"))
    _assert_refused(_one_key_recipe(f"{table}.{word}", "1"), f"{table}.{word}")


# --- the output policy: an output that is an input, however spelled, is refused ------------

SPELLINGS = ("plain", "dot", "dotdot", "slashes", "dir_link", "file_link", "hard_link",
             "link_chain", "relative_link")


def spell(path: Path, how: str, root: Path, n: int) -> str:
    """Another name for ``path`` (a file under ``root/a/b``)."""
    if how == "plain":
        return str(path)
    if how == "dot":
        return f"{path.parent}{'/.' * n}/{path.name}"
    if how == "dotdot":
        return f"{path.parent}/{'sub/../' * n}{path.name}"
    if how == "slashes":
        return str(path.parent) + "/" * (n + 1) + path.name
    if how == "dir_link":
        link = root / f"dirlink{n}"
        link.symlink_to(path.parent, target_is_directory=True)
        return str(link / path.name)
    if how == "file_link":
        link = root / f"filelink{n}.jpg"
        link.symlink_to(path)
        return str(link)
    if how == "hard_link":
        link = root / f"hardlink{n}.jpg"
        os.link(path, link)
        return str(link)
    if how == "link_chain":
        first = root / f"chain{n}-1"
        first.symlink_to(path)
        second = root / f"chain{n}-2.jpg"
        second.symlink_to(first)
        return str(second)
    if how == "relative_link":
        link = root / "a" / f"rel{n}.jpg"
        link.symlink_to(os.path.relpath(path, link.parent))
        return str(link)
    raise AssertionError(how)


def _tree(root: Path, count: int) -> list[Path]:
    (root / "a" / "b" / "sub").mkdir(parents=True)
    files = []
    for i in range(count):
        p = root / "a" / "b" / f"IMG_{i}.jpg"
        p.write_bytes(b"\xff\xd8\xff" + bytes([i]) * 16)
        files.append(p)
    return files


@settings(max_examples=250, deadline=None, database=None)
@given(kind=st.sampled_from(("develop", "frame", "night")), count=st.integers(1, 4),
       which=st.integers(0, 3), how=st.sampled_from(SPELLINGS), n=st.integers(1, 3),
       as_dng=st.booleans(), overwrite=st.booleans())
def test_an_output_that_is_an_input_is_always_refused(kind, count, which, how, n, as_dng,
                                                      overwrite):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = _tree(root, count)
        victim = files[which % count]
        before = victim.read_bytes()
        target = spell(victim, how, root, n)
        inputs = tuple(str(f) for f in files) if kind == "night" else (str(victim),)
        other = str(root / "elsewhere" / "night.jpg")
        if kind == "night" and as_dng:
            job = Job(inputs, other, kind=kind, dng=target, overwrite=overwrite)
        else:
            job = Job(inputs, target, kind=kind, overwrite=overwrite)
        with pytest.raises(UsageError, match="would replace an input"):
            _check_targets(job)
        assert victim.read_bytes() == before


@settings(max_examples=40, deadline=None, database=None)
@given(count=st.integers(1, 3), name=st.text(string.ascii_letters + "_-. ", min_size=1,
                                             max_size=10), overwrite=st.booleans())
def test_an_output_beside_the_inputs_is_not_refused(count, name, overwrite):
    assume(name.strip(". ") == name and name not in (".", ".."))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = _tree(root, count)
        target = files[0].parent / f"{name}.out.jpg"
        _check_targets(Job((str(files[0]),), str(target), overwrite=overwrite))


# --- an output folder inside an input folder is never walked -------------------------------

OUT_SPELLINGS = ("plain", "dot", "dotdot", "trailing_slash", "link", "same")


@settings(max_examples=150, deadline=None, database=None)
@given(depth=st.integers(0, 3), how=st.sampled_from(OUT_SPELLINGS),
       outputs=st.integers(1, 5), hidden=st.booleans())
def test_an_output_folder_inside_an_input_folder_is_never_walked(depth, how, outputs, hidden):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "photos"
        inputs = _tree(root, 3)
        out = root.joinpath(*[f"d{i}" for i in range(depth)], "out") if how != "same" else root
        out.mkdir(parents=True, exist_ok=True)
        for i in range(outputs):  # a first run's outputs
            (out / f"IMG_{i}_jpg{'-2' if i % 2 else ''}.jpg").write_bytes(b"\xff\xd8\xff")
        if hidden:
            (out / f".IMG_0.jpg.{outputs}.part").write_bytes(b"x")
        spelled = {
            "plain": str(out), "same": str(out), "trailing_slash": f"{out}/",
            "dot": f"{out.parent}/./{out.name}",
            "dotdot": f"{out.parent}/x/../{out.name}",
            "link": None,
        }[how]
        if how == "link":
            link = Path(tmp) / "outlink"
            link.symlink_to(out, target_is_directory=True)
            spelled = str(link)
        if how == "dotdot":
            (out.parent / "x").mkdir(exist_ok=True)
        if how == "same":  # outputs would mix with the originals: refused, not walked
            with pytest.raises(UsageError, match="output folder is this input folder"):
                collect_inputs([str(root)], frozenset({".jpg"}), exclude=spelled)
            return
        files, missing = collect_inputs([str(root)], frozenset({".jpg"}), exclude=spelled)
        assert missing == []
        real_out = Path(os.path.realpath(out))
        walked = {Path(os.path.realpath(f)) for f in files}
        assert not any(real_out in w.parents for w in walked), files
        expected = {Path(os.path.realpath(p)) for p in inputs}
        assert walked == expected


# --- look TOML files -----------------------------------------------------------------------
# There is no look writer: a LookParams drawn from the declarations is written as TOML here
# (with the recipe writer's value spelling) and must parse back to itself.

LOOK_SECTIONS = {f.name: f.default_factory for f in dataclasses.fields(LookParams)
                 if f.name != "hue"}


def look_field_strategy(f: dataclasses.Field) -> st.SearchStrategy:
    meta = f.metadata
    if meta.get("choices"):
        return st.sampled_from(meta["choices"])
    if isinstance(f.default, bool):
        return st.booleans()
    lo, hi = meta["range"]
    if f.name == "mix":
        mix = st.tuples(*[st.floats(lo, hi)] * 3).filter(lambda m: sum(m) > 0)
        return st.none() | mix
    if isinstance(f.default, int):
        return st.integers(int(lo), int(hi))
    return st.floats(lo, hi)


def section_strategy(cls) -> st.SearchStrategy:
    return st.fixed_dictionaries({}, optional={
        f.name: look_field_strategy(f) for f in dataclasses.fields(cls)})


@st.composite
def look_tables(draw) -> dict:
    data: dict = {"version": LOOK_VERSION,
                  "description": draw(TEXT.filter(lambda s: s.strip() != ""))}
    for name, cls in LOOK_SECTIONS.items():
        table = draw(section_strategy(cls), label=name)
        table = {k: v for k, v in table.items() if v is not None}
        if table:
            data[name] = table
    hues = draw(st.lists(section_strategy(HueRange), max_size=MAX_HUE_RANGES), label="hue")
    if hues:
        data["hue"] = hues
    return data


def look_toml(data: dict) -> str:
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict | list)]
    for name, table in data.items():
        if isinstance(table, dict):
            lines += ["", f"[{name}]"] + [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    for table in data.get("hue", []):
        lines += ["", "[[hue]]"] + [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


@SETTINGS
@given(look_tables())
def test_look_toml_round_trips(data):
    description, params = parse_look_table(tomllib.loads(look_toml(data)), "look.toml")
    assert description == data["description"].strip()
    for name in LOOK_SECTIONS:
        section = getattr(params, name)
        for key, value in data.get(name, {}).items():
            assert getattr(section, key) == (tuple(value) if key == "mix" else value), key
    assert len(params.hue) == len(data.get("hue", []))
    for got, want in zip(params.hue, data.get("hue", []), strict=True):
        assert all(getattr(got, k) == v for k, v in want.items())


LOOK_BOUNDED = sorted((name, f.name) for name, cls in LOOK_SECTIONS.items()
                      for f in dataclasses.fields(cls)
                      if not f.metadata.get("choices") and not isinstance(f.default, bool)
                      and f.name != "mix")


@SETTINGS
@given(st.sampled_from(LOOK_BOUNDED), st.booleans(), st.floats(1e-6, 1e9))
def test_out_of_range_look_values_are_refused_naming_the_key(where, below, step):
    name, key = where
    f = next(f for f in dataclasses.fields(LOOK_SECTIONS[name]) if f.name == key)
    lo, hi = f.metadata["range"]
    value = lo - step if below else hi + step
    value = int(value) if isinstance(f.default, int) else value
    assume(value < lo or value > hi)
    text = f'version = {LOOK_VERSION}\ndescription = "x"\n[{name}]\n{key} = {value!r}\n'
    with pytest.raises(UsageError) as info:
        parse_look_table(tomllib.loads(text), "look.toml")
    message = str(info.value)
    assert message.startswith("look.toml: ") and f"{name}.{key}" in message


@settings(max_examples=30, deadline=None, database=None)
@given(kind=st.sampled_from(("develop", "night")), tail=st.sampled_from(("", "x.jpg", "a/b.jpg")),
       overwrite=st.booleans())
def test_a_symlink_loop_is_an_output_error_not_an_internal_one(kind, tail, overwrite):
    # Path.resolve raises RuntimeError on a loop on Python 3.11: it was exit 70
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (src,) = _tree(root, 1)
        loop = root / "loop"
        loop.symlink_to(loop)
        target = loop / tail if tail else loop
        job = Job((str(src),), str(target), kind=kind, overwrite=overwrite)
        if not tail and overwrite:  # the link itself is what --overwrite replaces
            _check_targets(job)
        else:
            with pytest.raises(OutputError):
                _check_targets(job)
        files, _ = collect_inputs([str(root)], frozenset({".jpg"}), exclude=str(loop))
        assert files == [str(src)]
