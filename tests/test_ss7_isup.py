"""ISUP (Q.763/Q.764): codec tables, call control both ways, timers, circuit supervision, errors."""
from __future__ import annotations

import pytest

from cti.signaling.causes import Cause
from cti.signaling.errors import LocalProtocolError, ProtocolError
from cti.signaling.ss7.isup.call import CallState
from cti.signaling.ss7.isup.codec import FORMATS, IsupMessage, MessageType as M, decode, encode
from cti.signaling.ss7.isup.node import node_class
from conftest import kernel_impls, load_impl
from cti.signaling.ss7.isup.params import CauseInd, Number, RangeStatus

CICS = list(range(1, 32))


@pytest.fixture(params=kernel_impls("cti.signaling.ss7.isup.control"))
def Node(request):
    """IsupNode over the compiled call control (id c) and over its Python twin (id py)."""
    return node_class(load_impl(request.param))


def pair(Node, opc_a=100, opc_b=200):
    return Node(CICS, opc_a, opc_b, name="a"), Node(CICS, opc_b, opc_a, name="b")


def flow(a, b, now=0.0, drop=lambda src, data: False):
    """Deliver messages both ways until quiet; returns the message types seen, in order."""
    seen = []
    for _ in range(50):
        moved = False
        for src, dst in ((a, b), (b, a)):
            for cic, data in src.data_to_send(0.0):
                moved = True
                seen.append((src.name, decode(data).type.name))
                if not drop(src, data):
                    dst.receive(data, now)
        if not moved:
            break
    return seen


def kinds(node):
    return [(e.kind, e.cic) for e in node.events()]


def test_iam_known_octets():
    m = IsupMessage(M.IAM, 5, dict(nature_of_connection_indicators=0, forward_call_indicators=0x2001,
                                   calling_partys_category=10, transmission_medium_requirement=0,
                                   called_party_number=Number("12345F"), calling_party_number=Number("8888")))
    assert encode(m).hex() == "0500010001200a0002070503102143f50a040313888800"
    assert decode(encode(m)) == m


def test_every_message_type_has_a_format():
    assert set(FORMATS) == set(M)


def test_call_out_answered_and_cleared_by_us(Node):
    a, b = pair(Node)
    cic = a.setup("5551234", "88001", 0.0)
    assert cic % 2 == 1          # a (lower point code) prefers odd CICs it controls
    assert flow(a, b) == [("a", "IAM")]
    ev = b.events()
    assert ev[0].kind == "setup" and ev[0].called == "5551234" and ev[0].calling == "88001"
    b.alert(cic, 1.0)
    flow(a, b)
    assert kinds(a) == [("alerting", cic)]
    b.answer(cic, 2.0)
    flow(a, b)
    assert kinds(a) == [("answered", cic)]
    a.release(cic, Cause.NORMAL_CLEARING, 3.0)
    assert flow(a, b) == [("a", "REL"), ("b", "RLC")]
    eb = b.events()
    assert eb[-1].kind == "released" and eb[-1].cause == 16 and eb[-1].remote
    ea = a.events()
    assert ea[-1].kind == "released" and not ea[-1].remote
    assert a.circuits[cic].fsm.state is b.circuits[cic].fsm.state is CallState.IDLE
    assert not a.circuits[cic].fsm.running


def test_busy_and_con_answer(Node):
    a, b = pair(Node)
    cic = a.setup("1", None, 0.0)
    flow(a, b)
    b.events()
    b.release(cic, Cause.USER_BUSY, 0.5)
    flow(a, b)
    ev = a.events()
    assert ev[-1].kind == "released" and ev[-1].cause == 17
    b.events()
    cic = b.setup("2", "3", 1.0)
    flow(a, b)
    a.answer(cic, 1.1)        # answer without alerting: CON
    assert flow(a, b) == [("a", "CON")]
    assert kinds(b) == [("answered", cic)]


def test_t7_and_t9_expiry_release_with_causes(Node):
    a, b = pair(Node)
    cic = a.setup("1", None, 0.0)
    a.data_to_send(0.0)
    a.handle_timer(25.1)
    ev = a.events()
    assert ev[-1].kind == "released" and ev[-1].cause == Cause.RECOVERY_ON_TIMER_EXPIRY
    assert [decode(d).type for _, d in a.data_to_send(0.0)] == [M.REL]
    # T1 repeats REL, T5 gives up with RSC
    a.handle_timer(25.1 + 15.01)
    assert [decode(d).type for _, d in a.data_to_send(0.0)] == [M.REL]
    a.handle_timer(25.1 + 300.01)
    assert M.RSC in [decode(d).type for _, d in a.data_to_send(0.0)]
    assert a.circuits[cic].fsm.state is CallState.RESETTING
    cic2 = a.setup("1", None, 400.0)
    flow(a, b, 400.0)
    b.alert(cic2, 401.0)
    flow(a, b, 401.0)
    a.handle_timer(401.0 + 90.1)
    assert a.events()[-1].cause == Cause.NO_ANSWER


def test_glare_resolved_by_point_code(Node):
    a, b = pair(Node, 100, 200)      # b has the higher point code: it controls even CICs
    a.setup("1", None, 0.0, cic=4)
    b.setup("2", None, 0.0, cic=4)
    flow(a, b)
    ea, eb = a.events(), b.events()
    assert any(e.kind == "released" and "glare" in e.reason for e in ea)
    assert [e.kind for e in ea][-1] == "setup" and eb == []
    assert a.circuits[4].fsm.state is CallState.IN_WAIT_ALERT
    assert b.circuits[4].fsm.state is CallState.OUT_WAIT_ACM


def test_group_reset_and_blocking(Node):
    a, b = pair(Node)
    b.block(7, 0.0)
    assert flow(a, b) == [("b", "BLO"), ("a", "BLA")]
    assert not a.circuits[7].available and not b.circuits[7].available
    a.events()
    a.group_reset(1, 31, 1.0)
    assert flow(a, b) == [("a", "GRS"), ("b", "GRA")]
    assert a.circuits[7].remote_blocked       # GRA status bit: still blocked at b
    assert all(a.circuits[c].available for c in CICS if c != 7)
    assert a.allocate() != 7
    with pytest.raises(LocalProtocolError):
        a.setup("1", None, 1.0, cic=7)
    b.unblock(7, 2.0)
    flow(a, b)
    assert a.circuits[7].available and ("circuit", 7) in kinds(a)
    b.group_block(10, 5, 3.0)
    assert flow(a, b) == [("b", "CGB"), ("a", "CGBA")]
    assert all(not a.circuits[c].available for c in range(10, 15))
    b.group_unblock(10, 5, 4.0)
    flow(a, b)
    assert all(a.circuits[c].available for c in range(10, 15))


def test_reset_during_call_releases_it(Node):
    a, b = pair(Node)
    cic = a.setup("1", None, 0.0)
    flow(a, b)
    b.events()
    b.reset(cic, 1.0)
    assert flow(a, b) == [("b", "RSC"), ("a", "RLC")]
    assert [e.kind for e in a.events()] == ["released"]
    assert [e.kind for e in b.events()] == ["released", "reset_done"]


def test_malformed_messages_cfn_discard_ucic(Node):
    a, b = pair(Node)
    a.receive(bytes([1, 0, 0x77]), 0.0)            # unknown type -> CFN cause 97
    out = [decode(d) for _, d in a.data_to_send(0.0)]
    assert out[0].type is M.CFN and out[0].get("cause_indicators").value == 97
    a.receive(bytes([1, 0, 0x01, 0, 1]), 0.0)       # truncated IAM -> discard
    a.receive(b"\x01", 0.0)
    assert a.data_to_send(0.0) == [] and a.counters["discarded"] == 2
    a.receive(encode(IsupMessage(M.BLO, 999)), 0.0)  # CIC we do not have -> UCIC
    assert [decode(d).type for _, d in a.data_to_send(0.0)] == [M.UCIC]
    b.receive(encode(IsupMessage(M.UCIC, 3)), 0.0)
    assert not b.circuits[3].available


def test_rel_collision_and_unexpected_messages(Node):
    a, b = pair(Node)
    cic = a.setup("1", None, 0.0)
    flow(a, b)
    b.answer(cic, 0.1)
    flow(a, b)
    a.events(), b.events()
    a.release(cic, 16, 1.0)
    b.release(cic, 16, 1.0)
    flow(a, b)
    assert a.circuits[cic].fsm.state is b.circuits[cic].fsm.state is CallState.IDLE
    a.receive(encode(IsupMessage(M.ANM, cic)), 2.0)
    assert [e.kind for e in a.events()][-1] == "unexpected"


def test_sam_and_cpg_and_sus_res(Node):
    a, b = pair(Node)
    cic = a.setup("12", None, 0.0)
    flow(a, b)
    a.circuits[cic].send(M.SAM, {"subsequent_number": Number("34F")})
    flow(a, b)
    ev = b.events()
    assert ev[-1].kind == "digits" and b.circuits[cic].called == "1234"
    b.alert(cic, 0.1)
    b.circuits[cic].send(M.CPG, {"event_information": 1})
    flow(a, b)
    assert [e.kind for e in a.events()] == ["alerting", "progress"]
    b.answer(cic, 0.2)
    b.circuits[cic].send(M.SUS, {"suspend_resume_indicators": 0})
    b.circuits[cic].send(M.RES, {"suspend_resume_indicators": 0})
    flow(a, b)
    assert [e.kind for e in a.events()] == ["answered", "suspended", "resumed"]


def test_decoder_only_protocol_errors_on_truncations():
    m = IsupMessage(M.CGB, 3, dict(circuit_group_supervision_message_type=0, range_and_status=RangeStatus(7, b"\xff")))
    data = encode(m)
    for n in range(len(data)):
        with pytest.raises(ProtocolError):
            decode(data[:n])
    with pytest.raises(ValueError):
        encode(IsupMessage(M.REL, 1, {}))
    with pytest.raises(ValueError):
        encode(IsupMessage(M.RLC, 1, {"cause_indicators": CauseInd(300)}))


def test_traces_stay_bounded_over_many_calls(Node):
    a, b = Node(list(range(1, 8)), 1, 2, name="a", trace=64), Node(list(range(1, 8)), 2, 1, name="b", trace=64)
    assert Node(list(range(1, 8)), 1, 2).circuits[1].fsm.trace is None      # off by default
    for i in range(300):
        cic = a.setup("1", None, float(i), cic=1)
        flow(a, b)
        b.answer(cic, float(i))
        flow(a, b)
        a.release(cic, 16, float(i))
        flow(a, b)
    assert len(a.circuits[1].fsm.trace) == 64 and len(b.circuits[1].fsm.trace) == 64   # the engine bounds it
    assert a.circuits[1].fsm.state is CallState.IDLE


def test_circuit_machine_is_the_engine_on_both(Node):
    """The circuit's call machine is the one engine's Machine over CALL_TABLE: events are
    enum members (a request, a message type, a timer expiry), timers are the engine's."""
    from cti.signaling.engine import Table, UnexpectedEvent
    from cti.signaling.ss7.isup.call import Expiry, Req
    a = Node([1, 2, 3], 1, 2, name="a", trace=8)
    c = a.circuits[3]
    assert isinstance(c.fsm.table, Table) and c.fsm.table.name == "isup call"
    assert c.fsm.state is CallState.IDLE and c.fsm.allowed(Req.SETUP) and c.fsm.allowed(M.IAM)
    assert not c.fsm.allowed(Req.ANSWER) and not c.fsm.allowed(Expiry.T7)
    with pytest.raises(UnexpectedEvent):
        c.fsm.fire(Req.ANSWER, None, 0.0)
    cic = a.setup("123", None, 0.0, cic=3)       # the row's action sends the IAM, the engine starts T7
    assert cic == 3 and c.fsm.state is CallState.OUT_WAIT_ACM and c.fsm.running == {"T7": 25.0}
    assert [decode(d).type for _, d in a.data_to_send(0.0)] == [M.IAM]
    assert list(c.fsm.trace) == [(0.0, CallState.IDLE, Req.SETUP, CallState.OUT_WAIT_ACM)]
    a.handle_timer(25.0)                         # T7 expires: the table's row releases (cause 102)
    assert c.fsm.state is CallState.RELEASING and set(c.fsm.running) == {"T1", "T5"}
    assert [(e.kind, e.cause, e.reason) for e in a.events()] == [("released", 102, "T7 expired")]
    assert a.allocate() == 1
    with pytest.raises(LocalProtocolError):
        a.alert(99, 0.0)                        # not configured
    with pytest.raises(LocalProtocolError):
        a.answer(3, 0.0)                        # not allowed in idle
