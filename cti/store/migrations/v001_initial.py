"""Version 1: the journal (one event per row), CDRs and meta, as the first release made them."""
from __future__ import annotations

from typing import Any

NAME = "journal, cdr and meta tables"

#: the CDR columns of version 1 (frozen here: later versions add theirs in their own files)
CDR_COLUMNS = (
    ("call", "TEXT PRIMARY KEY"), ("direction", "TEXT"), ("calling", "TEXT"), ("called", "TEXT"),
    ("device", "TEXT"), ("span", "INTEGER"), ("ts", "INTEGER"), ("signalling", "TEXT"),
    ("started", "REAL"), ("answered", "REAL"), ("ended", "REAL"), ("talk_seconds", "REAL"),
    ("cause", "INTEGER"), ("outcome", "TEXT"), ("merged_into", "TEXT"), ("merged", "TEXT"),
    ("recorded_at", "REAL"),
)


def cdr_type(kind: str, d: Any) -> str:
    return kind.replace("REAL", d.real)


def up(cur: Any, d: Any) -> None:
    cur.execute(f"CREATE TABLE IF NOT EXISTS journal (seq BIGINT PRIMARY KEY, time {d.real} NOT NULL, "
                f"topic TEXT NOT NULL, type TEXT NOT NULL, body {d.blob} NOT NULL)")
    cur.execute("CREATE INDEX IF NOT EXISTS journal_time ON journal (time)")
    cols = ", ".join(f"{c} {cdr_type(t, d)}" for c, t in CDR_COLUMNS)
    cur.execute(f"CREATE TABLE IF NOT EXISTS cdr ({cols})")
    cur.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
