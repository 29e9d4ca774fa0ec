"""Call-back requests through the dialler (sans-IO): an agent asks to call a voicemail's caller
back, and the call is placed by the outbound dialler like any campaign call, under the same
calling rules (:class:`cti.outbound.rules.Rules`: do-not-call list, calling hours) and the same
attempt limits (``max_attempts``, ``retry_after`` by outcome), paced in preview mode to the
agent who asked: the record is offered to that agent only, and dialled from its device when it
is ready (:meth:`CallbackCampaign.due`), so the callee is with that agent when it answers.

:class:`CallbackCampaign` is a :class:`cti.outbound.campaign.Campaign` whose contacts arrive one
by one (:meth:`CallbackCampaign.request`) instead of from a CSV file, each bound to an agent.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .campaign import Campaign, CampaignError, Contact, Preview
from .numbers import DialPlan, is_digits
from .pacing import Pacer
from .rules import Rules

#: The keys of a call-back table (``[media.voicemail.callback]``).
KEYS = {"dnc", "hours", "zones", "dial_plan", "max_attempts", "retry_after", "no_answer_timeout", "trunk"}


class CallbackCampaign(Campaign):
    """Call-backs, each offered to the agent (device) that asked for it."""

    @classmethod
    def from_spec(cls, name: str, spec: Mapping[str, Any]) -> CallbackCampaign:
        """From a table of :data:`KEYS`; CampaignError names a bad key or value (the do-not-call
        file is read here: unreadable, the call-backs do not start)."""
        unknown = sorted(set(spec) - KEYS)
        if unknown:
            raise CampaignError(f"call-back: unknown key(s) {unknown}; known: {sorted(KEYS)}")
        try:
            plan = DialPlan.from_dict(spec.get("dial_plan"))
            rules = Rules.from_spec(spec, plan)
        except (TypeError, ValueError) as e:
            raise CampaignError(f"call-back: {e}") from None
        knobs = {k: spec[k] for k in ("max_attempts", "retry_after", "no_answer_timeout") if k in spec}
        return cls(name, "", [], plan=plan, rules=rules, pacer=Pacer("preview"), **knobs)

    def request(self, number: str, agent: str, data: Mapping[str, str], now: float) -> tuple[str, float]:
        """Queue a call-back of ``number`` for ``agent``: ("ok", now), ("hours", when the number's
        calling window opens: it waits) or ("dnc", now: refused, never dialled). CampaignError:
        not a number, or already waiting for a call-back; RulesError: the do-not-call list
        cannot be read (both are ValueErrors)."""
        n = number.strip()
        if not n or not is_digits(n.lstrip("+")) or len(n) > 32:
            raise CampaignError(f"call-back: {number!r} is not a number that can be dialled")
        if any(c.number == n and not c.done for c in self.contacts):
            raise CampaignError(f"call-back: {n} is already waiting to be called back")
        assert self.rules is not None
        verdict, when = self.rules.check(n, now)
        c = Contact(n, {**data, "agent": agent})
        if verdict == "dnc":
            c.done, c.result, c.source = True, None, "rules"
            return "dnc", now
        c.next_try = when
        self.contacts.append(c)
        return verdict, when

    def due(self, now: float, ready: Callable[[str], bool]) -> list[Preview]:
        """Call-backs whose time has come and whose agent is ``ready``: each reserved for its agent
        (``Dialler.preview_dial`` dials it from the agent's device). A number that reached the
        do-not-call list meanwhile ends ``dnc-blocked`` (:meth:`take_blocked`); one outside its
        calling hours waits again."""
        out: list[Preview] = []
        for c in self.contacts:
            agent = c.data.get("agent", "")
            if c.done or c.next_try > now or id(c) in self._live or not ready(agent):
                continue
            others = [x for x in self.contacts if x is not c and not x.done and id(x) not in self._live]
            saved = [(x, x.next_try) for x in others]
            for x, _ in saved:              # Campaign.preview takes the first record it may: this one
                x.next_try = float("inf")
            try:
                p = self.preview(now, agent)
            finally:
                for x, t in saved:
                    x.next_try = t
            if p is not None:
                self._live.add(id(c))
                out.append(p)
        return out

    def contact_of(self, attempt: str) -> Contact | None:
        """The contact of an open preview or an attempt being dialled."""
        got = self._previews.get(attempt)
        return got[1] if got is not None else self.dialling.get(attempt)
