# Tetrahedral interpolation in a baked 3D LUT, as a C inline function: the one definition
# that redframe.looks._fast (the still-image look) and redframe.video._kernel (the per-frame
# Y'CbCr kernel) both cimport:
#     from redframe.looks._fast cimport Tetra, tetra
# Kasson, Nin, Plouffe & Hafner 1995, "Performing color space conversions with
# three-dimensional linear interpolation", J. Electronic Imaging 4(3), doi:10.1117/12.206551.


cdef struct Tetra:
    double r
    double g
    double b


cdef inline Tetra tetra(const float* lut, double fr, double fg, double fb,
                        Py_ssize_t n) noexcept nogil:
    """Tetrahedral interpolation of ``lut`` ((n, n, n, 3) flattened, C order [r, g, b, c])
    at lattice coordinates (fr, fg, fb) in [0, n - 1].

    With the fractional parts sorted f1 >= f2 >= f3, the tetrahedron walks from the cell's
    origin along the axis of f1, then of f2, to the far corner; the weights are 1 - f1,
    f1 - f2, f2 - f3 and f3. The axes are found by ranking (ties go to r, then g), without
    branches: a six-way branch on the fractions mispredicts on most pixels. The fractions
    and weights are double (as the numba kernel computed them: float32 - int64 promoted).
    """
    cdef Py_ssize_t s1 = 3
    cdef Py_ssize_t s2 = 3 * n
    cdef Py_ssize_t s3 = 3 * n * n
    cdef Py_ssize_t ir = <Py_ssize_t>fr
    cdef Py_ssize_t ig = <Py_ssize_t>fg
    cdef Py_ssize_t ib = <Py_ssize_t>fb
    if ir > n - 2:
        ir = n - 2
    if ig > n - 2:
        ig = n - 2
    if ib > n - 2:
        ib = n - 2
    fr -= ir
    fg -= ig
    fb -= ib
    cdef Py_ssize_t base = ir * s3 + ig * s2 + ib * s1
    cdef Py_ssize_t rg = fr >= fg
    cdef Py_ssize_t gb = fg >= fb
    cdef Py_ssize_t rb = fr >= fb
    cdef Py_ssize_t rank_r = rg + rb
    cdef Py_ssize_t rank_g = 1 - rg + gb
    cdef Py_ssize_t rank_b = 2 - rb - gb
    cdef Py_ssize_t first = s3 * (rank_r == 2) + s2 * (rank_g == 2) + s1 * (rank_b == 2)
    cdef Py_ssize_t second = s3 * (rank_r == 1) + s2 * (rank_g == 1) + s1 * (rank_b == 1)
    cdef double f1 = fg if fg > fb else fb
    f1 = fr if fr > f1 else f1
    cdef double f3 = fg if fg < fb else fb
    f3 = fr if fr < f3 else f3
    cdef double f2 = fr + fg + fb - f1 - f3
    cdef double w0 = 1.0 - f1
    cdef double w1 = f1 - f2
    cdef double w2 = f2 - f3
    cdef const float* p0 = lut + base
    cdef const float* pa = p0 + first
    cdef const float* pb = pa + second
    cdef const float* pt = p0 + (s1 + s2 + s3)
    cdef Tetra o
    o.r = w0 * p0[0] + w1 * pa[0] + w2 * pb[0] + f3 * pt[0]
    o.g = w0 * p0[1] + w1 * pa[1] + w2 * pb[1] + f3 * pt[1]
    o.b = w0 * p0[2] + w1 * pa[2] + w2 * pb[2] + f3 * pt[2]
    return o
