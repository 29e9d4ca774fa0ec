"""The PRI tables as Markdown (docs/pri.md embeds them; tests/test_pri_docs.py keeps them equal).

    python3 -m cti.signaling.pri.diagram
"""
from __future__ import annotations

from cti.signaling.engine import Table

from .calltable import NETWORK_TABLE, USER_TABLE
from .link import LINK_TABLE
from .restart import RESTART_TABLE
from .timers import Q921_PARAMETERS, Q921_TIMERS, Q931_TIMERS
from .variants import variants_markdown

TABLES: dict[str, Table] = {"Q.921 data link (Annex B, TEI 0)": LINK_TABLE,
                            "Q.931 user side": USER_TABLE, "Q.931 network side": NETWORK_TABLE,
                            "Q.931 restart (5.5)": RESTART_TABLE}


def tables_markdown() -> str:
    out = ["**Timers and parameters**", "", "| name | default | range | clause | what |", "|---|---|---|---|---|"]
    for t in (*Q921_TIMERS.values(), *Q921_PARAMETERS.values(), *Q931_TIMERS.values()):
        out.append(f"| {t.name} | {t.default:g} | {t.low:g}..{t.high:g} | {t.clause} | {t.description} |")
    out += ["", "**Variants**", "", variants_markdown(), ""]
    for title, table in TABLES.items():
        out += [f"**{title}**", "", "| state | event | next | action | clause |", "|---|---|---|---|---|"]
        out += [f"| {s} | {e} | {n} | {a} | {c} |" for s, e, n, a, c in table.rows_for_docs()]
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(tables_markdown())
