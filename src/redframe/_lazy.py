"""Names of a package imported from their submodules on first use (PEP 562).

A package whose importers hold the package, not its names (``from redframe import frame``,
then ``frame.render_frame(...)``), defers its submodules' imports to the first use of a
name: :mod:`redframe.frame` and :mod:`redframe.looks` do, so that a develop which draws no
frame and applies no look does not import them (docs/performance.md has the figures).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(package: str, names: dict[str, str], namespace: dict[str, Any],
               modules: tuple[str, ...] = ()) -> tuple[Callable[[str], Any],
                                                       Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: each of ``names`` (name -> submodule)
    imported from its submodule on first access and kept in ``namespace`` (the package's
    globals), and each of ``modules`` (submodule names) imported when reached as an
    attribute."""

    def __getattr__(name: str) -> Any:
        if name in modules:
            return importlib.import_module(f"{package}.{name}")
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{names[name]}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names) | set(modules))

    return __getattr__, __dir__
