"""HDR output (issue 16): Ultra HDR JPEG files from the develop, checked with two decoders.

- the SDR base is the SDR develop, bit for bit (fused and reference engines, with a look);
- the file decodes with libultrahdr (imagecodecs) and with our own reader
  (:mod:`redframe.io.ultrahdr`); the decoded HDR rendition at full boost matches ours
  (median < 1 %, p99 < 5 % in linear light); Pillow opens it as the SDR picture;
- the metadata is valid: MPF sizes and offsets, XMP hdrgm and ISO 21496-1 agree, and our
  ISO reader reads a file libultrahdr made itself;
- a framed Ultra HDR picture's map has the canvas' shape, gain 1 over the frame;
- the CLI: --hdr, --hdr-headroom limits, --hdr with TIFF (warning, SDR only; HEIC and PNG:
  tests/test_hdr_heic.py).
"""

from __future__ import annotations

import io
import re
import subprocess
import sys

import imagecodecs
import numpy as np
import pytest
from PIL import Image

from redframe.frame import frame_plan
from redframe.io.dng import write_dng
from redframe.io.ultrahdr import (
    ISO_URN,
    GainMapMetadata,
    assemble,
    encode_gain_map,
    parse_iso_metadata,
    read_ultrahdr,
    reconstruct,
)
from redframe.isp.hdr import decode_linear, develop_hdr, gain_table, hdr_rendition
from redframe.isp.pipeline import DevelopParams, develop
from redframe.jobs import Job, Recipe, merge_recipe, run_job
from redframe.looks import get_look
from redframe.sim.scenes import hdr_xyz


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "redframe", *args], capture_output=True,
                          text=True, timeout=300)


def _rel(a, b):
    """Relative error in linear light (floor 1e-3 of SDR white: 8-bit code ~1)."""
    return np.abs(a - b) / np.maximum(np.abs(b), 1e-3)


@pytest.mark.parametrize("engine,look,rows", [("fused", None, 48), ("reference", None, 0),
                                              ("fused", "vibrant", 40)])
def test_sdr_bit_identical_and_gain(window, engine, look, rows):
    scene, reg = window
    params = DevelopParams(output_bits=8, engine=engine, strip_rows=rows, threads=2,
                           look=get_look(look) if look else None)
    plain = develop(scene, params)
    hdr = develop_hdr(scene, params, 3.0)
    assert np.array_equal(plain.image, hdr.sdr.image)  # the SDR base is the SDR develop
    g = hdr.gain
    assert g.shape == plain.image.shape[:2] and g.min() >= 1.0 and g.max() <= 8.0
    assert np.median(g[reg["shadow"]]) == 1.0  # shadows and mid-tones: the SDR picture
    assert np.median(g[reg["highlight"]]) > 1.3  # the window gets its light back
    # the HDR rendition keeps the window's texture that the SDR shoulder compresses
    y = decode_linear(plain.image).max(axis=2)
    hdr_y = y * g
    hi = reg["highlight"]
    assert np.std(np.log2(hdr_y[hi])) > 1.2 * np.std(np.log2(y[hi]))


def test_fused_and_reference_gain_agree(window):
    """The fused finish pass computes the gain itself (compiled twin of gain_rows) from the
    denoised light it tone-maps; the reference engine runs gain_rows on its stages' output."""
    scene, reg = window
    fused = develop_hdr(scene, DevelopParams(output_bits=8, engine="fused", strip_rows=40))
    ref = develop_hdr(scene, DevelopParams(output_bits=8, engine="reference"))
    assert any("local tone mapping" in n for n in fused.sdr.notes)  # the LTM's pull-back too
    a, b = fused.gain, ref.gain
    assert np.mean(a > 1) > 0.2  # the window is boosted
    d = np.abs(np.log2(a / b))
    assert np.quantile(d, 0.99) < 1e-4 and d.max() < 1e-3


def test_kernel_gain_is_gain_rows():
    """The finish kernel's gain against the NumPy definition, on light above and below the
    knee, with a local tone map that pulls highlights down (no denoiser: both see the same
    light)."""
    from redframe.isp.fused import finish
    from redframe.isp.hdr import gain_rows, kernel_table
    from redframe.isp.local_tone import LocalToneMap, local_tone_map_apply
    from redframe.isp.tone import ToneParams

    rng = np.random.default_rng(4)
    h, w = 24, 40
    rgb = (np.exp2(rng.uniform(-8, 5, (h, w, 3))) * 0.18).astype(np.float32)
    a = np.full((4, 5), -0.15, np.float32)
    b = np.linspace(-0.5, 0.5, 20, dtype=np.float32).reshape(4, 5)
    ltm = LocalToneMap(a, b, (h, w), 0.7, 10.0)
    table = gain_table(DevelopParams(), 3.0)
    out = np.empty((h, w), np.float32)
    finish(rgb, ltm=ltm, tone=ToneParams(), gain=(kernel_table(table), out))
    top = rgb.max(axis=2)
    want = gain_rows(local_tone_map_apply(rgb, ltm).max(axis=2), top, table)
    assert 0.2 < np.mean(want > 1) < 0.8 and want.max() > 3.0
    assert np.abs(np.log2(out / want)).max() < 2e-3  # the kernel's log2/exp2 in the LTM
    out2 = np.empty((h, w), np.float32)
    finish(rgb, tone=ToneParams(), gain=(kernel_table(table), out2))  # no LTM
    assert np.abs(np.log2(out2 / gain_rows(top, None, table))).max() < 1e-5


def test_curve_extends_the_sdr_curve():
    m0, log_m, log_f, log_h = gain_table(DevelopParams(), 3.0)
    below = log_m <= np.log2(m0)
    assert np.array_equal(log_h[below], log_f[below])  # identical below the knee
    assert np.all(np.diff(log_h) >= -1e-9)  # monotone
    assert abs(log_h[-1] - 3.0) < 0.01 and abs(log_f[-1]) < 0.01  # 8x vs 1x SDR white


def test_ultrahdr_file_two_decoders(tmp_path, window, window_dng):
    out, sdr_out = tmp_path / "hdr", tmp_path / "sdr"
    r = _cli("develop", str(window_dng), "-o", str(out), "--hdr", "--quality", "95")
    assert r.returncode == 0, r.stderr
    r = _cli("develop", str(window_dng), "-o", str(sdr_out), "--quality", "95")
    assert r.returncode == 0, r.stderr
    data = (out / "window.jpg").read_bytes()
    sdr_file = (sdr_out / "window.jpg").read_bytes()
    # a legacy reader sees the SDR picture, exactly the SDR output's pixels
    legacy = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert np.array_equal(legacy, np.asarray(Image.open(io.BytesIO(sdr_file)).convert("RGB")))
    # the base's entropy-coded data is the SDR file's, byte for byte
    uhdr = read_ultrahdr(data)
    assert uhdr.primary[uhdr.primary.index(b"\xff\xdb"):] == sdr_file[sdr_file.index(b"\xff\xdb"):]
    # MPF: two pictures that tile the file; XMP directory length; XMP == ISO numbers
    (a0, s0, o0), (_, s1, o1) = uhdr.mpf_entries
    assert o0 == 0 and o1 == s0 and s0 + s1 == len(data) and a0 == 0x030000
    length = re.search(r'Item:Semantic="GainMap"[^>]*Item:Length="(\d+)"', uhdr.xmp_primary)
    assert length and int(length.group(1)) == s1
    assert 'hdrgm:Version="1.0"' in uhdr.xmp_primary
    m = uhdr.meta
    x = uhdr.xmp
    for key, value in (("GainMapMin", m.gain_min), ("GainMapMax", m.gain_max),
                       ("Gamma", m.gamma), ("OffsetSDR", m.offset_sdr),
                       ("OffsetHDR", m.offset_hdr), ("HDRCapacityMin", m.capacity_min),
                       ("HDRCapacityMax", m.capacity_max)):
        assert abs(float(x[key]) - value) < 1e-5, key
    assert x["BaseRenditionIsHDR"] == "False"
    m.check()
    assert 1.0 < m.gain_max <= 3.0 and m.gain_min == 0.0
    # our HDR rendition, made in process the way the CLI made it
    scene, reg = window
    params = DevelopParams(output_bits=8)
    hd = develop_hdr(scene, params, 3.0)
    ours = hdr_rendition(hd.sdr.image, hd.gain)
    # decoder 1: libultrahdr (imagecodecs), linear light, SDR white = 1, full boost
    dec = imagecodecs.ultrahdr_decode(data).astype(np.float32)[..., :3]
    # decoder 2: ours (Pillow for both JPEGs)
    base = np.asarray(Image.open(io.BytesIO(uhdr.primary)).convert("RGB"))
    gm = np.asarray(Image.open(io.BytesIO(uhdr.gain_map_jpeg)))
    mine = reconstruct(base, gm, m)
    # the file's HDR rendition is ours on the base as stored: the gain map adds < 1 % / 5 %
    ours_on_base = hdr_rendition(base, hd.gain)
    # against our rendition on the uncompressed SDR pixels, the base JPEG's own error
    # (the same as the plain SDR file's) comes on top, and no more than 1 % of the map's
    jpeg_err = _rel(decode_linear(base), decode_linear(hd.sdr.image))
    for decoded in (dec, mine):
        err = _rel(decoded, ours_on_base)
        assert np.median(err) < 0.01 and np.quantile(err, 0.99) < 0.05
        total = _rel(decoded, ours)
        assert np.median(total) < np.median(jpeg_err) + 0.01
        assert np.quantile(total, 0.99) < np.quantile(jpeg_err, 0.99) + 0.05
        hi = reg["highlight"]
        assert np.median(decoded[hi].max(axis=-1)) > 1.3  # above SDR white on the display
    # at no headroom (an SDR display) the gain map is not applied
    sdr_view = reconstruct(base, gm, m, headroom_log2=0.0)
    assert np.allclose(sdr_view, decode_linear(base), atol=1e-5)


def test_our_reader_reads_libultrahdr_files():
    """A file libultrahdr made from an HDR image: our ISO parser and reconstruction agree
    with its own decoder (the layout we write is the one it writes)."""
    h, w = 64, 96
    ramp = np.geomspace(0.01, 6.0, w, dtype=np.float32)
    hdr = np.ones((h, w, 4), np.float16)
    hdr[..., 0], hdr[..., 1], hdr[..., 2] = ramp, ramp * 0.8, ramp * 0.5
    data = imagecodecs.ultrahdr_encode(hdr)
    uhdr = read_ultrahdr(data)
    theirs = imagecodecs.ultrahdr_decode(data).astype(np.float32)[..., :3]
    base = np.asarray(Image.open(io.BytesIO(uhdr.primary)).convert("RGB"))
    gm = np.asarray(Image.open(io.BytesIO(uhdr.gain_map_jpeg)).convert("RGB"))[..., 1]
    mine = reconstruct(base, gm, uhdr.meta)
    # libultrahdr 1.4 turns its own base's YCbCr into RGB with another matrix than JFIF's
    # for the HDR output (per channel up to -7 %/+4 % against Pillow's reading of the same
    # base, which its own 8-bit SDR output matches exactly): compare luminance
    y = np.array([0.2126, 0.7152, 0.0722], np.float32)
    err = _rel(mine @ y, theirs @ y)
    assert np.median(err) < 0.02 and np.quantile(err, 0.99) < 0.05
    sdr8 = imagecodecs.ultrahdr_decode(data, dtype="uint8")[..., :3]
    assert np.array_equal(sdr8, base)


def test_iso_block_round_trip_and_refusals():
    m = GainMapMetadata(0.0, 2.5, 1.0, 1 / 64, 1 / 64, 0.0, 2.5)
    from redframe.io.ultrahdr import iso_metadata

    block = iso_metadata(m)
    assert len(block) == 61 and block[:5] == b"\x00\x00\x00\x00\x40"
    back = parse_iso_metadata(block)
    assert abs(back.gain_max - 2.5) < 1e-6 and abs(back.offset_sdr - 1 / 64) < 1e-9
    with pytest.raises(ValueError):
        parse_iso_metadata(block[:30])
    with pytest.raises(ValueError):
        GainMapMetadata(0.0, 1.0, 1.0, 0.0, 0.0, 2.0, 1.0).check()
    with pytest.raises(ValueError):
        read_ultrahdr(b"\xff\xd8\xff\xd9")


def test_gain_map_exact_for_a_known_gain():
    """A gain that is a function of position: the decoded HDR matches within quantisation."""
    from redframe.io.jpeg_bands import encode_jpeg

    h, w = 64, 128
    xx = np.broadcast_to(np.arange(w, dtype=np.float32), (h, w))
    codes = np.clip(40 + xx * 1.6, 0, 255).astype(np.uint8)[..., None].repeat(3, axis=2)
    gain = np.where(xx > w / 2, 1 + 5 * ((xx - w / 2) / (w / 2)) ** 2, 1).astype(np.float32)
    sdr = decode_linear(codes)
    gm = encode_gain_map(sdr, sdr * gain[..., None])
    data = assemble(encode_jpeg(codes, quality=98, subsampling=0, icc_profile=None,
                                exif=None), gm)
    dec = imagecodecs.ultrahdr_decode(data).astype(np.float32)[..., :3]
    assert np.quantile(_rel(dec, sdr * gain[..., None]), 0.99) < 0.03
    assert ISO_URN in data


def test_framed_ultrahdr_map(tmp_path, window, window_dng):
    out = tmp_path / "framed.jpg"
    recipe = merge_recipe(Recipe(), {"output": {"hdr": True}, "frame": {"layout": "classic"}})
    result = run_job(Job((str(window_dng),), str(out), recipe))
    assert result.error is None, result.error
    data = out.read_bytes()
    uhdr = read_ultrahdr(data)
    canvas = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    gm = np.asarray(Image.open(io.BytesIO(uhdr.gain_map_jpeg)))
    assert gm.shape == canvas.shape[:2]  # the framed picture's aspect (and size)
    scene, _ = window
    photo = develop(scene, DevelopParams(output_bits=8)).image
    x0, y0, x1, y1 = frame_plan(photo, scene.meta, "classic").photo_box
    frame = np.ones(gm.shape, bool)
    frame[max(0, y0 - 8):y1 + 8, max(0, x0 - 8):x1 + 8] = False  # JPEG blocks at the edge
    log_g = uhdr.meta.gain_min + (gm / 255.0) * (uhdr.meta.gain_max - uhdr.meta.gain_min)
    assert np.abs(log_g[frame]).max() < 0.02  # gain 1 over the frame
    assert log_g[y0:y1, x0:x1].max() > 0.4  # the photo keeps its boost


def test_cli_refusals_and_other_formats(tmp_path, window_dng):
    r = _cli("develop", str(window_dng), "-o", str(tmp_path / "a"), "--hdr",
             "--hdr-headroom", "9")
    assert r.returncode == 2 and "--hdr-headroom" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "a").exists() or not any((tmp_path / "a").iterdir())
    r = _cli("develop", str(window_dng), "-o", str(tmp_path / "b"), "--hdr", "--format", "tiff")
    assert r.returncode == 0, r.stderr
    assert "without a gain map" in r.stderr
    assert (tmp_path / "b" / "window.tif").is_file()


def test_night_feeds_hdr(tmp_path):
    from redframe.burst import simulate_burst

    xyz, reg = hdr_xyz((128, 160), 8.0)  # the window clips on the sensor: repaired
    sim = simulate_burst(xyz, 3, iso=200, exposure=1.0, seed=2)
    paths = []
    for i, frame in enumerate(sim.frames):
        cal = frame.calibration
        p = tmp_path / f"f{i}.dng"
        write_dng(p, frame.mosaic, pattern=cal.pattern, black_level=cal.black_level,
                  white_level=int(cal.white_level), xyz_to_camera=cal.xyz_to_camera,
                  as_shot_neutral=cal.as_shot_neutral, meta=frame.meta,
                  noise_profile=cal.noise_profile)
        paths.append(str(p))
    out = tmp_path / "night.jpg"
    recipe = merge_recipe(Recipe(), {"output": {"hdr": True, "format": "auto"}})
    result = run_job(Job(tuple(paths), str(out), recipe, kind="night"))
    assert result.error is None, result.error
    dec = imagecodecs.ultrahdr_decode(out.read_bytes()).astype(np.float32)[..., :3]
    assert np.median(dec[reg["highlight"]].max(axis=-1)) > 1.3
