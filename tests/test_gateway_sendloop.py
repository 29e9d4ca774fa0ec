"""The fan-out's direct socket writes (cti/gateway/sendloop_c.pyx, its twin, cti/gateway/fanout.py)
and the hub using them on real loopback connections: octets never lost or reordered when the
kernel takes part of a frame or none of it, a client gone mid-batch closed the usual way, the
slow-consumer overflow still declared and replayed. Both implementations, asyncio and uvloop."""
from __future__ import annotations

import array
import asyncio
import contextlib
import errno
import json
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from _boardcore import _select
from cti.bus.auth import PLAIN_ACCOUNT, AccountBook
from cti.gateway import fanout
from cti.gateway.hub import Hub, Sink, Viewer, plain_fd

IMPLS: list[ModuleType] = [_select.twin("cti.gateway.sendloop")]
_compiled = _select.compiled("cti.gateway.sendloop")
if _compiled is not None and not _select.NO_EXTENSIONS:
    IMPLS.append(_compiled)


@pytest.fixture(params=IMPLS, ids=lambda m: m.IMPLEMENTATION)
def impl(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setattr(fanout, "send_many", request.param.send_many)
    monkeypatch.setattr(fanout, "IMPL", request.param)
    monkeypatch.setattr(fanout, "SPLIT_AT", 2)            # the two-thread path even for a few sockets
    mod: ModuleType = request.param
    return mod


@contextlib.contextmanager
def _pairs(n: int) -> Iterator[list[tuple[socket.socket, socket.socket]]]:
    pairs = [socket.socketpair() for _ in range(n)]
    try:
        yield pairs
    finally:
        for a, b in pairs:
            a.close()
            b.close()


def _recv(sock: socket.socket, n: int) -> bytes:
    got = b""
    while len(got) < n:
        got += sock.recv(n - len(got))
    return got


def _full(sock: socket.socket) -> None:
    sock.setblocking(False)
    try:
        while True:
            sock.send(b"x" * 65536)
    except BlockingIOError:
        pass


def test_send_many_reports_octets_a_full_socket_a_partial_write_and_a_gone_peer(impl: ModuleType) -> None:
    with _pairs(4) as pairs:
        for a, _b in pairs:
            a.setblocking(False)
        _full(pairs[1][0])                                  # nothing more fits
        pairs[2][1].close()                                 # the peer is gone
        out = array.array("q", [7] * 3)
        impl.send_many(array.array("i", [p[0].fileno() for p in pairs[:3]]), b"hello", out)
        assert out[0] == 5 and pairs[0][1].recv(10) == b"hello"
        assert out[1] == -errno.EAGAIN
        assert out[2] in (-errno.EPIPE, -errno.ECONNRESET)
        big = bytes(range(256)) * (1 << 15)                 # 8 MiB: more than a socket buffer holds
        out = array.array("q", [0])
        impl.send_many(array.array("i", [pairs[3][0].fileno()]), big, out)
        assert 0 < out[0] < len(big)
        closed = socket.socket()
        fd = closed.fileno()
        closed.close()
        impl.send_many(array.array("i", [fd]), b"x", out)
        assert out[0] == -errno.EBADF
        with pytest.raises(ValueError):
            impl.send_many(array.array("i", [1, 2]), b"x", array.array("q", [0]))


def test_the_writer_shares_a_batch_between_two_threads_and_keeps_the_order_of_the_sockets(impl: ModuleType) -> None:
    w = fanout.Writer(2)
    with _pairs(90) as pairs, contextlib.closing(w):
        pairs[61][1].close()
        frame = b"frame" * 2000
        for _ in range(20):
            took = w.write([a.fileno() for a, _b in pairs], frame)
            assert [k for k, r in enumerate(took) if r != len(frame)] == [61] and took[61] < 0
            assert all(_recv(b, len(frame)) == frame for k, (_a, b) in enumerate(pairs) if k != 61)
        # either thread may take every chunk of a batch (a loaded host runs the caller late):
        # the order and the results above are what sharing must keep
        assert w.sent == 20 * 90 and 0 <= w.helped <= w.sent


def test_the_send_pool_shares_batches_with_its_helper_and_closes(impl: ModuleType) -> None:
    pool = impl.SendPool(4)
    with _pairs(200) as pairs, contextlib.closing(pool):
        fds = array.array("i", [a.fileno() for a, _b in pairs])
        helped = 0
        for k in range(50):
            out = array.array("q", [0] * 200)
            helped += pool.send(fds, b"%03d" % k, out)
            assert list(out) == [3] * 200
        assert 0 <= helped <= 50 * 200
        assert pool.send(array.array("i"), b"x", array.array("q")) == 0
        with pytest.raises(ValueError):
            pool.send(fds, b"x", array.array("q", [0]))
        expect = b"".join(b"%03d" % k for k in range(50))
        assert all(_recv(b, len(expect)) == expect for _a, b in pairs)
    pool.close()                                              # again: idempotent
    with pytest.raises(ValueError):
        pool.send(fds, b"x", array.array("q", [0] * 200))


def test_send_shared_needs_no_helper_and_shares_with_one(impl: ModuleType) -> None:
    with _pairs(40) as pairs:
        fds = array.array("i", [a.fileno() for a, _b in pairs])
        out = array.array("q", [0] * 40)
        state = array.array("q", [0, 0, 0])
        impl.send_shared(fds, b"abc", out, state, 3, True)          # nobody helps: all done anyway
        assert list(out) == [3] * 40 and state[1] == 40 and state[2] == 0
        out = array.array("q", [0] * 40)
        state = array.array("q", [0, 0, 0])
        helper = threading.Thread(target=impl.send_shared, args=(fds, b"defg", out, state, 1, False))
        helper.start()
        impl.send_shared(fds, b"defg", out, state, 1, True)
        helper.join(5)
        assert list(out) == [4] * 40 and state[1] == 40 and 0 <= state[2] <= 40
        impl.send_shared(fds, b"late", out, state, 1, False)          # a helper that wakes late: nothing left
        assert state[1] == 40 and all(b.recv(16) == b"abcdefg" for _a, b in pairs)
        with pytest.raises(ValueError):
            impl.send_shared(fds, b"", out, array.array("q", [0, 0, 0]), 1, True)


# ---- the hub on real connections ---------------------------------------------------------------------

class Ws:
    closed = False


def _frames(data: bytes) -> Iterator[dict[str, Any]]:
    """Every text frame of a server's octet stream, as JSON (asserts the stream is whole)."""
    pos = 0
    while pos < len(data):
        assert data[pos] == 0x81, f"not a text frame at octet {pos}: {data[pos:pos + 16]!r}"
        n, off = data[pos + 1] & 0x7F, 2
        if n == 126:
            n, off = struct.unpack_from("!H", data, pos + 2)[0], 4
        elif n == 127:
            n, off = struct.unpack_from("!Q", data, pos + 2)[0], 10
        assert pos + off + n <= len(data), "a frame cut short"
        yield json.loads(data[pos + off:pos + off + n])
        pos += off + n


class Rig:
    """``n`` loopback TCP clients (blocking sockets, small receive buffers) of one Hub's sinks."""

    def __init__(self, n: int, max_buffer: int = 64 << 20) -> None:
        self.n = n
        self.hub = Hub(max_buffer=max_buffer, slow_timeout=20.0, send_threads=2)
        self.transports: list[Any] = []
        self.clients: list[socket.socket] = []
        self.sinks: list[Sink] = []

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        transports = self.transports

        class Server(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                transports.append(transport)

        self.server = await loop.create_server(Server, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        for _ in range(self.n):
            c = socket.socket()
            c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            c.connect(("127.0.0.1", port))
            self.clients.append(c)
        while len(transports) < self.n:
            await asyncio.sleep(0.01)
        viewer = Viewer(PLAIN_ACCOUNT, AccountBook())
        self.hub.start_at(0)
        for t in transports:
            t.set_write_buffer_limits(high=1 << 30)
            t.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
            sink = Sink(viewer, t.write, t.get_write_buffer_size, self._closer(t), t.is_closing, transport=t, ws=Ws())
            assert sink.fd == plain_fd(t) >= 0
            self.sinks.append(sink)
            await self.hub.attach(sink, 0)

    @staticmethod
    def _closer(t: Any) -> Callable[[int, str], Any]:
        async def close(code: int, why: str) -> None:
            t.abort()
        return close

    def read_all(self, k: int, into: bytearray, stop: threading.Event) -> threading.Thread:
        """Read client ``k`` into ``into`` on a thread until ``stop`` and the socket is drained."""
        c = self.clients[k]

        def run() -> None:
            c.settimeout(0.2)
            while True:
                try:
                    chunk = c.recv(1 << 16)
                except TimeoutError:
                    if stop.is_set():
                        return
                    continue
                if not chunk:
                    return
                into.extend(chunk)
        th = threading.Thread(target=run, daemon=True)
        th.start()
        return th

    def close(self) -> None:
        for c in self.clients:
            c.close()
        for t in self.transports:
            t.abort()
        self.server.close()
        if self.hub.writer is not None:
            self.hub.writer.close()


def _event(seq: int) -> dict[str, Any]:
    return {"seq": seq, "type": "X", "topic": "server.x", "time": 1.0, "pad": "p" * 1500}


def _loops() -> list[str]:
    kinds = ["asyncio"]
    try:
        import uvloop  # noqa: F401
        kinds.append("uvloop")
    except ImportError:
        pass
    return kinds


def _run(kind: str, coro: Any) -> Any:
    loop: asyncio.AbstractEventLoop
    if kind == "uvloop":
        import uvloop
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


@pytest.mark.parametrize("kind", _loops())
def test_a_client_that_stops_reading_then_resumes_gets_every_octet_in_order(impl: ModuleType, kind: str) -> None:
    """Client 0 reads all along; client 1 stops (its socket fills: partial writes, then EAGAIN,
    the rest queued on its transport while later batches find its buffer busy), then resumes.
    A reply written through the transport between batches keeps its place."""
    async def go() -> tuple[list[dict[str, Any]], list[dict[str, Any]], Hub]:
        rig = Rig(2)
        await rig.start()
        bufs = [bytearray(), bytearray()]
        stop = threading.Event()
        try:
            reader = rig.read_all(0, bufs[0], stop)
            seq = 0
            for b in range(120):
                rig.hub.feed([_event(seq + i + 1) for i in range(8)], 1.0, 1.0)
                seq += 8
                if b % 10 == 9:
                    for s in rig.sinks:
                        s.send({"op": "pong", "id": b})
                await asyncio.sleep(0.001)
            assert rig.transports[1].get_write_buffer_size() > 0, "client 1 never made the gateway queue"
            late = rig.read_all(1, bufs[1], stop)
            while rig.transports[1].get_write_buffer_size() or rig.transports[0].get_write_buffer_size():
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)
            stop.set()
            for th in (reader, late):
                await asyncio.get_running_loop().run_in_executor(None, th.join, 5)
            return list(_frames(bytes(bufs[0]))), list(_frames(bytes(bufs[1]))), rig.hub
        finally:
            rig.close()

    a, b, hub = _run(kind, go())
    assert a == b, "the client that paused read something else"
    seqs = [e["seq"] for m in a if m["op"] == "events" for e in m["events"]]
    assert seqs == list(range(1, 961))
    order = [m["op"] if m["op"] == "pong" else m["last"] for m in a]
    assert [k for k, m in enumerate(a) if m["op"] == "pong"] == [11 * j + 10 for j in range(12)], order[:24]
    assert hub.counters["direct_rest"] > 0 and hub.counters["direct_frames"] > 0
    assert all(m["sent"] >= m["oldest"] for m in a if m["op"] == "events")


@pytest.mark.parametrize("kind", _loops())
def test_a_client_gone_mid_batch_is_closed_the_usual_way_and_the_rest_get_everything(impl: ModuleType,
                                                                                    kind: str) -> None:
    async def go() -> tuple[bytes, Rig]:
        rig = Rig(3)
        await rig.start()
        got = bytearray()
        stop = threading.Event()
        try:
            reader = rig.read_all(0, got, stop)
            sink = rig.sinks[1]
            for b in range(40):
                if b == 10:        # a reset: the next send on it fails (EPIPE / ECONNRESET)
                    rig.clients[1].setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    rig.clients[1].close()
                    await asyncio.sleep(0.05)
                rig.hub.feed([_event(b * 4 + i + 1) for i in range(4)], 1.0, 1.0)
                await asyncio.sleep(0.002)
            assert rig.transports[1].is_closing() and sink not in rig.hub.groups[sink.viewer.key].sinks
            await asyncio.sleep(0.2)
            stop.set()
            await asyncio.get_running_loop().run_in_executor(None, reader.join, 5)
            return bytes(got), rig
        finally:
            rig.close()

    got, rig = _run(kind, go())
    seqs = [e["seq"] for m in _frames(got) for e in m["events"]]
    assert seqs == list(range(1, 161))
    assert rig.sinks[2].last == 160


@pytest.mark.parametrize("kind", _loops())
def test_overflow_still_declares_the_missed_seqs_and_replays_them(impl: ModuleType, kind: str) -> None:
    async def go() -> list[dict[str, Any]]:
        rig = Rig(1, max_buffer=256 << 10)
        await rig.start()
        got = bytearray()
        stop = threading.Event()
        try:
            for b in range(200):                             # ~2.4 MB, the client reads nothing
                rig.hub.feed([_event(b * 8 + i + 1) for i in range(8)], 1.0, 1.0)
                await asyncio.sleep(0)
            assert rig.hub.counters["overflows"] >= 1 and not rig.sinks[0].live
            reader = rig.read_all(0, got, stop)
            while not rig.sinks[0].live:
                await asyncio.sleep(0.02)
            rig.hub.feed([_event(1601)], 1.0, 1.0)
            while rig.transports[0].get_write_buffer_size():
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)
            stop.set()
            await asyncio.get_running_loop().run_in_executor(None, reader.join, 5)
            return list(_frames(bytes(got)))
        finally:
            rig.close()

    msgs = _run(kind, go())
    overflow = [m for m in msgs if m["op"] == "overflow"]
    seqs = [e["seq"] for m in msgs if m["op"] == "events" for e in m["events"]]
    assert len(overflow) == 1 and seqs == list(range(1, 1602)), "lost or repeated events after an overflow"
    assert seqs.index(overflow[0]["first"]) == overflow[0]["first"] - 1
