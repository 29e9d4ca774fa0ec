# The compiled MTP2 in-service core's C-level view, shared with the compiled MTP3 core
# (route_c) and the SOCK_SEQPACKET transport (seqpacket_c) by cimport.

cdef class Mtp2Event:
    cdef public object kind, time, sio, sif, reason
    cdef tuple _key(self)


cdef class LinkCore:
    cdef public object timers, lsc, iac
    cdef public double fill_interval, _last_fill_at, _restart_at, _now
    cdef public list _events, _rtb, _retx
    cdef public object _out, _tb, _last_fill
    cdef public int _fill, _cs, _su_count
    cdef public int _fsn_last, _fib, _acked, _rx_last, _bib, _bad_bsn, _bad_fib
    cdef public bint _nack_pending, _busy
    cdef dict _running, _values, _counters
    cdef long long n_rx, n_tx, n_discarded, n_nacks, n_retx

    cdef int enqueue(self, int sio, bytes sif) except -1
    cdef int receive_frame(self, bytes b, double now) except -1
    cdef int run_timers(self, double now) except -1
    cdef list take_events(self)
    cdef bint _due(self, double now) except -1
    cdef int _bec_receive(self, int bsn, int bib, int fsn, int fib, int kind, bytes b,
                          double now) except -1
    cdef int _bec_transmit(self, double now, list out) except -1
    cpdef bytes _fill_octets(self)
