"""The contact centre under CURVE: an agent's desktop on the filtered (watch) stream sees the
calls offered to it and answers them; Monitor is for the supervisor of the agent's team."""
from __future__ import annotations

import os
import random
import time

import pytest

from cti.bus.client import BusClient, ClientKeys
from cti.call.errors import PrivilegeViolationError
from cti.cli.keys import generate_client, generate_server
from cti.config import Config
from cti.contact import ContactConfig, install
from cti.cli.wiring import build_server
from cti.server import BackgroundServer
from simulator.agents import AgentDesktop, DesktopProfile, RemoteBus
from tests.test_contact_load import restore_bus_requests  # noqa: F401 (fixture)

pytestmark = pytest.mark.system

ANY = "tcp://127.0.0.1:*"


def test_agent_desktop_and_supervisor_under_curve(tmp_path):
    d = str(tmp_path / "keys")
    generate_server(d)
    generate_client(d, "a0", "agent", device="2000", team="blue")
    generate_client(d, "a1", "agent", device="2001", team="blue")
    generate_client(d, "boss", "supervisor", device="3000", team="blue")
    generate_client(d, "redboss", "supervisor", device="3001", team="red")

    def keys(name):
        return ClientKeys(os.path.join(d, f"{name}.key_secret"), os.path.join(d, "server.key"))
    cfg = Config.from_dict({
        "server": {"store": str(tmp_path / "cti.db")},
        "bus": {"events": ANY, "snapshot": ANY, "control": ANY, "security": "curve", "keys": d},
        "board": {"driver": "sim", "spans": 1, "clock": "real"},
        "trunk": [{"signalling": "no1", "spans": [0]}]})
    srv = build_server(cfg).start()
    centre = install(srv, ContactConfig.from_dict({
        "agents": {"a0": {"device": "2000", "team": "blue"}, "a1": {"device": "2001", "team": "blue"}},
        "route_points": {"4000": "sales"}, "queues": {"sales": {"members": ["a0"]}},
        "recordings": str(tmp_path / "rec")}))
    with BackgroundServer(srv) as _, BusClient(srv.bus.endpoints, keys=keys("a0"), timeout=10) as c0, \
            BusClient(srv.bus.endpoints, keys=keys("a1"), timeout=10) as c1, \
            BusClient(srv.bus.endpoints, keys=keys("boss"), timeout=10) as boss, \
            BusClient(srv.bus.endpoints, keys=keys("redboss"), timeout=10) as red:
        with pytest.raises(PrivilegeViolationError):
            c1.command("AgentLogon", agent="a0", device="2000")       # not its own agent
        bus = RemoteBus(c0, mode="watch")
        desk = AgentDesktop("a0", "2000", bus, DesktopProfile(answer_after=(0.2, 0.3), handle=(30.0, 31.0)),
                            random.Random(1))
        seen: list[dict] = []
        bus.listeners.append(seen.append)
        desk.start()
        from simulator.exchange.base import CallScript
        srv.call_soon(lambda: srv.part("network").networks[0].place_call(CallScript(at=srv.now() + 0.1, called="4000",
                                                                    calling="13800000001", hold_for=None)))
        deadline = time.monotonic() + 20.0
        while time.monotonic() < deadline and not any(e["type"] == "Connected" for e in seen):
            bus.pump([desk], 0.2)
        kinds = [e["type"] for e in seen]
        assert "AgentOffered" in kinds and "Connected" in kinds and "AgentBusy" in kinds
        call = next(e["call"] for e in seen if e["type"] == "Connected")
        with pytest.raises(PrivilegeViolationError):
            c1.command("ClearConnection", call=call, device="2000")   # a1 may not clear a0's call
        with pytest.raises(PrivilegeViolationError):
            c0.command("Monitor", agent="a0", device="2000")
        with pytest.raises(PrivilegeViolationError):
            red.command("Monitor", agent="a0", device="3001")
        assert boss.command("Monitor", agent="a0", device="3000", mode="barge") == \
            {"call": call, "agent": "a0", "mode": "barge"}
        assert boss.command("GetStatistics", queue="sales")["queues"]["sales"]["answered"] == 1
        assert c0.command("ClearConnection", call=call, device="2000") == {"call": call}
