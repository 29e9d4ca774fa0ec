"""The contact centre's shared state in the cluster's PostgreSQL database: configuration,
agents (state, the node and device they are logged on at, queue membership), queued callers
and every offer made, so that none of it dies with a node.

Tables (made by :func:`create`, ``IF NOT EXISTS``):

* ``cc_config``: the contact-centre configuration of the whole centre (``[contact]`` as JSON);
* ``cc_node``: each node's heartbeat (``seen``, the database's clock);
* ``cc_agent``: one row per agent: ``node`` and ``device`` of the station it is logged on at
  (any node's), CSTA ``state`` (LoggedOff, Ready, NotReady, Reserved, Busy,
  WorkingAfterCall), ``reason``, the ``call`` it is offered or talking, ``since``;
* ``cc_member``: queue membership (agent, queue);
* ``cc_call``: a caller waiting on the ACD: the ``node`` whose trunk holds it, ``queue``,
  ``priority``, ``entered``; ``state`` queued -> offered -> connected -> done, or abandoned,
  or cleared with a ``cause`` (its node died);
* ``cc_offer``: every offer the ACD made (call, attempt, agent, lease epoch, time): the audit
  that no call was offered to two agents at once and that every offer was the leader's.

Every change is one conditional statement or transaction (``WHERE state = ...``): a node's
report that comes too late (the caller left, the offer was withdrawn) changes nothing and says
so (False). The node side is :class:`NodeCentre`; the deciding side is :mod:`.acd`.
"""
from __future__ import annotations

import json
from typing import Any

from . import lease
from .lease import NOW

AGENT_STATES = ("LoggedOff", "Ready", "NotReady", "Reserved", "Busy", "WorkingAfterCall")


def create(conn: Any) -> None:
    """Make the tables (idempotent; several nodes may race: one transaction each, retried)."""
    cur = conn.cursor()
    try:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('cti.cluster.create'))")    # one creator at a time
        lease.create(cur)
        cur.execute("CREATE TABLE IF NOT EXISTS cc_config (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        cur.execute("CREATE TABLE IF NOT EXISTS cc_node (node TEXT PRIMARY KEY, seen DOUBLE PRECISION NOT NULL)")
        cur.execute("CREATE TABLE IF NOT EXISTS cc_agent (agent TEXT PRIMARY KEY, node TEXT, device TEXT, "
                    "state TEXT NOT NULL, reason TEXT, call TEXT, since DOUBLE PRECISION NOT NULL)")
        cur.execute("CREATE TABLE IF NOT EXISTS cc_member (agent TEXT NOT NULL, queue TEXT NOT NULL, "
                    "level INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (agent, queue))")
        cur.execute("CREATE TABLE IF NOT EXISTS cc_call (call TEXT PRIMARY KEY, node TEXT NOT NULL, "
                    "queue TEXT NOT NULL, priority INTEGER NOT NULL DEFAULT 0, entered DOUBLE PRECISION NOT NULL, "
                    "state TEXT NOT NULL, agent TEXT, offers INTEGER NOT NULL DEFAULT 0, cause TEXT, "
                    "ended DOUBLE PRECISION)")
        cur.execute("CREATE INDEX IF NOT EXISTS cc_call_state ON cc_call (state, priority, entered)")
        cur.execute("CREATE TABLE IF NOT EXISTS cc_offer (call TEXT NOT NULL, attempt INTEGER NOT NULL, "
                    "agent TEXT NOT NULL, epoch BIGINT NOT NULL, at DOUBLE PRECISION NOT NULL, "
                    "outcome TEXT, PRIMARY KEY (call, attempt))")
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


class NodeCentre:
    """What one node reports and reads (its heartbeat, its agents' requests, its callers)."""

    def __init__(self, conn: Any, node: str) -> None:
        self.conn = conn
        self.node = node

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.cursor()
        try:
            cur.execute(sql, args)
            rows = cur.fetchall() if cur.description else []
            self.conn.commit()
            return rows
        except BaseException:
            self.conn.rollback()
            raise

    # ---- configuration -----------------------------------------------------------------------
    def put_config(self, key: str, value: Any) -> None:
        """Store a piece of the centre's configuration (``contact``: the [contact] section)."""
        self._run("INSERT INTO cc_config (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE "
                  "SET value = excluded.value", (key, json.dumps(value, ensure_ascii=False, sort_keys=True)))

    def config(self, key: str) -> Any:
        rows = self._run("SELECT value FROM cc_config WHERE key = %s", (key,))
        return json.loads(rows[0][0]) if rows else None

    # ---- the node ------------------------------------------------------------------------------
    def heartbeat(self) -> None:
        self._run(f"INSERT INTO cc_node (node, seen) VALUES (%s, {NOW}) ON CONFLICT (node) DO UPDATE "
                  "SET seen = excluded.seen", (self.node,))

    # ---- agents --------------------------------------------------------------------------------
    def log_on(self, agent: str, device: str, queues: list[str] | dict[str, int], ready: bool = True) -> None:
        """The agent logs on at ``device``, a station of this node (from any node before), as a
        member of ``queues`` (a list, or skill levels by queue)."""
        levels = queues if isinstance(queues, dict) else dict.fromkeys(queues, 1)
        cur = self.conn.cursor()
        try:
            cur.execute(f"INSERT INTO cc_agent (agent, node, device, state, since) VALUES (%s, %s, %s, %s, {NOW}) "
                        "ON CONFLICT (agent) DO UPDATE SET node = excluded.node, device = excluded.device, "
                        "state = excluded.state, since = excluded.since, reason = NULL "
                        "WHERE cc_agent.state IN ('LoggedOff', 'Ready', 'NotReady')",
                        (agent, self.node, device, "Ready" if ready else "NotReady"))
            if cur.rowcount != 1:
                raise ValueError(f"agent {agent} is on a call: log on once it ends")
            _members(cur, agent, levels)
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise

    def mirror(self, agent: str, state: str, device: str | None, reason: str | None, call: str | None,
               skills: dict[str, int], logon: bool = False) -> bool:
        """Record an agent of this node as its own ACD has it (a node's contact centre is the
        authority for the agents logged on at its stations): state, device, call, membership.
        Only a log-on (``logon``) moves an agent whose row names another node's station; any
        other state from here changes nothing then (False)."""
        cur = self.conn.cursor()
        try:
            cur.execute(f"INSERT INTO cc_agent (agent, node, device, state, reason, call, since) "
                        f"VALUES (%s, %s, %s, %s, %s, %s, {NOW}) ON CONFLICT (agent) DO UPDATE SET "
                        "node = excluded.node, device = excluded.device, state = excluded.state, "
                        "reason = excluded.reason, call = excluded.call, since = excluded.since "
                        "WHERE (cc_agent.node = excluded.node OR cc_agent.state = 'LoggedOff' OR %s) "
                        # an agent the cluster ACD reserved for a call: only that call's states, a
                        # log-on, or the reports of the call's node (no_answer, abandon) change it
                        "AND NOT (cc_agent.state = 'Reserved' AND cc_agent.call IS NOT NULL "
                        "AND excluded.call IS DISTINCT FROM cc_agent.call AND NOT %s)",
                        (agent, self.node, device, state, reason or None, call, logon, logon))
            done = bool(cur.rowcount)
            if done:
                _members(cur, agent, skills)
            self.conn.commit()
            return done
        except BaseException:
            self.conn.rollback()
            raise

    def set_state(self, agent: str, state: str, reason: str | None = None) -> bool:
        """Ready / NotReady / LoggedOff by the agent's request (not while Reserved or Busy)."""
        if state not in ("Ready", "NotReady", "LoggedOff"):
            raise ValueError(f"an agent asks for Ready, NotReady or LoggedOff, not {state!r}")
        return bool(self._run(f"UPDATE cc_agent SET state = %s, reason = %s, since = {NOW} WHERE agent = %s "
                              "AND state IN ('Ready', 'NotReady', 'WorkingAfterCall', 'LoggedOff') RETURNING agent",
                              (state, reason, agent)))

    def agents(self, node: str | None = None) -> dict[str, dict[str, Any]]:
        """Agents (of ``node``'s stations, or all) with state, device, call and queues."""
        rows = self._run("SELECT a.agent, a.node, a.device, a.state, a.reason, a.call, m.queue, m.level "
                         "FROM cc_agent a LEFT JOIN cc_member m ON m.agent = a.agent "
                         "WHERE %s::text IS NULL OR a.node = %s ORDER BY a.agent, m.queue", (node, node))
        out: dict[str, dict[str, Any]] = {}
        for r in rows:
            a = out.setdefault(r[0], {"node": r[1], "device": r[2], "state": r[3], "reason": r[4], "call": r[5],
                                      "queues": [], "skills": {}})
            if r[6] is not None:
                a["queues"].append(r[6])
                a["skills"][r[6]] = int(r[7])
        return out

    # ---- callers ---------------------------------------------------------------------------------
    def queue_call(self, call: str, queue: str, priority: int = 0) -> None:
        """A caller on this node's trunk waits in ``queue``."""
        self._run(f"INSERT INTO cc_call (call, node, queue, priority, entered, state) VALUES (%s, %s, %s, %s, {NOW}, "
                  "'queued')", (call, self.node, queue, priority))

    def offers(self) -> list[tuple[str, str, str | None, str | None]]:
        """Calls of this node offered to an agent now: (call, agent, agent's node, device)."""
        rows = self._run("SELECT c.call, c.agent, a.node, a.device FROM cc_call c JOIN cc_agent a ON a.agent = c.agent "
                         "WHERE c.node = %s AND c.state = 'offered' ORDER BY c.entered", (self.node,))
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def offers_made(self) -> list[tuple[str, int, str, str, str]]:
        """Calls of this node offered now, with the attempt number (a node carries each attempt
        out once): (call, attempt, agent, agent's node, device)."""
        rows = self._run("SELECT c.call, c.offers, c.agent, a.node, a.device FROM cc_call c "
                         "JOIN cc_agent a ON a.agent = c.agent WHERE c.node = %s AND c.state = 'offered' "
                         "ORDER BY c.entered", (self.node,))
        return [(r[0], int(r[1]), r[2], r[3] or "", r[4] or "") for r in rows]

    def answered(self, call: str) -> bool:
        """The agent answered the offered call: connected, the agent Busy."""
        return self._close_offer(call, "answered", "connected", "Busy")

    def no_answer(self, call: str, agent_state: str = "NotReady") -> bool:
        """Ring no answer: the caller waits again (first in line), the agent NotReady (RONA)."""
        return self._close_offer(call, "no answer", "queued", agent_state,
                                 reason="RONA" if agent_state == "NotReady" else None)

    def _close_offer(self, call: str, outcome: str, call_state: str, agent_state: str,
                     reason: str | None = None) -> bool:
        cur = self.conn.cursor()
        try:
            cur.execute("SELECT agent, offers FROM cc_call WHERE call = %s AND state = 'offered' FOR UPDATE", (call,))
            row = cur.fetchone()
            if row is None:
                self.conn.rollback()
                return False
            cur.execute("UPDATE cc_call SET state = %s, agent = CASE WHEN %s = 'queued' THEN NULL ELSE agent END "
                        "WHERE call = %s", (call_state, call_state, call))
            cur.execute(f"UPDATE cc_agent SET state = %s, reason = %s, since = {NOW}, "
                        "call = CASE WHEN %s = 'Busy' THEN call ELSE NULL END WHERE agent = %s AND call = %s",
                        (agent_state, reason, agent_state, row[0], call))
            cur.execute("UPDATE cc_offer SET outcome = %s WHERE call = %s AND attempt = %s", (outcome, call, row[1]))
            self.conn.commit()
            return True
        except BaseException:
            self.conn.rollback()
            raise

    def abandon(self, call: str) -> bool:
        """The caller hung up while waiting or ringing: the agent (if ringing) back to Ready."""
        cur = self.conn.cursor()
        try:
            cur.execute(f"UPDATE cc_call SET state = 'abandoned', ended = {NOW} WHERE call = %s "
                        "AND state IN ('queued', 'offered') RETURNING agent, offers", (call,))
            row = cur.fetchone()
            if row is not None and row[0] is not None:
                cur.execute(f"UPDATE cc_agent SET state = 'Ready', call = NULL, since = {NOW} WHERE agent = %s "
                            "AND call = %s", (row[0], call))
                cur.execute("UPDATE cc_offer SET outcome = 'abandoned' WHERE call = %s AND attempt = %s",
                            (call, row[1]))
            self.conn.commit()
            return row is not None
        except BaseException:
            self.conn.rollback()
            raise

    def call_ended(self, call: str, wrap_up: bool = False) -> bool:
        """A connected call cleared: done; its agent to WorkingAfterCall or Ready."""
        cur = self.conn.cursor()
        try:
            cur.execute(f"UPDATE cc_call SET state = 'done', ended = {NOW} WHERE call = %s AND state = 'connected' "
                        "RETURNING agent", (call,))
            row = cur.fetchone()
            if row is not None:
                cur.execute(f"UPDATE cc_agent SET state = %s, call = NULL, since = {NOW} WHERE agent = %s "
                            "AND call = %s", ("WorkingAfterCall" if wrap_up else "Ready", row[0], call))
            self.conn.commit()
            return row is not None
        except BaseException:
            self.conn.rollback()
            raise

    def restarted(self) -> list[str]:
        """This node starts (after a stop, a crash or kill -9) with no calls: the callers it had
        left in the centre (queued, ringing or talking, their trunk gone with the process) end
        ``cleared`` with cause ``node restarted`` and the agents they held are Ready again, so
        nothing waits for a call no node has. Returns the calls cleared."""
        cur = self.conn.cursor()
        try:
            gone = clear_calls(cur, "node = %s", (self.node,), "node restarted")
            self.conn.commit()
            return [str(g[0]) for g in gone]
        except BaseException:
            self.conn.rollback()
            raise

    def calls(self, node: str | None = None) -> dict[str, dict[str, Any]]:
        rows = self._run("SELECT call, node, queue, state, agent, offers, cause FROM cc_call "
                         "WHERE %s::text IS NULL OR node = %s", (node, node))
        return {r[0]: {"node": r[1], "queue": r[2], "state": r[3], "agent": r[4], "offers": r[5], "cause": r[6]}
                for r in rows}


def clear_calls(cur: Any, where: str, args: tuple[Any, ...], cause: str) -> list[tuple[Any, ...]]:
    """Inside the caller's transaction: the callers ``where`` selects that are still queued,
    ringing or talking end ``cleared`` with ``cause``; the agents they held are Ready again and
    their open offers closed. Returns (call, agent, attempt) of each."""
    cur.execute(f"UPDATE cc_call SET state = 'cleared', cause = %s, ended = {NOW} "
                f"WHERE state IN ('queued', 'offered', 'connected') AND {where} RETURNING call, agent, offers",
                (cause, *args))
    gone: list[tuple[Any, ...]] = cur.fetchall()
    for call, agent, attempt in gone:
        if agent is not None:
            cur.execute(f"UPDATE cc_agent SET state = 'Ready', call = NULL, since = {NOW} "
                        "WHERE agent = %s AND call = %s", (agent, call))
            cur.execute("UPDATE cc_offer SET outcome = COALESCE(outcome, %s) WHERE call = %s AND attempt = %s",
                        (cause, call, attempt))
    return gone


def _members(cur: Any, agent: str, levels: dict[str, int]) -> None:
    cur.execute("DELETE FROM cc_member WHERE agent = %s", (agent,))
    cur.executemany("INSERT INTO cc_member (agent, queue, level) VALUES (%s, %s, %s)",
                    [(agent, q, int(v)) for q, v in sorted(levels.items())])


__all__ = ["AGENT_STATES", "NodeCentre", "clear_calls", "create"]
