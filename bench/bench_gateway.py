"""cti-gateway: WebSocket fan-out latency and loss, throughput against raw ZeroMQ, memory.

Set-up, all on this host: a BusServer (SQLite WAL journal) on a thread of this process, publishing;
``cti-gateway`` as its own process (plain mode, loopback); WebSocket clients in two processes
of their own (aiohttp).

* **fan-out**: 1 000 WebSocket subscribers on one gateway, 1 000 events/s for ``seconds``.
  Every subscriber checks it got every event once (count and last seq against what the bus
  published after its subscription started); latency is the client's receive time minus the
  event's ``time`` stamp (set by the bus when it publishes), taken for the *oldest* event of
  each frame and charged to every event of that frame (an upper bound per event); p50 / p99 /
  max over all events of all subscribers. Target: p99 < 50 ms, none lost.
* **throughput**: a burst published as fast as the bus thread can, received by one raw ZeroMQ
  SUB process (reference: what the bus delivers) and by one WebSocket subscriber of the gateway;
  events / (last received - burst started), rounds interleaved; median of the rounds.
* **memory**: the gateway process's resident set before and after the 1 000 connections
  subscribe, divided by 1 000.
"""
from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any

from bench.common import Result
from cti.bus.server import Limits
from cti.gateway.rig import BusThread

EVENT = {"type": "Delivered", "topic": "call.0.1", "device": "2001", "devices": ["2001"], "state": "alerting",
         "calling": "13800138000", "called": "4000", "span": 0, "ts": 1, "signalling": "no1", "direction": "in"}
_LAST = re.compile(rb'"last":(\d+)')
_TIME = re.compile(rb'"time":([0-9.]+)')


def _event(i: int) -> dict[str, Any]:
    return dict(EVENT, call=str(i))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# ---- client processes ------------------------------------------------------------------------------

def _fanout_client(url: str, n: int, ready: Any, final: Any, out: Any, deflate: bool = True) -> None:
    """``n`` WebSocket subscribers on plain sockets and one epoll loop: a lean reader, so that what
    is measured is the gateway, not the Python WebSocket library of the test clients. ``deflate``:
    offer permessage-deflate as browsers do (and inflate what comes)."""
    import base64
    import selectors
    import struct
    import zlib

    host, port = url.split("//")[1].split(":")
    sel = selectors.DefaultSelector()
    conns: list[dict[str, Any]] = []
    for k in range(n):
        s = socket.create_connection((host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        ext = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if deflate else ""
        s.sendall((f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(65536)
        buf = buf.split(b"\r\n\r\n", 1)[1]
        msg = b'{"op":"subscribe","id":1}'
        mask = os.urandom(4)
        s.sendall(bytes((0x81, 0x80 | len(msg))) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(msg)))
        c = {"sock": s, "buf": buf, "after": None, "count": 0, "last": 0, "inflate": zlib.decompressobj(-15)}
        while c["after"] is None:                       # hello, then subscribed
            c["buf"] += s.recv(65536)
            m = re.search(rb'"op":"subscribed"[^}]*"after":(\d+)', c["buf"])
            if m:
                c["after"] = int(m.group(1))
                c["buf"] = c["buf"][c["buf"].index(b'"op":"subscribed"'):]
                c["buf"] = c["buf"][c["buf"].index(b"}") + 1:]
                # drop whatever partial frame bookkeeping: the next frame starts after the subscribed one
                c["buf"] = b""
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, k)
        conns.append(c)
    ready.put(n)
    lats: dict[int, int] = {}
    target = 0
    deadline = None
    while True:
        if not target and not final.empty():
            target = final.get()
            deadline = time.monotonic() + 90
        if target and (all(c["last"] >= target for c in conns) or time.monotonic() > deadline):
            break
        for key, _ev in sel.select(0.05):
            c = conns[key.data]
            try:
                chunk = c["sock"].recv(1 << 20)
            except BlockingIOError:
                continue
            if not chunk:
                sel.unregister(c["sock"])
                continue
            now = time.time()
            b = c["buf"] + chunk if c["buf"] else chunk     # no copy in the usual case
            pos, end = 0, len(b)
            while end - pos >= 2:                           # scan in place: no payload slices
                ln = b[pos + 1] & 0x7F
                off = 2
                if ln == 126:
                    if end - pos < 4:
                        break
                    ln, off = struct.unpack_from("!H", b, pos + 2)[0], 4
                elif ln == 127:
                    if end - pos < 10:
                        break
                    ln, off = struct.unpack_from("!Q", b, pos + 2)[0], 10
                if end - pos < off + ln:
                    break
                start, stop, rsv1 = pos + off, pos + off + ln, b[pos] & 0x40
                pos = stop
                if rsv1:                                    # a compressed message (permessage-deflate)
                    text = c["inflate"].decompress(b[start:stop] + b"\x00\x00\xff\xff")
                    if text.startswith(b'{"op":"events"'):
                        cnt = text.count(b'"seq":')
                        c["count"] += cnt
                        c["last"] = int(_LAST.search(text).group(1))      # type: ignore[union-attr]
                        t = _TIME.search(text)
                        if t:
                            bucket = int((now - float(t.group(1))) * 10000)
                            lats[bucket] = lats.get(bucket, 0) + cnt
                    continue
                if b.startswith(b'{"op":"events"', start):
                    cnt = b.count(b'"seq":', start, stop)
                    c["count"] += cnt
                    c["last"] = int(_LAST.search(b, start, stop).group(1))     # type: ignore[union-attr]
                    t = _TIME.search(b, start, stop)
                    if t:
                        bucket = int((now - float(t.group(1))) * 10000)
                        lats[bucket] = lats.get(bucket, 0) + cnt
            c["buf"] = b[pos:] if pos < end else b""
    lost = sum(max(0, (target - c["after"]) - c["count"]) for c in conns)
    extra = sum(max(0, c["count"] - (target - c["after"])) for c in conns)
    out.put({"lats": lats, "lost": lost, "extra": extra, "short": sum(1 for c in conns if c["last"] < target)})
    for c in conns:
        c["sock"].close()


def _raw_sub(endpoint: str, ready: Any) -> tuple[Any, Any]:
    """A raw SUB on the bus's PUB socket, every topic, no high-water mark; says ready once joined."""
    import zmq
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.rcvhwm = 0
    sub.connect(endpoint)
    time.sleep(0.3)
    ready.put(1)
    return ctx, sub


def _zmq_latency(endpoint: str, ready: Any, final: Any, out: Any) -> None:
    """The reference: one raw ZeroMQ SUB (what the bus itself delivers) in the same fan-out run,
    latency = receive time - the event's bus ``time`` stamp, per event."""
    import msgpack
    ctx, sub = _raw_sub(endpoint, ready)
    lats: dict[int, int] = {}
    target, last, count = 0, 0, 0
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if not target and not final.empty():
            target = final.get()
            deadline = time.monotonic() + 60
        if target and last >= target:
            break
        if not sub.poll(50):
            continue
        _topic, data = sub.recv_multipart()
        now = time.time()
        e = msgpack.unpackb(data, raw=False)
        last = max(last, int(e.get("seq", 0)))
        count += 1
        if isinstance(e.get("time"), (int, float)):
            b = int((now - e["time"]) * 10000)
            lats[b] = lats.get(b, 0) + 1
    out.put({"lats": lats, "count": count})
    ctx.destroy(0)


def _zmq_counter(endpoint: str, n: int, ready: Any, out: Any) -> None:
    ctx, sub = _raw_sub(endpoint, ready)
    got = 0
    while got < n:
        if not sub.poll(20000):
            break
        sub.recv_multipart()
        got += 1
    out.put((got, time.time()))
    ctx.destroy(0)


def _ws_counter(url: str, n: int, ready: Any, out: Any) -> None:
    async def go() -> None:
        import aiohttp
        async with aiohttp.ClientSession() as s, s.ws_connect(url + "/ws", max_msg_size=0) as ws:
            await ws.receive()
            await ws.send_str('{"op":"subscribe","id":1}')
            await ws.receive()
            ready.put(1)
            got = 0
            while got < n:
                m = await ws.receive(timeout=120)
                if m.type != aiohttp.WSMsgType.TEXT:
                    break
                if m.data.startswith('{"op":"events"'):
                    got += m.data.count('"seq":')
            out.put((got, time.time()))
    asyncio.run(go())


# ---- the benchmark --------------------------------------------------------------------------------

def _merge(parts: list[dict[int, int]]) -> tuple[list[tuple[float, int]], int]:
    merged: dict[int, int] = {}
    for part in parts:
        for b, c in part.items():
            merged[b] = merged.get(b, 0) + c
    lats = sorted((b / 10000, c) for b, c in merged.items())
    return lats, sum(c for _lat, c in lats)


def _pct(lats: list[tuple[float, int]], total: int, q: float) -> float:
    """The ``q`` quantile of a (seconds, count) histogram, in milliseconds."""
    k, acc = q * total, 0
    for lat, c in lats:
        acc += c
        if acc >= k:
            return lat * 1000
    return float("nan")


def _fanout_round(ctx: Any, bus: BusThread, url: str, gw_pid: int, subscribers: int, rate: float,
                  seconds: float) -> dict[str, Any]:
    """One fan-out round: fresh subscribers (two processes) and a raw SUB, ``rate`` events/s."""
    assert bus.endpoints is not None
    ready, final, out, raw_out = ctx.Queue(), ctx.Queue(), ctx.Queue(), ctx.Queue()
    halves = [subscribers // 2, subscribers - subscribers // 2]
    procs = [ctx.Process(target=_fanout_client, args=(url, h, ready, final, out)) for h in halves]
    procs.append(ctx.Process(target=_zmq_latency, args=(bus.endpoints.events, ready, final, raw_out)))
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=300)
    time.sleep(1.0)
    rss = _rss_kib(gw_pid)
    n = int(rate * seconds)
    seq0 = bus.seq
    cpu0 = _cpu_seconds(gw_pid)
    since = time.time()
    bus.pace(n, rate, _event)
    target = seq0 + n
    time.sleep(seconds)                     # the bus thread is busy pacing until then
    deadline = time.monotonic() + 60
    while bus.seq < target and time.monotonic() < deadline:
        time.sleep(0.1)
    for _ in procs:
        final.put(target)
    with urllib.request.urlopen(f"{url}/readyz?since={since}", timeout=10) as r:
        inside = json.load(r)["fanout_ms"]       # the gateway's own part: published -> written to all
    parts = [out.get(timeout=180) for _ in procs[:-1]]
    raw = raw_out.get(timeout=60)
    cpu = _cpu_seconds(gw_pid) - cpu0
    for p in procs:
        p.join(30)
    lats, total = _merge([p["lats"] for p in parts])
    rlats, rtotal = _merge([raw["lats"]])
    return {"p50": _pct(lats, total, 0.5), "p99": _pct(lats, total, 0.99), "max": lats[-1][0] * 1000 if lats else 0.0,
            "raw_p50": _pct(rlats, rtotal, 0.5), "raw_p99": _pct(rlats, rtotal, 0.99),
            "in_p50": float(inside.get("p50", float("nan"))), "in_p99": float(inside.get("p99", float("nan"))),
            "lost": sum(p["lost"] for p in parts), "extra": sum(p["extra"] for p in parts),
            "short": sum(p["short"] for p in parts), "total": total, "expected": n * subscribers, "cpu": cpu,
            "rss": rss}


def _burst(bus: BusThread, n: int) -> None:
    def job(b: Any) -> None:
        for i in range(n):
            b.publish(_event(i))
            if i % 500 == 499:
                b.poll(0)
    bus.inbox.put(job)


def run(quick: bool = False) -> list[Result]:
    subscribers = 100 if quick else 1000
    rate = 1000.0
    seconds = 3.0 if quick else 10.0
    tp_events = 20_000 if quick else 100_000
    rounds = 1 if quick else 3
    fan_rounds = 1 if quick else 3
    ctx = mp.get_context("spawn")
    tmp = tempfile.mkdtemp(prefix="bench-gateway-")
    bus = BusThread(os.path.join(tmp, "j.db"), limits=Limits(ring=200_000)).start()
    assert bus.endpoints is not None
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    gw = subprocess.Popen([sys.executable, "-m", "cti.cli.gateway", "--port", str(port), "--events", bus.endpoints.events,
                           "--snapshot", bus.endpoints.snapshot, "--control", bus.endpoints.control,
                           "--max-buffer", str(16 << 20)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results: list[Result] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("cti-gateway did not become ready")
            time.sleep(0.2)
        time.sleep(1.0)
        rss0 = _rss_kib(gw.pid)

        # fan-out: subscribers in two processes, the raw-bus reference in a third; rounds
        rounds_out = [_fanout_round(ctx, bus, url, gw.pid, subscribers, rate, seconds) for _ in range(fan_rounds)]
        rss1 = rounds_out[0]["rss"]           # connected, before any event (later rounds: buffers grown)
        med = {k: statistics.median(r[k] for r in rounds_out) for k in ("p50", "p99", "max", "raw_p50", "raw_p99",
                                                                       "in_p50", "in_p99", "cpu")}

        def spread(k: str) -> str:
            return " / ".join(f"{r[k]:.1f}" for r in rounds_out)
        lost = sum(r["lost"] for r in rounds_out)
        extra = sum(r["extra"] for r in rounds_out)
        short = sum(r["short"] for r in rounds_out)
        total = sum(r["total"] for r in rounds_out)
        expected = sum(r["expected"] for r in rounds_out)
        n = int(rate * seconds)
        load = os.getloadavg()[0]
        results.append(Result("fan-out latency", "raw ZeroMQ SUB: p99 delivery (the bus)", med["raw_p99"], "ms", True,
                              f"same runs, one SUB process: p50 {med['raw_p50']:.1f} ms; rounds p99 "
                              f"{spread('raw_p99')} ms"))
        results.append(Result("fan-out latency", f"cti-gateway: p99 delivery, {subscribers} subscribers",
                              med["p99"], "ms", False,
                              f"{fan_rounds} rounds x {subscribers} subscribers x {n} events at {rate:.0f}/s, median "
                              f"of rounds (each: {spread('p99')} ms); p50 {med['p50']:.1f} ms ({spread('p50')}), "
                              f"max {med['max']:.1f} ms; target p99 < 50 ms; load average {load:.1f}"))
        results.append(Result("fan-out latency", "cti-gateway: p99 inside the gateway", med["in_p99"], "ms", False,
                              f"bus publication -> frame written to all {subscribers} sockets, per batch: "
                              f"p50 {med['in_p50']:.1f} ms; rounds p99 {spread('in_p99')} ms; gateway CPU "
                              f"{spread('cpu')} s per round of {seconds:.0f} s"))
        results.append(Result("fan-out latency", "events delivered / expected", total / expected if expected else 0,
                              "ratio", False, f"delivered {total:,} of {expected:,}: lost {lost}, duplicated {extra}, "
                                              f"{short} subscribers short of the last seq"))
        results.append(Result("memory", "per WebSocket connection", (rss1 - rss0) / subscribers, "KiB", True,
                              f"gateway RSS {rss0 / 1024:.1f} MiB idle, {rss1 / 1024:.1f} MiB with {subscribers} "
                              "subscribers"))

        # throughput: raw ZeroMQ SUB vs one WebSocket subscriber of the gateway, interleaved rounds
        raw, via = [], []
        for _ in range(rounds):
            for kind in ("zmq", "ws"):
                ready, out = ctx.Queue(), ctx.Queue()
                target_fn = _zmq_counter if kind == "zmq" else _ws_counter
                arg = bus.endpoints.events if kind == "zmq" else url
                p = ctx.Process(target=target_fn, args=(arg, tp_events, ready, out))
                p.start()
                ready.get(timeout=60)
                time.sleep(0.3)
                t0 = time.time()
                _burst(bus, tp_events)
                got, t1 = out.get(timeout=300)
                dt = t1 - t0
                p.join(30)
                (raw if kind == "zmq" else via).append(got / dt if dt > 0 else 0.0)
        results.append(Result("throughput", "raw ZeroMQ SUB (the bus)", statistics.median(raw), "events/s", True,
                              f"{tp_events} events/round, rounds: " + ", ".join(f"{x:,.0f}" for x in raw)))
        results.append(Result("throughput", "through cti-gateway, one WebSocket", statistics.median(via), "events/s",
                              False, "rounds: " + ", ".join(f"{x:,.0f}" for x in via)))
    finally:
        gw.terminate()
        try:
            gw.wait(10)
        except subprocess.TimeoutExpired:
            gw.kill()
        bus.stop()
    return results
