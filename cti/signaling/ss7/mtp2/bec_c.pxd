# Declarations that compile bec_py.py (pure-Python mode) as cti.signaling.ss7.mtp2.bec_c; the
# compiled MTP3 core (route_c) and the SOCK_SEQPACKET transport (seqpacket_c) cimport LinkCore.
cimport cython
from cti.signaling.ss7.mtp2 cimport _octets

cdef object _IN_SERVICE, _PO, _IA
cdef tuple _KIND_EVENTS
cdef int _SIB
cdef double _NEVER
cdef int _SUERM_D

cdef bytes _as_bytes(object data)


@cython.no_gc       # holds str/float/int/bytes only: no cycles, no GC pressure per MSU
cdef class Mtp2Event:
    cdef public object kind, time, sio, sif, reason


cdef class LinkCore:
    cdef public object timers, lsc, iac
    cdef public double fill_interval, _last_fill_at, _restart_at, _now
    cdef public list _events, _rtb, _retx
    cdef public object _out, _tb
    cdef public bytes _last_fill
    cdef public int _fill, _cs, _su_count
    cdef public int _fsn_last, _fib, _acked, _rx_last, _bib, _bad_bsn, _bad_fib
    cdef public bint _nack_pending, _busy
    cdef public dict _counters
    cdef dict _running, _values
    cdef public long long n_rx, n_tx, n_discarded, n_nacks, n_retx
    cdef public bint card_fill
    cdef public long long _repeats_seen
    cdef public bytes _last_rx

    cpdef receive(self, object frame, double now)
    @cython.locals(out=list)
    cpdef list data_to_send(self, double now)
    cdef int enqueue(self, int sio, bytes sif) except -1
    cdef list take_events(self)
    @cython.locals(kind=int, h=int, f=int)
    cdef int receive_frame(self, bytes b, double now) except -1
    cdef int run_timers(self, double now) except -1
    @cython.locals(k=cython.longlong, c=cython.longlong, replay=int, last=bytes)
    cpdef int fill_repeated(self, long long total, double now) except -1
    cdef bint _due(self, double now) except -1
    @cython.locals(acked=int, span=int, nxt=int, ev=Mtp2Event)
    cdef int _bec_receive(self, int bsn, int bib, int fsn, int fib, int kind, bytes b, double now) except -1
    @cython.locals(rx_last=int, bib=int, fib=int, fsn=int, sent=bint, e=tuple, q=tuple)
    cdef int _bec_transmit(self, double now, list out) except -1
    cdef bytes _fill_octets(self)
    cdef int _fill_in(self, list out, double now) except -1


@cython.locals(n=Py_ssize_t, k=Py_ssize_t, j=Py_ssize_t, fsn=int, e=tuple)
cdef int _drop_acked(list buf, int acked, int span) except -1
