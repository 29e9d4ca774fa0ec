"""Outbound campaigns on live calls: :class:`cti.outbound.campaign.Campaign` paced by the ACD's
ready agents, dialled with the call model's MakeCall, outcomes from the trunk (answer, Failed
with its Q.850 cause, clearing) and the no-answer timer of
:class:`cti.outbound.progress.ProgressClassifier`; answered calls enter the campaign's queue.

Configuration (``[contact.campaigns.<name>]``): ``csv`` (a file with a ``number`` column),
``queue``, ``device`` (the originating device, default "dialler"), ``autostart`` and the
Campaign knobs ``ratio``, ``max_attempts``, ``retry_after``, ``no_answer_timeout``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

from cti.call.errors import CallControlError
from cti.outbound.campaign import Campaign, CampaignError, Outcome
from cti.outbound.progress import ProgressClassifier, outcome_of_cause

log = logging.getLogger(__name__)
_KNOBS = {"ratio", "max_attempts", "retry_after", "no_answer_timeout"}
_KEYS = _KNOBS | {"csv", "queue", "device", "autostart"}


@dataclass
class _Attempt:
    campaign: str
    attempt: str
    number: str
    progress: ProgressClassifier
    answered: bool = False


class Dialler:
    """Running campaigns and their live attempts, by call id."""

    def __init__(self, specs: dict[str, dict[str, Any]], queues: set[str]) -> None:
        for name, spec in specs.items():
            unknown = set(spec) - _KEYS
            if unknown or "csv" not in spec or "queue" not in spec:
                raise CampaignError(f"[contact.campaigns.{name}] needs csv and queue; unknown keys {sorted(unknown)}")
            if spec["queue"] not in queues:
                raise CampaignError(f"[contact.campaigns.{name}] unknown queue {spec['queue']!r}")
        self.specs = specs
        self.running: dict[str, tuple[Campaign, str]] = {}     #: name -> (campaign, device)
        self.attempts: dict[str, _Attempt] = {}                 #: call id -> attempt

    def start(self, name: str) -> Campaign:
        spec = self.specs.get(name)
        if spec is None:
            raise CampaignError(f"unknown campaign {name!r}; configured: {', '.join(sorted(self.specs)) or '-'}")
        if name in self.running:
            raise CampaignError(f"campaign {name!r} is already running")
        c = Campaign.from_csv(name, spec["csv"], spec["queue"], **{k: spec[k] for k in _KNOBS if k in spec})
        self.running[name] = (c, str(spec.get("device", "dialler")))
        return c

    def tick(self, now: float, ready: Callable[[str], int],
             dial: Callable[[str, str], str]) -> list[tuple[str, str, Outcome, str | None]]:
        """Place the calls pacing allows (``dial(device, number) -> call id``); time out unanswered ones.

        Returns ``(campaign, number, outcome, call)`` for attempts that ended without a call."""
        ended: list[tuple[str, str, Outcome, str | None]] = []
        for name, (c, device) in self.running.items():
            for d in c.service(now, ready(c.queue)):
                try:
                    call = dial(device, d.number)
                except CallControlError as e:
                    o = outcome_of_cause(e.details.get("cause") if isinstance(e.details.get("cause"), int) else 34)
                    c.progress(d.attempt, o, now)
                    ended.append((name, d.number, o, None))
                    continue
                self.attempts[call] = _Attempt(name, d.attempt, d.number, ProgressClassifier(now, d.timeout))
        return ended

    def timed_out(self, now: float) -> list[str]:
        """Calls still ringing past their no-answer timeout (the caller clears them, then reports)."""
        return [cid for cid, a in self.attempts.items() if not a.answered and a.progress.service(now) is not None]

    def answered(self, call: str, now: float) -> tuple[str, str, list[Any]] | None:
        """The far end answered ``call``: returns (campaign, number, Connect actions)."""
        a = self.attempts.get(call)
        if a is None or a.answered:
            return None
        a.answered = True
        a.progress.answered_by_signalling()
        c = self.running[a.campaign][0]
        return a.campaign, a.number, c.progress(a.attempt, Outcome.ANSWERED, now)

    def ended(self, call: str, cause: int | None, now: float) -> tuple[str, str, Outcome | None] | None:
        """``call`` ended (failed or cleared): its outcome if it had not been answered."""
        a = self.attempts.pop(call, None)
        if a is None:
            return None
        c = self.running[a.campaign][0]
        if a.answered:
            c.agent_connected(a.attempt)
            return None
        o = a.progress.outcome if a.progress.outcome is not None else outcome_of_cause(cause)
        c.progress(a.attempt, o, now)
        return a.campaign, a.number, o

    def connected(self, call: str) -> None:
        a = self.attempts.get(call)
        if a is not None:
            self.running[a.campaign][0].agent_connected(a.attempt)

    def summary(self, name: str) -> dict[str, int]:
        return self.running[name][0].summary()
