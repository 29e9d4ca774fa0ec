"""A simulated public exchange speaking SS7 (MTP2/MTP3/ISUP) on simulator spans.

It runs this project's own stack (:class:`cti.signaling.ss7.trunk.Ss7Trunk`) on the far side
of the spans (``SimBoard.far_end(n)``, signalling on TS16): it resets every circuit (GRS)
when the link comes up, answers our calls per :class:`Subscriber` behaviour (answer / no
answer / busy / unallocated / congestion), places the scripted :class:`CallScript` calls,
clears from either side and blocks/unblocks circuits on request.

    ex = Ss7Exchange([board.far_end(1)])      # default point codes: the mirror of Ss7Config's
    board.add_ticker(ex.service)
"""
from __future__ import annotations

from typing import Any

from cti.signaling.causes import Cause
from cti.signaling.ss7.config import Ss7Config
from cti.signaling.ss7.trunk import Ss7Trunk
from cti.signaling.trunk import IncomingCall, TrunkError, TrunkEvent
from drivers.base import Span

from .base import Behaviour, CallRecord, CallScript, Exchange, Subscriber

_REJECT_CAUSE = {Behaviour.BUSY: Cause.USER_BUSY, Behaviour.UNALLOCATED: Cause.UNALLOCATED_NUMBER,
                 Behaviour.CONGESTION: Cause.SWITCHING_EQUIPMENT_CONGESTION}
_OUTCOME: dict[int, str] = {Cause.USER_BUSY: "busy", Cause.UNALLOCATED_NUMBER: "unallocated",
            Cause.SWITCHING_EQUIPMENT_CONGESTION: "congestion", Cause.NO_CIRCUIT_AVAILABLE: "congestion",
            Cause.NO_ANSWER: "no_answer", Cause.NO_USER_RESPONDING: "no_answer"}


def mirror(config: dict[str, Any] | None) -> dict[str, Any]:
    """The exchange's config from the trunk's: point codes swapped."""
    d = dict(config or {})
    base = Ss7Config.from_dict(d)
    d["opc"], d["dpc"] = base.dpc, base.opc
    d["repeat_attempts"] = 0     # the simulated exchange does not repeat its calls (records by circuit)
    return d


class Ss7Exchange(Exchange):
    """The network side of SS7 spans."""

    signalling = "ss7"
    outcome_of_cause = _OUTCOME

    def __init__(self, spans: list[Span], subscribers: dict[str, Subscriber] | None = None,
                 default: Subscriber | None = None, config: Ss7Config | dict[str, Any] | None = None,
                 sockets: list[Any] | None = None, **inband: Any) -> None:
        super().__init__(spans, subscribers, default, **inband)
        if not isinstance(config, Ss7Config):
            config = Ss7Config.from_dict(mirror(config))
        self.config = config
        self.trunk = Ss7Trunk(spans, config, sockets=sockets)
        self._by_circuit: dict[tuple[int, int], CallRecord] = {}

    # ---- control -----------------------------------------------------------------------
    def service(self, now: float) -> None:
        self.now = now
        if self.trunk.stack.isup.allocate() is not None:   # not while every circuit awaits GRA
            self._start_due(now)
        for ev in self.trunk.service(now):
            self.log.append(ev)
            self._on_event(ev, now)
        self._run_timers(now)
        self._service_inband(now)

    @property
    def up(self) -> bool:
        """The signalling link set to us is available."""
        return self.trunk.stack.up

    def release(self, circuit: tuple[int, int], now: float, cause: int = Cause.NORMAL_CLEARING) -> None:
        """The network clears the call on ``circuit``."""
        rec = self._by_circuit.get(circuit)
        if rec is not None and rec.cleared_by is None:
            rec.cleared_by = "far"
        self.trunk.release(circuit, cause, now)

    def block(self, circuit: tuple[int, int], now: float) -> None:
        self.trunk.block(circuit, now)

    def unblock(self, circuit: tuple[int, int], now: float) -> None:
        self.trunk.unblock(circuit, now)

    def record(self, circuit: tuple[int, int]) -> CallRecord | None:
        return self._by_circuit.get(circuit)

    # ---- internals -----------------------------------------------------------------------
    def _start(self, script: CallScript, now: float) -> None:
        rec = self._scripted_record(script, now)
        try:
            circuit = self.trunk.make_call(script.called, script.calling, now)
        except TrunkError as exc:
            rec.extra["error"] = str(exc)
            rec.cleared_at, rec.cause, rec.outcome = now, exc.cause, "failed"
            return
        rec.circuit = circuit
        self._by_circuit[circuit] = rec
        if script.abandon_after is not None:
            self._later(now + script.abandon_after, "abandon", circuit)

    def _on_event(self, ev: TrunkEvent, now: float) -> None:
        rec = self._by_circuit.get(ev.circuit)
        if isinstance(ev, IncomingCall):
            self._offered(ev, now)
        elif rec is not None:
            self._progress(rec, ev)

    def _offered(self, ev: IncomingCall, now: float) -> None:
        sub = self.subscriber(ev.called)
        rec = CallRecord("from_us", ev.called, ev.calling, circuit=ev.circuit, seized_at=ev.time)
        rec.extra.update(category=ev.category)
        self.records.append(rec)
        self._by_circuit[ev.circuit] = rec
        how = self._respond(rec, sub, ev.circuit, now)
        if how == "release":
            rec.cleared_by = "far"
            self.trunk.release(ev.circuit, _REJECT_CAUSE[sub.behaviour], now)
        elif how == "answer":
            self.trunk.answer(ev.circuit, now)   # a PBX: CON / ANM at once
        else:
            self.trunk.alert(ev.circuit, now)

    def _on_timer(self, what: str, circuit: tuple[int, int], now: float) -> None:
        rec = self._by_circuit.get(circuit)
        if rec is None or rec.cleared_at is not None:
            return
        try:
            if what == "answer" and (rec.answered_at is None or rec.extra.get("pbx")):
                if not self._answered_by(rec, circuit, now):
                    return                        # a PBX line: answered in band only
                self.trunk.answer(circuit, now)
                rec.answered_at = now
                sub = self.subscriber(rec.called)
                self._after_answer(circuit, now, sub.digits, sub.hold_for)
            elif what == "hangup" and rec.answered_at is not None:
                rec.cleared_by = rec.cleared_by or "far"
                self.trunk.release(circuit, Cause.NORMAL_CLEARING, now)
            elif what == "abandon" and rec.answered_at is None:
                rec.cleared_by = rec.cleared_by or "far"
                rec.extra["abandoned"] = True
                self.trunk.release(circuit, Cause.NORMAL_CLEARING, now)
        except TrunkError as exc:     # the call ended meanwhile
            rec.extra["error"] = str(exc)

    def _send_dtmf(self, circuit: tuple[int, int], digits: str) -> None:
        if not self.spans:
            return
        from _boardcore.g711 import alaw_encode
        from cti.media.path import dtmf_pcm
        span = next((s for s in self.spans if getattr(s, "number", None) == circuit[0]), None)
        if span is not None:
            span.write_audio(circuit[1], alaw_encode(dtmf_pcm(digits)))
