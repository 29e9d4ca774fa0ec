"""TableFSM with a bounded trace: links and circuits live for months, their traces must not grow.
Same table semantics as :class:`cti.signaling.fsm.TableFSM` (exact row, then ``ANY``)."""
from __future__ import annotations

from typing import Any, Hashable

from cti.signaling.fsm import ANY, TableFSM, UnexpectedEvent

TRACE_KEEP = 64


class BoundedFSM(TableFSM):
    """Keeps the last :data:`TRACE_KEEP` transitions only."""

    def fire(self, event: Hashable, *args: Any, **kwargs: Any) -> Any:
        trace = self.trace
        if len(trace) >= 2 * TRACE_KEEP:
            del trace[:-TRACE_KEEP]
        table = self.table
        before = self.state
        tr = table.get((before, event)) or table.get((ANY, event))
        if tr is None:
            raise UnexpectedEvent(self.name, before, event)
        if tr.next_state is not None:
            self.state = tr.next_state
        trace.append((before, event, self.state))
        if tr.action is not None:
            return getattr(self.owner, tr.action)(*args, **kwargs)
        return None
