# cython: annotation_typing=False
# (annotations document the API; the twin's checks decide what is accepted)
"""G.711 A-law and u-law: compiled encode, decode, convert and mix (twin: ``g711_py``).

Same API and results as the pure-Python twin ``_boardcore.g711_py`` (the rules are
described there): the lookup tables are computed once by the twin and copied into C
arrays here, so both implementations agree by construction; the loops run without the
GIL over typed memoryviews. Argument checks come from the twin, so both give the same
errors.
"""
cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.stdint cimport int16_t, int32_t, uint8_t
from libc.stdlib cimport free, malloc

import numpy as np

from . import g711_py as _py
from .g711_py import (  # noqa: F401  (re-exported: the same objects as the twin's)
    ALAW_DECODE, ALAW_SILENCE, ULAW_DECODE, ULAW_SILENCE,
)

__all__ = _py.__all__

cdef uint8_t ALAW_ENC[8192]      # (x >> 3) & 0x1FFF -> A-law code
cdef uint8_t ULAW_ENC[16384]     # (x >> 2) & 0x3FFF -> u-law code
cdef int16_t ALAW_DEC[256]
cdef int16_t ULAW_DEC[256]
cdef uint8_t A2U[256]
cdef uint8_t U2A[256]


cdef void _load_tables():
    cdef const uint8_t[::1] ae = _py.ALAW_ENCODE
    cdef const uint8_t[::1] ue = _py.ULAW_ENCODE
    cdef const int16_t[::1] ad = _py.ALAW_DECODE
    cdef const int16_t[::1] ud = _py.ULAW_DECODE
    cdef const uint8_t[::1] a2u = _py.ALAW_TO_ULAW
    cdef const uint8_t[::1] u2a = _py.ULAW_TO_ALAW
    cdef int i
    for i in range(8192):
        ALAW_ENC[i] = ae[i]
    for i in range(16384):
        ULAW_ENC[i] = ue[i]
    for i in range(256):
        ALAW_DEC[i] = ad[i]
        ULAW_DEC[i] = ud[i]
        A2U[i] = a2u[i]
        U2A[i] = u2a[i]


_load_tables()


# --- inner loops (no GIL, no checks: the callers pass lengths that fit) -------------------

@cython.boundscheck(False)  # i < n <= len of every buffer (checked by the callers)
@cython.wraparound(False)
cdef inline void _enc(const int16_t *x, uint8_t *o, Py_ssize_t n, bint alaw) noexcept nogil:
    cdef Py_ssize_t i
    if alaw:
        for i in range(n):
            o[i] = ALAW_ENC[(x[i] >> 3) & 0x1FFF]
    else:
        for i in range(n):
            o[i] = ULAW_ENC[(x[i] >> 2) & 0x3FFF]


cdef inline void _dec(const uint8_t *c, int16_t *o, Py_ssize_t n, const int16_t *table) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        o[i] = table[c[i]]


cdef inline void _map(const uint8_t *c, uint8_t *o, Py_ssize_t n, const uint8_t *table) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        o[i] = table[c[i]]


cdef const int16_t[::1] _pcm(object pcm):
    cdef const int16_t[::1] x
    if type(pcm) is np.ndarray:
        try:                              # fast path: a 1-D C-contiguous int16 array
            x = pcm
            return x
        except (ValueError, TypeError, BufferError):
            pass
    return _py.as_pcm(pcm)                # everything else, and the errors, as the twin


cdef const uint8_t[::1] _codes(object data):
    if type(data) is bytes:
        return data
    return _py.as_codes(data)


cdef uint8_t[::1] _out8(object out, Py_ssize_t n, str what):
    cdef uint8_t[::1] o
    if type(out) is bytearray or type(out) is np.ndarray:
        try:                              # fast path: a writable 1-D octet buffer
            o = out
            if o.shape[0] >= n:
                return o
        except (ValueError, TypeError, BufferError):
            pass
    return _py.out_array(out, np.uint8, n, what)


cdef int16_t[::1] _out16(object out, Py_ssize_t n, str what):
    cdef int16_t[::1] o
    if type(out) is np.ndarray:
        try:                              # fast path: a writable 1-D int16 array
            o = out
            if o.shape[0] >= n:
                return o
        except (ValueError, TypeError, BufferError):
            pass
    return _py.out_array(out, np.int16, n, what)


cdef bytes _encode(object pcm, bint alaw):
    cdef const int16_t[::1] x = _pcm(pcm)
    cdef Py_ssize_t n = x.shape[0]
    cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
    cdef uint8_t *o = <uint8_t *> PyBytes_AS_STRING(out)
    if n:
        with nogil:
            _enc(&x[0], o, n, alaw)
    return out


cdef object _decode(object data, const int16_t *table):
    cdef const uint8_t[::1] c = _codes(data)
    cdef Py_ssize_t n = c.shape[0]
    out = np.empty(n, dtype=np.int16)
    cdef int16_t[::1] o = out
    if n:
        with nogil:
            _dec(&c[0], &o[0], n, table)
    return out


cdef bytes _convert(object data, const uint8_t *table):
    cdef const uint8_t[::1] c = _codes(data)
    cdef Py_ssize_t n = c.shape[0]
    cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
    cdef uint8_t *o = <uint8_t *> PyBytes_AS_STRING(out)
    if n:
        with nogil:
            _map(&c[0], o, n, table)
    return out


def alaw_encode(pcm: object) -> bytes:
    """A-law octets of 16-bit linear PCM (G.711 clause 2)."""
    return _encode(pcm, True)


def ulaw_encode(pcm: object) -> bytes:
    """u-law octets of 16-bit linear PCM (G.711 clause 3)."""
    return _encode(pcm, False)


def alaw_decode(data: object):
    """16-bit linear PCM (int16 array) of A-law octets."""
    return _decode(data, ALAW_DEC)


def ulaw_decode(data: object):
    """16-bit linear PCM (int16 array) of u-law octets."""
    return _decode(data, ULAW_DEC)


def alaw_to_ulaw(data: object) -> bytes:
    """u-law octets for A-law octets (G.711 Table 4)."""
    return _convert(data, A2U)


def ulaw_to_alaw(data: object) -> bytes:
    """A-law octets for u-law octets (G.711 Table 3)."""
    return _convert(data, U2A)


cdef Py_ssize_t _encode_into(object pcm, object out, bint alaw, str what) except -1:
    cdef const int16_t[::1] x = _pcm(pcm)
    cdef Py_ssize_t n = x.shape[0]
    cdef uint8_t[::1] o = _out8(out, n, what)
    if n:
        with nogil:
            _enc(&x[0], &o[0], n, alaw)
    return n


cdef Py_ssize_t _decode_into(object data, object out, const int16_t *table, str what) except -1:
    cdef const uint8_t[::1] c = _codes(data)
    cdef Py_ssize_t n = c.shape[0]
    cdef int16_t[::1] o = _out16(out, n, what)
    if n:
        with nogil:
            _dec(&c[0], &o[0], n, table)
    return n


cdef Py_ssize_t _convert_into(object data, object out, const uint8_t *table, str what) except -1:
    cdef const uint8_t[::1] c = _codes(data)
    cdef Py_ssize_t n = c.shape[0]
    cdef uint8_t[::1] o = _out8(out, n, what)
    if n:
        with nogil:
            _map(&c[0], &o[0], n, table)
    return n


def alaw_encode_into(pcm: object, out: object) -> int:
    """Encode into the caller's buffer ``out`` (>= len(pcm) octets); returns octets written."""
    return _encode_into(pcm, out, True, "alaw_encode_into")


def ulaw_encode_into(pcm: object, out: object) -> int:
    """Encode into the caller's buffer ``out`` (>= len(pcm) octets); returns octets written."""
    return _encode_into(pcm, out, False, "ulaw_encode_into")


def alaw_decode_into(data: object, out: object) -> int:
    """Decode into the caller's int16 buffer ``out``; returns samples written."""
    return _decode_into(data, out, ALAW_DEC, "alaw_decode_into")


def ulaw_decode_into(data: object, out: object) -> int:
    """Decode into the caller's int16 buffer ``out``; returns samples written."""
    return _decode_into(data, out, ULAW_DEC, "ulaw_decode_into")


def alaw_to_ulaw_into(data: object, out: object) -> int:
    """Convert into the caller's octet buffer ``out``; returns octets written."""
    return _convert_into(data, out, A2U, "alaw_to_ulaw_into")


def ulaw_to_alaw_into(data: object, out: object) -> int:
    """Convert into the caller's octet buffer ``out``; returns octets written."""
    return _convert_into(data, out, U2A, "ulaw_to_alaw_into")


# --- mixer --------------------------------------------------------------------------------

@cython.boundscheck(False)  # i < n: every stream has n octets (check_streams)
@cython.wraparound(False)
cdef void _mix_add(const uint8_t *c, int32_t *acc, Py_ssize_t n, const int16_t *table) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        acc[i] += table[c[i]]


cdef void _mix_out(const int32_t *acc, uint8_t *o, Py_ssize_t n, bint alaw) noexcept nogil:
    cdef Py_ssize_t i
    cdef int32_t v
    for i in range(n):
        v = acc[i]
        if v > 32767:
            v = 32767
        elif v < -32768:
            v = -32768
        if alaw:
            o[i] = ALAW_ENC[(v >> 3) & 0x1FFF]
        else:
            o[i] = ULAW_ENC[(v >> 2) & 0x3FFF]


cdef bint _plain_bytes(tuple streams):
    """True for one or more bytes objects of one length (the mixer's common case)."""
    if not streams or type(streams[0]) is not bytes:
        return False
    cdef Py_ssize_t n = len(<bytes> streams[0])
    for st in streams:
        if type(st) is not bytes or len(<bytes> st) != n:
            return False
    return True


cdef bytes _mix(tuple streams, bint alaw):
    arrs = streams if _plain_bytes(streams) else _py.check_streams(streams)
    cdef const uint8_t[::1] c = arrs[0]
    cdef Py_ssize_t n = c.shape[0]
    cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
    if n == 0:
        return out
    cdef uint8_t *o = <uint8_t *> PyBytes_AS_STRING(out)
    cdef const int16_t *table = &ULAW_DEC[0]
    if alaw:
        table = &ALAW_DEC[0]
    cdef int32_t *acc = <int32_t *> malloc(n * sizeof(int32_t))
    cdef Py_ssize_t i
    if acc == NULL:
        raise MemoryError()
    try:
        with nogil:
            for i in range(n):
                acc[i] = 0
        for a in arrs:
            c = a
            with nogil:
                _mix_add(&c[0], acc, n, table)
        with nogil:
            _mix_out(acc, o, n, alaw)
    finally:
        free(acc)
    return out


def mix_alaw(*streams: object) -> bytes:
    """Sum of A-law streams of equal length, saturated at full scale, as A-law."""
    return _mix(streams, True)


def mix_ulaw(*streams: object) -> bytes:
    """Sum of u-law streams of equal length, saturated at full scale, as u-law."""
    return _mix(streams, False)
