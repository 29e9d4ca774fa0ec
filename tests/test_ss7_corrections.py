"""Issue 20's SS7 corrections, each against the behaviour it replaces, on both call control
builds (compiled, twin): RLC for a REL whose cause cannot be read, circuit reset for an
unexpected ANM on an idle circuit, UPU for an unequipped user part, the IAM's transmission
medium requirement, readiness after link-up, transports built with the trunk, unexpected
messages as application events, sequential CIC numbering."""
from __future__ import annotations

import socket

import pytest

from cti.signaling.errors import DecodeError
from cti.signaling.ss7.config import Ss7Config
from cti.signaling.ss7.isup.call import CallState
from cti.signaling.ss7.isup.codec import decode, encode_message
from cti.signaling.ss7.isup.formats import MessageType as M
from cti.signaling.ss7.isup.node import node_class
from cti.signaling.ss7.isup.params import Number
from cti.signaling.ss7.mtp3 import SI
from cti.signaling.ss7.stack import Ss7Stack
from cti.signaling.ss7.trunk import Ss7Trunk, UnexpectedMessage
from cti.signaling.trunk import CircuitState, Proceeding, Released, TrunkError
from tests.conftest import kernel_impls, load_impl


@pytest.fixture(params=kernel_impls("cti.signaling.ss7.isup.control"))
def Node(request):
    return node_class(load_impl(request.param))


def sent(node) -> list[M]:
    return [decode(d).type for _, d in node.data_to_send(0.0)]


def test_rel_with_zero_length_cause_on_idle_circuit_is_answered_with_rlc(Node):
    """Q.764 2.9.5: the far end's circuit must be freed. Before: discarded as a format error,
    no RLC, so the far end's circuit stayed in release until its T5 (5-15 minutes)."""
    a = Node([1, 2, 3], 1, 2, name="a")
    rel = bytes((2, 0, M.REL, 2, 0, 0))          # CIC 2, REL, cause pointer -> length 0, no optionals
    with pytest.raises(DecodeError):
        decode(rel)                              # the message really is malformed
    a.receive(rel, 1.0)
    assert sent(a) == [M.RLC]
    assert a.circuits[2].fsm.state is CallState.IDLE
    assert [(e.kind, e.cic) for e in a.events()] == [("unexpected", 2)]


def test_rel_with_zero_length_cause_ends_a_call_with_cause_31(Node):
    a = Node([1, 2, 3], 1, 2, name="a")
    a.receive(encode_message(M.IAM, 3, {"nature_of_connection_indicators": 0, "forward_call_indicators": 0x20,
                                        "calling_partys_category": 10, "transmission_medium_requirement": 0,
                                        "called_party_number": Number("1F")}), 0.0)
    a.events()
    a.receive(bytes((3, 0, M.REL, 2, 0, 0)), 1.0)
    assert sent(a) == [M.RLC] and a.circuits[3].fsm.state is CallState.IDLE
    assert [(e.kind, e.cause) for e in a.events() if e.kind == "released"] == [("released", 31)]


def test_unexpected_anm_on_idle_circuit_resets_the_circuit(Node):
    """Q.764 2.9.5.1: an unexpected message other than REL/RLC on an idle circuit: reset
    (RSC, T16). Before: counted and dropped, both ends' views of the circuit left apart."""
    a, b = Node([1, 2], 1, 2, name="a"), Node([1, 2], 2, 1, name="b")
    a.receive(encode_message(M.ANM, 1, {}), 1.0)
    assert sent(a) == [M.RSC]
    c = a.circuits[1]
    assert c.fsm.state is CallState.RESETTING and set(c.fsm.running) == {"T16"}
    ev = a.events()
    assert ev[0].kind == "unexpected" and "2.9.5.1" in ev[0].reason and a.counters["unexpected"] == 1
    b.receive(encode_message(M.RSC, 1, {}), 1.0)
    assert sent(b) == [M.RLC]
    a.receive(encode_message(M.RLC, 1, {}), 1.1)
    assert c.fsm.state is CallState.IDLE and not c.fsm.running
    assert [e.kind for e in a.events()] == ["reset_done"]


def test_iam_transmission_medium_requirement_defaults_to_speech(Node):
    """Q.763 3.54: exchanges send "speech" (0); before, our IAM said "3.1 kHz audio" (3)."""
    a = Node([1], 1, 2, name="a")
    a.setup("123", None, 0.0)
    iam = decode(a.data_to_send(0.0)[0][1])
    assert iam.get("transmission_medium_requirement") == 0
    b = Node([1], 1, 2, name="b", transmission_medium="3.1khz")
    b.setup("123", None, 0.0)
    assert decode(b.data_to_send(0.0)[0][1]).get("transmission_medium_requirement") == 3
    assert Ss7Config.from_dict({"transmission_medium": "3.1khz"}).transmission_medium == "3.1khz"
    with pytest.raises(ValueError):
        Ss7Config.from_dict({"transmission_medium": "video"})


def _up(a: Ss7Stack, b: Ss7Stack, t: float = 0.0, until=None) -> float:
    la, lb = a.links[0], b.links[0]
    while t < 30:
        for f in la.data_to_send(t):
            lb.receive(f, t)
        for f in lb.data_to_send(t):
            la.receive(f, t)
        a.service(t)
        b.service(t)
        t = round(t + 0.01, 6)
        if (until or (lambda: a.up and b.up))():
            return t
    raise AssertionError("not up")


def test_message_for_unequipped_user_part_gets_upu():
    """Q.704 2.4.2 / 15.17: a TUP message (SI 4) to a point with no TUP is answered with User
    Part Unavailable, cause unequipped. Before: dropped silently."""
    a = Ss7Stack(Ss7Config.from_dict({"opc": 1, "dpc": 2, "emergency": True, "reset_at_start": False}), [1], "a")
    b = Ss7Stack(Ss7Config.from_dict({"opc": 2, "dpc": 1, "emergency": True, "reset_at_start": False}), [1], "b")
    t = _up(a, b)
    b.linkset.send(SI.TUP, b"\x01\x00\x11", 0, t)
    _up(a, b, t, until=lambda: any(e.kind == "user_part_unavailable" for e in b.mtp3_events))
    upu = next(e for e in b.mtp3_events if e.kind == "user_part_unavailable")
    assert (upu.si, upu.dpc, upu.opc, upu.reason) == (SI.TUP, 1, 1, "cause 1")
    assert a.linkset.counters["upu_sent"] == 1 and b.linkset.counters["upu_received"] == 1


def _trunks(**kw):
    sa, sb = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    a = Ss7Trunk([], Ss7Config.from_dict({"opc": 1, "dpc": 2, **kw}), sockets=[sa])
    b = Ss7Trunk([], Ss7Config.from_dict({"opc": 2, "dpc": 1}), sockets=[sb])
    return a, b


def _run(a, b, t, until, limit=10.0):
    ea = []
    end = t + limit
    while t < end:
        ea += a.service(t)
        b.service(t)
        t = round(t + 0.01, 6)
        if until(ea):
            break
    return t, ea


def test_readiness_right_after_link_up():
    """Before: make_call right after link-up raised "no circuit available" while every circuit
    said available; now readiness shows the pending reset and the error says why."""
    a, b = _trunks()
    assert not a.ready and a.ready_circuits() == []
    t, ea = _run(a, b, 0.0, lambda ev: a.stack.up)
    assert a.stack.up and not a.ready and a.stack.isup.pending_reset()      # GRS sent, no GRA yet
    c = a.circuits()[0]
    assert a.stack.isup.circuits[a._cic(c)].available and not a.circuit_ready(c)
    with pytest.raises(TrunkError) as err:
        a.make_call("123", None, t)
    assert err.value.cause == 41 and "not ready" in str(err.value) and "GRA" in str(err.value)
    t, ea = _run(a, b, t, lambda ev: a.ready)
    assert a.ready and a.circuit_ready(c) and len(a.ready_circuits()) == 30
    assert isinstance(a.make_call("123", None, t), tuple)


def test_call_waits_for_readiness_with_ready_wait():
    a, b = _trunks(ready_wait=5.0)
    t, _ = _run(a, b, 0.0, lambda ev: a.stack.up)
    c = a.make_call("123", None, t)              # held on a circuit whose reset is pending
    assert not a.circuit_ready(c)
    t, ea = _run(a, b, t, lambda ev: any(isinstance(e, Proceeding) for e in ev))
    assert [e.circuit for e in ea if isinstance(e, Proceeding)] == [c]


def test_waiting_call_fails_with_cause_41_when_the_reset_never_comes():
    sa, sb = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    a = Ss7Trunk([], Ss7Config.from_dict({"opc": 1, "dpc": 2, "ready_wait": 0.5}), sockets=[sa])
    b = Ss7Trunk([], Ss7Config.from_dict({"opc": 2, "dpc": 1}), sockets=[sb])
    b.stack.bind_isup(lambda payload, now: None)      # the far end's ISUP never answers the GRS
    t, _ = _run(a, b, 0.0, lambda ev: a.stack.up)
    c = a.make_call("123", None, t)
    t, ea = _run(a, b, t, lambda ev: any(isinstance(e, Released) for e in ev))
    rel = [e for e in ea if isinstance(e, Released)]
    assert rel and rel[0].circuit == c and rel[0].cause == 41 and "reset" in rel[0].reason


def test_unexpected_messages_reach_the_application_and_pcap_records_socket_links(tmp_path):
    a, b = _trunks(pcap=str(tmp_path / "a.pcap"))
    t, _ = _run(a, b, 0.0, lambda ev: a.ready)
    c = a.circuits()[0]
    b.stack.isup.circuits[a._cic(c)].send(M.ANM, {})        # b answers a call that does not exist
    b.stack.flush(t)
    t, ea = _run(a, b, t, lambda ev: any(isinstance(e, UnexpectedMessage) for e in ev))
    um = [e for e in ea if isinstance(e, UnexpectedMessage)]
    assert um and um[0].circuit == c and "ANM" in um[0].reason
    a.pcap.close()
    assert (tmp_path / "a.pcap").stat().st_size > 24 + 16 * 10     # header + frames both ways


def test_sockets_must_match_links_and_cic_numbering():
    with pytest.raises(ValueError, match="2 sockets for 1"):
        Ss7Trunk([], Ss7Config.from_dict({}), sockets=list(socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)))
    span = Ss7Config.from_dict({}).circuits(2)
    seq = Ss7Config.from_dict({"cic_numbering": "sequential"}).circuits(2)
    assert sorted(span)[:3] == [1, 2, 3] and 33 in span and 16 not in span
    assert sorted(seq) == list(range(1, 61)) and seq[31] == (1, 1) and seq[30] == (0, 31)
    with pytest.raises(ValueError):
        Ss7Config.from_dict({"cic_numbering": "random"})


def test_circuit_state_is_still_reported_after_gra():
    a, b = _trunks()
    t, ea = _run(a, b, 0.0, lambda ev: a.ready)
    t, more = _run(a, b, t, lambda ev: False, limit=0.2)
    assert sum(isinstance(e, CircuitState) and e.available for e in ea + more) == 30
