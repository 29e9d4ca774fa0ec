"""Progressive outbound campaigns (sans-IO): numbers from a CSV file, dialled at the pace the
ready agents allow, outcomes classified, answered calls connected to an agent queue.

Pacing (progressive mode): at any time, calls being dialled <= ready agents x ``ratio`` -
calls answered but not yet with an agent. ``ratio`` 1.0 is strict progressive dialling (no
caller ever waits for an agent); above 1 it becomes a simple predictive dialler.

Each number is tried until it is answered, ends in a final outcome (unallocated), or has
used ``max_attempts``; busy / no answer / congestion are retried after ``retry_after``. Both
may be tables by outcome (``retry_after = {busy = 120, "no-answer" = 3600}``, ``max_attempts =
{busy = 5}``; an outcome missing from the table takes the default, 300 s and 3 attempts).

Before every dial the campaign's :class:`cti.outbound.rules.Rules` are checked: a number on
the do-not-call list ends ``dnc-blocked`` without a dial; one outside its region's calling
hours waits for the window to open; a do-not-call file that cannot be read stops all dialling
(``halted`` says why) until it can.
"""
from __future__ import annotations

import csv
import enum
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Mapping

from .numbers import DialPlan, is_digits
from .pacing import Pacer, PacingError
from .rules import Rules, RulesError


class Outcome(str, enum.Enum):
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    UNALLOCATED = "unallocated"
    CONGESTION = "congestion"
    FAILED = "failed"
    MACHINE = "machine"             #: an answering machine answered (AMD)
    ABANDONED = "abandoned"         #: answered, then waited longer than the abandon limit for an agent
    DNC_BLOCKED = "dnc-blocked"     #: on the do-not-call list: never dialled


#: Outcomes worth another attempt later.
RETRY = {Outcome.BUSY, Outcome.NO_ANSWER, Outcome.CONGESTION, Outcome.FAILED}
#: Outcomes that can never be retried, whatever the tables say.
FINAL = {Outcome.ANSWERED, Outcome.UNALLOCATED, Outcome.DNC_BLOCKED, Outcome.ABANDONED}
DEFAULT_RETRY_AFTER = 300.0
DEFAULT_MAX_ATTEMPTS = 3


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
    calling: str | None = None      #: the campaign's caller-ID (None: the device's own)


@dataclass(frozen=True)
class Connect:
    """Action: the called party answered: put the call in ``queue`` for an agent."""

    attempt: str
    number: str
    queue: str
    data: dict[str, str]


@dataclass(frozen=True)
class Abandon:
    """Action: an answered callee waited longer than ``abandon_after`` for an agent: play the
    campaign's abandon message and release the call."""

    attempt: str
    number: str


@dataclass(frozen=True)
class Preview:
    """A record shown to ``agent`` (preview mode): :meth:`Campaign.preview_dial` dials it."""

    attempt: str
    agent: str
    number: str
    data: dict[str, str]


@dataclass
class Campaign:
    name: str
    queue: str
    contacts: list[Contact]
    ratio: float = 1.0
    max_attempts: int | Mapping[str, int] = DEFAULT_MAX_ATTEMPTS
    retry_after: float | Mapping[str, float] = DEFAULT_RETRY_AFTER
    no_answer_timeout: float = 30.0
    plan: DialPlan = field(default_factory=DialPlan)
    rules: Rules | None = None
    caller_id: str | None = None
    pacer: Pacer | None = None
    abandon_after: float | None = None      #: enforce abandonment in every mode (predictive: always)
    dialling: dict[str, Contact] = field(default_factory=dict)
    waiting_agent: set[str] = field(default_factory=set)
    halted: str = ""                #: why nothing is dialled now (the do-not-call file cannot be read)
    blocked: list[Contact] = field(default_factory=list)   #: dnc-blocked since the last take_blocked()
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _live: set[int] = field(default_factory=set)
    _dialled_at: dict[str, float] = field(default_factory=dict)
    _answered_at: dict[str, float] = field(default_factory=dict)
    _previews: dict[str, tuple[str, Contact]] = field(default_factory=dict)
    _contact_of: dict[str, Contact] = field(default_factory=dict)
    _direct: dict[str, str] = field(default_factory=dict)    #: preview attempt dialled -> its agent
    dialled: int = 0                #: dials placed (every attempt, every mode)
    connects: int = 0               #: answered calls that went to an agent (queue, or the previewing agent)
    skipped: int = 0                #: previewed records the agent skipped

    def __post_init__(self) -> None:
        if isinstance(self.ratio, bool) or not isinstance(self.ratio, (int, float)) or not 0.1 <= self.ratio <= 5.0:
            raise CampaignError(f"campaign {self.name}: ratio must be 0.1..5.0, not {self.ratio}")
        self._max = self._table("max_attempts", self.max_attempts, DEFAULT_MAX_ATTEMPTS, int)
        self._after = self._table("retry_after", self.retry_after, DEFAULT_RETRY_AFTER, float)
        if isinstance(self.no_answer_timeout, bool) or not isinstance(self.no_answer_timeout, (int, float)) \
                or self.no_answer_timeout <= 0:
            raise CampaignError(f"campaign {self.name}: no_answer_timeout must be positive")
        if self.caller_id is not None and (not isinstance(self.caller_id, str) or not is_digits(self.caller_id)
                                           or len(self.caller_id) > 32):
            raise CampaignError(f"campaign {self.name}: caller_id must be a string of digits, not {self.caller_id!r}")
        if self.rules is None:
            self.rules = Rules(self.plan)
        if self.pacer is None:
            try:
                self.pacer = Pacer("progressive", ratio=float(self.ratio),
                                   abandon_after=self.abandon_after if self.abandon_after is not None else 2.0)
            except PacingError as e:
                raise CampaignError(f"campaign {self.name}: {e}") from None

    def _table(self, what: str, value: Any, default: float, kind: type) -> dict[Outcome | None, Any]:
        """A knob that is one value or a table by outcome -> {outcome or None (default): value}."""
        items = dict(value).items() if isinstance(value, Mapping) else [(None, value)]
        out: dict[Outcome | None, Any] = {None: kind(default)}
        for k, v in items:
            try:
                o = None if k in (None, "default") else Outcome(k)
            except ValueError:
                raise CampaignError(f"campaign {self.name}: {what}: unknown outcome {k!r}; "
                                    f"one of {[x.value for x in Outcome]}") from None
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0 or (kind is int and v != int(v)):
                raise CampaignError(f"campaign {self.name}: {what} must be positive"
                                    f"{' whole numbers' if kind is int else ''}, not {v!r}")
            if o in FINAL:
                raise CampaignError(f"campaign {self.name}: {what}: {o.value} is never retried")
            out[o] = kind(v)
        return out

    def retry_rule(self, outcome: Outcome) -> tuple[int, float] | None:
        """(max attempts, spacing) after ``outcome``, or None when it is final."""
        if outcome in FINAL or (outcome not in RETRY and outcome not in self._after and outcome not in self._max):
            return None
        return self._max.get(outcome, self._max[None]), self._after.get(outcome, self._after[None])

    @classmethod
    def from_csv(cls, name: str, path: str | Path, queue: str, **kw: Any) -> Campaign:
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
    def service(self, now: float, ready_agents: int, busy_agents: int = 0) -> list[Dial]:
        """Dial as many contacts as the pacing allows right now (each passed by the rules)."""
        assert self.pacer is not None
        budget = self.pacer.how_many(ready_agents, busy_agents, len(self.dialling), len(self.waiting_agent))
        return self._dial(now, budget)

    # -- pacing mode, abandonment, preview ---------------------------------------------------------
    @property
    def mode(self) -> str:
        assert self.pacer is not None
        return self.pacer.mode

    def set_mode(self, mode: str) -> None:
        """preview / progressive / predictive, while the campaign runs (its history is kept)."""
        assert self.pacer is not None
        try:
            self.pacer.set_mode(mode)
        except PacingError as e:
            raise CampaignError(f"campaign {self.name}: {e}") from None

    def abandons(self, now: float) -> list[Abandon]:
        """Answered callees who waited too long for an agent (predictive mode, or any mode with
        ``abandon_after`` set): they leave the queue as ``abandoned``."""
        assert self.pacer is not None
        if self.abandon_after is None and self.pacer.mode != "predictive":
            return []
        limit = self.pacer.abandon_after
        out = []
        for attempt, t in list(self._answered_at.items()):
            if attempt in self.waiting_agent and now - t > limit:
                self.waiting_agent.discard(attempt)
                del self._answered_at[attempt]
                self.pacer.callee_served(abandoned=True)
                c = self._contact_of.pop(attempt, None)
                if c is not None:
                    c.result = Outcome.ABANDONED
                out.append(Abandon(attempt, c.number if c is not None else ""))
        return out

    def preview(self, now: float, agent: str) -> Preview | None:
        """Preview mode: reserve the next record the rules allow for ``agent`` to look at."""
        got = self._dial(now, 1)
        if not got:
            return None
        d = got[0]
        c = self.dialling.pop(d.attempt)
        c.attempts -= 1
        self.dialled -= 1               # shown, not dialled (yet)
        self._dialled_at.pop(d.attempt, None)
        self._previews[d.attempt] = (agent, c)
        return Preview(d.attempt, agent, d.number, d.data)

    def previewing(self, attempt: str) -> str | None:
        """The agent a record ``attempt`` is shown to (None: no such preview open)."""
        got = self._previews.get(attempt)
        return got[0] if got is not None else None

    def previews_of(self, agent: str) -> list[Preview]:
        """The records open on ``agent``'s desktop."""
        return [Preview(a, ag, c.number, dict(c.data)) for a, (ag, c) in self._previews.items() if ag == agent]

    def preview_dial(self, attempt: str, now: float) -> Dial:
        """The agent chose to dial the previewed record: the call goes from the agent's own
        device, so when it is answered the callee is with the agent already (no queue, no
        abandon): :meth:`progress` returns no Connect for it."""
        agent, c = self._take_preview(attempt)
        c.attempts += 1
        self.dialled += 1
        self.dialling[attempt] = c
        self._dialled_at[attempt] = now
        self._direct[attempt] = agent
        return Dial(attempt, c.number, self.no_answer_timeout, dict(c.data), self.plan.dialable(c.number), self.caller_id)

    def preview_skip(self, attempt: str, now: float, later: float | None = None) -> None:
        """The agent skipped the record: back in the list (after ``later`` seconds), or done."""
        _, c = self._take_preview(attempt)
        self._live.discard(id(c))
        self.skipped += 1
        if later is None:
            c.done = True
        else:
            c.next_try = now + later

    def _take_preview(self, attempt: str) -> tuple[str, Contact]:
        got = self._previews.pop(attempt, None)
        if got is None:
            raise CampaignError(f"no previewed record {attempt!r}")
        return got

    def _dial(self, now: float, budget: int) -> list[Dial]:
        out: list[Dial] = []
        assert self.rules is not None
        for c in self.contacts:
            if budget <= 0:
                break
            if c.done or c.next_try > now or id(c) in self._live:
                continue
            try:
                verdict, when = self.rules.check(c.number, now)
            except RulesError as e:     # the do-not-call list cannot be read: dial nobody
                self.halted = str(e)
                return out
            self.halted = ""
            if verdict == "dnc":
                c.done, c.result, c.source, c.heard = True, Outcome.DNC_BLOCKED, "rules", ()
                self.blocked.append(c)
                continue
            if verdict == "hours":
                c.next_try = when
                continue
            attempt = f"{self.name}-{next(self._ids)}"
            c.attempts += 1
            self.dialling[attempt] = c
            self._dialled_at[attempt] = now
            self._live.add(id(c))
            self.dialled += 1
            out.append(Dial(attempt, c.number, self.no_answer_timeout, dict(c.data), self.plan.dialable(c.number),
                            self.caller_id))
            budget -= 1
        return out

    def take_blocked(self) -> list[Contact]:
        """Contacts found on the do-not-call list since the last call (to report them)."""
        out, self.blocked = self.blocked, []
        return out

    def progress(self, attempt: str, outcome: Outcome | str, now: float, *, source: str = "",
                 heard: tuple[str, ...] | list[str] = (), connect: bool = False) -> list[Connect]:
        """The outcome of a dial attempt (from signalling or the call-progress tone detector;
        ``source`` and ``heard`` say which, and what was heard). ``connect``: a machine's call
        goes to an agent all the same (the campaign's AMD action ``agent``)."""
        c = self.dialling.pop(attempt, None)
        if c is None:
            raise CampaignError(f"unknown attempt {attempt!r}")
        self._live.discard(id(c))
        o = Outcome(outcome)
        c.result = o
        c.source, c.heard = source, tuple(heard)
        assert self.pacer is not None
        self.pacer.attempt_done(o is Outcome.ANSWERED or (o is Outcome.MACHINE and connect),
                                now - self._dialled_at.pop(attempt, now))
        if self._direct.pop(attempt, None) is not None and o is Outcome.ANSWERED:
            c.done = True               # a preview call: the agent who dialled it has the callee
            self.connects += 1
            return []
        if o is Outcome.ANSWERED or (o is Outcome.MACHINE and connect):
            c.done = True
            self.connects += 1
            self.waiting_agent.add(attempt)
            self._answered_at[attempt] = now
            self._contact_of[attempt] = c
            return [Connect(attempt, c.number, self.queue, dict(c.data))]
        rule = self.retry_rule(o)
        if rule is not None and c.attempts < rule[0]:
            c.next_try = now + rule[1]
        else:
            c.done = True
        return []

    def agent_connected(self, attempt: str, now: float | None = None) -> None:
        """The answered call reached an agent (or ended): it no longer holds pacing budget. With
        ``now``, a callee who reached an agent in time counts as served for the abandon rate."""
        if attempt in self.waiting_agent and now is not None:
            assert self.pacer is not None
            self.pacer.callee_served(abandoned=False)
        self.waiting_agent.discard(attempt)
        self._answered_at.pop(attempt, None)
        self._contact_of.pop(attempt, None)

    # -- queries --------------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return all(c.done for c in self.contacts) and not self.dialling

    def next_deadline(self) -> float | None:
        pending = [c.next_try for c in self.contacts if not c.done and id(c) not in self._live]
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

    def status(self) -> dict[str, Any]:
        """What a wallboard shows: the pacing mode and its target, dials placed, calls that reached
        an agent, the abandon rate against the target, what is in flight and what is left."""
        assert self.pacer is not None
        p = self.pacer
        pending = sum(1 for c in self.contacts if not c.done)
        return {"campaign": self.name, "queue": self.queue, "mode": p.mode, "target": p.target,
                "ratio": p.ratio, "abandon_after": p.abandon_after, "dialled": self.dialled,
                "connects": self.connects, "answered": p.answered, "abandoned": p.abandoned,
                "abandon_rate": round(p.abandon_rate, 4), "dialling": len(self.dialling),
                "waiting_agent": len(self.waiting_agent), "previews": len(self._previews),
                "skipped": self.skipped, "contacts": len(self.contacts), "pending": pending,
                "finished": self.finished, "halted": self.halted}

    def decided_by(self) -> dict[str, int]:
        """Finished contacts by what decided their outcome: ``by_signalling``, ``by_tone``, ``by_timer``."""
        out = {"by_signalling": 0, "by_tone": 0, "by_timer": 0}
        for c in self.contacts:
            if c.done and c.source and f"by_{c.source}" in out:
                out[f"by_{c.source}"] += 1
        return out
