"""The store interface: the event journal (for replay) and CDRs, behind one small API.

The bus appends every published event (its exact msgpack bytes) with its seq; commits come in
batches (``commit``) so publishing stays fast; ``events_after`` serves replay; ``prune``
applies retention. A CDR is written per call when it clears. Key/value ``meta`` keeps the
counters that must survive a restart (the next call number). Implementations share the SQL
in :class:`SqlStore`; they differ in driver, placeholder and column types.
"""
from __future__ import annotations

import abc
import json
import time
from typing import Any, Sequence

#: CDR columns, in table order (``merged`` is a JSON list of call ids).
CDR_FIELDS: tuple[str, ...] = (
    "call", "direction", "calling", "called", "device", "span", "ts", "signalling", "started",
    "answered", "ended", "talk_seconds", "cause", "outcome", "merged_into", "merged", "recorded_at",
)


class StoreError(Exception):
    """The store cannot be opened or used (bad URL, missing driver, database error)."""


class Store(abc.ABC):
    """Journal + CDR + meta storage."""

    @abc.abstractmethod
    def append(self, seq: int, time: float, topic: str, type: str, packed: bytes) -> None:
        """Queue one event for the journal (written at the next ``commit``)."""

    def append_many(self, rows: list[tuple[int, float, str, str, bytes]]) -> None:
        """Queue many ``(seq, time, topic, type, packed)`` rows (seq increasing)."""
        for row in rows:
            self.append(*row)

    @abc.abstractmethod
    def commit(self) -> None:
        """Write queued journal rows and CDRs durably."""

    @abc.abstractmethod
    def last_seq(self) -> int:
        """The highest seq in the journal (0 when empty), committed or queued."""

    @abc.abstractmethod
    def oldest_seq(self) -> int | None:
        """The lowest seq still in the journal (None when empty)."""

    @abc.abstractmethod
    def events_after(self, seq: int, limit: int = 1000) -> list[tuple[int, bytes]]:
        """Up to ``limit`` journal rows ``(seq, packed)`` with seq > ``seq``, in order."""

    @abc.abstractmethod
    def prune(self, *, keep_events: int | None = None, keep_seconds: float | None = None,
              now: float | None = None) -> int:
        """Apply retention: keep the newest ``keep_events`` and those younger than ``keep_seconds``."""

    @abc.abstractmethod
    def write_cdr(self, cdr: dict[str, Any]) -> None:
        """Queue a call detail record (fields of CDR_FIELDS; missing ones are null)."""

    @abc.abstractmethod
    def cdrs(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest ``limit`` CDRs, oldest first."""

    @abc.abstractmethod
    def get_meta(self, key: str) -> str | None: ...

    @abc.abstractmethod
    def set_meta(self, key: str, value: str) -> None: ...

    @abc.abstractmethod
    def close(self) -> None:
        """Commit and close."""

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SqlStore(Store):
    """The SQL both implementations run (DB-API connection, ``ph`` placeholder)."""

    ph = "?"
    blob = "BLOB"
    real = "REAL"

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self._pending: list[tuple[int, float, str, str, bytes]] = []
        self._pending_cdrs: list[tuple[Any, ...]] = []
        self._create()
        self._last = self._query_one("SELECT COALESCE(MAX(seq), 0) FROM journal")[0]

    def _create(self) -> None:
        r, b = self.real, self.blob
        cols = ", ".join(f"{c} {self._cdr_type(c)}" + (" PRIMARY KEY" if c == "call" else "") for c in CDR_FIELDS)
        cur = self.conn.cursor()
        cur.execute(f"CREATE TABLE IF NOT EXISTS journal (seq BIGINT PRIMARY KEY, time {r} NOT NULL, "
                    f"topic TEXT NOT NULL, type TEXT NOT NULL, body {b} NOT NULL)")
        cur.execute("CREATE INDEX IF NOT EXISTS journal_time ON journal (time)")
        cur.execute(f"CREATE TABLE IF NOT EXISTS cdr ({cols})")
        cur.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.conn.commit()

    def _cdr_type(self, c: str) -> str:
        if c in ("span", "ts", "cause"):
            return "INTEGER"
        if c in ("started", "answered", "ended", "talk_seconds", "recorded_at"):
            return self.real
        return "TEXT"

    def _query_one(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...]:
        cur = self.conn.cursor()
        cur.execute(sql.replace("?", self.ph), tuple(args))
        return cur.fetchone()

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.cursor()
        cur.execute(sql.replace("?", self.ph), tuple(args))
        return cur.fetchall()

    def append(self, seq: int, time: float, topic: str, type: str, packed: bytes) -> None:
        if seq <= self._last:
            raise StoreError(f"journal seq must grow: {seq} after {self._last}")
        self._pending.append((seq, time, topic, type, packed))
        self._last = seq

    def append_many(self, rows: list[tuple[int, float, str, str, bytes]]) -> None:
        if not rows:
            return
        if rows[0][0] <= self._last or any(b[0] <= a[0] for a, b in zip(rows, rows[1:])):
            raise StoreError(f"journal seq must grow: {rows[0][0]} after {self._last}")
        self._pending.extend(rows)
        self._last = rows[-1][0]

    def commit(self) -> None:
        if not self._pending and not self._pending_cdrs:
            return
        cur = self.conn.cursor()
        p = self.ph
        if self._pending:
            cur.executemany(f"INSERT INTO journal (seq, time, topic, type, body) VALUES ({p}, {p}, {p}, {p}, {p})",
                            self._pending)
        if self._pending_cdrs:
            cols = ", ".join(CDR_FIELDS)
            marks = ", ".join([p] * len(CDR_FIELDS))
            cur.executemany(f"INSERT INTO cdr ({cols}) VALUES ({marks}) ON CONFLICT (call) DO NOTHING",
                            self._pending_cdrs)
        self.conn.commit()
        self._pending, self._pending_cdrs = [], []

    def last_seq(self) -> int:
        return self._last

    def oldest_seq(self) -> int | None:
        self.commit()
        return self._query_one("SELECT MIN(seq) FROM journal")[0]

    def events_after(self, seq: int, limit: int = 1000) -> list[tuple[int, bytes]]:
        self.commit()
        rows = self._query("SELECT seq, body FROM journal WHERE seq > ? ORDER BY seq LIMIT ?", (int(seq), int(limit)))
        return [(int(s), bytes(b)) for s, b in rows]

    def prune(self, *, keep_events: int | None = None, keep_seconds: float | None = None,
              now: float | None = None) -> int:
        self.commit()
        cur = self.conn.cursor()
        n = 0
        if keep_events is not None:
            cur.execute(f"DELETE FROM journal WHERE seq <= {self.ph}", (self._last - int(keep_events),))
            n += max(cur.rowcount, 0)
        if keep_seconds is not None:
            t = (time.time() if now is None else now) - keep_seconds
            # never delete the newest event: it anchors last_seq across a restart
            cur.execute(f"DELETE FROM journal WHERE time < {self.ph} AND seq < {self.ph}", (t, self._last))
            n += max(cur.rowcount, 0)
        self.conn.commit()
        return n

    def write_cdr(self, cdr: dict[str, Any]) -> None:
        row = dict(cdr)
        row["merged"] = json.dumps(row.get("merged") or [])
        row.setdefault("recorded_at", time.time())
        self._pending_cdrs.append(tuple(row.get(c) for c in CDR_FIELDS))

    def cdrs(self, limit: int = 100) -> list[dict[str, Any]]:
        self.commit()
        rows = self._query(f"SELECT {', '.join(CDR_FIELDS)} FROM cdr ORDER BY ended DESC, call DESC LIMIT ?",
                           (int(limit),))
        out = []
        for r in reversed(rows):
            d = dict(zip(CDR_FIELDS, r))
            d["merged"] = json.loads(d["merged"] or "[]")
            out.append(d)
        return out

    def get_meta(self, key: str) -> str | None:
        r = self._query_one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if r is None else str(r[0])

    def set_meta(self, key: str, value: str) -> None:
        cur = self.conn.cursor()
        cur.execute(f"INSERT INTO meta (key, value) VALUES ({self.ph}, {self.ph}) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, str(value)))
        self.conn.commit()

    def close(self) -> None:
        try:
            self.commit()
        finally:
            self.conn.close()
