# Declarations that compile q931_py.py (pure-Python mode) as q931_c.
from cti.signaling.machine_c cimport MachineCore, TimerQueue as CTimerQueue
cimport cython

cdef object _Machine, _Queue
cdef dict _MT_OF
cdef frozenset _CHECKED
cdef object _SETUP, _RELEASE_COMPLETE, _RELEASE, _DISCONNECT
cdef object _REQ_SETUP, _REQ_RELEASE, _REQ_SETUP_COMPLETE, _REQ_PROCEEDING, _REQ_REJECT, _REQ_DISCONNECT
cdef object _ChannelId, _CallingNumber, _Display, _CallState
cdef object _ie_cause, _ie_channel, _ie_progress, _SPEECH
cdef Py_ssize_t _POOL_MAX, _SOLE

cdef class Q931


cdef class CallEvent:
    cdef public str kind, reason, digits
    cdef public object call
    cdef public double time
    cdef public int cause, progress
    cdef public bint remote


cdef class PriCall:
    cdef public Q931 node
    cdef public int cref, cause, setups, releases, enquiries, called_ton, glare_channel
    cdef public bint ours, exclusive, complete, reported, first_response, inband, glare
    cdef public object channel, calling, error_cause, hlc, called, display
    cdef public double started
    cdef public MachineCore m

    cdef int _reset(self, int cref, bint ours, double now) except -1
    cdef int send(self, int mt, tuple ies=*) except -1
    @cython.locals(e=CallEvent)
    cdef int event(self, str kind, double now, int cause=*, bint remote=*, str reason=*, str digits=*,
                   int progress=*) except -1
    cdef object _cause(self, int value=*)
    cdef int _released(self, double now, int cause, bint remote, str reason) except -1
    @cython.locals(d=int)
    cdef int _note_progress(self, object m, double now, str kind) except -1
    cdef int _take_channel(self, object m) except -1
    cdef list _first(self)


cdef int _cause_of(object m) except? -1


cdef class Q931:
    cdef public bint network, overlap_receiving, link_up
    cdef public object variant, table, number_length, restart, tap, _call_timers
    cdef public tuple channels
    cdef public dict _timers, calls, by_channel, counters, _calling
    cdef public int location, trace, _next_cref
    cdef public CTimerQueue timers
    cdef public set maintenance, restarting
    cdef public list _out, _events, iface_events, _pool

    cpdef MachineCore new_machine(self, PriCall call)
    @cython.locals(counters=dict)
    cpdef send_parts(self, int mtype, int cref, bint flag, object ies)
    cpdef send_status(self, int cref, bint flag, int cause, int state)
    cpdef fire(self, PriCall call, object event, object msg, double now)
    @cython.locals(out=list)
    cpdef list data_to_send(self, double now)
    @cython.locals(holder=PriCall)
    cpdef move_channel(self, PriCall call, object ch)
    @cython.locals(pool=list)
    cpdef free(self, PriCall call, double now, bint maintenance=*)
    @cython.locals(pool=list, n=Py_ssize_t, i=Py_ssize_t, c=PriCall, m=MachineCore)
    cdef PriCall _new_call(self, int cref, bint ours, double now)
    @cython.locals(cref=int)
    cdef int _new_cref(self) except -1
    @cython.locals(known=dict)
    cdef object _calling_number(self, str digits)
    cpdef list setup_ies(self, PriCall call)
    cdef int _req(self, PriCall call, object req, object arg, double now) except -1
    @cython.locals(call=PriCall)
    cdef int _clear_channel(self, object ch, double now, str why) except -1
    @cython.locals(call=PriCall)
    cpdef receive(self, object data, double now)
    cdef object _problem(self, object m)
    @cython.locals(cause=int, act=bint)
    cdef int _for_call(self, PriCall call, object m, double now) except -1
    cdef int _unknown_cref(self, object m, double now) except -1
    cdef int _release_complete(self, int cref, bint flag, int cause) except -1
    @cython.locals(call=PriCall)
    cdef int _incoming(self, object m, double now) except -1
    @cython.locals(holder=PriCall)
    cdef tuple _channel_for(self, object m, double now)
    cdef int _global(self, object m, double now) except -1
    cdef int _peer_restart(self, object m, double now) except -1
