"""Contact-centre events on the bus: agent states (``agent.<id>``), queue events (``queue.<name>``),
IVR digits, recordings and statistics.

Each class is a :class:`cti.call.events.BusEvent`, so the bus stamps ``seq``/``time``/``v`` and
publishes it under :meth:`topic`. ``from_acd`` turns the ACD engine's sans-IO events
(:class:`cti.acd.agents.AgentEvent`, :class:`cti.acd.queue.QueueEvent`) into these.
Names that the call model already uses on ``call.*`` (Queued, Offered, Diverted) carry a prefix
here (CallQueued, AgentOffered, CallDiverted) so one ``type`` never means two things.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from cti.acd.agents import AgentEvent
from cti.acd.queue import QueueEvent
from cti.call.events import BusEvent


@dataclass(frozen=True, slots=True)
class AgentStateEvent(BusEvent):
    """Base of the Agent* events: the agent's public state after the change."""

    TOPIC: ClassVar[str] = "agent"

    agent: str
    state: str
    device: str | None = None
    team: str = ""
    phase: str = ""          #: Busy: "ringing" | "talking"
    reason: str = ""         #: NotReady reason code
    call: str | None = None

    def topic(self) -> str:
        return f"agent.{self.agent}"


@dataclass(frozen=True, slots=True)
class AgentLoggedOn(AgentStateEvent):
    """The agent logged on to ``device``."""


@dataclass(frozen=True, slots=True)
class AgentLoggedOff(AgentStateEvent):
    """The agent logged off."""


@dataclass(frozen=True, slots=True)
class AgentReady(AgentStateEvent):
    """The agent is ready for ACD calls."""


@dataclass(frozen=True, slots=True)
class AgentNotReady(AgentStateEvent):
    """The agent is not ready (``reason`` code)."""


@dataclass(frozen=True, slots=True)
class AgentBusy(AgentStateEvent):
    """A call rings at the agent (``phase`` ringing) or the agent talks (``phase`` talking)."""


@dataclass(frozen=True, slots=True)
class AgentWorkingAfterCall(AgentStateEvent):
    """The agent is in wrap-up after a call."""


@dataclass(frozen=True, slots=True)
class QueueBusEvent(BusEvent):
    """Base of the queue events: ``call`` in ``queue``; ``data`` holds the event's details."""

    TOPIC: ClassVar[str] = "queue"

    queue: str
    call: str
    data: dict[str, Any] = field(default_factory=dict)
    devices: list[str] = field(default_factory=list)   #: agent devices concerned (the bus shows them the event)

    def topic(self) -> str:
        return f"queue.{self.queue}"


def _queue_event(name: str, doc: str) -> type[QueueBusEvent]:
    cls = type(name, (QueueBusEvent,), {"__doc__": doc, "__module__": __name__})
    return dataclass(frozen=True, slots=True)(cls)


CallQueued = _queue_event("CallQueued", "The call entered the queue (data: caller, priority, position).")
AgentOffered = _queue_event("AgentOffered", "The ACD rings agents for the call (data: agents, devices, caller).")
Connected = _queue_event("Connected", "An agent answered (data: agent, device, wait, record).")
CallDiverted = _queue_event("CallDiverted", "The call left the queue for another queue or voicemail (data: to, reason, "
                                            "wait); not the call model's Diverted (call.*), which names devices.")
Abandoned = _queue_event("Abandoned", "The caller hung up while waiting (data: wait).")
RingNoAnswer = _queue_event("RingNoAnswer", "The offered agent did not answer in time (data: agent).")
Announce = _queue_event("Announce", "Position / expected wait announced (data: position, expected_wait).")
RouteRequest = _queue_event("RouteRequest", "The CRM decides: answer RouteSelect by data.timeout (data: route).")
RouteUsed = _queue_event("RouteUsed", "The route taken (data: route, by = crm | default).")
CallEnded = _queue_event("CallEnded", "The agent's call ended (data: agent, talk).")

QUEUE_EVENTS: dict[str, type[QueueBusEvent]] = {
    "Queued": CallQueued, "Offered": AgentOffered, "Connected": Connected, "Diverted": CallDiverted,
    "Abandoned": Abandoned, "RingNoAnswer": RingNoAnswer, "Announce": Announce,
    "RouteRequest": RouteRequest, "RouteUsed": RouteUsed, "CallEnded": CallEnded,
}
AGENT_EVENTS: dict[str, type[AgentStateEvent]] = {c.__name__: c for c in (
    AgentLoggedOn, AgentLoggedOff, AgentReady, AgentNotReady, AgentBusy, AgentWorkingAfterCall)}


@dataclass(frozen=True, slots=True)
class DigitsCollected(BusEvent):
    """The IVR (or a CollectDigits request) collected ``digits`` on ``call`` (``reason``: how it ended)."""

    TOPIC: ClassVar[str] = "ivr"

    call: str
    digits: str
    reason: str = ""
    menu: str = ""

    def topic(self) -> str:
        return f"ivr.{self.call}"


@dataclass(frozen=True, slots=True)
class RecordingStarted(BusEvent):
    """Recording of ``call`` started into the WAV file ``path``."""

    TOPIC: ClassVar[str] = "recording"

    call: str
    path: str
    agent: str | None = None

    def topic(self) -> str:
        return f"recording.{self.call}"


@dataclass(frozen=True, slots=True)
class RecordingStopped(RecordingStarted):
    """Recording of ``call`` ended; ``seconds`` of audio are in ``path``."""

    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class QueueStats(BusEvent):
    """Live statistics of one queue (docs/stats.md formulas) and its agents."""

    TOPIC: ClassVar[str] = "queue"

    queue: str
    figures: dict[str, Any] = field(default_factory=dict)
    agents: dict[str, Any] = field(default_factory=dict)

    def topic(self) -> str:
        return f"queue.{self.queue}"


CONTACT_EVENTS: dict[str, type[BusEvent]] = {
    **{c.__name__: c for c in QUEUE_EVENTS.values()}, **AGENT_EVENTS,
    "DigitsCollected": DigitsCollected, "RecordingStarted": RecordingStarted,
    "RecordingStopped": RecordingStopped, "QueueStats": QueueStats}


def from_acd(event: AgentEvent | QueueEvent, devices: list[str] | None = None) -> BusEvent:
    """The bus event for one ACD engine event (``devices``: the agent devices a queue event concerns)."""
    if isinstance(event, AgentEvent):
        a = event.agent
        return AGENT_EVENTS[event.type](agent=a["agent"], state=a["state"], device=a.get("device"),
                                        team=a.get("team") or "", phase=a.get("phase", ""),
                                        reason=a.get("reason", ""), call=a.get("call"))
    return QUEUE_EVENTS[event.type](queue=event.queue, call=event.call, data=dict(event.data),
                                    devices=list(devices or ()))


@dataclass(frozen=True, slots=True)
class CampaignProgress(BusEvent):
    """An outbound attempt of ``campaign`` to ``number`` ended with ``outcome`` (answered, busy, ...),
    decided by ``source`` (signalling, tone, timer) after hearing ``heard`` (the tone detector's
    reports). Outcomes: answered (a person), machine, busy, no-answer, congestion, unallocated,
    failed, abandoned, dnc-blocked; ``amd`` is the answering-machine detector's verdict (human,
    machine, unknown; "" when it did not run) with its ``confidence``."""

    TOPIC: ClassVar[str] = "campaign"

    campaign: str
    number: str
    outcome: str
    call: str | None = None
    summary: dict[str, int] = field(default_factory=dict)
    source: str = ""
    heard: list[str] = field(default_factory=list)
    amd: str = ""
    confidence: float | None = None

    def topic(self) -> str:
        return f"campaign.{self.campaign}"


CONTACT_EVENTS["CampaignProgress"] = CampaignProgress


@dataclass(frozen=True, slots=True)
class CampaignStatus(BusEvent):
    """Where running campaign ``campaign`` stands (after each outcome, a mode switch, a start):
    ``mode`` (preview, progressive, predictive), ``status`` (dialled, connects, answered,
    abandoned, abandon_rate against ``target``, dialling, waiting_agent, previews, pending,
    ...: cti.outbound.campaign.Campaign.status) and how many of its queue's agents are in
    each state (``agent_states``: Ready, Busy, NotReady...)."""

    TOPIC: ClassVar[str] = "campaign"

    campaign: str
    mode: str
    status: dict[str, Any] = field(default_factory=dict)
    agent_states: dict[str, int] = field(default_factory=dict)

    def topic(self) -> str:
        return f"campaign.{self.campaign}"


CONTACT_EVENTS["CampaignStatus"] = CampaignStatus
