"""The job runner's burst side: ``redframe night``'s burst merge and ``redframe hdr``'s
bracket merge, from the job's frames to one merged :class:`~redframe.io.scene.Scene`
that the runner develops like one raw, and the merged raw's DNG written with the picture.

A module of its own so that a single develop does not load the merges (the alignment,
the bracket merge, the burst simulator: with the demo, the sounds and PyAV, which the
command line now loads per command, 0.02 s of every ``redframe develop``'s start-up:
``import redframe.cli`` 0.213 -> 0.194 s); :mod:`redframe.jobs.runner` imports it for the
night and hdr jobs only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redframe.burst.bracket import merge_bracket, write_bracket_dng_atomically
from redframe.burst.files import decode_burst, write_dng_atomically
from redframe.burst.night import align_and_merge
from redframe.errors import InputError, UsageError
from redframe.io.scene import Scene

__all__ = ["NightMerge", "merge_night", "merge_bracket_frames", "write_merged_dng"]


@dataclass
class NightMerge:
    """What a night job's merge made: the scene and what the result reports."""

    scene: Scene
    used: list[str]  # the frames merged, reference first
    skipped: dict[str, str]  # frame -> why it was left out
    effective_frames: float  # the noise-equivalent number of frames
    notes: list[str]
    timings: dict[str, float]


def merge_night(job, step) -> NightMerge:
    """A night job's frames decoded (the unreadable skipped), aligned and merged."""
    frames, repeated = distinct(job.inputs)
    notes = [f"warning: {Path(p).name} given {n} times: merged once"
             for p, n in repeated.items()]
    t = time.perf_counter()
    scenes, names, skipped = decode_burst(frames, step)
    decoded = time.perf_counter() - t
    if job.dng is not None and scenes[0].mosaic is None:
        raise UsageError("--dng needs raw frames; these are pictures (JPEG/HEIC/PNG/TIFF)")
    merged = align_and_merge(scenes, job.burst, step)
    skipped.update({names[i]: why for i, why in merged.dropped.items()})
    notes += [f"warning: {Path(p).name} skipped: {why}" for p, why in skipped.items()]
    return NightMerge(merged.scene, [names[i] for i in merged.merged], skipped,
                      float(merged.effective_frames), notes,
                      {"decode": decoded,
                       **{f"merge.{k}": v for k, v in merged.timings.items()}})


def merge_bracket_frames(job, step) -> tuple[Scene, list[str], list[str], dict[str, Any]]:
    """An HDR bracket job's merge: (the merged scene, the frames used, notes, timings)."""
    frames = list(dict.fromkeys(job.inputs))  # a frame given twice is one frame
    scenes, names, skipped = decode_burst(frames, step)
    if skipped:
        detail = "; ".join(f"{p}: {why}" for p, why in skipped.items())
        raise InputError(f"every frame of a bracket is needed ({detail})")
    merged = merge_bracket(scenes, job.bracket, step)
    used = [names[merged.reference]] + [n for i, n in enumerate(names) if i != merged.reference]
    return merged.scene, used, list(merged.notes), {f"merge.{k}": v
                                                    for k, v in merged.timings.items()}


def write_merged_dng(job, scene: Scene, then: Callable[[], object]) -> Path:
    """The merged raw as ``job.dng``, moved into place after ``then()`` (the picture)
    succeeded: both appear or neither does."""
    writer = write_bracket_dng_atomically if job.kind == "hdr" else write_dng_atomically
    return writer(Path(job.dng), scene, job.overwrite, then=then)


def distinct(paths: Sequence[str]) -> tuple[list[str], dict[str, int]]:
    """``paths`` without repeats of the same file (a frame given twice is one frame: it
    carries no new light), and {path: times given} for the repeated ones."""
    seen: dict[str, str] = {}
    counts: dict[str, int] = {}
    for p in paths:
        key = os.path.realpath(p)  # never raises, even on a symlink loop
        if key in seen:
            counts[seen[key]] = counts.get(seen[key], 1) + 1
        else:
            seen[key] = p
    return list(seen.values()), counts
