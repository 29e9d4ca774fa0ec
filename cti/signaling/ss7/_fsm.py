"""TableFSM for long-lived machines (links, circuits): same table semantics as
:class:`cti.signaling.fsm.TableFSM` (exact row, then ``ANY``), compiled once per machine into
per-state dicts of bound actions, and a trace only when asked for (bounded: links and
circuits live for months, their traces must not grow)."""
from __future__ import annotations

from typing import Any, Callable, Hashable

from cti.signaling.fsm import ANY, TableFSM, UnexpectedEvent

TRACE_KEEP = 64

_Row = tuple["Callable[..., Any] | None", Any]   # (bound action or None, next state or None)


class BoundedFSM(TableFSM):
    """``last_from`` / ``last_event`` name the transition being applied (actions read them);
    with ``tracing`` on, :attr:`trace` keeps the last :data:`TRACE_KEEP` transitions."""

    def __init__(self, name: str, table: Any, initial: Any, owner: Any, *, tracing: bool = False) -> None:
        super().__init__(name, table, initial, owner)
        self.tracing = tracing
        self.last_from: Any = initial
        self.last_event: Hashable = None
        self._any: dict[Hashable, _Row] = {}
        self._by_state: dict[Any, dict[Hashable, _Row]] = {}
        for (state, event), tr in self.table.items():
            row = (getattr(owner, tr.action) if tr.action is not None else None, tr.next_state)
            if state == ANY:
                self._any[event] = row
            else:
                self._by_state.setdefault(state, {})[event] = row

    def _row(self, event: Hashable) -> _Row | None:
        here = self._by_state.get(self.state)
        row = here.get(event) if here is not None else None
        return row if row is not None else self._any.get(event)

    def allowed(self, event: Hashable) -> bool:
        return self._row(event) is not None

    def fire(self, event: Hashable, *args: Any, **kwargs: Any) -> Any:
        """Apply ``event``; raises UnexpectedEvent when the table has no row."""
        row = self._row(event)
        if row is None:
            raise UnexpectedEvent(self.name, self.state, event)
        return self._apply(row, event, args, kwargs)

    def fire_if(self, event: Hashable, *args: Any) -> bool:
        """Apply ``event`` when the table has a row for it; False (nothing done) otherwise."""
        here = self._by_state.get(self.state)
        row = here.get(event) if here is not None else None
        if row is None:
            row = self._any.get(event)
            if row is None:
                return False
        action, nxt = row
        before = self.state
        if nxt is not None:
            self.state = nxt
        self.last_from, self.last_event = before, event
        if self.tracing:
            self._trace(before, event)
        if action is not None:
            action(*args)
        return True

    def _apply(self, row: _Row, event: Hashable, args: tuple, kwargs: dict) -> Any:
        action, nxt = row
        before = self.state
        if nxt is not None:
            self.state = nxt
        self.last_from, self.last_event = before, event
        if self.tracing:
            self._trace(before, event)
        if action is not None:
            return action(*args, **kwargs)
        return None

    def _trace(self, before: Any, event: Hashable) -> None:
        trace = self.trace
        if len(trace) >= 2 * TRACE_KEEP:
            del trace[:-TRACE_KEEP]
        trace.append((before, event, self.state))
