"""CURVE authentication and per-account authorisation on the bus."""
from __future__ import annotations

import os

import pytest
import zmq

from cti.bus.auth import AccountBook, AuthError, Security, is_loopback
from cti.bus.client import BusClient, ClientKeys
from cti.call.errors import PrivilegeViolationError
from cti.cli.keys import generate_client, generate_server
from cti.config import Config
from cti.cli.wiring import build_server
from cti.server import BackgroundServer

ANY = "tcp://127.0.0.1:*"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("keys"))
    generate_server(d)
    generate_client(d, "alice", "agent", device="8001", team="sales")
    generate_client(d, "carol", "agent", device="8002", team="sales")
    generate_client(d, "dave", "agent", device="8003", team="support")
    generate_client(d, "bob", "supervisor", device="8100", team="sales")
    generate_client(d, "crm", "integrator")
    # a key pair the server does not know
    other = str(tmp_path_factory.mktemp("other"))
    zmq.auth.create_certificates(other, "mallory")
    return d, os.path.join(other, "mallory.key_secret")


def kfor(keys, name):
    d, _ = keys
    return ClientKeys(os.path.join(d, f"{name}.key_secret"), os.path.join(d, "server.key"))


@pytest.fixture
def server(keys, tmp_path):
    d, _ = keys
    cfg = Config.from_dict({"server": {"store": ":memory:"},
                            "bus": {"events": ANY, "snapshot": ANY, "control": ANY, "security": "curve", "keys": d},
                            "board": {"driver": "loopback"}, "trunk": [{"signalling": "loop", "spans": [0]}]})
    srv = build_server(cfg).start()
    trunk = srv.adapters[0]
    for called in ("8001", "8003"):
        trunk.ring(called, "139", 0.0)
    srv.step(0)
    with BackgroundServer(srv):
        yield srv


def calls_by_device(snap):
    return {c["called"]: c["call"] for c in snap["calls"]}


def test_accounts_file_roundtrip(keys):
    book = AccountBook.load(os.path.join(keys[0], "accounts.toml"))
    assert book.get("alice").device == "8001" and book.teams["sales"] == {"8001", "8002", "8100"}
    assert book.visible(book.get("bob")) == {"8001", "8002", "8100"}
    assert book.controllable(book.get("bob")) == {"8100"}
    assert book.visible(book.get("crm")) is None
    with pytest.raises(AuthError):
        generate_client(keys[0], "x", "agent")            # an agent needs a device
    with pytest.raises(AuthError):
        generate_client(keys[0], "bad name!", "integrator")


@pytest.mark.system
def test_unauthenticated_clients_get_nothing(server, keys):
    # wrong key pair
    with BusClient(server.bus.endpoints, keys=ClientKeys(keys[1], os.path.join(keys[0], "server.key")),
                   timeout=0.5) as c:
        with pytest.raises(TimeoutError):
            c.snapshot()
        with pytest.raises(TimeoutError):
            c.make_call("8001", "123")
    # no CURVE at all
    with BusClient(server.bus.endpoints, timeout=0.5) as c:
        with pytest.raises(TimeoutError):
            c.snapshot()
        sub = c._socket(zmq.SUB, server.bus.endpoints.events)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        server.call_soon(lambda: server.adapters[0].ring("8002", "1", server.now()))
        assert sub.poll(500) == 0
    assert server.bus.counters["commands_ok"] == 0


@pytest.mark.system
def test_agent_controls_and_sees_only_its_own_device(server, keys):
    with BusClient(server.bus.endpoints, keys=kfor(keys, "alice")) as alice, \
            BusClient(server.bus.endpoints, keys=kfor(keys, "crm")) as crm:
        everything = calls_by_device(crm.snapshot())
        assert set(everything) == {"8001", "8003"}
        mine = calls_by_device(alice.snapshot())
        assert set(mine) == {"8001"}
        with pytest.raises(PrivilegeViolationError, match="alice"):
            alice.answer_call(everything["8003"])
        with pytest.raises(PrivilegeViolationError):
            alice.make_call("8003", "123")              # not her device
        with pytest.raises(PrivilegeViolationError):
            alice.answer_call(everything["8001"], device="8003")
        assert alice.answer_call(mine["8001"]) == {"call": mine["8001"]}
        # the raw PUB stream is for integrators only; agents get a filtered watch
        sub = alice.subscribe(after=0, mode="watch")
        evs = list(sub.events(0.7))
        assert evs and all("8001" in e.get("devices", ["8001"]) for e in evs)
        assert {e["type"] for e in evs} >= {"Offered", "Delivered", "Established"}
        assert not any(e.get("called") == "8003" for e in evs)
        pub = alice._socket(zmq.SUB, server.bus.endpoints.events)
        pub.setsockopt(zmq.SUBSCRIBE, b"")
        server.call_soon(lambda: server.adapters[0].ring("8001", "2", server.now()))
        assert pub.poll(500) == 0
        # the integrator sees everything on PUB
        full = crm.subscribe(after=0)
        types = [e["called"] for e in full.events(0.5) if e["type"] == "Offered"]
        assert sorted(types) == ["8001", "8001", "8003"]


def test_supervisor_monitors_team_but_controls_only_own_device(server, keys):
    with BusClient(server.bus.endpoints, keys=kfor(keys, "bob")) as bob:
        snap = bob.snapshot()
        assert set(calls_by_device(snap)) == {"8001"} and snap["spans"]
        with pytest.raises(PrivilegeViolationError):
            bob.answer_call(calls_by_device(snap)["8001"])
        evs, last, head = bob.replay(0)
        assert last == head and evs
        assert all(e.get("called") != "8003" for e in evs)


def test_plain_mode_is_for_localhost_only(caplog):
    sec = Security()
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.ROUTER)
    try:
        with pytest.raises(AuthError, match="non-local"):
            sec.apply(s, "control", "tcp://0.0.0.0:5562")
        sec.apply(s, "control", "tcp://127.0.0.1:5562")
    finally:
        s.close(0)
    with caplog.at_level("WARNING"):
        sec.start(ctx)
    assert "PLAIN MODE" in caplog.text and "NO authentication" in caplog.text
    assert is_loopback("ipc:///tmp/x") and is_loopback("tcp://[::1]:1") and not is_loopback("tcp://10.0.0.1:1")
