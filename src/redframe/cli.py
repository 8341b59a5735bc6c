"""The ``redframe`` command.

    redframe develop PATH... -o DIR [--format jpeg|heic|tiff|png] [--quality N]
                     [--wb asshot|auto|daylight|5500K] [--exposure EV] [--jobs N] [--overwrite]
    redframe info FILE [--json]
    redframe demo [-o DIR]

Errors are one line naming the file; the exit code says what happened (see
:data:`redframe.errors.EXIT`). ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from redframe import __version__
from redframe.errors import EXIT, RedframeError, UsageError

__all__ = ["main", "build_parser"]

FORMAT_SUFFIX = {"jpeg": ".jpg", "heic": ".heic", "tiff": ".tif", "png": ".png"}


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=100)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="redframe",
        formatter_class=_Formatter,
        description="Develop raws and photos the way the best camera phones render them.",
        epilog="examples:\n"
        "  redframe demo\n"
        "  redframe develop DSC_0001.NEF -o out/\n"
        "  redframe develop photos/ --format heic --jobs 2 -o out/\n"
        "  redframe develop DSC_0001.NEF --look authentic --frame classic -o out/\n"
        "  redframe night burst/*.dng -o night.jpg --look authentic\n"
        "  redframe lut vibrant -o vibrant.cube\n"
        "  redframe serve\n"
        "  redframe info IMG_0001.DNG --json\n",
    )
    parser.add_argument("--version", action="version", version=f"redframe {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    dev = sub.add_parser(
        "develop",
        formatter_class=_Formatter,
        help="develop raws (and JPEG/HEIC/PNG/TIFF) into finished pictures",
        description="Develop raws (any LibRaw format, DNG) and JPEG/HEIC/PNG/TIFF "
        "through redframe's pipeline. Folders are walked.",
    )
    dev.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    dev.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    dev.add_argument(
        "--format",
        choices=list(FORMAT_SUFFIX),
        default="jpeg",
        help="output format (default: jpeg; tiff and png are 16-bit)",
    )
    dev.add_argument(
        "--quality", type=int, default=92, metavar="N", help="JPEG/HEIC quality 1-100 (default: 92)"
    )
    dev.add_argument(
        "--wb",
        default="asshot",
        metavar="WB",
        help="white balance: asshot (default), auto, daylight, or a temperature "
        "such as 5500K or 3200K+10 (Kelvin and tint)",
    )
    dev.add_argument(
        "--exposure",
        type=float,
        default=0.0,
        metavar="EV",
        help="exposure compensation in stops (default: 0)",
    )
    dev.add_argument(
        "--auto-exposure",
        action="store_true",
        help="meter the scene instead of trusting the camera's exposure",
    )
    dev.add_argument(
        "--fast",
        action="store_true",
        help="fast proof: raws developed at half size (2x2 binning, no demosaic, no denoise); "
        "same colour and tone as the full develop (culling, contact sheets)",
    )
    dev.add_argument(
        "--space",
        choices=["srgb", "display-p3"],
        default="srgb",
        help="output colour space (default: srgb)",
    )
    dev.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="files developed in parallel (default: 1; 0 = all cores)",
    )
    dev.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    dev.add_argument("--strip-gps", action="store_true", help="remove location from outputs")
    dev.add_argument("--look", metavar="LOOK",
                     help="authentic, vibrant, bw-natural, bw-contrast, neutral, your own look "
                          "(see `redframe looks`), a look .toml or a .cube LUT")
    dev.add_argument("--frame", metavar="LAYOUT",
                     help="add a watermark frame (classic, classic-dark, centered, blur, border, "
                          "film, overlay, minimal, or a layout .toml)")
    _add_frame_flags(dev)

    frm = sub.add_parser("frame", formatter_class=_Formatter,
                         help="add an EXIF-driven watermark frame to JPEG/HEIC/PNG/TIFF photos",
                         description="Frame finished photos (JPEG, HEIC, PNG, TIFF) with the "
                                     "camera, lens and exposure read from their EXIF. Raws: use "
                                     "`redframe develop --frame`. Folders are walked.")
    frm.add_argument("paths", nargs="*", metavar="PATH", help="files or folders")
    frm.add_argument("-o", "--output", metavar="DIR", help="output folder")
    frm.add_argument("--layout", default="classic", metavar="NAME",
                     help="layout name or .toml file (default: classic; see --list)")
    frm.add_argument("--list", action="store_true", help="list the layouts and exit")
    frm.add_argument("--format", choices=list(FORMAT_SUFFIX),
                     help="output format (default: the input's own)")
    frm.add_argument("--quality", type=int, default=92, metavar="N",
                     help="JPEG/HEIC quality 1-100 (default: 92)")
    frm.add_argument("--jobs", type=int, default=1, metavar="N",
                     help="files framed in parallel (default: 1; 0 = all cores)")
    frm.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    frm.add_argument("--strip-gps", action="store_true", help="remove location from outputs")
    _add_frame_flags(frm)

    looks = sub.add_parser("looks", formatter_class=_Formatter,
                           help="list the looks (bundled and your own)")
    looks.add_argument("--json", action="store_true", help="machine-readable output")

    lut = sub.add_parser("lut", formatter_class=_Formatter,
                         help="export a look as a .cube 3D LUT for other tools",
                         description="Export a look as an Adobe/Resolve .cube 3D LUT. The LUT "
                                     "maps INPUT-encoded values to the look in OUTPUT encoding; "
                                     "vignette and grain (position-dependent) are left out.")
    lut.add_argument("look", metavar="LOOK", help="look name or .toml file")
    lut.add_argument("-o", "--output-file", required=True, metavar="FILE", help="the .cube file")
    lut.add_argument("--size", type=int, default=33, choices=[17, 33, 65],
                     help="points per axis (default: 33)")
    lut.add_argument("--input", default="srgb",
                     help="input encoding: srgb (default), display-p3, rec709, slog3, logc3, "
                          "acescct")
    lut.add_argument("--output", default=None,
                     help="output encoding: srgb, display-p3, rec709 (default: the input's "
                          "for display encodings, rec709 for log)")
    lut.add_argument("--overwrite", action="store_true", help="replace an existing file")

    night = sub.add_parser("night", formatter_class=_Formatter,
                           help="merge a handheld burst (raws or JPEG/HEIC) into one clean picture",
                           description="Night mode: align and merge a burst of raw frames on the "
                                       "mosaic (or JPEG/HEIC frames in RGB), then develop it.")
    night.add_argument("frames", nargs="+", metavar="FRAME", help="the burst's frames")
    night.add_argument("-o", "--output", required=True, metavar="FILE",
                       help="output picture (.jpg, .heic, .png, .tif)")
    night.add_argument("--look", metavar="LOOK", help="a look (see `redframe looks`)")
    night.add_argument("--frame", metavar="LAYOUT", help="add a watermark frame")
    night.add_argument("--dng", metavar="FILE", help="also write the merged raw as a DNG")
    night.add_argument("--quality", type=int, default=92, metavar="N", help="JPEG/HEIC quality")
    night.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    night.add_argument("--strip-gps", action="store_true", help="remove location from outputs")

    serve = sub.add_parser("serve", formatter_class=_Formatter,
                           help="run the web camera (needs the [app] extra)",
                           description="Turn a phone or laptop browser into the camera: live "
                                       "looks, shutter sounds, night capture, frames, gallery. "
                                       "Binds 127.0.0.1; --host 0.0.0.0 prints an access token.")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--data", metavar="DIR",
                       help="storage folder (default: ~/.local/share/redframe)")
    serve.add_argument("--https", action="store_true",
                       help="self-signed certificate, so phones on the LAN may use the camera")
    serve.add_argument("--open", action="store_true", help="open a browser")

    sounds = sub.add_parser("sounds", formatter_class=_Formatter,
                            help="export the synthesized shutter sounds as WAV files")
    sounds.add_argument("-o", "--output", required=True, metavar="DIR")

    info = sub.add_parser(
        "info",
        formatter_class=_Formatter,
        help="print what a file says about itself (camera, lens, exposure...)",
    )
    info.add_argument("path", metavar="FILE")
    info.add_argument("--json", action="store_true", help="machine-readable output")

    demo = sub.add_parser(
        "demo",
        formatter_class=_Formatter,
        help="develop the bundled sample raw every way into redframe-demo/",
    )
    demo.add_argument("-o", "--output", default="redframe-demo", metavar="DIR")
    return parser


def _add_frame_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("frame options")
    g.add_argument("--missing", choices=["hide", "dash"], default="hide",
                   help="a field the EXIF lacks: hide its slot (default) or show a dash")
    g.add_argument("--pad-to", metavar="RATIO", help="pad the canvas to 1:1, 4:5, 9:16 ...")
    g.add_argument("--variant", metavar="NAME", help="a layout variant (e.g. black for border)")
    g.add_argument("--exposure-template", metavar="TEXT",
                   help='exposure line, e.g. "{focal35}mm f/{fnumber} {shutter}s ISO{iso}"')
    g.add_argument("--font", metavar="FILE", help="your own font for regular text (TTF/OTF)")
    g.add_argument("--font-bold", metavar="FILE", help="your own font for bold text")
    g.add_argument("--logo", metavar="FILE", help="your own logo (PNG, or SVG with resvg-py)")


def _frame_options(args: argparse.Namespace) -> dict:
    opts = {"missing": args.missing}
    for key in ("pad_to", "variant", "exposure_template", "font", "font_bold", "logo"):
        value = getattr(args, key)
        if value is not None:
            opts[key] = value
    return opts


def _check_int(value: int, lo: int, hi: int, flag: str) -> int:
    if not lo <= value <= hi:
        raise UsageError(f"{flag} must be between {lo} and {hi}, got {value}")
    return value


def cmd_develop(args: argparse.Namespace) -> int:
    from redframe.batch.jobs import DevelopOptions, develop_file
    from redframe.batch.local import collect_inputs, plan_outputs
    from redframe.io.decode import SUPPORTED_EXTENSIONS
    from redframe.isp.white_balance import parse_wb

    _check_int(args.quality, 1, 100, "--quality")
    jobs = _check_int(args.jobs, 0, 256, "--jobs") or (os.cpu_count() or 1)
    try:
        parse_wb(args.wb)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not -10 <= args.exposure <= 10:
        raise UsageError(f"--exposure must be between -10 and 10 EV, got {args.exposure}")
    files, failed = collect_inputs(args.paths, SUPPORTED_EXTENSIONS)
    if not files and not failed:
        raise UsageError("no supported images found in " + ", ".join(args.paths))
    out_dir = Path(args.output)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir}: output exists and is not a folder")
    opts = DevelopOptions(
        format=args.format,
        quality=args.quality,
        wb=args.wb,
        exposure=args.exposure,
        auto_exposure=args.auto_exposure,
        mode="fast" if args.fast else "high",
        space=args.space,
        overwrite=args.overwrite,
        strip_gps=args.strip_gps,
        threads=1 if jobs > 1 else 0,
        frame=args.frame,
        frame_options=_frame_options(args) if args.frame else {},
        look=args.look,
    )
    if args.look:  # a broken look file fails once, before any file is touched
        from redframe.looks import get_look

        get_look(args.look)
    if args.frame:  # a bad layout, font or logo fails once, before any file is touched
        from redframe.frame import load_layout, prepare_options

        load_layout(args.frame)
        prepare_options(opts.frame_options)
    outputs = plan_outputs(files, str(out_dir), FORMAT_SUFFIX[args.format])
    return _run_batch(
        [(f, o, opts) for f, o in zip(files, outputs, strict=True)], develop_file, jobs, failed
    )


def cmd_frame(args: argparse.Namespace) -> int:
    from redframe.batch.jobs import FrameOptions, frame_one
    from redframe.batch.local import collect_inputs
    from redframe.frame import list_layouts, load_layout, prepare_options
    from redframe.io.decode import IMAGE_EXTENSIONS

    if args.list:
        for name in list_layouts():
            print(name)
        return EXIT["ok"]
    if not args.paths or not args.output:
        raise UsageError("frame needs PATH... and -o DIR (or --list)")
    _check_int(args.quality, 1, 100, "--quality")
    jobs = _check_int(args.jobs, 0, 256, "--jobs") or (os.cpu_count() or 1)
    load_layout(args.layout)
    options = _frame_options(args)
    prepare_options(options)
    files, failed = collect_inputs(args.paths, IMAGE_EXTENSIONS)
    if not files and not failed:
        raise UsageError("no JPEG/HEIC/PNG/TIFF images found in " + ", ".join(args.paths))
    opts = FrameOptions(layout=args.layout, format=args.format, quality=args.quality,
                        overwrite=args.overwrite, strip_gps=args.strip_gps, options=options)
    return _run_batch([(f, args.output, opts) for f in files], frame_one, jobs, failed,
                      verb="framed")


def _run_batch(jobs: list[tuple], func, workers: int, failed: list,
               verb: str = "developed") -> int:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from redframe.batch.local import run_jobs

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    out = Console(highlight=False, soft_wrap=True)
    for r in failed:
        err.print(f"[red]error[/red] {r.error}", markup=True)
    results = list(failed)
    show_bar = len(jobs) > 1 and err.is_terminal
    with Progress(
        TextColumn(f"[bold]{verb[:-2]}ing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not show_bar,
        transient=True,
    ) as bar:
        task = bar.add_task("develop", total=len(jobs))

        def report(r) -> None:
            bar.advance(task)
            if r.error:
                err.print(f"[red]error[/red] {_escape(r.error)}")
            else:
                out.print(f"{_escape(r.source)} -> {_escape(r.output)} ({r.seconds:.1f} s)")
                for note in r.notes:
                    if note.startswith("warning:"):
                        err.print(f"  [yellow]{_escape(note)}[/yellow]")

        results += run_jobs(jobs, func, workers=workers, on_result=report)
    ok = [r for r in results if not r.error]
    bad = [r for r in results if r.error]
    summary = f"{len(ok)} {verb}, {len(bad)} failed"
    if bad:
        err.print(summary + ":")
        for r in bad:
            err.print(f"  {_escape(r.error)}")
    else:
        out.print(summary)
    if not bad:
        return EXIT["ok"]
    if ok:
        return EXIT["partial"]
    codes = {r.exit_code for r in bad}
    return codes.pop() if len(codes) == 1 else EXIT["input"]


def _escape(text: str | None) -> str:
    from rich.markup import escape

    return escape(text or "")


def cmd_info(args: argparse.Namespace) -> int:
    from redframe.io.decode import read_image

    scene = read_image(args.path)
    meta = scene.meta
    data = meta.to_dict()
    cal = scene.calibration
    if cal is not None:
        data["raw"] = {
            "cfa_pattern": cal.pattern,
            "black_level": [float(v) for v in cal.black_level.ravel()],
            "white_level": cal.white_level,
            "color_matrix": None
            if cal.xyz_to_camera is None
            else [[round(float(v), 4) for v in row] for row in cal.xyz_to_camera],
            "color_matrix_source": cal.source or None,
            "noise_profile": cal.noise_profile,
        }
    data["decoded_as"] = scene.space
    data["warnings"] = meta.warnings + scene.notes
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        return 0
    rows = [
        ("file", meta.path),
        ("format", meta.format),
        ("size", f"{meta.width} x {meta.height}" if meta.width else None),
        ("camera", " ".join(v for v in (meta.make, meta.model) if v) or None),
        ("lens", meta.lens),
        ("focal length", _focal_text(meta)),
        ("aperture", f"f/{meta.f_number:g}" if meta.f_number else None),
        ("shutter", f"{meta.shutter_text} s" if meta.shutter_text else None),
        ("ISO", f"{meta.iso:g}" if meta.iso else None),
        ("date", meta.datetime.isoformat(sep=" ") if meta.datetime else None),
        ("orientation", meta.orientation),
        ("GPS", f"{meta.gps.latitude:.5f}, {meta.gps.longitude:.5f}" if meta.gps else None),
    ]
    if cal is not None:
        rows += [
            ("CFA", cal.pattern or "non-Bayer / linear (LibRaw demosaics)"),
            (
                "levels",
                f"black {', '.join(f'{v:g}' for v in cal.black_level.ravel())}, "
                f"white {cal.white_level:g}",
            ),
            (
                "as-shot WB",
                ", ".join(f"{v:.3f}" for v in meta.as_shot_neutral)
                if meta.as_shot_neutral
                else None,
            ),
            ("colour matrix", cal.source or "none"),
        ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value if value is not None else '-'}")
    for w in data["warnings"]:
        print(f"note: {w}")
    return 0


def _focal_text(meta) -> str | None:
    if meta.focal_length is None:
        return None
    text = f"{meta.focal_length:g} mm"
    if meta.focal_length_35mm and abs(meta.focal_length_35mm - meta.focal_length) > 0.5:
        text += f" ({meta.focal_length_35mm:g} mm equivalent)"
    return text


def cmd_looks(args: argparse.Namespace) -> int:
    from redframe.looks import list_looks

    rows = list_looks()
    if args.json:
        print(json.dumps([{"name": n, "description": d, "path": str(p)} for n, d, p in rows],
                         indent=2, ensure_ascii=False))
        return EXIT["ok"]
    width = max((len(n) for n, _, _ in rows), default=4)
    for name, description, _ in rows:
        print(f"{name:<{width}}  {description}")
    return EXIT["ok"]


def cmd_lut(args: argparse.Namespace) -> int:
    from redframe.errors import OutputError
    from redframe.looks import export_cube, get_look

    target = Path(args.output_file)
    if target.exists() and not args.overwrite:
        raise OutputError("exists; use --overwrite", path=str(target))
    look = get_look(args.look)
    path = export_cube(look, target, size=args.size, input=args.input, output=args.output)
    print(f"{path} ({args.size}^3 points, input {args.input})")
    return EXIT["ok"]


def cmd_night(args: argparse.Namespace) -> int:
    from redframe.burst import night_files

    _check_int(args.quality, 1, 100, "--quality")

    def progress(stage: str, done: int, total: int) -> None:
        print(f"  {stage}: {done}/{total}", file=sys.stderr, flush=True)

    result = night_files(args.frames, args.output, look=args.look, frame=args.frame,
                         dng=args.dng, progress=progress, quality=args.quality,
                         overwrite=args.overwrite, strip_gps=args.strip_gps)
    for note in result.notes:
        print(f"  {note}", file=sys.stderr)
    for path, why in result.skipped.items():
        print(f"  skipped {path}: {why}", file=sys.stderr)
    print(f"{len(result.used)} frames merged -> {result.output}"
          + (f" (+ {result.dng})" if result.dng else ""))
    return EXIT["ok"]


def cmd_serve(args: argparse.Namespace) -> int:
    from redframe.app import serve

    serve(host=args.host, port=args.port, data_dir=args.data, https=args.https,
          open_browser=args.open)
    return EXIT["ok"]


def cmd_sounds(args: argparse.Namespace) -> int:
    from redframe.errors import OutputError
    from redframe.sound import export_sounds

    try:
        paths = export_sounds(args.output)
    except (NotADirectoryError, OSError) as exc:
        raise OutputError(f"cannot write sounds ({exc})", path=args.output) from None
    for p in paths:
        print(p)
    return EXIT["ok"]


def cmd_demo(args: argparse.Namespace) -> int:
    from redframe.demo import run_demo

    return run_demo(args.output)


COMMANDS = {
    "develop": cmd_develop,
    "frame": cmd_frame,
    "night": cmd_night,
    "looks": cmd_looks,
    "lut": cmd_lut,
    "serve": cmd_serve,
    "sounds": cmd_sounds,
    "info": cmd_info,
    "demo": cmd_demo,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT["usage"]
    if args.debug:
        os.environ["REDFRAME_DEBUG"] = "1"
    from redframe.runtime import reuse_freed_memory

    reuse_freed_memory()
    try:
        return COMMANDS[args.command](args)
    except RedframeError as exc:
        if args.debug:
            raise
        print(f"redframe: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("redframe: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug; one line unless --debug
        if args.debug:
            raise
        print(
            f"redframe: internal error: {type(exc).__name__}: {exc} (re-run with --debug)",
            file=sys.stderr,
        )
        return EXIT["internal"]


if __name__ == "__main__":
    raise SystemExit(main())
