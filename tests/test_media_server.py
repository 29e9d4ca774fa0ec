"""Media resources through the real CtiServer on the simulator (No.1 trunk, virtual time):
fax-on-demand from the IVR to a fax machine at the far end, a fax received into the inbox by
request, voicemail from an IVR choice and from a queue overflow, the agent's work number
announced, TTS prompts, pools in the snapshot, message requests."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cti.call.errors import InvalidParameterError, ResourceBusyError
from cti.fax import available
from cti.fax.session import FaxSession
from cti.contact.resources import MediaConfig, MediaConfigError, MediaResources
from simulator.agents import DesktopProfile, LocalBus, start_desktops
from simulator.phones import Phone, attach_phones
from tests.test_contact_load import make_server, run_until, restore_bus_requests  # noqa: F401 (fixture)

ok, why = available()
pytestmark = pytest.mark.skipif(not ok, reason=f"fax engine unavailable: {why}")

from fax_rig import make_document

AGENTS = {"1024": {"device": "2000", "team": "blue", "wrap_up": 2.0}}


def place(srv: Any, at: float, called: str = "4100", calling: str = "13800138000", **kw: Any) -> None:
    from simulator.exchange.base import CallScript
    srv.part("network").networks[0].place_call(CallScript(at=srv.now() + at, called=called, calling=calling, **kw))


class FarFax:
    """A fax machine at the far end of trunk span 0: once the exchange's call is answered it
    runs a T.30 session on that call's timeslot (a board ticker, like simulator phones);
    ``number``: only a call to that number."""

    def __init__(self, srv: Any, make: Any, number: str | None = None) -> None:
        self.srv, self.make, self.number = srv, make, number
        self.ep = srv.board.far_end(0)
        self.session: FaxSession | None = None
        self.ts: int | None = None
        self._since = 0
        srv.board.add_ticker(self.tick)

    def tick(self, now: float) -> None:
        self._since, blocks = self.ep.received_blocks(self._since)
        if self.session is None:
            recs = [r for r in self.srv.part("network").networks[0].records
                    if r.answered_at is not None and r.circuit is not None and r.cleared_at is None
                    and (self.number is None or r.called == self.number)]
            if not recs:
                return
            self.ts = recs[0].circuit[1]
            self.session = self.make()
        assert self.ts is not None
        for _seq, block, t in blocks:
            self.ep.write_audio(self.ts, self.session.process(block[self.ts].tobytes(), t))


def first_call(srv: Any, limit: float = 10.0) -> str:
    end = srv.now() + limit
    while not srv.model.calls:
        assert srv.now() < end, "no call arrived"
        srv.step(0)
    run_until(srv, srv.now() + 1.0)
    (call,) = list(srv.model.calls)
    return str(call)


def listen(srv: Any) -> tuple[LocalBus, list[dict[str, Any]]]:
    """A local bus on ``srv`` and the list of every event it publishes from now on."""
    bus = LocalBus(srv)
    seen: list[dict[str, Any]] = []
    bus.listeners.append(seen.append)
    return bus, seen


def wait_event(srv: Any, seen: list[dict[str, Any]], kind: str, limit: float,
               pace_ms: int = 0) -> dict[str, Any]:
    """Run the server until an event of type ``kind`` is published (at most ``limit`` model seconds);
    ``pace_ms``: wall-clock ms each 20 ms turn waits, for an event a subprocess produces (the
    model's seconds otherwise pass faster than the subprocess starts on a loaded host)."""
    end = srv.now() + limit
    while not any(e["type"] == kind for e in seen):
        assert srv.now() < end, f"no {kind} in {limit:g} s: {[e['type'] for e in seen][-12:]}"
        srv.step(pace_ms)
    return next(e for e in seen if e["type"] == kind)


def media(srv: Any, centre: Any, tmp_path: Path, **extra: Any) -> MediaResources:
    doc = make_document(tmp_path / "price.tif", pages=2)
    cfg = {"directory": str(tmp_path / "media"), "pools": {"fax": 2, "voice": 4},
           "fax": {"documents": {"price": str(doc)}, "ident": "+86 10 5555"},
           "voicemail": {"silence_seconds": 3.0, "min_seconds": 0.5}, **extra}
    return srv.add(MediaResources(MediaConfig.from_dict(cfg), centre))   # type: ignore[return-value]


@pytest.fixture
def ivr_file(tmp_path: Path) -> str:
    f = tmp_path / "ivr.toml"
    f.write_text("""
[ivr]
start = "main"
[ivr.menus.main]
say = "qing3 an4 yi1 huo4 er4"
voice = "cmn-latn-pinyin"
max_digits = 1
timeout = 8.0
retries = 0
options."1" = { fax = "price" }
options."2" = { voicemail = "sales" }
on_fail = { hangup = true }
""")
    return str(f)


@pytest.mark.system
def test_fax_on_demand_from_the_ivr_reaches_the_far_machine(tmp_path: Path, ivr_file: str) -> None:
    srv, centre = make_server(tmp_path, {"agents": AGENTS, "ivr": ivr_file, "route_points": {"4100": "ivr"},
                                         "queues": {"sales": {}}}, spans=1)
    m = media(srv, centre, tmp_path)
    bus, seen = listen(srv)
    far = FarFax(srv, lambda: FaxSession.receive(tmp_path / "far.tif", calling=False))
    try:
        place(srv, 0.5, digits="1", hold_for=None)
        run_until(srv, srv.now() + 60.0)
        types = [e["type"] for e in seen]
        assert "TtsFailed" not in types
        (done,) = [e for e in seen if e["type"] == "FaxCompleted"]
        assert (done["ok"], done["pages"], done["direction"], done["result"]) == (True, 2, "send", 0)
        assert done["topic"] == "media.fax" and types.index("FaxStarted") < types.index("FaxPage")
        assert far.session is not None and far.session.completed is not None and far.session.completed.ok
        from cti.fax import document
        sent, got = document.pages(tmp_path / "price.tif"), document.pages(tmp_path / "far.tif")
        assert len(got) == 2 and all(np.array_equal(a, b) for a, b in zip(sent, got, strict=True))
        assert m.pools.usage()["fax"]["busy"] == 0 and m.counters["fax_sent"] == 1
        (cdr,) = srv.bus.store.cdrs(10)                                # the CDR records the fax
        assert not srv.model.calls
        ud = cdr["user_data"]
        assert (ud["media"], ud["fax_pages"], ud["fax_result"], ud["fax_document"]) == ("fax-send", "2", "0", "price.tif")
        assert int(ud["fax_rate"]) in (7200, 9600, 12000, 14400)
    finally:
        srv.close()


@pytest.mark.system
def test_fax_received_by_request_lands_in_the_inbox(tmp_path: Path) -> None:
    srv, centre = make_server(tmp_path, {"agents": AGENTS, "route_points": {"4000": "sales"},
                                         "queues": {"sales": {}}}, spans=1)
    media(srv, centre, tmp_path)
    bus, seen = listen(srv)
    doc = make_document(tmp_path / "complaint.tif", pages=1)
    FarFax(srv, lambda: FaxSession.send(doc, calling=True))
    try:
        place(srv, 0.5, called="4000", hold_for=None)
        call = first_call(srv)
        assert bus.command("ReceiveFax", call=call, box="complaints") == {"call": call}
        run_until(srv, srv.now() + 40.0)
        (rx,) = [e for e in seen if e["type"] == "FaxReceived"]
        calling = next(e.get("calling") for e in seen if e.get("call") == call and "calling" in e)
        assert rx["box"] == "complaints" and rx["pages"] == 1 and rx["caller"] == (calling or "")
        listed = bus.command("ListMessages", kind="fax", box="complaints")["messages"]
        assert [m["id"] for m in listed] == [rx["id"]]
        import sqlite3
        with sqlite3.connect(tmp_path / "cti.db") as db:        # in the server's store (migration 5)
            assert db.execute("SELECT kind, box FROM media_message").fetchall() == [("fax", "complaints")]
        got = bus.command("GetMessage", id=rx["id"], content=True)
        assert got["content"][:4] in (b"II*\x00", b"MM\x00*") and got["message"]["meta"]["pages"] == 1
        with pytest.raises(InvalidParameterError, match="no message"):
            bus.command("GetMessage", id=9999)
    finally:
        srv.close()


@pytest.mark.system
def test_voicemail_from_the_ivr_choice_then_mark_and_snapshot(tmp_path: Path, ivr_file: str) -> None:
    srv, centre = make_server(tmp_path, {"agents": AGENTS, "ivr": ivr_file, "route_points": {"4100": "ivr"},
                                         "queues": {"sales": {}}}, spans=1)
    m = media(srv, centre, tmp_path)
    bus, seen = listen(srv)
    caller = Phone("caller", 500.0, speaking=False)
    attach_phones(srv.board, 0, {1: caller})        # the first call takes TS1 (hunting order)
    try:
        place(srv, 0.5, digits="2", hold_for=None)
        run_until(srv, srv.now() + 4.0)
        from cti.voicemail.recorder import Phase
        end = srv.now() + 20.0
        while not any(leg.rec.phase is Phase.RECORDING for leg in m.voicemail.legs.values()):
            assert srv.now() < end, "never got to the beep"
            srv.step(0)
        caller.speak(500.0)
        run_until(srv, srv.now() + 2.0)
        caller.mute()
        caller.dial("#")
        run_until(srv, srv.now() + 8.0)
        (left,) = [e for e in seen if e["type"] == "VoicemailLeft"]
        assert left["box"] == "sales" and left["reason"] == "terminator" and 1.8 <= left["seconds"] <= 3.0
        calling = next(e.get("calling") for e in seen if e.get("call") == left["call"] and "calling" in e)
        assert left["caller"] == (calling or "")
        snap = {k: v for k, v in m.sections().items()}
        assert snap["messages"](None, None) == [{"box": "sales", "waiting": 1}]
        assert bus.command("MarkMessage", id=left["id"])["status"] == "handled"
        assert snap["messages"](None, None) == []
        assert any(e["type"] == "MessageHandled" for e in seen)
        assert any(e["type"] == "CallCleared" for e in seen)      # after "saved", the service released the caller
        res = bus.command("GetResources")["pools"]
        assert res["voice"]["busy"] == 0 and res["voice"]["taken"] >= 1
    finally:
        srv.close()


@pytest.mark.system
def test_queue_overflow_to_voicemail_records_after_the_prompt(tmp_path: Path) -> None:
    srv, centre = make_server(tmp_path, {"agents": AGENTS, "route_points": {"4000": "sales"},
                                         "queues": {"sales": {"max_wait": 4.0, "overflow": "voicemail"}}}, spans=1)
    m = media(srv, centre, tmp_path, language="en")
    bus, seen = listen(srv)             # nobody logs on: the caller waits, then voicemail
    caller = Phone("caller", 700.0, speaking=False)
    attach_phones(srv.board, 0, {1: caller})
    try:
        place(srv, 0.5, called="4000", hold_for=None)
        from cti.voicemail.recorder import Phase
        end = srv.now() + 30.0                      # 4 s wait + the English greeting + beep
        while not any(leg.rec.phase is Phase.RECORDING for leg in m.voicemail.legs.values()):
            assert srv.now() < end, [e["type"] for e in seen]
            srv.step(0)
        caller.speak(700.0)
        run_until(srv, srv.now() + 2.0)
        caller.mute()
        run_until(srv, srv.now() + 6.0)             # 3 s of silence ends it
        (left,) = [e for e in seen if e["type"] == "VoicemailLeft"]
        assert left["reason"] == "silence" and left["box"] == "sales"
        from cti.media import wavfile
        info, pcm = wavfile.read_info_and_pcm(left["path"])
        spec = np.abs(np.fft.rfft(pcm[-8000:].astype(float)))
        assert abs(np.argmax(spec) * 8000 / 8000 - 700) < 10        # the caller's voice is in the file
    finally:
        srv.close()


def _announce_rig(tmp_path: Path) -> tuple[Any, Any, Phone, Phone, list[dict[str, Any]], bytes]:
    """Span 0 a No.1 trunk, span 1 the agent's station (a phone sending 600 Hz); the caller's
    phone on the trunk's timeslot 1 sends 1000 Hz. Returns the server, the centre, the caller's
    and the agent's phones, the events seen and the announcement the caller must hear."""
    from tests.test_contact_stations import make_centre

    srv, centre = make_centre(tmp_path, {"agents": AGENTS, "stations": {"2000": "1/1"},
                                         "route_points": {"4000": "sales"}, "queues": {"sales": {"record": True}}})
    m = media(srv, centre, tmp_path, announce={"agent": {"sales": "zh"}, "work_numbers": {"1024": "2001"}})
    agent = Phone("2000", 600.0)
    attach_phones(srv.board, 1, {1: agent})
    caller = Phone("caller", 1000.0, speaking=False)        # quiet while MFC signals the call
    attach_phones(srv.board, 0, {1: caller})
    bus, desks = start_desktops(srv, {"1024": "2000"}, DesktopProfile(answer_after=(0.5, 0.6), handle=(30.0, 31.0)))
    seen: list[dict[str, Any]] = []
    bus.listeners.append(seen.append)
    announcement = m.agent_announcement("sales", "1024")
    return srv, centre, caller, agent, seen, announcement


def test_agent_number_announced_before_the_caller_meets_the_agent(tmp_path: Path) -> None:
    """工号 2001 为您服务 reaches the caller whole and alone; then the bridge, and the agent's
    voice; the agent hears silence meanwhile; the recording has the announcement then the agent."""
    from simulator.phones import band_levels

    srv, centre, caller, agent, seen, announcement = _announce_rig(tmp_path)
    ps = srv.part("media").prompt_set("zh")     # type: ignore[attr-defined]
    assert announcement == bytes(ps.agent_number("2001")) and len(announcement) > 2 * 8000
    try:
        place(srv, 0.5, called="4000", hold_for=None)
        wait_event(srv, seen, "Connected", 20.0)
        (call,) = list(srv.model.calls)
        assert srv.model.calls[call].circuit() == (0, 1)
        caller.speak()
        agent.forget()
        seconds = len(announcement) / 8000.0
        run_until(srv, srv.now() + seconds - 0.2)
        assert not centre.audio.bridges.bridges                        # still announcing: no bridge yet
        assert np.abs(agent.heard()).max() == 8                        # the agent hears A-law silence
        run_until(srv, srv.now() + 2.2)
        assert call in centre.audio.bridges.bridges                    # bridged once it has played
        heard = caller.heard_alaw()
        at = heard.find(announcement)
        assert at >= 0, "the caller did not hear the announcement whole and unmixed"
        from _boardcore.g711 import alaw_decode
        before = np.asarray(alaw_decode(heard[max(0, at - 8000):at]), np.int16)   # (MFC signals earlier)
        assert band_levels(before, (600.0,))[600.0] < 0.025            # nothing of the agent before it
        after = caller.heard(1.0)
        lv = band_levels(after, (600.0, 1000.0))
        assert lv[600.0] > 0.1 and lv[1000.0] < 0.025                  # then the agent's voice alone
        lv = band_levels(agent.heard(1.0), (600.0, 1000.0))
        assert lv[1000.0] > 0.1                                        # and the agent hears the caller
        types = [e["type"] for e in seen if e.get("call") == call]
        assert types.index("Delivered") < types.index("Established") < types.index("Connected")
        assert "CallCleared" not in types
    finally:
        srv.close()


def test_hang_up_during_the_announcement_cleans_up(tmp_path: Path) -> None:
    """The caller leaves while the work number plays: no bridge is ever made, the agent goes to
    wrap-up, the station and the IVR leg are free, the recording is closed."""
    srv, centre, caller, agent, seen, announcement = _announce_rig(tmp_path)
    try:
        place(srv, 0.5, called="4000", hold_for=1.5)       # the far end clears 1.5 s after answer
        wait_event(srv, seen, "Connected", 20.0)
        (call,) = list(srv.model.calls)
        assert call in centre.ivr.legs and not centre.audio.bridges.bridges
        wait_event(srv, seen, "CallCleared", len(announcement) / 8000.0)    # before it has played
        run_until(srv, srv.now() + len(announcement) / 8000.0)
        assert centre.audio.counters["bridged"] == 0 and not centre.audio.bridges.bridges
        assert centre.audio.bridges.owner((1, 1)) is None and call not in centre.ivr.legs
        assert call not in srv.model.calls
        assert centre.engine.agent("1024").state.value in ("WorkingAfterCall", "Ready")
        types = [e["type"] for e in seen if e.get("call") == call]
        assert types.index("Connected") < types.index("CallCleared") < types.index("RecordingStopped")
        assert np.abs(agent.heard()).max() == 8                        # the agent never heard the caller
    finally:
        srv.close()


@pytest.mark.system
def test_hold_during_the_announcement_bridges_on_retrieve(tmp_path: Path) -> None:
    """The agent holds the call while the caller hears the work number: no bridge when it ends;
    the agent's RetrieveCall bridges them."""
    from cti.bus.auth import Account
    from simulator.phones import band_levels

    srv, centre, caller, agent, seen, announcement = _announce_rig(tmp_path)
    desk = Account("1024", "agent", device="2000")
    try:
        place(srv, 0.5, called="4000", hold_for=None)
        wait_event(srv, seen, "Connected", 20.0)
        (call,) = list(srv.model.calls)
        bus = LocalBus(srv)
        bus.command("HoldCall", desk, call=call, device="2000")
        run_until(srv, srv.now() + len(announcement) / 8000.0 + 1.0)
        assert not centre.audio.bridges.bridges                        # held: parked, not bridged
        caller.speak()
        bus.command("RetrieveCall", desk, call=call, device="2000")
        run_until(srv, srv.now() + 1.0)
        assert call in centre.audio.bridges.bridges
        assert band_levels(caller.heard(0.6), (600.0,))[600.0] > 0.1      # the caller hears the agent
        assert band_levels(agent.heard(0.6), (1000.0,))[1000.0] > 0.1     # and the agent the caller
    finally:
        srv.close()


def test_say_request_and_bad_requests(tmp_path: Path) -> None:
    srv, centre = make_server(tmp_path, {"agents": AGENTS, "route_points": {"4000": "sales"},
                                         "queues": {"sales": {}}}, spans=1)
    media(srv, centre, tmp_path, pools={"fax": 0, "voice": 1})
    bus, seen = listen(srv)
    ear = Phone("caller", None)
    attach_phones(srv.board, 0, {1: ear})
    try:
        place(srv, 0.5, called="4000", hold_for=None)
        call = first_call(srv)
        assert bus.command("Say", call=call, text="Your order has shipped", voice="en-us")["call"] == call
        job = centre.ivr.legs[call].tts
        assert job is not None and job.wait(30) and job.ok      # rendered on a worker thread (real time)
        ear.forget()
        run_until(srv, srv.now() + 4.0)
        assert np.abs(ear.heard(4.0)).max() > 1000
        with pytest.raises(ResourceBusyError, match="no fax channel free"):
            bus.command("SendFax", call=call, document="price")
        assert any(e["type"] == "ResourceExhausted" and e["kind"] == "fax" for e in seen)
        with pytest.raises(InvalidParameterError, match="not found"):
            bus.command("SendFax", call=call, document="nothing-by-that-name")
        with pytest.raises(InvalidParameterError, match="no call"):
            bus.command("LeaveVoicemail", call="nope")
        with pytest.raises(InvalidParameterError, match="kind"):
            bus.command("ListMessages", kind="sms")
        usage = [e for e in seen if e["type"] == "ResourceUsage"]
        assert usage and usage[-1]["pools"]["fax"]["size"] == 0
        stats = bus.command("GetStatistics")                       # the statistics carry the pools
        assert stats["resources"]["pools"]["voice"]["size"] == 1 and "fax_failed" in stats["resources"]["counters"]
        assert stats["resources"]["pools"]["fax"]["refused"] >= 1
    finally:
        srv.close()


def test_bad_media_configs() -> None:
    with pytest.raises(MediaConfigError, match="unknown key"):
        MediaConfig.from_dict({"faxes": {}})
    with pytest.raises(MediaConfigError, match="language"):
        MediaConfig.from_dict({"language": "fr"})
    with pytest.raises(MediaConfigError, match="whole number"):
        MediaConfig.from_dict({"pools": {"fax": -1}})
    with pytest.raises(MediaConfigError, match=r"agent\.sales"):
        MediaConfig.from_dict({"announce": {"agent": {"sales": "de"}}})


@pytest.mark.system
def test_fax_campaign_dials_retries_and_reports(tmp_path: Path) -> None:
    from simulator.exchange.base import Behaviour, Subscriber

    srv, centre = make_server(tmp_path, {"agents": AGENTS, "route_points": {"4000": "sales"},
                                         "queues": {"sales": {}}}, spans=1)
    media(srv, centre, tmp_path)
    ex = srv.part("network").networks[0]
    ex.subscribers["8801"] = Subscriber("8801", Behaviour.ANSWER, answer_after=1.0, hold_for=None,
                                            speech=False)
    ex.subscribers["8802"] = Subscriber("8802", Behaviour.BUSY)
    bus, seen = listen(srv)
    far = FarFax(srv, lambda: FaxSession.receive(tmp_path / "far.tif", calling=False), number="8801")
    try:
        got = bus.command("StartFaxCampaign", name="notice", document="price", numbers=["8801", "8802"],
                          concurrency=1, retries=1, retry_after=5.0)
        assert got == {"campaign": "notice", "numbers": 2}
        with pytest.raises(InvalidParameterError, match="not a number"):
            bus.command("StartFaxCampaign", name="bad", document="price", numbers=["12ab"])
        wait_event(srv, seen, "FaxCampaignEnded", 120.0)
        (ended,) = [e for e in seen if e["type"] == "FaxCampaignEnded"]
        assert ended["summary"] == {"numbers": 2, "sent": 1, "failed": 1, "active": 0, "waiting": 0}
        assert ended["results"]["8801"]["ok"] and ended["results"]["8801"]["pages"] == 2
        assert ended["results"]["8802"]["attempts"] == 2 and not ended["results"]["8802"]["ok"]
        progress = [e for e in seen if e["type"] == "FaxCampaignProgress"]
        assert len(progress) == 3 and [p["retry"] for p in progress if p["number"] == "8802"] == [True, False]
        assert far.session is not None and far.session.completed is not None and far.session.completed.pages == 2
    finally:
        srv.close()


@pytest.mark.system
def test_servers_built_from_config_have_media(tmp_path: Path) -> None:
    from cti.cli.wiring import build_server
    from cti.config import Config, ConfigError

    base = {"server": {"store": str(tmp_path / "cti.db")},
            "bus": {"events": "tcp://127.0.0.1:*", "snapshot": "tcp://127.0.0.1:*", "control": "tcp://127.0.0.1:*"},
            "board": {"driver": "sim", "spans": 1, "clock": "virtual"}, "trunk": [{"signalling": "no1", "spans": [0]}]}
    with pytest.raises(ConfigError, match=r"\[media\] needs \[contact\]"):
        build_server(Config.from_dict({**base, "media": {}}))
    with pytest.raises(ConfigError, match="unknown key"):
        build_server(Config.from_dict({**base, "contact": {"agents": AGENTS}, "media": {"fx": 1}}))
    srv = build_server(Config.from_dict({**base, "contact": {"agents": AGENTS, "recordings": str(tmp_path / "r")},
                                         "media": {"directory": str(tmp_path / "m"), "pools": {"fax": 3}}})).start()
    try:
        m = srv.part("media")
        assert isinstance(m, MediaResources) and m.pools.usage()["fax"]["size"] == 3
    finally:
        srv.close()


def test_media_schema_file_matches_the_code() -> None:
    from cti.contact import media_schema

    path = Path(__file__).resolve().parents[1] / "docs" / "schema" / "media-schema.json"
    assert path.read_text(encoding="utf-8") == media_schema.render(), \
        "regenerate: python3 -m cti.contact.media_schema > docs/schema/media-schema.json"
    events = media_schema.schema()["events"]
    assert {"FaxStarted", "FaxPage", "FaxCompleted", "VoicemailLeft", "ResourceExhausted"} <= set(events)
    assert events["FaxCompleted"]["fields"]["result"]["type"] == "int"


@pytest.mark.system
def test_ivr_caller_keys_a_number_to_fax_to_later(tmp_path: Path) -> None:
    from simulator.exchange.base import Behaviour, Subscriber

    f = tmp_path / "ivr.toml"
    f.write_text("""
[ivr]
start = "main"
[ivr.menus.main]
say = "qing3 shu1 ru4 chuan2 zhen1 hao4 ma3"
voice = "cmn-latn-pinyin"
max_digits = 4
timeout = 8.0
var = "faxno"
then = { fax = "price", to = "faxno" }
""")
    srv, centre = make_server(tmp_path, {"agents": AGENTS, "ivr": str(f), "route_points": {"4100": "ivr"},
                                         "queues": {"sales": {}}}, spans=1)
    media(srv, centre, tmp_path)
    ex = srv.part("network").networks[0]
    ex.subscribers["8801"] = Subscriber("8801", Behaviour.ANSWER, answer_after=1.0, hold_for=None, speech=False)
    bus, seen = listen(srv)
    far = FarFax(srv, lambda: FaxSession.receive(tmp_path / "far.tif", calling=False), number="8801")
    try:
        place(srv, 0.5, digits="8801", hold_for=None)
        wait_event(srv, seen, "FaxCampaignEnded", 120.0)
        cleared = [e for e in seen if e["type"] == "CallCleared"]
        assert cleared[0]["call"] == "1"                       # the caller was released first
        (ended,) = [e for e in seen if e["type"] == "FaxCampaignEnded"]
        assert ended["results"]["8801"]["ok"] and ended["results"]["8801"]["pages"] == 2
        assert far.session is not None and far.session.completed is not None and far.session.completed.ok
    finally:
        srv.close()


@pytest.mark.system
def test_a_failing_tts_engine_does_not_stop_the_menu(tmp_path: Path) -> None:
    import sys

    f = tmp_path / "ivr.toml"
    f.write_text("""
[ivr]
start = "main"
[ivr.menus.main]
say = "welcome"
max_digits = 1
timeout = 5.0
options."1" = { queue = "sales" }
""")
    srv, centre = make_server(tmp_path, {"agents": AGENTS, "ivr": str(f), "route_points": {"4100": "ivr"},
                                         "queues": {"sales": {}}}, spans=1)
    media(srv, centre, tmp_path, tts={"engine": "command", "timeout": 5.0,
                                      "command": [sys.executable, "-c", "import sys; sys.exit('engine licence expired')"]})
    bus, seen = listen(srv)
    caller = Phone("caller", None)
    attach_phones(srv.board, 0, {1: caller})
    try:
        place(srv, 0.5, digits="", hold_for=None)
        wait_event(srv, seen, "TtsFailed", 30.0, pace_ms=20)       # the engine is a subprocess
        (failed,) = [e for e in seen if e["type"] == "TtsFailed"]
        assert "licence expired" in failed["error"] and failed["topic"] == "media.tts"
        call = failed["call"]
        caller.dial("1")                                        # the menu still collects: the caller goes on
        run_until(srv, srv.now() + 3.0)
        assert any(e["type"] == "CallQueued" and e["call"] == call for e in seen)
    finally:
        srv.close()


@pytest.mark.system
def test_ivr_ports_come_from_the_voice_pool(tmp_path: Path, ivr_file: str) -> None:
    srv, centre = make_server(tmp_path, {"agents": AGENTS, "ivr": ivr_file, "route_points": {"4100": "ivr"},
                                         "queues": {"sales": {}}}, spans=1)
    m = media(srv, centre, tmp_path, pools={"fax": 1, "voice": 1})
    bus, seen = listen(srv)
    try:
        place(srv, 0.5, calling="13800000001", hold_for=None)
        place(srv, 1.5, calling="13800000002", hold_for=None)
        ev = wait_event(srv, seen, "ResourceExhausted", 20.0)
        assert ev["kind"] == "voice" and ev["treatment"] == "busy prompt"
        assert m.pools.usage()["voice"]["busy"] == 1
        wait_event(srv, seen, "CallCleared", 20.0)             # the second caller: busy prompt, released
        assert len(srv.model.calls) == 1
        run_until(srv, srv.now() + 30.0)                        # the first: no digit, on_fail hangs up
        assert not srv.model.calls and m.pools.usage()["voice"]["busy"] == 0
        assert m.pools.usage()["voice"]["refused"] == 1
    finally:
        srv.close()
