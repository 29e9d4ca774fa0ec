"""ISUP circuit supervision on the engine (Q.764 2.8, 2.9.3, 2.12): T12/T14/T18/T20/T22 are
timers of SUPERVISION_TABLE, started and stopped by its rows, their expiry an event whose row
repeats the message; time is passed in. Both builds of call control."""
from __future__ import annotations

import pytest

from _boardcore import _select
from conftest import kernel_impls, load_impl
from cti.signaling.ss7.isup.codec import decode
from cti.signaling.ss7.isup.formats import MessageType as M
from cti.signaling.ss7.isup.node import node_class
from cti.signaling.ss7.isup.params import RangeStatus

CONTROL = "cti.signaling.ss7.isup.control"


@pytest.fixture(params=kernel_impls(CONTROL))
def nodes(request):
    Node = node_class(load_impl(request.param))
    return Node(list(range(1, 9)), 1, 2, name="a", timers={"T12": 20.0}), Node(list(range(1, 9)), 2, 1, name="b")


def sent(node, now):
    return [(cic, decode(data).type) for cic, data in node.data_to_send(now)]


def deliver(src, dst, now):
    out = src.data_to_send(now)
    for _, data in out:
        dst.receive(data, now)
    return [decode(d).type for _, d in out]


def test_blo_is_repeated_on_t12_until_bla(nodes):
    a, b = nodes
    a.block(3, 0.0)
    assert sent(a, 0.0) == [(3, M.BLO)]                  # lost on the way
    assert a.timer_deadline() == 20.0                      # T12 set to 20 s by the node's timers
    a.handle_timer(19.9)
    assert sent(a, 19.9) == []
    a.handle_timer(20.0)                                   # the expiry row sends BLO again
    assert sent(a, 20.0) == [(3, M.BLO)] and a.circuits[3].sup.is_running("T12")
    a.handle_timer(40.0)
    assert deliver(a, b, 40.0) == [M.BLO] and deliver(b, a, 40.0) == [M.BLA]
    c = a.circuits[3]
    assert c.local_blocked and not c.sup.running and a.timer_deadline() is None
    assert [(e.kind, e.available) for e in a.events()] == [("circuit", False)]
    a.unblock(3, 41.0)
    assert deliver(a, b, 41.0) == [M.UBL] and deliver(b, a, 41.0) == [M.UBA]
    assert not c.local_blocked and not c.sup.running


def test_a_bla_with_no_blo_outstanding_changes_nothing(nodes):
    a, b = nodes
    b.circuits[2].send(M.BLA, {})
    deliver(b, a, 1.0)
    assert not a.circuits[2].local_blocked and a.events() == []


def test_grs_is_repeated_on_t22_and_the_gra_ends_it(nodes):
    a, b = nodes
    a.group_reset(1, 8, 0.0)
    assert sent(a, 0.0) == [(1, M.GRS)] and a.pending_reset() == list(range(1, 9))
    a.handle_timer(15.0)                                   # T22 (15 s): GRS again, same range
    assert deliver(a, b, 15.0) == [M.GRS]
    assert deliver(b, a, 15.0) == [M.GRA]
    assert a.pending_reset() == [] and a.timer_deadline() is None
    assert [e.count for e in a.events() if e.kind == "reset_done"] == [8]
    b.circuits[1].send(M.GRA, {"range_and_status": RangeStatus(7, bytes(1))})
    deliver(b, a, 16.0)                                    # a second GRA: no GRS outstanding
    assert [e.reason for e in a.events()] == ["GRA with no GRS outstanding"]


def test_cgb_is_repeated_on_t18_and_ucic_stops_every_supervision_timer(nodes):
    a, b = nodes
    a.group_block(1, 4, 0.0)
    a.block(1, 0.0)
    assert [t for _, t in sent(a, 0.0)] == [M.CGB, M.BLO]
    assert sorted(a.circuits[1].sup.running) == ["T12", "T18"]
    a.handle_timer(15.0)                                   # T18 expires: CGB again
    assert [t for _, t in sent(a, 15.0)] == [M.CGB]
    b.circuits[1].send(M.UCIC, {})
    deliver(b, a, 16.0)
    assert a.circuits[1].sup.running == {} and a.circuits[1].unequipped


def test_supervision_rows_cite_their_clauses():
    from cti.signaling.ss7.isup.supervision import SUPERVISION_TABLE
    assert SUPERVISION_TABLE.validate() == []
    assert all(r.clause.startswith("Q.764") for r in SUPERVISION_TABLE.rows)
    assert {s.clause.split(" /")[0] for s in SUPERVISION_TABLE.timers.values()} >= {"Q.764 2.8.2", "Q.764 2.9.3"}
    assert _select.load(CONTROL).SUPERVISION_TABLE is SUPERVISION_TABLE
