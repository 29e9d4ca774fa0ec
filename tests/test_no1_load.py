"""No.1 under load, in virtual time: calls back to back on reused circuits over two spans.

Regression for calls the simulated exchange used to give up: its timers (the caller's
patience, the called party's answer delay, the hold time) were keyed by circuit, so a timer
of a call already released fired on the *next* call seized on the same circuit (e.g. an
answered call's patience abandoned a later caller in the middle of the MFC exchange). A new
seizure after clear-forward and release guard is a new call (Q.421 clause 5); every call placed must end answered, abandoned by its own scripted
patience, refused by a defined outcome (our B signal, no circuit free), or cleared by us.

The deterministic cases run on the compiled MF kernel and on its twin; the seeded load
runs on the compiled kernel, and a shorter load on the twin.
"""
from __future__ import annotations

import random
import sys
from collections import Counter
from pathlib import Path

import pytest

from cti.signaling import no1 as _no1  # noqa: F401  (the package must import)
from cti.signaling.causes import Cause
from cti.signaling.no1 import trunk as trunk_mod
from cti.signaling.no1.trunk import No1Trunk
from cti.signaling.trunk import Alerting, Answered, IncomingCall, Reattempted, Released, TrunkError
from simulator.exchange.base import Behaviour, CallScript, Subscriber
from simulator.exchange.no1 import No1Exchange

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import kernel_impls, load_impl
from no1_rig import STEP, Rig, open_sim

pytestmark = pytest.mark.load

DEFINED = {"answered", "abandoned", "no_circuit", "refused:busy", "refused:unallocated",
           "refused:congestion", "released_by_us"}


@pytest.fixture(params=kernel_impls("mf"))
def mf_impl(request, monkeypatch):
    """Run both ends' MFC registers on the compiled MF kernel or on its pure-Python twin."""
    mod = load_impl(request.param)
    monkeypatch.setattr(trunk_mod, "MfDetector", mod.MfDetector)
    monkeypatch.setattr(trunk_mod, "MfGenerator", mod.MfGenerator)
    return request.param[0]


def one_circuit_rig(**kw) -> Rig:
    """Our trunk and the exchange on timeslot 1 only: every call reuses the same circuit."""
    return Rig(ours={"timeslots": [1]}, theirs={"timeslots": [1]}, **kw)


def to_us(rig: Rig) -> list:
    return [r for r in rig.exchange.records if r.direction == "to_us"]


# ------------------------------------------------------------------ deterministic regressions

def test_an_earlier_callers_patience_does_not_abandon_the_next_call(mf_impl):
    rig = one_circuit_rig(on_call="alert")
    ex = rig.exchange
    # A: patience 9 s, answered by us at once, cleared by the network after 0.5 s
    ex.place_call(CallScript(at=0.1, called="4000", calling="1", hold_for=0.5, abandon_after=9.0))
    inc_a = rig.wait(IncomingCall)
    rig.trunk.answer(inc_a.circuit, rig.now)
    rig.wait(Released, circuit=inc_a.circuit)
    rig.run(0.5)
    # B: on the same circuit, no patience (waits for us); we only alert it
    ex.place_call(CallScript(at=rig.now + 0.1, called="4001", calling="2", hold_for=None))
    rig.run(15.0 - rig.now)            # past A's patience (seized ~0.1 + 9 s)
    a, b = to_us(rig)
    assert a.circuit == b.circuit and a.outcome == "answered"
    assert b.cleared_at is None and b.alerted_at is not None, ex.explain(b)
    assert ex.stale_timers == 1        # A's patience fired on the circuit and was ignored
    rig.trunk.answer(b.circuit, rig.now)
    rig.run(1.0)
    rig.trunk.release(b.circuit, Cause.NORMAL_CLEARING, rig.now)
    rig.run(1.0)
    assert [ex.explain(r) for r in (a, b)] == ["answered", "answered"]
    assert (b.cleared_by, b.outcome) == ("near", "answered") and rig.all_idle()


def test_an_earlier_calls_hold_time_does_not_clear_the_next_call(mf_impl):
    rig = one_circuit_rig(on_call="answer")
    ex = rig.exchange
    ex.place_call(CallScript(at=0.1, called="4000", calling="1", hold_for=8.0))   # A: 8 s hold ...
    inc_a = rig.wait(IncomingCall)
    rig.run(1.0)
    rig.trunk.release(inc_a.circuit, Cause.NORMAL_CLEARING, rig.now)             # ... but we clear first
    rig.wait(Released, circuit=inc_a.circuit)
    rig.run(0.5)
    ex.place_call(CallScript(at=rig.now + 0.1, called="4001", calling="2", hold_for=None))
    rig.run(14.0 - rig.now)            # past A's hang-up time
    a, b = to_us(rig)
    assert b.answered_at is not None and b.cleared_at is None, ex.explain(b)
    assert ex.stale_timers == 1
    rig.trunk.release(b.circuit, Cause.NORMAL_CLEARING, rig.now)
    rig.run(1.0)
    assert [(r.cleared_by, ex.explain(r)) for r in (a, b)] == [("near", "answered"), ("near", "answered")]


def test_an_earlier_answer_delay_does_not_answer_our_next_call(mf_impl):
    subs = {"2001": Subscriber("2001", Behaviour.ANSWER, answer_after=6.0, hold_for=None),
            "2006": Subscriber("2006", Behaviour.NO_ANSWER)}
    rig = one_circuit_rig(subscribers=subs, on_call=None)
    first = rig.trunk.make_call("2001", "1", rig.now)
    rig.wait(Alerting, circuit=first)   # B1: the network set its answer timer (6 s)
    rig.run(0.5)
    rig.trunk.release(first, Cause.NORMAL_CLEARING, rig.now)
    rig.wait(Released, circuit=first)
    rig.run(0.5)
    second = rig.trunk.make_call("2006", "1", rig.now)
    assert second == first
    rig.run(10.0)                       # past the first call's answer time
    assert not rig.of(Answered), "a no-answer subscriber was answered by an earlier call's timer"
    assert rig.exchange.stale_timers == 1
    rig.trunk.release(second, Cause.NORMAL_CLEARING, rig.now)
    rig.run(1.0)
    recs = [r for r in rig.exchange.records if r.direction == "from_us"]
    assert [rig.exchange.explain(r) for r in recs] == ["released_by_us", "no_answer"]
    assert rig.all_idle()


def test_the_network_does_not_seize_a_circuit_before_we_saw_it_idle(mf_impl):
    """Our call on (0, 1) ends with our clear-forward; the network returns idle after its release
    guard and has a call to place 20 ms later. Seizing at once would replace its idle before our
    side recognised it (20 ms debounce): we would never leave clear-forward, it would never get a
    seizure acknowledgement and would give the call up (T_SEIZE_ACK, cause 102). Now the seizure
    waits until the idle has lasted IDLE_GUARD, and the call goes through on (0, 1)."""
    subs = {"2001": Subscriber("2001", Behaviour.ANSWER, answer_after=0.2, hold_for=None)}
    rig = Rig(ours={"timeslots": [1]}, theirs={"timeslots": [1]}, subscribers=subs, on_call="answer")
    ex = rig.exchange
    ours = rig.trunk.make_call("2001", "1", rig.now)
    rig.wait(Answered, circuit=ours)
    rig.trunk.release(ours, Cause.NORMAL_CLEARING, rig.now)
    placed: list[float] = []
    sent: list[tuple[float, int]] = []

    def place_when_idle(now: float) -> None:      # runs after the exchange's service each block
        line = ex.trunks[0].channels[1].line
        if not placed and line.state.value == "idle":
            placed.append(now)
            ex.place_call(CallScript(at=now, called="4000", calling="2", hold_for=1.0))
        elif placed and not sent and line.seize_at is None and line.state.value == "out_seized":
            sent.append((now, line.idle_since))
    rig.hooks.append(place_when_idle)
    rig.run(6.0)
    (rec,) = to_us(rig)
    assert ex.explain(rec) == "answered" and rec.circuit == ours, ex.explain(rec)
    assert rec.seized_at - placed[0] < 0.05                      # taken at once ...
    assert sent[0][0] - sent[0][1] >= 0.1 - 1e-9                 # ... seizure sent after the guard
    assert [r.cleared_by for r in ex.records] == ["near", "far"] and rig.all_idle()


def test_a_network_call_that_loses_its_circuit_in_the_guard_is_repeated_on_another(mf_impl):
    """The network's seizure of (0, 1) waits out its idle guard (0.3 s here); we seize (0, 1)
    first (our guard 0.04 s). Its call lost the circuit before anything was signalled, so it
    makes one automatic repeat attempt (Q.12) on (0, 2): both calls go through."""
    subs = {"2001": Subscriber("2001", Behaviour.ANSWER, answer_after=0.2, hold_for=2.0)}
    rig = Rig(ours={"timeslots": [1, 2], "timers": {"IDLE_GUARD": 0.04}},
              theirs={"timeslots": [1, 2], "timers": {"IDLE_GUARD": 0.3}}, subscribers=subs, on_call="answer")
    ex = rig.exchange
    first = rig.trunk.make_call("2001", "1", rig.now, circuit=(0, 1))
    rig.wait(Answered, circuit=first)
    rig.trunk.release(first, Cause.NORMAL_CLEARING, rig.now)
    done: dict[str, object] = {}

    def race(now: float) -> None:
        if "theirs" not in done and ex.trunks[0].state((0, 1)) == ("idle", None):
            done["theirs"] = now
            ex.place_call(CallScript(at=now, called="4000", calling="2", hold_for=1.0))
        elif "theirs" in done and "ours" not in done and rig.trunk.state((0, 1)) == ("idle", None):
            done["ours"] = rig.trunk.make_call("2001", "1", now, circuit=(0, 1))
    rig.hooks.append(race)
    rig.run(8.0)
    (theirs,) = to_us(rig)
    assert theirs.extra["repeat_of"] == (0, 1) and theirs.circuit == (0, 2)
    assert ex.explain(theirs) == "answered", ex.explain(theirs)
    ours = [r for r in ex.records if r.direction == "from_us"]
    assert [(r.circuit, ex.explain(r)) for r in ours] == [((0, 1), "answered"), ((0, 1), "answered")]
    assert rig.all_idle()


def test_idle_guard_holds_a_seizure_back():
    from cti.signaling.no1.line import AB_IDLE, AB_SEIZE, Line
    from cti.signaling.no1.timers import LINE_TIMERS
    spec = LINE_TIMERS["IDLE_GUARD"]
    assert "Q.421" in spec.clause and spec.default == 0.1
    line = Line("cn", {"IDLE_GUARD": 0.3})
    line.seize(0.0)                                # never used: no guard
    assert line.data_to_send(0.0) >> 2 == AB_SEIZE and line.seize_at is None
    line.clear(0.5)                                # far end idle all along: released at once
    assert line.state.value == "idle" and line.idle_since == 0.5
    line.seize(0.6)                                # within the guard: held back
    assert line.state.value == "out_seized" and line.data_to_send(0.0) >> 2 == AB_IDLE
    assert line.seize_at == pytest.approx(0.8) and line.timer_deadline() == pytest.approx(0.8)
    line.handle_timer(0.79)
    assert line.data_to_send(0.0) >> 2 == AB_IDLE
    line.handle_timer(0.8)
    assert line.data_to_send(0.0) >> 2 == AB_SEIZE and line.seize_at is None


@pytest.mark.parametrize("glare", ["yield", "hold"])
def test_far_seizure_during_the_guard_is_not_a_double_seizure(glare):
    """Our seizure was held back (never sent): the far end's seizure wins whatever our glare rule."""
    from cti.signaling.no1.line import AB_ACK, AB_SEIZE, Line
    line = Line("cn", {"IDLE_GUARD": 0.3}, glare=glare)
    line.seize(0.0)
    line.clear(0.5)
    line.seize(0.55)
    line.receive((AB_SEIZE << 2) | 0b11, 0.6)
    line.handle_timer(0.62)
    kinds = [e.kind for e in line.events()]
    assert kinds[-2:] == ["glare", "seized"] and line.state.value == "in_seized"
    assert line.data_to_send(0.0) >> 2 == AB_ACK and line.seize_at is None


# ------------------------------------------------------------------ seeded load over two spans

#: numbers we call on the network, how they respond, and the cause our side must see
SUBSCRIBERS = {
    "5001": (Subscriber("5001", Behaviour.ANSWER, answer_after=1.0, hold_for=6.0), Cause.NORMAL_CLEARING),
    "5002": (Subscriber("5002", Behaviour.BUSY), Cause.USER_BUSY),
    "5003": (Subscriber("5003", Behaviour.UNALLOCATED), Cause.UNALLOCATED_NUMBER),
    "5004": (Subscriber("5004", Behaviour.CONGESTION), Cause.SWITCHING_EQUIPMENT_CONGESTION),
    "5005": (Subscriber("5005", Behaviour.NO_ANSWER), Cause.NORMAL_CLEARING),   # we give up after 8 s
}


class TwoSpans:
    """Our No1Trunk on spans 0 and 1, the exchange on both far ends. Our side alerts every
    incoming call, answers it after a drawn delay (or refuses it busy) and clears it after a
    drawn hold unless the network clears first; it also calls the network's SUBSCRIBERS now
    and then (hunting from the top while the network hunts from the bottom, so double
    seizures happen only when the spans are nearly full). Serviced every 20 ms block."""

    def __init__(self, seed: int, outgoing_gap: float | None = None) -> None:
        self.board = open_sim(2)
        self.rng = random.Random(seed)
        self.trunks = [No1Trunk(self.board.span(n), {"dnis_length": 4, "ani": True}) for n in (0, 1)]
        self.exchange = No1Exchange([self.board.far_end(0), self.board.far_end(1)],
                                    {n: sub for n, (sub, _) in SUBSCRIBERS.items()}, config={"dnis_length": 4})
        self.todo: list[tuple[float, str, tuple[int, int]]] = []
        self.incoming: dict[str, IncomingCall] = {}     # calling -> what reached us
        self.released: Counter = Counter()               # circuit -> Released of incoming calls
        self.outgoing: dict[tuple[int, int], str] = {}   # circuit -> number we are calling
        self.ours: Counter = Counter()                   # how our calls ended (defined outcomes)
        self.unexpected: list = []
        self.outgoing_gap = outgoing_gap
        self.next_out = 1.0 if outgoing_gap else float("inf")
        self.board.add_ticker(self._tick)

    def _trunk(self, circuit: tuple[int, int]) -> No1Trunk:
        return self.trunks[circuit[0]]

    def _place_ours(self, now: float) -> None:
        number = self.rng.choice(sorted(SUBSCRIBERS))
        trunk = self.trunks[self.rng.randrange(2)]
        try:
            circuit = trunk.make_call(number, "88880000", now)
        except TrunkError as exc:
            assert exc.cause == Cause.NO_CIRCUIT_AVAILABLE, exc
            self.ours["no_circuit"] += 1
            return
        self.outgoing[circuit] = number
        if number == "5005":
            self.todo.append((now + 8.0, "clear", circuit))

    def _our_call_ended(self, ev: Released) -> None:
        number = self.outgoing.pop(ev.circuit)
        if ev.cause in (Cause.TEMPORARY_FAILURE, Cause.NO_CIRCUIT_AVAILABLE) and "double seizure" in ev.reason:
            self.ours["glare"] += 1                      # Q.421: the far end's call won
        elif ev.cause == SUBSCRIBERS[number][1]:
            self.ours[SUBSCRIBERS[number][0].behaviour.value] += 1
        else:
            self.unexpected.append((number, ev))

    def _tick(self, now: float) -> None:
        while self.next_out <= now:
            self._place_ours(now)
            self.next_out += self.rng.expovariate(1 / self.outgoing_gap)
        for trunk in self.trunks:
            for ev in trunk.service(now):
                if isinstance(ev, IncomingCall):
                    assert ev.calling not in self.incoming, f"{ev.calling} offered twice"
                    assert ev.circuit not in self.outgoing, f"{ev} on a circuit of our live call"
                    self.incoming[ev.calling] = ev
                    if self.rng.random() < 0.05:
                        trunk.release(ev.circuit, Cause.USER_BUSY, now)
                        continue
                    trunk.alert(ev.circuit, now)
                    self.todo.append((now + self.rng.uniform(0.5, 12.0), "answer", ev.circuit))
                elif isinstance(ev, Answered):
                    assert self.outgoing.get(ev.circuit) == "5001", ev
                elif isinstance(ev, Reattempted):     # Q.12: our call moved to another circuit
                    self.outgoing[ev.new_circuit] = self.outgoing.pop(ev.circuit)
                    self.todo = [(t, k, ev.new_circuit if c == ev.circuit else c) for t, k, c in self.todo]
                    self.ours["repeat"] += 1
                elif isinstance(ev, Released):
                    self.todo = [t for t in self.todo if t[2] != ev.circuit]
                    if ev.circuit in self.outgoing:
                        self._our_call_ended(ev)
                    else:
                        self.released[ev.circuit] += 1
        due = [t for t in self.todo if t[0] <= now]
        self.todo = [t for t in self.todo if t[0] > now]
        for _, what, circuit in due:
            trunk = self._trunk(circuit)
            if what == "answer":
                trunk.answer(circuit, now)
                self.todo.append((now + self.rng.uniform(1.0, 25.0), "clear", circuit))
            else:
                trunk.release(circuit, Cause.NORMAL_CLEARING, now)
        self.exchange.service(now)

    def run(self, seconds: float) -> None:
        for _ in range(round(seconds / STEP)):
            self.board.advance(STEP)

    def all_idle(self) -> bool:
        return all(t.state(c) == ("idle", None) for t in self.trunks for c in t.circuits())


def run_load(calls: int, seed: int, mean_gap: float, outgoing_gap: float | None = None) -> tuple[TwoSpans, Counter]:
    sim = TwoSpans(seed, outgoing_gap)
    rng = random.Random(seed + 1)
    t = 0.2
    for n in range(calls):
        t += rng.expovariate(1 / mean_gap)
        r = rng.random()
        patience = None if r < 0.6 else rng.uniform(1.0, 6.0) if r < 0.8 else rng.uniform(6.0, 40.0)
        hold = rng.choice([None, rng.uniform(2.0, 20.0)])
        sim.exchange.place_call(CallScript(at=t, called="4000", calling=f"1390000{n:04d}",
                                           hold_for=hold, abandon_after=patience))
    sim.run(t + 60.0)
    sim.next_out = float("inf")
    sim.run(60.0)
    why = Counter(sim.exchange.explain(r) for r in sim.exchange.records if r.direction == "to_us")
    return sim, why


def check_accounted(sim: TwoSpans, why: Counter, calls: int) -> None:
    ex = sim.exchange
    records = [r for r in ex.records if r.direction == "to_us"]
    assert len(records) == calls
    unexplained = [(r.calling, r.circuit, ex.explain(r)) for r in records if ex.explain(r) not in DEFINED]
    assert unexplained == []
    assert sum(why.values()) == calls
    # the exchange's view against ours, call by call
    for r in records:
        kind = ex.explain(r)
        reached = r.calling in sim.incoming
        if kind in ("answered", "refused:busy", "released_by_us"):
            assert reached, (r.calling, kind)
        elif kind == "abandoned":
            script = r.extra["script"]
            assert r.extra["abandoned_at"] >= r.seized_at + script.abandon_after
            assert r.extra["abandoned_at"] - (r.seized_at + script.abandon_after) < 2 * STEP
        elif kind == "no_circuit":
            assert not reached and r.circuit is None
    answered = sum(1 for r in records if ex.explain(r) == "answered")
    refused = sum(1 for r in records if ex.explain(r) == "refused:busy")
    abandoned_unseen = [r for r in records if ex.explain(r) == "abandoned" and r.calling not in sim.incoming]
    assert answered + refused + why["released_by_us"] + why["abandoned"] - len(abandoned_unseen) \
        == len(sim.incoming), "every call that reached us is accounted for once"
    # a caller never reached us only by running out of patience during the register
    # exchange (never by a signalling failure) or because no circuit was free
    assert all(r.alerted_at is None and r.answered_at is None for r in abandoned_unseen)
    assert sum(sim.released.values()) == len(sim.incoming)
    # our calls: each ended with its subscriber's cause, no circuit free, or lost a double seizure
    assert sim.unexpected == [] and not sim.outgoing
    theirs = [r for r in ex.records if r.direction == "from_us"]
    assert [(r.called, ex.explain(r)) for r in theirs if ex.explain(r) not in DEFINED | set(Behaviour)] == []
    assert sim.all_idle() and not ex.active_calls()


def test_seeded_load_two_spans_every_call_accounted():
    calls = 240
    sim, why = run_load(calls, seed=9, mean_gap=0.25, outgoing_gap=2.0)
    check_accounted(sim, why, calls)
    assert sum(sim.ours.values()) > 60 and sim.ours["answer"] > 5 and sim.ours["no_circuit"] > 0
    # the load exercised what it is for: circuits reused while earlier calls' timers were
    # still running, callers giving up during MFC and in ringing, and all circuits busy
    assert sim.exchange.stale_timers > 10
    assert why["answered"] > calls // 2 and why["abandoned"] > 20
    assert why["no_circuit"] > 0 and why["refused:busy"] > 0


def test_seeded_load_on_the_twin_kernel(monkeypatch):
    mod = load_impl(("py", "mf"))
    monkeypatch.setattr(trunk_mod, "MfDetector", mod.MfDetector)
    monkeypatch.setattr(trunk_mod, "MfGenerator", mod.MfGenerator)
    calls = 30
    sim, why = run_load(calls, seed=4, mean_gap=1.0)
    check_accounted(sim, why, calls)
    assert why["answered"] > calls // 2
