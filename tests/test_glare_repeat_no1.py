"""No.1: our seizure that loses a double seizure is seized again on another idle circuit
(ITU-T Q.12 automatic repeat attempt), seen by the call model as one call.

The rig (tests/no1_rig.py): our No1Trunk on span 0 of a SimBoard, the simulated No.1
exchange on its far end; the exchange hunts ascending and holds its seizure on glare, we
yield (No1Config defaults), so seizing the circuit it is about to take in the same 20 ms
block makes our call lose the double seizure, deterministically.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cti.call import CallModel
from cti.signaling.causes import Cause
from cti.signaling.no1.config import No1Config
from cti.signaling.trunk import IncomingCall, Reattempted, Released
from simulator.exchange.base import Behaviour, CallScript, Subscriber

sys.path.insert(0, str(Path(__file__).resolve().parent))
from no1_rig import Rig

SUBS = {"2001": Subscriber("2001", Behaviour.ANSWER, answer_after=0.5, hold_for=None)}


class ModelRig(Rig):
    """The rig with the call model on top of our trunk (it alerts incoming calls itself)."""

    def __init__(self, timeslots, theirs=None, **ours) -> None:
        ours = {"repeat_attempts": 1, **ours}
        super().__init__(ours={"timeslots": list(timeslots), **ours}, subscribers=SUBS,
                         theirs={"timeslots": list(theirs or timeslots)}, on_call=None)
        self.model = CallModel([self.trunk])
        self.bus: list = []
        self.hooks.append(self._model)

    def _model(self, now: float) -> None:
        for ev in self.events[self._seen:] if hasattr(self, "_seen") else self.events:
            self.model.on_trunk_event(ev, self.trunk)
        self._seen = len(self.events)
        self.bus += self.model.take_events()

    def glare(self, circuit):
        """Both ends seize ``circuit`` in the same block: the exchange's call and our MakeCall."""
        self.run(0.2)
        self.exchange.place_call(CallScript(at=self.now, called="8006", calling="5", hold_for=None))
        res = self.model.make_call("agent1", "2001", self.now, calling="6", circuit=circuit)
        self.bus += self.model.take_events()
        return res

    def mine(self, call):
        return [e for e in self.bus if e.call == call]


def kinds(events):
    return [type(e).__name__ for e in events]


@pytest.mark.system
def test_lost_double_seizure_is_repeated_on_another_circuit_and_answered():
    rig = ModelRig([1, 2])
    res = rig.glare((0, 1))
    rig.run(6.0)
    mine = rig.mine(res["call"])
    assert kinds(mine)[:2] == ["Originated", "Reattempted"] and "Established" in kinds(mine), kinds(mine)
    assert "Failed" not in kinds(mine) and "CallCleared" not in kinds(mine)
    re = mine[1]
    assert (re.old_ts, re.ts, re.cause, re.attempt, re.device) == (1, 2, 41, 1, "trunk/0/2")
    est = next(e for e in mine if type(e).__name__ == "Established")
    assert est.ts == 2 and est.calling == "6" and est.called == "2001"
    (tev,) = rig.of(Reattempted)
    assert (tev.circuit, tev.new_circuit) == ((0, 1), (0, 2)) and "Q.12" in tev.reason
    assert "idle guard" not in tev.reason        # a true double seizure: both seizures were sent
    assert not [e for e in rig.of(Released) if e.circuit == (0, 1)]
    (inc,) = rig.of(IncomingCall)
    assert (inc.circuit, inc.called) == ((0, 1), "8006")          # the network's call won circuit 1
    # the exchange saw our call once, on circuit 2, with the same numbers, and answered it
    (rec,) = [r for r in rig.exchange.records if r.direction == "from_us"]
    assert (rec.circuit, rec.called, rec.calling, rec.outcome) == ((0, 2), "2001", "6", "pending")
    assert rec.answered_at is not None
    call = rig.model.calls[res["call"]]
    assert call.circuit() == (0, 2) and rig.model.validate() == []
    assert rig.trunk.counters["repeat_attempts"] == 1
    rig.model.clear_connection(res["call"], rig.now)
    rig.run(2.0)
    cdr = [c for c in rig.model.take_cdrs() if c["call"] == res["call"]]
    assert cdr[0]["ts"] == 2 and cdr[0]["outcome"] == "answered"
    assert (rec.outcome, rec.cleared_by) == ("answered", "near")


@pytest.mark.system
def test_category_is_kept_on_the_repeat():
    rig = ModelRig([1, 2])
    rig.run(0.2)
    rig.exchange.place_call(CallScript(at=rig.now, called="8006", calling="5", hold_for=None))
    rig.trunk.make_call("2001", "6", rig.now, (0, 1), category=4)
    rig.run(6.0)
    (rec,) = [r for r in rig.exchange.records if r.direction == "from_us"]
    assert rec.circuit == (0, 2) and rec.extra["category"] == 4


def test_no_idle_circuit_for_the_repeat_fails_with_cause_34():
    rig = ModelRig([1])
    res = rig.glare((0, 1))
    rig.run(3.0)
    mine = rig.mine(res["call"])
    failed = [e for e in mine if type(e).__name__ == "Failed"]
    assert [e.cause for e in failed] == [Cause.NO_CIRCUIT_AVAILABLE], kinds(mine)
    assert [e.cause for e in rig.of(Released, (0, 1))][:1] == [Cause.NO_CIRCUIT_AVAILABLE]
    assert rig.trunk.counters["repeat_no_circuit"] == 1 and not rig.of(Reattempted)
    assert rig.of(IncomingCall)[0].called == "8006"


def test_repeat_attempts_zero_keeps_the_old_behaviour():
    rig = ModelRig([1, 2], repeat_attempts=0)
    res = rig.glare((0, 1))
    rig.run(3.0)
    mine = rig.mine(res["call"])
    assert [e.cause for e in mine if type(e).__name__ == "Failed"] == [Cause.TEMPORARY_FAILURE]
    assert not rig.of(Reattempted) and not [r for r in rig.exchange.records if r.direction == "from_us"]


def test_a_second_double_seizure_on_the_repeat_ends_the_call_with_cause_41():
    rig = ModelRig([1, 2])
    res = rig.glare((0, 1))
    # the network seizes circuit 2 too, in the block our repeat seizes it
    rig.exchange.place_call(CallScript(at=rig.now, called="8007", calling="7", hold_for=None))
    rig.run(4.0)
    mine = rig.mine(res["call"])
    assert kinds(mine)[:2] == ["Originated", "Reattempted"] and kinds(mine)[-1] == "Failed", kinds(mine)
    assert mine[-1].cause == Cause.TEMPORARY_FAILURE and mine[-1].ts == 2
    assert rig.trunk.counters["repeat_attempts"] == 1
    assert sorted(e.called for e in rig.of(IncomingCall)) == ["8006", "8007"]
    assert rig.model.validate() == []


def test_one_repeat_attempt_by_default():
    assert No1Config().repeat_attempts == 1 and No1Config(repeat_attempts=0).repeat_attempts == 0
    assert No1Config.from_dict({"repeat_attempts": 2}).repeat_attempts == 2


@pytest.mark.parametrize("bad", [-1, 4, True, 1.0])
def test_repeat_attempts_is_checked(bad):
    with pytest.raises(ValueError):
        No1Config(repeat_attempts=bad)


@pytest.mark.system
def test_far_seizure_during_our_idle_guard_is_repeated_on_another_circuit():
    """Our seizure of (0, 1) waits out our IDLE_GUARD (0.3 s) when the network seizes it (its
    guard: the default 0.1 s): the network's call wins whatever our glare rule (here "hold"), and ours,
    never signalled, is seized again on (0, 2) (Q.12)."""
    rig = ModelRig([1, 2], glare="hold", timers={"IDLE_GUARD": 0.3})
    ex = rig.exchange
    first = rig.model.make_call("agent1", "2001", rig.now, calling="6", circuit=(0, 1))
    rig.run(3.0)
    rig.model.clear_connection(first["call"], rig.now)
    done: dict[str, object] = {}

    def race(now: float) -> None:
        if "ours" not in done and rig.trunk.state((0, 1)) == ("idle", None):
            done["ours"] = rig.model.make_call("agent1", "2001", now, calling="6", circuit=(0, 1))
        elif "ours" in done and "theirs" not in done and ex.trunks[0].state((0, 1)) == ("idle", None):
            done["theirs"] = now
            ex.place_call(CallScript(at=now, called="8006", calling="5", hold_for=None))
    rig.hooks.append(race)              # after the model took this block's trunk events
    rig.run(6.0)
    second = done["ours"]["call"]
    mine = rig.mine(second)
    assert kinds(mine)[:2] == ["Originated", "Reattempted"] and "Established" in kinds(mine), kinds(mine)
    assert (mine[1].old_ts, mine[1].ts) == (1, 2) and "idle guard (ours not sent)" in mine[1].reason
    inc = rig.of(IncomingCall)
    assert [(e.circuit, e.called) for e in inc] == [((0, 1), "8006")]
    ours = [r for r in ex.records if r.direction == "from_us"]
    assert [r.circuit for r in ours] == [(0, 1), (0, 2)] and ours[1].answered_at is not None
    assert rig.model.validate() == []
