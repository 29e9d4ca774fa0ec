"""Contact-centre features through the real CtiServer on the simulator (No.1, virtual time):
IVR walk with DTMF typed by the caller, recording, supervision rights, statistics requests,
strategies, and requests refused with typed errors."""
from __future__ import annotations

import numpy as np
import pytest

from cti.bus.auth import Account
from cti.call.errors import InvalidParameterError, InvalidStateError, PrivilegeViolationError
from cti.media import wavfile
from simulator.agents import DesktopProfile, LocalBus, start_desktops
from tests.test_contact_load import make_server, run_until, restore_bus_requests  # noqa: F401 (fixture)

AGENTS = {"a0": {"device": "2000", "team": "blue", "wrap_up": 2.0},
          "a1": {"device": "2001", "team": "blue", "wrap_up": 2.0},
          "a2": {"device": "2002", "team": "red", "wrap_up": 2.0}}
DEVICES = {a: v["device"] for a, v in AGENTS.items()}


def place(srv, at, called="4000", calling="13800138000", **kw):
    from simulator.exchange.base import CallScript
    srv.part("network").networks[0].place_call(CallScript(at=srv.now() + at, called=called, calling=calling, **kw))


def _tone_wav(path, seconds=0.3, hz=440.0):
    t = np.arange(int(8000 * seconds)) / 8000.0
    wavfile.write(path, (8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16), fmt=wavfile.FORMAT_PCM)


@pytest.fixture
def ivr_file(tmp_path):
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    for name in ("welcome.wav", "account.wav", "invalid.wav"):
        _tone_wav(prompts / name)
    f = tmp_path / "ivr.toml"
    f.write_text("""
[ivr]
start = "main"
prompt_dir = "prompts"
[ivr.menus.main]
prompt = "welcome.wav"
max_digits = 1
retries = 1
invalid_prompt = "invalid.wav"
on_fail = { queue = "sales" }
options."1" = { queue = "sales" }
options."2" = { menu = "account" }
[ivr.menus.account]
prompt = "account.wav"
max_digits = 4
var = "account"
then = { queue = "support", priority = 5 }
""")
    return str(f)


@pytest.mark.system
def test_ivr_menu_walk_with_dtmf_typed_by_the_caller(tmp_path, ivr_file):
    srv, centre = make_server(tmp_path, {
        "agents": AGENTS, "ivr": ivr_file, "route_points": {"4100": "ivr"},
        "queues": {"sales": {}, "support": {"record": True}}}, spans=1)
    bus, desks = start_desktops(srv, DEVICES, DesktopProfile(handle=(5.0, 6.0)))
    seen: list[dict] = []
    bus.listeners.append(seen.append)
    try:
        place(srv, 0.5, called="4100", digits="21234", hold_for=None)
        run_until(srv, srv.now() + 40.0)
        got = [(e["menu"], e["digits"], e["reason"]) for e in seen if e["type"] == "DigitsCollected"]
        assert got == [("main", "2", "max"), ("account", "1234", "max")]
        (q,) = [e for e in seen if e["type"] == "CallQueued"]
        assert q["queue"] == "support" and q["data"]["priority"] == 5
        (conn,) = [e for e in seen if e["type"] == "Connected"]
        assert conn["data"]["agent"] in AGENTS
        (start,) = [e for e in seen if e["type"] == "RecordingStarted"]
        (stop,) = [e for e in seen if e["type"] == "RecordingStopped"]
        assert start["path"] == stop["path"] and stop["seconds"] > 4.0
        info, pcm = wavfile.read_info_and_pcm(start["path"])
        assert info.channels == 2 and info.rate == 8000 and len(pcm) >= 4 * 8000
        assert any(e["type"] == "CallCleared" and e["call"] == q["call"] for e in seen)
        assert not srv.model.calls
    finally:
        srv.close()


@pytest.mark.system
def test_no_digit_replays_then_default_route(tmp_path, ivr_file):
    srv, centre = make_server(tmp_path, {"agents": AGENTS, "ivr": ivr_file, "route_points": {"4100": "ivr"},
                                         "queues": {"sales": {}, "support": {}}}, spans=1)
    bus = LocalBus(srv)
    seen: list[dict] = []
    bus.listeners.append(seen.append)
    try:
        place(srv, 0.5, called="4100", hold_for=None, abandon_after=None)
        run_until(srv, srv.now() + 20.0)
        got = [(e["menu"], e["reason"]) for e in seen if e["type"] == "DigitsCollected"]
        assert got == [("main", "timeout"), ("main", "timeout")]
        assert [e["queue"] for e in seen if e["type"] == "CallQueued"] == ["sales"]
    finally:
        srv.close()


def test_supervisor_monitors_own_team_agent_and_others_are_refused(tmp_path):
    srv, centre = make_server(tmp_path, {"agents": AGENTS, "route_points": {"4000": "sales"},
                                         "queues": {"sales": {"strategy": "linear", "members": ["a0", "a1", "a2"]}}},
                              spans=1)
    bus, desks = start_desktops(srv, DEVICES, DesktopProfile(answer_after=(0.5, 0.6), handle=(60.0, 61.0)))
    try:
        place(srv, 0.5, hold_for=None)
        run_until(srv, srv.now() + 8.0)
        assert centre.engine.agent("a0").state.value == "Busy"     # linear: the first member
        boss = Account("boss", "supervisor", device="3000", team="blue")
        res = bus.command("Monitor", boss, agent="a0", device="3000", mode="whisper")
        assert res["mode"] == "whisper" and res["call"] == centre.engine.agent("a0").call_id
        with pytest.raises(PrivilegeViolationError):
            bus.command("Monitor", Account("a1", "agent", device="2001", team="blue"), agent="a0", device="2001")
        with pytest.raises(PrivilegeViolationError):
            bus.command("Monitor", Account("red", "supervisor", device="3001", team="red"), agent="a0", device="3001")
        with pytest.raises(InvalidParameterError):
            bus.command("Monitor", boss, agent="a0", device="3000", mode="shout")
        with pytest.raises(InvalidStateError):
            bus.command("Monitor", boss, agent="a1", device="3000")   # a1 is not on a call
        # agents set only their own state; statistics are for supervisors
        with pytest.raises(PrivilegeViolationError):
            bus.command("SetAgentState", Account("a2", "agent", device="2002"), agent="a1", state="NotReady")
        bus.command("SetAgentState", Account("a1", "agent", device="2001"), agent="a1", state="NotReady", reason="lunch")
        assert centre.engine.agent("a1").reason == "lunch"
        with pytest.raises(PrivilegeViolationError):
            bus.command("GetStatistics", Account("a2", "agent", device="2002"))
        stats = bus.command("GetStatistics", boss)
        assert stats["queues"]["sales"]["answered"] == 1
        with pytest.raises(InvalidStateError):
            bus.command("SetAgentState", agent="a0", state="Dancing")
        # recording on demand: the path comes back and in the event
        call = centre.engine.agent("a0").call_id
        path = bus.command("StartRecording", call=call)["path"]
        run_until(srv, srv.now() + 1.0)
        out = bus.command("StopRecording", call=call)
        assert out["path"] == path and out["seconds"] >= 0.9
        with pytest.raises(InvalidStateError):
            bus.command("StopRecording", call=call)
    finally:
        srv.close()


@pytest.mark.system
def test_strategies_pick_who_they_promise(tmp_path):
    srv, centre = make_server(tmp_path, {"agents": AGENTS, "route_points": {"4000": "lin", "4001": "few"},
                                         "queues": {"lin": {"strategy": "linear", "members": ["a2", "a1", "a0"]},
                                                    "few": {"strategy": "fewest-calls"}}}, spans=1)
    bus, desks = start_desktops(srv, DEVICES, DesktopProfile(answer_after=(0.3, 0.4), handle=(3.0, 3.5)))
    seen: list[dict] = []
    bus.listeners.append(seen.append)
    try:
        for i in range(3):                       # one at a time: linear always picks a2
            place(srv, 0.5 + 12.0 * i, called="4000", calling=f"1390000000{i}", hold_for=None)
        run_until(srv, srv.now() + 40.0)
        lin = [e["data"]["agent"] for e in seen if e["type"] == "Connected" and e["queue"] == "lin"]
        assert lin == ["a2", "a2", "a2"]
        for i in range(2):                       # fewest calls: a0 and a1 (0 calls) before a2 (3)
            place(srv, 0.5 + 12.0 * i, called="4001", calling=f"1370000000{i}", hold_for=None)
        run_until(srv, srv.now() + 30.0)
        few = [e["data"]["agent"] for e in seen if e["type"] == "Connected" and e["queue"] == "few"]
        assert len(few) == 2 and "a2" not in few and len(set(few)) == 2
    finally:
        srv.close()


def test_recording_holds_the_callers_audio(tmp_path):
    srv, centre = make_server(tmp_path, {"agents": AGENTS, "route_points": {"4000": "rec"},
                                         "queues": {"rec": {"record": True}}}, spans=1)
    bus, desks = start_desktops(srv, DEVICES, DesktopProfile(answer_after=(0.5, 0.6), handle=(4.0, 4.5)))
    seen: list[dict] = []
    bus.listeners.append(seen.append)
    try:
        place(srv, 0.5, hold_for=None, digits="5555")      # the caller types after the agent answers
        run_until(srv, srv.now() + 10.0)
        (stop,) = [e for e in seen if e["type"] == "RecordingStopped"]
        assert 3.5 <= stop["seconds"] <= 5.0
        info, caller = wavfile.read_info_and_pcm(stop["path"])
        assert info.channels == 2
        assert np.abs(caller.astype(np.int32)).max() > 1000      # the DTMF the caller typed
        assert np.abs(caller[-8000:].astype(np.int32)).max() < 200   # then silence
    finally:
        srv.close()


@pytest.mark.system
def test_announcements_and_voicemail_prompt_are_played(tmp_path):
    prompts = tmp_path / "qprompts"
    prompts.mkdir()
    for i, name in enumerate(["position", "minutes", "voicemail", *map(str, range(10))]):
        _tone_wav(prompts / f"{name}.wav", seconds=0.1 if name.isdigit() else 0.5, hz=300.0 + 40 * i)
    srv, centre = make_server(tmp_path, {
        "agents": AGENTS, "route_points": {"4000": "sales"}, "prompts": str(prompts),
        "queues": {"sales": {"announce_every": 2.0, "max_wait": 5.0, "overflow": "voicemail"}}}, spans=1)
    bus = LocalBus(srv)            # nobody logs on: the caller waits, hears announcements, then voicemail
    seen: list[dict] = []
    bus.listeners.append(seen.append)
    written: list[tuple[float, int]] = []
    inner = centre.ivr.write
    centre.ivr.write = lambda circ, alaw: (written.append((srv.now(), len(alaw))), inner(circ, alaw))
    try:
        place(srv, 0.5, hold_for=None)
        run_until(srv, srv.now() + 15.0)
        ann = [e for e in seen if e["type"] == "Announce"]
        assert len(ann) == 2 and ann[0]["data"]["position"] == 1
        (div,) = [e for e in seen if e["type"] == "CallDiverted"]
        assert div["data"]["to"] == "voicemail"
        # two announcements "position 1, 3 minutes" (0.5 + 0.1 + 0.1 + 0.5 s each), then the 0.5 s voicemail
        total = sum(n for _, n in written) / 8000.0
        assert abs(total - 2.9) < 0.03
        assert any(e["type"] == "CallCleared" for e in seen) and not srv.model.calls
    finally:
        srv.close()
