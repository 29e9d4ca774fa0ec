"""Agents on station timeslots with simulated phones: real audio through the contact centre.

Board: span 0 is a No.1 trunk (callers from the simulated exchange), span 1 a station span whose
far end carries simulated phones (simulator/phones.py), each speaking its own tone. Everything
runs through the real CtiServer in virtual time, driven by bus requests as a CRM / desktop
would send them; what each phone heard is checked by frequency (FFT bands), not loudness."""
from __future__ import annotations

import numpy as np
import pytest

from cti.bus.auth import Account
from cti.call.errors import InvalidStateError, PrivilegeViolationError
from cti.config import Config
from cti.contact import ContactConfig, install
from cti.media import wavfile
from cti.cli.wiring import SimulatedPhones, build_server
from simulator.agents import DesktopProfile, start_desktops
from simulator.exchange.base import CallScript
from simulator.phones import Phone, attach_phones, band_levels
from tests.test_contact_load import restore_bus_requests  # noqa: F401 (fixture)

ANY = "tcp://127.0.0.1:*"
CALLER_HZ, A0_HZ, A1_HZ, BOSS_HZ = 1000.0, 600.0, 770.0, 1400.0
AGENTS = {"a0": {"device": "2000", "team": "blue", "wrap_up": 1.0},
          "a1": {"device": "2001", "team": "blue", "wrap_up": 1.0}}
STATIONS = {"2000": "1/1", "2001": "1/2", "3000": "1/30", "3001": "1/31"}
BOSS = Account("boss", "supervisor", device="3000", team="blue")
HEARD = 0.1        #: a band at least this loud (about -20 dB below full scale) is "heard"


def make_centre(tmp_path, contact: dict, trunk_spans: int = 1, station_spans: int = 1,
                signalling: str = "no1"):
    spans = trunk_spans + station_spans
    cfg = Config.from_dict({
        "server": {"store": str(tmp_path / "cti.db")},
        "bus": {"events": ANY, "snapshot": ANY, "control": ANY},
        "board": {"driver": "sim", "spans": spans, "clock": "virtual", "step": 0.1},
        "trunk": [{"signalling": signalling, "spans": list(range(trunk_spans))}]})
    srv = build_server(cfg).start()
    centre = install(srv, ContactConfig.from_dict({"recordings": str(tmp_path / "rec"), **contact}))
    return srv, centre


def run_for(srv, seconds: float) -> None:
    end = srv.now() + seconds
    while srv.now() < end - 1e-9:
        srv.step(0)


def wait_for(srv, pred, limit: float) -> None:
    end = srv.now() + limit
    while not pred():
        assert srv.now() < end, "timed out"
        srv.step(0)


def levels(phone: Phone, seconds: float = 0.6) -> dict[float, float]:
    return band_levels(phone.heard(seconds), (CALLER_HZ, A0_HZ, A1_HZ, BOSS_HZ))


def hears(phone: Phone, *freqs: float) -> bool:
    """``phone`` heard exactly ``freqs`` among the four test tones over the last 0.6 s."""
    lv = levels(phone)
    return all(lv[f] > HEARD for f in freqs) and all(v < HEARD / 4 for f, v in lv.items() if f not in freqs)


@pytest.fixture
def rig(tmp_path):
    srv, centre = make_centre(tmp_path, {
        "agents": AGENTS, "stations": STATIONS, "route_points": {"4000": "sales"},
        "queues": {"sales": {"strategy": "linear", "members": ["a0", "a1"], "record": True}}})
    phones = {"2000": Phone("2000", A0_HZ), "2001": Phone("2001", A1_HZ),
              "3000": Phone("3000", BOSS_HZ), "3001": Phone("3001", BOSS_HZ)}
    attach_phones(srv.board, 1, {1: phones["2000"], 2: phones["2001"], 30: phones["3000"], 31: phones["3001"]})
    bus, desks = start_desktops(srv, {a: v["device"] for a, v in AGENTS.items()},
                                DesktopProfile(answer_after=(0.5, 0.6), handle=(400.0, 401.0)))
    seen: list[dict] = []
    bus.listeners.append(seen.append)
    yield srv, centre, bus, phones, seen
    srv.close()


def connect_caller(srv, centre) -> tuple[str, Phone]:
    """A caller dials the route point; once an agent answered, the caller's phone talks."""
    srv.part("network").networks[0].place_call(CallScript(at=srv.now() + 0.2, called="4000", calling="13800138000", hold_for=None))
    wait_for(srv, lambda: centre.audio.bridges.bridges, 10.0)
    (call_id,) = centre.audio.bridges.bridges
    span, ts = srv.model.calls[call_id].circuit()
    caller = Phone("caller", CALLER_HZ)
    attach_phones(srv.board, span, {ts: caller})
    run_for(srv, 1.0)
    return call_id, caller


def test_caller_and_agent_hear_each_other_and_the_wav_has_both(rig):
    srv, centre, bus, phones, seen = rig
    call_id, caller = connect_caller(srv, centre)
    assert centre.engine.agent("a0").call_id == call_id       # linear: a0 first
    assert hears(phones["2000"], CALLER_HZ)                   # the agent hears the caller
    assert hears(caller, A0_HZ)                               # the caller hears the agent
    assert hears(phones["2001"]) and hears(phones["3000"])    # nobody else hears anything
    assert srv.board.span(1).counters.audio_overruns == 0     # the station span was read while idle too
    bus.command("ClearConnection", Account("a0", "agent", device="2000", team="blue"), call=call_id, device="2000")
    run_for(srv, 0.5)
    assert not centre.audio.bridges.bridges
    (stop,) = [e for e in seen if e["type"] == "RecordingStopped"]
    info, pcm = wavfile.read_channels(stop["path"])
    assert info.channels == 2 and info.rate == 8000
    left, right = pcm[:, 0], pcm[:, 1]
    last = slice(len(left) - 4000, len(left))                 # the last half second, both talking
    lv_l = band_levels(left[last], (CALLER_HZ, A0_HZ))
    lv_r = band_levels(right[last], (CALLER_HZ, A0_HZ))
    assert lv_l[CALLER_HZ] > HEARD and lv_l[A0_HZ] < HEARD / 4     # left: the far end (caller)
    assert lv_r[A0_HZ] > HEARD and lv_r[CALLER_HZ] < HEARD / 4     # right: the agent's station


def br_a(centre, call_id):
    return centre.audio.bridges.bridges[call_id].a


@pytest.mark.system
def test_monitor_whisper_barge_and_stop(rig):
    srv, centre, bus, phones, seen = rig
    call_id, caller = connect_caller(srv, centre)
    agent, boss = phones["2000"], phones["3000"]
    res = bus.command("Monitor", BOSS, agent="a0", device="3000", mode="monitor")
    assert res["call"] == call_id and centre.audio.bridges.bridges[call_id].supervisor == (1, 30)
    run_for(srv, 1.0)
    assert hears(boss, CALLER_HZ, A0_HZ)                      # the supervisor hears both
    assert hears(agent, CALLER_HZ) and hears(caller, A0_HZ)   # nobody hears the supervisor

    bus.command("Monitor", BOSS, agent="a0", device="3000", mode="whisper")
    run_for(srv, 1.0)
    assert hears(agent, CALLER_HZ, BOSS_HZ)                   # coach: the agent only
    assert hears(caller, A0_HZ)
    assert hears(boss, CALLER_HZ, A0_HZ)

    bus.command("Monitor", BOSS, agent="a0", device="3000", mode="barge")
    run_for(srv, 1.0)
    assert hears(agent, CALLER_HZ, BOSS_HZ)
    assert hears(caller, A0_HZ, BOSS_HZ)                      # barge: both
    assert hears(boss, CALLER_HZ, A0_HZ)

    book = srv.bus.security.book
    media = srv.bus.states["media"]
    assert media(BOSS, book) == [{"call": call_id, "trunk": list(br_a(centre, call_id)), "station": "2000", "to": None,
                                  "held": False, "supervisor": "3000", "mode": "barge"}]
    assert media(Account("a1", "agent", device="2001", team="blue"), book) == []    # not a1's call
    assert bus.command("StopMonitor", BOSS, device="3000") == {"device": "3000", "call": call_id}
    run_for(srv, 1.0)
    assert hears(agent, CALLER_HZ) and hears(caller, A0_HZ) and hears(boss)
    with pytest.raises(InvalidStateError):
        bus.command("StopMonitor", BOSS, device="3000")


@pytest.mark.system
def test_unauthorised_supervision_is_refused_and_hears_nothing(rig):
    srv, centre, bus, phones, seen = rig
    call_id, caller = connect_caller(srv, centre)
    red = Account("red", "supervisor", device="3001", team="red")
    with pytest.raises(PrivilegeViolationError):
        bus.command("Monitor", red, agent="a0", device="3001", mode="barge")
    with pytest.raises(PrivilegeViolationError):
        bus.command("Monitor", Account("a1", "agent", device="2001", team="blue"), agent="a0", device="2001")
    with pytest.raises(PrivilegeViolationError):      # the right team, but not from its own device
        bus.command("Monitor", BOSS, agent="a0", device="3001")
    with pytest.raises(PrivilegeViolationError):
        bus.command("StopMonitor", red, device="3000")
    run_for(srv, 1.0)
    assert hears(phones["3001"]) and hears(phones["2001"])
    assert hears(caller, A0_HZ)                                 # no supervisor tone leaked in
    assert centre.audio.bridges.bridges[call_id].supervisor is None


def test_a_busy_station_cannot_supervise(rig):
    srv, centre, bus, phones, seen = rig
    call_id, caller = connect_caller(srv, centre)
    integrator = Account("crm", "integrator")
    # a1's station is free: supervising from it works; but a0's own station is a party
    with pytest.raises(Exception):
        bus.command("Monitor", integrator, agent="a0", device="2000")
    bus.command("Monitor", integrator, agent="a0", device="2001", mode="monitor")
    assert centre.audio.supervising == {"2001": call_id}
    run_for(srv, 1.0)
    assert hears(phones["2001"], CALLER_HZ, A0_HZ)


def test_hold_silences_the_bridge_and_retrieve_restores_it(rig):
    srv, centre, bus, phones, seen = rig
    call_id, caller = connect_caller(srv, centre)
    a0 = Account("a0", "agent", device="2000", team="blue")
    bus.command("HoldCall", a0, call=call_id, device="2000")
    run_for(srv, 1.0)
    assert hears(caller) and hears(phones["2000"])
    bus.command("RetrieveCall", a0, call=call_id, device="2000")
    run_for(srv, 1.0)
    assert hears(caller, A0_HZ) and hears(phones["2000"], CALLER_HZ)


@pytest.mark.system
def test_transfer_moves_the_bridge_to_the_new_party(rig):
    srv, centre, bus, phones, seen = rig
    call_id, caller = connect_caller(srv, centre)
    a0 = Account("a0", "agent", device="2000", team="blue")
    res = bus.command("SingleStepTransfer", a0, call=call_id, to="8888", device="2000")
    target = Phone("8888", 1700.0, speaking=False)      # silent while the register signals run
    attach_phones(srv.board, res["span"], {res["ts"]: target})
    run_for(srv, 1.0)
    assert centre.audio.bridges.bridges[call_id].held   # ringing: nothing crosses yet
    wait_for(srv, lambda: not centre.audio.bridges.bridges[call_id].held, 10.0)   # MFC, then answered after 2 s
    target.speak()
    br = centre.audio.bridges.bridges[call_id]
    assert br.b == (res["span"], res["ts"])
    from_new: list[bytes] = []
    stop = centre.listen(br.b, lambda alaw, _t: from_new.append(alaw))
    run_for(srv, 1.0)
    stop()
    # trunk to trunk, octet for octet: what the new party sent is what the caller heard
    assert b"".join(from_new[10:40]) in caller.heard_alaw(1.0)
    assert band_levels(target.heard(0.6), (CALLER_HZ,))[CALLER_HZ] > HEARD
    assert hears(phones["2000"])                        # the agent is out of it
    assert centre.engine.agent("a0").state.value in ("WorkingAfterCall", "Ready")


def test_trunk_extension_agents_keep_working_without_audio(tmp_path):
    srv, centre = make_centre(tmp_path, {
        "agents": {"x": {"device": "2500", "team": "blue", "wrap_up": 1.0}},
        "stations": {"3000": "1/30"}, "route_points": {"4000": "sales"}, "queues": {"sales": {}}})
    bus, desks = start_desktops(srv, {"x": "2500"}, DesktopProfile(answer_after=(0.5, 0.6), handle=(2.0, 2.5)))
    seen: list[dict] = []
    bus.listeners.append(seen.append)
    try:
        srv.part("network").networks[0].place_call(CallScript(at=srv.now() + 0.2, called="4000", hold_for=None))
        run_for(srv, 8.0)
        assert [e["type"] for e in seen if e["type"] in ("Connected", "CallEnded")] == ["Connected", "CallEnded"]
        assert centre.audio.counters["bridged"] == 0
    finally:
        srv.close()


@pytest.mark.parametrize("bad, msg", [
    ({"stations": {"2000": "0/1"}}, "trunk signalling"),
    ({"stations": {"2000": "7/1"}}, "spans 0..1"),
])
def test_station_on_a_trunk_or_missing_span_is_a_config_error(tmp_path, bad, msg):
    from cti.config import ConfigError
    with pytest.raises(ConfigError, match=msg):
        make_centre(tmp_path, {"agents": {}, "queues": {}, **bad})


def test_simulated_phones_from_the_config(tmp_path):
    srv, centre = make_centre(tmp_path, {"agents": AGENTS, "queues": {"sales": {}}, "route_points": {"4000": "sales"},
                                         "stations": {"2000": "1/1", "2001": "1/2"}, "simulated_phones": True})
    try:
        phones = srv.add(SimulatedPhones(centre.config.stations)).phones
        assert set(phones) == {"2000", "2001"}
        hz = {p.hz for p in phones.values()}
        assert len(hz) == 2
    finally:
        srv.close()


def test_recording_by_request_and_a_prompt_mixed_into_the_bridge(tmp_path):
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    t = np.arange(8000 * 2) / 8000.0
    wavfile.write(prompts / "hello.wav", (6000 * np.sin(2 * np.pi * 2500.0 * t)).astype(np.int16),
                  fmt=wavfile.FORMAT_PCM)
    (tmp_path / "ivr.toml").write_text(
        '[ivr]\nstart = "main"\nprompt_dir = "prompts"\n[ivr.menus.main]\nprompt = "hello.wav"\n'
        'max_digits = 1\nthen = { queue = "plain" }\n')
    srv, centre = make_centre(tmp_path, {
        "agents": AGENTS, "stations": STATIONS, "route_points": {"4000": "plain"},
        "ivr": str(tmp_path / "ivr.toml"), "queues": {"plain": {"strategy": "linear", "members": ["a0", "a1"]}}})
    a0_phone = Phone("2000", A0_HZ)
    attach_phones(srv.board, 1, {1: a0_phone})
    bus, desks = start_desktops(srv, {a: v["device"] for a, v in AGENTS.items()},
                                DesktopProfile(answer_after=(0.5, 0.6), handle=(400.0, 401.0)))
    seen: list[dict] = []
    bus.listeners.append(seen.append)
    try:
        call_id, caller = connect_caller(srv, centre)
        assert not [e for e in seen if e["type"] == "RecordingStarted"]      # not an always-on queue
        a0 = Account("a0", "agent", device="2000", team="blue")
        crm = Account("crm", "integrator")
        res = bus.command("StartRecording", crm, call=call_id)
        run_for(srv, 1.0)
        bus.command("PlayPrompt", crm, call=call_id, prompt="hello.wav")
        run_for(srv, 1.0)
        lv = band_levels(caller.heard(0.6), (A0_HZ, 2500.0))
        assert lv[A0_HZ] > HEARD and lv[2500.0] > HEARD            # the agent and the prompt, mixed
        assert hears(a0_phone, CALLER_HZ)                          # the prompt goes to the caller only
        stop = bus.command("StopRecording", crm, call=call_id)
        assert stop["path"] == res["path"] and 1.8 <= stop["seconds"] <= 2.2
        with pytest.raises(PrivilegeViolationError):
            bus.command("StartRecording", Account("a1", "agent", device="2001", team="blue"), call=call_id)
        info, pcm = wavfile.read_channels(stop["path"])
        first = slice(0, 6000)                                     # before the prompt: caller | agent
        assert band_levels(pcm[first, 0], (CALLER_HZ,))[CALLER_HZ] > HEARD
        r = band_levels(pcm[first, 1], (A0_HZ, CALLER_HZ, 2500.0))
        assert r[A0_HZ] > HEARD and r[CALLER_HZ] < HEARD / 4 and r[2500.0] < HEARD / 4
        r = band_levels(pcm[-4000:, 1], (A0_HZ, 2500.0))            # then the caller was sent both
        assert r[A0_HZ] > HEARD and r[2500.0] > HEARD
        bus.command("ClearConnection", a0, call=call_id, device="2000")
        run_for(srv, 0.5)
        assert not centre.audio.bridges.bridges
    finally:
        srv.close()


def test_digits_sent_by_the_agent_reach_the_caller_through_the_bridge(rig):
    from _boardcore import dtmf
    srv, centre, bus, phones, seen = rig
    phones["2000"].mute()                                 # a quiet agent: the digits alone
    call_id, caller = connect_caller(srv, centre)
    a0 = Account("a0", "agent", device="2000", team="blue")
    caller.forget()
    bus.command("SendDigits", a0, call=call_id, digits="159#", device="2000")
    run_for(srv, 1.5)
    assert dtmf.detect(caller.heard()) == "159#"
    assert centre.audio.bridges.bridges[call_id].blocks > 0 and not centre.audio._pending


def test_bridge_over_an_ss7_trunk(tmp_path):
    srv, centre = make_centre(tmp_path, {"agents": AGENTS, "stations": STATIONS, "route_points": {"4000": "sales"},
                                         "queues": {"sales": {"strategy": "linear", "members": ["a0", "a1"]}}},
                              signalling="ss7")
    agent = Phone("2000", A0_HZ)
    attach_phones(srv.board, 1, {1: agent})
    start_desktops(srv, {a: v["device"] for a, v in AGENTS.items()},
                   DesktopProfile(answer_after=(0.5, 0.6), handle=(400.0, 401.0)))
    try:
        run_for(srv, 3.0)                  # MTP link alignment before the first call
        call_id, caller = connect_caller(srv, centre)
        assert srv.model.calls[call_id].signalling == "ss7"
        assert hears(agent, CALLER_HZ) and hears(caller, A0_HZ)
    finally:
        srv.close()


def test_the_handset_answers_and_hangs_up(tmp_path):
    """No desktop answers: the ACD rings the agent's station line, the phone lifts after 1 s
    (off hook answers the call), talks, and hanging up clears the call."""
    from simulator.agents import LocalBus
    srv, centre = make_centre(tmp_path, {
        "agents": AGENTS, "stations": STATIONS, "route_points": {"4000": "sales"},
        "queues": {"sales": {"strategy": "linear", "members": ["a0", "a1"], "ring_timeout": 10.0}}})
    a0_phone = Phone("2000", A0_HZ, answer_after=1.0)
    attach_phones(srv.board, 1, {1: a0_phone}, hook=True)
    bus = LocalBus(srv)
    seen: list[dict] = []
    at: list[tuple[str, float]] = []
    bus.listeners.append(seen.append)
    bus.listeners.append(lambda e: at.append((e["type"], srv.now())))
    try:
        a0 = Account("a0", "agent", device="2000", team="blue")
        bus.command("AgentLogon", a0, agent="a0", device="2000")
        bus.command("SetAgentState", a0, agent="a0", state="Ready")
        call_id, caller = connect_caller(srv, centre)
        assert a0_phone.rings == 1 and a0_phone.off_hook
        (t_conn,) = [t for kind, t in at if kind == "Connected"]
        (t_offer,) = [t for kind, t in at if kind == "AgentOffered"]
        assert 1.0 <= t_conn - t_offer <= 1.2                     # lifted after ringing 1 s
        assert hears(a0_phone, CALLER_HZ) and hears(caller, A0_HZ)
        assert srv.board.far_end(1).cas(1) != 0b0001             # ringing stopped once answered
        a0_phone.hang_up()
        run_for(srv, 0.5)
        assert call_id not in srv.model.calls and not centre.audio.bridges.bridges
        assert centre.engine.agent("a0").state.value == "WorkingAfterCall"
        assert [e["type"] for e in seen if e["type"] in ("CallEnded", "CallCleared")] == ["CallCleared", "CallEnded"]
    finally:
        srv.close()


def carried(srv, centre, circuit, ear: Phone) -> bool:
    """What arrives on trunk ``circuit`` reaches ``ear`` octet for octet (the simulated exchange
    may speak on that line too, so compare lines, not tones)."""
    got: list[bytes] = []
    stop = centre.listen(circuit, lambda alaw, _t: got.append(alaw))
    run_for(srv, 1.0)
    stop()
    return b"".join(got[10:40]) in ear.heard_alaw(1.0)


def _consult(srv, centre, bus, call_id):
    """a0 puts the caller on hold and calls 8888 from its desktop; the consulted party answers."""
    a0 = Account("a0", "agent", device="2000", team="blue")
    res = bus.command("ConsultationCall", a0, call=call_id, called="8888", device="2000")
    c2 = res["call"]
    consulted = Phone("8888", 1700.0, speaking=False)        # silent while MFC runs on its line
    attach_phones(srv.board, res["span"], {res["ts"]: consulted})
    wait_for(srv, lambda: c2 in centre.audio.bridges.bridges, 15.0)   # answered: bridged to a0's station
    consulted.speak()
    run_for(srv, 1.0)
    return a0, c2, consulted


@pytest.mark.system
def test_consultation_then_transfer(rig):
    srv, centre, bus, phones, seen = rig
    call_id, caller = connect_caller(srv, centre)
    a0, c2, consulted = _consult(srv, centre, bus, call_id)
    assert call_id in centre.audio.parked                      # the caller waits, hearing nothing
    c2_line = centre.audio.bridges.bridges[c2].a
    assert carried(srv, centre, c2_line, phones["2000"])        # the agent talks to the consulted party
    assert band_levels(consulted.heard(0.6), (A0_HZ,))[A0_HZ] > HEARD
    assert hears(caller)
    bus.command("TransferCall", a0, held_call=call_id, active_call=c2, device="2000")
    run_for(srv, 1.0)
    assert centre.audio.bridges.bridges[call_id].b == c2_line
    assert carried(srv, centre, c2_line, caller)                            # caller <-> consulted
    assert band_levels(consulted.heard(0.6), (CALLER_HZ,))[CALLER_HZ] > HEARD
    assert hears(phones["2000"])                                            # the agent is out
    assert centre.engine.agent("a0").state.value in ("WorkingAfterCall", "Ready")
    assert list(centre.audio.bridges.bridges) == [call_id] and not centre.audio.parked


@pytest.mark.system
def test_consultation_then_conference_and_retrieve(rig):
    srv, centre, bus, phones, seen = rig
    call_id, caller = connect_caller(srv, centre)
    a0, c2, consulted = _consult(srv, centre, bus, call_id)
    bus.command("ConferenceCall", a0, held_call=call_id, active_call=c2, device="2000")
    run_for(srv, 1.0)
    assert band_levels(caller.heard(0.6), (A0_HZ, 1700.0))[A0_HZ] > HEARD   # everyone hears the others
    assert band_levels(caller.heard(0.6), (1700.0,))[1700.0] > HEARD / 4
    lv = band_levels(phones["2000"].heard(0.6), (CALLER_HZ, 1700.0))
    assert lv[CALLER_HZ] > HEARD and lv[1700.0] > HEARD / 4
    lv = band_levels(consulted.heard(0.6), (CALLER_HZ, A0_HZ))
    assert min(lv.values()) > HEARD
    with pytest.raises(InvalidStateError):                                   # the third seat is taken
        bus.command("Monitor", BOSS, agent="a0", device="3000")


@pytest.mark.system
def test_consultation_cleared_then_retrieve(rig):
    srv, centre, bus, phones, seen = rig
    call_id, caller = connect_caller(srv, centre)
    a0, c2, consulted = _consult(srv, centre, bus, call_id)
    bus.command("ClearConnection", a0, call=c2, device="2000")
    run_for(srv, 0.5)
    assert c2 not in centre.audio.bridges.bridges
    bus.command("RetrieveCall", a0, call=call_id, device="2000")
    run_for(srv, 1.0)
    assert hears(caller, A0_HZ) and hears(phones["2000"], CALLER_HZ)


def test_an_agent_logged_on_at_another_station_is_bridged_there(tmp_path):
    from simulator.agents import LocalBus
    srv, centre = make_centre(tmp_path, {
        "agents": AGENTS, "stations": STATIONS, "route_points": {"4000": "sales"},
        "queues": {"sales": {"strategy": "linear", "members": ["a0"]}}})
    hot_desk = Phone("3001", A1_HZ, answer_after=0.5)
    attach_phones(srv.board, 1, {31: hot_desk}, hook=True)
    bus = LocalBus(srv)
    try:
        crm = Account("crm", "integrator")
        bus.command("AgentLogon", crm, agent="a0", device="3001")      # hot-desking at 3001's phone
        bus.command("SetAgentState", crm, agent="a0", state="Ready")
        call_id, caller = connect_caller(srv, centre)
        assert centre.audio.bridges.bridges[call_id].b == (1, 31)
        assert hears(hot_desk, CALLER_HZ) and hears(caller, A1_HZ)
    finally:
        srv.close()
