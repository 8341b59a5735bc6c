# Position hash and TPDF dither for the compiled kernels: the C twins of
# redframe.color.dither's hash32_np / row_key / tpdf (one definition each in C; the NumPy
# one in dither.py is the reference the tests compare them with, bit for bit).
# lowbias32: C. Wellons, "Hash function prospector", 2018.
# TPDF: Lipshitz, Wannamaker, Vanderkooy, J. AES 40(5), 1992.

from libc.stdint cimport uint32_t, uint64_t


cdef inline uint32_t hash32(uint64_t v) noexcept nogil:
    """lowbias32 of the low 32 bits of ``v``."""
    cdef uint32_t x = <uint32_t>v
    x ^= x >> 16
    x *= <uint32_t>0x7FEB352D
    x ^= x >> 15
    x *= <uint32_t>0x846CA68B
    x ^= x >> 16
    return x


cdef inline uint32_t row_key(uint64_t row, uint64_t seed) noexcept nogil:
    """The per-row key that column indices are added to: hash32(row + hash32(seed))."""
    return hash32(row + hash32(seed))


cdef inline float tpdf(uint32_t x, int c) noexcept nogil:
    """Triangular dither in (-1, 1) for channel ``c`` from a 32-bit hash: the difference of
    two 5-bit uniforms (bits 10c .. 10c + 9)."""
    cdef float u1 = <float>((x >> (10 * c)) & 31)
    cdef float u2 = <float>((x >> (10 * c + 5)) & 31)
    return (u1 - u2) * (1.0 / 32.0)
