"""Version 6: the CDR keeps the call's user data (the CRM's map, JSON) and its route point.

The call model puts them in every CDR (``user_data``: what AttachUserData / UpdateUserData and
the IVR left on the call; ``route_device``: the route point an ACD call came in on); the
columns are added empty for the records written before."""
from __future__ import annotations

from typing import Any

NAME = "cdr user data and route point"

#: the CDR columns this version adds
CDR_COLUMNS = (("route_device", "TEXT"), ("user_data", "TEXT"))


def up(cur: Any, d: Any) -> None:
    cur.execute("SELECT * FROM cdr LIMIT 0")
    have = {str(c[0]).lower() for c in cur.description or ()}
    for name, kind in CDR_COLUMNS:
        if name not in have:
            cur.execute(f"ALTER TABLE cdr ADD COLUMN {name} {kind}")
