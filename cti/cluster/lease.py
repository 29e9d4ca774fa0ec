"""A leader's lease in the cluster's PostgreSQL database, with a fencing epoch.

One row per role (``cc_lease``: name, holder, epoch, expires). Taking the lease is one
statement that succeeds only when the row is free or expired, and raises its ``epoch`` by one;
renewing succeeds only for the holder of the current epoch before expiry. Expiry is judged by
the database's clock (``clock_timestamp()``), so node clocks do not matter.

Fencing: every decision a leader writes runs in a transaction that first reads the lease row
``FOR SHARE`` and goes on only if the row still names this holder and epoch and has not
expired (:meth:`Lease.fence`). A takeover's ``UPDATE`` of that row waits for such a
transaction, so a decision either commits while its lease is valid or is refused. A leader
that is paused (SIGSTOP, a partition) inside a transaction is cut off by the database after
``idle_in_transaction_session_timeout`` (set on the leader's connection), so its lock never
holds a standby up for longer than that. A paused leader that wakes finds another epoch and
writes nothing (:class:`Fenced`): no split brain.

Why a lease row rather than ``pg_advisory_lock``: a session lock is held as long as its TCP
connection lives, and a stopped process keeps its connection open; a lease expires on the
database's clock whatever the holder does.
"""
from __future__ import annotations

from typing import Any

#: the database's clock, seconds since the epoch
NOW = "extract(epoch from clock_timestamp())"


class Fenced(Exception):
    """This holder's lease is gone (expired or taken): write nothing, stand by."""


def create(cur: Any) -> None:
    cur.execute("CREATE TABLE IF NOT EXISTS cc_lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL, "
                "epoch BIGINT NOT NULL, expires DOUBLE PRECISION NOT NULL)")
    cur.execute("CREATE TABLE IF NOT EXISTS cc_lease_log (name TEXT NOT NULL, epoch BIGINT NOT NULL, "
                "holder TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, PRIMARY KEY (name, epoch))")


class Lease:
    """The lease ``name`` as seen by ``holder`` on connection ``conn`` (psycopg, not autocommit)."""

    def __init__(self, conn: Any, name: str, holder: str, ttl: float) -> None:
        if ttl <= 0:
            raise ValueError(f"lease ttl must be > 0 s, not {ttl}")
        self.conn = conn
        self.name = name
        self.holder = holder
        self.ttl = float(ttl)
        #: the epoch held (None: not the leader)
        self.epoch: int | None = None

    def acquire(self) -> bool:
        """Renew the lease if held; else take it if it is free, expired or this holder's from before
        (a restart): a new epoch, which fences anything the old one still tries to write."""
        if self.epoch is not None and self.renew():
            return True
        cur = self.conn.cursor()
        try:
            cur.execute(f"INSERT INTO cc_lease (name, holder, epoch, expires) VALUES (%s, %s, 1, {NOW} + %s) "
                        "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, epoch = cc_lease.epoch + 1, "
                        f"expires = excluded.expires WHERE cc_lease.expires < {NOW} OR cc_lease.holder = excluded.holder "
                        "RETURNING epoch",
                        (self.name, self.holder, self.ttl))
            row = cur.fetchone()
            if row is not None:
                cur.execute(f"INSERT INTO cc_lease_log (name, epoch, holder, at) VALUES (%s, %s, %s, {NOW})",
                            (self.name, row[0], self.holder))
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        self.epoch = None if row is None else int(row[0])
        return self.epoch is not None

    def renew(self) -> bool:
        """Extend the held lease; False (and not the leader any more) once it expired or was taken."""
        if self.epoch is None:
            return False
        cur = self.conn.cursor()
        try:
            cur.execute(f"UPDATE cc_lease SET expires = {NOW} + %s WHERE name = %s AND holder = %s AND epoch = %s "
                        f"AND expires > {NOW} RETURNING epoch", (self.ttl, self.name, self.holder, self.epoch))
            ok = cur.fetchone() is not None
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        if not ok:
            self.epoch = None
        return ok

    def fence(self, cur: Any) -> int:
        """Inside the caller's transaction: lock the lease row (shared) and check that this holder
        still has it; returns the epoch, raises :class:`Fenced` otherwise."""
        if self.epoch is None:
            raise Fenced(f"{self.holder} does not hold {self.name}")
        cur.execute(f"SELECT holder, epoch, expires > {NOW} FROM cc_lease WHERE name = %s FOR SHARE", (self.name,))
        row = cur.fetchone()
        if row is None or row[0] != self.holder or int(row[1]) != self.epoch or not row[2]:
            self.epoch = None
            raise Fenced(f"{self.holder} lost {self.name} (now {row[0] if row else None} epoch "
                         f"{row[1] if row else None})")
        return self.epoch

    def release(self) -> None:
        """Give the lease up at once (a clean stop): a standby need not wait for expiry."""
        if self.epoch is None:
            return
        cur = self.conn.cursor()
        try:
            cur.execute(f"UPDATE cc_lease SET expires = {NOW} - 1 WHERE name = %s AND holder = %s AND epoch = %s",
                        (self.name, self.holder, self.epoch))
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        self.epoch = None


__all__ = ["NOW", "Fenced", "Lease", "create"]
