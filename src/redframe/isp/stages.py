"""The develop pipeline as data: the ordered list of stages.

:mod:`redframe.isp.compose` runs this list for the full develop, the half-size proof and
the analysis preview; :data:`redframe.isp.fused.SCHEDULE` is its fast schedule. To add a
stage, write one module that declares ``STAGE`` (see :class:`redframe.isp.stage.Stage`)
and add one line here, where it belongs in the order; the fused schedule runs it by its
reference implementation until a kernel covers it. ``tests/test_stages.py`` checks every
stage listed here (fused == reference, strips == whole frame).
"""

from __future__ import annotations

from redframe.isp import (
    color,
    demosaic,
    denoise,
    exposure,
    highlights,
    lens_shading,
    lens_warp,
    levels,
    local_tone,
    look,
    orientation,
    output,
    quantize,
    sharpen,
    tone,
    white_balance,
)

__all__ = ["STAGES", "stage"]

STAGES = (
    levels.STAGE,  # raw DN -> normalised camera signal
    white_balance.STAGE,  # -> white-balanced camera RGB (mosaic or 3 channels)
    lens_shading.STAGE,  # DNG GainMap / FixVignetteRadial, lensfun vignetting
    demosaic.STAGE,  # mosaic -> camera RGB
    lens_warp.STAGE,  # DNG WarpRectilinear / WarpFisheye, lensfun distortion + TCA
    highlights.STAGE,  # clipped channels repaired
    color.STAGE,  # camera RGB -> linear Rec.2020 scene light
    exposure.STAGE,  # x 2^EV
    denoise.STAGE,
    local_tone.STAGE,  # range compression, scene-referred
    look.STAGE,  # scene -> display light by a look, or
    tone.STAGE,  # by the default filmic tone curve
    output.STAGE,  # -> encoded sRGB / Display P3
    sharpen.STAGE,  # on encoded luma
    quantize.STAGE,  # -> uint8 / uint16
    orientation.STAGE,  # the whole frame, after the strips
)


def stage(name: str):
    """The stage called ``name``."""
    for s in STAGES:
        if s.name == name:
            return s
    raise KeyError(f"no develop stage {name!r}; stages: {', '.join(s.name for s in STAGES)}")
