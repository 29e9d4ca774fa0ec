"""One ACD for the whole centre (issue 17 points 3, 4 and 6): agents, queue membership and
queued callers in the cluster's PostgreSQL database; the ACD decided by the holder of a lease
with a fencing epoch; kill -9 and SIGSTOP of the leader under call load, kill -9 of a node.
Marked ``postgres`` (CTI_TEST_POSTGRES_URL, started by .ci/run); the process tests also
``cluster``."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cluster_rig import Lines, Load, pg_url_fixture  # noqa: F401  (the pg_url fixture)
from cti.cluster.acd import ClusterAcd
from cti.cluster.centre import NodeCentre, create
from cti.cluster.lease import Fenced, Lease

pytestmark = pytest.mark.postgres
psycopg = pytest.importorskip("psycopg", reason="psycopg not installed (pip install 'psycopg[binary]')")
ROOT = Path(__file__).resolve().parents[1]
RIG = str(Path(__file__).with_name("cluster_rig.py"))


def _conn(url: str) -> Any:
    c = psycopg.connect(url)
    create(c)
    return c


# ---- the lease ------------------------------------------------------------------------------------
def test_lease_is_held_by_one_and_taken_over_with_a_new_epoch_after_expiry(pg_url: str) -> None:
    a, b = Lease(_conn(pg_url), "acd", "a", 0.6), Lease(_conn(pg_url), "acd", "b", 0.6)
    assert a.acquire() and a.epoch == 1
    assert not b.acquire() and b.epoch is None
    assert a.renew()
    time.sleep(0.8)                               # a paused: its lease expires on the database's clock
    assert b.acquire() and b.epoch == 2
    cur = a.conn.cursor()
    with pytest.raises(Fenced):                   # a wakes: anything it writes is refused
        a.fence(cur)
    a.conn.rollback()
    assert a.epoch is None and not a.renew()
    b.release()                                   # a clean stop hands over at once
    assert a.acquire() and a.epoch == 3
    with pytest.raises(ValueError):
        Lease(a.conn, "acd", "a", 0)


def test_a_fenced_decision_waits_for_nothing_and_writes_nothing(pg_url: str) -> None:
    nc = NodeCentre(_conn(pg_url), "a")
    nc.heartbeat()
    nc.log_on("ann", "8001", ["sales"])
    nc.queue_call("a-1", "sales")
    old = ClusterAcd(pg_url, "x", ttl=0.5)
    old.connect()
    old.step()
    assert old.leader and old.offered == 1
    nc.no_answer("a-1", agent_state="Ready")
    time.sleep(0.7)                                # x's lease lapsed (it was "paused")
    new = ClusterAcd(pg_url, "y", ttl=0.5)
    new.connect()
    new.step()
    assert new.leader and new.lease is not None and new.lease.epoch == 2
    nc.no_answer("a-1", agent_state="Ready")
    with pytest.raises(Fenced):                   # the old leader's next decision is refused whole
        old.decide()
    assert nc.calls()["a-1"]["state"] == "queued"            # not offered again by the fenced leader
    offers = old.conn.cursor().execute("SELECT attempt, agent, epoch FROM cc_offer ORDER BY attempt").fetchall()
    assert offers == [(1, "ann", 1), (2, "ann", 2)]
    old.close()
    new.close()


# ---- the centre's state ------------------------------------------------------------------------------
def test_longest_idle_member_gets_the_call_and_rona_queues_it_again_first(pg_url: str) -> None:
    a, b = NodeCentre(_conn(pg_url), "a"), NodeCentre(_conn(pg_url), "b")
    a.heartbeat()
    b.heartbeat()
    a.log_on("ann", "a-8001", ["sales"])
    time.sleep(0.01)
    b.log_on("bob", "b-8001", ["sales", "help"])          # logged on at node b's station
    b.log_on("cat", "b-8002", ["help"])
    a.put_config("contact", {"queues": [{"name": "sales"}, {"name": "help"}], "名": "销售"})
    assert b.config("contact")["名"] == "销售"               # one configuration for the centre
    a.queue_call("a-1", "sales")
    a.queue_call("a-2", "sales")
    acd = ClusterAcd(pg_url, "a")
    acd.connect()
    assert acd.step() == 2
    offers = {c: (ag, node, dev) for c, ag, node, dev in a.offers()}
    assert offers == {"a-1": ("ann", "a", "a-8001"), "a-2": ("bob", "b", "b-8001")}   # a call on a, agent on b
    assert a.no_answer("a-1") and not a.no_answer("a-1")   # a late second report changes nothing
    assert b.agents()["ann"]["state"] == "NotReady" and b.agents()["ann"]["reason"] == "RONA"
    assert a.answered("a-2") and b.agents()["bob"]["state"] == "Busy"
    with pytest.raises(ValueError, match="on a call"):
        a.log_on("bob", "a-8009", ["sales"])
    assert acd.step() == 0                                  # nobody Ready in sales
    assert a.set_state("ann", "Ready") and acd.step() == 1
    assert a.calls()["a-1"] == {"node": "a", "queue": "sales", "state": "offered", "agent": "ann", "offers": 2,
                                "cause": None}
    assert a.abandon("a-1") and a.agents()["ann"]["state"] == "Ready"
    assert a.call_ended("a-2", wrap_up=True) and a.agents()["bob"]["state"] == "WorkingAfterCall"
    assert a.set_state("bob", "Ready")
    with pytest.raises(ValueError):
        a.set_state("bob", "Busy")
    assert a.agents("b").keys() == {"bob", "cat"} and a.agents()["bob"]["queues"] == ["help", "sales"]
    acd.close()


def test_offers_are_numbered_the_mirror_keeps_a_reservation_and_a_restart_clears_its_callers(pg_url: str) -> None:
    """What cluster routing (cti.cluster.routing) relies on: each offer carries its attempt; a
    stale Ready from a node's mirror never overwrites an agent the ACD reserved for a call (only
    that call's states or a log-on do); a node that restarts clears the callers its earlier run
    left queued, ringing or talking, and frees their agents."""
    a, b = NodeCentre(_conn(pg_url), "a"), NodeCentre(_conn(pg_url), "b")
    a.heartbeat()
    b.heartbeat()
    b.log_on("bob", "8002", ["sales"])
    a.log_on("ann", "8001", ["sales"])
    a.queue_call("a-1", "sales")
    a.queue_call("a-2", "sales")
    a.queue_call("a-3", "sales")
    acd = ClusterAcd(pg_url, "a")
    acd.connect()
    assert acd.step() == 2
    made = {c: (n, ag) for c, n, ag, _node, _dev in a.offers_made()}
    assert made == {"a-1": (1, "bob"), "a-2": (1, "ann")}
    assert not b.mirror("bob", "Ready", "8002", None, None, {"sales": 1})          # stale: refused
    assert not b.mirror("bob", "Reserved", "8002", None, "b-9", {"sales": 1})      # another call: refused
    assert b.agents()["bob"]["state"] == "Reserved" and b.agents()["bob"]["call"] == "a-1"
    assert b.mirror("bob", "Reserved", "8002", None, "a-1", {"sales": 1})          # that call's state
    assert a.no_answer("a-1", "Ready") and b.agents()["bob"]["reason"] is None     # refused there, not RONA
    assert acd.step() == 1
    assert {c: (n, ag) for c, n, ag, _node, _dev in a.offers_made()} == {"a-1": (2, "bob"), "a-2": (1, "ann")}
    assert a.answered("a-2")
    assert sorted(a.restarted()) == ["a-1", "a-2", "a-3"]
    calls = a.calls("a")
    assert {c["state"] for c in calls.values()} == {"cleared"} and {c["cause"] for c in calls.values()} == {
        "node restarted"}
    assert {ag: v["state"] for ag, v in a.agents().items()} == {"ann": "Ready", "bob": "Ready"}
    assert a.restarted() == [] and acd.step() == 0
    acd.close()


# ---- processes: the leader killed or paused under call load -----------------------------------------
def _acd(url: str, name: str, ttl: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "cti.cluster", "acd", "--db", url, "--name", name,
                             "--ttl", str(ttl), "--dead-after", "3"], stdout=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)


def _leader(url: str) -> tuple[str, int]:
    with psycopg.connect(url) as c:
        row = c.execute("SELECT holder, epoch FROM cc_lease WHERE name = 'acd'").fetchone()
    return (str(row[0]), int(row[1])) if row else ("", 0)


def _drive(load: Load, seconds: float, rate: float, until: Any = None) -> None:
    t0 = time.monotonic()
    owed = 0.0
    while time.monotonic() - t0 < seconds:
        owed += rate * 0.05
        n = int(owed)
        owed -= n
        load.turn(time.monotonic(), n)
        if until is not None and until():
            return
        time.sleep(0.05)


def _audit(url: str, load: Load) -> dict[str, Any]:
    """Every check of point 6 on the database: returns figures for the report."""
    with psycopg.connect(url) as c:
        calls = c.execute("SELECT call, state, offers, cause FROM cc_call").fetchall()
        offers = c.execute("SELECT call, attempt, agent, epoch, at, outcome FROM cc_offer ORDER BY call, attempt").fetchall()
        epochs = c.execute("SELECT epoch, holder, at FROM cc_lease_log WHERE name = 'acd' ORDER BY epoch").fetchall()
        agents = c.execute("SELECT agent, state, call FROM cc_agent").fetchall()
    assert load.double == []                                            # no agent rang for two calls
    left = [(c, s) for c, s, _, _ in calls if s not in ("done", "abandoned", "cleared")]
    assert left == []                                                   # no caller lost in a queue
    stuck = [(a, s, c) for a, s, c in agents if s in ("Reserved", "Busy") or c is not None]
    assert stuck == []                                                  # no agent stuck
    by_call: dict[str, list[tuple[Any, ...]]] = {}
    for o in offers:
        by_call.setdefault(o[0], []).append(o)
    for call, rows in by_call.items():                                  # one offer at a time per call
        assert [r[1] for r in rows] == list(range(1, len(rows) + 1)), call
        assert all(r[5] in ("no answer", "node lost") for r in rows[:-1]), (call, rows)
    starts = [(int(e), float(at)) for e, _, at in epochs]
    for call, attempt, agent, epoch, at, _ in offers:                    # every offer made under a live lease
        mine = [s for e, s in starts if e == epoch][0]
        later = [s for e, s in starts if e > epoch]
        assert at >= mine and (not later or at < min(later)), (call, attempt, epoch, at, starts)
    return {"calls": len(calls), "offers": len(offers), "epochs": [(int(e), h) for e, h, _ in epochs],
            "starts": starts}


@pytest.mark.cluster
def test_kill9_of_the_acd_leader_under_call_load(pg_url: str) -> None:
    ttl = 1.5
    load = Load(pg_url, ["a", "b"], agents_per_node=6)
    procs = [_acd(pg_url, "a", ttl), _acd(pg_url, "b", ttl)]
    feeds = [Lines(p) for p in procs]          # read their output (a full pipe would block them)
    try:
        _drive(load, 20.0, rate=12.0, until=lambda: load.offers_seen > 10)    # the ACD at work
        holder, epoch = _leader(pg_url)
        assert holder in ("a", "b") and load.offers_seen > 10
        leader = procs[0] if holder == "a" else procs[1]
        killed = time.time()
        leader.send_signal(signal.SIGKILL)
        leader.wait(5)
        _drive(load, 12.0, rate=12.0, until=lambda: _leader(pg_url)[1] > epoch and time.time() - killed > 4.0)
        holder2, epoch2 = _leader(pg_url)
        assert holder2 != holder and epoch2 == epoch + 1
        _drive(load, 3.0, rate=12.0)
        _drive(load, 8.0, rate=0.0, until=lambda: not (load.ringing or load.talking or load.waiting or load.rested)
               and all(c["state"] in ("done", "abandoned") for c in load.nodes["a"].calls().values()))
        fig = _audit(pg_url, load)
        took = [s for e, s in fig["starts"] if e == epoch2][0] - killed
        assert took < ttl + 2.0, f"standby took {took:.2f} s"
        print(f"\ntakeover after kill -9: {took:.2f} s (lease {ttl} s); {fig}")
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait(10)
        load.close()


@pytest.mark.cluster
def test_paused_acd_leader_is_fenced_no_split_brain(pg_url: str) -> None:
    ttl = 1.0
    load = Load(pg_url, ["a", "b"], agents_per_node=4, seed=7)
    procs = [_acd(pg_url, "a", ttl), _acd(pg_url, "b", ttl)]
    feeds = [Lines(p) for p in procs]          # read their output (a full pipe would block them)
    try:
        _drive(load, 2.5, rate=10.0)
        holder, epoch = _leader(pg_url)
        i = 0 if holder == "a" else 1
        procs[i].send_signal(signal.SIGSTOP)                  # alive, silent: a partition
        _drive(load, 4.0 * ttl, rate=10.0)
        assert _leader(pg_url) == ("b" if holder == "a" else "a", epoch + 1)
        procs[i].send_signal(signal.SIGCONT)                  # wakes believing it leads
        _drive(load, 3.0, rate=10.0)
        assert _leader(pg_url)[1] == epoch + 1                # it did not take the lease back
        woke = feeds[i].json()
        assert any(e["event"] in ("fenced", "standby", "db error") for e in woke), woke
        _drive(load, 8.0, rate=0.0, until=lambda: not (load.ringing or load.talking or load.waiting or load.rested))
        _audit(pg_url, load)                                  # every offer under the lease live at its time
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.terminate()
                p.wait(10)
        load.close()


@pytest.mark.cluster
def test_kill9_of_a_node_clears_its_callers_with_a_cause_and_keeps_its_agents(pg_url: str) -> None:
    load = Load(pg_url, ["a"], agents_per_node=2)
    node = subprocess.Popen([sys.executable, RIG, "node", pg_url, "c", "6"], stdout=subprocess.PIPE, text=True,
                            cwd=ROOT)
    acd = ClusterAcd(pg_url, "a", ttl=1.0, dead_after=1.5)
    try:
        assert node.stdout is not None and node.stdout.readline().strip() == "ready"
        acd.connect()
        _drive(load, 0.6, rate=0.0)
        acd.step()
        ringing_at_c = [c for c, v in load.nodes["a"].calls("c").items() if v["state"] == "offered"]
        assert ringing_at_c                                   # c's callers are ringing agents (a0, a1, c0, c1)
        node.send_signal(signal.SIGKILL)
        node.wait(5)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 6:
            load.turn(time.monotonic())
            acd.step()
            if all(v["state"] == "cleared" for v in load.nodes["a"].calls("c").values()):
                break
            time.sleep(0.1)
        calls = load.nodes["a"].calls("c")
        assert {v["state"] for v in calls.values()} == {"cleared"} and {v["cause"] for v in calls.values()} == {"node lost"}
        agents = load.nodes["a"].agents()
        assert {a: v["state"] for a, v in agents.items() if v["node"] == "c"} == {"c0": "Ready", "c1": "Ready"}
        assert agents["c0"]["queues"] == ["sales"]            # c's agents and queues survive its death
        assert all(v["call"] is None for v in agents.values())
        load.arrive("a", time.monotonic())
        acd.step()
        assert all(ag.startswith("a") for _, ag, _, _ in load.nodes["a"].offers())   # nothing offered to dead c
    finally:
        if node.poll() is None:
            node.kill()
        acd.close()
        load.close()


# ---- a real cti-server node: its agents survive its kill -9 ------------------------------------------
def _node(url: str, tmp: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(ROOT / "tests" / "test_cluster_support.py"), "--node", "a",
                             "--store", str(tmp / "a.db"), "--servers", '["nats://127.0.0.1:9"]', "--rate", "20",
                             "--centre", url, *args], stdout=subprocess.PIPE, text=True, cwd=ROOT)


def _line(p: subprocess.Popen[str], prefix: str, timeout: float = 30.0) -> str:
    assert p.stdout is not None
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = p.stdout.readline()
        if not line:
            break
        if line.startswith(prefix):
            return line[len(prefix):].strip()
    raise AssertionError(f"no {prefix!r} line from the node")


@pytest.mark.cluster
def test_a_nodes_agents_survive_its_kill9_and_come_back_logged_on(pg_url: str, tmp_path: Path) -> None:
    first = _node(pg_url, tmp_path, "--logon", "ann:Ready,bob:NotReady:lunch", "--report", "1.5")
    try:
        before = json.loads(_line(first, "agents "))
        assert before["ann"]["state"] == "Ready" and before["bob"]["state"] == "NotReady"
        with psycopg.connect(pg_url) as c:                    # the centre's database has them
            end = time.monotonic() + 10
            while time.monotonic() < end:
                rows = dict(c.execute("SELECT agent, state FROM cc_agent WHERE node = 'a'").fetchall())
                if rows == {"ann": "Ready", "bob": "NotReady"}:
                    break
                time.sleep(0.2)
            assert rows == {"ann": "Ready", "bob": "NotReady"}
            skills = c.execute("SELECT queue, level FROM cc_member WHERE agent = 'bob' ORDER BY queue").fetchall()
            assert skills == [("help", 30), ("sales", 60)]
            assert c.execute("SELECT holder FROM cc_lease WHERE name = 'acd'").fetchone() == ("a",)
    finally:
        first.kill()
        first.wait(10)
    again = _node(pg_url, tmp_path, "--report", "6")         # restarted: nobody logs on by hand
    try:
        after = json.loads(_line(again, "agents "))
        assert (after["ann"]["state"], after["ann"]["device"]) == ("Ready", "8001")
        assert (after["bob"]["state"], after["bob"]["reason"]) == ("NotReady", "lunch")
    finally:
        again.terminate()
        again.wait(15)


@pytest.mark.cluster
def test_an_agent_logs_on_at_another_nodes_station_with_the_centres_configuration(pg_url: str,
                                                                                   tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cti.cli.cluster import main as cluster_main
    from test_cluster_support import CONTACT
    site = tmp_path / "site.toml"
    agents = "".join(f'[contact.agents.{a}]\ndevice = "{v["device"]}"\nskills = {{ sales = {v["skills"]["sales"]} }}\n'
                     for a, v in CONTACT["agents"].items())
    site.write_text('[contact]\nroute_points = { "4000" = "sales" }\n' + agents +
                    '[contact.queues.sales]\nskills = { sales = 10 }\n', encoding="utf-8")
    res = CliRunner().invoke(cluster_main, ["config", "push", "--db", pg_url, str(site)])
    assert res.exit_code == 0 and "2 agent(s), 1 queue(s)" in res.output, res.output
    bad = tmp_path / "bad.toml"
    bad.write_text('[contact.queues.sales]\nstrategy = "coin-toss"\n', encoding="utf-8")
    res = CliRunner().invoke(cluster_main, ["config", "push", "--db", pg_url, str(bad)])
    assert res.exit_code == 1 and "coin-toss" in res.output                   # refused, not stored
    nodes = []
    try:
        a = _node(pg_url, tmp_path, "--shared-contact", "--logon", "ann:Ready", "--report", "12")
        nodes.append(a)
        with psycopg.connect(pg_url) as c:
            end = time.monotonic() + 15
            while time.monotonic() < end and c.execute("SELECT node, state FROM cc_agent WHERE agent = 'ann'"
                                                       ).fetchone() != ("a", "Ready"):
                time.sleep(0.2)
        b = subprocess.Popen([sys.executable, str(ROOT / "tests" / "test_cluster_support.py"), "--node", "b",
                              "--store", str(tmp_path / "b.db"), "--servers", '["nats://127.0.0.1:9"]', "--rate", "20",
                              "--centre", pg_url, "--shared-contact", "--logon", "ann:Ready", "--report", "2"],
                             stdout=subprocess.PIPE, text=True, cwd=ROOT)
        nodes.append(b)
        at_b = json.loads(_line(b, "agents "))
        assert at_b["ann"]["state"] == "Ready" and at_b["bob"]["state"] == "LoggedOff"   # b knows the centre's agents
        at_a = json.loads(_line(a, "agents "))
        assert at_a["ann"]["state"] == "LoggedOff"           # one agent, one station: a logged ann off
        with psycopg.connect(pg_url) as c:
            assert c.execute("SELECT node, state FROM cc_agent WHERE agent = 'ann'").fetchone() == ("b", "Ready")
    finally:
        for p in nodes:
            p.terminate()
            p.wait(15)


# ---- any sequence of requests, reports, decisions and takeovers keeps the centre consistent ---------
def _consistent(conn: Any) -> None:
    calls = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT call, state, agent FROM cc_call").fetchall()}
    agents = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT agent, state, call FROM cc_agent").fetchall()}
    conn.commit()
    held: dict[str, str] = {}
    for call, (state, agent) in calls.items():
        if state in ("offered", "connected"):
            assert agent is not None and agent not in held, (call, agent, held)   # one agent, one call
            held[agent] = call
            want = "Reserved" if state == "offered" else "Busy"
            assert agents[agent] == (want, call), (call, state, agents[agent])
        elif state == "queued":
            assert agent is None, (call, agent)
    for agent, (state, call) in agents.items():
        if state in ("Reserved", "Busy"):
            assert held.get(agent) == call, (agent, state, call)
        else:
            assert call is None, (agent, state, call)


def test_any_sequence_keeps_the_centre_consistent(pg_url: str) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    conn = _conn(pg_url)
    a, b = NodeCentre(_conn(pg_url), "a"), NodeCentre(_conn(pg_url), "b")
    leaders = [ClusterAcd(pg_url, "x", ttl=30.0, dead_after=5.0), ClusterAcd(pg_url, "y", ttl=30.0, dead_after=5.0)]
    for acd in leaders:
        acd.connect()
    agent = st.sampled_from(["ann", "bob", "cat"])
    call = st.integers(1, 6).map(lambda i: f"c{i}")
    node = st.sampled_from([a, b])
    op = st.one_of(
        st.tuples(st.just("log_on"), node, agent, st.lists(st.sampled_from(["q1", "q2"]), min_size=1, unique=True)),
        st.tuples(st.just("state"), node, agent, st.sampled_from(["Ready", "NotReady", "LoggedOff"])),
        st.tuples(st.just("queue"), node, call, st.sampled_from(["q1", "q2"])),
        st.tuples(st.just("decide"), st.integers(0, 1)),
        st.tuples(st.just("lapse"), st.integers(0, 1)),
        st.tuples(st.sampled_from(["answered", "no_answer", "abandon", "call_ended"]), node, call),
        st.tuples(st.sampled_from(["die", "live"]), node))

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(op, min_size=10, max_size=40))
    def run(ops: list[tuple[Any, ...]]) -> None:
        conn.execute("TRUNCATE cc_call, cc_agent, cc_member, cc_offer, cc_node, cc_lease, cc_lease_log")
        conn.commit()
        for acd in leaders:
            assert acd.lease is not None
            acd.lease.epoch = None
        a.heartbeat()
        b.heartbeat()
        a.log_on("ann", "a-ann", ["q1", "q2"])           # a centre already at work
        b.log_on("bob", "b-bob", ["q1"])
        b.log_on("cat", "b-cat", ["q2"], ready=False)
        a.queue_call("a-c1", "q1")
        b.queue_call("b-c2", "q2")
        for o in ops:
            kind = o[0]
            if kind == "log_on":
                try:
                    o[1].log_on(o[2], f"{o[1].node}-{o[2]}", o[3])
                except ValueError:
                    pass                                   # on a call: refused, clearly
            elif kind == "state":
                o[1].set_state(o[2], o[3])
            elif kind == "queue":
                try:
                    o[1].queue_call(f"{o[1].node}-{o[2]}", o[3])
                except psycopg.errors.UniqueViolation:
                    o[1].conn.rollback()                   # that call id queued before
            elif kind == "decide":
                leaders[o[1]].step()                      # the other one, if it leads, is fenced
            elif kind == "lapse":                         # the lease runs out (a pause) and one of them steps:
                conn.execute("UPDATE cc_lease SET expires = 0")   # the other, woken, is fenced
                conn.commit()
                leaders[o[1]].step()
            elif kind == "die":
                conn.execute("UPDATE cc_node SET seen = 0 WHERE node = %s", (o[1].node,))
                conn.commit()
            elif kind == "live":
                o[1].heartbeat()
            else:
                getattr(o[1], kind)(f"{o[1].node}-{o[2]}")
            _consistent(conn)
        offers = conn.execute("SELECT call, attempt, epoch FROM cc_offer ORDER BY call, attempt").fetchall()
        epochs = dict(conn.execute("SELECT epoch, holder FROM cc_lease_log").fetchall())
        conn.commit()
        assert all(e in epochs for _, _, e in offers)        # every offer by a leader of its time
        seen["offers"] += len(offers)
        seen["takeovers"] += max(0, len(epochs) - 1)

    seen = {"offers": 0, "takeovers": 0}
    try:
        run()
        assert seen["offers"] > 20 and seen["takeovers"] > 5, seen   # the sequences did exercise it
    finally:
        for acd in leaders:
            acd.close()
