# cython: language_level=3
"""ISUP call control per message, compiled (twin: :mod:`.control_py`).

The call table (:data:`.call.CALL_TABLE`) is compiled at import into int arrays (state x
event -> next state, action); the common actions run here in C, the others are the node's
Python methods, called by name. Circuits are found by CIC in an array; timers stay
:class:`cti.signaling.timers.Timers` of :data:`.timers.ISUP_TIMERS` (their running dict is
used directly); events are :class:`.call.IsupEvent`; messages are encoded by the codec.
"""
from cpython.dict cimport PyDict_Contains, PyDict_DelItem, PyDict_GetItem, PyDict_Next
from cpython.object cimport PyObject, PyObject_GenericSetAttr
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdlib cimport malloc
from libc.string cimport memcpy

from cti.signaling.causes import Cause
from cti.signaling.errors import DecodeError, LocalProtocolError
from cti.signaling.fsm import ANY, UnexpectedEvent
from cti.signaling.timers import Timers

from .._fsm import TRACE_KEEP
from .call import BCI_ACM, BCI_CON, CALL_TABLE, IAM_DEFAULTS, SUPERVISION_TIMERS, CallState, IsupEvent
from .codec_c import decode, encode_message    # not via .codec: may be imported while it loads
from .formats import MessageType
from .params import CauseInd, Number
from .timers import ISUP_TIMERS

from cpython.unicode cimport PyUnicode_GET_LENGTH

from .codec_c cimport Slots, cause_value, decode_as, hexval

# ---- the call table as int arrays -------------------------------------------------------------
cdef list STATES = list(CallState)
cdef dict STATE_INDEX = {s: i for i, s in enumerate(STATES)}
cdef int NS = len(STATES)
cdef list EVENTS = []
for _s, _e in CALL_TABLE:
    if _e not in EVENTS:
        EVENTS.append(_e)
for _t in MessageType:                  # every message is an event (most have no row: unexpected)
    if _t.name not in EVENTS:
        EVENTS.append(_t.name)
cdef dict EVENT_INDEX = {e: i for i, e in enumerate(EVENTS)}
cdef int NE = len(EVENTS)
cdef list ACTIONS = sorted({a for a, _ in CALL_TABLE.values() if a is not None})

DEF NOROW = -2
DEF STAY = -1
cdef int *NEXT = <int *>malloc(NS * NE * sizeof(int))
cdef int *ACT = <int *>malloc(NS * NE * sizeof(int))
cdef int MT_EVENT[256]
#: message types whose every row and rare path ignores the parameters (Q.764 2.1.4, 2.1.7, 2.3):
#: received, they are checked whole but not turned into an IsupMessage (REL: its cause value read
#: in place, the one parameter its rows use)
cdef bint CHECK_ONLY[256]
from .formats import FORMATS as _FORMATS
assert _FORMATS[MessageType.REL].variable[:1] == ("cause_indicators",), "cause_value reads REL's first pointer"

cdef enum Action:       # the actions run here; any other name is a method of the node
    A_PY = 0
    A_SEND_IAM
    A_INCOMING
    A_ALERTING
    A_ANSWERED
    A_SEND_ACM
    A_SEND_ANM
    A_SEND_CON
    A_SEND_REL
    A_REMOTE_RELEASE
    A_SEND_RLC
    A_RELEASE_COMPLETE

cdef dict COMPILED_ACTIONS = {"_send_iam": A_SEND_IAM, "_incoming": A_INCOMING, "_alerting": A_ALERTING,
                              "_answered": A_ANSWERED, "_send_acm": A_SEND_ACM, "_send_anm": A_SEND_ANM,
                              "_send_con": A_SEND_CON, "_send_rel": A_SEND_REL,
                              "_remote_release": A_REMOTE_RELEASE, "_send_rlc": A_SEND_RLC,
                              "_release_complete": A_RELEASE_COMPLETE}
cdef int *ACODE = <int *>malloc((len(ACTIONS) + 1) * sizeof(int))


def _compile_table():
    cdef int i, k
    for i in range(NS * NE):
        NEXT[i] = NOROW
        ACT[i] = -1
    for i in range(len(ACTIONS)):
        ACODE[i] = COMPILED_ACTIONS.get(ACTIONS[i], A_PY)
    for i in range(256):
        MT_EVENT[i] = -1
        CHECK_ONLY[i] = False
    for t in (MessageType.ACM, MessageType.ANM, MessageType.CON, MessageType.RLC, MessageType.REL):
        CHECK_ONLY[int(t)] = True
    for t in MessageType:
        MT_EVENT[int(t)] = EVENT_INDEX[t.name]
    for exact in (True, False):            # exact rows first; ANY rows where none
        for (state, event), (action, nxt) in CALL_TABLE.items():
            if (state == ANY) == exact:
                continue
            for s in (STATES if state == ANY else [state]):
                k = STATE_INDEX[s] * NE + EVENT_INDEX[event]
                if NEXT[k] != NOROW:
                    continue
                NEXT[k] = STAY if nxt is None else STATE_INDEX[nxt]
                ACT[k] = -1 if action is None else ACTIONS.index(action)


_compile_table()

cdef int IDLE = STATE_INDEX[CallState.IDLE]
cdef int EV_SETUP = EVENT_INDEX["setup"]
cdef int EV_ALERT = EVENT_INDEX["alert"]
cdef int EV_ANSWER = EVENT_INDEX["answer"]
cdef int EV_RELEASE = EVENT_INDEX["release"]

cdef object M_IAM = MessageType.IAM, M_ACM = MessageType.ACM, M_ANM = MessageType.ANM, M_CON = MessageType.CON
cdef object M_REL = MessageType.REL, M_RLC = MessageType.RLC
cdef int M_REL_I = int(MessageType.REL)
cdef object NORMAL_CLEARING = Cause.NORMAL_CLEARING
cdef object CauseValue = Cause
cdef dict P_ACM = {"backward_call_indicators": BCI_ACM}, P_CON = {"backward_call_indicators": BCI_CON}
#: octets of the messages that differ only by CIC, by (message type[, cause]): see tx_same
cdef dict TEMPLATES = {}
cdef object NORMAL_UNSPECIFIED = int(Cause.NORMAL_UNSPECIFIED)


#: IAM octets that do not depend on the numbers, per calling party's category (see iam_octets)
cdef dict IAM_PLAN = {}


cdef Py_ssize_t pack_digits(unsigned char *q, str s, bint st) except -2:
    """Address signals of ``s`` (plus ST when ``st``) into ``q``, first digit in the low
    nibble (Q.763 3.9); the number of digits, or -1 when not 0-9A-F or over 40."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(s), i
    cdef int d
    if n + st > 40:
        return -1
    for i in range(n + st):
        d = hexval(s[i]) if i < n else 15
        if d < 0:
            return -1
        if i & 1:
            q[i >> 1] |= <unsigned char>(d << 4)
        else:
            q[i >> 1] = <unsigned char>d
    return n + st


cdef Slots NUMBER = Slots(Number), CAUSE = Slots(CauseInd), EVENT = Slots(IsupEvent)
assert EVENT.names[:9] == ("kind", "cic", "time", "called", "calling", "category", "cause", "remote", "reason")
cdef object D_CALLED = EVENT.defaults[3], D_CALLING = EVENT.defaults[4], D_CATEGORY = EVENT.defaults[5]
cdef object D_CAUSE = EVENT.defaults[6], D_REASON = EVENT.defaults[8]


cdef inline object new_event(object kind, int cic, object time, object called, object calling, object category,
                             object cause, object remote, object reason):
    return EVENT.make((kind, cic, time, called, calling, category, cause, remote, reason))


cdef object iam_plan(int category):
    """Type + mandatory fixed part, then NAI and the second octet of the called and calling
    numbers, as the codec encodes them for an IAM of ``category`` with the default numbers
    (:class:`.params.Number`); False if the codec's layout is not the one iam_octets writes."""
    p = dict(IAM_DEFAULTS, calling_partys_category=category, called_party_number=NUMBER.make(("1F",)),
             calling_party_number=NUMBER.make(("1",)))
    cdef bytes t = encode_message(M_IAM, 0, p)
    if len(t) != 20 or t[8:11] != bytes((2, 5, 3)) or t[13:16] != bytes((0xF1, 0x0A, 3)) or t[18:] != bytes((0x01, 0)):
        return False
    return t[2:8] + bytes((t[11] & 0x7F, t[12], t[16] & 0x7F, t[17]))


# ---- circuits -----------------------------------------------------------------------------------
cdef class CircuitFsm:
    """The call FSM of one circuit: :class:`cti.signaling.ss7._fsm.BoundedFSM`'s attributes
    (``state`` settable, ``last_from``, ``last_event``, ``tracing``/``trace``, ``fire``,
    ``fire_if``, ``allowed``) over the compiled table."""

    cdef public str name
    cdef int st, last_from_i, last_ev
    cdef public bint tracing
    cdef public list trace
    cdef CallControl owner
    cdef Circuit circuit

    def __init__(self, str name, CallControl owner, Circuit circuit):
        self.name, self.owner, self.circuit = name, owner, circuit
        self.st = self.last_from_i = IDLE
        self.last_ev = -1
        self.tracing = False
        self.trace = []

    @property
    def state(self):
        return STATES[self.st]

    @state.setter
    def state(self, value):
        self.st = STATE_INDEX[CallState(value)]

    @property
    def last_from(self):
        return STATES[self.last_from_i]

    @property
    def last_event(self):
        return EVENTS[self.last_ev] if self.last_ev >= 0 else None

    @property
    def table(self):
        return CALL_TABLE

    def allowed(self, event) -> bool:
        cdef int ev = EVENT_INDEX.get(event, -1)
        return ev >= 0 and NEXT[self.st * NE + ev] != NOROW

    def fire_if(self, event) -> bool:
        cdef int ev = EVENT_INDEX.get(event, -1)
        return ev >= 0 and self.owner.fire(self.circuit, ev)

    def fire(self, event):
        if not self.fire_if(event):
            raise UnexpectedEvent(self.name, self.state, event)

    cdef void add_trace(self, int before):
        if len(self.trace) >= 2 * TRACE_KEEP:
            del self.trace[:-TRACE_KEEP]
        self.trace.append((STATES[before], EVENTS[self.last_ev], STATES[self.st]))


cdef class Circuit:
    """One circuit: control_py.CircuitCtl's attributes."""

    cdef public int cic
    cdef readonly CircuitFsm fsm
    cdef readonly object timers
    cdef dict running, tvalues
    cdef public bint local_blocked, remote_blocked, unequipped, reset_pending
    cdef public object called, calling, cause
    cdef public dict extra
    cdef bint ours

    @property
    def available(self) -> bool:
        return not (self.local_blocked or self.remote_blocked or self.unequipped)

    def __repr__(self):
        return (f"Circuit(cic={self.cic}, state={self.fsm.state.value}, local_blocked={self.local_blocked}, "
                f"remote_blocked={self.remote_blocked}, unequipped={self.unequipped}, "
                f"reset_pending={self.reset_pending})")


cdef inline void t_start(Circuit c, str name, object now) except *:
    c.running[name] = now + c.tvalues[name]


cdef inline void t_stop(Circuit c, str name) except *:
    if PyDict_Contains(c.running, name):
        PyDict_DelItem(c.running, name)


# ---- call control -------------------------------------------------------------------------------
cdef class CallControl:
    """Circuits ``cics`` (checked by the node) with timer ``overrides`` (checked too)."""

    cdef public object opc, dpc, name, _m, _now
    cdef public dict circuits, _dispatch
    cdef dict _counters
    cdef long long n_rx, n_tx          # counters["rx"] / ["tx"], kept as C ints per message
    cdef int rx_cause                  # cause value of the REL being received without an IsupMessage
    cdef public list _circuit_list, _by_cic, _out, _events
    cdef public frozenset _ours
    cdef public Circuit _c
    cdef list _cmap, _handlers

    def __init__(self, list cics, opc, dpc, dict overrides, name):
        cdef Circuit c
        self.opc, self.dpc, self.name = opc, dpc, name
        self.circuits = {}
        self._cmap = [None] * 4096
        for cic in cics:
            c = Circuit()
            c.cic = cic
            c.fsm = CircuitFsm(f"{name}.cic{cic}", self, c)
            c.timers = Timers(ISUP_TIMERS, overrides)
            c.running, c.tvalues = c.timers.running, c.timers.values
            c.called, c.calling, c.cause, c.extra = "", None, 0, {}
            c.ours = self.controls(cic)
            self.circuits[cic] = c
            self._cmap[cic] = c
        self._circuit_list = list(self.circuits.values())
        self._by_cic = sorted(self._circuit_list, key=lambda c: c.cic)   # allocation order
        self._ours = frozenset(c for c in cics if self.controls(c))
        self._out, self._events = [], []
        self._c = self._circuit_list[0] if cics else None
        self._m, self._now = None, 0.0
        #: message type -> circuit supervision handler ``_rx_<NAME>`` of the node, or None
        self._dispatch = {t: (getattr(self, f"_rx_{t.name}", None), t.name) for t in MessageType}
        self._handlers = [None] * 256
        for t, (h, _) in self._dispatch.items():
            self._handlers[int(t)] = h
        self._counters = {"rx": 0, "tx": 0, "discarded": 0, "cfn_sent": 0, "ucic_sent": 0, "unexpected": 0,
                          "glare": 0}
        self.n_rx = self.n_tx = 0
        self.rx_cause = -1

    @property
    def counters(self):
        """rx, tx, discarded, cfn_sent, ucic_sent, unexpected, glare (one dict: the node's
        rare paths count into it)."""
        self._counters["rx"], self._counters["tx"] = self.n_rx, self.n_tx
        return self._counters

    # ---- outputs ----------------------------------------------------------------------
    def messages(self):
        out, self._out = self._out, []
        return out

    def events(self):
        ev, self._events = self._events, []
        return ev

    def _tx(self, mtype, cic, **params):
        self.tx(mtype, cic, params)

    def _ev(self, kind, c=None, **kw):
        self._events.append(IsupEvent(kind, (c or self._c).cic, self._now, **kw))

    cdef inline void tx(self, object mtype, object cic, dict params) except *:
        self._out.append((cic, encode_message(mtype, cic, params)))
        self.n_tx += 1

    cdef void tx_same(self, object key, object mtype, Circuit c, object params) except *:
        """A message whose octets past the CIC depend on ``key`` only: encoded once by the codec
        (from the tables, CIC 0; ``params`` None: a REL with cause ``key[1]``), then copied with
        the circuit's CIC (Q.763 1.2: 12 bits, least significant first)."""
        cdef object tpl = TEMPLATES.get(key)
        if tpl is None:
            if params is None:
                params = {"cause_indicators": CAUSE.make((key[1],))}
            tpl = TEMPLATES[key] = encode_message(mtype, 0, params)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(tpl)
        out = PyBytes_FromStringAndSize(NULL, n)
        cdef char *p = PyBytes_AS_STRING(out)
        memcpy(p, PyBytes_AS_STRING(tpl), n)
        p[0] = <char>(c.cic & 0xFF)
        p[1] = <char>(c.cic >> 8)
        self._out.append((c.cic, out))
        self.n_tx += 1

    cdef inline void ev(self, str kind, Circuit c, object remote) except *:
        self._events.append(new_event(kind, c.cic, self._now, D_CALLED, D_CALLING, D_CATEGORY, D_CAUSE, remote,
                                      D_REASON))

    cdef inline void ev_released(self, Circuit c, object cause, object remote, str reason) except *:
        self._events.append(new_event("released", c.cic, self._now, D_CALLED, D_CALLING, D_CATEGORY, cause, remote,
                                      reason))

    # ---- circuits ---------------------------------------------------------------------------
    def controls(self, cic) -> bool:
        """Q.764 2.9.1.4: the higher point code controls even CICs, the lower odd ones."""
        return (cic % 2 == 0) == (self.opc > self.dpc)

    def allocate(self):
        """A free circuit, preferring those we control (fewer dual seizures), lowest CIC first."""
        cdef Circuit c
        other = None
        for c in self._by_cic:
            if c.fsm.st == IDLE and not (c.local_blocked or c.remote_blocked or c.unequipped or c.reset_pending):
                if c.ours:
                    return c.cic
                if other is None:
                    other = c.cic
        return other

    cdef Circuit circuit(self, object cic):
        cdef PyObject *p = PyDict_GetItem(self.circuits, cic)
        if p == NULL:
            raise LocalProtocolError(f"CIC {cic} not configured")
        return <Circuit>p

    def _circuit(self, cic):
        return self.circuit(cic)

    # ---- user requests of a call ----------------------------------------------------------------
    def setup(self, called, calling, now, cic=None, category=0x0A, **params):
        """Send an IAM (Q.764 2.1.1); the CIC used. LocalProtocolError when none is free."""
        if cic is None:
            cic = self.allocate()
            if cic is None:
                raise LocalProtocolError("no circuit available")
        cdef Circuit c = self.circuit(cic)
        if not c.available or c.fsm.st != IDLE:
            raise LocalProtocolError(f"CIC {cic} not free ({c.fsm.state.value}, available={c.available})")
        c.called, c.calling = called, calling
        c.extra = {"category": category, **params}
        self.request(c, EV_SETUP, "setup", now)
        return cic

    def alert(self, cic, now):
        self.request(self.circuit(cic), EV_ALERT, "alert", now)

    def answer(self, cic, now):
        self.request(self.circuit(cic), EV_ANSWER, "answer", now)

    def release(self, cic, cause, now):
        cdef Circuit c = self.circuit(cic)
        c.cause = int(cause)
        if c.fsm.st == IDLE:
            return
        self.request(c, EV_RELEASE, "release", now)

    cdef void request(self, Circuit c, int ev, str event, object now) except *:
        self._c, self._now = c, now
        if not self.fire(c, ev):
            self._not_allowed(c, event)

    def _fire(self, Circuit c, str event, now):
        self._c, self._now = c, now
        cdef int ev = EVENT_INDEX.get(event, -1)
        if ev < 0 or not self.fire(c, ev):
            self._not_allowed(c, event)

    # ---- the FSM ------------------------------------------------------------------------------
    cdef bint fire(self, Circuit c, int ev) except -1:
        """Apply event ``ev`` to ``c`` (exact row, then ANY); False when the table has no row."""
        cdef CircuitFsm f = c.fsm
        cdef int st = f.st
        cdef int k = st * NE + ev
        cdef int nxt = NEXT[k], a
        if nxt == NOROW:
            return False
        self._c = c
        f.last_from_i, f.last_ev = st, ev
        if nxt != STAY:
            f.st = nxt
        if f.tracing:
            f.add_trace(st)
        a = ACT[k]
        if a >= 0:
            self.act(a)
        return True

    cdef void act(self, int a) except *:
        cdef int code = ACODE[a]
        if code == A_SEND_IAM:
            self.send_iam()
        elif code == A_INCOMING:
            self.incoming()
        elif code == A_ALERTING:
            t_stop(self._c, "T7")
            t_start(self._c, "T9", self._now)
            self.ev("alerting", self._c, True)
        elif code == A_ANSWERED:
            t_stop(self._c, "T7")
            t_stop(self._c, "T9")
            self.ev("answered", self._c, True)
        elif code == A_SEND_ACM:
            self.tx_same(M_ACM, M_ACM, self._c, P_ACM)
        elif code == A_SEND_ANM:
            self.tx_same(M_ANM, M_ANM, self._c, {})
            self.ev("answered", self._c, False)
        elif code == A_SEND_CON:
            self.tx_same(M_CON, M_CON, self._c, P_CON)
            self.ev("answered", self._c, False)
        elif code == A_SEND_REL:
            self.send_rel()
        elif code == A_REMOTE_RELEASE:
            self.remote_release()
        elif code == A_SEND_RLC:
            self.tx_same(M_RLC, M_RLC, self._c, {})
        elif code == A_RELEASE_COMPLETE:
            t_stop(self._c, "T1")
            t_stop(self._c, "T5")
            self.report_local_release("RLC received")
        else:
            getattr(self, ACTIONS[a])()

    # ---- timers ---------------------------------------------------------------------------
    def timer_deadline(self):
        cdef Circuit c
        cdef Py_ssize_t pos
        cdef PyObject *key
        cdef PyObject *val
        best = None
        for c in self._circuit_list:
            pos = 0
            while PyDict_Next(c.running, &pos, &key, &val):
                if best is None or <object>val < best:
                    best = <object>val
        return best

    def handle_timer(self, now):
        cdef Circuit c
        cdef Py_ssize_t pos
        cdef PyObject *key
        cdef PyObject *val
        cdef double t = now
        cdef bint due
        self._now = now
        for c in self._circuit_list:
            if not c.running:
                continue
            pos = 0
            due = False
            while PyDict_Next(c.running, &pos, &key, &val):
                if <double>(<object>val) <= t:
                    due = True
                    break
            if not due:
                continue
            for name in c.timers.expired(now):
                if name in SUPERVISION_TIMERS:
                    self._supervision_timer(c, name, now)
                elif name in EVENT_INDEX:
                    self._c = c
                    self.fire(c, EVENT_INDEX[name])

    # ---- input ------------------------------------------------------------------------------
    def receive(self, data, now):
        """One ISUP message from the adjacent point. Malformed input never raises."""
        cdef int cic, mt
        cdef Circuit c
        self._now = now
        self.n_rx += 1
        self.rx_cause = -1
        if type(data) is bytes and PyBytes_GET_SIZE(data) >= 3 and CHECK_ONLY[(<bytes>data)[2]]:
            cic = ((<bytes>data)[0] | ((<bytes>data)[1] << 8)) & 0x0FFF
            mt = (<bytes>data)[2]
            c = self._cmap[cic]
            if c is not None and self._handlers[mt] is None:
                try:
                    decode_as(data, False)  # the whole message is checked, no object built
                except DecodeError as e:
                    self._malformed(e)
                    return
                self._m = None
                if mt == M_REL_I:
                    self.rx_cause = cause_value(<bytes>data)
                self._c = c
                if not self.fire(c, MT_EVENT[mt]):
                    self._not_allowed(c, EVENTS[MT_EVENT[mt]])
                return
        msg = self.decoded(data)
        if msg is None:                 # malformed: answered or discarded by the node
            return
        if type(data) is bytes:         # decoded, so at least CIC + type: read them from the octets
            cic = ((<bytes>data)[0] | ((<bytes>data)[1] << 8)) & 0x0FFF
            mt = (<bytes>data)[2]
        else:
            cic, mt = msg.cic, msg.type
        c = self._cmap[cic]
        if c is None:
            self._unequipped(msg)
            return
        self._m = msg
        handler = self._handlers[mt]
        if handler is not None:
            handler(c, msg)
            return
        self._c = c
        if not self.fire(c, MT_EVENT[mt]):
            self._not_allowed(c, EVENTS[MT_EVENT[mt]])

    cdef object decoded(self, data):
        try:
            return decode(data)
        except DecodeError as e:
            self._malformed(e)
            return None

    # ---- call control actions (the common ones of the table in .call) -------------------------
    cdef object iam_octets(self, Circuit c):
        """The IAM of ``c`` without building parameter objects, or None when it has more than
        the category and the two numbers (then :meth:`send_iam` encodes it from the tables).
        What does not depend on the numbers (message type, the mandatory fixed part, the
        numbers' indicator octets) comes from the codec once per category; here only the
        digits, lengths and pointers are written (Q.763 1.3-1.8, 3.9, 3.10)."""
        cdef unsigned char buf[64]
        cdef Py_ssize_t i, nd, cd = 0, n
        cdef bytes head
        cdef const unsigned char *h
        if len(c.extra) != 1 or type(c.called) is not str:
            return None
        category = c.extra.get("category", -1)
        calling = c.calling
        if type(category) is not int or not 0 <= category <= 255 or (calling and type(calling) is not str):
            return None
        plan = IAM_PLAN.get(category)
        if plan is None:
            plan = IAM_PLAN[category] = iam_plan(category)
        if plan is False:
            return None
        head = <bytes>plan
        h = <const unsigned char *>PyBytes_AS_STRING(head)
        called = <str>c.called
        st = not called.endswith("F")
        memcpy(buf + 2, h, 6)                   # type, NCI, FCI, CPC, TMR
        nd = pack_digits(buf + 13, called, st)
        if nd < 0:
            return None
        n = 13 + (nd + 1) // 2
        buf[8] = 2                              # pointer to the called party number
        buf[10] = <unsigned char>(2 + (nd + 1) // 2)
        buf[11] = h[6] | ((nd & 1) << 7)
        buf[12] = h[7]
        if calling:
            cd = pack_digits(buf + n + 4, <str>calling, False)
            if cd < 0:
                return None
            buf[9] = <unsigned char>(n - 9)     # pointer to the optional part
            buf[n] = 0x0A                       # calling party number (Q.763 3.10)
            buf[n + 1] = <unsigned char>(2 + (cd + 1) // 2)
            buf[n + 2] = h[8] | ((cd & 1) << 7)
            buf[n + 3] = h[9]
            n += 4 + (cd + 1) // 2
            buf[n] = 0                          # end of optional parameters
            n += 1
        else:
            buf[9] = 0
        buf[0] = <unsigned char>(c.cic & 0xFF)
        buf[1] = <unsigned char>(c.cic >> 8)
        return PyBytes_FromStringAndSize(<char *>buf, n)

    cdef void send_iam(self) except *:
        cdef Circuit c = self._c
        iam = self.iam_octets(c)
        if iam is not None:
            self._out.append((c.cic, iam))
            self.n_tx += 1
            t_start(c, "T7", self._now)
            return
        p = IAM_DEFAULTS.copy()
        called = c.called
        p["called_party_number"] = NUMBER.make((called if called.endswith("F") else called + "F",))
        if c.calling:
            p["calling_party_number"] = NUMBER.make((c.calling,))
        p.update(c.extra)
        category = p.pop("category", 0x0A)
        if "calling_partys_category" not in c.extra:    # an explicit parameter wins
            p["calling_partys_category"] = category
        self.tx(M_IAM, c.cic, p)
        t_start(c, "T7", self._now)

    cdef void incoming(self) except *:
        cdef Circuit c = self._c
        cdef dict params = self._m.params
        num = params.get("called_party_number")
        c.called = "" if num is None else num.digits.rstrip("F")      # ST (F) ends the digits
        num = params.get("calling_party_number")
        c.calling = None if num is None else num.digits
        if c.remote_blocked or c.local_blocked:
            if self._blocked_seizure(c):
                return
        self._events.append(new_event("setup", c.cic, self._now, c.called, c.calling,
                                      params.get("calling_partys_category"), D_CAUSE, True, D_REASON))

    cdef void send_rel(self) except *:
        cdef Circuit c = self._c
        t_stop(c, "T7")
        t_stop(c, "T9")
        cause = c.cause or NORMAL_CLEARING
        if type(cause) is int or type(cause) is CauseValue:       # one REL per cause value
            self.tx_same((M_REL, cause), M_REL, c, None)
        else:
            self.tx(M_REL, c.cic, {"cause_indicators": CAUSE.make((cause,))})
        t_start(c, "T1", self._now)
        t_start(c, "T5", self._now)

    cdef void remote_release(self) except *:
        cdef Circuit c = self._c
        m = self._m
        c.running.clear()
        if m is None and self.rx_cause >= 0:      # a REL checked in place (receive)
            cause = self.rx_cause
        else:
            ci = m.params.get("cause_indicators") if m else None
            cause = ci.value if ci else NORMAL_UNSPECIFIED
        self.tx_same(M_RLC, M_RLC, c, {})
        self.ev_released(c, cause, True, "REL received")

    cdef void report_local_release(self, str reason) except *:
        cdef Circuit c = self._c
        if not c.extra.pop("released_reported", False):
            self.ev_released(c, c.cause or NORMAL_CLEARING, False, reason)
        c.cause = 0

    # the actions above by their table names, for the node's rare paths
    def _send_rel(self):
        self.send_rel()

    def _incoming(self):
        self.incoming()

    def _report_local_release(self, reason="RLC received"):
        self.report_local_release(reason)
