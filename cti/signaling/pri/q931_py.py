# cython: annotation_typing=False
"""Q.931 layer 3 of one PRI interface: :class:`PriCall` (one call reference; its methods are the
actions and guards of the call tables of :mod:`.calltable`, Q.931 5.1-5.3, 5.8) and
:class:`Q931` (call references, B-channel allocation and glare, unknown call references, the
5.8 answers, RESTART received; our RESTART is :mod:`.restart`). Sans-IO: ``receive(octets,
now)`` takes a layer 3 message from the data link, ``data_to_send(now)`` gives the messages to
hand to it, ``events()`` the call and interface events; requests (``setup``, ``alert``,
``answer``, ``release`` ...) are methods.

One source, two builds: this module runs as it is (the twin, ``BOARDCORE_NO_EXTENSIONS=1``)
and setup.py compiles it in Cython's pure-Python mode with ``q931_c.pxd`` as ``q931_c``
(:mod:`.q931` and :mod:`.call` export the live classes), as the data link (``link_c``), the
engine (``machine_c``) and ISUP call control (``control_c``) are built. Written by hand
because it is the per-message cost of every PRI call: the compiled build holds a call's and an
interface's fields in C, calls its helpers and the engine's machine without a Python call, and
fires the tables' events from constants; the call tables stay the whole state machine (the
engine calls the actions ``action(call, message, now)``). A freed call record goes back to a
small pool with its machine (:meth:`Q931.free`) and is taken again by the next call when
nothing else holds it any more.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from _boardcore import _select
from cti.signaling.engine import Machine, Table, TimerQueue
from cti.signaling.errors import LocalProtocolError

from . import ie as IE
from .calltable import build
from .message import (GLOBAL_CREF, MANDATORY, MANDATORY_FROM_NETWORK, MT, Message, MessageError, decode, encode_parts,
                      number_wire)
from .restart import Restart, RestartEv
from .states import COMPATIBLE, Ev, InterfaceEvent, Req
from .timers import N322, Q931_TIMERS
from .variants import Variant, variant as variant_named

try:
    import cython
    _COMPILED = bool(cython.compiled)
except ImportError:      # no Cython: this module runs as the twin
    _COMPILED = False
if not cython.compiled:  # the base of PriCall (the compiled build cimports the engine's C class)
    from cti.signaling.machine_py import Actions
if not cython.compiled and TYPE_CHECKING:  # the C functions q931_c.pxd cimports, for the type checker
    from sys import getrefcount as Py_REFCNT

    from .message_py import decode as c_decode, encode_parts as c_encode_parts, number_wire as c_number_wire
#: the machine and queue classes: this build types them as the compiled engine, so with the
#: twins forced on (tests comparing the two builds in one process) it takes that engine all the same
_Machine: Any = Machine
_Queue: Any = TimerQueue
#: the codec's message class, decoder and error, taken so too: the compiled build reads a
#: decoded message's fields and accessors as C (a message typed as ``message_c.Message``)
_Msg: Any = Message
_decode: Any = decode
_MessageError: Any = MessageError
if _COMPILED:
    _machine_c = _select.compiled("cti.signaling.machine")
    if _machine_c is not None:
        _Machine, _Queue = _machine_c.MachineCore, _machine_c.TimerQueue
    _message_c = _select.compiled("cti.signaling.pri.message")
    if _message_c is not None:
        _Msg, _decode, _MessageError = _message_c.Message, _message_c.decode, _message_c.MessageError

E1_B_CHANNELS = tuple(range(1, 16)) + tuple(range(17, 32))
#: freed call records an interface keeps for reuse (a busy span frees and takes one per call)
_POOL_MAX = 32


def _sole_refs() -> int:
    """The reference count, as :meth:`Q931._new_call` reads it in this build (``Py_REFCNT``
    compiled, ``sys.getrefcount`` in the twin), of an object held by one list and one local
    variable only: a pooled call record that nothing else holds shows this count."""
    pool = [object()]
    c = pool[0]
    return int(Py_REFCNT(c) if cython.compiled else sys.getrefcount(c))


_SOLE = _sole_refs()
#: message type octet -> MT, without calling the enum per message
_MT_OF: list[MT | None] = [None] * 128
for _t in MT:
    _MT_OF[int(_t) & 0x7F] = _t
#: message types with mandatory elements (the others can only have element errors)
_CHECKED = bytes(1 if any(int(t) == i for t in (*MANDATORY, *MANDATORY_FROM_NETWORK)) else 0 for i in range(128))
#: message type octets as C ints (an ``MT.X`` look-up goes through the enum's metaclass)
_M_ALERTING = int(MT.ALERTING)
_M_CALL_PROCEEDING = int(MT.CALL_PROCEEDING)
_M_CONNECT = int(MT.CONNECT)
_M_CONNECT_ACKNOWLEDGE = int(MT.CONNECT_ACKNOWLEDGE)
_M_DISCONNECT = int(MT.DISCONNECT)
_M_INFORMATION = int(MT.INFORMATION)
_M_PROGRESS = int(MT.PROGRESS)
_M_RELEASE = int(MT.RELEASE)
_M_RELEASE_COMPLETE = int(MT.RELEASE_COMPLETE)
_M_RESTART = int(MT.RESTART)
_M_RESTART_ACKNOWLEDGE = int(MT.RESTART_ACKNOWLEDGE)
_M_SETUP = int(MT.SETUP)
_M_SETUP_ACKNOWLEDGE = int(MT.SETUP_ACKNOWLEDGE)
_M_STATUS = int(MT.STATUS)
_M_STATUS_ENQUIRY = int(MT.STATUS_ENQUIRY)
# the events and element classes of the per-message path, as constants (no module and class
# attribute look-up per use in the compiled build)
_SETUP, _RELEASE_COMPLETE, _RELEASE, _DISCONNECT = MT.SETUP, MT.RELEASE_COMPLETE, MT.RELEASE, MT.DISCONNECT
_REQ_SETUP, _REQ_RELEASE, _REQ_SETUP_COMPLETE, _REQ_PROCEEDING = Req.SETUP, Req.RELEASE, Req.SETUP_COMPLETE, \
    Req.PROCEEDING
_REQ_REJECT, _REQ_DISCONNECT = Req.REJECT, Req.DISCONNECT
_REQ_INFO, _REQ_MORE_INFO, _REQ_ALERTING, _REQ_PROGRESS = Req.INFO, Req.MORE_INFO, Req.ALERTING, Req.PROGRESS
_REQ_SETUP_RESPONSE, _REQ_STATUS_ENQUIRY = Req.SETUP_RESPONSE, Req.STATUS_ENQUIRY
_ChannelId, _CallingNumber, _Display, _CallState = IE.ChannelId, IE.CallingNumber, IE.Display, IE.CallState
_ie_cause, _ie_channel, _ie_progress, _SPEECH = IE.cause, IE.channel, IE.progress, IE.SPEECH
_SENDING_COMPLETE = IE.SENDING_COMPLETE


class CallEvent:
    """What a call tells the layer above: ``kind`` (setup, overlap, more_digits, setup_ack,
    proceeding, alerting, progress, answered, connected, information, notify, released,
    status), the ``call``, ``time``, and for some kinds ``cause``, ``remote`` (the far end did
    it), ``reason``, ``digits``, ``progress`` (the progress description: 8, in-band information
    available)."""

    def __init__(self, kind: str, call: PriCall, time: float, cause: int = 0, remote: bool = True, reason: str = "",
                 digits: str = "", progress: int = 0) -> None:
        self.kind = kind
        self.call = call
        self.time = time
        self.cause = cause
        self.remote = remote
        self.reason = reason
        self.digits = digits
        self.progress = progress

    def __repr__(self) -> str:
        return (f"CallEvent(kind={self.kind!r}, call={self.call!r}, time={self.time!r}, cause={self.cause!r}, "
                f"remote={self.remote!r}, reason={self.reason!r}, digits={self.digits!r}, progress={self.progress!r})")


class PriCall(Actions):
    """One call reference and its machine; the actions of the tables are its methods."""

    def __init__(self, node: Q931, cref: int, ours: bool, now: float) -> None:
        self.node = node
        self._reset(cref, ours, now)
        self.m = _Machine(node.table, self, name=f"cref {cref}", timer_values=node._call_timers, trace=node.trace,
                          queue=node.timers)

    def _reset(self, cref: int, ours: bool, now: float) -> int:
        """The fields of a new call (a record taken from :class:`Q931`'s pool is reset so)."""
        self.cref = cref
        self.ours = ours                   #: we allocated the call reference (we sent SETUP)
        self.channel: int | None = None    #: E1 timeslot of the B channel
        self.exclusive = True
        self.called = ""
        self.calling: IE.CallingNumber | None = None
        self.complete = True               #: the called number is complete (en-bloc)
        self.cause = 16
        self.reported = False              #: "released" told to the layer above
        self.setups = 0                    #: SETUPs sent (T303)
        self.releases = 0                  #: RELEASEs sent (T308)
        self.enquiries = 0                 #: STATUS ENQUIRYs sent (T322)
        self.first_response = True
        self.started = now
        self.display = ""
        self.inband = False                #: progress indicator 8 seen: tones in band
        #: Q.931 5.8.6 / 5.8.7: cause our RELEASE / RELEASE COMPLETE carries after a bad message
        self.error_cause: int | None = None
        self.called_ton = 0
        self.hlc: int | None = None
        self.glare_channel = 0             #: the channel it lost
        self.glare = False                 #: our outgoing call lost its channel to the peer's SETUP
        return 0

    @property
    def state(self) -> Any:
        return self.m.state

    def __repr__(self) -> str:
        return f"PriCall(cref={self.cref}{'*' if not self.ours else ''}, ch={self.channel}, {self.m.state.name})"

    # ---- helpers --------------------------------------------------------------------------
    def send(self, mt: int, ies: tuple[IE.Ie, ...] = ()) -> None:
        self.node.send_parts(mt, self.cref, not self.ours, ies)

    def event(self, kind: str, now: float, cause: int = 0, remote: bool = True, reason: str = "", digits: str = "",
              progress: int = 0) -> None:
        """Tell the layer above (one :class:`CallEvent`; the compiled build calls this with
        every argument given, in order, and fills the event's fields in C)."""
        e = CallEvent.__new__(CallEvent)
        e.kind = kind
        e.call = self
        e.time = now
        e.cause = cause
        e.remote = remote
        e.reason = reason
        e.digits = digits
        e.progress = progress
        self.node._events.append(e)

    def channel_ie(self) -> IE.ChannelId:
        assert self.channel is not None
        return _ie_channel(self.channel, self.exclusive)

    def _cause(self, value: int = -1) -> IE.Cause:
        return _ie_cause(self.cause if value < 0 else value, self.node.location)

    def _released(self, now: float, cause: int, remote: bool, reason: str) -> None:
        if not self.reported:
            self.reported = True
            self.event("released", now, cause, remote, reason, "", 0)

    def _note_progress(self, m: Any, now: float, kind: str) -> None:
        d = 0
        if isinstance(m, _Msg):
            msg = m
            d = msg.progress()
        if d == 1 or d == 8:
            self.inband = True
        self.event(kind, now, 0, True, "", "", d)

    def _take_channel(self, m: Any) -> None:
        ch = 0
        if isinstance(m, _Msg):
            msg = m
            ch = msg.channel()
        if ch:
            self.node.move_channel(self, ch)

    # ---- outgoing call ----------------------------------------------------------------------
    def send_setup(self, m: Any, now: float) -> None:
        self.setups += 1
        self.node._n_setup_tx += 1
        self.send(_M_SETUP, tuple(self.node.setup_ies(self)))

    def repeat_setup(self, m: Any, now: float) -> None:
        """T303 first expiry: SETUP again (Q.931 5.1.1)."""
        self.node._counts["t303_repeat"] += 1
        self.send_setup(m, now)

    def setup_failed(self, m: Any, now: float) -> None:
        """T303 second expiry: RELEASE COMPLETE cause 102, the call is over (5.1.1)."""
        self.send(_M_RELEASE_COMPLETE, (self._cause(102),))
        self._released(now, 102, True, "T303 expired twice: no answer to SETUP")
        self.node.free(self, now)

    def lost_channel(self, m: Any, now: float) -> None:
        """Glare on a B channel, user side: the network's SETUP takes the channel our SETUP
        asked for exclusively; our call is withdrawn (RELEASE COMPLETE 44) so the layer above
        can place it again on another channel (Q.931 5.2.3.1, 5.1.2)."""
        self.send(_M_RELEASE_COMPLETE, (self._cause(44),))
        self._released(now, 44, True, "B channel taken by the network's call (glare)")
        self.node.free(self, now)

    def setup_acked(self, m: Message, now: float) -> None:
        self._take_channel(m)
        self.event("setup_ack", now)

    def proceeding(self, m: Message, now: float) -> None:
        self._take_channel(m)
        self._note_progress(m, now, "proceeding")

    def alerting(self, m: Message, now: float) -> None:
        self._take_channel(m)
        self._note_progress(m, now, "alerting")

    def progress(self, m: Message, now: float) -> None:
        self._take_channel(m)
        self._note_progress(m, now, "progress")

    def connected(self, m: Message, now: float) -> None:
        """CONNECT received: CONNECT ACK where the side/variant sends one (5.1.8 / 5.2.8)."""
        self._take_channel(m)
        if self.node.network or self.node.variant.user_connect_ack:
            self.send(_M_CONNECT_ACKNOWLEDGE)
        self.event("answered", now)

    def connect_request(self, m: Message, now: float) -> None:
        """Network side, CONNECT received (N8, Q.931 5.2.8): answered; the CONNECT ACKNOWLEDGE
        follows at once (``SETUP_COMPLETE``), which makes the call active."""
        self._take_channel(m)
        self.event("answered", now)
        self.m.fire(_REQ_SETUP_COMPLETE, None, now)

    def send_connect_ack(self, m: Any, now: float) -> None:
        self.send(_M_CONNECT_ACKNOWLEDGE)

    def no_answer(self, m: Any, now: float) -> None:
        """T301 expiry (ALERTING received, no CONNECT): DISCONNECT cause 19 (Q.931 5.1.7)."""
        self.cause = 19
        self.send(_M_DISCONNECT, (self._cause(19),))
        self._released(now, 19, True, "T301 expired: no answer after ALERTING")

    def send_info(self, m: Any, now: float) -> None:
        digits, complete = m if isinstance(m, tuple) else (str(m or ""), False)
        self.called += digits
        ies: list[IE.Ie] = [IE.CalledNumber(digits, IE.Ton.UNKNOWN, self.node.variant.plan)] if digits else []
        if complete:
            ies.append(IE.SENDING_COMPLETE)
        self.send(_M_INFORMATION, tuple(ies))

    # ---- incoming call ----------------------------------------------------------------------
    def offered(self, m: Message, now: float) -> None:
        """SETUP received: en-bloc (Sending complete, or overlap receiving off) or overlap."""
        msg = m
        self.called = msg.called_digits()
        self.calling = msg.get(_CallingNumber)
        d = msg.get(_Display) if msg.has(0x28) else None
        self.display = d.text if d else ""
        self.complete = m.sending_complete or not self.node.overlap_receiving \
            or self.node.number_complete(self.called)
        self.event("setup" if self.complete else "overlap", now, 0, True, "", self.called, 0)

    def send_setup_ack(self, m: Any, now: float) -> None:
        self.send(_M_SETUP_ACKNOWLEDGE, tuple(self._first()))

    def _first(self) -> list[IE.Ie]:
        """The channel in our first answer to a SETUP (Q.931 5.2.3.1)."""
        if self.first_response:
            self.first_response = False
            if self.node.network or self.node.variant.channel_id_in_first_response:
                return [_ie_channel(self.channel)] if self.channel else []
        return []

    def more_digits(self, m: Message, now: float) -> None:
        """INFORMATION in overlap receiving (5.2.4): digits added; complete with Sending
        complete or the configured number length."""
        digits = m.called_digits()
        self.called += digits
        done = m.sending_complete or self.node.number_complete(self.called)
        self.event("more_digits", now, 0, True, "", digits, 0)
        if done:
            self.m.fire(_REQ_PROCEEDING, None, now)
            self.complete = True
            self.event("setup", now, 0, True, "", self.called, 0)

    def overlap_timeout(self, m: Any, now: float) -> None:
        """T302 expiry with digits: the number is taken as complete (5.2.4)."""
        self.send(_M_CALL_PROCEEDING, tuple(self._first()))
        self.complete = True
        self.event("setup", now, 0, True, "", self.called, 0)

    def overlap_incomplete(self, m: Any, now: float) -> None:
        """T302 expiry without a usable number: DISCONNECT cause 28 (5.2.4)."""
        self.cause = 28
        self.send(_M_DISCONNECT, (self._cause(28),))
        self._released(now, 28, True, "T302 expired: number incomplete")

    def has_digits(self, m: Any) -> bool:
        return bool(self.called)

    def send_proceeding(self, m: Any, now: float) -> None:
        self.send(_M_CALL_PROCEEDING, tuple(self._first()))

    def send_alerting(self, m: Any, now: float) -> None:
        extra: list[IE.Ie] = [_ie_progress(8, self.node.location)] if self.node.network and m else []
        if extra:
            self.inband = True             # the network gives the tones in band from now on
        self.send(_M_ALERTING, (*self._first(), *extra))

    def send_progress(self, m: Any, now: float) -> None:
        if self.node.network and int(m or 8) in (1, 8):
            self.inband = True
        self.send(_M_PROGRESS, (*self._first(), _ie_progress(int(m or 8), self.node.location)))

    def send_connect(self, m: Any, now: float) -> None:
        self.send(_M_CONNECT, tuple(self._first()))

    def connect_acked(self, m: Message, now: float) -> None:
        self.event("connected", now)

    def reject(self, m: Any, now: float) -> None:
        """Refuse an offered call: RELEASE COMPLETE with the cause (5.2.5.1)."""
        self.cause = int(m or 21)
        self.send(_M_RELEASE_COMPLETE, (self._cause(),))
        self._released(now, self.cause, False, "call rejected")
        self.node.free(self, now)

    # ---- clearing ---------------------------------------------------------------------------
    def send_disconnect(self, m: Any, now: float) -> None:
        self.cause = int(m or 16)
        extra = [_ie_progress(8, self.node.location)] if self.node.network and self.inband else []
        self.send(_M_DISCONNECT, (self._cause(), *extra))

    def timeout_disconnect(self, m: Any, now: float) -> None:
        """T310 / T313 expiry: DISCONNECT cause 102 (5.1.6, 5.2.8)."""
        self.cause = 102
        self.send(_M_DISCONNECT, (self._cause(102),))
        self._released(now, 102, True, f"{m} expired")

    def remote_disconnect(self, m: Message, now: float) -> None:
        """DISCONNECT received (U12 / N11, 5.3.4 / 5.3.3): the layer above is told and the
        RELEASE request follows at once (in-band information after a DISCONNECT is not
        listened to), which leaves the state."""
        self.cause = _cause_of(m)
        self._released(now, self.cause, True, "DISCONNECT received")
        self.m.fire(_REQ_RELEASE, None, now)

    def release_after_disconnect(self, m: Any, now: float) -> None:
        """RELEASE after a DISCONNECT received; T308 runs (5.3.4)."""
        self.releases = 1
        self.send(_M_RELEASE, (self._cause(self.error_cause),) if self.error_cause else ())

    def disconnect_timeout(self, m: Any, now: float) -> None:
        """T305 expiry: RELEASE with the cause of the DISCONNECT (5.3.3 / 5.3.4)."""
        self.releases = 1
        self.send(_M_RELEASE, (self._cause(),))

    def send_release(self, m: Any, now: float) -> None:
        self.releases = 1
        self.send(_M_RELEASE, (self._cause(),))

    def repeat_release(self, m: Any, now: float) -> None:
        self.releases += 1
        self.send(_M_RELEASE, (self._cause(),))

    def remote_release(self, m: Message, now: float) -> None:
        """RELEASE received: RELEASE COMPLETE; the call reference and channel are free (5.3.4)."""
        self.send(_M_RELEASE_COMPLETE, (self._cause(self.error_cause),) if self.error_cause else ())
        self._released(now, _cause_of(m), True, "RELEASE received")
        self.node.free(self, now)

    def released_after_disconnect(self, m: Message, now: float) -> None:
        """RELEASE answering our DISCONNECT: RELEASE COMPLETE; we cleared the call."""
        self.send(_M_RELEASE_COMPLETE)
        self._released(now, self.cause, False, "cleared")
        self.node.free(self, now)

    def release_complete(self, m: Any, now: float) -> None:
        """RELEASE COMPLETE received (or the RELEASE collision of 5.3.5): the call is over."""
        if isinstance(m, _Msg) and m.mtype == _M_RELEASE_COMPLETE and not self.reported:
            self._released(now, _cause_of(m), True, "RELEASE COMPLETE received")
        self._released(now, self.cause, False, "released")
        self.node.free(self, now)

    def release_timeout(self, m: Any, now: float) -> None:
        """T308 second expiry: the call reference is released, the channel kept out of service
        until restarted (5.3.4.3: maintenance); reported."""
        self._released(now, self.cause, False, "T308 expired twice")
        self.node.free(self, now, maintenance=True)

    def link_lost(self, m: Any, now: float) -> None:
        """Data link failure outside the active state: cleared internally (5.8.8)."""
        self._released(now, 41, True, "data link failure")
        self.node.free(self, now)

    def t309_expired(self, m: Any, now: float) -> None:
        self._released(now, 27, True, "T309 expired: data link not re-established")
        self.node.free(self, now)

    def link_back(self, m: Any, now: float) -> None:
        """Data link re-established with the call active: STATUS ENQUIRY (5.8.8 / 5.8.10)."""
        self.enquiries = 1
        self.send(_M_STATUS_ENQUIRY)

    # ---- status (5.8.10, 5.8.11) -------------------------------------------------------------
    def send_status_enquiry(self, m: Any, now: float) -> None:
        self.enquiries = 1
        self.send(_M_STATUS_ENQUIRY)

    def repeat_status_enquiry(self, m: Any, now: float) -> None:
        self.enquiries += 1
        self.send(_M_STATUS_ENQUIRY)

    def enquiry_failed(self, m: Any, now: float) -> None:
        self.cause = 41
        self.send(_M_RELEASE, (self._cause(41),))
        self._released(now, 41, True, "no STATUS after STATUS ENQUIRY")

    def answer_enquiry(self, m: Any, now: float) -> None:
        self.node.send_status(self.cref, not self.ours, 30, int(self.m.state))

    def status_ok(self, m: Message, now: float) -> None:
        self.event("status", now, _cause_of(m), True, "compatible STATUS", "", 0)

    def status_peer_null(self, m: Message, now: float) -> None:
        """STATUS with call state 0: our call is cleared internally (5.8.10)."""
        self._released(now, _cause_of(m), True, "STATUS: the peer has no such call")
        self.node.free(self, now)

    def status_incompatible(self, m: Message, now: float) -> None:
        """STATUS naming a state incompatible with ours: RELEASE cause 101 (5.8.10)."""
        self.cause = 101
        self.node._counts["status_incompatible"] += 1
        self.send(_M_RELEASE, (self._cause(101),))
        self._released(now, 101, True, "STATUS: call state incompatible")

    def peer_null(self, m: Message) -> bool:
        return bool(m.call_state() == 0)

    def incompatible(self, m: Message) -> bool:
        cs = m.call_state()
        state = int(self.m.state)
        return cs >= 0 and cs not in COMPATIBLE.get(state, {state})

    def unexpected(self, m: Any, now: float) -> None:
        """A message not compatible with the call state: STATUS cause 98 (5.8.4)."""
        self.node._counts["unexpected"] += 1
        self.node.send_status(self.cref, not self.ours, 98, int(self.m.state))

    def ignore(self, m: Any, now: float) -> None:
        """Messages the state takes without a change (CONNECT ACK in the active state ...)."""

    def notify(self, m: Message, now: float) -> None:
        self.event("notify", now)

    def information(self, m: Message, now: float) -> None:
        k = m.get(IE.Keypad)
        self.event("information", now, 0, True, "", (k.text if k else "") + m.called_digits(), 0)

    def inband_tones(self, m: Any) -> bool:
        """Network side with tones or announcements in band: our DISCONNECT carries progress
        indicator 8 and T306 runs instead of T305 (Q.931 5.3.4.1)."""
        return self.node.network and self.inband

    def t309_idle(self, m: Any) -> bool:
        return not self.m.is_running("T309")

    def setup_left(self, m: Any) -> bool:
        return self.setups < 2

    def release_left(self, m: Any) -> bool:
        return self.releases < 2

    def enquiry_left(self, m: Any) -> bool:
        return self.enquiries < N322

    # ---- the engine's numbered calls (compiled build: a C switch, no Python call) -------------
    #: the actions and guards of the call tables, by number (:func:`~cti.signaling.engine.bind_actions`)
    ACTIONS = ("send_setup", "repeat_setup", "setup_failed", "lost_channel", "setup_acked", "proceeding",
               "alerting", "progress", "connected", "connect_request", "send_connect_ack", "no_answer",
               "send_info", "offered", "send_setup_ack", "more_digits", "overlap_timeout", "overlap_incomplete",
               "send_proceeding", "send_alerting", "send_progress", "send_connect", "connect_acked", "reject",
               "send_disconnect", "timeout_disconnect", "remote_disconnect", "release_after_disconnect", "disconnect_timeout", "send_release",
               "repeat_release", "remote_release", "released_after_disconnect", "release_complete", "release_timeout", "link_lost",
               "t309_expired", "link_back", "send_status_enquiry", "repeat_status_enquiry", "enquiry_failed", "answer_enquiry",
               "status_ok", "status_peer_null", "status_incompatible", "unexpected", "ignore", "notify",
               "information", "has_digits", "peer_null", "incompatible", "inband_tones", "t309_idle",
               "setup_left", "release_left", "enquiry_left")

    def dispatch(self, index: int, message: Any, now: Any) -> int:
        """Run action number ``index`` of :data:`ACTIONS` (the compiled engine calls this, a C
        method, instead of the table's callable)."""
        t: float = now
        m = message
        if index == 0:
            self.send_setup(m, t)
        elif index == 1:
            self.repeat_setup(m, t)
        elif index == 2:
            self.setup_failed(m, t)
        elif index == 3:
            self.lost_channel(m, t)
        elif index == 4:
            self.setup_acked(m, t)
        elif index == 5:
            self.proceeding(m, t)
        elif index == 6:
            self.alerting(m, t)
        elif index == 7:
            self.progress(m, t)
        elif index == 8:
            self.connected(m, t)
        elif index == 9:
            self.connect_request(m, t)
        elif index == 10:
            self.send_connect_ack(m, t)
        elif index == 11:
            self.no_answer(m, t)
        elif index == 12:
            self.send_info(m, t)
        elif index == 13:
            self.offered(m, t)
        elif index == 14:
            self.send_setup_ack(m, t)
        elif index == 15:
            self.more_digits(m, t)
        elif index == 16:
            self.overlap_timeout(m, t)
        elif index == 17:
            self.overlap_incomplete(m, t)
        elif index == 18:
            self.send_proceeding(m, t)
        elif index == 19:
            self.send_alerting(m, t)
        elif index == 20:
            self.send_progress(m, t)
        elif index == 21:
            self.send_connect(m, t)
        elif index == 22:
            self.connect_acked(m, t)
        elif index == 23:
            self.reject(m, t)
        elif index == 24:
            self.send_disconnect(m, t)
        elif index == 25:
            self.timeout_disconnect(m, t)
        elif index == 26:
            self.remote_disconnect(m, t)
        elif index == 27:
            self.release_after_disconnect(m, t)
        elif index == 28:
            self.disconnect_timeout(m, t)
        elif index == 29:
            self.send_release(m, t)
        elif index == 30:
            self.repeat_release(m, t)
        elif index == 31:
            self.remote_release(m, t)
        elif index == 32:
            self.released_after_disconnect(m, t)
        elif index == 33:
            self.release_complete(m, t)
        elif index == 34:
            self.release_timeout(m, t)
        elif index == 35:
            self.link_lost(m, t)
        elif index == 36:
            self.t309_expired(m, t)
        elif index == 37:
            self.link_back(m, t)
        elif index == 38:
            self.send_status_enquiry(m, t)
        elif index == 39:
            self.repeat_status_enquiry(m, t)
        elif index == 40:
            self.enquiry_failed(m, t)
        elif index == 41:
            self.answer_enquiry(m, t)
        elif index == 42:
            self.status_ok(m, t)
        elif index == 43:
            self.status_peer_null(m, t)
        elif index == 44:
            self.status_incompatible(m, t)
        elif index == 45:
            self.unexpected(m, t)
        elif index == 46:
            self.ignore(m, t)
        elif index == 47:
            self.notify(m, t)
        elif index == 48:
            self.information(m, t)
        else:
            raise IndexError(f"no action number {index}")
        return 0

    def check(self, index: int, message: Any) -> int:
        """Ask guard number ``index`` of :data:`ACTIONS`."""
        m = message
        if index == 49:
            return 1 if self.has_digits(m) else 0
        elif index == 50:
            return 1 if self.peer_null(m) else 0
        elif index == 51:
            return 1 if self.incompatible(m) else 0
        elif index == 52:
            return 1 if self.inband_tones(m) else 0
        elif index == 53:
            return 1 if self.t309_idle(m) else 0
        elif index == 54:
            return 1 if self.setup_left(m) else 0
        elif index == 55:
            return 1 if self.release_left(m) else 0
        elif index == 56:
            return 1 if self.enquiry_left(m) else 0
        raise IndexError(f"no guard number {index}")



class Q931:
    """Layer 3 of one interface. ``network``: our side; ``channels``: the B channels (E1
    timeslots) this interface carries."""

    def __init__(self, network: bool = False, channels: tuple[int, ...] = E1_B_CHANNELS, *,
                 variant: str | Variant = "etsi", timers: dict[str, float] | None = None,
                 overlap_receiving: bool = False, number_length: int | None = None,
                 location: int | None = None, trace: int = 0) -> None:
        self.network = network
        self.variant = variant if isinstance(variant, Variant) else variant_named(variant)
        self.table = NETWORK_TABLE if network else USER_TABLE
        self.channels = tuple(channels)
        for c in self.channels:
            IE.bchannel_of_timeslot(c)
        self._timers = {**dict(self.variant.timers), **(timers or {})}
        for n, v in self._timers.items():
            if n not in Q931_TIMERS:
                raise ValueError(f"unknown Q.931 timer {n!r}; known: {', '.join(Q931_TIMERS)}")
            Q931_TIMERS[n].check(float(v))
        #: the configured values of the call table's timers, handed to every call's machine
        self._call_timers = {n: v for n, v in self._timers.items() if n in self.table.timers} or None
        self.overlap_receiving = overlap_receiving
        self.number_length = number_length
        #: cause location we send: 2 public network serving the local user / 0 user (Q.850 2.2.5)
        self.location = (2 if network else 0) if location is None else location
        self.trace = trace
        #: the calls by call reference: the value, with 0x8000 added for the calls we allocated
        #: (the flag of the messages the other side sends for them)
        self.calls: dict[int, PriCall] = {}
        #: the running timers of every call in one heap (the engine's per-stack queue)
        self.timers = _Queue()
        self.by_channel: dict[int, PriCall] = {}
        self.maintenance: set[int] = set()
        self.restarting: set[int] = set()
        self.restart = Restart(self)
        self._next_cref = 1
        self._out: list[bytes] = []
        #: freed call records (with their machines) for reuse, oldest first (:meth:`_new_call`)
        self._pool: list[PriCall] = []
        self._calling: dict[str, IE.CallingNumber] = {}
        #: called with each message layer 3 hands to the data link (tests watch it so), or None
        self.tap: Any = None
        self._events: list[CallEvent] = []
        self.iface_events: list[InterfaceEvent] = []
        self.link_up = False
        #: the counters of :attr:`counters` but the four counted per message, which are C ints
        self._counts: dict[str, int] = {k: 0 for k in (
            "t303_repeat", "ignored", "status_tx", "release_complete_tx", "unexpected", "status_incompatible",
            "glare", "restart_rx", "restart_tx")}
        self._n_rx = self._n_tx = self._n_setup_tx = self._n_setup_rx = 0

    # ---- plumbing ---------------------------------------------------------------------------
    @property
    def counters(self) -> dict[str, int]:
        """Messages received / sent and the procedures counted (a copy, read-only)."""
        return {"rx": self._n_rx, "tx": self._n_tx, "setup_tx": self._n_setup_tx, "setup_rx": self._n_setup_rx,
                **self._counts}

    def number_complete(self, digits: str) -> bool:
        """Overlap receiving: the number is complete at ``number_length`` digits."""
        return self.number_length is not None and len(digits) >= self.number_length

    def timer_values(self, *names: str) -> dict[str, float]:
        return {n: v for n, v in self._timers.items() if not names or n in names}

    def new_machine(self, call: PriCall) -> Machine[PriCall]:
        m: Machine[PriCall] = _Machine(self.table, call, name=f"cref {call.cref}", timer_values=self._call_timers,
                                       trace=self.trace, queue=self.timers)
        return m

    def send_message(self, m: Message) -> None:
        self.send_parts(m.mtype, m.cref, m.flag, m.ies)

    def send_parts(self, mtype: int, cref: int, flag: bool, ies: Sequence[IE.Ie]) -> None:
        """Send the message of these parts (the call actions build no :class:`Message`)."""
        self._n_tx += 1
        if mtype == 0x7D:                     # STATUS
            self._counts["status_tx"] += 1
        elif mtype == 0x5A:                   # RELEASE COMPLETE
            self._counts["release_complete_tx"] += 1
        if cython.compiled:
            self._out.append(c_encode_parts(mtype, cref, flag, ies))
        else:
            self._out.append(encode_parts(mtype, cref, flag, ies))

    def send_status(self, cref: int, flag: bool, cause: int, state: int) -> None:
        self.send_parts(_M_STATUS, cref, flag, (_ie_cause(cause, self.location), _CallState(state)))

    def call_event(self, e: CallEvent) -> None:
        self._events.append(e)

    def fire(self, call: PriCall, event: Any, msg: Any, now: float) -> None:
        call.m.fire(event, msg, now)

    def data_to_send(self, now: float) -> list[bytes]:
        out, self._out = self._out, []
        if self.tap is not None:
            for data in out:
                self.tap(data)
        return out

    def events(self) -> list[Any]:
        ev: list[Any] = self.iface_events + self._events
        self.iface_events, self._events = [], []
        return ev

    def timer_deadline(self) -> float | None:
        best: float | None = self.restart.m.deadline()
        d = self.timers.deadline()
        return d if best is None or (d is not None and d < best) else best

    def handle_timer(self, now: float) -> None:
        self.timers.handle_timer(now)
        self.restart.m.handle_timer(now)

    # ---- channels ---------------------------------------------------------------------------
    def free_channels(self) -> list[int]:
        busy = set(self.by_channel) | self.maintenance | self.restarting
        return [c for c in self.channels if c not in busy]

    def allocate(self, avoid: int | None = None) -> int | None:
        """A free B channel: the network hunts from the top, the user from the bottom, so that
        the two sides meet (glare) as late as possible."""
        free = [c for c in self.free_channels() if c != avoid]
        if not free:
            return None
        return free[len(free) - 1] if self.network else free[0]

    def move_channel(self, call: PriCall, ch: int) -> None:
        """The peer named ``ch`` for ``call`` (an answer to our SETUP, 5.1.2)."""
        if call.channel == ch:
            return
        holder = self.by_channel.get(ch)
        if ch not in self.channels or (holder is not None and holder is not call):
            return                           # 5.8: a wrong channel; the call goes on on its own
        if call.channel is not None and self.by_channel.get(call.channel) is call:
            del self.by_channel[call.channel]
        call.channel = ch
        self.by_channel[ch] = call

    def free(self, call: PriCall, now: float, maintenance: bool = False) -> None:
        """The call reference is over (the last thing an action does): the call leaves the
        interface, and its machine lets go of it so that the two are freed by reference
        counting, not by the cyclic garbage collector (a fifth of the CPU of a busy span)."""
        self.calls.pop(call.cref | 0x8000 if call.ours else call.cref, None)
        call.m.release()               # its timers end with it (a later one must not fire)
        if call.channel is not None and self.by_channel.get(call.channel) is call:
            del self.by_channel[call.channel]
            if maintenance:
                self.maintenance.add(call.channel)
        if not self.trace:             # (a traced machine keeps its call's transitions)
            pool = self._pool
            if len(pool) >= _POOL_MAX:
                del pool[0]
            pool.append(call)

    def _new_call(self, cref: int, ours: bool, now: float) -> PriCall:
        """A call record for a new call reference: a freed one that nothing outside the pool
        holds any more (the layer above has let go of it and of its events), reset with its
        machine, or a new one. Only the last few freed are looked at."""
        pool = self._pool
        n = len(pool)
        i = n - 1
        while i >= 0 and i >= n - 4:
            c = pool[i]
            if (Py_REFCNT(c) if cython.compiled else sys.getrefcount(c)) <= _SOLE:
                pool[i] = pool[n - 1]
                pool.pop()
                c._reset(cref, ours, now)
                m = c.m
                m.reset()
                m.ctx = c
                m.name = f"cref {cref}"
                return c
            i -= 1
        return PriCall(self, cref, ours, now)

    def restarted(self, channels: tuple[int, ...], now: float) -> None:
        chans = channels or self.channels
        for ch in chans:
            self.maintenance.discard(ch)
            self.restarting.discard(ch)

    # ---- requests from above ---------------------------------------------------------------
    def _new_cref(self) -> int:
        for _ in range(0x7FFF):
            cref = self._next_cref
            self._next_cref = cref % 0x7FFF + 1
            if cref | 0x8000 not in self.calls:
                return cref
        raise LocalProtocolError("no free call reference")

    def setup(self, called: str, now: float, calling: IE.CallingNumber | str | None = None, *,
              channel: int | None = None, exclusive: bool = True, overlap: bool = False,
              called_ton: int = IE.Ton.UNKNOWN, display: str = "", hlc: int | None = None) -> PriCall:
        """Place a call (5.1.1): SETUP with the numbers; ``overlap`` sends the digits given
        now without Sending complete and the rest with :meth:`information` (5.1.3)."""
        ch = self.allocate() if channel is None else channel
        if ch is None:
            raise LocalProtocolError("no free B channel")
        if ch not in self.channels or ch in self.by_channel or ch in self.maintenance or ch in self.restarting:
            raise LocalProtocolError(f"B channel TS{ch} is not free")
        call = self._new_call(self._new_cref(), True, now)
        call.channel, call.exclusive, call.called, call.complete = ch, exclusive, called, not overlap
        if isinstance(calling, str):
            calling = self._calling_number(calling)
        call.calling = calling
        call.display = display
        call.called_ton, call.hlc = called_ton, hlc
        self.calls[call.cref | 0x8000] = call
        self.by_channel[ch] = call
        call.m.fire(_REQ_SETUP, None, now)
        return call

    def _calling_number(self, digits: str) -> IE.CallingNumber:
        """Our calling number element for ``digits`` given as text: one element per number (a
        site sends from a few numbers again and again; elements are immutable and keep their
        octets, so it is not encoded again), at most 64 kept."""
        known = self._calling
        e = known.get(digits)
        if e is None:
            if len(known) >= 64:
                known.clear()
            e = known[digits] = IE.CallingNumber(digits, IE.Ton.UNKNOWN, self.variant.plan, IE.Presentation.ALLOWED,
                                                 IE.Screening.USER_NOT_SCREENED if not self.network
                                                 else IE.Screening.NETWORK_PROVIDED)
        return e

    def setup_ies(self, call: PriCall) -> list[IE.Ie]:
        ies: list[Any] = [_SPEECH, call.channel_ie()]
        if call.display and (self.network or self.variant.display_to_network):
            ies.append(IE.Display(call.display))
        if call.calling is not None:
            ies.append(call.calling)
        if call.called or call.complete:
            if cython.compiled:                      # its octets, no element object (new every call)
                ies.append(c_number_wire(0x70, call.called, call.called_ton, self.variant.plan))
            else:
                ies.append(number_wire(0x70, call.called, call.called_ton, self.variant.plan))
        if call.hlc is not None:
            ies.append(IE.Hlc(call.hlc))
        if call.complete and self.variant.sending_complete:
            ies.append(_SENDING_COMPLETE)
        return ies

    def _req(self, call: PriCall, req: Req, arg: Any, now: float) -> int:
        if call.m.state == 0 or (call.cref | 0x8000 if call.ours else call.cref) not in self.calls:
            raise LocalProtocolError(f"{call!r} is over")
        if not call.m.fire_if(req, arg, now):
            raise LocalProtocolError(f"{req.value} not allowed in {call.m.state.name}")
        return 0

    def information(self, call: PriCall, digits: str, now: float, complete: bool = False) -> None:
        self._req(call, _REQ_INFO, (digits, complete), now)

    def more_info(self, call: PriCall, now: float) -> None:
        self._req(call, _REQ_MORE_INFO, None, now)

    def proceeding(self, call: PriCall, now: float) -> None:
        self._req(call, _REQ_PROCEEDING, None, now)

    def alert(self, call: PriCall, now: float, inband: bool = False) -> None:
        self._req(call, _REQ_ALERTING, inband, now)

    def progress(self, call: PriCall, now: float, description: int = 8) -> None:
        self._req(call, _REQ_PROGRESS, description, now)

    def answer(self, call: PriCall, now: float) -> None:
        self._req(call, _REQ_SETUP_RESPONSE, None, now)

    def release(self, call: PriCall, cause: int, now: float) -> None:
        """Clear (DISCONNECT) or refuse (RELEASE COMPLETE) the call."""
        if (call.cref | 0x8000 if call.ours else call.cref) not in self.calls:
            raise LocalProtocolError(f"{call!r} is over")
        if not call.m.fire_if(_REQ_REJECT, cause, now):
            self._req(call, _REQ_DISCONNECT, cause, now)

    def status_enquiry(self, call: PriCall, now: float) -> None:
        self._req(call, _REQ_STATUS_ENQUIRY, None, now)

    def restart_channels(self, channels: tuple[int, ...] | None, now: float) -> None:
        """RESTART of ``channels`` (None: the whole interface), 5.5.1: their calls end at once."""
        chans = tuple(channels or ())
        for ch in chans or self.channels:
            self._clear_channel(ch, now, "RESTART sent")
        self.restarting |= set(chans or self.channels)
        self.restart.channels = chans
        self._counts["restart_tx"] += 1
        self.restart.m.reset()
        self.restart.m.fire(RestartEv.REQUEST, None, now)

    def _clear_channel(self, ch: int, now: float, why: str) -> int:
        call = self.by_channel.get(ch)
        if call is not None:
            call._released(now, 41, True, why)
            call.m.reset()
            self.free(call, now)

    # ---- data link ---------------------------------------------------------------------------
        return 0
    def link_established(self, now: float) -> None:
        first = not self.link_up
        self.link_up = True
        for c in list(self.calls.values()):
            c.m.fire(Ev.DL_ESTABLISHED, None, now)
        if first and self.variant.restart_at_link_up:
            self.restart_channels(None, now)

    def link_failed(self, now: float) -> None:
        self.link_up = False
        self._out.clear()
        for c in list(self.calls.values()):
            c.m.fire(Ev.DL_FAILURE, None, now)

    # ---- messages from the peer ------------------------------------------------------------
    def receive(self, data: bytes, now: float) -> None:
        self._n_rx += 1
        try:
            if cython.compiled:
                m = c_decode(data)               # a C call: message_c, cimported
            else:
                m = _decode(data)
        except _MessageError:
            self._counts["ignored"] += 1          # 5.8.1 - 5.8.3.1, 5.8.5: ignored
            return
        if m.cref == GLOBAL_CREF:
            self._global(m, now)
            return
        cref: int = m.cref                           # flag set: toward the side that allocated it
        call = self.calls.get(cref | 0x8000 if m.flag else cref)
        if call is None:
            self._unknown_cref(m, now)
            return
        self._for_call(call, m, now)

    def _problem(self, m: Message) -> tuple[int, bool] | None:
        """(cause, act on the message anyway) for a message with element errors (5.8.6, 5.8.7):
        the codec reads it from the octets (:meth:`~.message.Message.problem`)."""
        problem: tuple[int, bool] | None = m.problem(not self.network)
        return problem

    def _for_call(self, call: PriCall, m: Message, now: float) -> int:
        mt = _MT_OF[m.mtype & 0x7F]
        if mt is None:
            self.send_status(call.cref, not call.ours, 97, int(call.m.state))   # 5.8.4
            return 0
        problem = self._problem(m) if _CHECKED[m.mtype & 0x7F] or not m.clean else None
        if problem is not None:
            cause, act = problem
            if mt is _DISCONNECT or mt is _RELEASE:
                call.error_cause = cause            # in our RELEASE / RELEASE COMPLETE (5.8.6.1)
            elif mt is _RELEASE_COMPLETE:
                pass
            else:
                self.send_status(call.cref, not call.ours, cause, int(call.m.state))
                if not act:
                    return 0
        call.m.fire(mt, m, now)
        return 0

    def _unknown_cref(self, m: Message, now: float) -> int:
        """Q.931 5.8.3.2: a call reference we do not know."""
        mt = m.mtype
        if mt == 0x05 and not m.flag:         # SETUP
            self._incoming(m, now)
        elif mt == _M_RELEASE:
            self._release_complete(m.cref, not m.flag, 81)
        elif mt == _M_STATUS_ENQUIRY:
            self.send_status(m.cref, not m.flag, 30, 0)
        elif mt == _M_STATUS:
            if m.call_state() > 0:
                self._release_complete(m.cref, not m.flag, 101)
        elif mt == _M_RELEASE_COMPLETE or mt == _M_SETUP:  # noqa: SIM109 (two C int compares, no tuple)
            self._counts["ignored"] += 1
        else:
            self._release_complete(m.cref, not m.flag, 81)
        return 0

    def _release_complete(self, cref: int, flag: bool, cause: int) -> int:
        self.send_parts(_M_RELEASE_COMPLETE, cref, flag, (_ie_cause(cause, self.location),))
        return 0

    def _incoming(self, m: Message, now: float) -> int:
        self._n_setup_rx += 1
        problem = self._problem(m)
        if problem is not None and not problem[1]:
            self._release_complete(m.cref, True, problem[0])   # 5.8.6: SETUP refused
            return 0
        ch, cause = self._channel_for(m, now)
        if ch is None:
            self._release_complete(m.cref, True, cause)
            return 0
        call = self._new_call(m.cref, False, now)
        call.channel = ch
        self.calls[m.cref] = call
        self.by_channel[ch] = call
        if problem is not None:
            self.send_status(m.cref, True, problem[0], 0)
        call.m.fire(_SETUP, m, now)
        return 0

    def _channel_for(self, m: Message, now: float) -> tuple[int | None, int]:
        """The B channel for an offered call (5.2.3), with glare on a B channel settled: the
        network's call keeps the channel; the user's call gets another (preferred) or is
        refused with cause 44 (exclusive). (channel, cause when None)."""
        want = m.channel()
        if not want:
            ch = self.allocate()
            return ch, 34
        if want not in self.channels:
            return None, 82                               # identified channel does not exist
        holder = self.by_channel.get(want)
        if holder is None and want not in self.maintenance and want not in self.restarting:
            return want, 0
        if holder is not None and holder.ours and holder.m.state in (1, 6):
            self._counts["glare"] += 1
            if not self.network:                          # the network's SETUP wins the channel
                holder.glare = True
                holder.glare_channel = want
                holder.m.fire(Ev.GLARE, None, now)          # withdrawn: RELEASE COMPLETE 44
                return want, 0
        ci = m.get(_ChannelId)
        if ci is not None and ci.exclusive:
            return None, 44                               # requested channel not available
        ch = self.allocate()
        return ch, 34

    def _global(self, m: Message, now: float) -> int:
        """The global call reference: RESTART / RESTART ACKNOWLEDGE (5.5); others: STATUS 81."""
        if m.mtype == _M_RESTART:
            self._peer_restart(m, now)
        elif m.mtype == _M_RESTART_ACKNOWLEDGE:
            self.restart.m.fire(MT.RESTART_ACKNOWLEDGE, m, now)
        elif m.mtype == _M_STATUS:
            pass
        else:
            self.send_status(0, not m.flag, 81, 0)
        return 0

    def _peer_restart(self, m: Message, now: float) -> int:
        """RESTART received (5.5.2): the calls on the channels end, RESTART ACKNOWLEDGE."""
        self._counts["restart_rx"] += 1
        ri = m.get(IE.RestartIndicator)
        ci = m.get(_ChannelId)
        if ri is None:
            self.send_status(0, True, 96, 0)
            return 0
        if ri.cls_ == IE.RestartClass.INDICATED and (ci is None or not ci.channels):
            self.send_status(0, True, 96 if ci is None else 100, 0)
            return 0
        chans = tuple(ci.channels) if ri.cls_ == IE.RestartClass.INDICATED and ci else ()
        for ch in chans or self.channels:
            self._clear_channel(ch, now, "RESTART received")
            self.maintenance.discard(ch)
        ies: list[IE.Ie] = [ri] + ([IE.ChannelId(chans, True)] if chans else [])
        self.send_message(Message(MT.RESTART_ACKNOWLEDGE, 0, True, ies))
        self.iface_events.append(InterfaceEvent("restart", now, chans))
        return 0


def _cause_of(m: Any) -> int:
    """The cause value of a received message (16, normal clearing, when it has none)."""
    if isinstance(m, _Msg):
        msg = m
        return int(msg.cause_value(16))
    return 16


def tables() -> tuple[Table, Table]:
    """(user side, network side) call tables, built from :mod:`.calltable`'s rows with this
    build's :class:`PriCall` as the context (its methods are the actions)."""
    return USER_TABLE, NETWORK_TABLE


USER_TABLE = build("user", PriCall)
NETWORK_TABLE = build("network", PriCall)
if _COMPILED and _machine_c is not None:     # the compiled engine calls the actions by number
    _machine_c.bind_actions(USER_TABLE, PriCall)
    _machine_c.bind_actions(NETWORK_TABLE, PriCall)
