"""Recipes: everything that decides how one picture is made, as versioned TOML.

A :class:`Recipe` is the develop parameters (every stage's, :class:`DevelopParams`), the
look, the watermark frame, the output (format, colour space, quality, bit depth) and the
metadata policy. It is plain data: it pickles to a process pool or a Dask worker, and
:func:`dump_recipe` writes it with every value explicit, so a batch is reproducible and an
edit travels with its file (darktable's XMP and Lightroom's sidecar habit)::

    version = 1
    look = "authentic"
    character = "documentary-35"   # optional: a lens character (redframe.looks.characters)

    [develop]           # redframe.isp.pipeline.DevelopParams, stage by stage
    quality = "high"
    ...
    [develop.wb]
    mode = "kelvin"
    kelvin = 4300.0
    ...
    [output]
    format = "jpeg"
    space = "srgb"
    quality = 92
    [frame]
    layout = "classic"
    [metadata]
    strip_gps = false

Where settings come from, lowest first: the defaults, ``--recipe FILE``, the input's
sidecar ``IMG.EXT.redframe.toml`` (unless ``--no-sidecar``), then the command-line flags
that were given. A recipe of an older version is brought up to date by :data:`MIGRATIONS`
(one function per version step, as darktable's ``legacy_params``); a malformed or
out-of-range recipe is a :class:`~redframe.errors.UsageError` naming the file, the key and
the allowed range.
"""

from __future__ import annotations

import copy
import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from redframe.errors import OutputError, ParameterError, UsageError, toml_problem
from redframe.isp.pipeline import DevelopParams
from redframe.isp.white_balance import parse_wb
from redframe.params import describe, from_dict, param, to_dict, validate

__all__ = [
    "RECIPE_VERSION",
    "Recipe",
    "OutputRecipe",
    "FrameRecipe",
    "MetadataRecipe",
    "MIGRATIONS",
    "SIDECAR_SUFFIX",
    "FORMAT_SUFFIX",
    "load_recipe",
    "read_recipe_data",
    "loads_recipe",
    "dump_recipe",
    "save_recipe",
    "recipe_to_dict",
    "recipe_from_dict",
    "sidecar_path",
    "merge_recipe",
]

#: The version :func:`dump_recipe` writes; older ones load through :data:`MIGRATIONS`.
RECIPE_VERSION = 1

#: A recipe next to an input, picked up automatically: ``IMG_0001.NEF.redframe.toml``.
SIDECAR_SUFFIX = ".redframe.toml"

#: output format -> file extension
FORMAT_SUFFIX = {"jpeg": ".jpg", "heic": ".heic", "tiff": ".tif", "png": ".png"}

#: Fields of DevelopParams that say how to compute, not what picture to make: not recipes.
_RUNTIME_FIELDS = ("look", "output_bits", "engine", "strip_rows", "threads")

#: Largest recipe file read (a recipe is a few kB; refuse anything else before parsing).
MAX_RECIPE_BYTES = 256 * 1024


@dataclass
class OutputRecipe:
    """The file written."""

    format: str = param("jpeg", choices=("auto", *FORMAT_SUFFIX),
                        doc="output format; auto: from the output's name (night -o x.png), "
                            "the input's own (frame), JPEG (develop)")
    space: str = param("srgb", choices=("srgb", "display-p3"), doc="output colour space")
    quality: int = param(92, lo=1, hi=100, doc="JPEG/HEIC quality")
    bit_depth: int | None = param(None, choices=(8, 16), optional=True,
                                  doc="bits per sample (none: 8 for JPEG/HEIC, 16 for TIFF/PNG)")
    hdr: bool = param(False, doc="also the HDR rendition: an Ultra HDR JPEG (gain map), a "
                                 "10-bit BT.2100 HEIC, a 16-bit BT.2100 PNG (docs/hdr.md)")
    hdr_headroom: float = param(3.0, lo=1.0, hi=6.0, unit="stops",
                                doc="highlight headroom of the HDR rendition above SDR white")
    hdr_transfer: str = param("pq", choices=("pq", "hlg"),
                              doc="transfer of an HDR HEIC/PNG: BT.2100 PQ or HLG")

    def __post_init__(self) -> None:
        validate(self)


@dataclass
class FrameRecipe:
    """A watermark frame drawn around the picture (:mod:`redframe.frame`)."""

    layout: str | None = param(None, optional=True, doc="layout name or .toml (none: no frame)")
    missing: str = param("hide", choices=("hide", "dash"),
                         doc="a field the EXIF lacks: hide its slot or show a dash")
    pad_to: str | None = param(None, optional=True, doc="pad the canvas to a ratio (4:5)")
    variant: str | None = param(None, optional=True, doc="a layout variant")
    exposure_template: str | None = param(None, optional=True, doc="exposure line template")
    font: str | None = param(None, optional=True, doc="own font for regular text")
    font_bold: str | None = param(None, optional=True, doc="own font for bold text")
    logo: str | None = param(None, optional=True, doc="own logo (PNG or SVG)")

    def __post_init__(self) -> None:
        validate(self)

    def options(self) -> dict[str, Any]:
        """The options :func:`redframe.frame.render_frame` takes."""
        opts: dict[str, Any] = {"missing": self.missing}
        for key in ("pad_to", "variant", "exposure_template", "font", "font_bold", "logo"):
            value = getattr(self, key)
            if value is not None:
                opts[key] = value
        return opts


@dataclass
class MetadataRecipe:
    """What of the source's metadata the output keeps."""

    strip_gps: bool = param(False, doc="remove the location from the output")

    def __post_init__(self) -> None:
        validate(self)


@dataclass
class Recipe:
    """How one picture is made: develop parameters, look, frame, output, metadata."""

    develop: DevelopParams = field(default_factory=DevelopParams)
    look: str | None = None  # a look name, a look .toml or a .cube file; None: no look
    # a lens character (redframe.looks.characters: crop to its focal length + rendering,
    # after the develop and look, before the frame), a name or a .toml; None: none
    character: str | None = None
    output: OutputRecipe = field(default_factory=OutputRecipe)
    frame: FrameRecipe = field(default_factory=FrameRecipe)
    metadata: MetadataRecipe = field(default_factory=MetadataRecipe)

    def develop_params(self) -> DevelopParams:
        """The :class:`DevelopParams` the pipeline runs (output space from ``output``)."""
        params = copy.deepcopy(self.develop)
        params.output = replace(params.output, space=self.output.space)
        return params


# --- plain data <-> Recipe --------------------------------------------------------------------

def recipe_to_dict(recipe: Recipe) -> dict[str, Any]:
    """The recipe as plain TOML-able data, every value explicit (None values are left out:
    TOML has no null; a missing key reads back as its default, which is None)."""
    develop = to_dict(recipe.develop)
    for key in _RUNTIME_FIELDS:
        develop.pop(key, None)
    out = develop.get("output")
    if isinstance(out, dict):
        out.pop("space", None)  # the recipe's [output] space is the one place for it
        if not out:
            develop.pop("output")
    data: dict[str, Any] = {"version": RECIPE_VERSION}
    if recipe.look is not None:
        data["look"] = recipe.look
    if recipe.character is not None:
        data["character"] = recipe.character
    data["develop"] = develop
    data["output"] = to_dict(recipe.output)
    frame = to_dict(recipe.frame)
    data["frame"] = frame
    data["metadata"] = to_dict(recipe.metadata)
    return data


def recipe_from_dict(data: Mapping[str, Any], path: str | None = None) -> Recipe:
    """A :class:`Recipe` from plain data of any known version (migrated first); ``path``
    (the file it came from) is named first in errors."""
    data = migrate(dict(data), path)
    data.pop("version")
    unknown = set(data) - {"look", "character", "develop", "output", "frame", "metadata"}
    if unknown:
        key = sorted(unknown)[0]
        raise ParameterError(f"unknown key {key!r}; allowed: version, look, character, "
                             "develop, output, frame, metadata", path=path, key=key)
    look = data.get("look")
    if look is not None and (not isinstance(look, str) or not look.strip()):
        raise ParameterError(f"look must be a look name or file, not {look!r}", path=path,
                             key="look")
    character = data.get("character")
    if character is not None and (not isinstance(character, str) or not character.strip()):
        raise ParameterError(f"character must be a lens character name or .toml file, not "
                             f"{character!r}", path=path, key="character")
    develop = _table(data, "develop", path)
    for key in _RUNTIME_FIELDS:
        if key in develop:
            raise ParameterError(f"develop.{key} says how to compute, not what to make: it is "
                                 "not a recipe setting", path=path, key=f"develop.{key}")
    if isinstance(develop.get("output"), Mapping) and "space" in develop["output"]:
        raise ParameterError("the colour space is [output] space, not develop.output.space",
                             path=path, key="develop.output.space")
    return Recipe(
        develop=from_dict(DevelopParams, develop, "develop", path=path),
        look=look,
        character=character,
        output=from_dict(OutputRecipe, _table(data, "output", path), "output", path=path),
        frame=from_dict(FrameRecipe, _table(data, "frame", path), "frame", path=path),
        metadata=from_dict(MetadataRecipe, _table(data, "metadata", path), "metadata",
                           path=path),
    )


def _table(data: Mapping[str, Any], key: str, path: str | None) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ParameterError(f"[{key}] must be a table, not {type(value).__name__}", path=path,
                             key=key)
    return dict(value)


# --- versions ---------------------------------------------------------------------------------

def _v0_to_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 0 was DESIGN.md's first draft: flat keys named like the command-line flags
    (``wb = "4300K"``, ``exposure``, ``fast``, ``look``, ``frame``, ``format``, ``quality``,
    ``space``, ``strip_gps``). Version 1 nests them as the stages declare them."""
    flat = dict(data)
    known = {"version", "wb", "exposure", "auto_exposure", "fast", "look", "frame", "format",
             "quality", "space", "strip_gps"}
    unknown = set(flat) - known
    if unknown:
        key = sorted(unknown)[0]
        raise ParameterError(f"unknown key {key!r} in a version 0 recipe; allowed: "
                             f"{', '.join(sorted(known))}", key=key)
    develop: dict[str, Any] = {}
    if "wb" in flat:
        try:
            develop["wb"] = to_dict(parse_wb(str(flat["wb"])))
        except ValueError as exc:
            raise ParameterError(f"wb: {exc}", key="wb") from None
    tone = {k: flat[k] for k in ("exposure", "auto_exposure") if k in flat}
    if tone:
        develop["tone"] = tone
    if flat.get("fast"):
        develop.update(quality="fast", half_size=True)
    out: dict[str, Any] = {"version": 1, "develop": develop}
    if "look" in flat:
        out["look"] = flat["look"]
    output = {k: flat[k] for k in ("format", "quality", "space") if k in flat}
    if output:
        out["output"] = output
    if "frame" in flat:
        out["frame"] = {"layout": flat["frame"]}
    if "strip_gps" in flat:
        out["metadata"] = {"strip_gps": flat["strip_gps"]}
    return out


#: version -> the function taking a recipe of that version to the next one
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _v0_to_v1}


def migrate(data: dict[str, Any], path: str | None = None) -> dict[str, Any]:
    """Bring plain recipe data of any known version to :data:`RECIPE_VERSION`."""
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ParameterError(f"version must be an integer (this redframe writes "
                             f"{RECIPE_VERSION}), not {version!r}", path=path, key="version")
    if version > RECIPE_VERSION:
        raise ParameterError(f"version {version} is newer than this redframe understands "
                             f"({RECIPE_VERSION}); update redframe", path=path, key="version")
    while version < RECIPE_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise ParameterError(f"version {version} is not a recipe version", path=path,
                                 key="version")
        try:
            data = step(data)
        except ParameterError as exc:
            raise ParameterError(exc.message, path=path, key=exc.key) from None
        version = data["version"]
    return data


# --- files ------------------------------------------------------------------------------------

def loads_recipe(text: str, path: str | None = None) -> Recipe:
    """A recipe from TOML text (``path``: the file it came from, for errors)."""
    try:
        data = tomllib.loads(text)
    except (ValueError, RecursionError) as exc:  # TOMLDecodeError, Python's limits
        raise ParameterError(f"not valid TOML ({toml_problem(exc)})", path=path) from None
    return recipe_from_dict(data, path)


def load_recipe(path: str | os.PathLike) -> Recipe:
    """Read a recipe file; UsageError naming the file (and key) when it is not one."""
    return recipe_from_dict(read_recipe_data(path), str(path))


def read_recipe_data(path: str | os.PathLike) -> dict[str, Any]:
    """A recipe file's data brought to the current version, not yet checked against the
    parameters (:func:`merge_recipe` does that): sidecars may hold only some settings."""
    path = Path(path)
    try:
        if not path.is_file():
            raise UsageError("no such recipe file" if not path.exists() else "not a file",
                             path=str(path))
        if path.stat().st_size > MAX_RECIPE_BYTES:
            raise UsageError(f"a recipe is at most {MAX_RECIPE_BYTES // 1024} kB", path=str(path))
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read recipe ({exc.strerror or exc})", path=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError("a recipe is UTF-8 TOML text", path=str(path)) from None
    try:
        data = tomllib.loads(text)
    except (ValueError, RecursionError) as exc:  # TOMLDecodeError, Python's limits
        raise ParameterError(f"not valid TOML ({toml_problem(exc)})", path=str(path)) from None
    return migrate(data, str(path))


def dump_recipe(recipe: Recipe) -> str:
    """The recipe as TOML text, every value explicit, each with its meaning and range as
    a comment; settings left to the program (None: "from the file", "from the ISO") are
    listed as comments, so the file says what each one does."""
    data = recipe_to_dict(recipe)
    lines = ["# redframe recipe: how a picture was made. Settings here apply with",
             "# `redframe develop IMG --recipe FILE`, or beside IMG as IMG.EXT.redframe.toml.",
             f"version = {data.pop('version')}"]
    if "look" in data:
        lines.append(f"look = {_toml_value(data.pop('look'))}")
    else:
        lines.append("# look: unset (no look: the default rendering)")
    if "character" in data:
        lines.append(f"character = {_toml_value(data.pop('character'))}")
    else:
        lines.append("# character: unset (no lens character: the full field of view)")
    docs = _docs()
    for key, table in data.items():
        _dump_table(lines, key, table, docs)
    return "\n".join(lines) + "\n"


def _docs() -> dict[str, tuple[str, str, str]]:
    """dotted key -> (allowed, unit, meaning) of every recipe setting."""
    rows = (describe(DevelopParams, "develop") + describe(OutputRecipe, "output")
            + describe(FrameRecipe, "frame") + describe(MetadataRecipe, "metadata"))
    skip = {f"develop.{k}" for k in _RUNTIME_FIELDS} | {"develop.output.space"}
    return {key: (allowed, unit, doc) for key, _, allowed, unit, doc in rows
            if key not in skip and not any(key.startswith(s + ".") for s in skip)}


def _comment(key: str, docs: Mapping[str, tuple[str, str, str]]) -> str:
    allowed, unit, doc = docs.get(key, ("", "", ""))
    what = ", ".join(t for t in (allowed, unit) if t)
    return f"{doc} ({what})" if doc and what else doc or what


def _dump_table(lines: list[str], name: str, table: Mapping[str, Any],
                docs: Mapping[str, tuple[str, str, str]]) -> None:
    lines.append("")
    lines.append(f"[{name}]")
    for key, value in table.items():
        if not isinstance(value, Mapping):
            note = _comment(f"{name}.{key}", docs)
            lines.append(f"{key} = {_toml_value(value)}" + (f"  # {note}" if note else ""))
    prefix = f"{name}."
    children = dict.fromkeys(k[len(prefix):].split(".")[0] for k in docs if k.startswith(prefix))
    for key in (k for k in children if k not in table):
        full = f"{name}.{key}"
        if full in docs:  # a setting left to the program
            lines.append(f"# {key}: (unset) {_comment(full, docs)}")
        else:  # a whole table left to the program
            lines.append(f"# [{full}]: unset (chosen by the program)")
    for key, value in table.items():
        if isinstance(value, Mapping):
            _dump_table(lines, f"{name}.{key}", value, docs)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"a recipe value must be finite, not {value}")
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        escaped = "".join(c if c.isprintable() else  # \uXXXX holds 4 hex digits
                          f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}"
                          for c in escaped)
        return f'"{escaped}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to a recipe")


def save_recipe(recipe: Recipe, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``recipe`` to ``path`` atomically (temp + fsync + rename)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputError("exists; use --overwrite", path=str(path))
    text = dump_recipe(recipe)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write recipe ({exc.strerror or exc})", path=str(path)) from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def sidecar_path(source: str | os.PathLike) -> Path:
    """Where the sidecar recipe of ``source`` lives: ``IMG.EXT.redframe.toml`` beside it."""
    source = Path(source)
    return source.with_name(source.name + SIDECAR_SUFFIX)


def merge_recipe(base: Recipe, overrides: Mapping[str, Any], path: str | None = None) -> Recipe:
    """``base`` with some settings replaced: ``overrides`` is partial recipe data of the
    current version (nested tables merge key by key)."""
    data = recipe_to_dict(base)
    _deep_update(data, overrides)
    return recipe_from_dict(data, path)


def _deep_update(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    for key, value in source.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _deep_update(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
