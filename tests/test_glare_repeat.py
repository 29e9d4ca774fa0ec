"""Automatic repeat attempt after a lost dual seizure (Q.764 2.10.1.4, Q.12): the call model side.

The trunk adapters' side (SS7, No.1 on rigs that provoke the glare) is in
tests/test_glare_repeat_ss7.py and tests/test_glare_repeat_no1.py.
"""
from __future__ import annotations

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
    trunk = LoopbackTrunk([0], [1, 2], signalling="no1")
    model = CallModel([trunk])
    model.on_trunk_event(Reattempted((0, 1), 0.0, (0, 2)), trunk)
    assert model.take_events() == [] and model.counters["unexpected_trunk_events"] == 1
