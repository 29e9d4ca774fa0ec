"""China No.1 line signalling FSM (cti.signaling.no1.line): tables, both directions, faults."""
from __future__ import annotations

import pytest
import os

from hypothesis import given, settings, strategies as st

from cti.signaling.causes import Cause
from cti.signaling.errors import LocalProtocolError
from cti.signaling.engine import ANY
from cti.signaling.no1.line import (AB_ACK, AB_ANSWER, AB_IDLE, AB_SEIZE, CALL_STATES, RX_EVENTS, TABLE,
                                    Line, LineEv, LineState)

S = LineState
STEP = 0.02
EXAMPLES = int(os.environ.get("NO1_HYPOTHESIS_EXAMPLES", "150"))


class Pair:
    """Two lines back to back, clocked in 20 ms blocks like a span. ``settled``: the two have
    seen each other idle first (two blocks), as on a circuit that was up before the test's
    call; a seizure found at a line's very start is not a call until IDLE_GUARD has passed."""

    def __init__(self, a: Line | None = None, b: Line | None = None, settled: bool = True) -> None:
        self.a = a or Line(name="a")
        self.b = b or Line(name="b", glare="hold")
        self.t = 0.0
        self.ev: dict[str, list] = {"a": [], "b": []}
        if settled:
            self.step(2)

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            self.t = round(self.t + STEP, 6)
            self.a.receive(self.b.data_to_send(self.t), self.t)
            self.b.receive(self.a.data_to_send(0.0), self.t)
            self.a.handle_timer(self.t)
            self.b.handle_timer(self.t)
            self.ev["a"] += [e.kind for e in self.a.events()]
            self.ev["b"] += [e.kind for e in self.b.events()]

    def kinds(self, side: str) -> list[str]:
        out, self.ev[side] = self.ev[side], []
        return out


def test_docs_state_diagrams_match_the_tables():
    from pathlib import Path

    from cti.signaling.no1.diagram import all_diagrams

    doc = (Path(__file__).resolve().parents[1] / "docs" / "no1.md").read_text()
    assert all_diagrams() in doc, "docs/no1.md is stale: python3 -m cti.signaling.no1.diagram"


def test_every_state_handles_every_received_signal():
    for state in LineState:
        for ev in RX_EVENTS:
            rows = TABLE.by_state.get(state, {}).get(ev, ())
            assert rows and rows[-1].guard is None, (state, ev)    # a last row that always applies
    assert TABLE.any_state[LineEv.ALARM][-1].guard is None and LineEv.ALARM in {
        r.event for r in TABLE.rows if r.state is ANY}


@pytest.mark.parametrize("variant,idle,seize", [("cn", 0b1011, 0b0011), ("itu", 0b1001, 0b0001)])
def test_abcd_codes_carry_the_variant_cd_bits(variant, idle, seize):
    line = Line(variant)
    assert line.data_to_send(0.0) == idle
    line.seize(0.0)
    assert line.data_to_send(0.0) == seize


def test_outgoing_call_answered_then_cleared_forward():
    p = Pair()
    p.step(2)
    p.a.seize(p.t)
    p.step(5)
    assert p.kinds("b") == ["seized"] and p.kinds("a") == ["seize_ack"]
    assert (p.a.state, p.b.state) == (S.OUT_ACKED, S.IN_SEIZED)
    p.a.alerted(p.t)
    p.b.answer(p.t)
    p.step(3)
    assert p.kinds("a") == ["answer"] and p.a.state is S.OUT_ANSWERED and p.b.state is S.IN_ANSWERED
    assert p.b.data_to_send(0.0) >> 2 == AB_ANSWER
    p.a.clear(p.t)
    p.step(3)
    assert p.kinds("b") == ["clear_forward"] and p.b.state is S.IN_RELEASE_GUARD
    p.step(10)
    assert p.kinds("b") == ["idle"] and p.kinds("a") == ["idle"]
    assert p.a.state is S.IDLE and p.b.state is S.IDLE


def test_clear_back_then_clear_forward():
    p = Pair()
    p.a.seize(p.t)
    p.step(5)
    p.a.alerted(p.t)          # the register's outcome (B1): answer may follow
    p.b.answer(p.t)
    p.step(3)
    p.kinds("a"), p.kinds("b")
    p.b.clear(p.t)
    p.step(3)
    assert p.kinds("a") == ["clear_back"] and p.a.state is S.OUT_CLEAR_BACK
    assert p.b.state is S.IN_CLEAR_BACK
    p.a.clear(p.t)
    p.step(12)
    assert p.a.state is S.IDLE and p.b.state is S.IDLE


def test_incoming_call_refused_waits_for_clear_forward():
    p = Pair()
    p.a.seize(p.t)
    p.step(5)
    p.b.clear(p.t, Cause.USER_BUSY)
    assert p.b.state is S.IN_CLEAR_BACK and p.b.data_to_send(0.0) >> 2 == AB_ACK
    p.step(5)
    assert p.a.state is S.OUT_ACKED     # the refusal is told by the register (B2), not the line
    p.a.clear(p.t)
    p.step(12)
    assert p.a.state is S.IDLE and p.b.state is S.IDLE


def test_no_seizure_acknowledgement_times_out_and_releases():
    a = Line(timers={"T_SEIZE_ACK": 0.5})
    a.receive(0b1011, 0.0)
    a.receive(0b1011, 0.02)
    a.seize(0.02)
    t = 0.02
    kinds = []
    while t < 1.0:
        t += STEP
        a.receive(0b1011, t)
        a.handle_timer(t)
        kinds += [(e.kind, e.cause) for e in a.events()]
    assert ("failed", Cause.RECOVERY_ON_TIMER_EXPIRY) in kinds
    assert a.state is S.IDLE and a.data_to_send(0.0) >> 2 == AB_IDLE


def test_far_end_never_returns_to_idle_goes_to_fault_then_recovers():
    a = Line(timers={"T_RELEASE": 0.5})
    t = 0.0
    a.receive(0b1011, t)
    a.seize(t)
    for _ in range(3):
        t += STEP
        a.receive(0b1111, t)
        a.handle_timer(t)
    assert a.state is S.OUT_ACKED
    a.clear(t)
    for _ in range(40):
        t += STEP
        a.receive(0b1111, t)
        a.handle_timer(t)
    assert a.state is S.FAULT
    assert "unavailable" in [e.kind for e in a.events()]
    for _ in range(3):
        t += STEP
        a.receive(0b1011, t)
        a.handle_timer(t)
    assert a.state is S.IDLE
    assert [e.kind for e in a.events()][-2:] == ["available", "idle"]


def test_a_seizure_found_at_start_is_released_when_its_call_is_past_seizure():
    """A line that starts (a restart, a card taken over from a killed node) on a circuit the far
    end has seized and had acknowledged by the previous owner: the 00 it finds was never a
    change from idle (Q.421 3). It is not acknowledged; our idle, held for IDLE_GUARD, is seen by
    the far end's outgoing side as the circuit released (Q.421 6), which clears forward; the
    next seizure is a call again."""
    far = Line(name="far")
    far.receive(0b1011, 0.0)
    far.seize(0.0)
    far.receive(0b1111, 0.02)                 # the previous owner acknowledged it ...
    far.handle_timer(0.05)
    far.alerted(0.05)                         # ... and the register said "free": ringing
    assert far.state is S.OUT_ALERTING
    far.events()
    p = Pair(Line(name="new"), far, settled=False)     # the new owner's line starts now
    p.t = 0.1
    p.step(12)
    assert p.a.state is S.IDLE and "seized" not in p.kinds("a")
    assert far.state is S.IDLE and "idle" in p.kinds("b")     # released, not left ringing for T_ANSWER
    far.seize(p.t)
    p.step(10)
    assert p.kinds("a") == ["seized"] and p.a.state is S.IN_SEIZED and far.state is S.OUT_ACKED


def test_a_seizure_found_at_start_and_still_there_after_the_guard_is_a_call():
    """The far end seized at the instant we started, and waits for the acknowledgement: once
    our idle has had IDLE_GUARD to be recognised and it still seizes, it is a call."""
    p = Pair(settled=False)
    p.a.seize(p.t)
    p.step(3)
    assert p.b.state is S.IDLE and p.a.state is S.OUT_SEIZED      # not yet acknowledged
    p.step(8)
    assert p.kinds("b")[-1:] == ["seized"] and p.b.state is S.IN_SEIZED
    assert p.a.state is S.OUT_ACKED and p.kinds("a") == ["seize_ack"]


def test_debounce_ignores_short_flaps():
    a = Line()
    a.receive(0b1011, 0.0)
    a.receive(0b0011, 0.010)   # 10 ms of seizure: shorter than recognition time
    a.receive(0b1011, 0.015)
    a.handle_timer(0.05)
    assert a.state is S.IDLE and a.events() == []
    a.receive(0b0011, 0.06)
    a.handle_timer(0.085)
    assert a.state is S.IN_SEIZED


def test_blocking_and_unblocking_both_ends():
    p = Pair()
    p.step(2)
    p.a.block(p.t)
    p.step(3)
    assert p.a.state is S.BLOCKED_LOCAL and p.b.state is S.BLOCKED_REMOTE
    assert p.kinds("b") == ["blocked"]
    with pytest.raises(LocalProtocolError):
        p.b.seize(p.t)
    p.b.block(p.t)
    p.step(3)
    assert p.a.state is S.BLOCKED_BOTH and p.b.state is S.BLOCKED_BOTH
    p.a.unblock(p.t)
    p.step(3)
    assert p.a.state is S.BLOCKED_REMOTE and p.b.state is S.BLOCKED_LOCAL
    p.b.unblock(p.t)
    p.step(3)
    assert p.a.state is S.IDLE and p.b.state is S.IDLE


def test_block_requested_during_a_call_applies_when_it_ends():
    p = Pair()
    p.a.seize(p.t)
    p.step(5)
    p.b.block(p.t)
    assert p.b.state is S.IN_SEIZED
    p.a.clear(p.t)
    p.step(15)
    assert p.b.state is S.BLOCKED_LOCAL and p.a.state is S.BLOCKED_REMOTE


@pytest.mark.parametrize("a_glare,b_glare,a_end,b_end", [
    ("yield", "hold", S.IN_SEIZED, S.OUT_ACKED),
    ("hold", "yield", S.OUT_ACKED, S.IN_SEIZED),
])
def test_glare_one_side_yields(a_glare, b_glare, a_end, b_end):
    p = Pair(Line(glare=a_glare), Line(glare=b_glare))
    p.step(2)
    p.a.seize(p.t)
    p.b.seize(p.t)
    p.step(5)
    assert (p.a.state, p.b.state) == (a_end, b_end)
    loser = "a" if a_glare == "yield" else "b"
    assert p.kinds(loser)[:2] == ["glare", "seized"]


def test_alarm_mid_call_fails_the_call_and_recovers():
    p = Pair()
    p.a.seize(p.t)
    p.step(5)
    p.a.alerted(p.t)
    p.b.answer(p.t)
    p.step(3)
    p.kinds("a")
    p.a.alarm(p.t, "LOS")
    assert p.a.state is S.ALARM
    ev = p.a.events()
    assert [(e.kind, e.cause) for e in ev][:1] == [("failed", Cause.NETWORK_OUT_OF_ORDER)]
    p.b.clear(p.t)    # the far end gives up too, then returns to idle
    p.step(3)
    p.a.alarm_cleared(p.t)
    assert p.a.state in (S.IDLE, S.BLOCKED_REMOTE)   # the far end may still be in release guard
    p.step(10)
    assert p.a.state is S.IDLE and p.b.state is S.IDLE


def test_bad_abcd_raises_value_error():
    a = Line()
    for bad in (-1, 16, "x", None, 1.5, True):
        with pytest.raises(ValueError):
            a.receive(bad, 0.0)


_ops = st.one_of(
    st.tuples(st.just("rx"), st.sampled_from([AB_IDLE, AB_SEIZE, AB_ACK, AB_ANSWER]), st.integers(1, 4)),
    st.tuples(st.just("cmd"), st.sampled_from(["seize", "answer", "alerted", "clear", "block", "unblock",
                                               "alarm", "alarm_cleared"]), st.just(0)),
    st.tuples(st.just("wait"), st.just(0), st.integers(1, 5000)),
)


@pytest.mark.system
@settings(max_examples=EXAMPLES)
@given(st.lists(_ops, max_size=40), st.sampled_from(["cn", "itu"]), st.sampled_from(["yield", "hold"]))
def test_random_sequences_stay_defined_and_end_released(ops, variant, glare):
    line = Line(variant, glare=glare)
    t = 0.0
    rx = AB_IDLE
    causes = []

    def feed(n):
        nonlocal t
        for _ in range(n):
            t += STEP
            line.receive((rx << 2) | 0b11, t)
            line.handle_timer(t)
            for e in line.events():
                assert isinstance(e.kind, str)
                if e.kind in ("failed", "clear_back", "clear_forward", "glare"):
                    assert e.cause is not None
                causes.append(e)

    for kind, arg, n in ops:
        if kind == "rx":
            rx = arg
            feed(n)
        elif kind == "cmd":
            try:
                getattr(line, arg)(t)
            except LocalProtocolError:
                pass
        else:
            t += n / 100.0
            line.handle_timer(t)
        assert line.state in LineState
    # wind down: our side clears, the far end goes idle, alarms clear, timers run out
    line.unblock(t)
    line.alarm_cleared(t)
    if line.state in CALL_STATES:
        line.clear(t)
    rx = AB_IDLE
    feed(5)
    t += 700.0
    line.handle_timer(t)
    feed(5)
    assert line.state is S.IDLE, list(line.machine.trace or ())[-5:]
    assert line.data_to_send(0.0) >> 2 == AB_IDLE


def test_far_end_blocking_while_our_seizure_is_held_back_fails_our_call():
    """Our seizure waits out IDLE_GUARD (never sent) and the far end blocks meanwhile: 11 is
    blocking, not an acknowledgement of a seizure it never saw."""
    line = Line("cn", {"IDLE_GUARD": 0.3})
    line.seize(0.0)
    line.clear(0.5)
    line.seize(0.55)                                   # held back until 0.8
    line.receive(0b1111, 0.6)
    line.handle_timer(0.62)
    kinds = [(e.kind, e.cause) for e in line.events()]
    assert kinds[-2:] == [("failed", Cause.TEMPORARY_FAILURE), ("blocked", None)]
    assert line.state is S.BLOCKED_REMOTE and line.seize_at is None and line.data_to_send(0.62) >> 2 == AB_IDLE
    line.handle_timer(1.0)                             # the guard's end sends nothing
    assert line.data_to_send(1.0) >> 2 == AB_IDLE
