"""Chromatic adaptation: XYZ seen under one white -> the corresponding colour under another.

Bradford transform (K. M. Lam, "Metamerism and colour constancy", PhD thesis, University
of Bradford, 1985; linear form as in ICC.1:2010 Annex E and CIE 160:2004): a von Kries
scaling of "sharpened" cone responses. It is the adaptation of the ICC profile connection
space and of colour-science's default ``transform="Bradford"``.
"""

from __future__ import annotations

import numpy as np

from redframe.color.chromaticity import xy_to_xyz

__all__ = ["BRADFORD", "bradford_matrix"]

#: XYZ -> Bradford's sharpened cone responses (rho, gamma, beta), Lam 1985.
BRADFORD = np.array([[0.8951, 0.2664, -0.1614],
                     [-0.7502, 1.7135, 0.0367],
                     [0.0389, -0.0685, 1.0296]])


def bradford_matrix(source_xy: tuple[float, float], target_xy: tuple[float, float]) -> np.ndarray:
    """3x3 matrix adapting XYZ under the ``source_xy`` white to XYZ under ``target_xy``.

    Parameters
    ----------
    source_xy, target_xy : tuple of float
        CIE 1931 chromaticities of the two whites (luminance is kept: Y = 1 for both).

    Returns
    -------
    numpy.ndarray
        (3, 3) float64 ``B^-1 diag(B w_t / B w_s) B`` with ``B`` = :data:`BRADFORD`.

    Examples
    --------
    >>> m = bradford_matrix((0.3127, 0.3290), (0.3457, 0.3585))  # D65 -> D50 (ICC)
    >>> (m @ [0.9505, 1.0, 1.0891]).round(3).tolist()
    [0.964, 1.0, 0.825]
    """
    src = BRADFORD @ xy_to_xyz(source_xy)
    dst = BRADFORD @ xy_to_xyz(target_xy)
    return np.linalg.inv(BRADFORD) @ np.diag(dst / src) @ BRADFORD
