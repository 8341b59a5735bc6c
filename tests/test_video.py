"""redframe video (issue 18): clips generated here (small), checked against the still look,
a NumPy reference of the kernel, the input's timestamps and audio, and bad inputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import colour
import numpy as np
import pytest
from PIL import Image

from redframe.color.encodings import ENCODINGS
from redframe.looks import get_look, read_cube
from redframe.looks.cube import bake_table
from redframe.video import VideoSettings, kernel, lutcache, transcode
from redframe.video.kernel import (
    MATRICES,
    Signal,
    Table8,
    apply_lut_yuv,
    apply_reference,
    rgb_to_yuv,
    table8,
    yuv_to_rgb,
)
from redframe.video.synth import make_clip

transcode_mod = sys.modules["redframe.video.transcode"]  # the module, not the function

TAGS = {"com.apple.quicktime.make": "Apple", "com.apple.quicktime.model": "iPhone 15 Pro",
        "location": "+52.4597+013.3217+035.000/", "creation_time": "2024-05-17T16:32:00Z"}


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "redframe", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def _frames(path):
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        out = [(f.pts * float(f.time_base), f) for f in c.decode(s)]
        return out, dict(c.metadata)


def _planes(frame, dtype):
    return [np.frombuffer(p, dtype).reshape(p.height, -1)[:, : p.width].copy()
            for p in frame.planes]


def _audio_samples(path):
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return 0
        return sum(f.samples for f in c.decode(c.streams.audio[0]))


def _rgb(planes, sig):
    y, u, v = planes
    up = lambda c: np.repeat(np.repeat(c, 2, 0), 2, 1)[: y.shape[0], : y.shape[1]]  # noqa: E731
    return yuv_to_rgb(y, up(u), up(v), sig)


def _lab(codes709):
    lin = ENCODINGS["rec709"].decode(codes709)
    xyz = colour.RGB_to_XYZ(lin, colour.RGB_COLOURSPACES["ITU-R BT.709"], apply_cctf_decoding=False)
    return colour.XYZ_to_Lab(xyz)


def _de_to_the_still_look(frame_in, frame_out, look):
    """Mean dE00 of a decoded output frame (8-bit BT.709 4:2:0) to the still-image look
    (reference engine, no vignette/grain: a LUT has none) applied to the decoded input
    frame, through 4:2:0 too (chroma shared by 2x2 pixels is part of the codec); and mean
    dE00 of the output to the input (what the look did)."""
    sig = Signal(8, False, MATRICES[1])
    codes_in = _rgb(_planes(frame_in, np.uint8), sig)
    light = ENCODINGS["rec709"].decode(codes_in) @ ENCODINGS["rec709"].to_2020.T
    still = look.without_spatial().apply(light.astype(np.float32), display_referred=True,
                                         engine="reference")
    still = np.clip(ENCODINGS["rec709"].encode(still @ np.linalg.inv(
        ENCODINGS["rec709"].to_2020).T), 0, 1)
    yy, cb, cr = rgb_to_yuv(still, sig)
    h, w = yy.shape
    box = lambda c: c.reshape(h // 2, 2, w // 2, 2).mean((1, 3))  # noqa: E731
    still = _rgb((yy, box(cb), box(cr)), sig)
    codes_out = _rgb(_planes(frame_out, np.uint8), sig)
    lab_out = _lab(codes_out)
    return (float(colour.delta_E(lab_out, _lab(still), method="CIE 2000").mean()),
            float(colour.delta_E(_lab(codes_in), lab_out, method="CIE 2000").mean()))


@pytest.mark.parametrize("bits", [8, 10])
def test_kernel_matches_numpy_reference(bits):
    rng = np.random.default_rng(bits)
    lut = rng.random((17, 17, 17, 3)).astype(np.float32)
    dt = np.uint8 if bits == 8 else np.uint16
    top = (1 << bits) - 1
    y = rng.integers(0, top + 1, (31, 46)).astype(dt)
    u = rng.integers(0, top + 1, (16, 23)).astype(dt)
    v = rng.integers(0, top + 1, (16, 23)).astype(dt)
    sig_in = Signal(bits, False, MATRICES[9])
    sig_out = Signal(bits, False, MATRICES[1])
    ref = apply_reference((y, u, v), lut, (2, 2), sig_in, sig_out)
    for table in (True, False):
        out = [np.zeros_like(p) for p in (y, u, v)]
        apply_lut_yuv((y, u, v), out, lut, (2, 2), sig_in, sig_out, table=table)
        for a, b in zip(out, ref, strict=True):
            assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_table8_filled_as_frames_need_it_equals_the_whole_table():
    rng = np.random.default_rng(3)
    lut = rng.random((17, 17, 17, 3)).astype(np.float32)
    sig_in, sig_out = Signal(8, False, MATRICES[1]), Signal(8, False, MATRICES[1])
    lazy = Table8(lut, sig_in, sig_out)
    u = rng.integers(60, 70, (40, 50)).astype(np.uint8)
    v = rng.integers(100, 140, (40, 50)).astype(np.uint8)
    pairs = np.unique(u.astype(int) * 256 + v)
    lazy.fill(u[:, ::-1], v[:, ::-1])  # strided planes too
    assert lazy.rows == len(pairs) and lazy.built.sum() == len(pairs)
    lazy.fill(u, v)  # the same pairs: nothing more to build
    assert lazy.rows == len(pairs)
    whole = table8(lut, sig_in, sig_out).reshape(65536, 256, 3)
    assert np.array_equal(lazy.table.reshape(65536, 256, 3)[pairs], whole[pairs])
    # and a frame through the lazily filled table is the frame through the whole one
    y = rng.integers(0, 256, (80, 100)).astype(np.uint8)
    kernel._TABLES.clear()
    lazy_out = [np.zeros_like(p) for p in (y, u, v)]
    apply_lut_yuv((y, u, v), lazy_out, lut, (2, 2), sig_in, sig_out)
    assert kernel._table8(lut, sig_in, sig_out).rows == len(pairs)
    whole_out = [np.zeros_like(p) for p in (y, u, v)]
    kernel._kernel.apply_table8(y, u, v, *whole_out, whole.reshape(256, 256, 256, 3), 2, 2)
    for a, b in zip(lazy_out, whole_out, strict=True):
        assert np.array_equal(a, b)


def test_table8_filled_from_several_threads_at_once():
    """Frames developed at once on several threads (the pipeline's pool) fill one table:
    every output is what the whole table gives (random chroma: the threads' rows overlap)."""
    import threading

    rng = np.random.default_rng(5)
    lut = rng.random((17, 17, 17, 3)).astype(np.float32)
    sig = Signal(8, False, MATRICES[1])
    whole = Table8(lut, sig, sig).full()

    def develop(frame, out, table8=None):
        y, u, v = frame
        table = whole if table8 is None else table8.fill(u, v)
        kernel._kernel.apply_table8(y, u, v, *out, table, 2, 2)

    for _ in range(4):
        shared = Table8(lut, sig, sig)
        frames = [(rng.integers(0, 256, (64, 128)).astype(np.uint8),
                   rng.integers(0, 256, (32, 64)).astype(np.uint8),
                   rng.integers(0, 256, (32, 64)).astype(np.uint8)) for _ in range(8)]
        outs = [[np.zeros_like(p) for p in f] for f in frames]
        threads = [threading.Thread(target=develop, args=(f, o, shared))
                   for f, o in zip(frames, outs, strict=True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for f, out in zip(frames, outs, strict=True):
            ref = [np.zeros_like(p) for p in f]
            develop(f, ref)
            assert all(np.array_equal(x, y) for x, y in zip(out, ref, strict=True))


def test_baked_lut_cache_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("REDFRAME_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("REDFRAME_NO_CACHE", raising=False)
    look = get_look("authentic")
    key = lutcache.look_key(look.without_spatial(), "bake", 17, "hlg", "rec709")
    baked = bake_table(look.without_spatial(), 17, "hlg", "rec709")
    transcode_mod._LUTS.clear()
    first = transcode_mod.video_lut(look, "hlg", 17)
    assert np.array_equal(first, baked)
    entry = tmp_path / "video-luts" / f"{key}.lut"
    assert [p.name for p in entry.parent.iterdir()] == [entry.name]  # no temp file left
    assert np.array_equal(lutcache.load(key, 17), baked)
    # another process's view: the entry is read, not baked (a planted table proves it)
    planted = np.full_like(baked, 0.25)
    assert lutcache.store(key, planted)
    transcode_mod._LUTS.clear()
    assert np.array_equal(transcode_mod.video_lut(look, "hlg", 17), planted)
    # a corrupt entry (one flipped byte, or cut short) is ignored and baked again
    for damage in ("flip", "cut"):
        raw = bytearray(entry.read_bytes())
        if damage == "flip":
            raw[-5] ^= 0x40
        else:
            raw = raw[: len(raw) // 2]
        entry.write_bytes(bytes(raw))
        assert lutcache.load(key, 17) is None
        transcode_mod._LUTS.clear()
        assert np.array_equal(transcode_mod.video_lut(look, "hlg", 17), baked)
        assert np.array_equal(lutcache.load(key, 17), baked)  # rewritten
    # the key follows the look's parameters, the size and the encodings
    other = get_look("vibrant").without_spatial()
    keys = {key, lutcache.look_key(other, "bake", 17, "hlg", "rec709"),
            lutcache.look_key(look.without_spatial(), "bake", 33, "hlg", "rec709"),
            lutcache.look_key(look.without_spatial(), "bake", 17, "pq", "rec709")}
    assert len(keys) == 4
    monkeypatch.setenv("REDFRAME_NO_CACHE", "1")
    assert lutcache.cache_dir() is None and lutcache.load(key, 17) is None


def test_sdr_clip_frames_timestamps_audio_tags_and_the_still_look(tmp_path):
    src = tmp_path / "clip.mp4"
    made = make_clip(src, width=320, height=180, seconds=0.6, vfr=True, rotation=90, tags=TAGS)
    out = tmp_path / "out" / "clip.mp4"
    look = get_look("authentic")
    # CRF 8: x264's own noise at CRF 18 on this small synthetic clip is 1.1 dE00 alone
    r = transcode(str(src), str(out), VideoSettings(crf=8), look=look)
    assert r.input_encoding == "rec709" and r.frames == made["frames"]
    fin, _ = _frames(src)
    fout, meta = _frames(out)
    assert len(fout) == len(fin) == made["frames"]
    assert np.allclose([t for t, _ in fout], [t for t, _ in fin], atol=1e-4)  # VFR kept
    assert abs(_audio_samples(out) - _audio_samples(src)) == 0
    assert meta["com.apple.quicktime.model"] == "iPhone 15 Pro"
    assert meta["creation_time"].startswith("2024-05-17T16:32")
    assert meta["location"].startswith("+52.4597+013.3217")
    assert fout[0][1].rotation == 90
    assert list(tmp_path.joinpath("out").iterdir()) == [out]  # no temp file left
    de_still, de_look = _de_to_the_still_look(fin[len(fin) // 2][1],
                                              fout[len(fout) // 2][1], look)
    assert de_still < 1.0, de_still
    assert de_look > 1.0  # and the look did something measurable (the test can fail)


def test_hlg_10bit_stays_10bit_and_bw_has_no_chroma(tmp_path):
    src = tmp_path / "hlg.mp4"
    made = make_clip(src, width=192, height=108, seconds=0.4, hdr=True)
    out = tmp_path / "bw.mp4"
    r = transcode(str(src), str(out), VideoSettings(codec="hevc"), look=get_look("bw-natural"))
    assert r.input_encoding == "hlg" and r.bits == 10
    fout, _ = _frames(out)
    assert len(fout) == made["frames"]
    f = fout[1][1]
    assert f.format.name == "yuv420p10le"
    _, u, v = _planes(f, np.uint16)
    assert np.abs(u.astype(int) - 512).mean() < 2 and np.abs(v.astype(int) - 512).mean() < 2
    assert _audio_samples(out) == _audio_samples(src)


def test_cli_frame_strip(tmp_path):
    src = tmp_path / "c.mp4"
    make_clip(src, width=640, height=360, seconds=0.2, tags=TAGS)
    res = _cli("video", src, "-o", tmp_path / "o", "--look", "vibrant", "--frame", "classic")
    assert res.returncode == 0, res.stderr
    fout, _ = _frames(tmp_path / "o" / "c.mp4")
    f = fout[0][1]
    assert f.width == 640 and f.height > 360 + 30  # the bar below the picture
    y = _planes(f, np.uint8)[0]
    bar = y[362:]
    assert bar.mean() > 200 and bar.min() < 100  # white bar with text on it


def test_lut_and_video_share_the_input_table(tmp_path):
    res = _cli("lut", "authentic", "-o", tmp_path / "a.cube", "--input", "hlg", "--size", "17")
    assert res.returncode == 0, res.stderr
    table = read_cube(tmp_path / "a.cube").table3
    ref = bake_table(get_look("authentic"), 17, "hlg", "rec709")
    assert np.abs(table - ref).max() < 1e-5


@pytest.mark.parametrize("fails", ["kernel", "ffmpeg"])
def test_a_failure_in_the_pipeline_reaches_the_caller(tmp_path, monkeypatch, fails):
    """The frames are developed on a pool of threads and encoded on a writer thread
    (transcode._Pipeline): an error there is raised in the caller (an FFmpeg error as the
    output's, not as damage in the input), the clip stops, the threads end and nothing is
    left in the output folder."""
    import errno
    import threading

    src = tmp_path / "clip.mp4"
    made = make_clip(src, width=160, height=90, seconds=1.0)
    real, calls = transcode_mod.apply_lut_yuv, []

    def failing(*args, **kwargs):
        calls.append(threading.current_thread().name)
        if len(calls) == 5:
            if fails == "kernel":
                raise RuntimeError("kernel failed")
            # as the encoder or the muxer raises it (InvalidDataError: also the demuxer's)
            raise av.error.InvalidDataError(errno.EINVAL, "encoder failed")
        return real(*args, **kwargs)

    monkeypatch.setattr(transcode_mod, "apply_lut_yuv", failing)
    out = tmp_path / "out"
    error = RuntimeError if fails == "kernel" else transcode_mod.OutputError
    with pytest.raises(error, match="kernel failed" if fails == "kernel" else "cannot encode"):
        transcode(str(src), str(out / "clip.mp4"), VideoSettings(), look=get_look("authentic"))
    assert all(name.startswith("redframe-video-develop") for name in calls)
    assert len(calls) < made["frames"]  # stopped: only the frames in flight went on
    assert not any(t.name.startswith("redframe-video") for t in threading.enumerate())
    assert list(out.iterdir()) == []


def _bad_inputs(d: Path, good: Path) -> dict[str, Path]:
    data = good.read_bytes()
    files = {"truncated": d / "truncated.mp4", "random": d / "random.mp4",
             "empty": d / "empty.mp4", "png": d / "picture.mov", "audio": d / "audio.m4a"}
    files["truncated"].write_bytes(data[: len(data) // 2])
    files["random"].write_bytes(np.random.default_rng(1).bytes(20000))
    files["empty"].write_bytes(b"")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(files["png"], format="PNG")
    with av.open(str(files["audio"]), "w", format="mp4") as c:
        s = c.add_stream("aac", rate=48000, layout="mono")
        for i in range(10):
            f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp",
                                           layout="mono")
            f.sample_rate, f.pts = 48000, i * 1024
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return files


def test_bad_inputs_one_line_errors_no_output(tmp_path):
    good = tmp_path / "good.mp4"
    make_clip(good, width=160, height=90, seconds=0.3)
    bad = tmp_path / "bad"
    bad.mkdir()
    expected = {"truncated": "", "random": "not a video", "empty": "empty file",
                "png": "still image", "audio": "no video stream (audio only)"}
    for name, path in _bad_inputs(bad, good).items():
        out = tmp_path / f"out_{name}"
        res = _cli("video", path, "-o", out)
        assert res.returncode == 3, (name, res.stderr)
        errors = [line for line in res.stderr.splitlines() if "error" in line]
        assert len(errors) == 1 and "Traceback" not in res.stderr, res.stderr
        assert expected[name] in errors[0], (name, errors[0])
        assert not out.exists() or list(out.iterdir()) == [], name


@pytest.mark.slow
@pytest.mark.parametrize("hdr", [False, True])
def test_two_seconds_1080p_through_the_cli(tmp_path, hdr):
    """The issue's clip: 2 s 1080p (8-bit BT.709 and 10-bit HLG), through the CLI."""
    src = tmp_path / "c.mp4"
    made = make_clip(src, width=1920, height=1080, seconds=2.0, hdr=hdr)
    res = _cli("video", src, "-o", tmp_path / "o", "--look", "authentic",
               *(["--codec", "hevc"] if hdr else []))
    assert res.returncode == 0, res.stderr
    out = tmp_path / "o" / "c.mp4"
    fin, _ = _frames(src)
    fout, _ = _frames(out)
    assert len(fout) == len(fin) == made["frames"] == 60
    assert np.allclose([t for t, _ in fout], [t for t, _ in fin], atol=1e-4)
    assert _audio_samples(out) == _audio_samples(src) > 0
    with av.open(str(out)) as c, av.open(str(src)) as d:
        assert abs(float(c.streams.video[0].duration * c.streams.video[0].time_base)
                   - float(d.streams.video[0].duration * d.streams.video[0].time_base)) < 1e-3
    assert fout[0][1].format.name == ("yuv420p10le" if hdr else "yuv420p")
    if not hdr:  # the accuracy item at the default settings (x264 CRF 18 veryfast)
        de_still, de_look = _de_to_the_still_look(fin[30][1], fout[30][1],
                                                  get_look("authentic"))
        assert de_still < 1.0 and de_look > 1.0, (de_still, de_look)
