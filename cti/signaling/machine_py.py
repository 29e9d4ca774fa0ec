"""The running half of the one FSM engine: :class:`MachineCore`, one instance of a
:class:`~cti.signaling.engine.Table` acting on a context (a circuit, a link).

One source, two builds: this module runs as it is (the twin) and setup.py compiles it in
Cython's pure-Python mode with ``machine_c.pxd`` as ``cti.signaling.machine_c`` (as aiohttp
builds its WebSocket reader). Every stack fires events per message, so the row selection
and the timer bookkeeping below are on the per-message path of SS7, No.1 and the call model:
compiled, a transition costs a few dict operations. :class:`cti.signaling.engine.Machine`
is the public class (this core plus ``Generic``); read the engine's docstring for the
semantics.
"""
from __future__ import annotations

from collections import deque
from typing import Any
from collections.abc import Hashable, Mapping


class MachineCore:
    """One running instance of ``table`` acting on ``ctx``. Time is passed in."""

    __slots__ = ("table", "ctx", "state", "running", "values", "trace", "name", "_by_state", "_any", "_entry",
                 "_expiry")

    def __class_getitem__(cls, item: Any) -> Any:   # Machine[Ctx] in hints, like a Generic
        return cls

    def __init__(self, table: Any, ctx: Any, *, name: str | None = None, state: Any = None,
                 timer_values: Mapping[str, float] | None = None, trace: int = 0) -> None:
        self.table = table
        self.ctx = ctx
        self.name = name or table.name
        self.state = table.initial if state is None else state
        values = {n: s.default for n, s in table.timers.items()}
        for n, v in (timer_values or {}).items():
            if n not in table.timers:
                raise ValueError(f"unknown timer {n!r}; known: {', '.join(sorted(table.timers))}")
            values[n] = table.timers[n].check(float(v))
        self.values = values
        self.running = {}
        #: (now, from, event, to) of the last ``trace`` transitions; None when not tracing
        self.trace = deque(maxlen=trace) if trace else None
        fast = _FAST.get(id(table))
        if fast is None or fast[0] is not table:
            fast = _FAST[id(table)] = (table, *_compile(table))
        self._by_state = fast[1]
        self._any = fast[2]
        self._entry = dict(table.entry)
        self._expiry = dict(table.expiry)

    # -- events ---------------------------------------------------------------------------
    def _select(self, event: Hashable, message: Any) -> Any:
        """The row (as compiled by :func:`_compile`) that ``event`` selects, or None."""
        here: dict | None = self._by_state.get(self.state)
        rows: tuple | None = here.get(event) if here is not None else self._any.get(event)
        if rows is None:
            return None
        row: tuple
        for row in rows:
            guard = row[0]
            if guard is None or guard(self.ctx, message):
                return row
        return None

    def allowed(self, event: Hashable, message: Any = None) -> bool:
        return self._select(event, message) is not None

    def fire(self, event: Hashable, message: Any = None, now: Any = 0.0) -> Any:
        """Apply ``event``; raises :class:`~cti.signaling.engine.UnexpectedEvent` when no row
        accepts it. Returns the row applied."""
        row = self._select(event, message)
        if row is None:
            from .engine import UnexpectedEvent
            raise UnexpectedEvent(self.name, self.state, event)
        self._apply(row, event, message, now)
        return row[6]

    def fire_if(self, event: Hashable, message: Any = None, now: Any = 0.0) -> bool:
        """Apply ``event`` where a row accepts it; False (nothing done) otherwise."""
        row = self._select(event, message)
        if row is None:
            return False
        self._apply(row, event, message, now)
        return True

    def _apply(self, row: tuple, event: Hashable, message: Any, now: Any) -> int:
        running: dict = self.running
        t: str
        if running:
            for t in row[4]:          # the row's stop timers, and the state's entry timers
                running.pop(t, None)  # when it leaves the state (folded in by _compile)
        before = self.state
        nxt = row[1]
        if nxt is not None:
            if row[7]:                # an ANY row met in a state the table does not name
                for t in self._entry.get(before, ()):
                    running.pop(t, None)
            self.state = nxt
        start: tuple = row[3]
        if start:
            values: dict = self.values
            for t in start:
                running[t] = now + values[t]
        if self.trace is not None:
            self.trace.append((now, before, event, self.state))
        action = row[2]
        if action is not None:
            action(self.ctx, message, now)
        return 0

    # -- timers ---------------------------------------------------------------------------
    def deadline(self) -> float | None:
        """The earliest running timer's deadline, or None."""
        if not self.running:
            return None
        return min(self.running.values())

    def is_running(self, timer: str) -> bool:
        return timer in self.running

    def handle_timer(self, now: float) -> list:
        """Expire the timers due at ``now``, earliest first, firing each one's expiry event
        (with the timer's name as the message). Returns the names of the timers expired."""
        done: list = []
        running = self.running
        while running:
            name = min(running, key=running.__getitem__)
            if running[name] > now:
                break
            del running[name]
            done.append(name)
            ev = self._expiry.get(name)
            if ev is not None:
                self.fire(ev, name, now)
        return done

    def reset(self, state: Any = None) -> None:
        """Back to ``state`` (default: the initial state) with no timer running: for a circuit
        reset or a line fault, where the procedure itself is a row that leads here."""
        self.running.clear()
        self.state = self.table.initial if state is None else state


#: id(table) -> (table, compiled rows by state, compiled ANY rows): built once per table
_FAST: dict = {}


def _compile(table: Any) -> tuple:
    """The table's rows as tuples read by index on the per-message path:
    ``({state: {event: (row, ...)}}, {event: (row, ...)})`` for the states the table names and,
    apart, the ANY rows for a state it does not name. A row is ``(guard, next, action, start,
    stop, clause, row, dynamic)``: ``next`` None where the row stays (a row naming its own state
    stays too: entry timers do not restart); ``start``/``stop`` hold the row's timers with the
    entry timers of the state entered/left folded in (``dynamic``: left to the run, for ANY
    rows in an unnamed state). ANY rows are merged into every named state that has no row of
    its own for the event, so one lookup per state finds them."""
    entry = table.entry

    def one(r: Any, s: Any, dynamic: bool) -> tuple:
        nxt = None if r.next is None or r.next == s else r.next
        start, stop = tuple(r.start), tuple(r.stop)
        if nxt is not None and not dynamic:
            stop = stop + tuple(entry.get(s, ()))
            start = tuple(entry.get(nxt, ())) + start
        elif nxt is not None:
            start = tuple(entry.get(nxt, ())) + start
        return (r.guard, nxt, r.action, start, stop, r.clause, r, dynamic and nxt is not None)

    states = set(table.by_state) | {table.initial} | set(entry)
    states |= {r.next for r in table.rows if r.next is not None}
    by_state: dict = {}
    for s in states:
        evs = {e: rows for e, rows in table.any_state.items()}
        evs.update(table.by_state.get(s, {}))
        by_state[s] = {e: tuple(one(r, s, False) for r in rows) for e, rows in evs.items()}
    anys = {e: tuple(one(r, None, True) for r in rows) for e, rows in table.any_state.items()}
    return by_state, anys

