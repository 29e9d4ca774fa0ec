"""Rule 1 for SS7: every state machine of the stack is a table of the one engine, and every
table is whole (each action exists and takes (ctx, message, now), each timer is declared,
each expiry has a row, each reachable state has a way out)."""
from __future__ import annotations

import enum

import pytest

from _boardcore import _select
from cti.signaling.engine import Table, check_tables
from cti.signaling.ss7.diagram import TABLES
from cti.signaling.ss7.isup.control_py import CALL_TABLE
from cti.signaling.ss7.isup.supervision import SUPERVISION_TABLE
from cti.signaling.ss7.mtp2.link import IAC_TABLE, LSC_TABLE
from cti.signaling.ss7.mtp3.linkset import LINK_TABLE

CONTROL = "cti.signaling.ss7.isup.control"


def _tables() -> list[Table]:
    out = [LSC_TABLE, IAC_TABLE, LINK_TABLE, CALL_TABLE, SUPERVISION_TABLE]
    compiled = _select.compiled(CONTROL)
    if compiled is not None:            # the compiled build's table names its compiled actions
        out.append(compiled.CALL_TABLE)
    return out


def test_every_ss7_table_validates() -> None:
    assert check_tables(_tables()) == {}
    assert list(TABLES.values()) == [LSC_TABLE, IAC_TABLE, LINK_TABLE, CALL_TABLE, SUPERVISION_TABLE]   # the docs show them all


@pytest.mark.parametrize("table", _tables(), ids=lambda t: t.name)
def test_events_are_enum_members_not_strings(table: Table) -> None:
    for row in table.rows:
        assert isinstance(row.event, enum.Enum), row
        assert row.action is None or callable(row.action)


def test_a_broken_table_is_reported() -> None:
    """The check can fail: an action with the wrong arity and a dead-end state are found."""
    from cti.signaling.engine import Row
    from cti.signaling.ss7.isup.call import CallState as S, Req

    def two(ctx: object, message: object) -> None:
        return None
    bad = Table("bad", S.IDLE, (Row(S.IDLE, Req.SETUP, S.OUT_WAIT_ACM, two),))
    problems = bad.validate()
    assert any("does not take 3 arguments" in p for p in problems)
    assert any("OUT_WAIT_ACM has no way out" in p for p in problems)


def test_ss7_stacks_have_the_one_sans_io_shape() -> None:
    """IsupNode, Mtp2Link and the whole Ss7Stack conform to cti.signaling.stack.SansIOStack
    (the linkset is MTP3 between them: it has no wire of its own)."""
    from cti.signaling.ss7.config import Ss7Config
    from cti.signaling.ss7.isup.node import IsupNode
    from cti.signaling.ss7.mtp2 import Mtp2Link
    from cti.signaling.ss7.stack import Ss7Stack
    from cti.signaling.stack import SansIOStack, conformance
    for cls in (IsupNode, Mtp2Link, Ss7Stack):
        assert conformance(cls) == [], cls
    a = Ss7Stack(Ss7Config.from_dict({"opc": 1, "dpc": 2, "emergency": True}), [1, 2], "a")
    b = Ss7Stack(Ss7Config.from_dict({"opc": 2, "dpc": 1, "emergency": True}), [1, 2], "b")
    assert isinstance(a, SansIOStack) and isinstance(a.isup, SansIOStack)
    t, seen = 0.0, []
    while t < 5 and not any(e.kind == "reset_done" for e in seen):
        for src, dst in ((a, b), (b, a)):
            for data in src.data_to_send(t):
                dst.receive(data, t)
        for s in (a, b):
            d = s.timer_deadline()
            s.handle_timer(t if d is None else min(t, d))
        seen += a.events()
        b.events()
        t = round(t + 0.01, 6)
    assert a.up and any(e.kind == "reset_done" for e in seen)
