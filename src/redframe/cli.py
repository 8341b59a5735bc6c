"""The ``redframe`` command.

    redframe develop PATH... -o DIR [--look NAME] [--frame LAYOUT] [--format jpeg|heic|tiff|png]
                     [--wb asshot|auto|daylight|5500K] [--exposure EV] [--recipe FILE]
                     [--save-recipe FILE] [--no-sidecar] [--json] [--jobs N] [--overwrite]
    redframe night FRAME... -o FILE [--dng FILE] [the develop flags]
    redframe frame PATH... -o DIR [--layout NAME]
    redframe info FILE [--json]
    redframe demo [-o DIR]

Every command that makes pictures builds a :class:`redframe.jobs.Recipe` (defaults <
``--recipe`` < the input's sidecar ``IMG.EXT.redframe.toml`` < the flags given) and hands
each output to the one job runner (:func:`redframe.jobs.run_job`). Errors are one line
naming the file; the exit code says what happened (see :data:`redframe.errors.EXIT`).
``--debug`` shows tracebacks.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from redframe import __version__, looks
from redframe import frame as frames
from redframe.color.encodings import ENCODINGS
from redframe.errors import EXIT, OutputError, RedframeError, UsageError
from redframe.io.decode import IMAGE_EXTENSIONS, SUPPORTED_EXTENSIONS, read_image
from redframe.isp.lens import LensParams, describe_lens
from redframe.isp.white_balance import parse_wb
from redframe.jobs import (
    FORMAT_SUFFIX,
    Job,
    JobResult,
    Recipe,
    collect_inputs,
    frame_target,
    merge_recipe,
    plan_outputs,
    run_job,
    save_recipe,
    sidecar_path,
)
from redframe.jobs.batch import run_batch
from redframe.jobs.inputs import output_folder
from redframe.jobs.journal import JOURNAL_NAME, default_journal, read_status
from redframe.jobs.pool import run_jobs
from redframe.jobs.recipe import read_recipe_data
from redframe.jobs.runner import resources
from redframe.params import to_dict
from redframe.runtime import reuse_freed_memory

__all__ = ["main", "build_parser"]


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
        "  redframe develop DSC_0001.NEF -o out/ --save-recipe mine.toml\n"
        "  redframe develop photos/ -o out/ --recipe mine.toml --json\n"
        "  redframe night burst/*.dng -o night.jpg --look authentic\n"
        "  redframe lut vibrant -o vibrant.cube\n"
        "  redframe video trip/*.mov --look authentic --frame classic -o out/\n"
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
        "through redframe's pipeline. Folders are walked. Settings come from the defaults, "
        "then --recipe, then a sidecar IMG.EXT.redframe.toml beside each input, then the "
        "flags given.",
    )
    dev.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    dev.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    dev.add_argument("--format", choices=list(FORMAT_SUFFIX),
                     help="output format (default: jpeg; tiff and png are 16-bit)")
    dev.add_argument("--fast", action="store_const", const=True, default=None,
                     help="fast proof: raws developed at half size (2x2 binning, no demosaic, "
                          "no denoise); same colour and tone as the full develop")
    _add_develop_flags(dev)
    dev.add_argument("--frame", metavar="LAYOUT",
                     help="add a watermark frame (classic, classic-dark, centered, blur, border, "
                          "film, overlay, minimal, or a layout .toml; none: no frame)")
    _add_frame_flags(dev)
    _add_batch_flags(dev)

    frm = sub.add_parser("frame", formatter_class=_Formatter,
                         help="add an EXIF-driven watermark frame to JPEG/HEIC/PNG/TIFF photos",
                         description="Frame finished photos (JPEG, HEIC, PNG, TIFF) with the "
                                     "camera, lens and exposure read from their EXIF. Raws: use "
                                     "`redframe develop --frame`. Folders are walked.")
    frm.add_argument("paths", nargs="*", metavar="PATH", help="files or folders")
    frm.add_argument("-o", "--output", metavar="DIR", help="output folder")
    frm.add_argument("--layout", metavar="NAME",
                     help="layout name or .toml file (default: classic; see --list)")
    frm.add_argument("--list", action="store_true", help="list the layouts and exit")
    frm.add_argument("--format", choices=list(FORMAT_SUFFIX),
                     help="output format (default: the input's own)")
    frm.add_argument("--quality", type=int, metavar="N", help="JPEG/HEIC quality 1-100 "
                     "(default: 92)")
    frm.add_argument("--strip-gps", action="store_const", const=True, default=None,
                     help="remove location from outputs")
    _add_character_flag(frm)
    _add_frame_flags(frm)
    _add_batch_flags(frm)

    looks_p = sub.add_parser("looks", formatter_class=_Formatter,
                             help="list the looks (bundled and your own)")
    looks_p.add_argument("--json", action="store_true", help="machine-readable output")
    chars = sub.add_parser("characters", formatter_class=_Formatter,
                           help="list the lens characters (--lens-character NAME)")
    chars.add_argument("--json", action="store_true",
                       help="machine-readable output, with each one's preview parameters")

    lut = sub.add_parser("lut", formatter_class=_Formatter,
                         help="export a look as a .cube 3D LUT for other tools",
                         description="Export a look as an Adobe/Resolve .cube 3D LUT. The LUT "
                                     "maps INPUT-encoded values to the look in OUTPUT encoding; "
                                     "vignette and grain (position-dependent) are left out.")
    lut.add_argument("look", metavar="LOOK", help="look name or .toml file")
    lut.add_argument("-o", "--output-file", required=True, metavar="FILE", help="the .cube file")
    lut.add_argument("--size", type=int, default=33, choices=[17, 33, 65],
                     help="points per axis (default: 33)")
    lut.add_argument("--input", default="srgb", choices=list(ENCODINGS), metavar="ENCODING",
                     help="input encoding (the table `redframe video --input` reads too): "
                          f"{', '.join(ENCODINGS)} (default: srgb)")
    lut.add_argument("--output", default=None,
                     help="output encoding: srgb, display-p3, rec709 (default: the input's "
                          "for display encodings, rec709 for log)")
    lut.add_argument("--overwrite", action="store_true", help="replace an existing file")

    vid = sub.add_parser("video", formatter_class=_Formatter,
                         help="develop clips with a look (and a frame strip); needs [video]",
                         description="Apply a look to clips as its baked 3D LUT, from the "
                                     "clip's encoding (its colour tags, or --input), add an "
                                     "optional static frame strip, and encode with the "
                                     "clip's timestamps, audio and metadata. See docs/video.md.")
    vid.add_argument("paths", nargs="+", metavar="IN", help="clips or folders")
    vid.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    vid.add_argument("--look", metavar="LOOK",
                     help="a look name, a look .toml or a .cube LUT (default: neutral)")
    vid.add_argument("--input", choices=list(ENCODINGS), metavar="ENCODING",
                     help="the clip's encoding, when its tags do not say it: "
                          f"{', '.join(ENCODINGS)}")
    vid.add_argument("--frame", metavar="LAYOUT", help="a static watermark strip (classic, "
                     "classic-dark, centered, border, film, overlay, minimal, or a .toml)")
    _add_frame_flags(vid)
    vid.add_argument("--codec", choices=["h264", "hevc", "prores"], default="h264",
                     help="output codec (default: h264; prores is 10-bit 4:2:2 in .mov)")
    vid.add_argument("--crf", type=int, metavar="N",
                     help="quality, lower is better: H.264 default 18, HEVC 20 (0-51); "
                          "ProRes: the profile 0-5 (default 3, HQ)")
    vid.add_argument("--preset", default="veryfast",
                     choices=["ultrafast", "superfast", "veryfast", "faster", "fast", "medium",
                              "slow"], help="x264/x265 speed preset (default: veryfast)")
    vid.add_argument("--strip-gps", action="store_const", const=True, default=None,
                     help="remove location from outputs")
    vid.add_argument("--recipe", metavar="FILE", help="look and frame settings from a recipe")
    vid.add_argument("--json", action="store_true", help="one JSON object per clip on stdout")
    vid.add_argument("--jobs", type=int, default=1, metavar="N",
                     help="clips in parallel (default: 1; 0 = all cores)")
    vid.add_argument("--overwrite", action="store_true", help="replace existing outputs")

    night = sub.add_parser("night", formatter_class=_Formatter,
                           help="merge a handheld burst (raws or JPEG/HEIC) into one clean picture",
                           description="Night mode: align and merge a burst of raw frames on the "
                                       "mosaic (or JPEG/HEIC frames in RGB), then develop it "
                                       "with the same recipe as `redframe develop`.")
    night.add_argument("frames", nargs="+", metavar="FRAME", help="the burst's frames")
    night.add_argument("-o", "--output", required=True, metavar="FILE",
                       help="output picture (.jpg, .heic, .png, .tif)")
    night.add_argument("--dng", metavar="FILE", help="also write the merged raw as a DNG")
    _add_develop_flags(night)
    night.add_argument("--frame", metavar="LAYOUT", help="add a watermark frame")
    _add_frame_flags(night)
    night.add_argument("--recipe", metavar="FILE", help="settings from a recipe file")
    night.add_argument("--save-recipe", metavar="FILE", help="write the settings used")
    night.add_argument("--json", action="store_true", help="one JSON object on stdout")
    night.add_argument("--overwrite", action="store_true", help="replace existing outputs")

    hdr = sub.add_parser("hdr", formatter_class=_Formatter,
                         help="merge a handheld exposure bracket (raws) into one HDR picture",
                         description="HDR: align an exposure bracket of 2-9 raw frames "
                                     "(exposures from EXIF) on the mosaic, merge it into one "
                                     "linear scene of extended range (noise- and clipping-"
                                     "weighted, moving objects kept as the reference saw "
                                     "them), then develop it like `redframe develop`; "
                                     "--hdr keeps the highlights for HDR screens. See "
                                     "docs/hdr.md.")
    hdr.add_argument("frames", nargs="+", metavar="FRAME", help="the bracket's raw frames")
    hdr.add_argument("-o", "--output", required=True, metavar="FILE",
                     help="output picture (.jpg, .heic, .png, .tif)")
    hdr.add_argument("--dng", metavar="FILE",
                     help="also write the merged scene as a 32-bit float DNG")
    hdr.add_argument("--reference", type=int, metavar="N",
                     help="frame N (1-based) is the reference (default: the one with the "
                          "fewest clipped pixels among the middle exposures)")
    _add_develop_flags(hdr)
    hdr.add_argument("--frame", metavar="LAYOUT", help="add a watermark frame")
    _add_frame_flags(hdr)
    hdr.add_argument("--recipe", metavar="FILE", help="settings from a recipe file")
    hdr.add_argument("--save-recipe", metavar="FILE", help="write the settings used")
    hdr.add_argument("--json", action="store_true", help="one JSON object on stdout")
    hdr.add_argument("--overwrite", action="store_true", help="replace existing outputs")

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
    sounds.add_argument("--overwrite", action="store_true", help="replace existing files")

    info = sub.add_parser(
        "info",
        formatter_class=_Formatter,
        help="print what a file says about itself (camera, lens, exposure...)",
    )
    info.add_argument("path", metavar="FILE")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.add_argument("--lens", choices=["auto", "off", "opcodes", "lensfun"], default="auto",
                      help="say which lens corrections a develop with this --lens gets")

    batch = sub.add_parser("batch", formatter_class=_Formatter,
                           help="look at a batch's journal (--journal / --resume)")
    batch_sub = batch.add_subparsers(dest="batch_command", metavar="ACTION")
    status = batch_sub.add_parser("status", formatter_class=_Formatter,
                                  help="counts and failures of a batch journal")
    status.add_argument("journal", metavar="JOURNAL",
                        help=f"the journal file (or the output folder holding {JOURNAL_NAME})")
    status.add_argument("--json", action="store_true", help="machine-readable output")

    demo = sub.add_parser(
        "demo",
        formatter_class=_Formatter,
        help="develop the bundled sample raw every way into redframe-demo/",
    )
    demo.add_argument("-o", "--output", default="redframe-demo", metavar="DIR")
    return parser


def _add_develop_flags(p: argparse.ArgumentParser) -> None:
    """The develop settings, shared by develop and night (defaults None: "not given", so
    a recipe's value stays unless a flag says otherwise)."""
    p.add_argument("--look", metavar="LOOK",
                   help="authentic, vibrant, bw-natural, bw-contrast, neutral, your own look "
                        "(see `redframe looks`), a look .toml or a .cube LUT; none: no look")
    p.add_argument("--quality", type=int, metavar="N",
                   help="JPEG/HEIC quality 1-100 (default: 92)")
    p.add_argument("--wb", metavar="WB",
                   help="white balance: asshot (default), auto, daylight, or a temperature "
                        "such as 5500K or 3200K+10 (Kelvin and tint)")
    p.add_argument("--exposure", type=float, metavar="EV",
                   help="exposure compensation in stops (default: 0)")
    p.add_argument("--auto-exposure", action="store_const", const=True, default=None,
                   help="meter the scene instead of trusting the camera's exposure")
    p.add_argument("--space", choices=["srgb", "display-p3"],
                   help="output colour space (default: srgb)")
    p.add_argument("--hdr", action="store_const", const=True, default=None,
                   help="also keep the highlights for HDR screens: an Ultra HDR JPEG (the "
                        "SDR picture plus a gain map), a 10-bit BT.2100 HEIC or a 16-bit "
                        "BT.2100 PNG; see docs/hdr.md")
    p.add_argument("--hdr-headroom", type=float, metavar="STOPS",
                   help="highlight headroom of the HDR rendition above SDR white, 1-6 stops "
                        "(default: 3, i.e. 8x)")
    p.add_argument("--hdr-transfer", choices=["pq", "hlg"],
                   help="transfer of an HDR HEIC/PNG: pq (default; SDR white at 203 cd/m2) or "
                        "hlg")
    p.add_argument("--lens", choices=["auto", "off", "opcodes", "lensfun"],
                   help="lens corrections (vignetting, distortion, lateral CA): auto "
                        "(default) = the DNG's own opcode lists, else the lensfun database "
                        "from EXIF, else none; see docs/lens.md")
    p.add_argument("--lens-crop", choices=["auto", "none"],
                   help="auto (default): zoom in so corrections leave no empty corners; "
                        "none: extend the edges")
    p.add_argument("--strip-gps", action="store_const", const=True, default=None,
                   help="remove location from outputs")
    _add_character_flag(p)


def _add_character_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lens-character", metavar="NAME",
                   help="a lens character: crop to its focal length and its rendering "
                        "(documentary-35, swirl-50, portrait-75, soft-90, or a .toml; see "
                        "`redframe characters`); none: no character")


def _add_batch_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--recipe", metavar="FILE",
                   help="settings from a recipe file (flags given override it)")
    p.add_argument("--save-recipe", metavar="FILE",
                   help="write the settings used as a recipe (TOML, every value explicit)")
    p.add_argument("--no-sidecar", action="store_true",
                   help="ignore IMG.EXT.redframe.toml recipes beside the inputs")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per input on stdout (input, output, status, error, "
                        "timings, recipe)")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="files in parallel (default: 1; 0 = all cores)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    g = p.add_argument_group("large batches (see docs/scale.md)")
    g.add_argument("--journal", metavar="FILE",
                   help="record the batch in this SQLite journal; a rerun skips what is done")
    g.add_argument("--resume", action="store_true",
                   help=f"go on with a stopped batch: skip what its journal (--journal, or "
                        f"DIR/{JOURNAL_NAME}) says is done, redo what was in flight")
    g.add_argument("--scheduler", metavar="ADDR",
                   help="run on Dask: local:N (a local cluster of N workers) or "
                        "tcp://HOST:8786 (needs the [cluster] extra)")
    g.add_argument("--retries", type=int, default=2, metavar="N",
                   help="with --scheduler: run a file again at most N times when its "
                        "worker is lost (default: 2)")
    g.add_argument("--timeout-per-file", type=float, metavar="S",
                   help="stop a file's worker after S seconds (default: 300 with --jobs 2 or "
                        "more, none with --scheduler; with --jobs 1, giving it runs the file in a "
                        "worker process)")


def _add_frame_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("frame options")
    g.add_argument("--missing", choices=["hide", "dash"],
                   help="a field the EXIF lacks: hide its slot (default) or show a dash")
    g.add_argument("--pad-to", metavar="RATIO", help="pad the canvas to 1:1, 4:5, 9:16 ...")
    g.add_argument("--variant", metavar="NAME", help="a layout variant (e.g. black for border)")
    g.add_argument("--exposure-template", metavar="TEXT",
                   help='exposure line, e.g. "{focal35}mm f/{fnumber} {shutter}s ISO{iso}"')
    g.add_argument("--font", metavar="FILE", help="your own font for regular text (TTF/OTF)")
    g.add_argument("--font-bold", metavar="FILE", help="your own font for bold text")
    g.add_argument("--logo", metavar="FILE", help="your own logo (PNG, or SVG with resvg-py)")


_FRAME_OPTIONS = ("missing", "pad_to", "variant", "exposure_template", "font", "font_bold",
                  "logo")


def _printable(text: str) -> str:
    """``text`` with control characters (terminal escapes) shown as ``\\xNN``, not run."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in str(text))


def _check_int(value: int, lo: int, hi: int, flag: str) -> int:
    if not lo <= value <= hi:
        raise UsageError(f"{flag} must be between {lo} and {hi}, got {value}")
    return value


# --- recipes from flags -----------------------------------------------------------------------

def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The recipe settings the flags given say (partial recipe data, version 1)."""
    given = lambda name: getattr(args, name, None) is not None  # noqa: E731
    develop: dict[str, Any] = {}
    if given("wb"):
        try:
            develop["wb"] = to_dict(parse_wb(args.wb))
        except ValueError as exc:
            raise UsageError(f"--wb: {exc}") from None
    tone: dict[str, Any] = {}
    if given("exposure"):
        if not -10 <= args.exposure <= 10:
            raise UsageError(f"--exposure must be between -10 and 10 EV, got {args.exposure}")
        tone["exposure"] = args.exposure
    if given("auto_exposure"):
        tone["auto_exposure"] = True
    if tone:
        develop["tone"] = tone
    if given("fast"):
        develop.update(quality="fast", half_size=True)
    lens: dict[str, Any] = {}
    if given("lens"):
        lens["mode"] = args.lens
    if given("lens_crop"):
        lens["crop"] = args.lens_crop
    if lens:
        develop["lens"] = lens
    data: dict[str, Any] = {}
    if develop:
        data["develop"] = develop
    if given("look"):  # "none": no look, whatever a recipe or sidecar says
        data["look"] = None if args.look == "none" else args.look
    if given("lens_character"):  # "none": no character, whatever a recipe or sidecar says
        data["character"] = None if args.lens_character == "none" else args.lens_character
    output: dict[str, Any] = {}
    if given("format"):
        output["format"] = args.format
    if given("quality"):
        output["quality"] = _check_int(args.quality, 1, 100, "--quality")
    if given("space"):
        output["space"] = args.space
    if given("hdr"):
        output["hdr"] = True
    if given("hdr_headroom"):
        if not 1.0 <= args.hdr_headroom <= 6.0:
            raise UsageError(f"--hdr-headroom must be between 1 and 6 stops, got "
                             f"{args.hdr_headroom:g}")
        output["hdr_headroom"] = args.hdr_headroom
    if given("hdr_transfer"):
        output["hdr_transfer"] = args.hdr_transfer
    if output:
        data["output"] = output
    frame = {key: getattr(args, key) for key in _FRAME_OPTIONS if given(key)}
    layout = args.layout if args.command == "frame" else getattr(args, "frame", None)
    if layout is not None:
        frame["layout"] = None if layout == "none" else layout
    if frame:
        data["frame"] = frame
    if given("strip_gps"):
        data["metadata"] = {"strip_gps": True}
    return data


class _Recipes:
    """Each input's recipe: defaults < --recipe < its sidecar < the flags given."""

    def __init__(self, args: argparse.Namespace, base: dict[str, Any] | None = None):
        self.args = args
        self.flags = _overrides(args)
        self.base = Recipe()
        if base:
            self.base = merge_recipe(self.base, base)
        if getattr(args, "recipe", None):
            self.base = merge_recipe(self.base, read_recipe_data(args.recipe), args.recipe)
        self.batch = merge_recipe(self.base, self.flags)  # checks the flags once
        self.sidecars = not getattr(args, "no_sidecar", True)

    def sidecar(self, source: str) -> Path | None:
        side = sidecar_path(source)
        return side if self.sidecars and side.is_file() else None

    def for_input(self, source: str) -> Recipe:
        side = self.sidecar(source)
        if side is None:
            return self.batch
        recipe = merge_recipe(self.base, read_recipe_data(side), str(side))
        return merge_recipe(recipe, self.flags)


def _check_recipe(recipe: Recipe) -> None:
    """A broken look, layout, font or logo fails once, before any file is touched."""
    resources(recipe)


def _save_recipe(args: argparse.Namespace, recipe: Recipe) -> None:
    if getattr(args, "save_recipe", None):
        path = save_recipe(recipe, args.save_recipe, overwrite=args.overwrite)
        print(f"recipe -> {path}", file=sys.stderr)


# --- commands ---------------------------------------------------------------------------------

def cmd_develop(args: argparse.Namespace) -> int:
    workers = _check_int(args.jobs, 0, 256, "--jobs") or (os.cpu_count() or 1)
    recipes = _Recipes(args)
    out_dir = args.output = output_folder(args.output)  # a path, or a URL (jobs.urls)
    files, failed = collect_inputs(args.paths, SUPPORTED_EXTENSIONS, exclude=out_dir)
    if not files and not failed:
        raise UsageError("no supported images found in " + ", ".join(args.paths))
    _check_recipe(recipes.batch)
    files, per_file = _with_recipes(files, recipes, failed)
    _save_recipe(args, per_file[0] if len(per_file) == 1 else recipes.batch)
    outputs = plan_outputs(files, out_dir,
                           [FORMAT_SUFFIX.get(r.output.format, ".jpg") for r in per_file])
    jobs = [Job((f,), o, r, overwrite=args.overwrite)
            for f, o, r in zip(files, outputs, per_file, strict=True)]
    return _run_batch(jobs, workers, failed, json_lines=args.json, args=args)


def _with_recipes(files: list[str], recipes: _Recipes, failed: list[JobResult]
                  ) -> tuple[list[str], list[Recipe]]:
    """Each file's recipe; a file whose sidecar is broken fails alone (the batch goes on)."""
    kept, per_file = [], []
    for f in files:
        try:
            recipe = recipes.for_input(f)
            if recipe is not recipes.batch:
                _check_recipe(recipe)
        except RedframeError as exc:
            failed.append(JobResult(source=f, inputs=[f], error=str(exc),
                                    exit_code=exc.exit_code))
            continue
        kept.append(f)
        per_file.append(recipe)
    return kept, per_file


def cmd_frame(args: argparse.Namespace) -> int:
    if args.list:
        for name in frames.list_layouts():
            print(name)
        return EXIT["ok"]
    if not args.paths or not args.output:
        raise UsageError("frame needs PATH... and -o DIR (or --list)")
    workers = _check_int(args.jobs, 0, 256, "--jobs") or (os.cpu_count() or 1)
    # a frame job keeps the input's format unless asked, and frames with classic by default
    recipes = _Recipes(args, base={"output": {"format": "auto"}, "frame": {"layout": "classic"}})
    _check_recipe(recipes.batch)
    out_dir = Path(args.output)
    files, failed = collect_inputs(args.paths, IMAGE_EXTENSIONS, exclude=out_dir)
    if not files and not failed:
        raise UsageError("no JPEG/HEIC/PNG/TIFF images found in " + ", ".join(args.paths))
    jobs = []
    files, per_file = _with_recipes(files, recipes, failed)
    for f, recipe in zip(files, per_file, strict=True):
        try:
            target = frame_target(f, out_dir, recipe.output.format)
        except RedframeError as exc:
            failed.append(JobResult(source=f, inputs=[f], error=str(exc),
                                    exit_code=exc.exit_code))
            continue
        jobs.append(Job((f,), str(target), recipe, kind="frame", overwrite=args.overwrite))
    _save_recipe(args, jobs[0].recipe if len(jobs) == 1 else recipes.batch)
    return _run_batch(jobs, workers, failed, verb="framed", json_lines=args.json, args=args)


def cmd_night(args: argparse.Namespace) -> int:
    out = Path(args.output)
    recipes = _Recipes(args, base={"output": {"format": "auto"}})  # the format from -o
    recipe = recipes.batch
    _check_recipe(recipe)
    _save_recipe(args, recipe)

    def progress(stage: str, done: int, total: int) -> None:
        if not args.json:
            print(f"  {stage}: {done}/{total}", file=sys.stderr, flush=True)

    job = Job(tuple(args.frames), str(out), recipe, kind="night", overwrite=args.overwrite,
              dng=args.dng)
    result = run_job(job, progress)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, default=str), flush=True)
    if result.error:
        print(f"redframe: error: {result.error}", file=sys.stderr)
        return result.exit_code
    for note in result.notes:
        print(f"  {note}", file=sys.stderr)
    if not args.json:
        print(f"{len(result.used)} frames merged -> {result.output}"
              + (f" (+ {result.dng})" if result.dng else ""))
    return EXIT["ok"]


def cmd_hdr(args: argparse.Namespace) -> int:
    recipes = _Recipes(args, base={"output": {"format": "auto"}})  # the format from -o
    recipe = recipes.batch
    _check_recipe(recipe)
    if args.reference is not None and not 1 <= args.reference <= len(args.frames):
        raise UsageError(f"--reference must be between 1 and {len(args.frames)}")
    _save_recipe(args, recipe)

    def progress(stage: str, done: int, total: int) -> None:
        if not args.json:
            print(f"  {stage}: {done}/{total}", file=sys.stderr, flush=True)

    from redframe.burst.bracket import BracketParams

    bracket = BracketParams(reference=None if args.reference is None else args.reference - 1)
    job = Job(tuple(args.frames), str(args.output), recipe, kind="hdr",
              overwrite=args.overwrite, dng=args.dng, bracket=bracket)
    result = run_job(job, progress)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, default=str), flush=True)
    if result.error:
        print(f"redframe: error: {result.error}", file=sys.stderr)
        return result.exit_code
    for note in result.notes:
        print(f"  {note}", file=sys.stderr)
    if not args.json:
        print(f"{len(result.used)} frames merged -> {result.output}"
              + (f" (+ {result.dng})" if result.dng else ""))
    return EXIT["ok"]


def _batch_settings(args: argparse.Namespace | None) -> dict[str, Any]:
    """The journal, scheduler, timeout and retries a batch's flags ask for, checked."""
    if args is None:
        return {}
    timeout = getattr(args, "timeout_per_file", None)
    if timeout is not None and not 0 < timeout <= 7 * 86400:
        raise UsageError(f"--timeout-per-file must be between 0 and 604800 s, got {timeout:g}")
    retries = _check_int(getattr(args, "retries", 2), 0, 100, "--retries")
    resume = getattr(args, "resume", False)
    journal = getattr(args, "journal", None)
    if journal is None and resume:
        journal = default_journal(args.output)
    if journal is not None and Path(journal).is_dir():
        raise UsageError("is a folder; --journal takes a file", path=journal)
    return {"journal": journal, "redo_done": bool(args.overwrite and not resume),
            "scheduler": getattr(args, "scheduler", None), "timeout": timeout,
            "isolate": timeout is not None, "retries": retries,
            "command": [_printable(a) for a in sys.argv[1:]]}


class _Lines:
    """Lines to standard output or error: coloured (rich markup) only on a terminal, plain
    text otherwise. rich (~20 ms of every command's import) is loaded only when a line is
    coloured or a progress bar shown: a one-file develop that prints no error or warning,
    or any command writing to a pipe, never loads it. The stream is looked up at each line
    (a progress bar redirects it while it is shown)."""

    def __init__(self, stderr: bool = False) -> None:
        self.stderr = stderr
        self._console = None

    @property
    def stream(self):
        return sys.stderr if self.stderr else sys.stdout

    @property
    def is_terminal(self) -> bool:
        try:
            return self.stream.isatty()
        except (AttributeError, ValueError):
            return False

    def console(self):
        """The rich console of this stream (for colour and progress bars)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self.stderr, highlight=False, soft_wrap=True)
        return self._console

    def print(self, text: str, style: str | None = None, head: str = "",
              head_style: str | None = None) -> None:
        """``head`` then ``text`` (neither is markup), each in its style on a terminal."""
        if (style or head_style) and self.is_terminal:
            from rich.markup import escape

            def styled(t: str, st: str | None) -> str:
                return f"[{st}]{escape(t)}[/{st}]" if st and t else escape(t)

            self.console().print(styled(head, head_style) + styled(text, style))
            return
        stream = self.stream
        stream.write(head + text + "\n")
        stream.flush()

    def error(self, text: str) -> None:
        self.print(text, head="error ", head_style="red")


class _NoBar:
    """What :func:`_progress` gives when no bar is shown: the calls of a rich Progress,
    doing nothing."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def add_task(self, *args, **kwargs) -> int:
        return 0

    def update(self, *args, **kwargs) -> None:
        return None

    def remove_task(self, *args, **kwargs) -> None:
        return None


def _progress(lines: _Lines, show: bool, columns: Callable[[Any], tuple]):
    """A rich Progress on ``lines``' console with ``columns(rich.progress)`` when ``show``;
    else a :class:`_NoBar` (rich not loaded)."""
    if not show:
        return _NoBar()
    import rich.progress

    return rich.progress.Progress(*columns(rich.progress), console=lines.console(),
                                  transient=True)


class _Rates:
    """Files/s, MP/s and the time left, from the files finished so far."""

    def __init__(self, total: int) -> None:
        self.t0 = time.monotonic()
        self.total, self.done, self.pixels = total, 0, 0

    def add(self, r: JobResult) -> None:
        self.done += 1
        if r.width and r.height:
            self.pixels += r.width * r.height

    def snapshot(self) -> dict[str, Any]:
        elapsed = max(time.monotonic() - self.t0, 1e-6)
        fps = self.done / elapsed
        eta = (self.total - self.done) / fps if fps > 0 else None
        return {"done": self.done, "total": self.total, "elapsed_s": round(elapsed, 2),
                "files_per_s": round(fps, 3), "mp_per_s": round(self.pixels / 1e6 / elapsed, 2),
                "eta_s": None if eta is None else round(eta, 1)}

    def text(self) -> str:
        snap = self.snapshot()
        eta = snap["eta_s"]
        left = "-:--:--" if eta is None else time.strftime("%H:%M:%S", time.gmtime(eta))
        return f"{snap['files_per_s']:.2f} files/s {snap['mp_per_s']:.1f} MP/s ETA {left}"


def _run_batch(jobs: list[Job], workers: int, failed: list[JobResult],
               verb: str = "developed", json_lines: bool = False,
               args: argparse.Namespace | None = None) -> int:
    settings = _batch_settings(args)
    err, out = _Lines(stderr=True), _Lines()

    def emit_json(data: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()

    for r in failed:
        err.error(r.error or "")
        if json_lines:
            emit_json(r.to_json())
    results = list(failed)
    rates = _Rates(len(jobs))
    show_bar = len(jobs) > 1 and err.is_terminal

    def columns(rp) -> tuple:
        return (rp.TextColumn(f"[bold]{verb[:-2]}ing"), rp.BarColumn(),
                rp.MofNCompleteColumn(), rp.TextColumn("{task.fields[rates]}"))

    with _progress(err, show_bar, columns) as bar:
        task = bar.add_task(verb, total=len(jobs), rates="")

        def plan(to_run: int, done_before: int) -> None:
            rates.total = to_run
            bar.update(task, total=to_run)
            if done_before and not json_lines:
                err.print(f"{done_before} already done (journal {settings['journal']}): "
                          "skipped")

        def skip(s) -> None:
            if json_lines:
                emit_json(s.to_json())

        def report(r: JobResult) -> None:
            rates.add(r)
            bar.update(task, advance=1, rates=rates.text())
            if json_lines:
                emit_json({**r.to_json(), "progress": rates.snapshot()})
            if r.error:
                err.error(r.error)
                return
            if not json_lines:
                out.print(f"{r.source} -> {r.output or ''} ({r.seconds:.1f} s)")
            for note in r.notes:
                if note.startswith("warning:"):
                    err.print(note, style="yellow", head="  ")

        done, skipped = run_batch(jobs, workers=workers, on_result=report, on_skip=skip,
                                  on_plan=plan, **settings)
        results += done
    ok = [r for r in results if not r.error]
    bad = [r for r in results if r.error]
    summary = f"{len(ok)} {verb}, {len(bad)} failed"
    if bad:
        err.print(summary + ":")
        for r in bad:
            err.print(f"  {r.error or ''}")
    else:
        snap = rates.snapshot()
        summary += (f"{f', {len(skipped)} already done' if skipped else ''} in "
                    f"{snap['elapsed_s']:.1f} s ({snap['files_per_s']:.2f} files/s, "
                    f"{snap['mp_per_s']:.1f} MP/s)")
        (err if json_lines else out).print(summary)
    if not bad:
        return EXIT["ok"]
    if ok or skipped:
        return EXIT["partial"]
    codes = {r.exit_code for r in bad}
    return codes.pop() if len(codes) == 1 else EXIT["input"]


def cmd_info(args: argparse.Namespace) -> int:
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
    lens_lines = describe_lens(scene, LensParams(mode=getattr(args, "lens", "auto")))
    data["lens_corrections"] = lens_lines
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
    rows += [("lens corrections" if i == 0 else "", line)
             for i, line in enumerate(lens_lines)]
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
    rows = looks.list_looks()
    if args.json:
        print(json.dumps([{"name": n, "description": d, "path": str(p)} for n, d, p in rows],
                         indent=2, ensure_ascii=False))
        return EXIT["ok"]
    width = max((len(n) for n, _, _ in rows), default=4)
    for name, description, _ in rows:  # user looks' text: no terminal escapes get through
        print(f"{_printable(name):<{width}}  {_printable(description)}")
    return EXIT["ok"]


def cmd_characters(args: argparse.Namespace) -> int:
    rows = looks.characters.list_characters()
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return EXIT["ok"]
    width = max((len(r["name"]) for r in rows), default=4)
    for r in rows:
        print(f"{_printable(r['name']):<{width}}  {r['focal_mm']:g} mm  "
              f"{_printable(r['description'])}")
    return EXIT["ok"]


def cmd_lut(args: argparse.Namespace) -> int:
    target = Path(args.output_file)
    if (target.exists() or target.is_symlink()) and not args.overwrite:
        raise OutputError("exists; use --overwrite", path=str(target))
    look = looks.get_look(args.look)
    path = looks.export_cube(look, target, size=args.size, input=args.input, output=args.output)
    print(f"{path} ({args.size}^3 points, input {args.input})")
    return EXIT["ok"]


def cmd_video(args: argparse.Namespace) -> int:
    from redframe.video import VIDEO_EXTENSIONS, VideoSettings, output_suffix, require_av

    require_av()
    workers = _check_int(args.jobs, 0, 256, "--jobs") or (os.cpu_count() or 1)
    settings = VideoSettings(codec=args.codec, crf=args.crf, input=args.input,
                             preset=args.preset)
    recipe = _Recipes(args).batch
    _check_recipe(recipe)
    out_dir = Path(args.output)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError("exists and is not a folder", path=str(out_dir))
    files, failed = collect_inputs(args.paths, VIDEO_EXTENSIONS, exclude=out_dir)
    if not files and not failed:
        raise UsageError("no clips (" + ", ".join(VIDEO_EXTENSIONS) + ") found in "
                         + ", ".join(args.paths))
    outputs = plan_outputs(files, str(out_dir), output_suffix(args.codec))
    jobs = [Job((f,), o, recipe, kind="video", overwrite=args.overwrite, video=settings)
            for f, o in zip(files, outputs, strict=True)]
    err = _Lines(stderr=True)
    results = list(failed)
    for r in failed:
        err.error(r.error or "")

    def report(r: JobResult) -> None:
        if args.json:
            print(json.dumps(r.to_json(), ensure_ascii=False, default=str), flush=True)
        if r.error:
            err.error(r.error)
        elif not args.json:
            print(f"{r.source} -> {r.output} ({r.seconds:.1f} s; {r.notes[-1]})", flush=True)
        for note in r.notes[:-1]:
            err.print(note, style="yellow", head="  ")

    if workers > 1 and len(jobs) > 1:
        results += run_jobs(jobs, workers=workers, on_result=report)
    else:
        def columns(rp) -> tuple:
            return (rp.TextColumn("{task.description}"), rp.BarColumn(),
                    rp.MofNCompleteColumn(), rp.TextColumn("{task.fields[fps]} fps"),
                    rp.TimeRemainingColumn())

        with _progress(err, err.is_terminal, columns) as bar:
            for job in jobs:
                task = bar.add_task(Path(job.inputs[0]).name, total=None, fps="-")
                started = time.perf_counter()

                def step(stage: str, done: int, total: int, task=task,
                         started=started) -> None:
                    rate = done / max(time.perf_counter() - started, 1e-6)
                    bar.update(task, completed=done, total=total or None, fps=f"{rate:.1f}")

                result = run_job(job, step)
                bar.remove_task(task)
                report(result)
                results.append(result)
    bad = [r for r in results if r.error]
    if not args.json or bad:
        err.print(f"{len(results) - len(bad)} clips developed, {len(bad)} failed")
    if not bad:
        return EXIT["ok"]
    if len(bad) < len(results):
        return EXIT["partial"]
    codes = {r.exit_code for r in bad}
    return codes.pop() if len(codes) == 1 else EXIT["input"]


def cmd_serve(args: argparse.Namespace) -> int:
    # the web camera needs the optional [app] extra (FastAPI, uvicorn): imported on use
    from redframe.app import serve

    serve(host=args.host, port=args.port, data_dir=args.data, https=args.https,
          open_browser=args.open)
    return EXIT["ok"]


def cmd_sounds(args: argparse.Namespace) -> int:
    from redframe.sound import EXPORTS, export_sounds

    existing = [Path(args.output) / f"{stem}.wav" for stem in EXPORTS
                if (Path(args.output) / f"{stem}.wav").exists()]
    if existing and not args.overwrite:
        raise OutputError("exists; use --overwrite", path=str(existing[0]))
    try:
        paths = export_sounds(args.output)
    except (NotADirectoryError, OSError) as exc:
        raise OutputError(f"cannot write sounds ({exc})", path=args.output) from None
    for p in paths:
        print(p)
    return EXIT["ok"]


def cmd_batch(args: argparse.Namespace) -> int:
    if args.batch_command != "status":
        raise UsageError("batch needs an action: redframe batch status JOURNAL")
    path = Path(args.journal)
    if path.is_dir():
        path = path / JOURNAL_NAME
    info = read_status(path)
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
        return EXIT["ok"]
    left = info["pending"] + info["running"]
    print(f"journal  {_printable(info['journal'])}")
    if info["command"]:
        print(f"command  redframe {_printable(' '.join(info['command']))}")
    print(f"files    {info['total']}: {info['done']} done, {info['failed']} failed, {left} to do"
          + (f" ({info['running']} were in flight)" if info["running"] else ""))
    print(f"done     {info['megapixels']:g} MP, {info['bytes'] / 1e6:.1f} MB written, "
          f"{info['cpu_seconds']:.1f} s of work")
    if info["failures"]:
        print("failed:")
        for f in info["failures"]:
            print(f"  {_printable(f['error'] or f['input'])}")
    return EXIT["ok"]


def cmd_demo(args: argparse.Namespace) -> int:
    from redframe.demo import run_demo

    return run_demo(args.output)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "develop": cmd_develop,
    "frame": cmd_frame,
    "night": cmd_night,
    "hdr": cmd_hdr,
    "looks": cmd_looks,
    "characters": cmd_characters,
    "lut": cmd_lut,
    "video": cmd_video,
    "serve": cmd_serve,
    "sounds": cmd_sounds,
    "info": cmd_info,
    "demo": cmd_demo,
    "batch": cmd_batch,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT["usage"]
    if args.debug:
        os.environ["REDFRAME_DEBUG"] = "1"
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
    except BrokenPipeError:  # `redframe info x | head`: the reader has gone; so do we
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT["ok"]
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
