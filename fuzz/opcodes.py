"""Target ``opcodes``: a DNG opcode list (OpcodeList1/2/3, tags 51008/51009/51022) through
:func:`redframe.io.dng_opcodes.parse_opcode_list`, the writer
(:func:`~redframe.io.dng_opcodes.encode_opcode_list`: what it parsed must encode, and
the encoding must parse back to the same bytes), then the lens corrections' plan
(:func:`redframe.isp.lens.plan_lens`, :func:`~redframe.isp.lens.describe_lens`) and the
two lens stages (``redframe.isp.lens_shading.STAGE``, ``redframe.isp.lens_warp.STAGE``:
their halos, the whole frame, and for the mosaic a strip starting on an odd row, which
must equal the whole frame's rows) on a 24x32 synthetic raw: finite values in, finite
values out (the demosaic that follows refuses anything else).

Input: 1 byte, then the list. The byte: ``& 3`` the list number (0 and 3: 1, 1: 2, 2: 3);
``>> 2 & 3`` the frame (0 and 3: the RGGB mosaic; 1: its 2x2-binned half-size proof; 2: a
linear DNG's camera RGB); ``>> 4 & 3`` the lens settings (default; ``crop = none``;
distortion off; TCA and fixes off); bit 6: the list is read from a tiny TIFF's tag by
:func:`redframe.io.raw.opcode_lists` (tifffile; the tag's count and offset checks; a
malformed list becomes the develop's error, raised by the plan) instead of parsed
directly. Seeds: every opcode redframe reads, written with the module's own writer
(WarpRectilinear 1 and 3 planes, WarpRectilinear2 reciprocal with odd terms and a valid
range, WarpFisheye, a 4-phase GainMap, an RGB GainMap, FixVignetteRadial,
FixBadPixelsConstant/List, TrimBounds, MapTable, MapPolynomial, Delta/Scale per
row/column, an optional unknown opcode), on each frame, and a few truncated lists."""

from __future__ import annotations

import functools
import struct
from dataclasses import replace

import numpy as np

from fuzz.harness import Target, temp_file
from redframe import _threads
from redframe.io import dng_opcodes as ops
from redframe.io.metadata import Metadata
from redframe.io.scene import RawCalibration, Scene
from redframe.isp import lens_shading, lens_warp
from redframe.isp.lens import LensParams, describe_lens
from redframe.isp.levels import LevelsParams
from redframe.isp.pipeline import DevelopParams, half_size_scene
from redframe.isp.stage import Context, Plan

INSTRUMENT = ("redframe",)  # top-level packages (atheris matches those)
H, W = 24, 32
STAGES = (lens_shading.STAGE, lens_warp.STAGE)
LENS = (LensParams(), LensParams(crop="none"), LensParams(distortion=False),
        LensParams(tca=False, fixes=False))
#: the second strip of the mosaic starts on an odd row (the CFA phase of its first row flips)
STRIP = (7, H)
VERSION = 0x01030000


@functools.cache
def _frames():
    """(scene, source, kind, params per lens setting) for the three frames; the inputs."""
    from redframe.sim.sensor import NIKON_D65_MATRIX

    rng = np.random.default_rng(13)
    mosaic = (512 + rng.integers(0, 14000, (H, W))).astype(np.uint16)
    mosaic[3, 5] = 4095  # FixBadPixelsConstant's seeds name 4095
    cal = RawCalibration("RGGB", np.full((2, 2), 512, np.float32), 15000.0,
                         xyz_to_camera=NIKON_D65_MATRIX, as_shot_neutral=np.array([0.5, 1, 0.7]))
    cfa = Scene(Metadata(), mosaic=mosaic, calibration=cal, space="cfa")
    lin_cal = replace(cal, pattern=None, black_level=np.full(3, 256, np.float32))
    lin = Scene(Metadata(), rgb=(256 + rng.random((H, W, 3)) * 9000).astype(np.float32),
                calibration=lin_cal, space="camera")
    half = half_size_scene(cfa)

    def params(half_size: bool):
        return [DevelopParams(engine="reference", lens=lens, half_size=half_size,
                              levels=LevelsParams()) for lens in LENS]

    return ((cfa, cfa, "cfa", params(False)), (half, cfa, "camera", params(True)),
            (lin, lin, "camera", params(False)))


INPUTS = {
    "cfa": np.random.default_rng(5).random((H, W)).astype(np.float32),
    "rgb": np.random.default_rng(6).random((H, W, 3)).astype(np.float32),
}


def _with_lists(scene: Scene, lists) -> Scene:
    return replace(scene, calibration=replace(scene.calibration, opcodes=lists))


def _apply(lists: ops.OpcodeLists, sel: int) -> None:
    frames = _frames()
    frame, source, kind, params = frames[(sel >> 2) & 3] if (sel >> 2) & 3 < 3 else frames[0]
    p = params[(sel >> 4) & 3]
    scene = _with_lists(frame, lists)
    source = scene if source is frame else _with_lists(source, lists)
    describe_lens(source, p.lens)
    ctx = Context(p, scene, kind, Plan(), source=source, stages=STAGES)
    lens_shading.STAGE.analyse(ctx)  # plan_lens: raises InputError for a list's error
    h, w = ctx.shape
    shading, warp = (s.enabled(ctx) for s in STAGES)
    if not (shading or warp):
        return
    threads = _threads.get_num_threads()
    _threads.set_num_threads(1)  # the kernels on 24 rows: OpenMP's start-up dominates
    try:
        if shading:
            halo = lens_shading.STAGE.halo_rows(ctx)
            x = INPUTS["cfa"] if kind == "cfa" else INPUTS["rgb"][:h, :w]
            whole = lens_shading.STAGE.apply(x.copy(), ctx, (0, h))
            assert whole.shape == x.shape and whole.dtype == np.float32, whole.shape
            # the demosaic after it refuses non-finite values (an internal error, exit 70)
            assert np.isfinite(whole).all(), "lens shading made values non-finite"
            if kind == "cfa":
                a, b = STRIP
                part = lens_shading.STAGE.apply(x[a - halo : b].copy(), ctx, (a - halo, b))
                same = np.array_equal(part[halo:], whole[a:b], equal_nan=True)
                assert same, "a strip differs from the whole frame"
        if warp:
            lens_warp.STAGE.halo_rows(ctx)
            rgb = INPUTS["rgb"][:h, :w]
            out = lens_warp.STAGE.apply(rgb.copy(), ctx, (0, h))
            assert out.shape == rgb.shape and out.dtype == np.float32, out.shape
            assert np.isfinite(out).all(), "the warp made values non-finite"
    finally:
        _threads.set_num_threads(threads)


def _from_file(body: bytes, n: int):
    """The list as tag 51008/51009/51022 of a tiny TIFF, through
    :func:`redframe.io.raw.opcode_lists` (a malformed list is kept as its ``error``)."""
    import io

    import tifffile

    from redframe.io.raw import opcode_lists

    buf = io.BytesIO()
    tifffile.imwrite(buf, np.zeros((2, 2), np.uint16), metadata=None, subfiletype=0,
                     extratags=[(ops.OPCODE_TAGS[n], 7, len(body), body, True)])
    with temp_file(buf.getvalue(), ".dng") as path:
        return opcode_lists(str(path))


def one(data: bytes) -> None:
    sel, body = (data[0], data[1:]) if data else (0, b"")
    n = 1 + (sel & 3) % 3
    if sel & 64:
        lists = _from_file(body, n)
        if lists is None:  # an empty list
            assert not ops.parse_opcode_list(body, n)[0]
            return
        got = lists.lists.get(n, [])
    else:
        got, warnings = ops.parse_opcode_list(body, n)
        lists = ops.OpcodeLists({n: got}, warnings)
    assert len(got) <= ops.MAX_OPCODES
    # the writer: every opcode we read encodes, and the encoding reads back unchanged
    known = [op for op in got if not isinstance(op, ops.Unsupported)]
    encoded = ops.encode_opcode_list(known)
    try:
        again, _ = ops.parse_opcode_list(encoded, n)
    except ops.OpcodeError as exc:
        raise AssertionError(f"our own encoding of a list we read is refused: {exc}") from exc
    assert ops.encode_opcode_list(again) == encoded, "the encoding does not read back"
    lists.summary()
    _apply(lists, sel)


# ----------------------------------------------------------------------------- seeds


def _area(top=0, left=0, plane=0, planes=1, pitch=1, h=H, w=W):
    return ops.AreaSpec(top, left, h, w, plane, planes, pitch, pitch)


def _record(oid: int, body: bytes, flags: int = 0) -> bytes:
    return struct.pack(">4I", oid, VERSION, flags, len(body)) + body


def seed_lists() -> dict[str, tuple[int, bytes]]:
    """name -> (list number, the list's bytes)."""
    warp3 = ops.warp_rectilinear([(1.0, -0.085, 0.012, 0.0, 0.0008, -0.0006),
                                  (1.0, -0.075, 0.010, 0.0, 0.0008, -0.0006),
                                  (1.0, -0.063, 0.008, 0.0, 0.0008, -0.0006)], cx=0.51, cy=0.49)
    warp1 = ops.warp_rectilinear([(1.0, 0.05, 0.0, 0.0, 0.0, 0.0)], flags=1)
    radial = np.zeros((3, 15))
    radial[:, 0], radial[:, 1], radial[:, 2] = 1.0, [0.01, 0.0, -0.01], 0.03
    warp2 = ops.WarpRectilinear(14, VERSION, 0, radial=radial, tangential=np.zeros((3, 2)),
                                valid=np.tile([0.0, 1.2], (3, 1)), reciprocal=True, cx=0.5,
                                cy=0.45)
    fisheye = ops.WarpFisheye(2, VERSION, 0, k=np.array([[1.0, 0.05, 0.0, 0.0]]), cx=0.5,
                              cy=0.5)
    gains = []
    v, u = np.meshgrid(np.linspace(-1, 1, 3), np.linspace(-1, 1, 4), indexing="ij")
    for k in range(4):
        g = 2.0 ** ((1.2 + 0.1 * k) * (u**2 + v**2) / 2)
        gains.append(ops.gain_map(g, _area(k // 2, k % 2, pitch=2)))
    vig = ops.FixVignetteRadial(3, VERSION, 1, k=(0.3, 0.05, 0.0, 0.0, 0.0), cx=0.45, cy=0.55)
    bad_const = ops.FixBadPixelsConstant(4, VERSION, 0, constant=4095, bayer_phase=1)
    bad_list = ops.FixBadPixelsList(5, VERSION, 0, bayer_phase=0,
                                    points=np.array([[10, 4], [7, 9], [23, 31]]),
                                    rects=np.array([[2, 1, 5, 4], [20, 28, 30, 40]]))
    trim = ops.TrimBounds(6, VERSION, 1, top=1, left=2, bottom=H - 1, right=W - 2)
    table = ops.MapTable(7, VERSION, 0, area=_area(0, 1, pitch=2),
                         table=np.linspace(0, 65535, 17).astype(np.uint16))
    poly = ops.MapPolynomial(8, VERSION, 0, area=_area(planes=3), coefficients=(0.0, 1.02, -0.01))
    rows = ops.PerRowColumn(12, VERSION, 0, area=_area(1, 0, pitch=2),
                            values=np.linspace(0.98, 1.02, 12).astype(np.float32))
    cols = ops.PerRowColumn(11, VERSION, 0, area=_area(), values=np.full(W, 1e-3, np.float32))
    rgb_gain = ops.gain_map(np.linspace(1, 1.5, 24).reshape(2, 4, 3), _area(planes=3))
    enc = ops.encode_opcode_list
    unknown = _record(99, b"\0" * 12, flags=1)
    shading = enc([*gains, vig])
    return {
        "warp3": (3, enc([warp3])),
        "warp1+2": (3, enc([warp1, warp2])),
        "warp2": (3, enc([warp2])),
        "fisheye": (3, enc([fisheye])),
        "shading": (2, shading),
        "shading list 1": (1, enc([gains[0], table])),
        "fixes": (2, enc([bad_const, bad_list, table, poly, rows, cols])),
        "trim+unknown": (2, enc([trim, bad_list])[:4] + enc([trim])[4:] + unknown),
        "rgb gain": (2, enc([rgb_gain, poly])),
        "warp in list 2": (2, enc([warp3, vig])),
        "empty": (3, enc([])),
    }


def seeds() -> list[bytes]:
    out = []
    lists = seed_lists()
    for frame in range(3):
        for n, data in lists.values():
            lens = (frame + len(out)) % 4
            out.append(bytes([(n - 1) | frame << 2 | lens << 4 | (len(out) % 5 == 0) << 6])
                       + data)
    # truncated: inside an opcode's header, inside a gain map, inside a warp
    out += [bytes([1]) + lists["shading"][1][:30], bytes([1]) + lists["shading"][1][:150],
            bytes([2]) + lists["warp3"][1][:-9], bytes([2]) + lists["warp2"][1][:3]]
    return out


def _u32(*values: int) -> list[bytes]:
    return [struct.pack(">I", v) for v in values]


TARGET = Target("opcodes", one, seeds, tokens=(
    *_u32(*range(0, 16), 99, VERSION, 0x01040000, 4095, 4096, 4097, 65535, 65536, 65537,
          1_000_000, 1_000_001, 4_000_000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF),
    struct.pack(">i", -1), struct.pack(">4i4I", 0, 0, H, W, 0, 1, 2, 2),
    struct.pack(">4i4I", 0, 0, 1 << 20, 1 << 20, 0, 4, 1, 1),
    *(struct.pack(">d", v) for v in (0.0, -0.0, 0.5, 1.0, -1.0, 2.0, 1e-300, 1e300, 5e-324,
                                     1.7976931348623157e308, float("inf"), float("nan"))),
    *(struct.pack(">f", v) for v in (0.0, 1.0, 1024.0, 1025.0, -1.0, 3.4e38, float("nan"))),
), max_len=64 * 1024)
