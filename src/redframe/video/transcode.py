"""One clip through a look (and a frame strip) into a new file: decode, LUT, encode, mux.

Flow, per clip (:func:`transcode`)::

    open + check (probe) -> first frame peeked (rotation, the strip's plan)
    -> for each packet: audio copied as it is; video decoded -> the look's 3D LUT on
       Y'CbCr (kernel) -> [strip composited] -> encoded with the frame's own timestamp
    -> flush -> frame count checked -> temp file renamed into place

The look is applied as its baked 3D LUT (:func:`redframe.looks.cube.bake_table`, the bake
the .cube export writes and the app preview uses) from the clip's encoding, read from the
stream's H.273 colour tags (:func:`redframe.color.encodings.from_video_tags`) or named
with ``input``, to Rec.709 (BT.1886) SDR; a log or HLG/PQ clip is thus rendered by the
look's tone curve as a raw is. A ``.cube`` without our ``# redframe-input`` tag is a
grade on the clip's own code values (as video tools apply LUTs) and is used as it is.

Timestamps are the decoder's, frame by frame (variable frame rate is kept); the output
has the input's frame count or nothing is written. 8-bit in gives 8-bit out, 10-bit in
gives 10-bit out for H.264 (High 10) and HEVC (Main 10); ProRes is always 10-bit 4:2:2.
Audio packets are copied unchanged; container and video-stream tags (creation time,
location, device) and the display rotation are kept (location removed with
``strip_gps``). The output is written to ``.NAME.XXXXXXXX.part`` beside the target and
renamed when complete: a failure leaves nothing.
"""

from __future__ import annotations

import os
import queue
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from redframe._threads import get_num_threads, set_num_threads
from redframe.color.encodings import ENCODINGS, from_video_tags
from redframe.errors import InputError, OutputError, UsageError
from redframe.frame.render import Prepared
from redframe.looks import CubeLook, get_look
from redframe.looks.cube import bake_table
from redframe.video import lutcache
from redframe.video.kernel import MATRICES, Signal, apply_lut_yuv, yuv_to_rgb
from redframe.video.overlay import Overlay, build_overlay, exposure_line
from redframe.video.probe import Clip, clip_metadata, fps_text, open_clip, require_av

__all__ = ["VideoSettings", "VideoResult", "CODECS", "transcode", "video_lut",
           "input_encoding", "output_suffix"]

#: codec -> (FFmpeg encoder, 8-bit format, 10-bit format, default quality, container)
CODECS = {
    "h264": ("libx264", "yuv420p", "yuv420p10le", 18, "mp4"),
    "hevc": ("libx265", "yuv420p", "yuv420p10le", 20, "mp4"),
    "prores": ("prores_ks", "yuv422p10le", "yuv422p10le", None, "mov"),
}
#: pixel formats the kernel reads: name -> (bits, sx, sy, full range)
_PLANAR = {
    "yuv420p": (8, 2, 2, False), "yuvj420p": (8, 2, 2, True),
    "yuv422p": (8, 2, 1, False), "yuvj422p": (8, 2, 1, True),
    "yuv444p": (8, 1, 1, False), "yuvj444p": (8, 1, 1, True),
    "yuv420p10le": (10, 2, 2, False), "yuv422p10le": (10, 2, 1, False),
    "yuv444p10le": (10, 1, 1, False),
}
_SUB_NAME = {(2, 2): "420", (2, 1): "422", (1, 1): "444"}
#: the encoding of every output (SDR video): Rec.709 primaries, BT.1886 display
OUTPUT_ENCODING = "rec709"
#: container tags that describe the old file's encoding, not the clip: not copied
_TECHNICAL_TAGS = {"major_brand", "minor_version", "compatible_brands", "encoder",
                   "handler_name", "vendor_id", "duration"}
_LOCATION_TAGS = ("location", "location-eng", "com.apple.quicktime.location.iso6709",
                  "com.apple.quicktime.location.accuracy.horizontal")
#: x264/x265 speed preset
DEFAULT_PRESET = "veryfast"


@dataclass
class VideoSettings:
    """How a clip is encoded (``redframe video`` flags)."""

    codec: str = "h264"
    crf: int | None = None  # None: the codec's default (CODECS)
    input: str | None = None  # the clip's encoding; None: from the stream's tags
    preset: str = DEFAULT_PRESET
    lut_size: int = 33

    def __post_init__(self) -> None:
        if self.codec not in CODECS:
            raise UsageError(f"unknown codec {self.codec!r}; choose one of "
                             f"{', '.join(CODECS)}")
        if self.crf is not None and not (isinstance(self.crf, int) and 0 <= self.crf <= 51):
            raise UsageError(f"--crf must be an integer 0..51, got {self.crf!r}")
        if self.input is not None and self.input not in ENCODINGS:
            raise UsageError(f"unknown input encoding {self.input!r}; choose one of "
                             f"{', '.join(ENCODINGS)}")
        if self.lut_size not in (17, 33, 65):
            raise UsageError(f"LUT size is 17, 33 or 65, not {self.lut_size!r}")


@dataclass
class VideoResult:
    output: str
    frames: int
    width: int
    height: int
    input_encoding: str
    codec: str
    bits: int
    seconds: float
    duration: float | None
    notes: list[str]


def output_suffix(codec: str) -> str:
    return "." + CODECS[codec][4] if codec in CODECS else ".mp4"


# --- the look as a LUT ------------------------------------------------------------------

_LUTS: dict = {}


def video_lut(look, encoding: str, size: int = 33) -> np.ndarray:
    """(size^3, 3) lattice, [r, g, b] on ``encoding`` codes -> Rec.709 codes. ``look``: a
    Look, a CubeLook, or None (the ``neutral`` look: a tone curve for log/HDR clips, close
    to identity on SDR ones). Baked once per process (kept for the last few looks) and
    kept on disk between processes (:mod:`redframe.video.lutcache`)."""
    look = look if look is not None else get_look("neutral")
    key = (id(look), getattr(look, "name", None), encoding, size)
    hit = _LUTS.get(key)
    if hit is not None and hit[0] is look:
        return hit[1]
    if isinstance(look, CubeLook) and "input" not in look.data.tags:
        codes = np.linspace(0.0, 1.0, size, dtype=np.float32)
        grid = np.stack(np.meshgrid(codes, codes, codes, indexing="ij"), axis=-1)
        table = np.clip(look.lut(grid), 0.0, 1.0).astype(np.float32)
    else:
        lut_look = look.without_spatial() if hasattr(look, "without_spatial") else look
        disk = lutcache.look_key(lut_look, "bake", size, encoding, OUTPUT_ENCODING)
        table = lutcache.load(disk, size) if disk else None
        if table is None:
            table = bake_table(lut_look, size, encoding, OUTPUT_ENCODING)
            if disk:
                lutcache.store(disk, table)
    if len(_LUTS) > 8:
        _LUTS.clear()
    _LUTS[key] = (look, table)
    return table


def input_encoding(frame_or_ctx, given: str | None, notes: list[str]) -> str:
    """``given``, else the encoding the stream's colour tags name; untagged: Rec.709."""
    if given:
        return given
    trc = int(getattr(frame_or_ctx, "color_trc", 2) or 2)
    prim = int(getattr(frame_or_ctx, "color_primaries", 2) or 2)
    name = from_video_tags(trc, prim)
    if name is None:
        if trc not in (0, 2):
            raise UsageError(f"the clip's transfer characteristic (H.273 code {trc}) is not "
                             f"one redframe reads; name it with --input "
                             f"({', '.join(ENCODINGS)})")
        notes.append("the clip has no colour tags: read as Rec.709 (use --input to say "
                     "otherwise)")
        name = "rec709"
    return name


# --- planes -----------------------------------------------------------------------------

def _planes(frame, dtype) -> list[np.ndarray]:
    out = []
    size = np.dtype(dtype).itemsize
    for p in frame.planes:
        a = np.frombuffer(p, dtype=dtype).reshape(p.height, p.line_size // size)
        out.append(a[:, : p.width])
    return out


def _signal_of(frame, fmt: str, height: int) -> Signal:
    bits, _, _, full = _PLANAR[fmt]
    full = full or int(frame.color_range or 0) == 2
    matrix = MATRICES.get(int(frame.colorspace or 2))
    if matrix is None:  # unspecified: as FFmpeg guesses, by size
        matrix = MATRICES[1] if height >= 720 else MATRICES[6]
    return Signal(bits, full, matrix)


def _work_format(fmt: str, bits: int, sub: tuple[int, int]) -> str:
    """The planar format the kernel reads a decoded frame in."""
    if fmt in _PLANAR and _PLANAR[fmt][1:3] == sub:
        return fmt
    return f"yuv{_SUB_NAME[sub]}p" + ("10le" if bits > 8 else "")


class _Peek:
    """What the first decoded frame tells: rotation, tags, format."""

    def __init__(self, clip: Clip):
        av = require_av()
        self.frame = None
        try:
            for frame in clip.container.decode(clip.video):
                self.frame = frame
                break
        except (av.error.FFmpegError, ValueError) as exc:
            raise InputError(f"the video cannot be decoded ({exc})", path=clip.path) from None
        if self.frame is None:
            raise InputError("the video stream holds no frame that decodes", path=clip.path)
        self.rotation = int(round(self.frame.rotation or 0)) % 360


def _tags(clip: Clip, strip_gps: bool) -> tuple[dict, dict]:
    container, stream = {}, {}
    for k, v in clip.container.metadata.items():
        low = str(k).lower()
        if low in _TECHNICAL_TAGS or low.endswith("-eng") or (
                strip_gps and (low in _LOCATION_TAGS or low.startswith("location"))):
            continue
        container[str(k)] = str(v)
    for k, v in clip.video.metadata.items():
        if str(k).lower() in ("creation_time", "language"):
            stream[str(k)] = str(v)
    return container, stream


def _open_output(tmp: Path, container_fmt: str):
    av = require_av()
    try:
        # use_metadata_tags: QuickTime keys (com.apple.quicktime.*) are written, not dropped
        return av.open(str(tmp), "w", format=container_fmt,
                       options={"movflags": "use_metadata_tags"})
    except (av.error.FFmpegError, OSError) as exc:
        raise OutputError(f"cannot write ({exc})", path=str(tmp)) from None


def kernel_threads() -> int:
    """Threads that develop frames at once (:class:`_Pipeline`): the cores this process may
    use, at most what the calling thread allows its kernels (a batch worker: 1)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(get_num_threads(), cores))


class _Pipeline:
    """Decode, develop and encode overlapped: the calling thread demuxes and decodes; each
    decoded frame is developed (``develop(frame)``: the look, the strip, into a new output
    frame) on a pool of ``threads`` threads, several frames at once, each on one OpenMP
    thread; a writer thread takes the developed frames and the audio packets in the
    demuxer's order and ``write``s / ``mux``es them (the encoder, the muxer: only that
    thread touches the output until :meth:`finish`). FFmpeg's calls and the kernels
    release the GIL, so decoding, the kernels and x264's own threads share the cores.

    Frame-parallel, not row-parallel: GNU OpenMP's idle workers spin (by default 300,000
    pause loops after each parallel region), and a kernel parallel across rows between
    decode and encode left one spinning on a core x264 needed; the 2 s 1080p clip took
    4.6 s of CPU that way (2 cores), 3.5 s with the frames on their own threads.

    A failure in a develop or on the writer thread is kept and raised in the calling
    thread (:meth:`check`); the writer then drains what is queued so the caller never
    blocks on it."""

    _END = object()

    def __init__(self, develop: Callable, write: Callable, mux: Callable, threads: int):
        self._develop, self._write, self._mux = develop, write, mux
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="redframe-video-develop",
                                        initializer=set_num_threads, initargs=(1,))
        # frames in flight: the pool's, and as many again decoded ahead
        self._queue: queue.Queue = queue.Queue(maxsize=2 * threads + 2)
        self._writer = threading.Thread(target=self._run, name="redframe-video-writer",
                                        daemon=True)
        self.error: BaseException | None = None
        self.done = 0  # frames written
        self._ended = False
        self._writer.start()

    def _run(self) -> None:
        try:
            while True:
                item = self._queue.get()
                if item is self._END:
                    return
                if isinstance(item, tuple):
                    self._mux(item[1])
                else:
                    self._write(*item.result())
                    self.done += 1
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller
            self.error = exc
            while self._queue.get() is not self._END:
                pass

    def frame(self, frame) -> None:
        self._queue.put(self._pool.submit(self._develop, frame))
        self.check()

    def packet(self, packet) -> None:
        self._queue.put(("packet", packet))
        self.check()

    def check(self) -> None:
        if self.error is not None:
            raise self.error

    def finish(self) -> None:
        """Wait for what is queued to be written; the threads end."""
        if not self._ended:
            self._ended = True
            self._queue.put(self._END)
        self._writer.join()
        self._pool.shutdown(wait=True, cancel_futures=True)


def transcode(src: str, target: str, settings: VideoSettings, *, look=None,
              layout: str | None = None, prepared=None, strip_gps: bool = False,
              progress: Callable[[str, int, int], None] | None = None) -> VideoResult:
    """``src`` developed with ``look`` (and the ``layout`` strip) into ``target``; see the
    module docstring. Raises InputError/OutputError/UsageError; nothing is left behind."""
    av = require_av()
    t0 = time.perf_counter()
    notes: list[str] = []
    encoder, fmt8, fmt10, crf_default, container_fmt = CODECS[settings.codec]
    clip = open_clip(src)
    try:
        peek = _Peek(clip)
        first = peek.frame
    finally:
        clip.close()
    enc_name = input_encoding(first, settings.input, notes)
    in_fmt = first.format.name
    in_bits = max(c.bits for c in first.format.components)
    out_fmt = fmt10 if in_bits > 8 else fmt8
    out_bits, osx, osy = _PLANAR[out_fmt][:3]
    sub = (osx, osy)
    work_fmt = _work_format(in_fmt, in_bits, sub)
    if settings.codec != "prores" and in_bits > 10:
        notes.append(f"the clip is {in_bits}-bit; written as 10-bit")
    table = video_lut(look, enc_name, settings.lut_size)
    sig_out = Signal(out_bits, False, MATRICES[1])
    dtype_in = np.uint16 if _PLANAR[work_fmt][0] > 8 else np.uint8
    dtype_out = np.uint16 if out_bits > 8 else np.uint8

    def to_work(frame):
        if frame.format.name == work_fmt:
            return frame
        rng = "JPEG" if int(frame.color_range or 0) == 2 or frame.format.name.startswith(
            "yuvj") else "MPEG"
        return frame.reformat(format=work_fmt, src_color_range=rng, dst_color_range=rng)

    def develop(frame, out_planes):
        wf = to_work(frame)
        sig_in = _signal_of(wf, work_fmt, wf.height)
        apply_lut_yuv(_planes(wf, dtype_in), out_planes, table, sub, sig_in, sig_out)

    clip = open_clip(src)
    width, height = clip.width, clip.height
    overlay: Overlay | None = None
    if layout:
        shape = [np.empty((-(-height // s[1]), -(-width // s[0])), dtype_out)
                 for s in ((1, 1), sub, sub)]
        develop(first, shape)
        up = [np.repeat(np.repeat(p, sub[1], 0), sub[0], 1)[:height, :width]
              if i else p for i, p in enumerate(shape)]
        rgb8 = np.round(yuv_to_rgb(*up, sig_out) * 255).astype(np.uint8)
        meta = clip_metadata(clip)
        opts = dict(prepared or {})
        fields = dict(opts.get("fields") or {})
        fields.setdefault("exposure", exposure_line(meta.focal_length_35mm, width, height,
                                                    fps_text(clip.fps)))
        opts["fields"] = fields
        overlay = build_overlay(rgb8, meta, layout, Prepared(opts), peek.rotation,
                                sig_out, sub, dtype_out)
        width, height = overlay.width, overlay.height
    elif width % osx or height % osy:
        clip.close()
        raise InputError(f"frames of {width}x{height} cannot be written as 4:2:"
                         f"{'0' if osy == 2 else '2'} (odd size)", path=src)

    target_path = Path(target)
    tmp = target_path.parent / f".{target_path.name}.{secrets.token_hex(4)}.part"
    out = None
    done = 0
    try:
        target_path.parent.mkdir(parents=True, exist_ok=True)
        out = _open_output(tmp, container_fmt)
        ctags, stags = _tags(clip, strip_gps)
        for k, v in ctags.items():
            out.metadata[k] = v
        vs = out.add_stream(encoder, rate=clip.fps or 30)
        vs.width, vs.height = width, height
        vs.pix_fmt = out_fmt
        vs.time_base = clip.video.time_base
        cc = vs.codec_context
        cc.time_base = clip.video.time_base
        cc.color_primaries, cc.color_trc, cc.colorspace, cc.color_range = 1, 1, 1, 1
        opts = {}
        if settings.codec in ("h264", "hevc"):
            opts = {"crf": str(settings.crf if settings.crf is not None else crf_default),
                    "preset": settings.preset}
            if settings.codec == "hevc":
                opts["x265-params"] = "log-level=error"
                vs.codec_tag = "hvc1"  # what Apple players want in MP4
        else:
            opts = {"profile": "3" if settings.crf is None else str(min(settings.crf, 5)),
                    "vendor": "apl0"}
        cc.options = opts
        cc.thread_type = "AUTO"
        for k, v in stags.items():
            vs.metadata[k] = v
        if peek.rotation:
            vs.set_display_rotation(peek.rotation)
        audio_out = {}
        for a in clip.audio:
            try:
                audio_out[a.index] = out.add_stream_from_template(a)
            except (av.error.FFmpegError, ValueError) as exc:
                notes.append(f"warning: audio stream {a.index} not copied ({exc})")
        clip.video.thread_type = "AUTO"
        total = clip.frames or (round(clip.duration * float(clip.fps))
                                if clip.duration and clip.fps else 0)
        if progress:
            progress("video", 0, total)
        streams = [clip.video] + [a for a in clip.audio if a.index in audio_out]
        last_pts = None
        step = 1 / float(clip.fps or 30) / float(clip.video.time_base)

        def develop_frame(frame):
            vf = av.VideoFrame(width, height, out_fmt)
            planes = _planes(vf, dtype_out)
            if overlay is not None:
                overlay.fill_margins(planes, sub)
                develop(frame, overlay.picture_views(planes, sub))
                overlay.compose(planes)
            else:
                develop(frame, planes)
            return frame.pts, vf

        def write(pts, vf) -> None:
            nonlocal last_pts
            if pts is None:
                pts = 0 if last_pts is None else int(last_pts + step)
            last_pts = pts
            vf.pts = pts
            vf.time_base = clip.video.time_base
            vf.colorspace, vf.color_range = 1, 1
            out.mux(vs.encode(vf))

        pipe = _Pipeline(develop_frame, write, out.mux, kernel_threads())
        decoded = reported = 0
        try:
            for packet in clip.container.demux(streams):
                if packet.stream.type == "audio":
                    if packet.dts is None:
                        continue
                    packet.stream = audio_out[packet.stream.index]
                    pipe.packet(packet)
                    continue
                for frame in packet.decode():
                    pipe.frame(frame)
                    decoded += 1
                    done = pipe.done
                    if progress and done // 8 > reported // 8:
                        progress("video", done, max(total, done))
                        reported = done
        except (av.error.InvalidDataError, av.error.EOFError) as exc:
            if exc is pipe.error:  # the encoder's or the muxer's: not the input's
                raise
            raise InputError(f"the video is damaged after frame {decoded} ({exc})",
                             path=src) from None
        finally:
            pipe.finish()
        pipe.check()
        done = pipe.done
        out.mux(vs.encode(None))
        if clip.frames and done < clip.frames:
            raise InputError(f"truncated: {done} of the {clip.frames} frames its index lists "
                             "could be decoded", path=src)
        if done == 0:
            raise InputError("no video frame could be decoded", path=src)
        duration = clip.duration
        out.close()
        out = None
        _fsync(tmp)
        os.replace(tmp, target_path)
        tmp = None
    except av.error.FFmpegError as exc:
        raise OutputError(f"cannot encode ({exc})", path=str(target)) from None
    except OSError as exc:
        raise OutputError(f"cannot write ({exc.strerror or exc})", path=str(target)) from None
    finally:
        clip.close()
        if out is not None:
            try:
                out.close()
            except Exception:  # noqa: BLE001 - the file is removed anyway
                pass
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    if progress:
        progress("video", done, done)
    return VideoResult(str(target_path), done, width, height, enc_name, settings.codec,
                       out_bits, time.perf_counter() - t0, duration, notes)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
