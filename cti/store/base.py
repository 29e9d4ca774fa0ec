"""The store interface: the event journal (for replay) and CDRs, behind one small API.

The bus appends every published event (its exact msgpack bytes) with its seq; commits come in
batches (``commit``, or ``commit_soon``: a file-backed store writes on its own threads, the
journal through ``journal_writer`` when the store has one) so publishing stays fast;
``events_after`` serves replay; ``prune`` applies retention. On disk, consecutive events
committed together share a row (a *page* of up to ``PAGE`` events: seq..last, body a msgpack
array of the frames; a one-event row holds the frame itself), which makes journaling cheap per
event; the API stays per event. A CDR is queued per call when it clears; key/value ``meta``
(queued too) keeps the counters that must survive a restart (the next call number). The bus
reserves seqs durably before it publishes them (``reserve_seq``, meta ``bus.seq_reserved``), so
a restart after a crash never reuses a seq (docs/bus.md); reservations and background prunes
(``prune_soon``) run on a maintenance thread with a connection of its own (:mod:`.maint`).
Implementations share the SQL in :class:`SqlStore`; they differ in driver, placeholder and
column types.
"""
from __future__ import annotations

import abc
import itertools
import json
import operator
import threading
import time
from typing import Any
from collections.abc import Iterator, Sequence

import msgpack

from .maint import SEQ_RESERVED, Maintenance, prune_chunks
from .migrations import Dialect, MigrationError, columns, migrate
from .migrations.v003_journal_epoch import KEY as EPOCH_KEY
from .migrations.v003_journal_epoch import new_epoch

#: CDR columns, in table order (``merged`` is a JSON list of call ids, ``user_data`` a JSON map).
CDR_FIELDS: tuple[str, ...] = (
    "call", "direction", "calling", "called", "device", "span", "ts", "signalling", "started",
    "answered", "ended", "talk_seconds", "cause", "outcome", "merged_into", "merged", "recorded_at",
    "route_device", "user_data",
)


#: Events per journal row at most.
PAGE = 64


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
        """Write queued journal rows and CDRs durably (returns when they are written)."""

    def commit_soon(self) -> None:
        """Start writing queued rows without waiting for them (stores with a writer thread);
        every read of the journal or CDRs, ``commit`` and ``close`` wait for that write first."""
        self.commit()

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
    def get_meta(self, key: str) -> str | None:
        """The value of ``key`` (a value set and not yet written included), or None."""

    @abc.abstractmethod
    def set_meta(self, key: str, value: str) -> None:
        """Queue ``key = value``: written with the next ``commit`` / ``commit_soon``, like a CDR."""

    def epoch(self) -> str:
        """The journal's epoch: an id made once with the journal (meta ``journal.epoch``); a
        journal lost or replaced has another, which the bus sends in every event and reply."""
        v = self.get_meta(EPOCH_KEY)
        if v is None:
            v = new_epoch()
            self.set_meta(EPOCH_KEY, v)
            self.commit()
        return v

    # ---- seq reservation (the bus never reuses a seq across a crash) ---------------------
    def reserved_seq(self) -> int:
        """The highest seq a bus on this store was allowed to publish (0: none recorded)."""
        v = self.get_meta(SEQ_RESERVED)
        return int(v) if v is not None else 0

    def reserve_seq(self, upto: int, wait: bool = True) -> None:
        """Record durably that seqs up to ``upto`` may be published (it may also lower the
        reservation: a clean stop). ``wait=False`` starts the write and returns; ``seq_reserved``
        tells when it is durable. Raises StoreError when the write fails."""
        self.set_meta(SEQ_RESERVED, str(int(upto)))
        self.commit()
        self._reserved = int(upto)

    @property
    def seq_reserved(self) -> int:
        """The last reservation known durable (-1 before the first ``reserve_seq``)."""
        return getattr(self, "_reserved", -1)

    def prune_soon(self, *, keep_events: int | None = None, keep_seconds: float | None = None,
                   now: float | None = None) -> None:
        """``prune`` without waiting for it where the store can (a maintenance thread)."""
        self.prune(keep_events=keep_events, keep_seconds=keep_seconds, now=now)

    @abc.abstractmethod
    def close(self) -> None:
        """Commit and close."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SqlStore(Store):
    """The SQL both implementations run (DB-API connection, ``ph`` placeholder)."""

    ph = "?"
    blob = "BLOB"
    real = "REAL"
    #: commit_soon writes in a thread (there is I/O to overlap); False: it commits at once
    background = True

    def __init__(self, conn: Any, node: str = "") -> None:
        self.conn = conn
        #: whose journal and meta rows this store reads and writes ('' : a single node; a cluster
        #: node's name where several nodes share one PostgreSQL database, docs/cluster.md)
        self.node = node
        self._pending: list[tuple[int, float, str, str, bytes]] = []
        self._pending_cdrs: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()            # the connection: one thread at a time
        self._cv = threading.Condition()         # hand-off to the writer thread
        self._pending_meta: dict[str, str] = {}
        self._handoff: list[tuple[list[Any], list[Any], dict[str, str]]] = []
        self._writing = False
        self._writer: threading.Thread | None = None
        self._write_error: _WriteFailed | None = None
        self._retry: list[tuple[list[Any], dict[str, str]]] = []     # CDRs and meta of a failed write
        self._closing = False
        #: the journal's own writer (compiled: never holds the GIL), set by stores that have one;
        #: commit_soon hands it the journal rows, the Python writer thread keeps the CDRs
        self.journal_writer: Any = None
        self._create()
        #: reservations and background prunes (a thread and connection of their own, see .maint)
        self.maint = Maintenance(self._maint_connector(), self.ph, conn, self._lock, node)
        self._last = int(self._query_one("SELECT COALESCE(MAX(last), 0) FROM journal WHERE node = ?", (node,))[0])

    def _create(self) -> None:
        """Bring the schema to this code's version (cti.store.migrations), then check that the
        tables have what the writes need: a missing column is an error at start, never a
        failure of every later write."""
        d = Dialect("postgresql" if self.ph == "%s" else "sqlite", self.real, self.blob, self.ph)
        try:
            self.migrations_applied = migrate(self.conn, d)
            cur = self.conn.cursor()
            missing = [c for c in CDR_FIELDS if c not in columns(cur, d, "cdr")]
            self.conn.rollback()
        except MigrationError as e:
            raise StoreError(str(e)) from e
        if missing:
            raise StoreError(f"the cdr table lacks column(s) {', '.join(missing)}: the schema migrations do not "
                             "match this code (a migration file is missing)")

    def _maint_connector(self) -> Any:
        """A function opening the maintenance thread's connection, or None (jobs run inline)."""
        return None

    def reserve_seq(self, upto: int, wait: bool = True) -> None:
        try:
            self.maint.reserve(upto, wait)
        except RuntimeError as e:
            raise StoreError(str(e)) from e
        except Exception as e:          # inline (no maintenance thread): the driver's error
            raise StoreError(f"seq reservation failed: {e}") from e

    @property
    def seq_reserved(self) -> int:
        return self.maint.reserved

    def prune_soon(self, *, keep_events: int | None = None, keep_seconds: float | None = None,
                   now: float | None = None) -> None:
        """Queue a prune for the maintenance thread (stores without one prune now); its count
        adds to ``self.maint.pruned``; a failure is logged and kept in ``self.maint.error``."""
        self.maint.prune(keep_events, keep_seconds, now, top=self._last)     # counted from the newest event

    def _query_one(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...]:
        cur = self.conn.cursor()
        cur.execute(sql.replace("?", self.ph), tuple(args))
        row: tuple[Any, ...] = cur.fetchone()
        return row

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.cursor()
        cur.execute(sql.replace("?", self.ph), tuple(args))
        rows: list[tuple[Any, ...]] = cur.fetchall()
        return rows

    def append(self, seq: int, time: float, topic: str, type: str, packed: bytes) -> None:
        if seq <= self._last:
            raise StoreError(f"journal seq must grow: {seq} after {self._last}")
        self._pending.append((seq, time, topic, type, packed))
        self._last = seq

    def append_many(self, rows: list[tuple[int, float, str, str, bytes]]) -> None:
        if not rows:
            return
        if rows[0][0] <= self._last or not (_consecutive(rows) or all(b[0] > a[0] for a, b in itertools.pairwise(rows))):
            raise StoreError(f"journal seq must grow: {rows[0][0]} after {self._last}")
        self._pending.extend(rows)
        self._last = rows[-1][0]

    def commit(self) -> None:
        self._drain()
        self._write(self._pending, self._pending_cdrs, self._pending_meta)     # on failure they stay queued
        self._pending, self._pending_cdrs, self._pending_meta = [], [], {}

    def commit_soon(self) -> None:
        """Hand the queued rows to the writer thread (started on first use) and return at once;
        raises StoreError if the previous background write failed."""
        if not self.background:
            self.commit()
            return
        jw = self.journal_writer
        if self._write_error is not None or (jw is not None and jw.failed):
            self._drain()
        if jw is not None and self._pending:
            jw.submit(self._pending)        # copied: the list is ours again
            self._pending = []
        if not self._pending and not self._pending_cdrs and not self._pending_meta:
            return
        with self._cv:
            self._handoff.append((self._pending, self._pending_cdrs, self._pending_meta))
            self._cv.notify()
        self._pending, self._pending_cdrs, self._pending_meta = [], [], {}
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_loop, name="store-writer", daemon=True)
            self._writer.start()

    def _write(self, rows: list[tuple[int, float, str, str, bytes]], cdrs: list[tuple[Any, ...]],
               meta: dict[str, str] | None = None) -> None:
        """One transaction: journal pages, CDRs and meta (SQLite drops the GIL while it writes)."""
        if not rows and not cdrs and not meta:
            return
        p = self.ph
        with self._lock:
            try:
                cur = self.conn.cursor()
                if rows:
                    cur.executemany(f"INSERT INTO journal (seq, last, time, topic, type, body, node) "
                                    f"VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p})",
                                    [(*r, self.node) for r in _pages(rows)])
                if cdrs:
                    cols = ", ".join(CDR_FIELDS)
                    marks = ", ".join([p] * len(CDR_FIELDS))
                    cur.executemany(f"INSERT INTO cdr ({cols}) VALUES ({marks}) ON CONFLICT (call) DO NOTHING",
                                    cdrs)
                if meta:
                    cur.executemany(f"INSERT INTO meta (node, key, value) VALUES ({p}, {p}, {p}) "
                                    "ON CONFLICT (node, key) DO UPDATE SET value = excluded.value",
                                    [(self.node, k, v) for k, v in meta.items()])
                self.conn.commit()
            except BaseException:
                self.conn.rollback()        # no half-written transaction left for the next commit
                raise

    def _write_loop(self) -> None:
        while True:
            with self._cv:
                while not self._handoff:
                    if self._closing:
                        return
                    self._cv.wait()
                batches, self._handoff = self._handoff, []
                self._writing = True
            try:
                rows = [r for b in batches for r in b[0]]
                meta: dict[str, str] = {}
                for b in batches:
                    meta.update(b[2])           # in hand-off order: the newest value wins
                self._write(rows, [c for b in batches for c in b[1]], meta)
            except BaseException as e:      # reported by the next commit / read, on the owner's thread
                self._write_error = _WriteFailed(len(rows), e)
                with self._cv:              # CDRs and meta are not lost: the next commit tries them again
                    self._retry.append(([c for b in batches for c in b[1]], meta))
            finally:
                with self._cv:
                    self._writing = False
                    self._cv.notify_all()

    def _drain(self) -> None:
        """Wait for the writer threads; raise what they failed with."""
        if self.journal_writer is not None:
            err = self.journal_writer.wait()
            if err is not None:
                raise StoreError(f"journal write failed: {err}")
        if self._writer is not None:
            with self._cv:
                while self._handoff or self._writing:
                    self._cv.wait()
        if self._write_error is not None:
            e, self._write_error = self._write_error, None
            for cdrs, meta in self._retry:
                self._pending_cdrs[:0] = cdrs
                self._pending_meta = {**meta, **self._pending_meta}
            self._retry.clear()
            raise StoreError(str(e)) from e.error

    def last_seq(self) -> int:
        return self._last

    def oldest_seq(self) -> int | None:
        self.commit()
        oldest: int | None = self._query_one("SELECT MIN(seq) FROM journal WHERE node = ?", (self.node,))[0]
        return oldest

    def events_after(self, seq: int, limit: int = 1000) -> list[tuple[int, bytes]]:
        self.commit()
        seq, limit = int(seq), int(limit)
        out: list[tuple[int, bytes]] = []
        rows = self._query("SELECT seq, last, body FROM journal WHERE node = ? AND last > ? ORDER BY seq LIMIT ?",
                           (self.node, seq, limit))
        for first, last, body in rows:
            frames = [bytes(body)] if first == last else msgpack.unpackb(bytes(body))
            out += [(first + i, f) for i, f in enumerate(frames) if first + i > seq]
            if len(out) >= limit:
                break
        return out[:limit]

    def prune(self, *, keep_events: int | None = None, keep_seconds: float | None = None,
              now: float | None = None) -> int:
        self.commit()
        # whole rows go; the newest row always stays: it anchors last_seq across a restart
        with self._lock:
            return prune_chunks(self.conn, self.ph, keep_events=keep_events, keep_seconds=keep_seconds, now=now,
                                node=self.node)

    def write_cdr(self, cdr: dict[str, Any]) -> None:
        row = dict(cdr)
        row["merged"] = json.dumps(row.get("merged") or [])
        row["user_data"] = json.dumps(row.get("user_data") or {}, ensure_ascii=False, sort_keys=True)
        row.setdefault("recorded_at", time.time())
        self._pending_cdrs.append(tuple(row.get(c) for c in CDR_FIELDS))

    def cdrs(self, limit: int = 100) -> list[dict[str, Any]]:
        self.commit()
        rows = self._query(f"SELECT {', '.join(CDR_FIELDS)} FROM cdr ORDER BY ended DESC, call DESC LIMIT ?",
                           (int(limit),))
        out = []
        for r in reversed(rows):
            d = dict(zip(CDR_FIELDS, r, strict=True))
            d["merged"] = json.loads(d["merged"] or "[]")
            d["user_data"] = json.loads(d["user_data"] or "{}")
            out.append(d)
        return out

    def get_meta(self, key: str) -> str | None:
        if key in self._pending_meta:
            return self._pending_meta[key]
        self._drain()
        r = self._query_one("SELECT value FROM meta WHERE node = ? AND key = ?", (self.node, key))
        return None if r is None else str(r[0])

    def set_meta(self, key: str, value: str) -> None:
        # queued, not written here: cti-server sets the next call number every turn that starts a
        # call; a write per turn (and a wait for the journal) would hold up its loop
        if not isinstance(key, str):
            raise TypeError(f"meta key must be str, not {type(key).__name__}")
        self._pending_meta[key] = str(value)

    def close(self) -> None:
        try:
            self.commit()
        finally:
            with self._cv:
                self._closing = True
                self._cv.notify_all()
            if self._writer is not None:
                self._writer.join(5)
            self.maint.close()
            if self.journal_writer is not None:
                self.journal_writer.close()
            self.conn.close()


class _WriteFailed(Exception):
    """A background write failed: what it held, and why."""

    def __init__(self, events: int, error: BaseException) -> None:
        self.events, self.error = events, error
        what = "journal" if events else "CDR/meta"
        super().__init__(f"{what} write failed: {error}" + (
            f" ({events} events not journaled; CDRs and meta kept for the next commit)" if events else
            " (CDRs and meta kept for the next commit)"))


def _consecutive(rows: list[tuple[int, float, str, str, bytes]]) -> bool:
    """Are the rows' seqs one run n, n+1, ...? (what the bus produces; checked at C speed)."""
    first = rows[0][0]
    return rows[-1][0] - first == len(rows) - 1 and list(map(_seq_of, rows)) == list(range(first, first + len(rows)))


def _pages(rows: list[tuple[int, float, str, str, bytes]], page: int = PAGE
           ) -> Iterator[tuple[int, int, float, str, str, bytes]]:
    """Journal rows for queued events: runs of consecutive seqs, up to ``page`` events each."""
    if rows and _consecutive(rows):     # the bus's case: cut the run in slices
        for i in range(0, len(rows), page):
            yield _page(rows[i:i + page])
        return
    i = 0
    while i < len(rows):
        j = i + 1
        while j < len(rows) and j - i < page and rows[j][0] == rows[j - 1][0] + 1:
            j += 1
        yield _page(rows[i:j])
        i = j


def _page(run: list[tuple[int, float, str, str, bytes]]) -> tuple[int, int, float, str, str, bytes]:
    """One journal row for consecutive events: the frame itself, or a page of frames."""
    first, last = run[0], run[-1]
    if len(run) == 1:
        return (first[0], first[0], first[1], first[2], first[3], first[4])
    # time of the newest event, so age-based retention never drops a younger one
    return (first[0], last[0], last[1], first[2], "page", _pack_frames(list(map(_frame_of, run))))


_seq_of = operator.itemgetter(0)
_frame_of = operator.itemgetter(4)
_pack_frames = msgpack.Packer(use_bin_type=True).pack
