# Declarations that compile control_py.py (pure-Python mode) as control_c.
from cti.signaling.machine_c cimport MachineCore
from cti.signaling.ss7.isup.codec_c cimport Slots
from cti.signaling.ss7.isup.iam_c cimport ReceivedIam, iam_of, read_iam, write_address
cimport cython

cdef dict _TAILS, _CAUSES, _IAM_HEADS
cdef list _MEMO
cdef Slots _EV

cdef bytearray _IAM_OUT


cdef class Circuit:
    cdef public CallControl node
    cdef public object cic, called, calling, cause
    cdef public bint ours, local_blocked, remote_blocked, unequipped, reset_pending, reported
    cdef public dict extra, sent
    cdef public bytes cic_octets
    cdef public object sup_running     # the sup machine's running timers (a live mapping)
    cdef public MachineCore fsm, sup

    cpdef event(self, object kind, double now, object cause=*, bint remote=*, object reason=*)
    cpdef send(self, object mtype, dict params)
    cpdef send_same(self, object key, object mtype, dict params)
    cpdef send_rel_cause(self, object cause)
    cpdef report_local_release(self, double now, object reason)
    cpdef unblock_remote(self, double now, object reason)


cdef class CallControl:
    cdef public object opc, dpc, name
    cdef public dict circuit_of
    cdef public list _out, _events, _by_cic
    cdef public dict _counters, iam_defaults, circuits, _handlers
    cdef public Py_ssize_t _rx_count
    cdef public double next_timer

    cpdef _request(self, Circuit c, object event, double now, object message=*)
    cdef int _fire(self, Circuit c, object event, object now, object message) except -1
    cdef Circuit _get(self, object cic)
    @cython.locals(n=Py_ssize_t, seen=list, hit=tuple, tail=bytes)
    cdef object _rx(self, bytes b, object now)
    cpdef object allocate(self)
    cpdef Circuit _circuit(self, object cic)
    cpdef bytes _iam(self, object cic, object called, object calling, object category, dict params)
    @cython.locals(st=int, n=Py_ssize_t, size=Py_ssize_t, m=Py_ssize_t, total=Py_ssize_t, k=Py_ssize_t,
                   out=bytearray, head=bytes)
    cdef object _iam_fast(self, object cic, str called, object calling, object category)
