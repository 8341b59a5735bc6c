"""The ``orientation`` stage: the stored pixels turned to display orientation.

A whole-frame stage (it runs once, after the strips are assembled): reads and writes the
finished image in any dtype; the file then carries Orientation 1. EXIF 2.32 / TIFF 6.0
Orientation tag, values 1..8.
"""

from __future__ import annotations

import numpy as np

from redframe.io.encode import apply_orientation
from redframe.isp.stage import Stage

__all__ = ["STAGE"]


def _apply(x: np.ndarray, ctx, rows) -> np.ndarray:
    orientation = ctx.scene.meta.orientation
    ctx.plan.notes.append(f"orientation {orientation} applied to the pixels")
    return np.ascontiguousarray(apply_orientation(x, orientation))


STAGE = Stage(
    name="orientation",
    params="orient",
    reads="the developed image (display-encoded, any dtype)",
    writes="the same, in display orientation",
    apply=_apply,
    cite="EXIF 2.32 / TIFF 6.0 Orientation",
    enabled=lambda ctx: ctx.params.orient and ctx.scene.meta.orientation not in (None, 1),
    frame=True,
)
