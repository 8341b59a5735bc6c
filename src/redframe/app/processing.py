"""Developing one capture: a :class:`Job` of the one job runner (:mod:`redframe.jobs`).

:func:`render_capture` takes a plain :class:`CaptureJob` and returns a plain dict, so it
runs the same in a worker thread or in a worker process. A photo is a ``develop`` job, a
night burst a ``night`` job (decode, align, merge, develop); both get the capture's look
and frame, the browser's capture metadata and a gallery thumbnail. Reads the originals,
writes only ``renders/ID.jpg`` and ``thumbs/ID.jpg`` (atomically); never touches the
originals. A burst the merge refuses (frames of different scenes, say) is still shown:
its first frame is developed, with a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redframe.app import integrations
from redframe.errors import InputError, UsageError
from redframe.io.thumbnail import THUMB_SIZE, write_thumbnail
from redframe.jobs import Job, JobResult, Recipe, execute, merge_recipe

__all__ = ["CaptureJob", "render_capture", "capture_recipe", "write_thumbnail", "THUMB_SIZE"]


@dataclass
class CaptureJob:
    id: str
    kind: str  # "photo" | "burst"
    originals: list[str]
    look: str
    frame: str | None
    render_path: str
    thumb_path: str
    capture: dict[str, Any] = field(default_factory=dict)
    quality: int = 92
    hdr: bool = False  # an Ultra HDR JPEG (recipe [output] hdr)
    character: str | None = None  # a lens character (redframe.looks.characters)


def capture_recipe(look: str | None, frame: str | None, quality: int = 92, *,
                   hdr: bool = False, character: str | None = None,
                   lift: float = 0.0) -> Recipe:
    """The recipe of a capture: its look and frame, JPEG at ``quality``, sRGB; ``hdr``: an
    Ultra HDR JPEG (the SDR picture plus a gain map); ``character``: a lens character."""
    settings: dict[str, Any] = {"output": {"format": "jpeg", "quality": quality}}
    if hdr:
        settings["output"]["hdr"] = True
    if lift:  # an HDR burst shot darker to keep its highlights: brought back up here
        settings["develop"] = {"tone": {"exposure": float(lift)}}
    if character:
        settings.update(integrations.character_setting(character))
    if look:
        settings["look"] = look
    if frame:
        settings["frame"] = {"layout": frame}
    return merge_recipe(Recipe(), settings)


def hdr_lift(job: CaptureJob) -> float:
    """The exposure (EV) to give back to an HDR burst the browser shot under-exposed (its
    ``ev_bracket``: every frame at the same negative compensation) - the highlights it
    kept go into the HDR rendition's headroom. 0 for anything else."""
    evs = job.capture.get("ev_bracket") if job.hdr else None
    if not evs or len(set(evs)) != 1 or not -4.0 <= evs[0] < 0:
        return 0.0
    return -float(evs[0])


def render_capture(job: CaptureJob) -> dict[str, Any]:
    """Develop ``job`` into its render and thumbnail; returns size, merge state and notes.

    Raises :class:`redframe.errors.RedframeError` (or anything else, for bugs): the caller
    records the failure and keeps the original.
    """
    recipe = capture_recipe(job.look, job.frame, job.quality, hdr=job.hdr,
                            character=job.character, lift=hdr_lift(job))
    common = dict(recipe=recipe, overwrite=True, thumbnail=job.thumb_path,
                  capture=job.capture)
    notes: list[str] = []
    merged = None
    if job.kind == "burst":
        try:
            result = execute(Job(tuple(job.originals), job.render_path, kind="night", **common))
            merged = True
            notes.append(f"night merge of {len(result.used)} frames")
        except (InputError, UsageError) as exc:  # not one burst: show its first frame
            notes.append(f"night merge failed ({exc.message}); showing frame 1"[:300])
            result = execute(Job((job.originals[0],), job.render_path, **common))
            merged = False
    else:
        result = execute(Job((job.originals[0],), job.render_path, **common))
    notes += _shown_notes(result)
    return {"width": result.width, "height": result.height, "merged": merged,
            "notes": notes[:20]}


def _shown_notes(result: JobResult) -> list[str]:
    return [n for n in result.notes if not n.startswith(("exposure", "white balance"))]
