"""Night mode: handheld burst simulation, alignment and robust merge on raw frames.

Public API:

- :func:`merge_burst` (decoded frames -> one merged :class:`~redframe.io.scene.Scene` that
  :func:`redframe.isp.pipeline.develop` develops like one raw), :func:`align_and_merge`
  (the same, with the alignment, weights and warnings for inspection),
  :func:`write_merged_dng`;
- :func:`decode_burst`, :func:`write_dng_atomically` (the file side the job runner uses:
  ``redframe night`` and the web camera run :func:`redframe.jobs.execute`) and
  :func:`merge_rgb` (the RGB merge alone, for JPEG/HEIC bursts);
- :func:`simulate_burst` (the test oracle: frames, true motion, ground truth);
- parameters: :class:`BurstParams`, :class:`AlignParams`, :class:`MergeParams`.

See ``docs/night.md`` for the method, the references and the measurements.
"""

from redframe.burst.align import AlignParams, TileAlignment, align_frame, build_pyramid
from redframe.burst.files import decode_burst, merge_rgb, write_dng_atomically
from redframe.burst.merge import MergeParams, RobustMerger
from redframe.burst.night import (
    BurstParams,
    BurstResult,
    align_and_merge,
    check_burst,
    merge_burst,
    select_reference,
    write_merged_dng,
)
from redframe.burst.simulate import BurstSim, HandheldMotion, MovingObject, simulate_burst

__all__ = [
    "merge_rgb",
    "merge_burst",
    "align_and_merge",
    "decode_burst",
    "write_dng_atomically",
    "write_merged_dng",
    "check_burst",
    "select_reference",
    "simulate_burst",
    "BurstSim",
    "HandheldMotion",
    "MovingObject",
    "BurstParams",
    "BurstResult",
    "AlignParams",
    "MergeParams",
    "TileAlignment",
    "RobustMerger",
    "align_frame",
    "build_pyramid",
]
