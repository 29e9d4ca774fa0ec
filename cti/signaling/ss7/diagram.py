"""The SS7 transition tables as Markdown (docs/ss7.md embeds them; a test keeps them equal).

    python3 -m cti.signaling.ss7.diagram
"""
from __future__ import annotations

from typing import Any

from .isup.call import CALL_TABLE
from .mtp2.link import IAC_TABLE, LSC_TABLE

TABLES = {"MTP2 link state control (Q.703 clause 12, Figure 8)": LSC_TABLE,
          "MTP2 initial alignment control (Q.703 clause 7.3, Figure 9)": IAC_TABLE,
          "ISUP call control per circuit (Q.764 clause 2)": CALL_TABLE}


def _name(x: Any) -> str:
    return "(any)" if x == "*" else "(same)" if x is None else getattr(x, "value", str(x))


def tables_markdown() -> str:
    out = []
    for title, table in TABLES.items():
        out += [f"**{title}**", "", "| state | event | action | next |", "|---|---|---|---|"]
        for (state, event), (action, nxt) in table.items():
            out.append(f"| {_name(state)} | {event} | {action or '-'} | {_name(nxt)} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(tables_markdown())
