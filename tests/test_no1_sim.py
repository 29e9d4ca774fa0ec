"""Calls both ways between our No1Trunk and the simulated No.1 exchange across SimBoard spans."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cti.signaling.causes import Cause
from cti.signaling.trunk import (Alerting, Answered, CircuitState, IncomingCall, Proceeding, Released,
                                 TrunkError)
from simulator.exchange.base import Behaviour, CallScript, Subscriber

sys.path.insert(0, str(Path(__file__).resolve().parent))
from no1_rig import Rig

SUBS = {
    "2001": Subscriber("2001", Behaviour.ANSWER, answer_after=1.0, hold_for=2.0),
    "2002": Subscriber("2002", Behaviour.ANSWER, answer_after=0.5, hold_for=None),
    "2003": Subscriber("2003", Behaviour.BUSY),
    "2004": Subscriber("2004", Behaviour.UNALLOCATED),
    "2005": Subscriber("2005", Behaviour.CONGESTION),
    "2006": Subscriber("2006", Behaviour.NO_ANSWER),
}


def rec_of(rig, direction):
    return [r for r in rig.exchange.records if r.direction == direction]


# ------------------------------------------------------------------ our calls to the network


@pytest.mark.system
def test_outgoing_answered_and_cleared_by_the_network():
    rig = Rig(subscribers=SUBS)
    circuit = rig.trunk.make_call("2001", "13800138000", rig.now)
    rel = rig.wait(Released, circuit=circuit)
    kinds = [type(e).__name__ for e in rig.events if e.circuit == circuit]
    assert kinds == ["Proceeding", "Alerting", "Answered", "Released"]
    assert (rel.cause, rel.remote, rel.reason) == (Cause.NORMAL_CLEARING, True, "clear-back")
    rig.run(1.0)
    (rec,) = rec_of(rig, "from_us")
    assert (rec.called, rec.calling, rec.outcome, rec.cleared_by) == ("2001", "13800138000", "answered", "far")
    assert rec.extra["category"] == 3 and rec.extra["ka"] == 1      # KD and KA we sent
    assert rec.answered_at - rec.alerted_at == pytest.approx(1.0, abs=0.05)
    assert rig.all_idle()


@pytest.mark.system
def test_outgoing_cleared_by_us():
    rig = Rig(subscribers=SUBS)
    circuit = rig.trunk.make_call("2002", None, rig.now)
    rig.wait(Answered, circuit=circuit)
    rig.run(1.0)
    rig.trunk.release(circuit, Cause.NORMAL_CLEARING, rig.now)
    rel = rig.wait(Released, circuit=circuit)
    assert rel.remote is False
    rig.run(1.0)
    (rec,) = rec_of(rig, "from_us")
    assert (rec.calling, rec.outcome, rec.cleared_by) == (None, "answered", "near")
    assert rig.all_idle()


@pytest.mark.parametrize("number,cause,outcome", [
    ("2003", Cause.USER_BUSY, "busy"),
    ("2004", Cause.UNALLOCATED_NUMBER, "unallocated"),
    ("2005", Cause.SWITCHING_EQUIPMENT_CONGESTION, "congestion"),
])
def test_outgoing_refused(number, cause, outcome):
    rig = Rig(subscribers=SUBS)
    circuit = rig.trunk.make_call(number, "139", rig.now)
    rel = rig.wait(Released, circuit=circuit)
    assert (rel.cause, rel.remote) == (cause, True)
    assert not rig.of(Alerting) and rig.of(Proceeding)
    rig.run(1.0)
    (rec,) = rec_of(rig, "from_us")
    assert (rec.outcome, rec.cause) == (outcome, cause)
    assert rig.all_idle()


def test_outgoing_no_answer_times_out():
    rig = Rig(ours={"timers": {"T_ANSWER": 3.0}}, subscribers=SUBS)
    circuit = rig.trunk.make_call("2006", "139", rig.now)
    rig.wait(Alerting, circuit=circuit)
    rel = rig.wait(Released, circuit=circuit)
    assert rel.cause == Cause.NO_ANSWER
    rig.run(1.0)
    assert rec_of(rig, "from_us")[0].outcome == "no_answer"
    assert rig.all_idle()


# ------------------------------------------------------------------ the network's calls to us

def test_incoming_dnis_ani_category_answered_cleared_by_network():
    rig = Rig(on_call="answer")
    rig.exchange.place_call(CallScript(at=0.1, called="8001", calling="13912345678", category=1, hold_for=2.0))
    inc = rig.wait(IncomingCall)
    assert (inc.called, inc.calling, inc.category, inc.signalling) == ("8001", "13912345678", 1, "no1")
    assert inc.extra["ka"] == 1
    rel = rig.wait(Released)
    assert (rel.cause, rel.remote, rel.reason) == (Cause.NORMAL_CLEARING, True, "clear-forward")
    rig.run(1.0)
    (rec,) = rec_of(rig, "to_us")
    assert (rec.outcome, rec.cleared_by) == ("answered", "far")
    assert rec.extra["proceeding_at"] < rec.answered_at
    assert rec.alerted_at is None or rec.alerted_at <= rec.answered_at
    assert rig.all_idle()


def test_incoming_cleared_by_us():
    rig = Rig(on_call="answer")
    rig.exchange.place_call(CallScript(at=0.1, called="8002", calling="1", hold_for=None))
    inc = rig.wait(IncomingCall)
    rig.run(1.0)
    rig.trunk.release(inc.circuit, Cause.NORMAL_CLEARING, rig.now)     # clear-back
    rel = rig.wait(Released)
    assert rel.remote is False
    rig.run(1.0)
    (rec,) = rec_of(rig, "to_us")
    assert (rec.outcome, rec.cleared_by, rec.cause) == ("answered", "near", Cause.NORMAL_CLEARING)
    assert rig.all_idle()


@pytest.mark.parametrize("cause,outcome", [(Cause.USER_BUSY, "busy"), (Cause.UNALLOCATED_NUMBER, "unallocated"),
                                           (Cause.SWITCHING_EQUIPMENT_CONGESTION, "congestion")])
def test_incoming_refused_by_us(cause, outcome):
    rig = Rig(on_call=None)
    rig.exchange.place_call(CallScript(at=0.1, called="8003", calling="2"))
    inc = rig.wait(IncomingCall)
    rig.trunk.release(inc.circuit, cause, rig.now)
    rel = rig.wait(Released)
    assert (rel.cause, rel.remote) == (cause, False)
    rig.run(1.0)
    (rec,) = rec_of(rig, "to_us")
    assert (rec.outcome, rec.cause) == (outcome, cause)
    assert rig.all_idle()


def test_incoming_abandoned_before_answer():
    rig = Rig(on_call="alert")
    rig.exchange.place_call(CallScript(at=0.1, called="8004", calling="3", abandon_after=3.0))
    rig.wait(IncomingCall)
    rel = rig.wait(Released)
    assert (rel.cause, rel.remote) == (Cause.NORMAL_CLEARING, True)
    rig.run(1.0)
    assert rec_of(rig, "to_us")[0].outcome == "abandoned"
    assert rig.all_idle()


def test_itu_r2_variant_both_ways():
    rig = Rig(ours={"variant": "itu"}, theirs={"variant": "itu"}, subscribers=SUBS, on_call="answer")
    circuit = rig.trunk.make_call("2003", "555", rig.now)
    assert rig.wait(Released, circuit=circuit).cause == Cause.USER_BUSY
    rig.exchange.place_call(CallScript(at=rig.now + 0.1, called="7000", calling="42", hold_for=1.0))
    inc = rig.wait(IncomingCall)
    assert (inc.called, inc.calling) == ("7000", "42")
    rig.run(3.0)
    assert rec_of(rig, "to_us")[0].outcome == "answered"
    assert rig.all_idle()


@pytest.mark.system
def test_many_calls_both_ways_at_once():
    subs = {f"30{i:02d}": Subscriber(f"30{i:02d}", Behaviour.ANSWER, answer_after=0.5, hold_for=1.0)
            for i in range(10)}
    rig = Rig(subscribers=subs, on_call="answer")
    for i in range(10):
        rig.trunk.make_call(f"30{i:02d}", f"1380000{i:04d}", rig.now)
        rig.exchange.place_call(CallScript(at=0.05 * i, called=f"9{i:03d}", calling=f"139{i:08d}", hold_for=1.0))
    rig.run(12.0)
    recs = rig.exchange.records
    assert len(recs) == 20 and all(r.outcome == "answered" for r in recs), [(r.called, r.outcome) for r in recs]
    got = sorted((e.called, e.calling) for e in rig.of(IncomingCall))
    assert got == sorted((f"9{i:03d}", f"139{i:08d}") for i in range(10))
    assert len(rig.of(Released)) == 20
    assert rig.all_idle()


# ------------------------------------------------------------------ blocking and glare

def test_blocking_and_unblocking_both_ways():
    rig = Rig(ours={"timeslots": [1, 2]}, theirs={"timeslots": [1, 2]}, subscribers=SUBS)
    rig.run(0.2)
    rig.exchange.block((0, 1), rig.now)                 # the network blocks circuit 1
    st = rig.wait(CircuitState, circuit=(0, 1))
    assert st.available is False
    assert rig.trunk.idle_circuits() == [(0, 2)]
    rig.exchange.block((0, 2), rig.now)
    rig.run(0.5)
    with pytest.raises(TrunkError):
        rig.trunk.make_call("2001", None, rig.now)
    rig.exchange.unblock((0, 1), rig.now)
    rig.exchange.unblock((0, 2), rig.now)
    rig.run(0.5)
    assert [e.available for e in rig.of(CircuitState, (0, 1))] == [False, True]
    assert sorted(rig.trunk.idle_circuits()) == [(0, 1), (0, 2)]
    # we block circuit 1: the network's call takes circuit 2
    rig.trunk.block((0, 1), rig.now)
    rig.run(0.2)
    rig.exchange.place_call(CallScript(at=rig.now, called="8005", calling="4", hold_for=0.5))
    inc = rig.wait(IncomingCall)
    assert inc.circuit == (0, 2)
    rig.run(3.0)
    rig.trunk.unblock((0, 1), rig.now)
    rig.run(0.5)
    assert rig.all_idle()


def test_glare_we_yield_and_take_the_network_call():
    rig = Rig(ours={"timeslots": [5], "repeat_attempts": 0}, theirs={"timeslots": [5]}, subscribers=SUBS, on_call="answer")
    rig.run(0.2)
    rig.exchange.place_call(CallScript(at=rig.now, called="8006", calling="5", hold_for=1.0))
    ours = rig.trunk.make_call("2001", "6", rig.now)   # both seize circuit 5 in the same block
    rel = rig.wait(Released, circuit=ours)
    assert rel.cause == Cause.TEMPORARY_FAILURE and "double seizure" in rel.reason
    inc = rig.wait(IncomingCall)
    assert (inc.circuit, inc.called) == ((0, 5), "8006")
    rig.run(4.0)
    assert rec_of(rig, "to_us")[0].outcome == "answered"
    assert rig.all_idle()


# ------------------------------------------------------------------ the adapter's API edges

def test_trunk_api_rejects_bad_requests_clearly():
    rig = Rig(ours={"timeslots": [1, 2]}, subscribers=SUBS)
    assert rig.trunk.circuits() == [(0, 1), (0, 2)] and rig.trunk.signalling == "no1"
    for called, calling in (("12a", None), ("", None), ("123", "x9"), (123, None)):
        with pytest.raises(TrunkError) as exc:
            rig.trunk.make_call(called, calling, rig.now)            # type: ignore[arg-type]
        assert exc.value.cause == Cause.INVALID_NUMBER_FORMAT
    for bad in ((0, 3), (1, 1), "x", None):
        with pytest.raises(TrunkError):
            rig.trunk.answer(bad, rig.now)                           # type: ignore[arg-type]
    with pytest.raises(TrunkError):
        rig.trunk.answer((0, 1), rig.now)                            # no call there
    with pytest.raises(TrunkError):
        rig.trunk.make_call("2001", None, rig.now, category=16)
    rig.trunk.release((0, 1), 16, rig.now)                          # nothing to clear: no-op
    c = rig.trunk.make_call("2001", None, rig.now, circuit=(0, 1))
    assert rig.trunk.timer_deadline() == pytest.approx(rig.now + 2.0)          # T_SEIZE_ACK
    rig.run(0.2)
    assert rig.trunk.timer_deadline() == pytest.approx(rig.now + 0.02)         # MF: poll every block
    with pytest.raises(TrunkError) as exc:
        rig.trunk.make_call("2001", None, rig.now, circuit=(0, 1))
    assert exc.value.cause == Cause.NO_CIRCUIT_AVAILABLE
    with pytest.raises(TrunkError):
        rig.trunk.alert(c, rig.now)                                  # outgoing call: nothing to alert
    rig.trunk.release(c, 16, rig.now)
    rig.trunk.release(c, 16, rig.now)                               # twice: still one release
    rig.run(1.0)
    assert len(rig.of(Released, c)) == 1 and rig.all_idle()
    assert rig.trunk.timer_deadline() is None


def test_trunk_config_from_dict_and_errors():
    from cti.signaling.no1.config import No1Config
    from cti.signaling.no1.trunk import No1Trunk

    rig = Rig(exchange=False)
    span = rig.board.span(0)
    t = No1Trunk(span, {"variant": "itu", "dnis_length": 6, "timers": {"T_ANSWER": 30}})
    assert t.config == No1Config(variant="itu", dnis_length=6, timers={"T_ANSWER": 30.0})
    assert t.config.kd_signal == 1 and No1Config().kd_signal == 3
    with pytest.raises(TypeError):
        No1Trunk(span, "cn")                                         # type: ignore[arg-type]
    with pytest.raises(ValueError):
        No1Trunk(span, {"timers": {"T_ANSWER": 0.01}})
    with pytest.raises(ValueError):
        No1Trunk(span, {"timeslots": [16]})


def test_trunk_refuses_a_ccs_span():
    from types import SimpleNamespace

    from cti.signaling.no1.trunk import No1Trunk
    from drivers.base import SpanConfig

    span = SimpleNamespace(number=3, config=SpanConfig(signalling="ccs"))   # refused before any I/O
    with pytest.raises(ValueError, match="CAS spans; span 3"):
        No1Trunk(span, {})                                                  # type: ignore[arg-type]


@pytest.mark.system
def test_dtmf_typed_by_the_called_party_is_reported():
    pytest.importorskip("_boardcore.dtmf", reason="DTMF kernel (helper 'dtmf') not built yet")
    from cti.signaling.trunk import DigitsReceived

    subs = {"2010": Subscriber("2010", Behaviour.ANSWER, answer_after=0.3, hold_for=3.0, digits="19#")}
    rig = Rig(subscribers=subs)
    circuit = rig.trunk.make_call("2010", None, rig.now)
    rig.wait(Released, circuit=circuit)
    assert "".join(e.digits for e in rig.of(DigitsReceived, circuit)) == "19#"
