"""Night mode's file side: decode a burst, write the merged raw as a DNG atomically.

:func:`decode_burst` and :func:`write_dng_atomically` are what the job runner
(:func:`redframe.jobs.execute`, ``kind="night"``: what ``redframe night`` and the web
camera run) calls around :func:`redframe.burst.night.align_and_merge`; :func:`merge_rgb`
is the merge alone for JPEG/HEIC/PNG frames, for library users.

Progress is reported through ``progress(stage, done, total)`` with the stage
``"decode"`` here (``"align+merge"`` in the merge), ``done == total`` when it ends.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path

from redframe.burst.night import BurstParams, align_and_merge, write_merged_dng
from redframe.errors import InputError, OutputError, RedframeError
from redframe.io.decode import read_image
from redframe.io.scene import Scene

__all__ = ["decode_burst", "write_dng_atomically", "merge_rgb"]

Progress = Callable[[str, int, int], None]


def decode_burst(paths: Sequence[str], progress: Progress | None = None
                 ) -> tuple[list[Scene], list[str], dict[str, str]]:
    """(scenes, their paths, {path: why} for unreadable frames) of a burst; InputError
    when no frame can be read."""
    scenes, names, skipped = [], [], {}
    for i, path in enumerate(paths):
        if progress is not None:
            progress("decode", i, len(paths))
        try:
            scene = read_image(path)
        except InputError as exc:
            skipped[str(path)] = exc.message
            continue
        scenes.append(scene)
        names.append(str(path))
    if progress is not None:
        progress("decode", len(paths), len(paths))
    if not scenes:
        detail = "; ".join(f"{Path(p).name}: {why}" for p, why in skipped.items())
        raise InputError(f"no frame of the burst could be read ({detail})")
    return scenes, names, skipped


def write_dng_atomically(path: Path, scene: Scene, overwrite: bool,
                         then: Callable[[], object] | None = None,
                         write: Callable[[Path, Scene], object] = write_merged_dng) -> Path:
    """Write the merged DNG (with ``write``, default :func:`write_merged_dng`) under a
    temporary name, then move it into place. ``then()`` (the picture it goes with being
    written) runs after the DNG is complete and before it is moved: if it fails, the DNG is
    removed, so both outputs appear or neither does."""
    path = Path(path)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.part"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp, scene)
        if then is not None:
            then()
        if not overwrite and path.exists():
            raise OutputError("exists; use --overwrite", path=str(path))
        os.replace(tmp, path)
    except RedframeError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write DNG ({exc.strerror or exc})", path=str(path)) from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def merge_rgb(frames: Sequence[str | os.PathLike | Scene], params: BurstParams | None = None
              ) -> Scene:
    """The RGB night merge: JPEG/HEIC/PNG frames (paths or decoded :class:`Scene`\\ s) ->
    one linear Rec.2020 :class:`Scene`, aligned on luma and merged like raw frames.

    Raw frames work too (they give a merged mosaic Scene). Unreadable frames raise
    :class:`InputError`; frames that do not match are left out, with a warning in the
    returned scene's ``notes``.
    """
    scenes = [f if isinstance(f, Scene) else read_image(f) for f in frames]
    return align_and_merge(scenes, params).scene

