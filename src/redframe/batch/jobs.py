"""One unit of batch work: develop one file into one output, atomically.

Kept free of terminal output so the same function runs in a local process pool and on a
Dask worker. Returns a :class:`JobResult`; user errors are caught and reported as text,
bugs too (with the exception type) so one bad file never stops a batch.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from redframe.errors import RedframeError

__all__ = ["DevelopOptions", "JobResult", "develop_file", "develop_params_from_options"]


@dataclass
class DevelopOptions:
    """What the CLI's develop flags say (plain data: picklable for pools and clusters)."""

    format: str = "jpeg"
    quality: int = 92
    wb: str = "asshot"
    exposure: float = 0.0
    auto_exposure: bool = False
    mode: str = "high"  # "high" | "fast"
    space: str = "srgb"  # "srgb" | "display-p3"
    bit_depth: int | None = None
    overwrite: bool = False
    strip_gps: bool = False
    look: str | None = None
    frame: str | None = None
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

    params = DevelopParams(quality=opts.mode)
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
    return params


def develop_file(source: str, output: str, opts: DevelopOptions) -> JobResult:
    """Decode ``source``, develop it and write ``output`` (never touching ``source``)."""
    from redframe.io.decode import read_image
    from redframe.io.encode import write_image
    from redframe.isp.pipeline import develop

    t0 = time.perf_counter()
    result = JobResult(source=str(source))
    try:
        out_path = Path(output)
        if out_path.exists() and not opts.overwrite:
            from redframe.errors import OutputError

            raise OutputError("exists; use --overwrite to replace it", path=str(out_path))
        params = develop_params_from_options(opts)
        scene = read_image(source)
        developed = develop(scene, params)
        write_image(
            out_path,
            developed.image,
            format=opts.format,
            meta=developed.meta,
            color_space=developed.space,
            quality=opts.quality,
            bit_depth=opts.bit_depth,
            overwrite=opts.overwrite,
            strip_gps=opts.strip_gps,
        )
        result.output = str(out_path)
        result.notes = developed.notes + [f"warning: {w}" for w in developed.meta.warnings]
    except RedframeError as exc:
        result.error, result.exit_code = str(exc), exc.exit_code
        if not exc.path:
            result.error = f"{source}: {exc}"
    except MemoryError:
        result.error, result.exit_code = f"{source}: out of memory", 70
    except Exception as exc:  # noqa: BLE001 - a bug: report it, keep the batch going
        last = traceback.extract_tb(exc.__traceback__)[-1]
        result.error = (
            f"{source}: internal error {type(exc).__name__}: {exc} "
            f"(at {Path(last.filename).name}:{last.lineno}; re-run with --debug)"
        )
        result.exit_code = 70
    result.seconds = time.perf_counter() - t0
    return result
