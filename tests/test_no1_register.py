"""MFC compelled register signalling (cti.signaling.no1.register), both directions, variants."""
from __future__ import annotations

import pytest
import os

from hypothesis import given, settings, strategies as st

from cti.signaling.causes import Cause
from cti.signaling.no1.register import (IncomingRegister, OutgoingRegister, RegState, digit_signal,
                                        signal_digit)
from cti.signaling.no1.variants import CHINA, ITU, Role, get_variant

R = RegState
STEP = 0.02
EXAMPLES = int(os.environ.get("NO1_HYPOTHESIS_EXAMPLES", "150"))


def run(out: OutgoingRegister, inc: IncomingRegister, decide: str | None = "free", steps: int = 2000):
    """Back-to-back compelled exchange; each side hears the other one block later."""
    t = 0.0
    out.start(t)
    inc.start(t)
    heard_fwd = heard_back = 0
    log: dict[str, list] = {"out": [], "in": []}
    for _ in range(steps):
        t = round(t + STEP, 6)
        if out.data_to_send(0.0) != heard_fwd:
            heard_fwd = out.data_to_send(0.0)
            inc.receive(heard_fwd, t)
        for e in inc.events():
            log["in"].append(e)
            if e.kind == "collected" and decide:
                inc.decide(decide, t)
        if inc.data_to_send(0.0) != heard_back:
            heard_back = inc.data_to_send(0.0)
            out.receive(heard_back, t)
        log["out"] += out.events()
        out.handle_timer(t)
        inc.handle_timer(t)
        log["out"] += out.events()
        log["in"] += inc.events()
        if out.finished and inc.finished:
            break
    return log


CASES = [
    # variant, dnis, ani, dnis_length, want_ani, decision, outcome, cause, b signal
    ("cn", "12345678", "87654321", 8, True, "free", "free", 16, 1),
    ("cn", "1234", "5550100", 4, True, "busy", "busy", 17, 2),
    ("cn", "1234", None, 4, True, "unallocated", "unallocated", 1, 5),
    ("cn", "4321", "66", 4, False, "congestion", "congestion", 42, 4),
    ("cn", "9876", "1", 0, True, "free", "free", 16, 1),      # variable length: pulsed A3
    ("itu", "1234", "555", 4, True, "busy", "busy", 17, 3),
    ("itu", "55501", "42", 5, False, "free", "free", 16, 6),
    ("itu", "321", None, 0, False, "unallocated", "unallocated", 1, 5),   # ITU sends I-15
    ("itu", "4321", None, 4, True, "free", "free", 16, 6),                # no ANI: I-12 restricted
]


@pytest.mark.parametrize("variant,dnis,ani,dlen,want_ani,decision,outcome,cause,bsig", CASES)
def test_back_to_back(variant, dnis, ani, dlen, want_ani, decision, outcome, cause, bsig):
    out = OutgoingRegister(dnis, ani, variant=variant, ka=2, kd=3)
    inc = IncomingRegister(variant=variant, dnis_length=dlen, ani=want_ani)
    log = run(out, inc, decision)
    assert out.state is R.DONE and inc.state is R.DONE, (log, list(out.machine.trace or ())[-3:], list(inc.machine.trace or ())[-3:])
    assert inc.dnis == dnis
    if want_ani:
        assert inc.ani == (ani or None)
        assert inc.ka == (2 if variant == "cn" else 3)
    else:
        assert inc.ani is None
    assert inc.kd == 3
    done = next(e for e in log["out"] if e.kind == "done")
    assert (done.outcome, done.cause, done.signal) == (outcome, cause, bsig)
    assert out.data_to_send(0.0) == 0 and inc.data_to_send(0.0) == 0
    assert inc.ani_restricted == (want_ani and ani is None and variant == "itu")
    collected = [e for e in log["in"] if e.kind == "collected"]
    assert len(collected) == 1 and collected[0].dnis == dnis


def test_china_sends_ka_then_calling_number_on_a6():
    out = OutgoingRegister("2468", "13579", variant="cn", ka=1, kd=3)
    inc = IncomingRegister(variant="cn", dnis_length=4, ani=True, ani_after=1)
    run(out, inc)
    # first digit, KA, calling number, I-15, rest of the called number, KD
    assert out.sent == [2, 1, 1, 3, 5, 7, 9, 15, 4, 6, 8, 3]


def drive(out: OutgoingRegister, replies: list[int]) -> list[int]:
    """Answer each forward signal with the next reply; return the forward signals seen."""
    t = 0.0
    out.start(t)
    seen = []
    for r in replies:
        seen.append(out.data_to_send(0.0))
        t += STEP
        out.receive(r, t)
        t += STEP
        out.receive(0, t)
    return seen


def test_china_a2_resends_from_the_first_digit():
    out = OutgoingRegister("123", variant="cn")
    seen = drive(out, [1, 1, 2, 1, 1])
    assert seen == [1, 2, 3, 1, 2]


def test_itu_a2_a7_a8_step_back():
    out = OutgoingRegister("12345", variant="itu")
    seen = drive(out, [1, 1, 1, 2, 1, 7, 8])
    # sent 1 2 3 4; A2 -> n-1 = 3, A1 -> 4, A7 -> n-2 = 2, A8 -> n-3 (clamped to the first) = 1
    assert seen == [1, 2, 3, 4, 3, 4, 2]
    assert out.data_to_send(0.0) == 1


@pytest.mark.parametrize("variant,a,outcome", [("cn", 4, "congestion"), ("cn", 5, "unallocated"),
                                              ("itu", 4, "congestion"), ("itu", 6, "free")])
def test_group_a_final_signals(variant, a, outcome):
    out = OutgoingRegister("12", variant=variant)
    drive(out, [a])
    ev = out.events()
    assert out.state is R.DONE and ev[-1].kind == "done" and ev[-1].outcome == outcome


def test_meaningless_signal_fails_with_protocol_error():
    out = OutgoingRegister("12", variant="cn")
    drive(out, [9])
    ev = out.events()
    assert out.state is R.FAILED and ev[-1].cause == Cause.PROTOCOL_ERROR


def test_no_backward_signal_times_out():
    out = OutgoingRegister("12", variant="cn", timers={"T_MF_FWD": 1.0})
    out.start(0.0)
    assert out.timer_deadline() == pytest.approx(1.0)
    out.handle_timer(1.0)
    ev = out.events()
    assert out.state is R.FAILED and ev[-1].cause == Cause.RECOVERY_ON_TIMER_EXPIRY and out.data_to_send(0.0) == 0


def test_incoming_rejects_non_digit_with_congestion():
    inc = IncomingRegister(variant="cn", dnis_length=4, ani=False)
    inc.start(0.0)
    inc.receive(12, 0.02)
    assert inc.data_to_send(0.0) == CHINA.signal_a(Role.CONGESTION)
    inc.receive(0, 0.04)
    assert inc.state is R.DONE and inc.outcome == "congestion" and inc.data_to_send(0.0) == 0


def test_incoming_decision_before_kd_and_default_on_timeout():
    inc = IncomingRegister(variant="cn", dnis_length=1, ani=False)
    inc.start(0.0)
    inc.decide("busy", 0.01)          # the call model knew early
    inc.receive(5, 0.02)            # digit 5 -> A3
    assert inc.data_to_send(0.0) == 3
    inc.receive(0, 0.04)
    inc.receive(3, 0.06)            # KD
    assert inc.data_to_send(0.0) == CHINA.signal_b(Role.BUSY)
    inc2 = IncomingRegister(variant="cn", dnis_length=1, ani=False, timers={"T_DECISION": 0.5})
    inc2.start(0.0)
    inc2.receive(5, 0.02)
    inc2.receive(0, 0.04)
    inc2.receive(3, 0.06)
    assert inc2.state is R.DECIDE
    inc2.handle_timer(0.6)
    assert inc2.data_to_send(0.0) == CHINA.signal_b(Role.FREE_CHARGE)


def test_incoming_caller_drops_kd_before_decision():
    inc = IncomingRegister(variant="cn", dnis_length=1, ani=False)
    inc.start(0.0)
    inc.receive(5, 0.02)
    inc.receive(0, 0.04)
    inc.receive(3, 0.06)
    inc.receive(0, 0.08)
    assert inc.state is R.FAILED and inc.cause == Cause.PROTOCOL_ERROR


def test_variant_is_data_over_itu():
    assert CHINA.signal_a(Role.SEND_CATEGORY_AND_ANI) == 6
    assert ITU.signal_a(Role.SEND_CATEGORY) == 5
    assert CHINA.signal_b(Role.FREE_CHARGE) == 1 and ITU.signal_b(Role.FREE_CHARGE) == 6
    assert CHINA.cd_bits == 0b11 and ITU.cd_bits == 0b01
    assert CHINA.role_a(1) is Role.NEXT_DIGIT and CHINA.role_a(1, ani_phase=True) is Role.NEXT_ANI_DIGIT
    # heard from libopenr2 CN, never sent by us
    assert CHINA.role_b(7) is Role.FREE_NO_CHARGE and CHINA.signal_b(Role.FREE_NO_CHARGE) == 6
    other = ITU.override("xx", group_b={1: Role.FREE_CHARGE, 6: None})
    assert other.signal_b(Role.FREE_CHARGE) == 1 and other.role_b(6) is None
    with pytest.raises(ValueError):
        get_variant("nowhere")
    with pytest.raises(ValueError):
        CHINA.signal_b(Role.SPECIAL_INFO)


def test_digit_mapping_and_bad_input():
    assert [digit_signal(c) for c in "1090"] == [1, 10, 9, 10]
    assert signal_digit(10) == "0" and signal_digit(15) is None
    with pytest.raises(ValueError):
        OutgoingRegister("12a4")
    with pytest.raises(ValueError):
        OutgoingRegister("")
    with pytest.raises(TypeError):
        OutgoingRegister(1234)  # type: ignore[arg-type]
    out = OutgoingRegister("1")
    with pytest.raises(ValueError):
        out.receive(16, 0.0)
    inc = IncomingRegister()
    with pytest.raises(ValueError):
        inc.decide("maybe", 0.0)


_actions = st.one_of(
    st.tuples(st.just("sig"), st.integers(0, 15)),
    st.tuples(st.just("wait"), st.integers(1, 2000)),
    st.tuples(st.just("decide"), st.sampled_from(["free", "busy", "unallocated", "congestion"])),
    st.tuples(st.just("abort"), st.just(0)),
)


@pytest.mark.system
@settings(max_examples=EXAMPLES)
@given(st.lists(_actions, max_size=40), st.sampled_from(["cn", "itu"]), st.booleans())
def test_random_signals_never_leave_a_register_undefined(actions, variant, incoming):
    reg = (IncomingRegister(variant=variant, dnis_length=3) if incoming
           else OutgoingRegister("123", "45", variant=variant))
    t = 0.0
    reg.start(t)
    for kind, arg in actions:
        t += STEP
        if kind == "sig":
            reg.receive(arg, t)
        elif kind == "wait":
            t += arg / 100.0
            reg.handle_timer(t)
        elif kind == "decide" and incoming:
            reg.decide(arg, t)
        elif kind == "abort":
            reg.abort(t)
        assert reg.state in RegState
        assert 0 <= reg.data_to_send(0.0) <= 15
        for e in reg.events():
            if e.kind == "failed":
                assert e.cause is not None
    # silence from the far end and time: every register ends, done or failed with a cause
    reg.receive(0, t)
    for _ in range(6):
        t += 100.0
        reg.handle_timer(t)
    assert reg.finished, list(reg.machine.trace or ())[-4:]
    assert reg.data_to_send(0.0) == 0 or reg.state is R.DONE
    assert reg.outcome and (reg.cause is not None)
