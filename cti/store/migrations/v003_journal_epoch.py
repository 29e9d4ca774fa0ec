"""Version 3: the journal's epoch, an id made once with the journal (meta ``journal.epoch``):
every event and reply carries it, so a client sees when the journal was lost or replaced."""
from __future__ import annotations

import uuid
from typing import Any

NAME = "journal epoch"
KEY = "journal.epoch"


def new_epoch() -> str:
    """A fresh epoch: 16 hex digits (64 random bits)."""
    return uuid.uuid4().hex[:16]


def up(cur: Any, d: Any) -> None:
    cur.execute(f"INSERT INTO meta (key, value) VALUES ({d.ph}, {d.ph}) ON CONFLICT (key) DO NOTHING",
                (KEY, new_epoch()))
