"""DNG opcode lists (tags OpcodeList1/2/3 = 51008/51009/51022): parse and write.

Adobe DNG specification 1.4-1.7, chapter 6 ("Opcode List Processing"); the byte layout and
the meaning of every field follow the specification and, where it is silent, the DNG SDK
1.7 (``dng_opcodes.cpp``, ``dng_gain_map.cpp``, ``dng_lens_correction.cpp``,
``dng_misc_opcodes.cpp``, ``dng_bad_pixels.cpp``).

An opcode list is big-endian whatever the file's byte order: ``uint32`` count, then per
opcode ``uint32 id, uint32 DNG version, uint32 flags, uint32 bytes`` and ``bytes`` of
parameters. Flag bit 0: optional (a reader that cannot apply it may skip it); bit 1: may be
skipped for previews.

Phones and cameras carry their lens corrections here: ``GainMap`` (lens shading, per CFA
phase) and ``FixVignetteRadial`` in list 1/2 (before demosaic), ``WarpRectilinear`` (radial
+ tangential distortion, one set per colour plane: lateral chromatic aberration) and
``WarpFisheye`` in list 3 (after demosaic). This module only reads and writes the records;
:mod:`redframe.isp.lens_shading` and :mod:`redframe.isp.lens_warp` apply them.

Hostile input: every count is checked against the bytes the record holds before anything
is allocated (the total is bounded by :data:`MAX_LIST_BYTES`), maps and tables have hard
size limits, coefficients must be finite, and the opcodes of a list together may scale a
value of the list's nominal range [0, 1] by at most :data:`MAX_AMPLIFICATION` (finite
coefficients such as a MapPolynomial term of 1e169 or a ScalePerRow of 3e38 made the
corrected raw overflow to inf, which the demosaic refuses: an internal error). A malformed
or unknown opcode is skipped with a warning when it is flagged optional and raises
:class:`OpcodeError` naming the list, the opcode and the reason when it is not.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from redframe.errors import InputError

__all__ = [
    "OpcodeError", "OpcodeLists", "Opcode", "AreaSpec", "GainMap", "FixVignetteRadial",
    "WarpRectilinear", "WarpFisheye", "FixBadPixelsConstant", "FixBadPixelsList",
    "TrimBounds", "MapTable", "MapPolynomial", "PerRowColumn", "Unsupported",
    "OPCODE_NAMES", "OPCODE_TAGS", "parse_opcode_list", "encode_opcode_list",
    "MAX_LIST_BYTES", "MAX_OPCODES", "MAX_MAP_ENTRIES", "MAX_AMPLIFICATION",
    "warp_rectilinear", "gain_map",
    "op_id",
]

#: OpcodeList1 (raw data as read), 2 (after linearisation), 3 (after demosaic)
OPCODE_TAGS = {1: 51008, 2: 51009, 3: 51022}

OPCODE_NAMES = {
    1: "WarpRectilinear", 2: "WarpFisheye", 3: "FixVignetteRadial",
    4: "FixBadPixelsConstant", 5: "FixBadPixelsList", 6: "TrimBounds", 7: "MapTable",
    8: "MapPolynomial", 9: "GainMap", 10: "DeltaPerRow", 11: "DeltaPerColumn",
    12: "ScalePerRow", 13: "ScalePerColumn", 14: "WarpRectilinear2",
}
_IDS = {name: code for code, name in OPCODE_NAMES.items()}

#: A tag holding more than this is refused (phone lists are a few kB to ~1 MB).
MAX_LIST_BYTES = 64 * 1024 * 1024
#: Opcodes in one list.
MAX_OPCODES = 4096
#: Entries (points x planes) in one gain map.
MAX_MAP_ENTRIES = 4_000_000
#: Entries of a MapTable (16-bit input: 65536 is the whole domain).
MAX_TABLE = 65536
#: Points + rectangles of one FixBadPixelsList.
MAX_BAD_PIXELS = 1_000_000
#: Colour planes (the SDK's kMaxColorPlanes).
MAX_PLANES = 4
#: Degree of a MapPolynomial (the SDK's kMaxDegree).
MAX_DEGREE = 8
#: The largest image coordinate an area may name.
MAX_COORD = 1 << 20
#: The most the opcodes of one list may scale a value of magnitude <= 1 (their bound, in
#: list order: :func:`_magnitude`). Phones' four per-phase GainMaps stay under 2^16; two
#: lists in series (1 and 2) stay under 2^64, far from float32's 2^128.
MAX_AMPLIFICATION = 2.0**32


class OpcodeError(InputError):
    """A DNG opcode list that cannot be read or applied."""


@dataclass(frozen=True)
class AreaSpec:
    """The pixels an opcode touches: rows ``[top, bottom)`` every ``row_pitch``, columns
    ``[left, right)`` every ``col_pitch``, planes ``[plane, plane + planes)``."""

    top: int
    left: int
    bottom: int
    right: int
    plane: int = 0
    planes: int = 1
    row_pitch: int = 1
    col_pitch: int = 1


@dataclass(frozen=True)
class Opcode:
    """One record as stored: ``id``, the DNG ``version`` it needs, its ``flags``."""

    id: int
    version: int
    flags: int

    @property
    def name(self) -> str:
        return OPCODE_NAMES.get(self.id, f"opcode {self.id}")

    @property
    def optional(self) -> bool:
        return bool(self.flags & 1)


@dataclass(frozen=True)
class GainMap(Opcode):
    """Multiply pixels of ``area`` by a bilinearly interpolated map; the map's coordinates
    are fractions of the image (``(row + 0.5) / height``), ``gains[v, h, plane]``."""

    area: AreaSpec = None
    spacing: tuple[float, float] = (1.0, 1.0)  # (v, h), fractions of the image
    origin: tuple[float, float] = (0.0, 0.0)
    gains: np.ndarray = None  # (points_v, points_h, map_planes) float32


@dataclass(frozen=True)
class FixVignetteRadial(Opcode):
    """Multiply every pixel by ``1 + k0 r^2 + k1 r^4 + ... + k4 r^10``; ``r`` is the distance
    from the optical centre ``(cx, cy)`` (fractions of width, height) over the largest
    centre-to-corner distance."""

    k: tuple[float, ...] = (0.0,) * 5
    cx: float = 0.5
    cy: float = 0.5


@dataclass(frozen=True)
class WarpRectilinear(Opcode):
    """Destination (corrected) pixel -> source pixel, per plane: ``src = c + d * f(r) +
    tangential``, ``f(r) = sum radial[i] r^i`` (WarpRectilinear: ``kr0 + kr1 r^2 + kr2 r^4
    + kr3 r^6``; WarpRectilinear2: 15 terms, a valid radius range, optionally ``1 / f``),
    ``tangential = (kt1 (r^2 + 2 dx^2) + 2 kt0 dx dy, kt0 (r^2 + 2 dy^2) + 2 kt1 dx dy)``.
    ``r`` is normalised by the largest centre-to-corner distance."""

    radial: np.ndarray = None  # (planes, 15) coefficients of r^0 .. r^14
    tangential: np.ndarray = None  # (planes, 2): kt0, kt1
    valid: np.ndarray = None  # (planes, 2): min, max valid radius
    reciprocal: bool = False
    cx: float = 0.5
    cy: float = 0.5

    @property
    def planes(self) -> int:
        return int(self.radial.shape[0])


@dataclass(frozen=True)
class WarpFisheye(Opcode):
    """Fisheye lens to rectilinear: ``src radius = t (k0 + k1 t^2 + k2 t^4 + k3 t^6)``,
    ``t = atan(r)``, per plane."""

    k: np.ndarray = None  # (planes, 4)
    cx: float = 0.5
    cy: float = 0.5

    @property
    def planes(self) -> int:
        return int(self.k.shape[0])


@dataclass(frozen=True)
class FixBadPixelsConstant(Opcode):
    """Pixels whose stored value equals ``constant`` are defective (interpolated)."""

    constant: int = 0
    bayer_phase: int = 0


@dataclass(frozen=True)
class FixBadPixelsList(Opcode):
    """Defective pixels ``points`` (row, col) and rectangles ``rects`` (t, l, b, r)."""

    bayer_phase: int = 0
    points: np.ndarray = None  # (n, 2) int64
    rects: np.ndarray = None  # (m, 4) int64


@dataclass(frozen=True)
class TrimBounds(Opcode):
    top: int = 0
    left: int = 0
    bottom: int = 0
    right: int = 0


@dataclass(frozen=True)
class MapTable(Opcode):
    """A 16-bit lookup table applied to ``area`` (``table[i] / 65535`` at ``i / (n-1)``)."""

    area: AreaSpec = None
    table: np.ndarray = None  # (n,) uint16


@dataclass(frozen=True)
class MapPolynomial(Opcode):
    """``x -> sum coefficients[i] x^i`` on ``area``."""

    area: AreaSpec = None
    coefficients: tuple[float, ...] = ()


@dataclass(frozen=True)
class PerRowColumn(Opcode):
    """DeltaPerRow / DeltaPerColumn (add) and ScalePerRow / ScalePerColumn (multiply): one
    value per row (column) of ``area``'s lattice."""

    area: AreaSpec = None
    values: np.ndarray = None  # float32

    @property
    def per_row(self) -> bool:
        return self.id in (10, 12)

    @property
    def scale(self) -> bool:
        return self.id in (12, 13)


@dataclass(frozen=True)
class Unsupported(Opcode):
    """An opcode we do not know (a later DNG version, or a maker's private one), kept so
    that `redframe info` can name it; only optional ones get this far."""

    size: int = 0


@dataclass
class OpcodeLists:
    """The parsed lists of a DNG (``lists[1]``, ``[2]``, ``[3]``), warnings about skipped
    opcodes, and the error that made a list unusable (raised when a develop asks for the
    file's opcodes)."""

    lists: dict[int, list[Opcode]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    def __bool__(self) -> bool:
        return any(self.lists.values()) or self.error is not None

    def all(self) -> list[tuple[int, Opcode]]:
        return [(n, op) for n in sorted(self.lists) for op in self.lists[n]]

    def summary(self) -> str:
        parts = []
        for n in sorted(self.lists):
            if self.lists[n]:
                names = ", ".join(op.name for op in self.lists[n])
                parts.append(f"OpcodeList{n}: {names}")
        return "; ".join(parts)


# ----------------------------------------------------------------------------- reading


class _Reader:
    def __init__(self, data: bytes, what: str):
        self.data, self.pos, self.what = data, 0, what

    def left(self) -> int:
        return len(self.data) - self.pos

    def need(self, n: int) -> None:
        if n < 0 or n > self.left():
            raise _Bad(f"needs {n:,} bytes, {self.left():,} left")

    def u32(self, n: int = 1):
        self.need(4 * n)
        v = struct.unpack_from(f">{n}I", self.data, self.pos)
        self.pos += 4 * n
        return v if n > 1 else v[0]

    def i32(self, n: int = 1):
        self.need(4 * n)
        v = struct.unpack_from(f">{n}i", self.data, self.pos)
        self.pos += 4 * n
        return v if n > 1 else v[0]

    def f64(self, n: int = 1):
        self.need(8 * n)
        v = np.frombuffer(self.data, ">f8", n, self.pos).astype(np.float64)
        self.pos += 8 * n
        if not np.all(np.isfinite(v)):
            raise _Bad("has a coefficient that is not a finite number")
        return v if n > 1 else float(v[0])

    def f32_array(self, n: int) -> np.ndarray:
        self.need(4 * n)
        v = np.frombuffer(self.data, ">f4", n, self.pos).astype(np.float32)
        self.pos += 4 * n
        if not np.all(np.isfinite(v)):
            raise _Bad("has a value that is not a finite number")
        return v

    def u16_array(self, n: int) -> np.ndarray:
        self.need(2 * n)
        v = np.frombuffer(self.data, ">u2", n, self.pos).astype(np.uint16)
        self.pos += 2 * n
        return v


class _Bad(Exception):
    """One opcode's parameters are malformed (the message says how)."""


def _area(r: _Reader) -> AreaSpec:
    t, lft, b, rt = r.i32(4)
    plane, planes, rp, cp = r.u32(4)
    if not (0 <= t <= b <= MAX_COORD and 0 <= lft <= rt <= MAX_COORD):
        raise _Bad(f"has an area ({t}, {lft}, {b}, {rt}) outside 0..{MAX_COORD}")
    if not (0 <= plane < MAX_PLANES and 1 <= planes <= MAX_PLANES):
        raise _Bad(f"names planes {plane}+{planes} (at most {MAX_PLANES})")
    if not (1 <= rp <= MAX_COORD and 1 <= cp <= MAX_COORD):
        raise _Bad(f"has pitches {rp}, {cp} (must be 1..{MAX_COORD})")
    return AreaSpec(t, lft, b, rt, plane, planes, rp, cp)


def _lattice_count(lo: int, hi: int, pitch: int) -> int:
    return max(0, -(-(hi - lo) // pitch))


def _parse_one(oid: int, version: int, flags: int, body: bytes) -> Opcode:
    r = _Reader(body, OPCODE_NAMES.get(oid, str(oid)))
    head = {"id": oid, "version": version, "flags": flags}
    if oid in (1, 14):
        planes = r.u32()
        if not 1 <= planes <= MAX_PLANES:
            raise _Bad(f"warps {planes} planes (1..{MAX_PLANES})")
        per = 6 if oid == 1 else 19
        expect = 4 + planes * per * 8 + 16 + (4 if oid == 14 else 0)
        if len(body) != expect:
            raise _Bad(f"holds {len(body)} bytes for {planes} planes, expected {expect}")
        radial = np.zeros((planes, 15))
        tangential = np.zeros((planes, 2))
        valid = np.tile([0.0, 1.0], (planes, 1))
        for p in range(planes):
            if oid == 1:
                k = r.f64(6)
                radial[p, [0, 2, 4, 6]] = k[:4]
                tangential[p] = k[4:]
            else:
                radial[p] = r.f64(15)
                tangential[p] = r.f64(2)
                valid[p] = r.f64(2)
                if not 0.0 <= valid[p, 0] < valid[p, 1]:
                    raise _Bad(f"has a valid radius range {tuple(valid[p])}")
        cx, cy = r.f64(2)
        reciprocal = bool(r.u32()) if oid == 14 else False
        _check_centre(cx, cy)
        return WarpRectilinear(**head, radial=radial, tangential=tangential, valid=valid,
                               reciprocal=reciprocal, cx=float(cx), cy=float(cy))
    if oid == 2:
        planes = r.u32()
        if not 1 <= planes <= MAX_PLANES:
            raise _Bad(f"warps {planes} planes (1..{MAX_PLANES})")
        expect = 4 + planes * 4 * 8 + 16
        if len(body) != expect:
            raise _Bad(f"holds {len(body)} bytes for {planes} planes, expected {expect}")
        k = np.asarray(r.f64(4 * planes)).reshape(planes, 4)
        cx, cy = r.f64(2)
        _check_centre(cx, cy)
        return WarpFisheye(**head, k=k, cx=float(cx), cy=float(cy))
    if oid == 3:
        if len(body) != 56:
            raise _Bad(f"holds {len(body)} bytes, expected 56")
        k = r.f64(5)
        cx, cy = r.f64(2)
        _check_centre(cx, cy)
        return FixVignetteRadial(**head, k=tuple(float(v) for v in k), cx=float(cx),
                                 cy=float(cy))
    if oid == 4:
        if len(body) != 8:
            raise _Bad(f"holds {len(body)} bytes, expected 8")
        constant, phase = r.u32(2)
        return FixBadPixelsConstant(**head, constant=int(constant), bayer_phase=int(phase) & 3)
    if oid == 5:
        phase, npts, nrect = r.u32(3)
        if npts + nrect > MAX_BAD_PIXELS:
            raise _Bad(f"lists {npts + nrect:,} defects (at most {MAX_BAD_PIXELS:,})")
        if len(body) != 12 + 8 * npts + 16 * nrect:
            raise _Bad(f"holds {len(body)} bytes for {npts} points and {nrect} rectangles")
        pts = np.frombuffer(body, ">i4", 2 * npts, 12).astype(np.int64).reshape(npts, 2)
        rects = np.frombuffer(body, ">i4", 4 * nrect, 12 + 8 * npts).astype(np.int64)
        return FixBadPixelsList(**head, bayer_phase=int(phase) & 3, points=pts,
                                rects=rects.reshape(nrect, 4))
    if oid == 6:
        if len(body) != 16:
            raise _Bad(f"holds {len(body)} bytes, expected 16")
        t, lft, b, rt = r.i32(4)
        return TrimBounds(**head, top=t, left=lft, bottom=b, right=rt)
    if oid == 7:
        area = _area(r)
        n = r.u32()
        if not 1 <= n <= MAX_TABLE or len(body) != 36 + 2 * n:
            raise _Bad(f"has a table of {n:,} entries in {len(body)} bytes (1..{MAX_TABLE})")
        return MapTable(**head, area=area, table=r.u16_array(n))
    if oid == 8:
        area = _area(r)
        degree = r.u32()
        if degree > MAX_DEGREE or len(body) != 36 + 8 * (degree + 1):
            raise _Bad(f"has degree {degree} in {len(body)} bytes (at most {MAX_DEGREE})")
        c = np.atleast_1d(r.f64(degree + 1))
        return MapPolynomial(**head, area=area, coefficients=tuple(float(v) for v in c))
    if oid == 9:
        area = _area(r)
        pv, ph = r.u32(2)
        sv, sh, ov, oh = r.f64(4)
        mp = r.u32()
        if pv == 1:
            sv, ov = 1.0, 0.0
        if ph == 1:
            sh, oh = 1.0, 0.0
        if not (pv >= 1 and ph >= 1 and 1 <= mp <= MAX_PLANES):
            raise _Bad(f"has {pv}x{ph} points in {mp} planes")
        if pv * ph * mp > MAX_MAP_ENTRIES:
            raise _Bad(f"has {pv:,}x{ph:,}x{mp} entries (at most {MAX_MAP_ENTRIES:,})")
        if not (sv > 0 and sh > 0):
            raise _Bad(f"has map spacing ({sv}, {sh}): must be > 0")
        if len(body) != 76 + 4 * pv * ph * mp:
            raise _Bad(f"holds {len(body):,} bytes for a {pv}x{ph}x{mp} map, expected "
                       f"{76 + 4 * pv * ph * mp:,}")
        gains = r.f32_array(pv * ph * mp).reshape(pv, ph, mp)
        if gains.min() < 0 or gains.max() > 1024:
            raise _Bad(f"has gains {gains.min():g}..{gains.max():g} (0..1024)")
        return GainMap(**head, area=area, spacing=(sv, sh), origin=(ov, oh), gains=gains)
    if oid in (10, 11, 12, 13):
        area = _area(r)
        n = r.u32()
        if oid in (10, 12):
            want = _lattice_count(area.top, area.bottom, area.row_pitch)
        else:
            want = _lattice_count(area.left, area.right, area.col_pitch)
        if n != want or len(body) != 36 + 4 * n:
            raise _Bad(f"holds {n:,} values in {len(body)} bytes for an area of {want:,}")
        return PerRowColumn(**head, area=area, values=r.f32_array(n))
    raise _Unknown()


class _Unknown(Exception):
    pass


def _check_centre(cx: float, cy: float) -> None:
    if not (0.0 <= cx <= 1.0 and 0.0 <= cy <= 1.0):
        raise _Bad(f"has its optical centre at ({cx:g}, {cy:g}), outside the image")


def _magnitude(op: Opcode, m: float) -> float:
    """A bound on ``|op(x)|`` for values ``|x| <= m`` (``m >= 1``), wherever the opcode's area
    lies (pixels outside it keep ``m``). The nominal range of a list's domain is [0, 1];
    values above it (unclipped highlights) are bounded linearly except by a MapPolynomial
    of degree > 1."""
    if isinstance(op, GainMap):
        return m * max(1.0, float(op.gains.max()))
    if isinstance(op, FixVignetteRadial):  # r <= 1
        return m * (1.0 + sum(abs(k) for k in op.k))
    if isinstance(op, PerRowColumn):
        v = float(np.abs(op.values).max()) if op.values.size else 0.0
        return m * max(1.0, v) if op.scale else m + v
    if isinstance(op, MapPolynomial):
        return max(m, sum(abs(c) * m**i for i, c in enumerate(op.coefficients)))
    return m  # MapTable (to [0, 1]), bad pixels (neighbours' means), warps, TrimBounds


def parse_opcode_list(data: bytes, list_no: int = 3) -> tuple[list[Opcode], list[str]]:
    """The opcodes of one list and warnings about the ones skipped.

    Raises :class:`OpcodeError` when the list is truncated or claims more than it holds,
    or an opcode that is not optional is unknown or malformed."""
    where = f"OpcodeList{list_no}"
    if len(data) > MAX_LIST_BYTES:
        raise OpcodeError(f"{where} holds {len(data):,} bytes; refusing more than "
                          f"{MAX_LIST_BYTES:,}")
    r = _Reader(bytes(data), where)
    try:
        count = r.u32()
    except _Bad:
        raise OpcodeError(f"{where} is truncated: {len(data)} bytes, no opcode count") from None
    if count > MAX_OPCODES or count * 16 > r.left():
        raise OpcodeError(f"{where} claims {count:,} opcodes in {len(data):,} bytes")
    ops: list[Opcode] = []
    warnings: list[str] = []
    magnitude = 1.0  # the opcodes so far scale values of [0, 1] to at most this
    for i in range(count):
        try:
            oid, version, flags, size = r.u32(4)
        except _Bad:
            raise OpcodeError(f"{where} is truncated at opcode {i + 1} of {count}") from None
        name = OPCODE_NAMES.get(oid, f"opcode {oid}")
        if size > r.left():
            raise OpcodeError(f"{where}: {name} (opcode {i + 1} of {count}) claims {size:,} "
                              f"bytes, the list holds {r.left():,} more")
        body = r.data[r.pos : r.pos + size]
        r.pos += size
        optional = bool(flags & 1)
        try:
            op = _parse_one(oid, version, flags, body)
            after = _magnitude(op, magnitude)
            if not after <= MAX_AMPLIFICATION:
                raise _Bad(f"scales values by up to {after:.3g} with the opcodes before it "
                           f"(at most {MAX_AMPLIFICATION:.3g})")
            magnitude = after
            ops.append(op)
        except _Unknown:
            if not optional:
                raise OpcodeError(f"{where}: {name} (opcode {i + 1} of {count}) is not one "
                                  "redframe knows and is not flagged optional") from None
            warnings.append(f"{where}: skipped {name}, an optional opcode redframe does not "
                            "know")
            ops.append(Unsupported(oid, version, flags, size=size))
        except _Bad as exc:
            msg = f"{where}: {name} (opcode {i + 1} of {count}) {exc}"
            if not optional:
                raise OpcodeError(msg) from None
            warnings.append(f"{msg}; skipped (optional)")
    return ops, warnings


# ----------------------------------------------------------------------------- writing


def _area_bytes(a: AreaSpec) -> bytes:
    return struct.pack(">4i4I", a.top, a.left, a.bottom, a.right, a.plane, a.planes,
                       a.row_pitch, a.col_pitch)


def _encode_one(op: Opcode) -> bytes:
    if isinstance(op, WarpRectilinear):
        planes = op.planes
        if op.id == 1:
            body = struct.pack(">I", planes)
            for p in range(planes):
                kr = op.radial[p, [0, 2, 4, 6]]
                body += struct.pack(">6d", *kr, *op.tangential[p])
            return body + struct.pack(">2d", op.cx, op.cy)
        body = struct.pack(">I", planes)
        for p in range(planes):
            body += struct.pack(">19d", *op.radial[p], *op.tangential[p], *op.valid[p])
        return body + struct.pack(">2dI", op.cx, op.cy, int(op.reciprocal))
    if isinstance(op, WarpFisheye):
        body = struct.pack(">I", op.planes) + np.asarray(op.k, ">f8").tobytes()
        return body + struct.pack(">2d", op.cx, op.cy)
    if isinstance(op, FixVignetteRadial):
        return struct.pack(">7d", *op.k, op.cx, op.cy)
    if isinstance(op, FixBadPixelsConstant):
        return struct.pack(">2I", op.constant, op.bayer_phase)
    if isinstance(op, FixBadPixelsList):
        pts = np.asarray(op.points, ">i4").reshape(-1, 2)
        rects = np.asarray(op.rects, ">i4").reshape(-1, 4)
        return (struct.pack(">3I", op.bayer_phase, len(pts), len(rects)) + pts.tobytes()
                + rects.tobytes())
    if isinstance(op, TrimBounds):
        return struct.pack(">4i", op.top, op.left, op.bottom, op.right)
    if isinstance(op, MapTable):
        t = np.asarray(op.table, ">u2")
        return _area_bytes(op.area) + struct.pack(">I", t.size) + t.tobytes()
    if isinstance(op, MapPolynomial):
        c = op.coefficients
        return _area_bytes(op.area) + struct.pack(f">I{len(c)}d", len(c) - 1, *c)
    if isinstance(op, GainMap):
        g = np.asarray(op.gains, np.float32)
        g = g.reshape(g.shape[0], g.shape[1], -1)
        head = struct.pack(">2I4dI", g.shape[0], g.shape[1], *op.spacing, *op.origin,
                           g.shape[2])
        return _area_bytes(op.area) + head + g.astype(">f4").tobytes()
    if isinstance(op, PerRowColumn):
        v = np.asarray(op.values, ">f4")
        return _area_bytes(op.area) + struct.pack(">I", v.size) + v.tobytes()
    raise ValueError(f"cannot encode {op!r}")


def encode_opcode_list(ops: list[Opcode]) -> bytes:
    """The bytes of an opcode list tag holding ``ops`` (for our DNG writer)."""
    out = [struct.pack(">I", len(ops))]
    for op in ops:
        body = _encode_one(op)
        out.append(struct.pack(">4I", op.id, op.version, op.flags, len(body)) + body)
    return b"".join(out)


def warp_rectilinear(planes: list[tuple[float, float, float, float, float, float]],
                     cx: float = 0.5, cy: float = 0.5, flags: int = 0) -> WarpRectilinear:
    """A WarpRectilinear from ``(kr0, kr1, kr2, kr3, kt0, kt1)`` per plane."""
    k = np.asarray(planes, np.float64).reshape(-1, 6)
    radial = np.zeros((len(k), 15))
    radial[:, [0, 2, 4, 6]] = k[:, :4]
    return WarpRectilinear(_IDS["WarpRectilinear"], 0x01030000, flags, radial=radial,
                           tangential=k[:, 4:].copy(), valid=np.tile([0.0, 1.0], (len(k), 1)),
                           cx=cx, cy=cy)


def gain_map(gains: np.ndarray, area: AreaSpec, flags: int = 0) -> GainMap:
    """A GainMap whose points span the image evenly (first and last on its edges)."""
    g = np.asarray(gains, np.float32)
    g = g.reshape(g.shape[0], g.shape[1], -1)
    pv, ph = g.shape[:2]
    spacing = (1.0 / max(pv - 1, 1), 1.0 / max(ph - 1, 1))
    return GainMap(_IDS["GainMap"], 0x01030000, flags, area=area, spacing=spacing,
                   origin=(0.0, 0.0), gains=g)


def op_id(name: str) -> int:
    """The opcode id of ``name`` (e.g. ``"GainMap"`` -> 9)."""
    return _IDS[name]

