"""Bad input on the bus: typed error replies or counted drops; the server keeps serving; journal intact."""
from __future__ import annotations

import random

import msgpack
import pytest
import zmq

from cti.bus.client import BusClient
from cti.config import Config
from cti.cli.wiring import build_server
from cti.server import BackgroundServer

ANY = "tcp://127.0.0.1:*"


@pytest.fixture
def server(tmp_path):
    cfg = Config.from_dict({"server": {"store": str(tmp_path / "j.db")},
                            "bus": {"events": ANY, "snapshot": ANY, "control": ANY, "rate": 200.0, "burst": 100.0},
                            "board": {"driver": "loopback"}, "trunk": [{"signalling": "loop", "spans": [0]}]})
    srv = build_server(cfg).start()
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
            (msgpack.packb([1, 2, 3]), "MalformedRequestError"),        # not a map (as documented)
            (msgpack.packb({"type": "Reboot", "invoke": 1}), "UnknownRequestError"),
            (msgpack.packb({"invoke": 2}), "UnknownRequestError"),
            (msgpack.packb({"type": "AnswerCall", "invoke": 3}), "InvalidParameterError"),
            (msgpack.packb({"type": "AnswerCall", "invoke": 4, "call": 12}), "InvalidParameterError"),
            (msgpack.packb({"type": "MakeCall", "invoke": 5, "device": "1", "called": "12ab"}), "InvalidParameterError"),
            (msgpack.packb({"type": "ClearConnection", "invoke": 6, "call": "9"}), "InvalidCallError"),
            (msgpack.packb({"type": "AnswerCall", "invoke": {"x": 1}, "call": "9"}), "InvalidParameterError"),
            (b"\x00" * (100 * 1024), "MalformedRequestError"),                      # over max_request
            (msgpack.packb({"type": "MakeCall", "invoke": 7, "device": "x" * 70000, "called": "1"}),
             "MalformedRequestError"),
        ]
        for payload, code in cases:
            reply = ask(s, payload)
            assert reply["error"]["code"] == code, (payload[:40], reply)
            assert reply["error"]["message"]
        assert ask(s, msgpack.packb({"type": "AnswerCall", "invoke": 8, "call": "9"}))["invoke"] == 8
        r = ask(s, msgpack.packb({"type": "AnswerCall", "id": "x-9", "call": "9"}))
        assert r["id"] == r["invoke"] == "x-9" and r["error"]["code"] == "InvalidCallError"
    finally:
        s.close(0)
    assert server.bus.counters["malformed"] >= 5


@pytest.mark.system
def test_random_bytes_fuzz_on_both_sockets_server_survives(server):
    rng = random.Random(7)
    for which in ("control", "snapshot"):
        s = raw(server, which)
        try:
            for _ in range(200):
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


@pytest.mark.system
def test_flood_is_rate_limited_with_ids_journal_intact(server):
    flood = raw(server)
    try:
        n = 3000
        for i in range(n):
            flood.send(msgpack.packb({"type": "HoldCall", "invoke": i, "call": "none"}))
        codes: dict[str, int] = {}
        ids = []
        while flood.poll(1000):
            r = msgpack.unpackb(flood.recv(), raw=False)
            codes[r["error"]["code"]] = codes.get(r["error"]["code"], 0) + 1
            ids.append(r["invoke"])
            assert r["id"] == r["invoke"] and isinstance(r["epoch"], str)     # refusals too carry the id
        assert codes.get("RateLimitedError", 0) > 0 and codes.get("InvalidCallError", 0) > 0
        assert ids == sorted(ids) and len(ids) == len(set(ids)) <= n and None not in ids
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


@pytest.mark.system
def test_hypothesis_random_request_maps_never_break_dispatch():
    """Any decoded request map gets a reply with a result or a typed error; the model stays valid."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from cti.bus.auth import PLAIN_ACCOUNT
    from cti.bus.schema import REQUESTS
    from cti.call.errors import ERRORS

    cfg = Config.from_dict({"server": {"store": ":memory:"},
                            "bus": {"events": ANY, "snapshot": ANY, "control": ANY},
                            "board": {"driver": "loopback"}, "trunk": [{"signalling": "loop", "spans": [0]}]})
    srv = build_server(cfg).start()
    for i in range(3):
        srv.adapters[0].ring(f"800{i}", "1", 0.0)
    srv.step(0)
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-2, 200), st.text(max_size=5),
                        st.sampled_from(["1", "2", "3", "8001", "8002", "trunk/0/31", "6601"]))
    fields = st.sampled_from(["call", "device", "called", "calling", "trunk", "cause", "held_call",
                              "active_call", "to", "digits", "invoke", "junk"])
    request = st.fixed_dictionaries({"type": st.one_of(st.sampled_from(sorted(REQUESTS)), st.text(max_size=4))},
                                    optional={}).flatmap(
        lambda base: st.dictionaries(fields, scalars, max_size=6).map(lambda extra: {**extra, **base}))

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(st.lists(request, max_size=8))
    def check(msgs):
        for msg in msgs:
            reply = srv.bus.handle_command(PLAIN_ACCOUNT, msg)
            assert ("result" in reply) != ("error" in reply)
            if "error" in reply:
                assert reply["error"]["code"] in ERRORS
            assert srv.model.validate() == []

    try:
        check()
    finally:
        srv.close()


def test_unencodable_event_does_not_take_a_seq(tmp_path):
    from cti.bus.server import BusServer, Endpoints
    from cti.store import open_store
    bus = BusServer(open_store(":memory:"), endpoints=Endpoints(ANY, ANY, ANY)).start()
    try:
        assert bus.publish({"type": "Note", "x": 1}) == 1
        with pytest.raises(TypeError):
            bus.publish({"type": "Note", "x": {1, 2}})        # a set is not msgpack
        assert bus.publish({"type": "Note", "x": 2}) == 2     # still gap-free
        bus.flush()
        assert [s for s, _ in bus.store.events_after(0)] == [1, 2]
    finally:
        bus.close()
