"""Version 4: the CDR table has every column of version 1. ``CREATE TABLE IF NOT EXISTS`` never
added a column to an existing table, so a database made by a build whose table lacked one
failed every CDR write (reported as "journal write failed") and lost the records; the columns
it lacks are added here (empty for the old rows)."""
from __future__ import annotations

from typing import Any

from .v001_initial import CDR_COLUMNS, cdr_type

NAME = "complete cdr columns"


def up(cur: Any, d: Any) -> None:
    cur.execute("SELECT * FROM cdr LIMIT 0")
    have = {str(c[0]).lower() for c in cur.description or ()}
    for name, kind in CDR_COLUMNS:
        if name not in have:
            if "PRIMARY KEY" in kind:
                raise RuntimeError(f"the cdr table has no column {name!r} (its key): it cannot be repaired in place")
            cur.execute(f"ALTER TABLE cdr ADD COLUMN {name} {cdr_type(kind, d)}")
