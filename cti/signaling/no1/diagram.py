"""State diagrams drawn from the transition tables (Mermaid), for docs/no1.md.

    python3 -m cti.signaling.no1.diagram      # prints the three diagrams
"""
from __future__ import annotations

import enum
from typing import Any, Mapping

from cti.signaling.fsm import ANY


def mermaid(table: Mapping[tuple[Any, str], tuple[str | None, Any]], initial: enum.Enum) -> str:
    """A Mermaid stateDiagram of ``table``: one arrow per (state, event) that changes state.

    Rows that stay in their state are left out (they are the tolerated or ignored inputs);
    rows keyed by ANY are drawn once from "any".
    """
    lines = ["stateDiagram-v2", f"    [*] --> {initial.name}"]
    seen = set()
    for (state, event), (_action, nxt) in table.items():
        if nxt is None:
            continue
        src = "any" if state == ANY else state.name
        if (src, nxt.name, event) in seen:
            continue
        seen.add((src, nxt.name, event))
        lines.append(f"    {src} --> {nxt.name}: {event}")
    return "\n".join(lines)


def all_diagrams() -> str:
    from .line import TABLE, LineState
    from .register import IncomingRegister, OutgoingRegister, RegState

    parts = [("Line (one circuit)", mermaid(TABLE, LineState.IDLE)),
             ("Outgoing register", mermaid(OutgoingRegister.TABLE, RegState.IDLE)),
             ("Incoming register", mermaid(IncomingRegister.TABLE, RegState.IDLE))]
    return "\n\n".join(f"### {title}\n\n```mermaid\n{body}\n```" for title, body in parts)


if __name__ == "__main__":  # pragma: no cover
    print(all_diagrams())
