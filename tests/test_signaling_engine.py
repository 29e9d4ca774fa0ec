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
