"""The develop pipeline as a stage list: every stage declares itself; the fused schedule
computes what the reference computes, stage by stage; strips equal the whole frame."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import numpy as np
import pytest

from redframe import params as P
from redframe.color import rgb_to_rgb_matrix, srgb_encode
from redframe.color.gamut import compress_oklab
from redframe.errors import ParameterError
from redframe.io import dng_opcodes as ops
from redframe.isp import compose, pixel
from redframe.isp._pixel import constants
from redframe.isp.compose import Strip
from redframe.isp.demosaic import DemosaicParams
from redframe.isp.fused import SCHEDULE
from redframe.isp.output import GAMUT_THRESHOLD, gamut_table
from redframe.isp.pipeline import DevelopParams, develop, prepare
from redframe.isp.stage import Stage
from redframe.isp.stages import STAGES
from redframe.looks.oklab import oklab_to_rec2020, rec2020_to_oklab
from redframe.sim.scenes import natural_xyz
from redframe.sim.sensor import linear_camera_scene, simulate_raw

NAMES = [s.name for s in STAGES]


@pytest.fixture(scope="module")
def raw():
    """A noisy Bayer raw (denoise on) with blown highlights (highlight repair on), turned
    (orientation on), wide enough in range that local tone mapping compresses."""
    xyz = natural_xyz("coffee", 160)[:, :150].copy()
    xyz[20:60, 30:80] *= 12.0  # far over white: the highlight repair and the shoulder work
    scene, _ = simulate_raw(xyz, pattern="GRBG", iso=1600, exposure=0.5, seed=3)
    scene.meta = replace(scene.meta, orientation=6)
    return scene


@pytest.fixture(scope="module")
def lens_raw(raw):
    """The raw above carrying DNG opcode lists: a 4-phase GainMap and a FixVignetteRadial
    (OpcodeList2, before demosaic), a 3-plane WarpRectilinear (OpcodeList3, after)."""
    h, w = raw.shape
    shading = [ops.gain_map(np.linspace(1.0, 1.6, 5 * 7).reshape(5, 7) + 0.05 * k,
                            ops.AreaSpec(k // 2, k % 2, h, w, 0, 1, 2, 2)) for k in range(4)]
    shading.append(ops.FixVignetteRadial(3, 0, 0, k=(0.3, 0.1, 0, 0, 0), cx=0.45, cy=0.55))
    warp = ops.warp_rectilinear([(1.0, -0.05 - 0.01 * c, 0.01, 0.0, 0.002, -0.001)
                                 for c in range(3)], cx=0.52, cy=0.47)
    lists = ops.OpcodeLists({2: shading, 3: [warp]})
    return replace(raw, calibration=replace(raw.calibration, opcodes=lists))


@pytest.fixture(scope="module")
def camera():
    """Camera RGB (X-Trans / linear DNG path): white balance runs on three channels."""
    xyz = natural_xyz("coffee", 120)[:, :117]
    return linear_camera_scene(xyz, exposure=1.6 / xyz[..., 1].max())


class _Look:
    """A look is an object with ``apply`` (the look protocol); a small one for tests."""

    name = "test"

    def apply(self, rgb, *, rows, full_shape, display_referred):
        y = np.arange(rows[0], rows[1], dtype=np.float32)[:, None, None] / full_shape[0]
        return np.clip(rgb * (0.9 + 0.1 * y) / (1.0 + rgb), 0.0, 1.0)


#: where a stage is not active with the defaults (the raw above, 8-bit output), the
#: develop settings and scene that make it run
CONFIGS = {
    "white_balance": ("camera", {}),
    "look": ("raw", {"look": _Look()}),
    "lens_shading": ("lens_raw", {}),
    "lens_warp": ("lens_raw", {}),
}


def _context(request, name: str):
    scene_name, kw = CONFIGS.get(name, ("raw", {}))
    scene = request.getfixturevalue(scene_name)
    return prepare(scene, DevelopParams(output_bits=8, **kw))


def _fused_run(stages: list[Stage], i: int, ctx) -> int:
    """How many stages from ``i`` on one kernel of the schedule runs as one piece (0: no
    kernel covers stage ``i``: the fused engine runs its reference)."""
    names = [s.name for s in stages]
    for kernel in SCHEDULE:
        for j in range(i + 1, len(stages) + 1):
            run = names[i:j]
            if not all(n in kernel.covers and kernel.accepts(n, ctx) for n in run):
                break
            if kernel.take(list(run), ctx) == len(run):
                return j - i
    return 0


@pytest.mark.parametrize("name", NAMES)
def test_fused_schedule_equals_the_reference_stage_by_stage(request, name):
    """The input of each stage comes from the reference stages before it; the stage (with
    the stages a kernel fuses it with) then runs by the reference and by the schedule."""
    ctx = _context(request, name)
    ref_ctx = replace(ctx, schedule=())
    stage = next(s for s in STAGES if s.name == name)
    assert stage.enabled(ctx), f"{name} does not run in its test configuration (CONFIGS)"
    h = ctx.shape[0]
    if stage.frame:  # whole-frame stages have one implementation; the engines agree
        ref = develop(ctx.source, replace(ctx.params, engine="reference")).image
        fused = develop(ctx.source, replace(ctx.params, engine="fused")).image
        assert ref.shape == fused.shape
        assert np.abs(ref.astype(int) - fused).max() <= 1
        return
    stages = compose.active_stages(ctx)
    i = [s.name for s in stages].index(name)
    x = compose.run(stages[:i], ref_ctx, Strip(0, h, 0, h))
    n = _fused_run(stages, i, ctx)
    piece = stages[i : i + max(n, 1)]
    ref = compose.run(piece, ref_ctx, Strip(0, h, 0, h), x=None if i == 0 else x)
    fused = compose.run(piece, ctx, Strip(0, h, 0, h), x=None if i == 0 else x,
                        schedule=SCHEDULE)
    if n == 0:  # no kernel: the fused engine runs this very reference
        np.testing.assert_array_equal(fused, ref)
        return
    assert fused.shape == ref.shape and fused.dtype == ref.dtype, [s.name for s in piece]
    if ref.dtype != np.float32:  # quantised: dither and rounding identical but for ties
        diff = np.abs(fused.astype(int) - ref)
        assert diff.max() <= 1 and diff.mean() < 0.002, (diff.max(), diff.mean())
        return
    # float32 rounding, fastmath and the kernels' bit-level pow/log2/exp2 (< 3e-6 relative)
    scale = max(1.0, float(np.abs(ref).max()))
    err = np.abs(fused - ref).max() / scale
    assert err < 2e-4, ([s.name for s in piece], err)


def test_levels_white_balance_and_lens_shading_run_as_one_pass(lens_raw):
    """Where the lens shading is a gain per pixel, the fused schedule levels, balances and
    shades the mosaic in one kernel pass: the reference stages' values (within 2 float32
    ulp), for the whole frame and for a strip starting inside it."""
    ctx = prepare(lens_raw, DevelopParams(output_bits=8))
    stages = compose.active_stages(ctx)[:3]
    names = [s.name for s in stages]
    assert names == ["levels", "white_balance", "lens_shading"]
    assert SCHEDULE[0].take(names, ctx) == 3
    ref_ctx = replace(ctx, schedule=())
    h = ctx.shape[0]
    for a, b in ((0, h), (6, h - 10)):
        ref = compose.run(stages, ref_ctx, Strip(a, b, a, b))
        fused = compose.run(stages, ctx, Strip(a, b, a, b), schedule=SCHEDULE)
        assert fused.shape == ref.shape == (b - a, ctx.shape[1])
        np.testing.assert_allclose(fused, ref, rtol=2.5e-7, atol=0)


def test_every_stage_declares_itself():
    seen = set()
    for s in STAGES:
        assert isinstance(s, Stage)
        assert s.name not in seen
        seen.add(s.name)
        assert s.reads and s.writes and s.cite, s.name
        assert s.apply.__module__.startswith("redframe.isp."), s.name
        if s.params is not None:
            assert hasattr(DevelopParams(), s.params), s.name
    # frame stages come after the strip stages
    kinds = [s.frame for s in STAGES]
    assert kinds == sorted(kinds)


def test_every_stage_parameter_is_declared_with_range_and_meaning():
    for s in STAGES:
        value = getattr(DevelopParams(), s.params) if s.params else None
        cls = type(value) if dataclasses.is_dataclass(value) else None
        if s.name == "demosaic":
            cls = DemosaicParams
        if cls is None:
            continue
        for f in dataclasses.fields(cls):
            assert P.is_param(f), f"{cls.__name__}.{f.name}"
            assert f.metadata["doc"], f"{cls.__name__}.{f.name}"


@pytest.mark.parametrize("name", [s.name for s in STAGES if s.halo or s.grid > 1])
def test_each_halo_is_enough_for_its_stage(request, name):
    """A stage run on rows [a, b) of its input gives rows [a + halo, b - halo) of the whole
    frame's result exactly (the overlap the composer sums is honest)."""
    ctx = replace(_context(request, name), schedule=())
    stages = compose.active_stages(ctx)
    i = [s.name for s in stages].index(name)
    h = ctx.shape[0]
    x = compose.run(stages[:i], ctx, Strip(0, h, 0, h))
    stage = stages[i]
    whole = stage.apply(x, ctx, (0, h))
    halo, g = stage.halo_rows(ctx), max(stage.grid, 2)
    y0, y1 = 48, 80
    a = (y0 - halo) // g * g
    b = y1 + halo
    part = stage.apply(x[a:b], ctx, (a, b))
    np.testing.assert_array_equal(part[y0 - a : y1 - a], whole[y0:y1])


def test_strip_pad_is_the_sum_of_the_active_halos(raw):
    ctx = prepare(raw, DevelopParams())
    halos = {s.name: s.halo_rows(ctx) for s in compose.active_stages(ctx)}
    assert halos["demosaic"] == 8 and halos["denoise"] == 24 and halos["sharpen"] == 3
    assert compose.strip_pad(ctx) == 36  # 8 + 1 + 24 + 3, on the denoiser's 4-row grid
    fast = prepare(raw, DevelopParams(quality="fast"))
    assert compose.strip_pad(fast) == 6  # Malvar 2 + highlights 1 + sharpening 3, grid 2


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"engine": "reference"},
        {"quality": "fast"},
        {"half_size": True},
        {"look": _Look()},
        {"output_bits": None},
        {"output_bits": 16, "engine": "reference"},
    ],
    ids=lambda kw: ",".join(  # objects by their type: the same ids in every xdist worker
        f"{k}={v if isinstance(v, (bool, int, float, str, type(None))) else type(v).__name__}"
        for k, v in kw.items()) or "default",
)
@pytest.mark.parametrize("rows", [24, 50])
def test_strips_equal_the_whole_frame(raw, kw, rows):
    kw = {"output_bits": 8, **kw}
    whole = develop(raw, DevelopParams(strip_rows=0, **kw)).image
    strips = develop(raw, DevelopParams(strip_rows=rows, **kw)).image
    np.testing.assert_array_equal(strips, whole)


def test_strips_equal_the_whole_frame_for_camera_rgb(camera):
    whole = develop(camera, DevelopParams(strip_rows=0, output_bits=8)).image
    np.testing.assert_array_equal(
        develop(camera, DevelopParams(strip_rows=20, output_bits=8, threads=2)).image, whole)


def test_a_look_is_called_with_its_rows_and_the_frame_shape(raw):
    calls = []

    class Spy(_Look):
        def apply(self, rgb, *, rows, full_shape, display_referred):
            calls.append((rows, full_shape, display_referred, rgb.shape[0]))
            return super().apply(rgb, rows=rows, full_shape=full_shape,
                                 display_referred=display_referred)

    develop(raw, DevelopParams(look=Spy(), strip_rows=48))
    h, w = raw.shape
    assert len(calls) > 1
    assert all(shape == (h, w) and not display and n == b - a
               for (a, b), shape, display, n in calls)
    assert calls[0][0][0] == 0 and calls[-1][0][1] == h


def test_plain_callables_are_not_looks(raw):
    with pytest.raises(ParameterError, match="look must be a look"):
        develop(raw, DevelopParams(look=lambda rgb: rgb))


def test_a_new_stage_is_one_module_and_one_line(raw):
    """A stage the schedule does not know runs by its reference inside the fused engine;
    its halo widens the strips' overlap; nothing else changes."""
    seen = []

    def darken(x, ctx, rows):
        seen.append(rows)
        return x * np.float32(0.5)

    extra = Stage(name="darken", params=None, reads="linear Rec.2020", writes="linear Rec.2020",
                  apply=darken, cite="test", halo=2, enabled=lambda ctx: True)
    names = [s.name for s in STAGES]
    stages = STAGES[: names.index("denoise")] + (extra,) + STAGES[names.index("denoise"):]
    p = DevelopParams(output_bits=8, strip_rows=64)
    ctx = prepare(raw, p, stages)
    assert compose.strip_pad(ctx) == 40  # 36 + 2, on the 4-row grid
    fused = develop(raw, p, stages=stages).image
    ref = develop(raw, replace(p, engine="reference"), stages=stages).image
    plain = develop(raw, p).image
    assert seen and fused.mean() < plain.mean()
    diff = np.abs(fused.astype(int) - ref)
    assert diff.max() <= 2 and diff.mean() < 0.05, (diff.max(), diff.mean())


def test_analysis_preview_and_half_size_proof_share_the_composer(raw, monkeypatch):
    """The preview for white balance/exposure is the half-size image run through the
    preview stages; the half-size proof renders the same image through the list."""
    calls = []
    real = compose.run

    def spy(stages, ctx, strip, x=None, schedule=()):
        calls.append((tuple(s.name for s in stages), ctx.kind, ctx.shape))
        return real(stages, ctx, strip, x, schedule)

    monkeypatch.setattr(compose, "run", spy)
    develop(raw, DevelopParams(half_size=True, strip_rows=0))
    h, w = raw.shape
    kinds = {(names, kind, shape) for names, kind, shape in calls}
    assert (("levels", "white_balance", "highlights", "color"), "camera",
            (h // 2, w // 2)) in kinds  # the preview
    assert any(kind == "camera" and shape == (h // 2, w // 2) and "output" in names
               for names, kind, shape in kinds)  # the proof
    assert any(kind == "cfa" and names[-1] == "exposure" for names, kind, _ in kinds)  # noise


def test_the_pixel_srgb_curve_is_the_colour_layers():
    """The develop's per-pixel sRGB encode (shared by both engines) and the colour layer's
    array version (used by io) are the same curve."""
    x = np.concatenate([np.linspace(-0.1, 1.1, 20001), np.geomspace(1e-7, 1, 2000)])
    x = x.astype(np.float32)
    np.testing.assert_allclose(pixel.srgb_encode_np(x), srgb_encode(x), atol=2e-7)


@pytest.mark.parametrize("space", ["srgb", "display-p3"])
def test_the_output_gamut_is_the_one_gamut_compression(space):
    """The output transform's per-pixel gamut compression is the looks' one (constant Oklab
    hue toward the cusp's grey, redframe.color.gamut): the same colours come out, and its
    cheap test (components in [LOW top, HIGH]) lets through only colours it leaves alone."""
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(0, 1, (400_000, 3)) ** 2.2,
                        rng.uniform(-0.3, 1.3, (200_000, 3))]).astype(np.float32)
    table = gamut_table(space)
    got = pixel.gamut_oklab_np(x, table)
    lab = rec2020_to_oklab(x.astype(np.float64) @ rgb_to_rgb_matrix(space, "rec2020").T)
    lightness, a, b = compress_oklab(np.clip(lab[:, 0], 0, 1), lab[:, 1], lab[:, 2], space,
                                     GAMUT_THRESHOLD)
    want = np.clip(oklab_to_rec2020(np.stack([lightness, a, b], -1), space), 0, 1)
    moved = np.any(np.abs(want - np.clip(x, 0, 1)) > 1e-6, axis=1)
    top, low = x.max(axis=1), x.min(axis=1)
    exact = (top <= constants()["GAMUT_HIGH"]) & (low >= constants()["GAMUT_LOW"] * top)
    assert not np.any(moved & exact)  # the cheap test is a superset of what moves
    near = ~exact
    np.testing.assert_allclose(got[near], want[near], atol=2e-6)
    np.testing.assert_array_equal(got[exact], np.clip(x[exact], 0, 1))


def test_the_analysis_order_statistics_are_numpys():
    """redframe.isp.stats (no numpy.ma import): median is np.median's value and dtype
    (odd and even sizes, floats, integers, NaN, 2-D); quantile is np.quantile's for
    sequences of probabilities, and for one probability of a float32 array within a float32
    ulp (NumPy computes that one in float32)."""
    from redframe.isp.stats import median, quantile

    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64, np.int64, np.uint16):
        for n in (1, 2, 3, 10, 11, 4097, 4098):
            a = (rng.random(n) * 1000).astype(dtype)
            m = median(a)
            assert m == np.median(a) and np.asarray(m).dtype == np.median(a).dtype
            for qs in ([0.005, 0.995], [0.01, 0.99], [0.05]):
                assert np.array_equal(quantile(a, qs), np.quantile(a, qs)), (dtype, n, qs)
            one = np.float32(quantile(a, 0.05)) if dtype == np.float32 else quantile(a, 0.05)
            ref = np.quantile(a, 0.05)
            assert abs(one - ref) <= (np.spacing(np.float32(ref)) if dtype == np.float32 else 0)
            if np.issubdtype(dtype, np.floating) and n > 2:
                a[n // 2] = np.nan
                assert np.isnan(median(a)) and np.isnan(np.median(a))
                assert np.all(np.isnan(quantile(a, [0.01, 0.99])))
    b = rng.random((31, 40)).astype(np.float32)
    assert median(b) == np.median(b)
    assert np.isnan(median(np.zeros(0))) and np.isnan(quantile(np.zeros(0), 0.5))


def test_the_clip_test_needs_no_fractions_when_nothing_is_near_clipping():
    """fused.clip_weight asks the row maxima first (_fused.clip_row_max, the maxima
    clip_fraction gives) and makes no frame-sized array of fractions when no row reaches
    the threshold; with one near-clip pixel it gives the reference stage's weights."""
    from redframe.isp import _fused, fused
    from redframe.isp.highlights import clip_weight as reference

    rng = np.random.default_rng(0)
    x = (rng.random((60, 80, 3)) * 0.5).astype(np.float32)
    gain = np.array([1.5, 1.0, 1.8], np.float32)
    inv = np.array([1.0, 1.1, 0.9], np.float32)
    a, b = np.empty(60, np.float32), np.empty(60, np.float32)
    _fused.clip_row_max(x, gain, inv, a)
    _fused.clip_fraction(x, gain, inv, np.empty_like(x), b)
    assert np.array_equal(a, b)
    clip = np.ones(3)
    assert fused.clip_weight(x, clip, 0.9) is None
    x[30, 40] = 0.98
    w = fused.clip_weight(x, clip, 0.9)
    np.testing.assert_allclose(w, reference(x, clip, 0.9), atol=1e-6)
