"""Digit collection for IVR: prompt with barge-in, first-digit and inter-digit timeouts,
terminator and maximum length (sans-IO, time passed in).

The machine is a :class:`cti.signaling.engine.Table` (the one engine): Idle -> Prompting ->
(prompt done) WaitFirst -> Collecting -> Done. Which way a digit goes (the terminator, the
last digit wanted, barge-in during the prompt) is a guarded row; the first-digit and
inter-digit timeouts are the entry timers of WaitFirst and Collecting (a digit in Collecting
restarts the inter-digit timer), their expiry the row Timeout. Actions only record digits
and the result.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from cti.signaling.engine import Machine, Row, Table
from cti.signaling.timers import TimerSpec

DTMF = "0123456789*#ABCD"


class CollectState(str, enum.Enum):
    IDLE = "Idle"
    PROMPTING = "Prompting"
    WAIT_FIRST = "WaitFirst"
    COLLECTING = "Collecting"
    DONE = "Done"


class CollectEvent(str, enum.Enum):
    START = "Start"
    PROMPT_DONE = "PromptDone"
    DIGIT = "Digit"
    TIMEOUT = "Timeout"


@dataclass(frozen=True)
class CollectSpec:
    """What to collect (CollectDigits request / one IVR menu step)."""

    max_digits: int = 1
    first_timeout: float = 5.0
    inter_digit_timeout: float = 3.0
    terminator: str = "#"          #: "" for none
    barge_in: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.max_digits <= 64:
            raise ValueError(f"max_digits must be 1..64, not {self.max_digits}")
        if not 0 < self.first_timeout <= 3600 or not 0 < self.inter_digit_timeout <= 3600:
            raise ValueError("timeouts must be positive (at most 3600 s)")
        if self.terminator and (len(self.terminator) != 1 or self.terminator not in DTMF):
            raise ValueError(f"terminator must be one DTMF digit or empty, not {self.terminator!r}")


@dataclass(frozen=True)
class Collected:
    digits: str
    reason: str        #: "max", "terminator", "timeout"


class DigitCollector:
    """Collects one answer. Feed it digits, prompt completion and time; read ``result``."""

    def __init__(self, spec: CollectSpec) -> None:
        self.spec = spec
        self.fsm: Machine[DigitCollector] = Machine(TABLE, self, name="collect", timer_values={
            "first": spec.first_timeout, "inter": spec.inter_digit_timeout})
        self.digits = ""
        self.result: Collected | None = None
        self.stop_prompt = False       #: set when a barge-in digit should stop the prompt

    @property
    def state(self) -> CollectState:
        st: CollectState = self.fsm.state
        return st

    @property
    def deadline(self) -> float | None:
        """When :meth:`service` must run next (the running timeout), or None."""
        due: float | None = self.fsm.deadline()
        return due

    def start(self, now: float, *, prompt: bool) -> None:
        self.fsm.fire(E.START, prompt, now)

    def prompt_done(self, now: float) -> None:
        self.fsm.fire_if(E.PROMPT_DONE, None, now)

    def digit(self, d: str, now: float) -> None:
        if len(d) != 1 or d not in DTMF:
            raise ValueError(f"not a DTMF digit: {d!r}")
        self.fsm.fire(E.DIGIT, d, now)

    def service(self, now: float) -> None:
        self.fsm.handle_timer(now)

    # -- guards (ctx, message) ------------------------------------------------------------------
    def with_prompt(self, prompt: Any) -> bool:
        return bool(prompt)

    def barge_in(self, d: Any) -> bool:
        return self.spec.barge_in

    def is_terminator(self, d: Any) -> bool:
        return bool(self.spec.terminator) and d == self.spec.terminator

    def completes(self, d: Any) -> bool:
        """This digit is the last one wanted."""
        return len(self.digits) + 1 >= self.spec.max_digits

    def barge_terminator(self, d: Any) -> bool:
        return self.barge_in(d) and self.is_terminator(d)

    def barge_completes(self, d: Any) -> bool:
        return self.barge_in(d) and self.completes(d)

    # -- actions (ctx, message, now) ------------------------------------------------------------
    def add(self, d: str, now: float) -> None:
        self.digits += d

    def barge(self, d: str, now: float) -> None:
        self.stop_prompt = True
        self.digits += d

    def finish_max(self, d: str, now: float) -> None:
        self.digits += d
        self.result = Collected(self.digits, "max")

    def barge_max(self, d: str, now: float) -> None:
        self.stop_prompt = True
        self.finish_max(d, now)

    def finish_terminator(self, d: str, now: float) -> None:
        self.result = Collected(self.digits, "terminator")

    def barge_terminator_done(self, d: str, now: float) -> None:
        self.stop_prompt = True
        self.finish_terminator(d, now)

    def finish_timeout(self, timer: Any, now: float) -> None:
        self.result = Collected(self.digits, "timeout")


C, E, D = CollectState, CollectEvent, DigitCollector
_IVR = "IVR digit collection (CSTA collect digits)"

#: The collector (see the module docstring).
TABLE = Table("collect", C.IDLE, (
    Row(C.IDLE, E.START, C.PROMPTING, None, D.with_prompt, clause=_IVR),
    Row(C.IDLE, E.START, C.WAIT_FIRST, clause=_IVR),
    Row(C.PROMPTING, E.PROMPT_DONE, C.WAIT_FIRST),
    Row(C.PROMPTING, E.DIGIT, C.DONE, D.barge_terminator_done, D.barge_terminator, clause="barge-in"),
    Row(C.PROMPTING, E.DIGIT, C.DONE, D.barge_max, D.barge_completes, clause="barge-in"),
    Row(C.PROMPTING, E.DIGIT, C.COLLECTING, D.barge, D.barge_in, clause="barge-in"),
    Row(C.PROMPTING, E.DIGIT, None, clause="no barge-in: ignored"),
    Row(C.WAIT_FIRST, E.DIGIT, C.DONE, D.finish_terminator, D.is_terminator),
    Row(C.WAIT_FIRST, E.DIGIT, C.DONE, D.finish_max, D.completes),
    Row(C.WAIT_FIRST, E.DIGIT, C.COLLECTING, D.add),
    Row(C.COLLECTING, E.DIGIT, C.DONE, D.finish_terminator, D.is_terminator),
    Row(C.COLLECTING, E.DIGIT, C.DONE, D.finish_max, D.completes),
    Row(C.COLLECTING, E.DIGIT, None, D.add, start=("inter",)),
    Row(C.WAIT_FIRST, E.TIMEOUT, C.DONE, D.finish_timeout),
    Row(C.COLLECTING, E.TIMEOUT, C.DONE, D.finish_timeout),
    Row(C.DONE, E.DIGIT, None, clause="late digits after the result are ignored"),
    Row(C.DONE, E.PROMPT_DONE, None),
), timers={
    "first": TimerSpec("first", 5.0, 0.0, 3600.0, _IVR, "first-digit timeout (CollectSpec.first_timeout)"),
    "inter": TimerSpec("inter", 3.0, 0.0, 3600.0, _IVR, "inter-digit timeout (CollectSpec.inter_digit_timeout)"),
}, entry={C.WAIT_FIRST: ("first",), C.COLLECTING: ("inter",)},
    expiry={"first": E.TIMEOUT, "inter": E.TIMEOUT}, final=frozenset({C.DONE}))
