"""Version 5: the media message box (voicemail messages and received faxes, cti/voicemail/messages.py):
one row per message with its kind, call, caller, box, file, status and the kind's figures (JSON)."""
from __future__ import annotations

from typing import Any

NAME = "media message box"


def up(cur: Any, d: Any) -> None:
    key = "INTEGER PRIMARY KEY AUTOINCREMENT" if d.name == "sqlite" else "BIGSERIAL PRIMARY KEY"
    cur.execute(f"CREATE TABLE IF NOT EXISTS media_message (id {key}, kind TEXT NOT NULL, time {d.real} NOT NULL, "
                "call TEXT NOT NULL, caller TEXT NOT NULL, box TEXT NOT NULL, path TEXT NOT NULL, "
                "status TEXT NOT NULL, meta TEXT NOT NULL)")
    cur.execute("CREATE INDEX IF NOT EXISTS media_message_box ON media_message (kind, box, status)")
