"""RGB gamut boundaries in Oklab, and the one gamut compression of redframe.

Used by the looks (their colour math, baked into LUTs) and by the develop's output
transform (per pixel, in the compiled kernels, from the same ``_gamut.pxd``): a colour
outside the output gamut moves along constant Oklab hue (B. Ottosson, "A perceptual color
space for image processing", 2020). If it is lighter than its hue's cusp (the gamut's
most chromatic colour), toward a grey between its own lightness and the cusp's (the
"CUSP" direction of CIE 156:2004, adaptive as in Ottosson's "sRGB gamut clipping", 2021:
a sunlit red keeps its depth instead of turning pink). If it is darker, the direction
depends on the hue: where the cusp is light (green, yellow, cyan: cusp lightness at or
above :data:`CUSP_LIGHT`) toward the cusp's grey too, by the colour's relative chroma and
its lightness relative to the cusp's (a saturated green light keeps its colour instead
of turning a muted, darker teal; a dim one keeps about its lightness); where the cusp is
dark (blue, red, magenta: at or below :data:`CUSP_DARK`) at constant lightness (a dark
saturated blue is not lifted by how far outside it lies, which would make its lightness
follow every small change of hue); a smoothstep of the cusp lightness in between, so the
direction changes smoothly with hue. Rolled off by a knee from ``threshold`` of the way
to the boundary, so in-gamut colours stay exact and distinct out-of-gamut colours stay
distinct. Per-channel clipping never decides a colour.

Spaces are named as :func:`redframe.color.rgb_to_rgb_matrix` names them; colours are
Oklab of linear Rec.2020 (:mod:`redframe.color.oklab`).
"""

from __future__ import annotations

import numpy as np

from redframe.color._gamut import bisect_line, compress_arrays, constants
from redframe.color.oklab import LMS_TO_REC2020, OKLAB_TO_LMS
from redframe.color.primaries import rgb_to_rgb_matrix

__all__ = ["lms_to_rgb", "boundary_along", "boundary_chroma", "cusp", "cusp_table",
           "compress_oklab", "OKLAB_TO_LMS_C", "CUSP_DARK", "CUSP_LIGHT"]

#: Oklab cusp lightness at or below which a colour darker than its hue's cusp is compressed
#: at constant lightness (blue 0.46, red 0.63, magenta 0.70 in sRGB) ...
CUSP_DARK = 0.72
#: ... and at or above which toward the cusp's grey (green 0.87, cyan 0.90, yellow 0.97)
CUSP_LIGHT = 0.84
if constants() != {"CUSP_DARK": CUSP_DARK, "CUSP_LIGHT": CUSP_LIGHT}:
    raise ImportError("redframe.color._gamut: CUSP_DARK / CUSP_LIGHT differ from the Python "
                      "values; rebuild the kernels")

#: Oklab -> cube-rooted LMS, C-contiguous (as the kernels take it)
OKLAB_TO_LMS_C = np.ascontiguousarray(OKLAB_TO_LMS)


def lms_to_rgb(space: str) -> np.ndarray:
    """LMS -> linear RGB of ``space`` (3x3, C-contiguous)."""
    m = LMS_TO_REC2020 if space == "rec2020" else rgb_to_rgb_matrix("rec2020", space) @ \
        LMS_TO_REC2020
    return np.ascontiguousarray(m, dtype=np.float64)


def boundary_along(lightness, a, b, anchor, space: str, t_max, iterations: int = 20):
    """Largest t in [0, t_max] with the colour ``anchor + t * ((L, a, b) - anchor)`` inside
    ``space``'s [0, 1]^3, for an ``anchor`` (L0, 0, 0) on the grey axis (inside), by
    bisection (along such a line the cube is left once)."""
    shape = np.shape(lightness)
    flat = [np.ascontiguousarray(np.broadcast_to(np.asarray(v, np.float64), shape)).ravel()
            for v in (lightness, a, b, anchor, t_max)]
    out = bisect_line(*flat, OKLAB_TO_LMS_C, lms_to_rgb(space), iterations)
    return out.reshape(shape)


def boundary_chroma(lightness, hue, space: str, iterations: int = 20) -> np.ndarray:
    """Largest Oklab chroma at (L, h) (h in radians) whose ``space`` RGB lies in [0, 1]^3.

    Along a ray of constant L and h from the grey axis the RGB cube is left once, so a
    bisection on chroma finds the boundary (Ottosson's gamut clipping solves the same
    cubic with Halley's method; bisection is simpler and exact enough for tables).
    """
    lightness = np.asarray(lightness, np.float64)
    hue = np.broadcast_to(np.asarray(hue, np.float64), lightness.shape)
    top = 0.5  # beyond every RGB gamut's chroma in Oklab
    return top * boundary_along(lightness, top * np.cos(hue), top * np.sin(hue), lightness,
                                space, 1.0, iterations)


_CUSPS: dict[str, tuple[np.ndarray, np.ndarray]] = {}


#: the lightnesses the cusp is searched among, and the coarse search's stride
_CUSP_LIGHTNESS = np.linspace(0.02, 0.99, 195)
_CUSP_STRIDE = 8


def cusp_table(space: str) -> tuple[np.ndarray, np.ndarray]:
    """(L, C) of ``space``'s cusp (its most chromatic colour) at each whole degree of Oklab
    hue, 0 .. 360 (361 entries, the last equal to the first), built once per space: at
    each hue the lightness of :data:`_CUSP_LIGHTNESS` with the largest boundary chroma.

    The boundary chroma rises with lightness to the cusp and falls after it (one maximum),
    so the largest is found among every 8th lightness and then among all within 8 of that
    one: the same table as evaluating all 195 (tested), with ~42 bisections a hue instead
    of 195 (the table was ~11 ms of every develop's process)."""
    if space not in _CUSPS:
        ls = _CUSP_LIGHTNESS
        n, k = ls.size, _CUSP_STRIDE
        hues = np.radians(np.arange(0.0, 361.0))
        coarse = np.array(sorted({*range(0, n, k), n - 1}))  # (np.unique imports numpy.ma)
        c = boundary_chroma(np.broadcast_to(ls[coarse][None, :], (361, coarse.size)),
                            np.broadcast_to(hues[:, None], (361, coarse.size)), space)
        centre = coarse[np.argmax(c, axis=1)]
        window = np.clip(centre[:, None] + np.arange(-k, k + 1)[None, :], 0, n - 1)
        c = boundary_chroma(ls[window], np.broadcast_to(hues[:, None], window.shape), space)
        # the first largest, as argmax over all lightnesses takes it (clipped duplicates of
        # an end index come after it in the window only when they are that index)
        best = np.take_along_axis(window, np.argmax(c, axis=1)[:, None], axis=1)[:, 0]
        _CUSPS[space] = (np.ascontiguousarray(ls[best]), np.ascontiguousarray(np.max(c, axis=1)))
    return _CUSPS[space]


def cusp(hue, space: str) -> tuple[np.ndarray, np.ndarray]:
    """(L, C) of the cusp at hue ``hue`` (radians), interpolated in :func:`cusp_table`."""
    table_l, table_c = cusp_table(space)
    deg = np.degrees(hue) % 360.0
    grid = np.arange(0.0, 361.0)
    return np.interp(deg, grid, table_l), np.interp(deg, grid, table_c)


def compress_oklab(lightness, a, b, space: str, threshold: float):
    """The gamut compression (module docstring) of Oklab colours into ``space``: returns
    new (L, a, b) float64 arrays of the input's shape; colours within ``threshold`` of the
    boundary along their line to the anchor grey are returned exactly."""
    shape = np.shape(lightness)
    out = [np.array(np.broadcast_to(np.asarray(v, np.float64), shape)).ravel()
           for v in (lightness, a, b)]
    table_l, table_c = cusp_table(space)
    compress_arrays(*out, OKLAB_TO_LMS_C, lms_to_rgb(space), table_l, table_c,
                    float(threshold))
    return tuple(v.reshape(shape) for v in out)
