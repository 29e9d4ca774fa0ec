# Declarations that compile link_py.py (pure-Python mode) as link_c.
cimport cython

cdef dict _S_KIND
cdef object _I



cdef class LapdLink:
    cdef public bint network, auto, reject, peer_busy, ack_pending
    cdef public str name
    cdef public int n200, n201, k, vs, va, vr, rc, _peer_cmd
    cdef public bytes _addr_c, _addr_r
    cdef public object m, unacked, queue, deliver
    cdef public list _out, _events
    cdef public dict counters, mdl_errors

    @cython.locals(b=bytes, n=Py_ssize_t, a0=int, a1=int, c0=int, c1=int, command=bint)
    cpdef receive(self, object data, double now)
    cpdef send(self, object data, double now)
    cpdef list data_to_send(self, double now)
    cpdef list events(self)
    cdef _frame(self, object f)
    cdef _s(self, object kind, bint command, bint pf)
    cdef _push(self, double now)
    cdef _mdl(self, str code)
    cdef _clear(self, bint discard)
    cdef _released(self, double now, str reason)
    cdef _up(self, double now, str why)
    @cython.locals(nr=int, n=int, i=int)
    cdef bint _nr(self, object msg, double now, bint move=*) except -1
    cdef _retransmit(self)
