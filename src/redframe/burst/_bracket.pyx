"""Compiled kernels of :mod:`redframe.burst.bracket` (the HDR bracket merge).

The per-sample math is :func:`redframe.burst.bracket.radiance_reference`'s (NumPy, the
definition; ``tests/test_hdr_bracket.py`` checks these kernels against it), fused so each
Bayer-plane sample is read once per pass instead of once per array operation:

- :func:`clip_weight`: the quad's clipping weight before its 3x3 erosion;
- :func:`align_grey`: the quad grey at a common exposure, clipped, in the sqrt domain;
- :func:`deghost_z`: the anchor estimate and every other frame's normalised squared
  difference to it (before its box blur);
- :func:`radiance`: the inverse-variance weighted estimate, each frame's share, written
  straight into the CFA mosaic, with each row's largest value.

All are parallel over rows (OpenMP, :func:`redframe._threads.set_num_threads`) and release
the GIL; the frames are float32 (H, W, 4) Bayer planes, sites (0,0), (0,1), (1,0), (1,1).
"""

from cython.parallel cimport prange
from libc.math cimport sqrtf
from libc.stdlib cimport free, malloc

cdef extern from *:
    """
    static inline float redframe_bminf(float a, float b) { return a < b ? a : b; }
    static inline float redframe_bmaxf(float a, float b) { return a > b ? a : b; }
    """
    float _minf "redframe_bminf"(float a, float b) noexcept nogil
    float _maxf "redframe_bmaxf"(float a, float b) noexcept nogil

DEF MAXF = 9  # redframe.burst.bracket.MAX_FRAMES


def clip_weight(const float[:, :, ::1] planes, float clip, float[:, ::1] out):
    """1 where no site of the quad reaches ``clip`` of the clip level, 0 at clipping,
    smoothstep between."""
    cdef Py_ssize_t h = planes.shape[0], w = planes.shape[1], i, j
    cdef const float* p
    cdef float top, v, inv = <float>1 / (<float>1 - clip)
    for i in prange(h, nogil=True, schedule="static"):
        p = &planes[i, 0, 0]
        for j in range(w):
            top = _maxf(_maxf(p[4 * j], p[4 * j + 1]), _maxf(p[4 * j + 2], p[4 * j + 3]))
            v = _minf(_maxf((<float>1 - top) * inv, <float>0), <float>1)
            out[i, j] = v * v * (<float>3 - <float>2 * v)


def align_grey(const float[:, :, ::1] planes, float e, float ceiling, float[:, ::1] out):
    """sqrt(clip(mean of the quad / e, 0, ceiling))."""
    cdef Py_ssize_t h = planes.shape[0], w = planes.shape[1], i, j
    cdef const float* p
    cdef float g
    for i in prange(h, nogil=True, schedule="static"):
        p = &planes[i, 0, 0]
        for j in range(w):
            g = (p[4 * j] + p[4 * j + 1] + p[4 * j + 2] + p[4 * j + 3]) * <float>0.25 / e
            out[i, j] = sqrtf(_minf(_maxf(g, <float>0), ceiling))


cdef struct Frames:
    int n
    int ref
    Py_ssize_t w
    const float* planes[MAXF]  # (H, W, 4) each
    const float* valid[MAXF]   # (H, W) each
    float inv_e[MAXF]          # 1 / relative exposure
    float s[MAXF]              # noise: Var v = s v + o, already / e^2
    float o[MAXF]
    int anchor_order[MAXF]     # the frames shorter than the reference, shortest first
    int n_anchor


cdef int _frames(Frames* f, list planes, list valid, e, noise, int ref, order) except -1:
    cdef int n = len(planes), i
    cdef const float[:, :, ::1] p
    cdef const float[:, ::1] v
    if not 2 <= n <= MAXF or len(valid) != n or len(e) != n or len(noise) != n:
        raise ValueError(f"2 to {MAXF} frames, each with its planes, validity, exposure and "
                         "noise")
    if not 0 <= ref < n:
        raise ValueError(f"reference {ref} is not one of the {n} frames")
    f.n = n
    f.ref = ref
    h, f.w = planes[ref].shape[0], planes[ref].shape[1]
    for i in range(n):
        p = planes[i]
        v = valid[i]
        if p.shape[0] != h or p.shape[1] != f.w or p.shape[2] != 4 or v.shape[0] != h \
                or v.shape[1] != f.w:
            raise ValueError(f"frame {i}: planes (H, W, 4) and validity (H, W) of the "
                             "reference's size")
        f.planes[i] = &p[0, 0, 0]
        f.valid[i] = &v[0, 0]
        f.inv_e[i] = <float>1 / <float>e[i]
        f.s[i] = <float>(noise[i][0] / (e[i] * e[i]))
        f.o[i] = <float>(noise[i][1] / (e[i] * e[i]))
    f.n_anchor = len(order)
    for i in range(f.n_anchor):
        f.anchor_order[i] = order[i]
    return 0


cdef inline (float, float) _sample(const Frames* f, int i, Py_ssize_t k) noexcept nogil:
    """(radiance, its inverse variance) of frame i's sample k."""
    cdef float v = _maxf(f.planes[i][k], <float>0)
    return v * f.inv_e[i], <float>1 / (f.s[i] * v + f.o[i])


cdef inline (float, float) _anchor(const Frames* f, Py_ssize_t px,
                                   Py_ssize_t k) noexcept nogil:
    """(the estimate frames are checked against at sample k of pixel px, its inverse
    variance): the reference's where it measured, else the shortest frame's that did."""
    cdef int r = f.ref, t, i
    cdef float a, aiv
    a, aiv = _sample(f, r, k)
    aiv = aiv * f.valid[r][px]
    if f.valid[r][px] < <float>0.5 and aiv <= 0:
        for t in range(f.n_anchor):
            i = f.anchor_order[t]
            if f.valid[i][px] > <float>0.5:
                return _sample(f, i, k)
    return a, aiv


def deghost_z(list planes, list valid, e, noise, int ref, order, float[:, :, ::1] z):
    """Per frame but the reference (in frame order), per pixel: the mean over the 4 sites
    of (radiance - anchor)^2 / (its variance + the anchor's), into ``z`` (n - 1, H, W).
    ``order``: the frames shorter than the reference, shortest first."""
    cdef Frames f
    _frames(&f, planes, valid, e, noise, ref, order)
    cdef Py_ssize_t h = planes[ref].shape[0], w = f.w, i, j, px, k, plane = h * w
    cdef int c, fi, slot
    cdef float a, aiv, rad, iv, d, var
    if z.shape[0] != f.n - 1 or z.shape[1] != h or z.shape[2] != w:
        raise ValueError("z must be (n - 1, H, W)")
    cdef float* pz = &z[0, 0, 0]
    for i in prange(h, nogil=True, schedule="static"):
        for j in range(w):
            px = i * w + j
            for slot in range(f.n - 1):
                pz[slot * plane + px] = 0
            for c in range(4):
                k = 4 * px + c
                a, aiv = _anchor(&f, px, k)
                slot = 0
                for fi in range(f.n):
                    if fi == f.ref:
                        continue
                    rad, iv = _sample(&f, fi, k)
                    d = rad - a
                    var = <float>1 / iv
                    if aiv > 0:
                        var = var + <float>1 / _maxf(aiv, <float>1e-30)
                    pz[slot * plane + px] += d * d / var
                    slot = slot + 1
            for slot in range(f.n - 1):
                pz[slot * plane + px] *= <float>0.25


def radiance(list planes, list valid, list agree, e, noise, int ref, int short,
             float[:, ::1] mosaic, float[:, :, ::1] shares, float[::1] row_max):
    """The estimate sum w_i E_i / sum w_i per sample (w_i: inverse variance x validity x
    agreement, the reference's agreement 1; where no frame counts, frame ``short``'s
    radiance), written into the CFA ``mosaic`` (2H, 2W at least); each frame's share (mean
    weight over the quad's sites) into ``shares`` (n, H, W); each quad row's largest value
    into ``row_max`` (H,)."""
    cdef Frames f
    _frames(&f, planes, valid, e, noise, ref, ())
    cdef Py_ssize_t h = planes[ref].shape[0], w = f.w, i, j, px, k, mw = mosaic.shape[1]
    cdef Py_ssize_t plane = h * w
    cdef int c, fi, n = f.n
    cdef const float* ag[MAXF]
    cdef const float[:, ::1] av
    cdef float num, den, rad, iv, wt, est, top
    if len(agree) != n:
        raise ValueError("one agreement map per frame (None for the reference)")
    for fi in range(n):
        if fi == ref:
            ag[fi] = NULL
        else:
            av = agree[fi]
            if av.shape[0] != h or av.shape[1] != w:
                raise ValueError(f"agreement map {fi} is not (H, W)")
            ag[fi] = &av[0, 0]
    if mosaic.shape[0] < 2 * h or mosaic.shape[1] < 2 * w or shares.shape[0] != n \
            or shares.shape[1] != h or shares.shape[2] != w or row_max.shape[0] != h:
        raise ValueError("mosaic (>= 2H, >= 2W), shares (n, H, W), row_max (H,)")
    if not 0 <= short < n:
        raise ValueError("short must be one of the frames")
    cdef float* ps = &shares[0, 0, 0]
    cdef float* pm = &mosaic[0, 0]
    for i in prange(h, nogil=True, schedule="static"):
        top = -3.0e38
        for j in range(w):
            px = i * w + j
            for c in range(4):  # each frame's share: the mean of its 4 weights
                k = 4 * px + c
                num = 0
                den = 0
                for fi in range(n):
                    rad, iv = _sample(&f, fi, k)
                    wt = iv * f.valid[fi][px]
                    if fi != f.ref:
                        wt = wt * ag[fi][px]
                    num = num + wt * rad
                    den = den + wt
                    if c == 0:
                        ps[fi * plane + px] = wt
                    else:
                        ps[fi * plane + px] += wt
                if den <= 0:
                    est, iv = _sample(&f, short, k)
                else:
                    est = num / den
                top = _maxf(top, est)
                pm[(2 * i + c // 2) * mw + 2 * j + c % 2] = est
            for fi in range(n):
                ps[fi * plane + px] *= <float>0.25
        row_max[i] = top
