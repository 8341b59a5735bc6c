"""One-call shortcuts for library users: build a :class:`Job` and :func:`execute` it.

``night_files(frames, "night.jpg", look="authentic", dng="night.dng")`` and
``frame_file("IMG.jpg", "out/", layout="film")`` are exactly what ``redframe night`` and
``redframe frame`` run for one output.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redframe import frame as frames
from redframe.errors import UsageError
from redframe.io.decode import check_readable, sniff
from redframe.io.encode import output_path
from redframe.jobs.recipe import FrameRecipe, Recipe
from redframe.jobs.runner import Job, JobResult, Progress, execute

if TYPE_CHECKING:
    from redframe.burst.night import BurstParams

__all__ = ["night_files", "frame_file", "frame_target"]


def night_files(paths: Sequence[str | os.PathLike], out_path: str | os.PathLike, *,
                look: str | None = None, frame: str | None = None,
                dng: str | os.PathLike | None = None, progress: Progress | None = None,
                params: BurstParams | None = None, recipe: Recipe | None = None,
                quality: int | None = None, overwrite: bool = False,
                strip_gps: bool | None = None) -> JobResult:
    """Merge the burst ``paths`` into one picture at ``out_path`` (its extension gives the
    format), optionally the merged raw as a DNG at ``dng``. Unreadable frames are skipped
    with a warning; raises RedframeError when nothing can be made."""
    if not paths:
        raise UsageError("night mode needs at least one frame")
    recipe = recipe or Recipe()
    recipe = replace(recipe, output=replace(recipe.output, format="auto"))
    if look is not None:
        recipe = replace(recipe, look=os.fspath(look))
    if frame is not None:
        recipe = replace(recipe, frame=replace(recipe.frame, layout=frame))
    if quality is not None:
        recipe = replace(recipe, output=replace(recipe.output, quality=quality))
    if strip_gps is not None:
        recipe = replace(recipe, metadata=replace(recipe.metadata, strip_gps=strip_gps))
    job = Job(tuple(os.fspath(p) for p in paths), os.fspath(out_path), recipe, kind="night",
              overwrite=overwrite, dng=None if dng is None else os.fspath(dng), burst=params)
    return execute(job, progress)


def frame_target(source: str | os.PathLike, out_dir: str | os.PathLike,
                 format: str | None = None) -> Path:
    """Where ``redframe frame`` writes ``source``'s framed copy: ``out_dir/<stem>.<ext>`` in
    ``format`` or, with None or "auto", the input's own kind (WebP becomes JPEG).
    InputError for an unreadable file."""
    if format in (None, "auto"):
        kind = sniff(check_readable(os.fspath(source)))
        format = frames.FRAMEABLE.get(kind or "", "jpeg")
    return output_path(out_dir, source, format)


def frame_file(src_path: str | os.PathLike, out_dir: str | os.PathLike, *,
               layout: str = "classic", format: str | None = None, quality: int = 92,
               overwrite: bool = False, strip_gps: bool = False,
               options: Mapping[str, Any] | None = None,
               notes: list[str] | None = None) -> Path:
    """Frame one finished picture into ``out_dir``; returns the written path. ``options``
    are the :class:`~redframe.jobs.recipe.FrameRecipe` keys (missing, pad_to, variant,
    exposure_template, font, font_bold, logo)."""
    frame = FrameRecipe(layout=layout, **dict(options or {}))
    recipe = Recipe(frame=frame)
    recipe = replace(recipe, output=replace(recipe.output, format=format or "auto",
                                            quality=quality),
                     metadata=replace(recipe.metadata, strip_gps=strip_gps))
    target = frame_target(src_path, out_dir, format)
    result = execute(Job((os.fspath(src_path),), str(target), recipe, kind="frame",
                         overwrite=overwrite))
    if notes is not None:
        notes.extend(result.notes)
    return Path(result.output)
