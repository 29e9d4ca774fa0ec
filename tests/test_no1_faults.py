"""No.1 faults (issue 6 item 5): each ends in a defined state with a cause, never a stuck channel."""
from __future__ import annotations

import pytest

import os
import random
import sys
from pathlib import Path

from hypothesis import given, settings, strategies as st

from _boardcore.g711 import alaw_decode, alaw_encode
from _boardcore.mf import MfDetector
from cti.signaling.causes import Cause
from cti.signaling.no1.line import LineState
from cti.signaling.trunk import Answered, CircuitState, IncomingCall, Proceeding, Released, TrunkError
from drivers.base import BLOCK_OCTETS
from simulator.exchange.base import Behaviour, CallScript, Subscriber

sys.path.insert(0, str(Path(__file__).resolve().parent))
from no1_rig import Rig, ScriptedFarEnd

AB_IDLE, AB_SEIZE, AB_ACK, AB_ANSWER = 0b10, 0b00, 0b11, 0b01
FAST = {"T_SEIZE_ACK": 0.5, "T_MF_FWD": 1.0, "T_RELEASE": 1.0, "T_MF_WAIT": 1.0, "T_CLEAR_FWD": 2.0}


def line_state(rig, circuit):
    return LineState(rig.trunk.state(circuit)[0])


def test_no_seizure_acknowledgement():
    rig = Rig(ours={"timeslots": [1], "timers": FAST}, exchange=False)
    circuit = rig.trunk.make_call("1234", "5", rig.now)
    rel = rig.wait(Released, circuit=circuit)
    assert (rel.cause, rel.remote) == (Cause.RECOVERY_ON_TIMER_EXPIRY, True)
    assert "T_SEIZE_ACK" in rel.reason
    assert rig.all_idle() and rig.trunk.idle_circuits() == [circuit]


def test_no_backward_mf_signal_then_far_end_releases():
    rig = Rig(ours={"timeslots": [1], "timers": FAST}, exchange=False)
    far = ScriptedFarEnd(rig, 1)
    circuit = rig.trunk.make_call("1234", "5", rig.now)
    rig.run(0.1)
    far.cas(AB_ACK)                                   # acknowledges, then says nothing on MF
    rig.wait(Proceeding)
    rel = rig.wait(Released, circuit=circuit)
    assert rel.cause == Cause.RECOVERY_ON_TIMER_EXPIRY and "T_MF_FWD" in rel.reason
    assert line_state(rig, circuit) is LineState.OUT_CLEAR_FWD     # clear-forward sent
    far.cas(AB_IDLE)                                  # release guard
    rig.run(0.2)
    assert rig.all_idle()


def test_far_end_never_returns_to_idle_is_taken_out_of_service_then_back():
    rig = Rig(ours={"timeslots": [1], "timers": FAST}, exchange=False)
    far = ScriptedFarEnd(rig, 1)
    circuit = rig.trunk.make_call("1234", None, rig.now)
    rig.run(0.1)
    far.cas(AB_ACK)
    rig.wait(Released, circuit=circuit, seconds=3.0)
    rig.run(1.5)                                      # T_RELEASE runs out: far end stuck at 11
    assert line_state(rig, circuit) is LineState.FAULT
    assert [e.available for e in rig.of(CircuitState, circuit)] == [False]
    assert rig.trunk.idle_circuits() == []
    far.cas(AB_IDLE)
    rig.run(0.2)
    assert [e.available for e in rig.of(CircuitState, circuit)] == [False, True]
    assert rig.all_idle()


def test_unexpected_backward_signal_is_a_protocol_error():
    rig = Rig(ours={"timeslots": [1], "timers": FAST}, exchange=False)
    far = ScriptedFarEnd(rig, 1)
    circuit = rig.trunk.make_call("1234", "5", rig.now)
    rig.run(0.1)
    far.cas(AB_ACK)
    rig.run(0.2)
    far.tone = 9                                      # backward 9: no meaning in China No.1
    rig.run(0.3)
    far.tone = 0
    rel = rig.wait(Released, circuit=circuit, seconds=3.0)
    assert rel.cause in (Cause.PROTOCOL_ERROR, Cause.RECOVERY_ON_TIMER_EXPIRY)
    far.cas(AB_IDLE)
    rig.run(0.3)
    assert rig.all_idle()


def test_meaningless_b_signal_is_a_protocol_error():
    """An ITU peer answering KD with B9, which has no meaning in the ITU table either."""
    rig = Rig(ours={"timeslots": [1], "timers": FAST, "variant": "itu"}, exchange=False)
    far = ScriptedFarEnd(rig, 1)
    circuit = rig.trunk.make_call("1", None, rig.now)
    rig.run(0.1)
    far.cas(AB_ACK)
    # compelled replies to the forward signals it hears: A3 to the digit, then B9 to KD
    replies = iter([3, 9])
    det = MfDetector(1, forward=True)

    def listen(now):
        while (blk := rig.far.read_audio()) is not None:
            for ev in det.process(alaw_decode(blk.timeslot(1)), blk.time):
                far.tone = next(replies, 0) if ev.signal else 0
        if far.tone:
            rig.far.write_audio(1, alaw_encode(far.gen.tone(far.tone, BLOCK_OCTETS)))

    rig.hooks.remove(far._tick)
    rig.hooks.append(listen)
    rel = rig.wait(Released, circuit=circuit, seconds=4.0)
    assert (rel.cause, rel.reason) == (Cause.PROTOCOL_ERROR, "register: group B signal B9 has no meaning in variant itu")
    far.cas(AB_IDLE)
    rig.run(0.5)
    assert rig.all_idle()


def test_answer_before_acknowledgement_is_rejected():
    rig = Rig(ours={"timeslots": [1], "timers": FAST}, exchange=False)
    far = ScriptedFarEnd(rig, 1)
    circuit = rig.trunk.make_call("1234", None, rig.now)
    rig.run(0.1)
    far.cas(AB_ANSWER)
    rel = rig.wait(Released, circuit=circuit)
    assert rel.cause == Cause.PROTOCOL_ERROR
    far.cas(AB_IDLE)
    rig.run(0.3)
    assert rig.all_idle()


def test_caller_stops_sending_digits():
    rig = Rig(ours={"timeslots": [1], "timers": FAST, "ani": False}, exchange=False, on_call="answer")
    far = ScriptedFarEnd(rig, 1)
    far.cas(AB_SEIZE)                                 # seizes, then sends no MF at all
    rig.run(3.0)
    assert not rig.of(IncomingCall) and not rig.of(Released)      # never offered: nothing to release
    assert line_state(rig, (0, 1)) in (LineState.IN_CLEAR_BACK, LineState.FAULT)
    far.cas(AB_IDLE)                                  # clear-forward
    rig.run(0.5)
    assert rig.all_idle()


def test_cas_flapping_faster_than_recognition_is_ignored():
    rig = Rig(ours={"timeslots": [1]}, exchange=False)
    far = ScriptedFarEnd(rig, 1)
    flip = [AB_SEIZE, AB_IDLE]
    rig.hooks.append(lambda now: far.cas(flip[round(now / 0.02) % 2]))
    rig.run(2.0)
    assert rig.events == [] and rig.all_idle()


def test_random_cas_flapping_ends_idle_with_causes():
    rng = random.Random(6)
    rig = Rig(ours={"timeslots": [1, 2], "timers": FAST}, exchange=False, on_call="answer")
    fars = [ScriptedFarEnd(rig, 1), ScriptedFarEnd(rig, 2)]
    rig.trunk.make_call("12", None, rig.now, circuit=(0, 2))
    for _ in range(60):
        for far in fars:
            far.cas(rng.choice([AB_IDLE, AB_SEIZE, AB_ACK, AB_ANSWER]))
        rig.run(rng.choice([0.02, 0.04, 0.1, 0.3, 0.6]))
    for far in fars:
        far.cas(AB_IDLE)
    rig.run(4.0)
    assert rig.all_idle(), [rig.trunk.state(c) for c in rig.trunk.circuits()]
    for ev in rig.of(Released):
        assert ev.cause
    announced = {e.circuit for e in rig.of(Proceeding)} | {e.circuit for e in rig.of(IncomingCall)}
    assert announced <= {e.circuit for e in rig.of(Released)}


@pytest.mark.system
def test_line_alarm_mid_call_releases_and_recovers():
    rig = Rig(subscribers={"2001": Subscriber("2001", Behaviour.ANSWER, answer_after=0.5, hold_for=None)},
              ours={"timeslots": [1, 2, 3]}, theirs={"timeslots": [1, 2, 3]})
    circuit = rig.trunk.make_call("2001", "1", rig.now)
    rig.wait(Answered, circuit=circuit)
    rig.board.faults(0).los = True                    # the line toward us fails
    rel = rig.wait(Released, circuit=circuit)
    assert (rel.cause, rel.remote) == (Cause.NETWORK_OUT_OF_ORDER, True) and "LOS" in rel.reason
    rig.run(0.5)
    down = [e for e in rig.of(CircuitState) if not e.available]
    assert {e.circuit for e in down} == set(rig.trunk.circuits())
    assert rig.trunk.idle_circuits() == []
    rig.board.faults(0).los = False
    rig.run(3.0, until=lambda: len([e for e in rig.of(CircuitState) if e.available]) >= 3)
    rig.run(3.0)                                      # the network side clears its half too
    assert rig.all_idle()
    # and the span carries calls again
    circuit = rig.trunk.make_call("2001", "1", rig.now)
    rig.wait(Answered, circuit=circuit)


def test_far_end_disappears_during_register_signalling():
    rig = Rig(subscribers={"2001": Subscriber("2001", Behaviour.ANSWER)},
              ours={"timeslots": [1], "timers": FAST}, theirs={"timeslots": [1]})
    circuit = rig.trunk.make_call("2001", "13800", rig.now)
    rig.wait(Proceeding, circuit=circuit)
    rig.exchange_alive = False                        # the exchange stops: CAS frozen at 11, MF silent
    rel = rig.wait(Released, circuit=circuit)
    assert rel.cause == Cause.RECOVERY_ON_TIMER_EXPIRY
    rig.run(2.0)
    assert line_state(rig, circuit) is LineState.FAULT            # out of service, not stuck in a call
    rig.exchange_alive = True                         # it comes back, sees our clear-forward, idles
    rig.run(2.0)
    assert rig.all_idle()
    assert rig.of(CircuitState)[-1].available is True


@pytest.mark.system
def test_far_end_disappears_mid_call_then_we_clear():
    rig = Rig(subscribers={"2001": Subscriber("2001", Behaviour.ANSWER, answer_after=0.2, hold_for=None)},
              ours={"timeslots": [1], "timers": FAST}, theirs={"timeslots": [1]})
    circuit = rig.trunk.make_call("2001", None, rig.now)
    rig.wait(Answered, circuit=circuit)
    rig.exchange_alive = False
    rig.run(1.0)
    rig.trunk.release(circuit, Cause.NORMAL_CLEARING, rig.now)
    rig.run(2.0)
    assert line_state(rig, circuit) is LineState.FAULT
    rel = rig.of(Released, circuit)[-1]
    assert rel.cause == Cause.NORMAL_CLEARING and rel.remote is False
    rig.exchange_alive = True
    rig.run(2.0)
    assert rig.all_idle()


_ops = st.lists(st.tuples(
    st.sampled_from(["call", "net_call", "answer", "alert", "release", "block", "unblock", "net_release",
                     "los", "los_clear", "wait"]),
    st.integers(0, 3),                  # which circuit / subscriber
    st.sampled_from([0.02, 0.1, 0.3, 0.7, 1.5])), max_size=12)


@pytest.mark.system
@settings(max_examples=int(os.environ.get("NO1_HYPOTHESIS_EXAMPLES", "12")), deadline=None)
@given(_ops)
def test_random_call_model_and_network_actions_never_leave_a_stuck_circuit(ops):
    behaviours = [Behaviour.ANSWER, Behaviour.BUSY, Behaviour.NO_ANSWER, Behaviour.UNALLOCATED]
    subs = {f"20{i}": Subscriber(f"20{i}", b, answer_after=0.3, hold_for=None) for i, b in enumerate(behaviours)}
    fast = {"T_SEIZE_ACK": 0.5, "T_MF_FWD": 1.0, "T_RELEASE": 1.0, "T_MF_WAIT": 1.0, "T_ANSWER": 2.0,
            "T_CLEAR_FWD": 2.0, "T_DECISION": 0.5}
    rig = Rig(subscribers=subs, ours={"timeslots": [1, 2, 3], "timers": fast},
              theirs={"timeslots": [1, 2, 3], "timers": fast}, on_call=None)
    circuits = rig.trunk.circuits()
    for op, n, wait in ops:
        c = circuits[n % 3]
        try:
            if op == "call":
                rig.trunk.make_call(f"20{n}", "139", rig.now)
            elif op == "net_call":
                rig.exchange.place_call(CallScript(at=rig.now, called="8000", calling="1", hold_for=1.0))
            elif op == "answer":
                rig.trunk.answer(c, rig.now)
            elif op == "alert":
                rig.trunk.alert(c, rig.now)
            elif op == "release":
                rig.trunk.release(c, [16, 17, 1, 34][n], rig.now)
            elif op == "block":
                rig.trunk.block(c, rig.now)
            elif op == "unblock":
                rig.trunk.unblock(c, rig.now)
            elif op == "net_release":
                if rig.exchange.record(c) is not None:
                    rig.exchange.release(c, rig.now)
            elif op == "los":
                rig.board.faults(0).los = True
            elif op == "los_clear":
                rig.board.faults(0).los = False
        except TrunkError:
            pass
        rig.run(wait)
    # wind down: alarms clear, every circuit unblocked, every call released, timers run out
    rig.board.faults(0).los = False
    rig.run(0.5)
    for c in circuits:
        rig.trunk.unblock(c, rig.now)
        rig.trunk.release(c, 16, rig.now)
        if rig.exchange.record(c) is not None:
            rig.exchange.release(c, rig.now)
    rig.run(8.0, until=rig.all_idle)
    rig.run(0.5)
    assert rig.all_idle(), [rig.trunk.state(c) for c in circuits]
    for ev in rig.of(Released):
        assert ev.cause
    offered = {(e.circuit, e.time) for e in rig.of(IncomingCall)}
    assert len(rig.of(Released)) >= len(offered)


@pytest.mark.system
def test_calls_complete_through_bit_errors_both_ways():
    subs = {f"20{i:02d}": Subscriber(f"20{i:02d}", Behaviour.ANSWER, answer_after=0.3, hold_for=0.5)
            for i in range(6)}
    rig = Rig(subscribers=subs, on_call="answer")
    rig.board.faults(0).set_bit_error_rate(1e-3)             # toward us
    rig.board.faults(0, "network").set_bit_error_rate(1e-3)  # toward the exchange
    for i in range(6):
        rig.trunk.make_call(f"20{i:02d}", "13800", rig.now)
        rig.exchange.place_call(CallScript(at=0.1 * i, called=f"8{i:03d}", calling="139", hold_for=0.5))
    rig.run(12.0)
    assert [r.outcome for r in rig.exchange.records] == ["answered"] * 12
    assert sorted(e.called for e in rig.of(IncomingCall)) == [f"8{i:03d}" for i in range(6)]
    assert rig.all_idle()
