"""CTI bus: events/s published and received on loopback (msgpack), and end-to-end latency.

Rows (events per second, higher is better; ratios against raw ZeroMQ in the same run):
* ``zmq PUB raw`` (reference): send pre-encoded ``[topic, bytes]`` frames, nothing else;
* ``msgpack+PUB``: encode the event dict and send it;
* ``BusServer.publish``: the real path: seq, envelope, msgpack, journal (SQLite, commit per
  1000), replay ring, PUB; with a subscriber connected;
* ``model event -> publish``: from a CallEvent dataclass (what the call model emits);
* ``received by SUB``: events a subscriber thread decoded while the server published.
Latency: a call-model event stamped when created, published by BusServer at a paced rate
(10 000 events/s), received and decoded by a SUB thread; p50 / p99 in microseconds.
Targets (issue 8): >= 500 000 events/s publish, p99 < 1 ms at 10 000 events/s.
"""
from __future__ import annotations

import multiprocessing
import time

import msgpack
import zmq

from bench.common import Result, rate
from cti.bus.server import BusServer, Endpoints
from cti.call.events import Delivered
from cti.store import open_store

TOPIC = b"call.0.5"
EVENT = {"type": "Delivered", "call": "1234", "device": "8001", "state": "alerting", "calling": "13800138000",
         "called": "8001", "span": 0, "ts": 5, "signalling": "no1", "direction": "in", "cause": None,
         "devices": ["8001"]}


def _bus(ctx: zmq.Context) -> BusServer:
    ep = "tcp://127.0.0.1:*"
    return BusServer(open_store(":memory:"), endpoints=Endpoints(ep, ep, ep), ctx=ctx).start()


def _subscriber(endpoint: str, conn, latency: bool) -> None:
    """Subscriber process: decode everything; report (count, seconds, latencies) when told to stop."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.SUB)
    sock.rcvhwm = 0
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.connect(endpoint)
    unpack = msgpack.unpackb
    n, lat, first, last = 0, [], 0.0, 0.0
    joined = False
    conn.send("ready")
    while not conn.poll():
        if not sock.poll(20):
            continue
        while True:
            try:
                topic, data = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            if topic == b"probe":
                if not joined:
                    conn.send("joined")
                    joined = True
                continue
            e = unpack(data)
            now = time.perf_counter()          # CLOCK_MONOTONIC: comparable across processes on Linux
            if n == 0:
                first = now
            last = now
            n += 1
            if latency and "t0" in e:
                lat.append(now - e["t0"])
    conn.recv()
    conn.send((n, last - first, lat))
    sock.close(0)
    ctx.term()


class _Sub:
    """A subscriber in another process (no GIL shared with the publisher)."""

    def __init__(self, bus: BusServer, latency: bool = False) -> None:
        mp = multiprocessing.get_context("fork")
        self.conn, child = mp.Pipe()
        self.proc = mp.Process(target=_subscriber, args=(bus.endpoints.events, child, latency), daemon=True)
        self.proc.start()
        self.conn.recv()
        for _ in range(500):            # slow joiner: probe until the subscriber sees us
            bus.pub.send_multipart([b"probe", b"\x80"])
            if self.conn.poll(0.01):
                self.conn.recv()
                break

    def result(self) -> tuple[int, float, list[float]]:
        self.conn.send("stop")
        r = self.conn.recv()
        self.proc.join(5)
        return r


def run(quick: bool = False) -> list[Result]:
    secs, rep = (0.2, 1) if quick else (1.0, 3)
    ctx = zmq.Context()
    out: list[Result] = []
    bus = _bus(ctx)
    data = msgpack.packb(EVENT)
    pub = bus.pub

    def raw() -> int:
        for _ in range(1000):
            pub.send(TOPIC, zmq.SNDMORE)
            pub.send(data)
        return 1000

    def packed() -> int:
        p = msgpack.Packer()
        for _ in range(1000):
            pub.send(TOPIC, zmq.SNDMORE)
            pub.send(p.pack(EVENT))
        return 1000

    def server() -> int:
        for _ in range(1000):
            bus.publish(EVENT)
        bus.flush()
        return 1000

    ev = Delivered(call="1234", device="8001", state="alerting", calling="13800138000", called="8001",
                   span=0, ts=5, signalling="no1", direction="in", devices=["8001"])

    def model() -> int:
        for _ in range(1000):
            bus.publish(ev)
        bus.flush()
        return 1000

    out.append(Result("publish", "zmq PUB raw", rate(raw, seconds=secs, repeat=rep), "events/s", reference=True,
                      note="pre-encoded frames"))
    out.append(Result("publish", "msgpack+PUB", rate(packed, seconds=secs, repeat=rep), "events/s"))
    out.append(Result("publish", "BusServer.publish", rate(server, seconds=secs, repeat=rep), "events/s",
                      note="seq+envelope+msgpack+journal+ring+PUB"))
    out.append(Result("publish", "model event -> publish", rate(model, seconds=secs, repeat=rep), "events/s",
                      note="CallEvent.to_dict + publish"))
    sub = _Sub(bus)
    n = 50_000 if quick else 200_000
    t0 = time.perf_counter()
    for _ in range(n // 1000):
        server()
    pub_rate = n / (time.perf_counter() - t0)
    time.sleep(0.5)
    got, span, _ = sub.result()
    out.append(Result("publish", "BusServer.publish, SUB attached", pub_rate, "events/s",
                      note="subscriber in another process"))
    out.append(Result("publish", "received by SUB (decoded)", got / span if span > 0 else 0.0, "events/s",
                      note=f"{got}/{n} received"))
    bus.close()

    # latency at a paced 10 000 events/s, subscriber in its own process
    bus = _bus(ctx)
    sub = _Sub(bus, latency=True)
    n = 5_000 if quick else 30_000
    period = 1.0 / 10_000
    start = time.perf_counter()
    for i in range(n):
        target = start + i * period
        while time.perf_counter() < target:
            pass
        e = dict(EVENT)
        e["t0"] = time.perf_counter()       # "the signalling event happened now"
        bus.publish(e)
        if i % 200 == 199:
            bus.flush()                     # the journal commits as the server loop does
    achieved = n / (time.perf_counter() - start)
    bus.flush()
    time.sleep(0.5)
    got, _, lat = sub.result()
    bus.close()
    lat = sorted(lat)
    if lat:
        p50, p99 = lat[len(lat) // 2] * 1e6, lat[int(len(lat) * 0.99)] * 1e6
        note = f"{got}/{n} received at {achieved:,.0f} events/s"
        out.append(Result("latency @10k/s", "p50 (us)", p50, "us", reference=True, note=note))
        out.append(Result("latency @10k/s", "p99 (us)", p99, "us", note="target < 1000 us"))
    ctx.term()
    return out


if __name__ == "__main__":
    from bench.common import print_results
    print_results("bus", run(quick=False))
