"""Automatic repeat attempt after a lost dual seizure (Q.764 2.10.1.4, Q.12): the call model side.

The trunk adapters' side (SS7, No.1 on rigs that provoke the glare) is in
tests/test_glare_repeat_ss7.py and tests/test_glare_repeat_no1.py.
"""
from __future__ import annotations

import pytest

from cti.call import CallModel
from cti.call.loopback import FarBehaviour, LoopbackTrunk
from cti.signaling.trunk import Answered, Reattempted, Released


def names(events):
    return [type(e).__name__ for e in events]


def test_model_moves_the_call_to_the_new_circuit():
    trunk = LoopbackTrunk([0], [1, 2, 3], signalling="ss7", behaviour=lambda n: FarBehaviour("no_answer", after=100.0))
    model = CallModel([trunk])
    res = model.make_call("8001", "66001234", 0.0)
    cid, old = res["call"], (res["span"], res["ts"])
    new = next(c for c in trunk.circuits() if c != old)
    model.take_events()
    model.on_trunk_event(Reattempted(old, 0.1, new, 41, "dual seizure"), trunk)
    (r,) = model.take_events()
    assert type(r).__name__ == "Reattempted" and r.call == cid
    assert (r.span, r.ts, r.old_span, r.old_ts, r.cause, r.attempt) == (new[0], new[1], old[0], old[1], 41, 1)
    assert r.device == f"trunk/{new[0]}/{new[1]}" and r.old_device == f"trunk/{old[0]}/{old[1]}"
    assert r.topic() == f"call.{new[0]}.{new[1]}"
    call = model.calls[cid]
    assert call.circuit() == new and call.extra["reattempts"][0]["from"] == list(old)
    assert model.validate() == [] and model.counters["repeat_attempts"] == 1
    assert model.snapshot()["calls"][0]["ts"] == new[1]
    # later events of the call are on the new circuit; the old one is free for other calls
    model.on_trunk_event(Answered(new, 1.0), trunk)
    est = model.take_events()
    assert names(est) == ["Established"] and (est[0].call, est[0].ts) == (cid, new[1])
    model.on_trunk_event(Released(old, 1.1, 16), trunk)     # nothing of ours there any more
    assert model.take_events() == [] and cid in model.calls
    model.on_trunk_event(Released(new, 2.0, 16), trunk)
    assert names(model.take_events())[-1] == "CallCleared"
    (cdr,) = model.take_cdrs()
    assert cdr["call"] == cid and cdr["ts"] == new[1] and cdr["outcome"] == "answered"
    assert model.counters["calls"] == 1


def test_model_ignores_a_repeat_for_a_circuit_it_does_not_know():
    trunk = LoopbackTrunk([0], [1, 2], signalling="no1", behaviour=lambda n: FarBehaviour("no_answer", 100.0))
    model = CallModel([trunk])
    model.on_trunk_event(Reattempted((0, 1), 0.0, (0, 2)), trunk)
    assert model.take_events() == [] and model.counters["unexpected_trunk_events"] == 1
    res = model.make_call("8001", "5", 0.0)
    model.take_events()
    old = (res["span"], res["ts"])
    for bad in ((7, 7), None, "x", old):          # not a circuit of ours, garbage, the same circuit
        model.on_trunk_event(Reattempted(old, 0.1, bad), trunk)   # type: ignore[arg-type]
    assert model.take_events() == [] and model.counters["unexpected_trunk_events"] == 5
    assert model.calls[res["call"]].circuit() == old and model.validate() == []


# ---- random sequences: repeat attempts mixed with calls, answers and clears ---------------------

from hypothesis import given, settings
from hypothesis import strategies as st

from cti.call import trunk_device
from cti.call.errors import CallControlError
from cti.call.states import ConnectionState
from cti.signaling.trunk import IncomingCall

_OPS = st.lists(st.tuples(st.sampled_from(["call", "call", "move", "move", "ring", "answer", "far_clear", "clear"]),
                          st.integers(0, 7), st.integers(0, 7)), max_size=40)


@pytest.mark.system
@settings(max_examples=150, deadline=None, derandomize=True)
@given(_OPS)
def test_random_repeat_attempts_keep_the_model_consistent(ops):
    trunk = LoopbackTrunk([0], [1, 2, 3, 4], signalling="no1", behaviour=lambda n: FarBehaviour("no_answer", 1e6))
    model = CallModel([trunk])
    now = 0.0
    moved: dict[str, int] = {}
    for op, i, j in ops:
        now += 0.5
        free = [c for c in trunk.circuits() if c not in model._busy and trunk.state[c] == "idle"]
        trunked = sorted((c.circuit, call) for call in model.calls.values()
                         for c in call.connections.values() if c.circuit is not None and c.live)
        if op == "call":
            try:
                model.make_call("8001", "555", now)
            except CallControlError:
                pass
        elif op == "ring" and free:
            c = free[i % len(free)]
            trunk.state[c] = "in"
            model.on_trunk_event(IncomingCall(c, now, "8002", "556"), trunk)
        elif op == "move" and free and trunked:
            old, call = trunked[i % len(trunked)]
            if call.direction != "out" or model._busy[old].state is not ConnectionState.INITIATED:
                continue
            new = free[j % len(free)]
            trunk.state[new], trunk.state[old] = "out", "idle"
            model.on_trunk_event(Reattempted(old, now, new, 41, "dual seizure"), trunk)
            moved[call.id] = moved.get(call.id, 0) + 1
            assert call.circuit() == new and model._busy[new].device == trunk_device(new)
        elif op == "answer" and trunked:
            model.on_trunk_event(Answered(trunked[i % len(trunked)][0], now), trunk)
        elif op == "far_clear" and trunked:
            c = trunked[i % len(trunked)][0]
            trunk.state[c] = "idle"
            model.on_trunk_event(Released(c, now, 16), trunk)
        elif op == "clear" and model.calls:
            try:
                model.clear_connection(sorted(model.calls)[i % len(model.calls)], now)
            except CallControlError:
                pass
        assert model.validate() == []
        for call in model.calls.values():
            for c in call.connections.values():
                if c.circuit is not None and c.live:
                    assert c.device == trunk_device(c.circuit)
            assert len(call.extra.get("reattempts", [])) == moved.get(call.id, 0)
    model.service(now + 60.0)
    for cdr in model.take_cdrs():
        assert cdr["call"] not in model.calls
