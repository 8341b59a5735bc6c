"""The job runner's HDR side: the gain of a developed picture through the frame and into
the file (``redframe develop/night/hdr --hdr``, recipe ``[output] hdr``).

:func:`frame_picture` frames the SDR picture as :func:`redframe.frame.render_frame` does
and pads the gain for it (gain 1 over the frame and wherever the layout drew on the
photo, :func:`redframe.isp.hdr.pad_gain`), so the framed Ultra HDR picture's map has the
canvas' aspect; :func:`gain_map_for` makes the file's gain map
(:func:`redframe.isp.hdr.make_gain_map`). ``redframe hdr``'s bracket merge is in
:mod:`redframe.jobs.merges`.
"""

from __future__ import annotations

import numpy as np

from redframe import frame as frames  # loads its names on first use: only with a frame
from redframe.io.ultrahdr import GainMap
from redframe.isp.hdr import make_gain_map, pad_gain

__all__ = ["frame_picture", "gain_map_for", "HDR_FORMATS"]

#: output formats that carry HDR: JPEG a gain map, HEIC (10-bit) and PNG (16-bit) a PQ
#: picture (TIFF gets the SDR picture and a warning)
HDR_FORMATS = ("jpeg", "heic", "png")


def frame_picture(image: np.ndarray, gain: np.ndarray | None, meta, layout, prepared
                  ) -> tuple[np.ndarray, np.ndarray | None]:
    """(the framed canvas, its gain or None)."""
    plan = frames.frame_plan(image, meta, layout, prepared=prepared)
    canvas = frames.draw_frame(plan, np.asarray(image))
    if gain is None:
        return canvas, None
    x0, y0, x1, y1 = plan.photo_box
    keep = None
    if (y1 - y0, x1 - x0) == image.shape[:2] and x0 >= 0 and y0 >= 0 \
            and x1 <= canvas.shape[1] and y1 <= canvas.shape[0]:
        # where the layout drew on the photo (text, marks, corners): no boost
        keep = np.all(canvas[y0:y1, x0:x1] == image, axis=2)
    return canvas, pad_gain(gain, canvas.shape[:2], plan.photo_box, keep)


def gain_map_for(image: np.ndarray, gain: np.ndarray, headroom: float) -> GainMap:
    """The Ultra HDR gain map of the (framed) SDR picture and its gain."""
    return make_gain_map(image, gain, headroom)

