# Declarations that compile q931_py.py (pure-Python mode) as q931_c.
from cti.signaling.machine_c cimport MachineCore
from cti.signaling.pri.message_c cimport Message as CMessage, decode as c_decode
from cti.signaling.pri.call_c cimport CallEvent, Node, PriCall
cimport cython

cdef object _Machine, _Queue, _decode, _MessageError
cdef list _MT_OF
cdef bytes _CHECKED
cdef object _SETUP, _RELEASE_COMPLETE, _RELEASE, _DISCONNECT
cdef object _REQ_SETUP, _REQ_PROCEEDING, _REQ_REJECT, _REQ_DISCONNECT
cdef object _REQ_INFO, _REQ_MORE_INFO, _REQ_ALERTING, _REQ_PROGRESS, _REQ_SETUP_RESPONSE, _REQ_STATUS_ENQUIRY
cdef object _ChannelId, _CallState, _ie_cause
cdef int _M_RELEASE, _M_RELEASE_COMPLETE, _M_SETUP, _M_STATUS, _M_STATUS_ENQUIRY, _M_RESTART, _M_RESTART_ACKNOWLEDGE


cdef class Q931(Node):
    cpdef MachineCore new_machine(self, PriCall call)
    cpdef fire(self, PriCall call, object event, object msg, double now)
    @cython.locals(out=list)
    cpdef list data_to_send(self, double now)
    @cython.locals(cref=int)
    cdef int _new_cref(self) except -1
    @cython.locals(known=dict)
    cdef object _calling_number(self, str digits)
    cdef int _req(self, PriCall call, object req, object arg, double now) except -1
    @cython.locals(call=PriCall)
    cdef int _clear_channel(self, object ch, double now, str why) except -1
    cpdef int data_ind(self, bytes info, double now) except -1
    @cython.locals(call=PriCall, m=CMessage, cref=int)
    cpdef receive(self, object data, double now)
    cdef object _problem(self, CMessage m)
    @cython.locals(cause=int, act=bint)
    cdef int _for_call(self, PriCall call, CMessage m, double now) except -1
    cdef int _unknown_cref(self, CMessage m, double now) except -1
    cdef int _release_complete(self, int cref, bint flag, int cause) except -1
    @cython.locals(call=PriCall)
    cdef int _incoming(self, CMessage m, double now) except -1
    @cython.locals(holder=PriCall)
    cdef tuple _channel_for(self, CMessage m, double now)
    cdef int _global(self, CMessage m, double now) except -1
    cdef int _peer_restart(self, CMessage m, double now) except -1
