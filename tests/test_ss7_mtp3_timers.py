"""MTP3 link management timers on the engine (Q.704 16.8 T2/T4/T5, Q.707 5.5 SLT T1/T2):
started and stopped by rows of LINK_TABLE, their expiry an event whose row acts; time passed
in. The linkset around one link's machine is a recording stand-in (what the rows ask of it)."""
from __future__ import annotations

from typing import Any

from cti.signaling.engine import Machine
from cti.signaling.ss7.mtp3.label import SI
from cti.signaling.ss7.mtp3.linkset import LINK_TABLE, LinkCtx, LinkMgmt
from cti.signaling.ss7.mtp3.messages import H, decode_slt, decode_snm


class _Link:
    last_accepted_fsn = 5

    def __init__(self) -> None:
        self.restarts = 0

    def stop(self, now: float) -> None:
        self.restarts += 1

    def start(self, now: float) -> None:
        pass


class _Linkset:
    """Records what LINK_TABLE's actions ask of a linkset."""

    def __init__(self) -> None:
        self.links = [_Link(), _Link()]
        self.counters = {"slt_failures": 0}
        self._slt_tries = [0, 0]
        self._tested = [False, False]
        self.did: list[tuple[Any, ...]] = []
        self.timers = [Machine(LINK_TABLE, LinkCtx(self, i), timer_values={"T2": 1.0}) for i in range(2)]

    def link_for(self, i: int) -> int:
        return 1 - i

    def _send_on(self, link: int, si: int, payload: bytes, slc: int, now: float) -> None:
        msg = decode_snm(payload) if si == SI.SNM else decode_slt(payload)
        self.did.append(("send", link, H(msg.heading).name if si == SI.SNM else ("SLTM", "SLTA")[msg.heading == H.SLTA],
                         slc, now))

    def _available(self, i: int, now: float) -> None:
        self.did.append(("available", i, now))

    def _link_down(self, i: int, now: float, reason: str) -> None:
        self.did.append(("down", i, reason))

    def _changeover_work(self, i: int, bsnt: int | None, now: float) -> None:
        self.did.append(("retrieve", i, bsnt, now))

    def _changeback_work(self, i: int, now: float) -> None:
        self.did.append(("changeback", i, now))


def test_link_table_is_whole_and_cites_clauses():
    assert LINK_TABLE.validate() == []
    assert all(r.clause.startswith(("Q.704", "Q.707")) for r in LINK_TABLE.rows)


def test_signalling_link_test_retried_once_then_the_link_restarts():
    ls = _Linkset()
    m = ls.timers[0]
    m.fire(LinkMgmt.SLT, None, 0.0)
    assert ls.did == [("send", 0, "SLTM", 0, 0.0)] and m.deadline() == 8.0     # SLT_T1
    m.handle_timer(8.0)                                   # no SLTA: counted, tested again
    assert ls.did[-1] == ("send", 0, "SLTM", 0, 8.0) and ls.counters["slt_failures"] == 1
    m.handle_timer(16.0)                                  # twice: the link restarts (Q.707 2.2)
    assert ls.counters["slt_failures"] == 2 and ls.links[0].restarts == 1
    assert ls.did[-1] == ("down", 0, "signalling link test failed")


def test_slta_passes_the_test_and_the_periodic_test_follows():
    ls = _Linkset()
    m = ls.timers[0]
    assert not m.fire_if(LinkMgmt.SLTA, None, 0.0)      # no test outstanding: nothing
    m.fire(LinkMgmt.SLT, None, 0.0)
    assert m.fire_if(LinkMgmt.SLTA, None, 0.5)
    assert ls.did[-1] == ("available", 0, 0.5) and ls._tested[0] and list(m.running) == ["SLT_T2"]
    m.handle_timer(60.5)                                  # SLT_T2: the periodic SLTM
    assert ls.did[-1] == ("send", 0, "SLTM", 0, 60.5) and list(m.running) == ["SLT_T1"]


def test_changeover_time_controlled_on_t2_or_by_coa():
    ls = _Linkset()
    m = ls.timers[0]
    m.fire(LinkMgmt.CHANGEOVER, 1, 0.0)
    assert ls.did == [("send", 1, "COO", 0, 0.0)] and m.deadline() == 1.0       # T2 set to 1 s
    m.handle_timer(1.0)                                   # no COA: time-controlled (Q.704 5.6)
    assert ls.did[-1] == ("retrieve", 0, None, 1.0) and not m.running
    assert not m.fire_if(LinkMgmt.COA, 7, 1.5)           # a late COA changes nothing
    m.fire(LinkMgmt.CHANGEOVER, 1, 2.0)
    assert m.fire_if(LinkMgmt.COA, 7, 2.1)
    assert ls.did[-1] == ("retrieve", 0, 7, 2.1) and not m.running


def test_changeback_repeats_cbd_once_on_t4_then_gives_up_on_t5():
    ls = _Linkset()
    m = ls.timers[0]
    m.fire(LinkMgmt.CHANGEBACK, None, 0.0)
    assert ls.did == [("send", 1, "CBD", 0, 0.0)]
    m.handle_timer(0.8)                                   # T4: CBD again, T5
    assert ls.did[-1] == ("send", 1, "CBD", 0, 0.8) and list(m.running) == ["T5"]
    m.handle_timer(1.6)                                   # T5: traffic back all the same
    assert ls.did[-1] == ("changeback", 0, 1.6) and not m.running
    m.fire(LinkMgmt.CHANGEBACK, None, 2.0)
    m.fire(LinkMgmt.CHANGEBACK_DONE, None, 2.1)          # CBA: T4 stops
    assert ls.did[-1] == ("changeback", 0, 2.1) and not m.running
    m.fire(LinkMgmt.SLT, None, 3.0)
    m.fire(LinkMgmt.DOWN, None, 3.1)                      # the link failed: its test stops
    assert not m.running
