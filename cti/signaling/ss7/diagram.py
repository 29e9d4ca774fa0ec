"""The SS7 transition tables as Markdown (docs/ss7.md embeds them; a test keeps them equal).

    python3 -m cti.signaling.ss7.diagram
"""
from __future__ import annotations

from cti.signaling.engine import Table

from .isup.control_py import CALL_TABLE
from .isup.supervision import SUPERVISION_TABLE
from .mtp2.link import IAC_TABLE, LSC_TABLE
from .mtp3.linkset import LINK_TABLE

TABLES: dict[str, Table] = {"MTP2 link state control (Q.703 clause 12, Figure 8)": LSC_TABLE,
                            "MTP2 initial alignment control (Q.703 clause 7.3, Figure 9)": IAC_TABLE,
                            "MTP3 link management per link (Q.704 clauses 5, 6; Q.707 2.2)": LINK_TABLE,
                            "ISUP call control per circuit (Q.764 clause 2)": CALL_TABLE,
                            "ISUP circuit supervision per circuit (Q.764 2.8, 2.9.3, 2.12)": SUPERVISION_TABLE}


def _timers(table: Table) -> str:
    entry = "; ".join(f"{getattr(s, 'value', s)}: {', '.join(ts)}" for s, ts in table.entry.items())
    return f"Entry timers (the engine starts them on entry, stops them on exit): {entry or 'none'}."


def tables_markdown() -> str:
    out = []
    for title, table in TABLES.items():
        out += [f"**{title}**", "", _timers(table), "",
                "| state | event | next | action | clause |", "|---|---|---|---|---|"]
        for row in table.rows_for_docs():
            out.append("| " + " | ".join(x or "-" for x in row) + " |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(tables_markdown())
