"""CRM-decides routing: a RouteRequest answered by a CRM client over the real bus sockets, and
the default route when the CRM stays silent; plus a small progressive outbound campaign."""
from __future__ import annotations

import pytest

import time

from cti.bus.client import BusClient
from cti.server import BackgroundServer
from simulator.agents import DesktopProfile, start_desktops
from tests.test_contact_features import AGENTS, DEVICES, place
from tests.test_contact_load import make_server, run_until, restore_bus_requests  # noqa: F401 (fixture)


def test_crm_answers_route_request_over_the_bus(tmp_path):
    srv, centre = make_server(tmp_path, {
        "agents": AGENTS, "route_points": {"4000": "vip"},
        "queues": {"vip": {"strategy": "linear", "members": ["a0", "a1", "a2"], "route_request_timeout": 600.0}}},
        spans=1)
    bus, desks = start_desktops(srv, DEVICES, DesktopProfile(answer_after=(0.5, 0.6), handle=(5.0, 6.0)))
    with BackgroundServer(srv) as _, BusClient(srv.bus.endpoints, timeout=10) as crm:
        sub = crm.subscribe(topics=("queue.",))
        snap = sub.snapshot
        assert {a["agent"]: a["state"] for a in snap["agents"]} == {"a0": "Ready", "a1": "Ready", "a2": "Ready"}
        assert snap["queues"] == [{"queue": "vip", "waiting": []}]
        srv.call_soon(lambda: place(srv, 0.2, calling="13900000001", hold_for=None))
        req = next(e for e in sub.events(30.0) if e["type"] == "RouteRequest")
        assert req["data"]["caller"] == "13900000001" and req["topic"] == "queue.vip"
        assert crm.command("RouteSelect", route=req["data"]["route"], agent="a2") == {"route": req["data"]["route"]}
        seen = []
        for e in sub.events(30.0):
            seen.append(e)
            if e["type"] == "Connected":
                break
        assert seen[-1]["data"]["agent"] == "a2"          # the CRM's choice, not linear's a0
        assert any(e["type"] == "RouteUsed" and e["data"]["by"] == "crm" for e in seen)
        from cti.call.errors import CallControlError
        try:
            crm.command("RouteSelect", route=req["data"]["route"], agent="a1")
            raise AssertionError("an answered route request must be refused")
        except CallControlError as err:
            assert "route" in str(err)


def test_default_route_when_crm_is_silent(tmp_path):
    srv, centre = make_server(tmp_path, {
        "agents": AGENTS, "route_points": {"4000": "vip"},
        "queues": {"vip": {"strategy": "linear", "members": ["a1", "a0"], "route_request_timeout": 4.0}}},
        spans=1)
    bus, desks = start_desktops(srv, DEVICES, DesktopProfile(answer_after=(0.5, 0.6), handle=(5.0, 6.0)))
    seen: list[dict] = []
    bus.listeners.append(seen.append)
    try:
        place(srv, 0.5, hold_for=None)
        run_until(srv, srv.now() + 12.0)
        kinds = [e["type"] for e in seen if e["topic"].startswith("queue.") and e["type"] != "QueueStats"]
        assert kinds[:3] == ["CallQueued", "RouteRequest", "RouteUsed"]
        used = next(e for e in seen if e["type"] == "RouteUsed")
        req = next(e for e in seen if e["type"] == "RouteRequest")
        assert used["data"]["by"] == "default" and used["time"] >= req["time"]
        (conn,) = [e for e in seen if e["type"] == "Connected"]
        assert conn["data"]["agent"] == "a1"
    finally:
        srv.close()


@pytest.mark.system
def test_desktop_over_the_bus_sockets_in_real_time(tmp_path):
    from simulator.agents import AgentDesktop, RemoteBus
    import random
    srv, centre = make_server(tmp_path, {"agents": {"a0": AGENTS["a0"]}, "route_points": {"4000": "sales"},
                                         "queues": {"sales": {}}}, spans=1, clock="real")
    with BackgroundServer(srv) as _, BusClient(srv.bus.endpoints, timeout=10) as client:
        bus = RemoteBus(client)
        desk = AgentDesktop("a0", "2000", bus, DesktopProfile(answer_after=(0.2, 0.3), handle=(1.0, 1.2)),
                            random.Random(1))
        seen: list[dict] = []
        bus.listeners.append(seen.append)
        desk.start()
        srv.call_soon(lambda: place(srv, 0.1, hold_for=None))
        deadline = time.monotonic() + 20.0
        while time.monotonic() < deadline and not any(e["type"] == "CallEnded" for e in seen):
            bus.pump([desk], 0.2)
        # QueueStats comes every stats_every seconds of board time, between any two of these
        kinds = [e["type"] for e in seen if e["topic"].startswith("queue.") and e["type"] != "QueueStats"]
        assert kinds[:3] == ["CallQueued", "AgentOffered", "Connected"] and "CallEnded" in kinds
        assert [a for _, a, _ in desk.log] == ["answered", "cleared"]
