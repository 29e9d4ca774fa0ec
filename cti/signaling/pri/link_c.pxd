# Declarations that compile link_py.py (pure-Python mode) as link_c.
cimport cython
from cti.signaling.machine_c cimport CompiledRow, MachineCore
from cti.signaling.pri cimport _octets

cdef dict _S_KIND
cdef object _I, _S4, _S7, _S8, _I_SENT, _ACKED, _PARTIAL_ACK, _INVALID
cdef bint _FAST, _ROWS
cdef object _K
cdef CompiledRow _R_SENT, _R_ACKED, _R_PARTIAL
cdef Py_ssize_t _T200



cdef class Upper:
    cdef public list received
    cpdef int data_ind(self, bytes info, double now) except -1


cdef class LapdLink:
    cdef public bint network, auto, reject, peer_busy, ack_pending
    cdef public str name
    cdef public int n200, n201, k, vs, va, vr, rc, _peer_cmd
    cdef public long long n_rx, n_tx, n_i_rx, n_i_tx
    cdef public bytes _addr_c, _addr_r
    cdef public MachineCore m
    cdef public list unacked, queue
    cdef public object deliver
    cdef public list _out, _events
    cdef public dict _counters, mdl_errors
    cdef public Upper upper          # appended: modules built against the older layout keep working

    @cython.locals(b=bytes, n=Py_ssize_t, a0=int, a1=int, c0=int, c1=int, command=bint)
    cpdef receive(self, object data, double now)
    cdef bint _untraced(self)
    @cython.locals(b=bytes)
    cpdef send(self, object data, double now)
    @cython.locals(out=list)
    cpdef list data_to_send(self, double now)
    cpdef list events(self)
    cdef _frame(self, object f)
    cdef _s(self, int control, bint command, bint pf)
    @cython.locals(info=bytes, q=list, taken=Py_ssize_t)
    cdef _push(self, double now)
    cdef _mdl(self, str code)
    cdef _clear(self, bint discard)
    cdef _released(self, double now, str reason)
    cdef _up(self, double now, str why)
    cdef _i(self, int ns, int nr, bint pf, bytes info, double now)
    cdef _sup(self, int control, bint command, bint pf, int nr, double now)
    @cython.locals(n=int, i=int)
    cdef bint _nr(self, int nr, double now, bint move) except -1
    cdef _retransmit(self)
