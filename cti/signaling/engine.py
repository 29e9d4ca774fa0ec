"""The one table-driven state machine engine of every stack (h11's "Rule 1").

Everything that changes a machine's state lives in its :class:`Table`:

* **rows** ``Row(state, event, next, action, guard=..., start=..., stop=..., clause=...)``;
  several rows for one ``(state, event)`` are tried in order and the first whose guard
  accepts the message wins (glare is a guarded row, not a rename inside an action);
  ``ANY`` as the state matches where no row of the current state does;
* **timers** as data (:class:`~cti.signaling.timers.TimerSpec`, each with its clause): a
  state's *entry timers* start when the machine enters it and stop when it leaves; a row may
  also start or stop timers; a timer that expires fires the event the table names for it
  (``expiry``), so a timeout is a row like any other. Actions never touch timers;
* **actions** are plain callables ``action(ctx, message, now)`` — typically unbound methods of
  the context class (``Circuit.send_rlc``) — so the table names the code it runs and a test
  can check every one exists (:meth:`Table.validate`).

States are enum members, events are enum members or classes (a decoded message's type);
nothing is looked up by string at fire time. A :class:`Machine` is one running instance
(one circuit, one link); it keeps its own bounded trace for golden transcripts.

Order of one transition: select the row (guards), stop the row's ``stop`` timers, leave the
state (its entry timers stop) if the state changes, enter the new state (its entry timers
start), start the row's ``start`` timers, call the action (it sees the new state), then fire
the row's follow-on event ``then``, if any.

Machines of one stack may share a :class:`TimerQueue` (a heap of deadlines) so that the stack
asks one object for its next deadline instead of every machine. How the engine dispatches
(tables compiled to int-indexed arrays) is told in :mod:`cti.signaling.machine_py`.
"""
from __future__ import annotations

import enum
import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from collections.abc import Callable, Hashable, Iterable, Mapping

from _boardcore import _select

from .errors import LocalProtocolError, RemoteProtocolError
from .timers import TimerSpec

C = TypeVar("C")  #: the context an action acts on (a circuit, a link)


class _Any(enum.Enum):
    ANY = "*"


#: In a row's state position: applies in every state with no row of its own for the event.
ANY = _Any.ANY

Action = Callable[[Any, Any, float], Any]
Guard = Callable[[Any, Any], bool]


@dataclass(frozen=True, slots=True)
class Row:
    """One transition: in ``state`` on ``event`` (if ``guard(ctx, message)``) go to ``next``
    (None: stay) and run ``action(ctx, message, now)``."""

    state: Any
    event: Hashable
    next: Any = None
    action: Action | None = None
    guard: Guard | None = None
    start: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()
    clause: str = ""
    #: a follow-on event the engine fires (same message, same time) after the action: a
    #: transient state left at once is data, not a ``fire`` from inside an action
    then: Hashable | None = None


class UnexpectedEvent(RemoteProtocolError):
    """An event arrived in a state whose table has no row (or no accepting guard) for it."""

    def __init__(self, machine: str, state: Any, event: Hashable) -> None:
        super().__init__(f"{machine}: event {_name(event)} not allowed in state {_name(state)}")
        self.machine = machine
        self.state = state
        self.event = event


class TableError(LocalProtocolError):
    """A table is inconsistent (raised by :meth:`Table.validate` callers and at build time)."""


def _name(x: Any) -> str:
    if isinstance(x, enum.Enum):
        return x.name
    if isinstance(x, type):
        return x.__name__
    return repr(x)


@dataclass(frozen=True)
class Table:
    """A whole state machine as data. Build once per protocol (module level), share by all
    machines. ``entry`` maps a state to the timers running while in it; ``expiry`` maps a timer
    name to the event fired when it expires; ``final`` states need no way out."""

    name: str
    initial: Any
    rows: tuple[Row, ...]
    timers: Mapping[str, TimerSpec] = field(default_factory=dict)
    entry: Mapping[Any, tuple[str, ...]] = field(default_factory=dict)
    expiry: Mapping[str, Hashable] = field(default_factory=dict)
    final: frozenset[Any] = frozenset()
    by_state: dict[Any, dict[Hashable, tuple[Row, ...]]] = field(init=False, repr=False, compare=False)
    any_state: dict[Hashable, tuple[Row, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_state: dict[Any, dict[Hashable, list[Row]]] = {}
        for row in self.rows:
            by_state.setdefault(row.state, {}).setdefault(row.event, []).append(row)
        anys = by_state.pop(ANY, {})
        object.__setattr__(self, "by_state",
                           {s: {e: tuple(r) for e, r in evs.items()} for s, evs in by_state.items()})
        object.__setattr__(self, "any_state", {e: tuple(r) for e, r in anys.items()})
        problems = [p for p in self.validate() if p.startswith("unknown timer")]
        if problems:
            raise TableError(f"{self.name}: " + "; ".join(problems))

    # -- inspection (docs, tests) ---------------------------------------------------------
    def states(self) -> list[Any]:
        """Every state the table names, initial first."""
        seen: dict[Any, None] = {self.initial: None}
        for row in self.rows:
            if row.state is not ANY:
                seen.setdefault(row.state, None)
            if row.next is not None:
                seen.setdefault(row.next, None)
        return list(seen)

    def reachable(self) -> set[Any]:
        """States reachable from the initial state through the rows."""
        targets_any = {r.next for r in self.any_state_rows() if r.next is not None}
        todo, seen = [self.initial], {self.initial}
        while todo:
            s = todo.pop()
            nxt = {r.next for evs in self.by_state.get(s, {}).values() for r in evs if r.next is not None}
            for t in nxt | targets_any:
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
        return seen

    def any_state_rows(self) -> list[Row]:
        return [r for rows in self.any_state.values() for r in rows]

    def validate(self) -> list[str]:
        """Problems with the table: actions that are not callables taking ``(ctx, message,
        now)``, timers not declared, expiry events no row handles, reachable states with no
        way out. An empty list means the table is whole."""
        problems: list[str] = []
        for row in self.rows:
            for t in (*row.start, *row.stop):
                if t not in self.timers:
                    problems.append(f"unknown timer {t!r} in row {_name(row.state)}/{_name(row.event)}")
            if row.action is not None:
                problems.extend(_check_callable(row.action, 3, row))
            if row.guard is not None:
                problems.extend(_check_callable(row.guard, 2, row))
            if row.then is not None and not any(r.event == row.then for r in self.rows):
                problems.append(f"follow-on event {_name(row.then)} of row {_name(row.state)}/{_name(row.event)} "
                                "has no row")
        for state, names in self.entry.items():
            problems.extend(f"unknown timer {t!r} on entry to {_name(state)}" for t in names if t not in self.timers)
        for t, ev in self.expiry.items():
            if t not in self.timers:
                problems.append(f"unknown timer {t!r} in expiry")
            elif not any(r.event == ev for r in self.rows):
                problems.append(f"expiry event {_name(ev)} of {t} has no row")
        leaving_any = any(r.next is not None for r in self.any_state_rows())
        for s in self.reachable():
            if s in self.final or leaving_any:
                continue
            if not any(r.next is not None and r.next != s
                       for rows in self.by_state.get(s, {}).values() for r in rows):
                problems.append(f"state {_name(s)} has no way out")
        return problems

    def rows_for_docs(self) -> list[tuple[str, str, str, str, str]]:
        """(state, event, next, action, clause) as text, for tables generated into the docs."""
        return [(_name(r.state) if r.state is not ANY else "any", _name(r.event),
                 _name(r.next) if r.next is not None else "-",
                 getattr(r.action, "__name__", "-") if r.action else "-", r.clause) for r in self.rows]


def _check_callable(fn: Any, nargs: int, row: Row) -> list[str]:
    where = f"row {_name(row.state)}/{_name(row.event)}"
    if not callable(fn):
        return [f"{where}: {fn!r} is not callable"]
    try:
        inspect.signature(fn).bind(*([None] * nargs))
    except TypeError:
        return [f"{where}: {getattr(fn, '__qualname__', fn)!r} does not take {nargs} arguments"]
    except ValueError:  # builtins / compiled callables without a signature
        pass
    return []


if TYPE_CHECKING:
    class TimerQueue:
        """(for the type checker: the run-time class follows)"""

        def __len__(self) -> int: ...
        def push(self, machine: Machine[Any], name: str, at: float) -> None: ...
        def deadline(self) -> float | None: ...
        def handle_timer(self, now: float) -> int: ...

    from .machine_py import Actions, bind_actions

    class Machine(Generic[C]):
        """(for the type checker: the run-time class follows)"""

        table: Table
        ctx: C
        state: Any
        name: str
        running: Mapping[str, float]   # live, read-only: the engine starts and stops timers
        values: Mapping[str, float]
        trace: Any     # deque[tuple[float, Any, Hashable, Any]] | None, or a sink with append()

        def __init__(self, table: Table, ctx: C, *, name: str | None = None, state: Any = None,
                     timer_values: Mapping[str, float] | None = None, trace: int = 0,
                     queue: TimerQueue | None = None) -> None: ...
        def allowed(self, event: Hashable, message: Any = None) -> bool: ...
        def fire(self, event: Hashable, message: Any = None, now: float = 0.0) -> Row: ...
        def fire_if(self, event: Hashable, message: Any = None, now: float = 0.0) -> bool: ...
        def deadline(self) -> float | None: ...
        def is_running(self, timer: str) -> bool: ...
        def handle_timer(self, now: float) -> list[str]: ...
        def reset(self, state: Any = None) -> None: ...
        def release(self) -> None: ...
else:
    _impl = _select.load("cti.signaling.machine")
    #: One running instance of a :class:`Table` acting on ``ctx``. Time is passed in.
    #: ``Machine(table, ctx, *, name=None, state=None, timer_values=None, trace=0, queue=None)``;
    #: attributes ``state``, ``running`` (timer -> deadline), ``values`` (timer -> seconds,
    #: read-only, shared by machines with the same overrides), ``trace`` (the last ``trace``
    #: transitions as ``(now, from, event, to)``, or None; assign a sink with ``append`` to
    #: record elsewhere); methods ``fire``, ``fire_if``, ``allowed``, ``deadline``,
    #: ``is_running``, ``handle_timer``, ``reset``, ``release``. The class is
    #: :class:`cti.signaling.machine_py.MachineCore`, compiled as ``machine_c`` when built
    #: (``BOARDCORE_NO_EXTENSIONS=1`` runs it as Python); ``Machine[Ctx]`` works for hints.
    Machine = _impl.MachineCore
    #: The running timers of many machines in one heap (``Machine(..., queue=q)``):
    #: ``q.deadline()``, ``q.handle_timer(now)``; a stopped timer costs O(1).
    TimerQueue = _impl.TimerQueue
    #: Base of a compiled context class whose actions the compiled engine calls by number
    #: (:class:`cti.signaling.machine_py.Actions`), and the binding of a table to it.
    Actions = _impl.Actions
    bind_actions = _impl.bind_actions


def rows(state: Any, *pairs: tuple[Any, ...], clause: str = "") -> list[Row]:
    """Shorthand for many rows of one state: ``rows(S.IDLE, (E.SEIZE, S.SEIZED, act), ...)``;
    each tuple is ``(event, next, action[, guard])``."""
    out = []
    for p in pairs:
        event, nxt, action, *rest = p
        out.append(Row(state, event, nxt, action, rest[0] if rest else None, clause=clause))
    return out


def events_of(table: Table) -> set[Hashable]:
    return {r.event for r in table.rows}


def check_tables(tables: Iterable[Table]) -> dict[str, list[str]]:
    """``{table name: problems}`` for every table with a problem (a test asserts it is empty)."""
    return {t.name: p for t in tables if (p := t.validate())}
