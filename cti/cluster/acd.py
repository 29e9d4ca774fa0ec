"""One ACD for the whole centre: the node holding the ``acd`` lease decides, the others stand by.

Every node runs :class:`ClusterAcd` (``python -m cti.cluster acd``); the one that holds the
lease (:mod:`.lease`) matches queued callers of every node with Ready agents of every node, in
the centre's PostgreSQL database (:mod:`.centre`): a caller goes to the longest-idle Ready
agent who is a member of its queue (callers by priority, then by time waited). Each decision
is one fenced transaction: the lease row is read ``FOR SHARE`` and must still name this
leader's epoch; the caller must still be ``queued`` and the agent ``Ready`` (row locks, skip
locked): so a caller is offered to one agent at a time, an agent gets one call at a time, and
a leader that lost its lease (expired while it was paused, taken by a standby) writes nothing.

A standby takes the lease once it expires (``ttl`` seconds after the leader's last renewal,
on the database's clock) and carries on from the tables: nothing is held in a leader's
memory, so no queued caller is lost or offered twice by a takeover.

The leader also clears what a dead node leaves (a node whose heartbeat is older than
``dead_after``): its callers, queued or ringing, end ``cleared`` with cause ``node lost``
(their trunk went with the node) and the agents offered them are Ready again; callers of live
nodes ringing at a dead node's station are queued again first in line, those agents NotReady
(``node lost``). Agents and their queues stay: logged on at the dead node's stations, they are
offered nothing until that node's heartbeat returns.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from . import centre
from .lease import NOW, Fenced, Lease

log = logging.getLogger("cti.cluster.acd")

LEASE = "acd"


class ClusterAcd:
    """The ACD role of node ``holder`` on the centre database ``url`` (see the module docstring)."""

    def __init__(self, url: str, holder: str, *, ttl: float = 3.0, dead_after: float = 5.0, batch: int = 64,
                 interval: float = 0.02, on_event: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.url = url
        self.holder = holder
        self.ttl = ttl
        self.dead_after = dead_after
        self.batch = batch
        self.interval = interval
        self.on_event = on_event or (lambda ev: None)
        self.conn: Any = None
        self.lease: Lease | None = None
        self.offered = 0
        self.cleared = 0
        self.fenced = 0
        self._renewed = 0.0

    # ---- connection ----------------------------------------------------------------------------
    def connect(self) -> None:
        import psycopg
        self.conn = psycopg.connect(self.url)
        cur = self.conn.cursor()
        # a leader stopped inside a transaction must not hold the lease row's lock for long
        cur.execute(f"SET idle_in_transaction_session_timeout = {max(100, int(self.ttl * 500))}")
        self.conn.commit()
        centre.create(self.conn)
        self.lease = Lease(self.conn, LEASE, self.holder, self.ttl)

    def close(self, release: bool = True) -> None:
        if self.conn is None:
            return
        try:
            if release and self.lease is not None:
                self.lease.release()
        finally:
            self.conn.close()
            self.conn = None

    @property
    def leader(self) -> bool:
        return self.lease is not None and self.lease.epoch is not None

    # ---- one turn ------------------------------------------------------------------------------
    def step(self) -> int:
        """Keep (or try to take) the lease; as leader, make the decisions due. Returns offers made."""
        assert self.lease is not None
        now = time.monotonic()
        was = self.lease.epoch
        if not self.leader or now - self._renewed >= self.ttl / 3:
            self.lease.acquire()
            self._renewed = now
            if self.lease.epoch != was:
                self.on_event({"event": "leader" if self.leader else "standby", "holder": self.holder,
                               "epoch": self.lease.epoch, "was": was})
        if not self.leader:
            return 0
        try:
            return self.decide()
        except Fenced as e:
            self.fenced += 1
            self.on_event({"event": "fenced", "holder": self.holder, "epoch": was, "why": str(e)})
            return 0

    def decide(self) -> int:
        """One fenced transaction: clear what dead nodes left, then offer queued callers."""
        assert self.lease is not None
        cur = self.conn.cursor()
        try:
            epoch = self.lease.fence(cur)
            self.cleared += self._reap(cur)
            n = self._offer(cur, epoch)
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        self.offered += n
        return n

    def _reap(self, cur: Any) -> int:
        dead = f"SELECT node FROM cc_node WHERE seen < {NOW} - %s"
        gone = centre.clear_calls(cur, f"node IN ({dead})", (self.dead_after,), "node lost")
        # callers of live nodes ringing at a dead node's station: queued again, first in line
        cur.execute("UPDATE cc_call c SET state = 'queued', agent = NULL FROM cc_agent a "
                    f"WHERE c.state = 'offered' AND a.agent = c.agent AND a.node IN ({dead}) "
                    "RETURNING c.call, a.agent, c.offers", (self.dead_after,))
        for call, agent, attempt in cur.fetchall():
            cur.execute(f"UPDATE cc_agent SET state = 'NotReady', reason = 'node lost', call = NULL, since = {NOW} "
                        "WHERE agent = %s AND call = %s", (agent, call))
            cur.execute("UPDATE cc_offer SET outcome = 'node lost' WHERE call = %s AND attempt = %s", (call, attempt))
        return len(gone)

    def _offer(self, cur: Any, epoch: int) -> int:
        alive = f"SELECT node FROM cc_node WHERE seen >= {NOW} - %s"
        cur.execute(f"SELECT call, queue, offers FROM cc_call WHERE state = 'queued' AND node IN ({alive}) "
                    "ORDER BY priority DESC, entered LIMIT %s FOR UPDATE SKIP LOCKED", (self.dead_after, self.batch))
        made = 0
        for call, queue, offers in cur.fetchall():
            cur.execute("SELECT a.agent FROM cc_agent a JOIN cc_member m ON m.agent = a.agent AND m.queue = %s "
                        f"WHERE a.state = 'Ready' AND a.node IN ({alive}) ORDER BY a.since LIMIT 1 "
                        "FOR UPDATE OF a SKIP LOCKED", (queue, self.dead_after))
            row = cur.fetchone()
            if row is None:
                continue
            agent = row[0]
            cur.execute(f"UPDATE cc_agent SET state = 'Reserved', call = %s, since = {NOW} WHERE agent = %s "
                        "AND state = 'Ready'", (call, agent))
            cur.execute("UPDATE cc_call SET state = 'offered', agent = %s, offers = offers + 1 WHERE call = %s "
                        "AND state = 'queued'", (agent, call))
            cur.execute(f"INSERT INTO cc_offer (call, attempt, agent, epoch, at) VALUES (%s, %s, %s, %s, {NOW})",
                        (call, offers + 1, agent, epoch))
            made += 1
        return made

    # ---- the loop ------------------------------------------------------------------------------
    def run(self, duration: float | None = None, stop: Callable[[], bool] = lambda: False) -> None:
        """Turn until ``duration`` s passed or ``stop()``; reconnects after a lost connection."""
        import psycopg
        end = None if duration is None else time.monotonic() + duration
        while not stop() and (end is None or time.monotonic() < end):
            try:
                if self.conn is None:
                    self.connect()
                if self.step() == 0:
                    time.sleep(self.interval)
            except psycopg.Error as e:         # a dropped connection (or cut off while paused): stand by
                was = self.lease.epoch if self.lease is not None else None
                self.on_event({"event": "db error", "holder": self.holder, "epoch": was, "why": str(e)[:200]})
                try:
                    self.close(release=False)
                except psycopg.Error:
                    self.conn = None
                self.conn = None
                time.sleep(min(1.0, self.ttl / 3))


__all__ = ["LEASE", "ClusterAcd"]
