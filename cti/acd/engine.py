"""The ACD: agents, queues and routing as one sans-IO machine (time passed in).

Inputs are the server's observations (a call enters a queue, an agent's phone answered or
not, a caller hung up, a call ended, a CRM answered a RouteRequest, an agent asked for a
state) and ``service(now)`` for time. Outputs are :class:`QueueEvent` and
:class:`AgentEvent` lists that the server both executes (``Offered``: ring these agents'
devices; ``Diverted``: move the call; ``Announce``: play position and expected wait) and
publishes on the bus. Nothing here touches a socket or a clock.

Guarantees, checked by the load tests: every call that enters ends Connected, Abandoned or
Diverted (none lost), and no agent is offered a second call while Reserved or Busy.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any
from collections.abc import Iterable

from .agents import Agent, AgentEvent, AgentMachine, AgentState, AgentStateError
from .queue import VOICEMAIL, QueueConfig, QueuedCall, QueueEvent
from .strategies import Strategy, StrategyMemory, order

Event = QueueEvent | AgentEvent


class AcdError(ValueError):
    """A request naming an unknown queue, agent, call or route, or one not allowed now."""


@dataclass
class _Queue:
    config: QueueConfig
    memory: StrategyMemory
    waiting: dict[str, QueuedCall]
    aht: float = 180.0          #: rolling average handle time, for expected wait


class AcdEngine:
    """Agents, queues and routing. See the module docstring for the contract."""

    def __init__(self, queues: Iterable[QueueConfig] = (), agents: Iterable[Agent] = (), *, seed: int = 0) -> None:
        self.queues: dict[str, _Queue] = {}
        self.agents: dict[str, AgentMachine] = {}
        self.sticky: dict[str, str] = {}           #: caller -> agent who served them last
        self.connected: dict[str, tuple[str, str]] = {}   #: call -> (agent, queue) while talking
        self._order = itertools.count()
        self._route_ids = itertools.count(1)
        self._routes: dict[str, QueuedCall] = {}
        self._seed = seed
        for q in queues:
            self.add_queue(q)
        for a in agents:
            self.add_agent(a)

    # -- configuration ------------------------------------------------------------------------
    def add_queue(self, config: QueueConfig) -> None:
        config.validate()
        if config.name in self.queues:
            raise AcdError(f"queue {config.name!r} defined twice")
        mem = StrategyMemory()
        mem.rng.seed(f"{self._seed}/{config.name}")
        self.queues[config.name] = _Queue(config, mem, {})

    def add_agent(self, agent: Agent) -> None:
        if agent.id in self.agents:
            raise AcdError(f"agent {agent.id!r} defined twice")
        self.agents[agent.id] = AgentMachine(agent)

    def check(self) -> None:
        """Validate cross references (overflow targets, members); raise AcdError with the first problem."""
        for q in self.queues.values():
            c = q.config
            if c.overflow not in (None, VOICEMAIL) and c.overflow not in self.queues:
                raise AcdError(f"queue {c.name!r}: overflow to unknown queue {c.overflow!r}")
            for m in c.members:
                if m not in self.agents:
                    raise AcdError(f"queue {c.name!r}: unknown member agent {m!r}")

    # -- agent requests -----------------------------------------------------------------------
    def agent(self, agent_id: str) -> Agent:
        try:
            return self.agents[agent_id].agent
        except KeyError:
            raise AcdError(f"unknown agent {agent_id!r}") from None

    def log_on(self, agent_id: str, device: str, now: float, skills: dict[str, int] | None = None) -> list[Event]:
        self.agent(agent_id)
        return self._agent_request(agent_id, "LogOn", now, device=device, skills=skills) + self.service(now)

    def set_agent_state(self, agent_id: str, state: str, now: float, reason: str = "") -> list[Event]:
        """SetAgentState: ``Ready``, ``NotReady`` (with a reason code) or ``LoggedOff``."""
        self.agent(agent_id)
        request = {"Ready": "Ready", "NotReady": "NotReady", "LoggedOff": "LogOff", "LogOff": "LogOff"}.get(state)
        if request is None:
            raise AcdError(f"unknown agent state {state!r}; use Ready, NotReady or LoggedOff")
        return self._agent_request(agent_id, request, now, reason=reason) + self.service(now)

    def _agent_request(self, agent_id: str, request: str, now: float, **kw: Any) -> list[Event]:
        try:
            return list(self.agents[agent_id].request(request, now, **kw))
        except AgentStateError as exc:
            raise AcdError(str(exc)) from None

    # -- call inputs --------------------------------------------------------------------------
    def enqueue(self, call_id: str, queue: str, caller: str, now: float, priority: int = 0) -> list[Event]:
        """A call enters ``queue`` (from IVR, a route point or a transfer)."""
        q = self._queue(queue)
        if self._find(call_id) is not None or call_id in self.connected:
            raise AcdError(f"call {call_id!r} is already queued or connected")
        c = q.config
        qc = QueuedCall(call_id, queue, caller, int(priority), now, next(self._order))
        if c.max_callers is not None and len(q.waiting) >= c.max_callers and c.overflow is not None:
            return [QueueEvent("Diverted", queue, call_id, now, {"to": c.overflow, "reason": "full", "wait": 0.0})] \
                + self._divert_into(c.overflow, qc, now)
        q.waiting[call_id] = qc
        if c.announce_every:
            qc.next_announce = now + c.announce_every
        events: list[Event] = [QueueEvent("Queued", queue, call_id, now, {
            "caller": caller, "priority": qc.priority, "position": self.position(call_id)})]
        if c.route_request_timeout:
            qc.route_id = f"r{next(self._route_ids)}"
            qc.route_deadline = now + c.route_request_timeout
            self._routes[qc.route_id] = qc
            events.append(QueueEvent("RouteRequest", queue, call_id, now, {
                "route": qc.route_id, "caller": caller, "timeout": c.route_request_timeout}))
        return events + self.service(now)

    def route_select(self, route_id: str, now: float, *, agent: str | None = None,
                     queue: str | None = None) -> list[Event]:
        """The CRM's answer to a RouteRequest: a ready agent, or another queue."""
        qc = self._routes.get(route_id)
        if qc is None:
            raise AcdError(f"unknown or expired route request {route_id!r}")
        if (agent is None) == (queue is None):
            raise AcdError("RouteSelect needs exactly one of agent or queue")
        if agent is not None:
            a = self.agent(agent)
            if a.state is not AgentState.READY:
                raise AcdError(f"agent {agent!r} is {a.state.value}, not Ready")
            self._end_route(qc)
            return self._offer(qc, [a], now) + self.service(now)
        assert queue is not None
        self._queue(queue)
        self._end_route(qc)
        self._remove(qc)
        diverted: list[Event] = [QueueEvent("Diverted", qc.queue, qc.call_id, now, {
            "to": queue, "reason": "route-select", "wait": now - qc.enqueued_at})]
        return diverted + self._divert_into(queue, qc, now) + self.service(now)

    def answered(self, call_id: str, agent_id: str, now: float) -> list[Event]:
        """The agent's device answered the offered call."""
        qc = self._find(call_id)
        if qc is None or agent_id not in qc.ringing:
            raise AcdError(f"call {call_id!r} is not ringing at agent {agent_id!r}")
        q = self.queues[qc.queue]
        events: list[Event] = []
        for other in qc.ringing:
            if other != agent_id:
                events += self._agent_request(other, "Withdraw", now)
        events += self._agent_request(agent_id, "Answer", now)
        self._remove(qc)
        self.connected[call_id] = (agent_id, qc.queue)
        if qc.caller:                  # a withheld number is nobody in particular: no sticky agent
            self.sticky[qc.caller] = agent_id
        return [QueueEvent("Connected", qc.queue, call_id, now, {
            "agent": agent_id, "device": self.agent(agent_id).device, "wait": now - qc.enqueued_at,
            "caller": qc.caller, "record": q.config.record})] + events + self.service(now)

    def rejected(self, call_id: str, agent_id: str, now: float) -> list[Event]:
        """The agent's device refused the call (busy, or the agent declined): ring no answer at once."""
        qc = self._find(call_id)
        if qc is None or agent_id not in qc.ringing:
            raise AcdError(f"call {call_id!r} is not ringing at agent {agent_id!r}")
        return self._no_answer(qc, [agent_id], now) + self.service(now)

    def abandoned(self, call_id: str, now: float) -> list[Event]:
        """The caller hung up while queued or ringing."""
        qc = self._find(call_id)
        if qc is None:
            raise AcdError(f"call {call_id!r} is not queued")
        events: list[Event] = []
        for a in qc.ringing:
            events += self._agent_request(a, "Withdraw", now)
        self._end_route(qc)
        self._remove(qc)
        return [QueueEvent("Abandoned", qc.queue, call_id, now, {
            "wait": now - qc.enqueued_at, "caller": qc.caller})] + events + self.service(now)

    def withdraw(self, call_id: str, to: str, reason: str, now: float) -> list[Event]:
        """A queued (or ringing) call leaves for a treatment outside the ACD, such as a
        voicemail box the caller asked for: ``Diverted`` to ``to``, its ringing agents
        withdrawn, so no agent is offered a call that is elsewhere."""
        qc = self._find(call_id)
        if qc is None:
            raise AcdError(f"call {call_id!r} is not queued")
        events: list[Event] = [QueueEvent("Diverted", qc.queue, call_id, now, {
            "to": to, "reason": reason, "wait": now - qc.enqueued_at})]
        for a in qc.ringing:
            events += self._agent_request(a, "Withdraw", now)
        self._end_route(qc)
        self._remove(qc)
        return events + self.service(now)

    def is_queued(self, call_id: str) -> bool:
        """Whether ``call_id`` waits in a queue (or rings at agents) now."""
        return self._find(call_id) is not None

    def call_ended(self, call_id: str, now: float) -> list[Event]:
        """A connected call ended (either side cleared): its agent starts wrap-up."""
        try:
            agent_id, queue = self.connected.pop(call_id)
        except KeyError:
            raise AcdError(f"call {call_id!r} is not connected to an agent") from None
        a = self.agent(agent_id)
        handle_start = a.answered_at if a.answered_at is not None else now
        events = self._agent_request(agent_id, "CallEnd", now)
        q = self.queues[queue]
        handle = (now - handle_start) + a.wrap_up
        q.aht = (q.aht * 3 + handle) / 4  # rolling average as Asterisk keeps holdtime
        return [QueueEvent("CallEnded", queue, call_id, now, {"agent": agent_id, "talk": now - handle_start})] \
            + events + self.service(now)

    # -- time ---------------------------------------------------------------------------------
    def service(self, now: float) -> list[Event]:
        """Run everything due at ``now``: wrap-ups, ring timeouts, routes, overflow, announcements, dispatch."""
        events: list[Event] = []
        for m in self.agents.values():          # wrap-up: the agents' own timers (engine rows)
            events += m.service(now)
        for q in self.queues.values():
            for qc in list(q.waiting.values()):
                events += self._service_call(q, qc, now)
        events += self._dispatch(now)
        return events

    def next_deadline(self) -> float | None:
        """The earliest time ``service`` has something to do, or None."""
        times = [d for m in self.agents.values() if (d := m.deadline()) is not None]
        for q in self.queues.values():
            for qc in q.waiting.values():
                times += [t for t in (qc.ring_deadline, qc.route_deadline, qc.next_announce) if t is not None]
                if q.config.max_wait is not None:
                    times.append(qc.enqueued_at + q.config.max_wait)
        return min(times) if times else None

    # -- queries ------------------------------------------------------------------------------
    def position(self, call_id: str) -> int:
        qc = self._find(call_id)
        if qc is None:
            raise AcdError(f"call {call_id!r} is not queued")
        ranked = sorted(self.queues[qc.queue].waiting.values(), key=QueuedCall.sort_key)
        return ranked.index(qc) + 1

    def expected_wait(self, queue: str, position: int) -> float:
        """Expected wait of a caller at ``position``: position x AHT / staffed agents (docs/stats.md)."""
        q = self._queue(queue)
        staffed = sum(1 for m in self.agents.values()
                      if m.agent.state is not AgentState.LOGGED_OFF and self.eligible(q.config, m.agent))
        return position * q.aht / max(1, staffed)

    def waiting(self, queue: str) -> list[QueuedCall]:
        return sorted(self._queue(queue).waiting.values(), key=QueuedCall.sort_key)

    # -- internals ----------------------------------------------------------------------------
    def _queue(self, name: str) -> _Queue:
        try:
            return self.queues[name]
        except KeyError:
            raise AcdError(f"unknown queue {name!r}; known: {', '.join(sorted(self.queues))}") from None

    def _find(self, call_id: str) -> QueuedCall | None:
        for q in self.queues.values():
            if call_id in q.waiting:
                return q.waiting[call_id]
        return None

    def _remove(self, qc: QueuedCall) -> None:
        self.queues[qc.queue].waiting.pop(qc.call_id, None)
        qc.ringing = []
        qc.ring_deadline = None

    def _end_route(self, qc: QueuedCall) -> None:
        if qc.route_id is not None:
            self._routes.pop(qc.route_id, None)
        qc.route_id = qc.route_deadline = None

    @staticmethod
    def eligible(c: QueueConfig, a: Agent) -> bool:
        """Agent ``a`` may take calls of the queue configured by ``c`` (a member, with its skills)."""
        return (not c.members or a.id in c.members) and a.has_skills(c.skills)

    def _service_call(self, q: _Queue, qc: QueuedCall, now: float) -> list[Event]:
        c = q.config
        events: list[Event] = []
        if qc.ring_deadline is not None and qc.ring_deadline <= now:
            events += self._no_answer(qc, list(qc.ringing), now)
        if qc.route_deadline is not None and qc.route_deadline <= now:
            events.append(QueueEvent("RouteUsed", qc.queue, qc.call_id, now, {"route": qc.route_id, "by": "default"}))
            self._end_route(qc)
        if c.max_wait is not None and now >= qc.enqueued_at + c.max_wait and c.overflow is not None:
            for a in qc.ringing:
                events += self._agent_request(a, "Withdraw", now)
            self._end_route(qc)
            self._remove(qc)
            events.append(QueueEvent("Diverted", qc.queue, qc.call_id, now, {
                "to": c.overflow, "reason": "max-wait", "wait": now - qc.enqueued_at}))
            return events + self._divert_into(c.overflow, qc, now)
        if qc.next_announce is not None and qc.next_announce <= now and c.announce_every:
            pos = self.position(qc.call_id)
            events.append(QueueEvent("Announce", qc.queue, qc.call_id, now, {
                "position": pos, "expected_wait": round(self.expected_wait(qc.queue, pos), 1)}))
            qc.next_announce = now + c.announce_every
        return events

    def _divert_into(self, target: str, qc: QueuedCall, now: float) -> list[Event]:
        if target == VOICEMAIL:
            return []
        return self.enqueue(qc.call_id, target, qc.caller, now, qc.priority)

    def _no_answer(self, qc: QueuedCall, agents: list[str], now: float) -> list[Event]:
        events: list[Event] = []
        for a in agents:
            if a in qc.ringing:
                events.append(QueueEvent("RingNoAnswer", qc.queue, qc.call_id, now, {"agent": a}))
                events += self._agent_request(a, "NoAnswer", now)
                qc.ringing.remove(a)
                qc.tried.add(a)
        if not qc.ringing:
            qc.ring_deadline = None
        return events

    def _dispatch(self, now: float) -> list[Event]:
        """Offer waiting calls to ready agents: highest priority, then longest waiting, first."""
        calls = [qc for q in self.queues.values() for qc in q.waiting.values()
                 if not qc.ringing and qc.route_id is None]
        calls.sort(key=lambda qc: (-qc.priority, qc.enqueued_at, qc.order))
        events: list[Event] = []
        for qc in calls:
            q = self.queues[qc.queue]
            c = q.config
            ready = [m.agent for m in self.agents.values()
                     if m.agent.state is AgentState.READY and self.eligible(c, m.agent)]
            if not ready:
                continue
            fresh = [a for a in ready if a.id not in qc.tried]
            if not fresh:            # everyone tried once: start a new round
                qc.tried.clear()
                fresh = ready
            ranked = order(c.strategy, fresh, c.members, q.memory,
                           skill=next(iter(c.skills), None) if c.skill_priority else None)
            if c.sticky and qc.caller in self.sticky:
                pref = next((a for a in ranked if a.id == self.sticky[qc.caller]), None)
                if pref is not None:
                    ranked = [pref] + [a for a in ranked if a is not pref]
            chosen = ranked if c.strategy is Strategy.RING_ALL and not (c.sticky and qc.caller in self.sticky
                                                                         and ranked[0].id == self.sticky[qc.caller]) \
                else ranked[:1]
            events += self._offer(qc, chosen, now)
        return events

    def _offer(self, qc: QueuedCall, agents: list[Agent], now: float) -> list[Event]:
        events: list[Event] = []
        for a in agents:
            events += self._agent_request(a.id, "Offer", now, call_id=qc.call_id)
            qc.ringing.append(a.id)
        qc.ring_deadline = now + self.queues[qc.queue].config.ring_timeout
        q = self.queues[qc.queue]
        if q.config.strategy is Strategy.ROUND_ROBIN and agents:
            q.memory.last = agents[0].id
        offered = QueueEvent("Offered", qc.queue, qc.call_id, now, {
            "agents": [a.id for a in agents], "devices": [a.device for a in agents], "caller": qc.caller})
        return [offered] + events
