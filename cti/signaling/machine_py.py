"""The running half of the one FSM engine: :class:`MachineCore`, one instance of a
:class:`~cti.signaling.engine.Table` acting on a context (a circuit, a link), the table
compiled for it (:class:`Compiled`) and the per-stack deadline queue (:class:`TimerQueue`).

One source, two builds: this module runs as it is (the twin) and setup.py compiles it in
Cython's pure-Python mode with ``machine_c.pxd`` as ``cti.signaling.machine_c`` (as aiohttp
builds its WebSocket reader). Every stack fires events per message, so this is on the
per-message path of SS7, PRI, No.1 and the call model, and it is written by hand here rather
than taken from a state machine library (transitions, python-statemachine) because those
dispatch through dicts of strings and callbacks per event, ten times the cost.

How a transition is dispatched: a table is compiled once (:func:`compiled`, cached per
table) into int-indexed arrays: states and events get indices, ``cells[state * n_events +
event]`` holds the first :class:`CompiledRow` for that pair (ANY rows folded into every state
with no row of its own; guarded alternatives chained by ``alt``), each row carrying the index
and object of its next state and its start/stop timers with the entry timers of the states it
leaves and enters folded in. An event object is mapped to its index once per ``fire``: in the
compiled build by its address in an open-addressing table of the table's own event objects (no
``__hash__`` call, no allocation), falling back to an equality lookup for an equal but
different object (an ``int`` for an ``IntEnum`` event). A machine holds its state as an index
(and as the object, for readers), shares the compiled arrays and, for equal timer overrides,
one timer-value array with every other machine of the table, so creating one per call is
cheap. Running timers stay a dict ``name -> deadline`` (public); a machine given a
:class:`TimerQueue` also pushes each start there, so a stack with many machines asks one heap
for its next deadline instead of every machine. Traces are a ring preallocated by the
engine. :class:`cti.signaling.engine.Machine` is the public class; read the engine's
docstring for the semantics.
"""
from __future__ import annotations

import heapq
from collections import deque
from types import MappingProxyType
from typing import Any
from collections.abc import Hashable, Mapping

import cython

#: slots of a compiled table's address map (a power of two; at most half of them are used)
_SLOTS = 512
_MASK = 511


class Actions:
    """Base of a compiled context class (a ``cdef class``) whose actions and guards the
    compiled engine calls without a Python call. The subclass names them in ``ACTIONS`` (a
    tuple of method names: the index of a name is its number) and implements ``dispatch(index,
    message, now)`` (run action number ``index``) and ``check(index, message)`` (ask guard
    number ``index``) as C methods that switch to its methods; :func:`bind_actions` gives each
    row of a table its action's and guard's number. The table still names the methods (they
    stay plain callables: the twin and the docs use them so); only the compiled engine, and only
    for a context of exactly the bound class, takes the numbered path."""

    __slots__ = ()
    ACTIONS = ()  # type: tuple[str, ...]

    def dispatch(self, index: Any, message: Any, now: Any) -> Any:
        """Run action number ``index`` by its name (a subclass switches to its methods in C)."""
        getattr(self, type(self).ACTIONS[index])(message, now)
        return 0

    def check(self, index: Any, message: Any) -> Any:
        """Ask guard number ``index`` by its name (a subclass switches to its methods in C)."""
        return 1 if getattr(self, type(self).ACTIONS[index])(message) else 0


class CompiledRow:
    """One row as the machine runs it: ``guard``, ``action``, ``nxt`` (index of the next
    state, -1: stay) and ``state`` (its object), ``stop_ix``/``start_ix`` (indices of the timers
    stopped and started, entry timers folded in), ``then`` (a follow-on event or None), ``row``
    (the table's :class:`~cti.signaling.engine.Row`), ``alt`` (the next row to try when the
    guard refuses), ``aix``/``gix`` (the action's and the guard's number in the context class
    bound by :func:`bind_actions`, -1 none)."""

    __slots__ = ("guard", "action", "nxt", "state", "stop_ix", "start_ix", "then", "row", "alt", "aix", "gix")

    def __init__(self, guard: Any, action: Any, nxt: Any, state: Any, stop_ix: tuple, start_ix: tuple,
                 then: Any, row: Any) -> None:
        self.guard = guard
        self.action = action
        self.nxt = nxt
        self.state = state
        self.stop_ix = stop_ix
        self.start_ix = start_ix
        self.then = then
        self.row = row
        self.alt = None
        self.aix = -1
        self.gix = -1


class Compiled:
    """A :class:`~cti.signaling.engine.Table` as int-indexed arrays, shared by every machine
    of the table (built once by :func:`compiled`)."""

    __slots__ = ("table", "states", "state_ix", "events", "event_ix", "nev", "cells", "tnames", "tix", "expiry",
                 "defaults", "_values", "_slotk", "_slotv", "dtype", "numbers")

    def __init__(self, table: Any) -> None:
        self.table = table
        self.tnames = list(table.timers)
        self.tix = {n: i for i, n in enumerate(self.tnames)}
        self.defaults = [float(s.default) for s in table.timers.values()]
        self.expiry = [table.expiry.get(n) for n in self.tnames]
        #: timer overrides (as items) -> (values as a list by timer index, read-only mapping)
        self._values = {(): (self.defaults, MappingProxyType({n: s.default for n, s in table.timers.items()}))}
        states: list = [table.initial]
        seen = {table.initial}
        for s in (*table.by_state, *table.entry, *(r.next for r in table.rows if r.next is not None)):
            if s not in seen:
                seen.add(s)
                states.append(s)
        events: list = []
        eseen: set = set()
        for r in table.rows:
            if r.event not in eseen:
                eseen.add(r.event)
                events.append(r.event)
        self.states = []
        self.state_ix = {}
        self.events = events
        self.event_ix = {e: i for i, e in enumerate(events)}
        self.nev = len(events)
        self.cells = []
        #: the context class bound by :func:`bind_actions` and its callables -> their numbers
        self.dtype = None
        self.numbers = None
        if cython.compiled and 2 * len(events) <= _SLOTS:
            for i, e in enumerate(events):
                self._put(e, i)
        for s in states:
            self._add_state(s)

    def _put(self, event: Any, index: Any) -> Any:
        if cython.compiled:
            p = cython.cast(cython.Py_ssize_t, cython.cast(cython.p_void, event))
            h = (p >> 4) & _MASK
            while self._slotk[h] != 0:
                h = (h + 1) & _MASK
            self._slotk[h] = p
            self._slotv[h] = index
        return 0

    def _add_state(self, s: Any) -> Any:
        """Give state ``s`` an index and its row of cells (a state the table does not name gets
        the ANY rows only; added on first sight, shared by all machines)."""
        si = len(self.states)
        self.states.append(s)
        self.state_ix[s] = si
        table = self.table
        entry = table.entry
        tix = self.tix
        evs = dict(table.any_state)
        evs.update(table.by_state.get(s, {}))
        cells: list = [None] * self.nev
        for e, rows in evs.items():
            first = last = None
            for r in rows:
                nxt = None if r.next is None or r.next == s else r.next
                start, stop = tuple(r.start), tuple(r.stop)
                if nxt is not None:
                    more = [t for t in entry.get(s, ()) if t not in stop]
                    stop = stop + tuple(more)
                    start = tuple(entry.get(nxt, ())) + start
                ni = -1
                if nxt is not None:
                    ni = self.state_ix.get(nxt, -1)
                    if ni < 0:           # a state met first as a row's target: indexed at once
                        ni = self._add_state(nxt)
                c = CompiledRow(r.guard, r.action, ni, nxt, tuple([tix[t] for t in stop]),
                                tuple([tix[t] for t in start]), getattr(r, "then", None), r)
                if self.numbers is not None:
                    self._number(c)
                if first is None:
                    first = c
                else:
                    last.alt = c
                last = c
            cells[self.event_ix[e]] = first
        # _add_state may have run for a target while this state's cells were built
        base = si * self.nev
        if len(self.cells) < base + self.nev:
            self.cells.extend([None] * (base + self.nev - len(self.cells)))
        self.cells[base:base + self.nev] = cells
        return si

    def _number(self, c: CompiledRow) -> Any:
        """Give row ``c`` its action's and guard's numbers in the bound class (-1 none)."""
        numbers = self.numbers
        c.aix = numbers.get(c.action, -1) if c.action is not None else -1
        c.gix = numbers.get(c.guard, -1) if c.guard is not None else -1
        return 0

    def bind(self, cls: Any) -> Any:
        """Number the rows' actions and guards after ``cls.ACTIONS`` (see :func:`bind_actions`)."""
        numbers = {}
        for i, name in enumerate(cls.ACTIONS):
            numbers[getattr(cls, name)] = i
        self.numbers = numbers
        self.dtype = cls
        for c in self.cells:
            while c is not None:
                self._number(c)
                c = c.alt
        return 0

    def state_index(self, state: Any) -> Any:
        si = self.state_ix.get(state)
        if si is None:
            si = self._add_state(state)
        return si

    def event_index(self, event: Any) -> Any:
        """The index of ``event`` in this table, -1 when no row names it."""
        if cython.compiled:
            p = cython.cast(cython.Py_ssize_t, cython.cast(cython.p_void, event))
            h = (p >> 4) & _MASK
            k = self._slotk[h]
            while k != 0:
                if k == p:
                    return self._slotv[h]
                h = (h + 1) & _MASK
                k = self._slotk[h]
        ei = self.event_ix.get(event)
        return -1 if ei is None else ei

    def values_for(self, overrides: Mapping[str, float] | None) -> tuple:
        """(timer values by index, read-only name -> value mapping) for these overrides, checked
        against each timer's range and shared by every machine given equal overrides."""
        key = tuple(overrides.items()) if overrides else ()
        hit = self._values.get(key)
        if hit is not None:
            return hit
        timers = self.table.timers
        values = {n: s.default for n, s in timers.items()}
        for n, v in key:
            if n not in timers:
                raise ValueError(f"unknown timer {n!r}; known: {', '.join(sorted(timers))}")
            values[n] = timers[n].check(float(v))
        hit = ([float(values[n]) for n in self.tnames], MappingProxyType(values))
        if len(self._values) < 64:
            self._values[key] = hit
        return hit


#: id(table) -> its Compiled (built once per table; the Compiled holds the table alive)
_COMPILED: dict = {}


def compiled(table: Any) -> Compiled:
    """The compiled form of ``table``, built on first use and shared."""
    k = _COMPILED.get(id(table))
    if k is None or k.table is not table:
        k = _COMPILED[id(table)] = Compiled(table)
    return k


def bind_actions(table: Any, cls: Any) -> None:
    """Let the compiled engine call ``table``'s actions and guards by number on a context
    of class ``cls`` (an :class:`Actions` subclass): each row gets the index in
    ``cls.ACTIONS`` of its action's and guard's name, resolved once here. Every name must be
    a method of ``cls``; rows naming other callables keep the Python call."""
    if not (isinstance(cls, type) and issubclass(cls, Actions)):
        raise TypeError(f"{cls!r} is not an Actions class")
    for name in cls.ACTIONS:
        if not callable(getattr(cls, name, None)):
            raise TypeError(f"{cls.__name__}.ACTIONS names {name!r}, not a method")
    compiled(table).bind(cls)


class TimerQueue:
    """The running timers of many machines (one stack's circuits or calls) in one heap of
    deadlines: ``deadline()`` is the earliest, ``handle_timer(now)`` expires what is due by
    firing each machine's expiry event. Starting a timer pushes ``(deadline, seq, machine,
    name)``; stopping it is O(1): the entry is left in the heap and skipped when it reaches
    the top, since it no longer matches the machine's running deadline (compared by identity:
    every start makes a new deadline object)."""

    __slots__ = ("_heap", "_seq")

    def __init__(self) -> None:
        self._heap = []
        self._seq = 0

    def __len__(self) -> int:
        """Entries in the heap, stale ones included."""
        return len(self._heap)

    def push(self, machine: MachineCore, timer: Any, at: Any) -> None:
        """``machine``'s timer (its index in the table) started, due at ``at`` (the very
        object the machine keeps: the entry is live while the machine keeps it). Stopped
        timers at the top are dropped first, so that a stack whose timers are stopped before
        anyone asks for the deadline (calls set up and cleared at once) keeps a short heap."""
        heap = self._heap
        while heap:
            top = heap[0]
            m = top[2]
            if m.running._at[top[3]] is top[0]:
                break
            heapq.heappop(heap)
        self._seq += 1
        heapq.heappush(heap, (at, self._seq, machine, timer))

    def deadline(self) -> float | None:
        """The earliest running deadline of any machine in the queue, or None."""
        heap = self._heap
        while heap:
            top = heap[0]
            m = top[2]
            if m.running._at[top[3]] is top[0]:
                return top[0]
            heapq.heappop(heap)
        return None

    def handle_timer(self, now: float) -> Any:
        """Expire every timer due at ``now``, earliest first; returns how many expired."""
        heap = self._heap
        n = 0
        while heap:
            top = heap[0]
            m = top[2]
            live = m.running._at[top[3]] is top[0]
            if top[0] > now and live:
                break
            heapq.heappop(heap)
            if live:
                n += 1
                m._expire(top[3], now)
        return n


class Running:
    """The running timers of one machine: a read-only mapping ``name -> deadline`` that is
    also their storage (a slot per timer of the table, None when stopped), so the engine
    starts and stops a timer by index, without a dict operation, and a reader holding it sees
    it change."""

    __slots__ = ("_at", "_n", "_names", "_tix")

    def __init__(self, names: list, tix: dict) -> None:
        self._names = names
        self._tix = tix
        self._at = [None] * len(names)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def __bool__(self) -> bool:
        return self._n != 0

    def __getitem__(self, name: str) -> float:
        at = self.get(name)
        if at is None:
            raise KeyError(name)
        return at

    def get(self, name: str, default: Any = None) -> Any:
        if self._n:
            i = self._tix.get(name)
            if i is not None:
                at = self._at[i]
                if at is not None:
                    return at
        return default

    def __contains__(self, name: object) -> bool:
        return self.get(name) is not None

    def __iter__(self) -> Any:
        return iter(self.keys())

    def keys(self) -> list:
        return [self._names[i] for i in range(len(self._names)) if self._at[i] is not None]

    def values(self) -> list:
        return [at for at in self._at if at is not None]

    def items(self) -> list:
        return [(self._names[i], self._at[i]) for i in range(len(self._names)) if self._at[i] is not None]

    def copy(self) -> dict:
        return dict(self.items())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Running):
            return self.copy() == other.copy()
        if isinstance(other, Mapping):
            return self.copy() == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return repr(self.copy())

    def clear(self) -> None:
        """Stop every timer (the engine's reset and release)."""
        for i in range(len(self._at)):
            self._at[i] = None
        self._n = 0


Mapping.register(Running)


class MachineCore:
    """One running instance of ``table`` acting on ``ctx``. Time is passed in."""

    __slots__ = ("table", "ctx", "state", "running", "name", "_k", "_si", "_vals", "_values", "_ring", "_rn",
                 "_rh", "_rc", "_sink", "_queue")

    def __class_getitem__(cls, item: Any) -> Any:   # Machine[Ctx] in hints, like a Generic
        return cls

    def __init__(self, table: Any, ctx: Any, *, name: str | None = None, state: Any = None,
                 timer_values: Mapping[str, float] | None = None, trace: int = 0,
                 queue: TimerQueue | None = None) -> None:
        k = _COMPILED.get(id(table))
        if k is None or k.table is not table:
            k = compiled(table)
        self._k = k
        self.table = table
        self.ctx = ctx
        self.name = name or table.name
        if state is None:
            self._si = 0
            self.state = table.initial
        else:
            self._si = k.state_index(state)
            self.state = state
        vals = k._values.get(()) if not timer_values else k.values_for(timer_values)
        self._vals = vals[0]
        self._values = vals[1]
        self.running = Running(k.tnames, k.tix)
        self._sink = None
        self._rn = trace if trace > 0 else 0
        self._rh = 0
        self._rc = 0
        self._ring = [None] * (4 * self._rn) if self._rn else None
        self._queue = queue

    # -- read-only views --------------------------------------------------------------------
    @property
    def values(self) -> Mapping[str, float]:
        """Timer name -> seconds (read-only; shared by machines given the same overrides)."""
        return self._values

    @property
    def trace(self) -> Any:
        """The last transitions as ``(now, from, event, to)`` (a deque, oldest first), or None
        when not tracing; or the object assigned to it (anything with ``append``, called per
        transition)."""
        if self._sink is not None:
            return self._sink
        if self._rn == 0:
            return None
        out: deque = deque(maxlen=self._rn)
        ring: list = self._ring
        n = self._rn
        i = (self._rh - self._rc) % n
        for _ in range(self._rc):
            out.append((ring[4 * i], ring[4 * i + 1], ring[4 * i + 2], ring[4 * i + 3]))
            i = (i + 1) % n
        return out

    @trace.setter
    def trace(self, sink: Any) -> None:
        if sink is None:               # tracing off
            self._sink = self._ring = None
            self._rn = self._rh = self._rc = 0
        else:                          # a sink of its own (a golden transcript's recorder)
            self._sink = sink

    # -- events ---------------------------------------------------------------------------
    def _row(self, event: Hashable, message: Any) -> CompiledRow | None:
        """The row ``event`` selects in the current state (guards asked in order), or None."""
        k = self._k
        if self.state is not k.states[self._si]:       # state assigned from outside
            self._si = k.state_index(self.state)
        if cython.compiled:
            ei = k.event_index(event)
        else:                   # the twin: one dict lookup, no call
            ei = k.event_ix.get(event, -1)
        if ei < 0:
            return None
        if cython.compiled:     # a row or None: no type test
            row = cython.cast(CompiledRow, k.cells[self._si * k.nev + ei])
        else:
            row = k.cells[self._si * k.nev + ei]
        while row is not None:
            if row.guard is None:
                return row
            if cython.compiled and row.gix >= 0 and type(self.ctx) is k.dtype:
                if cython.cast(Actions, self.ctx).check(row.gix, message):
                    return row
            elif row.guard(self.ctx, message):
                return row
            row = row.alt
        return None

    def allowed(self, event: Hashable, message: Any = None) -> bool:
        return self._row(event, message) is not None

    def fire(self, event: Hashable, message: Any = None, now: Any = 0.0) -> Any:
        """Apply ``event``; raises :class:`~cti.signaling.engine.UnexpectedEvent` when no row
        accepts it. Returns the row applied."""
        row = self._row(event, message)
        if row is None:
            from .engine import UnexpectedEvent
            raise UnexpectedEvent(self.name, self.state, event)
        self._apply(row, event, message, now)
        return row.row

    def fire_if(self, event: Hashable, message: Any = None, now: Any = 0.0) -> bool:
        """Apply ``event`` where a row accepts it; False (nothing done) otherwise."""
        row = self._row(event, message)
        if row is None:
            return False
        self._apply(row, event, message, now)
        return True

    def _apply(self, row: CompiledRow, event: Any, message: Any, now: Any) -> Any:
        running = self.running
        slots = running._at
        if running._n:
            for j in row.stop_ix:       # the row's stop timers, and the state's entry timers
                if slots[j] is not None:    # when it leaves the state (folded in by Compiled)
                    slots[j] = None
                    running._n -= 1
        before = self.state
        if row.nxt >= 0:
            self._si = row.nxt
            self.state = row.state
        ix = row.start_ix
        if ix:
            t0 = now
            vals = self._vals
            q = self._queue
            for j in ix:
                v = vals[j]
                at = t0 + v            # one object: the queue's entry is told by identity
                if slots[j] is None:
                    running._n += 1
                slots[j] = at
                if q is not None:
                    q.push(self, j, at)
        if self._rn or self._sink is not None:
            self._record(now, before, event)
        action = row.action
        if action is not None:
            if cython.compiled and row.aix >= 0 and type(self.ctx) is self._k.dtype:
                cython.cast(Actions, self.ctx).dispatch(row.aix, message, now)   # a C call
            else:
                action(self.ctx, message, now)
        if row.then is not None:
            self.fire(row.then, message, now)
        return 0

    def _record(self, now: Any, before: Any, event: Any) -> Any:
        if self._sink is not None:
            self._sink.append((now, before, event, self.state))
            return 0
        ring = self._ring
        j = 4 * self._rh
        ring[j] = now
        ring[j + 1] = before
        ring[j + 2] = event
        ring[j + 3] = self.state
        self._rh = self._rh + 1 if self._rh + 1 < self._rn else 0
        if self._rc < self._rn:
            self._rc += 1
        return 0

    # -- timers ---------------------------------------------------------------------------
    def _first(self) -> Any:
        """Index of the running timer due first (the lowest index among equal deadlines), or -1."""
        best = -1
        slots = self.running._at
        for i in range(len(slots)):
            at = slots[i]
            if at is not None and (best < 0 or at < slots[best]):
                best = i
        return best

    def deadline(self) -> float | None:
        """The earliest running timer's deadline, or None."""
        if not self.running._n:
            return None
        return self.running._at[self._first()]

    def is_running(self, timer: str) -> bool:
        return timer in self.running

    def _expire(self, timer: Any, now: Any) -> Any:
        running = self.running
        running._at[timer] = None
        running._n -= 1
        ev = self._k.expiry[timer]
        if ev is not None:
            self.fire(ev, self._k.tnames[timer], now)
        return 0

    def handle_timer(self, now: float) -> list:
        """Expire the timers due at ``now``, earliest first, firing each one's expiry event
        (with the timer's name as the message). Returns the names of the timers expired."""
        done: list = []
        while self.running._n:
            i = self._first()
            if self.running._at[i] > now:
                break
            done.append(self._k.tnames[i])
            self._expire(i, now)
        return done

    def reset(self, state: Any = None) -> None:
        """Back to ``state`` (default: the initial state) with no timer running: for a circuit
        reset or a line fault, where the procedure itself is a row that leads here."""
        self.running.clear()
        self.state = self.table.initial if state is None else state
        self._si = self._k.state_index(self.state)

    def release(self) -> None:
        """The context is done with (a call reference freed): stop every timer (a queue
        drops them when they reach its top) and let go of the context, so that the two are
        freed by reference counting rather than by the cyclic garbage collector."""
        self.running.clear()
        self.ctx = None
