# Declarations that compile stack_py.py (pure-Python mode) as stack_c.
cimport cython
from cti.signaling.pri.q931_c cimport Q931 as CQ931
from cti.signaling.pri.link_c cimport LapdLink as CLink

cdef object _Link


cdef class PriStack:
    cdef public bint network, started
    cdef public CLink link
    cdef public CQ931 q931
    cdef public list _events

    cpdef start(self, double now)
    cpdef receive(self, object data, double now)
    cpdef su_error(self, double now)
    cpdef line_fault(self, double now, str reason)
    cpdef list data_to_send(self, double now)
    cpdef list events(self)
    cpdef object timer_deadline(self)
    cpdef handle_timer(self, double now)
    @cython.locals(link=CLink, q=CQ931)
    cdef int _pump(self, double now) except -1
    cdef int _link_events(self, double now) except -1
