"""The simulated exchanges' in-band audio on calls we place (ringback, busy / congestion tone,
the answering party's speech, PBX lines), heard on our side of the span by the cadence
detector; the No.1 numbering plan that lets 11-digit numbers through; scenario subscribers."""
from __future__ import annotations

import numpy as np
import pytest

from _boardcore.g711 import alaw_decode
from _boardcore.tones import CadenceDetector
from cti.signaling.no1.config import No1Config
from cti.signaling.no1.register import IncomingRegister
from simulator.exchange.base import Behaviour as B, Subscriber
from simulator.exchange.inband import InbandPlayer, SyntheticVoice
from cti.plugin import Component
from simulator.scenario import ScenarioConfig
from tests.test_contact_load import restore_bus_requests  # noqa: F401 (fixture)
from tests.test_outbound_live import make_server as live_server


@pytest.fixture
def server(tmp_path):
    srv, centre = live_server(tmp_path, {})
    t_end = srv.now() + 10.0
    while not srv.part("network").networks[1].up and srv.now() < t_end:
        srv.step(0)
    assert srv.part("network").networks[1].up
    yield srv, centre
    srv.close()


class Ear:
    """Our side of one call: the cadence detector on its timeslot (through the centre's tap),
    from the first alerting or answer on (before that, No.1 MFC tones are on the timeslot)."""

    def __init__(self, centre, circuit):
        self.det = CadenceDetector(1)
        self.events: list[tuple[float, str]] = []
        self.octets = 0
        self.armed = False
        self.stop = centre.listen(circuit, self.feed)

    def feed(self, alaw: bytes, t: float) -> None:
        if not self.armed:
            return
        self.octets += len(alaw)
        for e in self.det.process(alaw_decode(alaw), t):
            self.events.append((e.time, e.tone))

    def tones(self) -> list[str]:
        return [w for _, w in self.events if w not in ("silence", "none")]


class _Hook(Component):
    """Every event the server publishes, to ``fn`` (a server component)."""

    def __init__(self, fn) -> None:
        self.fn = fn
        self.name = f"test-hook-{id(self)}"

    def events(self):
        return None

    def on_event(self, event) -> None:
        self.fn(event)


def call(srv, centre, number: str, trunk: str, seconds: float, sub: Subscriber | None = None):
    ex = srv.part("network").networks[0 if trunk == "no1" else 1]
    if sub is not None:
        ex.subscribers[number] = sub
    got = srv.model.make_call("9000", number, srv.now(), trunk=trunk)
    ear = Ear(centre, (got["span"], got["ts"]))
    types: list[str] = []

    def hook(e) -> None:
        if getattr(e, "call", None) == got["call"]:
            types.append(type(e).__name__)
            ear.armed = ear.armed or types[-1] in ("Delivered", "Established")
    srv.add(_Hook(hook))
    end = srv.now() + seconds
    while srv.now() < end:
        srv.step(0)
    rec = next(r for r in reversed(ex.records) if r.direction == "from_us")
    return got["call"], ear, types, rec


@pytest.mark.system
@pytest.mark.parametrize("trunk", ["no1", "ss7"])
def test_ringback_then_the_answering_party_speaks(server, trunk):
    srv, centre = server
    cid, ear, types, rec = call(srv, centre, "13912345678", trunk, 14.0,
                                Subscriber("13912345678", B.ANSWER, answer_after=8.0, hold_for=None))
    assert rec.called == "13912345678"                   # the whole 11-digit number got through
    assert "Delivered" in types and "Established" in types
    assert [w for _, w in rec.extra["inband"]] == ["ringback", "voice"]
    heard = ear.tones()
    assert heard[:2] == ["ringback", "voice"], ear.events
    t_voice = next(t for t, w in ear.events if w == "voice")
    assert t_voice >= rec.answered_at
    srv.model.clear_connection(cid, srv.now())


@pytest.mark.system
@pytest.mark.parametrize("trunk", ["no1", "ss7"])
@pytest.mark.parametrize("behaviour,tone", [(B.BUSY_TONE, "busy"), (B.CONGESTION_TONE, "congestion")])
def test_busy_only_in_band(server, trunk, behaviour, tone):
    srv, centre = server
    cid, ear, types, rec = call(srv, centre, "13900000123", trunk, 6.0, Subscriber("13900000123", behaviour))
    assert "Delivered" in types and "Failed" not in types and "CallCleared" not in types   # signalling: alerting
    assert ear.tones() == [tone]
    srv.model.clear_connection(cid, srv.now())
    for _ in range(30):
        srv.step(0)
    assert rec.outcome == behaviour.value and rec.cleared_by == "near"


@pytest.mark.system
@pytest.mark.parametrize("trunk", ["no1", "ss7"])
def test_pbx_answers_the_trunk_then_rings_its_extension(server, trunk):
    srv, centre = server
    cid, ear, types, rec = call(srv, centre, "13900000456", trunk, 16.0,
                                Subscriber("13900000456", B.ANSWER, pbx=True, answer_after=11.0, hold_for=None))
    assert "Established" in types                       # the PBX answered the trunk at once ...
    assert ear.tones()[:2] == ["ringback", "voice"]    # ... then rang its extension, which answered
    assert rec.extra.get("extension_answered_at") is not None
    srv.model.clear_connection(cid, srv.now())
    for _ in range(30):
        srv.step(0)
    assert rec.outcome == "answered"


@pytest.mark.system
def test_signalled_busy_still_releases_at_once_and_silent_exchange_plays_nothing(server):
    srv, centre = server
    _, ear, types, rec = call(srv, centre, "13900000789", "ss7", 2.0, Subscriber("13900000789", B.BUSY))
    assert "Failed" in types and rec.outcome == "busy" and "inband" not in rec.extra
    srv.part("network").networks[1].inband = None                       # the exchange without in-band audio
    cid, ear, types, rec = call(srv, centre, "13900000790", "ss7", 8.0, Subscriber("13900000790", B.NO_ANSWER))
    assert "Delivered" in types and ear.octets > 0 and ear.tones() == []
    srv.model.clear_connection(cid, srv.now())


def test_player_writes_exactly_the_time_that_passed():
    class Span:
        number = 3

        def __init__(self):
            self.out = bytearray()

        def write_audio(self, ts, alaw):
            self.out += alaw
    sp = Span()
    p = InbandPlayer([sp])
    p.play((3, 5), "ringback", 0.0)
    t = 0.0
    for _ in range(500):
        t += 0.02
        p.service(t)
    assert len(sp.out) == 80000 and p.what((3, 5)) == "ringback"
    pcm = alaw_decode(bytes(sp.out))
    on = np.abs(pcm[:8000]).max()
    assert on > 5000 and np.abs(pcm[8000:40000]).max() < 16      # 1 s on, 4 s off (China ringback)
    p.play((3, 5), None, t)
    p.service(t + 1.0)
    assert len(sp.out) == 80000 and p.what((3, 5)) is None


def test_synthetic_voice_is_deterministic_and_checks_its_arguments():
    a, b = SyntheticVoice(4).read(4000), SyntheticVoice(4).read(4000)
    assert np.array_equal(a, b) and a.dtype == np.int16 and np.abs(a).max() > 1000
    v = SyntheticVoice(4)
    assert np.array_equal(np.concatenate([v.read(1000), v.read(3000)]), a)   # block size does not matter
    for bad in (dict(level_dbm0=5.0), dict(pitch=(300.0, 100.0))):
        with pytest.raises(ValueError):
            SyntheticVoice(1, **bad)
    with pytest.raises(ValueError):
        SyntheticVoice(1).read(-1)


def test_no1_numbering_plan():
    cfg = No1Config.from_dict({"dnis_lengths": {"13": 11, "0": 0}})
    assert cfg.dnis_lengths == {"13": 11, "0": 0} and No1Config().dnis_lengths == {}
    for bad in ({"1x": 11}, {"13": 31}, {"13": "11"}, {"13": True}):
        with pytest.raises(ValueError):
            No1Config.from_dict({"dnis_lengths": bad})

    def collect(number: str, **kw) -> tuple[str, int | None]:
        """The called number the register collects, and after how many digits it sent A3."""
        reg = IncomingRegister(variant="cn", ani=False, **kw)
        reg.start(0.0)
        t, a3 = 0.0, None
        for i, d in enumerate(number):
            reg.receive(10 if d == "0" else int(d), t)
            if reg.data_to_send(t) == 3 and a3 is None:  # A3: address complete, change to group B
                a3 = i + 1
            reg.receive(0, t + 0.05)
            t += 0.1
        return reg.dnis, a3
    assert collect("13912345678", dnis_length=4, dnis_lengths={"13": 11}) == ("13912345678", 11)
    assert collect("1391", dnis_length=4, dnis_lengths={"13": 11}) == ("1391", None)      # waits for more
    assert collect("1234", dnis_length=4, dnis_lengths={"13": 11}) == ("1234", 4)         # the default length
    assert collect("13912345678", dnis_length=4)[1] == 4                                  # without the plan


def test_scenario_subscribers_reach_the_exchanges(server):
    srv, _ = server
    from simulator.scenario import Scenario
    sc = ScenarioConfig.from_dict({"scenario": {"rate": 0, "outbound_rate": 0, "subscribers": {
        "13900000001": {"behaviour": "busy_tone", "pbx": True}, "13900000002": {"behaviour": "no_answer"}}}})
    Scenario(sc, srv.part("network").networks)
    for ex in srv.part("network").networks:
        assert ex.subscriber("13900000001").behaviour is B.BUSY_TONE and ex.subscriber("13900000001").pbx
        assert ex.subscriber("13900000002").behaviour is B.NO_ANSWER
    for bad in ({"1": {"behaviour": "nope"}}, {"1": {"colour": 1}}, {"1": {"pbx": "yes"}}, {"1": 3}, [1]):
        with pytest.raises(ValueError):
            ScenarioConfig.from_dict({"scenario": {"subscribers": bad}})
