"""The message box: voicemail messages and received faxes, one row each, in SQLite.

Unified messaging keeps both kinds together: a row has an id, its kind (``voicemail`` or
``fax``), when, which call, who called, for whom (a queue, agent or mailbox), the file,
its status (``new`` -> ``handled``) and the kind's own figures as JSON (seconds and
format for a message; pages, rate, ECM and the T.30 result for a fax).

The table is the store's (migration 5, ``media_message``): with a SQLite store the message
box opens the server's database file (WAL; its own connection, one short transaction per
change, so a message is on disk and listed before its event is published). With a
PostgreSQL or in-memory store it keeps a SQLite file of its own
(``<media dir>/messages.sqlite``, the same table).
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time as _time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KINDS = ("voicemail", "fax")
STATUSES = ("new", "handled")


class MessageError(ValueError):
    """An unknown message, kind or status."""


@dataclass(frozen=True)
class Message:
    id: int
    kind: str
    time: float
    call: str
    caller: str
    box: str
    path: str
    status: str
    meta: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "time": self.time, "call": self.call, "caller": self.caller,
                "box": self.box, "path": self.path, "status": self.status, **{"meta": self.meta}}


class MessageStore:
    """Rows of :class:`Message` in ``path`` (":memory:" for tests)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=5.0)
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS media_message (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                         "kind TEXT NOT NULL, time REAL NOT NULL, call TEXT NOT NULL, caller TEXT NOT NULL, "
                         "box TEXT NOT NULL, path TEXT NOT NULL, status TEXT NOT NULL, meta TEXT NOT NULL)")
        self._db.execute("CREATE INDEX IF NOT EXISTS media_message_box ON media_message (kind, box, status)")

    def add(self, kind: str, *, call: str, caller: str = "", box: str = "", path: str = "",
            meta: dict[str, Any] | None = None, time: float | None = None) -> Message:
        if kind not in KINDS:
            raise MessageError(f"unknown message kind {kind!r}; known: {list(KINDS)}")
        t = _time.time() if time is None else float(time)
        m = json.dumps(meta or {}, ensure_ascii=False, sort_keys=True)
        with self._lock:
            cur = self._db.execute("INSERT INTO media_message (kind, time, call, caller, box, path, status, meta) "
                                   "VALUES (?, ?, ?, ?, ?, ?, 'new', ?)", (kind, t, call, caller, box, path, m))
            rid = int(cur.lastrowid or 0)
        return Message(rid, kind, t, call, caller, box, path, "new", dict(meta or {}))

    def get(self, msg_id: int) -> Message:
        with self._lock:
            row = self._db.execute("SELECT id, kind, time, call, caller, box, path, status, meta FROM media_message "
                                   "WHERE id = ?", (int(msg_id),)).fetchone()
        if row is None:
            raise MessageError(f"no message {msg_id}")
        return _row(row)

    def list(self, kind: str | None = None, *, box: str | None = None, status: str | None = None,
             limit: int = 100) -> list[Message]:
        where, args = [], []
        for col, v in (("kind", kind), ("box", box), ("status", status)):
            if v is not None:
                where.append(f"{col} = ?")
                args.append(v)
        sql = ("SELECT id, kind, time, call, caller, box, path, status, meta FROM media_message"
               + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC LIMIT ?")
        with self._lock:
            rows = self._db.execute(sql, (*args, max(1, min(int(limit), 10_000)))).fetchall()
        return [_row(r) for r in rows]

    def set_status(self, msg_id: int, status: str) -> Message:
        if status not in STATUSES:
            raise MessageError(f"unknown status {status!r}; known: {list(STATUSES)}")
        with self._lock:
            n = self._db.execute("UPDATE media_message SET status = ? WHERE id = ?", (status, int(msg_id))).rowcount
        if not n:
            raise MessageError(f"no message {msg_id}")
        return self.get(msg_id)

    def waiting(self, kind: str = "voicemail") -> dict[str, int]:
        """Unhandled messages per box (the snapshot's message-waiting state)."""
        with self._lock:
            rows = self._db.execute("SELECT box, COUNT(*) FROM media_message WHERE kind = ? AND status = 'new' "
                                    "GROUP BY box", (kind,)).fetchall()
        return {str(b): int(n) for b, n in rows}

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _row(r: tuple[Any, ...]) -> Message:
    return Message(int(r[0]), str(r[1]), float(r[2]), str(r[3]), str(r[4]), str(r[5]), str(r[6]), str(r[7]),
                   json.loads(r[8]))
