"""Ultra HDR JPEG (gain map) files: assembly from two renditions, and an independent reader.

An Ultra HDR JPEG (Google, "Ultra HDR Image Format v1.1", developer.android.com/media/
platform/hdr-image-format) is an ordinary JPEG - the SDR *base* picture, what every legacy
reader shows - followed by a second JPEG, the *gain map*, in a Multi-Picture Format
container (CIPA DC-007-2009: an ``APP2 "MPF"`` index in the first picture giving the size
and offset of both). The gain map says, per pixel, how much brighter the HDR rendition is
than the SDR one; its meaning is carried twice:

- XMP ``hdrgm`` (Adobe, "Gain Map Specification" 1.0, 2023): in the base picture's
  ``APP1`` XMP, ``hdrgm:Version`` and a GContainer directory (``Container:Directory``: the
  primary item and the ``GainMap`` item with its length); in the gain map's own XMP the
  numbers ``GainMapMin``, ``GainMapMax`` (log2), ``Gamma``, ``OffsetSDR``, ``OffsetHDR``,
  ``HDRCapacityMin``, ``HDRCapacityMax`` (log2), ``BaseRenditionIsHDR``;
- ISO 21496-1 (gain map metadata for image conversion): an ``APP2`` segment
  ``urn:iso:std:iso:ts:21496:-1\\0`` holding only the version in the base picture, and the
  full metadata (fractions) in the gain map picture. The byte layout written here is the
  one libultrahdr 1.4 writes and reads (u16 minimum version, u16 writer version, u8 flags
  - bit 7 multichannel, bit 6 "use base colour space" - then numerator/denominator pairs
  of u32/i32: base and alternate HDR headroom, then per channel gain map min, max, gamma,
  base offset, alternate offset), checked byte for byte against a file libultrahdr made.

The reconstruction both describe, per pixel and channel, in linear light of the base
picture's colour space (SDR white = 1)::

    r     = (code / 255) ** (1 / Gamma)                          # 0..1
    logG  = GainMapMin * (1 - r) + GainMapMax * r                # log2 boost
    W     = clamp((log2(headroom) - HDRCapacityMin) / (HDRCapacityMax - HDRCapacityMin), 0, 1)
    HDR   = (SDR + OffsetSDR) * 2 ** (logG * W) - OffsetHDR

:func:`encode_gain_map` computes the map from the two renditions (the inverse of the
above at full weight), :func:`assemble` builds the file from the SDR JPEG's bytes (which it
leaves as they are: the base decodes to exactly the SDR picture), and :func:`read_ultrahdr`
/ :func:`reconstruct` are our own reader, independent of libultrahdr (imagecodecs), which the
tests use as the second decoder.

Reads/writes bytes and arrays only (no files): the atomic writing is
:func:`redframe.io.encode.write_image`'s (``gain_map=``).
"""

from __future__ import annotations

import io
import re
import struct
from dataclasses import dataclass

import numpy as np

from redframe.color.transfer import srgb_decode

__all__ = ["GainMapMetadata", "GainMap", "encode_gain_map", "assemble", "read_ultrahdr",
           "reconstruct", "UltraHdr", "ISO_URN", "XMP_URN"]

XMP_URN = b"http://ns.adobe.com/xap/1.0/\x00"
ISO_URN = b"urn:iso:std:iso:ts:21496:-1\x00"
MPF_ID = b"MPF\x00"
_DENOM = 1 << 20  # fixed denominator of the ISO fractions (as libultrahdr writes the max)


@dataclass(frozen=True)
class GainMapMetadata:
    """The numbers of a single-channel gain map (log2 values as the specs store them)."""

    gain_min: float = 0.0  # log2 of the smallest boost in the map
    gain_max: float = 3.0  # log2 of the largest
    gamma: float = 1.0
    offset_sdr: float = 1.0 / 64
    offset_hdr: float = 1.0 / 64
    capacity_min: float = 0.0  # log2 display headroom below which the map is not applied
    capacity_max: float = 3.0  # log2 display headroom from which it applies fully

    def check(self) -> None:
        """ValueError when the numbers break the specs' constraints."""
        vals = (self.gain_min, self.gain_max, self.gamma, self.offset_sdr, self.offset_hdr,
                self.capacity_min, self.capacity_max)
        if not all(np.isfinite(v) for v in vals):
            raise ValueError("gain map metadata must be finite")
        if self.gain_max < self.gain_min:
            raise ValueError("GainMapMax must be >= GainMapMin")
        if self.gamma <= 0:
            raise ValueError("Gamma must be > 0")
        if self.offset_sdr < 0 or self.offset_hdr < 0:
            raise ValueError("offsets must be >= 0")
        if not 0 <= self.capacity_min < self.capacity_max:
            raise ValueError("0 <= HDRCapacityMin < HDRCapacityMax is required")


@dataclass
class GainMap:
    """An 8-bit single-channel gain map (H', W') and its metadata."""

    codes: np.ndarray  # (H', W') uint8
    meta: GainMapMetadata
    quality: int = 95  # of the gain map's own JPEG


def encode_gain_map(sdr_linear: np.ndarray, hdr_linear: np.ndarray, *,
                    capacity_max: float | None = None, offset: float = 1.0 / 64,
                    gamma: float = 1.0, max_boost_log2: float = 6.0) -> GainMap:
    """The gain map taking ``sdr_linear`` to ``hdr_linear`` (H, W, 3) or (H, W): both linear
    light in the same colour space, SDR white = 1. Single channel: the boost of the pixel's
    largest component ``(max(HDR) + k) / (max(SDR) + k)`` (an HDR rendition that is the SDR
    one times a gain, as ours is, is reproduced exactly up to the map's quantisation).
    ``capacity_max`` (log2 display headroom for the full map) defaults to GainMapMax."""
    sdr = np.asarray(sdr_linear, np.float32)
    hdr = np.asarray(hdr_linear, np.float32)
    if sdr.shape != hdr.shape:
        raise ValueError(f"renditions differ in shape: {sdr.shape} vs {hdr.shape}")
    if sdr.ndim == 3:
        sdr, hdr = sdr.max(axis=2), hdr.max(axis=2)
    k = np.float32(offset)
    log_g = np.log2((np.maximum(hdr, 0) + k) / (np.maximum(sdr, 0) + k))
    log_g = np.clip(np.nan_to_num(log_g, nan=0.0), -max_boost_log2, max_boost_log2)
    lo = min(0.0, float(log_g.min()))
    hi = max(float(log_g.max()), lo + 1.0 / 64)  # a map that boosts nothing: still valid
    # round the range outward to the fractions the ISO metadata stores, so both agree
    lo = np.floor(lo * _DENOM) / _DENOM
    hi = np.ceil(hi * _DENOM) / _DENOM
    r = np.clip((log_g - lo) / (hi - lo), 0.0, 1.0)
    if gamma != 1.0:
        r = r ** np.float32(gamma)
    codes = np.rint(r * 255.0).astype(np.uint8)
    cap = hi if capacity_max is None else max(float(capacity_max), 1.0 / 64)
    meta = GainMapMetadata(lo, hi, gamma, offset, offset, 0.0, cap)
    meta.check()
    return GainMap(codes, meta)


# --- metadata blocks --------------------------------------------------------------------

def _fmt(v: float) -> str:
    return f"{v:.6f}".rstrip("0").rstrip(".") if v != int(v) else f"{int(v)}.0"


def _xmp_primary(gain_map_length: int) -> bytes:
    text = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="redframe">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" '
        'xmlns:Container="http://ns.google.com/photos/1.0/container/" '
        'xmlns:Item="http://ns.google.com/photos/1.0/container/item/" '
        'xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" hdrgm:Version="1.0">'
        "<Container:Directory><rdf:Seq>"
        '<rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="Primary" '
        'Item:Mime="image/jpeg"/></rdf:li>'
        '<rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="GainMap" '
        f'Item:Mime="image/jpeg" Item:Length="{int(gain_map_length)}"/></rdf:li>'
        "</rdf:Seq></Container:Directory>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    return text.encode("utf-8")


def _xmp_gain_map(m: GainMapMetadata) -> bytes:
    text = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="redframe">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" '
        'hdrgm:Version="1.0" '
        f'hdrgm:GainMapMin="{_fmt(m.gain_min)}" hdrgm:GainMapMax="{_fmt(m.gain_max)}" '
        f'hdrgm:Gamma="{_fmt(m.gamma)}" hdrgm:OffsetSDR="{_fmt(m.offset_sdr)}" '
        f'hdrgm:OffsetHDR="{_fmt(m.offset_hdr)}" '
        f'hdrgm:HDRCapacityMin="{_fmt(m.capacity_min)}" '
        f'hdrgm:HDRCapacityMax="{_fmt(m.capacity_max)}" '
        'hdrgm:BaseRenditionIsHDR="False"/>'
        "</rdf:RDF></x:xmpmeta>"
    )
    return text.encode("utf-8")


def _num(v: float) -> int:
    return int(round(v * _DENOM))


def iso_metadata(m: GainMapMetadata) -> bytes:
    """The full ISO 21496-1 metadata block (after the URN) of a single-channel map."""
    flags = 0x40  # use_base_colour_space; single channel
    out = struct.pack(">HHB", 0, 0, flags)
    out += struct.pack(">IIII", _num(m.capacity_min), _DENOM, _num(m.capacity_max), _DENOM)
    out += struct.pack(">iIiIIIiIiI", _num(m.gain_min), _DENOM, _num(m.gain_max), _DENOM,
                       _num(m.gamma), _DENOM, _num(m.offset_sdr), _DENOM,
                       _num(m.offset_hdr), _DENOM)
    return out


def parse_iso_metadata(data: bytes) -> GainMapMetadata:
    """The numbers of an ISO 21496-1 block (the layout :func:`iso_metadata` writes; channel
    0 of a multichannel one). ValueError when it is malformed."""
    if len(data) < 5:
        raise ValueError("ISO 21496-1 block too short")
    _, _, flags = struct.unpack(">HHB", data[:5])
    need = 5 + 16 + (3 if flags & 0x80 else 1) * 40
    if len(data) < need:
        raise ValueError("ISO 21496-1 block truncated")
    hn, hd, an, ad = struct.unpack(">IIII", data[5:21])
    v = struct.unpack(">iIiIIIiIiI", data[21:61])
    if 0 in (hd, ad, *v[1::2]):
        raise ValueError("ISO 21496-1 block has a zero denominator")
    return GainMapMetadata(v[0] / v[1], v[2] / v[3], v[4] / v[5], v[6] / v[7], v[8] / v[9],
                           hn / hd, an / ad)


def _segment(marker: int, payload: bytes) -> bytes:
    if len(payload) + 2 > 0xFFFF:
        raise ValueError("a JPEG segment holds at most 65533 bytes")
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _mpf(primary_size: int, gain_map_size: int, gain_map_offset: int) -> bytes:
    """The ``APP2 MPF`` payload (CIPA DC-007): big-endian TIFF header, one IFD with
    MPFVersion, NumberOfImages = 2 and the MP Entry table (the offset of the second
    picture counts from the TIFF header, i.e. 8 bytes after the segment's marker)."""
    entries_offset = 8 + 2 + 3 * 12 + 4
    ifd = struct.pack(">H", 3)
    ifd += struct.pack(">HHI4s", 0xB000, 7, 4, b"0100")
    ifd += struct.pack(">HHII", 0xB001, 4, 1, 2)
    ifd += struct.pack(">HHII", 0xB002, 7, 32, entries_offset)
    ifd += struct.pack(">I", 0)
    entries = struct.pack(">IIIHH", 0x030000, primary_size, 0, 0, 0)  # baseline primary
    entries += struct.pack(">IIIHH", 0x000000, gain_map_size, gain_map_offset, 0, 0)
    return MPF_ID + b"MM\x00\x2a" + struct.pack(">I", 8) + ifd + entries


def _leading_app_end(jpeg: bytes) -> int:
    """Offset after the SOI and the APPn segments that follow it."""
    if jpeg[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG (no SOI)")
    p = 2
    while p + 4 <= len(jpeg) and jpeg[p] == 0xFF and 0xE0 <= jpeg[p + 1] <= 0xEF:
        p += 2 + struct.unpack(">H", jpeg[p + 2:p + 4])[0]
    return p


def gain_map_jpeg(gain_map: GainMap) -> bytes:
    """The gain map as a greyscale baseline JPEG."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(gain_map.codes), "L").save(
        buf, "JPEG", quality=int(gain_map.quality))
    return buf.getvalue()


def assemble(sdr_jpeg: bytes, gain_map: GainMap) -> bytes:
    """The Ultra HDR file: ``sdr_jpeg`` with the XMP, ISO version and MPF segments inserted
    after its leading APPn segments (its entropy-coded data untouched), followed by the gain
    map picture (SOI, XMP hdrgm, ISO 21496-1 metadata, its JPEG)."""
    gain_map.meta.check()
    gm = gain_map_jpeg(gain_map)
    secondary = (b"\xff\xd8" + _segment(0xE1, XMP_URN + _xmp_gain_map(gain_map.meta))
                 + _segment(0xE2, ISO_URN + iso_metadata(gain_map.meta)) + gm[2:])
    head = _leading_app_end(sdr_jpeg)
    xmp = _segment(0xE1, XMP_URN + _xmp_primary(len(secondary)))
    iso = _segment(0xE2, ISO_URN + struct.pack(">HH", 0, 0))
    mpf_len = len(_segment(0xE2, _mpf(0, 0, 0)))
    primary_size = len(sdr_jpeg) + len(xmp) + len(iso) + mpf_len
    mpf_pos = head + len(xmp) + len(iso)
    mpf = _segment(0xE2, _mpf(primary_size, len(secondary), primary_size - (mpf_pos + 8)))
    primary = sdr_jpeg[:head] + xmp + iso + mpf + sdr_jpeg[head:]
    assert len(primary) == primary_size
    return primary + secondary


# --- reading (our own, independent of libultrahdr) -------------------------------------

@dataclass
class UltraHdr:
    """What :func:`read_ultrahdr` found."""

    primary: bytes  # the base JPEG, as stored
    gain_map_jpeg: bytes
    xmp_primary: str
    xmp: dict[str, str]  # the gain map's hdrgm attributes
    meta: GainMapMetadata  # from the ISO block
    mpf_entries: list[tuple[int, int, int]]  # (attribute, size, offset from file start)


def jpeg_segments(jpeg: bytes):
    """(marker, payload, offset) of each segment of a JPEG's header, up to its first
    scan (ISO 10918-1, B.1.1.4: a marker, a 2-byte length counting itself, the payload)."""
    p = 2
    while p + 4 <= len(jpeg) and jpeg[p] == 0xFF and jpeg[p + 1] not in (0xDA, 0xD9):
        size = struct.unpack(">H", jpeg[p + 2:p + 4])[0]
        yield jpeg[p + 1], jpeg[p + 4:p + 2 + size], p
        p += 2 + size


_ATTR = re.compile(r'hdrgm:(\w+)="([^"]*)"')


def read_ultrahdr(data: bytes) -> UltraHdr:
    """Split an Ultra HDR file by its MPF index and read both metadata forms; ValueError
    when it is not one."""
    mpf_at = None
    xmp_primary = ""
    for marker, payload, pos in jpeg_segments(data):
        if marker == 0xE2 and payload.startswith(MPF_ID):
            mpf_at = (pos + 8, payload[4:])
        elif marker == 0xE1 and payload.startswith(XMP_URN):
            xmp_primary = payload[len(XMP_URN):].decode("utf-8", "replace")
    if mpf_at is None:
        raise ValueError("no MPF index: not a multi-picture JPEG")
    base, tiff = mpf_at
    if tiff[:4] != b"MM\x00\x2a":
        raise ValueError("MPF index is not big-endian TIFF")
    (ifd,) = struct.unpack(">I", tiff[4:8])
    (count,) = struct.unpack(">H", tiff[ifd:ifd + 2])
    entries_at, n_images = None, 0
    for i in range(count):
        tag, _, n, value = struct.unpack(">HHII", tiff[ifd + 2 + 12 * i: ifd + 14 + 12 * i])
        if tag == 0xB001:
            n_images = value
        elif tag == 0xB002:
            entries_at = value
    if entries_at is None or n_images < 2:
        raise ValueError("MPF index lists no second picture")
    entries = []
    for i in range(n_images):
        attr, size, off, _, _ = struct.unpack(">IIIHH", tiff[entries_at + 16 * i:
                                                             entries_at + 16 * i + 16])
        entries.append((attr, size, 0 if i == 0 else base + off))
    _, gsize, goff = entries[1]
    gm = data[goff:goff + gsize]
    if gm[:2] != b"\xff\xd8" or len(gm) != gsize:
        raise ValueError("the MPF index does not point at a JPEG")
    xmp, iso = {}, None
    for marker, payload, _ in jpeg_segments(gm):
        if marker == 0xE1 and payload.startswith(XMP_URN):
            xmp = dict(_ATTR.findall(payload[len(XMP_URN):].decode("utf-8", "replace")))
        elif marker == 0xE2 and payload.startswith(ISO_URN):
            iso = payload[len(ISO_URN):]
    if iso is None:
        raise ValueError("the gain map picture has no ISO 21496-1 metadata")
    return UltraHdr(data[:entries[0][1]], gm, xmp_primary, xmp, parse_iso_metadata(iso),
                    entries)


def reconstruct(sdr_codes: np.ndarray, gain_codes: np.ndarray, meta: GainMapMetadata,
                headroom_log2: float | None = None) -> np.ndarray:
    """The HDR rendition (linear light, SDR white = 1) of an 8-bit sRGB-encoded base and
    its gain map (resized bilinearly to the base's size), at display headroom
    ``headroom_log2`` (default: full, HDRCapacityMax)."""
    import cv2

    sdr = srgb_decode(np.asarray(sdr_codes, np.float32) / 255.0).astype(np.float32)
    h, w = sdr.shape[:2]
    g = np.asarray(gain_codes, np.float32) / 255.0
    if g.shape[:2] != (h, w):
        g = cv2.resize(g, (w, h), interpolation=cv2.INTER_LINEAR)
    if meta.gamma != 1.0:
        g = g ** np.float32(1.0 / meta.gamma)
    log_g = meta.gain_min * (1 - g) + meta.gain_max * g
    cap = meta.capacity_max if headroom_log2 is None else headroom_log2
    weight = np.clip((cap - meta.capacity_min) / (meta.capacity_max - meta.capacity_min), 0, 1)
    boost = np.exp2(log_g * np.float32(weight)).astype(np.float32)
    if boost.ndim == 2:
        boost = boost[..., None]
    return (sdr + np.float32(meta.offset_sdr)) * boost - np.float32(meta.offset_hdr)
