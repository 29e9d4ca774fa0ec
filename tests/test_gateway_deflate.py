"""permessage-deflate (RFC 7692): a client that offers it gets event frames compressed once per
batch (RSV1 set, raw DEFLATE, the sync-flush tail dropped), one that does not gets plain text
frames; both read the same events, live and replayed, and a compressing client (aiohttp's own
reader, as a browser's) decodes everything."""
from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
import zlib
from typing import Any

import aiohttp

from tests.test_gateway_ws import bus, collect, ev, gw, run, wait_seq  # noqa: F401 (fixtures)


def _raw_ws(url: str, offer: str | None) -> tuple[socket.socket, bytes, str]:
    host, port = url.split("//")[1].split(":")
    s = socket.create_connection((host, int(port)), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    ext = f"Sec-WebSocket-Extensions: {offer}\r\n" if offer else ""
    s.sendall((f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(65536)
    head, rest = buf.split(b"\r\n\r\n", 1)
    agreed = next((line.split(b":", 1)[1].strip().decode() for line in head.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-extensions:")), "")
    return s, rest, agreed


def _send(s: socket.socket, obj: dict[str, Any]) -> None:
    msg = json.dumps(obj).encode()
    mask = os.urandom(4)
    s.sendall(bytes((0x81, 0x80 | len(msg))) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(msg)))


def _frames(s: socket.socket, buf: bytes, until_seq: int, timeout: float = 20.0) -> list[tuple[int, bytes]]:
    """(first octet, payload) of every frame until an events frame covers ``until_seq``."""
    out: list[tuple[int, bytes]] = []
    inflate = zlib.decompressobj(-15)
    deadline = time.monotonic() + timeout
    last = -1
    while last < until_seq:
        while True:
            if len(buf) >= 2:
                ln, off = buf[1] & 0x7F, 2
                if ln == 126 and len(buf) >= 4:
                    ln, off = struct.unpack_from("!H", buf, 2)[0], 4
                elif ln == 127 and len(buf) >= 10:
                    ln, off = struct.unpack_from("!Q", buf, 2)[0], 10
                if (ln < 126 or off > 2) and len(buf) >= off + ln:
                    break
            assert time.monotonic() < deadline, "no frame"
            buf += s.recv(1 << 20)
        b0, payload, buf = buf[0], buf[off:off + ln], buf[off + ln:]
        text = inflate.decompress(payload + b"\x00\x00\xff\xff") if b0 & 0x40 else payload
        out.append((b0, text))
        msg = json.loads(text)
        if msg.get("op") == "events":
            last = msg["last"]
    return out


def test_offered_deflate_compresses_event_frames_and_the_events_are_the_same(bus, gw):  # noqa: F811
    bus.publish([ev(i, pad=200) for i in range(1, 201)])
    wait_seq(bus, 200)
    got: dict[str, list[int]] = {}
    for name, offer in (("deflate", "permessage-deflate; client_max_window_bits"), ("plain", None)):
        s, rest, agreed = _raw_ws(gw.url, offer)
        try:
            assert ("permessage-deflate" in agreed) == (offer is not None), agreed
            _send(s, {"op": "subscribe", "id": 1, "after": 100})      # replay from the ring...
            bus.publish([ev(i, pad=200) for i in range(1, 101)])       # ...then live
            frames = _frames(s, rest, 300 if name == "deflate" else 400)
        finally:
            s.close()
        events = [(b0, json.loads(t)) for b0, t in frames]
        kinds = {m["op"]: b0 & 0x40 for b0, m in events}
        assert kinds["hello"] == 0 and kinds["subscribed"] == 0           # replies: never compressed
        assert kinds["events"] == (0x40 if name == "deflate" else 0)
        got[name] = [e["seq"] for _b, m in events if m["op"] == "events" for e in m["events"]]
    assert got["deflate"] == list(range(101, 301))
    assert got["plain"] == list(range(101, 401))


def test_aiohttp_client_with_compression_reads_everything(bus, gw):  # noqa: F811
    async def go() -> None:
        async with aiohttp.ClientSession() as s, s.ws_connect(gw.url + "/ws", compress=15) as ws:
            assert ws.compress == 15
            await ws.receive_json()
            await ws.send_json({"op": "subscribe", "id": 1, "after": 0})
            bus.pace(500, 5000.0, lambda i: ev(i, pad=i % 300))
            seqs, other = await collect(ws, 500)
            assert seqs == list(range(1, 501)) and other[0]["op"] == "subscribed"
            await ws.send_json({"op": "ping", "id": 2})
            m = await ws.receive_json(timeout=10)
            while m.get("op") == "events":
                m = await ws.receive_json(timeout=10)
            assert m["op"] == "pong"
    run(go())
