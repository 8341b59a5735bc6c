"""The ``look`` stage: a look's rendering instead of the default tone curve.

Reads linear Rec.2020: scene light for raws, display light for decoded pictures (JPEG,
HEIC, PNG, TIFF: then ``display_referred=True``). Writes display-referred linear Rec.2020
in [0, 1]. A look is anything with the look protocol (:mod:`redframe.looks`): the stage
calls exactly ``look.apply(rgb, rows=(a, b), full_shape=(H, W), display_referred=...)``, so
position-dependent parts (vignette, grain) see where a strip sits in the frame. Plain
callables are not looks.
"""

from __future__ import annotations

import numpy as np

from redframe.isp.stage import Stage, is_raw

__all__ = ["STAGE"]


def _apply(x: np.ndarray, ctx, rows) -> np.ndarray:
    return ctx.params.look.apply(x, rows=rows, full_shape=ctx.shape,
                                 display_referred=not is_raw(ctx))


STAGE = Stage(
    name="look",
    params="look",
    reads="linear Rec.2020: scene light (raws) or display light (decoded pictures)",
    writes="display-referred linear Rec.2020 in [0, 1]",
    apply=_apply,
    cite="redframe.looks: Oklab (Ottosson 2020) colour, filmic tone, vignette, grain",
    enabled=lambda ctx: ctx.params.look is not None,
)
