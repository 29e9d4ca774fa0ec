"""State diagrams drawn from the transition tables (Mermaid), for docs/no1.md.

    python3 -m cti.signaling.no1.diagram      # prints the three diagrams
"""
from __future__ import annotations

from cti.signaling.engine import ANY, Table


def mermaid(table: Table) -> str:
    """A Mermaid stateDiagram of ``table``: one arrow per (state, event, next) that changes state.

    Rows that stay in their state are left out (they are the tolerated or ignored inputs);
    rows keyed by ANY are drawn once from "any"; guarded rows to the same state are one arrow.
    """
    lines = ["stateDiagram-v2", f"    [*] --> {table.initial.name}"]
    seen = set()
    for row in table.rows:
        if row.next is None or row.next == row.state:
            continue
        src = "any" if row.state is ANY else row.state.name
        event = getattr(row.event, "name", str(row.event))
        key = (src, row.next.name, event)
        if key in seen:
            continue
        seen.add(key)
        lines.append(f"    {src} --> {row.next.name}: {event}")
    return "\n".join(lines)


def all_diagrams() -> str:
    from .line import TABLE
    from .register import IN_TABLE, OUT_TABLE

    parts = [("Line (one circuit)", mermaid(TABLE)),
             ("Outgoing register", mermaid(OUT_TABLE)),
             ("Incoming register", mermaid(IN_TABLE))]
    return "\n\n".join(f"### {title}\n\n```mermaid\n{body}\n```" for title, body in parts)


if __name__ == "__main__":  # pragma: no cover
    print(all_diagrams())
