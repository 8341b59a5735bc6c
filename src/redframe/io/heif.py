"""Completeness of ISOBMFF files (HEIC/HEIF/AVIF, CR3) before they are decoded.

libheif decodes a grid image (every iPhone HEIC is one: 512x512 HEVC tiles) whose tiles lie
past the end of a truncated file into a picture with flat (green) tiles, and pillow-heif
reports nothing. So we check the container ourselves, from the box sizes and the item
locations the file declares:

- every top-level box must end inside the file (a truncated ``mdat`` declares more bytes
  than are left);
- every extent that ``meta/iloc`` places in the file itself (construction method 0) must end
  inside the file.

Nothing is decoded here; the check reads the top-level box headers and the ``meta`` box.
"""

from __future__ import annotations

import os
import struct

from redframe.errors import InputError

__all__ = ["check_isobmff_complete"]

#: The ``meta`` box is metadata only (item table, properties, EXIF is in mdat): beyond this
#: it is refused rather than read into memory.
MAX_META_BYTES = 64 * 1024 * 1024


def _printable(box_type: bytes) -> bool:
    return all(32 <= b < 127 for b in box_type)


def _top_level_boxes(fh, size: int, path: str) -> list[tuple[bytes, int, int]]:
    """(type, payload offset, payload end) of each top-level box; InputError when one claims
    more bytes than the file has."""
    boxes: list[tuple[bytes, int, int]] = []
    offset = 0
    while offset + 8 <= size:
        fh.seek(offset)
        header = fh.read(16)
        box_size, box_type = struct.unpack(">I4s", header[:8])
        if not _printable(box_type):
            break  # trailing bytes that are not a box: nothing we need lies there
        payload = offset + 8
        if box_size == 1:
            if len(header) < 16:
                raise InputError(f"truncated file: the {box_type.decode()} box header is cut "
                                 f"off at {size:,} bytes", path=path)
            box_size = struct.unpack(">Q", header[8:16])[0]
            payload = offset + 16
        elif box_size == 0:
            box_size = size - offset  # "extends to the end of the file"
        if box_size < payload - offset:
            raise InputError(f"damaged file: the {box_type.decode()} box at byte {offset:,} "
                             f"has an impossible size ({box_size})", path=path)
        end = offset + box_size
        if end > size:
            raise InputError(
                f"truncated file: {size:,} bytes, but its {box_type.decode()} box needs "
                f"{end:,} ({100 * size / end:.0f} % present)", path=path)
        boxes.append((box_type, payload, end))
        offset = end
    return boxes


def _children(data: bytes, start: int, end: int):
    """(type, payload start, payload end) of the boxes in ``data[start:end]``."""
    offset = start
    while offset + 8 <= end:
        box_size, box_type = struct.unpack(">I4s", data[offset:offset + 8])
        payload = offset + 8
        if box_size == 1:
            if offset + 16 > end:
                return
            box_size = struct.unpack(">Q", data[offset + 8:offset + 16])[0]
            payload = offset + 16
        elif box_size == 0:
            box_size = end - offset
        if box_size < payload - offset or offset + box_size > end:
            return
        yield box_type, payload, offset + box_size
        offset += box_size


def _uint(data: bytes, offset: int, nbytes: int) -> int:
    if nbytes == 0:
        return 0
    if offset + nbytes > len(data):
        raise ValueError("iloc runs past its box")
    return int.from_bytes(data[offset:offset + nbytes], "big")


def _iloc_extents(data: bytes, start: int, end: int):
    """(item id, file offset, length) of each extent stored in the file itself."""
    box = data[start:end]
    version = box[0]
    if version > 2:
        return
    pos = 4
    sizes = _uint(box, pos, 2)
    offset_size, length_size = sizes >> 12, (sizes >> 8) & 0xF
    base_offset_size, index_size = (sizes >> 4) & 0xF, sizes & 0xF if version else 0
    pos += 2
    count_size = 4 if version == 2 else 2
    item_count = _uint(box, pos, count_size)
    pos += count_size
    for _ in range(item_count):
        item_id = _uint(box, pos, count_size)
        pos += count_size
        method = 0
        if version in (1, 2):
            method = _uint(box, pos, 2) & 0xF
            pos += 2
        pos += 2  # data_reference_index
        base = _uint(box, pos, base_offset_size)
        pos += base_offset_size
        extent_count = _uint(box, pos, 2)
        pos += 2
        for _ in range(extent_count):
            pos += index_size
            extent_offset = _uint(box, pos, offset_size)
            pos += offset_size
            length = _uint(box, pos, length_size)
            pos += length_size
            if method == 0:
                yield item_id, base + extent_offset, length


def check_isobmff_complete(path: str) -> None:
    """InputError naming ``path`` when the file ends before a box or an item's data does."""
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        boxes = _top_level_boxes(fh, size, path)
        meta = next(((s, e) for t, s, e in boxes if t == b"meta"), None)
        if meta is None:
            return
        start, end = meta
        if end - start > MAX_META_BYTES:
            raise InputError(f"meta box of {end - start:,} bytes; refusing more than "
                             f"{MAX_META_BYTES:,}", path=path)
        fh.seek(start)
        data = fh.read(end - start)
    try:
        for box_type, s, e in _children(data, 4, len(data)):  # meta is a FullBox
            if box_type != b"iloc":
                continue
            for item_id, offset, length in _iloc_extents(data, s, e):
                if offset + length > size:
                    present = max(0, size - offset)
                    raise InputError(
                        f"truncated file: {size:,} bytes, but image item {item_id} needs "
                        f"bytes up to {offset + length:,} ({present:,} of its {length:,} "
                        f"present)", path=path)
    except ValueError:
        raise InputError("damaged file: its item location table (iloc) is cut off",
                         path=path) from None
