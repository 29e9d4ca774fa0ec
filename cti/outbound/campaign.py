"""Progressive outbound campaigns (sans-IO): numbers from a CSV file, dialled at the pace the
ready agents allow, outcomes classified, answered calls connected to an agent queue.

Pacing (progressive mode): at any time, calls being dialled <= ready agents x ``ratio`` -
calls answered but not yet with an agent. ``ratio`` 1.0 is strict progressive dialling (no
caller ever waits for an agent); above 1 it becomes a simple predictive dialler.

Each number is tried until it is answered, ends in a final outcome (unallocated), or has
used ``max_attempts``; busy / no answer / congestion are retried after ``retry_after``.
"""
from __future__ import annotations

import csv
import enum
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .numbers import DialPlan, is_digits


class Outcome(str, enum.Enum):
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    UNALLOCATED = "unallocated"
    CONGESTION = "congestion"
    FAILED = "failed"


#: Outcomes worth another attempt later.
RETRY = {Outcome.BUSY, Outcome.NO_ANSWER, Outcome.CONGESTION, Outcome.FAILED}


class CampaignError(ValueError):
    """A bad campaign file or request (with the line or the reason)."""


@dataclass
class Contact:
    number: str
    data: dict[str, str]
    attempts: int = 0
    result: Outcome | None = None
    next_try: float = 0.0
    done: bool = False
    source: str = ""                #: what decided the last outcome: signalling, tone or timer
    heard: tuple[str, ...] = ()     #: what the tone detector reported on the last attempt


@dataclass(frozen=True)
class Dial:
    """Action: place a call to ``number``; report its outcome with ``progress(attempt, ...)``."""

    attempt: str
    number: str
    timeout: float
    data: dict[str, str]
    dialled: str = ""               #: the digits to send (``number`` through the dial plan)


@dataclass(frozen=True)
class Connect:
    """Action: the called party answered: put the call in ``queue`` for an agent."""

    attempt: str
    number: str
    queue: str
    data: dict[str, str]


@dataclass
class Campaign:
    name: str
    queue: str
    contacts: list[Contact]
    ratio: float = 1.0
    max_attempts: int = 3
    retry_after: float = 300.0
    no_answer_timeout: float = 30.0
    plan: DialPlan = field(default_factory=DialPlan)
    dialling: dict[str, Contact] = field(default_factory=dict)
    waiting_agent: set[str] = field(default_factory=set)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        if not 0.1 <= self.ratio <= 5.0:
            raise CampaignError(f"campaign {self.name}: ratio must be 0.1..5.0, not {self.ratio}")
        if self.max_attempts < 1 or self.retry_after <= 0 or self.no_answer_timeout <= 0:
            raise CampaignError(f"campaign {self.name}: max_attempts >= 1 and positive times required")

    @classmethod
    def from_csv(cls, name: str, path: str | Path, queue: str, **kw: Any) -> "Campaign":
        """Read contacts: a header row with a ``number`` column; other columns travel as call data."""
        p = Path(path)
        try:
            with p.open(newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise CampaignError(f"{p}: {exc}") from None
        if not rows or "number" not in rows[0]:
            raise CampaignError(f"{p}: needs a header row with a 'number' column")
        contacts = []
        for i, row in enumerate(rows, start=2):
            number = (row.get("number") or "").strip().replace(" ", "").replace("-", "")
            number = number.replace("(", "").replace(")", "").replace(".", "")
            if not number or not is_digits(number.lstrip("+")) or number.count("+") > 1 or len(number) > 32:
                raise CampaignError(f"{p}:{i}: bad number {row.get('number')!r}")
            try:
                kw.get("plan", DialPlan()).dialable(number)
            except ValueError as e:
                raise CampaignError(f"{p}:{i}: {e}") from None
            contacts.append(Contact(number, {k: v for k, v in row.items() if k != "number" and k is not None}))
        return cls(name, queue, contacts, **kw)

    # -- inputs ---------------------------------------------------------------------------------
    def service(self, now: float, ready_agents: int) -> list[Dial]:
        """Dial as many contacts as the pacing allows right now."""
        budget = int(ready_agents * self.ratio) - len(self.dialling) - len(self.waiting_agent)
        out: list[Dial] = []
        for c in self.contacts:
            if budget <= 0:
                break
            if c.done or c.next_try > now or c in self.dialling.values():
                continue
            attempt = f"{self.name}-{next(self._ids)}"
            c.attempts += 1
            self.dialling[attempt] = c
            out.append(Dial(attempt, c.number, self.no_answer_timeout, dict(c.data), self.plan.dialable(c.number)))
            budget -= 1
        return out

    def progress(self, attempt: str, outcome: Outcome | str, now: float, *, source: str = "",
                 heard: tuple[str, ...] | list[str] = ()) -> list[Connect]:
        """The outcome of a dial attempt (from signalling or the call-progress tone detector;
        ``source`` and ``heard`` say which, and what was heard)."""
        c = self.dialling.pop(attempt, None)
        if c is None:
            raise CampaignError(f"unknown attempt {attempt!r}")
        o = Outcome(outcome)
        c.result = o
        c.source, c.heard = source, tuple(heard)
        if o is Outcome.ANSWERED:
            c.done = True
            self.waiting_agent.add(attempt)
            return [Connect(attempt, c.number, self.queue, dict(c.data))]
        if o in RETRY and c.attempts < self.max_attempts:
            c.next_try = now + self.retry_after
        else:
            c.done = True
        return []

    def agent_connected(self, attempt: str) -> None:
        """The answered call reached an agent (or was abandoned): it no longer holds pacing budget."""
        self.waiting_agent.discard(attempt)

    # -- queries --------------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return all(c.done for c in self.contacts) and not self.dialling

    def next_deadline(self) -> float | None:
        pending = [c.next_try for c in self.contacts if not c.done and c not in self.dialling.values()]
        return min(pending) if pending else None

    def summary(self) -> dict[str, int]:
        out = {o.value: 0 for o in Outcome}
        out["pending"] = 0
        for c in self.contacts:
            if c.done and c.result is not None:
                out[c.result.value] += 1
            else:
                out["pending"] += 1
        return out

    def decided_by(self) -> dict[str, int]:
        """Finished contacts by what decided their outcome: ``by_signalling``, ``by_tone``, ``by_timer``."""
        out = {"by_signalling": 0, "by_tone": 0, "by_timer": 0}
        for c in self.contacts:
            if c.done and c.source and f"by_{c.source}" in out:
                out[f"by_{c.source}"] += 1
        return out
