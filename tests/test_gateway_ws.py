"""cti-gateway over WebSocket and HTTP against a real bus: resume by seq, snapshot-then-stream,
topic filters, requests, slow consumers, bad input. The bus runs on a thread of this process
(cti.gateway.rig), the clients are aiohttp and a raw-socket WebSocket client that can stop
reading."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import time
from typing import Any

import aiohttp
import pytest

from cti.bus.server import Limits
from cti.gateway.accounts import Accounts
from cti.gateway.app import Options
from cti.gateway.rig import BusThread, GatewayThread


def ev(i: int, topic: str = "call.0.1", pad: int = 0, **kw: Any) -> dict[str, Any]:
    e = {"type": "Delivered", "topic": topic, "call": str(i), "device": "2001", "devices": ["2001"], "state": "alerting"}
    if pad:
        e["pad"] = "x" * pad
    e.update(kw)
    return e


def answer(account, req, _t):
    return {"call": req.call}


@pytest.fixture
def bus(tmp_path):
    b = BusThread(str(tmp_path / "j.db"), limits=Limits(rate=1e6, burst=1e6),
                  setup=lambda bus: bus.register_command("AnswerCall", answer)).start()
    yield b
    b.stop()


def gateway(bus: BusThread, **opts: Any) -> GatewayThread:
    return GatewayThread(Accounts(bus.endpoints, timeout=3.0), Options(**opts)).start()


@pytest.fixture
def gw(bus):
    g = gateway(bus)
    yield g
    g.stop()


def wait_seq(bus: BusThread, seq: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while bus.seq < seq:
        assert time.monotonic() < deadline, f"bus never reached seq {seq}"
        time.sleep(0.01)


async def collect(ws: aiohttp.ClientWebSocketResponse, until: int, timeout: float = 20.0) -> tuple[list[int], list[dict]]:
    """Event seqs until seq ``until`` is covered; and the other messages."""
    seqs: list[int] = []
    other: list[dict] = []
    deadline = time.monotonic() + timeout
    last = -1
    while last < until:
        m = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
        assert m.type == aiohttp.WSMsgType.TEXT, m
        msg = json.loads(m.data)
        if msg["op"] == "events":
            check_header(m.data, msg)
            seqs += [e["seq"] for e in msg["events"]]
            last = msg["last"]
        else:
            other.append(msg)
    return seqs, other


def check_header(text: str, msg: dict[str, Any]) -> None:
    """An events frame leads with its batch header, which tells the truth about its events."""
    evs = msg["events"]
    assert text.startswith(f'{{"op":"events","first":{msg["first"]},"last":{msg["last"]},"count":{msg["count"]}')
    assert evs and msg["first"] == evs[0]["seq"] and msg["count"] == len(evs) and msg["last"] >= evs[-1]["seq"]
    assert msg["oldest"] == evs[0]["time"] and text.index('"events":') > text.index('"oldest":')


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 90))


# ---- resume, snapshot, topics ----------------------------------------------------------------------

def test_resume_from_seq_replays_journal_then_live_without_gap_or_duplicate(bus, gw):
    bus.publish([ev(i) for i in range(1, 301)])       # before anyone subscribes: from the journal/ring
    wait_seq(bus, 300)

    async def go():
        async with aiohttp.ClientSession() as s, s.ws_connect(gw.url + "/ws") as ws:
            hello = await ws.receive_json()
            assert hello["op"] == "hello" and hello["mode"] == "plain"
            await ws.send_json({"op": "subscribe", "id": 1, "after": 120})
            bus.pace(300, 3000.0, lambda i: ev(1000 + i))                 # live while it replays
            seqs, other = await collect(ws, 600)
            assert other[0]["op"] == "subscribed" and other[0]["after"] == 120
            assert seqs == list(range(121, 601))
            # a second client resumes from an old seq the ring still holds, and from 0
            async with s.ws_connect(gw.url + "/ws") as ws2:
                await ws2.receive_json()
                await ws2.send_json({"op": "subscribe", "id": 2, "after": 0})
                seqs2, _ = await collect(ws2, 600)
                assert seqs2 == list(range(1, 601))
    run(go())


def test_resume_older_than_the_ring_comes_from_the_bus_journal(bus):
    bus.publish([ev(i) for i in range(1, 201)])
    wait_seq(bus, 200)
    g = gateway(bus, ring=50)                       # holds only 50 events: the rest is replayed from the bus
    try:
        bus.publish([ev(i) for i in range(201, 301)])
        wait_seq(bus, 300)

        async def go():
            async with aiohttp.ClientSession() as s, s.ws_connect(g.url + "/ws") as ws:
                await ws.receive_json()
                await ws.send_json({"op": "subscribe", "id": 1, "after": 10})
                seqs, _ = await collect(ws, 300)
                assert seqs == list(range(11, 301))
        run(go())
        assert g.gateway.hub.counters["bus_replays"] >= 1
    finally:
        g.stop()


def test_snapshot_then_stream_is_atomic(bus, gw):
    def setup_state(b):
        b.add_state("calls", lambda account, book: [{"call": "x", "seq_at": b.seq}])
    bus.call(setup_state)
    bus.publish([ev(i) for i in range(1, 51)])

    async def go():
        async with aiohttp.ClientSession() as s, s.ws_connect(gw.url + "/ws") as ws:
            await ws.receive_json()
            bus.pace(400, 2000.0, lambda i: ev(i))
            await asyncio.sleep(0.05)
            await ws.send_json({"op": "subscribe", "id": 7, "snapshot": True})
            snap = await ws.receive_json()
            assert snap["op"] == "snapshot" and snap["id"] == 7
            n = snap["seq"]
            assert snap["calls"][0]["seq_at"] == n          # the state is the state right after event n
            seqs, _ = await collect(ws, 450)
            assert seqs == list(range(n + 1, 451))
    run(go())


def test_topic_filter_and_last_advances_past_filtered_events(bus, gw):
    async def go():
        async with aiohttp.ClientSession() as s, s.ws_connect(gw.url + "/ws") as ws:
            await ws.receive_json()
            await ws.send_json({"op": "subscribe", "id": 1, "topics": ["agent."]})
            await ws.receive_json()
            bus.publish([ev(i) if i % 3 else ev(i, topic="agent.alice", agent="alice") for i in range(1, 31)])
            got: list[dict] = []
            last = 0
            while last < 30:
                msg = await ws.receive_json(timeout=10)
                got += msg["events"]
                last = msg["last"]
            assert [e["seq"] for e in got] == [3, 6, 9, 12, 15, 18, 21, 24, 27, 30]
            assert all(e["topic"].startswith("agent.") for e in got)
    run(go())


# ---- requests -----------------------------------------------------------------------------------------

def test_requests_get_typed_replies(bus, gw):
    async def go():
        async with aiohttp.ClientSession() as s, s.ws_connect(gw.url + "/ws") as ws:
            await ws.receive_json()
            await ws.send_json({"op": "request", "id": "a", "request": {"type": "AnswerCall", "call": "5"}})
            await ws.send_json({"op": "request", "id": "b", "request": {"type": "Reboot"}})
            await ws.send_json({"op": "request", "id": "c", "request": {"type": "AnswerCall"}})
            await ws.send_json({"op": "request", "id": "d", "request": {"type": "AnswerCall", "call": 5}})
            await ws.send_json({"op": "request", "id": "e", "request": {"type": "HoldCall", "call": "5"}})
            await ws.send_json({"op": "request", "request": {"type": "AnswerCall", "call": "5"}})
            replies = {}
            while len(replies) < 6:
                m = await ws.receive_json(timeout=10)
                replies[m.get("id")] = m
            assert replies["a"] == {"op": "reply", "id": "a", "result": {"call": "5"}}
            assert replies["b"]["error"]["code"] == "UnknownRequestError"
            assert replies["c"]["error"]["code"] == "InvalidParameterError"
            assert replies["d"]["error"]["code"] == "InvalidParameterError"
            assert replies["e"]["error"]["code"] == "UnknownRequestError"      # not served by this bus
            assert replies[None]["op"] == "error" and replies[None]["error"]["details"]["field"] == "id"
        async with aiohttp.ClientSession() as s:
            r = await s.post(gw.url + "/requests", json={"type": "AnswerCall", "call": "9"})
            assert r.status == 200 and (await r.json()) == {"result": {"call": "9"}}
            r = await s.post(gw.url + "/requests", data=b"{not json")
            assert r.status == 400 and (await r.json())["error"]["code"] == "MalformedRequestError"
            r = await s.post(gw.url + "/requests", json={"type": "Nope"})
            assert r.status == 400 and (await r.json())["error"]["code"] == "UnknownRequestError"
    run(go())


@pytest.mark.system
def test_ten_thousand_requests_in_a_burst_each_get_one_reply_and_events_flow(bus, gw):
    async def go():
        async with aiohttp.ClientSession() as s, s.ws_connect(gw.url + "/ws") as ws, \
                s.ws_connect(gw.url + "/ws") as watcher:
            await ws.receive_json()
            await watcher.receive_json()
            await watcher.send_json({"op": "subscribe", "id": 1, "after": 0})
            await watcher.receive_json()
            frames = [json.dumps({"op": "request", "id": i, "request": {"type": "AnswerCall", "call": str(i)}})
                      for i in range(10_000)]
            for f in frames:
                await ws.send_str(f)
            bus.publish([ev(i) for i in range(1, 101)])
            seqs, _ = await collect(watcher, 100)
            assert seqs == list(range(1, 101))                 # the other client was not held up
            replies: dict[int, dict] = {}
            while len(replies) < 10_000:
                m = await ws.receive_json(timeout=30)
                assert m["op"] == "reply" and m["id"] not in replies
                replies[m["id"]] = m
            ok = [r for r in replies.values() if "result" in r]
            limited = [r for r in replies.values() if "error" in r]
            assert ok and all(r["result"] == {"call": str(r["id"])} for r in ok)
            assert all(r["error"]["code"] == "RateLimitedError" for r in limited)
            assert len(ok) + len(limited) == 10_000
            # the connection still works
            await ws.send_json({"op": "ping", "id": "p"})
            while (m := await ws.receive_json(timeout=10))["op"] != "pong":
                pass
    run(go())


# ---- bad input ---------------------------------------------------------------------------------------

def test_malformed_unknown_and_binary_frames_get_clear_errors(bus, gw):
    async def go():
        async with aiohttp.ClientSession() as s, s.ws_connect(gw.url + "/ws") as ws:
            await ws.receive_json()
            for bad, code in (("{oops", "MalformedRequestError"), ("[1,2]", "MalformedRequestError"),
                              ('{"op": "reboot"}', "UnknownRequestError"), ('{"id": 1}', "UnknownRequestError"),
                              ('{"op": "subscribe", "after": -3}', "InvalidParameterError"),
                              ('{"op": "subscribe", "topics": "call."}', "InvalidParameterError"),
                              ('{"op": "ping", "id": {"x": 1}}', "InvalidParameterError"),
                              ("\u0000\uffff", "MalformedRequestError")):
                await ws.send_str(bad)
                m = await ws.receive_json(timeout=5)
                assert m["op"] == "error" and m["error"]["code"] == code, (bad, m)
            await ws.send_bytes(b"\x81\x00")
            m = await ws.receive_json(timeout=5)
            assert m["error"]["code"] == "MalformedRequestError" and "text frames" in m["error"]["message"]
            await ws.send_json({"op": "ping", "id": 1})
            assert (await ws.receive_json(timeout=5))["op"] == "pong"
            # an oversized frame closes this connection with 1009, and only this one
            await ws.send_str(json.dumps({"op": "ping", "pad": "x" * 100_000}))
            m = await ws.receive(timeout=5)
            assert m.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
            assert ws.close_code == 1009
        async with aiohttp.ClientSession() as s, s.ws_connect(gw.url + "/ws") as ws:
            assert (await ws.receive_json())["op"] == "hello"
        async with aiohttp.ClientSession() as s:
            r = await s.get(gw.url + "/events?after=-1")
            assert r.status == 400 and (await r.json())["error"]["details"]["field"] == "after"
            r = await s.post(gw.url + "/requests", data=b"x" * 200_000)
            assert r.status == 413
    run(go())


def test_wrong_origin_is_refused(bus, gw):
    async def go():
        async with aiohttp.ClientSession() as s:
            with pytest.raises(aiohttp.WSServerHandshakeError) as e:
                await s.ws_connect(gw.url + "/ws", headers={"Origin": "http://evil.example"})
            assert e.value.status == 403
            r = await s.get(gw.url + "/snapshot", headers={"Origin": "http://evil.example"})
            assert r.status == 403 and "Origin" in (await r.json())["error"]["message"]
            async with s.ws_connect(gw.url + "/ws", headers={"Origin": gw.url}) as ws:
                assert (await ws.receive_json())["op"] == "hello"
    run(go())
    assert gw.gateway.counters["origin_refused"] == 2


# ---- slow consumers -------------------------------------------------------------------------------------

class RawWs:
    """A WebSocket client on a plain socket that reads only when told to (a client that stops reading)."""

    def __init__(self, port: int, rcvbuf: int = 4096) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.sock.recv(4096)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert b" 101 " in head.split(b"\r\n")[0]

    def send(self, obj: Any) -> None:
        data = json.dumps(obj).encode()
        mask = os.urandom(4)
        n = len(data)
        head = bytes((0x81, 0x80 | n)) if n < 126 else struct.pack("!BBH", 0x81, 0x80 | 126, n)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv(self, timeout: float = 10.0) -> tuple[int, bytes]:
        self.sock.settimeout(timeout)
        while True:
            if len(self.buf) >= 2:
                op, n = self.buf[0] & 0x0F, self.buf[1] & 0x7F
                off = 2
                if n == 126:
                    n, off = struct.unpack("!H", self.buf[2:4])[0], 4
                elif n == 127:
                    n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
                if len(self.buf) >= off + n:
                    payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
                    return op, payload
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    def json(self, timeout: float = 10.0) -> dict:
        op, payload = self.recv(timeout)
        assert op == 1, (op, payload[:80])
        return json.loads(payload)


def test_a_client_that_stops_reading_overflows_is_told_and_replayed_and_nobody_waits(bus):
    g = gateway(bus, max_buffer=32 * 1024)
    try:
        slow = RawWs(g.port)
        assert slow.json()["op"] == "hello"
        slow.send({"op": "subscribe", "id": 1, "after": 0})
        assert slow.json()["op"] == "subscribed"

        async def fast_client():
            async with aiohttp.ClientSession() as s, s.ws_connect(g.url + "/ws") as ws:
                await ws.receive_json()
                await ws.send_json({"op": "subscribe", "id": 1, "after": 0})
                t0 = time.monotonic()
                bus.publish([ev(i, pad=400) for i in range(1, 3001)])     # ~1.4 MB: far beyond 32 KiB + socket buffers
                seqs, _ = await collect(ws, 3000)
                assert seqs == list(range(1, 3001))
                return time.monotonic() - t0
        took = run(fast_client())
        assert took < 15, "a slow client held up the fast one"
        assert g.gateway.hub.counters["overflows"] >= 1
        seqs: list[int] = []
        overflow = None
        last = 0
        while last < 3000:                        # now read: overflow notice, then the missed events
            m = slow.json()
            if m["op"] == "overflow":
                overflow = m
            elif m["op"] == "events":
                seqs += [e["seq"] for e in m["events"]]
                last = m["last"]
        assert overflow is not None and overflow["first"] <= overflow["last"]
        assert seqs == list(range(1, 3001)), "lost or repeated events after an overflow"
        assert seqs.index(overflow["first"]) == overflow["first"] - 1
    finally:
        g.stop()


@pytest.mark.system
def test_a_client_that_never_reads_is_closed_after_the_slow_timeout(bus):
    g = gateway(bus, max_buffer=16 * 1024, slow_timeout=1.0)
    try:
        slow = RawWs(g.port)
        slow.json()
        slow.send({"op": "subscribe", "id": 1, "after": 0})
        bus.publish([ev(i, pad=4000) for i in range(1, 3001)])     # 12 MB: more than the kernel buffers hold
        deadline = time.monotonic() + 30
        while g.gateway.hub.counters["slow_closed"] == 0:
            assert time.monotonic() < deadline, "the stalled connection was never closed"
            time.sleep(0.1)
        assert g.gateway.hub.subscribers() == 0
        bus.publish([ev(i) for i in range(3001, 3011)])
        wait_seq(bus, 3010)

        async def still_serving():
            async with aiohttp.ClientSession() as s:
                r = await s.get(g.url + "/events?after=3005&wait=5")
                body = await r.json()
                assert [e["seq"] for e in body["events"]] == [3006, 3007, 3008, 3009, 3010]
        run(still_serving())
    finally:
        g.stop()


# ---- HTTP ----------------------------------------------------------------------------------------------

def test_http_snapshot_long_poll_and_health(bus, gw):
    async def go():
        async with aiohttp.ClientSession() as s:
            r = await s.get(gw.url + "/healthz")
            assert r.status == 200 and (await r.json())["ok"] is True
            r = await s.get(gw.url + "/readyz")
            assert r.status == 200 and (await r.json())["ready"] is True
            r = await s.get(gw.url + "/snapshot")
            snap = await r.json()
            assert r.status == 200 and isinstance(snap["seq"], int)
            t0 = time.monotonic()
            pending = asyncio.ensure_future(s.get(gw.url + f"/events?after={snap['seq']}&wait=10"))
            await asyncio.sleep(0.3)
            assert not pending.done()                   # it waits for an event
            bus.publish([ev(1)])
            r = await pending
            body = await r.json()
            assert [e["seq"] for e in body["events"]] == [snap["seq"] + 1] and time.monotonic() - t0 < 5
            r = await s.get(gw.url + f"/events?after={snap['seq'] + 1}&wait=0.2")
            assert (await r.json())["events"] == []
    run(go())


@pytest.mark.system
def test_readyz_says_so_when_the_bus_is_gone(bus):
    g = gateway(bus)
    try:
        bus.stop()

        async def go():
            async with aiohttp.ClientSession() as s:
                deadline = time.monotonic() + 20
                while True:
                    r = await s.get(g.url + "/readyz")
                    if r.status == 503:
                        return await r.json()
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.5)
        body = run(go())
        assert body["ready"] is False
    finally:
        g.stop()


@pytest.mark.system
def test_feed_replays_a_dropped_tail_that_only_the_bus_head_reveals():
    from cti.gateway.hub import Feed, Hub

    class Sub:                      # a subscription whose last PUB events were dropped (HWM): nothing follows
        def __init__(self):
            self.last = 10
            self.undeclared: list = []
            self.pending: list = []

        def get(self, timeout):
            if self.pending:
                return self.pending.pop(0)
            time.sleep(timeout)
            return None

        def catch_up(self, upto):
            self.pending += [{"seq": s, "type": "X", "topic": "server.x"} for s in range(self.last + 1, upto + 1)]
            self.last = upto
            return self.last

    loop = asyncio.new_event_loop()
    hub = Hub()
    sub = Sub()
    feed = Feed(hub, loop, lambda after: sub, lambda: 15, ping_every=0.05)
    feed.start()
    try:
        loop.run_until_complete(asyncio.sleep(1.0))
        assert hub.head == 15 and [seq for seq, _data in hub.ring] == [11, 12, 13, 14, 15]
        assert feed.tail_catch_ups == 1
    finally:
        feed.stop.set()
        feed.join(2)
        loop.close()


@pytest.mark.system
def test_a_client_that_asks_without_reading_is_cut_off_and_nobody_else_notices(bus):
    g = gateway(bus, max_buffer=16 * 1024)
    try:
        rude = RawWs(g.port)
        rude.json()
        pad = "x" * 2000
        sent = 0
        try:
            for i in range(20_000):          # replies pile up unread: the gateway must not keep them all
                rude.send({"op": "request", "id": i, "request": {"type": "AnswerCall", "call": pad}})
                sent += 1
        except OSError:
            pass                                 # the gateway cut it off
        deadline = time.monotonic() + 20
        while g.gateway.conns and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not g.gateway.conns, "the connection that never read was kept"
        assert sent > 100

        async def others_fine():
            async with aiohttp.ClientSession() as s, s.ws_connect(g.url + "/ws") as ws:
                await ws.receive_json()
                await ws.send_json({"op": "request", "id": 1, "request": {"type": "AnswerCall", "call": "1"}})
                assert (await ws.receive_json(timeout=10))["result"] == {"call": "1"}
        run(others_fine())
    finally:
        g.stop()


def test_a_restarted_gateway_resumes_its_clients_from_the_bus_journal(bus):
    g = gateway(bus)
    bus.publish([ev(i) for i in range(1, 101)])
    wait_seq(bus, 100)

    async def first_part():
        async with aiohttp.ClientSession() as s, s.ws_connect(g.url + "/ws") as ws:
            await ws.receive_json()
            await ws.send_json({"op": "subscribe", "id": 1, "after": 0})
            seqs, _ = await collect(ws, 60)
            return seqs
    seen = run(first_part())
    last = seen[-1]
    g.stop()                                              # the gateway goes away; the bus goes on
    bus.publish([ev(i) for i in range(101, 201)])
    wait_seq(bus, 200)
    g2 = gateway(bus)                                     # a new gateway process: an empty ring
    try:
        async def resume():
            async with aiohttp.ClientSession() as s, s.ws_connect(g2.url + "/ws") as ws:
                await ws.receive_json()
                await ws.send_json({"op": "subscribe", "id": 1, "after": last})
                bus.pace(50, 500.0, lambda i: ev(1000 + i))
                seqs, _ = await collect(ws, 250)
                return seqs
        rest = run(resume())
        assert seen + rest == list(range(1, 251))
        assert g2.gateway.hub.counters["bus_replays"] >= 1
    finally:
        g2.stop()


@pytest.mark.system
def test_a_replaced_bus_journal_restarts_the_hub_and_subscribers_are_told():
    from cti.gateway.hub import Feed, Hub, Sink, Viewer
    from cti.bus.auth import PLAIN_ACCOUNT, AccountBook

    class Sub:                      # events up to 500, then the server lost its journal: seqs go on after 3
        def __init__(self):
            self.last = 0
            self.undeclared: list = []
            self.resynced = 0
            self.snapshot = None
            self.pending = [{"seq": s, "type": "X", "topic": "server.x"} for s in range(1, 501)]
            self.later = [{"seq": s, "type": "Y", "topic": "server.y"} for s in range(4, 10)]

        def get(self, timeout):
            if not self.pending and self.later:
                self.resynced, self.snapshot = 1, {"seq": 3}
                self.pending, self.later = self.later, []
            if self.pending:
                e = self.pending.pop(0)
                self.last = e["seq"]
                return e
            time.sleep(timeout)
            return None

    loop = asyncio.new_event_loop()
    hub = Hub()
    hub.start_at(0)
    told: list = []
    sink = Sink(Viewer(PLAIN_ACCOUNT, AccountBook()), lambda frame: told.append(frame), lambda: 0,
                lambda code, why: asyncio.sleep(0), lambda: False)
    sink.send = told.append                     # the messages themselves, not frames
    loop.run_until_complete(hub.attach(sink, 0))
    feed = Feed(hub, loop, lambda after: Sub(), lambda: 9, ping_every=0.05)
    feed.start()
    try:
        loop.run_until_complete(asyncio.sleep(1.0))
        assert hub.counters["restarts"] == 1 and hub.head == 9
        assert [seq for seq, _data in hub.ring] == [4, 5, 6, 7, 8, 9]
        errors = [m for m in told if isinstance(m, dict) and m.get("op") == "error"]
        assert errors and errors[0]["error"]["code"] == "ReplayGapError" and not sink.live
    finally:
        feed.stop.set()
        feed.join(2)
        loop.close()
