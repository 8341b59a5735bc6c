"""The one job runner: a :class:`Recipe` applied to one input (or one burst) -> one output.

Every entry point calls :func:`execute` (or :func:`run_job`, which turns failures into a
result so a batch goes on): ``redframe develop``, ``night`` and ``frame``, ``redframe
demo``, the web camera's worker and the batch pool. So a setting added to the recipe
reaches all of them, and the output rules live in one place. The data flows one way:

    decode (io) -> [burst align + merge] -> develop (isp stages, look)
        -> [lens character: crop + rendering] -> frame -> write

A :class:`Job` is plain data (it pickles to a process pool or a Dask worker):

- ``kind="develop"``: one raw or picture through the develop pipeline;
- ``kind="night"``: a burst decoded, aligned and merged (:mod:`redframe.burst`), then
  developed like one raw; optionally the merged raw as a DNG too;
- ``kind="frame"``: a finished JPEG/HEIC/PNG/TIFF framed as it is (no develop: its
  encoded pixels are kept, :func:`redframe.frame.read_for_frame`);
- ``kind="video"``: a clip with the recipe's look (as its baked 3D LUT) and frame strip,
  encoded as ``job.video`` says (:func:`redframe.video.transcode`; needs ``[video]``).

Outputs are written atomically (temp + fsync + rename, :func:`redframe.io.write_image`);
an output that exists is an error unless ``overwrite``; an output that *is* one of the
inputs is always an error (originals are never touched).
"""

from __future__ import annotations

import dataclasses
import glob
import os
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from redframe import frame as frames  # its names load on first use (a frame is optional)
from redframe import looks
from redframe.errors import EXIT, OutputError, RedframeError, UsageError
from redframe.io.bt2100 import HdrPicture
from redframe.io.decode import read_image
from redframe.io.encode import write_image
from redframe.io.thumbnail import write_thumbnail
from redframe.isp.hdr import develop_hdr
from redframe.isp.pipeline import develop
from redframe.isp.stage import RAW_KINDS
from redframe.jobs import urls
from redframe.jobs.capture import capture_metadata
from redframe.jobs.hdr import HDR_FORMATS, frame_picture, gain_map_for
from redframe.jobs.recipe import FORMAT_SUFFIX, Recipe, recipe_to_dict

if TYPE_CHECKING:  # the merges and video load with the jobs that need them (see execute)
    from redframe.burst.bracket import BracketParams
    from redframe.burst.night import BurstParams
    from redframe.video import VideoSettings

__all__ = ["Job", "JobResult", "execute", "run_job", "resources", "KINDS", "Progress"]

#: what a job does with its inputs
KINDS = ("develop", "night", "frame", "video", "hdr")

#: ``progress(stage, done, total)``: stages "decode", "align+merge", "develop", "write"
Progress = Callable[[str, int, int], None]


@dataclass
class Job:
    """One unit of work: inputs -> one output picture (+ a DNG, + a thumbnail)."""

    inputs: tuple[str, ...]
    output: str
    recipe: Recipe = field(default_factory=Recipe)
    kind: str = "develop"
    overwrite: bool = False
    dng: str | None = None  # night: the merged raw as a DNG here too
    thumbnail: str | None = None  # also a small JPEG preview here (the camera's gallery)
    capture: dict[str, Any] | None = None  # what a browser said about the capture
    burst: BurstParams | None = None  # night: alignment and merge parameters
    bracket: BracketParams | None = None  # hdr: the exposure bracket merge's parameters
    video: VideoSettings | None = None  # video: codec, quality, the clip's encoding

    def __post_init__(self) -> None:
        if isinstance(self.inputs, str | os.PathLike):
            self.inputs = (os.fspath(self.inputs),)
        self.inputs = tuple(os.fspath(p) for p in self.inputs)
        self.output = os.fspath(self.output)
        if self.dng is not None:
            self.dng = os.fspath(self.dng)
        if self.kind not in KINDS:
            raise UsageError(f"a job's kind is one of {', '.join(KINDS)}, not {self.kind!r}")
        if not self.inputs:
            raise UsageError(f"{self.kind} needs at least one input")
        if self.kind not in ("night", "hdr") and len(self.inputs) != 1:
            raise UsageError(f"{self.kind} takes one input per job, not {len(self.inputs)}")


@dataclass
class JobResult:
    """What a job did: plain data, one JSON object per job with ``--json``."""

    source: str  # the (first) input
    inputs: list[str] = field(default_factory=list)
    output: str | None = None
    error: str | None = None
    exit_code: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    recipe: dict[str, Any] | None = None
    dng: str | None = None
    width: int | None = None
    height: int | None = None
    used: list[str] = field(default_factory=list)  # night: frames merged (reference first)
    skipped: dict[str, str] = field(default_factory=dict)  # night: frame -> why left out
    effective_frames: float | None = None  # night: noise-equivalent number of frames
    sha256: str | None = None  # the output's digest, where it was published to a URL

    @property
    def status(self) -> str:
        return "error" if self.error else "ok"

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` line: input, output, status, error, timings, the recipe used."""
        data = {"input": self.source, "inputs": self.inputs, "output": self.output,
                "status": self.status, "error": self.error, "exit_code": self.exit_code,
                "seconds": round(self.seconds, 4),
                "timings": {k: round(v, 4) for k, v in self.timings.items()},
                "notes": self.notes, "recipe": self.recipe}
        if self.dng is not None:
            data["dng"] = self.dng
        if self.width is not None:
            data["width"], data["height"] = self.width, self.height
        if self.used:
            data["used"], data["skipped"] = self.used, self.skipped
            data["effective_frames"] = self.effective_frames
        return data


# --- the runner -------------------------------------------------------------------------------

def execute(job: Job, progress: Progress | None = None) -> JobResult:
    """Run ``job``; raises :class:`RedframeError` (nothing written) when it cannot."""
    t0 = time.perf_counter()
    recipe = job.recipe
    result = JobResult(source=job.inputs[0], inputs=list(job.inputs),
                       recipe=recipe_to_dict(recipe))
    if job.kind == "video":
        return _execute_video(job, result, progress, t0)
    fmt = _output_format(job)
    _check_targets(job)
    look, prepared = resources(recipe, job.kind)  # a broken one fails before the work
    layout = recipe.frame.layout
    timings = result.timings
    character = looks.characters.get_character(recipe.character) if recipe.character else None
    notes: list[str] = []
    if character is not None and character.look and job.kind != "frame":
        if recipe.look and recipe.look != character.look:
            notes.append(f"lens character {character.name} renders with its look "
                         f"{character.look} instead of {recipe.look}")
        look = looks.get_look(character.look)

    def step(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)

    # decode (and merge)
    t = time.perf_counter()
    icc_profile = None
    gain = None  # the HDR rendition's gain over the SDR picture (--hdr)
    if job.kind == "frame":
        step("decode", 0, 1)
        source = frames.read_for_frame(job.inputs[0])
        image, meta, space, icc_profile = (source.pixels, source.meta, source.space,
                                           source.icc_profile)
        notes += source.notes
        step("decode", 1, 1)
        timings["decode"] = time.perf_counter() - t
    else:
        if job.kind in ("night", "hdr"):
            # the burst merges load here, not with the runner: a develop does not need them
            # (redframe.jobs.merges says what that saves)
            from redframe.jobs.merges import merge_bracket_frames, merge_night

            if job.kind == "night":
                night = merge_night(job, step)
                scene, result.used, result.skipped = night.scene, night.used, night.skipped
                result.effective_frames = night.effective_frames
                notes += night.notes
                timings.update(night.timings)
            else:
                scene, result.used, merge_notes, merge_timings = \
                    merge_bracket_frames(job, step)
                notes += merge_notes
                timings.update(merge_timings)
        else:
            step("decode", 0, 1)
            scene = read_image(job.inputs[0])
            step("decode", 1, 1)
        if job.capture:
            scene.meta = capture_metadata(scene.meta, job.capture)
        notes += _raw_only_settings(recipe, scene)
        elapsed = time.perf_counter() - t
        if job.kind in ("night", "hdr"):  # a night merge times its decode apart
            timings["merge"] = elapsed - timings.get("decode", 0.0)
        else:
            timings["decode"] = elapsed

        # develop
        t = time.perf_counter()
        step("develop", 0, 1)
        params = recipe.develop_params()
        params.look = look
        # a lens character re-renders the developed picture: 16 bits in, quantised once more
        params.output_bits = 16 if character is not None or (
            recipe.output.hdr and fmt == "heic") else _develop_bits(fmt, recipe.output.bit_depth)
        if recipe.output.hdr:
            hdr = develop_hdr(scene, params, recipe.output.hdr_headroom)
            developed, gain = hdr.sdr, hdr.gain
            notes += hdr.notes
            if fmt not in HDR_FORMATS:
                notes.append(f"warning: --hdr: {fmt.upper()} is written without a gain map "
                             "(Ultra HDR is JPEG, PQ is HEIC or PNG); the SDR picture only")
                gain = None
        else:
            developed = develop(scene, params)
        image, meta, space = developed.image, developed.meta, developed.space
        notes += [n for n in developed.notes if n not in notes]
        notes += [f"warning: {w}" for w in meta.warnings]
        step("develop", 1, 1)
        timings["develop"] = time.perf_counter() - t

    # lens character: the crop (so a frame fits the cropped picture) and its rendering
    if character is not None:
        t = time.perf_counter()
        image, gain, meta, char_notes = _apply_character(character, image, gain, meta, space,
                                                         job, fmt)
        notes += char_notes
        timings["character"] = time.perf_counter() - t

    # frame + write
    t = time.perf_counter()
    targets = 1 + (job.dng is not None) + (job.thumbnail is not None)
    step("write", 0, targets)
    if layout:
        image, gain = frame_picture(image, gain, meta, layout, prepared)
    gain_map = None if gain is None or fmt != "jpeg" else gain_map_for(
        image, gain, recipe.output.hdr_headroom)
    hdr_picture = None if gain is None or fmt not in ("heic", "png") else HdrPicture(
        gain, recipe.output.hdr_headroom, recipe.output.hdr_transfer)
    out_meta = dataclasses.replace(meta, orientation=1, width=int(image.shape[1]),
                                   height=int(image.shape[0]))
    for target in (job.output, job.dng):
        if target is not None:
            _remove_stale_parts(Path(target))

    def write_picture() -> None:
        result.output = str(write_image(
            job.output, image, format=fmt, meta=out_meta, color_space=space,
            quality=recipe.output.quality, bit_depth=recipe.output.bit_depth,
            overwrite=job.overwrite, strip_gps=recipe.metadata.strip_gps,
            icc_profile=icc_profile, gain_map=gain_map, hdr=hdr_picture))

    if job.dng is None:
        write_picture()
    else:  # the merged DNG and the picture appear together or not at all
        step("write", 1, targets)
        from redframe.jobs.merges import write_merged_dng  # loaded by the merge above

        result.dng = str(write_merged_dng(job, scene, then=write_picture))
    if job.thumbnail is not None:
        write_thumbnail(image, job.thumbnail)
    step("write", targets, targets)
    timings["write"] = time.perf_counter() - t

    result.width, result.height = int(image.shape[1]), int(image.shape[0])
    notes.sort(key=lambda n: not n.startswith("warning:"))
    result.notes = notes
    result.seconds = time.perf_counter() - t0
    timings["total"] = result.seconds
    return result


def _execute_video(job: Job, result: JobResult, progress: Progress | None,
                   t0: float) -> JobResult:
    """A clip: the recipe's look and frame, ``job.video``'s encoding, written atomically."""
    from redframe.video import VideoSettings, transcode  # PyAV: the [video] extra

    _check_targets(job)
    look, prepared = resources(job.recipe, job.kind)
    done = transcode(job.inputs[0], job.output, job.video or VideoSettings(), look=look,
                     layout=job.recipe.frame.layout, prepared=prepared,
                     strip_gps=job.recipe.metadata.strip_gps, progress=progress)
    result.output = done.output
    result.width, result.height = done.width, done.height
    result.notes = sorted(done.notes, key=lambda n: not n.startswith("warning:"))
    result.seconds = time.perf_counter() - t0
    result.timings.update({"video": done.seconds, "total": result.seconds})
    result.notes.append(f"{done.frames} frames, input {done.input_encoding}, "
                        f"{done.codec} {done.bits}-bit")
    if job.recipe.character:
        result.notes.append(f"warning: lens character {job.recipe.character}: applies to "
                            "pictures, not to video; the clip is without it")
    return result


def resources(recipe: Recipe, kind: str = "develop"):
    """(the look, the prepared frame options) a recipe needs, loaded and checked: a broken
    look, lens character, layout, font or logo raises here, before any file is read (a
    frame job has no develop, so no look)."""
    look = looks.get_look(recipe.look) if recipe.look and kind != "frame" else None
    if recipe.character and kind != "video":
        character = looks.characters.get_character(recipe.character)
        if character.look and kind != "frame":
            looks.get_look(character.look)
    prepared = None
    if recipe.frame.layout:
        frames.load_layout(recipe.frame.layout)
        prepared = frames.prepare_options(recipe.frame.options())
    return look, prepared


def _native_focal(job: Job, meta) -> tuple[float, str]:
    """The picture's native 35 mm-equivalent focal length and where it came from: the
    capture's ``native_focal_mm`` (the web camera says what its lens is), the file's own
    FocalLengthIn35mmFilm as the camera reported it, else :data:`NATIVE_FOCAL_MM`."""
    declared = (job.capture or {}).get("native_focal_mm")
    if declared is not None:
        if isinstance(declared, bool) or not isinstance(declared, int | float) \
                or not 8 <= declared <= 800:
            raise UsageError(f"native_focal_mm = {declared!r} must be a 35 mm-equivalent "
                             "focal length in mm (8..800)")
        return float(declared), "the capture"
    estimated = "Exif.Photo.FocalPlaneXResolution" in (meta.exif or {})
    if meta.focal_length_35mm and not estimated and 8 <= meta.focal_length_35mm <= 800:
        return float(meta.focal_length_35mm), "the file"
    return looks.characters.NATIVE_FOCAL_MM, "the default"


def _apply_character(character, image, gain, meta, space, job: Job, fmt: str):
    """The developed (or, for a frame job, decoded) picture cropped to the character's
    focal length and rendered; its metadata says the new 35 mm-equivalent focal length.
    Returns (image, gain, meta, notes)."""
    if image.ndim != 3 or image.shape[2] != 3:
        raise UsageError(f"lens character {character.name}: needs an RGB picture, this one "
                         f"has {1 if image.ndim == 2 else image.shape[2]} channels")
    native, source = _native_focal(job, meta)
    factor = character.crop_factor(native)
    if job.kind == "frame":
        dtype = image.dtype
    else:
        dtype = np.uint16 if _develop_bits(fmt, job.recipe.output.bit_depth) > 8 else np.uint8
    image, gain, _ = character.apply_picture(image, space, native_focal_mm=native,
                                             dtype=dtype, gain=gain)
    notes = [f"lens character {character.name}: {character.focal_mm:g} mm from "
             f"{native:g} mm ({source}), crop x{factor:.3g} to "
             f"{image.shape[1]}x{image.shape[0]}"]
    if factor > 1.0:
        exif = dict(meta.exif or {})
        exif["Exif.Photo.FocalLengthIn35mmFilm"] = str(int(round(character.focal_mm)))
        meta = dataclasses.replace(meta, focal_length_35mm=float(character.focal_mm),
                                   exif=exif)
    else:
        notes.append(f"warning: lens character {character.name}: the picture is already "
                     f"{native:g} mm equivalent; rendered without the crop to "
                     f"{character.focal_mm:g} mm")
    if job.kind == "frame" and character.look:
        notes.append(f"warning: lens character {character.name}: its look {character.look} "
                     "needs a develop; a finished picture gets the rendering only")
    return image, gain, meta, notes


def run_job(job: Job, progress: Progress | None = None) -> JobResult:
    """:func:`execute`, with every failure turned into text on the result (exit code set):
    what batches call, so one bad file never stops the others."""
    t0 = time.perf_counter()
    try:
        if any(urls.is_remote(p) for p in (*job.inputs, job.output, job.dng, job.thumbnail)):
            return execute_staged(job, progress)
        return execute(job, progress)
    except RedframeError as exc:
        error, code = str(exc), exc.exit_code
        if not exc.path:
            error = f"{job.inputs[0]}: {exc}"
    except MemoryError:
        error, code = f"{job.inputs[0]}: out of memory", EXIT["internal"]
    except Exception as exc:  # noqa: BLE001 - a bug: report it, keep the batch going
        if os.environ.get("REDFRAME_DEBUG"):
            raise
        last = traceback.extract_tb(exc.__traceback__)[-1]
        error = (f"{job.inputs[0]}: internal error {type(exc).__name__}: {exc} "
                 f"(at {Path(last.filename).name}:{last.lineno}; re-run with --debug)")
        code = EXIT["internal"]
    return JobResult(source=job.inputs[0], inputs=list(job.inputs), error=error,
                     exit_code=code, seconds=time.perf_counter() - t0,
                     recipe=recipe_to_dict(job.recipe))


def execute_staged(job: Job, progress: Progress | None = None) -> JobResult:
    """:func:`execute` for a job with URL inputs or outputs (:mod:`redframe.jobs.urls`):
    its URL inputs copied into a temporary folder, the job run there, then each URL
    output published whole (the DNG and thumbnail before the picture, as the local writers
    do), the temporary folder removed. The result names the URLs."""
    if job.output in job.inputs or (job.dng is not None and job.dng in job.inputs):
        raise UsageError("the output would replace an input (originals are never "
                         "touched); choose another output", path=job.output)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="redframe-") as tmp:
        inputs = []
        for i, p in enumerate(job.inputs):
            if urls.is_remote(p):
                local = os.path.join(tmp, f"in{i}", urls.name(p))
                os.makedirs(os.path.dirname(local))
                urls.fetch(p, local)
                p = local
            inputs.append(p)
        targets: dict[str, str] = {}  # local path -> URL

        def stage(target: str | None) -> str | None:
            if not urls.is_remote(target):
                return target
            if not job.overwrite and urls.exists(target):
                raise OutputError("exists; use --overwrite", path=target)
            local = os.path.join(tmp, f"out{len(targets)}", urls.name(target))
            os.makedirs(os.path.dirname(local))
            targets[local] = target
            return local

        staged = dataclasses.replace(job, inputs=tuple(inputs), output=stage(job.output),
                                     dng=stage(job.dng), thumbnail=stage(job.thumbnail))
        fetched = time.perf_counter() - t0
        result = execute(staged, progress)
        t = time.perf_counter()
        for local, url in sorted(targets.items(), key=lambda kv: kv[1] == job.output):
            if url == job.output:
                result.sha256 = urls.digest(local)
            urls.publish(local, url, job.overwrite)
        result.timings["fetch"], result.timings["publish"] = fetched, time.perf_counter() - t
    result.seconds = result.timings["total"] = time.perf_counter() - t0
    result.source, result.inputs = job.inputs[0], list(job.inputs)
    result.output = job.output
    if job.dng is not None:
        result.dng = job.dng
    return result


# --- output rules -----------------------------------------------------------------------------

#: file extension -> output format (``night -o x.png``, or a frame job's output)
SUFFIX_FORMAT = {".jpg": "jpeg", ".jpeg": "jpeg", ".heic": "heic", ".heif": "heic",
                 ".png": "png", ".tif": "tiff", ".tiff": "tiff"}


def _output_format(job: Job) -> str:
    fmt = job.recipe.output.format
    if fmt == "auto" and job.kind == "develop" and not Path(job.output).suffix:
        fmt = "jpeg"
    if fmt == "auto":
        fmt = SUFFIX_FORMAT.get(Path(job.output).suffix.lower())
        if fmt is None:
            raise UsageError(f"{job.output}: unknown output type "
                             f"{Path(job.output).suffix or '(none)'!r}; use one of "
                             f"{', '.join(sorted(SUFFIX_FORMAT))}")
    elif fmt not in FORMAT_SUFFIX:
        raise UsageError(f"unknown output format {fmt!r}")
    named = SUFFIX_FORMAT.get(Path(job.output).suffix.lower())
    if named is not None and named != fmt:  # a .png holding JPEG bytes misleads every viewer
        raise UsageError(f"the name says {named} but the recipe asks for {fmt}; "
                         f"name it {Path(job.output).with_suffix(FORMAT_SUFFIX[fmt]).name} "
                         f"or set the output format to auto", path=job.output)
    return fmt


def _raw_only_settings(recipe: Recipe, scene) -> list[str]:
    """Warnings for settings that a decoded picture (display light, white-balanced by its
    camera) cannot take: they are left out, said once, instead of silently."""
    if scene.space in RAW_KINDS:
        return []
    dev = recipe.develop
    unused = []
    if dev.wb.mode != "asshot":
        unused.append(f"white balance {dev.wb.mode}")
    if dev.tone.auto_exposure:
        unused.append("auto exposure")
    if dev.half_size:
        unused.append("the half-size proof")
    if not unused:
        return []
    return [f"warning: {' and '.join(unused)} apply to raws; "
            f"{Path(scene.meta.path or 'this picture').name} is a finished picture, "
            "developed without them"]


#: A temporary file of ours (``.NAME.XXXXXXXX.part``) older than this is left over from a
#: run that was killed: the next write of the same output removes it.
STALE_PART_SECONDS = 600


def _remove_stale_parts(target: Path) -> None:
    """Remove what a killed run left of ``target``: our own temporary files for it (the
    name pattern :func:`redframe.io.write_image` and the DNG writer use), once old enough
    that no live writer can own them."""
    now = time.time()
    for part in target.parent.glob(f".{glob.escape(target.name)}.*.part"):
        try:
            if part.is_file() and not part.is_symlink() \
                    and now - part.stat().st_mtime > STALE_PART_SECONDS:
                part.unlink()
        except OSError:
            pass


def _develop_bits(fmt: str, bit_depth: int | None) -> int:
    """The develop quantises (with dither) straight into the output's bit depth."""
    if bit_depth is not None:
        return 16 if bit_depth > 8 else 8
    return 16 if fmt in ("tiff", "png") else 8


def _same_file(a: Path, b: Path) -> bool:
    # os.path.realpath, not Path.resolve: on Python 3.11 a symlink loop makes resolve raise
    # RuntimeError (an internal error); realpath leaves the loop's name as it is
    try:
        return os.path.realpath(a) == os.path.realpath(b) or (
            a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def _check_targets(job: Job) -> None:
    """Outputs that would replace an input, each other, or an existing file (without
    ``overwrite``) are refused before any work."""
    targets = [Path(job.output)] + ([Path(job.dng)] if job.dng is not None else [])
    if len(targets) == 2 and _same_file(targets[0], targets[1]):
        raise UsageError("the DNG and the picture cannot be the same file")
    sources = [Path(p) for p in job.inputs]
    for target in targets:
        for source in sources:
            if _same_file(target, source):
                raise UsageError("the output would replace an input (originals are never "
                                 "touched); choose another output", path=str(target))
        if target.is_dir():
            raise OutputError("is a folder", path=str(target))
        if not job.overwrite and (target.exists() or target.is_symlink()):
            raise OutputError("exists; use --overwrite", path=str(target))
        _check_writable(target)


def _check_writable(target: Path) -> None:
    """OutputError, before any work, when ``target``'s folder cannot be written or (when it
    does not exist yet) cannot be created: its nearest existing ancestor must be a folder
    we may write into."""
    folder = target.parent
    probe = folder
    while not (probe.exists() or probe.is_symlink()) and probe.parent != probe:
        probe = probe.parent
    if probe.is_symlink() and not probe.exists():
        raise OutputError(f"cannot create the folder: {probe} is a broken link",
                          path=str(folder))
    if not probe.is_dir():
        raise OutputError(f"cannot create the folder: {probe} is a file, not a folder"
                          if probe != folder else "is a file, not a folder", path=str(folder))
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError("folder is not writable" if probe == folder else
                          f"cannot create the folder: {probe} is not writable",
                          path=str(folder))
