"""Idle spans do no work (issue 22 section 1: idle spans < 1 % of a core per 64).

SS7 and PRI trunks on simulated spans, their simulated exchanges on the far ends, links and D
channels up, no calls: after alignment, a block in which nothing arrived, no timer is due and
nothing was asked is passed over. These tests count the blocks the trunks serviced (their
``counters``: ``serviced`` / ``quiet``), not time: an idle span that does work every block
fails them on any host. They also check that what the quiet blocks skip is still done: the
card repeats the MTP2 fill-in and counts the repeats it filters, and the link applies them
(``rx`` equals the frames the card decoded), LAPD polls at T203 expiry, a request made on a
quiet span goes out at once, and a line fault is seen in the block it happens.
"""
from __future__ import annotations

import pytest

from cti.signaling.pri.trunk import PriTrunk
from cti.signaling.ss7.config import Ss7Config
from cti.signaling.ss7.trunk import Ss7Trunk
from cti.signaling.trunk import Alerting, CircuitState, Proceeding
from simulator.exchange.base import Behaviour, Subscriber
from simulator.exchange.pri import PriExchange
from simulator.exchange.ss7 import Ss7Exchange

N = 3
SUBS = {"100": Subscriber("100", Behaviour.NO_ANSWER)}


class Rig:
    """N SS7 spans (one link, on the first) and N PRI spans (user side), exchanges on the far ends."""

    def __init__(self) -> None:
        import drivers
        from drivers.base import SpanConfig
        self.board = drivers.open("sim", spans=2 * N, config=[SpanConfig(signalling="ccs")] * (2 * N))
        b = self.board
        self.ss7 = Ss7Trunk([b.span(i) for i in range(N)], Ss7Config.from_dict({}))
        self.ex7 = Ss7Exchange([b.far_end(i) for i in range(N)], SUBS)
        self.pri = PriTrunk([b.span(i) for i in range(N, 2 * N)], {"side": "user"})
        self.exp = PriExchange([b.far_end(i) for i in range(N, 2 * N)], SUBS)
        self.events: list = []

    def run(self, seconds: float) -> None:
        for _ in range(round(seconds / 0.02)):
            self.board.advance(0.02)
            t = self.board.now()
            self.events += self.ss7.service(t)
            self.ex7.service(t)
            self.events += self.pri.service(t)
            self.exp.service(t)

    def up(self) -> bool:
        return bool(self.ss7.stack.up and self.ex7.up and self.pri.up and self.exp.pri.up)


@pytest.fixture(scope="module")
def rig() -> Rig:
    r = Rig()
    r.run(4.0)
    assert r.up()
    return r


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in ("serviced", "quiet")}


def test_idle_ss7_trunk_services_no_block(rig: Rig) -> None:
    """30 s idle (1 500 blocks): the SS7 trunk (MTP2 in service, MTP3 up, 89 idle CICs) is
    serviced in no block, and neither is the far end's; the link stays in service."""
    ours, far = dict(rig.ss7.counters), dict(rig.ex7.trunk.counters)
    link, ch = rig.ss7.stack.links[0], rig.ss7.transports[0].channel
    repeats = ch.fill_repeats
    rig.run(30.0)
    assert _delta(rig.ss7.counters, ours) == {"serviced": 0, "quiet": 1500}
    assert _delta(rig.ex7.trunk.counters, far) == {"serviced": 0, "quiet": 1500}
    assert link.in_service and rig.ex7.trunk.stack.links[0].in_service
    # the far end's card repeated its FISU all along, ours filtered and counted the repeats
    assert ch.fill_repeats - repeats > 1500


def test_filtered_fill_ins_are_applied_to_the_link(rig: Rig) -> None:
    """What the quiet blocks left to the card reaches MTP2 when it is serviced: every frame the
    card decoded in between counts in the link's ``rx`` (delivered, or filtered as a repeat),
    and SUERM's D-count moved by the same arithmetic as frame by frame (one down per 256)."""
    link, ch = rig.ss7.stack.links[0], rig.ss7.transports[0].channel
    circuit = rig.ss7.circuits()[0]

    def serviced_now() -> tuple[int, int, int]:
        rig.board.advance(0.02)
        t = rig.board.now()
        rig.ss7.block(circuit, t)              # a request: this block is serviced
        before = rig.ss7.counters["serviced"]
        rig.ss7.service(t)
        assert rig.ss7.counters["serviced"] == before + 1
        rig.ss7.unblock(circuit, t)
        return link.counters["rx"], ch.decoder.frames, ch.fill_repeats

    rx0, frames0, rep0 = serviced_now()
    link._cs, su0 = 3, link._su_count                  # as after three errored signal units
    rig.run(10.0)
    rx1, frames1, rep1 = serviced_now()
    assert rep1 - rep0 > 500                            # most of them were filtered repeats
    assert rx1 - rx0 == frames1 - frames0
    received = rx1 - rx0
    assert link._su_count == (su0 + received) % 256
    assert link._cs == max(0, 3 - (su0 + received) // 256)
    rig.run(0.5)


def test_idle_pri_spans_service_only_at_t203(rig: Rig) -> None:
    """30 s idle: each D channel is serviced only around its T203 expiries (RR polls: a LAPD
    link at rest sends flags), a few blocks in 1 500, and the links stay up."""
    before = dict(rig.pri.counters)
    polls = [st.link.counters["t203_expiry"] for st in rig.pri.stacks]
    rig.run(30.0)
    d = _delta(rig.pri.counters, before)
    assert d["serviced"] + d["quiet"] == N * 1500
    assert 0 < d["serviced"] <= N * 15            # 3 T203 periods of 10 s: a poll, its answer, the peer's
    assert all(st.link.counters["t203_expiry"] - p >= 2 for st, p in zip(rig.pri.stacks, polls, strict=True))
    assert rig.up()


def test_a_request_on_a_quiet_span_goes_out_at_once(rig: Rig) -> None:
    """After idle blocks, a call made on each trunk leaves in the next block: the PRI SETUP
    gets its answer (Alerting) and the SS7 IAM reaches the exchange in well under a second."""
    rig.run(1.0)
    rig.events.clear()
    t = rig.board.now()
    c7 = rig.ss7.make_call("100", "5000", t)
    cp = rig.pri.make_call("100", "5000", t)
    rig.run(0.3)
    got = [(type(e), e.circuit) for e in rig.events]
    assert (Proceeding, cp) in got and (Alerting, cp) in got
    assert (Alerting, c7) in got
    rig.ss7.release(c7, 16, rig.board.now())
    rig.pri.release(cp, 16, rig.board.now())
    rig.run(1.0)


def test_a_line_fault_on_a_quiet_span_is_seen_in_its_block() -> None:
    """LOS on a quiet PRI span and on the SS7 link's span: the alarm moves Span.changes, the
    trunks service the span in that block, the D channel and the link go down."""
    r = Rig()
    r.run(4.0)
    assert r.up()
    r.run(1.0)
    r.events.clear()
    r.board.faults(N).los = True
    r.board.faults(0).los = True
    r.run(0.1)
    down = {e.circuit[0] for e in r.events if isinstance(e, CircuitState) and not e.available}
    assert N in down and 0 in down
    assert not r.pri.stacks[0].up and not r.ss7.stack.links[0].in_service
