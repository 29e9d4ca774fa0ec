"""Call model: CSTA states and events driven by trunk events and commands (loopback trunk)."""
from __future__ import annotations

import pytest

from cti.call import (CallModel, ConnectionState, InvalidCallError, InvalidDeviceError,
                      InvalidParameterError, InvalidStateError, ResourceBusyError,
                      TrunkFailureError)
from cti.call.loopback import FarBehaviour, LoopbackTrunk
from cti.call.states import CONNECTION_TABLE
from cti.signaling.trunk import Answered, Released


class Media:
    def __init__(self) -> None:
        self.digits: list[tuple] = []
        self.bridges: list[list] = []

    def send_digits(self, circuit, digits, now):
        self.digits.append((circuit, digits))

    def bridge(self, circuits):
        self.bridges.append(circuits)


def setup(behaviour=None, timeslots=(1, 2, 3, 4), media=None):
    trunk = LoopbackTrunk([0], list(timeslots), signalling="ss7", behaviour=behaviour)
    model = CallModel([trunk], media=media)
    return trunk, model


def types(model):
    return [(e.type if hasattr(e, "type") else type(e).__name__) for e in model.take_events()]


def names(events):
    return [type(e).__name__ for e in events]


def test_incoming_call_offered_delivered_answered_cleared_with_cdr():
    trunk, model = setup()
    circ = trunk.ring("8001", "13900001111", 1.0)
    model.service(1.0)
    evs = model.take_events()
    assert names(evs) == ["Offered", "Delivered"]
    off = evs[0]
    assert (off.calling, off.called, off.span, off.ts, off.signalling, off.direction) == \
        ("13900001111", "8001", 0, circ[1], "ss7", "in")
    assert off.device == "8001" and evs[1].state == "alerting"
    assert ("alert", circ, 1.0) in trunk.requests
    cid = off.call
    model.answer_call(cid, 2.0)
    est = model.take_events()
    assert names(est) == ["Established"] and est[0].state == "connected"
    assert ("answer", circ, 2.0) in trunk.requests
    trunk.far_clear(circ, 9.0)
    model.service(9.0)
    evs = model.take_events()
    assert names(evs) == ["ConnectionCleared", "ConnectionCleared", "CallCleared"]
    assert evs[0].device == f"trunk/0/{circ[1]}" and evs[1].device == "8001"
    assert all(e.cause == 16 for e in evs)
    assert model.calls == {} and model.validate() == []
    (cdr,) = model.take_cdrs()
    assert cdr["call"] == cid and cdr["talk_seconds"] == 7.0 and cdr["outcome"] == "answered"
    assert cdr["calling"] == "13900001111" and cdr["ts"] == circ[1]


def test_outgoing_call_answered_by_far_end():
    trunk, model = setup(lambda n: FarBehaviour("answer", after=2.0))
    res = model.make_call("8001", "66001234", 0.0)
    assert names(model.take_events()) == ["Originated"]
    model.service(0.5)
    d = model.take_events()
    assert names(d) == ["Delivered"] and d[0].device.startswith("trunk/")
    model.service(2.0)
    e = model.take_events()
    assert names(e) == ["Established"]
    call = model.calls[res["call"]]
    assert call.local().state is ConnectionState.CONNECTED
    model.clear_connection(res["call"], 5.0)
    assert names(model.take_events()) == ["ConnectionCleared", "ConnectionCleared", "CallCleared"]
    assert ("release", (0, res["ts"]), 5.0) in trunk.requests
    assert model.take_cdrs()[0]["talk_seconds"] == 3.0


def test_outgoing_busy_fails_then_lingers_and_clears():
    trunk, model = setup(lambda n: FarBehaviour("busy", after=1.0))
    res = model.make_call("8001", "66001234", 0.0)
    model.service(1.0)
    evs = model.take_events()
    assert names(evs) == ["Originated", "ConnectionCleared", "Failed"]
    assert evs[-1].cause == 17 and evs[-1].state == "fail"
    assert model.validate() == []
    with pytest.raises(InvalidStateError):
        model.hold_call(res["call"], 1.5)
    model.service(1.0 + model.fail_linger)
    assert names(model.take_events()) == ["ConnectionCleared", "CallCleared"]
    assert model.take_cdrs()[0]["outcome"] == "busy"


def test_commands_rejected_in_wrong_state_change_nothing():
    trunk, model = setup()
    trunk.ring("8001", "1", 0.0)
    model.service(0.0)
    cid = model.take_events()[0].call
    for fn in (model.hold_call, model.retrieve_call):
        with pytest.raises(InvalidStateError):
            fn(cid, 0.1)
    with pytest.raises(InvalidStateError):
        model.send_digits(cid, "12", 0.1)
    with pytest.raises(InvalidCallError):
        model.answer_call("nope", 0.1)
    with pytest.raises(InvalidDeviceError):
        model.answer_call(cid, 0.1, device="9999")
    with pytest.raises(InvalidStateError):   # a trunk party cannot "answer"
        model.answer_call(cid, 0.1, device="trunk/0/4")
    with pytest.raises(InvalidParameterError):
        model.make_call("8001", "12x", 0.1)
    with pytest.raises(InvalidParameterError):
        model.clear_connection(cid, 0.1, cause=999)
    assert model.take_events() == [] and model.validate() == []
    model.answer_call(cid, 0.2)
    with pytest.raises(InvalidStateError):
        model.answer_call(cid, 0.3)


def test_no_free_circuit_is_resource_busy():
    trunk, model = setup(timeslots=(1,))
    model.make_call("8001", "123", 0.0)
    with pytest.raises(ResourceBusyError):
        model.make_call("8002", "123", 0.0)


def test_hold_retrieve_and_digits_both_ways():
    media = Media()
    trunk, model = setup(media=media)
    circ = trunk.ring("8001", "1", 0.0)
    model.service(0.0)
    cid = model.take_events()[0].call
    model.answer_call(cid, 0.1)
    model.hold_call(cid, 0.2)
    model.retrieve_call(cid, 0.3)
    model.send_digits(cid, "12#", 0.4)
    trunk.far_digits(circ, "5", 0.5)
    model.service(0.5)
    evs = model.take_events()
    assert names(evs) == ["Established", "Held", "Retrieved", "DigitsDialed", "DigitsDialed"]
    assert (evs[3].digits, evs[3].sent, evs[4].digits, evs[4].sent) == ("12#", True, "5", False)
    assert media.digits == [(circ, "12#")]


def test_send_digits_without_media_path_is_typed_error():
    trunk, model = setup()
    trunk.ring("8001", "1", 0.0)
    model.service(0.0)
    cid = model.take_events()[0].call
    model.answer_call(cid, 0.1)
    with pytest.raises(TrunkFailureError):
        model.send_digits(cid, "1", 0.2)


def _answered_incoming(trunk, model, t=0.0):
    circ = trunk.ring("8001", "13900001111", t)
    model.service(t)
    cid = model.take_events()[0].call
    model.answer_call(cid, t)
    model.take_events()
    return cid, circ


def test_consultation_then_transfer_joins_far_parties():
    media = Media()
    trunk, model = setup(lambda n: FarBehaviour("answer", after=1.0), media=media)
    a, circ_a = _answered_incoming(trunk, model)
    res = model.consultation_call(a, "66001234", 1.0)
    b = res["call"]
    assert names(model.take_events()) == ["Held", "Originated"]
    model.service(2.0)
    assert names(model.take_events()) == ["Delivered", "Established"]
    model.transfer_call(a, b, 3.0)
    evs = model.take_events()
    assert names(evs) == ["Transferred"]
    assert evs[0].old_calls == [a, b] and sorted(evs[0].parties) == sorted(
        [f"trunk/0/{circ_a[1]}", f"trunk/0/{res['ts']}"])
    assert set(model.calls) == {a} and model.validate() == []
    assert media.bridges == [[circ_a, (0, res["ts"])]]
    cdrs = model.take_cdrs()
    assert cdrs[0]["call"] == b and cdrs[0]["merged_into"] == a
    trunk.far_clear(circ_a, 10.0)
    model.service(10.0)
    assert names(model.take_events()) == ["ConnectionCleared", "ConnectionCleared", "CallCleared"]
    assert ("release", (0, res["ts"]), 10.0) in trunk.requests
    assert model.calls == {} and model.validate() == []


def test_conference_and_single_step_transfer():
    trunk, model = setup(lambda n: FarBehaviour("answer", after=0.5))
    a, _ = _answered_incoming(trunk, model)
    b = model.consultation_call(a, "555", 0.0)["call"]
    model.service(1.0)
    with pytest.raises(InvalidParameterError):
        model.conference_call(a, a, 1.0)
    model.conference_call(a, b, 1.0)
    evs = model.take_events()
    assert names(evs)[-1] == "Conferenced" and len(evs[-1].parties) == 3
    assert model.calls[a].local().state is ConnectionState.CONNECTED
    res = model.single_step_transfer(a, "777", 2.0)
    assert names(model.take_events()) == ["Transferred"]
    assert model.calls[a].local().state is ConnectionState.NULL
    assert len(model.calls[a].remotes()) == 3 and model.validate() == []
    assert res["call"] == a


def test_single_step_transfer_to_busy_party_clears_call():
    trunk, model = setup(lambda n: FarBehaviour("busy", after=0.5))
    a, circ = _answered_incoming(trunk, model)
    model.single_step_transfer(a, "777", 1.0)
    model.service(2.0)
    evs = model.take_events()
    assert names(evs)[-1] == "CallCleared" and evs[-1].cause == 17
    assert ("release", circ, 1.5) in trunk.requests   # at the time of the far release
    assert model.calls == {} and model.validate() == []


def test_caller_abandons_while_alerting_and_reject():
    trunk, model = setup()
    circ = trunk.ring("8001", "1", 0.0)
    trunk.far_clear(circ, 3.0)
    model.service(0.0)
    cid = model.take_events()[0].call
    model.service(3.0)
    assert names(model.take_events()) == ["ConnectionCleared", "ConnectionCleared", "CallCleared"]
    assert model.take_cdrs()[0]["outcome"] == "unanswered"
    # reject an incoming call with a cause
    circ = trunk.ring("8002", "2", 4.0)
    model.service(4.0)
    cid = model.take_events()[0].call
    model.clear_connection(cid, 4.5, cause=17)
    evs = model.take_events()
    assert names(evs)[-1] == "CallCleared" and evs[-1].cause == 17
    assert trunk.state[circ] == "idle"


def test_seizure_of_busy_circuit_ends_the_old_call():
    trunk, model = setup()
    a, circ = _answered_incoming(trunk, model)
    from cti.signaling.trunk import IncomingCall
    trunk.state[circ] = "in"     # the stack saw a new seizure
    model.on_trunk_event(IncomingCall(circ, 5.0, "8002", "3"), trunk)
    evs = names(model.take_events())
    assert evs[:3] == ["ConnectionCleared", "ConnectionCleared", "CallCleared"]
    assert evs[3:] == ["Offered", "Delivered"]
    assert a not in model.calls and model.validate() == []


def test_stray_trunk_events_are_counted_not_fatal():
    trunk, model = setup()
    model.on_trunk_event(Answered((0, 1), 1.0), trunk)
    model.on_trunk_event(Released((0, 1), 1.0, 16), trunk)
    assert model.counters["unexpected_trunk_events"] == 1 and model.calls == {}


def test_blocking_publishes_span_state_and_snapshot():
    trunk, model = setup()
    trunk.block((0, 2), 0.0)
    model.service(0.0)
    (sp,) = model.take_events()
    assert (sp.span, sp.available, sp.total) == (0, 3, 4) and sp.topic() == "span.0"
    a, _ = _answered_incoming(trunk, model, 1.0)
    snap = model.snapshot()
    assert snap["spans"] == [{"span": 0, "total": 4, "available": 3, "busy": 1, "signalling": "ss7"}]
    assert snap["calls"][0]["call"] == a and len(snap["calls"][0]["connections"]) == 2


def test_connection_table_is_whole_on_the_one_engine():
    assert set(CONNECTION_TABLE.states()) == set(ConnectionState)
    assert CONNECTION_TABLE.reachable() == set(ConnectionState)
    assert CONNECTION_TABLE.validate() == []


def test_call_ids_continue_from_first_call_and_node_prefix():
    trunk = LoopbackTrunk([0], [1, 2])
    model = CallModel([trunk], first_call=41, node="n1")
    assert model.make_call("8001", "1", 0.0)["call"] == "n1-41"
    assert model.next_call_number == 42
    assert model.make_call("8001", "1", 0.0)["call"] == "n1-42"


def test_alert_refused_by_stack_gives_the_call_up():
    trunk, model = setup()
    from cti.signaling.trunk import IncomingCall
    model.on_trunk_event(IncomingCall((0, 1), 1.0, "8001", "2"), trunk)   # stack state: idle
    assert names(model.take_events()) == ["Offered", "ConnectionCleared", "ConnectionCleared", "CallCleared"]
    assert model.calls == {} and model.validate() == []


def test_failing_adapter_is_contained():
    class Broken(LoopbackTrunk):
        def service(self, now):
            raise RuntimeError("stack bug")

        def answer(self, circuit, now):
            raise ValueError("bad circuit state")

    good = LoopbackTrunk([1], [1, 2])
    bad = Broken([0], [1, 2])
    model = CallModel([bad, good])
    good.ring("8001", "1", 0.0)
    model.service(0.0)
    assert model.counters["adapter_errors"] == 1
    cid = model.take_events()[0].call
    model.answer_call(cid, 0.1)                     # the good adapter still works
    from cti.signaling.trunk import IncomingCall
    bad.state[(0, 1)] = "in"
    model.on_trunk_event(IncomingCall((0, 1), 0.2, "8002", "2"), bad)
    cid2 = next(e for e in model.take_events() if type(e).__name__ == "Offered").call
    with pytest.raises(TrunkFailureError):
        model.answer_call(cid2, 0.3)                 # a ValueError from a stack becomes a typed error
    assert model.validate() == []


def test_docs_embed_the_connection_table():
    import pathlib

    from cti.call.states import table_markdown
    text = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "call-model.md").read_text()
    inner = text.split("<!-- connection-table -->\n")[1].split("<!-- /connection-table -->")[0]
    assert inner == table_markdown(), "docs/call-model.md connection table is stale"
