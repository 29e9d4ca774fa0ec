"""The PRI trunk adapter: one ISDN primary rate interface per E1 span (30 B channels, the D
channel on timeslot 16), user or network side, seen by the call model as a TrunkAdapter.

Circuits are ``(board span number, timeslot)``; the Q.931 channel number is the timeslot.
Each span's D channel runs on the board's HDLC channel on TS16 (or on a transport given in,
e.g. a SOCK_SEQPACKET socket toward libpri). The call model sees IncomingCall (numbers,
presentation in ``extra``), Proceeding, Alerting, Answered, Released(cause), CircuitState
(the D channel up/down, RESTART), Reattempted (our call that lost its B channel to the
network's call, placed again on another channel), DigitsReceived (in-band DTMF once answered).
"""
from __future__ import annotations

from typing import Any
from collections.abc import Sequence

from cti.signaling.causes import Cause
from cti.signaling.errors import LocalProtocolError
from cti.signaling.ss7.inband import InbandDigits
from cti.signaling.ss7.transport import HdlcTransport, Transport
from cti.signaling.trunk import (Alerting, Answered, Circuit, CircuitState, IncomingCall, Proceeding, Reattempted,
                                 Released, TrunkAdapter, TrunkError, TrunkEvent)
from drivers.base import BLOCK_SECONDS, Span

from .call import PriCall
from .states import CallEvent
from .config import PriConfig
from .pcap import LapdPcapWriter
from .q931 import E1_B_CHANNELS
from .states import InterfaceEvent
from .stack import PriStack

__all__ = ["PriTrunk", "PriConfig"]

_NEVER = float("inf")


class PriTrunk(TrunkAdapter):
    """Q.931 over Q.921 on ``spans`` (one interface per span); ``transports`` replaces the
    HDLC channels (one per span, or one with no spans)."""

    signalling = "pri"

    def __init__(self, spans: Sequence[Span], config: PriConfig | dict[str, Any] | None = None,
                 transports: list[Transport] | None = None) -> None:
        cfg = config if isinstance(config, PriConfig) else PriConfig.from_dict(config)
        self.config = cfg
        self.spans = list(spans)
        self.numbers = [getattr(s, "number", i) for i, s in enumerate(self.spans)] or [0]
        self.stacks = [PriStack(cfg.network, E1_B_CHANNELS, name=f"pri{n}", **cfg.stack_args())
                       for n in self.numbers]
        self.pcap = LapdPcapWriter(cfg.pcap, cfg.network) if cfg.pcap else None
        if transports is None:
            transports = [HdlcTransport(span.hdlc(16), st, self.pcap, i, span)
                          for i, (span, st) in enumerate(zip(self.spans, self.stacks, strict=False))]
        self._transports: list[Transport] = []
        self.inband = InbandDigits(self.spans)
        self._now = 0.0
        self._pending: list[TrunkEvent] = []
        self._repeats: dict[int, int] = {}       # id(PriCall) -> repeat attempts it has had
        self._circuit: dict[int, Circuit] = {}   # id(PriCall) -> the circuit the call model knows
        self._ever_up = [False] * len(self.stacks)
        #: repeat attempts made and those that found no circuit; D channels serviced and passed
        #: over as quiet (per span and block: ``quiet`` + ``serviced`` = spans x blocks)
        self.counters: dict[str, int] = {"repeat_attempts": 0, "repeat_no_circuit": 0, "serviced": 0, "quiet": 0}
        self.transports = transports

    # ---- TrunkAdapter ------------------------------------------------------------------
    def circuits(self) -> list[Circuit]:
        return [(n, ts) for n in self.numbers for ts in E1_B_CHANNELS]

    @property
    def up(self) -> bool:
        return all(s.up for s in self.stacks)

    @property
    def transports(self) -> list[Transport]:
        """One per interface: a board's HDLC channel on TS16, or any other (a socket)."""
        return self._transports

    @transports.setter
    def transports(self, transports: list[Transport]) -> None:
        self._transports = transports
        n = len(self.stacks)
        # the quiet test of each D channel (see service): the span whose Span.changes tells
        # of a new frame or alarm (None: another transport, serviced every block), the count
        # at its last service, the time before which no timer of its stack is due, and
        # -1 when a request of the layer above touched it since (its message goes out now)
        self._quiet_span: list[Any] = [t.span if type(t) is HdlcTransport and getattr(t.span, "changes", None)
                                       is not None else None for t in transports[:n]] + [None] * (n - len(transports))
        self._seen: list[int | None] = [None] * n
        self._wake = [-1.0] * n
        skips = [getattr(s, "skip_audio", None) for s in self.spans]
        self._skips: list[Any] | None = skips if None not in skips else None

    def service(self, now: float) -> list[TrunkEvent]:
        """Every D channel that has something to do: a frame or alarm on its span (the span's
        ``changes`` moved), a timer of its stack due, or a request made since its last service;
        the others are quiet and cost a comparison (a LAPD link at rest sends flags, and its RR
        poll is T203's expiry: a timer). Then in-band digits on connected calls."""
        self._now = now
        spans, seen, wake = self._quiet_span, self._seen, self._wake
        busy: list[int] = []
        for i in range(len(spans)):
            sp = spans[i]
            if sp is not None:
                ch = sp.changes
                if ch == seen[i] and now < wake[i]:
                    continue
                seen[i] = ch
            busy.append(i)
        counters = self.counters
        counters["quiet"] += len(spans) - len(busy)
        out, self._pending = self._pending, []
        skips = self._skips
        if skips is None or self.inband.detectors:
            out += self.inband.service()
        else:                      # no connected call: every span's audio passed over unread
            for skip in skips:
                skip()
        if not busy:
            return out
        counters["serviced"] += len(busy)
        transports, stacks = self._transports, self.stacks
        nt = len(transports)
        for i in busy:
            if i < nt:
                transports[i].receive(now)
        for i in busy:
            st = stacks[i]
            d = st.timer_deadline()
            if d is not None and d <= now:
                st.handle_timer(now)
            for e in st.events():
                out += self._convert(i, e)
        for i in busy:
            if i < nt:
                transports[i].transmit(now)
            d = stacks[i].timer_deadline()
            wake[i] = _NEVER if d is None else d
        return out

    def make_call(self, called: str, calling: str | None, now: float, circuit: Circuit | None = None) -> Circuit:
        if not called or any(ch not in "0123456789*#" for ch in called):
            raise TrunkError(f"called number {called!r} is not digits", cause=Cause.INVALID_NUMBER_FORMAT)
        order = range(len(self.stacks)) if circuit is None else [self._index(circuit)]
        for i in order:
            st = self.stacks[i]
            if not st.up and circuit is None:
                continue
            try:
                call = st.q931.setup(called, now, calling, channel=None if circuit is None else circuit[1])
            except LocalProtocolError as e:
                if circuit is not None:
                    raise TrunkError(str(e), cause=Cause.NO_CIRCUIT_AVAILABLE) from None
                continue
            self._wake[i] = -1.0                 # the SETUP goes out at the next service
            self._repeats[id(call)] = 0
            c = (self.numbers[i], call.channel or 0)
            self._circuit[id(call)] = c
            self._pending.append(Proceeding(c, now))
            return c
        raise TrunkError("no free B channel on an interface that is up", cause=Cause.NO_CIRCUIT_AVAILABLE)

    def alert(self, circuit: Circuit, now: float) -> None:
        self._do(circuit, now, lambda q, c: q.alert(c, now))

    def answer(self, circuit: Circuit, now: float) -> None:
        self._do(circuit, now, lambda q, c: q.answer(c, now))

    def release(self, circuit: Circuit, cause: int, now: float) -> None:
        self._do(circuit, now, lambda q, c: q.release(c, int(cause), now))

    def timer_deadline(self) -> float | None:
        ds = [d for s in self.stacks if (d := s.timer_deadline()) is not None]
        if self.inband.active:
            ds.append(self._now + BLOCK_SECONDS)
        return min(ds, default=None)

    # ---- PRI requests beyond the seam ----------------------------------------------------------
    def restart(self, circuit: Circuit | None, now: float, span: int = 0) -> None:
        """RESTART of one B channel (``circuit``) or of the whole interface of ``span``."""
        i = self._index(circuit) if circuit is not None else self.numbers.index(span)
        self._wake[i] = -1.0
        self.stacks[i].q931.restart_channels(None if circuit is None else (circuit[1],), now)

    def progress(self, circuit: Circuit, now: float) -> None:
        """PROGRESS with 'in-band information available' (tones or announcements)."""
        self._do(circuit, now, lambda q, c: q.progress(c, now))

    def call(self, circuit: Circuit) -> PriCall | None:
        i = self._index(circuit)
        return self.stacks[i].q931.by_channel.get(circuit[1])

    # ---- helpers --------------------------------------------------------------------------------
    def _index(self, circuit: Circuit) -> int:
        try:
            i = self.numbers.index(circuit[0])
        except (ValueError, TypeError, IndexError):
            raise TrunkError(f"circuit {circuit!r} is not on this PRI trunk") from None
        if circuit[1] not in E1_B_CHANNELS:
            raise TrunkError(f"circuit {circuit!r}: timeslot {circuit[1]} is not a B channel")
        return i

    def _do(self, circuit: Circuit, now: float, fn: Any) -> None:
        i = self._index(circuit)
        self._wake[i] = -1.0                     # its message goes out at the next service
        q = self.stacks[i].q931
        call = q.by_channel.get(circuit[1])
        if call is None:
            raise TrunkError(f"no call on {circuit!r}")
        try:
            fn(q, call)
        except LocalProtocolError as e:
            raise TrunkError(str(e)) from None

    def _convert(self, i: int, e: Any) -> list[TrunkEvent]:
        span = self.numbers[i]
        if isinstance(e, InterfaceEvent):
            return self._interface(i, e)
        assert isinstance(e, CallEvent)
        call = e.call
        out: list[TrunkEvent] = []
        c = self._circuit.setdefault(id(call), (span, call.channel or 0))
        if call.channel and call.channel != c[1] and e.kind != "released":
            # the network answered our SETUP on another B channel (Q.931 5.1.2): the call moves
            new = (span, call.channel)
            out.append(Reattempted(c, e.time, new, 6, "the network chose another B channel (Q.931 5.1.2)"))
            self._circuit[id(call)] = c = new
        return out + self._call_event(i, call, e, c)

    def _call_event(self, i: int, call: PriCall, e: CallEvent, c: Circuit) -> list[TrunkEvent]:
        if e.kind == "setup":
            cn = call.calling
            extra: dict[str, Any] = {"presentation": cn.presentation, "screening": cn.screening, "ton": cn.ton,
                     "plan": cn.plan} if cn is not None else {}
            if call.display:
                extra["display"] = call.display
            return [IncomingCall(c, e.time, call.called, cn.digits if cn else None, None, "pri", extra)]
        if e.kind == "overlap":                  # overlap receiving: SETUP ACK, digits awaited
            self.stacks[i].q931.more_info(call, e.time)
            return []
        if e.kind == "alerting":
            return [Alerting(c, e.time)]
        if e.kind == "answered":
            self.inband.start(c)
            return [Answered(c, e.time)]
        if e.kind == "connected":
            self.inband.start(c)
            return []
        if e.kind == "released":
            self.inband.stop(c)
            self._circuit.pop(id(call), None)
            n = self._repeats.pop(id(call), 0)
            if call.ours and call.glare and n < self.config.repeat_attempts:
                return self._repeat(i, call, e, n)
            return [Released(c, e.time, e.cause, e.remote, e.reason)]
        return []

    def _repeat(self, i: int, call: PriCall, e: CallEvent, n: int) -> list[TrunkEvent]:
        """Our call lost its B channel to the network's SETUP (glare): placed again on another
        channel, the same numbers (as the automatic repeat attempt of SS7 and No.1)."""
        span = self.numbers[i]
        old = (span, call.glare_channel)
        try:
            new = self.stacks[i].q931.setup(call.called, e.time, call.calling)
        except LocalProtocolError:
            self.counters["repeat_no_circuit"] += 1
            return [Released(old, e.time, int(Cause.NO_CIRCUIT_AVAILABLE), True,
                             "B channel lost to the network's call (glare); no free channel to repeat on")]
        self.counters["repeat_attempts"] += 1
        self._repeats[id(new)] = n + 1
        self._circuit[id(new)] = (span, new.channel or 0)
        return [Reattempted(old, e.time, (span, new.channel or 0), e.cause,
                            "B channel lost to the network's call (glare): placed again", n + 1)]

    def _interface(self, i: int, e: InterfaceEvent) -> list[TrunkEvent]:
        span = self.numbers[i]
        if e.kind == "link_up":
            first = not self._ever_up[i]
            self._ever_up[i] = True
            if first and self.config.restart_at_start:
                self.stacks[i].q931.restart_channels(None, e.time)
            return [CircuitState((span, ts), e.time, True, "D channel up") for ts in E1_B_CHANNELS]
        if e.kind == "link_down":
            return [CircuitState((span, ts), e.time, False, f"D channel down: {e.reason}") for ts in E1_B_CHANNELS]
        if e.kind == "restart_failed":
            return [CircuitState((span, ts), e.time, False, e.reason) for ts in e.channels or E1_B_CHANNELS]
        return []
