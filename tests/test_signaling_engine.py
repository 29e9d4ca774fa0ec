"""The one FSM engine: guarded rows, entry timers owned by the engine, bounded traces,
and table validation (every action exists and takes (ctx, message, now); no dead end)."""
from __future__ import annotations

import enum

import pytest

from cti.signaling.engine import ANY, Machine, Row, Table, TableError, UnexpectedEvent, check_tables
from cti.signaling.timers import TimerSpec


class S(enum.Enum):
    IDLE = 1
    SEIZED = 2
    BUSY = 3


class E(enum.Enum):
    SEIZE = 1
    ACK = 2
    CLEAR = 3
    T1 = 4
    ALARM = 5


class Ctx:
    def __init__(self) -> None:
        self.log: list[tuple[str, object, float]] = []
        self.we_win = True

    def send_seize(self, message: object, now: float) -> None:
        self.log.append(("seize", message, now))

    def glare_yield(self, message: object, now: float) -> None:
        self.log.append(("yield", message, now))

    def timeout(self, message: object, now: float) -> None:
        self.log.append(("timeout", message, now))

    def wins(self, message: object) -> bool:
        return self.we_win


T = {"T1": TimerSpec("T1", 2.0, 1.0, 5.0, "Q.000 1.2", "seizure acknowledgement")}
TABLE = Table("test", S.IDLE, (
    Row(S.IDLE, E.SEIZE, S.SEIZED, Ctx.send_seize, clause="1.1"),
    Row(S.SEIZED, E.SEIZE, None, None, Ctx.wins),              # glare, we keep it
    Row(S.SEIZED, E.SEIZE, S.BUSY, Ctx.glare_yield),          # glare, we yield
    Row(S.SEIZED, E.ACK, S.BUSY, None),
    Row(S.SEIZED, E.T1, S.IDLE, Ctx.timeout),
    Row(S.BUSY, E.CLEAR, S.IDLE, None),
    Row(ANY, E.ALARM, S.IDLE, None),
), timers=T, entry={S.SEIZED: ("T1",)}, expiry={"T1": E.T1})


def test_guarded_rows_pick_the_first_accepting_row() -> None:
    ctx = Ctx()
    m = Machine(TABLE, ctx)
    m.fire(E.SEIZE, "a", 0.0)
    m.fire(E.SEIZE, "b", 0.1)
    assert m.state is S.SEIZED
    ctx.we_win = False
    m.fire(E.SEIZE, "c", 0.2)
    assert m.state is S.BUSY and ctx.log[-1] == ("yield", "c", 0.2)


def test_entry_timer_started_on_entry_stopped_on_exit_and_expiry_is_a_row() -> None:
    ctx = Ctx()
    m = Machine(TABLE, ctx, timer_values={"T1": 3.0})
    m.fire(E.SEIZE, None, 10.0)
    assert m.deadline() == 13.0
    assert m.handle_timer(12.9) == [] and m.state is S.SEIZED
    assert m.handle_timer(13.0) == ["T1"]
    assert m.state is S.IDLE and ctx.log[-1] == ("timeout", "T1", 13.0)
    m.fire(E.SEIZE, None, 20.0)
    m.fire(E.ACK, None, 20.5)
    assert m.deadline() is None


def test_unexpected_event_and_any_rows() -> None:
    m = Machine(TABLE, Ctx())
    with pytest.raises(UnexpectedEvent, match="ACK not allowed in state IDLE"):
        m.fire(E.ACK)
    assert not m.fire_if(E.CLEAR)
    m.fire(E.SEIZE)
    m.fire(E.ALARM)
    assert m.state is S.IDLE and m.deadline() is None


def test_timer_values_are_checked_against_the_clause_range() -> None:
    with pytest.raises(ValueError, match=r"Q\.000"):
        Machine(TABLE, Ctx(), timer_values={"T1": 9.0})
    with pytest.raises(ValueError, match="unknown timer"):
        Machine(TABLE, Ctx(), timer_values={"T9": 1.0})


def test_trace_is_bounded_by_the_engine() -> None:
    m = Machine(TABLE, Ctx(), trace=4)
    for i in range(10):
        m.fire(E.SEIZE, None, float(i))
        m.fire(E.ACK, None, float(i))
        m.fire(E.CLEAR, None, float(i))
    assert m.trace is not None and len(m.trace) == 4
    assert m.trace[-1] == (9.0, S.BUSY, E.CLEAR, S.IDLE)


def test_validate_finds_bad_actions_dead_ends_and_unhandled_expiry() -> None:
    def two_args(ctx: object, msg: object) -> None: ...
    bad = Table("bad", S.IDLE, (
        Row(S.IDLE, E.SEIZE, S.SEIZED, two_args),   # type: ignore[arg-type]
        Row(S.SEIZED, E.ACK, None, None),
    ), timers=T, expiry={"T1": E.T1})
    problems = bad.validate()
    assert any("does not take 3 arguments" in p for p in problems)
    assert any("SEIZED has no way out" in p for p in problems)
    assert any("expiry event T1 of T1 has no row" in p for p in problems)
    assert check_tables([TABLE]) == {}
    with pytest.raises(TableError, match="unknown timer"):
        Table("t", S.IDLE, (Row(S.IDLE, E.SEIZE, S.SEIZED, start=("T9",)),), timers=T)


# ---- both builds of the machine, side by side ---------------------------------------------------
def _impls() -> list[object]:
    from _boardcore import _select

    out: list[object] = [pytest.param(_select.twin("cti.signaling.machine"), id="twin")]
    compiled = _select.compiled("cti.signaling.machine")
    out.append(pytest.param(compiled, id="compiled",
                            marks=pytest.mark.skipif(compiled is None, reason="machine_c not built (no compiler)")))
    return out


IMPLS = _impls()


class F(enum.IntEnum):
    GO = 1
    BACK = 2


FOLLOW = Table("follow", S.IDLE, (
    Row(S.IDLE, E.SEIZE, S.SEIZED, Ctx.send_seize, then=E.ACK),     # a transient state left at once
    Row(S.SEIZED, E.ACK, S.BUSY, None),
    Row(S.BUSY, E.CLEAR, S.IDLE, None),
    Row(S.BUSY, F.GO, None, Ctx.timeout),
    Row(ANY, E.ALARM, S.IDLE, None),
), timers=T, entry={S.SEIZED: ("T1",)}, expiry={"T1": E.T1}, final=frozenset({S.IDLE}))


@pytest.mark.parametrize("impl", IMPLS)
def test_follow_on_event_is_a_row_of_data(impl: object) -> None:
    ctx = Ctx()
    m = impl.MachineCore(FOLLOW, ctx, trace=8)   # type: ignore[attr-defined]
    m.fire(E.SEIZE, "x", 1.0)
    assert m.state is S.BUSY and not m.running          # T1 started on entry, stopped on leaving
    assert [(a, e, b) for _, a, e, b in m.trace] == [(S.IDLE, E.SEIZE, S.SEIZED), (S.SEIZED, E.ACK, S.BUSY)]
    bad = Table("bad then", S.IDLE, (Row(S.IDLE, E.SEIZE, S.SEIZED, then=E.CLEAR), Row(S.SEIZED, E.ACK, S.IDLE)))
    assert any("follow-on event CLEAR" in p for p in bad.validate())


@pytest.mark.parametrize("impl", IMPLS)
def test_equal_event_objects_and_states_the_table_does_not_name(impl: object) -> None:
    ctx = Ctx()
    m = impl.MachineCore(FOLLOW, ctx, state=S.BUSY)   # type: ignore[attr-defined]
    m.fire(1, "by value", 2.0)                       # int 1 == F.GO: found by equality
    assert ctx.log[-1] == ("timeout", "by value", 2.0)
    m.reset(E.T1)                                    # not a state of the table: ANY rows only
    assert not m.allowed(E.SEIZE) and m.allowed(E.ALARM)
    m.fire(E.ALARM)
    assert m.state is S.IDLE
    m.state = S.BUSY                                 # assigned from outside: the index follows
    assert m.allowed(E.CLEAR) and not m.allowed(E.SEIZE)
    with pytest.raises(TypeError):
        m.fire(["unhashable"])


@pytest.mark.parametrize("impl", IMPLS)
def test_timer_values_are_read_only_and_shared(impl: object) -> None:
    cls = impl.MachineCore   # type: ignore[attr-defined]
    a, b, c = cls(TABLE, Ctx()), cls(TABLE, Ctx(), timer_values={"T1": 3.0}), cls(TABLE, Ctx(), timer_values={"T1": 3.0})
    assert a.values["T1"] == 2.0 and b.values["T1"] == 3.0 and b.values is c.values
    with pytest.raises(TypeError):
        b.values["T1"] = 4.0
    b.fire(E.SEIZE, None, 1.0)
    assert b.running == {"T1": 4.0} and a.deadline() is None


@pytest.mark.parametrize("impl", IMPLS)
def test_trace_sink_and_trace_off(impl: object) -> None:
    m = impl.MachineCore(TABLE, Ctx(), trace=2)   # type: ignore[attr-defined]
    m.fire(E.SEIZE, None, 1.0)
    assert list(m.trace) == [(1.0, S.IDLE, E.SEIZE, S.SEIZED)]
    seen: list[tuple[float, S, E, S]] = []
    m.trace = seen                 # a golden transcript's recorder
    m.fire(E.ACK, None, 2.0)
    assert seen == [(2.0, S.SEIZED, E.ACK, S.BUSY)] and m.trace is seen
    m.trace = None
    m.fire(E.CLEAR, None, 3.0)
    assert m.trace is None and len(seen) == 1


@pytest.mark.parametrize("impl", IMPLS)
def test_timer_queue_one_heap_for_many_machines(impl: object) -> None:
    q = impl.TimerQueue()          # type: ignore[attr-defined]
    ctxs = [Ctx() for _ in range(3)]
    ms = [impl.MachineCore(TABLE, c, queue=q, timer_values={"T1": 1.0 + i}) for i, c in enumerate(ctxs)]  # type: ignore[attr-defined]
    for m in ms:
        m.fire(E.SEIZE, None, 10.0)                 # T1 due at 11, 12, 13
    assert q.deadline() == 11.0
    ms[0].fire(E.ACK, None, 10.5)                   # stopped: O(1), left in the heap
    assert q.deadline() == 12.0
    ms[1].fire(E.ALARM, None, 10.6)
    ms[1].fire(E.SEIZE, None, 11.0)                 # restarted: due at 13 too, fired once
    assert q.handle_timer(12.9) == 0
    assert q.handle_timer(13.0) == 2
    assert [m.state for m in ms] == [S.BUSY, S.IDLE, S.IDLE]
    assert ctxs[1].log[-1] == ("timeout", "T1", 13.0) and [e[0] for e in ctxs[1].log].count("timeout") == 1
    assert q.deadline() is None and len(q) == 0
    ms[2].fire(E.SEIZE, None, 20.0)
    ms[2].release()                                 # the context let go of, its timers with it
    assert ms[2].ctx is None and q.deadline() is None and not ms[2].running


def _reference(table: Table, state: object, running: dict[str, float], event: object, now: float,
               values: dict[str, float]) -> tuple[object, dict[str, float]] | None:
    """The engine's semantics written plainly (the docstring's order of one transition)."""
    rows = [r for r in table.rows if r.state is state and r.event == event]
    if not rows:
        rows = [r for r in table.rows if r.state is ANY and r.event == event]
    if not rows:
        return None
    r = rows[0]                    # the test table's guards are on no row
    running = dict(running)
    for t in r.stop:
        running.pop(t, None)
    if r.next is not None and r.next != state:
        for t in table.entry.get(state, ()):
            running.pop(t, None)
        for t in table.entry.get(r.next, ()):
            running[t] = now + values[t]
        state = r.next
    for t in r.start:
        running[t] = now + values[t]
    return state, running


T2 = {**T, "T2": TimerSpec("T2", 5.0, 1.0, 9.0, "Q.000 1.3", "busy supervision")}
RANDOM = Table("random", S.IDLE, (
    Row(S.IDLE, E.SEIZE, S.SEIZED),
    Row(S.SEIZED, E.SEIZE, S.SEIZED, start=("T2",)),
    Row(S.SEIZED, E.ACK, S.BUSY, stop=("T2",)),
    Row(S.SEIZED, E.T1, S.IDLE),
    Row(S.BUSY, E.CLEAR, S.IDLE),
    Row(S.BUSY, E.ACK, None, start=("T2",)),
    Row(ANY, E.ALARM, S.IDLE, stop=("T2",)),
    Row(ANY, E.T1, None),
), timers=T2, entry={S.SEIZED: ("T1",), S.BUSY: ("T1",)}, expiry={"T1": E.T1})


@pytest.mark.parametrize("impl", IMPLS)
def test_random_events_follow_the_plain_semantics(impl: object) -> None:
    from hypothesis import given, settings, strategies as st

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.sampled_from(list(E)), max_size=40))
    def check(events: list[E]) -> None:
        m = impl.MachineCore(RANDOM, Ctx())   # type: ignore[attr-defined]
        state: object = S.IDLE
        running: dict[str, float] = {}
        values = {"T1": 2.0, "T2": 5.0}
        for i, ev in enumerate(events):
            want = _reference(RANDOM, state, running, ev, float(i), values)
            assert m.fire_if(ev, None, float(i)) is (want is not None)
            if want is not None:
                state, running = want
            assert m.state is state and m.running == running
    check()
