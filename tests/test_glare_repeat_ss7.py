"""SS7: our call that backs off on dual seizure is placed again on another circuit
(Q.764 2.10.1.4 automatic repeat attempt), seen by the call model as one call.

The rig: our Ss7Trunk (point code 1) against the simulated exchange (point code 2) over a
SOCK_SEQPACKET socketpair, with a small CIC map. The exchange controls the even CICs
(Q.764 2.9.1.4: the higher point code), so both sides seizing an even CIC at once makes us
back off, deterministically.
"""
from __future__ import annotations

import socket

import pytest

from cti.call import CallModel
from cti.signaling.ss7.config import Ss7Config
from cti.signaling.ss7.isup.call import CallState
from cti.signaling.ss7.trunk import Ss7Trunk
from cti.signaling.trunk import IncomingCall, Reattempted, Released
from simulator.exchange.base import Behaviour, Subscriber
from simulator.exchange.ss7 import Ss7Exchange

SUBS = {"104": Subscriber("104", Behaviour.ANSWER, answer_after=0.5, hold_for=None)}


class Rig:
    def __init__(self, cics: dict[int, int], repeat_attempts: int | None = None) -> None:
        cfg = {"cic_map": {str(c): [0, ts] for c, ts in cics.items()}}
        ours = dict(cfg)
        if repeat_attempts is not None:
            ours["repeat_attempts"] = repeat_attempts
        sa, sb = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.trunk = Ss7Trunk([], Ss7Config.from_dict(ours), sockets=[sa])
        self.ex = Ss7Exchange([], SUBS, config=dict(cfg, repeat_attempts=0), sockets=[sb])
        self.model = CallModel([self.trunk])
        self.t = 0.0
        self.tevs: list = []
        self.events: list = []
        self.hook = None        # called with each trunk event of ours, before the exchange runs

    def step(self) -> None:
        for e in self.trunk.service(self.t):
            self.tevs.append(e)
            self.model.on_trunk_event(e, self.trunk)
            if self.hook:
                self.hook(e, self.t)
        self.ex.service(self.t)
        self.events += self.model.take_events()
        self.t = round(self.t + 0.02, 6)

    def run(self, seconds: float) -> None:
        end = self.t + seconds
        while self.t < end:
            self.step()

    def glare(self, circuit, called="104", far_called="8001"):
        """Both sides seize ``circuit`` in the same instant: our MakeCall and the exchange's call."""
        res = self.model.make_call("agent1", called, self.t, calling="5000", circuit=circuit)
        self.ex.trunk.make_call(far_called, "13800138000", self.t, circuit=circuit)
        self.events += self.model.take_events()
        return res


def call_events(events, call):
    return [e for e in events if getattr(e, "call", None) == call]


def up(rig: Rig) -> Rig:
    rig.run(1.0)
    assert rig.trunk.stack.up and rig.ex.up
    return rig


@pytest.mark.system
def test_backed_off_call_is_repeated_on_another_circuit_and_answered():
    rig = up(Rig({1: 1, 2: 2}))
    res = rig.glare((0, 2))
    rig.run(2.0)
    mine = call_events(rig.events, res["call"])
    kinds = [type(e).__name__ for e in mine]
    assert kinds[:2] == ["Originated", "Reattempted"] and "Established" in kinds, kinds
    assert "Failed" not in kinds and "CallCleared" not in kinds
    re = mine[1]
    assert (re.old_span, re.old_ts, re.span, re.ts, re.cause, re.attempt) == (0, 2, 0, 1, 41, 1)
    est = next(e for e in mine if type(e).__name__ == "Established")
    assert (est.ts, est.device) == (1, "trunk/0/1")
    # one call of ours, now on CIC 1; the exchange's call took CIC 2 and is another call
    (trev,) = [e for e in rig.tevs if isinstance(e, Reattempted)]
    assert (trev.circuit, trev.new_circuit) == ((0, 2), (0, 1))
    assert not any(isinstance(e, Released) and e.circuit == (0, 2) and e.cause == 41 for e in rig.tevs)
    inc = [e for e in rig.tevs if isinstance(e, IncomingCall)]
    assert [(e.circuit, e.called) for e in inc] == [((0, 2), "8001")]
    call = rig.model.calls[res["call"]]
    assert call.circuit() == (0, 1) and call.extra["reattempts"][0]["to"] == [0, 1]
    other = [c for c in rig.model.calls.values() if c.id != res["call"]]
    assert len(other) == 1 and other[0].circuit() == (0, 2) and other[0].direction == "in"
    assert rig.model.validate() == []
    assert rig.trunk.counters["repeat_attempts"] == 1 and rig.trunk.stack.isup.counters["glare"] == 1
    # the exchange saw our call once, on CIC 1, and answered it
    (rec,) = [r for r in rig.ex.records if r.direction == "from_us"]
    assert rec.circuit == (0, 1) and rec.answered_at is not None
    assert (rec.called, rec.calling, rec.extra["category"]) == ("104", "5000", 0x0A)   # the same call
    rig.model.clear_connection(res["call"], rig.t)
    rig.run(0.5)
    (cdr,) = [c for c in rig.model.take_cdrs() if c["call"] == res["call"]]
    assert cdr["ts"] == 1 and cdr["outcome"] == "answered"


def test_no_idle_circuit_for_the_repeat_fails_with_cause_34():
    rig = up(Rig({2: 2}))
    res = rig.glare((0, 2))
    rig.run(1.0)
    mine = call_events(rig.events, res["call"])
    failed = [e for e in mine if type(e).__name__ == "Failed"]
    assert len(failed) == 1 and failed[0].cause == 34, [type(e).__name__ for e in mine]
    assert not any(type(e).__name__ == "Reattempted" for e in mine)
    rel = [e for e in rig.tevs if isinstance(e, Released) and e.circuit == (0, 2)]
    assert [e.cause for e in rel] == [34]
    assert rig.trunk.counters["repeat_no_circuit"] == 1


def test_repeat_attempts_zero_keeps_the_old_behaviour():
    rig = up(Rig({1: 1, 2: 2}, repeat_attempts=0))
    res = rig.glare((0, 2))
    rig.run(1.0)
    mine = call_events(rig.events, res["call"])
    assert [e.cause for e in mine if type(e).__name__ == "Failed"] == [41]
    assert not any(isinstance(e, Reattempted) for e in rig.tevs)
    assert rig.trunk.state((0, 1)) is CallState.IDLE


def test_a_second_glare_on_the_repeat_ends_the_call_with_cause_41():
    rig = up(Rig({2: 2, 4: 4}))          # both circuits even: the exchange wins both

    def far_seizes_the_repeat_circuit(e, now):
        if isinstance(e, Reattempted):
            rig.ex.trunk.make_call("8002", "13800138001", now, circuit=e.new_circuit)
    rig.hook = far_seizes_the_repeat_circuit
    res = rig.glare((0, 2))
    rig.run(1.0)
    mine = call_events(rig.events, res["call"])
    kinds = [type(e).__name__ for e in mine]
    assert kinds[:2] == ["Originated", "Reattempted"] and kinds[-1] == "Failed", kinds
    assert mine[-1].cause == 41 and mine[-1].ts == 4
    assert rig.trunk.stack.isup.counters["glare"] == 2 and rig.trunk.counters["repeat_attempts"] == 1
    inc = sorted(e.called for e in rig.tevs if isinstance(e, IncomingCall))
    assert inc == ["8001", "8002"]
    assert rig.model.validate() == []


@pytest.mark.parametrize("bad", [-1, 4, True, "1", 1.5])
def test_repeat_attempts_is_checked(bad):
    with pytest.raises(ValueError):
        Ss7Config.from_dict({"repeat_attempts": bad})


@pytest.mark.system
def test_dialler_counts_a_repeat_attempted_call_once(tmp_path):
    """A campaign attempt whose call backs off on glare and is repeated is one attempt with one
    outcome: the dialler follows calls by call id, which the repeat keeps."""
    from cti.contact.outbound import Dialler
    csv = tmp_path / "numbers.csv"
    csv.write_text("number,name\n104,Ann\n")
    dialler = Dialler({"c": {"csv": str(csv), "queue": "out", "max_attempts": 1, "answer_wait": 0.0,
                             "tones": ""}}, {"out"})
    dialler.start("c")
    rig = up(Rig({2: 2, 4: 4}))          # the exchange controls both: allocate() takes CIC 2 first

    def dial(device, number, trunk):
        got = rig.model.make_call(device, number, rig.t)
        rig.ex.trunk.make_call("8001", "13800138000", rig.t, circuit=(got["span"], got["ts"]))
        return got
    reports = []
    seen = 0
    for _ in range(150):
        reports += dialler.tick(rig.t, lambda q: 1, dial)[0]
        rig.step()
        for e in rig.events[seen:]:          # what the contact centre does with call-model events
            kind = type(e).__name__
            if kind == "Established" and e.call in dialler.attempts and e.device.startswith("trunk/"):
                reports.append(dialler.answered(e.call, rig.t))
            elif kind in ("Failed", "CallCleared"):
                reports.append(dialler.ended(e.call, e.cause, rig.t))
        seen = len(rig.events)
    reports = [r for r in reports if r is not None]
    assert rig.trunk.counters["repeat_attempts"] == 1
    assert [(r.number, r.outcome.value) for r in reports] == [("104", "answered")]
    assert dialler.summary("c")["answered"] == 1 and dialler.summary("c")["pending"] == 0
    assert len(dialler.results) == 1 and len(dialler.attempts) == 1      # the live, answered call
