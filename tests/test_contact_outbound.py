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


@pytest.mark.system
def test_progressive_campaign(tmp_path):
    csv = tmp_path / "numbers.csv"
    csv.write_text("number,name\n5100,Ann\n5101,Bob\n5102,Cy\n5200,Busy\n5300,Nobody\n5400,Ringing\n")
    srv, centre = make_server(tmp_path, {
        "agents": AGENTS, "queues": {"out": {}},
        "campaigns": {"spring": {"csv": str(csv), "queue": "out", "max_attempts": 1, "no_answer_timeout": 15.0}}},
        spans=1)
    from simulator.exchange.base import Behaviour, Subscriber
    ex = srv.part("network").networks[0]
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
        # what decided each outcome: the REL causes at once, speech after the answer, the timer
        how = {r.number: (r.source, r.heard) for r in centre.dialler.results}
        assert how["5200"] == ("signalling", []) and how["5300"] == ("signalling", [])
        assert how["5400"] == ("timer", ["ringback"])
        assert all(how[n] == ("tone", ["voice"]) for n in ("5100", "5101", "5102"))
        summary = [e for e in seen if e["type"] == "CampaignProgress"][-1]["summary"]
        assert (summary["by_signalling"], summary["by_tone"], summary["by_timer"]) == (2, 3, 1)
    finally:
        srv.close()


def test_answer_wait_zero_trusts_the_signalling_answer(tmp_path):
    """``answer_wait = 0``: the trunk's answer alone connects the callee at once (a silent
    answering party still reaches an agent)."""
    csv = tmp_path / "numbers.csv"
    csv.write_text("number\n5100\n")
    srv, centre = make_server(tmp_path, {
        "agents": AGENTS, "queues": {"out": {}},
        "campaigns": {"now": {"csv": str(csv), "queue": "out", "max_attempts": 1, "answer_wait": 0.0}}}, spans=1)
    from simulator.exchange.base import Behaviour, Subscriber
    srv.part("network").networks[0].subscribers["5100"] = Subscriber("5100", Behaviour.ANSWER, answer_after=1.0, hold_for=None,
                                                     speech=False)
    bus, desks = start_desktops(srv, DEVICES, DesktopProfile(answer_after=(0.5, 1.0), handle=(2.0, 3.0)))
    seen: list[dict] = []
    bus.listeners.append(seen.append)
    try:
        bus.command("StartCampaign", campaign="now")
        run_until(srv, srv.now() + 20.0)
        (r,) = centre.dialler.results
        assert (r.outcome.value, r.source) == ("answered", "signalling")
        assert any(e["type"] == "Connected" and e["call"] == r.call for e in seen)
    finally:
        srv.close()


def test_campaign_settings_are_checked(tmp_path):
    from cti.contact.outbound import Dialler
    from cti.outbound import CampaignError
    ok = {"csv": "n.csv", "queue": "out"}
    Dialler({"c": {**ok, "answer_wait": 0.0, "tones": "", "supervised": False, "trunk": "ss7",
                   "dial_plan": {"country_code": "44", "mobile_prefixes": ["7"]}}}, {"out"})
    for bad in ({"answer_wait": -1.0}, {"tones": "mars"}, {"voice_seconds": "x"}, {"colour": 1}, {"queue": "in"},
                {"supervised": "yes"}, {"trunk": 7}, {"dial_plan": {"country_code": "x"}}, {"dial_plan": 5}):
        with pytest.raises(CampaignError):
            Dialler({"c": {**ok, **bad}}, {"out"})


def test_dialler_listens_to_the_new_circuit_after_a_repeat_attempt(tmp_path):
    """Reattempted (glare, Q.764 2.10.1.4 / Q.12) moves an attempt's call to another circuit:
    the tone detector follows it and lets go of the circuit given up."""
    from cti.contact.outbound import Dialler
    csv = tmp_path / "numbers.csv"
    csv.write_text("number,name\n13900001111,Ann\n")
    dialler = Dialler({"c": {"csv": str(csv), "queue": "out", "max_attempts": 1}}, {"out"})
    dialler.start("c")
    listening: dict[tuple[int, int], object] = {}

    def listen(circuit, fn):
        listening[circuit] = fn
        return lambda: listening.pop(circuit)
    dialler.tick(0.0, lambda q: 1, lambda dev, num, trunk: {"call": "c1", "span": 1, "ts": 3}, listen)
    assert list(listening) == [(1, 3)] and dialler.attempts["c1"].circuit == (1, 3)
    dialler.moved("c1", (1, 4), listen)
    assert list(listening) == [(1, 4)] and dialler.attempts["c1"].circuit == (1, 4)
    dialler.moved("c1", (1, 4), listen)            # the same circuit again: nothing changes
    dialler.moved("nope", (1, 5), listen)          # not an attempt: ignored
    assert list(listening) == [(1, 4)]
    dialler.ended("c1", 16, 1.0)
    assert listening == {}


@pytest.mark.system
def test_start_campaign_refusals_dial_nothing(tmp_path):
    """Through the server: an unreadable do-not-call file, a queue without agents and a caller-ID
    the account may not present refuse StartCampaign with a clear error, and nothing is dialled;
    a do-not-call number is reported dnc-blocked and never dialled."""
    csv = tmp_path / "numbers.csv"
    csv.write_text("number\n5100\n5101\n")
    dnc = tmp_path / "dnc.txt"
    dnc.write_text("5101\n")
    srv, centre = make_server(tmp_path, {
        "agents": AGENTS, "queues": {"out": {}, "empty": {"skills": {"french": 50}}},
        "campaigns": {"lost": {"csv": str(csv), "queue": "out", "dnc": str(tmp_path / "missing.txt")},
                      "idle": {"csv": str(csv), "queue": "empty"},
                      "cid": {"csv": str(csv), "queue": "out", "caller_id": "4008001234"},
                      "ok": {"csv": str(csv), "queue": "out", "dnc": str(dnc), "max_attempts": 1,
                             "answer_wait": 0.0}}}, spans=1)
    from simulator.exchange.base import Behaviour, Subscriber
    ex = srv.part("network").networks[0]
    for n in ("5100", "5101"):
        ex.subscribers[n] = Subscriber(n, Behaviour.ANSWER, answer_after=1.0, hold_for=None)
    bus, desks = start_desktops(srv, DEVICES, DesktopProfile(answer_after=(0.5, 1.0), handle=(2.0, 3.0)))
    seen: list[dict] = []
    bus.listeners.append(seen.append)
    try:
        with pytest.raises(InvalidParameterError, match=r"missing\.txt"):
            bus.command("StartCampaign", campaign="lost")
        with pytest.raises(InvalidParameterError, match="no agents"):
            bus.command("StartCampaign", campaign="idle")
        with pytest.raises(PrivilegeViolationError, match="calling number"):
            bus.command("StartCampaign", Account("sup", "supervisor", team="blue"), campaign="cid")
        run_until(srv, srv.now() + 5.0)
        assert not srv.model.calls and not centre.dialler.running
        bus.command("StartCampaign", campaign="ok")
        run_until(srv, srv.now() + 20.0)
        outcomes = {e["number"]: e["outcome"] for e in seen if e["type"] == "CampaignProgress"}
        assert outcomes == {"5100": "answered", "5101": "dnc-blocked"}
        assert [r.call for r in centre.dialler.results if r.number == "5101"] == [None]
        marks = [e["user_data"] for e in seen if e["type"] == "UserDataChanged"]
        assert {"campaign": "ok", "campaign_outcome": "answered"}.items() <= marks[0].items()   # and so the CDR
    finally:
        srv.close()
