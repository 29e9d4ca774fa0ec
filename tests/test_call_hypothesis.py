"""Random interleavings of network signals and call-control commands never break the model."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti.call import CallControlError, CallModel
from cti.call.events import CallCleared
from cti.call.loopback import FarBehaviour, LoopbackTrunk
from cti.signaling.trunk import TrunkError

OUTCOMES = ["answer", "busy", "no_answer", "unallocated"]


class Media:
    def send_digits(self, circuit, digits, now):
        pass

    def bridge(self, circuits):
        pass


step = st.tuples(
    st.sampled_from(["ring", "far_answer", "far_clear", "far_digits", "block", "unblock", "tick",
                     "make", "answer", "clear", "hold", "retrieve", "consult", "transfer",
                     "conference", "sst", "digits", "clear_remote", "alternate", "reconnect", "deflect",
                     "pickup", "route", "offer", "withdraw", "userdata"]),
    st.integers(0, 10), st.integers(0, 10), st.sampled_from(OUTCOMES),
)


def _run(steps, ok=None):
    """Apply ``steps``; check the invariants after each; count successful commands in ``ok``."""
    outcome = {"v": "answer"}
    trunk = LoopbackTrunk([0, 1], [1, 2, 3], behaviour=lambda n: FarBehaviour(outcome["v"], after=0.3, hold_for=2.0))
    model = CallModel([trunk], media=Media(), fail_linger=1.0, routing_devices={"8002"},
                      pickup_groups={"g": ["8000", "8001", "8003"]})
    circuits = trunk.circuits()
    now = 0.0
    cleared: set[str] = set()
    for kind, i, j, out in steps:
        outcome["v"] = out
        calls = sorted(model.calls)
        cid = calls[i % len(calls)] if calls and i < 9 else f"bogus{i}"
        cid2 = calls[j % len(calls)] if calls else "bogus"
        circ = circuits[i % len(circuits)]
        pairs = [(c.extra["consultation_of"], c.id) for c in model.calls.values()
                 if c.extra.get("consultation_of") in model.calls]
        if kind in ("transfer", "conference", "alternate", "reconnect") and pairs and i % 3:
            cid, cid2 = pairs[j % len(pairs)]      # mostly a held call and its consultation call
        try:
            if kind == "ring":
                trunk.ring("800" + str(j % 3), "139" + str(i), now)
            elif kind == "far_answer":
                trunk.far_answer(circ, now)
            elif kind == "far_clear":
                trunk.far_clear(circ, now, cause=16 + j % 3)
            elif kind == "far_digits":
                trunk.far_digits(circ, "123", now)
            elif kind in ("block", "unblock"):
                trunk.block(circ, now, kind == "block")
            elif kind == "tick":
                now += 0.1 * (j + 1)
            elif kind == "make":
                model.make_call("800" + str(j % 3), "66" + str(i), now)
            elif kind == "answer":
                model.answer_call(cid, now)
            elif kind == "clear":
                model.clear_connection(cid, now, cause=16 + j % 5)
            elif kind == "clear_remote":
                dev = next(iter(model.calls[cid].connections)) if cid in model.calls else "x"
                model.clear_connection(cid, now, device=dev)
            elif kind == "hold":
                model.hold_call(cid, now)
            elif kind == "retrieve":
                model.retrieve_call(cid, now)
            elif kind == "consult":
                model.consultation_call(cid, "55" + str(j), now)
            elif kind == "transfer":
                model.transfer_call(cid, cid2, now)
            elif kind == "conference":
                model.conference_call(cid, cid2, now)
            elif kind == "sst":
                model.single_step_transfer(cid, "77" + str(j), now)
            elif kind == "digits":
                model.send_digits(cid, "1#", now)
            elif kind == "alternate":
                model.alternate_call(cid, cid2, now)
            elif kind == "reconnect":
                model.reconnect_call(cid, cid2, now)
            elif kind == "deflect":
                model.deflect_call(cid, "800" + str(j % 4), now)
            elif kind == "pickup":
                model.pickup_call("800" + str(j % 4), now)
            elif kind == "route":                  # 8002 is a route point: the ACD queues its calls
                model.queue_call(cid, "q", now)
            elif kind == "offer":
                model.deliver(cid, now, devices=["20" + str(j % 3)] + (["21"] if i % 2 else []))
            elif kind == "withdraw":
                model.withdraw(cid, "20" + str(j % 3), now, queue="q" if i % 2 else None)
            elif kind == "userdata":
                model.update_user_data(cid, {f"k{j}": "v" * i}, now)
            if ok is not None:
                ok[kind] += 1
        except (CallControlError, TrunkError):
            pass
        model.service(now)
        assert model.validate() == [], (kind, model.validate())
        for e in model.take_events():
            if not hasattr(e, "call"):
                continue
            assert e.call not in cleared, f"event after CallCleared: {e}"
            if isinstance(e, CallCleared):
                cleared.add(e.call)
                assert e.call not in model.calls
        for c in model._busy:
            assert trunk.state[c] != "idle", c
    # drain: far ends clear everything, lingering failures expire; every call ends with a CDR
    for c in circuits:
        trunk.far_clear(c, now)
    for cid in list(model.calls):
        try:
            model.clear_connection(cid, now)
        except CallControlError:
            pass
    model.service(now + 10)
    assert model.calls == {} and model.validate() == []
    cdr_ids = {c["call"] for c in model.take_cdrs()}
    for e in model.take_events():
        if isinstance(e, CallCleared):
            cleared.add(e.call)
    assert cleared <= cdr_ids, "a cleared call without a CDR"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(st.lists(step, min_size=1, max_size=60))
def test_random_sequences_keep_the_model_valid(steps):
    _run(steps)


def test_a_long_seeded_walk_exercises_every_command():
    """Not vacuous: over a long random walk every command succeeds at least once."""
    import collections
    import random
    rng = random.Random(7)
    kinds = ["ring", "ring", "far_answer", "far_clear", "far_digits", "block", "unblock", "tick", "make",
             "answer", "answer", "clear", "hold", "retrieve", "consult", "transfer", "conference", "sst",
             "digits", "clear_remote", "alternate", "reconnect", "deflect", "pickup", "route", "offer", "offer",
             "withdraw", "userdata"]
    ok: collections.Counter[str] = collections.Counter()
    _run([(rng.choice(kinds), rng.randint(0, 10), rng.randint(0, 10), rng.choice(OUTCOMES))
          for _ in range(4000)], ok)
    for kind in ("make", "answer", "clear", "hold", "retrieve", "consult", "transfer", "conference", "sst",
                 "digits", "clear_remote", "alternate", "reconnect", "deflect", "pickup", "route", "offer",
                 "withdraw", "userdata"):
        assert ok[kind] > 0, (kind, ok)
