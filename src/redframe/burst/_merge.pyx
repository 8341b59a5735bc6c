"""Compiled kernels of :mod:`redframe.burst.merge` (the robust burst merge).

Strip kernels (:func:`maps`, :func:`resample_diff`, :func:`strip_diff`, :func:`weights`,
:func:`accumulate`) are serial and release the GIL: the merger's Python threads run them
on different strips at once. Whole-frame kernels (:func:`inverse_variance`,
:func:`finish`, :func:`split_quads`, :func:`normalised_quads`, :func:`grey_quads`,
:func:`finish_mosaic`) are parallel over rows (OpenMP,
:func:`redframe._threads.set_num_threads`).

:func:`resample_diff` is the bicubic resampling of an alternate frame's planes fused with
their normalisation and difference to the reference: OpenCV's ``remap`` (``INTER_CUBIC``,
``BORDER_REFLECT_101``) reproduced - Keys' kernel with a = -0.75 (Keys 1981,
doi:10.1109/TASSP.1981.1163711) at the exact position, the 4x4 weights the products of the
two axes'; a uint16 frame's values clamped to [0, 65535] as OpenCV saturates them, but kept
in float32 instead of rounded to integers - and without a pass over memory of its own. For
4 planes each strip row is done in three vectorised passes (the row's weights, the taps two
at a time in GCC/Clang vector types, the normalisation and differences).
"""

from cython.parallel cimport prange
from libc.math cimport floorf
from libc.stdint cimport int64_t, uint16_t
from libc.stdlib cimport malloc, free

cdef extern from *:
    """
    #include <string.h>
    static inline float redframe_minf(float a, float b) { return a < b ? a : b; }
    static inline float redframe_maxf(float a, float b) { return a > b ? a : b; }

    /* Bicubic value of a 4-channel pixel (Keys' kernel, a = -0.75, OpenCV's cubic) at
       (fx, fy) of the (h, w, 4) image src when its 4x4 taps lie inside the image: two taps
       (8 samples) per vector (GCC/Clang vector extensions: one AVX register or two SSE/NEON
       ones). Returns 0, or 1 without touching out when the taps cross the border. */
    typedef float redframe_v8 __attribute__((vector_size(32)));
    typedef uint16_t redframe_u8x16 __attribute__((vector_size(16)));

    static inline __attribute__((always_inline)) redframe_v8 redframe_load8_u16(
            const uint16_t* p) {
        redframe_u8x16 v;
        memcpy(&v, p, sizeof v);
        return __builtin_convertvector(v, redframe_v8);
    }
    static inline __attribute__((always_inline)) redframe_v8 redframe_load8_f32(const float* p) {
        redframe_v8 r;
        memcpy(&r, p, sizeof r);
        return r;
    }
    static inline __attribute__((always_inline)) void redframe_keys(float t, float* c) {
        const float A = -0.75f;
        float u = 1.0f - t, t1 = t + 1.0f;
        c[0] = ((A * t1 - 5.0f * A) * t1 + 8.0f * A) * t1 - 4.0f * A;
        c[1] = ((A + 2.0f) * t - (A + 3.0f)) * t * t + 1.0f;
        c[2] = ((A + 2.0f) * u - (A + 3.0f)) * u * u + 1.0f;
        c[3] = 1.0f - c[0] - c[1] - c[2];
    }
    /* A row of positions -> the top-left tap (ix, iy) and the 4 + 4 weights per pixel,
       structure of arrays (the loop vectorises over pixels). */
    static void redframe_cubic_weights(const float* mx, const float* my, Py_ssize_t n,
                                       int* ix, int* iy, float* cx, float* cy) {
        for (Py_ssize_t j = 0; j < n; j++) {
            float fx = redframe_minf(redframe_maxf(mx[j], -1e6f), 1e6f); /* NaN -> -1e6 */
            float fy = redframe_minf(redframe_maxf(my[j], -1e6f), 1e6f);
            float x0 = floorf(fx), y0 = floorf(fy);
            float c[4];
            ix[j] = (int)x0 - 1;
            iy[j] = (int)y0 - 1;
            redframe_keys(fx - x0, c);
            cx[j] = c[0]; cx[n + j] = c[1]; cx[2 * n + j] = c[2]; cx[3 * n + j] = c[3];
            redframe_keys(fy - y0, c);
            cy[j] = c[0]; cy[n + j] = c[1]; cy[2 * n + j] = c[2]; cy[3 * n + j] = c[3];
        }
    }
    /* The 4x4 taps of 4 channels from the top-left one p (row stride in samples), weights
       cx[k * n], cy[k * n]: two taps (8 samples) per vector. */
    #define REDFRAME_TAPS4(NAME, T, LOAD)                                                  \
    static inline __attribute__((always_inline)) void NAME(                                 \
            const T* p, Py_ssize_t stride, const float* cx, const float* cy, Py_ssize_t n,  \
            float* out) {                                                                   \
        redframe_v8 x01 = {cx[0], cx[0], cx[0], cx[0], cx[n], cx[n], cx[n], cx[n]};         \
        redframe_v8 x23 = {cx[2 * n], cx[2 * n], cx[2 * n], cx[2 * n],                      \
                           cx[3 * n], cx[3 * n], cx[3 * n], cx[3 * n]};                     \
        redframe_v8 acc = {0, 0, 0, 0, 0, 0, 0, 0};                                         \
        for (int k = 0; k < 4; k++, p += stride)                                            \
            acc += LOAD(p) * (cy[k * n] * x01) + LOAD(p + 8) * (cy[k * n] * x23);           \
        for (int c = 0; c < 4; c++) out[c] = acc[c] + acc[c + 4];                           \
    }
    REDFRAME_TAPS4(redframe_taps4_u16, uint16_t, redframe_load8_u16)
    REDFRAME_TAPS4(redframe_taps4_f32, float, redframe_load8_f32)
    """
    float _minf "redframe_minf"(float a, float b) noexcept nogil
    float _maxf "redframe_maxf"(float a, float b) noexcept nogil
    void _cubic_weights "redframe_cubic_weights"(const float* mx, const float* my,
                                                 Py_ssize_t n, int* ix, int* iy, float* cx,
                                                 float* cy) noexcept nogil
    void _taps4_u16 "redframe_taps4_u16"(const uint16_t* p, Py_ssize_t stride, const float* cx,
                                         const float* cy, Py_ssize_t n, float* out) noexcept nogil
    void _taps4_f32 "redframe_taps4_f32"(const float* p, Py_ssize_t stride, const float* cx,
                                         const float* cy, Py_ssize_t n, float* out) noexcept nogil

ctypedef fused sample_t:
    uint16_t
    float

ctypedef fused mosaic_t:
    uint16_t
    float
    double

# --- bicubic resampling (OpenCV's remap INTER_CUBIC, BORDER_REFLECT_101) -----------------

cdef inline void _keys(float t, float* c) noexcept nogil:
    """Keys' cubic (a = -0.75, OpenCV's) weights of the 4 samples around a position whose
    fractional part is t in [0, 1)."""
    cdef float A = <float>-0.75
    cdef float one = 1
    cdef float u = one - t
    cdef float t1 = t + one
    c[0] = ((A * t1 - <float>5 * A) * t1 + <float>8 * A) * t1 - <float>4 * A
    c[1] = ((A + <float>2) * t - (A + <float>3)) * t * t + one
    c[2] = ((A + <float>2) * u - (A + <float>3)) * u * u + one
    c[3] = one - c[0] - c[1] - c[2]


cdef inline Py_ssize_t _reflect101(Py_ssize_t p, Py_ssize_t n) noexcept nogil:
    """OpenCV's borderInterpolate for BORDER_REFLECT_101 (gfedcb|abcdefgh|gfedcba)."""
    if n == 1:
        return 0
    while p < 0 or p >= n:
        if p < 0:
            p = -p
        else:
            p = 2 * n - 2 - p
    return p


cdef inline void _cubic_px(const sample_t* src, Py_ssize_t h, Py_ssize_t w, const int P,
                           float fx, float fy, float* out) noexcept nogil:
    """Bicubic value of the P channels of the (h, w, P) image ``src`` at (fx, fy)."""
    cdef int k, p
    cdef Py_ssize_t ix, iy
    cdef Py_ssize_t xs[4]
    cdef float cx[4]
    cdef float cy[4]
    cdef const sample_t* row
    cdef float wy, w0, w1, w2, w3, x0, y0
    fx = _minf(_maxf(fx, <float>-1e6), <float>1e6)  # also NaN -> -1e6
    fy = _minf(_maxf(fy, <float>-1e6), <float>1e6)
    x0 = floorf(fx)
    y0 = floorf(fy)
    _keys(fx - x0, cx)
    _keys(fy - y0, cy)
    ix = <Py_ssize_t>x0 - 1
    iy = <Py_ssize_t>y0 - 1
    for p in range(P):
        out[p] = 0
    if 0 <= ix <= w - 4 and 0 <= iy <= h - 4:
        for k in range(4):
            row = src + ((iy + k) * w + ix) * P
            wy = cy[k]
            w0 = wy * cx[0]
            w1 = wy * cx[1]
            w2 = wy * cx[2]
            w3 = wy * cx[3]
            for p in range(P):
                out[p] += (<float>row[p] * w0 + <float>row[P + p] * w1
                           + <float>row[2 * P + p] * w2 + <float>row[3 * P + p] * w3)
    else:
        for k in range(4):
            xs[k] = _reflect101(ix + k, w) * P
        for k in range(4):
            row = src + _reflect101(iy + k, h) * w * P
            wy = cy[k]
            w0 = wy * cx[0]
            w1 = wy * cx[1]
            w2 = wy * cx[2]
            w3 = wy * cx[3]
            for p in range(P):
                out[p] += (<float>row[xs[0] + p] * w0 + <float>row[xs[1] + p] * w1
                           + <float>row[xs[2] + p] * w2 + <float>row[xs[3] + p] * w3)


cdef inline void _resample_diff_row(
    const sample_t* src, Py_ssize_t h, Py_ssize_t w, const int P, const float* black,
    const float* scale, const float* ref, const float* iv, const float* mx, const float* my,
    float* wf, float* d, float* q,
) noexcept nogil:
    """One strip row, any P: pixel by pixel."""
    cdef Py_ssize_t j
    cdef int p
    cdef float v[8]
    cdef float acc, dd, x
    for j in range(w):
        _cubic_px(src, h, w, P, mx[j], my[j], v)
        acc = 0
        for p in range(P):
            if sample_t is uint16_t:  # as OpenCV's remap of uint16 saturates (not rounded)
                v[p] = _minf(_maxf(v[p], <float>0), <float>65535)
            x = (v[p] - black[p]) * scale[p]
            wf[j * P + p] = x
            dd = x - ref[j * P + p]
            d[j * P + p] = dd
            acc += dd * dd * iv[j * P + p]
        q[j] = <float>(<double>acc / P)


cdef inline void _resample_diff_row4(
    const sample_t* src, Py_ssize_t h, Py_ssize_t w, const float* black, const float* scale,
    const float* ref, const float* iv, const float* mx, const float* my, float* wf, float* d,
    float* q, int* ix, int* iy, float* cx, float* cy,
) noexcept nogil:
    """One strip row, 4 planes: the weights of the row, the taps, then the normalisation and
    differences (each pass vectorised). ``ix``, ``iy``: w ints, ``cx``, ``cy``: 4 w floats
    of scratch."""
    cdef Py_ssize_t j, k
    cdef float acc, dd, x
    cdef float b0 = black[0], b1 = black[1], b2 = black[2], b3 = black[3]
    cdef float s0 = scale[0], s1 = scale[1], s2 = scale[2], s3 = scale[3]
    _cubic_weights(mx, my, w, ix, iy, cx, cy)
    for j in range(w):
        if 0 <= ix[j] <= w - 4 and 0 <= iy[j] <= h - 4:
            if sample_t is uint16_t:
                _taps4_u16(src + (iy[j] * w + ix[j]) * 4, w * 4, cx + j, cy + j, w, wf + 4 * j)
            else:
                _taps4_f32(src + (iy[j] * w + ix[j]) * 4, w * 4, cx + j, cy + j, w, wf + 4 * j)
        else:
            _cubic_px(src, h, w, 4, mx[j], my[j], wf + 4 * j)
    for j in range(w):
        k = 4 * j
        if sample_t is uint16_t:  # as OpenCV's remap of uint16 saturates (not rounded)
            wf[k] = _minf(_maxf(wf[k], <float>0), <float>65535)
            wf[k + 1] = _minf(_maxf(wf[k + 1], <float>0), <float>65535)
            wf[k + 2] = _minf(_maxf(wf[k + 2], <float>0), <float>65535)
            wf[k + 3] = _minf(_maxf(wf[k + 3], <float>0), <float>65535)
        wf[k] = (wf[k] - b0) * s0
        wf[k + 1] = (wf[k + 1] - b1) * s1
        wf[k + 2] = (wf[k + 2] - b2) * s2
        wf[k + 3] = (wf[k + 3] - b3) * s3
        d[k] = wf[k] - ref[k]
        d[k + 1] = wf[k + 1] - ref[k + 1]
        d[k + 2] = wf[k + 2] - ref[k + 2]
        d[k + 3] = wf[k + 3] - ref[k + 3]
        q[j] = (((d[k] * d[k] * iv[k] + d[k + 1] * d[k + 1] * iv[k + 1])
                 + d[k + 2] * d[k + 2] * iv[k + 2]) + d[k + 3] * d[k + 3] * iv[k + 3]) * <float>0.25


def resample_diff(const sample_t[:, :, ::1] frame, const float[::1] black,
                  const float[::1] scale, const float[:, :, ::1] ref, Py_ssize_t row0,
                  const float[:, :, ::1] inv_var, const float[:, ::1] map_x,
                  const float[:, ::1] map_y, float[:, :, ::1] wf, float[:, :, ::1] d,
                  float[:, ::1] q):
    """Resample ``frame`` (H, W, P) at (map_x, map_y) of strip rows starting at image row
    ``row0`` (bicubic, see the module docstring), normalise it (``(v - black) * scale``) into
    ``wf``, its difference to the reference into ``d``, and the pooled normalised squared
    difference into ``q``. Releases the GIL."""
    cdef Py_ssize_t r_n = map_x.shape[0], w = map_x.shape[1], i
    cdef Py_ssize_t h = frame.shape[0], p_n = frame.shape[2]
    if frame.shape[1] != w or ref.shape[2] != p_n or p_n > 8 or p_n < 1:
        raise ValueError("frame, reference and maps do not match")
    if r_n == 0:
        return
    cdef int* ixy = NULL
    cdef float* cxy = NULL
    if p_n == 4:
        ixy = <int*>malloc(2 * w * sizeof(int))
        cxy = <float*>malloc(8 * w * sizeof(float))
        if ixy == NULL or cxy == NULL:
            free(ixy)
            free(cxy)
            raise MemoryError()
    with nogil:
        for i in range(r_n):
            if p_n == 4:
                _resample_diff_row4(&frame[0, 0, 0], h, w, &black[0], &scale[0],
                                    &ref[row0 + i, 0, 0], &inv_var[row0 + i, 0, 0],
                                    &map_x[i, 0], &map_y[i, 0], &wf[i, 0, 0], &d[i, 0, 0],
                                    &q[i, 0], ixy, ixy + w, cxy, cxy + 4 * w)
            elif p_n == 3:
                _resample_diff_row(&frame[0, 0, 0], h, w, 3, &black[0], &scale[0],
                                   &ref[row0 + i, 0, 0], &inv_var[row0 + i, 0, 0],
                                   &map_x[i, 0], &map_y[i, 0], &wf[i, 0, 0], &d[i, 0, 0],
                                   &q[i, 0])
            else:
                _resample_diff_row(&frame[0, 0, 0], h, w, <int>p_n, &black[0], &scale[0],
                                   &ref[row0 + i, 0, 0], &inv_var[row0 + i, 0, 0],
                                   &map_x[i, 0], &map_y[i, 0], &wf[i, 0, 0], &d[i, 0, 0],
                                   &q[i, 0])
        free(ixy)
        free(cxy)


# --- strip kernels (serial, GIL released) ------------------------------------------------


def maps(const float[:, :, ::1] disp, const int64_t[::1] y0, const int64_t[::1] y1,
         const float[::1] wy, const int64_t[::1] x0, const int64_t[::1] x1,
         const float[::1] wx, Py_ssize_t row0, float[:, ::1] map_x, float[:, ::1] map_y):
    """Sampling positions for image rows [row0, row0 + rows): bilinear in the tile field.
    Returns (min, max) of map_y. Releases the GIL."""
    cdef Py_ssize_t rows = map_x.shape[0], w = map_x.shape[1], i, j
    cdef Py_ssize_t a0, a1, b0, b1, last0 = -1, last1 = -1
    cdef float fy, fx, t, b, v
    cdef float lo = <float>3.4e38
    cdef float hi = <float>-3.4e38
    cdef double yi
    if rows == 0:
        return 0.0, 0.0
    # each row's x-interpolation at the two tile rows around it is shared by the rows
    # between the same two tile centres: computed once per such band
    cdef float* buf = <float*>malloc(4 * w * sizeof(float))
    if buf == NULL:
        raise MemoryError()
    cdef float* ty = buf
    cdef float* by = buf + w
    cdef float* tx = buf + 2 * w
    cdef float* bx = buf + 3 * w
    cdef float* oy
    cdef float* ox
    with nogil:
        for i in range(rows):
            a0 = y0[row0 + i]
            a1 = y1[row0 + i]
            fy = wy[row0 + i]
            if a0 != last0 or a1 != last1:
                last0 = a0
                last1 = a1
                for j in range(w):
                    b0 = x0[j]
                    b1 = x1[j]
                    fx = wx[j]
                    ty[j] = disp[a0, b0, 0] + fx * (disp[a0, b1, 0] - disp[a0, b0, 0])
                    by[j] = disp[a1, b0, 0] + fx * (disp[a1, b1, 0] - disp[a1, b0, 0])
                    tx[j] = disp[a0, b0, 1] + fx * (disp[a0, b1, 1] - disp[a0, b0, 1])
                    bx[j] = disp[a1, b0, 1] + fx * (disp[a1, b1, 1] - disp[a1, b0, 1])
            oy = &map_y[i, 0]
            ox = &map_x[i, 0]
            yi = <double>(row0 + i)
            for j in range(w):
                v = <float>(yi + <double>ty[j] + <double>(fy * (by[j] - ty[j])))
                oy[j] = v
                lo = _minf(lo, v)
                hi = _maxf(hi, v)
                ox[j] = <float>(<double>j + <double>tx[j] + <double>(fy * (bx[j] - tx[j])))
        free(buf)
    return lo, hi


cdef inline void _diff_row(const sample_t* warped, Py_ssize_t w, const int P,
                           const float* black, const float* scale, const float* ref,
                           const float* iv, float* wf, float* d, float* q) noexcept nogil:
    cdef Py_ssize_t j
    cdef int p
    cdef float acc, v, dd
    cdef float inv_p = <float>(1.0 / P)
    for j in range(w):
        acc = 0
        for p in range(P):
            v = (<float>warped[j * P + p] - black[p]) * scale[p]
            wf[j * P + p] = v
            dd = v - ref[j * P + p]
            d[j * P + p] = dd
            acc += dd * dd * iv[j * P + p]
        if P == 4:
            q[j] = acc * inv_p  # exact: acc / 4
        else:
            q[j] = <float>(<double>acc / P)


def strip_diff(const sample_t[:, :, ::1] warped, const float[::1] black,
               const float[::1] scale, const float[:, :, ::1] ref, Py_ssize_t row0,
               const float[:, :, ::1] inv_var, float[:, :, ::1] wf, float[:, :, ::1] d,
               float[:, ::1] q):
    """Normalise a resampled strip; its difference to the reference; the pooled normalised
    squared difference ``q`` (1 on average where the frames agree). Arrays are (rows, W, P).
    Releases the GIL."""
    cdef Py_ssize_t r_n = warped.shape[0], w = warped.shape[1], p_n = warped.shape[2], i
    if r_n == 0:
        return
    with nogil:
        for i in range(r_n):
            if p_n == 4:
                _diff_row(&warped[i, 0, 0], w, 4, &black[0], &scale[0], &ref[row0 + i, 0, 0],
                          &inv_var[row0 + i, 0, 0], &wf[i, 0, 0], &d[i, 0, 0], &q[i, 0])
            elif p_n == 3:
                _diff_row(&warped[i, 0, 0], w, 3, &black[0], &scale[0], &ref[row0 + i, 0, 0],
                          &inv_var[row0 + i, 0, 0], &wf[i, 0, 0], &d[i, 0, 0], &q[i, 0])
            else:
                _diff_row(&warped[i, 0, 0], w, <int>p_n, &black[0], &scale[0],
                          &ref[row0 + i, 0, 0], &inv_var[row0 + i, 0, 0], &wf[i, 0, 0],
                          &d[i, 0, 0], &q[i, 0])


cdef inline void _weights_row(const float* dbar, const float* iv, const float* resid,
                              const float* mx, const float* my, Py_ssize_t w, const int P,
                              float z_mult, float q_mult, float t_lo, float t_hi, float slack,
                              float hmax, float* out, float* sz, float* sr) noexcept nogil:
    cdef Py_ssize_t j
    cdef int p
    cdef float z, rr, dd, motion, excess, detail
    cdef float inv_range = <float>1.0 / (t_hi - t_lo)
    cdef float wmax = <float>(w - 1)
    for j in range(w):
        if mx[j] < 0 or my[j] < 0 or mx[j] > wmax or my[j] > hmax:
            out[j] = 0  # the frame does not cover this pixel
            continue
        z = 0
        for p in range(P):
            dd = dbar[j * P + p]
            z += dd * dd * iv[j * P + p]
        z *= z_mult
        rr = resid[j] * q_mult
        if sz != NULL:
            sz[j] = z
            sr[j] = rr
            continue
        motion = _minf(_maxf((t_hi - z) * inv_range, <float>0), <float>1)
        # residual variance beyond the noise's is resampling error (aliasing of the
        # half-resolution planes): weigh the frame by sigma^2 / (sigma^2 + e^2)
        excess = rr - <float>1 - slack
        detail = 1
        if excess > 0:
            detail = <float>1 / (<float>1 + <float>2 * excess)
        out[j] = motion * detail


cdef inline void _weights_row4(const float* dbar, const float* iv, const float* resid,
                               const float* mx, const float* my, Py_ssize_t w, float z_mult,
                               float q_mult, float t_lo, float t_hi, float slack, float hmax,
                               float* out) noexcept nogil:
    """:func:`_weights_row` for 4 planes and no statistics, without branches (vectorised)."""
    cdef Py_ssize_t j, k
    cdef float z, rr, motion, excess, detail
    cdef float inv_range = <float>1.0 / (t_hi - t_lo)
    cdef float wmax = <float>(w - 1)
    cdef bint inside
    for j in range(w):
        k = 4 * j
        inside = (mx[j] >= 0) & (my[j] >= 0) & (mx[j] <= wmax) & (my[j] <= hmax)
        z = (((dbar[k] * dbar[k] * iv[k] + dbar[k + 1] * dbar[k + 1] * iv[k + 1])
              + dbar[k + 2] * dbar[k + 2] * iv[k + 2]) + dbar[k + 3] * dbar[k + 3] * iv[k + 3])
        z = z * z_mult
        rr = resid[j] * q_mult
        motion = _minf(_maxf((t_hi - z) * inv_range, <float>0), <float>1)
        excess = _maxf(rr - <float>1 - slack, <float>0)  # 0: detail = 1 / 1 = 1
        detail = <float>1 / (<float>1 + <float>2 * excess)
        out[j] = motion * detail if inside else <float>0


def weights(const float[:, :, ::1] dbar, const float[:, :, ::1] inv_var,
            const float[:, ::1] resid, const float[:, ::1] map_x, const float[:, ::1] map_y,
            float z_mult, float q_mult, float t_lo, float t_hi, float slack, Py_ssize_t row0,
            Py_ssize_t h, float[:, ::1] out, float[:, :, ::1] stats):
    """Weights of a strip starting at image row ``row0`` (see merge's module docstring).

    ``dbar``: window means of the differences; ``inv_var``: 1 / (2 var) per plane pixel;
    ``resid``: window mean of ``q``; ``z_mult``: (window size / P), times the calibration
    of the window statistic; ``q_mult``: calibration of the pixel statistic. With
    ``stats`` (2, rows, W) the two statistics are stored there and no weight is made.
    Releases the GIL."""
    cdef Py_ssize_t r_n = dbar.shape[0], w = dbar.shape[1], p_n = dbar.shape[2], i
    cdef bint with_stats = stats.shape[0] == 2
    cdef float hmax = <float>(h - 1)
    cdef float* sz = NULL
    cdef float* sr = NULL
    if r_n == 0:
        return
    with nogil:
        for i in range(r_n):
            if with_stats:
                sz = &stats[0, i, 0]
                sr = &stats[1, i, 0]
            if p_n == 4 and not with_stats:
                _weights_row4(&dbar[i, 0, 0], &inv_var[row0 + i, 0, 0], &resid[i, 0],
                              &map_x[i, 0], &map_y[i, 0], w, z_mult, q_mult, t_lo, t_hi,
                              slack, hmax, &out[i, 0])
            elif p_n == 4:
                _weights_row(&dbar[i, 0, 0], &inv_var[row0 + i, 0, 0], &resid[i, 0],
                             &map_x[i, 0], &map_y[i, 0], w, 4, z_mult, q_mult, t_lo, t_hi,
                             slack, hmax, &out[i, 0], sz, sr)
            elif p_n == 3:
                _weights_row(&dbar[i, 0, 0], &inv_var[row0 + i, 0, 0], &resid[i, 0],
                             &map_x[i, 0], &map_y[i, 0], w, 3, z_mult, q_mult, t_lo, t_hi,
                             slack, hmax, &out[i, 0], sz, sr)
            else:
                _weights_row(&dbar[i, 0, 0], &inv_var[row0 + i, 0, 0], &resid[i, 0],
                             &map_x[i, 0], &map_y[i, 0], w, <int>p_n, z_mult, q_mult, t_lo,
                             t_hi, slack, hmax, &out[i, 0], sz, sr)


cdef inline double _accumulate_row(float* acc, float* wsum, const float* warped,
                                   const float* weight, Py_ssize_t w, const int P,
                                   float sign) noexcept nogil:
    cdef Py_ssize_t j
    cdef int p
    cdef float wt, sw
    cdef double total = 0
    for j in range(w):
        wt = weight[j]
        if wt > 0:
            total += wt
            sw = sign * wt
            wsum[j] += sw
            for p in range(P):
                acc[j * P + p] += sw * warped[j * P + p]
    return total


cdef inline double _accumulate_row4(float* acc, float* wsum, const float* warped,
                                    const float* weight, Py_ssize_t w,
                                    float sign) noexcept nogil:
    """:func:`_accumulate_row` for 4 planes, without branches (vectorised); pixels of
    weight 0 are left as they are (even where the frame is not finite)."""
    cdef Py_ssize_t j, k
    cdef float wt, sw
    cdef bint on
    cdef double total = 0
    for j in range(w):
        wt = weight[j]
        on = wt > 0
        total += wt if on else <float>0
        sw = sign * wt
        wsum[j] = wsum[j] + sw if on else wsum[j]
        k = 4 * j
        acc[k] = acc[k] + sw * warped[k] if on else acc[k]
        acc[k + 1] = acc[k + 1] + sw * warped[k + 1] if on else acc[k + 1]
        acc[k + 2] = acc[k + 2] + sw * warped[k + 2] if on else acc[k + 2]
        acc[k + 3] = acc[k + 3] + sw * warped[k + 3] if on else acc[k + 3]
    return total


def accumulate(float[:, :, ::1] acc, float[:, ::1] wsum, const float[:, :, ::1] warped,
               const float[:, ::1] weight, Py_ssize_t row0, Py_ssize_t skip, Py_ssize_t rows,
               float sign):
    """Add ``sign * weight * warped`` of strip rows [skip, skip + rows) at image row0;
    return the sum of the weights. Releases the GIL."""
    cdef Py_ssize_t w = warped.shape[1], p_n = warped.shape[2], i
    cdef double total = 0
    if rows <= 0:
        return 0.0
    with nogil:
        for i in range(rows):
            if p_n == 4:
                total += _accumulate_row4(&acc[row0 + i, 0, 0], &wsum[row0 + i, 0],
                                          &warped[skip + i, 0, 0], &weight[skip + i, 0], w,
                                          sign)
            elif p_n == 3:
                total += _accumulate_row(&acc[row0 + i, 0, 0], &wsum[row0 + i, 0],
                                         &warped[skip + i, 0, 0], &weight[skip + i, 0], w, 3,
                                         sign)
            else:
                total += _accumulate_row(&acc[row0 + i, 0, 0], &wsum[row0 + i, 0],
                                         &warped[skip + i, 0, 0], &weight[skip + i, 0], w,
                                         <int>p_n, sign)
    return total


# --- whole-frame kernels (parallel over rows) --------------------------------------------


def inverse_variance(const float[:, :, ::1] mu, float s, float o, float[:, :, ::1] out):
    """1 / (2 var) with var = s * mu + o: the variance of a difference of two frames.
    ``out`` may be ``mu``."""
    cdef Py_ssize_t h = mu.shape[0], n = mu.shape[1] * mu.shape[2], i, k
    cdef const float* m
    cdef float* o_
    for i in prange(h, nogil=True, schedule="static"):
        m = &mu[i, 0, 0]
        o_ = &out[i, 0, 0]
        for k in range(n):
            o_[k] = <float>1 / (<float>2 * (s * _maxf(m[k], <float>0) + o))


def finish(const float[:, :, ::1] ref, const float[:, :, ::1] acc, const float[:, ::1] wsum,
           float[:, :, ::1] out):
    """(ref + acc) / (1 + wsum)."""
    cdef Py_ssize_t h = ref.shape[0], w = ref.shape[1], p_n = ref.shape[2], i, j, p
    cdef float norm
    for i in prange(h, nogil=True, schedule="static"):
        for j in range(w):
            norm = <float>1 / (<float>1 + wsum[i, j])
            for p in range(p_n):
                out[i, j, p] = (ref[i, j, p] + acc[i, j, p]) * norm


def split_quads(const sample_t[:, ::1] mosaic, sample_t[:, :, ::1] out):
    """(H, W) mosaic -> (H/2, W/2, 4) Bayer quads: sites (0,0), (0,1), (1,0), (1,1)."""
    cdef Py_ssize_t h = out.shape[0], w = out.shape[1], i, j
    cdef const sample_t* r0
    cdef const sample_t* r1
    cdef sample_t* o
    for i in prange(h, nogil=True, schedule="static"):
        r0 = &mosaic[2 * i, 0]
        r1 = &mosaic[2 * i + 1, 0]
        o = &out[i, 0, 0]
        for j in range(w):
            o[4 * j + 0] = r0[2 * j]
            o[4 * j + 1] = r0[2 * j + 1]
            o[4 * j + 2] = r1[2 * j]
            o[4 * j + 3] = r1[2 * j + 1]


def normalised_quads(const mosaic_t[:, ::1] mosaic, const float[::1] black,
                     const float[::1] scale, float[:, :, ::1] out):
    """(H, W) mosaic -> (H/2, W/2, 4) normalised Bayer quads ``(v - black) * scale`` in one
    pass (what splitting the quads and normalising them gives)."""
    cdef Py_ssize_t h = out.shape[0], w = out.shape[1], i, j
    cdef float b0 = black[0], b1 = black[1], b2 = black[2], b3 = black[3]
    cdef float s0 = scale[0], s1 = scale[1], s2 = scale[2], s3 = scale[3]
    cdef const mosaic_t* r0
    cdef const mosaic_t* r1
    cdef float* o
    for i in prange(h, nogil=True, schedule="static"):
        r0 = &mosaic[2 * i, 0]
        r1 = &mosaic[2 * i + 1, 0]
        o = &out[i, 0, 0]
        for j in range(w):
            o[4 * j + 0] = (<float>r0[2 * j] - b0) * s0
            o[4 * j + 1] = (<float>r0[2 * j + 1] - b1) * s1
            o[4 * j + 2] = (<float>r1[2 * j] - b2) * s2
            o[4 * j + 3] = (<float>r1[2 * j + 1] - b3) * s3


def grey_quads(const mosaic_t[:, ::1] mosaic, const float[::1] black, const float[::1] scale,
               float[:, ::1] out):
    """The normalised mean of each Bayer quad: the grey image frames are aligned on."""
    cdef Py_ssize_t h = out.shape[0], w = out.shape[1], i, j
    cdef float b0 = black[0], b1 = black[1], b2 = black[2], b3 = black[3]
    cdef float s0 = scale[0], s1 = scale[1], s2 = scale[2], s3 = scale[3]
    cdef const mosaic_t* r0
    cdef const mosaic_t* r1
    for i in prange(h, nogil=True, schedule="static"):
        r0 = &mosaic[2 * i, 0]
        r1 = &mosaic[2 * i + 1, 0]
        for j in range(w):
            out[i, j] = <float>0.25 * (
                (<float>r0[2 * j] - b0) * s0
                + (<float>r0[2 * j + 1] - b1) * s1
                + (<float>r1[2 * j] - b2) * s2
                + (<float>r1[2 * j + 1] - b3) * s3
            )


def finish_mosaic(const float[:, :, ::1] ref, const float[:, :, ::1] acc,
                  const float[:, ::1] wsum, const float[::1] black, const float[::1] span,
                  float[:, ::1] out):
    """The merged quads written straight into a float32 DN mosaic."""
    cdef Py_ssize_t h = ref.shape[0], w = ref.shape[1], i, j
    cdef float norm
    cdef const float* r
    cdef const float* a
    cdef float* o0
    cdef float* o1
    for i in prange(h, nogil=True, schedule="static"):
        r = &ref[i, 0, 0]
        a = &acc[i, 0, 0]
        o0 = &out[2 * i, 0]
        o1 = &out[2 * i + 1, 0]
        for j in range(w):
            norm = <float>1 / (<float>1 + wsum[i, j])
            o0[2 * j] = (r[4 * j] + a[4 * j]) * norm * span[0] + black[0]
            o0[2 * j + 1] = (r[4 * j + 1] + a[4 * j + 1]) * norm * span[1] + black[1]
            o1[2 * j] = (r[4 * j + 2] + a[4 * j + 2]) * norm * span[2] + black[2]
            o1[2 * j + 1] = (r[4 * j + 3] + a[4 * j + 3]) * norm * span[3] + black[3]
