# The compiled bodies of _octets.py (same names, same results), inline C on the bytes' buffer;
# the compiled MTP2 core (bec_py.py compiled as bec_c) cimports them as ``_octets``.
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.string cimport memcpy

cdef enum:
    BAD = -9
    FISU_KIND = -1
    MSU_KIND = -2
    FILL_FISU = -1
    MAX_SIF = 272


cdef inline int kind(bytes b) noexcept:
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(b)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(b)
    cdef int li, st
    if n < 3:
        return BAD
    li = p[2] & 0x3F
    if li == 0:
        return FISU_KIND if n == 3 else BAD
    if li <= 2:
        if n - 3 != li:
            return BAD
        st = p[3] & 0x07
        return st if st <= 5 else BAD
    if (li < 63 and n - 3 != li) or (li == 63 and not 63 <= n - 3 <= MAX_SIF + 1):
        return BAD
    return MSU_KIND


cdef inline bytes msu(int bsn, int bib, int fsn, int fib, int sio, bytes sif):
    cdef Py_ssize_t n = PyBytes_GET_SIZE(sif)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 4 + n)
    cdef unsigned char* q = <unsigned char*>PyBytes_AS_STRING(out)
    q[0] = (bib << 7) | bsn
    q[1] = (fib << 7) | fsn
    q[2] = 1 + n if n < 62 else 63
    q[3] = sio
    memcpy(q + 4, PyBytes_AS_STRING(sif), n)
    return out


cdef inline bytes fill(int bsn, int bib, int fsn, int fib, int status):
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 3 if status < 0 else 4)
    cdef unsigned char* q = <unsigned char*>PyBytes_AS_STRING(out)
    q[0] = (bib << 7) | bsn
    q[1] = (fib << 7) | fsn
    if status < 0:
        q[2] = 0
    else:
        q[2] = 1
        q[3] = status
    return out
