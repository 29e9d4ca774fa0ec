"""PriTrunk (our user side) against PriExchange (the simulated network) over a socketpair and
over a SimBoard span's TS16 HDLC: subscriber outcomes, calls both ways with presentation,
clearing by either side, RESTART, glare repeat attempt, line faults (LOS) mid-call; config."""
from __future__ import annotations

import socket

import pytest

from cti.signaling.pri.config import PriConfig
from cti.signaling.pri.trunk import PriTrunk
from cti.signaling.ss7.transport import SeqpacketTransport
from cti.signaling.trunk import Alerting, Answered, CircuitState, IncomingCall, Reattempted, Released, TrunkError
from simulator.exchange.base import Behaviour, CallScript, Subscriber
from simulator.exchange.pri import PriExchange

SUBS = {"100": Subscriber("100", Behaviour.ANSWER, answer_after=1.0, hold_for=3.0),
        "101": Subscriber("101", Behaviour.BUSY),
        "102": Subscriber("102", Behaviour.UNALLOCATED),
        "103": Subscriber("103", Behaviour.NO_ANSWER),
        "104": Subscriber("104", Behaviour.ANSWER, answer_after=0.5, hold_for=None)}


def socket_rig(config=None):
    sa, sb = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    trunk = PriTrunk([], config, transports=[])
    trunk.transports = [SeqpacketTransport(sa, trunk.stacks[0])]
    ex = PriExchange([], SUBS, transports=[], config=config)
    ex.trunk.transports = [SeqpacketTransport(sb, ex.trunk.stacks[0])]
    return trunk, ex


def run(trunk, ex, t, seconds, step=0.02, on_event=None):
    evs = []
    end = t + seconds
    while t < end:
        for e in trunk.service(t):
            evs.append(e)
            if on_event:
                on_event(e, t)
        ex.service(t)
        t = round(t + step, 6)
    return t, evs


def test_exchange_outcomes_and_calls_both_ways():
    trunk, ex = socket_rig()
    t, evs = run(trunk, ex, 0.0, 1.0)
    assert ex.up and trunk.up
    assert sum(1 for e in evs if isinstance(e, CircuitState) and e.available) == 30
    calls = {n: trunk.make_call(n, "5000", t) for n in ("100", "101", "102", "103", "104")}
    t, evs = run(trunk, ex, t, 5.0)
    rel = {e.circuit: e for e in evs if isinstance(e, Released)}
    assert rel[calls["101"]].cause == 17 and rel[calls["102"]].cause == 1
    assert rel[calls["100"]].cause == 16 and rel[calls["100"]].remote
    assert calls["103"] not in rel and calls["104"] not in rel
    assert any(isinstance(e, Alerting) and e.circuit == calls["103"] for e in evs)
    assert any(isinstance(e, Answered) and e.circuit == calls["104"] for e in evs)
    trunk.release(calls["103"], 16, t)
    trunk.release(calls["104"], 16, t)
    t, evs = run(trunk, ex, t, 0.5)
    out = {r.called: r.outcome for r in ex.records if r.direction == "from_us"}
    assert out == {"100": "answered", "101": "busy", "102": "unallocated", "103": "no_answer", "104": "answered"}
    ex.place_call(CallScript(at=t, called="8001", calling="13800138000", hold_for=2.0))
    ex.place_call(CallScript(at=t, called="8002", calling=None))

    def answer(e, now):
        if isinstance(e, IncomingCall):
            if e.called == "8001":
                trunk.alert(e.circuit, now)
                trunk.answer(e.circuit, now)
            else:
                trunk.release(e.circuit, 17, now)
    t, evs = run(trunk, ex, t, 3.0, on_event=answer)
    inc = {e.called: e for e in evs if isinstance(e, IncomingCall)}
    assert sorted(inc) == ["8001", "8002"] and inc["8001"].calling == "13800138000"
    assert inc["8001"].signalling == "pri" and inc["8001"].extra["presentation"] == 0
    to_us = {r.called: r.outcome for r in ex.records if r.direction == "to_us"}
    assert to_us == {"8001": "answered", "8002": "busy"}
    # RESTART of one channel by the network while a call is up on it
    c = trunk.make_call("104", None, t)
    t, evs = run(trunk, ex, t, 1.0)
    ex.restart(c, t)
    t, evs = run(trunk, ex, t, 0.5)
    assert any(isinstance(e, Released) and e.circuit == c and e.cause == 41 for e in evs)
    with pytest.raises(TrunkError):
        trunk.answer(c, t)


def test_glare_repeat_attempt_on_another_channel():
    trunk, ex = socket_rig()
    t, _ = run(trunk, ex, 0.0, 1.0)
    ex.place_call(CallScript(at=t, called="8001", calling="1", hold_for=None))
    c = trunk.make_call("104", None, t, circuit=(0, 31))     # the network hunts from TS31 too
    t, evs = run(trunk, ex, t, 2.0)
    inc = [e for e in evs if isinstance(e, IncomingCall)]
    rep = [e for e in evs if isinstance(e, Reattempted)]
    assert inc and inc[0].circuit == (0, 31)
    assert rep and rep[0].circuit == c and rep[0].new_circuit != c
    assert evs.index(rep[0]) < evs.index(inc[0])            # the model moves our call first
    assert any(isinstance(e, Answered) and e.circuit == rep[0].new_circuit for e in evs)
    assert trunk.counters["repeat_attempts"] == 1


def test_config_errors_named():
    for bad, word in (({"side": "both"}, "side"), ({"variant": "x"}, "variant"), ({"foo": 1}, "foo"),
                      ({"timers": {"q931": {"T303": 99}}}, "T303"), ({"timers": {"q921": {"k": 0}}}, "k"),
                      ({"number_length": 0}, "number_length"), ({"repeat_attempts": 9}, "repeat")):
        with pytest.raises(ValueError, match=word):
            PriConfig.from_dict(bad)
    assert PriConfig.from_dict({"side": "network"}).network


@pytest.mark.system
def test_over_simboard_ts16_with_los_mid_call():
    import drivers
    from drivers.base import SpanConfig
    board = drivers.open("sim", spans=1, config=[SpanConfig(signalling="ccs")])
    trunk = PriTrunk([board.span(0)], {"side": "user"})
    ex = PriExchange([board.far_end(0)], SUBS)
    t, evs = 0.0, []

    def go(seconds):
        nonlocal t, evs
        end = t + seconds
        while t < end:
            board.advance(0.02)
            t = board.now()
            evs += trunk.service(t)
            ex.service(t)
    go(1.0)
    assert trunk.up and ex.up
    c = trunk.make_call("104", "5000", t)
    go(2.0)
    assert any(isinstance(e, Answered) and e.circuit == c for e in evs)
    board.faults(0).los = True                      # LOS: the D channel is lost, calls survive T309
    go(1.0)
    assert not trunk.up and any(isinstance(e, CircuitState) and not e.available for e in evs)
    assert trunk.call(c) is not None and trunk.call(c).m.is_running("T309")
    board.faults(0).los = False
    go(4.0)
    assert trunk.up and ex.up and trunk.call(c) is not None
    trunk.release(c, 16, t)
    go(1.0)
    assert any(isinstance(e, Released) and e.circuit == c for e in evs)
    c2 = trunk.make_call("104", "5000", t)          # and the next call works
    go(2.0)
    assert any(isinstance(e, Answered) and e.circuit == c2 for e in evs[-40:] + evs)
