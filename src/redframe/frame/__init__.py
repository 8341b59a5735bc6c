"""Watermark frames: EXIF-driven frames around a photo, from declarative TOML layouts.

Public API:

- :func:`render_frame` (photo pixels + metadata -> framed canvas, same dtype),
- :func:`list_layouts`, :func:`load_layout` (bundled layouts, or your own ``.toml``),
- :func:`read_for_frame` (a finished picture's encoded pixels, oriented once, and its
  metadata: what ``redframe frame`` frames through :func:`redframe.jobs.execute`),
- :func:`frame_plan` (the geometry alone: canvas size, photo place, element boxes).

See ``docs/frames.md`` for the gallery and the layout format.
"""

from redframe.frame.files import FrameSource, read_for_frame
from redframe.frame.layout import Layout, list_layouts, load_layout
from redframe.frame.plan import FramePlan
from redframe.frame.render import OPTIONS, frame_plan, prepare_options, render_frame

__all__ = ["render_frame", "list_layouts", "load_layout", "read_for_frame", "FrameSource",
           "frame_plan", "prepare_options", "FramePlan", "Layout", "OPTIONS"]
