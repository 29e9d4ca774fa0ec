"""Outbound campaigns on live calls: :class:`cti.outbound.campaign.Campaign` paced by the ACD's
ready agents, dialled with the call model's MakeCall; each attempt's outcome is the earlier of
its signalling (alerting, answer, Failed / cleared with a Q.850 cause) and what its trunk
timeslot carries (``ContactCentre.listen`` -> :class:`cti.outbound.listen.AttemptListener`:
the call-progress tone detector and :class:`cti.outbound.progress.ProgressClassifier`, whose
docstring gives the precedence). Answered calls enter the campaign's queue; busy, congestion
and no-answer calls the network leaves up are cleared by us.

Configuration (``[contact.campaigns.<name>]``): ``csv`` (a file with a ``number`` column),
``queue``, ``device`` (the originating device, default "dialler"), ``trunk`` (the signalling of
the trunks to dial over, e.g. "ss7"; default any), ``autostart``, the Campaign
knobs ``ratio``, ``max_attempts``, ``retry_after``, ``no_answer_timeout``, and the
``dial_plan`` (:class:`cti.outbound.numbers.DialPlan`: ``+86 139...`` -> ``139...``), the
call-progress knobs ``answer_wait`` (seconds after a signalling answer for in-band evidence,
default 6; 0 trusts the answer at once), ``voice_seconds`` (default 0.6), ``supervised``
(default true: the trunk signals alerting and answer; false: voice alone is an answer) and ``tones``
(the country table of ``_boardcore.tones``, default "cn"; ``""`` turns listening off), and
the calling rules (:mod:`cti.outbound.rules`): ``dnc`` (a file, one number a line, or a list
of numbers), ``hours`` and ``zones`` (local calling windows by region of the number),
``caller_id`` (the calling number presented; only accounts that may set the calling number
start such a campaign). ``max_attempts`` and ``retry_after`` may be tables by outcome.
Pacing (:mod:`cti.outbound.pacing`): ``mode`` (preview, progressive, predictive; switch with
:meth:`Dialler.set_mode`), ``target`` (abandon rate, 0.001..0.2), ``abandon_after`` (seconds)
and ``abandon_message`` (the prompt an abandoned callee hears; required in predictive mode).
Answering-machine detection (:mod:`cti.outbound.amd`): ``amd`` (drop, message, agent),
``amd_message``, ``amd_params``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

from cti.call.errors import CallControlError
from cti.outbound import amd as amd_
from cti.outbound.campaign import Campaign, CampaignError, Connect, Outcome
from cti.outbound.listen import AttemptListener
from cti.outbound.numbers import DialPlan
from cti.outbound.pacing import Pacer, PacingError
from cti.outbound.progress import ProgressClassifier, outcome_of_cause
from cti.outbound.rules import Rules, RulesError

__all__ = ["Dialler", "Report", "outcome_of_cause"]

log = logging.getLogger(__name__)
_KNOBS = {"ratio", "max_attempts", "retry_after", "no_answer_timeout"}
_PROGRESS = {"answer_wait", "voice_seconds", "tones", "supervised"}
_RULES = {"dnc", "hours", "zones", "caller_id"}
_PACING = {"mode", "target", "abandon_after", "abandon_message", "amd", "amd_message", "amd_params"}
_KEYS = _KNOBS | _PROGRESS | _RULES | _PACING | {"csv", "queue", "device", "autostart", "trunk", "dial_plan"}

Listen = Callable[[tuple[int, int], Callable[[bytes, float], object]], Callable[[], None]]


@dataclass
class Report:
    """An attempt's outcome, what decided it and what was heard; ``connects`` for answered ones."""

    campaign: str
    number: str
    outcome: Outcome
    call: str | None
    source: str
    heard: list[str]
    connects: list[Connect] = field(default_factory=list)
    circuit: tuple[int, int] | None = None
    time: float = 0.0
    amd: str = ""                   #: AMD verdict (human, machine, unknown), "" when not run
    confidence: float | None = None  #: of the AMD verdict


@dataclass
class _Attempt:
    campaign: str
    attempt: str
    number: str
    progress: ProgressClassifier
    circuit: tuple[int, int] | None = None
    listener: AttemptListener | None = None
    unlisten: Callable[[], None] | None = None
    reported: bool = False       #: the outcome went to the campaign
    amd: amd_.AmdListener | None = None
    amd_wait: bool = False       #: answered: the report waits for the AMD verdict
    message_wait: bool = False   #: a machine: the message waits for the end of its greeting
    answered: bool = False       #: answered: the call went to the queue (or is with its preview agent)
    clear_asked: bool = False
    agent: str = ""              #: a preview attempt: the agent who dialled it from its own device


class Dialler:
    """Running campaigns and their live attempts, by call id."""

    def __init__(self, specs: dict[str, dict[str, Any]], queues: set[str]) -> None:
        for name, spec in specs.items():
            unknown = set(spec) - _KEYS
            if unknown or "csv" not in spec or "queue" not in spec:
                raise CampaignError(f"[contact.campaigns.{name}] needs csv and queue; unknown keys {sorted(unknown)}")
            if spec["queue"] not in queues:
                raise CampaignError(f"[contact.campaigns.{name}] unknown queue {spec['queue']!r}")
            try:
                ProgressClassifier(0.0, **{k: spec[k] for k in ("answer_wait", "voice_seconds") if k in spec})
            except (TypeError, ValueError) as e:
                raise CampaignError(f"[contact.campaigns.{name}] {e}") from None
            try:
                DialPlan.from_dict(spec.get("dial_plan"))
            except (TypeError, ValueError) as e:
                raise CampaignError(f"[contact.campaigns.{name}] {e}") from None
            try:                        # the rules' shape (the file itself is read at start)
                Rules.from_spec({k: v for k, v in spec.items() if k != "dnc"}, DialPlan.from_dict(spec.get("dial_plan")))
                Campaign(name, spec["queue"], [], **{k: spec[k] for k in _KNOBS | {"caller_id"} if k in spec})
            except (TypeError, ValueError) as e:
                raise CampaignError(f"[contact.campaigns.{name}] {e}") from None
            try:
                _pacer(spec)
                amd_.check(spec.get("amd", ""), spec.get("amd_message"), spec.get("amd_params"))
            except (TypeError, ValueError) as e:
                raise CampaignError(f"[contact.campaigns.{name}] {e}") from None
            if (spec.get("mode") == "predictive" or "abandon_after" in spec) and not spec.get("abandon_message"):
                raise CampaignError(f"[contact.campaigns.{name}] abandon_message: the prompt an abandoned callee "
                                    "hears (predictive mode abandons callees; they must not hear silence)")
            if not isinstance(spec.get("supervised", True), bool):
                raise CampaignError(f"[contact.campaigns.{name}] supervised: true or false")
            if not isinstance(spec.get("trunk", ""), str):
                raise CampaignError(f"[contact.campaigns.{name}] trunk: a signalling name such as 'ss7'")
            tones = spec.get("tones", "cn")
            if tones:
                from _boardcore.tones import COUNTRIES
                if tones not in COUNTRIES:
                    raise CampaignError(f"[contact.campaigns.{name}] tones: one of {sorted(COUNTRIES)} or ''")
        self.specs = specs
        self.running: dict[str, tuple[Campaign, str]] = {}     #: name -> (campaign, device)
        self.attempts: dict[str, _Attempt] = {}                 #: call id -> attempt
        self.results: list[Report] = []                         #: every reported outcome, in order
        self.plays: list[tuple[str, tuple[int, int] | None, str]] = []   #: (call, circuit, prompt) then release
        self._turn = 0

    def start(self, name: str, *, may_set_calling: bool = True, staffed: int | None = None) -> Campaign:
        """Start campaign ``name``: its list and do-not-call list are read now (either unreadable:
        CampaignError, nothing dialled). ``may_set_calling``: the requester may present another
        calling number (a campaign with ``caller_id`` needs it); ``staffed``: agents of its
        queue (0 refuses to start: nobody would take an answered call)."""
        spec = self.specs.get(name)
        if spec is None:
            raise CampaignError(f"unknown campaign {name!r}; configured: {', '.join(sorted(self.specs)) or '-'}")
        if name in self.running:
            raise CampaignError(f"campaign {name!r} is already running")
        if spec.get("caller_id") is not None and not may_set_calling:
            raise PermissionError(f"campaign {name!r} presents caller-ID {spec['caller_id']}: "
                                  "the account may not set the calling number")
        if staffed == 0:
            raise CampaignError(f"campaign {name!r}: queue {spec['queue']!r} has no agents; not started")
        plan = DialPlan.from_dict(spec.get("dial_plan"))
        try:
            rules = Rules.from_spec(spec, plan)
        except RulesError as e:
            raise CampaignError(f"campaign {name!r} not started: {e}") from None
        c = Campaign.from_csv(name, spec["csv"], spec["queue"], plan=plan, rules=rules, pacer=_pacer(spec),
                              caller_id=spec.get("caller_id"), abandon_after=spec.get("abandon_after"),
                              **{k: spec[k] for k in _KNOBS if k in spec})
        self.running[name] = (c, str(spec.get("device", "dialler")))
        return c

    # ---- time ------------------------------------------------------------------------------
    def tick(self, now: float, ready: Callable[[str], int], dial: Callable[..., Any],
             listen: Listen | None = None, busy: Callable[[str], int] | None = None,
             ) -> tuple[list[Report], list[tuple[str, int]]]:
        """Decide what time and the tone detector decided, then place the calls pacing allows
        (``dial(device, number, trunk)`` -> MakeCall's result ``{"call", "span", "ts"}`` or a call id).

        Returns the reports to publish (answered ones with their Connect actions) and the calls
        to clear ``(call, cause)``: busy / congestion heard in band, no answer. ``busy(queue)``:
        the queue's agents on a call or in wrap-up (the predictive pacer counts on them)."""
        reports: list[Report] = []
        clear: list[tuple[str, int]] = []
        for call, a in list(self.attempts.items()):
            if (not a.reported and a.progress.service(now) is not None) or (a.amd_wait and a.amd is not None and (a.amd.verdict is not None or (a.progress.answered_at is not None
                                                       and now - a.progress.answered_at > 10.0))):
                r = self._report(a, call, now)
                if r is not None:
                    reports.append(r)
            if a.message_wait and a.amd is not None and a.amd.end is not None:
                a.message_wait = False
                self.plays.append((call, a.circuit, str(self.specs[a.campaign]["amd_message"])))
                continue
            leaves_message = a.message_wait or (a.progress.outcome is Outcome.ANSWERED
                                                and self.specs[a.campaign].get("amd") == "message")
            if a.reported and not a.answered and not a.clear_asked and not a.amd_wait and not leaves_message:
                a.clear_asked = True
                clear.append((call, 19 if a.progress.outcome is Outcome.NO_ANSWER else 16))
        # campaigns on one queue share its ready agents: each sees those the others do not hold
        held: dict[str, int] = {}
        for c, _ in self.running.values():
            held[c.queue] = held.get(c.queue, 0) + len(c.dialling) + len(c.waiting_agent)
        names = list(self.running)
        if names:                           # whoever went first last time goes last now (fairness)
            self._turn = (self._turn + 1) % len(names)
            names = names[self._turn:] + names[:self._turn]
        for name in names:
            c, device = self.running[name]
            for ab in c.abandons(now):
                gone = next((k for k, x in self.attempts.items() if x.attempt == ab.attempt), None)
                circ = self.attempts[gone].circuit if gone is not None else None
                r = Report(name, ab.number, Outcome.ABANDONED, gone, "pacing", [], time=now, circuit=circ)
                self.results.append(r)
                reports.append(r)
                if gone is not None:
                    self.plays.append((gone, circ, str(self.specs[name]["abandon_message"])))
            own = len(c.dialling) + len(c.waiting_agent)
            dials = c.service(now, max(0, ready(c.queue) - (held[c.queue] - own)),
                              busy(c.queue) if busy is not None else 0)
            if c.halted:
                log.error("campaign %s dials nobody: %s", name, c.halted)
            for b in c.take_blocked():
                r = Report(name, b.number, Outcome.DNC_BLOCKED, None, "rules", [], time=now)
                self.results.append(r)
                reports.append(r)
            held[c.queue] += len(dials)
            for d in dials:
                placed = self._place(name, c, d, device, now, dial)
                if isinstance(placed, Report):
                    reports.append(placed)
                    continue
                call, circ = placed
                self.attempts[call] = self._attempt(name, d.attempt, d.number, d.timeout, now, circ, listen)
        return reports, clear

    def _place(self, name: str, c: Campaign, d: Any, device: str, now: float, dial: Callable[..., Any],
               reraise: bool = False) -> tuple[str, tuple[int, int] | None] | Report:
        """Dial ``d`` from ``device``: (call id, circuit), or the Report of a dial refused at once
        (its CallControlError raised again when ``reraise``)."""
        trunk = self.specs[name].get("trunk")
        try:
            got = dial(device, d.dialled or d.number, trunk) if d.calling is None \
                else dial(device, d.dialled or d.number, trunk, d.calling)
        except CallControlError as e:
            cause = e.details.get("cause")
            p = ProgressClassifier(now, d.timeout)
            o = p.released(cause if isinstance(cause, int) else 34, now)
            c.progress(d.attempt, o, now, source=p.source)
            r = Report(name, d.number, o, None, p.source, [], time=now)
            self.results.append(r)
            if reraise:
                raise
            return r
        call = got["call"] if isinstance(got, dict) else str(got)
        circ = (int(got["span"]), int(got["ts"])) if isinstance(got, dict) and "ts" in got else None
        return call, circ

    def _attempt(self, name: str, attempt: str, number: str, timeout: float, now: float,
                 circuit: tuple[int, int] | None, listen: Listen | None) -> _Attempt:
        spec = self.specs[name]
        p = ProgressClassifier(now, timeout, voice_seconds=spec.get("voice_seconds", 0.6),
                               answer_wait=spec.get("answer_wait", 6.0), supervised=spec.get("supervised", True))
        a = _Attempt(name, attempt, number, p, circuit)
        self._listen(a, listen)
        return a

    def _listen(self, a: _Attempt, listen: Listen | None) -> None:
        """Feed the audio of ``a``'s circuit to a fresh tone detector (signalling only when the
        campaign's ``tones`` is "" or nobody can hear that circuit)."""
        spec = self.specs[a.campaign]
        country = spec.get("tones", "cn")
        if spec.get("amd"):
            a.amd = amd_.AmdListener(**dict(spec.get("amd_params") or {}))
        if listen is not None and a.circuit is not None and (country or a.amd is not None):
            a.listener = AttemptListener(a.progress, country) if country else None   # "" : AMD only
            try:
                a.unlisten = listen(a.circuit, lambda alaw, t: self._heard(a, alaw, t))
            except (TypeError, ValueError) as e:   # a circuit nobody can hear: signalling only
                log.warning("campaign %s: cannot listen to %s: %s", a.campaign, a.circuit, e)
                a.listener = a.amd = None          # no audio: no AMD either (every answer a person)

    @staticmethod
    def _heard(a: _Attempt, alaw: bytes, t: float) -> None:
        """One block of ``a``'s audio: call progress until it is decided, AMD from the answer on."""
        if not a.reported and a.listener is not None:
            a.listener.feed(alaw, t)
        if a.amd is not None and a.progress.answered_at is not None and (a.amd_wait or not a.reported
                                                                         or a.message_wait):
            a.amd.feed(alaw, t)

    def set_mode(self, name: str, mode: str) -> None:
        """Switch running campaign ``name`` to preview, progressive or predictive."""
        if name not in self.running:
            raise CampaignError(f"campaign {name!r} is not running")
        if mode == "predictive" and not self.specs[name].get("abandon_message"):
            raise CampaignError(f"campaign {name!r}: predictive mode needs an abandon_message")
        self.running[name][0].set_mode(mode)

    # ---- preview mode (cti.outbound.requests) -------------------------------------------------
    def campaign(self, name: str) -> Campaign:
        if name not in self.running:
            raise CampaignError(f"campaign {name!r} is not running")
        return self.running[name][0]

    def preview_dial(self, name: str, attempt: str, device: str, now: float, dial: Callable[..., Any],
                     listen: Listen | None = None) -> str:
        """Dial previewed record ``attempt`` from the agent's ``device`` (``dial`` as in
        :meth:`tick`); its outcome is classified as any attempt's, without AMD (the agent hears
        the callee). Returns the call id; CallControlError when the call cannot be placed."""
        c = self.campaign(name)
        agent = c.previewing(attempt)
        if agent is None:
            raise CampaignError(f"campaign {name!r} has no open preview {attempt!r}")
        d = c.preview_dial(attempt, now)
        placed = self._place(name, c, d, device, now, dial, reraise=True)
        assert not isinstance(placed, Report)
        call, circ = placed
        a = self.attempts[call] = self._attempt(name, d.attempt, d.number, d.timeout, now, circ, listen)
        a.agent, a.amd = agent, None
        return call

    def preview_skip(self, name: str, attempt: str, now: float, later: float | None = None) -> None:
        c = self.campaign(name)
        c.preview_skip(attempt, now, later)

    def moved(self, call: str, circuit: tuple[int, int], listen: Listen | None) -> None:
        """``call`` was placed again on ``circuit`` (automatic repeat attempt after glare): listen
        there, not to the circuit given up, which may now carry the far end's own call."""
        a = self.attempts.get(call)
        if a is None or a.circuit == circuit:
            return
        self._unlisten(a)
        a.listener, a.circuit = None, circuit
        if not a.reported:
            self._listen(a, listen)

    # ---- signalling ---------------------------------------------------------------------------
    def alerting(self, call: str, now: float) -> None:
        """The far end is being alerted (the trunk party of ``call`` is Delivered)."""
        a = self.attempts.get(call)
        if a is not None:
            a.progress.alerting(now)

    def answered(self, call: str, now: float) -> Report | None:
        """The far end answered ``call`` in signalling: a report when that decides at once
        (``answer_wait`` 0, or in-band evidence already decided), else None (``tick`` decides)."""
        a = self.attempts.get(call)
        if a is None or a.reported:
            return None
        a.progress.answered_by_signalling(now)
        return self._report(a, call, now) if a.progress.outcome is not None else None

    def ended(self, call: str, cause: int | None, now: float) -> Report | None:
        """``call`` ended (failed or cleared): its report if its outcome was not reported yet."""
        a = self.attempts.pop(call, None)
        if a is None:
            return None
        self._unlisten(a)
        if a.reported and not a.amd_wait:
            if a.answered:
                c = self.running[a.campaign][0]
                c.agent_connected(a.attempt)
                if a.progress.answered_at is not None and c.pacer is not None:
                    c.pacer.handled(now - a.progress.answered_at)
            return None
        if a.amd_wait:                  # hung up while AMD listened: report what it knew
            return self._report(a, call, now, gone=True)
        a.progress.released(cause, now)
        return self._report(a, call, now)

    def connected(self, call: str, now: float | None = None) -> None:
        """An answered call reached an agent: it no longer holds pacing budget (with ``now``:
        it counts as served in time for the abandon rate)."""
        a = self.attempts.get(call)
        if a is not None:
            self.running[a.campaign][0].agent_connected(a.attempt, now)

    # ---- results ---------------------------------------------------------------------------
    def summary(self, name: str) -> dict[str, int]:
        """Outcome counts, pending contacts, and what decided the finished ones (by_signalling,
        by_tone, by_timer)."""
        c = self.running[name][0]
        return {**c.summary(), **c.decided_by()}

    def _report(self, a: _Attempt, call: str, now: float, gone: bool = False) -> Report | None:
        """The attempt's outcome to its campaign; an answer waits for AMD's verdict when the
        campaign detects machines (None until then)."""
        p = a.progress
        assert p.outcome is not None
        a.reported = True
        outcome, verdict, conf = p.outcome, "", None
        action = self.specs[a.campaign].get("amd", "")
        if outcome is Outcome.ANSWERED and a.amd is not None:
            v = a.amd.verdict
            if v is None and not gone and (p.answered_at is None or now - p.answered_at <= 10.0):
                a.amd_wait = True
                return None
            a.amd_wait = False
            verdict, conf = (v.kind, v.confidence) if v is not None else ("unknown", 0.0)
            if verdict == "machine":
                outcome = Outcome.MACHINE
                a.message_wait = action == "message" and not gone
        if not a.message_wait:
            self._unlisten(a)
        heard = p.heard_tones()
        connects = self.running[a.campaign][0].progress(a.attempt, outcome, now, source=p.source, heard=heard,
                                                        connect=action == "agent" and not gone)
        if gone and connects:
            self.running[a.campaign][0].agent_connected(a.attempt)
            connects = []
        a.answered = bool(connects) or (bool(a.agent) and outcome is Outcome.ANSWERED)
        r = Report(a.campaign, a.number, outcome, call, p.source, heard, connects, a.circuit, now, verdict, conf)
        self.results.append(r)
        return r

    def take_plays(self) -> list[tuple[str, tuple[int, int] | None, str]]:
        """Prompts to play then release: (call, circuit, prompt) - the abandon message to an
        abandoned callee, the campaign's message to a machine after its beep."""
        out, self.plays = self.plays, []
        return out

    @staticmethod
    def _unlisten(a: _Attempt) -> None:
        if a.unlisten is not None:
            try:
                a.unlisten()
            finally:
                a.unlisten = None


def publish_campaign(bus: Any, r: Report, summary: dict[str, int]) -> None:
    """Publish ``r`` as CampaignProgress on ``campaign.<name>``, with ``source`` and ``heard``."""
    from . import events as ce
    extra: dict[str, Any] = {}
    fields = getattr(ce.CampaignProgress, "__dataclass_fields__", {})
    if "amd" in fields:                 # the event type carries the AMD verdict and its confidence
        extra = {"amd": r.amd, "confidence": r.confidence}
    bus.publish(ce.CampaignProgress(campaign=r.campaign, number=r.number, outcome=r.outcome.value,
                                    call=r.call, summary=summary, source=r.source, heard=list(r.heard), **extra))


def _pacer(spec: dict[str, Any]) -> Pacer:
    """The campaign's pacer from its table (PacingError -> ValueError for a clear message)."""
    try:
        return Pacer(spec.get("mode", "progressive"), ratio=spec.get("ratio", 1.0), target=spec.get("target", 0.03),
                     abandon_after=spec.get("abandon_after", 2.0))
    except PacingError as e:
        raise ValueError(str(e)) from None
