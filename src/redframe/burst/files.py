"""Night mode on files: decode a burst, merge it, develop it, write it (and a DNG).

:func:`night_files` is what ``redframe night FRAME... -o out.jpg [--dng out.dng]`` calls;
:func:`merge_rgb` is the RGB night merge the web camera uses for its JPEG/HEIC bursts.

Progress is reported through ``progress(stage, done, total)`` with the stages
``"decode"``, ``"align+merge"``, ``"develop"`` and ``"write"`` (``done == total`` when a
stage ends), so a CLI can show one line or bar per stage.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from redframe.burst.night import BurstParams, BurstResult, align_and_merge, write_merged_dng
from redframe.errors import InputError, OutputError, RedframeError, UsageError
from redframe.io.scene import Scene

__all__ = ["NightResult", "night_files", "merge_rgb", "OUTPUT_FORMATS"]

#: output file extension -> (write_image format, bits per sample of the develop)
OUTPUT_FORMATS = {
    ".jpg": ("jpeg", 8),
    ".jpeg": ("jpeg", 8),
    ".heic": ("heic", 8),
    ".heif": ("heic", 8),
    ".png": ("png", 16),
    ".tif": ("tiff", 16),
    ".tiff": ("tiff", 16),
}

Progress = Callable[[str, int, int], None]


@dataclass
class NightResult:
    """What :func:`night_files` did."""

    output: Path
    dng: Path | None
    reference: str  # path of the reference frame
    used: list[str]  # frames merged (reference first)
    skipped: dict[str, str]  # frame path -> why it was left out (unreadable, other scene)
    notes: list[str] = field(default_factory=list)  # "warning: ..." lines first
    timings: dict[str, float] = field(default_factory=dict)
    effective_frames: float = 1.0


def _resolve_look(look, display_referred: bool):
    """None, a look name / file (via :func:`redframe.looks.get_look`) or a callable."""
    if look is None:
        return None
    if isinstance(look, (str, os.PathLike)):
        from redframe.looks import get_look

        look = get_look(look)
    if not callable(look):
        raise UsageError(f"a look must be a name, a file or a callable, not {type(look).__name__}")
    if display_referred and hasattr(look, "apply"):
        apply = look.apply

        def rendered(rgb, **kw):  # JPEG/HEIC frames hold display light, not scene light
            return apply(rgb, display_referred=True, **kw)

        return rendered
    return look


def _decode_all(paths: Sequence[str], progress: Progress | None):
    from redframe.io.decode import read_image

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


def night_files(
    paths: Sequence[str | os.PathLike],
    out_path: str | os.PathLike,
    *,
    look=None,
    frame: str | None = None,
    dng: str | os.PathLike | None = None,
    progress: Progress | None = None,
    params: BurstParams | None = None,
    develop_params=None,
    quality: int = 92,
    overwrite: bool = False,
    strip_gps: bool = False,
) -> NightResult:
    """Merge the burst ``paths`` into one picture at ``out_path`` (JPEG, HEIC, PNG or TIFF,
    from its extension), optionally a merged DNG at ``dng``.

    Parameters
    ----------
    paths : the frames: raws (any LibRaw format, DNG) or JPEG/HEIC/PNG/TIFF pictures, one
        burst of one camera. Unreadable frames are skipped with a warning (in ``notes``).
    look : a look name or file (:func:`redframe.looks.get_look`), or a callable
        (linear Rec.2020 -> display linear Rec.2020), or None for the neutral rendering.
    frame : a watermark frame layout name or ``.toml`` (:func:`redframe.frame.render_frame`).
    dng : also write the merged raw as a 16-bit CFA DNG here (raw bursts only).
    progress : ``progress(stage, done, total)``; see the module docstring.
    params : :class:`BurstParams` (reference, alignment, merge).
    develop_params : a :class:`~redframe.isp.pipeline.DevelopParams` to start from.

    Raises
    ------
    UsageError (no frames, unknown output extension, DNG from pictures, bad look/layout),
    InputError (no readable frame, frames that cannot form one burst),
    OutputError (an output exists without ``overwrite``, or cannot be written).
    """
    from redframe.io.encode import write_image
    from redframe.isp.pipeline import DevelopParams, develop

    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise UsageError("night mode needs at least one frame")
    out_path = Path(out_path)
    fmt, bits = OUTPUT_FORMATS.get(out_path.suffix.lower(), (None, None))
    if fmt is None:
        raise UsageError(
            f"{out_path}: unknown output type {out_path.suffix or '(none)'!r}; use one of "
            f"{', '.join(sorted(OUTPUT_FORMATS))}"
        )
    targets = [out_path] + ([Path(dng)] if dng is not None else [])
    if dng is not None and Path(dng).resolve() == out_path.resolve():
        raise UsageError("the DNG and the picture cannot be the same file")
    for target in targets:
        if target.is_dir():
            raise OutputError("is a folder", path=str(target))
        if target.exists() and not overwrite:
            raise OutputError("exists; use --overwrite", path=str(target))
    if frame is not None:
        from redframe.frame import load_layout

        load_layout(frame)  # an unknown layout fails before any work

    scenes, names, skipped = _decode_all(paths, progress)
    timings["decode"] = time.perf_counter() - t0
    raw = scenes[0].mosaic is not None
    if dng is not None and not raw:
        raise UsageError("--dng needs raw frames; these are pictures (JPEG/HEIC/PNG/TIFF)")
    look_fn = _resolve_look(look, display_referred=not raw)

    result: BurstResult = align_and_merge(scenes, params, progress)
    timings.update({f"merge.{k}": v for k, v in result.timings.items()})
    merged = result.scene
    for i, why in result.dropped.items():
        skipped[names[i]] = why

    t1 = time.perf_counter()
    if progress is not None:
        progress("develop", 0, 1)
    dp = develop_params if develop_params is not None else DevelopParams()
    # the denoiser keeps the strengths of the frames' ISO: its thresholds follow the noise
    # it measures, so on the cleaner merge it removes what is left without flattening
    # detail (measured: better PSNR and SSIM than the strengths of ISO / N)
    dp = dataclasses.replace(dp, output_bits=bits, look=look_fn if look_fn else dp.look)
    developed = develop(merged, dp)
    image = developed.image
    if progress is not None:
        progress("develop", 1, 1)
    timings["develop"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    if progress is not None:
        progress("write", 0, len(targets))
    meta = developed.meta
    if frame is not None:
        from redframe.frame import render_frame

        image = render_frame(image, meta, frame)
    out_meta = dataclasses.replace(meta, orientation=1, width=image.shape[1], height=image.shape[0])
    written = write_image(out_path, image, format=fmt, meta=out_meta,
                          color_space=developed.space, quality=quality, overwrite=overwrite,
                          strip_gps=strip_gps)
    dng_written = None
    if dng is not None:
        if progress is not None:
            progress("write", 1, len(targets))
        dng_written = _write_dng_atomically(Path(dng), merged, overwrite)
    if progress is not None:
        progress("write", len(targets), len(targets))
    timings["write"] = time.perf_counter() - t2
    timings["total"] = time.perf_counter() - t0

    notes = [f"warning: {Path(p).name} skipped: {why}" for p, why in skipped.items()]
    notes += [n for n in developed.notes if n not in notes]
    notes.sort(key=lambda n: not n.startswith("warning:"))
    return NightResult(
        output=written,
        dng=dng_written,
        reference=names[result.reference],
        used=[names[i] for i in result.merged],
        skipped=skipped,
        notes=notes,
        timings=timings,
        effective_frames=result.effective_frames,
    )


def _write_dng_atomically(path: Path, scene: Scene, overwrite: bool) -> Path:
    """Write the merged DNG under a temporary name, then move it into place."""
    import secrets

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.part"
    try:
        write_merged_dng(tmp, scene)
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
    from redframe.io.decode import read_image

    scenes = [f if isinstance(f, Scene) else read_image(f) for f in frames]
    return align_and_merge(scenes, params).scene

