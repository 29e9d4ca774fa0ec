"""The request envelope and limits on both sockets (issue 19 section 4): ids echoed by every
reply, refusals included; the same field name on both sockets; non-scalar ids refused;
replay with limit 0; non-maps; rate limits per account, never wiped; bounded subscribers."""
from __future__ import annotations

import collections
import contextlib
import os
import threading
import time
from collections.abc import Iterator

import msgpack
import pytest
import zmq
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.bus.auth import Security
from cti.bus.client import BusClient, ClientKeys
from cti.bus.control import RateLimiter, request_id
from cti.bus.endpoints import SUBSCRIBER_BUFFER, Limits
from cti.bus.server import BusServer, Endpoints
from cti.call.errors import CallControlError, InvalidParameterError
from cti.cli.keys import generate_client, generate_server
from cti.store import open_store

ANY = "tcp://127.0.0.1:*"


def _bus(limits: Limits | None = None, security: Security | None = None) -> BusServer:
    return BusServer(open_store(":memory:"), security, Endpoints(ANY, ANY, ANY), limits).start()


def _ask(bus: BusServer, sock: zmq.Socket, payload: bytes) -> dict:
    sock.send(payload)
    for _ in range(400):
        bus.poll(5)
        if sock.poll(0):
            return msgpack.unpackb(sock.recv(), raw=False)
    raise AssertionError("no reply")


def _dealer(endpoint: str) -> zmq.Socket:
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.linger = 0
    s.connect(endpoint)
    return s


scalar_ids = st.one_of(st.integers(-(2 ** 63), 2 ** 64 - 1), st.text(max_size=40))
bad_ids = st.one_of(st.floats(allow_nan=False), st.booleans(), st.lists(st.integers(), max_size=3),
                    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
                    st.binary(max_size=4), st.text(min_size=257, max_size=300))


@settings(max_examples=200, deadline=None)
@given(scalar_ids, st.sampled_from(["id", "invoke"]))
def test_request_id_takes_ints_and_strings_under_either_name(rid, key):
    assert request_id({key: rid}) == rid
    assert request_id({"id": rid, "invoke": "other"}) == rid        # id wins


@settings(max_examples=200, deadline=None)
@given(bad_ids, st.sampled_from(["id", "invoke"]))
def test_request_id_refuses_anything_but_a_scalar(rid, key):
    with pytest.raises(InvalidParameterError):
        request_id({key: rid})


def test_every_reply_carries_the_id_on_both_sockets_refusals_included():
    bus = _bus(Limits(rate=1.0, burst=3.0))
    ctl, snap = _dealer(bus.endpoints.control), _dealer(bus.endpoints.snapshot)
    try:
        for sock, ok, bad in ((ctl, {"type": "HoldCall", "call": "9"}, {"type": "Nope"}),
                              (snap, {"op": "ping"}, {"op": "nope"})):
            for key in ("id", "invoke"):
                r = _ask(bus, sock, msgpack.packb({**ok, key: f"{key}-1"}))
                assert r["id"] == f"{key}-1" and isinstance(r["epoch"], str)
                r = _ask(bus, sock, msgpack.packb({**bad, key: 7}))
                assert r["id"] == 7 and "error" in r
            r = _ask(bus, sock, msgpack.packb({**ok, "id": {"a": 1}}))      # not a scalar: refused
            assert r["id"] is None and r["error"]["code"] == "InvalidParameterError"
            assert r["error"]["details"]["field"] == "id"
            r = _ask(bus, sock, msgpack.packb([1, 2]))                      # not a map
            assert r["error"]["code"] == "MalformedRequestError" and r["id"] is None
        # the bucket (3, at 1/s) is empty by now: refusals still carry the id
        for sock, msg in ((ctl, {"type": "HoldCall", "call": "9", "id": 42}), (snap, {"op": "ping", "id": 43})):
            r = _ask(bus, sock, msgpack.packb(msg))
            assert r["error"]["code"] == "RateLimitedError" and r["id"] == msg["id"]
        assert bus.counters["rate_limited"] >= 2
    finally:
        ctl.close(0)
        snap.close(0)
        bus.close()


def test_replay_with_limit_zero_returns_none():
    bus = _bus()
    snap = _dealer(bus.endpoints.snapshot)
    try:
        for i in range(5):
            bus.publish({"type": "Note", "i": i})
        r = _ask(bus, snap, msgpack.packb({"op": "replay", "after": 0, "limit": 0, "id": 1}))
        assert r["events"] == [] and r["last"] == 0 and r["head"] == 5 and r["more"] is True
        r = _ask(bus, snap, msgpack.packb({"op": "replay", "after": 2, "limit": 1, "id": 2}))
        assert len(r["events"]) == 1 and r["last"] == 3
    finally:
        snap.close(0)
        bus.close()


def test_rate_limiter_is_per_account_and_never_wiped():
    rl = RateLimiter(rate=10.0, burst=5.0)
    assert all(rl.allow("alice", 0.0) for _ in range(5)) and not rl.allow("alice", 0.0)
    assert rl.allow("bob", 0.0)                         # another account has its own bucket
    for i in range(20_000):                             # many other accounts do not reset alice's
        rl.allow(f"x{i}", 0.0)
    assert not rl.allow("alice", 0.01)
    assert rl.allow("alice", 0.2)                       # refilled by time only
    rl.keep_only({"bob"})                               # an account reload forgets the revoked
    assert len(rl) == 1


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("keys"))
    generate_server(d)
    generate_client(d, "crm", "integrator")
    generate_client(d, "wall", "integrator")
    return d


@contextlib.contextmanager
def _serving(bus: BusServer) -> Iterator[None]:
    """Run the bus's loop in a thread (what cti-server's loop does)."""
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            bus.poll(2)
    t = threading.Thread(target=serve)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join()


def test_ten_sockets_of_one_account_share_its_allowance(keys):
    bus = _bus(Limits(rate=0.001, burst=20.0), Security.curve(keys))
    k = {n: ClientKeys(os.path.join(keys, f"{n}.key_secret"), os.path.join(keys, "server.key")) for n in ("crm", "wall")}
    clients = [BusClient(bus.endpoints, keys=k["crm"]) for _ in range(10)]
    other = BusClient(bus.endpoints, keys=k["wall"])
    codes: collections.Counter[str] = collections.Counter()

    def call(c: BusClient) -> None:
        try:
            c.command("HoldCall", call="none")
        except CallControlError as e:      # a typed refusal either way
            codes[e.code] += 1
    try:
        with _serving(bus):
            for _ in range(3):
                for c in clients:
                    call(c)
            # 30 requests from one account through 10 sockets: its 20 tokens, then refusals
            assert codes == {"UnknownRequestError": 20, "RateLimitedError": 10}, codes
            codes.clear()
            call(other)
            assert codes == {"UnknownRequestError": 1}          # the other account is untouched
    finally:
        for c in (*clients, other):
            c.close()
        bus.close()


def test_subscriber_buffer_is_bounded_by_configuration():
    assert SUBSCRIBER_BUFFER <= 100_000
    bus = _bus(Limits(subscriber_buffer=1234))
    try:
        assert bus.pub.sndhwm == 1234
    finally:
        bus.close()
    with pytest.raises(ValueError):
        Limits(subscriber_buffer=0)


def test_a_lagging_watcher_is_told_the_seqs_it_missed_and_the_client_replays_them():
    bus = _bus(Limits(subscriber_buffer=50))
    try:
        with BusClient(bus.endpoints) as c:
            with _serving(bus):
                sub = c.subscribe(after=0, mode="watch")
                time.sleep(0.1)
            for i in range(200):                        # 200 events while the loop does not turn
                bus.publish({"type": "Note", "i": i})
            with _serving(bus):
                got = [e["i"] for e in sub.events(timeout=0.5)]
        assert got == list(range(200))                  # nothing lost: the missed seqs were replayed
        assert sub.missed == [(1, 200)] and bus.counters["watch_overflows"] == 1
    finally:
        bus.close()


def test_deadline_says_when_the_bus_needs_a_turn():
    bus = _bus()
    snap = _dealer(bus.endpoints.snapshot)
    try:
        assert bus.deadline() is None                   # no watchers, no accounts file: input only
        r = _ask(bus, snap, msgpack.packb({"op": "watch", "after": 0, "id": 1}))
        assert r["op"] == "watching"
        lease = bus.deadline()
        assert lease is not None and lease > time.monotonic() + 20      # nothing to push: the lease
        bus.publish({"type": "Note"})
        assert bus.deadline() <= time.monotonic()        # an event for a watcher: due now
        bus.poll(0)
        assert snap.poll(1000) and msgpack.unpackb(snap.recv(), raw=False)["op"] == "events"
        assert bus.deadline() > time.monotonic() + 20
    finally:
        snap.close(0)
        bus.close()


def test_a_watcher_whose_queue_is_full_is_retried_later_not_in_a_busy_loop():
    from cti.bus import replay as rp
    bus = _bus()
    try:
        bus.replay.serve(b"peer", {"op": "watch", "after": 0}, bus.security.account(None), 1)
        bus.publish({"type": "Note"})
        sent: list[dict] = []
        bus.replay.pump(lambda ident, msg: sent.append(msg) and False)      # the peer's queue is full
        assert [m["op"] for m in sent] == ["events"]
        due = bus.replay.deadline()
        assert due is not None and due >= time.monotonic() + rp.RETRY / 2   # not "now" again and again
        bus.replay.pump(lambda ident, msg: sent.append(msg) or True)        # too early: not tried
        assert len(sent) == 1
        time.sleep(rp.RETRY)
        bus.replay.pump(lambda ident, msg: sent.append(msg) or True)        # room again: the same events
        assert [m["op"] for m in sent] == ["events", "events"] and sent[0]["events"] == sent[1]["events"]
        assert bus.replay.deadline() > time.monotonic() + 20               # nothing pending: the lease
    finally:
        bus.close()


def test_the_subscriber_buffer_comes_from_the_site_configuration():
    from cti.cli.wiring import build_server
    from cti.config import Config
    cfg = Config.from_dict({"server": {"store": ":memory:"}, "bus": {"events": ANY, "snapshot": ANY,
                                                                     "control": ANY, "subscriber_buffer": 777},
                            "board": {"driver": "loopback"}, "trunk": [{"signalling": "loop", "spans": [0]}]})
    srv = build_server(cfg).start()
    try:
        assert srv.bus.limits.subscriber_buffer == 777 and srv.bus.pub.sndhwm == 777
    finally:
        srv.close()
