"""The ``quantize`` stage: encoded float RGB -> uint8 / uint16 code values.

Reads encoded RGB in [0, 1] (float32), writes uint8 or uint16 (``output_bits``). 8-bit
output is dithered with triangular (TPDF) noise of +-1 LSB (Lipshitz, Wannamaker,
Vanderkooy 1992, "Quantization and dither: a theoretical survey", J. AES 40(5)) seeded by
the pixel's position (:mod:`redframe.color.dither`), so strips, threads and reruns give
identical files; exact black and white are not dithered.
"""

from __future__ import annotations

import numpy as np

from redframe.color.dither import dither_noise
from redframe.isp.pixel import code_value_np
from redframe.isp.stage import Stage

__all__ = ["OUTPUT_DTYPES", "quantize_reference", "STAGE"]

#: ``output_bits`` -> the array type of the developed image.
OUTPUT_DTYPES = {None: np.float32, 8: np.uint8, 16: np.uint16}


def quantize_reference(img: np.ndarray, dtype, row0: int = 0, dither: bool | None = None):
    """Quantise encoded (H, W, 3) ``img`` (rows from full-frame row ``row0``) to ``dtype``;
    dithered by default for uint8. The kernel :func:`redframe.isp.fused.sharpen_quantize`
    computes the same."""
    maxval = np.float32(np.iinfo(dtype).max)
    dither = (np.dtype(dtype) == np.uint8) if dither is None else dither
    h, w, _ = img.shape
    noise = dither_noise(row0, h, w) if dither else np.float32(0.0)
    codes = code_value_np(np.asarray(img, dtype=np.float32), maxval, noise)
    return np.clip(np.floor(codes), 0, maxval).astype(dtype)


def _apply(x: np.ndarray, ctx, rows) -> np.ndarray:
    return quantize_reference(x, OUTPUT_DTYPES[ctx.params.output_bits], row0=rows[0])


STAGE = Stage(
    name="quantize",
    params="output_bits",
    reads="encoded RGB in [0, 1], float32",
    writes="encoded RGB as uint8 (TPDF-dithered) or uint16",
    apply=_apply,
    cite="Lipshitz, Wannamaker, Vanderkooy 1992, J. AES 40(5) (TPDF dither)",
    enabled=lambda ctx: ctx.params.output_bits is not None,
)
