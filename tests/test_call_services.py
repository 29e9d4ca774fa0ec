"""CSTA services of the call model (cti.call.services) on the loopback trunk: AlternateCall,
ReconnectCall, DeflectCall, group PickupCall, user data (Attach / Update / Delete), and
outgoing calls whose events and snapshot agree; each refused request changes nothing."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.call import (CallModel, ConnectionState, InvalidDeviceError, InvalidParameterError,
                      InvalidStateError)
from cti.call.loopback import FarBehaviour, LoopbackTrunk
from cti.call.services import USER_DATA_BYTES, USER_DATA_KEYS, USER_DATA_VALUE

S = ConnectionState


class Media:
    def __init__(self) -> None:
        self.bridges: list[list] = []

    def send_digits(self, circuit, digits, now):
        pass

    def bridge(self, circuits):
        self.bridges.append(circuits)


def setup(**kw):
    trunk = LoopbackTrunk([0], [1, 2, 3, 4, 5, 6], signalling="ss7",
                          behaviour=lambda n: FarBehaviour("answer", after=1.0))
    return trunk, CallModel([trunk], media=Media(), **kw)


def seen(model):
    return [(type(e).__name__, e.device, e.state) for e in model.take_events()]


def incoming(trunk, model, called="8001", calling="13800138000", t=0.0):
    trunk.ring(called, calling, t)
    model.service(t)
    evs = model.take_events()
    return evs[0].call


def answered_with_consultation(trunk, model):
    a = incoming(trunk, model)
    model.answer_call(a, 1.0)
    b = model.consultation_call(a, "6601", 2.0)["call"]
    model.service(3.5)                 # the consulted party rings and answers
    model.take_events()
    return a, b


def snapshot_states(model, call):
    return {c["device"]: c["state"] for c in next(c for c in model.snapshot()["calls"] if c["call"] == call)["connections"]}


def test_alternate_call_holds_the_active_and_retrieves_the_held():
    trunk, model = setup()
    a, b = answered_with_consultation(trunk, model)
    assert model.alternate_call(a, b, 4.0) == {"call": a, "held_call": b}
    assert seen(model) == [("Held", "8001", "hold"), ("Retrieved", "8001", "connected")]
    assert model.calls[a].connections["8001"].state is S.CONNECTED
    assert model.calls[b].connections["8001"].state is S.HOLD
    model.alternate_call(b, a, 5.0)                 # and back
    assert seen(model) == [("Held", "8001", "hold"), ("Retrieved", "8001", "connected")]
    with pytest.raises(InvalidStateError):          # the "held" call is not held
        model.alternate_call(b, a, 6.0)
    assert model.take_events() == [] and model.validate() == []


def test_reconnect_call_ends_the_consultation_and_retrieves():
    trunk, model = setup()
    a, b = answered_with_consultation(trunk, model)
    model.reconnect_call(a, b, 4.0)
    evs = seen(model)
    assert evs[0] == ("ConnectionCleared", "8001", "null")
    assert ("CallCleared", evs[-2][1], "null") == evs[-2] and evs[-1] == ("Retrieved", "8001", "connected")
    assert b not in model.calls and model.calls[a].connections["8001"].state is S.CONNECTED
    assert model.take_cdrs()[0]["call"] == b and model.validate() == []


def test_deflect_call_diverts_and_delivers_at_the_new_device_once():
    trunk, model = setup()
    cid = incoming(trunk, model)
    assert model.deflect_call(cid, "8002", 1.0) == {"call": cid, "device": "8002"}
    assert seen(model) == [("Diverted", "8001", "null"), ("Delivered", "8002", "alerting")]
    with pytest.raises(InvalidDeviceError):         # 8001 is no longer a party
        model.deflect_call(cid, "8003", 1.5, device="8001")
    with pytest.raises(InvalidStateError):          # to a device that is in the call already
        model.deflect_call(cid, "8002", 1.5, device="8002")
    model.answer_call(cid, 2.0)
    assert seen(model) == [("Established", "8002", "connected")]
    with pytest.raises(InvalidStateError):          # only a ringing call can be deflected
        model.deflect_call(cid, "8003", 2.5)
    assert [r[0] for r in trunk.requests].count("alert") == 1
    trunk.far_clear(model.calls[cid].circuit(), 5.0)
    model.service(5.0)
    assert model.take_cdrs()[0]["device"] == "8002"


def test_group_pickup_answers_the_longest_ringing_call_of_the_group():
    trunk, model = setup(pickup_groups={"front": ["8001", "8002", "8003"], "back": ["8009"]})
    first = incoming(trunk, model, called="8001", t=0.0)
    second = incoming(trunk, model, called="8002", t=1.0)
    with pytest.raises(InvalidParameterError, match="no pickup group"):
        model.pickup_call("8010", 2.0)
    with pytest.raises(InvalidStateError, match="no call rings"):
        model.pickup_call("8009", 2.0)
    with pytest.raises(InvalidParameterError, match="unknown pickup group"):
        model.pickup_call("8003", 2.0, group="nope")
    assert model.pickup_call("8003", 2.0) == {"call": first, "device": "8003"}
    assert seen(model) == [("Diverted", "8001", "null"), ("Established", "8003", "connected")]
    assert ("answer", model.calls[first].circuit(), 2.0) in trunk.requests
    assert model.pickup_call("8001", 3.0, call=second)["call"] == second   # directed within the group
    assert snapshot_states(model, second)["8001"] == "connected"
    assert model.validate() == []


def test_pickup_and_deflect_leave_acd_offers_to_the_acd():
    trunk, model = setup(routing_devices={"4000"}, pickup_groups={"g": ["2000", "2001"]})
    cid = incoming(trunk, model, called="4000")
    model.queue_call(cid, "sales", 0.5)
    model.deliver(cid, 1.0, devices=["2000"])
    assert seen(model) == [("Queued", "4000", "queued"), ("Diverted", "4000", "null"),
                           ("Delivered", "2000", "alerting")]
    with pytest.raises(InvalidStateError):
        model.pickup_call("2001", 1.5)
    with pytest.raises(InvalidStateError):
        model.deflect_call(cid, "2001", 1.5)
    assert model.take_events() == []


def test_ring_all_then_one_answers_the_others_are_cleared():
    trunk, model = setup(routing_devices={"4000"})
    cid = incoming(trunk, model, called="4000")
    model.queue_call(cid, "sales", 0.5)
    model.deliver(cid, 1.0, devices=["2000", "2001", "2002"])
    model.take_events()
    assert model.validate() == []
    model.answer_call(cid, 2.0, device="2001")
    evs = seen(model)
    assert evs[0] == ("Established", "2001", "connected")
    assert sorted(evs[1:]) == [("ConnectionCleared", "2000", "null"), ("ConnectionCleared", "2002", "null")]
    assert set(snapshot_states(model, cid)) == {"2001", model.calls[cid].remotes()[0].device}
    # the caller hangs up while two agents ring: the call ends (no trunk party left)
    c2 = incoming(trunk, model, called="4000", t=3.0)
    model.queue_call(c2, "sales", 3.0)
    model.deliver(c2, 3.0, devices=["2000", "2002"])
    trunk.far_clear(model.calls[c2].circuit(), 4.0)
    model.service(4.0)
    assert c2 not in model.calls and model.validate() == []


def test_outgoing_call_events_and_snapshot_agree_on_the_calling_device():
    trunk, model = setup()
    res = model.make_call("8001", "66001234", 0.0)
    evs = model.take_events()
    assert [(type(e).__name__, e.device, e.state) for e in evs] == [("Originated", "8001", "connected")]
    assert snapshot_states(model, res["call"])["8001"] == "connected"
    model.service(1.0)
    last: dict[str, str] = {"8001": "connected"}
    for e in model.take_events():
        last[e.device] = e.state
    assert snapshot_states(model, res["call"]) == last


def test_hold_and_consultation_wait_for_the_far_end_to_answer():
    trunk, model = setup()
    res = model.make_call("8001", "66001234", 0.0)
    model.take_events()
    with pytest.raises(InvalidStateError, match="nobody has answered"):
        model.hold_call(res["call"], 0.5)
    with pytest.raises(InvalidStateError, match="nobody has answered"):
        model.consultation_call(res["call"], "6601", 0.5)
    assert model.take_events() == []
    model.service(1.0)                                  # answered
    model.take_events()
    model.hold_call(res["call"], 1.5)
    assert seen(model) == [("Held", "8001", "hold")]


def test_make_call_presents_the_devices_configured_number():
    trunk, model = setup(presentation={"8001": "01088886001"})
    res = model.make_call("8001", "66001234", 0.0)
    assert model.calls[res["call"]].calling == "01088886001"
    res2 = model.make_call("8002", "66001235", 0.0)
    assert model.calls[res2["call"]].calling == "8002"


def test_user_data_attach_update_delete_in_events_snapshot_and_cdr():
    trunk, model = setup()
    cid = incoming(trunk, model)
    r = model.attach_user_data(cid, {"account": "A-1001", "lang": "zh"}, 0.5, device="8001")
    assert r == {"call": cid, "user_data": {"account": "A-1001", "lang": "zh"}}
    (ev,) = model.take_events()
    assert type(ev).__name__ == "UserDataChanged" and ev.changed == ["account", "lang"] and ev.device == "8001"
    with pytest.raises(InvalidParameterError, match="UpdateUserData"):
        model.attach_user_data(cid, {"lang": "en"}, 0.6)
    model.update_user_data(cid, {"lang": "en", "ticket": 4471}, 0.7)
    assert model.calls[cid].user_data == {"account": "A-1001", "lang": "en", "ticket": "4471"}
    model.delete_user_data(cid, ["lang"], 0.8)
    evs = model.take_events()
    assert evs[-1].deleted == ["lang"] and evs[-1].user_data == {"account": "A-1001", "ticket": "4471"}
    with pytest.raises(InvalidParameterError, match="no user data"):
        model.delete_user_data(cid, ["nope"], 0.9)
    model.answer_call(cid, 1.0)
    (est,) = model.take_events()
    assert est.user_data == {"account": "A-1001", "ticket": "4471"}           # every later event carries it
    assert model.snapshot()["calls"][0]["user_data"] == {"account": "A-1001", "ticket": "4471"}
    trunk.far_clear(model.calls[cid].circuit(), 3.0)
    model.service(3.0)
    assert model.take_cdrs()[0]["user_data"] == {"account": "A-1001", "ticket": "4471"}


@pytest.mark.parametrize("data,match", [
    ({"": "x"}, "key"), ({"bad key": "x"}, "key"), ({"k" * 33: "x"}, "key"),
    ({"k": "x" * (USER_DATA_VALUE + 1)}, "at most"), ({"k": "a\nb"}, "printable"), ({"k": None}, "printable"),
    ({f"k{i}": "v" for i in range(USER_DATA_KEYS + 1)}, "at most"), (["k"], "map"), ("k=v", "map"),
])
def test_user_data_limits_are_clear_errors_and_change_nothing(data, match):
    trunk, model = setup()
    cid = incoming(trunk, model)
    with pytest.raises(InvalidParameterError, match=match):
        model.update_user_data(cid, data, 1.0)
    assert model.calls[cid].user_data == {} and model.take_events() == []


def test_user_data_total_size_is_bounded():
    trunk, model = setup()
    cid = incoming(trunk, model)
    big = {f"k{i}": "v" * 200 for i in range(USER_DATA_BYTES // 200 + 1)}
    with pytest.raises(InvalidParameterError, match="bytes"):
        model.update_user_data(cid, big, 1.0)
    assert model.calls[cid].user_data == {}


def test_user_data_travels_with_consultation_transfer_and_conference():
    trunk, model = setup()
    a = incoming(trunk, model)
    model.update_user_data(a, {"account": "A-1002"}, 0.5)
    model.answer_call(a, 1.0)
    b = model.consultation_call(a, "6601", 2.0)["call"]
    assert model.calls[b].user_data == {"account": "A-1002"}             # the consultation starts with a copy
    model.service(3.5)
    model.update_user_data(b, {"note": "asked sales"}, 4.0)
    model.transfer_call(a, b, 5.0)
    assert model.calls[a].user_data == {"account": "A-1002", "note": "asked sales"}
    transferred = [e for e in model.take_events() if type(e).__name__ == "Transferred"]
    assert transferred[0].user_data == {"account": "A-1002", "note": "asked sales"}
    # conference: the same merge
    c = incoming(trunk, model, called="8005", t=6.0)
    model.update_user_data(c, {"account": "A-1003"}, 6.0)
    model.answer_call(c, 6.5)
    d = model.consultation_call(c, "6602", 7.0)["call"]
    with pytest.raises(InvalidStateError, match="not answered"):      # the consulted party still rings
        model.conference_call(c, d, 7.2)
    model.service(8.5)
    model.conference_call(c, d, 9.0)
    assert model.calls[c].user_data == {"account": "A-1003"} and model.validate() == []


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(max_size=40), st.one_of(st.text(max_size=300), st.integers(), st.none()), max_size=40))
def test_user_data_arbitrary_maps_are_taken_or_refused_whole(data):
    trunk, model = setup()
    cid = incoming(trunk, model)
    try:
        model.update_user_data(cid, data, 1.0)
    except InvalidParameterError:
        assert model.calls[cid].user_data == {}
        return
    ud = model.calls[cid].user_data
    assert set(ud) == set(data) and all(isinstance(v, str) and len(v) <= USER_DATA_VALUE for v in ud.values())
