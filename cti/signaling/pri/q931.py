"""Q.931 layer 3 of one PRI interface: call references, B-channel allocation (glare), the
restart procedure (5.5) and the handling of bad messages (5.8), around the per-call tables
of :mod:`.calltable` (our RESTART: :mod:`.restart`). Sans-IO: ``receive(octets, now)`` takes a layer 3 message from the data
link, ``data_to_send(now)`` gives the messages to hand to it, ``events()`` the call and
interface events; requests (``setup``, ``alert``, ``answer``, ``release`` ...) are methods.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cti.signaling.engine import Machine, TimerQueue
from cti.signaling.errors import LocalProtocolError

from . import ie as IE
from .call import PriCall
from .calltable import NETWORK_TABLE, USER_TABLE
from .message import (GLOBAL_CREF, MANDATORY, MANDATORY_FROM_NETWORK, MT, Message, MessageError, decode, encode_parts,
                      mandatory_invalid, missing)
from .restart import Restart, RestartEv
from .states import CallEvent, Ev, InterfaceEvent, Req
from .timers import Q931_TIMERS
from .variants import Variant, variant as variant_named

E1_B_CHANNELS = tuple(range(1, 16)) + tuple(range(17, 32))
#: message type octet -> MT, without calling the enum per message
_MT_OF: dict[int, MT] = {int(t): t for t in MT}
#: message types with mandatory elements (the others can only have element errors)
_CHECKED = frozenset(int(t) for t in (*MANDATORY, *MANDATORY_FROM_NETWORK))


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
        self.calls: dict[tuple[int, bool], PriCall] = {}
        #: the running timers of every call in one heap (the engine's per-stack queue)
        self.timers = TimerQueue()
        self.by_channel: dict[int, PriCall] = {}
        self.maintenance: set[int] = set()
        self.restarting: set[int] = set()
        self.restart = Restart(self)
        self._next_cref = 1
        self._out: list[bytes] = []
        self._events: list[CallEvent] = []
        self.iface_events: list[InterfaceEvent] = []
        self.link_up = False
        self.counters: dict[str, int] = {k: 0 for k in (
            "rx", "tx", "setup_tx", "setup_rx", "t303_repeat", "ignored", "status_tx", "release_complete_tx",
            "unexpected", "status_incompatible", "glare", "restart_rx", "restart_tx")}

    # ---- plumbing ---------------------------------------------------------------------------
    def number_complete(self, digits: str) -> bool:
        """Overlap receiving: the number is complete at ``number_length`` digits."""
        return self.number_length is not None and len(digits) >= self.number_length

    def timer_values(self, *names: str) -> dict[str, float]:
        return {n: v for n, v in self._timers.items() if not names or n in names}

    def new_machine(self, call: PriCall) -> Machine[PriCall]:
        return Machine(self.table, call, name=f"cref {call.cref}", timer_values=self._call_timers, trace=self.trace,
                       queue=self.timers)

    def send_message(self, m: Message) -> None:
        self.send_parts(m.mtype, m.cref, m.flag, m.ies)

    def send_parts(self, mtype: int, cref: int, flag: bool, ies: Sequence[IE.Ie]) -> None:
        """Send the message of these parts (the call actions build no :class:`Message`)."""
        counters = self.counters
        counters["tx"] += 1
        if mtype == MT.STATUS:
            counters["status_tx"] += 1
        elif mtype == MT.RELEASE_COMPLETE:
            counters["release_complete_tx"] += 1
        self._out.append(encode_parts(mtype, cref, flag, ies))

    def send_status(self, cref: int, flag: bool, cause: int, state: int) -> None:
        self.send_parts(MT.STATUS, cref, flag, (IE.cause(cause, self.location), IE.CallState(state)))

    def call_event(self, e: CallEvent) -> None:
        self._events.append(e)

    def fire(self, call: PriCall, event: Any, msg: Any, now: float) -> None:
        call.m.fire(event, msg, now)

    def data_to_send(self, now: float) -> list[bytes]:
        out, self._out = self._out, []
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
        return free[-1] if self.network else free[0]

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
        self.calls.pop((call.cref, call.ours), None)
        call.m.release()               # its timers end with it (a later one must not fire)
        if call.channel is not None and self.by_channel.get(call.channel) is call:
            del self.by_channel[call.channel]
            if maintenance:
                self.maintenance.add(call.channel)

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
            if (cref, True) not in self.calls:
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
        call = PriCall(self, self._new_cref(), True, now)
        call.channel, call.exclusive, call.called, call.complete = ch, exclusive, called, not overlap
        if isinstance(calling, str):
            calling = IE.CallingNumber(calling, IE.Ton.UNKNOWN, self.variant.plan, IE.Presentation.ALLOWED,
                                       IE.Screening.USER_NOT_SCREENED if not self.network
                                       else IE.Screening.NETWORK_PROVIDED)
        call.calling = calling
        call.display = display
        call.called_ton, call.hlc = called_ton, hlc
        self.calls[(call.cref, True)] = call
        self.by_channel[ch] = call
        call.m.fire(Req.SETUP, None, now)
        return call

    def setup_ies(self, call: PriCall) -> list[IE.Ie]:
        ies: list[IE.Ie] = [IE.SPEECH, call.channel_ie()]
        if call.display and (self.network or self.variant.display_to_network):
            ies.append(IE.Display(call.display))
        if call.calling is not None:
            ies.append(call.calling)
        if call.called or call.complete:
            ies.append(IE.CalledNumber(call.called, call.called_ton, self.variant.plan))
        if call.hlc is not None:
            ies.append(IE.Hlc(call.hlc))
        if call.complete and self.variant.sending_complete:
            ies.append(IE.SENDING_COMPLETE)
        return ies

    def _req(self, call: PriCall, req: Req, arg: Any, now: float) -> None:
        if call.m.state == 0 or (call.cref, call.ours) not in self.calls:
            raise LocalProtocolError(f"{call!r} is over")
        if not call.m.fire_if(req, arg, now):
            raise LocalProtocolError(f"{req.value} not allowed in {call.m.state.name}")

    def information(self, call: PriCall, digits: str, now: float, complete: bool = False) -> None:
        self._req(call, Req.INFO, (digits, complete), now)

    def more_info(self, call: PriCall, now: float) -> None:
        self._req(call, Req.MORE_INFO, None, now)

    def proceeding(self, call: PriCall, now: float) -> None:
        self._req(call, Req.PROCEEDING, None, now)

    def alert(self, call: PriCall, now: float, inband: bool = False) -> None:
        self._req(call, Req.ALERTING, inband, now)

    def progress(self, call: PriCall, now: float, description: int = 8) -> None:
        self._req(call, Req.PROGRESS, description, now)

    def answer(self, call: PriCall, now: float) -> None:
        self._req(call, Req.SETUP_RESPONSE, None, now)

    def release(self, call: PriCall, cause: int, now: float) -> None:
        """Clear (DISCONNECT) or refuse (RELEASE COMPLETE) the call."""
        if (call.cref, call.ours) not in self.calls:
            raise LocalProtocolError(f"{call!r} is over")
        if not call.m.fire_if(Req.REJECT, cause, now):
            self._req(call, Req.DISCONNECT, cause, now)

    def status_enquiry(self, call: PriCall, now: float) -> None:
        self._req(call, Req.STATUS_ENQUIRY, None, now)

    def restart_channels(self, channels: tuple[int, ...] | None, now: float) -> None:
        """RESTART of ``channels`` (None: the whole interface), 5.5.1: their calls end at once."""
        chans = tuple(channels or ())
        for ch in chans or self.channels:
            self._clear_channel(ch, now, "RESTART sent")
        self.restarting |= set(chans or self.channels)
        self.restart.channels = chans
        self.counters["restart_tx"] += 1
        self.restart.m.reset()
        self.restart.m.fire(RestartEv.REQUEST, None, now)

    def _clear_channel(self, ch: int, now: float, why: str) -> None:
        call = self.by_channel.get(ch)
        if call is not None:
            call._released(now, 41, True, why)
            call.m.reset()
            self.free(call, now)

    # ---- data link ---------------------------------------------------------------------------
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
        self.counters["rx"] += 1
        try:
            m = decode(data)
        except MessageError:
            self.counters["ignored"] += 1          # 5.8.1 - 5.8.3.1, 5.8.5: ignored
            return
        if m.cref == GLOBAL_CREF:
            self._global(m, now)
            return
        call = self.calls.get((m.cref, m.flag))     # flag set: toward the side that allocated it
        if call is None:
            self._unknown_cref(m, now)
            return
        self._for_call(call, m, now)

    def _problem(self, m: Message) -> tuple[int, bool] | None:
        """(cause, act on the message anyway) for a message with element errors (5.8.6, 5.8.7)."""
        from_net = not self.network
        if missing(m, from_net) or any(i < 0x10 for i in m.unrecognized):
            return 96, False
        if mandatory_invalid(m, from_net):
            return 100, False
        if m.unrecognized:
            return 99, True
        if m.invalid:
            return 100, True
        return None

    def _for_call(self, call: PriCall, m: Message, now: float) -> None:
        mt = _MT_OF.get(m.mtype)
        if mt is None:
            self.send_status(call.cref, not call.ours, 97, int(call.m.state))   # 5.8.4
            return
        problem = self._problem(m) if m.invalid or m.unrecognized or m.mtype in _CHECKED else None
        if problem is not None:
            cause, act = problem
            if mt in (MT.DISCONNECT, MT.RELEASE):
                call.error_cause = cause            # in our RELEASE / RELEASE COMPLETE (5.8.6.1)
            elif mt == MT.RELEASE_COMPLETE:
                pass
            else:
                self.send_status(call.cref, not call.ours, cause, int(call.m.state))
                if not act:
                    return
        call.m.fire(mt, m, now)

    def _unknown_cref(self, m: Message, now: float) -> None:
        """Q.931 5.8.3.2: a call reference we do not know."""
        mt = m.mtype
        if mt == MT.SETUP and not m.flag:
            self._incoming(m, now)
        elif mt == MT.RELEASE:
            self._release_complete(m.cref, not m.flag, 81)
        elif mt == MT.STATUS_ENQUIRY:
            self.send_status(m.cref, not m.flag, 30, 0)
        elif mt == MT.STATUS:
            cs = m.get(IE.CallState)
            if cs is not None and cs.value != 0:
                self._release_complete(m.cref, not m.flag, 101)
        elif mt in (MT.RELEASE_COMPLETE, MT.SETUP):
            self.counters["ignored"] += 1
        else:
            self._release_complete(m.cref, not m.flag, 81)

    def _release_complete(self, cref: int, flag: bool, cause: int) -> None:
        self.send_parts(MT.RELEASE_COMPLETE, cref, flag, (IE.cause(cause, self.location),))

    def _incoming(self, m: Message, now: float) -> None:
        self.counters["setup_rx"] += 1
        problem = self._problem(m)
        if problem is not None and not problem[1]:
            self._release_complete(m.cref, True, problem[0])   # 5.8.6: SETUP refused
            return
        ch, cause = self._channel_for(m, now)
        if ch is None:
            self._release_complete(m.cref, True, cause)
            return
        call = PriCall(self, m.cref, False, now)
        call.channel = ch
        self.calls[(m.cref, False)] = call
        self.by_channel[ch] = call
        if problem is not None:
            self.send_status(m.cref, True, problem[0], 0)
        call.m.fire(MT.SETUP, m, now)

    def _channel_for(self, m: Message, now: float) -> tuple[int | None, int]:
        """The B channel for an offered call (5.2.3), with glare on a B channel settled: the
        network's call keeps the channel; the user's call gets another (preferred) or is
        refused with cause 44 (exclusive). (channel, cause when None)."""
        ci = m.get(IE.ChannelId)
        if ci is None or not ci.channels:
            ch = self.allocate()
            return ch, 34
        want = ci.channels[0]
        if want not in self.channels:
            return None, 82                               # identified channel does not exist
        holder = self.by_channel.get(want)
        if holder is None and want not in self.maintenance and want not in self.restarting:
            return want, 0
        if holder is not None and holder.ours and holder.m.state in (1, 6):
            self.counters["glare"] += 1
            if not self.network:                          # the network's SETUP wins the channel
                holder.glare = True
                holder.glare_channel = want
                holder.m.fire(Ev.GLARE, None, now)          # withdrawn: RELEASE COMPLETE 44
                return want, 0
        if ci.exclusive:
            return None, 44                               # requested channel not available
        ch = self.allocate()
        return ch, 34

    def _global(self, m: Message, now: float) -> None:
        """The global call reference: RESTART / RESTART ACKNOWLEDGE (5.5); others: STATUS 81."""
        if m.mtype == MT.RESTART:
            self._peer_restart(m, now)
        elif m.mtype == MT.RESTART_ACKNOWLEDGE:
            self.restart.m.fire(MT.RESTART_ACKNOWLEDGE, m, now)
        elif m.mtype == MT.STATUS:
            pass
        else:
            self.send_status(0, not m.flag, 81, 0)

    def _peer_restart(self, m: Message, now: float) -> None:
        """RESTART received (5.5.2): the calls on the channels end, RESTART ACKNOWLEDGE."""
        self.counters["restart_rx"] += 1
        ri = m.get(IE.RestartIndicator)
        ci = m.get(IE.ChannelId)
        if ri is None:
            self.send_status(0, True, 96, 0)
            return
        if ri.cls_ == IE.RestartClass.INDICATED and (ci is None or not ci.channels):
            self.send_status(0, True, 96 if ci is None else 100, 0)
            return
        chans = tuple(ci.channels) if ri.cls_ == IE.RestartClass.INDICATED and ci else ()
        for ch in chans or self.channels:
            self._clear_channel(ch, now, "RESTART received")
            self.maintenance.discard(ch)
        ies: list[IE.Ie] = [ri] + ([IE.ChannelId(chans, True)] if chans else [])
        self.send_message(Message(MT.RESTART_ACKNOWLEDGE, 0, True, ies))
        self.iface_events.append(InterfaceEvent("restart", now, chans))
