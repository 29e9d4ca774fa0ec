"""The events, the snapshot and cti-monitor agree: a CallView fed only the call model's events
shows, after every step, the connection states the snapshot shows (ACD offer, ring-all, ring no
answer, outgoing calls, consultation and transfer, pickup, deflect, user data)."""
from __future__ import annotations

from cti.call import CallModel
from cti.call.loopback import FarBehaviour, LoopbackTrunk
from cti.cli.monitor import CallView


def states_from_snapshot(model) -> dict[str, dict[str, str]]:
    return {c["call"]: {x["device"]: x["state"] for x in c["connections"] if x["state"] != "null"}
            for c in model.snapshot()["calls"]}


def test_monitor_fed_by_events_matches_the_snapshot_after_every_step():
    trunk = LoopbackTrunk([0], [1, 2, 3, 4, 5, 6], signalling="ss7",
                          behaviour=lambda n: FarBehaviour("answer", after=1.0))
    model = CallModel([trunk], routing_devices={"4000"}, pickup_groups={"g": ["8001", "8002"]})
    view = CallView()
    t = [0.0]

    def step(fn=None, dt=0.5):
        t[0] += dt
        if fn is not None:
            fn(t[0])
        model.service(t[0])
        for i, e in enumerate(model.take_events()):
            view.apply({**e.to_dict(), "seq": i + 1, "time": t[0]})
        shown = {cid: c["states"] for cid, c in view.calls.items()}
        assert shown == states_from_snapshot(model), (shown, model.snapshot()["calls"])
        assert model.validate() == []

    step(lambda now: trunk.ring("4000", "13800138000", now))
    acd = next(iter(model.calls))
    step(lambda now: model.queue_call(acd, "sales", now))
    step(lambda now: model.deliver(acd, now, devices=["2000", "2001"]))          # ring-all
    step(lambda now: model.withdraw(acd, "2000", now, queue="sales"))            # 2000 does not answer
    step(lambda now: model.withdraw(acd, "2001", now, queue="sales"))            # back at the route point
    step(lambda now: model.deliver(acd, now, devices=["2002"]))
    step(lambda now: model.answer_call(acd, now, device="2002"))
    step(lambda now: model.update_user_data(acd, {"account": "A-1"}, now))
    out = {}
    step(lambda now: out.update(model.make_call("8005", "66001234", now)))      # outgoing: connected at once
    step(dt=1.5)                                                                 # the far end answers
    step(lambda now: out.update(cons=model.consultation_call(acd, "6601", now, device="2002")["call"]))
    step(dt=1.5)
    step(lambda now: model.transfer_call(acd, out["cons"], now, device="2002"))
    step(lambda now: trunk.ring("8001", "13900001111", now))
    step(lambda now: model.pickup_call("8002", now))
    step(lambda now: trunk.ring("8001", "13811112222", now))
    rung = max(model.calls, key=lambda c: model.calls[c].created)
    step(lambda now: model.deflect_call(rung, "8003", now))
    step(lambda now: model.answer_call(rung, now))
    for cid in list(model.calls):
        step(lambda now, cid=cid: model.clear_connection(cid, now, device=model.calls[cid].live()[0].device)
             if cid in model.calls else None)
    assert model.calls == {} and view.calls == {}
    devices = {c["call"]: c["device"] for c in model.take_cdrs()}
    assert devices[acd] == "2002" and devices[rung] == "8003"
