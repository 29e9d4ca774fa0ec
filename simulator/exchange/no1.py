"""A simulated public exchange speaking China No.1 (R2 CAS + MFC) on simulator spans.

It is the other side of the same sans-IO FSMs: one :class:`~cti.signaling.no1.trunk.No1Trunk`
per far-end span (``SimBoard.far_end(n)``), driven by subscriber behaviours and call
scripts instead of a call model. Calls *from us* reach a :class:`Subscriber` by the called
number (answer / no answer / busy / unallocated / congestion); calls *to us* follow
:class:`CallScript` entries (DNIS, ANI, KD category, hold time, abandon time, DTMF).

    ex = No1Exchange([board.far_end(0)], subscribers={"8001": Subscriber("8001", Behaviour.BUSY)})
    board.add_ticker(ex.service)
    ex.place_call(CallScript(at=1.0, called="2000", calling="13800138000"))
"""
from __future__ import annotations

from typing import Any

from _boardcore.g711 import alaw_encode
from cti.media.path import dtmf_pcm
from cti.signaling.causes import Cause
from cti.signaling.no1.config import No1Config
from cti.signaling.no1.trunk import No1Trunk
from cti.signaling.trunk import IncomingCall, Released, TrunkError, TrunkEvent
from drivers.base import Span

from .base import Behaviour, CallRecord, CallScript, Exchange, Subscriber

_REJECT_CAUSE = {
    Behaviour.BUSY: Cause.USER_BUSY,
    Behaviour.UNALLOCATED: Cause.UNALLOCATED_NUMBER,
    Behaviour.CONGESTION: Cause.SWITCHING_EQUIPMENT_CONGESTION,
}
_OUTCOME_OF_CAUSE: dict[int, str] = {
    Cause.USER_BUSY: "busy",
    Cause.UNALLOCATED_NUMBER: "unallocated",
    Cause.SWITCHING_EQUIPMENT_CONGESTION: "congestion",
    Cause.NO_CIRCUIT_AVAILABLE: "congestion",
    Cause.NO_ANSWER: "no_answer",
}
#: The simulated network's numbering plan beyond the 4-digit default: China mobile numbers
#: (13x-19x) have 11 digits (the register collects them all before A3).
MOBILE_NUMBERS: dict[str, int] = {str(p): 11 for p in range(13, 20)}


class No1Exchange(Exchange):
    """The network side of No.1 spans: places scripted calls, answers ours per subscriber."""

    signalling = "no1"
    outcome_of_cause = _OUTCOME_OF_CAUSE

    def __init__(self, spans: list[Span], subscribers: dict[str, Subscriber] | None = None,
                 default: Subscriber | None = None, config: No1Config | dict[str, Any] | None = None,
                 **inband: Any) -> None:
        super().__init__(spans, subscribers, default, **inband)
        if config is None or isinstance(config, dict):
            # the network knows our trunk: 4-digit numbers beyond its plan, and our calling
            # number; it ends the numbers it sends us with I-15 (a variable-length number then
            # needs no T_DNIS_END wait on our side)
            base: dict[str, Any] = {"glare": "hold", "hunt": "ascending", "repeat_attempts": 0,
                                    "dnis_lengths": dict(MOBILE_NUMBERS), "dnis_length": 4, "ani": True,
                                    "end_of_digits": True}
            base.update(config or {})
            config = No1Config.from_dict(base)
        self.config = config
        self.trunks = [No1Trunk(span, config) for span in spans]
        self._by_circuit: dict[tuple[int, int], tuple[No1Trunk, CallRecord]] = {}

    # ------------------------------------------------------------------ control
    def service(self, now: float) -> None:
        self.now = now
        self._start_due(now)
        for trunk in self.trunks:
            for ev in trunk.service(now):
                self.log.append(ev)
                self._on_event(trunk, ev, now)
        self._run_timers(now)
        self._service_inband(now)

    def release(self, circuit: tuple[int, int], now: float, cause: int = Cause.NORMAL_CLEARING) -> None:
        """The network clears the call on ``circuit`` (clear-forward or clear-back)."""
        trunk, rec = self._lookup(circuit)
        trunk.release(circuit, cause, now)
        if rec is not None and rec.cleared_by is None:
            rec.cleared_by = "far"

    def block(self, circuit: tuple[int, int], now: float) -> None:
        self._trunk_of(circuit).block(circuit, now)

    def unblock(self, circuit: tuple[int, int], now: float) -> None:
        self._trunk_of(circuit).unblock(circuit, now)

    def record(self, circuit: tuple[int, int]) -> CallRecord | None:
        """The live call record on ``circuit`` (None when the circuit is free)."""
        hit = self._by_circuit.get(circuit)
        return hit[1] if hit else None

    def explain(self, rec: CallRecord) -> str:
        """Why ``rec`` ended, as one of the defined outcomes, or ``"unexplained: ..."``.

        Calls the network placed to us: ``answered`` (by us), ``abandoned`` (the caller's
        scripted patience ran out before our answer, measured from seizure: see
        :meth:`_later`), ``no_circuit`` (every circuit busy or blocked at the seizure, or at
        the repeat attempt after a lost double seizure: the network's congestion, Q.850
        cause 34), ``refused:<busy|unallocated|congestion>`` (our B signal),
        ``released_by_us`` (we cleared before answering). Calls we placed: the subscriber's
        outcome (``answered``, ``busy``, ...) or ``released_by_us``.
        ``pending`` while the call lasts. Anything else (a call given up for a signalling
        reason: register or line failure, glare) is ``unexplained: <reason>``.
        """
        if rec.cleared_at is None:
            return "pending"
        reason = f"unexplained: {rec.outcome} cause {rec.cause} ({rec.extra.get('reason')})"
        if rec.direction == "from_us":
            if rec.outcome == "answered" or rec.outcome == rec.extra.get("behaviour"):
                return rec.outcome
            return "released_by_us" if rec.cleared_by == "near" else reason
        script = rec.extra.get("script")
        if rec.answered_at is not None:
            return "answered"
        if rec.extra.get("abandoned"):
            patience = getattr(script, "abandon_after", None)
            due = rec.extra.get("due", {}).get("abandon")
            if patience is not None and due is not None and abs(due - (rec.seized_at + patience)) < 1e-9:
                return "abandoned"
            return reason
        if rec.circuit is None and rec.cause == Cause.NO_CIRCUIT_AVAILABLE:
            return "no_circuit"
        if rec.cleared_by == "near":
            if rec.outcome in ("busy", "unallocated", "congestion"):
                return f"refused:{rec.outcome}"
            if rec.alerted_at is not None:
                return "released_by_us"
        return reason

    # ------------------------------------------------------------------ internals
    def _trunk_of(self, circuit: tuple[int, int]) -> No1Trunk:
        for trunk in self.trunks:
            if circuit[0] == trunk.number and circuit[1] in trunk.channels:
                return trunk
        raise TrunkError(f"circuit {circuit!r} is not on this exchange")

    def _lookup(self, circuit: tuple[int, int]) -> tuple[No1Trunk, CallRecord | None]:
        hit = self._by_circuit.get(circuit)
        if hit:
            return hit
        return self._trunk_of(circuit), None

    def _start(self, script: CallScript, now: float) -> None:
        rec = self._scripted_record(script, now)
        for trunk in self.trunks:
            try:
                circuit = trunk.make_call(script.called, script.calling, now, category=script.category)
            except TrunkError as exc:
                rec.extra["error"] = str(exc)
                continue
            rec.circuit = circuit
            self._by_circuit[circuit] = (trunk, rec)
            if script.abandon_after is not None:
                self._later(now + script.abandon_after, "abandon", circuit)
            return
        rec.cleared_at, rec.cause, rec.outcome = now, Cause.NO_CIRCUIT_AVAILABLE, "failed"

    def _on_event(self, trunk: No1Trunk, ev: TrunkEvent, now: float) -> None:
        circuit = ev.circuit
        hit = self._by_circuit.get(circuit)
        rec = hit[1] if hit else None
        if isinstance(ev, IncomingCall):
            self._offered(trunk, ev, now)
        elif rec is not None:
            if (isinstance(ev, Released) and rec.direction == "to_us" and "double seizure" in ev.reason
                    and "repeat_of" not in rec.extra):
                self._repeat(rec, ev, now)
                return
            self._progress(rec, ev)

    def _repeat(self, rec: CallRecord, ev: Released, now: float) -> None:
        """Our call to the far end lost a double seizure before anything was signalled: one
        automatic repeat attempt on another circuit (ITU-T Q.12 "automatic repeat attempt"),
        the caller's patience still counted from the first seizure."""
        del self._by_circuit[ev.circuit]
        self._play(ev.circuit, None, ev.time)
        rec.extra["repeat_of"] = ev.circuit
        script = rec.extra["script"]
        for trunk in self.trunks:
            try:
                circuit = trunk.make_call(script.called, script.calling, now, category=script.category)
            except TrunkError:
                continue
            rec.circuit = circuit
            self._by_circuit[circuit] = (trunk, rec)
            due = rec.extra.get("due", {}).get("abandon")
            if due is not None:
                self._later(due, "abandon", circuit)
            return
        rec.circuit = None
        rec.cleared_at, rec.cause, rec.outcome = now, Cause.NO_CIRCUIT_AVAILABLE, "failed"

    def _offered(self, trunk: No1Trunk, ev: IncomingCall, now: float) -> None:
        sub = self.subscriber(ev.called)
        rec = CallRecord("from_us", ev.called, ev.calling, circuit=ev.circuit, seized_at=ev.time)
        rec.extra.update(category=ev.category, ka=ev.extra.get("ka"))
        self.records.append(rec)
        self._by_circuit[ev.circuit] = (trunk, rec)
        how = self._respond(rec, sub, ev.circuit, now)
        if how == "release":
            trunk.release(ev.circuit, _REJECT_CAUSE[sub.behaviour], now)
        elif how == "answer":
            trunk.answer(ev.circuit, now)        # B1, then the answer signal
        else:
            trunk.alert(ev.circuit, now)

    def _later(self, when: float, what: str, circuit: tuple[int, int]) -> None:
        """As :meth:`Exchange._later`, bound to the call now on ``circuit`` (its record notes
        ``extra["due"][what]``): once that call is released and the circuit idle again, a new
        seizure is a new call (Q.421 clause 5, clear-forward / release guard), and the caller's patience, hold time or answer delay of the
        earlier call must not act on it."""
        hit = self._by_circuit.get(circuit)
        if hit is not None:
            hit[1].extra.setdefault("due", {})[what] = when
        super()._later(when, what, circuit)

    def _on_timer(self, what: str, circuit: tuple[int, int], now: float) -> None:
        hit = self._by_circuit.get(circuit)
        if hit is None:
            return
        trunk, rec = hit
        if rec.cleared_at is not None:
            return
        due = rec.extra.get("due", {}).get(what)
        if due is None or due > now:
            self.stale_timers += 1                # set for an earlier call on this circuit
            return
        if what == "answer" and (rec.answered_at is None or rec.extra.get("pbx")):
            if not self._answered_by(rec, circuit, now):
                return                            # a PBX line: answered in band only
            try:
                trunk.answer(circuit, now)
            except TrunkError:
                return
            rec.answered_at = now
            sub = self.subscriber(rec.called)
            self._after_answer(circuit, now, sub.digits, sub.hold_for)
        elif what == "hangup" and rec.answered_at is not None:
            rec.cleared_by = rec.cleared_by or "far"
            trunk.release(circuit, Cause.NORMAL_CLEARING, now)
        elif what == "abandon" and rec.answered_at is None:
            rec.cleared_by = rec.cleared_by or "far"
            rec.extra["abandoned"] = True
            rec.extra["abandoned_at"] = now
            trunk.release(circuit, Cause.NORMAL_CLEARING, now)

    def _inband_ready(self, circuit: tuple[int, int]) -> bool:
        hit = self._by_circuit.get(circuit)
        if hit is None:
            return False
        ch = hit[0].channels.get(circuit[1])
        return ch is not None and ch.gen is None      # the MFC register no longer sends

    def _send_dtmf(self, circuit: tuple[int, int], digits: str) -> None:
        trunk = self._by_circuit[circuit][0]
        trunk.span.write_audio(circuit[1], alaw_encode(dtmf_pcm(digits)))
