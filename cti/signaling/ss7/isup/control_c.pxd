# Declarations that compile control_py.py (pure-Python mode) as control_c.
from cti.signaling.machine_c cimport MachineCore

cdef dict _MEMO, _TAILS, _CAUSES


cdef class Circuit:
    cdef public CallControl node
    cdef public object cic, called, calling, cause, sup
    cdef public bint ours, local_blocked, remote_blocked, unequipped, reset_pending, reported
    cdef public dict extra
    cdef public bytes cic_octets
    cdef public dict sup_running
    cdef public MachineCore fsm

    cpdef event(self, object kind, double now, object cause=*, bint remote=*, object reason=*)
    cpdef send(self, object mtype, dict params)
    cpdef send_same(self, object key, object mtype, dict params)
    cpdef send_rel_cause(self, object cause)
    cpdef report_local_release(self, double now, object reason)
    cpdef unblock_remote(self, double now, object reason)


cdef class CallControl:
    cdef public object opc, dpc, name
    cdef public list _out, _events, _by_cic
    cdef public dict counters, iam_defaults, circuits, _handlers

    cpdef _request(self, Circuit c, object event, double now, object message=*)
    cpdef object allocate(self)
    cpdef Circuit _circuit(self, object cic)
    cpdef bytes _iam(self, object cic, object called, object calling, object category, dict params)
