"""Store housekeeping off the owner's thread: durable seq reservations and journal pruning.

:class:`Maintenance` runs on a thread with a database connection of its own (SQLite: a third
connection, ``synchronous=FULL``, so a reservation survives a power failure; PostgreSQL: a
second connection, whose commits are durable by default), so neither an fsync nor a large
``DELETE`` ever holds up the bus's loop. Without a second connection (SQLite ``:memory:``)
every job runs at once on the caller's thread, on the store's own connection.

Reservations come first: a prune deletes in chunks of :data:`PRUNE_CHUNK` rows, one
transaction each, and writes a waiting reservation between two chunks.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any
from collections.abc import Callable

log = logging.getLogger(__name__)

#: meta key of the highest seq the bus may publish (docs/bus.md "Journal and durability")
SEQ_RESERVED = "bus.seq_reserved"
#: journal rows (pages of up to 64 events) deleted per prune transaction
PRUNE_CHUNK = 2048


def write_reservation(conn: Any, ph: str, upto: int, node: str = "") -> None:
    """Commit ``meta[SEQ_RESERVED] = upto`` of ``node`` on ``conn`` (one transaction)."""
    try:
        cur = conn.cursor()
        cur.execute(f"INSERT INTO meta (node, key, value) VALUES ({ph}, {ph}, {ph}) "
                    "ON CONFLICT (node, key) DO UPDATE SET value = excluded.value",
                    (node, SEQ_RESERVED, str(int(upto))))
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def prune_chunks(conn: Any, ph: str, *, keep_events: int | None, keep_seconds: float | None,
                 now: float | None, top: int | None = None, between: Callable[[], None] | None = None,
                 node: str = "") -> int:
    """Delete ``node``'s journal rows older than the retention, :data:`PRUNE_CHUNK` rows per
    transaction; ``keep_events`` counts back from seq ``top`` (default: the newest written); the
    newest row written always stays (it anchors the journal's last seq). Returns the events deleted."""
    conds: list[str] = []
    args: list[Any] = []
    if keep_events is not None:
        if top is None:
            cur = conn.cursor()
            cur.execute(f"SELECT COALESCE(MAX(last), 0) FROM journal WHERE node = {ph}", (node,))
            top = cur.fetchone()[0]
        conds.append(f"last <= {ph}")
        args.append(int(top) - int(keep_events))
    if keep_seconds is not None:
        conds.append(f"time < {ph}")
        args.append((time.time() if now is None else now) - keep_seconds)
    if not conds:
        return 0
    # either criterion deletes; the newest row never does
    where = f"node = {ph} AND ({' OR '.join(conds)}) AND last < (SELECT MAX(last) FROM journal WHERE node = {ph})"
    args = [node, *args, node]
    total = 0
    while True:
        try:
            cur = conn.cursor()
            cur.execute(f"SELECT seq, last FROM journal WHERE {where} ORDER BY seq LIMIT {PRUNE_CHUNK}", args)
            rows = cur.fetchall()
            if rows:
                cur.execute(f"DELETE FROM journal WHERE seq >= {ph} AND seq <= {ph} AND {where}",
                            [rows[0][0], rows[-1][0], *args])
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        total += sum(int(b) - int(a) + 1 for a, b in rows)
        if len(rows) < PRUNE_CHUNK:
            return total
        if between is not None:
            between()


class Maintenance:
    """Reservation and prune jobs for one store (see the module docstring).

    ``connect()`` opens the thread's connection (None: run jobs inline on ``conn`` under
    ``lock``); ``ph`` is the driver's placeholder."""

    def __init__(self, connect: Callable[[], Any] | None, ph: str, conn: Any, lock: threading.Lock,
                 node: str = "") -> None:
        self._connect = connect
        self._ph = ph
        self._node = node
        self._inline_conn = conn
        self._inline_lock = lock
        self._cv = threading.Condition()
        self._want: int | None = None          # reservation asked for and not yet written
        self._want_gen = self._done_gen = 0
        self._prunes: list[dict[str, Any]] = []
        self._busy = False
        self._closing = False
        self._thread: threading.Thread | None = None
        self._conn: Any = None
        #: the last reservation written (durable), -1 before the first
        self.reserved = -1
        #: events deleted by background prunes; their count
        self.pruned = 0
        self.prunes = 0
        #: the last job failure (a message), cleared when reported
        self.error: str | None = None

    # ---- reservations ----------------------------------------------------------------
    def reserve(self, upto: int, wait: bool) -> None:
        """Ask for ``meta[SEQ_RESERVED] = upto`` (the newest ask wins); with ``wait``, return once
        it is durable, or raise RuntimeError with the failure."""
        upto = int(upto)
        if self._connect is None:
            with self._inline_lock:
                write_reservation(self._inline_conn, self._ph, upto, self._node)
            self.reserved = upto
            return
        with self._cv:
            pending = self._done_gen < self._want_gen
            if not (pending and self._want == upto) and not (not pending and self.reserved == upto):
                self._want = upto
                self._want_gen += 1
            gen = self._want_gen
            self._start()
            self._cv.notify_all()
            if wait:
                while self._done_gen < gen:
                    self._cv.wait()
                if self.error is not None:
                    err, self.error = self.error, None
                    raise RuntimeError(err)

    # ---- pruning ---------------------------------------------------------------------
    def prune(self, keep_events: int | None, keep_seconds: float | None, now: float | None,
              top: int | None = None) -> None:
        """Queue one prune (inline stores: prune now); see :func:`prune_chunks`."""
        job: dict[str, Any] = {"keep_events": keep_events, "keep_seconds": keep_seconds, "now": now, "top": top, "node": self._node}
        if self._connect is None:
            with self._inline_lock:
                self.pruned += prune_chunks(self._inline_conn, self._ph, **job)
            self.prunes += 1
            return
        with self._cv:
            self._prunes.append(job)
            self._start()
            self._cv.notify_all()

    def wait(self) -> None:
        """Block until every queued job is done."""
        with self._cv:
            while self._busy or self._prunes or self._done_gen < self._want_gen:
                self._cv.wait()

    # ---- the thread --------------------------------------------------------------------
    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="store-maintenance", daemon=True)
            self._thread.start()

    def _reserve_now(self) -> None:
        """Write the newest reservation asked for, if any (called on the thread)."""
        with self._cv:
            if self._done_gen >= self._want_gen:
                return
            upto, gen = self._want, self._want_gen
        assert upto is not None                 # a generation asked for carries its seq
        try:
            write_reservation(self._db(), self._ph, upto, self._node)
        except Exception as e:       # reported to the waiter (the bus raises StoreError)
            with self._cv:
                self.error = f"seq reservation failed: {e}"
                self._done_gen = gen
                self._cv.notify_all()
            return
        with self._cv:
            self.reserved = upto
            self._done_gen = max(self._done_gen, gen)
            if self._want_gen == gen:
                self._want = None
            self._cv.notify_all()

    def _db(self) -> Any:
        if self._conn is None:
            assert self._connect is not None    # the thread runs only with a connection of its own
            self._conn = self._connect()
        return self._conn

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._prunes and self._done_gen >= self._want_gen and not self._closing:
                    self._cv.wait()
                if not self._prunes and self._done_gen >= self._want_gen:
                    return
                self._busy = True
                job = self._prunes.pop(0) if self._prunes and self._done_gen >= self._want_gen else None
            try:
                if job is None:
                    self._reserve_now()
                else:
                    try:
                        n = prune_chunks(self._db(), self._ph, between=self._reserve_now, **job)
                        self.pruned += n
                        self.prunes += 1
                    except Exception as e:
                        log.error("journal prune failed: %s", e)
                        self.error = f"journal prune failed: {e}"
            finally:
                with self._cv:
                    self._busy = False
                    self._cv.notify_all()

    def close(self) -> None:
        """Finish the queued jobs, stop the thread, close its connection."""
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(30)
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None
