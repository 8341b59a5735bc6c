"""Baseline JPEG encoded on several cores: horizontal bands joined at restart markers.

libjpeg-turbo encodes on one core. A baseline JPEG whose restart interval is one MCU row
(ITU-T T.81 / ISO 10918-1, B.2.4.4 and F.1.2.1.3: DC prediction and the entropy coder
reset at every RSTm marker) can be cut between MCU rows and put back together: each band
is encoded on its own with the same tables (fixed quality, standard Huffman tables, no
``optimize``), the first band's header gets the full height in its SOF, and the bands'
entropy-coded segments are concatenated with the RST0..RST7 numbering continued. The
decoded pixels are exactly those of a one-piece encode with the same settings (the DCT
coefficients do not change, only where the coder restarts); the file grows by a few
bytes per MCU row (the marker, bit padding, DC values coded afresh): about 0.1 %.
"""

from __future__ import annotations

import itertools
import os
import re
import struct
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["encode_jpeg", "set_threads", "threads"]

#: Below this many pixels one encoder is fast enough (threads cost more than they save).
MIN_BAND_PIXELS = 1_000_000

_threads: int | None = None
_RST = re.compile(rb"\xff[\xd0-\xd7]")


def set_threads(n: int | None) -> None:
    """Encoder threads for this process (None: one per available core, up to 4)."""
    global _threads
    _threads = None if n is None else max(1, int(n))


def threads() -> int:
    if _threads is not None:
        return _threads
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def _encode(bgr: np.ndarray, quality: int, subsampling: int, restart: int) -> bytes:
    """libjpeg-turbo through OpenCV (which releases the GIL, unlike Pillow's JPEG path)."""
    import cv2

    factor = {0: cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444, 1: cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
              2: cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420}[subsampling]
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality), cv2.IMWRITE_JPEG_SAMPLING_FACTOR, factor,
              cv2.IMWRITE_JPEG_OPTIMIZE, 0, cv2.IMWRITE_JPEG_PROGRESSIVE, 0]
    if restart:
        params += [cv2.IMWRITE_JPEG_RST_INTERVAL, int(restart)]
    ok, data = cv2.imencode(".jpg", bgr, params)
    if not ok:
        raise ValueError("the JPEG encoder failed")
    return data.tobytes()


def _app_segments(icc_profile: bytes | None, exif: bytes | None) -> bytes:
    """APP1 (``exif``: the payload with its ``Exif\\0\\0`` prefix) and APP2 ICC_PROFILE
    segments (ICC.1:2010 Annex B.4: chunks of at most 65519 bytes, numbered from 1)."""
    out = bytearray()
    if exif:
        if len(exif) > 65533:
            raise ValueError("EXIF block over 64 KB")
        out += b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    if icc_profile:
        chunks = [icc_profile[i: i + 65519] for i in range(0, len(icc_profile), 65519)]
        for n, chunk in enumerate(chunks, 1):
            body = b"ICC_PROFILE\0" + bytes((n, len(chunks))) + chunk
            out += b"\xff\xe2" + struct.pack(">H", len(body) + 2) + body
    return bytes(out)


def _segments(data: bytes) -> tuple[int, int, int]:
    """(offset of the SOF0 segment, start of the entropy-coded data, offset of EOI)."""
    pos, sof = 2, -1
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ValueError("malformed JPEG header")
        marker = data[pos + 1]
        length = struct.unpack(">H", data[pos + 2: pos + 4])[0]
        if marker == 0xC0:
            sof = pos
        elif marker in (0xC1, 0xC2, 0xC3):
            raise ValueError("not a baseline JPEG")
        if marker == 0xDA:  # start of scan: entropy-coded data follows its header
            end = data.rindex(b"\xff\xd9")
            return sof, pos + 2 + length, end
        pos += 2 + length
    raise ValueError("JPEG without a scan")


def encode_jpeg(pixels: np.ndarray, *, quality: int, subsampling: int,
                icc_profile: bytes | None = None, exif: bytes | None = None,
                workers: int | None = None) -> bytes:
    """``pixels`` (H, W, 3) uint8 RGB as a baseline JPEG, in bands on ``workers`` threads
    (default :func:`threads`). ``subsampling``: 0 (4:4:4), 1 (4:2:2) or 2 (4:2:0)."""
    import cv2

    h, w = pixels.shape[:2]
    bgr = cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2BGR)
    workers = threads() if workers is None else max(1, int(workers))
    mcu_h = 16 if subsampling == 2 else 8
    mcu_w = 8 if subsampling == 0 else 16
    mcu_rows = -(-h // mcu_h)
    bands = min(workers, mcu_rows, max(1, (h * w) // MIN_BAND_PIXELS))
    if bands <= 1:
        parts = [_encode(bgr, quality, subsampling, 0)]
        cuts = [(0, h)]
    else:
        per = -(-mcu_rows // bands) * mcu_h
        cuts = [(y, min(h, y + per)) for y in range(0, h, per)]
        restart = -(-w // mcu_w)  # one MCU row
        with ThreadPoolExecutor(len(cuts)) as pool:
            parts = list(pool.map(
                lambda c: _encode(bgr[c[0]:c[1]], quality, subsampling, restart), cuts))
    sof, start, end = _segments(parts[0])
    head = bytearray(parts[0][:start])
    head[sof + 5: sof + 7] = struct.pack(">H", h)  # SOF0: P, then Y (lines), then X
    # our APP segments after JFIF's APP0 (the order JFIF + Exif readers expect)
    at = 2 + (2 + struct.unpack(">H", head[4:6])[0] if head[2:4] == b"\xff\xe0" else 0)
    head[at:at] = _app_segments(icc_profile, exif)
    out = [bytes(head)]
    count = 0  # restart markers written so far
    for i, part in enumerate(parts):
        if i:
            _, start, end = _segments(part)
            out.append(bytes((0xFF, 0xD0 + count % 8)))
            count += 1
        numbers = itertools.count(count)
        renumber = lambda _m, n=numbers: bytes((0xFF, 0xD0 + next(n) % 8))  # noqa: E731
        out.append(_RST.sub(renumber, part[start:end]) if i else part[start:end])
        count += (cuts[i][1] - cuts[i][0] + mcu_h - 1) // mcu_h - 1
    out.append(b"\xff\xd9")
    return b"".join(out)
