"""Watermark frames: EXIF-driven frames around a photo, from declarative TOML layouts.

Public API:

- :func:`render_frame` (photo pixels + metadata -> framed canvas, same dtype),
- :func:`list_layouts`, :func:`load_layout` (bundled layouts, or your own ``.toml``),
- :func:`frame_file` (decode, orient once, frame, encode with the source's EXIF and ICC),
- :func:`frame_plan` (the geometry alone: canvas size, photo place, element boxes).

See ``docs/frames.md`` for the gallery and the layout format.
"""

from redframe.frame.files import frame_file
from redframe.frame.layout import Layout, list_layouts, load_layout
from redframe.frame.plan import FramePlan
from redframe.frame.render import OPTIONS, frame_plan, prepare_options, render_frame

__all__ = ["render_frame", "list_layouts", "load_layout", "frame_file", "frame_plan",
           "prepare_options", "FramePlan", "Layout", "OPTIONS"]
