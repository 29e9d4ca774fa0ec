"""Agents: log on/off to a device, CSTA agent states, skills, wrap-up (sans-IO, time passed in).

Agent states follow CSTA (ECMA-269 agent states): LoggedOff, Ready, NotReady (with a reason
code), Busy and WorkingAfterCall. ``Reserved`` is the short Busy phase while a call is being
offered to the agent (its phone rings): the ACD never offers a second call to a Reserved or
Busy agent. On the bus, Reserved is shown as Busy with ``phase="ringing"``.

The machine is a :class:`cti.signaling.engine.Table` (the one engine): every state change is
a row, the choices (ring no answer -> NotReady "RONA" or Ready; a request deferred during a
call applied when it ends) are guarded rows, and after-call work is the entry timer
``wrap_up`` of WorkingAfterCall whose expiry is the row ``WrapUpDone``. Actions only keep the
agent's counters and reason. A request the table does not allow in the agent's state raises
:class:`AgentStateError` (answered to the client as a typed error).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from cti.signaling.engine import ANY, Machine, Row, Table, UnexpectedEvent
from cti.signaling.timers import TimerSpec


class AgentState(str, enum.Enum):
    LOGGED_OFF = "LoggedOff"
    READY = "Ready"
    NOT_READY = "NotReady"
    RESERVED = "Reserved"            # a call is ringing at the agent's device (Busy, phase ringing)
    BUSY = "Busy"                    # on a call (Busy, phase talking)
    WORKING_AFTER_CALL = "WorkingAfterCall"


class AgentRequest(str, enum.Enum):
    """What can happen to an agent: its own requests and the ACD's call handling."""

    LOG_ON = "LogOn"
    LOG_OFF = "LogOff"
    READY = "Ready"
    NOT_READY = "NotReady"
    OFFER = "Offer"                  #: the ACD rings the agent's device
    ANSWER = "Answer"
    NO_ANSWER = "NoAnswer"           #: ring timeout
    WITHDRAW = "Withdraw"            #: another agent answered, or the caller left
    CALL_END = "CallEnd"
    WRAP_UP_DONE = "WrapUpDone"      #: expiry of the wrap_up timer (or asked for)
    DEVICE_BUSY = "DeviceBusy"       #: a direct (non-ACD) call seen on the agent's device
    REFRESH = "Refresh"


@dataclass(frozen=True)
class AgentInput:
    """The message of an agent request (what the row's guard and action read)."""

    request: AgentRequest
    reason: str = ""
    device: str | None = None
    skills: dict[str, int] | None = None
    call_id: str | None = None

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
    """Applies requests to one agent through :data:`TABLE` (see the module docstring)."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.fsm: Machine[AgentMachine] = Machine(TABLE, self, name=f"agent {agent.id}", state=agent.state,
                                                   timer_values={"wrap_up": agent.wrap_up}, trace=32)
        self._now = 0.0
        self._reason = ""
        self._events: list[AgentEvent] = []

    def request(self, request: str | AgentRequest, now: float, *, reason: str = "", device: str | None = None,
                skills: dict[str, int] | None = None, call_id: str | None = None) -> list[AgentEvent]:
        """Apply a request; returns the agent events it caused (empty when nothing changed)."""
        try:
            req = AgentRequest(request)
        except ValueError:
            raise AgentStateError(f"agent {self.agent.id}: unknown request {request!r}") from None
        message = AgentInput(req, reason, device, skills, call_id)
        return self._run(lambda: self.fsm.fire(req, message, now), now, reason)

    def service(self, now: float) -> list[AgentEvent]:
        """Expire the agent's timers (wrap-up) due at ``now``."""
        due = self.fsm.deadline()
        if due is None or due > now:
            return []
        return self._run(lambda: self.fsm.handle_timer(now), now, "")

    def deadline(self) -> float | None:
        due: float | None = self.fsm.deadline()
        return due

    def _run(self, step: Any, now: float, reason: str) -> list[AgentEvent]:
        a = self.agent
        self._now, self._reason, self._events = now, reason, []
        before = (a.state, a.reason)
        try:
            step()
        except UnexpectedEvent as exc:
            raise AgentStateError(f"agent {a.id}: {_request_name(exc.event)} not allowed while {a.state.value}") from exc
        target: AgentState = self.fsm.state
        self._enter(target, self._reason if target is AgentState.NOT_READY else "")
        if (a.state, a.reason) != before and not self._events:
            self._events.append(AgentEvent(_EVENT_FOR[a.state], a.public(), now))
        return self._events

    def _enter(self, state: AgentState, reason: str) -> None:
        a = self.agent
        if state is a.state and reason == a.reason:
            return
        a.time_in[a.state.value] = a.time_in.get(a.state.value, 0.0) + max(0.0, self._now - a.since)
        a.state, a.reason, a.since = state, reason, self._now

    # -- guards (ctx, message) ----------------------------------------------------------------
    def pending_log_off(self, message: Any) -> bool:
        return self.agent.pending is not None and self.agent.pending[0] == "LogOff"

    def pending_not_ready(self, message: Any) -> bool:
        return self.agent.pending is not None and self.agent.pending[0] == "NotReady"

    def rona(self, message: Any) -> bool:
        return self.agent.rona_not_ready

    def wraps_up(self, message: Any) -> bool:
        """After-call work follows the call, unless there is none or the agent asked for Ready."""
        return self.agent.wrap_up > 0 and not (self.agent.pending is not None and self.agent.pending[0] == "Ready")

    # -- actions (ctx, message, now) ------------------------------------------------------------
    def log_on(self, message: AgentInput, now: float) -> None:
        a = self.agent
        a.device = message.device
        if message.skills is not None:
            a.skills = dict(message.skills)
        a.idle_since = now
        self._reason = message.reason or "LoggedOn"
        self._enter(AgentState.NOT_READY, self._reason)
        self._events.append(AgentEvent("AgentLoggedOn", a.public(), now))

    def log_off(self, message: AgentInput, now: float) -> None:
        self.agent.pending = None

    def defer(self, message: AgentInput, now: float) -> None:
        """Remember a request made during a call: its row applies when the call (and wrap-up) ends."""
        self.agent.pending = (message.request.value, message.reason)

    def offer(self, message: AgentInput, now: float) -> None:
        self.agent.call_id = message.call_id

    def answer(self, message: AgentInput, now: float) -> None:
        a = self.agent
        a.answered_at = now
        a.calls_taken += 1

    def no_answer(self, message: AgentInput, now: float) -> None:
        self.agent.call_id = None
        self._resolve(rona=True)

    def withdraw(self, message: AgentInput, now: float) -> None:
        self.agent.call_id = None

    def direct(self, message: AgentInput, now: float) -> None:
        a = self.agent
        a.call_id = message.call_id
        a.answered_at = now

    def call_end(self, message: AgentInput, now: float) -> None:
        a = self.agent
        if a.answered_at is not None:
            a.talk_time += now - a.answered_at
        a.answered_at = None
        a.call_id = None
        a.idle_since = now
        if self.fsm.state is AgentState.WORKING_AFTER_CALL:
            a.wrap_up_until = now + a.wrap_up
        else:
            self._resolve()

    def wrap_up_done(self, message: Any, now: float) -> None:
        a = self.agent
        a.wrap_up_until = None
        a.idle_since = now
        self._resolve()

    def _resolve(self, rona: bool = False) -> None:
        """The deferred request (if any) is used up by the row the guards chose; its reason (or
        RONA) goes with a NotReady."""
        a = self.agent
        pending, a.pending = a.pending, None
        if pending is not None and pending[0] == "NotReady":
            self._reason = pending[1]
        elif rona:
            self._reason = "RONA"


def _request_name(event: Any) -> str:
    return event.value if isinstance(event, AgentRequest) else str(event)


S, Q, M = AgentState, AgentRequest, AgentMachine
_CSTA = "ECMA-269 agent states"

#: Every agent state change (see the module docstring).
TABLE = Table("agent", S.LOGGED_OFF, (
    Row(S.LOGGED_OFF, Q.LOG_ON, S.NOT_READY, M.log_on, clause=_CSTA),
    Row(S.READY, Q.LOG_OFF, S.LOGGED_OFF, M.log_off, clause=_CSTA),
    Row(S.NOT_READY, Q.LOG_OFF, S.LOGGED_OFF, M.log_off, clause=_CSTA),
    Row(S.WORKING_AFTER_CALL, Q.LOG_OFF, S.LOGGED_OFF, M.log_off, clause=_CSTA),
    Row(S.NOT_READY, Q.READY, S.READY),
    Row(S.READY, Q.READY, None),
    Row(S.WORKING_AFTER_CALL, Q.READY, S.READY),          # the agent ends wrap-up early
    Row(S.READY, Q.NOT_READY, S.NOT_READY),
    Row(S.NOT_READY, Q.NOT_READY, None),                  # a new reason code is an event too
    Row(S.WORKING_AFTER_CALL, Q.NOT_READY, S.NOT_READY),
    # requests during a call are remembered and applied when the call (and wrap-up) ends
    Row(S.RESERVED, Q.NOT_READY, None, M.defer),
    Row(S.BUSY, Q.NOT_READY, None, M.defer),
    Row(S.BUSY, Q.LOG_OFF, None, M.defer),
    Row(S.RESERVED, Q.LOG_OFF, None, M.defer),
    Row(S.BUSY, Q.READY, None, M.defer),                  # skips wrap-up
    # call handling, driven by the ACD
    Row(S.READY, Q.OFFER, S.RESERVED, M.offer),
    Row(S.RESERVED, Q.ANSWER, S.BUSY, M.answer),
    Row(S.RESERVED, Q.NO_ANSWER, S.LOGGED_OFF, M.no_answer, M.pending_log_off),
    Row(S.RESERVED, Q.NO_ANSWER, S.NOT_READY, M.no_answer, M.pending_not_ready),
    Row(S.RESERVED, Q.NO_ANSWER, S.NOT_READY, M.no_answer, M.rona, clause="RONA"),
    Row(S.RESERVED, Q.NO_ANSWER, S.READY, M.no_answer),
    Row(S.RESERVED, Q.WITHDRAW, S.READY, M.withdraw),
    Row(S.BUSY, Q.CALL_END, S.WORKING_AFTER_CALL, M.call_end, M.wraps_up),
    Row(S.BUSY, Q.CALL_END, S.LOGGED_OFF, M.call_end, M.pending_log_off),
    Row(S.BUSY, Q.CALL_END, S.NOT_READY, M.call_end, M.pending_not_ready),
    Row(S.BUSY, Q.CALL_END, S.READY, M.call_end),
    Row(S.WORKING_AFTER_CALL, Q.WRAP_UP_DONE, S.LOGGED_OFF, M.wrap_up_done, M.pending_log_off),
    Row(S.WORKING_AFTER_CALL, Q.WRAP_UP_DONE, S.NOT_READY, M.wrap_up_done, M.pending_not_ready),
    Row(S.WORKING_AFTER_CALL, Q.WRAP_UP_DONE, S.READY, M.wrap_up_done),
    # a direct (non-ACD) call seen on the agent's device makes the agent Busy too
    Row(S.READY, Q.DEVICE_BUSY, S.BUSY, M.direct),
    Row(S.NOT_READY, Q.DEVICE_BUSY, S.BUSY, M.direct),
    Row(S.WORKING_AFTER_CALL, Q.DEVICE_BUSY, S.BUSY, M.direct),
    Row(ANY, Q.REFRESH, None),
), timers={"wrap_up": TimerSpec("wrap_up", 10.0, 0.0, 86400.0, "ECMA-269 agent state WorkingAfterCall",
                                "after-call work: seconds in WorkingAfterCall after each call")},
    entry={S.WORKING_AFTER_CALL: ("wrap_up",)}, expiry={"wrap_up": Q.WRAP_UP_DONE})
