"""Digit collection for IVR: prompt with barge-in, first-digit and inter-digit timeouts,
terminator and maximum length (sans-IO, time passed in).

States (a transition table): Idle -> Prompting -> (prompt done) WaitFirst -> Collecting -> Done.
A digit while Prompting stops the prompt when barge-in is on, and counts as the first digit.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from cti.signaling.fsm import TableFSM


class CollectState(str, enum.Enum):
    IDLE = "Idle"
    PROMPTING = "Prompting"
    WAIT_FIRST = "WaitFirst"
    COLLECTING = "Collecting"
    DONE = "Done"


C = CollectState

TABLE = {
    (C.IDLE, "Start"): ("_on_start", None),
    (C.PROMPTING, "PromptDone"): ("_arm_first", C.WAIT_FIRST),
    (C.PROMPTING, "Digit"): ("_on_barge", None),
    (C.WAIT_FIRST, "Digit"): ("_on_digit", C.COLLECTING),
    (C.COLLECTING, "Digit"): ("_on_digit", None),
    (C.WAIT_FIRST, "Timeout"): ("_finish_timeout", C.DONE),
    (C.COLLECTING, "Timeout"): ("_finish_timeout", C.DONE),
    (C.DONE, "Digit"): (None, None),          # late digits after the result are ignored
    (C.DONE, "PromptDone"): (None, None),
}


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
        if self.first_timeout <= 0 or self.inter_digit_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if self.terminator and (len(self.terminator) != 1 or self.terminator not in "0123456789*#ABCD"):
            raise ValueError(f"terminator must be one DTMF digit or empty, not {self.terminator!r}")


@dataclass(frozen=True)
class Collected:
    digits: str
    reason: str        #: "max", "terminator", "timeout"


class DigitCollector:
    """Collects one answer. Feed it digits, prompt completion and time; read ``result``."""

    def __init__(self, spec: CollectSpec) -> None:
        self.spec = spec
        self.fsm: TableFSM[CollectState] = TableFSM("collect", TABLE, C.IDLE, self)
        self.digits = ""
        self.deadline: float | None = None
        self.result: Collected | None = None
        self.stop_prompt = False       #: set when a barge-in digit should stop the prompt
        self._now = 0.0

    @property
    def state(self) -> CollectState:
        return self.fsm.state

    def start(self, now: float, *, prompt: bool) -> None:
        self._now = now
        self.fsm.fire("Start", prompt)

    def prompt_done(self, now: float) -> None:
        self._now = now
        if self.fsm.allowed("PromptDone"):
            self.fsm.fire("PromptDone")

    def digit(self, d: str, now: float) -> None:
        if len(d) != 1 or d not in "0123456789*#ABCD":
            raise ValueError(f"not a DTMF digit: {d!r}")
        self._now = now
        self.fsm.fire("Digit", d)

    def service(self, now: float) -> None:
        self._now = now
        if self.deadline is not None and now >= self.deadline and self.fsm.allowed("Timeout"):
            self.fsm.fire("Timeout")

    # -- actions --------------------------------------------------------------------------------
    def _on_start(self, prompt: bool) -> None:
        if prompt:
            self.fsm.state = C.PROMPTING
        else:
            self.fsm.state = C.WAIT_FIRST
            self._arm_first()

    def _arm_first(self) -> None:
        self.deadline = self._now + self.spec.first_timeout

    def _on_barge(self, d: str) -> None:
        if not self.spec.barge_in:
            return                      # digits during a prompt without barge-in are ignored
        self.stop_prompt = True
        self.fsm.state = C.COLLECTING
        self._on_digit(d)

    def _on_digit(self, d: str) -> None:
        if self.spec.terminator and d == self.spec.terminator:
            self._finish("terminator")
            return
        self.digits += d
        if len(self.digits) >= self.spec.max_digits:
            self._finish("max")
        else:
            self.deadline = self._now + self.spec.inter_digit_timeout

    def _finish_timeout(self) -> None:
        self._finish("timeout")

    def _finish(self, reason: str) -> None:
        self.fsm.state = C.DONE
        self.deadline = None
        self.result = Collected(self.digits, reason)
