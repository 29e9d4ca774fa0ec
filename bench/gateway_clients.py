"""The benchmark's clients of cti-gateway (bench/bench_gateway.py): the WebSocket subscribers
on the cheap path (batch header only; one in ``SAMPLE_EVERY`` parses every event), the C readers
of bench/gateway_reader.c that hold most of them, and the raw ZeroMQ SUB the gateway is measured
against. Each runs in a process of its own, so that the bench measures the gateway, not them."""
from __future__ import annotations

import asyncio
import base64
import functools
import json
import os
import re
import struct
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson


EVENT: dict[str, Any] = {
    "type": "Delivered", "topic": "call.0.1", "device": "2001", "devices": ["2001"], "state": "alerting",
    "calling": "13800138000", "called": "4000", "span": 0, "ts": 1, "signalling": "no1", "direction": "in"}
SAMPLE_EVERY = 100        #: one subscriber in this many parses every event whole
_HEAD = re.compile(rb'\{"op":"events","first":(\d+),"last":(\d+),"count":(\d+)(?:,"oldest":([0-9.eE+-]+))?'
                   rb'(?:,"sent":([0-9.eE+-]+))?')
READER_C = os.path.join(os.path.dirname(__file__), "gateway_reader.c")
_TAIL = b"\x00\x00\xff\xff"
_TEMPLATE = EVENT.items()     #: what every event carries besides seq, time, call... (a sampled subscriber checks)


def event(i: int) -> dict[str, Any]:
    return dict(EVENT, call=str(i))


# ---- the subscriber processes ----------------------------------------------------------------------

def _masked(opcode: int, payload: bytes) -> bytes:
    """A client frame (RFC 6455 5.3: masked), payload under 126 octets."""
    mask = os.urandom(4)
    return bytes((0x80 | opcode, 0x80 | len(payload))) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


@dataclass
class Tally:
    """What the subscribers of one process saw."""

    delivered: int = 0
    frames: int = 0
    octets: int = 0
    lost: int = 0
    duplicated: int = 0
    bad_header: int = 0          #: count not covering first..last, or no header at all
    content_errors: int = 0      #: sampled subscribers: an event not as published
    sampled_events: int = 0
    stored_headers: int = 0      #: compressed frames whose header was read without inflating
    overflows: int = 0
    others: dict[str, int] = field(default_factory=dict)    #: other messages by op (gap, error...)
    lats: dict[int, int] = field(default_factory=dict)      #: 0.1 ms bucket -> events
    lats_sent: dict[int, int] = field(default_factory=dict)  #: the same from the header's ``sent``


class Subscriber(asyncio.Protocol):
    """One WebSocket subscriber: the upgrade, ``subscribe``, then frames read on the cheap path."""

    def __init__(self, host: str, deflate: bool, sample: bool, tally: Tally, subscribed: Any) -> None:
        self.host = host
        self.deflate = deflate
        self.sample = sample
        self.tally = tally
        self.subscribed = subscribed          #: called once the gateway said "subscribed"
        self.transport: Any = None
        self.buf = b""
        self.state = 0                        # 0 upgrade, 1 until "subscribed", 2 live
        self.expected = 0                     #: the seq the next frame must start with
        self.offset: int | None = None        #: seq - publish index (sampled subscribers)
        self.closed = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        ext = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if self.deflate else ""
        transport.write((f"GET /ws HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n").encode())

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True

    def data_received(self, chunk: bytes) -> None:
        now = time.time()
        t = self.tally
        t.octets += len(chunk)
        b = self.buf + chunk if self.buf else chunk
        pos, end = 0, len(b)
        if self.state == 0:
            i = b.find(b"\r\n\r\n")
            if i < 0:
                self.buf = b
                return
            if not b.startswith(b"HTTP/1.1 101"):
                raise RuntimeError(f"upgrade refused: {b[:200]!r}")
            if self.deflate and b"permessage-deflate" not in b[:i]:
                raise RuntimeError("the gateway did not agree to permessage-deflate")
            self.transport.write(_masked(1, b'{"op":"subscribe","id":1}'))
            self.state = 1
            pos = i + 4
        while end - pos >= 2:                            # frames, scanned in place
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
            b0, start, stop = b[pos], pos + off, pos + off + ln
            pos = stop
            opcode = b0 & 0x0F
            if opcode != 1:
                if opcode == 9:                          # ping (aiohttp's heartbeat): pong
                    self.transport.write(_masked(0xA, b[start:stop]))
                elif opcode == 8:
                    t.others["close"] = t.others.get("close", 0) + 1
                continue
            if b0 & 0x40:                                # compressed (permessage-deflate)
                if self.sample or self.state != 2:
                    text = zlib.decompressobj(-15).decompress(b[start:stop] + _TAIL)
                    m = _HEAD.match(text)
                elif b[start] == 0 and stop - start > 5:    # the header in a stored block: no inflating
                    text = b""
                    m = _HEAD.match(b, start + 5, start + 5 + (b[start + 1] | b[start + 2] << 8))
                else:                                    # else inflate its first 160 octets
                    text = zlib.decompressobj(-15).decompress(b[start:stop], 160)
                    m = _HEAD.match(text)
            else:
                text = b""
                m = _HEAD.match(b, start, stop)
            if m is None or self.state != 2:
                self._message(text or b[start:stop])
                continue
            first, last, count = int(m.group(1)), int(m.group(2)), int(m.group(3))
            if first != self.expected:
                if first > self.expected:
                    t.lost += first - self.expected
                else:
                    t.duplicated += min(self.expected, last + 1) - first
            if count != last - first + 1:
                t.bad_header += 1
            if last + 1 > self.expected:
                self.expected = last + 1
            t.delivered += count
            t.frames += 1
            if m.group(4):
                k = int((now - float(m.group(4))) * 10000)
                t.lats[k] = t.lats.get(k, 0) + count
            else:
                t.bad_header += 1
            if m.group(5):
                k = int((now - float(m.group(5))) * 10000)
                t.lats_sent[k] = t.lats_sent.get(k, 0) + count
            if self.sample:
                self._check(text or b[start:stop], first, last, count, m.group(4))
            elif b0 & 0x40 and not text:
                t.stored_headers += 1
        self.buf = b[pos:] if pos < end else b""

    def _message(self, data: bytes) -> None:
        """Anything but an events frame on the cheap path: hello, subscribed, overflow, gap..."""
        try:
            msg = json.loads(data)
        except ValueError:
            self.tally.others["garbage"] = self.tally.others.get("garbage", 0) + 1
            return
        op = str(msg.get("op"))
        if op == "subscribed" and self.state == 1:
            self.expected = int(msg["after"]) + 1
            self.state = 2
            self.subscribed()
        elif op == "overflow":
            self.tally.overflows += 1
        elif op == "events":
            self.tally.bad_header += 1
        elif op != "hello":
            self.tally.others[op] = self.tally.others.get(op, 0) + 1

    def _check(self, data: bytes, first: int, last: int, count: int, oldest: bytes | None) -> None:
        """A sampled subscriber: the whole frame, every event against the header and the template."""
        t = self.tally
        template = _TEMPLATE
        try:
            msg = orjson.loads(data)
            evs = msg["events"]
            ok = (len(evs) == count and evs[0]["seq"] == first and evs[-1]["seq"] == last
                  and msg["first"] == first and msg["last"] == last
                  and (oldest is None or float(oldest) == evs[0]["time"]))
            if self.offset is None:
                self.offset = first - int(evs[0]["call"])
            offset = self.offset
            for k, e in enumerate(evs):
                seq = e["seq"]
                ok = ok and seq == first + k and seq - int(e["call"]) == offset and template <= e.items()
            t.sampled_events += len(evs)
        except (ValueError, KeyError, TypeError, IndexError):
            ok = False
        if not ok:
            t.content_errors += 1


def subscriber_process(url: str, n: int, index0: int, deflate: bool, ready: Any, cmd: Any, out: Any,
                 sample_all: bool = False) -> None:
    """A process holding ``n`` subscribers on one (uv)loop. Says ``ready`` once all are
    subscribed, then waits for the last seq of the round on ``cmd`` and reports its Tally,
    its CPU-seconds from ready to done and the time the last subscriber reached that seq."""
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass

    async def main() -> None:
        loop = asyncio.get_running_loop()
        host, port = url.split("//")[1].split(":")
        tally = Tally()
        subscribed = [0]
        all_in = loop.create_future()

        def one_more() -> None:
            subscribed[0] += 1
            if subscribed[0] == n and not all_in.done():
                all_in.set_result(None)

        def make(j: int) -> Subscriber:
            return Subscriber(f"{host}:{port}", deflate, sample_all or (index0 + j) % SAMPLE_EVERY == 0, tally,
                              one_more)

        subs: list[Subscriber] = []
        for k in range(0, n, 100):
            made = await asyncio.gather(*(loop.create_connection(functools.partial(make, j), host, int(port))
                                          for j in range(k, min(n, k + 100))))
            subs.extend(p for _t, p in made)
        await asyncio.wait_for(all_in, 300)
        cpu0 = time.process_time()
        ready.put(n)
        target: asyncio.Future[int] = loop.create_future()

        def told() -> None:
            if not target.done():
                target.set_result(int(cmd.recv()))
        loop.add_reader(cmd.fileno(), told)
        goal = await target
        deadline = time.monotonic() + 120
        while any(s.expected <= goal and not s.closed for s in subs) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        done_at = time.time()
        cpu = time.process_time() - cpu0
        short = sum(1 for s in subs if s.expected <= goal)
        for s in subs:
            if s.transport is not None:
                s.transport.close()
        out.put({"tally": tally.__dict__, "cpu": cpu, "done_at": done_at, "short": short, "n": n,
                 "sampled": sum(1 for s in subs if s.sample)})

    asyncio.run(main())


# ---- the raw ZeroMQ reference ---------------------------------------------------------------------

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


def zmq_latency(endpoint: str, ready: Any, final: Any, out: Any) -> None:
    """The reference: one raw ZeroMQ SUB (what the bus itself delivers) in the same fan-out run,
    latency = receive time - the event's bus ``time`` stamp, per event."""
    import msgpack
    ctx, sub = _raw_sub(endpoint, ready)
    cpu0 = time.process_time()
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
    out.put({"lats": lats, "count": count, "cpu": time.process_time() - cpu0})
    ctx.destroy(0)


def zmq_counter(endpoint: str, n: int, ready: Any, out: Any) -> None:
    ctx, sub = _raw_sub(endpoint, ready)
    got = 0
    while got < n:
        if not sub.poll(20000):
            break
        sub.recv_multipart()
        got += 1
    out.put((got, time.time()))
    ctx.destroy(0)


def build_reader(tmp: str) -> str | None:
    """bench/gateway_reader.c compiled into ``tmp`` (None without a C compiler: Python clients)."""
    exe = os.path.join(tmp, "gateway_reader")
    for cc in (os.environ.get("CC", "cc"), "gcc", "clang"):
        try:
            subprocess.run([cc, "-O2", "-o", exe, READER_C], check=True, capture_output=True, timeout=120)
            return exe
        except (OSError, subprocess.SubprocessError):
            continue
    print("bench gateway: no C compiler; the subscribers are Python processes (they cost more CPU)",
          file=sys.stderr)
    return None


@dataclass
class Clients:
    """One round's client processes: Python ones (queues, pipes) and C readers (stdin/stdout)."""

    ready: Any
    out: Any
    raw_final: Any
    raw_out: Any
    procs: list[Any] = field(default_factory=list)
    pipes: list[Any] = field(default_factory=list)
    readers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def finish(self, target: int) -> list[dict[str, Any]]:
        """Tell every subscriber process the round's last seq; their reports (tally, cpu...)."""
        for w in self.pipes:
            w.send(target)
        for r in self.readers:
            assert r.stdin is not None
            r.stdin.write(b"%d\n" % target)
            r.stdin.flush()
        self.raw_final.put(target)
        parts = [self.out.get(timeout=200) for _ in self.pipes]
        for r in self.readers:
            assert r.stdout is not None
            line = r.stdout.readline()
            if not line:
                raise RuntimeError(f"gateway_reader exited ({r.poll()}) before its report: the gateway died?")
            part = json.loads(line)
            t = part["tally"]
            for key in ("lats", "lats_sent"):
                t[key] = {int(k): v for k, v in t[key].items()}
            parts.append(part)
        return parts

    def kill(self) -> None:
        """After a failed round: no process of it stays behind."""
        for p in self.procs:
            if p.is_alive():
                p.kill()
        for r in self.readers:
            if r.poll() is None:
                r.kill()
        self.join()

    def join(self) -> None:
        for p in self.procs:
            p.join(30)
        for r in self.readers:
            try:
                r.wait(30)
            except subprocess.TimeoutExpired:
                r.kill()


