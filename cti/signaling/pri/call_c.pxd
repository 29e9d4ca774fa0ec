# Declarations that compile call_py.py (pure-Python mode) as call_c.
from cti.signaling.machine_c cimport MachineCore, TimerQueue as CTimerQueue, Actions
from cti.signaling.pri.message_c cimport Message as CMessage, encode_parts as c_encode_parts, number_wire as c_number_wire
from cti.signaling.pri.link_c cimport Upper
from cpython.ref cimport Py_REFCNT
cimport cython

cdef object _Machine, _Msg
cdef object _RELEASE_COMPLETE, _RELEASE, _DISCONNECT, _SETUP
cdef object _REQ_RELEASE, _REQ_PROCEEDING, _REQ_SETUP_COMPLETE
cdef object _ChannelId, _CallingNumber, _Display, _CallState
cdef object _ie_cause, _ie_channel, _ie_progress, _SPEECH
cdef Py_ssize_t _POOL_MAX, _SOLE
cdef object _SENDING_COMPLETE
cdef int _M_ALERTING, _M_CALL_PROCEEDING, _M_CONNECT, _M_CONNECT_ACKNOWLEDGE, _M_DISCONNECT, _M_INFORMATION
cdef int _M_PROGRESS, _M_RELEASE, _M_RELEASE_COMPLETE, _M_SETUP, _M_SETUP_ACKNOWLEDGE, _M_STATUS, _M_STATUS_ENQUIRY

cdef class PriCall


cdef class Node(Upper):
    cdef public bint network, overlap_receiving, link_up
    cdef public object variant, table, number_length, restart, tap, _call_timers
    cdef public tuple channels
    cdef public dict _timers, calls, by_channel, _counts, _calling
    cdef public long _n_rx, _n_tx, _n_setup_tx, _n_setup_rx
    cdef public int location, trace, _next_cref
    cdef public CTimerQueue timers
    cdef public set maintenance, restarting
    cdef public list _out, _events, iface_events, _pool

    cpdef send_parts(self, int mtype, int cref, bint flag, object ies)
    cpdef send_status(self, int cref, bint flag, int cause, int state)
    @cython.locals(holder=PriCall)
    cpdef move_channel(self, PriCall call, object ch)
    @cython.locals(pool=list)
    cpdef free(self, PriCall call, double now, bint maintenance=*)
    @cython.locals(pool=list, n=Py_ssize_t, i=Py_ssize_t, c=PriCall, m=MachineCore)
    cdef PriCall _new_call(self, int cref, bint ours, double now)
    cpdef list setup_ies(self, PriCall call)


cdef class CallEvent:
    cdef public str kind, reason, digits
    cdef public object call
    cdef public double time
    cdef public int cause, progress
    cdef public bint remote


@cython.final
cdef class PriCall(Actions):
    cdef public Node node
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
    @cython.locals(d=int, msg=CMessage)
    cdef int _note_progress(self, object m, double now, str kind) except -1
    @cython.locals(ch=int, msg=CMessage)
    cdef int _take_channel(self, object m) except -1
    cdef list _first(self)
    cpdef send_setup(self, object m, double now)
    cpdef repeat_setup(self, object m, double now)
    cpdef setup_failed(self, object m, double now)
    cpdef lost_channel(self, object m, double now)
    cpdef setup_acked(self, object m, double now)
    cpdef proceeding(self, object m, double now)
    cpdef alerting(self, object m, double now)
    cpdef progress(self, object m, double now)
    cpdef connected(self, object m, double now)
    cpdef connect_request(self, object m, double now)
    cpdef send_connect_ack(self, object m, double now)
    cpdef no_answer(self, object m, double now)
    cpdef send_info(self, object m, double now)
    @cython.locals(msg=CMessage)
    cpdef offered(self, object m, double now)
    cpdef send_setup_ack(self, object m, double now)
    cpdef more_digits(self, object m, double now)
    cpdef overlap_timeout(self, object m, double now)
    cpdef overlap_incomplete(self, object m, double now)
    cpdef send_proceeding(self, object m, double now)
    cpdef send_alerting(self, object m, double now)
    cpdef send_progress(self, object m, double now)
    cpdef send_connect(self, object m, double now)
    cpdef connect_acked(self, object m, double now)
    cpdef reject(self, object m, double now)
    cpdef send_disconnect(self, object m, double now)
    cpdef timeout_disconnect(self, object m, double now)
    cpdef remote_disconnect(self, object m, double now)
    cpdef release_after_disconnect(self, object m, double now)
    cpdef disconnect_timeout(self, object m, double now)
    cpdef send_release(self, object m, double now)
    cpdef repeat_release(self, object m, double now)
    cpdef remote_release(self, object m, double now)
    cpdef released_after_disconnect(self, object m, double now)
    cpdef release_complete(self, object m, double now)
    cpdef release_timeout(self, object m, double now)
    cpdef link_lost(self, object m, double now)
    cpdef t309_expired(self, object m, double now)
    cpdef link_back(self, object m, double now)
    cpdef send_status_enquiry(self, object m, double now)
    cpdef repeat_status_enquiry(self, object m, double now)
    cpdef enquiry_failed(self, object m, double now)
    cpdef answer_enquiry(self, object m, double now)
    cpdef status_ok(self, object m, double now)
    cpdef status_peer_null(self, object m, double now)
    cpdef status_incompatible(self, object m, double now)
    cpdef unexpected(self, object m, double now)
    cpdef ignore(self, object m, double now)
    cpdef notify(self, object m, double now)
    cpdef information(self, object m, double now)
    cpdef bint has_digits(self, object m) except -1
    cpdef bint peer_null(self, object m) except -1
    cpdef bint incompatible(self, object m) except -1
    cpdef bint inband_tones(self, object m) except -1
    cpdef bint t309_idle(self, object m) except -1
    cpdef bint setup_left(self, object m) except -1
    cpdef bint release_left(self, object m) except -1
    cpdef bint enquiry_left(self, object m) except -1


@cython.locals(msg=CMessage)
cdef int _cause_of(object m) except? -1
