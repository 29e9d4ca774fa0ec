# Declarations that compile control_py.py (pure-Python mode) as control_c.
from cti.signaling.machine_c cimport MachineCore


cdef class Circuit:
    cdef public CallControl node
    cdef public object cic, called, calling, cause, sup
    cdef public bint ours, local_blocked, remote_blocked, unequipped, reset_pending, reported
    cdef public dict extra
    cdef public MachineCore fsm


cdef class CallControl:
    cdef public object opc, dpc, name
    cdef public list _out, _events, _by_cic
    cdef public dict counters, iam_defaults, circuits, _handlers
