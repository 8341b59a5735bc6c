"""Where looks come from: the bundled TOML files, the user's folder, or a path.

Bundled looks live in ``redframe/looks/data/``. Users add their own by dropping ``.toml``
(or ``.cube``) files into ``$REDFRAME_LOOKS`` (one folder, or several separated by
``os.pathsep``) or, when that is unset, ``$XDG_CONFIG_HOME/redframe/looks/`` (default
``~/.config/redframe/looks/``). A user look with a bundled look's name takes its place.
"""

from __future__ import annotations

import difflib
import os
from importlib import resources
from pathlib import Path

from redframe.errors import UsageError
from redframe.looks.cube import load_cube
from redframe.looks.engine import Look
from redframe.looks.params import LOOK_VERSION, parse_look_table, read_toml

__all__ = ["BUNDLED", "user_dirs", "list_looks", "get_look", "load_look"]

#: Bundled looks, in the order they are listed.
BUNDLED = ("neutral", "authentic", "vibrant", "bw-natural", "bw-contrast")


def _bundled_dir() -> Path:
    return Path(str(resources.files("redframe.looks").joinpath("data")))


def user_dirs() -> list[Path]:
    """The folders searched for user looks, in order of precedence."""
    env = os.environ.get("REDFRAME_LOOKS")
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return [Path(base) / "redframe" / "looks"]


def _catalogue() -> dict[str, Path]:
    """name -> file, bundled first, user folders overriding (first folder wins)."""
    found: dict[str, Path] = {}
    bundled = _bundled_dir()
    for name in BUNDLED:
        found[name] = bundled / f"{name}.toml"
    for path in sorted(bundled.glob("*.toml")):
        found.setdefault(path.stem, path)
    for folder in reversed(user_dirs()):
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.suffix.lower() in (".toml", ".cube") and path.is_file():
                    found[path.stem] = path
    return found


def _resolve_table(path: Path, chain: tuple[Path, ...]) -> dict:
    """The TOML table of ``path`` with ``extends`` merged in (checked at each level)."""
    data = read_toml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str) or not parent:
        raise UsageError(f"extends must be a look name or a .toml path, got {parent!r}",
                         path=str(path))
    if parent.endswith(".toml"):
        ppath = Path(parent).expanduser()
        if not ppath.is_absolute():
            ppath = path.parent / ppath
    else:
        ppath = _catalogue().get(parent)
        if ppath is None or ppath.suffix != ".toml":
            raise UsageError(f"extends = {parent!r}: no such look", path=str(path))
    ppath = Path(os.path.realpath(ppath))  # Path.resolve raises on a symlink loop (3.11)
    if ppath in chain or ppath == path.resolve():
        raise UsageError(f"extends = {parent!r} makes a cycle", path=str(path))
    if not ppath.is_file():
        raise UsageError(f"extends = {parent!r}: file not found", path=str(path))
    base = _resolve_table(ppath, chain + (path.resolve(),))
    parse_look_table(base, str(ppath))  # the parent must be valid on its own
    merged = dict(base)
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def load_look(path: str | Path, name: str | None = None) -> Look:
    """A look from a ``.toml`` file (strictly validated; errors -> UsageError)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UsageError("look file not found", path=str(path))
    table = _resolve_table(path, ())
    description, params = parse_look_table(table, str(path))
    return Look(params, name=name or path.stem, description=description, path=path,
                version=LOOK_VERSION)


def list_looks() -> list[tuple[str, str, str]]:
    """(name, description, path) of every look found, bundled first. A user file that
    does not load is listed with its error as the description."""
    out = []
    catalogue = _catalogue()
    order = [n for n in BUNDLED if n in catalogue] + sorted(n for n in catalogue
                                                            if n not in BUNDLED)
    for name in order:
        path = catalogue[name]
        try:
            look = get_look(str(path))
            description = look.description
        except UsageError as exc:
            description = f"(does not load: {exc.message})"
        out.append((name, description, str(path)))
    return out


def get_look(name_or_path: str | os.PathLike):
    """A :class:`Look` by name (bundled or user), or from a ``.toml`` or ``.cube`` path
    (a :class:`~redframe.looks.cube.CubeLook` for the latter). Unknown -> UsageError."""
    text = os.fspath(name_or_path)
    lower = text.lower()
    if lower.endswith(".cube"):
        return load_cube(text)
    if lower.endswith(".toml") or os.sep in text or (os.altsep and os.altsep in text):
        return load_look(text)
    catalogue = _catalogue()
    path = catalogue.get(text)
    if path is None:
        close = difflib.get_close_matches(text, list(catalogue), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"unknown look {text!r}{hint}; choose one of "
                         f"{', '.join(catalogue)}, or give a .toml or .cube file")
    if path.suffix.lower() == ".cube":
        return load_cube(path)
    return load_look(path, name=text)
