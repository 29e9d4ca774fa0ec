"""Contact-centre request types on the command socket.

Each is answered by a result map or a typed error (cti.call.errors), like the call-control
requests. Who may send what is checked in :mod:`cti.contact.centre`. They join the bus
schema when a contact centre is installed (:func:`register`), not on import, so a server
without a ``[contact]`` section publishes the call-control schema only.
"""
from __future__ import annotations

from dataclasses import dataclass

from cti.bus.schema import register_request
from cti.outbound.requests import OUTBOUND_REQUESTS


@dataclass(frozen=True, slots=True)
class AgentLogon:
    """Log ``agent`` on to ``device`` (NotReady until SetAgentState Ready)."""

    agent: str
    device: str
    RESULT = ("agent", "state")


@dataclass(frozen=True, slots=True)
class SetAgentState:
    """Set ``agent`` Ready, NotReady (with ``reason``) or LoggedOff."""

    agent: str
    state: str
    reason: str = ""
    RESULT = ("agent", "state")


@dataclass(frozen=True, slots=True)
class RouteSelect:
    """Answer a RouteRequest: send the call to ``agent`` (Ready) or to ``queue``."""

    route: str
    agent: str | None = None
    queue: str | None = None
    RESULT = ("route",)


@dataclass(frozen=True, slots=True)
class StartRecording:
    """Record ``call`` (both directions, stereo A-law WAV); the result and event carry the path."""

    call: str
    RESULT = ("call", "path")


@dataclass(frozen=True, slots=True)
class StopRecording:
    """Stop recording ``call``."""

    call: str
    RESULT = ("call", "path", "seconds")


@dataclass(frozen=True, slots=True)
class Monitor:
    """Supervise ``agent``'s call from ``device``: mode monitor (listen), whisper (to the agent) or barge."""

    agent: str
    device: str
    mode: str = "monitor"
    RESULT = ("call", "agent", "mode")


@dataclass(frozen=True, slots=True)
class StopMonitor:
    """End the supervision ``device`` started with Monitor (the agent's call goes back to the plain bridge)."""

    device: str
    RESULT = ("device", "call")


@dataclass(frozen=True, slots=True)
class GetStatistics:
    """Live statistics of ``queue`` (default: every queue) and the agents."""

    queue: str | None = None
    RESULT = ("time", "queues", "agents")


@dataclass(frozen=True, slots=True)
class PlayPrompt:
    """Play ``prompt`` (a file of the IVR prompt directory) to the caller of ``call``."""

    call: str
    prompt: str
    RESULT = ("call", "seconds")


@dataclass(frozen=True, slots=True)
class CollectDigits:
    """Collect up to ``max_digits`` DTMF digits on ``call``; a DigitsCollected event carries them."""

    call: str
    max_digits: int = 1
    timeout: float = 5.0
    inter_digit: float = 3.0
    terminator: str = "#"
    RESULT = ("call",)


@dataclass(frozen=True, slots=True)
class StartCampaign:
    """Start the outbound campaign ``campaign`` of the [contact.campaigns] configuration."""

    campaign: str
    RESULT = ("campaign", "contacts")


CONTACT_REQUESTS = (StartCampaign, AgentLogon, SetAgentState, RouteSelect, StartRecording, StopRecording, Monitor,
                    StopMonitor, GetStatistics, PlayPrompt, CollectDigits, *OUTBOUND_REQUESTS)


def register() -> None:
    """Make the command socket accept the contact-centre requests (idempotent)."""
    for cls in CONTACT_REQUESTS:
        register_request(cls)
