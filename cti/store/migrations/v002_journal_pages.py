"""Version 2: journal pages: a row holds events seq..last (a one-event row: last = seq)."""
from __future__ import annotations

from typing import Any

NAME = "journal pages (column last)"


def up(cur: Any, d: Any) -> None:
    cur.execute("ALTER TABLE journal ADD COLUMN last BIGINT")
    cur.execute("UPDATE journal SET last = seq")
