"""Looks: the camera's renderings as data, one colour engine, .cube LUT export and import.

A look turns linear Rec.2020 scene light into display-referred linear Rec.2020 (see
:mod:`redframe.looks.engine` for the stages and :mod:`redframe.looks.params` for every
control, with units). Looks are TOML files: ``neutral``, ``authentic``, ``vibrant``,
``bw-natural`` and ``bw-contrast`` are bundled; users drop their own into
``~/.config/redframe/looks/`` (or ``$REDFRAME_LOOKS``).

    >>> from redframe.looks import get_look
    >>> look = get_look("authentic")
    >>> look.name, look.params.tone.contrast > 1
    ('authentic', True)

``look(rgb, rows=(a, b), full_shape=(H, W), display_referred=False)`` renders an image or
a strip of rows [a, b) of an (H, W) frame; :func:`export_cube` writes a .cube 3D LUT;
:func:`load_cube` (or ``get_look("file.cube")``) applies one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from redframe._lazy import lazy_names

__all__ = [
    "Look",
    "LookParams",
    "LOOK_VERSION",
    "BUNDLED",
    "CubeLook",
    "get_look",
    "list_looks",
    "load_look",
    "user_dirs",
    "export_cube",
    "load_cube",
    "read_cube",
    "render_colour",
]

#: each public name's submodule, imported on the name's first use (PEP 562), as
#: :mod:`redframe.frame` does: a develop without a look or a character (the job runner and
#: the command line hold this package, not its names) does not import the look engine, its
#: parameters, the .cube code and the characters, 0.01 s of every command's start-up
#: (their 20-odd dataclasses)
_SUBMODULE = {
    "CubeLook": "cube", "export_cube": "cube", "load_cube": "cube", "read_cube": "cube",
    "Look": "engine", "render_colour": "engine",
    "BUNDLED": "library", "get_look": "library", "list_looks": "library",
    "load_look": "library", "user_dirs": "library",
    "LOOK_VERSION": "params", "LookParams": "params",
}
#: submodules reached as attributes (``looks.characters.get_character``)
_LAZY_MODULES = ("characters",)


__getattr__, __dir__ = lazy_names(__name__, _SUBMODULE, globals(), _LAZY_MODULES)


if TYPE_CHECKING:
    from redframe.looks.cube import CubeLook, export_cube, load_cube, read_cube
    from redframe.looks.engine import Look, render_colour
    from redframe.looks.library import BUNDLED, get_look, list_looks, load_look, user_dirs
    from redframe.looks.params import LOOK_VERSION, LookParams
