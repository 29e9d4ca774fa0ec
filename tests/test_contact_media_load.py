"""Load with station audio: callers over two No.1 spans reach 20 agents whose devices are
station timeslots of a third span with simulated phones, in virtual time. Checks: every call is
answered, abandoned or overflowed; a call that did not reach us was abandoned by its caller's
scripted patience during the MFC register exchange (nothing else); every answered call was
bridged to its agent's station and to no other; no station is ever in two bridges; while
bridged, the caller's line carries the agent's own tone (checked by frequency at the exchange
side); nothing is left bridged at the end."""
from __future__ import annotations

import pytest

import random
from collections import Counter, defaultdict

from drivers.base import VOICE_TIMESLOTS
from simulator.agents import DesktopProfile, start_desktops
from simulator.exchange.base import CallScript
from simulator.phones import Phone, attach_phones, dominant_hz
from tests.test_contact_load import restore_bus_requests  # noqa: F401 (fixture)
from tests.test_contact_stations import make_centre, run_for

pytestmark = pytest.mark.load

N_AGENTS, N_CALLS = 20, 80


def test_load_with_stations_loses_nothing_and_never_double_bridges(tmp_path):
    agents = {f"a{i}": {"device": f"20{i:02d}", "team": "blue", "wrap_up": 2.0} for i in range(N_AGENTS)}
    stations = {f"20{i:02d}": f"2/{VOICE_TIMESLOTS[i]}" for i in range(N_AGENTS)}
    srv, centre = make_centre(tmp_path, {
        "agents": agents, "stations": stations, "route_points": {"4000": "sales"},
        "queues": {"sales": {"strategy": "round-robin", "ring_timeout": 8.0, "max_wait": 40.0,
                             "overflow": "voicemail", "record": False}}}, trunk_spans=2)
    hz = {f"20{i:02d}": 400.0 + 100.0 * i for i in range(N_AGENTS)}
    attach_phones(srv.board, 2, {VOICE_TIMESLOTS[i]: Phone(f"20{i:02d}", hz[f"20{i:02d}"]) for i in range(N_AGENTS)})
    bus, desks = start_desktops(srv, {a: v["device"] for a, v in agents.items()},
                                DesktopProfile(answer_after=(0.5, 2.0), handle=(4.0, 20.0), no_answer=0.05), seed=11)
    events: list[dict] = []
    bus.listeners.append(events.append)
    rng = random.Random(5)
    t = srv.now() + 1.0
    for n in range(N_CALLS):
        t += rng.expovariate(1 / 1.5)
        patient = rng.random() < 0.85
        exchange = srv.part("network").networks[0]
        exchange.place_call(CallScript(at=t, called="4000", calling=f"1390000{n:04d}", hold_for=None,
                                       abandon_after=None if patient else rng.uniform(3.0, 30.0)))

    bridged_to: dict[str, set[tuple[int, int]]] = defaultdict(set)   # call -> stations it was ever bridged to
    checked = Counter()
    since: dict[int, int] = {}

    def check(now: float) -> None:
        owners: dict[tuple[int, int], str] = {}
        for call_id, br in centre.audio.bridges.bridges.items():
            for c in (br.a, br.b):
                assert c not in owners, f"{c} in calls {owners.get(c)} and {call_id}"
                owners[c] = call_id
            agent = centre.engine.connected[call_id][0]
            assert stations[agents[agent]["device"]] == f"{br.b[0]}/{br.b[1]}"
            bridged_to[call_id].add(br.b)
        if int(now / 0.02) % 100:           # the audio check every 2 s of line time
            return
        for span in (0, 1):
            since[span], blocks = srv.board.far_end(span).received_blocks(since.get(span, 0))
            if not blocks:
                continue
            last = blocks[-1][1]
            for call_id, br in centre.audio.bridges.bridges.items():
                if br.a[0] != span or br.blocks < 25:
                    continue
                from _boardcore import g711
                heard = dominant_hz(g711.alaw_decode(last[br.a[1]].tobytes()))
                device = centre.audio._device_of[br.b]
                assert abs(heard - hz[device]) <= 50.0, (call_id, device, heard)
                checked["audio"] += 1
    srv.board.add_ticker(check)
    try:
        run_for(srv, t - srv.now() + 120.0)
        offered = {e["call"]: e["calling"] for e in events if e["type"] == "Offered" and e.get("called") == "4000"}
        ends = defaultdict(list)
        for e in events:
            if e["type"] in ("Connected", "Abandoned") or (e["type"] == "CallDiverted" and e["data"]["to"] == "voicemail"):
                ends[e["call"]].append(e["type"])
        assert set(ends) == set(offered) and all(len(v) == 1 for v in ends.values())
        # the exchange's side, call by call: every call placed ended in a defined outcome
        exchange = srv.part("network").networks[0]
        records = {r.calling: r for r in exchange.records}
        assert len(records) == len(exchange.records) == N_CALLS
        why = {calling: exchange.explain(r) for calling, r in records.items()}
        assert [w for w in why.values() if w not in ("answered", "abandoned")] == []
        # a call that never reached us: its caller's own patience ran out during the MFC
        # exchange (about 4.3 s for KA + 11-digit ANI + 4 digits + KD), nothing else
        not_offered = set(records) - set(offered.values())
        assert all(why[c] == "abandoned" and records[c].alerted_at is None for c in not_offered)
        assert all(records[c].extra["script"].abandon_after < 4.5 for c in not_offered)
        for call, kinds in ends.items():       # the bus's outcome agrees with the exchange's
            assert why[offered[call]] == ("abandoned" if kinds == ["Abandoned"] else "answered"), (call, kinds)
        assert len(offered) + len(not_offered) == N_CALLS and len(not_offered) == 2   # with these seeds
        assert exchange.stale_timers > 0       # circuits were reused under earlier calls' timers
        connected = {c for c, v in ends.items() if v == ["Connected"]}
        assert len(connected) > N_CALLS // 2
        assert set(bridged_to) == connected, "every answered call bridged, no other"
        assert all(len(s) == 1 for s in bridged_to.values()), "a call moved between stations"
        assert centre.audio.counters == {"bridged": len(connected), "not_bridged": 0}
        assert checked["audio"] > 20
        assert srv.board.span(2).counters.audio_overruns == 0      # station span read every block
        assert not centre.audio.bridges.bridges and not srv.model.calls
        assert srv.model.validate() == []
    finally:
        srv.close()
