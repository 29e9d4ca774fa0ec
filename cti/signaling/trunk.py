"""The one seam between signalling stacks and the call model.

A *trunk adapter* owns the stacks for some spans of a board (No.1 on CAS spans, SS7 on
CCS spans), services them from the board every block, and speaks to the call model in
the trunk primitives below, identical for every signalling system. Circuits are named
``(span, timeslot)`` everywhere above this layer; SS7 maps CICs to them by configuration.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from collections.abc import Iterable

from drivers.base import Alarm, AudioBlock

Circuit = tuple[int, int]  #: (span, timeslot)


@dataclass(frozen=True, slots=True)
class TrunkEvent:
    circuit: Circuit
    time: float


@dataclass(frozen=True, slots=True)
class IncomingCall(TrunkEvent):
    """The network seized a circuit and delivered the numbers (No.1 after MFC, SS7 on IAM)."""

    called: str
    calling: str | None = None
    category: int | None = None      #: No.1 KD / ISUP calling party's category
    signalling: str = ""             #: "no1" | "ss7"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Proceeding(TrunkEvent):
    """Our outgoing call reached the far exchange (seizure acknowledged / IAM sent)."""


@dataclass(frozen=True, slots=True)
class Alerting(TrunkEvent):
    """The called party is being rung (No.1 B1 / B6, ISUP ACM with subscriber free)."""


@dataclass(frozen=True, slots=True)
class Answered(TrunkEvent):
    """The called party answered (No.1 answer signal, ISUP ANM/CON)."""


@dataclass(frozen=True, slots=True)
class Released(TrunkEvent):
    """The call on the circuit ended: cleared by the far end, failed, or our release completed."""

    cause: int                       #: Q.850 cause
    remote: bool = True              #: True when the far end (or a fault) ended it
    reason: str = ""                 #: human text: "B2 busy", "T7 expired", "LOS"


@dataclass(frozen=True, slots=True)
class Reattempted(TrunkEvent):
    """Our outgoing call lost a dual seizure (glare) on ``circuit`` and was placed again, the same
    numbers and category, on ``new_circuit`` of the same trunk group: the automatic repeat attempt
    of ITU-T Q.764 2.10.1.4 (ISUP) and Q.12 (CAS / R2). The call keeps its identity; only its
    circuit changes. (A far-end call may now arrive on ``circuit``: that is another call.)"""

    new_circuit: Circuit
    cause: int = 41                  #: Q.850 cause of the backed-off attempt (41 temporary failure)
    reason: str = ""
    attempt: int = 1                 #: 1 for the first repeat attempt

    @property
    def circuit_old(self) -> Circuit:
        return self.circuit

    @property
    def circuit_new(self) -> Circuit:
        return self.new_circuit


@dataclass(frozen=True, slots=True)
class CircuitState(TrunkEvent):
    """Blocking / alarm state of a circuit changed (BLO/UBL, No.1 blocking, span alarms)."""

    available: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SeizureFailed(CircuitState):
    """An incoming seizure that never became a call: the far end went silent or cleared in
    the middle of the register (No.1), so no IncomingCall was offered. Reported at once, so an
    operator can count failed seizures; as a :class:`CircuitState` (``available`` False) it
    keeps the circuit's state visible until the far end's clear-forward frees it, when a
    CircuitState with ``available`` True follows."""

    cause: int = 0                   #: Q.850 cause of the failure (102 timer, 111 protocol, 16 cleared)
    called: str = ""                 #: the called digits received before it failed
    calling: str | None = None


@dataclass(frozen=True, slots=True)
class DigitsReceived(TrunkEvent):
    """In-band digits detected on a connected circuit (DTMF)."""

    digits: str


class TrunkError(Exception):
    """A request the adapter cannot carry out (no free circuit, wrong state)."""

    def __init__(self, message: str, cause: int = 31) -> None:
        super().__init__(message)
        self.cause = cause


class TrunkAdapter(abc.ABC):
    """Signalling for some spans of a board, as seen by the call model."""

    signalling: str = ""  #: "no1" | "ss7"

    @abc.abstractmethod
    def circuits(self) -> list[Circuit]:
        """Every circuit this adapter signals for."""

    @abc.abstractmethod
    def service(self, now: float) -> list[TrunkEvent]:
        """Exchange signals with the board and run timers up to ``now``; the events that resulted."""

    @abc.abstractmethod
    def make_call(self, called: str, calling: str | None, now: float,
                  circuit: Circuit | None = None) -> Circuit:
        """Start an outgoing call on ``circuit`` (or a free one); raises TrunkError."""

    @abc.abstractmethod
    def alert(self, circuit: Circuit, now: float) -> None:
        """Tell the caller of an incoming call that the called party is free and rung."""

    @abc.abstractmethod
    def answer(self, circuit: Circuit, now: float) -> None:
        """Answer the incoming call on ``circuit``."""

    @abc.abstractmethod
    def release(self, circuit: Circuit, cause: int, now: float) -> None:
        """Clear the call on ``circuit`` (or reject it, with ``cause``)."""

    def timer_deadline(self) -> float | None:
        """The earliest time ``service`` must be called again even without input."""
        return None

    def resend_line_state(self, now: float) -> None:
        """Send again whatever the far end must see continuously (No.1: every circuit's CAS
        bits), after a card or peer reconnected. Stacks without level signalling do nothing."""
        return None


@runtime_checkable
class CasSpan(Protocol):
    """All a line-signalling (CAS) trunk needs of a span: abcd bits both ways, 20 ms A-law
    blocks both ways (MFC tones), and the span's alarms. A card or peer integration need not
    provide HDLC channels or counters (a :class:`drivers.base.Span` has them too, and fits).

    A backend must not report all-zero abcd bits (``cas(ts) == 0``) before the far end is
    up: a,b = 00 is a seizure in No.1 / R2, so every circuit would look seized. Report idle
    (a,b = 10: ``0b1011`` in China, ``0b1001`` ITU) or raise an alarm (LOS, AIS ...) until the
    far end's bits are known.

    Optional: ``cas_age(ts) -> float | None``, how long the received abcd has been on the line
    (a card that debounces CAS and stamps each change, as :meth:`drivers.base.Span.cas_age`):
    line signalling then counts its recognition time from the line, not from its poll."""

    number: int

    def cas(self, ts: int) -> int: ...

    def set_cas(self, ts: int, abcd: int) -> None: ...

    @property
    def alarms(self) -> Alarm: ...

    def read_audio(self, timeslots: Iterable[int] | None = None) -> AudioBlock | None: ...

    def write_audio(self, ts: int, alaw: bytes) -> None: ...
