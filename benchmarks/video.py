"""Video speed: `redframe video` against FFmpeg's own `lut3d` filter, same clip, same run.

    python benchmarks/video.py [--seconds 2] [--width 1920 --height 1080] [--look authentic]

Makes a synthetic 1080p30 H.264 clip with a tone (redframe.video.synth), exports the look
as a .cube for the clip's encoding (`redframe lut LOOK --input rec709 --output rec709`),
then develops the clip three ways, each encoding H.264 with the same x264 preset and CRF
and copying the audio:

1. ``redframe video`` through the CLI, in a fresh process (what users run; includes
   Python start-up, reading the baked look from the on-disk cache and filling the 8-bit
   table), and the same with an empty cache folder each time (the first run after an
   install or a look's edit: the look is baked too);
2. the same job in-process (:func:`redframe.video.transcode`), warm;
3. PyAV's filter graph with FFmpeg's ``lut3d`` filter (``interp=tetrahedral``) on the
   exported .cube (FFmpeg converts Y'CbCr to RGB and back around it, as ``ffmpeg -vf
   lut3d=...`` does), decoded and encoded by the same libraries.

Prints each way's best and median wall time over the interleaved rounds, its real-time
factors (clip duration / wall time), its ratio to 3 (best to best, median to median), and
the CPU seconds of its best run (all threads, and the CLI's child process).
The ffmpeg CLI is used too when it is on PATH. Cores: whatever the process may use
(``taskset -c 0,1 python benchmarks/video.py`` for two).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import av.filter

from redframe.looks import export_cube, get_look
from redframe.video import VideoSettings, transcode
from redframe.video.synth import make_clip


def lut3d_graph(src: str, dst: str, cube: str, preset: str, crf: int) -> int:
    """FFmpeg's lut3d through PyAV: decode -> lut3d -> yuv420p -> libx264; audio copied."""
    inp = av.open(src)
    vin = inp.streams.video[0]
    ain = inp.streams.audio[0] if inp.streams.audio else None
    out = av.open(dst, "w", format="mp4")
    vs = out.add_stream("libx264", rate=vin.average_rate)
    vs.width, vs.height, vs.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"
    vs.time_base = vin.time_base
    vs.codec_context.time_base = vin.time_base
    vs.codec_context.options = {"preset": preset, "crf": str(crf)}
    vs.codec_context.thread_type = "AUTO"
    aout = out.add_stream_from_template(ain) if ain else None
    vin.thread_type = "AUTO"
    graph = av.filter.Graph()
    buf = graph.add_buffer(template=vin)
    lut = graph.add("lut3d", f"file={cube}:interp=tetrahedral")
    fmt = graph.add("format", "yuv420p")
    sink = graph.add("buffersink")
    buf.link_to(lut)
    lut.link_to(fmt)
    fmt.link_to(sink)
    graph.configure()
    n = 0
    streams = [vin] + ([ain] if ain else [])
    for packet in inp.demux(streams):
        if packet.stream.type == "audio":
            if packet.dts is not None:
                packet.stream = aout
                out.mux(packet)
            continue
        for frame in packet.decode():
            graph.push(frame)
            while True:
                try:
                    f = graph.pull()
                except (av.error.BlockingIOError, av.error.EOFError):
                    break
                f.pict_type = av.video.frame.PictureType.NONE
                out.mux(vs.encode(f))
                n += 1
    out.mux(vs.encode(None))
    out.close()
    inp.close()
    return n


def _cpu() -> float:
    """CPU seconds of this process (all its threads) and of its finished children."""
    own = time.process_time()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own + kids.ru_utime + kids.ru_stime


def timed(fn):
    t, c = time.perf_counter(), _cpu()
    fn()
    return time.perf_counter() - t, _cpu() - c


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--look", default="authentic")
    ap.add_argument("--preset", default="veryfast")
    ap.add_argument("--crf", type=int, default=18)
    ap.add_argument("--repeat", type=int, default=5,
                    help="interleaved rounds (best and median of N for each way)")
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["REDFRAME_CACHE_DIR"] = str(Path(tmp) / "cache")  # not the user's own
        clip = str(Path(tmp) / "clip.mp4")
        made = make_clip(clip, width=args.width, height=args.height, seconds=args.seconds,
                         fps=args.fps)
        cube = str(Path(tmp) / f"{args.look}.cube")
        export_cube(get_look(args.look), cube, size=33, input="rec709", output="rec709")
        duration = made["frames"] / args.fps
        print(f"clip: {args.width}x{args.height} {args.fps} fps, {made['frames']} frames "
              f"({duration:.2f} s), H.264 + AAC; look {args.look}; x264 preset {args.preset} "
              f"crf {args.crf}; {cores} cores")
        settings = VideoSettings(crf=args.crf, preset=args.preset)
        look = get_look(args.look)
        transcode(clip, str(Path(tmp) / "warm.mp4"), settings, look=look)  # bake + JIT once
        results, cpu = {}, {}
        cli = [sys.executable, "-m", "redframe", "video", clip, "-o", str(Path(tmp) / "cli"),
               "--look", args.look, "--crf", str(args.crf), "--preset", args.preset,
               "--overwrite"]
        cache = Path(tmp) / "cache"
        env = dict(os.environ, REDFRAME_CACHE_DIR=str(cache))
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # users' Pythons keep their bytecode
        subprocess.run(cli, check=True, capture_output=True, env=env)  # fills the cache
        cold = iter(range(1 << 30))

        def cli_cold():
            empty = dict(env, REDFRAME_CACHE_DIR=str(Path(tmp) / f"empty{next(cold)}"))
            return subprocess.run(cli, check=True, capture_output=True, env=empty)

        ways = {
            "redframe video (CLI, fresh process)": lambda: subprocess.run(
                cli, check=True, capture_output=True, env=env),
            "redframe video (CLI, fresh, empty cache)": cli_cold,
            "redframe transcode (in-process, warm)": lambda: transcode(
                clip, str(Path(tmp) / "ours.mp4"), settings, look=look),
            "FFmpeg lut3d (PyAV filter graph)": lambda: lut3d_graph(
                clip, str(Path(tmp) / "lut3d.mp4"), cube, args.preset, args.crf),
        }
        if shutil.which("ffmpeg"):
            ways["ffmpeg CLI -vf lut3d"] = lambda: subprocess.run(
                ["ffmpeg", "-y", "-loglevel", "error", "-i", clip, "-vf",
                 f"lut3d=file={cube}:interp=tetrahedral", "-c:v", "libx264", "-preset",
                 args.preset, "-crf", str(args.crf), "-c:a", "copy",
                 str(Path(tmp) / "cli.mp4")], check=True)
        for _ in range(args.repeat):  # interleaved rounds: the machine is shared
            for name, fn in ways.items():
                seconds, used = timed(fn)
                results.setdefault(name, []).append(seconds)
                if seconds <= min(results[name]):
                    cpu[name] = used
        best = {name: min(r) for name, r in results.items()}
        median = {name: statistics.median(r) for name, r in results.items()}
        lut3d = "FFmpeg lut3d (PyAV filter graph)"
        print(f"{'best / median of ' + str(args.repeat):<41} {'wall s':>11}  "
              f"{'real-time x':>11}  {'ratio to lut3d':>14}  CPU s (best)")
        for name in results:
            b, m = best[name], median[name]
            print(f"{name:<41} {b:5.2f} {m:5.2f}  {duration / b:5.2f} {duration / m:5.2f}  "
                  f"{b / best[lut3d]:6.2f} {m / median[lut3d]:6.2f}  {cpu[name]:5.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
