"""A node's contact centre routed by the cluster's ACD (``[cluster] centre``), and E1 tie spans
to the agents of other nodes.

With a centre database, a node's ``[contact]`` centre no longer queues its callers in its own
ACD engine: :meth:`Routing.enqueue` (the centre's seam) keeps the caller waiting at its route
point (``Queued``) and writes it to ``cc_call``; the holder of the ACD lease
(:mod:`.acd`) chooses the agent among every node's Ready agents; this node reads its offers
(:meth:`.centre.NodeCentre.offers_made`, on the centre link's thread) and carries each out:

* **the agent's station is on this node**: the agent's machine of this node's engine is told
  ``Offer`` (Reserved) and the call is Delivered at its device, as the node's own ACD would;
  the agent's AnswerCall (Established at the device) makes it ``Busy`` and the caller is
  bridged to the station (``Connected``); ring no answer (the queue's ``ring_timeout``) takes
  the call back to the route point and the agent NotReady (RONA);
* **the agent is on another node**: a call is placed on the E1 tie span towards that node
  (``[cluster] ties = { b = 1 }``: span 1 leads to node b), the called number being the
  agent's station device, the calling number the caller's. On node b the call arrives on its
  tie span (PRI user side; node a is the network side) and rings the station; b's engine holds
  the agent ``Reserved`` then ``Busy`` for it (so b's agent events, its supervision, monitor /
  whisper / barge, and its bridge tie timeslot <-> station work as for its own calls). When
  the agent answers, the tie call is answered, node a answers the caller at the route point
  and bridges the caller's trunk timeslot to the tie timeslot both ways; recording (the
  queue's ``record``) taps node a's bridge (caller and agent). Either side clearing clears the
  other with its cause; a tie call that fails or is released before the answer is a ring no
  answer (the caller waits again, first in line); a connected tie call that drops (node b
  killed: its D channel and B channels go silent) clears the caller with the tie's cause.

Every outcome goes back to the centre's database through the centre link's thread (the loop
never waits for the database): ``answered``, ``no answer``, ``abandoned`` (the caller hung up
while queued or ringing) and ``ended``. Offers are acted on once per attempt number, so an
offer seen again in a later read is never carried out twice.
"""
from __future__ import annotations

import logging
import queue as _queue
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cti.acd.agents import AgentState
from cti.acd.queue import QueueEvent
from cti.signaling.causes import Cause

log = logging.getLogger("cti.cluster.routing")

#: a report for the centre database: ("queue", call, queue, priority), ("answered", call),
#: ("no_answer", call, agent_state), ("abandon", call), ("ended", call, wrap_up)
Report = tuple[Any, ...]
#: an offer read from the database: (call, attempt, agent, agent's node, device)
Offer = tuple[str, int, str, str, str]


@dataclass
class Routed:
    """A caller of this node's trunks routed by the cluster ACD."""

    call: str
    queue: str
    caller: str
    entered: float
    state: str = "queued"            #: queued -> ringing -> connected
    attempt: int = 0                 #: the last offer carried out
    agent: str | None = None
    node: str | None = None          #: the node of the agent's station
    device: str | None = None
    leg: str | None = None           #: the tie call towards ``node``
    ring_until: float | None = None


class Routing:
    """This node's side of cluster routing (see the module docstring); ``report`` hands a
    report to the centre link's thread."""

    def __init__(self, node: str, ties: dict[str, int], report: Callable[[Report], None]) -> None:
        self.node = node
        self.ties = dict(ties)
        self.tie_spans = set(ties.values())
        self.report = report
        self.contact: Any = None
        self.calls: dict[str, Routed] = {}
        self.legs: dict[str, str] = {}                   #: tie call placed here -> routed call
        self.visits: dict[str, tuple[str, str]] = {}     #: tie call arriving here -> (agent, queue)
        self.inbox: _queue.SimpleQueue[list[Offer]] = _queue.SimpleQueue()
        self._last: dict[int, int] = {}                   #: tie span -> timeslot of its last call
        self.counters = {"queued": 0, "offers": 0, "here": 0, "tie": 0, "answered": 0, "rona": 0,
                         "abandoned": 0, "ended": 0, "refused": 0, "tie_lost": 0}

    # ---- the contact centre's seam -------------------------------------------------------------
    def enqueue(self, call_id: str, queue: str, caller: str, now: float, priority: int = 0) -> None:
        """The caller waits at its route point; the cluster ACD will choose its agent."""
        c = self.contact
        if queue not in c.engine.queues:
            from cti.acd.engine import AcdError
            raise AcdError(f"unknown queue {queue!r}; known: {', '.join(sorted(c.engine.queues))}")
        if call_id in self.calls:
            from cti.acd.engine import AcdError
            raise AcdError(f"call {call_id!r} is already queued or connected")
        self.calls[call_id] = Routed(call_id, queue, caller, now)
        self.counters["queued"] += 1
        self.report(("queue", call_id, queue, int(priority)))
        c.apply([QueueEvent("Queued", queue, call_id, now, {"caller": caller, "priority": int(priority),
                                                               "position": 0, "cluster": True})])

    # ---- offers from the database (the loop's thread) ------------------------------------------
    def service(self, now: float) -> None:
        while not self.inbox.empty():
            for offer in self.inbox.get_nowait():
                self._offer(offer, now)
        for r in list(self.calls.values()):
            if r.state == "ringing" and r.ring_until is not None and r.ring_until <= now:
                self._ring_no_answer(r, now, cause=int(Cause.NO_ANSWER))

    def deadline(self) -> float | None:
        ds = [r.ring_until for r in self.calls.values() if r.state == "ringing" and r.ring_until is not None]
        return min(ds) if ds else None

    def _offer(self, offer: Offer, now: float) -> None:
        call, attempt, agent, node, device = offer
        r = self.calls.get(call)
        if r is None or attempt <= r.attempt or r.state != "queued":
            return                     # seen already, or the caller left / is served meanwhile
        self.counters["offers"] += 1
        r.attempt, r.agent, r.node, r.device = attempt, agent, node, device
        c = self.contact
        ring = float(c.engine.queues[r.queue].config.ring_timeout)
        if node == self.node:
            self._ring_here(r, now, ring)
        else:
            self._ring_there(r, now, ring)

    def _ring_here(self, r: Routed, now: float, ring: float) -> None:
        c = self.contact
        m = c.engine.agents.get(r.agent)
        if m is None or m.agent.state is not AgentState.READY or m.agent.device != r.device:
            self.counters["refused"] += 1      # this node's engine does not have the agent Ready there
            self._requeue(r, now, "NotReady")
            return
        events = list(m.request("Offer", now, call_id=r.call))
        r.state, r.ring_until = "ringing", now + ring
        self.counters["here"] += 1
        c.apply([QueueEvent("Offered", r.queue, r.call, now, {"agents": [r.agent], "devices": [r.device],
                                                               "caller": r.caller, "node": r.node}), *events])

    def _ring_there(self, r: Routed, now: float, ring: float) -> None:
        c = self.contact
        span = self.ties.get(r.node or "")
        call = c.model.calls.get(r.call)
        if call is None or span is None or r.device is None:
            log.warning("call %s: agent %s on node %s not reachable (no tie span to it)", r.call, r.agent, r.node)
            self.counters["refused"] += 1
            self._requeue(r, now, "NotReady")
            return
        res: dict[str, Any] | None = None
        why: Exception | str = "no free tie circuit"
        for circ in self._hunt(span):       # a channel just released may not be free at the far end yet
            try:
                res = c.model.make_call(call.route_device or r.call, r.device, now, calling=r.caller or None,
                                        circuit=circ)
                self._last[span] = circ[1]
                break
            except Exception as e:           # a typed call-control error: try the next channel
                why = e
        if res is None:
            log.warning("call %s: tie call to %s on node %s not placed: %s", r.call, r.device, r.node, why)
            self.counters["refused"] += 1
            self._requeue(r, now, "Ready")
            return
        r.leg, r.state, r.ring_until = res["call"], "ringing", now + ring
        self.legs[r.leg] = r.call
        self.counters["tie"] += 1
        c.apply([QueueEvent("Offered", r.queue, r.call, now, {"agents": [r.agent], "devices": [],
                                                               "caller": r.caller, "node": r.node,
                                                               "tie": res["call"]})])

    def _hunt(self, span: int) -> list[tuple[int, int]]:
        """The tie's free circuits, from the one after the last used (a rotating hunt: a channel
        just released is tried last)."""
        free = _free_circuits(self.contact.model, span)
        last = self._last.get(span, -1)
        return [c for c in free if c[1] > last] + [c for c in free if c[1] <= last]

    def _requeue(self, r: Routed, now: float, agent_state: str) -> None:
        """The offer could not be carried out: the caller waits again, the offer is closed."""
        r.state, r.leg, r.ring_until = "queued", None, None
        self.report(("no_answer", r.call, agent_state))

    def _ring_no_answer(self, r: Routed, now: float, cause: int) -> None:
        c = self.contact
        self.counters["rona"] += 1
        events: list[Any] = [QueueEvent("RingNoAnswer", r.queue, r.call, now, {"agent": r.agent})]
        if r.node == self.node:                # apply() takes the call back from the agent's device
            m = c.engine.agents.get(r.agent)
            if m is not None and m.agent.state is AgentState.RESERVED and m.agent.call_id == r.call:
                events += m.request("NoAnswer", now)
        elif r.leg is not None:
            leg, r.leg = r.leg, None
            self.legs.pop(leg, None)
            _clear(c.model, leg, now, cause)
        r.state, r.ring_until = "queued", None
        self.report(("no_answer", r.call, "NotReady"))
        c.apply(events)

    # ---- call-model events -------------------------------------------------------------------
    def on_call_event(self, e: Any) -> None:
        kind = type(e).__name__
        if kind == "Offered" and e.direction == "in" and e.span in self.tie_spans:
            self._visit(e)
        elif kind == "Established":
            self._established(e)
        elif kind == "CallCleared":
            self._cleared(e)

    def _visit(self, e: Any) -> None:
        """A tie call from another node rings the station of an agent logged on here: the agent is
        Reserved for it in this node's engine (refused, cause 17, if not Ready here)."""
        c = self.contact
        now = c.now()
        agent = next((a for a, m in c.engine.agents.items() if m.agent.device == e.called
                      and m.agent.state is not AgentState.LOGGED_OFF), None)
        m = c.engine.agents.get(agent) if agent is not None else None
        if agent is None or m is None or m.agent.state is not AgentState.READY:
            self.counters["refused"] += 1
            _clear(c.model, e.call, now, int(Cause.USER_BUSY))
            return
        queue = next((q for q, qq in c.engine.queues.items() if c.engine.eligible(qq.config, m.agent)),
                     next(iter(c.engine.queues)))
        self.visits[e.call] = (agent, queue)
        c.apply(m.request("Offer", now, call_id=e.call))

    def _established(self, e: Any) -> None:
        c = self.contact
        now = c.now()
        r = self.calls.get(e.call)
        if r is not None and r.state == "ringing" and r.node == self.node and e.device == r.device:
            self._connected_here(r.call, r.agent or "", r.queue, now, r)
            return
        visit = self.visits.get(e.call)
        if visit is not None and e.device != "" and not str(e.device).startswith("trunk/"):
            m = c.engine.agents.get(visit[0])     # Busy here; the call's node counts it in its queue
            if m is not None and m.agent.state is AgentState.RESERVED and m.agent.call_id == e.call:
                c.apply(m.request("Answer", now))
                c.audio.connect(e.call, m.agent.device)      # tie timeslot <-> the agent's station
            return
        owner = self.legs.get(e.call)
        if owner is not None and str(e.device).startswith("trunk/"):
            r = self.calls.get(owner)
            if r is not None and r.state == "ringing":
                self._connected_there(r, now)

    def _connected_here(self, call_id: str, agent: str, queue: str, now: float, r: Routed) -> None:
        """The agent's device on this node answered: Busy, the station bridged (by the centre,
        which also ends it: ``engine.connected``)."""
        c = self.contact
        m = c.engine.agents.get(agent)
        if m is None or m.agent.state is not AgentState.RESERVED or m.agent.call_id != call_id:
            return
        events = m.request("Answer", now)
        c.engine.connected[call_id] = (agent, queue)
        q = c.engine.queues[queue].config
        r.state, r.ring_until = "connected", None
        self.report(("answered", r.call))
        self.counters["answered"] += 1
        c.apply([QueueEvent("Connected", queue, call_id, now, {
            "agent": agent, "device": m.agent.device, "wait": now - r.entered, "caller": r.caller,
            "record": bool(q.record)}), *events])

    def _connected_there(self, r: Routed, now: float) -> None:
        """The agent on the other node answered the tie call: answer the caller, bridge trunk <-> tie."""
        c = self.contact
        call = c.model.calls.get(r.call)
        leg = c.model.calls.get(r.leg) if r.leg else None
        if call is None or leg is None:
            return
        try:
            c.model.answer_call(r.call, now, device=call.route_device)
        except Exception as e:
            log.warning("call %s: not answered for the agent on node %s: %s", r.call, r.node, e)
            self._ring_no_answer(r, now, int(Cause.TEMPORARY_FAILURE))
            return
        a, b = call.circuit(), leg.circuit()
        if a is not None and b is not None:
            try:
                c.audio.bridges.join(r.call, a, b)
            except ValueError as e:
                log.warning("call %s: trunk %s not bridged to tie %s: %s", r.call, a, b, e)
        r.state, r.ring_until = "connected", None
        self.counters["answered"] += 1
        self.report(("answered", r.call))
        q = c.engine.queues[r.queue].config
        c.apply([QueueEvent("Connected", r.queue, r.call, now, {
            "agent": r.agent, "device": r.device, "node": r.node, "wait": now - r.entered, "caller": r.caller,
            "record": bool(q.record), "tie": r.leg})])

    def _cleared(self, e: Any) -> None:
        c = self.contact
        now = c.now()
        cause = int(e.cause) if e.cause else int(Cause.NORMAL_CLEARING)
        visit = self.visits.pop(e.call, None)
        if visit is not None:               # a tie call to an agent here ended
            m = c.engine.agents.get(visit[0])
            if m is not None and m.agent.call_id == e.call:
                if m.agent.state is AgentState.RESERVED:       # before the answer: RONA or withdrawn
                    c.apply(m.request("NoAnswer" if cause == int(Cause.NO_ANSWER) else "Withdraw", now))
                elif m.agent.state is AgentState.BUSY:
                    c.apply(m.request("CallEnd", now))
            return
        owner = self.legs.pop(e.call, None)
        if owner is not None:
            r = self.calls.get(owner)
            if r is None or r.leg != e.call:
                return
            r.leg = None
            if r.state == "ringing":          # refused or failed at the other node: wait again
                self._ring_no_answer(r, now, cause)
            elif r.state == "connected":      # the agent hung up, or the other node went away
                if cause != int(Cause.NORMAL_CLEARING):
                    self.counters["tie_lost"] += 1
                _clear(c.model, r.call, now, cause)
            return
        r = self.calls.pop(e.call, None)
        if r is None:
            return
        if r.state == "connected":
            self.counters["ended"] += 1
            wrap = 0.0
            if r.agent in c.engine.agents:
                wrap = float(c.engine.agents[r.agent].agent.wrap_up)
            self.report(("ended", r.call, wrap > 0))
            if r.node != self.node:
                if r.leg is not None:
                    self.legs.pop(r.leg, None)
                    _clear(c.model, r.leg, now, cause)
                c.apply([QueueEvent("CallEnded", r.queue, r.call, now, {"agent": r.agent, "node": r.node})])
            return                            # here: the centre ends it (engine.connected)
        self.counters["abandoned"] += 1
        events: list[Any] = [QueueEvent("Abandoned", r.queue, r.call, now, {"wait": now - r.entered,
                                                                             "caller": r.caller})]
        if r.state == "ringing" and r.node == self.node:
            m = c.engine.agents.get(r.agent)
            if m is not None and m.agent.state is AgentState.RESERVED and m.agent.call_id == r.call:
                events += m.request("Withdraw", now)
        elif r.leg is not None:
            self.legs.pop(r.leg, None)
            _clear(c.model, r.leg, now, int(Cause.NORMAL_CLEARING))
        self.report(("abandon", r.call))
        c.apply(events)

    def public(self) -> dict[str, Any]:
        return {"routed": len(self.calls), "ties": dict(self.ties), "legs": len(self.legs),
                "visits": len(self.visits), **self.counters}


def _free_circuits(model: Any, span: int) -> list[tuple[int, int]]:
    """The circuits of ``span`` no call holds and the trunk reports available, in order."""
    return sorted((int(c[0]), int(c[1])) for adapter in model.adapters for c in adapter.circuits()
                  if c[0] == span and c not in model.busy_circuits() and model.available.get(c, True))


def _clear(model: Any, call_id: str, now: float, cause: int) -> None:
    """Clear ``call_id`` (its local party; a call with none, every party) with ``cause``."""
    call = model.calls.get(call_id)
    if call is None:
        return
    local = call.local()
    try:
        if local is not None and local.live:
            model.clear_connection(call_id, now, device=local.device, cause=cause)
        else:
            for conn in list(call.live()):
                if call_id in model.calls:
                    model.clear_connection(call_id, now, device=conn.device, cause=cause)
    except Exception as e:               # ending anyway: its CallCleared reports it
        log.warning("call %s not cleared: %s", call_id, e)


__all__ = ["Routed", "Routing"]
