"""Lens corrections (issue 15): DNG opcode lists and lensfun, measured on synthetic DNGs
written with our DNG writer and developed through the CLI or the develop pipeline.

- a dot grid captured through a known barrel distortion with lateral CA (WarpRectilinear,
  3 planes): developed dot centres within 0.3 px median / 1.0 px max of the ideal grid,
  R and B within 0.3 px of G (median);
- a flat field shaded by a 4-phase GainMap (-1.5 EV at the corners): uniform within
  1.5 % after develop;
- a dot grid distorted by lensfun's own model of a real lens (reverse transform), tagged
  with its EXIF: corrected within 0.5 px;
- hostile opcode lists: one-line errors or skipped opcodes, never a crash or an allocation
  of what the list claims.
"""

from __future__ import annotations

import struct
import tracemalloc
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import tifffile

from redframe.cli import main
from redframe.color import srgb_decode
from redframe.io import dng_opcodes as ops
from redframe.io.decode import read_image
from redframe.io.dng import write_dng
from redframe.io.metadata import Metadata
from redframe.isp.lens import LensParams, dng_source
from redframe.isp.pipeline import DevelopParams, develop
from redframe.sim.sensor import NIKON_D65_MATRIX, mosaic_from_rgb

H, W = 360, 480
NEUTRAL = np.array([0.5, 1.0, 0.7])
BLACK, WHITE = 512, 15000
#: barrel distortion (kr1 < 0) with lateral CA (red and blue magnified differently) and a
#: little tangential distortion, the optical centre off the middle
WARP = ops.warp_rectilinear([(1.0, -0.085, 0.012, 0.0, 0.0008, -0.0006),
                             (1.0, -0.075, 0.010, 0.0, 0.0008, -0.0006),
                             (1.0, -0.063, 0.008, 0.0, 0.0008, -0.0006)], cx=0.51, cy=0.49)


def _grid(h=H, w=W, step=30, margin=24):
    ys, xs = np.meshgrid(np.arange(margin, h - margin + 1, step, dtype=float),
                         np.arange(margin, w - margin + 1, step, dtype=float), indexing="ij")
    return np.stack([ys.ravel(), xs.ravel()], 1)


def _dots(positions_per_plane, h=H, w=W, sigma=1.8):
    """Camera RGB: grey dots (Gaussian) at each plane's positions on a dark ground."""
    yy, xx = np.mgrid[0:h, 0:w]
    cam = np.zeros((h, w, 3))
    for c, pts in enumerate(positions_per_plane):
        img = np.zeros((h, w))
        for y, x in pts:
            y0, x0 = int(round(y)), int(round(x))
            sl = (slice(max(0, y0 - 8), y0 + 9), slice(max(0, x0 - 8), x0 + 9))
            img[sl] += np.exp(-((yy[sl] - y) ** 2 + (xx[sl] - x) ** 2) / (2 * sigma**2))
        cam[..., c] = (0.03 + 0.5 * img) * NEUTRAL[c]
    return cam


def _write(path, cam, meta=None, **kw):
    dn = np.round(BLACK + mosaic_from_rgb(cam, "RGGB") * (WHITE - BLACK))
    write_dng(path, np.clip(dn, 0, 65535).astype(np.uint16), pattern="RGGB",
              black_level=BLACK, white_level=WHITE, xyz_to_camera=NIKON_D65_MATRIX,
              as_shot_neutral=NEUTRAL,
              meta=meta or Metadata(make="Phone", model="P1", f_number=1.8, focal_length=6.0),
              **kw)
    return path


def _centres(img, ideal, radius=8):
    """Background-subtracted centroid of each plane's dot nearest each ideal position."""
    img = np.asarray(img, np.float64)
    out = []
    for c in range(3):
        ch = img[..., c] - np.median(img[..., c])
        cs = []
        for y, x in ideal:
            y0, x0 = int(round(y)), int(round(x))
            ys, xs = slice(max(0, y0 - radius), y0 + radius + 1), slice(max(0, x0 - radius),
                                                                        x0 + radius + 1)
            win = ch[ys, xs]
            win = np.clip(win - 0.15 * win.max(), 0, None)
            gy, gx = np.mgrid[ys, xs]
            cs.append(((win * gy).sum() / win.sum(), (win * gx).sum() / win.sum()))
        out.append(np.array(cs))
    return out


def _read_tiff(path):
    return tifffile.imread(path).astype(np.float64) / 65535.0


@pytest.fixture(scope="module")
def dot_dng(tmp_path_factory):
    ideal = _grid()
    captured = [np.stack(dng_source(WARP, c, ideal[:, 0], ideal[:, 1], H, W, grid=False), 1)
                for c in range(3)]
    path = tmp_path_factory.mktemp("lens") / "dots.dng"
    return _write(path, _dots(captured), opcodes={3: [WARP]}), ideal


def test_opcode_lists_round_trip_through_our_writer_and_a_second_decoder(tmp_path):
    import rawpy

    gm = ops.gain_map(np.linspace(1, 2, 12).reshape(3, 4), ops.AreaSpec(1, 0, H, W, 0, 1, 2, 2))
    vig = ops.FixVignetteRadial(3, 0x01030000, 1, k=(0.1, 0.02, 0, 0, 0), cx=0.4, cy=0.6)
    poly = ops.MapPolynomial(8, 0x01030000, 0, area=ops.AreaSpec(0, 0, H, W),
                             coefficients=(0.0, 1.01))
    path = _write(tmp_path / "o.dng", _dots([[], [], []]), opcodes={2: [gm, vig, poly],
                                                                     3: [WARP]})
    lists = read_image(path).calibration.opcodes
    got = lists.lists
    assert [op.name for op in got[2]] == ["GainMap", "FixVignetteRadial", "MapPolynomial"]
    assert got[2][0].area == gm.area and np.array_equal(got[2][0].gains, gm.gains)
    assert got[2][1].k == vig.k and got[2][1].optional
    assert (got[2][1].cx, got[2][1].cy) == (0.4, 0.6)
    assert got[2][2].coefficients == (0.0, 1.01)
    assert np.array_equal(got[3][0].radial, WARP.radial)
    assert np.array_equal(got[3][0].tangential, WARP.tangential)
    with rawpy.imread(str(path)) as raw:  # LibRaw still reads the file, pixels untouched
        assert raw.raw_image_visible.shape == (H, W)


def test_warp_rectilinear_dot_grid_through_the_cli(dot_dng, tmp_path):
    path, ideal = dot_dng
    for mode in ("auto", "off"):
        out = tmp_path / mode
        assert main(["develop", str(path), "-o", str(out), "--format", "tiff", "--look",
                     "neutral", "--lens", mode, "--lens-crop", "none"]) == 0
        img = _read_tiff(next(out.glob("*.tif*")))
        r, g, b = _centres(img, ideal)
        err = {c: np.hypot(*(p - ideal).T) for c, p in zip("RGB", (r, g, b), strict=True)}
        if mode == "off":  # the capture really is distorted
            assert np.median(err["G"]) > 2.0
            continue
        for c in "RGB":
            assert np.median(err[c]) <= 0.3 and err[c].max() <= 1.0, (c, np.median(err[c]),
                                                                      err[c].max())
        for c, p in (("R", r), ("B", b)):
            d = np.hypot(*(p - g).T)
            assert np.median(d) <= 0.3, (c, np.median(d))


def test_gain_map_four_phases_flattens_a_shaded_flat_field(tmp_path):
    """Lens shading of -1.5 EV at the corners, a little different per CFA phase (colour
    shading), as 4 GainMaps (RowPitch = ColPitch = 2) in OpcodeList2."""
    pv, ph = 13, 17
    v, u = np.meshgrid(np.linspace(-1, 1, pv), np.linspace(-1, 1, ph), indexing="ij")
    r2 = (u**2 + v**2) / 2  # 1 at the corners
    yy, xx = np.mgrid[0:H, 0:W]
    rr2 = (((xx + 0.5) / W * 2 - 1) ** 2 + ((yy + 0.5) / H * 2 - 1) ** 2) / 2
    gains, shade = [], np.zeros((H, W))
    for k in range(4):
        ev = 1.5 * (1.0 + 0.05 * (k - 1.5))  # the phase's fall-off at the corners
        gains.append(ops.gain_map(2.0 ** (ev * r2), ops.AreaSpec(k // 2, k % 2, H, W, 0, 1, 2, 2)))
        shade[k // 2 :: 2, k % 2 :: 2] = 2.0 ** (-ev * rr2[k // 2 :: 2, k % 2 :: 2])
    flat = np.ones((H, W, 3)) * 0.3 * NEUTRAL
    dn = BLACK + mosaic_from_rgb(flat, "RGGB") * shade * (WHITE - BLACK)
    path = tmp_path / "flat.dng"
    write_dng(path, np.round(dn).astype(np.uint16), pattern="RGGB", black_level=BLACK,
              white_level=WHITE, xyz_to_camera=NIKON_D65_MATRIX, as_shot_neutral=NEUTRAL,
              meta=Metadata(make="Phone", model="P1"), opcodes={2: gains})
    scene = read_image(path)
    for mode, limit in (("off", None), ("auto", 0.015)):
        p = DevelopParams(lens=LensParams(mode=mode), tone_curve=False, output_bits=None)
        y = srgb_decode(develop(scene, p).image)[..., 1]
        spread = (np.percentile(y, 99.5) - np.percentile(y, 0.5)) / np.median(y)
        if limit is None:
            assert spread > 0.5  # the corners are 1.5 EV down
        else:
            assert spread <= limit, spread


def test_fix_vignette_radial_and_strips_equal_the_whole_frame(dot_dng):
    path, _ = dot_dng
    scene = read_image(path)
    vig = ops.FixVignetteRadial(3, 0, 0, k=(0.4, 0.1, 0, 0, 0), cx=0.5, cy=0.5)
    bad = ops.FixBadPixelsList(5, 0, 0, bayer_phase=0, points=np.array([[101, 40], [7, 9]]),
                               rects=np.array([[200, 100, 203, 104]]))
    lists = ops.OpcodeLists({2: [bad, vig], 3: [WARP]})
    lens = replace(scene, calibration=replace(scene.calibration, opcodes=lists))
    for kw in ({}, {"engine": "reference"}, {"quality": "fast"}, {"half_size": True}):
        whole = develop(lens, DevelopParams(strip_rows=0, output_bits=8, **kw)).image
        strips = develop(lens, DevelopParams(strip_rows=40, output_bits=8, threads=2, **kw))
        np.testing.assert_array_equal(strips.image, whole)
    notes = develop(lens, DevelopParams(output_bits=8)).notes
    assert any("FixVignetteRadial (list 2)" in n and "WarpRectilinear" in n for n in notes)


def _list(*records) -> bytes:
    return struct.pack(">I", len(records)) + b"".join(records)


def _record(oid: int, body: bytes, flags: int = 0, size: int | None = None) -> bytes:
    return struct.pack(">4I", oid, 0x01030000, flags, len(body) if size is None else size) + body


def _gain_head(pv, ph, planes=1):
    area = struct.pack(">4i4I", 0, 0, H, W, 0, 1, 2, 2)
    return area + struct.pack(">2I4dI", pv, ph, 0.5, 0.5, 0.0, 0.0, planes)


HOSTILE = {
    "truncated": (_list(_record(3, struct.pack(">7d", 0, 0, 0, 0, 0, 0.5, 0.5)))[:40],
                  "OpcodeList2"),
    "claims more than it holds": (_list(_record(9, _gain_head(4, 4), size=10_000_000)),
                                  "claims 10,000,000 bytes"),
    "a 10^9-point gain map": (_list(_record(9, _gain_head(31623, 31623) + b"\0" * 64)),
                              "at most 4,000,000"),
    "absurd opcode count": (struct.pack(">I", 4_000_000_000), "claims 4,000,000,000 opcodes"),
    "NaN coefficients": (_list(_record(1, struct.pack(">I8d", 1, np.nan, 0, 0, 0, 0, 0, .5, .5))),
                         "not a finite number"),
    "unknown, not optional": (_list(_record(99, b"\0" * 8)), "opcode 99"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_opcode_lists_are_one_line_errors(name, tmp_path, capsys):
    data, message = HOSTILE[name]
    tracemalloc.start()
    with pytest.raises(ops.OpcodeError, match=message.split(" (")[0][:20]):
        ops.parse_opcode_list(data, 2)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20_000_000, peak
    path = _write(tmp_path / "bad.dng", _dots([[], [], []]), opcodes={2: data})
    assert main(["develop", str(path), "-o", str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    # --lens off develops the file anyway
    assert main(["develop", str(path), "-o", str(tmp_path / "off"), "--lens", "off"]) == 0


def test_optional_unknown_and_outside_warps_are_skipped_with_a_warning(tmp_path):
    outside = ops.warp_rectilinear([(3.0, 0, 0, 0, 0, 0)])  # sources far outside the frame
    data = _list(_record(99, b"\0" * 8, flags=1))
    ops_list, warnings = ops.parse_opcode_list(data, 3)
    assert isinstance(ops_list[0], ops.Unsupported) and "skipped opcode 99" in warnings[0]
    nan_optional = _list(_record(1, struct.pack(">I8d", 1, np.nan, 0, 0, 0, 0, 0, .5, .5),
                                 flags=1))
    assert ops.parse_opcode_list(nan_optional, 3)[0] == []
    path = _write(tmp_path / "o.dng", _dots([[], [], []]), opcodes={3: [outside]})
    d = develop(read_image(path), DevelopParams(output_bits=8))
    assert any("outside" in n and "skipped" in n for n in d.notes), d.notes


def test_info_says_which_corrections_and_from_where(dot_dng, capsys):
    path, _ = dot_dng
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "applied: DNG opcodes (--lens auto)" in out and "OpcodeList3: WarpRectilinear" in out
    assert main(["info", str(path), "--lens", "lensfun"]) == 0
    assert "applied: none (--lens lensfun)" in capsys.readouterr().out


LENSFUN = {"make": "Canon", "model": "Canon EOS 5D Mark III",
           "lens": "Canon EF 24-105mm f/4L IS USM", "focal_length": 24.0, "f_number": 8.0}


def test_lensfun_corrects_a_real_lens_model_within_half_a_pixel(tmp_path):
    """Dots rendered through lensfun's *reverse* model of a real lens (distortion + TCA:
    what the lens does), tagged with its EXIF, come back to the ideal grid."""
    from redframe.io.lensfun import match_lens

    h, w = 400, 600
    meta = Metadata(**LENSFUN)
    match, why = match_lens(meta)
    assert match is not None, why
    rev = match.geometry(w, h, autoscale=False, reverse=True)
    uv = rev.coords(0, h).astype(np.float64)  # distorted pixel -> undistorted position
    step, margin = 32, 28
    cam = np.zeros((h, w, 3))
    for c in range(3):
        x, y = uv[..., c, 0], uv[..., c, 1]
        gx = np.clip(np.round((x - margin) / step), 0, (w - 2 * margin) // step)
        gy = np.clip(np.round((y - margin) / step), 0, (h - 2 * margin) // step)
        d2 = (x - (margin + gx * step)) ** 2 + (y - (margin + gy * step)) ** 2
        cam[..., c] = (0.03 + 0.5 * np.exp(-d2 / (2 * 1.8**2))) * NEUTRAL[c]
    ideal = _grid(h, w, step, margin)
    path = _write(tmp_path / "canon.dng", cam, meta=meta)
    scene = read_image(path)
    assert scene.calibration.lensfun is not None, scene.calibration.lensfun_reason
    assert match.has() == {"distortion": True, "tca": True, "vignetting": True}
    for mode, crop in (("off", "none"), ("lensfun", "none")):
        p = DevelopParams(lens=LensParams(mode=mode, crop=crop, vignetting=False),
                          tone_curve=False, output_bits=None)
        g = _centres(develop(scene, p).image, ideal)[1]
        err = np.hypot(*(g - ideal).T)
        if mode == "off":
            assert np.max(err) > 2.0, np.max(err)  # the lens model distorts visibly
        else:
            assert np.median(err) <= 0.25 and err.max() <= 0.5, (np.median(err), err.max())


def test_per_correction_switches_and_the_recipe(dot_dng, tmp_path):
    from redframe.jobs.recipe import dump_recipe, loads_recipe

    path, ideal = dot_dng
    scene = read_image(path)

    def ca(**kw):
        p = DevelopParams(lens=LensParams(crop="none", **kw), tone_curve=False, output_bits=None)
        d = develop(scene, p)
        r, g, b = _centres(d.image, ideal)
        return np.median(np.hypot(*(r - g).T)) + np.median(np.hypot(*(b - g).T)), d.notes

    with_tca, _ = ca()
    without_tca, notes = ca(tca=False)
    assert without_tca > 1.6 * with_tca, (with_tca, without_tca)
    assert any("WarpRectilinear (distortion, 3 planes)" in n for n in notes), notes
    _, notes = ca(distortion=False, tca=False)
    assert not any("lens:" in n for n in notes)
    text = (tmp_path / "r.toml")
    text.write_text('version = 1\n[develop.lens]\nmode = "off"\ncrop = "none"\ntca = false\n')
    recipe = loads_recipe(text.read_text())
    assert (recipe.develop.lens.mode, recipe.develop.lens.crop) == ("off", "none")
    assert loads_recipe(dump_recipe(recipe)).develop.lens == recipe.develop.lens
    with pytest.raises(Exception, match="develop.lens.mode"):
        loads_recipe('version = 1\n[develop.lens]\nmode = "sideways"\n')


def test_35mm_equivalent_from_the_cameras_crop_factor(tmp_path, capsys):
    """No FocalLengthIn35mmFilm and no focal-plane tags: the crop factor lensfun knows for
    the camera (Canon EOS 80D: 1.613) gives it; `redframe info` prints it."""
    meta = Metadata(make="Canon", model="Canon EOS 80D", focal_length=18.0, f_number=4.0)
    path = _write(tmp_path / "apsc.dng", _dots([[], [], []]), meta=meta)
    scene = read_image(path)
    assert scene.meta.focal_length_35mm == round(18.0 * 1.613)
    assert main(["info", str(path)]) == 0
    assert "18 mm (29 mm equivalent)" in capsys.readouterr().out


def test_shading_kernel_matches_the_numpy_gains(tmp_path):
    """The compiled shading pass (GainMaps per CFA phase with pitches, a partial area and
    a FixVignetteRadial) gives the NumPy path's values (apply_ops) within 2 float32 ulp,
    on a strip starting at an odd row, and on the 2x2-binned image."""
    from redframe.isp import lens_shading as ls
    from redframe.isp.pipeline import prepare

    h, w = 120, 160
    rng = np.random.default_rng(3)
    maps = [ops.gain_map(1 + rng.random((5, 7)), ops.AreaSpec(k // 2, k % 2, h, w, 0, 1, 2, 2))
            for k in range(4)]
    maps.append(ops.gain_map(1 + rng.random((3, 4)), ops.AreaSpec(10, 30, 90, 150, 0, 1, 3, 1)))
    vig = replace(ops.FixVignetteRadial(id=3, version=0, flags=0), k=(0.3, -0.1, 0.05, 0.01,
                                                                       -0.002), cx=0.45, cy=0.55)
    path = _write(tmp_path / "shade.dng", np.full((h, w, 3), 0.2), opcodes={2: [*maps, vig]})
    scene = read_image(path)
    ctx = prepare(scene, DevelopParams())
    plan = ctx.plan.lens
    assert len(plan.raw_ops) == 6 and ls._multiplicative(plan)
    a = 37
    x = rng.random((50, w)).astype(np.float32)
    got = ls._apply_gains(x, ctx, (a, a + 50), plan)
    ref = np.empty_like(x)
    for dy in range(2):
        py = (dy - a) % 2
        r = np.arange(a + py, a + 50, 2)
        for dx in range(2):
            g = ls.apply_ops(np.ones((r.size, w // 2), np.float32), plan.raw_ops, r,
                             np.arange(dx, w, 2), 0, h, w, None)
            ref[py::2, dx::2] = x[py::2, dx::2] * g
    assert np.max(np.abs(got - ref) / ref) < 2.5e-7
    binned = ls._binned_gains(SimpleNamespace(shape=(h // 2, w // 2)), plan, scene)
    r, c = 2 * np.arange(h // 2), 2 * np.arange(w // 2)
    red = ls.apply_ops(np.ones((h // 2, w // 2), np.float32), plan.raw_ops, r, c, 0, h, w, None)
    assert np.max(np.abs(binned[..., 0] - red) / red) < 2.5e-7


def test_warp_halo_covers_the_strip_edges_only(dot_dng):
    """The warp's halo is what it reads at the strips' inner edges, less than its largest
    displacement over the frame (at the top and bottom), and strips still compute the
    whole frame's pixels exactly (several strip heights, crop auto and none)."""
    from redframe.isp import compose, lens_warp
    from redframe.isp.pipeline import prepare

    path, _ = dot_dng
    scene = read_image(path)
    for crop in ("auto", "none"):
        lens = LensParams(crop=crop)
        whole = develop(scene, DevelopParams(lens=lens, strip_rows=0)).image
        ctx = prepare(scene, DevelopParams(lens=lens, strip_rows=0))
        h = ctx.shape[0]
        lo, hi = lens_warp._extent(ctx, np.arange(h))
        largest = max(-lo.min(), hi.max())
        for rows in (32, 96, 180):
            p = DevelopParams(lens=lens, strip_rows=rows)
            ctx = prepare(scene, p)
            halo = lens_warp.STAGE.halo_rows(ctx)
            assert halo < largest + lens_warp._REACH
            assert compose.strip_pad(ctx) >= halo
            assert np.array_equal(develop(scene, p).image, whole), (crop, rows)


@pytest.mark.parametrize("shape", [(H, W), (3000, 4000)])
def test_warp_positions_from_a_grid_stay_within_a_hundredth_of_a_pixel(shape):
    """The DNG warp's source positions are interpolated from exact ones on the coarsest
    grid (16, 8, 4 px) whose error, probed at cells' centres and edge midpoints, is within
    0.01 px; measured here at every pixel (every 3rd row at 12 MP): the probes find the
    worst, it is within the tolerance, a coarser grid would not be, and the fixed-point
    maps differ from the exact positions' by at most one 1/32-px step."""
    from redframe.isp import _lens_warp, lens_warp

    h, w = shape
    warp = lens_warp.dng_warp_args(WARP, shape)
    step, grid = lens_warp.position_grid(warp)
    assert step == (16 if w == 4000 else 4)  # the same warp bends 8x faster on 480 px
    rows = np.arange(0, h, 1 if h < 1000 else 3, dtype=np.intp)
    full = _lens_warp.dng_grid_error(rows, np.arange(w, dtype=np.intp), *warp, step, grid)
    tol = lens_warp.GRID_TOLERANCE
    assert 0 < full.max() <= tol
    assert lens_warp.grid_error(warp, step, grid) >= 0.95 * full.max()
    coarser = 2 * step
    assert lens_warp.grid_error(warp, coarser, _lens_warp.dng_grid(*warp, coarser)) > tol
    n = min(h, 300)
    maps = []
    for st, g in ((step, grid), (1, lens_warp._NO_GRID)):
        m1 = np.empty((3, n, w, 2), np.int16)
        m2 = np.empty((3, n, w), np.uint16)
        _lens_warp.dng_maps(0, n, *warp, st, g, m1, m2)
        m1, m2 = m1.astype(np.int64), m2.astype(np.int64)
        maps.append(np.stack([m1[..., 0] * 32 + (m2 & 31), m1[..., 1] * 32 + (m2 >> 5)]))
    assert np.abs(maps[0] - maps[1]).max() == 1  # where the rounding of either flips


def test_a_warp_without_lateral_ca_resamples_the_planes_at_one_set_of_positions():
    """A one-plane warp (or three equal planes) takes the planes-share-positions path
    (positions once, then all three planes per pixel): the values of the per-plane path
    (its maps + remap), of OpenCV's remap of each plane, the same for both spellings, and
    a strip equals the frame's rows, edges (clamped taps) included."""
    import cv2

    from redframe.isp import _lens_warp, lens_warp

    h, w = 96, 128
    rng = np.random.default_rng(3)
    x = rng.random((h, w, 3), dtype=np.float32)
    coef = (1.0, -0.12, 0.02, 0.0, 0.002, -0.001)
    outs = []
    for op in (ops.warp_rectilinear([coef], cx=0.47, cy=0.55),
               ops.warp_rectilinear([coef] * 3, cx=0.47, cy=0.55)):
        warp = lens_warp.dng_warp_args(op, (h, w), scale=0.9)  # reads past the edges
        step, grid = lens_warp.position_grid(warp)
        out = np.empty((h, w, 3), np.float32)
        _lens_warp.dng_warp(x, 0, *warp, step, grid, out, 0)
        m1 = np.empty((3, h, w, 2), np.int16)
        m2 = np.empty((3, h, w), np.uint16)
        _lens_warp.dng_maps(0, h, *warp, step, grid, m1, m2)
        assert np.array_equal(m1[0], m1[2]) and np.array_equal(m2[0], m2[1])
        per_plane = np.empty_like(out)
        _lens_warp.remap_fixed(x, m1, m2, per_plane)
        assert np.array_equal(out, per_plane)
        for c in range(3):
            ref = cv2.remap(np.ascontiguousarray(x[..., c]), m1[c], m2[c], cv2.INTER_CUBIC,
                            borderMode=cv2.BORDER_REPLICATE)
            assert np.abs(out[..., c] - ref).max() < 1e-5
        strip = np.empty((40, w, 3), np.float32)
        _lens_warp.dng_warp(x[10:90], 10, *warp, step, grid, strip, 30)
        assert np.array_equal(strip, out[30:70])
        outs.append(out)
    assert np.array_equal(outs[0], outs[1])


def test_a_phone_without_lens_model_does_not_read_lensfun(tmp_path):
    """No lens model in EXIF and a maker lensfun lists no camera of: decoding and
    developing never import lensfunpy (reading its database costs ~0.1 s); a camera it
    knows gets its crop factor from that maker's files alone."""
    import subprocess
    import sys

    path = _write(tmp_path / "phone.dng", _dots([[], [], []]))
    code = ("import sys; from redframe.cli import main; "
            f"assert main(['develop', {str(path)!r}, '-o', {str(tmp_path / 'out')!r}]) == 0; "
            "assert 'lensfunpy' not in sys.modules, 'lensfunpy imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
    from redframe.io import lensfun

    if lensfun._DB is None:  # the whole database is not read for the crop factor
        assert lensfun.crop_factor(Metadata(make="Canon", model="Canon EOS 80D")) == \
            pytest.approx(1.613)
        assert lensfun._DB is None
