"""Agents: log on/off to a device, CSTA agent states, skills, wrap-up (sans-IO, time passed in).

Agent states follow CSTA (ECMA-269 agent states): LoggedOff, Ready, NotReady (with a reason
code), Busy and WorkingAfterCall. ``Reserved`` is the short Busy phase while a call is being
offered to the agent (its phone rings): the ACD never offers a second call to a Reserved or
Busy agent. On the bus, Reserved is shown as Busy with ``phase="ringing"``.

The machine is a transition table; a request the table does not allow in the agent's state
raises :class:`AgentStateError` (answered to the client as a typed error).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from cti.signaling.fsm import ANY, TableFSM, UnexpectedEvent


class AgentState(str, enum.Enum):
    LOGGED_OFF = "LoggedOff"
    READY = "Ready"
    NOT_READY = "NotReady"
    RESERVED = "Reserved"            # a call is ringing at the agent's device (Busy, phase ringing)
    BUSY = "Busy"                    # on a call (Busy, phase talking)
    WORKING_AFTER_CALL = "WorkingAfterCall"


S = AgentState

#: (state, request) -> (action, next state). ``None`` next state: the action decides.
TABLE: dict[tuple[Any, str], tuple[str | None, Any]] = {
    (S.LOGGED_OFF, "LogOn"): ("_on_log_on", S.NOT_READY),
    (S.READY, "LogOff"): ("_on_log_off", S.LOGGED_OFF),
    (S.NOT_READY, "LogOff"): ("_on_log_off", S.LOGGED_OFF),
    (S.WORKING_AFTER_CALL, "LogOff"): ("_on_log_off", S.LOGGED_OFF),
    (S.NOT_READY, "Ready"): (None, S.READY),
    (S.READY, "Ready"): (None, S.READY),
    (S.WORKING_AFTER_CALL, "Ready"): (None, S.READY),
    (S.READY, "NotReady"): (None, S.NOT_READY),
    (S.NOT_READY, "NotReady"): (None, S.NOT_READY),
    (S.WORKING_AFTER_CALL, "NotReady"): (None, S.NOT_READY),
    # Requests during a call are remembered and applied when the call and wrap-up end.
    (S.RESERVED, "NotReady"): ("_defer", None),
    (S.BUSY, "NotReady"): ("_defer", None),
    (S.BUSY, "LogOff"): ("_defer", None),
    (S.RESERVED, "LogOff"): ("_defer", None),
    (S.BUSY, "Ready"): ("_defer", None),
    # Call handling, driven by the ACD.
    (S.READY, "Offer"): ("_on_offer", S.RESERVED),
    (S.RESERVED, "Answer"): ("_on_answer", S.BUSY),
    (S.RESERVED, "NoAnswer"): ("_on_no_answer", None),
    (S.RESERVED, "Withdraw"): ("_on_withdraw", S.READY),
    (S.BUSY, "CallEnd"): ("_on_call_end", None),
    (S.WORKING_AFTER_CALL, "WrapUpDone"): ("_after_wrap_up", None),
    # A direct (non-ACD) call seen on the agent's device makes the agent Busy too.
    (S.READY, "DeviceBusy"): ("_on_direct", S.BUSY),
    (S.NOT_READY, "DeviceBusy"): ("_on_direct", S.BUSY),
    (S.WORKING_AFTER_CALL, "DeviceBusy"): ("_on_direct", S.BUSY),
    (ANY, "Refresh"): (None, None),
}


class AgentStateError(ValueError):
    """A request that the agent's current state does not allow."""


@dataclass
class Agent:
    """One agent: identity, device, skills, state and the counters statistics need."""

    id: str
    team: str = ""
    skills: dict[str, int] = field(default_factory=dict)   #: skill -> level 1..100
    wrap_up: float = 10.0                 #: seconds of WorkingAfterCall after each call
    rona_not_ready: bool = True           #: ring-no-answer puts the agent NotReady ("RONA")
    device: str | None = None
    state: AgentState = AgentState.LOGGED_OFF
    reason: str = ""                      #: NotReady reason code
    since: float = 0.0                    #: time of the last state change
    call_id: str | None = None
    idle_since: float = 0.0               #: end of the last call (longest-idle strategy)
    calls_taken: int = 0
    talk_time: float = 0.0
    answered_at: float | None = None
    wrap_up_until: float | None = None
    pending: tuple[str, str] | None = None  #: (request, reason) deferred until the call ends
    #: time spent per state, for occupancy: state value -> seconds
    time_in: dict[str, float] = field(default_factory=dict)

    def skill(self, name: str) -> int:
        return self.skills.get(name, 0)

    def has_skills(self, required: dict[str, int]) -> bool:
        return all(self.skills.get(s, 0) >= lvl for s, lvl in required.items())

    def public(self) -> dict[str, Any]:
        """The agent as published on the bus and in snapshots."""
        state = self.state
        return {
            "agent": self.id, "team": self.team, "device": self.device,
            "state": "Busy" if state is AgentState.RESERVED else state.value,
            "phase": "ringing" if state is AgentState.RESERVED else ("talking" if state is AgentState.BUSY else ""),
            "reason": self.reason, "call": self.call_id, "skills": dict(self.skills),
            "since": self.since, "calls_taken": self.calls_taken,
        }


@dataclass(frozen=True)
class AgentEvent:
    """A change of an agent's state, for the bus: type is the CSTA event name."""

    type: str          #: AgentLoggedOn, AgentLoggedOff, AgentReady, AgentNotReady, AgentBusy, AgentWorkingAfterCall
    agent: dict[str, Any]
    time: float


_EVENT_FOR = {
    AgentState.LOGGED_OFF: "AgentLoggedOff", AgentState.READY: "AgentReady",
    AgentState.NOT_READY: "AgentNotReady", AgentState.RESERVED: "AgentBusy",
    AgentState.BUSY: "AgentBusy", AgentState.WORKING_AFTER_CALL: "AgentWorkingAfterCall",
}


class AgentMachine:
    """Applies requests to one agent through the transition table."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.fsm: TableFSM[AgentState] = TableFSM(f"agent {agent.id}", TABLE, agent.state, self)
        self._now = 0.0
        self._reason = ""
        self._events: list[AgentEvent] = []

    def request(self, request: str, now: float, *, reason: str = "", **kw: Any) -> list[AgentEvent]:
        """Apply a request; returns the agent events it caused (empty when nothing changed)."""
        a = self.agent
        self._now, self._reason, self._events = now, reason, []
        before = (a.state, a.reason)
        try:
            self.fsm.fire(request, **kw)
        except UnexpectedEvent as exc:
            raise AgentStateError(f"agent {a.id}: {request} not allowed while {a.state.value}") from exc
        target = self.fsm.state
        if a.state is not target:
            self._enter(target, reason if target is AgentState.NOT_READY else "")
        elif request == "NotReady" and target is AgentState.NOT_READY:
            self._enter(target, reason)
        if (a.state, a.reason) != before and not self._events:
            self._emit(a.state)
        return self._events

    # -- helpers ---------------------------------------------------------------------------
    def _enter(self, state: AgentState, reason: str) -> None:
        a = self.agent
        if state is a.state and reason == a.reason:
            return
        a.time_in[a.state.value] = a.time_in.get(a.state.value, 0.0) + max(0.0, self._now - a.since)
        a.state, a.reason, a.since = state, reason, self._now
        self.fsm.state = state

    def _emit(self, state: AgentState) -> None:
        self._events.append(AgentEvent(_EVENT_FOR[state], self.agent.public(), self._now))

    # -- actions named in TABLE -------------------------------------------------------------
    def _on_log_on(self, device: str, skills: dict[str, int] | None = None) -> None:
        a = self.agent
        a.device = device
        if skills is not None:
            a.skills = dict(skills)
        a.idle_since = self._now
        self._enter(AgentState.NOT_READY, self._reason or "LoggedOn")
        self._events.append(AgentEvent("AgentLoggedOn", a.public(), self._now))

    def _on_log_off(self) -> None:
        self.agent.pending = None

    def _defer(self) -> None:
        self.agent.pending = (self.fsm.trace[-1][1], self._reason)

    def _on_offer(self, call_id: str) -> None:
        self.agent.call_id = call_id

    def _on_answer(self) -> None:
        a = self.agent
        a.answered_at = self._now
        a.calls_taken += 1

    def _on_no_answer(self) -> None:
        a = self.agent
        a.call_id = None
        if a.rona_not_ready:
            self._enter(AgentState.NOT_READY, "RONA")
        else:
            self._enter(AgentState.READY, "")
        self._resolve_pending()

    def _on_withdraw(self) -> None:
        self.agent.call_id = None

    def _on_direct(self, call_id: str | None = None) -> None:
        a = self.agent
        a.call_id = call_id
        a.answered_at = self._now

    def _on_call_end(self) -> None:
        a = self.agent
        if a.answered_at is not None:
            a.talk_time += self._now - a.answered_at
        a.answered_at = None
        a.call_id = None
        a.idle_since = self._now
        skip_wrap_up = a.pending is not None and a.pending[0] == "Ready"
        if skip_wrap_up:
            a.pending = None
        if a.wrap_up > 0 and not skip_wrap_up:
            a.wrap_up_until = self._now + a.wrap_up
            self._enter(AgentState.WORKING_AFTER_CALL, "")
        else:
            self._after_wrap_up()

    def _after_wrap_up(self) -> None:
        a = self.agent
        a.wrap_up_until = None
        a.idle_since = self._now
        self._enter(AgentState.READY, "")
        self._resolve_pending()

    def _resolve_pending(self) -> None:
        a = self.agent
        if a.pending is None:
            return
        request, reason = a.pending
        a.pending = None
        if request == "LogOff":
            self._enter(AgentState.LOGGED_OFF, "")
        elif request == "NotReady":
            self._enter(AgentState.NOT_READY, reason)
        # a deferred "Ready" only shortens wrap-up (handled at call end)
