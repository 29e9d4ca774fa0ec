"""What every simulated exchange offers, whatever it signals with (No.1 or SS7).

An exchange sits on the *far side* of simulator spans (a :class:`drivers.base.Span`
seen from the network) and plays the public network: it places calls to us from a
script, and answers our calls according to the subscriber the called number names.
Tests and the demo scenario read :attr:`Exchange.records` to know what happened.
"""
from __future__ import annotations

import abc
import enum
from dataclasses import dataclass, field

from cti.signaling.trunk import Alerting, Answered, Proceeding, Released, TrunkEvent
from drivers.base import Span

#: Behaviours of a called subscriber whose outcome is named after them (CallRecord.outcome).
_NAMED_OUTCOMES = ("busy", "unallocated", "congestion", "no_answer")


class Behaviour(str, enum.Enum):
    """How a called subscriber of the simulated network responds to our calls."""

    ANSWER = "answer"            #: rings, answers after answer_after seconds
    NO_ANSWER = "no_answer"      #: rings until we give up
    BUSY = "busy"
    UNALLOCATED = "unallocated"
    CONGESTION = "congestion"


@dataclass
class Subscriber:
    number: str
    behaviour: Behaviour = Behaviour.ANSWER
    answer_after: float = 2.0
    hold_for: float | None = 10.0   #: clears this long after answer; None: waits for us
    digits: str = ""                #: DTMF typed after answer (sent in-band)


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
    extra: dict = field(default_factory=dict)


class Exchange(abc.ABC):
    """A simulated exchange on the far side of some spans."""

    signalling: str = ""
    #: Q.850 cause of a failed call to us -> its outcome (calls the exchange placed)
    outcome_of_cause: dict[int, str] = {}

    def __init__(self, spans: list[Span], subscribers: dict[str, Subscriber] | None = None,
                 default: Subscriber | None = None) -> None:
        self.spans = spans
        self.subscribers: dict[str, Subscriber] = dict(subscribers or {})
        self.default = default or Subscriber(number="*")
        self.records: list[CallRecord] = []
        self.pending: list[CallScript] = []
        self.now = 0.0
        self.log: list[TrunkEvent] = []   #: every trunk event, for tests and traces
        self._timers: list[tuple[float, int, str, tuple[int, int]]] = []
        self._seq = 0

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
        """Run ``_on_timer(what, circuit, now)`` at ``when`` (ties in the order asked)."""
        self._seq += 1
        self._timers.append((when, self._seq, what, circuit))

    def _run_timers(self, now: float) -> None:
        due = [t for t in self._timers if t[0] <= now]
        if due:
            self._timers = [t for t in self._timers if t[0] > now]
            for _, _, what, circuit in sorted(due):
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
        if rec.answered_at is not None:
            rec.outcome = "answered"
        elif rec.extra.get("abandoned"):
            rec.outcome = "abandoned"
        elif rec.direction == "from_us":
            b = rec.extra.get("behaviour")
            rec.outcome = b if b in _NAMED_OUTCOMES else ("abandoned" if ev.remote else "failed")
        else:
            rec.outcome = self.outcome_of_cause.get(int(ev.cause), "failed")
