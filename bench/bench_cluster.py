"""Cluster event stream (issue 17): JetStream against the per-node ZeroMQ bus, same run.

A local 3-server nats-server cluster (:class:`cti.cluster.natsd.LocalNats`, loopback, stream
with 3 replicas on file storage) and one node's bus (BusServer, WAL-file journal, as cti-server
runs) with the real :class:`~cti.cluster.publisher.ClusterPublisher` attached, serviced every
millisecond as the server loop would. Rows (events per second, higher is better):

* ``ZeroMQ bus -> SUB`` (reference): N events published by the node's bus and received, decoded,
  by a subscriber process (the per-node bus: one node, no replication, no acknowledgement);
* ``JetStream R3 stored``: the same N events, from the first publish to the last one
  acknowledged by the stream (3 replicas on disk), pipelined by the relay;
* ``JetStream -> durable consumer``: a CRM process reading all N with a durable pull consumer
  and acknowledging each.

Latency: events paced at 1 000/s for a few seconds, stamped when the node publishes them,
received by a CRM process on an ordered push consumer; p50 / p99 / max in milliseconds
(CLOCK_MONOTONIC across processes). Stream leader takeover: the stream leader killed -9, the
seconds until another server leads the stream (what a node's relay waits through, retrying).
The machine is shared: compare ratios within one run.

Call set-up (with PostgreSQL, as below): a single node's own ACD (the reference) against the
cluster ACD ringing an agent on the caller's node and one on the other node through an E1 tie
span (PRI), two real servers on one real-time board clock (tests/cluster_tie_rig.py); medians
of 12 calls of seizure -> the agent's phone ringing, and the agent's answer -> the caller
answered (20 ms resolution: the board's block).

Takeovers (with PostgreSQL: ``CTI_TEST_POSTGRES_URL``, as .ci/run starts it; skipped, saying
so, without), medians of a few runs, each in a fresh schema:

* ACD leader: two ``python -m cti.cluster acd`` processes (lease 1.5 s) over callers queued
  every 50 ms; the leader killed -9; seconds until the standby's first offer (its epoch);
* wire card: ``cti-sim serve`` (span 0 cross-connected to span 1), node a owning it
  (``cti.cluster.card``, lease 1.5 s) with SS7 on span 0, node b standing by, the SS7 network
  on span 1 calling every 0.5 s; node a killed -9; seconds until b holds the lease, until b's
  ServerReady (every circuit's GRS acknowledged) and until the first call placed after the
  lease changed hands is answered and completed (0.3 s to answer, 1 s held). The processes are
  the test rigs' (tests/test_cluster_support.py, tests/cluster_rig.py).
"""
from __future__ import annotations

import asyncio
import multiprocessing
import os
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import zmq

from bench.bench_bus import _bus, _Sub
from bench.common import Result
from cti.cluster import ClusterConfig, ClusterPublisher
from cti.cluster.natsd import LocalNats, binary, meta_leader_ready

BENCH = "cluster events/s"
EVENT = {"type": "Delivered", "call": "a-1234", "device": "8001", "state": "alerting", "calling": "13800138000",
         "called": "8001", "span": 0, "ts": 5, "signalling": "no1", "direction": "in", "cause": None,
         "devices": ["8001"]}


def _consume(urls: list[str], n: int, conn: Any) -> None:
    """CRM process: read ``n`` events with a durable consumer, ack each; send (n, seconds)."""
    from cti.cluster.consumer import ClusterConsumer

    async def go() -> tuple[int, float]:
        got, t0 = 0, 0.0
        async with ClusterConsumer(urls, durable="bench", batch=1000) as feed:
            conn.send("ready")
            while got < n:
                evs = await feed.fetch(timeout=5.0)
                if not evs:
                    break
                if got == 0:
                    t0 = time.perf_counter()
                for ev in evs:
                    if "type" not in ev.event:      # decoded, as a CRM would
                        raise ValueError(f"event without a type: {ev.key}")
                    await ev.ack()
                got += len(evs)
        return got, time.perf_counter() - t0
    conn.send(asyncio.run(go()))


def _listen(urls: list[str], n: int, conn: Any) -> None:
    """CRM process on an ordered push consumer: latency of each paced event (perf_counter)."""
    import msgpack
    import nats
    from nats.js.api import DeliverPolicy

    async def go() -> list[float]:
        lat: list[float] = []
        done = asyncio.Event()
        nc = await nats.connect(urls)

        async def cb(msg: Any) -> None:
            e = msgpack.unpackb(msg.data)
            if "t0" in e:
                lat.append(time.perf_counter() - e["t0"])
                if len(lat) >= n:
                    done.set()
        await nc.jetstream().subscribe("cti.events.>", cb=cb, ordered_consumer=True,
                                       deliver_policy=DeliverPolicy.NEW)
        conn.send("ready")
        try:
            await asyncio.wait_for(done.wait(), 60)
        except TimeoutError:
            pass
        await nc.close()
        return lat
    conn.send(asyncio.run(go()))


def _service(cp: ClusterPublisher, bus: Any) -> None:
    bus.flush()
    cp.service(time.monotonic())


def _node(urls: list[str], tmp: str, ctx: zmq.Context[Any], name: str) -> tuple[Any, ClusterPublisher]:
    bus = _bus(ctx, os.path.join(tmp, f"{name}.db"))
    cp = ClusterPublisher(ClusterConfig(servers=urls), name)
    cp.start(cast(Any, SimpleNamespace(bus=bus)))        # the part of Host it uses
    if not cp.relay or not cp.relay.ready.wait(30):
        raise RuntimeError(f"relay not connected: {cp.relay and cp.relay.last_error}")
    _service(cp, bus)
    return bus, cp


def _throughput(urls: list[str], tmp: str, ctx: zmq.Context[Any], n: int) -> list[Result]:
    bus, cp = _node(urls, tmp, ctx, "a")
    assert cp.relay is not None
    sub = _Sub(bus)
    mp = multiprocessing.get_context("fork")
    parent, child = mp.Pipe()
    proc = mp.Process(target=_consume, args=(urls, n, child), daemon=True)
    proc.start()
    parent.recv()
    first = bus.seq + 1
    t0 = time.perf_counter()
    for i in range(n):
        bus.publish(EVENT)
        if i % 1000 == 999:
            _service(cp, bus)
    _service(cp, bus)
    pub_s = time.perf_counter() - t0
    while cp.relay.acked < bus.seq:
        time.sleep(0.001)
        _service(cp, bus)
    stored_s = time.perf_counter() - t0
    got, zmq_s, _ = sub.result()
    consumed, crm_s = parent.recv()
    proc.join(10)
    cp.stop()
    bus.close()
    zmq_rate = got / zmq_s if zmq_s > 0 else 0.0
    return [Result(BENCH, "ZeroMQ bus -> SUB", zmq_rate, "events/s", reference=True,
                   note=f"{got}/{n} received; publish loop {n / pub_s:,.0f}/s"),
            Result(BENCH, "JetStream R3 stored", n / stored_s, "events/s",
                   note=f"first seq {first}, acked {cp.relay.acked}; {dict(cp.relay.counters)}"),
            Result(BENCH, "JetStream -> durable consumer", consumed / crm_s if crm_s > 0 else 0.0, "events/s",
                   note=f"{consumed}/{n} read and acked by a CRM process")]


def _latency(urls: list[str], tmp: str, ctx: zmq.Context[Any], n: int, rate: float) -> list[Result]:
    bus, cp = _node(urls, tmp, ctx, "b")
    mp = multiprocessing.get_context("fork")
    parent, child = mp.Pipe()
    proc = mp.Process(target=_listen, args=(urls, n, child), daemon=True)
    proc.start()
    parent.recv()
    time.sleep(0.5)
    t0 = time.perf_counter()
    for i in range(n):
        while time.perf_counter() < t0 + i / rate:
            _service(cp, bus)
            time.sleep(0.0002)
        bus.publish({**EVENT, "t0": time.perf_counter()})
        _service(cp, bus)
    lat = sorted(parent.recv())
    proc.join(10)
    cp.stop()
    bus.close()
    if not lat:
        return [Result("cluster latency", "node event -> CRM (JetStream)", 0.0, "ms p99", note="nothing received")]
    def p(q: float) -> float:
        return float(lat[min(len(lat) - 1, int(q * len(lat)))]) * 1e3
    return [Result("cluster latency", "node event -> CRM (JetStream)", p(0.99), "ms p99",
                   note=f"{len(lat)}/{n} at {rate:.0f}/s; p50 {p(0.5):.2f} ms, max {lat[-1] * 1e3:.2f} ms")]


async def _quiet(e: Exception) -> None:
    """Connection errors while a server is down are expected here."""


async def _leader(urls: list[str], other_than: str | None, timeout: float = 60.0) -> str:
    import nats
    nc = await nats.connect(urls, max_reconnect_attempts=-1, reconnect_time_wait=0.1, error_cb=_quiet)
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            try:
                info = await nc.jetstream().stream_info("CTI")
                leader = info.cluster.leader if info.cluster else None
                if leader and leader != other_than:
                    return str(leader)
            except Exception:
                pass
            await asyncio.sleep(0.05)
        raise TimeoutError("no stream leader")
    finally:
        await nc.close()


def _leader_takeover(cluster: LocalNats) -> list[Result]:
    leader = asyncio.run(_leader(cluster.urls, None))
    victim = next(i for i in range(cluster.size) if leader.endswith(f"-n{i}"))
    t0 = time.monotonic()
    cluster.kill(victim)
    new = asyncio.run(_leader(cluster.urls, leader))
    took = time.monotonic() - t0
    cluster.start_one(victim)
    return [Result("cluster takeover", "stream leader kill -9 -> new leader", took, "s",
                   note=f"{leader} -> {new} (nats-server {_version()})")]


def _schema(url: str) -> tuple[str, str]:
    import uuid

    import psycopg
    name = "b" + uuid.uuid4().hex[:12]
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {name}")
    return name, f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{name}"


def _drop(url: str, name: str) -> None:
    import psycopg
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"DROP SCHEMA {name} CASCADE")


def _acd_once(url: str) -> float:
    import subprocess
    import sys

    import psycopg

    from cti.cluster.centre import NodeCentre, create
    name, db = _schema(url)
    procs = []
    try:
        nc = NodeCentre(psycopg.connect(db), "a")
        create(nc.conn)
        nc.heartbeat()
        for i in range(400):
            nc.log_on(f"ag{i}", f"{8000 + i}", ["q"])
        root = str(Path(__file__).resolve().parents[1])
        procs = [subprocess.Popen([sys.executable, "-m", "cti.cluster", "acd", "--db", db, "--name", n, "--ttl", "1.5"],
                                  cwd=root, stdout=subprocess.DEVNULL) for n in ("a", "b")]
        k = 0
        epoch = 0
        while epoch == 0:
            k += 1
            nc.queue_call(f"a-{k}", "q")
            nc.heartbeat()
            time.sleep(0.05)
            row = nc.conn.execute("SELECT holder, epoch FROM cc_lease WHERE name = 'acd'").fetchone()
            nc.conn.commit()
            epoch = int(row[1]) if row else 0
        time.sleep(0.5)
        holder = row[0]
        victim = procs[0] if holder == "a" else procs[1]
        t0 = time.time()
        victim.kill()
        while True:
            k += 1
            nc.queue_call(f"a-{k}", "q")
            nc.heartbeat()
            first = nc.conn.execute("SELECT MIN(at) FROM cc_offer WHERE epoch > %s", (epoch,)).fetchone()[0]
            nc.conn.commit()
            if first is not None:
                return float(first) - t0
            if time.time() - t0 > 30:
                raise TimeoutError("no ACD takeover within 30 s")
            time.sleep(0.05)
    finally:
        for p in procs:
            p.kill()
            p.wait()
        _drop(url, name)


def _card_once(url: str) -> tuple[float, float, float]:
    import json
    import re
    import select
    import signal
    import subprocess
    import sys
    import threading
    root = Path(__file__).resolve().parents[1]
    name, db = _schema(url)
    procs: list[subprocess.Popen[str]] = []
    lines: dict[str, list[tuple[float, str]]] = {}

    def read(key: str, p: subprocess.Popen[str]) -> None:
        lines[key] = []
        assert p.stdout is not None
        for line in p.stdout:
            lines[key].append((time.time(), line.strip()))

    def start(key: str, args: list[str]) -> subprocess.Popen[str]:
        p = subprocess.Popen([sys.executable, *args], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True)
        procs.append(p)
        threading.Thread(target=read, args=(key, p), daemon=True).start()
        return p

    def wait(key: str, pred: Any, timeout: float = 40.0) -> Any:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for t, s in list(lines.get(key, [])):
                got = pred(t, s)
                if got:
                    return got
            time.sleep(0.05)
        raise TimeoutError(f"{key}: nothing within {timeout} s")

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "sim.toml").write_text('spans = 2\nclock = "real"\ncross_connect = [[0, 1]]\n'
                                            '[[span]]\nsignalling = "ccs"\n[[span]]\nsignalling = "ccs"\n')
        card = subprocess.Popen([sys.executable, "-m", "cti.cli.sim", "serve", "--port", "0", "--config",
                                 str(Path(tmp) / "sim.toml")], cwd=root, stderr=subprocess.PIPE, text=True)
        procs.append(card)
        try:
            assert card.stderr is not None
            wire = ""
            while not wire:
                if select.select([card.stderr], [], [], 30)[0]:
                    m = re.search(r"listening on ([\d.]+):(\d+)", card.stderr.readline())
                    wire = f"socket://{m.group(1)}:{m.group(2)}" if m else ""
            support = str(root / "tests" / "test_cluster_support.py")
            node = ["--servers", '["nats://127.0.0.1:9"]', "--centre", db, "--card", wire, "--duration", "120"]
            a = start("a", [support, "--node", "a", "--store", f"{tmp}/a.db", *node])
            wait("a", lambda t, s: s.startswith("owner"))
            start("b", [support, "--node", "b", "--store", f"{tmp}/b.db", *node])
            wait("b", lambda t, s: s.startswith("standby"))
            start("net", [str(root / "tests" / "cluster_rig.py"), "network", wire, "90"])
            wait("net", lambda t, s: s.startswith("{") and json.loads(s).get("answered"))
            t0 = time.time()
            a.send_signal(signal.SIGKILL)
            lease = wait("b", lambda t, s: float(s.split()[2]) if s.startswith("owner") else None) - t0
            ready = wait("b", lambda t, s: float(s.split()[1]) if s.startswith("server-ready") else None) - t0

            def new_call(t: float, s: str) -> float | None:
                e = json.loads(s) if s.startswith("{") else {}
                return e["t"] if e.get("answered") and (e.get("placed") or 0) > t0 + lease else None
            first = wait("net", new_call) - t0
            return lease, ready, first
        finally:
            for p in reversed(procs):
                p.kill()
                p.wait()
            _drop(url, name)


def _takeovers(quick: bool) -> list[Result]:
    import statistics
    url = os.environ.get("CTI_TEST_POSTGRES_URL")
    if not url:
        print("bench_cluster: CTI_TEST_POSTGRES_URL not set (no PostgreSQL): ACD and card takeovers skipped")
        return []
    runs = 1 if quick else 3
    acd = [_acd_once(url) for _ in range(runs)]
    cards = [_card_once(url) for _ in range(runs)]
    def spread(xs: list[float]) -> str:
        return f"median of {len(xs)}, {min(xs):.2f}..{max(xs):.2f} s"
    return [Result("cluster takeover", "ACD leader kill -9 -> standby's first offer", statistics.median(acd), "s",
                   note=f"lease 1.5 s; {spread(acd)}"),
            Result("cluster takeover", "wire card owner kill -9 -> standby holds lease",
                   statistics.median(c[0] for c in cards), "s", note=f"lease 1.5 s; {spread([c[0] for c in cards])}"),
            Result("cluster takeover", "... -> circuits reset (GRS acknowledged, ServerReady)",
                   statistics.median(c[1] for c in cards), "s", note=spread([c[1] for c in cards])),
            Result("cluster takeover", "... -> first new call answered and completed",
                   statistics.median(c[2] for c in cards), "s",
                   note=f"answer 0.3 s + hold 1 s included; {spread([c[2] for c in cards])}")]


def _setups(quick: bool) -> list[Result]:
    """Call set-up through the cluster ACD against a single node's own ACD, same run: seizure
    of the caller's channel -> the agent's phone ringing, and the agent's answer -> the caller
    answered (tests/cluster_tie_rig.py: real servers, PRI public trunk, PRI tie between two
    boards on one real-time clock)."""
    import statistics
    import sys
    url = os.environ.get("CTI_TEST_POSTGRES_URL")
    if not url:
        print("bench_cluster: CTI_TEST_POSTGRES_URL not set (no PostgreSQL): cluster call set-up skipped")
        return []
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from cluster_tie_rig import Pair, setup_times
    n = 4 if quick else 12
    got: dict[str, list[tuple[float, float]]] = {}
    for kind in ("single", "here", "tie"):
        name, db = _schema(url)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                p = Pair(Path(tmp), db, single=kind == "single")
                try:
                    if kind == "tie":
                        p.log_on(p.b, "bob", "8002", "Ready")
                    else:
                        p.log_on(p.a, "ann", "8001", "Ready")
                    p.run(5.0)                 # the D channels up, the agent's state in the centre
                    srv = p.b if kind == "tie" else p.a
                    got[kind] = setup_times(p.run, p.a.now, p.exchange, srv.part("watch"),
                                            "8002" if kind == "tie" else "8001", n, f"13{len(got)}")
                finally:
                    p.close()
        finally:
            _drop(url, name)
    rows = {"single": "one node, its own ACD (reference)", "here": "cluster ACD, agent on the caller's node",
            "tie": "cluster ACD, agent on the other node (E1 tie, PRI)"}
    out = []
    for i, what in enumerate(("seizure -> agent's phone rings", "agent answers -> caller answered")):
        for kind, label in rows.items():
            xs = [x[i] for x in got[kind]]
            out.append(Result(f"cluster call set-up: {what}", label, statistics.median(xs), "s",
                              reference=kind == "single",
                              note=f"median of {len(xs)}, {min(xs):.3f}..{max(xs):.3f} s"))
    return out


def _version() -> str:
    import subprocess
    exe = binary() or "nats-server"
    return subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip().split()[-1]


def run(quick: bool = False) -> list[Result]:
    if binary() is None:
        print("bench_cluster: nats-server is not installed (Debian package nats-server): skipped")
        return []
    n = 20_000 if quick else 100_000
    with tempfile.TemporaryDirectory() as tmp, LocalNats(Path(tmp) / "nats") as cluster:
        asyncio.run(meta_leader_ready(cluster.urls))
        ctx: zmq.Context[Any] = zmq.Context()
        try:
            out = _throughput(cluster.urls, tmp, ctx, n)
            out += _latency(cluster.urls, tmp, ctx, 2000 if quick else 5000, 1000.0)
            out += _leader_takeover(cluster)
        finally:
            ctx.term()
    return out + _setups(quick) + _takeovers(quick)


__all__ = ["run"]
