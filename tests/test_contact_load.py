"""Contact centre end to end on the simulator: callers from the simulated exchange over No.1
reach ACD queues through the real CtiServer, simulated agent desktops answer through the bus
request path, in virtual time. Checks: no call lost (each ends answered, abandoned by its
caller's scripted patience or overflowed, on the bus and at the exchange alike), no agent with
two calls, statistics equal to an independent count from the bus events."""
from __future__ import annotations

import random
from collections import Counter, defaultdict

import pytest

from cti.config import Config
from cti.contact import ContactConfig, install
from cti.cli.wiring import build_server
from cti.server import CtiServer
from simulator.agents import DesktopProfile, start_desktops

pytestmark = pytest.mark.load

ANY = "tcp://127.0.0.1:*"


@pytest.fixture(autouse=True, scope="module")
def restore_bus_requests():
    """install() adds the contact requests to the bus's global registry: take them out again
    after this module, so later modules see the call-control schema exactly."""
    from cti.bus import schema
    saved = dict(schema.REQUESTS)
    yield
    schema.REQUESTS.clear()
    schema.REQUESTS.update(saved)


def make_server(tmp_path, contact: dict, spans: int = 2, clock: str = "virtual",
                signalling: str = "no1") -> tuple[CtiServer, object]:
    cfg = Config.from_dict({
        "server": {"store": str(tmp_path / "cti.db")},
        "bus": {"events": ANY, "snapshot": ANY, "control": ANY},
        "board": {"driver": "sim", "spans": spans, "clock": clock, "step": 0.1},
        "trunk": [{"signalling": signalling, "spans": list(range(spans))}]})
    srv = build_server(cfg).start()
    centre = install(srv, ContactConfig.from_dict({"recordings": str(tmp_path / "rec"), **contact}))
    return srv, centre


def run_until(srv, t_end: float) -> None:
    while srv.now() < t_end:
        srv.step(0)


def place_callers(exchange, rng: random.Random, t: float, n: int, prefix: str) -> float:
    """Script ``n`` callers to route point 4000 (Poisson, mean gap 3 s, 20 % with a patience of
    5-40 s); returns the time of the last one."""
    from simulator.exchange.base import CallScript
    for i in range(n):
        t += rng.expovariate(1 / 3.0)
        patient = rng.random() < 0.8
        exchange.place_call(CallScript(at=t, called="4000", calling=f"{prefix}{i:04d}", hold_for=None,
                                       abandon_after=None if patient else rng.uniform(5.0, 40.0)))
    return t


AGENTS = {f"a{i}": {"device": f"20{i:02d}", "team": "blue" if i < 4 else "red", "wrap_up": 5.0}
          for i in range(8)}


def test_load_every_call_accounted_no_agent_double_booked(tmp_path):
    contact = {"agents": AGENTS, "route_points": {"4000": "sales"}, "stats_every": 5.0,
               "queues": {"sales": {"strategy": "longest-idle", "ring_timeout": 8.0, "max_wait": 45.0,
                                    "overflow": "backup", "announce_every": 30.0},
                          "backup": {"strategy": "round-robin", "members": ["a7"], "max_wait": 15.0, "overflow": "voicemail"}}}
    srv, centre = make_server(tmp_path, contact)
    bus, desks = start_desktops(srv, {a: v["device"] for a, v in AGENTS.items()},
                                DesktopProfile(answer_after=(0.5, 3.0), handle=(10.0, 40.0), no_answer=0.1), seed=7)
    events: list[dict] = []
    bus.listeners.append(events.append)
    exchange = srv.part("network").networks[0]
    t = place_callers(exchange, random.Random(3), srv.now() + 1.0, 200, "1380000")
    run_until(srv, t + 400.0)
    try:
        offered = {e["call"] for e in events if e["type"] == "Offered" and e.get("called") == "4000"}
        assert len(offered) == 200
        ends = defaultdict(list)
        for e in events:
            if e["type"] in ("Connected", "Abandoned") or (e["type"] == "CallDiverted" and e["data"]["to"] == "voicemail"):
                ends[e["call"]].append(e["type"])
        assert set(ends) == offered, "every call answered, abandoned or overflowed"
        assert all(len(v) == 1 for v in ends.values())
        # the exchange's side agrees call by call: answered, released by us (voicemail) or abandoned
        # by the caller's own scripted patience; no call given up for a signalling reason
        calling_of = {e["call"]: e["calling"] for e in events if e["type"] == "Offered" and e.get("called") == "4000"}
        records = {r.calling: r for r in exchange.records}
        assert len(records) == len(exchange.records) == 200 and set(records) == set(calling_of.values())
        want = {"Connected": {"answered"}, "Abandoned": {"abandoned"},
                "CallDiverted": {"answered", "released_by_us"}}   # voicemail: prompt, or let go at once
        for call, kinds in ends.items():
            assert exchange.explain(records[calling_of[call]]) in want[kinds[0]], (call, kinds)
        assert not centre.model.calls, "every call cleared"
        # no agent ever has two calls: replay AgentBusy/talking and CallEnded per agent
        talking: dict[str, str | None] = {}
        for e in events:
            if e["type"] == "Connected":
                a = e["data"]["agent"]
                assert talking.get(a) is None, f"{a} got a second call"
                talking[a] = e["call"]
            elif e["type"] == "CallEnded":
                assert talking[e["data"]["agent"]] == e["call"]
                talking[e["data"]["agent"]] = None
        kinds = Counter(v[0] for v in ends.values())
        assert kinds["Connected"] > 100 and kinds["Abandoned"] > 5 and kinds["CallDiverted"] > 0
        assert any(e["type"] == "RingNoAnswer" for e in events)
        assert any(e["type"] == "CallDiverted" and e["data"]["to"] == "backup" for e in events)
        # statistics = an independent count from the bus, per queue
        stats = bus.command("GetStatistics")["queues"]
        for q in ("sales", "backup"):
            mine = [e for e in events if e.get("queue") == q]
            count = Counter(e["type"] for e in mine)
            answered = [e for e in mine if e["type"] == "Connected"]
            within = sum(1 for e in answered if e["data"]["wait"] <= 20.0)
            abandoned = [e for e in mine if e["type"] == "Abandoned"]
            ab_within = sum(1 for e in abandoned if e["data"]["wait"] <= 20.0)
            f = stats[q]
            assert (f["offered"], f["answered"], f["abandoned"], f["diverted"]) == \
                (count["CallQueued"], count["Connected"], count["Abandoned"], count["CallDiverted"])
            assert f["service_level"] == (round(100.0 * within / len(answered), 2) if answered else None)
            if answered or abandoned:
                assert f["service_level_2"] == round(100.0 * (within + ab_within) / (len(answered) + len(abandoned)), 2)
                assert f["abandon_rate"] == round(100.0 * len(abandoned) / (len(answered) + len(abandoned)), 2)
        assert stats["sales"]["offered"] == 200
        assert any(e["type"] == "QueueStats" for e in events)
        assert srv.model.validate() == []
    finally:
        srv.close()


def test_load_over_ss7_every_call_accounted(tmp_path):
    """The same load over an SS7 span (ISUP on TS16, 30 CICs): every call placed by the
    simulated exchange reaches the ACD and ends answered, abandoned by its own scripted patience
    or overflowed, agreeing call by call with the exchange; no agent gets two calls."""
    contact = {"agents": AGENTS, "route_points": {"4000": "sales"}, "stats_every": 5.0,
               "queues": {"sales": {"strategy": "fewest-calls", "ring_timeout": 8.0, "max_wait": 45.0,
                                    "overflow": "voicemail"}}}
    srv, centre = make_server(tmp_path, contact, spans=1, signalling="ss7")
    bus, desks = start_desktops(srv, {a: v["device"] for a, v in AGENTS.items()},
                                DesktopProfile(answer_after=(0.5, 3.0), handle=(10.0, 40.0), no_answer=0.1), seed=11)
    events: list[dict] = []
    bus.listeners.append(events.append)
    exchange = srv.part("network").networks[0]
    run_until(srv, srv.now() + 3.0)                # link aligned, circuits reset (GRS/GRA)
    total = 120
    t = place_callers(exchange, random.Random(5), srv.now() + 1.0, total, "1390000")
    run_until(srv, t + 400.0)
    try:
        offered = {e["call"]: e["calling"] for e in events if e["type"] == "Offered" and e.get("called") == "4000"}
        assert len(offered) == total
        ends = defaultdict(list)
        for e in events:
            if e["type"] in ("Connected", "Abandoned") or (e["type"] == "CallDiverted" and e["data"]["to"] == "voicemail"):
                ends[e["call"]].append(e["type"])
        assert set(ends) == set(offered) and all(len(v) == 1 for v in ends.values())
        records = {r.calling: r for r in exchange.records}
        assert len(records) == total
        for call, (kind,) in ends.items():
            rec = records[offered[call]]
            if kind == "Connected":
                assert rec.outcome == "answered", (call, rec)
            elif kind == "Abandoned":
                assert rec.extra.get("abandoned") and rec.extra["script"].abandon_after is not None, (call, rec)
            else:                                  # voicemail: answered by the prompt, or let go by us
                assert rec.outcome == "answered" or rec.cleared_by == "near", (call, rec)
        talking: dict[str, str | None] = {}
        for e in events:
            if e["type"] == "Connected":
                assert talking.get(e["data"]["agent"]) is None, "an agent got a second call"
                talking[e["data"]["agent"]] = e["call"]
            elif e["type"] == "CallEnded":
                talking[e["data"]["agent"]] = None
        kinds = Counter(v[0] for v in ends.values())
        assert kinds["Connected"] > 60 and kinds["Abandoned"] > 0
        stats = bus.command("GetStatistics")["queues"]["sales"]
        count = Counter(e["type"] for e in events if e.get("queue") == "sales")
        assert (stats["offered"], stats["answered"], stats["abandoned"], stats["diverted"]) == \
            (count["CallQueued"], count["Connected"], count["Abandoned"], count["CallDiverted"])
        assert not centre.model.calls and srv.model.validate() == []
    finally:
        srv.close()
