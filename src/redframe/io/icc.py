"""Minimal ICC display profiles (matrix/TRC) for the spaces we write, and a small reader.

We write our own profiles rather than ship binary ones: a matrix/TRC display profile is a
few hundred bytes of well-specified structure, and deriving it from the same primaries as
:mod:`redframe.color` guarantees that the profile describes exactly the pixels
the output transform produced.

Layout (ICC.1:2010, "ICC v4.4", or ICC.1:2001-04, "v2.4"): a 128-byte header, the tag
table, then the tags, each starting on a 4-byte boundary (tags with identical data share
it, as the three TRCs do):

- ``desc`` description and ``cprt`` copyright: ``mluc`` in v4, ``desc``/``text`` in v2;
- ``wtpt``: D50, the PCS illuminant (ICC.1:2010 section 9.2.36 for display profiles);
- ``chad``: the Bradford adaptation from the space's D65 white to D50 (Annex E);
- ``rXYZ``/``gXYZ``/``bXYZ``: the colorants, i.e. the columns of ``chad @ RGB_to_XYZ``,
  rounded to s15Fixed16 and balanced so that they sum exactly to the D50 white (R=G=B stays
  neutral after rounding);
- ``rTRC``/``gTRC``/``bTRC``: the decoding curve. v4 uses ``para`` function type 3
  (``Y = (aX + b)^g`` for ``X >= d``, else ``cX``); v2 has no ``para`` type, so it uses a
  1024-entry ``curv`` table. Adobe RGB uses a pure ``curv`` gamma of 563/256 in both.

The v4 profile carries its Profile ID (the MD5 of the profile with the flags, rendering
intent and ID fields zeroed, ICC.1:2010 section 7.2.18). Profiles are deterministic (fixed
creation date) so repeated runs write identical files.

Rec.2020 is written with the **sRGB curve**, not the BT.2020 OETF: the pipeline encodes
every output space with :func:`redframe.color.srgb_encode` and
:mod:`redframe.io.decode` reads Rec.2020 files back with that curve, so the profile must
say so; the description says "(sRGB curve)". BT.2020's own parameters (``g = 1/0.45,
a = 1/1.0993, b = 0.0993/1.0993, c = 1/4.5, d = 0.081243``) are in :data:`BT2020_CURVE`
for an encoder that uses them.

References: ICC.1:2010-12 (Profile version 4.3.0.0) and ICC.1:2001-04 (version 2.4);
IEC 61966-2-1 (sRGB); SMPTE EG 432-1 (Display P3); ITU-R BT.2020-2; Adobe RGB (1998)
Color Image Encoding, 2005.
"""

from __future__ import annotations

import functools
import hashlib
import struct

import numpy as np

from redframe.color import D65_XY, bradford_matrix, rgb_to_xyz_matrix
from redframe.color.transfer import (
    SRGB_ENCODED_BREAK,
    SRGB_GAMMA,
    SRGB_OFFSET,
    SRGB_SCALE,
    SRGB_SLOPE,
)

__all__ = ["icc_profile", "icc_description", "icc_colorants", "ICC_SPACES", "SRGB_CURVE",
           "BT2020_CURVE", "PCS_D50"]

#: The ICC PCS illuminant, XYZ (ICC.1:2010 section 7.2.16).
PCS_D50 = (0.9642, 1.0, 0.8249)

#: ``para`` type 3 parameters (g, a, b, c, d) of the IEC 61966-2-1 decoding curve, from the
#: constants of :mod:`redframe.color.transfer`: ``Y = ((X + 0.055) / 1.055)^2.4`` above d.
SRGB_CURVE = (SRGB_GAMMA, 1 / SRGB_SCALE, SRGB_OFFSET / SRGB_SCALE, 1 / SRGB_SLOPE,
              SRGB_ENCODED_BREAK)
#: The inverse of the BT.2020 OETF as ``para`` type 3 parameters (not used by default).
BT2020_CURVE = (1 / 0.45, 1 / 1.0993, 0.0993 / 1.0993, 1 / 4.5, 4.5 * 0.018053968510807)

#: space -> (description, curve): the curve is a ``para`` 3 tuple or a pure gamma (float).
ICC_SPACES: dict[str, tuple[str, tuple[float, ...] | float]] = {
    "srgb": ("sRGB", SRGB_CURVE),
    "display-p3": ("Display P3", SRGB_CURVE),
    "rec2020": ("Rec.2020 (sRGB curve)", SRGB_CURVE),
    "adobe-rgb": ("Adobe RGB (1998) compatible", 563 / 256),
}

_COPYRIGHT = "No copyright, use freely"
_CREATED = (2024, 1, 1, 0, 0, 0)  # fixed, so that profiles (and outputs) are reproducible
_CURV_POINTS = 1024


def _s15(value: float) -> bytes:
    return struct.pack(">i", int(round(value * 65536)))


def _xyz_tag(xyz) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15(v) for v in xyz)


def _mluc(text: str) -> bytes:
    utf16 = text.encode("utf-16-be")
    return b"mluc\0\0\0\0" + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(utf16), 28) + utf16


def _desc_v2(text: str) -> bytes:
    ascii_ = text.encode("ascii", "replace") + b"\0"
    # ASCII part, then an empty Unicode part and an empty ScriptCode part (67 bytes).
    return (b"desc\0\0\0\0" + struct.pack(">I", len(ascii_)) + ascii_ + struct.pack(">II", 0, 0)
            + struct.pack(">HB", 0, 0) + b"\0" * 67)


def _curve_tag(curve: tuple[float, ...] | float, version: int) -> bytes:
    if isinstance(curve, float):  # pure gamma, u8Fixed8Number
        return b"curv\0\0\0\0" + struct.pack(">IH", 1, int(round(curve * 256))) + b"\0\0"
    g, a, b, c, d = curve
    if version >= 4:
        return b"para\0\0\0\0" + struct.pack(">HH", 3, 0) + b"".join(_s15(v) for v in curve)
    x = np.linspace(0.0, 1.0, _CURV_POINTS)
    y = np.where(x >= d, np.power(np.maximum(a * x + b, 0.0), g), c * x)
    table = np.round(np.clip(y, 0.0, 1.0) * 65535).astype(">u2")
    return b"curv\0\0\0\0" + struct.pack(">I", _CURV_POINTS) + table.tobytes()


def _quantised(m: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(m, dtype=np.float64) * 65536) / 65536


def _colorants(space: str) -> tuple[np.ndarray, np.ndarray]:
    """(chad, D50 colorant matrix) rounded to s15Fixed16, rows balanced to sum to D50."""
    d50 = np.array(PCS_D50)
    d50_xy = (d50[0] / d50.sum(), d50[1] / d50.sum())
    chad = bradford_matrix(D65_XY, d50_xy)
    matrix = _quantised(chad @ rgb_to_xyz_matrix(space))
    white = _quantised(d50)
    for row in range(3):  # put the rounding residual on the largest entry of each row
        col = int(np.argmax(np.abs(matrix[row])))
        matrix[row, col] += white[row] - matrix[row].sum()
    return _quantised(chad), matrix


def _assemble(version: int, tags: list[tuple[bytes, bytes]]) -> bytes:
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    blobs: list[bytes] = []
    placed: dict[bytes, tuple[int, int]] = {}
    entries = []
    for sig, data in tags:
        if data not in placed:
            placed[data] = (offset, len(data))
            padded = data + b"\0" * (-len(data) % 4)
            blobs.append(padded)
            offset += len(padded)
        entries.append(struct.pack(">4sII", sig, *placed[data]))
    body = struct.pack(">I", len(tags)) + b"".join(entries) + b"".join(blobs)
    size = 128 + len(body)
    version_bytes = bytes([4, 0x40, 0, 0]) if version >= 4 else bytes([2, 0x40, 0, 0])
    header = (
        struct.pack(">I4s", size, b"\0\0\0\0")
        + version_bytes
        + b"mntrRGB XYZ "
        + struct.pack(">6H", *_CREATED)
        + b"acsp"
        + b"\0" * 4  # primary platform: none
        + struct.pack(">I", 0)  # flags
        + b"\0" * 4 + b"\0" * 4 + b"\0" * 8  # device manufacturer, model, attributes
        + struct.pack(">I", 0)  # rendering intent: perceptual
        + b"".join(_s15(v) for v in PCS_D50)
        + b"\0" * 4  # creator
        + b"\0" * 16  # profile ID, filled below for v4
        + b"\0" * 28
    )
    profile = bytearray(header + body)
    if version >= 4:  # flags, rendering intent and the ID itself are zero already
        profile[84:100] = hashlib.md5(bytes(profile)).digest()
    return bytes(profile)


@functools.lru_cache(maxsize=16)
def icc_profile(space: str, version: int = 4) -> bytes:
    """The ICC display profile of an output space: "srgb", "display-p3", "rec2020", "adobe-rgb".

    ``version`` 4 (default; ICC v4.4 with ``para`` curves and a Profile ID, as Apple and
    Skia write) or 2 (v2.4, for old readers that do not understand v4).
    """
    if space not in ICC_SPACES:
        raise ValueError(f"unknown ICC space {space!r}; expected one of {', '.join(ICC_SPACES)}")
    if version not in (2, 4):
        raise ValueError(f"ICC version must be 2 or 4, not {version!r}")
    description, curve = ICC_SPACES[space]
    chad, colorants = _colorants(space)
    text = _mluc if version >= 4 else _desc_v2
    trc = _curve_tag(curve, version)
    copyright_ = (_mluc(_COPYRIGHT) if version >= 4
                  else b"text\0\0\0\0" + _COPYRIGHT.encode("ascii") + b"\0")
    tags = [
        (b"desc", text(description)),
        (b"cprt", copyright_),
        (b"wtpt", _xyz_tag(PCS_D50)),
        (b"chad", b"sf32\0\0\0\0" + b"".join(_s15(v) for v in chad.ravel())),
        (b"rXYZ", _xyz_tag(colorants[:, 0])),
        (b"gXYZ", _xyz_tag(colorants[:, 1])),
        (b"bXYZ", _xyz_tag(colorants[:, 2])),
        (b"rTRC", trc),
        (b"gTRC", trc),
        (b"bTRC", trc),
    ]
    return _assemble(version, tags)


# --- reading -----------------------------------------------------------------------------

def _tag_table(data: bytes) -> dict[bytes, bytes]:
    """sig -> tag bytes; empty when ``data`` is not a plausible ICC profile."""
    if len(data) < 132 or data[36:40] != b"acsp":
        return {}
    count = struct.unpack(">I", data[128:132])[0]
    if count > 1000 or 132 + 12 * count > len(data):
        return {}
    tags = {}
    for i in range(count):
        sig, offset, size = struct.unpack(">4sII", data[132 + 12 * i: 144 + 12 * i])
        if offset + size <= len(data) and size >= 8:
            tags[sig] = data[offset: offset + size]
    return tags


def _read_text(tag: bytes) -> str | None:
    kind = tag[:4]
    if kind == b"mluc" and len(tag) >= 16:
        count, record = struct.unpack(">II", tag[8:16])
        records = []
        for i in range(min(count, 100)):
            start = 16 + i * record
            if start + 12 > len(tag):
                break
            lang, length, offset = struct.unpack(">4sII", tag[start: start + 12])
            records.append((lang, tag[offset: offset + length].decode("utf-16-be", "replace")))
        english = [text for lang, text in records if lang.startswith(b"en")]
        return (english or [text for _, text in records] or [None])[0]
    if kind == b"desc" and len(tag) >= 12:
        length = struct.unpack(">I", tag[8:12])[0]
        return tag[12: 12 + length].split(b"\0")[0].decode("latin-1")
    if kind == b"text":
        return tag[8:].split(b"\0")[0].decode("latin-1")
    return None


def icc_description(data: bytes | None) -> str | None:
    """The profile's ``desc`` text (English record of a v4 ``mluc``), or ``None``."""
    if not data:
        return None
    try:
        text = _read_text(_tag_table(bytes(data)).get(b"desc", b""))
    except (struct.error, UnicodeDecodeError):
        return None
    text = text.strip("\0 ") if text else None
    return text or None


def icc_colorants(data: bytes | None) -> np.ndarray | None:
    """The D50 colorant matrix M (XYZ_D50 = M @ RGB, columns rXYZ, gXYZ, bXYZ), or ``None``.

    ``None`` for anything that is not a matrix/TRC RGB profile (LUT-based, CMYK, grey...).
    Compare with ``bradford_matrix(D65, D50) @ rgb_to_xyz_matrix(space)`` to identify the
    encoding primaries of an input file.
    """
    if not data:
        return None
    data = bytes(data)
    tags = _tag_table(data)
    if data[16:20] != b"RGB ":
        return None
    columns = []
    for sig in (b"rXYZ", b"gXYZ", b"bXYZ"):
        tag = tags.get(sig, b"")
        if len(tag) < 20 or tag[:4] != b"XYZ ":
            return None
        columns.append(np.array(struct.unpack(">3i", tag[8:20]), dtype=np.float64) / 65536)
    return np.stack(columns, axis=1)
