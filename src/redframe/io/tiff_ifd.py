"""The few TIFF tags redframe reads from a DNG's image file directories (IFDs).

A DNG develop reads eight tags of IFD 0 (ColorMatrix1/2, CalibrationIlluminant1/2,
AsShotNeutral, NoiseProfile, BaselineExposure, DNGVersion) and the opcode lists of the raw
image's IFD; LibRaw (rawpy) decodes the pixels. Through tifffile that cost its import,
12.5 ms of every DNG develop's start (5 % of the 0.4 MP sample's whole process, measured on
4 Dec against a ~0.5 ms walk of the same tags here), so the IFDs are walked here: TIFF 6.0
section 2 (the 8-byte header, 12-byte IFD entries, values inline when they fit in 4 bytes,
else at an offset) and the DNG specification's SubIFDs (tag 330) and NewSubFileType
(254). tests/test_io.py checks the values against tifffile's on our DNG writer's files,
phone-style opcode lists included, and on the real DNGs of tests/data.

Only classic TIFF (DNG files are classic TIFF): a BigTIFF header raises :class:`NotClassic`
(the caller may ask tifffile). Hostile files: offsets are checked against the file's size
before anything is read, at most :data:`MAX_ENTRIES` entries an IFD and :data:`MAX_SUBIFDS`
SubIFDs are read, and a value is read only when asked (:attr:`Tag.value`), so an entry
claiming gigabytes allocates nothing (its ``count`` and ``valueoffset`` say what it
claims).
"""

from __future__ import annotations

import struct
from typing import BinaryIO

__all__ = ["Tag", "Ifd", "NotClassic", "TiffError", "read_ifds", "MAX_ENTRIES", "MAX_SUBIFDS"]

#: entries read from one IFD (DNG IFD 0 has ~60-100)
MAX_ENTRIES = 4096
#: SubIFDs of IFD 0 read (a DNG has the raw image and previews: a handful)
MAX_SUBIFDS = 64

# TIFF field types: (struct code, bytes); RATIONAL/SRATIONAL as two LONG/SLONG each
_TYPES = {1: ("B", 1), 2: ("B", 1), 3: ("H", 2), 4: ("I", 4), 5: ("I", 8), 6: ("b", 1),
          7: ("B", 1), 8: ("h", 2), 9: ("i", 4), 10: ("i", 8), 11: ("f", 4), 12: ("d", 8),
          13: ("I", 4)}
_BYTES = (1, 2, 6, 7)  # BYTE, ASCII, SBYTE, UNDEFINED: the value is the bytes
_SUBIFDS, _NEW_SUBFILE_TYPE = 330, 254


class TiffError(ValueError):
    """Not a TIFF file, or its IFDs are damaged."""


class NotClassic(TiffError):
    """A BigTIFF (or other non-classic) header."""


class Tag:
    """One IFD entry: ``count`` values of TIFF ``type`` at ``valueoffset`` in the file
    (inside the entry itself when they fit in 4 bytes). (A plain class: a dataclass costs
    ~0.4 ms of import, and this module loads with every command.)"""

    __slots__ = ("code", "type", "count", "valueoffset", "_file", "_size", "_order")

    def __init__(self, code: int, type: int, count: int, valueoffset: int, file: BinaryIO,
                 size: int, order: str) -> None:
        self.code, self.type, self.count, self.valueoffset = code, type, count, valueoffset
        self._file, self._size, self._order = file, size, order

    @property
    def value(self):
        """The value as tifffile gives it: bytes for BYTE/ASCII/UNDEFINED, a number for
        one value, else a tuple (RATIONALs flattened: num, den, num, den, ...). TiffError
        when it does not lie inside the file."""
        code, width = _TYPES[self.type]
        n = self.count * width
        if self.valueoffset < 0 or self.valueoffset + n > self._size:
            raise TiffError(f"tag {self.code} claims {n:,} bytes past the end of the file")
        self._file.seek(self.valueoffset)
        data = self._file.read(n)
        if len(data) != n:
            raise TiffError(f"tag {self.code} is truncated")
        if self.type in _BYTES:
            return data
        per = 2 if self.type in (5, 10) else 1
        values = struct.unpack(f"{self._order}{self.count * per}{code}", data)
        return values[0] if len(values) == 1 else values


class Ifd:
    """One IFD's tags by code, its NewSubFileType (0: the main image) and, for IFD 0, its
    SubIFDs."""

    __slots__ = ("tags", "subfiletype", "subifds")

    def __init__(self, tags: dict[int, Tag], subfiletype: int,
                 subifds: tuple[Ifd, ...] = ()) -> None:
        self.tags, self.subfiletype, self.subifds = tags, subfiletype, subifds


def read_ifds(f: BinaryIO) -> Ifd:
    """IFD 0 of the open TIFF file ``f`` with its SubIFDs (one level, as a DNG keeps its raw
    image and previews); TiffError when ``f`` is not a classic TIFF or IFD 0 is damaged (a
    damaged SubIFD is left out)."""
    f.seek(0, 2)
    size = f.tell()
    f.seek(0)
    head = f.read(8)
    if len(head) < 8 or head[:2] not in (b"II", b"MM"):
        raise TiffError("not a TIFF file")
    order = "<" if head[:2] == b"II" else ">"
    magic, first = struct.unpack(order + "HI", head[2:8])
    if magic == 43:
        raise NotClassic("a BigTIFF file")
    if magic != 42:
        raise TiffError("not a TIFF file")
    ifd0 = _read_ifd(f, first, size, order)
    subs = []
    if _SUBIFDS in ifd0.tags:
        tag = ifd0.tags[_SUBIFDS]
        if tag.type in (4, 13) and 0 < tag.count <= MAX_SUBIFDS:
            offsets = tag.value
            for off in offsets if isinstance(offsets, tuple) else (offsets,):
                try:
                    subs.append(_read_ifd(f, off, size, order))
                except TiffError:
                    continue
    return Ifd(ifd0.tags, ifd0.subfiletype, tuple(subs))


def _read_ifd(f: BinaryIO, offset: int, size: int, order: str) -> Ifd:
    if offset < 8 or offset + 2 > size:
        raise TiffError(f"an IFD at offset {offset} is outside the file")
    f.seek(offset)
    (n,) = struct.unpack(order + "H", f.read(2))
    if n == 0 or n > MAX_ENTRIES or offset + 2 + 12 * n > size:
        raise TiffError(f"an IFD claims {n} entries")
    data = f.read(12 * n)
    tags: dict[int, Tag] = {}
    for k in range(n):
        code, typ, count = struct.unpack_from(order + "HHI", data, 12 * k)
        if typ not in _TYPES:
            continue  # a type this reader does not know (tifffile skips them too)
        width = _TYPES[typ][1]
        if count * width <= 4:
            where = offset + 2 + 12 * k + 8
        else:
            (where,) = struct.unpack_from(order + "I", data, 12 * k + 8)
        tags.setdefault(code, Tag(code, typ, count, where, f, size, order))
    subfiletype = 0
    if _NEW_SUBFILE_TYPE in tags and tags[_NEW_SUBFILE_TYPE].count == 1:
        try:
            value = tags[_NEW_SUBFILE_TYPE].value
            subfiletype = int(value) if isinstance(value, int) else 0
        except TiffError:
            subfiletype = 0
    return Ifd(tags, subfiletype)
