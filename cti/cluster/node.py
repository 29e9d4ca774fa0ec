"""A node's link to the centre's database (``[cluster] centre``): its heartbeat, its agents'
state and queue membership kept there, restored after the node's death, and the ACD role.

The node's contact centre stays the authority for the agents logged on at its stations: every
``Agent*`` event it publishes is written to ``cc_agent`` / ``cc_member`` (:mod:`.centre`) by
this component's thread, never by the server's loop (a slow or absent database holds nothing
up: the node keeps working alone and writes the newest state of each agent when the database
is back). When the node starts (after a clean stop, a crash or a kill -9) it reads the agents
that were logged on at its stations and logs them on again in its ACD, in the state they had:
Ready, or NotReady with its reason; an agent who was on a call (the call died with the node)
comes back Ready. The thread also runs the node's :class:`~.acd.ClusterAcd` role: one node of
the cluster holds the ``acd`` lease and decides for the callers queued in the centre database,
the others stand by (docs/cluster.md).
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Collection, Mapping
from typing import Any

from cti.plugin import Component, Host, Section

from .config import ClusterConfig

log = logging.getLogger("cti.cluster.node")

#: the contact centre's agent events (cti.contact.events.AGENT_EVENTS), named here to keep
#: the cluster package free of the contact package at import
AGENT_EVENTS = ("AgentLoggedOn", "AgentLoggedOff", "AgentReady", "AgentNotReady", "AgentBusy",
                "AgentWorkingAfterCall")
#: call-model events the cluster routing acts on (cti.cluster.routing)
CALL_EVENTS = ("Offered", "Established", "CallCleared")
#: seconds between heartbeats
BEAT = 1.0


def shared_contact(section: dict[str, Any]) -> dict[str, Any] | None:
    """The centre's ``[contact]`` configuration from its database (``python -m cti.cli.cluster config
    push``), for a node whose site file has none; None when there is no centre, nothing pushed,
    or the database cannot be reached (logged: the node then starts without a contact centre)."""
    try:
        cfg = ClusterConfig.from_dict(section)
    except ValueError:                 # a wrong section: reported where the server reads it
        return None
    if not cfg.centre:
        return None
    try:
        import psycopg

        from .centre import NodeCentre, create
        with psycopg.connect(cfg.centre, connect_timeout=5) as conn:
            create(conn)
            value = NodeCentre(conn, "").config("contact")
    except Exception as e:
        log.error("cluster: the centre's [contact] cannot be read from %s (%s): starting without it", cfg.centre, e)
        return None
    return value if isinstance(value, dict) else None


class CentreLink(Component):
    """See the module docstring; ``acd``: also take part in the ACD lease."""

    name = "centre"

    def __init__(self, cfg: ClusterConfig, node: str, acd: bool = True) -> None:
        self.cfg = cfg
        self.node = node
        self.with_acd = acd
        self.host: Host | None = None
        self.contact: Any = None
        self._writes: queue.SimpleQueue[tuple[str, Any, int] | None] = queue.SimpleQueue()
        #: agent -> events queued by the loop / the last of them written (the thread)
        self._queued: dict[str, int] = {}
        self._written: dict[str, int] = {}
        #: agents the database shows logged on at another node's station: agent -> _written then
        self._moved: queue.SimpleQueue[dict[str, int]] = queue.SimpleQueue()
        self.moved_off: list[str] = []
        self._restore: queue.SimpleQueue[dict[str, dict[str, Any]]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.acd: Any = None
        self.restored: list[str] = []
        #: agent -> its newest state not yet written to the database
        self.pending: dict[str, tuple[Any, ...]] = {}
        self._pending_n: dict[str, int] = {}
        self._restored = False
        self._due = float("-inf")
        self.written = 0
        self.last_error: str | None = None
        self.connected = False
        #: the cluster ACD's routing of this node's callers (with a contact centre)
        self.routing: Any = None
        self._ops: deque[tuple[Any, ...]] = deque()     #: routing reports for the database, in order
        self._offers: list[Any] = []

    @classmethod
    def from_config(cls, section: dict[str, Any], node: str) -> CentreLink | None:
        cfg = ClusterConfig.from_dict(section)
        return cls(cfg, node) if cfg.centre else None

    # ---- lifespan --------------------------------------------------------------------------
    def start(self, host: Host) -> None:
        self.host = host
        part = getattr(host, "part", None)
        try:
            self.contact = part("contact") if part is not None else None
        except KeyError:
            self.contact = None
        if self.contact is not None and hasattr(self.contact, "enqueue"):
            from .routing import Routing
            self.routing = Routing(self.node, self.cfg.ties, self._report)
            self.routing.contact = self.contact
            self.contact.router = self.routing
        self._thread = threading.Thread(target=self._run, name=f"cluster-centre-{self.node}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._writes.put(None)
        if self._thread is not None:
            self._thread.join(5.0)

    # ---- the loop's side ---------------------------------------------------------------------
    def events(self) -> Collection[str] | None:
        return AGENT_EVENTS + CALL_EVENTS

    def on_event(self, event: Any) -> None:
        if type(event).__name__ in CALL_EVENTS:
            if self.routing is not None:
                self.routing.on_call_event(event)
            return
        agent = getattr(event, "agent", None)
        if agent is None:
            return
        skills: dict[str, int] = {}
        if self.contact is not None:
            try:
                skills = dict(self.contact.engine.agent(agent).skills)
            except Exception:       # an agent the engine does not know: no membership to keep
                skills = {}
        state = getattr(event, "state", "")
        if state == "Busy" and getattr(event, "phase", "") == "ringing":
            state = "Reserved"
        n = self._queued[agent] = self._queued.get(agent, 0) + 1
        logon = type(event).__name__ == "AgentLoggedOn"
        self._writes.put(("agent", (agent, state, getattr(event, "device", None), getattr(event, "reason", ""),
                                    getattr(event, "call", None), skills, logon), n))

    def deadline(self) -> float | None:
        """Every quarter second: the restore, agents that logged on at another node; the routing's
        ring timeouts."""
        if self.host is None:
            return None
        ring = self.routing.deadline() if self.routing is not None else None
        return self._due if ring is None else min(self._due, ring)

    def _report(self, op: tuple[Any, ...]) -> None:
        """A routing report, written by the thread in order (the loop never waits for it)."""
        self._ops.append(op)
        self._writes.put(("wake", ("",), 0))

    def service(self, now: float) -> None:
        if self.routing is not None:
            self.routing.service(now)
        self._due = now + 0.25
        while not self._moved.empty():
            self._log_off_moved(self._moved.get_nowait(), now)
        while not self._restore.empty():
            self._restored = True
            self._apply_restore(self._restore.get_nowait(), now)

    def _log_off_moved(self, moved: dict[str, int], now: float) -> None:
        """An agent logged on here who has since logged on at another node's station (the
        database says so, and nothing happened to the agent here after the last state this
        node wrote) is logged off here: one agent, one station, in the whole centre."""
        if self.contact is None:
            return
        engine = self.contact.engine
        for agent, seen in sorted(moved.items()):
            if agent not in engine.agents or self._queued.get(agent, 0) != seen:
                continue
            a = engine.agent(agent)
            if a.state.value == "LoggedOff" or (a.pending is not None and a.pending[0] == "LogOff"):
                continue
            try:                          # on a call here: the engine defers it until the call ends
                self.contact.apply(engine.set_agent_state(agent, "LoggedOff", now))
                self.moved_off.append(agent)
            except Exception as e:
                log.warning("cluster: agent %s not logged off here: %s", agent, e)

    def _apply_restore(self, agents: dict[str, dict[str, Any]], now: float) -> None:
        """Log the node's agents on again as the database had them (the loop's thread)."""
        if self.contact is None:
            return
        engine = self.contact.engine
        for agent, row in sorted(agents.items()):
            if row["state"] == "LoggedOff" or not row["device"] or agent not in engine.agents:
                continue
            try:
                if engine.agent(agent).state.value != "LoggedOff":
                    continue                  # logged on already (by a request since the start)
                events = engine.log_on(agent, row["device"], now, skills=row["skills"] or None)
                if row["state"] == "NotReady":
                    events += engine.set_agent_state(agent, "NotReady", now, row["reason"] or "")
                else:
                    events += engine.set_agent_state(agent, "Ready", now)
                self.contact.apply(events)
                self.restored.append(agent)
            except Exception as e:       # one agent that cannot come back does not stop the others
                log.warning("cluster: agent %s not restored: %s", agent, e)

    # ---- the thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        from .centre import NodeCentre, create
        nc: NodeCentre | None = None
        beat = 0.0
        first = True
        while not self._stop.is_set():
            self._take(self._turn() if nc is not None else 0.0)
            try:
                if nc is None:
                    import psycopg
                    nc = NodeCentre(psycopg.connect(self.cfg.centre, connect_timeout=5), self.node)
                    create(nc.conn)
                    self.connected = True
                    self.last_error = None
                if first:
                    if self.routing is not None:   # callers a previous run of this node left behind
                        left = nc.restarted()
                        if left:
                            log.warning("cluster: %d caller(s) of an earlier run cleared: %s", len(left), left[:10])
                    self._restore.put(nc.agents(self.node))
                    first = False
                beating = time.monotonic() - beat >= BEAT
                if beating:
                    nc.heartbeat()
                    beat = time.monotonic()
                if self.routing is not None:    # callers queued first: a leader here decides on them at once
                    self._write_reports(nc)
                if self.with_acd:
                    self._acd_turn()
                if self.routing is not None:
                    self._read_offers(nc)
                for agent in list(self.pending):
                    nc.mirror(*self.pending[agent])
                    del self.pending[agent]
                    self._written[agent] = self._pending_n.pop(agent, 0)
                    self.written += 1
                if beating:
                    self._moved.put({a: self._written.get(a, 0) for a, row in nc.agents().items()
                                     if row["node"] != self.node and row["state"] != "LoggedOff"})
            except Exception as e:          # the database away: keep working alone, try again
                self.last_error = f"{type(e).__name__}: {e}"
                self.connected = False
                log.warning("cluster centre: %s", self.last_error)
                if nc is not None:
                    try:
                        nc.conn.close()
                    except Exception:
                        pass
                nc = None
                if self.acd is not None:
                    try:
                        self.acd.close(release=False)
                    except Exception:
                        pass
                    self.acd = None
                self._stop.wait(1.0)
        if nc is not None:
            try:
                if self.acd is not None:
                    self.acd.close()
                nc.conn.close()
            except Exception:
                pass

    def _turn(self) -> float:
        """Seconds the thread waits between turns: 0.1, shorter while this node's callers wait
        for an offer (0.02: the offer is read soon after the leader made it) or while this node
        leads the ACD (0.05: a caller queued at another node is decided on soon)."""
        routing = self.routing
        if routing is not None and any(r.state == "queued" for r in list(routing.calls.values())):
            return 0.02
        return 0.05 if self.acd is not None and self.acd.leader else 0.1

    def _take(self, timeout: float) -> None:
        """Move the agent states queued by the loop into ``pending``, the newest per agent (so
        what waits for the database is bounded by the number of agents, however long it is away)."""
        try:
            item = self._writes.get(timeout=timeout) if timeout > 0 else self._writes.get_nowait()
        except queue.Empty:
            return
        while item is not None:
            if item[0] == "wake":
                try:
                    item = self._writes.get_nowait()
                except queue.Empty:
                    return
                continue
            row, agent = item[1], item[1][0]
            if agent in self.pending and self.pending[agent][-1] and not row[-1]:
                row = (*row[:-1], True)            # a log-on not written yet still moves the agent here
            self.pending[agent] = row
            self._pending_n[agent] = item[2]
            try:
                item = self._writes.get_nowait()
            except queue.Empty:
                return

    def _write_reports(self, nc: Any) -> None:
        """Write the routing's reports, in order (one that fails stays first and is tried again)."""
        while self._ops:
            op = self._ops[0]
            kind, call = op[0], op[1]
            if kind == "queue":
                try:
                    nc.queue_call(call, op[2], op[3])
                except Exception as e:         # written before a lost connection: it is there
                    if "duplicate key" not in str(e):
                        raise
            elif kind == "answered":
                nc.answered(call)
            elif kind == "no_answer":
                nc.no_answer(call, op[2])
            elif kind == "abandon":
                nc.abandon(call)
            elif kind == "ended":
                nc.call_ended(call, wrap_up=bool(op[2]))
            self._ops.popleft()

    def _read_offers(self, nc: Any) -> None:
        """Read this node's offers; hand them to the loop when they changed."""
        offers = nc.offers_made()
        if offers != self._offers:
            self._offers = offers
            if offers and self.host is not None and self.routing is not None:
                self.routing.inbox.put(offers)
                routing, host = self.routing, self.host
                soon = getattr(host, "call_soon", None)       # wake the loop: the offer rings now
                if soon is not None:
                    soon(lambda: routing.service(host.now()))

    def _acd_turn(self) -> None:
        from .acd import ClusterAcd
        if self.acd is None:
            self.acd = ClusterAcd(self.cfg.centre, self.node, ttl=self.cfg.lease_ttl, dead_after=self.cfg.dead_after)
            self.acd.connect()
        self.acd.step()

    # ---- what the snapshot shows -------------------------------------------------------------
    def sections(self) -> Mapping[str, Section]:
        return {"centre": self._section}

    def _section(self, account: Any, book: Any) -> list[dict[str, Any]]:
        a = self.acd
        return [{"node": self.node, "connected": self.connected, "written": self.written,
                 "restored": list(self.restored), "acd_leader": bool(a is not None and a.leader),
                 "acd_epoch": a.lease.epoch if a is not None and a.lease is not None else None,
                 "routing": self.routing.public() if self.routing is not None else None,
                 "last_error": self.last_error}]


__all__ = ["CentreLink", "shared_contact"]
