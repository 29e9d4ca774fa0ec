"""What every simulated exchange offers, whatever it signals with (No.1 or SS7).

An exchange sits on the *far side* of simulator spans (a :class:`drivers.base.Span`
seen from the network) and plays the public network: it places calls to us from a
script, and answers our calls according to the subscriber the called number names.
Tests and the demo scenario read :attr:`Exchange.records` to know what happened.

On the calls we place it also plays what a caller hears in band on the voice timeslot
(:mod:`simulator.exchange.inband`, docs/simulator.md "In-band tones"): ringback while alerting,
busy or congestion tone for the subscribers that give them in band, and the called party's
speech once answered. A subscriber with ``pbx=True`` is a PBX behind the trunk: it answers
the trunk at once and says everything else in band.
"""
from __future__ import annotations

import abc
import enum
from dataclasses import dataclass, field
from typing import Any, ClassVar

from cti.signaling.trunk import Alerting, Answered, Proceeding, Released, TrunkEvent
from drivers.base import Span

from .inband import InbandPlayer

#: Behaviours of a called subscriber whose outcome is named after them (CallRecord.outcome).
_NAMED_OUTCOMES = ("busy", "unallocated", "congestion", "no_answer", "busy_tone", "congestion_tone")


class Behaviour(str, enum.Enum):
    """How a called subscriber of the simulated network responds to our calls."""

    ANSWER = "answer"            #: rings, answers after answer_after seconds
    NO_ANSWER = "no_answer"      #: rings until we give up
    BUSY = "busy"
    UNALLOCATED = "unallocated"
    CONGESTION = "congestion"
    BUSY_TONE = "busy_tone"      #: alerts in signalling, plays busy tone in band until we clear
    CONGESTION_TONE = "congestion_tone"   #: alerts in signalling, congestion tone in band


#: What a subscriber's behaviour sounds like in band before any answer.
_TONE_OF = {Behaviour.ANSWER: "ringback", Behaviour.NO_ANSWER: "ringback", Behaviour.BUSY: "busy",
            Behaviour.BUSY_TONE: "busy", Behaviour.CONGESTION: "congestion",
            Behaviour.CONGESTION_TONE: "congestion", Behaviour.UNALLOCATED: "congestion"}


@dataclass
class Subscriber:
    number: str
    behaviour: Behaviour = Behaviour.ANSWER
    answer_after: float = 2.0
    hold_for: float | None = 10.0   #: clears this long after answer; None: waits for us
    digits: str = ""                #: DTMF typed after answer (sent in-band)
    pbx: bool = False               #: a PBX: answers the trunk at once, the rest only in band
    speech: bool = True             #: talks once answered (in band)

    def __post_init__(self) -> None:
        self.behaviour = Behaviour(self.behaviour)


@dataclass
class CallScript:
    """A call the network places to us."""

    at: float                       #: when to seize, exchange time
    called: str
    calling: str | None = None
    category: int | None = None     #: No.1 KD / ISUP calling party's category
    hold_for: float | None = 10.0   #: far end clears this long after answer; None: waits for us
    abandon_after: float | None = None  #: far end gives up if not answered by then
    digits: str = ""                #: DTMF typed after answer (sent in-band)


@dataclass
class CallRecord:
    """What became of one call, either direction, as the exchange saw it."""

    direction: str                  #: "to_us" (placed by the exchange) | "from_us"
    called: str
    calling: str | None
    circuit: tuple[int, int] | None = None
    seized_at: float | None = None
    alerted_at: float | None = None
    answered_at: float | None = None
    cleared_at: float | None = None
    cleared_by: str | None = None   #: "far" (the exchange) | "near" (us)
    cause: int | None = None        #: Q.850
    outcome: str = "pending"        #: answered, busy, unallocated, congestion, no_answer, abandoned, failed
    extra: dict[str, Any] = field(default_factory=dict)


class Exchange(abc.ABC):
    """A simulated exchange on the far side of some spans."""

    signalling: str = ""
    #: Q.850 cause of a failed call to us -> its outcome (calls the exchange placed)
    outcome_of_cause: ClassVar[dict[int, str]] = {}
    #: circuit -> the live call (its record, with the trunk where the subclass keeps it): each concrete exchange fills it
    _by_circuit: dict[tuple[int, int], Any]

    def __init__(self, spans: list[Span], subscribers: dict[str, Subscriber] | None = None,
                 default: Subscriber | None = None, *, inband: bool = True, country: str = "cn",
                 seed: int = 0) -> None:
        self.spans = spans
        #: in-band audio toward us on calls we place (None: silent timeslots, as before)
        self.inband: InbandPlayer | None = InbandPlayer(spans, country, seed) if inband else None
        self._inband_due: dict[tuple[int, int], str] = {}
        self.subscribers: dict[str, Subscriber] = dict(subscribers or {})
        self.default = default or Subscriber(number="*")
        self.records: list[CallRecord] = []
        self.pending: list[CallScript] = []
        self.now = 0.0
        self.log: list[TrunkEvent] = []   #: every trunk event, for tests and traces
        self._timers: list[tuple[float, int, str, tuple[int, int], CallRecord | None]] = []
        self._seq = 0
        #: timers that came due after the call they were set for had left the circuit (ignored)
        self.stale_timers = 0

    def subscriber(self, number: str) -> Subscriber:
        """The subscriber a called number reaches (the default when not listed)."""
        return self.subscribers.get(number, self.default)

    def place_call(self, script: CallScript) -> None:
        """Schedule a call to us."""
        self.pending.append(script)
        self.pending.sort(key=lambda s: s.at)

    @abc.abstractmethod
    def service(self, now: float) -> None:
        """Exchange signals with the spans, start due scripted calls, run timers up to ``now``."""

    def active_calls(self) -> list[CallRecord]:
        return [r for r in self.records if r.cleared_at is None]

    # ---- shared machinery of the concrete exchanges -------------------------------------
    def _start_due(self, now: float) -> None:
        """Start every scripted call due by ``now`` (``_start`` of the subclass)."""
        while self.pending and self.pending[0].at <= now:
            self._start(self.pending.pop(0), now)

    @abc.abstractmethod
    def _start(self, script: CallScript, now: float) -> None:
        """Seize a circuit and place the scripted call ``script`` toward us."""

    def _scripted_record(self, script: CallScript, now: float) -> CallRecord:
        """A new record (in ``records``) for a scripted call to us seized at ``now``."""
        rec = CallRecord("to_us", script.called, script.calling, seized_at=now)
        rec.extra["script"] = script
        self.records.append(rec)
        return rec

    def _later(self, when: float, what: str, circuit: tuple[int, int]) -> None:
        """Run ``_on_timer(what, circuit, now)`` at ``when`` (ties in the order asked), for the
        call now on ``circuit`` only: once that call is released and the circuit idle again, a
        new seizure is a new call (Q.421 clause 5 / Q.764 2.3: release guard, RLC), and the
        caller's patience, hold time or answer delay of the earlier call must not act on it."""
        self._seq += 1
        self._timers.append((when, self._seq, what, circuit, self.record(circuit)))

    def _run_timers(self, now: float) -> None:
        due = [t for t in self._timers if t[0] <= now]
        if due:
            self._timers = [t for t in self._timers if t[0] > now]
            for _, _, what, circuit, owner in sorted(due, key=lambda t: t[:2]):
                if owner is not None and self.record(circuit) is not owner:
                    self.stale_timers += 1
                    continue
                self._on_timer(what, circuit, now)

    @abc.abstractmethod
    def _on_timer(self, what: str, circuit: tuple[int, int], now: float) -> None:
        """Act on a timer set with ``_later`` ("answer", "hangup", "abandon", ...)."""

    def _progress(self, rec: CallRecord, ev: TrunkEvent) -> None:
        """Note on ``rec`` what the trunk reported about its call (proceeding, alerting,
        answer, release); a released call leaves the subclass's ``_by_circuit``."""
        if isinstance(ev, Proceeding):
            rec.extra["proceeding_at"] = ev.time
        elif isinstance(ev, Alerting):
            rec.alerted_at = ev.time
        elif isinstance(ev, Answered):
            rec.answered_at = ev.time
            script = rec.extra.get("script")
            if script is not None:
                self._after_answer(ev.circuit, ev.time, script.digits, script.hold_for)
        elif isinstance(ev, Released):
            self._cleared(rec, ev)
            self._play(ev.circuit, None, ev.time)
            del self._by_circuit[ev.circuit]

    def _after_answer(self, circuit: tuple[int, int], at: float, digits: str, hold_for: float | None) -> None:
        """A call just answered: play ``digits`` in-band, schedule the far end's hang-up."""
        if digits:
            self._send_dtmf(circuit, digits)
        if hold_for is not None:
            self._later(at + hold_for, "hangup", circuit)

    @abc.abstractmethod
    def _send_dtmf(self, circuit: tuple[int, int], digits: str) -> None:
        """Play ``digits`` as DTMF toward us on ``circuit``."""

    def _cleared(self, rec: CallRecord, ev: Released) -> None:
        """Close ``rec`` on the trunk's Released: when, why, by whom, and the outcome."""
        rec.cleared_at = ev.time
        rec.cause = int(ev.cause)
        if rec.cleared_by is None:
            rec.cleared_by = "near" if ev.remote else "far"
        rec.extra["reason"] = ev.reason
        if rec.answered_at is not None and not rec.extra.get("pbx"):
            rec.outcome = "answered"
        elif rec.extra.get("abandoned"):
            rec.outcome = "abandoned"
        elif rec.direction == "from_us" and rec.extra.get("pbx"):
            b = rec.extra.get("behaviour")
            rec.outcome = "answered" if rec.extra.get("extension_answered_at") is not None else (b or "failed")
        elif rec.direction == "from_us":
            b = rec.extra.get("behaviour")
            rec.outcome = b if b in _NAMED_OUTCOMES else ("abandoned" if ev.remote else "failed")
        else:
            rec.outcome = self.outcome_of_cause.get(int(ev.cause), "failed")

    # ---- in-band audio toward us on calls we placed ------------------------------------
    def _play(self, circuit: tuple[int, int], what: str | None, now: float) -> None:
        """Play ``what`` ("ringback", "busy", "congestion", "voice"; None = stop) on ``circuit``
        as soon as the circuit's register signalling has finished."""
        if self.inband is None:
            return
        if what is None:
            self._inband_due.pop(circuit, None)
            self.inband.stop(circuit)
            return
        rec = self.record(circuit)
        if rec is not None:
            rec.extra.setdefault("inband", []).append((now, what))
        self.inband.stop(circuit)
        self._inband_due[circuit] = what
        self._service_inband(now)

    def _service_inband(self, now: float) -> None:
        """Start due sources whose circuit is free of register tones; write audio up to ``now``."""
        if self.inband is None:
            return
        for circuit, what in list(self._inband_due.items()):
            if self._inband_ready(circuit):
                del self._inband_due[circuit]
                self.inband.play(circuit, what, now)
        self.inband.service(now)

    def _inband_ready(self, circuit: tuple[int, int]) -> bool:
        """The timeslot carries no signalling tones now (No.1: the MFC register is done)."""
        return True

    def record(self, circuit: tuple[int, int]) -> CallRecord | None:
        """The live call record on ``circuit`` (None when the circuit is free)."""
        return None

    def _respond(self, rec: CallRecord, sub: Subscriber, circuit: tuple[int, int], now: float) -> str:
        """How the network responds to a call from us to ``sub``: "release" (busy, unallocated,
        congestion in signalling: the subclass releases with its cause), "answer" (a PBX picks up
        the trunk) or "alert"; schedules the called party's answer and starts the in-band tone."""
        rec.extra.update(behaviour=sub.behaviour.value)
        if sub.pbx:
            rec.extra["pbx"] = True
            rec.answered_at = now
            self._play(circuit, _TONE_OF[sub.behaviour], now)
            if sub.behaviour is Behaviour.ANSWER:
                self._later(now + sub.answer_after, "answer", circuit)
            return "answer"
        if sub.behaviour in (Behaviour.BUSY, Behaviour.UNALLOCATED, Behaviour.CONGESTION):
            return "release"
        rec.alerted_at = now
        self._play(circuit, _TONE_OF[sub.behaviour], now)
        if sub.behaviour is Behaviour.ANSWER:
            self._later(now + sub.answer_after, "answer", circuit)
        return "alert"

    def _answered_by(self, rec: CallRecord, circuit: tuple[int, int], now: float) -> bool:
        """The called party picks up (the "answer" timer): speech in band, the hang-up timer.
        True when the trunk must signal the answer (False: a PBX line, answered already)."""
        sub = self.subscriber(rec.called)
        self._play(circuit, "voice" if sub.speech else None, now)
        if rec.extra.get("pbx"):
            rec.extra["extension_answered_at"] = now
            self._after_answer(circuit, now, sub.digits, sub.hold_for)
            return False
        return True
