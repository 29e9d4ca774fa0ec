"""The contact centre over a PRI span: callers from the simulated PRI exchange reach ACD
queues through the real CtiServer (Q.931 on TS16, 30 B channels) and simulated agents answer,
in virtual time, as over No.1 and SS7 (tests/test_contact_load.py, whose rig this reuses)."""
from __future__ import annotations

import random
from collections import Counter, defaultdict

import pytest
from test_contact_load import AGENTS, make_server, place_callers, restore_bus_requests, run_until  # noqa: F401

from simulator.agents import DesktopProfile, start_desktops


@pytest.mark.load
def test_contact_centre_over_pri_every_call_accounted(tmp_path):
    contact = {"agents": AGENTS, "route_points": {"4000": "sales"}, "stats_every": 5.0,
               "queues": {"sales": {"strategy": "fewest-calls", "ring_timeout": 8.0, "max_wait": 45.0,
                                    "overflow": "voicemail"}}}
    srv, centre = make_server(tmp_path, contact, spans=1, signalling="pri")
    bus, _desks = start_desktops(srv, {a: v["device"] for a, v in AGENTS.items()},
                                 DesktopProfile(answer_after=(0.5, 3.0), handle=(10.0, 40.0), no_answer=0.1), seed=11)
    events: list[dict] = []
    bus.listeners.append(events.append)
    exchange = srv.part("network").networks[0]
    run_until(srv, srv.now() + 2.0)                # the D channel up
    total = 60
    t = place_callers(exchange, random.Random(5), srv.now() + 1.0, total, "1390000")
    run_until(srv, t + 300.0)
    try:
        offered = {e["call"]: e["calling"] for e in events if e["type"] == "Offered" and e.get("called") == "4000"}
        assert len(offered) == total
        ends = defaultdict(list)
        for e in events:
            if e["type"] in ("Connected", "Abandoned") or (e["type"] == "CallDiverted" and e["data"]["to"] == "voicemail"):
                ends[e["call"]].append(e["type"])
        assert set(ends) == set(offered) and all(len(v) == 1 for v in ends.values())
        records = {r.calling: r for r in exchange.records}
        for call, (kind,) in ends.items():
            if kind == "Connected":
                assert records[offered[call]].outcome == "answered", call
        kinds = Counter(v[0] for v in ends.values())
        assert kinds["Connected"] > 30
        assert not centre.model.calls and srv.model.validate() == []
    finally:
        srv.close()
