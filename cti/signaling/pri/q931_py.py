# cython: annotation_typing=False
"""Q.931 layer 3 of one PRI interface: :class:`Q931`, a :class:`~.call_py.Node` (call
references, B-channel allocation and glare, unknown call references, the 5.8 answers, RESTART
received; our RESTART is :mod:`.restart`; the calls, :class:`~.call_py.PriCall`, are in
:mod:`.call`). Sans-IO: ``receive(octets, now)`` takes a layer 3 message from the data link,
``data_to_send(now)`` gives the messages to hand to it, ``events()`` the call and interface
events; requests (``setup``, ``alert``, ``answer``, ``release`` ...) are methods.

One source, two builds: this module runs as it is (the twin, ``BOARDCORE_NO_EXTENSIONS=1``, with
the twin of :mod:`.call`) and setup.py compiles it in Cython's pure-Python mode with
``q931_c.pxd`` as ``q931_c`` (:mod:`.q931` exports the live classes), cimporting ``call_c``:
a message received is decoded by the codec's C function, looked up and handed to its call's
machine without a Python call.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from _boardcore import _select
from cti.signaling.engine import Machine, Table, TimerQueue
from cti.signaling.errors import LocalProtocolError

from . import ie as IE
from .calltable import build
from .message import GLOBAL_CREF, MANDATORY, MANDATORY_FROM_NETWORK, MT, Message, MessageError, decode
from .restart import Restart, RestartEv
from .states import Ev, InterfaceEvent, Req
from .timers import Q931_TIMERS
from .variants import Variant, variant as variant_named

try:
    import cython
    _COMPILED = bool(cython.compiled)
except ImportError:      # no Cython: this module runs as the twin
    _COMPILED = False
if not cython.compiled:  # the twin's calls (the compiled build cimports call_c's classes)
    from .call_py import CallEvent, Node, PriCall
if not cython.compiled and TYPE_CHECKING:  # the C function q931_c.pxd cimports, for the type checker
    from .message_py import decode as c_decode
#: the queue class: this build types it as the compiled engine's, so with the twins forced on
#: (tests comparing the two builds in one process) it takes that engine all the same
_Queue: Any = TimerQueue
_Machine: Any = Machine
#: the codec's decoder and its error, taken so too (the compiled build decodes in C)
_decode: Any = decode
_MessageError: Any = MessageError
if _COMPILED:
    _machine_c = _select.compiled("cti.signaling.machine")
    if _machine_c is not None:
        _Machine, _Queue = _machine_c.MachineCore, _machine_c.TimerQueue
    _message_c = _select.compiled("cti.signaling.pri.message")
    if _message_c is not None:
        _decode, _MessageError = _message_c.decode, _message_c.MessageError

E1_B_CHANNELS = tuple(range(1, 16)) + tuple(range(17, 32))
#: message type octet -> MT, without calling the enum per message
_MT_OF: list[MT | None] = [None] * 128
for _t in MT:
    _MT_OF[int(_t) & 0x7F] = _t
#: message types with mandatory elements (the others can only have element errors)
_CHECKED = bytes(1 if any(int(t) == i for t in (*MANDATORY, *MANDATORY_FROM_NETWORK)) else 0 for i in range(128))
#: message type octets as C ints (an ``MT.X`` look-up goes through the enum's metaclass)
_M_RELEASE, _M_RELEASE_COMPLETE, _M_SETUP, _M_STATUS = (int(MT.RELEASE), int(MT.RELEASE_COMPLETE), int(MT.SETUP),
                                                         int(MT.STATUS))
_M_STATUS_ENQUIRY, _M_RESTART, _M_RESTART_ACKNOWLEDGE = (int(MT.STATUS_ENQUIRY), int(MT.RESTART),
                                                         int(MT.RESTART_ACKNOWLEDGE))
# the events and element classes of the per-message path, as constants
_SETUP, _RELEASE_COMPLETE, _RELEASE, _DISCONNECT = MT.SETUP, MT.RELEASE_COMPLETE, MT.RELEASE, MT.DISCONNECT
_REQ_SETUP, _REQ_REJECT, _REQ_DISCONNECT = Req.SETUP, Req.REJECT, Req.DISCONNECT
_REQ_INFO, _REQ_MORE_INFO, _REQ_ALERTING, _REQ_PROGRESS = Req.INFO, Req.MORE_INFO, Req.ALERTING, Req.PROGRESS
_REQ_SETUP_RESPONSE, _REQ_STATUS_ENQUIRY, _REQ_PROCEEDING = Req.SETUP_RESPONSE, Req.STATUS_ENQUIRY, Req.PROCEEDING
_ChannelId, _CallState, _ie_cause = IE.ChannelId, IE.CallState, IE.cause


class Q931(Node):
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
    def timer_values(self, *names: str) -> dict[str, float]:
        return {n: v for n, v in self._timers.items() if not names or n in names}

    def new_machine(self, call: PriCall) -> Machine[PriCall]:
        m: Machine[PriCall] = _Machine(self.table, call, name=f"cref {call.cref}", timer_values=self._call_timers,
                                       trace=self.trace, queue=self.timers)
        return m

    def send_message(self, m: Message) -> None:
        self.send_parts(m.mtype, m.cref, m.flag, m.ies)

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
    def data_ind(self, info: bytes, now: float) -> int:
        """DL-DATA-INDICATION from the data link (this interface is its ``upper``)."""
        self.receive(info, now)
        return 0

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


def tables() -> tuple[Table, Table]:
    """(user side, network side) call tables, built from :mod:`.calltable`'s rows with this
    build's :class:`PriCall` as the context (its methods are the actions)."""
    return USER_TABLE, NETWORK_TABLE


USER_TABLE = build("user", PriCall)
NETWORK_TABLE = build("network", PriCall)
if _COMPILED and _machine_c is not None:     # the compiled engine calls the actions by number
    _machine_c.bind_actions(USER_TABLE, PriCall)
    _machine_c.bind_actions(NETWORK_TABLE, PriCall)
