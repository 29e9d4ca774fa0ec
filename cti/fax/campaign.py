"""Fax campaigns: one document to a list of numbers, as many at once as fax channels allow (sans-IO).

The campaign decides what to dial and when; the media resources (cti/contact/resources.py)
place the calls, run the faxes and report back:

    c = FaxCampaign("notice", "notice.tif", ["88886666", "88887777"], concurrency=2, retries=1)
    for number in c.due(now, free=pool_free):      # numbers to dial now
        call = make_call(number); c.dialled(number, call, now)
    c.finished(call, ok, result, reason, now)      # -> a progress record (published)
    c.done, c.summary()

A number that fails (no answer, busy, a T.30 error) is tried again ``retry_after`` seconds
later, ``retries`` times at most; its last result is kept.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any


class CampaignError(ValueError):
    """A campaign that cannot run (no numbers, a bad number, bad limits)."""


@dataclass
class FaxCampaign:
    name: str
    document: str
    numbers: list[str]
    device: str = "fax"
    concurrency: int = 2
    retries: int = 1
    retry_after: float = 60.0
    _queue: deque[tuple[str, int, float]] = field(default_factory=deque)   #: (number, attempt, not before)
    active: dict[str, tuple[str, int]] = field(default_factory=dict)       #: call -> (number, attempt)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)       #: number -> last outcome
    _attempts: dict[str, int] = field(default_factory=dict)                #: handed out by due(), not dialled yet

    def __post_init__(self) -> None:
        if not self.numbers:
            raise CampaignError(f"fax campaign {self.name!r}: no numbers")
        for n in self.numbers:
            if not isinstance(n, str) or not n.isdigit() or not 1 <= len(n) <= 32:
                raise CampaignError(f"fax campaign {self.name!r}: {n!r} is not a number of 1-32 digits")
        if not 1 <= self.concurrency <= 1000 or not 0 <= self.retries <= 10 or self.retry_after < 0:
            raise CampaignError(f"fax campaign {self.name!r}: concurrency 1..1000, retries 0..10, retry_after >= 0")
        self._queue.extend((n, 1, 0.0) for n in dict.fromkeys(self.numbers))

    def due(self, now: float, free: int) -> list[str]:
        """Numbers to dial now (within ``concurrency`` and the ``free`` fax channels)."""
        room = min(self.concurrency - len(self.active), free)
        out: list[str] = []
        for _ in range(len(self._queue)):
            if len(out) >= room:
                break
            number, attempt, not_before = self._queue[0]
            self._queue.rotate(-1)
            if not_before <= now:
                self._queue.pop()
                self._attempts[number] = attempt
                out.append(number)
        return out

    def dialled(self, number: str, call: str, now: float) -> None:
        attempt = self._attempts.pop(number, 1)
        self.active[call] = (number, attempt)

    def not_dialled(self, number: str, reason: str, now: float) -> dict[str, Any]:
        """MakeCall refused (no circuit...): counts as a failed attempt."""
        attempt = self._attempts.pop(number, 1)
        return self._outcome(number, attempt, False, -1, reason, 0, now)

    def owns(self, call: str) -> bool:
        return call in self.active

    def finished(self, call: str, ok: bool, result: int, reason: str, pages: int, now: float) -> dict[str, Any]:
        number, attempt = self.active.pop(call)
        return self._outcome(number, attempt, ok, result, reason, pages, now, call)

    def _outcome(self, number: str, attempt: int, ok: bool, result: int, reason: str, pages: int, now: float,
                 call: str = "") -> dict[str, Any]:
        retry = not ok and attempt <= self.retries
        if retry:
            self._queue.append((number, attempt + 1, now + self.retry_after))
        self.results[number] = {"ok": ok, "result": result, "reason": reason, "pages": pages, "attempts": attempt}
        return {"campaign": self.name, "number": number, "call": call, "attempt": attempt, "ok": ok,
                "result": result, "reason": reason, "pages": pages, "retry": retry, "summary": self.summary()}

    @property
    def done(self) -> bool:
        return not self._queue and not self.active

    def summary(self) -> dict[str, int]:
        sent = sum(1 for r in self.results.values() if r["ok"])
        failed = sum(1 for n, r in self.results.items() if not r["ok"] and not self._queued(n))
        return {"numbers": len(dict.fromkeys(self.numbers)), "sent": sent, "failed": failed,
                "active": len(self.active), "waiting": len(self._queue)}

    def _queued(self, number: str) -> bool:
        return any(n == number for n, _, _ in self._queue)
