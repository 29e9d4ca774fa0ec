"""One contact centre across two nodes (issue 17 point 4): a node's callers routed by the
cluster ACD, to an agent on the same node or, through an E1 tie span (PRI: network side on
node a, user side on node b), to an agent whose station is on node b; the death of node b
mid-call clears the caller with a cause.

Two real CtiServers in this process, each with its own simulated board (one clock: a tie
cable joins the two cards, simulator.tie), its own store and centre link, one PostgreSQL
database (CTI_TEST_POSTGRES_URL, started by .ci/run). Marked ``postgres`` and ``cluster``."""
from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cluster_rig import pg_url_fixture  # noqa: F401  (the pg_url fixture)
from cluster_tie_rig import Pair, Watch, db, place, record

pytestmark = [pytest.mark.postgres, pytest.mark.cluster]
psycopg = pytest.importorskip("psycopg", reason="psycopg not installed (pip install 'psycopg[binary]')")
def test_callers_reach_agents_on_either_node_through_the_cluster_acd_and_the_tie(pg_url: str, tmp_path: Path) -> None:
    p = Pair(tmp_path, pg_url)
    wa, wb = p.a.part("watch"), p.b.part("watch")
    try:
        p.log_on(p.a, "ann", "8001", "Ready")
        p.log_on(p.b, "bob", "8002", "NotReady")
        p.run(25, until=lambda: db(pg_url, "SELECT count(*) FROM cc_agent WHERE state IN ('Ready', 'NotReady')"
                                    )[0][0] == 2 and p.a.now() > 3.0)
        # 1. ann on node a: the caller is Delivered at her device on a, answered, connected
        t0 = p.a.now()
        place(p, "13900000001", hold_for=2.0)
        p.run(20, until=lambda: (r := record(p.exchange, "13900000001")) is not None and r.cleared_at is not None)
        r1 = record(p.exchange, "13900000001")
        assert r1 is not None and r1.outcome == "answered", r1
        c1 = wa.of("Established", device="8001")[0].call
        # the node writes the call's end to the centre on its link's turn, not in the same block:
        # give it that turn (a loaded host took longer than the exchange's record once)
        done1 = [("done", "ann")]
        p.run(10, until=lambda: db(pg_url, "SELECT state, agent FROM cc_call WHERE call = %s", c1) == done1)
        assert db(pg_url, "SELECT state, agent FROM cc_call WHERE call = %s", c1) == done1
        # 2. ann NotReady, bob Ready on node b: the caller on a reaches bob through the tie span
        p.log_on(p.a, "ann", "8001", "NotReady")
        p.log_on(p.b, "bob", "8002", "Ready")
        p.run(5, until=lambda: db(pg_url, "SELECT state FROM cc_agent WHERE agent = 'bob'") == [("Ready",)]
              and db(pg_url, "SELECT state FROM cc_agent WHERE agent = 'ann'") == [("NotReady",)])
        t1 = time.monotonic()
        place(p, "13900000002", hold_for=3.0)
        p.run(30, until=lambda: (r := record(p.exchange, "13900000002")) is not None and r.cleared_at is not None)
        r2 = record(p.exchange, "13900000002")
        assert r2 is not None and r2.outcome == "answered", r2
        at_b = wb.of("Delivered", device="8002")
        assert at_b and at_b[0].calling == "13900000002" and at_b[0].span == 0      # on b's tie span
        assert r2.seized_at is not None and r2.answered_at is not None
        rung = next(t for t, e in wb.timed if e is at_b[0])
        print(f"cross-node: seizure on a -> ringing at b {rung - r2.seized_at:.2f} s; "
              f"agent's answer at b -> caller answered {r2.answered_at - rung - 0.5:.2f} s")
        assert wb.of("Established", device="8002")
        c2 = next(e.call for e in wa.of("Offered") if e.calling == "13900000002")
        done2 = [("done", "bob")]
        p.run(10, until=lambda: db(pg_url, "SELECT state, agent FROM cc_call WHERE call = %s", c2) == done2)
        assert db(pg_url, "SELECT state, agent FROM cc_call WHERE call = %s", c2) == done2
        offers = db(pg_url, "SELECT agent, outcome FROM cc_offer WHERE call = %s ORDER BY attempt", c2)
        assert offers == [("bob", "answered")]
        routing = p.a.part("centre").routing
        assert routing.counters["tie"] >= 1 and routing.counters["answered"] >= 2
        p.run(5, until=lambda: not p.a.model.calls and not p.b.model.calls)
        assert not p.a.model.calls and not p.b.model.calls          # every leg cleared on both nodes
        bob = p.b.part("contact").engine.agent("bob")
        assert bob.state.value == "Ready" and bob.calls_taken == 1      # b's engine saw the call: Busy, then Ready
        assert [e.state for e in wb.seen if type(e).__name__.startswith("Agent")][-2:] == ["Busy", "Ready"]
        assert t0 >= 0 and time.monotonic() > t1
    finally:
        p.close()


def test_node_b_dying_mid_call_clears_the_caller_on_a_with_a_cause(pg_url: str, tmp_path: Path) -> None:
    """Node b dies while its agent talks to a caller of node a through the tie: its card goes
    silent on the tie (simulator.tie.TieSpan.cut: what a kill -9 of b's process, or b's host
    losing power, looks like on the wire) and b's loop stops. Node a's PRI sees the tie's layer 1
    and D channel go; the caller is cleared towards the exchange with a cause, the cluster call
    ends, and the centre does not leave bob stuck: once b's heartbeat is gone the ACD offers him
    nothing (his node is dead) and the call's record says how it ended."""
    p = Pair(tmp_path, pg_url)
    wa = p.a.part("watch")
    try:
        p.log_on(p.b, "bob", "8002", "Ready")
        p.run(25, until=lambda: db(pg_url, "SELECT state FROM cc_agent WHERE agent = 'bob'") == [("Ready",)]
              and p.a.now() > 3.0)
        place(p, "13900000003", hold_for=None)             # the caller stays until cleared
        p.run(30, until=lambda: bool(p.b.part("watch").of("Established", device="8002"))
              and (r := record(p.exchange, "13900000003")) is not None and r.answered_at is not None)
        r = record(p.exchange, "13900000003")
        assert r is not None and r.answered_at is not None and r.cleared_at is None
        call = next(e.call for e in wa.of("Offered") if e.calling == "13900000003")
        assert call in p.a.part("contact").audio.bridges.bridges          # trunk <-> tie, both ways
        p.run(1.0)
        killed = time.monotonic()
        p.tie.cut()                                    # b dies: no frames on the tie any more
        p.alive = [p.a]
        p.b.part("centre").stop()                      # and no heartbeat (its process is gone)
        p.run(60, until=lambda: record(p.exchange, "13900000003").cleared_at is not None)
        cleared = time.monotonic() - killed
        r = record(p.exchange, "13900000003")
        assert r.cleared_at is not None and r.cleared_by == "near", r
        assert r.cause not in (None, 16), r                                  # a cause, not a normal clearing
        assert call not in p.a.model.calls and not p.a.part("contact").audio.bridges.bridges
        p.run(10, until=lambda: db(pg_url, "SELECT state FROM cc_call WHERE call = %s", call) != [("connected",)])
        assert db(pg_url, "SELECT state FROM cc_call WHERE call = %s", call) in ([("done",)], [("cleared",)])
        print(f"caller cleared {cleared:.2f} s after node b died, cause {r.cause}")
        assert p.a.part("centre").routing.counters["tie_lost"] == 1
    finally:
        p.close()


def test_ring_no_answer_on_one_node_then_the_caller_reaches_the_other(pg_url: str, tmp_path: Path) -> None:
    """ann (node a) does not answer: after the queue's ring_timeout the call leaves her device
    (RONA: NotReady in a's engine and in the centre), the caller waits again at the route point,
    and is offered once to bob (node b) when he becomes Ready, through the tie; no offer is
    carried out twice, however often the node reads it."""
    p = Pair(tmp_path, pg_url)
    wa, wb = p.a.part("watch"), p.b.part("watch")
    wa.deaf.add("8001")
    try:
        p.log_on(p.a, "ann", "8001", "Ready")
        p.log_on(p.b, "bob", "8002", "NotReady")
        p.run(25, until=lambda: db(pg_url, "SELECT count(*) FROM cc_agent WHERE state IN ('Ready', 'NotReady')"
                                    )[0][0] == 2 and p.a.now() > 3.0)
        place(p, "13900000004", hold_for=1.0)
        p.run(20, until=lambda: db(pg_url, "SELECT state, reason FROM cc_agent WHERE agent = 'ann'")
              == [("NotReady", "RONA")])
        assert p.a.part("contact").engine.agent("ann").state.value == "NotReady"
        call = next(e.call for e in wa.of("Offered") if e.calling == "13900000004")
        assert db(pg_url, "SELECT state FROM cc_call WHERE call = %s", call) == [("queued",)]
        p.log_on(p.b, "bob", "8002", "Ready")
        p.run(30, until=lambda: (r := record(p.exchange, "13900000004")) is not None and r.cleared_at is not None)
        r = record(p.exchange, "13900000004")
        assert r is not None and r.outcome == "answered"
        assert db(pg_url, "SELECT agent, outcome FROM cc_offer WHERE call = %s ORDER BY attempt", call) == [
            ("ann", "no answer"), ("bob", "answered")]
        assert len(wa.of("Delivered", device="8001")) == 1 and len(wb.of("Delivered", device="8002")) == 1
        routing = p.a.part("centre").routing
        assert routing.counters["offers"] == 2 and routing.counters["rona"] == 1
    finally:
        p.close()


def _busy_times(w: Watch) -> dict[str, list[tuple[float, float]]]:
    """Per agent device of one node: (rung, call cleared) of every call delivered there."""
    cleared = {e.call: t for t, e in w.timed if type(e).__name__ == "CallCleared"}
    out: dict[str, list[tuple[float, float]]] = {}
    for t, e in w.timed:
        if type(e).__name__ == "Delivered" and e.device.startswith("80"):
            out.setdefault(e.device, []).append((t, cleared.get(e.call, float("inf"))))
    return out


def test_kill9_of_the_acd_leader_while_two_nodes_route_calls(pg_url: str, tmp_path: Path) -> None:
    """The ACD leader is a process of its own (``python -m cti.cluster acd``) while the two
    nodes stand by; callers arrive on node a every 0.4 s for agents on both nodes; the leader
    is killed -9 mid-load. A node's centre link takes the lease and goes on from the tables:
    every caller answered, none rung at two agents, no agent rung for two calls at once, every
    offer made under a live lease, one epoch more."""
    root = Path(__file__).resolve().parents[1]
    from cti.cluster.centre import create
    with psycopg.connect(pg_url) as c:
        create(c)
    leader = subprocess.Popen([sys.executable, "-m", "cti.cluster", "acd", "--db", pg_url, "--name", "x",
                               "--ttl", "1.0", "--dead-after", "3"], stdout=subprocess.DEVNULL,
                              env={**os.environ, "PYTHONPATH": str(root)}, cwd=root)
    end = time.monotonic() + 20
    while time.monotonic() < end and db(pg_url, "SELECT holder FROM cc_lease WHERE name = 'acd'") != [("x",)]:
        time.sleep(0.1)
    p = Pair(tmp_path, pg_url)
    wa, wb = p.a.part("watch"), p.b.part("watch")
    try:
        for srv, agent, dev in ((p.a, "ann", "8001"), (p.a, "cat", "8003"), (p.b, "bob", "8002"),
                                (p.b, "dan", "8004")):
            p.log_on(srv, agent, dev, "Ready")
        p.run(25, until=lambda: db(pg_url, "SELECT count(*) FROM cc_agent WHERE state = 'Ready'")[0][0] == 4
              and p.a.now() > 3.0)
        assert db(pg_url, "SELECT holder FROM cc_lease WHERE name = 'acd'") == [("x",)]
        from simulator.exchange.base import CallScript
        callers = [f"1390000{i:04d}" for i in range(16)]
        for i, calling in enumerate(callers):
            p.exchange.place_call(CallScript(at=p.a.now() + 0.5 + 0.4 * i, called="4000", calling=calling,
                                             hold_for=1.5))
        p.run(20, until=lambda: len(db(pg_url, "SELECT 1 FROM cc_offer")) >= 5)
        epoch = db(pg_url, "SELECT epoch FROM cc_lease WHERE name = 'acd'")[0][0]
        leader.send_signal(signal.SIGKILL)
        leader.wait(5)
        p.run(90, until=lambda: all((r := record(p.exchange, c)) is not None and r.cleared_at is not None
                                    for c in callers) and not p.a.model.calls and not p.b.model.calls)
        outcomes = {c: getattr(record(p.exchange, c), "outcome", None) for c in callers}
        assert set(outcomes.values()) == {"answered"}, outcomes
        holder, epoch2 = db(pg_url, "SELECT holder, epoch FROM cc_lease WHERE name = 'acd'")[0]
        assert holder in ("a", "b") and epoch2 > epoch      # (a loaded host may pass the lease on once more)
        calls = db(pg_url, "SELECT call, state FROM cc_call")
        assert len(calls) == 16 and {s for _, s in calls} == {"done"}
        offers = db(pg_url, "SELECT call, attempt, agent, epoch, at, outcome FROM cc_offer ORDER BY call, attempt")
        starts = dict(db(pg_url, "SELECT epoch, at FROM cc_lease_log WHERE name = 'acd'"))
        for call, attempt, agent, ep, at, outcome in offers:     # made under a live lease, one at a time
            assert at >= starts[ep] and all(at < s for e, s in starts.items() if e > ep), (call, ep, at)
        for call in {o[0] for o in offers}:
            rows = [o for o in offers if o[0] == call]
            assert [o[1] for o in rows] == list(range(1, len(rows) + 1))
            assert rows[-1][5] == "answered" and all(o[5] == "no answer" for o in rows[:-1]), rows
        for w in (wa, wb):                                        # no agent rung for two calls at once
            for dev, spans in _busy_times(w).items():
                spans.sort()
                assert all(b[0] >= a[1] for a, b in itertools.pairwise(spans)), (dev, spans)
        stuck = db(pg_url, "SELECT agent, state FROM cc_agent WHERE state IN ('Reserved', 'Busy')")
        assert stuck == []
        served = {o[2] for o in offers if o[5] == "answered"}
        assert served & {"bob", "dan"} and served & {"ann", "cat"}       # both nodes' agents, tie included
        print(f"leader killed at epoch {epoch}; {holder} leads with {epoch2}; {len(offers)} offers for 16 callers")
        print(p.a.part("centre").routing.public())
    finally:
        if leader.poll() is None:
            leader.kill()
        p.close()


CALLER_HZ, BOB_HZ, BOSS_HZ = 1000.0, 770.0, 1400.0
HEARD = 0.1


def _hears(phone: Any, *freqs: float) -> bool:
    """``phone`` heard exactly ``freqs`` among the three test tones over the last 0.6 s."""
    from simulator.phones import band_levels
    lv = band_levels(phone.heard(0.6), (CALLER_HZ, BOB_HZ, BOSS_HZ))
    return all(lv[f] > HEARD for f in freqs) and all(v < HEARD / 4 for f, v in lv.items() if f not in freqs)


def test_audio_across_the_tie_both_ways_recorded_and_supervised_on_the_agents_node(pg_url: str,
                                                                                  tmp_path: Path) -> None:
    """bob's station is a timeslot of node b's board (span 1, a simulated phone speaking 770 Hz);
    a caller of node a (1000 Hz) reaches him through the tie: each hears the other (a's bridge
    trunk <-> tie, b's bridge tie <-> station); a's recording of the queue has the caller on one
    channel and bob on the other; b's supervisor (station 3000, 1400 Hz) monitors, whispers to
    and barges in on bob's call as on any call of b."""
    from cti.bus.auth import Account
    from cti.media import wavfile
    from simulator.agents import LocalBus
    from simulator.phones import Phone, attach_phones, band_levels
    queues = {"sales": {"skills": {"sales": 10}, "ring_timeout": 4.0, "record": True}}
    p = Pair(tmp_path, pg_url, a={"queues": queues},
             b={"queues": queues, "stations": {"8002": "1/1", "3000": "1/30"}}, b_spans=2)
    bob, boss = Phone("8002", BOB_HZ), Phone("3000", BOSS_HZ)
    attach_phones(p.b.board, 1, {1: bob, 30: boss})
    wa = p.a.part("watch")
    centre_a, centre_b = p.a.part("contact"), p.b.part("contact")
    try:
        p.log_on(p.b, "bob", "8002", "Ready")
        p.run(25, until=lambda: db(pg_url, "SELECT state FROM cc_agent WHERE agent = 'bob'") == [("Ready",)]
              and p.a.now() > 3.0)
        place(p, "13900000005", hold_for=None)
        p.run(30, until=lambda: bool(centre_a.audio.bridges.bridges) and bool(centre_b.audio.bridges.bridges))
        (call,) = centre_a.audio.bridges.bridges
        (leg_b,) = centre_b.audio.bridges.bridges
        span, ts = p.a.model.calls[call].circuit()
        caller = Phone("caller", CALLER_HZ)
        attach_phones(p.a.board, span, {ts: caller})
        p.run(1.5)
        assert _hears(bob, CALLER_HZ) and _hears(caller, BOB_HZ)          # both ways, through two bridges
        assert _hears(boss)
        lb = LocalBus(p.b)
        sup = Account("boss", "supervisor", device="3000", team="blue")
        res = lb.command("Monitor", sup, agent="bob", device="3000", mode="monitor")
        assert res["call"] == leg_b
        p.run(1.2)
        assert _hears(boss, CALLER_HZ, BOB_HZ) and _hears(bob, CALLER_HZ) and _hears(caller, BOB_HZ)
        lb.command("Monitor", sup, agent="bob", device="3000", mode="whisper")
        p.run(1.2)
        assert _hears(bob, CALLER_HZ, BOSS_HZ) and _hears(caller, BOB_HZ)     # coaching: bob only
        lb.command("Monitor", sup, agent="bob", device="3000", mode="barge")
        p.run(1.2)
        assert _hears(caller, BOB_HZ, BOSS_HZ)                               # barge: across the tie too
        lb.command("StopMonitor", sup, device="3000")
        p.run(0.5)
        p.a.call_soon(lambda: p.a.model.clear_connection(call, p.a.now(), device=p.a.model.calls[call].local().device))
        p.run(10, until=lambda: not p.a.model.calls and not p.b.model.calls)
        rec = sorted((tmp_path / "rec-a").rglob("*.wav"))
        assert len(rec) == 1, list((tmp_path / "rec-a").rglob("*"))          # recorded on the caller's node
        info, pcm = wavfile.read_channels(str(rec[0]))
        mid = slice(len(pcm) // 2, len(pcm) // 2 + 4000)
        lv_l = band_levels(pcm[mid, 0], (CALLER_HZ, BOB_HZ))
        lv_r = band_levels(pcm[mid, 1], (CALLER_HZ, BOB_HZ))
        assert lv_l[CALLER_HZ] > HEARD and lv_l[BOB_HZ] < HEARD / 4         # the caller
        assert lv_r[BOB_HZ] > HEARD and lv_r[CALLER_HZ] < HEARD / 4         # bob, from across the tie
        assert wa.of("CallCleared")
    finally:
        p.close()
