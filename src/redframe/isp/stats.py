"""Order statistics the develop's analysis takes of its preview.

NumPy's ``np.median``, ``np.quantile`` and ``np.unique`` import ``numpy.ma`` on their first
call (their NaN and mask checks ask ``np.ma``): 5.3 ms of every develop's process, measured
on 4 Dec. These take the same values without it:

- :func:`median`: ``np.median`` of the whole array, value and dtype (a partition at the
  middle one or two positions, their mean in the array's dtype, NaN if any element is);
- :func:`quantile`: ``np.quantile``'s default (``linear``, Hyndman & Fan's method 7) of
  the whole array at a sequence of probabilities, computed in float64 as ``np.quantile``
  computes a sequence (the same values); for one probability of a float32 array NumPy
  computes in float32, this stays in float64 (within a float32 ulp of it).

``tests/test_stages.py`` checks both against NumPy.
"""

from __future__ import annotations

import numpy as np

__all__ = ["median", "quantile"]


def median(x) -> np.generic:
    """``np.median(x)`` over all of ``x`` (NaN for an empty array, without a warning)."""
    a = np.asarray(x).ravel()
    n = a.size
    if n == 0:
        return np.float64("nan")
    k = n // 2
    inexact = np.issubdtype(a.dtype, np.inexact)
    kth = [k - 1, k] if n % 2 == 0 else [k]
    if inexact and n - 1 not in kth:
        kth.append(n - 1)  # the largest last: NaN sorts there
    part = np.partition(a, kth)
    if inexact and np.isnan(part[-1]):
        return part[-1]
    return np.mean(part[k - 1 : k + 1]) if n % 2 == 0 else np.mean(part[k : k + 1])


def quantile(x, q) -> np.ndarray | np.float64:
    """``np.quantile(x, q)`` over all of ``x`` (linear interpolation), float64; ``q`` a
    probability or a sequence of them in [0, 1]."""
    a = np.asarray(x).ravel()
    n = a.size
    qs = np.atleast_1d(np.asarray(q, np.float64))
    if n == 0:
        out = np.full(qs.shape, np.nan)
        return out if np.ndim(q) else out[0]
    v = (n - 1) * qs
    below = np.floor(v)
    prev = np.clip(below.astype(np.intp), 0, n - 1)
    nxt = np.minimum(prev + 1, n - 1)
    part = np.partition(a, sorted({0, n - 1, *prev.tolist(), *nxt.tolist()}))
    lo, hi = part[prev], part[nxt]
    g = v - below
    diff = hi - lo  # in the array's dtype, as np.quantile's _lerp takes it
    out = np.where(g >= 0.5, hi - diff * (1 - g), lo + diff * g).astype(np.float64)
    if np.issubdtype(a.dtype, np.inexact) and np.isnan(part[-1]):
        out[:] = np.nan
    return out if np.ndim(q) else out[0]
