"""Rigs for the cluster's tests: a PostgreSQL schema of their own on CTI_TEST_POSTGRES_URL (the
server .ci/run starts with .ci/postgres.sh), dropped afterwards. No tests here."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def scoped_url(url: str, schema: str) -> str:
    """``url`` whose connections use ``schema`` (search_path)."""
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


@pytest.fixture(name="pg_url")
def pg_url_fixture() -> Iterator[str]:
    """A URL of an empty schema of its own on the test PostgreSQL server."""
    url = os.environ.get("CTI_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("CTI_TEST_POSTGRES_URL not set (no PostgreSQL server: .ci/run starts one as root)")
    psycopg = pytest.importorskip("psycopg", reason="psycopg not installed (pip install 'psycopg[binary]')")
    schema = "c" + uuid.uuid4().hex[:12]
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    yield scoped_url(url, schema)
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(name="nats_cluster")
def nats_cluster_fixture(tmp_path: Path) -> Any:
    """A 3-server NATS JetStream cluster on loopback ports (Debian's nats-server), meta leader elected."""
    from cti.cluster.natsd import LocalNats
    cluster = LocalNats(tmp_path / "nats")
    cluster.start()
    try:
        wait_meta_leader(cluster.urls)
        yield cluster
    finally:
        cluster.stop()


def wait_meta_leader(urls: list[str], timeout: float = 30.0) -> None:
    """Wait until the JetStream cluster has elected its meta leader (account info answers)."""
    from cti.cluster.natsd import meta_leader_ready
    asyncio.run(meta_leader_ready(urls, timeout))


# ---- a process's output ---------------------------------------------------------------------------
class Lines:
    """A process's stdout lines (text, and JSON ones parsed), read on a thread, time-stamped."""

    def __init__(self, p: subprocess.Popen[str]) -> None:
        self.p = p
        self.lines: list[tuple[float, str]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.p.stdout is not None
        for line in self.p.stdout:
            self.lines.append((time.time(), line.strip()))

    def json(self) -> list[dict[str, Any]]:
        out = []
        for _, s in list(self.lines):
            if s.startswith("{"):
                out.append(json.loads(s))
        return out

    def wait(self, prefix: str, timeout: float) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for _, s in list(self.lines):
                if s.startswith(prefix):
                    return s
            time.sleep(0.05)
        raise AssertionError(f"no {prefix!r} line within {timeout} s: {self.lines[-5:]}")



# ---- a contact-centre load on the cluster's database (ACD tests) ----------------------------------
class Load:
    """Nodes' side of a centre under call load: callers arrive on ``nodes`` and queue, offered
    calls are answered after ``ring`` s (or not: ``rona`` of them), talk ``talk`` s, some
    callers abandon; agents that were RONA'd are made Ready again. Every observation is kept
    so a test can check that no agent ever had two calls and no call two agents at once."""

    def __init__(self, url: str, nodes: list[str], agents_per_node: int = 8, queues: tuple[str, ...] = ("sales", "help"),
                 seed: int = 1) -> None:
        import random

        import psycopg

        from cti.cluster.centre import NodeCentre, create
        self.rng = random.Random(seed)
        self.queues = queues
        self.nodes = {n: NodeCentre(psycopg.connect(url), n) for n in nodes}
        create(next(iter(self.nodes.values())).conn)
        self.n = 0
        self.ringing: dict[str, tuple[str, str, float, bool]] = {}   # call -> (node, agent, at, answers)
        self.talking: dict[str, tuple[str, float]] = {}           # call -> (node, end at)
        self.waiting: dict[str, tuple[str, float | None]] = {}    # call -> (node, abandon at)
        self.rested: dict[str, tuple[str, float]] = {}            # agent -> (node, ready again at)
        self.double: list[str] = []                               # violations seen
        self.offers_seen = 0
        for node, nc in self.nodes.items():
            nc.heartbeat()
            for i in range(agents_per_node):
                nc.log_on(f"{node}{i}", f"{node}-{8000 + i}", [queues[i % len(queues)], queues[(i + 1) % len(queues)]]
                          if i % 3 == 0 else [queues[i % len(queues)]])

    def arrive(self, node: str, now: float) -> str:
        self.n += 1
        call = f"{node}-{self.n}"
        self.nodes[node].queue_call(call, self.rng.choice(self.queues), priority=self.rng.choice((0, 0, 0, 1)))
        self.waiting[call] = (node, now + self.rng.uniform(1.0, 4.0) if self.rng.random() < 0.08 else None)
        return call

    def turn(self, now: float, arrivals: int = 0) -> None:
        """Arrivals, heartbeats, and the phones' side of every offer, answer and hang-up due."""
        for _ in range(arrivals):
            self.arrive(self.rng.choice(list(self.nodes)), now)
        busy: dict[str, str] = {}
        for node, nc in self.nodes.items():
            nc.heartbeat()
            for call, agent, _an, _dev in nc.offers():
                if call in self.ringing:
                    continue
                self.offers_seen += 1
                other = [c for c, (_, a, _, _) in self.ringing.items() if a == agent]
                if other:
                    self.double.append(f"agent {agent} offered {call} while ringing for {other}")
                self.waiting.pop(call, None)
                answer = self.rng.random() > 0.1                 # else ring no answer after 0.6 s
                self.ringing[call] = (node, agent, now + (self.rng.uniform(0.05, 0.4) if answer else 0.6), answer)
        for call, (node, agent, at, answer) in list(self.ringing.items()):
            if agent in busy:
                self.double.append(f"agent {agent} rings for {call} and {busy[agent]}")
            busy[agent] = call
            nc = self.nodes[node]
            if at > now:
                continue
            del self.ringing[call]
            if answer:
                if nc.answered(call):
                    self.talking[call] = (node, now + self.rng.uniform(0.2, 0.8))
            elif nc.no_answer(call):
                self.rested[agent] = (node, now + 0.3)
                self.waiting[call] = (node, None)
        for call, (node, end) in list(self.talking.items()):
            if end <= now:
                self.nodes[node].call_ended(call)
                del self.talking[call]
        for call, (node, when) in list(self.waiting.items()):
            if when is not None and when <= now:
                if self.nodes[node].abandon(call):
                    self.ringing.pop(call, None)
                del self.waiting[call]
        for agent, (node, when) in list(self.rested.items()):
            if when <= now:
                self.nodes[node].set_state(agent, "Ready")
                del self.rested[agent]

    def close(self) -> None:
        for nc in self.nodes.values():
            nc.conn.close()


def node_main() -> None:
    """``python tests/cluster_rig.py node URL NAME CALLS``: a node that logs on two agents, queues
    ``CALLS`` callers, heartbeats, and answers nothing (a node to kill -9 under load)."""
    import sys
    import time

    import psycopg

    from cti.cluster.centre import NodeCentre, create
    url, name, calls = sys.argv[2], sys.argv[3], int(sys.argv[4])
    nc = NodeCentre(psycopg.connect(url), name)
    create(nc.conn)
    nc.heartbeat()
    nc.log_on(f"{name}0", f"{name}-8000", ["sales"])
    nc.log_on(f"{name}1", f"{name}-8001", ["help"])
    for i in range(calls):
        nc.queue_call(f"{name}-{i + 1}", "sales" if i % 2 else "help")
    print("ready", flush=True)
    while True:
        nc.heartbeat()
        time.sleep(0.2)


def network_main() -> None:
    """``python tests/cluster_rig.py network URL SECONDS``: the SS7 network on span 1 of a served
    card (cross-connected to span 0, the nodes' trunk): places a call to 8001 every 0.5 s once
    the link is up, the subscriber clearing after 1 s; prints a JSON line per call outcome and
    per circuit reset seen (wall-clock ``t``) for the test to read."""
    import json
    import sys
    import time

    import drivers
    from simulator.exchange.base import Behaviour, CallScript, Subscriber
    from simulator.exchange.ss7 import Ss7Exchange
    url, seconds = sys.argv[2], float(sys.argv[3])
    kind = sys.argv[4] if len(sys.argv) > 4 else "ss7"
    board = drivers.open("wire", url=url)
    far = Subscriber("*", Behaviour.ANSWER, answer_after=0.3, hold_for=1.0)
    ex: Any
    if kind == "ss7":
        ex = Ss7Exchange([board.spans[1]], default=far)
    elif kind == "pri":
        from simulator.exchange.pri import PriExchange
        ex = PriExchange([board.spans[1]], default=far, config={})
    else:
        from simulator.exchange.no1 import No1Exchange
        ex = No1Exchange([board.spans[1]], default=far)
    t0 = time.monotonic()
    last, n, seen, logged = -1e9, 0, 0, 0
    reported: set[int] = set()
    placed: dict[str, float] = {}
    print("ready", flush=True)
    while time.monotonic() - t0 < seconds:
        board.poll_events()
        now = board.now()
        ex.service(now)
        if getattr(ex, "up", True) and now - last >= 0.5:
            n += 1
            last = now
            ex.place_call(CallScript(at=now, called="8001", calling=f"13800{n:06d}", hold_for=1.0))
            placed[f"13800{n:06d}"] = time.time()
            print(json.dumps({"t": placed[f"13800{n:06d}"], "placing": f"13800{n:06d}"}), flush=True)
        for e in ex.log[logged:]:
            if type(e).__name__ == "CircuitState":
                print(json.dumps({"t": time.time(), "circuit": list(e.circuit), "available": e.available,
                                  "reason": e.reason}), flush=True)
        logged = len(ex.log)
        for r in ex.records[seen:]:                     # each call once it ends, in any order: one
            if r.cleared_at is None or id(r) in reported:     # call that lasts holds back no other
                continue
            reported.add(id(r))
            print(json.dumps({"t": time.time(), "placed": placed.get(r.calling or ""), "call": r.calling,
                              "outcome": r.outcome, "cause": r.cause,
                              "answered": r.answered_at is not None, "cleared_by": r.cleared_by}), flush=True)
        while seen < len(ex.records) and id(ex.records[seen]) in reported:
            seen += 1
        time.sleep(0.005)


if __name__ == "__main__":
    import sys as _sys
    _sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    if _sys.argv[1:2] == ["node"]:
        node_main()
    elif _sys.argv[1:2] == ["network"]:
        network_main()
