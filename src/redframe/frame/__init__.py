"""Watermark frames: EXIF-driven frames around a photo, from declarative TOML layouts.

Public API:

- :func:`render_frame` (photo pixels + metadata -> framed canvas, same dtype),
- :func:`list_layouts`, :func:`load_layout` (bundled layouts, or your own ``.toml``),
- :func:`read_for_frame` (a finished picture's encoded pixels, oriented once, and its
  metadata: what ``redframe frame`` frames through :func:`redframe.jobs.execute`),
- :func:`frame_plan` (the geometry alone: canvas size, photo place, element boxes).

See ``docs/frames.md`` for the gallery and the layout format.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from redframe._lazy import lazy_names

__all__ = ["render_frame", "list_layouts", "load_layout", "read_for_frame", "FrameSource",
           "frame_plan", "prepare_options", "FramePlan", "Layout", "OPTIONS", "FRAMEABLE",
           "draw_frame"]

#: each public name's submodule, imported on the name's first use (PEP 562): a develop
#: without a frame (the job runner and the command line hold this package, not its
#: names) does not import the layouts, the fonts and Pillow's drawing, 0.02 s of every
#: command's start-up
_SUBMODULE = {
    "FrameSource": "files", "read_for_frame": "files", "FRAMEABLE": "files",
    "Layout": "layout", "list_layouts": "layout", "load_layout": "layout",
    "FramePlan": "plan",
    "OPTIONS": "render", "frame_plan": "render", "prepare_options": "render",
    "render_frame": "render",
    "draw_frame": "draw",
}


__getattr__, __dir__ = lazy_names(__name__, _SUBMODULE, globals())


if TYPE_CHECKING:
    from redframe.frame.draw import draw_frame
    from redframe.frame.files import FRAMEABLE, FrameSource, read_for_frame
    from redframe.frame.layout import Layout, list_layouts, load_layout
    from redframe.frame.plan import FramePlan
    from redframe.frame.render import OPTIONS, frame_plan, prepare_options, render_frame
