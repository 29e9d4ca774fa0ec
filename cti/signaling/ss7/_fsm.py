"""TableFSM with a bounded trace: links and circuits live for months, their traces must not grow."""
from __future__ import annotations

from typing import Any, Hashable

from cti.signaling.fsm import TableFSM

TRACE_KEEP = 64


class BoundedFSM(TableFSM):
    """Keeps the last :data:`TRACE_KEEP` transitions only."""

    def fire(self, event: Hashable, *args: Any, **kwargs: Any) -> Any:
        if len(self.trace) >= 2 * TRACE_KEEP:
            del self.trace[:-TRACE_KEEP]
        return super().fire(event, *args, **kwargs)
