"""A small progressive outbound campaign through the real server on the simulator (No.1):
numbers from a CSV file, outcomes from the trunk, answered calls connected to agents."""
from __future__ import annotations

from collections import Counter

import pytest

from cti.bus.auth import Account
from cti.call.errors import InvalidParameterError, PrivilegeViolationError
from simulator.agents import DesktopProfile, start_desktops
from tests.test_contact_features import AGENTS, DEVICES
from tests.test_contact_load import make_server, run_until, restore_bus_requests  # noqa: F401 (fixture)


def test_progressive_campaign(tmp_path):
    csv = tmp_path / "numbers.csv"
    csv.write_text("number,name\n5100,Ann\n5101,Bob\n5102,Cy\n5200,Busy\n5300,Nobody\n5400,Ringing\n")
    srv, centre = make_server(tmp_path, {
        "agents": AGENTS, "queues": {"out": {}},
        "campaigns": {"spring": {"csv": str(csv), "queue": "out", "max_attempts": 1, "no_answer_timeout": 15.0}}},
        spans=1)
    from simulator.exchange.base import Behaviour, Subscriber
    ex = srv.networks[0]
    ex.subscribers["5200"] = Subscriber("5200", Behaviour.BUSY)
    ex.subscribers["5300"] = Subscriber("5300", Behaviour.UNALLOCATED)
    ex.subscribers["5400"] = Subscriber("5400", Behaviour.NO_ANSWER)
    for n in ("5100", "5101", "5102"):
        ex.subscribers[n] = Subscriber(n, Behaviour.ANSWER, answer_after=1.0, hold_for=None)
    bus, desks = start_desktops(srv, DEVICES, DesktopProfile(answer_after=(0.5, 1.0), handle=(5.0, 8.0)))
    seen: list[dict] = []
    bus.listeners.append(seen.append)
    try:
        with pytest.raises(PrivilegeViolationError):
            bus.command("StartCampaign", Account("a0", "agent", device="2000"), campaign="spring")
        with pytest.raises(InvalidParameterError):
            bus.command("StartCampaign", campaign="autumn")
        assert bus.command("StartCampaign", campaign="spring") == {"campaign": "spring", "contacts": 6}
        # pacing: never more calls dialling or waiting than ready agents
        peak = 0
        end = srv.now() + 90.0
        while srv.now() < end:
            srv.step(0)
            c = centre.dialler.running["spring"][0]
            peak = max(peak, len(c.dialling) + len(c.waiting_agent))
        assert peak <= len(AGENTS)
        outcomes = {e["number"]: e["outcome"] for e in seen if e["type"] == "CampaignProgress"}
        assert outcomes == {"5100": "answered", "5101": "answered", "5102": "answered",
                            "5200": "busy", "5300": "unallocated", "5400": "no-answer"}
        connected = [e for e in seen if e["type"] == "Connected" and e["queue"] == "out"]
        assert len(connected) == 3 and Counter(e["data"]["agent"] for e in connected).most_common(1)[0][1] <= 2
        assert centre.dialler.running["spring"][0].finished and not srv.model.calls
    finally:
        srv.close()
