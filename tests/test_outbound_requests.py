"""Campaign requests on the real server and the simulator (virtual time): switch pacing mode
while running (rights, bad modes, predictive without an abandon message), and preview work
(the agent gets a record, skips one, dials the next from its own device; the callee is with the
agent at once, never queued). CampaignStatus events and the ``campaigns`` snapshot section
carry what a wallboard shows."""
from __future__ import annotations

import pytest

from cti.bus.auth import Account
from cti.call.errors import InvalidParameterError, InvalidStateError, PrivilegeViolationError
from simulator.agents import LocalBus
from simulator.exchange.base import Behaviour as B, Subscriber
from tests.test_contact_load import ANY, restore_bus_requests  # noqa: F401 (fixture)

pytestmark = pytest.mark.system

NUMBERS = {"13900000101": dict(behaviour=B.ANSWER, answer_after=2.0),
           "13900000102": dict(behaviour=B.ANSWER, answer_after=2.0),
           "13900000103": dict(behaviour=B.BUSY)}
AGENTS = {"p0": {"device": "3000", "team": "t1"}, "p1": {"device": "3001", "team": "t2"}}
ALICE = Account("p0", "agent", device="3000", team="t1")
BOB = Account("p1", "agent", device="3001", team="t2")
SUP = Account("boss", "supervisor", device="3009", team="t1")


def make(tmp_path, **spec):
    from cti.cli.wiring import build_server
    from cti.config import Config
    from cti.contact import ContactConfig, install
    csv = tmp_path / "numbers.csv"
    csv.write_text("number,name,balance\n" + "".join(f"{n},client {i},{100 * i}\n" for i, n in enumerate(NUMBERS)))
    cfg = Config.from_dict({
        "server": {"store": str(tmp_path / "cti.db")},
        "bus": {"events": ANY, "snapshot": ANY, "control": ANY},
        "board": {"driver": "sim", "spans": 1, "clock": "virtual", "step": 0.1},
        "trunk": [{"signalling": "no1", "spans": [0]}]})
    srv = build_server(cfg).start()
    centre = install(srv, ContactConfig.from_dict({
        "recordings": str(tmp_path / "rec"), "agents": AGENTS, "queues": {"out": {"strategy": "longest-idle"}},
        "campaigns": {"c1": {"csv": str(csv), "queue": "out", "max_attempts": 1, "answer_wait": 0.0, **spec}}}))
    for ex in srv.part("network").networks:
        for number, settings in NUMBERS.items():
            ex.subscribers[number] = Subscriber(number, hold_for=None, **settings)
    bus = LocalBus(srv)
    seen: list[dict] = []
    bus.listeners.append(seen.append)
    for a, acct in (("p0", ALICE), ("p1", BOB)):
        bus.command("AgentLogon", account=acct, agent=a, device=AGENTS[a]["device"])
    return srv, centre, bus, seen


def run(srv, seconds: float) -> None:
    end = srv.now() + seconds
    while srv.now() < end:
        srv.step(0)


def statuses(seen: list[dict]) -> list[dict]:
    return [e for e in seen if e["type"] == "CampaignStatus"]


def test_switch_mode_while_running(tmp_path):
    srv, centre, bus, seen = make(tmp_path, mode="progressive", abandon_message="sorry")
    try:
        bus.command("StartCampaign", campaign="c1")
        assert statuses(seen)[-1]["mode"] == "progressive"
        with pytest.raises(PrivilegeViolationError):
            bus.command("SetCampaignMode", account=ALICE, campaign="c1", mode="preview")
        with pytest.raises(InvalidParameterError):
            bus.command("SetCampaignMode", campaign="c1", mode="turbo")
        with pytest.raises(InvalidParameterError):
            bus.command("SetCampaignMode", campaign="nope", mode="preview")
        assert bus.command("SetCampaignMode", account=SUP, campaign="c1", mode="predictive") == \
            {"campaign": "c1", "mode": "predictive"}
        assert centre.dialler.campaign("c1").mode == "predictive"
        assert bus.command("SetCampaignMode", campaign="c1", mode="preview")["mode"] == "preview"
        st = statuses(seen)[-1]
        assert st["mode"] == "preview" and st["status"]["target"] == 0.03 and st["status"]["contacts"] == 3
        assert st["agent_states"] == {"NotReady": 2}
        # preview mode: Ready agents, and still nothing is dialled by the pacer
        for a, acct in (("p0", ALICE), ("p1", BOB)):
            bus.command("SetAgentState", account=acct, agent=a, state="Ready")
        run(srv, 5.0)
        assert centre.dialler.campaign("c1").dialled == 0 and not centre.dialler.attempts
        snap = srv.bus.replay.states["campaigns"](SUP, srv.bus.security.book)
        assert snap[0]["campaign"] == "c1" and snap[0]["mode"] == "preview" and snap[0]["agents"] == {"Ready": 2}
        # an agent sees only the name, mode and queue of its queues' campaigns
        assert srv.bus.replay.states["campaigns"](ALICE, srv.bus.security.book) == \
            [{"campaign": "c1", "mode": "preview", "queue": "out"}]
        # progressive again: the pacer dials for the two ready agents
        bus.command("SetCampaignMode", campaign="c1", mode="progressive")
        run(srv, 1.0)
        assert centre.dialler.campaign("c1").dialled == 2
    finally:
        srv.stop()


def test_predictive_needs_an_abandon_message(tmp_path):
    srv, centre, bus, seen = make(tmp_path, mode="preview")
    try:
        bus.command("StartCampaign", campaign="c1")
        with pytest.raises(InvalidParameterError, match="abandon_message"):
            bus.command("SetCampaignMode", campaign="c1", mode="predictive")
        assert centre.dialler.campaign("c1").mode == "preview"
    finally:
        srv.stop()


def test_preview_next_skip_dial(tmp_path):
    srv, centre, bus, seen = make(tmp_path, mode="preview")
    try:
        with pytest.raises(InvalidParameterError):                 # not running yet
            bus.command("PreviewNext", account=ALICE, campaign="c1", agent="p0")
        bus.command("StartCampaign", campaign="c1")
        with pytest.raises(PrivilegeViolationError):              # another agent's records
            bus.command("PreviewNext", account=ALICE, campaign="c1", agent="p1")
        first = bus.command("PreviewNext", account=ALICE, campaign="c1", agent="p0")
        assert first["number"] == "13900000101" and first["data"] == {"name": "client 0", "balance": "0"}
        # asking again shows the same open record, not a second one
        assert bus.command("PreviewNext", account=ALICE, campaign="c1", agent="p0")["attempt"] == first["attempt"]
        with pytest.raises(PrivilegeViolationError):              # bob may not skip alice's record
            bus.command("PreviewSkip", account=BOB, campaign="c1", attempt=first["attempt"])
        with pytest.raises(InvalidParameterError):
            bus.command("PreviewSkip", account=ALICE, campaign="c1", attempt=first["attempt"], later=-1.0)
        bus.command("PreviewSkip", account=ALICE, campaign="c1", attempt=first["attempt"])
        with pytest.raises(InvalidParameterError):                # gone once skipped
            bus.command("PreviewDial", account=ALICE, campaign="c1", attempt=first["attempt"])
        second = bus.command("PreviewNext", account=ALICE, campaign="c1", agent="p0")
        assert second["number"] == "13900000102"
        assert centre.dialler.campaign("c1").dialled == 0          # shown, not dialled
        got = bus.command("PreviewDial", account=ALICE, campaign="c1", attempt=second["attempt"])
        call = got["call"]
        run(srv, 8.0)
        progress = [e for e in seen if e["type"] == "CampaignProgress"]
        assert [(e["number"], e["outcome"]) for e in progress] == [("13900000102", "answered")]
        # the agent's own device placed the call and the callee answered it: no queue involved
        est = [e for e in seen if e["type"] == "Established" and e.get("call") == call]
        assert est, "the callee's answer reached the bus"
        assert "3000" in centre.model.calls[call].local_devices()
        assert not [e for e in seen if e["type"] in ("Queued", "CallQueued") and e.get("call") == call]
        assert call in centre.model.calls                          # not cleared by the dialler
        st = statuses(seen)[-1]["status"]
        assert (st["dialled"], st["connects"], st["skipped"], st["abandoned"]) == (1, 1, 1, 0)
        # the campaign's CDR mark is on the call
        assert centre.model.calls[call].user_data.get("campaign_outcome") == "answered"
    finally:
        srv.stop()


def test_preview_refused_outside_preview_mode(tmp_path):
    srv, centre, bus, seen = make(tmp_path, mode="progressive")
    try:
        bus.command("StartCampaign", campaign="c1")
        with pytest.raises(InvalidStateError, match="preview"):
            bus.command("PreviewNext", account=ALICE, campaign="c1", agent="p0")
    finally:
        srv.stop()
