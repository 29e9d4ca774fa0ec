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
"""
from __future__ import annotations

import asyncio
import multiprocessing
import os
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import zmq

from bench.bench_bus import _bus, _Sub
from bench.common import Result
from cti.cluster import ClusterConfig, ClusterPublisher
from cti.cluster.natsd import LocalNats, binary

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
    cp.start(SimpleNamespace(bus=bus))         # type: ignore[arg-type]   # the part of Host it uses
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
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1e3     # noqa: E731
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
        asyncio.run(_leader_ready(cluster.urls))
        ctx: zmq.Context[Any] = zmq.Context()
        try:
            out = _throughput(cluster.urls, tmp, ctx, n)
            out += _latency(cluster.urls, tmp, ctx, 2000 if quick else 5000, 1000.0)
            out += _leader_takeover(cluster)
        finally:
            ctx.term()
    return out


async def _leader_ready(urls: list[str], timeout: float = 30.0) -> None:
    import nats
    nc = await nats.connect(urls, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    end = time.monotonic() + timeout
    try:
        while True:
            try:
                await nc.jetstream().account_info()
                return
            except Exception:
                if time.monotonic() > end:
                    raise
                await asyncio.sleep(0.2)
    finally:
        await nc.close()


__all__ = ["run"]
