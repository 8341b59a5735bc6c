"""One unit of batch work: develop one file into one output, atomically.

Kept free of terminal output so the same function runs in a local process pool and on a
Dask worker. Returns a :class:`JobResult`; user errors are caught and reported as text,
bugs too (with the exception type) so one bad file never stops a batch.
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from redframe.errors import RedframeError

__all__ = ["DevelopOptions", "FrameOptions", "JobResult", "develop_file", "frame_one",
           "develop_params_from_options"]


@dataclass
class DevelopOptions:
    """What the CLI's develop flags say (plain data: picklable for pools and clusters)."""

    format: str = "jpeg"
    quality: int = 92
    wb: str = "asshot"
    exposure: float = 0.0
    auto_exposure: bool = False
    mode: str = "high"  # "high" | "fast" (a half-size proof: 2x2 binning, no denoise)
    space: str = "srgb"  # "srgb" | "display-p3"
    bit_depth: int | None = None
    overwrite: bool = False
    strip_gps: bool = False
    look: str | None = None
    frame: str | None = None  # a layout name or .toml path: frame the developed picture
    frame_options: dict = field(default_factory=dict)
    threads: int = 0  # compute threads for this file (0 = all cores; pools use 1 per worker)


@dataclass
class JobResult:
    source: str
    output: str | None = None
    error: str | None = None
    exit_code: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def develop_params_from_options(opts: DevelopOptions):
    from redframe.isp.pipeline import DevelopParams
    from redframe.isp.white_balance import parse_wb

    params = DevelopParams(quality=opts.mode, half_size=opts.mode == "fast")
    if opts.threads:
        import cv2
        import numba

        numba.set_num_threads(max(1, min(opts.threads, numba.config.NUMBA_NUM_THREADS)))
        cv2.setNumThreads(opts.threads)
    # the pipeline quantises (with dither) straight into the output's bit depth
    params.output_bits = 16 if opts.format in ("tiff", "png") else 8
    if opts.bit_depth is not None:
        params.output_bits = 16 if opts.bit_depth > 8 else 8
    params.wb = parse_wb(opts.wb)
    params.tone.exposure = float(opts.exposure)
    params.tone.auto_exposure = bool(opts.auto_exposure)
    params.output.space = opts.space
    if opts.look:
        from redframe.looks import get_look

        params.look = get_look(opts.look)
    return params


def _run(source: str, work) -> JobResult:
    """Run ``work(result)`` and turn every failure into text on the result (batches go on)."""
    t0 = time.perf_counter()
    result = JobResult(source=str(source))
    try:
        work(result)
    except RedframeError as exc:
        result.error, result.exit_code = str(exc), exc.exit_code
        if not exc.path:
            result.error = f"{source}: {exc}"
    except MemoryError:
        result.error, result.exit_code = f"{source}: out of memory", 70
    except Exception as exc:  # noqa: BLE001 - a bug: report it, keep the batch going
        if os.environ.get("REDFRAME_DEBUG"):
            raise
        last = traceback.extract_tb(exc.__traceback__)[-1]
        result.error = (
            f"{source}: internal error {type(exc).__name__}: {exc} "
            f"(at {Path(last.filename).name}:{last.lineno}; re-run with --debug)"
        )
        result.exit_code = 70
    result.seconds = time.perf_counter() - t0
    return result


def develop_file(source: str, output: str, opts: DevelopOptions) -> JobResult:
    """Decode ``source``, develop it (and frame it) and write ``output``; never touches
    ``source``."""

    def work(result: JobResult) -> None:
        from redframe.errors import OutputError
        from redframe.io.decode import read_image
        from redframe.io.encode import write_image
        from redframe.isp.pipeline import develop

        out_path = Path(output)
        if out_path.exists() and not opts.overwrite:
            raise OutputError("exists; use --overwrite", path=str(out_path))
        params = develop_params_from_options(opts)
        if opts.frame:  # check layout and options before the expensive part
            from redframe.frame import load_layout, prepare_options

            load_layout(opts.frame)
            prepared = prepare_options(opts.frame_options)
        scene = read_image(source)
        developed = develop(scene, params)
        image = developed.image
        if opts.frame:
            from redframe.frame import render_frame

            image = render_frame(image, developed.meta, opts.frame, prepared=prepared)
        write_image(out_path, image, format=opts.format, meta=developed.meta,
                    color_space=developed.space, quality=opts.quality,
                    bit_depth=opts.bit_depth, overwrite=opts.overwrite,
                    strip_gps=opts.strip_gps)
        result.output = str(out_path)
        result.notes = developed.notes + [f"warning: {w}" for w in developed.meta.warnings]

    return _run(source, work)


@dataclass
class FrameOptions:
    """What `redframe frame` flags say (plain data, picklable)."""

    layout: str = "classic"
    format: str | None = None  # None: the input's own format
    quality: int = 92
    overwrite: bool = False
    strip_gps: bool = False
    options: dict = field(default_factory=dict)  # render_frame options


def frame_one(source: str, out_dir: str, opts: FrameOptions) -> JobResult:
    """Frame one JPEG/HEIC/PNG/TIFF into ``out_dir`` (raws: use develop --frame)."""

    def work(result: JobResult) -> None:
        from redframe.frame import frame_file

        notes: list[str] = []
        result.output = str(frame_file(source, out_dir, layout=opts.layout, format=opts.format,
                                       quality=opts.quality, overwrite=opts.overwrite,
                                       strip_gps=opts.strip_gps, options=opts.options,
                                       notes=notes))
        result.notes = notes

    return _run(source, work)
