"""Call-control rights on the bus (CURVE accounts, loopback trunk): an agent cannot choose the
calling number of MakeCall; TransferCall / ConferenceCall / AlternateCall act for the agent's
own connection in each call; user data and the new CSTA services over the command socket."""
from __future__ import annotations

import os
import time

import pytest

from cti.bus.client import BusClient, ClientKeys
from cti.call.errors import InvalidParameterError, PrivilegeViolationError
from cti.cli.keys import generate_client, generate_server
from cti.cli.wiring import build_server
from cti.config import Config
from cti.server import BackgroundServer

ANY = "tcp://127.0.0.1:*"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("keys"))
    generate_server(d)
    generate_client(d, "alice", "agent", device="8001", team="sales")
    generate_client(d, "dave", "agent", device="8003", team="support")
    generate_client(d, "crm", "integrator")
    return d


def client(srv, keys, name):
    return BusClient(srv.bus.endpoints, keys=ClientKeys(os.path.join(keys, f"{name}.key_secret"),
                                                        os.path.join(keys, "server.key")))


@pytest.fixture
def server(keys):
    cfg = Config.from_dict({"server": {"store": ":memory:"},
                            "bus": {"events": ANY, "snapshot": ANY, "control": ANY, "security": "curve", "keys": keys},
                            "board": {"driver": "loopback"}, "trunk": [{"signalling": "loop", "spans": [0]}],
                            "call": {"presentation": {"8003": "01088886003"},
                                     "pickup_groups": {"desk": ["8001", "8003", "8005"]}}})
    srv = build_server(cfg).start()
    bg = BackgroundServer(srv)
    with bg:
        yield srv, bg


def ring(srv, bg, called):
    def go():
        srv.adapters[0].ring(called, "13800138000", srv.now())
    bg.do(go)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        calls = bg.do(lambda: [c.id for c in srv.model.calls.values() if c.called == called
                               and any(x.state.value == "alerting" for x in c.connections.values())])
        if calls:
            return calls[-1]
        time.sleep(0.02)
    raise AssertionError(f"no call rang at {called}")


def wait_answered(srv, bg, call):
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        if bg.do(lambda: any(r.state.value == "connected" for r in srv.model.calls[call].remotes())):
            return
        time.sleep(0.05)
    raise AssertionError(f"far end of {call} did not answer")


def test_agent_may_not_set_the_calling_number(server, keys):
    srv, bg = server
    with client(srv, keys, "alice") as alice, client(srv, keys, "crm") as crm:
        with pytest.raises(PrivilegeViolationError, match="calling number"):
            alice.command("MakeCall", device="8001", called="110", calling="110")
        res = alice.command("MakeCall", device="8001", called="6601")
        assert bg.do(lambda: srv.model.calls[res["call"]].calling) == "8001"      # the device's own
        res2 = crm.command("MakeCall", device="8002", called="6602", calling="01088886000")
        assert bg.do(lambda: srv.model.calls[res2["call"]].calling) == "01088886000"


@pytest.mark.system
def test_transfer_acts_for_the_agents_own_connection_in_each_call(server, keys):
    srv, bg = server
    with client(srv, keys, "alice") as alice, client(srv, keys, "dave") as dave:
        a = ring(srv, bg, "8001")
        alice.command("AnswerCall", call=a)
        b = alice.command("ConsultationCall", call=a, called="6601")["call"]
        x = ring(srv, bg, "8003")
        dave.command("AnswerCall", call=x)
        wait_answered(srv, bg, b)
        # alice's device has no connection in dave's call: refused before the model is asked
        with pytest.raises(PrivilegeViolationError, match="no connection in call"):
            alice.command("TransferCall", held_call=x, active_call=b)
        with pytest.raises(PrivilegeViolationError):
            alice.command("ConferenceCall", held_call=a, active_call=x)
        with pytest.raises(PrivilegeViolationError):
            alice.command("AlternateCall", held_call=a, active_call=b, device="8003")
        assert alice.command("AlternateCall", held_call=a, active_call=b) == {"call": a, "held_call": b}
        alice.command("AlternateCall", held_call=b, active_call=a)
        assert alice.command("TransferCall", held_call=a, active_call=b) == {"call": a}
        assert bg.do(lambda: srv.model.validate()) == []


def test_user_data_over_the_command_socket(server, keys):
    srv, bg = server
    with client(srv, keys, "alice") as alice, client(srv, keys, "dave") as dave:
        a = ring(srv, bg, "8001")
        got = alice.command("AttachUserData", call=a, data={"account": "A-1001"})
        assert got == {"call": a, "user_data": {"account": "A-1001"}}
        with pytest.raises(PrivilegeViolationError):
            dave.command("UpdateUserData", call=a, data={"x": "1"})
        with pytest.raises(InvalidParameterError):
            alice.command("UpdateUserData", call=a, data="account=1")        # not a map: the schema says so
        with pytest.raises(InvalidParameterError, match="at most"):
            alice.command("UpdateUserData", call=a, data={"k": "v" * 1000})
        alice.command("DeleteUserData", call=a)
        snap = alice.snapshot()
        assert next(c for c in snap["calls"] if c["call"] == a)["user_data"] == {}


def test_presentation_and_pickup_groups_from_the_config(server, keys):
    srv, bg = server
    with client(srv, keys, "dave") as dave, client(srv, keys, "alice") as alice:
        res = dave.command("MakeCall", device="8003", called="6601")
        assert bg.do(lambda: srv.model.calls[res["call"]].calling) == "01088886003"
        rung = ring(srv, bg, "8005")
        with pytest.raises(PrivilegeViolationError):
            alice.command("PickupCall", device="8003")                  # not her device
        assert alice.command("PickupCall", device="8001") == {"call": rung, "device": "8001"}
        states = bg.do(lambda: {c.device: c.state.value for c in srv.model.calls[rung].live()})
        assert states["8001"] == "connected" and "8005" not in states


def test_bad_call_section_is_a_config_error():
    from cti.config import ConfigError
    with pytest.raises(ConfigError, match="presentation"):
        Config.from_dict({"call": {"presentation": {"8001": "not a number"}}})
    with pytest.raises(ConfigError, match="pickup_groups"):
        Config.from_dict({"call": {"pickup_groups": {"g": "8001"}}})
