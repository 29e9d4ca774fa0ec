# cython: annotation_typing=False
"""One Q.931 call reference of a PRI interface: :class:`PriCall` (its methods are the actions
and guards of the call tables of :mod:`.calltable`, Q.931 5.1-5.3, 5.8, called by the engine by
number in the compiled build), :class:`CallEvent` (what a call tells the layer above) and
:class:`Node`, what a call needs of its interface: the interface's fields, its messages out,
its B-channel map and the pool of freed call records (:class:`~.q931.Q931`, the interface's
message dispatch, requests and restart, is a Node).

One source, two builds: this module runs as it is (the twin, ``BOARDCORE_NO_EXTENSIONS=1``)
and setup.py compiles it in Cython's pure-Python mode with ``call_c.pxd`` as ``call_c``
(:mod:`.call` exports the live classes), as the data link (``link_c``), the engine
(``machine_c``) and ISUP call control (``control_c``) are built. Written by hand because it is
the per-message cost of every PRI call: the compiled build holds a call's and an interface's
fields in C, runs the actions as C methods (:meth:`PriCall.dispatch`), reads decoded messages
and encodes through the codec's C functions, and fires the tables' events from constants; the
call tables stay the whole state machine. A freed call record goes back to a small pool with
its machine (:meth:`Node.free`) and is taken again by the next call when nothing else holds it
any more.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from _boardcore import _select
from cti.signaling.engine import Machine

from . import ie as IE
from .message import MT, Message, encode_parts, number_wire
from .states import COMPATIBLE, Req
from .timers import N322

try:
    import cython
    _COMPILED = bool(cython.compiled)
except ImportError:      # no Cython: this module runs as the twin
    _COMPILED = False
if not cython.compiled:  # the bases of PriCall and Node (the compiled build cimports the C classes)
    from cti.signaling.machine_py import Actions

    from .link_py import Upper
if not cython.compiled and TYPE_CHECKING:  # the C functions call_c.pxd cimports, for the type checker
    from sys import getrefcount as Py_REFCNT

    from cti.signaling.engine import Table, TimerQueue

    from .message_py import encode_parts as c_encode_parts, number_wire as c_number_wire
    from .variants import Variant
#: the machine class: this build types it as the compiled engine, so with the twins forced on
#: (tests comparing the two builds in one process) it takes that engine all the same
_Machine: Any = Machine
#: the codec's message class taken so too: the compiled build reads a decoded message's fields
#: and accessors as C (a message typed as ``message_c.Message``)
_Msg: Any = Message
if _COMPILED:
    _machine_c = _select.compiled("cti.signaling.machine")
    if _machine_c is not None:
        _Machine = _machine_c.MachineCore
    _message_c = _select.compiled("cti.signaling.pri.message")
    if _message_c is not None:
        _Msg = _message_c.Message

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
_M_SETUP = int(MT.SETUP)
_M_SETUP_ACKNOWLEDGE = int(MT.SETUP_ACKNOWLEDGE)
_M_STATUS = int(MT.STATUS)
_M_STATUS_ENQUIRY = int(MT.STATUS_ENQUIRY)
# the events and element classes of the per-message path, as constants (no module and class
# attribute look-up per use in the compiled build)
_SETUP, _RELEASE_COMPLETE, _RELEASE, _DISCONNECT = MT.SETUP, MT.RELEASE_COMPLETE, MT.RELEASE, MT.DISCONNECT
_REQ_RELEASE, _REQ_PROCEEDING, _REQ_SETUP_COMPLETE = Req.RELEASE, Req.PROCEEDING, Req.SETUP_COMPLETE
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


class Node(Upper):
    """What a call needs of its interface (:class:`~.q931.Q931` is one): the interface's
    fields, its messages out, its channel map, and the pool of freed call records. It is the
    data link's layer above (:class:`~.link_py.Upper`): the link hands it each message received
    in sequence, a C call in the compiled build."""

    if not cython.compiled and TYPE_CHECKING:   # (the fields, set by Q931; call_c.pxd declares them)
        network: bool
        overlap_receiving: bool
        variant: Variant
        table: Table
        number_length: int | None
        location: int
        trace: int
        _call_timers: dict[str, float] | None
        timers: TimerQueue
        channels: tuple[int, ...]
        calls: dict[int, PriCall]
        by_channel: dict[int, PriCall]
        maintenance: set[int]
        _out: list[bytes]
        _events: list[CallEvent]
        _counts: dict[str, int]
        _n_rx: int
        _n_tx: int
        _n_setup_tx: int
        _n_setup_rx: int
        _pool: list[PriCall]

    @property
    def counters(self) -> dict[str, int]:
        """Messages received / sent and the procedures counted (a copy, read-only)."""
        return {"rx": self._n_rx, "tx": self._n_tx, "setup_tx": self._n_setup_tx, "setup_rx": self._n_setup_rx,
                **self._counts}

    def number_complete(self, digits: str) -> bool:
        """Overlap receiving: the number is complete at ``number_length`` digits."""
        return self.number_length is not None and len(digits) >= self.number_length

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


class PriCall(Actions):
    """One call reference and its machine; the actions of the tables are its methods."""

    def __init__(self, node: Node, cref: int, ours: bool, now: float) -> None:
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


def _cause_of(m: Any) -> int:
    """The cause value of a received message (16, normal clearing, when it has none)."""
    if isinstance(m, _Msg):
        msg = m
        return int(msg.cause_value(16))
    return 16
