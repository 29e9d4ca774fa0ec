"""Call events at the right device (ECMA-269) for ACD calls, through the real CtiServer and
contact centre on the simulator (No.1, virtual time): the route point is offered the call and
queues it, the ACD diverts it to the agent's device, Delivered and Established are reported
there once each; snapshot, CDR and the CRM example's screen-pop agree with the events."""
from __future__ import annotations

import importlib.util
import pathlib

import pytest

from cti.cli.wiring import build_server
from cti.config import Config
from cti.contact import ContactConfig, install
from simulator.agents import DesktopProfile, start_desktops
from tests.test_contact_features import ivr_file, place  # noqa: F401 (fixture)
from tests.test_contact_load import restore_bus_requests, run_until  # noqa: F401 (fixture)

ROOT = pathlib.Path(__file__).resolve().parents[1]
ANY = "tcp://127.0.0.1:*"


def make_server(tmp_path, contact: dict, spans: int = 1):
    """A CtiServer on the simulator, No.1 asking for the calling number (the CRM pops on it)."""
    cfg = Config.from_dict({
        "server": {"store": str(tmp_path / "cti.db")},
        "bus": {"events": ANY, "snapshot": ANY, "control": ANY},
        "board": {"driver": "sim", "spans": spans, "clock": "virtual", "step": 0.1},
        "trunk": [{"signalling": "no1", "spans": list(range(spans)), "config": {"ani": True}}]})
    srv = build_server(cfg).start()
    return srv, install(srv, ContactConfig.from_dict({"recordings": str(tmp_path / "rec"), **contact}))
AGENTS = {"a0": {"device": "2000", "team": "blue", "wrap_up": 2.0},
          "a1": {"device": "2001", "team": "blue", "wrap_up": 2.0}}
DEVICES = {a: v["device"] for a, v in AGENTS.items()}


def crm_client():
    spec = importlib.util.spec_from_file_location("crm_client", ROOT / "docs/examples/crm_client.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def call_events(seen: list[dict], call: str) -> list[tuple[str, str, str]]:
    return [(e["type"], e["device"], e["state"]) for e in seen
            if e.get("topic", "").startswith("call.") and e.get("call") == call]


def test_queued_call_is_delivered_and_established_at_the_agents_device(tmp_path):
    srv, centre = make_server(tmp_path, {"agents": {"a0": AGENTS["a0"]}, "route_points": {"4000": "sales"},
                                         "queues": {"sales": {}}}, spans=1)
    bus, desks = start_desktops(srv, {"a0": "2000"}, DesktopProfile(answer_after=(2.0, 2.0), handle=(6.0, 6.0)))
    seen: list[dict] = []
    snaps: list[dict] = []
    bus.listeners.append(seen.append)
    bus.listeners.append(lambda e: snaps.append(srv.model.snapshot()) if e["type"] == "Established" else None)
    try:
        place(srv, 0.5, calling="13800138000", hold_for=None)
        run_until(srv, srv.now() + 30.0)
        (cid,) = {e["call"] for e in seen if e["type"] == "Offered"}
        got = call_events(seen, cid)
        local = [t for t in got if not t[1].startswith("trunk/")]
        assert local[:5] == [("Offered", "4000", "null"), ("Queued", "4000", "queued"),
                             ("Diverted", "4000", "null"), ("Delivered", "2000", "alerting"),
                             ("Established", "2000", "connected")], got
        assert [t[:2] for t in got].count(("Delivered", "2000")) == 1
        assert sum(1 for t in got if t[0] == "Established") == 1
        assert not any(t[0] == "Delivered" and t[1] == "4000" for t in got)
        (div,) = [e for e in seen if e["type"] == "Diverted" and e.get("call") == cid]
        assert div["to"] == ["2000"] and div["reason"] == "acd"
        # the snapshot taken at Established agrees: the agent's device is connected, the route point gone
        conns = {c["device"]: c["state"] for c in next(c for c in snaps[0]["calls"] if c["call"] == cid)["connections"]}
        assert conns.pop("2000") == "connected" and list(conns.values()) == ["connected"]
        assert all(d.startswith("trunk/") for d in conns)
        cdr = next(c for c in srv.store.cdrs() if c["call"] == cid)
        assert cdr["device"] == "2000" and cdr["outcome"] == "answered"
        # the CRM example pops exactly once, at the agent's device, with the CRM record
        crm = crm_client()
        table = crm.load_crm(str(ROOT / "docs/examples/crm.csv"))
        pops = [crm.screen_pop(e, table) for e in seen if crm.pops(e)]
        assert len(pops) == 1 and "for 2000" in pops[0] and "Li Wei" in pops[0]
        assert srv.model.validate() == []
    finally:
        srv.close()


def test_ring_no_answer_clears_the_agents_device_and_queues_again(tmp_path):
    srv, centre = make_server(tmp_path, {"agents": AGENTS, "route_points": {"4000": "sales"},
                                         "queues": {"sales": {"ring_timeout": 4.0, "strategy": "linear"}}}, spans=1)
    bus, desks = start_desktops(srv, DEVICES, DesktopProfile(answer_after=(1.0, 1.0), handle=(4.0, 4.0)))
    desks[0].profile = DesktopProfile(no_answer=1.0, rona_back=60.0)    # a0 never answers
    seen: list[dict] = []
    bus.listeners.append(seen.append)
    try:
        place(srv, 0.5, hold_for=None)
        run_until(srv, srv.now() + 30.0)
        (cid,) = {e["call"] for e in seen if e["type"] == "Offered"}
        local = [t for t in call_events(seen, cid) if not t[1].startswith("trunk/")]
        first, second = ("2000", "2001") if local[3][1] == "2000" else ("2001", "2000")
        assert local[:9] == [
            ("Offered", "4000", "null"), ("Queued", "4000", "queued"), ("Diverted", "4000", "null"),
            ("Delivered", first, "alerting"), ("ConnectionCleared", first, "null"),
            ("Queued", "4000", "queued"), ("Diverted", "4000", "null"), ("Delivered", second, "alerting"),
            ("Established", second, "connected")], local
        rna = next(e for e in seen if e["type"] == "ConnectionCleared" and e["device"] == first)
        assert rna["cause"] == 19
        # the agent who did not answer no longer sees the call's later events
        later = [e for e in seen if e.get("call") == cid and e["type"] == "Established"]
        assert first not in later[0]["devices"] and second in later[0]["devices"]
        assert srv.model.validate() == []
    finally:
        srv.close()


@pytest.mark.system
def test_ivr_digits_reach_the_agent_as_user_data(tmp_path, ivr_file):  # noqa: F811 (fixture)
    srv, centre = make_server(tmp_path, {
        "agents": AGENTS, "ivr": ivr_file, "route_points": {"4100": "ivr"},
        "queues": {"sales": {}, "support": {}}}, spans=1)
    bus, desks = start_desktops(srv, DEVICES, DesktopProfile(answer_after=(1.0, 1.0), handle=(5.0, 6.0)))
    seen: list[dict] = []
    bus.listeners.append(seen.append)
    try:
        place(srv, 0.5, called="4100", digits="21234", hold_for=None)
        run_until(srv, srv.now() + 40.0)
        (cid,) = {e["call"] for e in seen if e["type"] == "Offered"}
        local = [t for t in call_events(seen, cid) if not t[1].startswith("trunk/")]
        # the IVR's number answers, the call queues there and is diverted to the agent
        assert local[:2] == [("Offered", "4100", "null"), ("Established", "4100", "connected")]
        (dlv,) = [e for e in seen if e["type"] == "Delivered" and e.get("call") == cid]
        assert dlv["device"] in DEVICES.values()
        assert dlv["user_data"] == {"ivr.main": "2", "ivr.account": "1234", "account": "1234"}
        assert [t[0] for t in local].count("Established") == 2          # the IVR, then the agent
        cdr = next(c for c in srv.store.cdrs() if c["call"] == cid)
        assert cdr["device"] == dlv["device"]
    finally:
        srv.close()


def test_a_supervisor_listening_in_cannot_control_the_agents_call(tmp_path):
    """The agent's device is a party of its ACD call; a supervisor who monitors the call joins its
    device list (to see it) but is no party: HoldCall, ClearConnection or TransferCall for the
    supervisor's device are refused and the agent's call is untouched."""
    from cti.bus.auth import Account
    from cti.call.errors import CallControlError
    srv, centre = make_server(tmp_path, {"agents": {"a0": AGENTS["a0"]}, "route_points": {"4000": "sales"},
                                         "queues": {"sales": {}}})
    bus, desks = start_desktops(srv, {"a0": "2000"}, DesktopProfile(answer_after=(1.0, 1.0), handle=(60.0, 60.0)))
    sup = Account("sup", "supervisor", device="3001", team="blue")
    try:
        place(srv, 0.5, hold_for=None)
        run_until(srv, srv.now() + 15.0)
        (cid,) = list(srv.model.calls)
        assert bus.command("Monitor", sup, agent="a0", device="3001", mode="monitor")["call"] == cid
        for name, fields in (("HoldCall", {"call": cid}), ("ClearConnection", {"call": cid}),
                             ("SendDigits", {"call": cid, "digits": "1"}),
                             ("SingleStepTransfer", {"call": cid, "to": "6601"})):
            with pytest.raises(CallControlError):
                bus.command(name, sup, device="3001", **fields)
        assert {c.device: c.state.value for c in srv.model.calls[cid].live()}["2000"] == "connected"
    finally:
        srv.close()
