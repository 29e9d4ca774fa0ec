"""Ss7Exchange (the simulated network) against our Ss7Trunk: subscriber outcomes, scripted
calls, clear by either side, group reset at start, blocking. Over a socketpair always, and
over a SimBoard span's TS16 when the HDLC kernel is built."""
from __future__ import annotations

import importlib.util
import socket

import pytest

from cti.signaling.ss7.config import Ss7Config
from cti.signaling.ss7.trunk import Ss7Trunk
from cti.signaling.trunk import Answered, CircuitState, IncomingCall, Released
from simulator.exchange.base import Behaviour, CallScript, Subscriber
from simulator.exchange.ss7 import Ss7Exchange

SUBS = {"100": Subscriber("100", Behaviour.ANSWER, answer_after=1.0, hold_for=3.0),
        "101": Subscriber("101", Behaviour.BUSY),
        "102": Subscriber("102", Behaviour.UNALLOCATED),
        "103": Subscriber("103", Behaviour.NO_ANSWER),
        "104": Subscriber("104", Behaviour.ANSWER, answer_after=0.5, hold_for=None)}


def socket_rig():
    sa, sb = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    trunk = Ss7Trunk([], Ss7Config.from_dict({}), sockets=[sa])
    ex = Ss7Exchange([], SUBS, sockets=[sb])
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


def scenario(trunk, ex):
    t, evs = run(trunk, ex, 0.0, 2.0)
    assert ex.up and trunk.stack.up
    assert sum(1 for e in evs if isinstance(e, CircuitState) and e.available) == 30   # GRS/GRA at start
    calls = {n: trunk.make_call(n, "5000", t) for n in ("100", "101", "102", "103", "104")}
    t, evs = run(trunk, ex, t, 5.0)
    rel = {e.circuit: e for e in evs if isinstance(e, Released)}
    assert rel[calls["101"]].cause == 17 and rel[calls["102"]].cause == 1
    assert rel[calls["100"]].cause == 16 and rel[calls["100"]].remote       # far end hung up after 3 s
    assert calls["103"] not in rel and calls["104"] not in rel
    assert any(isinstance(e, Answered) and e.circuit == calls["104"] for e in evs)
    trunk.release(calls["103"], 16, t)             # we give up on no answer
    trunk.release(calls["104"], 16, t)             # we clear an answered call
    t, evs = run(trunk, ex, t, 0.5)
    out = {r.called: r.outcome for r in ex.records if r.direction == "from_us"}
    assert out == {"100": "answered", "101": "busy", "102": "unallocated", "103": "no_answer", "104": "answered"}
    assert {r.called: r.cleared_by for r in ex.records}["104"] == "near"
    # the network calls us; we answer one (it hangs up) and reject one
    ex.place_call(CallScript(at=t, called="8001", calling="13800138000", hold_for=2.0))
    ex.place_call(CallScript(at=t, called="8002", calling=None))

    def answer(e, now):
        if isinstance(e, IncomingCall):
            if e.called == "8001":
                trunk.answer(e.circuit, now)
            else:
                trunk.release(e.circuit, 17, now)
    t, evs = run(trunk, ex, t, 3.0, on_event=answer)
    inc = [e for e in evs if isinstance(e, IncomingCall)]
    assert sorted(e.called for e in inc) == ["8001", "8002"]
    to_us = {r.called: r.outcome for r in ex.records if r.direction == "to_us"}
    assert to_us == {"8001": "answered", "8002": "busy"}
    # the exchange blocks a circuit: it becomes unavailable to us, then available again
    c = trunk.circuits()[3]
    ex.block(c, t)
    t, evs = run(trunk, ex, t, 0.2)
    assert [e.available for e in evs if isinstance(e, CircuitState) and e.circuit == c] == [False]
    ex.unblock(c, t)
    t, evs = run(trunk, ex, t, 0.2)
    assert [e.available for e in evs if isinstance(e, CircuitState) and e.circuit == c] == [True]
    return t


@pytest.mark.system
def test_exchange_over_socketpair():
    trunk, ex = socket_rig()
    scenario(trunk, ex)


@pytest.mark.skipif(importlib.util.find_spec("_boardcore.hdlc") is None,
                    reason="_boardcore.hdlc (HDLC kernel) not built yet")
@pytest.mark.system
@pytest.mark.parametrize("variant", ["itu", "china"])
def test_exchange_over_simboard_ts16(variant):
    import drivers
    from drivers.base import SpanConfig
    board = drivers.open("sim", spans=1, config=[SpanConfig(signalling="ccs")])
    cfg = {"variant": variant, "opc": "1-2-3", "dpc": "1-2-4"}
    trunk = Ss7Trunk([board.span(0)], Ss7Config.from_dict(cfg))
    ex = Ss7Exchange([board.far_end(0)], SUBS, config=cfg)
    t, evs = 0.0, []
    while t < 3.0:
        board.advance(0.02)
        t = board.now()
        evs += trunk.service(t)
        ex.service(t)
    assert trunk.stack.up and ex.up
    c = trunk.make_call("100", "5000", t)
    end = t + 6.0
    while t < end:
        board.advance(0.02)
        t = board.now()
        evs += trunk.service(t)
        ex.service(t)
    assert any(isinstance(e, Answered) and e.circuit == c for e in evs)
    assert any(isinstance(e, Released) and e.circuit == c and e.cause == 16 for e in evs)
    # LOS on the span: the link fails at once (MTP pause), and realigns when the line heals
    board.faults(0).los = True
    for _ in range(10):
        board.advance(0.02)
        evs += trunk.service(board.now())
        ex.service(board.now())
    assert not trunk.stack.up
    assert any(isinstance(e, CircuitState) and not e.available and "pause" in e.reason for e in evs)
    board.faults(0).los = False
    for _ in range(200):
        board.advance(0.02)
        trunk.service(board.now())
        ex.service(board.now())
    assert trunk.stack.up and ex.up


def test_an_earlier_callers_patience_does_not_abandon_the_next_call_on_its_circuit():
    """The exchange's timers belong to the call they were set for (simulator/exchange/base.py
    ``_later``): A's patience coming due after A was answered and cleared must not abandon B,
    a new call on the same CIC (Q.764 2.3: after RLC a new IAM is a new call)."""
    trunk, ex = socket_rig()
    t, _ = run(trunk, ex, 0.0, 2.0)
    ex.place_call(CallScript(at=t, called="8001", calling="1", hold_for=0.5, abandon_after=9.0))

    def answer(e, now):
        if isinstance(e, IncomingCall):
            trunk.answer(e.circuit, now)
    t, _ = run(trunk, ex, t, 2.0, on_event=answer)
    ex.place_call(CallScript(at=t, called="8002", calling="2", hold_for=None))
    t, _ = run(trunk, ex, t, 12.0)                 # past A's patience; B only alerting (no answer)
    a, b = [r for r in ex.records if r.direction == "to_us"]
    assert a.circuit == b.circuit and a.outcome == "answered"
    assert b.cleared_at is None, (b.outcome, b.cause)
    assert ex.stale_timers == 1
