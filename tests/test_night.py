"""Night mode: burst simulator, reference choice, alignment, merge, DNG, files, bad input.

The quality measurements (gain against the sqrt(N) limit, ghosting, the contenders) are in
test_night_quality.py; these tests check that every piece does what it says.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from conftest import write_burst_dngs

from redframe.burst import (
    AlignParams,
    BurstParams,
    HandheldMotion,
    MergeParams,
    align_and_merge,
    align_frame,
    build_pyramid,
    check_burst,
    merge_burst,
    merge_rgb,
    select_reference,
    simulate_burst,
    write_merged_dng,
)
from redframe.burst.measure import alignment_errors, normalised, psnr
from redframe.burst.merge import FramePlanes, RobustMerger, grey_from_mosaic, merge_reference
from redframe.burst.night import dng_data
from redframe.errors import InputError, OutputError, UsageError
from redframe.io.scene import CFA_PATTERNS
from redframe.jobs import night_files
from redframe.sim.scenes import natural_xyz


def scene(name: str = "astronaut", size: int = 256) -> np.ndarray:
    xyz = natural_xyz(name, size)
    return xyz[: xyz.shape[0] // 2 * 2, : xyz.shape[1] // 2 * 2]


@pytest.fixture(scope="module")
def burst():
    return simulate_burst(scene("astronaut", 256), 6, iso=3200, exposure=0.35, seed=4)


def write_frames(sim, folder, stem="frame") -> list[str]:
    return write_burst_dngs(sim, folder, stem)


# --- simulator -------------------------------------------------------------------------


def test_simulator_truth_and_motion_are_consistent(burst):
    """Each frame's clean image, sampled where the true flow says, is the reference's."""
    sim = burst
    assert len(sim.frames) == 6 and sim.frames[0].mosaic.dtype == np.uint16
    h, w = sim.frames[0].shape
    yy, xx = np.mgrid[16 : h - 16, 16 : w - 16]
    pts = np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float64)
    for i in (1, 3, 5):
        u = sim.true_flow(0, i, pts)
        mx = (pts[:, 0] + u[:, 0]).reshape(xx.shape).astype(np.float32)
        my = (pts[:, 1] + u[:, 1]).reshape(xx.shape).astype(np.float32)
        moved = cv2.remap(sim.clean[i][..., 1], mx, my, cv2.INTER_CUBIC)
        ref = sim.clean[0][16 : h - 16, 16 : w - 16, 1]
        assert psnr(moved, ref) > 40.0  # exact up to interpolation of the truth itself
        assert 0.5 < np.abs(u).max() < 15  # handheld: a few pixels, not nothing
    # the noisy frame is the clean one plus noise with the calibration's variance
    cal = sim.frames[0].calibration
    x = sim.clean_mosaic(0)
    resid = normalised(sim.frames[0]) - x
    var = cal.noise_profile[0] * np.clip(x, 0, None) + cal.noise_profile[1]
    assert 0.9 < np.mean(resid**2 / var) < 1.1


def test_simulator_moving_object_mask():
    sim = simulate_burst(scene("coffee", 256), 5, moving_object=True, seed=1)
    mask = sim.moving_mask(2)
    assert 0.05 < mask.mean() < 0.4
    assert all(a.shape == sim.frames[0].shape for a in sim.object_alpha)
    assert not simulate_burst(scene(), 2, seed=1).moving_mask(0).any()


def test_simulator_refuses_odd_scenes():
    with pytest.raises(ValueError, match="even"):
        simulate_burst(np.zeros((31, 32, 3)), 2)


# --- reference and alignment ------------------------------------------------------------


def test_reference_is_the_sharpest_of_the_first_frames():
    sim = simulate_burst(scene("astronaut", 256), 5, iso=800, seed=2)
    blurred = []
    for i, f in enumerate(sim.frames):
        if i != 1:  # every frame but the second has motion blur
            cam = cv2.GaussianBlur(sim.clean[i], (0, 0), 2.0)
            from redframe.sim.sensor import mosaic_from_rgb

            cal = f.calibration
            dn = cal.black_level[0, 0] + mosaic_from_rgb(cam, f.calibration.pattern) * (
                cal.white_level - cal.black_level[0, 0])
            f = dataclasses.replace(f, mosaic=np.rint(dn).astype(np.uint16))
        blurred.append(f)
    greys = [grey_from_mosaic(f.mosaic, f.calibration.black_level, f.calibration.white_level)
             for f in blurred]
    assert select_reference(greys, 3) == 1
    assert select_reference(greys, 1) == 0  # only the first frame was a candidate
    assert align_and_merge(blurred).reference == 1


@pytest.mark.parametrize("pattern", CFA_PATTERNS)
def test_alignment_is_subpixel_for_every_cfa_phase(pattern):
    sim = simulate_burst(scene("coffee", 384), 4, iso=3200, pattern=pattern, seed=7,
                         motion=HandheldMotion(translation=8.0, rotation=0.6))
    result = align_and_merge(sim.frames)
    errors = alignment_errors(sim, result)
    assert np.median(errors) < 0.25, np.median(errors)
    assert np.percentile(errors, 90) < 1.0


def test_alignment_keeps_every_level_for_inspection(burst):
    f0, f1 = burst.frames[0], burst.frames[1]
    cal = f0.calibration
    grey0 = grey_from_mosaic(f0.mosaic, cal.black_level, cal.white_level)
    grey1 = grey_from_mosaic(f1.mosaic, cal.black_level, cal.white_level)
    pyramid = build_pyramid(grey0, AlignParams())
    a = align_frame(pyramid, grey1, AlignParams())
    ty, tx = len(a.centres_y), len(a.centres_x)
    assert a.displacement.shape == (ty, tx, 2) and a.local.shape == (ty, tx, 2)
    assert len(a.levels) == len(pyramid.levels) >= 3
    assert a.model.shape == (2, 3) and a.from_model.mean() > 0.9  # static scene: camera motion
    # without the global model the tiles alone still track (less precisely)
    tiles = align_frame(pyramid, grey1, AlignParams(global_model="none"))
    assert tiles.model is None
    assert np.median(np.abs(tiles.displacement - a.displacement)) < 0.5


def test_parameters_are_validated():
    with pytest.raises(ValueError):
        AlignParams(factors=(2, 2), tile_sizes=(16, 16), radii=(1, 4))
    with pytest.raises(ValueError):
        MergeParams(t_lo=5, t_hi=4)
    with pytest.raises(ValueError):
        MergeParams(interpolation="nearest")


# --- merge ------------------------------------------------------------------------------


def test_strip_schedule_equals_the_reference_math(burst):
    """RobustMerger (strips, threads, uint16 resampling) == merge_reference (whole frames)."""
    frames = burst.frames
    cal = frames[0].calibration
    planes = [FramePlanes.from_mosaic(f.mosaic, cal.black_level, cal.white_level) for f in frames]
    ref = planes[0].to_float()
    grey = [grey_from_mosaic(f.mosaic, cal.black_level, cal.white_level) for f in frames]
    pyramid = build_pyramid(grey[0], AlignParams())
    alignments = [align_frame(pyramid, g, AlignParams()) for g in grey[1:]]
    merger = RobustMerger(ref, cal.noise_profile, MergeParams(), strip_rows=24, threads=2)
    for p, a in zip(planes[1:], alignments, strict=True):
        merger.add(p, a)
    fast, fast_w = merger.result()
    slow, slow_w, _ = merge_reference(ref, [(p.to_float(), a) for p, a in
                                            zip(planes[1:], alignments, strict=True)],
                                      cal.noise_profile, MergeParams())
    noise = np.sqrt(cal.noise_profile[1])
    assert np.abs(fast_w - slow_w).mean() < 0.01
    assert np.abs(fast - slow).mean() < 0.01 * noise  # the uint16 resampling rounds to 1 DN
    assert np.percentile(np.abs(fast - slow), 99.9) < 0.2 * noise


def test_merged_scene_develops_like_a_raw(burst):
    from redframe.isp.pipeline import DevelopParams, develop

    result = align_and_merge(burst.frames)
    merged = result.scene
    ref = burst.frames[result.reference]
    assert merged.mosaic.dtype == np.float32 and merged.mosaic.shape == ref.mosaic.shape
    assert merged.calibration.pattern == ref.calibration.pattern
    np.testing.assert_array_equal(merged.calibration.black_level, ref.calibration.black_level)
    assert merged.meta.iso == ref.meta.iso and merged.meta.make == ref.meta.make
    assert result.merged[0] == result.reference and len(result.merged) == 6
    assert 5.0 < result.effective_frames <= 6.0
    assert any(n.startswith("night: merged 6 of 6") for n in merged.notes)
    out = develop(merged, DevelopParams(output_bits=8)).image
    assert out.shape == (*ref.shape, 3) and out.dtype == np.uint8
    assert merge_burst(burst.frames).mosaic.shape == ref.mosaic.shape


def test_odd_sized_frames_keep_their_last_row_and_column():
    sim = simulate_burst(scene("astronaut", 256), 3, seed=5)
    frames = [dataclasses.replace(f, mosaic=f.mosaic[:255, :253]) for f in sim.frames]
    merged = merge_burst(frames)
    assert merged.mosaic.shape == (255, 253)
    ref = frames[0].mosaic
    np.testing.assert_array_equal(merged.mosaic[254], ref[254].astype(np.float32))
    np.testing.assert_array_equal(merged.mosaic[:, 252], ref[:, 252].astype(np.float32))


def test_merged_dng_reads_back_with_rawpy(tmp_path, burst):
    import rawpy

    from redframe.io.decode import read_image

    merged = merge_burst(burst.frames)
    path = write_merged_dng(tmp_path / "night.dng", merged)
    data, black, white = dng_data(merged)
    assert white == 4 * int(merged.calibration.white_level)  # 14-bit raw: 2 more bits
    with rawpy.imread(str(path)) as raw:
        np.testing.assert_array_equal(raw.raw_image_visible, data)
        assert raw.white_level == white
        assert list(raw.black_level_per_channel) == [int(b) for b in black.ravel()]
        rgb = raw.postprocess(use_camera_wb=True)
        assert rgb.shape == (*merged.shape, 3) and rgb.mean() > 5
    back = read_image(path)
    span = merged.calibration.white_level - merged.calibration.black_level[0, 0]
    assert np.abs(normalised(back) - normalised(merged)).max() <= 0.6 / (4 * span)


# --- bad input --------------------------------------------------------------------------


def _with(frame, **meta):
    return dataclasses.replace(frame, meta=dataclasses.replace(frame.meta, **meta))


def test_bursts_that_cannot_be_merged_are_refused(burst):
    frames = burst.frames
    small = dataclasses.replace(frames[2], mosaic=frames[2].mosaic[:128, :128])
    with pytest.raises(InputError, match=r"frame 3 is 128x128 but frame 1 is 256x256"):
        check_burst([frames[0], frames[1], small])
    with pytest.raises(InputError, match="another camera"):
        check_burst([frames[0], _with(frames[1], make="Other", model="X1")])
    other_cfa = dataclasses.replace(frames[1], calibration=dataclasses.replace(
        frames[1].calibration, pattern="BGGR"))
    with pytest.raises(InputError, match="CFA pattern BGGR"):
        check_burst([frames[0], other_cfa])
    with pytest.raises(InputError, match="exposed 4.00x"):
        check_burst([frames[0], _with(frames[1], iso=frames[0].meta.iso * 4)])
    rgb = dataclasses.replace(frames[1], mosaic=None, rgb=np.zeros((256, 256, 3), np.float32),
                              space="rec2020")
    with pytest.raises(InputError, match="all raws or all pictures"):
        check_burst([frames[0], rgb])
    nan = dataclasses.replace(frames[1], mosaic=frames[1].mosaic.astype(np.float32))
    nan.mosaic[3, 3] = np.nan
    with pytest.raises(InputError, match="non-finite"):
        check_burst([frames[0], nan])
    with pytest.raises(UsageError):
        check_burst([])
    with pytest.raises(UsageError, match="reference frame index 9"):
        align_and_merge(frames, BurstParams(reference=9))


def test_a_single_frame_is_returned_with_a_warning(burst):
    result = align_and_merge(burst.frames[:1])
    assert result.scene.mosaic is burst.frames[0].mosaic
    assert result.warnings and "single frame" in result.warnings[0]
    assert any(n.startswith("warning:") for n in result.scene.notes)


def test_a_frame_of_another_scene_is_left_out_with_a_warning(burst):
    stranger = simulate_burst(scene("rocket", 256), 1, iso=3200, exposure=0.35, seed=9)
    frames = list(burst.frames[:4]) + stranger.frames
    result = align_and_merge(frames)
    assert 4 in result.dropped and 4 not in result.merged
    assert len(result.merged) == 4
    assert any("frame 5" in w for w in result.warnings)
    # and the merge is as good as without it
    clean = align_and_merge(burst.frames[:4])
    assert np.abs(normalised(result.scene) - normalised(clean.scene)).mean() < 1e-3


def test_frames_with_no_overlap_give_the_reference_alone_with_a_warning():
    a = simulate_burst(scene("astronaut", 256), 1, iso=3200, seed=1).frames[0]
    b = simulate_burst(scene("rocket", 256), 1, iso=3200, seed=2).frames[0]
    result = align_and_merge([a, b])
    assert result.merged == [result.reference] and len(result.dropped) == 1
    assert "not a merge" in result.warnings[-1]
    np.testing.assert_array_equal(result.scene.mosaic,
                                  [a, b][result.reference].mosaic.astype(np.float32))


def test_a_corrupt_frame_that_decodes_is_rejected_by_the_merge(burst):
    """A frame of garbage (a half-written file decoded as noise) must not be averaged in."""
    rng = np.random.default_rng(0)
    garbage = dataclasses.replace(burst.frames[3], mosaic=rng.integers(
        600, 4000, burst.frames[3].mosaic.shape).astype(np.uint16))
    frames = list(burst.frames[:3]) + [garbage]
    result = align_and_merge(frames, BurstParams(reference=0))
    assert 3 in result.dropped and len(result.merged) == 3


# --- RGB path ---------------------------------------------------------------------------


def test_rgb_burst_from_jpegs_is_merged(tmp_path):
    """JPEG frames (developed from a simulated burst) merge on luma; the merge is closer to
    the developed truth than the reference JPEG."""
    from redframe.burst.measure import _truth_scene, colorimetric
    from redframe.color import rgb_to_rgb_matrix, srgb_encode
    from redframe.io.decode import read_image
    from redframe.io.encode import write_image
    from redframe.isp.pipeline import develop

    sim = simulate_burst(scene("coffee", 320), 6, iso=1600, exposure=0.5, seed=3)
    p8 = dataclasses.replace(colorimetric(False), output_bits=8)
    paths = []
    for i, f in enumerate(sim.frames):
        out = develop(f, p8)
        paths.append(write_image(tmp_path / f"f{i}.jpg", out.image, format="jpeg",
                                 meta=out.meta, quality=95))
    merged = merge_rgb(paths, BurstParams(reference=0))
    assert merged.space == "rec2020" and merged.rgb.shape == (*sim.frames[0].shape, 3)
    truth = develop(_truth_scene(sim, 0), colorimetric(False)).image
    m = rgb_to_rgb_matrix("rec2020", "srgb").astype(np.float32)

    def enc(lin):
        return srgb_encode(np.clip(lin @ m.T, 0, 1))[16:-16, 16:-16]

    single = enc(read_image(paths[0]).rgb)
    assert psnr(enc(merged.rgb), truth[16:-16, 16:-16]) > psnr(single, truth[16:-16, 16:-16]) + 3


# --- files ------------------------------------------------------------------------------


def test_night_files_writes_the_picture_and_the_dng(tmp_path, burst):
    import rawpy
    from PIL import Image

    paths = write_frames(burst, tmp_path)
    broken = tmp_path / "broken.dng"
    broken.write_bytes(b"II*\x00" + b"\x00" * 64)
    stages = []
    result = night_files(paths + [str(broken)], tmp_path / "out" / "night.jpg",
                         dng=tmp_path / "out" / "night.dng", frame="classic",
                         progress=lambda stage, done, total: stages.append((stage, done, total)))
    with Image.open(result.output) as im:
        assert im.format == "JPEG" and im.size[0] == 256 and im.size[1] > 256  # framed
    with rawpy.imread(str(result.dng)) as raw:
        assert raw.raw_image_visible.shape == (256, 256)
    assert str(broken) in result.skipped and result.notes[0].startswith("warning: broken.dng")
    assert len(result.used) == 6 and result.used[0] in paths  # the reference first
    for stage in ("decode", "align+merge", "develop", "write"):
        assert (stage, 1, 1) in stages or any(s == stage and d == t for s, d, t in stages)
    with pytest.raises(OutputError, match="exists"):
        night_files(paths, result.output)
    result2 = night_files(paths[:3], result.output, overwrite=True, look="authentic")
    assert result2.output == result.output


def test_night_files_refuses_bad_requests(tmp_path, burst):
    paths = write_frames(burst, tmp_path)
    with pytest.raises(UsageError, match="unknown output type"):
        night_files(paths, tmp_path / "night.bmp")
    with pytest.raises(UsageError, match="at least one frame"):
        night_files([], tmp_path / "night.jpg")
    with pytest.raises(InputError, match="no frame of the burst could be read"):
        night_files([str(tmp_path / "missing.dng")], tmp_path / "night.jpg")
    jpg = night_files(paths[:2], tmp_path / "two.jpg").output
    with pytest.raises(UsageError, match="--dng needs raw frames"):
        night_files([str(jpg), str(jpg)], tmp_path / "rgb.jpg", dng=tmp_path / "rgb.dng")
    with pytest.raises(InputError, match="all raws or all pictures"):
        night_files([paths[0], str(jpg)], tmp_path / "mixed.jpg")
