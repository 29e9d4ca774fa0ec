"""CallBack through the outbound dialler: the calling rules (do-not-call list, calling hours,
attempt limits) of ``[media.voicemail.callback]`` apply, and the call is placed from the device
of the agent who asked, when that agent is Ready. Sans-IO campaign tests, then the whole server
on the simulator (No.1 trunk, virtual time): a voicemail left from the IVR is called back."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cti.bus.auth import Account
from cti.call.errors import InvalidStateError
from cti.outbound.callback import CallbackCampaign
from cti.outbound.campaign import CampaignError, Outcome
from tests.test_contact_load import restore_bus_requests  # noqa: F401 (fixture: the bus's request registry)

AGENTS = {"1024": {"device": "2000", "team": "blue", "wrap_up": 2.0}}
ALICE = Account("1024", "agent", device="2000", team="blue")
CALLER = "13800138000"


# ---- the campaign, sans-IO ----------------------------------------------------------------------
CST = ZoneInfo("Asia/Shanghai")      # the zone of a +86 number unless [zones] says otherwise


def _cst(h: int, m: int = 0) -> float:
    return dt.datetime(2026, 12, 7, h, m, tzinfo=CST).timestamp()


def test_a_call_back_goes_to_the_agent_who_asked_only_when_ready() -> None:
    c = CallbackCampaign.from_spec("callback", {})
    assert c.request(CALLER, "2000", {"message": "1"}, 100.0) == ("ok", 100.0)
    assert c.request("13900000001", "2001", {"message": "2"}, 100.0)[0] == "ok"
    ready = {"2001"}
    got = c.due(100.0, lambda d: d in ready)
    assert [(p.agent, p.number) for p in got] == [("2001", "13900000001")]   # the first one's agent is busy
    ready.add("2000")
    got = c.due(101.0, lambda d: d in ready)
    assert [(p.agent, p.number, p.data["message"]) for p in got] == [("2000", CALLER, "1")]
    assert c.due(102.0, lambda d: True) == []                     # each offered once
    d = c.preview_dial(got[0].attempt, 102.0)
    assert d.number == CALLER and c.dialled == 1
    assert c.progress(d.attempt, Outcome.ANSWERED, 110.0) == []   # with the agent already: no queue
    assert c.summary()["answered"] == 1


def test_do_not_call_hours_and_attempt_limits(tmp_path: Path) -> None:
    dnc = tmp_path / "dnc.txt"
    dnc.write_text("13900000009\n")
    c = CallbackCampaign.from_spec("callback", {"dnc": str(dnc), "hours": {"default": ["09:00", "21:00"]},
                                                "max_attempts": 2,
                                                "retry_after": 60})
    assert c.request("13900000009", "2000", {}, _cst(10)) == ("dnc", _cst(10))
    assert c.contacts == []                                       # refused: never dialled
    verdict, when = c.request(CALLER, "2000", {}, _cst(22))
    assert (verdict, when) == ("hours", _cst(9) + 86400)          # waits for tomorrow's window
    with pytest.raises(CampaignError, match="already waiting"):
        c.request(CALLER, "2000", {}, _cst(22))
    assert c.due(_cst(23), lambda d: True) == []
    (p,) = c.due(when, lambda d: True)
    d = c.preview_dial(p.attempt, when)
    c.progress(d.attempt, Outcome.BUSY, when + 5)                 # busy: tried again after retry_after
    assert c.due(when + 30, lambda d: True) == []
    (p,) = c.due(when + 70, lambda d: True)
    d = c.preview_dial(p.attempt, when + 70)
    c.progress(d.attempt, Outcome.BUSY, when + 75)                # max_attempts 2: done
    assert c.due(when + 1000, lambda d: True) == [] and c.contacts[0].done
    dnc.write_text("")
    with pytest.raises(CampaignError, match="not a number"):
        c.request("12ab", "2000", {}, _cst(10))
    with pytest.raises(CampaignError, match="unknown key"):
        CallbackCampaign.from_spec("callback", {"queue": "x"})


def test_bad_call_back_configs(tmp_path: Path) -> None:
    from cti.contact.resources import MediaConfig, MediaConfigError
    with pytest.raises(MediaConfigError, match="callback.*unknown key"):
        MediaConfig.from_dict({"voicemail": {"callback": {"queue": "sales"}}})
    with pytest.raises(MediaConfigError, match="must be a table"):
        MediaConfig.from_dict({"voicemail": {"callback": "yes"}})
    cfg = MediaConfig.from_dict({"voicemail": {"max_seconds": 60, "callback": {"dnc": "dnc.txt"}}}, base=tmp_path)
    assert cfg.callback == {"dnc": str(tmp_path / "dnc.txt")} and cfg.voicemail == {"max_seconds": 60}
    with pytest.raises(CampaignError, match="dnc.txt"):       # the list must be readable when the server starts
        CallbackCampaign.from_spec("callback", cfg.callback)


# ---- the whole server ---------------------------------------------------------------------------
def _rig(tmp_path: Path, **callback: Any) -> tuple[Any, Any, Any, Any, list[dict[str, Any]]]:
    from cti.contact.resources import MediaConfig, MediaResources
    from simulator.agents import LocalBus
    from simulator.exchange.base import Behaviour as B, Subscriber
    from tests.test_contact_load import make_server

    srv, centre = make_server(tmp_path, {"agents": AGENTS, "queues": {"sales": {}}}, spans=1)
    m = srv.add(MediaResources(MediaConfig.from_dict({
        "directory": str(tmp_path / "media"), "pools": {"fax": 1, "voice": 4},
        "voicemail": {"silence_seconds": 3.0, "min_seconds": 0.5, "callback": callback}}), centre))
    for ex in srv.part("network").networks:
        ex.subscribers[CALLER] = Subscriber(CALLER, hold_for=None, behaviour=B.ANSWER, answer_after=2.0)
    bus = LocalBus(srv)
    seen: list[dict[str, Any]] = []
    bus.listeners.append(seen.append)
    bus.command("AgentLogon", account=ALICE, agent="1024", device="2000")
    return srv, centre, m, bus, seen


def _run(srv: Any, seconds: float) -> None:
    end = srv.now() + seconds
    while srv.now() < end:
        srv.step(0)


def _leave_voicemail(srv: Any, m: Any) -> int:
    """A caller on the trunk goes to voicemail (LeaveVoicemail), speaks, and keys #."""
    from simulator.exchange.base import CallScript
    from simulator.phones import Phone, attach_phones
    from cti.voicemail.recorder import Phase
    from simulator.agents import LocalBus

    caller = Phone("caller", 500.0, speaking=False)
    attach_phones(srv.board, 0, {1: caller})
    srv.part("network").networks[0].place_call(CallScript(at=srv.now() + 0.5, called="4999", calling=CALLER,
                                                          hold_for=None))
    end = srv.now() + 10.0
    while not srv.model.calls:
        assert srv.now() < end, "no call arrived"
        srv.step(0)
    _run(srv, 1.0)
    (call,) = list(srv.model.calls)
    LocalBus(srv).command("LeaveVoicemail", call=call, box="sales")
    end = srv.now() + 20.0
    while not any(leg.rec.phase is Phase.RECORDING for leg in m.voicemail.legs.values()):
        assert srv.now() < end, "never got to the beep"
        srv.step(0)
    caller.speak(500.0)
    _run(srv, 2.0)
    caller.mute()
    caller.dial("#")
    _run(srv, 8.0)
    assert call not in srv.model.calls
    (msg,) = m.store.list(kind="voicemail")
    assert msg.caller == CALLER
    return int(msg.id)


@pytest.mark.system
def test_call_back_through_the_dialler_reaches_the_agent(tmp_path: Path) -> None:
    srv, centre, m, bus, seen = _rig(tmp_path)
    try:
        msg = _leave_voicemail(srv, m)
        got = bus.command("CallBack", account=ALICE, id=msg, device="2000")
        assert got["status"] == "waiting" and got["call"] is None     # the agent is NotReady
        assert [e["reason"] for e in seen if e["type"] == "CallBackWaiting"] == ["agent not ready"]
        _run(srv, 2.0)
        assert not [e for e in seen if e["type"] == "CallBackPlaced"]
        bus.command("SetAgentState", account=ALICE, agent="1024", state="Ready")
        _run(srv, 1.0)
        (placed,) = [e for e in seen if e["type"] == "CallBackPlaced"]
        call = placed["call"]
        assert placed["id"] == msg and placed["device"] == "2000" and placed["number"] == CALLER
        _run(srv, 6.0)
        progress = [(e["campaign"], e["number"], e["outcome"]) for e in seen if e["type"] == "CampaignProgress"]
        assert progress == [("callback", CALLER, "answered")]
        assert any(e["type"] == "Established" and e.get("call") == call for e in seen)
        assert call in centre.model.calls and "2000" in centre.model.calls[call].local_devices()
        assert centre.model.calls[call].user_data.get("campaign") == "callback"
        assert m.store.get(msg).status == "handled"
        assert centre.dialler.campaign("callback").dialled == 1
    finally:
        srv.close()


@pytest.mark.system
def test_call_back_refused_on_the_do_not_call_list_and_waits_for_calling_hours(tmp_path: Path) -> None:
    dnc = tmp_path / "dnc.txt"
    dnc.write_text("13900000009\n")
    srv, centre, m, bus, seen = _rig(tmp_path, dnc=str(dnc))
    try:
        bus.command("SetAgentState", account=ALICE, agent="1024", state="Ready")
        bad = m.store.add("voicemail", call="x1", caller="13900000009", box="sales")
        with pytest.raises(InvalidStateError, match="do-not-call"):
            bus.command("CallBack", account=ALICE, id=bad.id, device="2000")
        (refused,) = [e for e in seen if e["type"] == "CallBackRefused"]
        assert refused["id"] == bad.id and "do-not-call" in refused["reason"]
        assert m.store.get(bad.id).status == "new" and not centre.model.calls
        # calling hours closed now: the call-back waits for the window
        local = dt.datetime.fromtimestamp(srv.now(), CST)
        shut = f"{(local.hour + 2) % 24:02d}:00"
        srv.part("media").callbacks.campaign.rules.hours = _hours(shut, centre)
        msg = m.store.add("voicemail", call="x2", caller=CALLER, box="sales")
        got = bus.command("CallBack", account=ALICE, id=msg.id, device="2000")
        assert got["status"] == "waiting" and got["reason"] == "calling hours" and got["at"] > srv.now() + 3600
        _run(srv, 3.0)
        assert not centre.model.calls and not [e for e in seen if e["type"] == "CallBackPlaced"]
        assert m.store.get(msg.id).status == "new"
    finally:
        srv.close()


def _hours(opens: str, centre: Any) -> Any:
    from cti.outbound.numbers import DialPlan
    from cti.outbound.rules import CallingHours
    closes = f"{int(opens[:2]) + 1:02d}:00" if opens < "23:00" else "23:59"
    return CallingHours.from_config({"default": [opens, closes]}, {}, DialPlan())
