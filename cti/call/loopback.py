"""A trunk adapter with no signalling underneath: the network side is driven in-process.

Like python-can's virtual bus, it lets the call model, the bus and client applications run
without a board or a signalling stack: a test or the demo plays the network with
:meth:`LoopbackTrunk.ring` (a call to us), :meth:`far_alert` / :meth:`far_answer` /
:meth:`far_clear` / :meth:`far_digits`, and outgoing calls follow ``behaviour`` rules per
called number (answer after a delay, busy, unallocated, no answer). What the call model
asked of the adapter is recorded in :attr:`LoopbackTrunk.requests`.
"""
from __future__ import annotations

import collections
import heapq
import itertools
from dataclasses import dataclass
from collections.abc import Callable

from cti.signaling.causes import Cause
from cti.signaling.trunk import (Alerting, Answered, Circuit, CircuitState, DigitsReceived,
                                 IncomingCall, Proceeding, Released, TrunkAdapter, TrunkError,
                                 TrunkEvent)


@dataclass(frozen=True)
class FarBehaviour:
    """How the far end treats a call we place: ``outcome`` after ``after`` seconds."""

    outcome: str = "answer"          #: answer | busy | unallocated | congestion | no_answer
    after: float = 1.0
    hold_for: float | None = None    #: far end clears this long after answering

    def __post_init__(self) -> None:
        if self.outcome not in ("answer", "busy", "unallocated", "congestion", "no_answer"):
            raise ValueError(f"unknown outcome {self.outcome!r}")


_CAUSE = {"busy": Cause.USER_BUSY, "unallocated": Cause.UNALLOCATED_NUMBER,
          "congestion": Cause.SWITCHING_EQUIPMENT_CONGESTION}


class LoopbackTrunk(TrunkAdapter):
    """Circuits of ``spans`` x ``timeslots`` whose network side is played by the caller."""

    def __init__(self, spans: list[int] | tuple[int, ...] = (0,),
                 timeslots: list[int] | tuple[int, ...] = tuple(range(1, 16)) + tuple(range(17, 32)),
                 *, signalling: str = "loop",
                 behaviour: Callable[[str], FarBehaviour] | None = None) -> None:
        self.signalling = signalling
        self._circuits = [(s, t) for s in spans for t in timeslots]
        self.state: dict[Circuit, str] = {c: "idle" for c in self._circuits}
        self.blocked: set[Circuit] = set()
        self.behaviour = behaviour or (lambda called: FarBehaviour())
        #: what the call model asked, newest last (bounded); ``on_request`` sees each as it happens
        self.requests: collections.deque[tuple[str, Circuit, float]] = collections.deque(maxlen=10_000)
        self.on_request: Callable[[str, Circuit, float], None] | None = None
        self._queue: list[tuple[float, int, int, TrunkEvent]] = []
        self._gen: dict[Circuit, int] = {c: 0 for c in self._circuits}  # bumps per call on a circuit
        self._seq = itertools.count()

    # ---- TrunkAdapter --------------------------------------------------------------
    def circuits(self) -> list[Circuit]:
        return list(self._circuits)

    def service(self, now: float) -> list[TrunkEvent]:
        out: list[TrunkEvent] = []
        while self._queue and self._queue[0][0] <= now:
            _, _, gen, tev = heapq.heappop(self._queue)
            # a scheduled far-end signal for a call that has since ended is stale
            if not isinstance(tev, CircuitState) and (
                    gen != self._gen[tev.circuit] or self.state[tev.circuit] == "idle"):
                continue
            if isinstance(tev, Released):
                self.state[tev.circuit] = "idle"
            elif isinstance(tev, Answered):
                self.state[tev.circuit] = "connected"
            out.append(tev)
        return out

    def timer_deadline(self) -> float | None:
        return self._queue[0][0] if self._queue else None

    def make_call(self, called: str, calling: str | None, now: float,
                  circuit: Circuit | None = None) -> Circuit:
        if circuit is None:
            free = [c for c in self._circuits if self.state[c] == "idle" and c not in self.blocked]
            if not free:
                raise TrunkError("no idle circuit", int(Cause.NO_CIRCUIT_AVAILABLE))
            circuit = free[0]
        elif self.state.get(circuit) != "idle" or circuit in self.blocked:
            raise TrunkError(f"circuit {circuit} not idle", int(Cause.NO_CIRCUIT_AVAILABLE))
        self.state[circuit] = "out"
        self._gen[circuit] += 1
        self._request("make_call", circuit, now)
        b = self.behaviour(called)
        self._at(now, Proceeding(circuit, now))
        if b.outcome in _CAUSE:
            self._at(now + b.after, Released(circuit, now + b.after, int(_CAUSE[b.outcome]), True, b.outcome))
        else:
            self._at(now + min(0.1, b.after), Alerting(circuit, now + min(0.1, b.after)))
            if b.outcome == "answer":
                self._at(now + b.after, Answered(circuit, now + b.after))
                if b.hold_for is not None:
                    t = now + b.after + b.hold_for
                    self._at(t, Released(circuit, t, int(Cause.NORMAL_CLEARING), True, "far end cleared"))
        return circuit

    def alert(self, circuit: Circuit, now: float) -> None:
        self._check(circuit, ("in",), "alert")
        self._request("alert", circuit, now)

    def answer(self, circuit: Circuit, now: float) -> None:
        self._check(circuit, ("in",), "answer")
        self.state[circuit] = "connected"
        self._request("answer", circuit, now)

    def release(self, circuit: Circuit, cause: int, now: float) -> None:
        self._check(circuit, ("in", "out", "connected"), "release")
        self.state[circuit] = "idle"
        self._request("release", circuit, now)

    def _request(self, what: str, circuit: Circuit, now: float) -> None:
        self.requests.append((what, circuit, now))
        if self.on_request is not None:
            self.on_request(what, circuit, now)

    def _check(self, circuit: Circuit, states: tuple[str, ...], what: str) -> None:
        if self.state.get(circuit) not in states:
            raise TrunkError(f"{what}: circuit {circuit} is {self.state.get(circuit, 'unknown')}")

    def _at(self, t: float, tev: TrunkEvent) -> None:
        heapq.heappush(self._queue, (t, next(self._seq), self._gen[tev.circuit], tev))

    # ---- the network side (what a test or the demo plays) ---------------------------------
    def ring(self, called: str, calling: str | None, now: float, circuit: Circuit | None = None) -> Circuit:
        """The network seizes an idle circuit and offers a call to ``called``."""
        if circuit is None:
            free = [c for c in self._circuits if self.state[c] == "idle" and c not in self.blocked]
            if not free:
                raise TrunkError("no idle circuit", int(Cause.NO_CIRCUIT_AVAILABLE))
            circuit = free[-1]   # the far end hunts from the other end (less glare)
        self.state[circuit] = "in"
        self._gen[circuit] += 1
        self._at(now, IncomingCall(circuit, now, called, calling, signalling=self.signalling))
        return circuit

    def far_alert(self, circuit: Circuit, now: float) -> None:
        self._at(now, Alerting(circuit, now))

    def far_answer(self, circuit: Circuit, now: float) -> None:
        self._at(now, Answered(circuit, now))

    def far_clear(self, circuit: Circuit, now: float, cause: int = int(Cause.NORMAL_CLEARING)) -> None:
        self._at(now, Released(circuit, now, cause, True, "far end cleared"))

    def far_digits(self, circuit: Circuit, digits: str, now: float) -> None:
        self._at(now, DigitsReceived(circuit, now, digits))

    def block(self, circuit: Circuit, now: float, blocked: bool = True) -> None:
        (self.blocked.add if blocked else self.blocked.discard)(circuit)
        self._at(now, CircuitState(circuit, now, not blocked, "blocked" if blocked else "unblocked"))
