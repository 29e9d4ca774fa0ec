"""Bad input on the bus: typed error replies or counted drops; the server keeps serving; journal intact."""
from __future__ import annotations

import random

import msgpack
import pytest
import zmq

from cti.bus.client import BusClient
from cti.config import Config
from cti.server import BackgroundServer, CtiServer

ANY = "tcp://127.0.0.1:*"


@pytest.fixture
def server(tmp_path):
    cfg = Config.from_dict({"server": {"store": str(tmp_path / "j.db")},
                            "bus": {"events": ANY, "snapshot": ANY, "control": ANY, "rate": 200.0, "burst": 100.0},
                            "board": {"driver": "loopback"}, "trunk": [{"signalling": "loop", "spans": [0]}]})
    srv = CtiServer(cfg).start()
    with BackgroundServer(srv):
        yield srv


def raw(server, which="control"):
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.linger = 0
    s.connect(getattr(server.bus.endpoints, which))
    return s


def ask(sock, payload: bytes, timeout=2000):
    sock.send(payload)
    assert sock.poll(timeout), "no reply"
    return msgpack.unpackb(sock.recv(), raw=False)


def test_malformed_unknown_missing_and_wrong_types_get_typed_errors(server):
    s = raw(server)
    try:
        cases = [
            (b"\xc1\xc1garbage", "MalformedRequestError"),
            (b"", "MalformedRequestError"),
            (msgpack.packb({"type": "AnswerCall", "call": "1"}) + b"\x00", "MalformedRequestError"),  # trailing
            (msgpack.packb([1, 2, 3]), "InvalidParameterError"),
            (msgpack.packb({"type": "Reboot", "invoke": 1}), "UnknownRequestError"),
            (msgpack.packb({"invoke": 2}), "UnknownRequestError"),
            (msgpack.packb({"type": "AnswerCall", "invoke": 3}), "InvalidParameterError"),
            (msgpack.packb({"type": "AnswerCall", "invoke": 4, "call": 12}), "InvalidParameterError"),
            (msgpack.packb({"type": "MakeCall", "invoke": 5, "device": "1", "called": "12ab"}), "InvalidParameterError"),
            (msgpack.packb({"type": "ClearConnection", "invoke": 6, "call": "9"}), "InvalidCallError"),
            (msgpack.packb({"type": "AnswerCall", "invoke": {"x": 1}, "call": "9"}), "InvalidCallError"),
            (b"\x00" * (100 * 1024), "MalformedRequestError"),                      # over max_request
            (msgpack.packb({"type": "MakeCall", "invoke": 7, "device": "x" * 70000, "called": "1"}),
             "MalformedRequestError"),
        ]
        for payload, code in cases:
            reply = ask(s, payload)
            assert reply["error"]["code"] == code, (payload[:40], reply)
            assert reply["error"]["message"]
        assert ask(s, msgpack.packb({"type": "AnswerCall", "invoke": 8, "call": "9"}))["invoke"] == 8
    finally:
        s.close(0)
    assert server.bus.counters["malformed"] >= 5


def test_random_bytes_fuzz_on_both_sockets_server_survives(server):
    rng = random.Random(7)
    for which in ("control", "snapshot"):
        s = raw(server, which)
        try:
            for i in range(200):
                blob = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
                s.send(blob)
            got = 0
            while s.poll(500):
                reply = msgpack.unpackb(s.recv(), raw=False)
                assert isinstance(reply, dict) and ("error" in reply or "result" in reply or "op" in reply)
                got += 1
            assert got > 0
        finally:
            s.close(0)
    with BusClient(server.bus.endpoints) as c:
        assert c.snapshot()["seq"] >= 1
        for bad in ({"op": "replay", "after": -1}, {"op": "replay", "after": "x"}, {"op": "nope"}, [1]):
            s = raw(server, "snapshot")
            reply = ask(s, msgpack.packb(bad))
            s.close(0)
            assert reply.get("op") == "error" or "error" in reply


def test_oversized_frame_drops_that_peer_only(server):
    big = raw(server)
    try:
        big.send(b"\x00" * (2 << 20))                      # over ZMQ_MAXMSGSIZE: peer disconnected
        assert big.poll(500) == 0
    finally:
        big.close(0)
    with BusClient(server.bus.endpoints) as c:
        assert c.make_call("9000", "1234")["call"]


def test_flood_is_rate_limited_others_served_journal_intact(server):
    flood = raw(server)
    try:
        n = 3000
        for i in range(n):
            flood.send(msgpack.packb({"type": "HoldCall", "invoke": i, "call": "none"}))
        with BusClient(server.bus.endpoints) as c:
            for _ in range(5):
                c.make_call("9000", "1234")        # served while the flood is queued
        codes: dict[str, int] = {}
        while flood.poll(1000):
            r = msgpack.unpackb(flood.recv(), raw=False)
            codes[r["error"]["code"]] = codes.get(r["error"]["code"], 0) + 1
        assert codes.get("RateLimitedError", 0) > 0 and codes.get("InvalidCallError", 0) > 0
        assert sum(codes.values()) <= n
    finally:
        flood.close(0)
    assert server.bus.counters["rate_limited"] > 0
    with BusClient(server.bus.endpoints) as c:
        head = c.snapshot()["seq"]
        seqs, last = [], 0
        while last < head:
            evs, last, _ = c.replay(last)
            seqs += [e["seq"] for e in evs]
        assert seqs == list(range(1, head + 1))


def test_req_socket_clients_work_too(server):
    s = zmq.Context.instance().socket(zmq.REQ)
    s.linger = 0
    s.connect(server.bus.endpoints.snapshot)
    try:
        reply = ask(s, msgpack.packb({"op": "ping", "id": 1}))
        assert reply["op"] == "pong"
    finally:
        s.close(0)
