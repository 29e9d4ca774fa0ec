"""The SS7 trunk adapter: ISUP circuits on E1 spans, signalling on HDLC timeslots (TrunkAdapter).

Circuits are ``(board span number, timeslot)``; the configuration maps CICs to them. On the
first :meth:`Ss7Trunk.service` the links align; when MTP resumes, every circuit is reset
(GRS) and becomes available as the far end acknowledges.

Readiness: a circuit is *ready* when it is idle, available and its reset is acknowledged
(:meth:`Ss7Trunk.circuit_ready`, :attr:`Ss7Trunk.ready`, :meth:`Ss7Trunk.ready_circuits`).
A call made before any circuit is ready fails with cause 41 (temporary failure) and a message
saying the start-up reset is pending, or, with ``ready_wait`` seconds configured, waits on a
circuit whose reset is pending and is placed as soon as the GRA makes it ready (cause 41 when
the wait runs out).

Transports: the HDLC channel of each link's span, or with ``sockets`` one SOCK_SEQPACKET
socket per link (frame + FCS per datagram, libss7's framing), built with the trunk; the
``pcap`` setting records either. Messages the far end should not have sent reach the
application as :class:`UnexpectedMessage` events (and the counters).

Idle links cost nothing per block: on a card that does MTP2's fill-in (it repeats the last
FISU or LSSU and filters received ones equal to the frame before them, counting them: the
simulator's cards do), a block in which no link's span received a frame or an alarm
(``Span.changes``), no timer of MTP2, MTP3 or ISUP is due and no request was made is passed
over after one comparison per link (``counters``: ``quiet`` and ``serviced`` blocks).

Dual seizure (Q.764 2.10.1.4): when our call backs off on a CIC the far end controls, the
adapter makes an automatic repeat attempt: the same numbers and category on another idle
circuit of the group (:meth:`IsupNode.allocate`: ours first), reported as
:class:`Reattempted`; ``repeat_attempts`` times at most (then the call is released, cause
41), or released with cause 34 when no circuit is idle.
"""
from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any
from collections.abc import Sequence

from cti.signaling.causes import Cause
from cti.signaling.errors import LocalProtocolError
from cti.signaling.trunk import (Alerting, Answered, Circuit, CircuitState, IncomingCall, Proceeding, Reattempted,
                                 Released, TrunkAdapter, TrunkError, TrunkEvent)
from drivers.base import BLOCK_SECONDS, Span

from .config import Ss7Config
from .inband import InbandDigits
from .isup.call import CallState
from .transport import HdlcTransport, SeqpacketTransport, Transport
from .pcap import LINKTYPE_MTP2_WITH_PHDR, PcapWriter
from .stack import Ss7Stack

__all__ = ["Ss7Trunk", "Ss7Config", "UnexpectedMessage"]


@dataclass(frozen=True, slots=True)
class UnexpectedMessage(TrunkEvent):
    """The far end sent a message the circuit's state does not allow, a CFN, or a malformed
    message (Q.764 2.9.5): what was done is in ``reason`` (discarded, RLC sent, circuit reset)."""

    reason: str = ""


class Ss7Trunk(TrunkAdapter):
    """ISUP over MTP on ``spans``; ``sockets`` (one per configured link) replaces the HDLC
    channels with SOCK_SEQPACKET sockets (``socket_options``: ``verify_fcs=False`` for peers
    that leave the FCS to hardware, as libss7 does)."""

    signalling = "ss7"

    def __init__(self, spans: Sequence[Span], config: Ss7Config | dict[str, Any] | None = None,
                 sockets: Sequence[socket.socket] | None = None, *,
                 socket_options: dict[str, Any] | None = None) -> None:
        cfg = config if isinstance(config, Ss7Config) else Ss7Config.from_dict(config)
        self.config = cfg
        self.spans = list(spans)
        cmap = cfg.circuits(len(self.spans) or 1)
        for cic, (si, _ts) in cmap.items():
            if self.spans and si >= len(self.spans):
                raise ValueError(f"CIC {cic} names span index {si}; the trunk has {len(self.spans)} spans")
        number = [getattr(s, "number", i) for i, s in enumerate(self.spans)] or [0]
        self._circuit_of: dict[int, Circuit] = {cic: (number[si], ts) for cic, (si, ts) in cmap.items()}
        self._cic_of: dict[Circuit, int] = {c: cic for cic, c in self._circuit_of.items()}
        self.stack = Ss7Stack(cfg, sorted(cmap), name="trunk")
        self.stack.isup.circuit_of = self._circuit_of     # ISUP reports IncomingCall itself
        self.pcap = PcapWriter(cfg.pcap, LINKTYPE_MTP2_WITH_PHDR) if cfg.pcap else None
        transports: list[Transport] = []
        if sockets is not None:
            if len(sockets) != len(cfg.links):
                raise ValueError(f"{len(sockets)} sockets for {len(cfg.links)} signalling links")
            for i, sock in enumerate(sockets):
                transports.append(SeqpacketTransport(sock, self.stack.links[i], self.pcap, i, **(socket_options or {})))
        else:
            for i, lc in enumerate(cfg.links):
                if lc.span >= len(self.spans):
                    raise ValueError(f"link {i} on span index {lc.span}; the trunk has {len(self.spans)} spans")
                span = self.spans[lc.span]
                transports.append(HdlcTransport(span.hdlc(lc.timeslot), self.stack.links[i], self.pcap, i, span))
        for t in transports:
            if isinstance(t, HdlcTransport):
                t.card_fill_in()             # the card repeats and filters the fill-in if it can
        self.transports = transports
        #: CIC -> (called, calling, give-up time) of calls waiting for their circuit's reset
        self._waiting: dict[int, tuple[str, str | None, float]] = {}
        self.inband = InbandDigits(self.spans)
        self._now = 0.0
        self._pending: list[TrunkEvent] = []
        self._was_up = False
        #: CIC of an outgoing call of ours -> repeat attempts it has had (Q.764 2.10.1.4)
        self._repeats: dict[int, int] = {}
        self._backed_off: set[int] = set()   # CICs whose glare "released" the repeat replaces
        #: repeat attempts made, and those that found no idle circuit (cause 34); blocks in
        #: which the links and the stack were serviced, and those passed over as quiet
        self.counters: dict[str, int] = {"repeat_attempts": 0, "repeat_no_circuit": 0, "serviced": 0, "quiet": 0}
        self._wake = -1.0                    # no timer of the stack is due before this
        skips = [getattr(s, "skip_audio", None) for s in self.spans]
        self._skips: list[Any] | None = skips if None not in skips else None

    @property
    def transports(self) -> list[Transport]:
        """One per signalling link: an HDLC channel of a span, or a SOCK_SEQPACKET socket."""
        return self._transports

    @transports.setter
    def transports(self, transports: list[Transport]) -> None:
        self._transports = transports
        # the quiet test (service): every link on an HDLC channel whose card does the fill-in,
        # on a span that keeps Span.changes; else every block is serviced
        quiet = all(type(t) is HdlcTransport and t.card_fill and getattr(t.span, "changes", None) is not None
                    for t in transports)
        self._link_spans: list[Any] | None = [t.span for t in transports] if quiet and transports else None  # type: ignore[attr-defined]
        self._seen: list[int | None] = [None] * len(transports)

    # ---- TrunkAdapter ------------------------------------------------------------------
    def circuits(self) -> list[Circuit]:
        return [self._circuit_of[c] for c in sorted(self._circuit_of)]

    def service(self, now: float) -> list[TrunkEvent]:
        self._now = now
        spans = self._link_spans
        if spans is not None and now < self._wake and self._quiet():
            self.counters["quiet"] += 1
            skips = self._skips
            if skips is None or self.inband.detectors:
                return list(self.inband.service())
            for skip in skips:             # no connected call: every span's audio passed over unread
                skip()
            return []
        if spans is not None:
            self._seen = [sp.changes for sp in spans]
        self.counters["serviced"] += 1
        for t in self._transports:
            t.receive(now)
        out = self._pending
        self._pending = []
        out += self.inband.service()
        self.stack.run(now)
        for e in self.stack.isup.events():       # read where ISUP made them, in order
            if isinstance(e, IncomingCall):      # built by ISUP itself: passed on as it is
                out.append(e)
                continue
            if e.kind in ("answered", "released") and e.cic in self._circuit_of:
                (self.inband.start if e.kind == "answered" else self.inband.stop)(self._circuit_of[e.cic])
            if e.kind == "reset_done":
                out += self._reset_done(e)
                out += self._place_waiting(now)
            elif e.kind == "unexpected" and e.cic in self._circuit_of:
                out.append(UnexpectedMessage(self._circuit_of[e.cic], e.time, e.reason))
            elif e.kind == "glare":
                out += self._glare(e)
            elif e.kind == "released" and e.cic in self._backed_off:
                self._backed_off.discard(e.cic)     # the call goes on elsewhere (or _glare ended it)
            elif (ev := self._convert(e)) is not None:
                if e.kind == "released":
                    self._repeats.pop(e.cic, None)
                out.append(ev)
        if self._waiting:
            out += self._place_waiting(now)
        for mev in self.stack.mtp3_events:
            if mev.kind == "pause":
                out += [CircuitState(c, now, False, "MTP pause: signalling route unavailable")
                        for c in self.circuits()]
        self.stack.mtp3_events.clear()
        for t in self._transports:
            t.transmit(now)
        if spans is not None:
            d = self.stack.linkset.timer_deadline()
            n = self.stack.isup.next_timer
            self._wake = n if d is None or n < d else d
        return out

    def _quiet(self) -> bool:
        """Nothing for the links or the stack this block: no frame or alarm on a link's span
        since its last service, no request made, no call waiting for its circuit."""
        st = self.stack
        if self._pending or self._waiting or st._isup_requests or st.isup._out:
            return False
        seen = self._seen
        for i, sp in enumerate(self._link_spans or ()):   # noqa: SIM110  (no generator per block)
            if sp.changes != seen[i]:
                return False
        return True

    def make_call(self, called: str, calling: str | None, now: float, circuit: Circuit | None = None) -> Circuit:
        if not called or any(ch not in "0123456789ABCDEabcde" for ch in called):
            raise TrunkError(f"called number {called!r} is not digits", cause=Cause.INVALID_NUMBER_FORMAT)
        cic = None if circuit is None else self._cic(circuit)
        if not self.stack.up:
            # an IAM queued in MTP3 now would meet the start-up circuit reset sent at MTP-RESUME
            # (the call cleared with cause 41 after all): refuse here, or hold it (ready_wait)
            return self._wait_ready(called, calling, now, "the signalling link is not in service", cic)
        try:
            cic = self.stack.isup.setup(called, calling, now, cic=cic)
        except LocalProtocolError as e:
            if circuit is None and not self.ready and self.stack.isup.pending_reset():
                return self._wait_ready(called, calling, now, str(e))
            raise TrunkError(str(e), cause=Cause.NO_CIRCUIT_AVAILABLE) from None
        self.stack.flush(now)
        self._repeats[cic] = 0
        c = self._circuit_of[cic]
        self._pending.append(Proceeding(c, now))
        return c

    # ---- readiness -------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Some circuit can take a call now: the link is up and a reset was acknowledged."""
        return self.stack.up and self.stack.isup.ready

    def circuit_ready(self, circuit: Circuit) -> bool:
        """``circuit`` is idle, available and not waiting for its (group) reset's acknowledgement."""
        return self.stack.up and bool(self.stack.isup.circuits[self._cic(circuit)].ready)

    def ready_circuits(self) -> list[Circuit]:
        return [self._circuit_of[k] for k, c in sorted(self.stack.isup.circuits.items())
                if c.ready and k in self._circuit_of] if self.stack.up else []

    def _wait_ready(self, called: str, calling: str | None, now: float, why: str,
                    cic: int | None = None) -> Circuit:
        """No circuit is ready because the signalling link is not in service or the start-up
        reset is pending: fail with cause 41 and say so, or (``ready_wait``) hold the call on a
        circuit (``cic`` if given) until the link is up and the circuit's reset acknowledged."""
        wait = self.config.ready_wait
        isup = self.stack.isup
        pending = [k for k in isup.circuits if isup.circuits[k].fsm.state is CallState.IDLE] \
            if not self.stack.up else isup.pending_reset()
        free = [k for k in sorted(pending) if (cic is None or k == cic)
                and k not in self._waiting and isup.circuits[k].available and k in self._circuit_of]
        if wait <= 0 or not free:
            raise TrunkError(f"not ready: {why}", cause=Cause.TEMPORARY_FAILURE)
        cic = free[0]
        self._waiting[cic] = (called, calling, now + wait)
        return self._circuit_of[cic]

    def _place_waiting(self, now: float) -> list[TrunkEvent]:
        out: list[TrunkEvent] = []
        for cic, (called, calling, until) in list(self._waiting.items()):
            c = self.stack.isup.circuits[cic]
            if (c.reset_pending or not self.stack.up) and now < until:
                continue
            del self._waiting[cic]
            circuit = self._circuit_of[cic]
            if now >= until or not c.ready or not self.stack.up:
                out.append(Released(circuit, now, int(Cause.TEMPORARY_FAILURE), True,
                                    "signalling link not in service" if not self.stack.up
                                    else "circuit not ready: reset unacknowledged" if c.reset_pending
                                    else "circuit not available after its reset"))
                continue
            self.stack.isup.setup(called, calling, now, cic=cic)
            self.stack.flush(now)
            self._repeats[cic] = 0
            out.append(Proceeding(circuit, now))
        return out

    def alert(self, circuit: Circuit, now: float) -> None:
        self._do("alert", circuit, now)

    def answer(self, circuit: Circuit, now: float) -> None:
        self._do("answer", circuit, now)

    def release(self, circuit: Circuit, cause: int, now: float) -> None:
        cic = self._cic(circuit)
        try:
            self.stack.isup.release(cic, int(cause), now)
        except LocalProtocolError as e:
            raise TrunkError(str(e)) from None
        self.stack.flush(now)

    def timer_deadline(self) -> float | None:
        """The stack's next timer, or the next 20 ms block while digits are listened to."""
        d = self.stack.timer_deadline()
        for _, _, until in self._waiting.values():
            d = until if d is None else min(d, until)
        if self.inband.active:
            nxt = self._now + BLOCK_SECONDS
            d = nxt if d is None else min(d, nxt)
        return d

    # ---- maintenance -----------------------------------------------------------------------
    def block(self, circuit: Circuit, now: float) -> None:
        """Maintenance-block a circuit toward the far end (BLO)."""
        self.stack.isup.block(self._cic(circuit), now)
        self.stack.flush(now)

    def unblock(self, circuit: Circuit, now: float) -> None:
        self.stack.isup.unblock(self._cic(circuit), now)
        self.stack.flush(now)

    def group_block(self, first: Circuit, count: int, now: float) -> None:
        """Maintenance-block ``count`` (2..32) consecutive CICs from ``first`` (CGB)."""
        self.stack.isup.group_block(self._cic(first), count, now)
        self.stack.flush(now)

    def group_unblock(self, first: Circuit, count: int, now: float) -> None:
        self.stack.isup.group_unblock(self._cic(first), count, now)
        self.stack.flush(now)

    def state(self, circuit: Circuit) -> CallState:
        state: CallState = self.stack.isup.circuits[self._cic(circuit)].fsm.state
        return state

    # ---- helpers ------------------------------------------------------------------------------
    def _cic(self, circuit: Circuit) -> int:
        try:
            return self._cic_of[tuple(circuit)]  # type: ignore[index]
        except (KeyError, TypeError):
            raise TrunkError(f"circuit {circuit!r} is not on this SS7 trunk") from None

    def _do(self, what: str, circuit: Circuit, now: float) -> None:
        cic = self._cic(circuit)
        try:
            getattr(self.stack.isup, what)(cic, now)
        except LocalProtocolError as e:
            raise TrunkError(str(e)) from None
        self.stack.flush(now)

    def _convert(self, e: Any) -> TrunkEvent | None:
        c = self._circuit_of.get(e.cic)
        if c is None:
            return None
        if e.kind == "alerting":
            return Alerting(c, e.time)
        if e.kind == "answered" and e.remote:
            return Answered(c, e.time)
        if e.kind == "released":
            return Released(c, e.time, int(e.cause), e.remote, e.reason)
        if e.kind == "circuit":
            return CircuitState(c, e.time, e.available, e.reason)
        return None

    def _glare(self, e: Any) -> list[TrunkEvent]:
        """Our call on ``e.cic`` backed off on dual seizure: the automatic repeat attempt of
        Q.764 2.10.1.4 on another idle circuit, or the end of the call (cause 34 when no circuit
        is idle, cause 41 when its repeat attempts are spent)."""
        old = self._circuit_of.get(e.cic)
        n = self._repeats.pop(e.cic, 0)
        if old is None or n >= self.config.repeat_attempts or not e.called:
            return []                       # the "released" that follows ends the call (cause 41)
        self._backed_off.add(e.cic)
        try:
            cic = self.stack.isup.setup(e.called, e.calling, e.time,
                                        category=0x0A if e.category is None else int(e.category))
        except LocalProtocolError:
            self.counters["repeat_no_circuit"] += 1
            return [Released(old, e.time, int(Cause.NO_CIRCUIT_AVAILABLE), True,
                             "dual seizure (glare), backed off; no idle circuit for the repeat attempt")]
        self.stack.flush(e.time)
        self.counters["repeat_attempts"] += 1
        self._repeats[cic] = n + 1
        return [Reattempted(old, e.time, self._circuit_of[cic], int(e.cause or Cause.TEMPORARY_FAILURE),
                            f"{e.reason}: automatic repeat attempt (Q.764 2.10.1.4)", n + 1)]

    def _reset_done(self, e: Any) -> list[TrunkEvent]:
        """After RSC/GRS is acknowledged: the circuits of the group that are usable."""
        out: list[TrunkEvent] = []
        for cic in range(e.cic, e.cic + e.count):
            st = self.stack.isup.circuits.get(cic)
            if st is not None and st.available and cic in self._circuit_of:
                out.append(CircuitState(self._circuit_of[cic], e.time, True, "reset acknowledged"))
        return out
