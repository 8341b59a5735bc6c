"""Parameters declared once: default, range or choices, unit and a one-line meaning.

A parameter is a dataclass field made by :func:`param`; its metadata carries what a user
needs to know about it (darktable's ``$MIN/$MAX/$DEFAULT/$DESCRIPTION`` introspection,
vkdt's ``params`` files). One declaration then serves

- validation: :func:`validate` walks a tree of parameter dataclasses (a stage's params
  nested in :class:`redframe.isp.pipeline.DevelopParams`) and raises
  :class:`redframe.errors.ParameterError` naming the dotted key, the value, the allowed
  range or choices and the meaning, e.g.
  ``sharpen.amount = -7 is outside 0..2 (output sharpening strength)``;
- files: :func:`to_dict` / :func:`from_dict` convert a tree to and from plain dicts that
  TOML can hold (recipes, sidecars);
- documentation: :func:`describe` lists (key, default, range, unit, meaning) rows.

Types come from the field annotations (``float``, ``int``, ``bool``, ``str``, a nested
parameter dataclass, ``X | None``, ``tuple``); where an annotation cannot be resolved the
default's type is used. A ``float`` accepts ints (stored as given; :func:`from_dict`
converts them), never bools; an ``int`` accepts no floats; numbers must be finite. Fields
that are not parameters (no :func:`param` metadata and not a nested parameter dataclass,
e.g. the develop's look object) are neither validated nor written by :func:`to_dict`.

This module is the bottom layer: it imports only the standard library and
:mod:`redframe.errors`.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import sys
import types
import typing
from typing import Any

from redframe.errors import ParameterError

__all__ = ["param", "validate", "to_dict", "from_dict", "describe", "is_param", "range_text"]

_MUTABLE = (list, dict, set, bytearray)


def param(
    default: Any,
    *,
    lo: float | None = None,
    hi: float | None = None,
    unit: str = "",
    doc: str = "",
    choices: tuple | None = None,
    optional: bool = False,
):
    """A dataclass field with its allowed range (``lo``..``hi``, either may be open) or
    ``choices``, its ``unit`` and a one-line ``doc``. ``optional``: ``None`` is allowed
    (it is whenever the default is ``None``). Mutable defaults (lists, dicts, dataclass
    instances) are copied per instance (``default_factory``)."""
    if choices is not None:
        choices = tuple(choices)
    meta = {
        "param": True,
        "range": (lo, hi),
        "unit": unit,
        "doc": doc,
        "choices": choices,
        "optional": bool(optional or default is None),
    }
    if isinstance(default, _MUTABLE):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    if dataclasses.is_dataclass(default) and not isinstance(default, type):
        return dataclasses.field(default_factory=lambda: dataclasses.replace(default),
                                 metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def is_param(f: dataclasses.Field) -> bool:
    """Whether a dataclass field was declared with :func:`param`."""
    return bool(f.metadata.get("param"))


# ------------------------------------------------------------------------------ types


class _Kind(typing.NamedTuple):
    scalar: type | None  # bool | int | float | str | tuple | None (not checked)
    nested: type | None  # a parameter dataclass
    none_ok: bool


_KINDS: dict[type, dict[str, _Kind]] = {}


def _resolve(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # an annotation names something not importable here: field by field
        module = sys.modules.get(cls.__module__)
        env = dict(vars(module)) if module else {}
        hints = {}
        for f in dataclasses.fields(cls):
            try:
                hints[f.name] = eval(f.type, env) if isinstance(f.type, str) else f.type
            except Exception:
                hints[f.name] = None
        return hints


def _kind_of(hint: Any, default: Any) -> _Kind:
    none_ok = False
    options = [hint]
    origin = typing.get_origin(hint)
    if origin is typing.Union or isinstance(hint, types.UnionType):
        options = list(typing.get_args(hint))
    scalar = nested = None
    for opt in options:
        if opt is type(None):
            none_ok = True
            continue
        base = typing.get_origin(opt) or opt
        if isinstance(base, type) and dataclasses.is_dataclass(base):
            nested = base
        elif base in (bool, int, float, str):
            scalar = base
        elif base in (tuple, list):
            scalar = tuple
    if scalar is None and nested is None and default is not None:
        if isinstance(default, (bool, int, float, str)):
            scalar = type(default)
        elif dataclasses.is_dataclass(default):
            nested = type(default)
    return _Kind(scalar, nested, none_ok)


def _kinds(cls: type) -> dict[str, _Kind]:
    if cls not in _KINDS:
        hints = _resolve(cls)
        kinds = {}
        for f in dataclasses.fields(cls):
            factory = f.default_factory
            if isinstance(factory, type) and dataclasses.is_dataclass(factory):
                kinds[f.name] = _Kind(None, factory, False)
                continue
            if f.default is not dataclasses.MISSING:
                default = f.default
            else:
                default = factory() if factory is not dataclasses.MISSING else None
            kinds[f.name] = _kind_of(hints.get(f.name), default)
        _KINDS[cls] = kinds
    return _KINDS[cls]


# ------------------------------------------------------------------------------ messages


def _fmt(value: Any) -> str:
    """A value as a message shows it (TOML spelling for bools, an int as an int)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    return repr(value)


def _bound(value: Any) -> str:
    """A range bound or choice: 2.0 reads 2."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        short = f"{float(value):g}"
        return short if float(short) == float(value) else repr(float(value))
    return _fmt(value)


def range_text(f: dataclasses.Field, kind: _Kind | None = None) -> str:
    """The allowed values of a parameter field, as the messages and docs write them."""
    meta = f.metadata
    choices = meta.get("choices")
    if choices:
        return "one of " + ", ".join(_bound(c) for c in choices)
    if kind is not None and kind.scalar is bool:
        return "true or false"
    lo, hi = meta.get("range", (None, None))
    if lo is not None and hi is not None:
        return f"{_bound(lo)}..{_bound(hi)}"
    if lo is not None:
        return f"{_bound(lo)} or more"
    if hi is not None:
        return f"{_bound(hi)} or less"
    if kind is not None and kind.scalar in (int, float):
        return "any number" if kind.scalar is float else "any integer"
    return ""


def _tail(f: dataclasses.Field) -> str:
    doc = f.metadata.get("doc") or ""
    return f" ({doc})" if doc else ""


def _unit(f: dataclasses.Field) -> str:
    unit = f.metadata.get("unit") or ""
    return f" {unit}" if unit else ""


def _error(key: str, value: Any, text: str, path: str | None) -> ParameterError:
    return ParameterError(text, path=path, key=key, value=value)


# ------------------------------------------------------------------------------ checks


def _check_number(f, key, value, integer, path, item=""):
    label = f"{key}{item}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        what = "an integer" if integer else "a number"
        allowed = range_text(f, _Kind(int if integer else float, None, False))
        raise _error(key, value, f"{label} = {_fmt(value)} must be {what} "
                     f"({allowed}{_unit(f)}){_tail(f)}".replace(" ()", ""), path)
    if integer and not isinstance(value, numbers.Integral):
        raise _error(key, value, f"{label} = {_fmt(value)} must be an integer"
                     f"{_tail(f)}", path)
    if not math.isfinite(float(value)):
        raise _error(key, value, f"{label} = {_fmt(value)} is not a finite number"
                     f"{_tail(f)}", path)
    lo, hi = f.metadata.get("range", (None, None))
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        if lo is not None and hi is not None:
            where = f"is outside {range_text(f)}"
        elif lo is not None:
            where = f"is below {_bound(lo)}"
        else:
            where = f"is above {_bound(hi)}"
        raise _error(key, value, f"{label} = {_fmt(value)} {where}{_unit(f)}{_tail(f)}", path)


def _check_field(f: dataclasses.Field, kind: _Kind, key: str, value: Any, path=None) -> None:
    """Check one parameter value (not a nested dataclass)."""
    meta = f.metadata
    if value is None:
        if meta.get("optional") or kind.none_ok:
            return
        raise _error(key, value, f"{key} must be set ({range_text(f, kind)}){_tail(f)}", path)
    choices = meta.get("choices")
    if choices:
        if not any(type(value) is type(c) and value == c for c in choices):
            raise _error(key, value, f"{key} = {_fmt(value)} is not {range_text(f)}"
                         f"{_tail(f)}", path)
        return
    scalar = kind.scalar
    if scalar is bool:
        if not isinstance(value, bool):
            raise _error(key, value, f"{key} = {_fmt(value)} must be true or false"
                         f"{_tail(f)}", path)
    elif scalar in (int, float):
        _check_number(f, key, value, scalar is int, path)
    elif scalar is str:
        if not isinstance(value, str):
            raise _error(key, value, f"{key} = {_fmt(value)} must be a string{_tail(f)}", path)
    elif scalar is tuple:
        if not isinstance(value, (tuple, list)):
            raise _error(key, value, f"{key} = {_fmt(value)} must be a list{_tail(f)}", path)
        for i, v in enumerate(value):
            _check_number(f, key, v, False, path, item=f"[{i}]")


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def validate(obj: Any, prefix: str = "", *, path: str | None = None):
    """Check every parameter of the dataclass tree ``obj`` (nested parameter dataclasses,
    ``None`` where optional); return ``obj``. Raises :class:`ParameterError` naming the
    dotted key (``prefix`` + field names), the value and the allowed range or choices."""
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        raise TypeError(f"validate() needs a dataclass instance, got {type(obj).__name__}")
    kinds = _kinds(type(obj))
    for f in dataclasses.fields(obj):
        key = _join(prefix, f.name)
        value = getattr(obj, f.name)
        kind = kinds[f.name]
        if kind.nested is not None:
            if value is None and (kind.none_ok or f.metadata.get("optional")):
                continue
            if not isinstance(value, kind.nested):
                raise _error(key, value, f"{key} must be {kind.nested.__name__} parameters, "
                             f"got {_fmt(value)}", path)
            validate(value, key, path=path)
        elif is_param(f):
            _check_field(f, kind, key, value, path)
    return obj


# ------------------------------------------------------------------------------ dicts


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def to_dict(obj: Any) -> dict:
    """The parameters of ``obj`` as a plain dict (nested tables for nested dataclasses,
    lists for tuples): every parameter written explicitly, defaults included, so a file
    says exactly what was used. ``None`` (an optional value left to the program, e.g. "from
    the file" or "from ISO") is omitted: TOML has no null, and a missing key reads back as
    the default ``None``. Fields that are not parameters are not written."""
    kinds = _kinds(type(obj))
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        if not (is_param(f) or kinds[f.name].nested is not None):
            continue
        value = getattr(obj, f.name)
        if value is None:
            continue
        out[f.name] = _plain(value)
    return out


def _keys(cls: type) -> list[str]:
    kinds = _kinds(cls)
    return [f.name for f in dataclasses.fields(cls)
            if is_param(f) or kinds[f.name].nested is not None]


def from_dict(cls: type, data: Any, where: str = "", *, path: str | None = None):
    """An instance of parameter dataclass ``cls`` from a plain dict (as :func:`to_dict`
    writes it; missing keys take their defaults). ``where`` is the dotted prefix of the
    table (``"develop"`` -> keys named ``develop.sharpen.amount``), ``path`` the file the
    dict came from (named first in errors). Unknown keys, wrong types and values out of
    range raise :class:`ParameterError` naming the key."""
    if not isinstance(data, dict):
        name = where or cls.__name__
        raise _error(where, data, f"{name} must be a table of parameters, got {_fmt(data)}",
                     path)
    kinds = _kinds(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    allowed = _keys(cls)
    values: dict[str, Any] = {}
    for key, value in data.items():
        full = _join(where, str(key))
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean {_join(where, close[0])!r}?)" if close else ""
            raise _error(full, value, f"unknown key {full!r}{hint}; allowed: "
                         f"{', '.join(allowed)}", path)
        f, kind = fields[key], kinds[key]
        if kind.nested is not None:
            values[key] = None if value is None else from_dict(kind.nested, value, full,
                                                                path=path)
            continue
        if kind.scalar is tuple and isinstance(value, list):
            value = tuple(value)
        _check_field(f, kind, full, value, path)
        if kind.scalar is float and not f.metadata.get("choices") and value is not None:
            value = float(value)
        values[key] = value
    try:
        return cls(**values)
    except ParameterError as exc:  # a check across fields in __post_init__: name the file
        if path is None or exc.path is not None:
            raise
        raise ParameterError(exc.message, path=path, key=exc.key, value=exc.value) from None


# ------------------------------------------------------------------------------ docs


def describe(cls: type, prefix: str = "") -> list[tuple[str, Any, str, str, str]]:
    """Rows ``(key, default, range, unit, doc)`` of every parameter of ``cls``, nested
    dataclasses flattened to dotted keys, in declaration order (for docs and ``--help``)."""
    rows = []
    kinds = _kinds(cls)
    for f in dataclasses.fields(cls):
        key = _join(prefix, f.name)
        kind = kinds[f.name]
        if kind.nested is not None:
            rows.extend(describe(kind.nested, key))
            continue
        if not is_param(f):
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = None
        rows.append((key, default, range_text(f, kind), f.metadata.get("unit") or "",
                     f.metadata.get("doc") or ""))
    return rows
