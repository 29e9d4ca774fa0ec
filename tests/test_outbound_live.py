"""A progressive campaign of 11-digit numbers on the real server and the simulator, in virtual
time, over a No.1 span and an SS7 span at once: the simulated exchanges play ringback, busy
and congestion tones and the answering party's speech in band; PBX lines answer the trunk and
say the rest in band. Every number must end with the right outcome, decided by the right
evidence (signalling, tone, timer), answered ones must reach an agent, pacing must follow the
ready agents."""
from __future__ import annotations

import pytest



from simulator.agents import DesktopProfile, start_desktops
from simulator.exchange.base import Behaviour as B, Subscriber
from tests.test_contact_load import ANY, restore_bus_requests  # noqa: F401 (fixture)

pytestmark = pytest.mark.system

#: number -> (subscriber settings, expected outcome, what decides it, what must have been heard)
SCRIPT: dict[str, tuple[dict, str, str, str | None]] = {
    "13900000001": (dict(behaviour=B.ANSWER, answer_after=7.0), "answered", "tone", "ringback"),
    "13900000002": (dict(behaviour=B.BUSY), "busy", "signalling", None),
    "13900000003": (dict(behaviour=B.BUSY_TONE), "busy", "tone", "busy"),
    "13900000004": (dict(behaviour=B.CONGESTION), "congestion", "signalling", None),
    "13900000005": (dict(behaviour=B.CONGESTION_TONE), "congestion", "tone", "congestion"),
    "13900000006": (dict(behaviour=B.NO_ANSWER), "no-answer", "timer", "ringback"),
    "13900000007": (dict(behaviour=B.BUSY_TONE, pbx=True), "busy", "tone", "busy"),
    "13900000008": (dict(behaviour=B.ANSWER, pbx=True, answer_after=7.0), "answered", "tone", "ringback"),
    "13900000009": (dict(behaviour=B.NO_ANSWER, pbx=True), "no-answer", "timer", "ringback"),
    "13900000010": (dict(behaviour=B.UNALLOCATED), "unallocated", "signalling", None),
    "13900000011": (dict(behaviour=B.ANSWER, answer_after=1.0), "answered", "tone", "voice"),
}
AGENTS = {f"o{i}": {"device": f"30{i:02d}", "wrap_up": 1.0} for i in range(3)}


def make_server(tmp_path, campaigns: dict) -> tuple:
    from cti.config import Config
    from cti.contact import ContactConfig, install
    from cti.cli.wiring import build_server
    cfg = Config.from_dict({
        "server": {"store": str(tmp_path / "cti.db")},
        "bus": {"events": ANY, "snapshot": ANY, "control": ANY},
        "board": {"driver": "sim", "spans": 2, "clock": "virtual", "step": 0.1},
        "trunk": [{"signalling": "no1", "spans": [0]}, {"signalling": "ss7", "spans": [1]}]})
    srv = build_server(cfg).start()
    centre = install(srv, ContactConfig.from_dict({"recordings": str(tmp_path / "rec"), "agents": AGENTS,
                                                   "queues": {"out": {"strategy": "longest-idle"}},
                                                   "campaigns": campaigns}))
    for ex in srv.part("network").networks:
        for number, (settings, *_rest) in SCRIPT.items():
            ex.subscribers[number] = Subscriber(number, hold_for=None, **settings)
    return srv, centre


def ready_agents(centre) -> int:
    from cti.acd.agents import AgentState
    return sum(1 for m in centre.engine.agents.values() if m.agent.state is AgentState.READY)


def test_campaign_over_no1_and_ss7_outcomes_from_signalling_and_tones(tmp_path):
    csv = tmp_path / "numbers.csv"
    # as people write them: national with spaces, or international (+86: the dial plan drops it)
    csv.write_text("number,name\n" + "".join(
        (f"{n[:3]} {n[3:7]} {n[7:]}" if i % 2 else f"+86 {n[:3]}-{n[3:7]}-{n[7:]}") + f",c{i}\n"
        for i, n in enumerate(SCRIPT)))
    knobs = {"csv": str(csv), "queue": "out", "max_attempts": 1, "no_answer_timeout": 20.0, "answer_wait": 6.0}
    srv, centre = make_server(tmp_path, {"via_no1": {**knobs, "trunk": "no1"},
                                         "via_ss7": {**knobs, "trunk": "ss7", "device": "dialler2"}})
    ss7 = srv.part("network").networks[1]
    try:
        t_end = srv.now() + 10.0
        while not ss7.up and srv.now() < t_end:          # the SS7 link aligns first
            srv.step(0)
        assert ss7.up
        profile = DesktopProfile(answer_after=(0.5, 1.0), handle=(4.0, 6.0))
        bus, desks = start_desktops(srv, {"o0": AGENTS["o0"]["device"]}, profile, seed=2)
        seen: list[dict] = []
        bus.listeners.append(seen.append)
        for name in ("via_no1", "via_ss7"):
            assert bus.command("StartCampaign", campaign=name)["contacts"] == len(SCRIPT)
        running = [centre.dialler.running[n][0] for n in ("via_no1", "via_ss7")]

        def in_flight() -> int:
            return sum(len(c.dialling) + len(c.waiting_agent) for c in running)

        def step() -> int:
            """One server turn; checks that new calls never exceed the ready agents (the two
            campaigns share the queue's agents)."""
            before, ready_before = in_flight(), ready_agents(centre)
            srv.step(0)
            after = in_flight()
            if after > before:
                assert after <= max(ready_before, ready_agents(centre)), (before, after, ready_before)
            return after

        # one agent: never more than one call in flight (ratio 1, both campaigns together)
        peak, end = 0, srv.now() + 25.0
        while srv.now() < end:
            peak = max(peak, step())
        assert peak == 1
        # two more agents come: pacing opens up, bounded by the ready agents
        bus2, desks2 = start_desktops(srv, {a: AGENTS[a]["device"] for a in ("o1", "o2")}, profile, seed=3)
        peak_after, end = 0, srv.now() + 300.0
        while srv.now() < end and not all(c.finished for c in running):
            peak_after = max(peak_after, step())
        assert 2 <= peak_after <= 3
        for _ in range(100):                                   # agents finish their calls
            srv.step(0)

        assert all(c.finished for c in running)
        by_campaign: dict[str, dict[str, object]] = {"via_no1": {}, "via_ss7": {}}
        for r in centre.dialler.results:
            by_campaign[r.campaign][r.number.removeprefix("+86")] = r
        for name, results in by_campaign.items():
            assert sorted(results) == sorted(SCRIPT), name
            for number, (_, outcome, source, heard) in SCRIPT.items():
                r = results[number]
                assert (r.outcome.value, r.source) == (outcome, source), (name, number, r)
                if heard is not None:
                    assert heard in r.heard, (name, number, r.heard)
                if source == "signalling":
                    assert "busy" not in r.heard and "congestion" not in r.heard
        # the exchanges saw the whole 11-digit numbers (No.1: the numbering plan's 11 digits)
        for ex in srv.part("network").networks:
            called = {rec.called for rec in ex.records if rec.direction == "from_us"}
            assert called == set(SCRIPT)
            for rec in ex.records:
                if rec.direction == "from_us" and rec.called in ("13900000003", "13900000005"):
                    assert rec.cleared_by == "near"             # we cleared on the tone
        # answered ones reached an agent (Connected on the campaign's queue), nobody twice at once
        answered_calls = {r.call for r in centre.dialler.results if r.outcome.value == "answered"}
        connected = [e for e in seen if e["type"] == "Connected" and e.get("queue") == "out"]
        assert {e["call"] for e in connected} == answered_calls and len(answered_calls) == 6
        # the bus carried every outcome with the campaign's summary
        progress = [e for e in seen if e["type"] == "CampaignProgress"]
        assert len(progress) == 2 * len(SCRIPT)
        for e in progress:                 # the event says what decided and what was heard
            r = by_campaign[e["campaign"]][e["number"].removeprefix("+86")]
            assert (e["outcome"], e["source"], e["heard"]) == (r.outcome.value, r.source, r.heard)
        last = {e["campaign"]: e["summary"] for e in progress}
        for name in by_campaign:
            s = last[name]
            assert (s["answered"], s["busy"], s["congestion"], s["no-answer"], s["unallocated"], s["pending"]) == \
                (3, 3, 2, 2, 1, 0)
            assert (s["by_tone"], s["by_signalling"], s["by_timer"]) == (6, 3, 2)
        assert srv.model.validate() == [] and not srv.model.calls
    finally:
        srv.close()
