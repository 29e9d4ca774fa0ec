"""Call-progress tones: generator figures, cadence recognition per country, voice, bad input.

Every test runs on both kernels; the talk-off battery (17 min of speech and music) runs on
the compiled kernel (the twin when it is not built).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import compiled_or_twin, kernel_impls, load_impl

RATE = 8000
TONES = ("dial", "busy", "ringback", "congestion")
COUNTRIES = ("cn", "itu", "us", "gb")


@pytest.fixture(scope="module", params=kernel_impls("tones"))
def t(request):
    return load_impl(request.param)


def names(events, channel=None):
    return [e.tone for e in events if channel is None or e.channel == channel]


def white(n, level_dbm0, seed):
    rng = np.random.default_rng(seed)
    sigma = 22812.0 / np.sqrt(2) * 10 ** (level_dbm0 / 20)
    return rng.normal(0, sigma, n)


def alaw_round_trip(x):
    from _boardcore import g711
    return g711.alaw_decode(g711.alaw_encode(x))


# --- the table ------------------------------------------------------------------------------

def test_table(t):
    cn = t.COUNTRIES["cn"]
    assert cn["dial"] == {"freqs": (450,), "level_dbm0": -10.0, "cadence": ()}
    assert cn["busy"]["cadence"] == (0.35, 0.35)
    assert cn["ringback"]["cadence"] == (1.0, 4.0)
    assert cn["congestion"]["cadence"] == (0.7, 0.7)
    for c in COUNTRIES:
        assert set(t.COUNTRIES[c]) == set(TONES)
        for spec in t.COUNTRIES[c].values():
            assert len(spec["cadence"]) % 2 == 0 and all(d > 0 for d in spec["cadence"])


# --- generation ----------------------------------------------------------------------------

@pytest.mark.parametrize("country", COUNTRIES)
@pytest.mark.parametrize("name", TONES)
def test_generated_cadence_frequency_and_level(t, country, name):
    spec = t.COUNTRIES[country][name]
    x = t.generate(name, 12.0, country=country, level_dbm0=-10.0)
    assert x.dtype == np.int16 and x.shape == (12 * RATE,)
    on = np.abs(x.astype(np.int32)) > 0
    # on/off runs, measured on 1 ms blocks (a sine crosses zero inside a run)
    blocks = on.reshape(-1, 8).any(axis=1)
    edges = np.flatnonzero(np.diff(blocks.astype(np.int8))) + 1
    runs = np.diff(np.concatenate([[0], edges, [len(blocks)]])) / 1000.0
    cad = spec["cadence"]
    if not cad:
        assert blocks.all()
    else:
        for i, r in enumerate(runs[:-1]):
            assert abs(r - cad[i % len(cad)]) <= 0.002, (i, r)
    seg = x[: int(RATE * (cad[0] if cad else 1.0))].astype(np.float64)
    # each frequency at -10 dBm0: power = n * (peak^2 / 2)
    want = len(spec["freqs"]) * (22812.0 * 10 ** (-0.5)) ** 2 / 2
    assert abs(10 * np.log10(np.mean(seg ** 2) / want)) < 0.2
    spectrum = np.abs(np.fft.rfft(seg))
    peaks = sorted(np.argsort(spectrum)[-len(spec["freqs"]):] * RATE / len(seg))
    assert np.allclose(peaks, sorted(spec["freqs"]), atol=2.0)


def test_generator_is_continuous(t):
    whole = t.generate("ringback", 7.0, country="gb")
    gen = t.ToneGenerator("ringback", country="gb")
    parts = [gen.read(n) for n in (1, 159, 160, 7777, 0, 48000 - 8097, 8000)]
    assert np.array_equal(np.concatenate(parts), whole)


# --- recognition ---------------------------------------------------------------------------

#: the latest a tone may be recognised, seconds (a full cycle plus the next on, or more)
def deadline(spec):
    cad = spec["cadence"]
    if not cad:
        return 1.5
    return 2 * sum(cad) + cad[0] + 0.3 if len(cad) == 2 else sum(cad) * 2 + 0.3


@pytest.mark.parametrize("country", COUNTRIES)
@pytest.mark.parametrize("name", TONES)
def test_recognised_alone(t, country, name):
    x = t.generate(name, 14.0, country=country)
    ev = t.detect(x, country=country)
    assert names(ev) == [name], ev
    assert ev[0].time <= deadline(t.COUNTRIES[country][name])


@pytest.mark.parametrize("offset_hz, want", [(-20, ["busy"]), (-10, ["busy"]), (15, ["busy"]),
                                              (20, ["busy"]), (150, ["voice"]), (-200, ["voice"])])
def test_frequency_tolerance(t, offset_hz, want):
    """450 Hz busy generated up to 20 Hz (4 %) off is still busy; a tone far off is not."""
    n = np.arange(3 * RATE)
    on = (n % 5600) < 2800                                   # 0.35 s on / 0.35 s off
    x = np.sin(2 * np.pi * (450 + offset_hz) * n / RATE) * 22812 * 10 ** (-0.5) * on
    assert names(t.detect(x.astype(np.int16))) == want


@pytest.mark.parametrize("country", ["cn", "gb"])
def test_many_channels_offsets_noise_levels_alaw(t, country):
    """A span of 30 channels in one call: every tone, random phase of its cadence, level
    -10..-30 dBm0, white noise 20 dB below, through A-law; fed in blocks of 160."""
    rng = np.random.default_rng(11)
    chans, want = [], []
    for c in range(30):
        name = TONES[c % 4]
        level = float(rng.uniform(-30, -10))
        skip = int(rng.integers(0, 5 * RATE))
        x = t.generate(name, 16.0, country=country, level_dbm0=level)[skip:skip + 10 * RATE]
        x = x + white(len(x), level - 20, c)
        x = alaw_round_trip(np.clip(x, -32768, 32767).astype(np.int16))
        chans.append(x)
        want.append(name)
    block = np.stack(chans)
    det = t.CadenceDetector(30, country=country)
    events = []
    for i in range(0, block.shape[1], 160):
        events += det.process(np.ascontiguousarray(block[:, i:i + 160]), i / RATE)
    for c in range(30):
        got = names(events, c)
        # ringback needs a whole 5 s cycle after a partial first one
        assert got == [want[c]], (c, want[c], got)
        assert det.current(c) == want[c]
    assert [(e.time, e.channel) for e in events] == sorted((e.time, e.channel) for e in events)


def test_block_sizes_do_not_matter(t):
    rng = np.random.default_rng(3)
    x = np.concatenate([t.generate("busy", 3.0), np.zeros(RATE, np.int16), t.generate("congestion", 4.0),
                        (white(2 * RATE, -20, 1)).astype(np.int16), t.generate("dial", 2.0)])
    ref = t.detect(x)
    det = t.CadenceDetector(1)
    got, i = [], 0
    while i < len(x):
        n = int(rng.integers(0, 700))
        got += det.process(x[i:i + n], i / RATE)
        i += n
    assert [(e.tone, round(e.time, 6)) for e in got] == [(e.tone, round(e.time, 6)) for e in ref]
    # noise after congestion is loud non-tonal energy ("voice") until the background
    # level has caught up with it
    assert names(ref) == ["busy", "silence", "congestion", "voice", "dial"]


def test_stop_reports_silence_and_voice(t):
    x = np.concatenate([t.generate("ringback", 11.0), np.zeros(6 * RATE, np.int16)])
    ev = t.detect(x)
    assert names(ev) == ["ringback", "silence"] and 15.0 < ev[1].time < 16.0   # off > 4 s + 20 %
    x = np.concatenate([t.generate("dial", 2.0), np.zeros(RATE, np.int16)])
    ev = t.detect(x)
    assert names(ev) == ["dial", "silence"] and 2.0 < ev[1].time < 2.7


def test_ringback_then_answer_is_voice(t):
    """The outbound dialler's case: ringback, then the callee speaks."""
    from tests.audio_corpus import talkoff_speech
    speech = talkoff_speech()[0][1][: 3 * RATE]
    x = np.concatenate([t.generate("ringback", 6.0), alaw_round_trip(speech)])
    ev = t.detect(x)
    assert names(ev)[:2] == ["ringback", "voice"], ev
    assert 6.0 < ev[1].time < 6.8


@pytest.mark.system
def test_speech_and_music_never_make_tones():
    """Talk-off: 17 minutes of speech in 8 languages and synthetic music, every country."""
    from tests.audio_corpus import talkoff_music, talkoff_speech
    t = compiled_or_twin("tones")
    corpus = talkoff_speech() + talkoff_music()
    for country in COUNTRIES:
        for name, x in corpus:
            bad = [e for e in t.detect(x, country=country) if e.tone in TONES]
            assert not bad, (country, name, bad)


def test_reset(t):
    det = t.CadenceDetector(2)
    x = np.stack([t.generate("busy", 2.0), t.generate("busy", 2.0)])
    assert names(det.process(x, 0.0)) == ["busy", "busy"]
    det.reset(0)
    assert det.current(0) == "none" and det.current(1) == "busy"
    det.reset()
    assert det.current(1) == "none"
    with pytest.raises(ValueError):
        det.reset(2)
    with pytest.raises(TypeError):
        det.current("0")


# --- properties and bad input ---------------------------------------------------------------

@pytest.mark.system
@given(st.binary(max_size=4000).filter(lambda b: len(b) % 4 == 0), st.sampled_from(COUNTRIES))
def test_arbitrary_samples_never_raise(t, data, country):
    det = t.CadenceDetector(2, country=country)
    for e in det.process(data, 0.0) + det.process(data, 1.0):
        assert e.channel in (0, 1)
        assert e.tone in TONES + ("voice", "silence", "none")


@pytest.mark.system
@given(st.integers(-32768, 32767), st.integers(0, 3))
def test_constant_signals(t, value, country_i):
    ev = t.detect(np.full(3 * RATE, value, np.int16), country=COUNTRIES[country_i])
    assert all(e.tone not in TONES for e in ev)


@pytest.mark.parametrize("bad, exc", [
    (np.zeros((2, 160), np.float64), TypeError),
    (np.zeros((2, 160), np.int32), TypeError),
    (np.zeros((3, 160), np.int16), ValueError),
    (np.zeros(321, np.int16), ValueError),
    (np.zeros((2, 2, 80), np.int16), ValueError),
    (b"\x00" * 641, ValueError),
    ("x" * 640, TypeError),
    ([0] * 320, TypeError),
])
def test_bad_samples(t, bad, exc):
    with pytest.raises(exc):
        t.CadenceDetector(2).process(bad, 0.0)


def test_bad_arguments(t):
    det = t.CadenceDetector(1)
    with pytest.raises(ValueError):
        det.process(np.zeros(160, np.int16), float("nan"))
    with pytest.raises(TypeError):
        det.process(np.zeros(160, np.int16), "now")
    assert det.process(np.zeros(0, np.int16), 0.0) == []
    for kwargs, exc in (({"channels": 0}, ValueError), ({"channels": 1.5}, TypeError),
                        ({"channels": 1, "country": "xx"}, ValueError), ({"channels": 1, "country": 3}, TypeError),
                        ({"channels": 1, "rate": 8001}, ValueError), ({"channels": 1, "rate": "8k"}, TypeError)):
        with pytest.raises(exc):
            t.CadenceDetector(**kwargs)
    with pytest.raises(ValueError):
        t.generate("howler", 1.0)
    with pytest.raises(ValueError):
        t.generate("busy", -1.0)
    with pytest.raises(ValueError):
        t.generate("busy", float("nan"))
    with pytest.raises(ValueError):
        t.generate("busy", 1.0, level_dbm0=float("inf"))
    with pytest.raises(ValueError):
        t.generate("busy", 1.0, country="zz")
    with pytest.raises(ValueError):
        t.ToneGenerator("dial").read(-1)


def test_twin_and_compiled_agree():
    """Same events and state from both kernels on 8 channels of mixed tones, speech and noise."""
    from _boardcore import _select
    from tests.audio_corpus import talkoff_speech
    comp = _select.compiled("tones")
    if comp is None:
        pytest.skip("tones_c not built")
    twin = _select.twin("tones")
    speech = talkoff_speech()[1][1]
    rng = np.random.default_rng(5)
    chans = []
    for c in range(8):
        parts = [twin.generate(TONES[(c + k) % 4], float(rng.uniform(1, 6)), country="gb") for k in range(3)]
        parts.insert(int(rng.integers(0, 3)), speech[: int(rng.integers(RATE, 3 * RATE))])
        x = np.concatenate(parts + [np.zeros(20 * RATE, np.int16)])[: 20 * RATE]
        chans.append(np.clip(x + white(len(x), -45, c), -32768, 32767).astype(np.int16))
    block = np.stack(chans)
    a, b = comp.CadenceDetector(8, country="gb"), twin.CadenceDetector(8, country="gb")
    ea, eb = [], []
    for i in range(0, block.shape[1], 480):
        chunk = np.ascontiguousarray(block[:, i:i + 480])
        ea += a.process(chunk, i / RATE)
        eb += b.process(chunk, i / RATE)
    assert [(e.channel, e.tone, round(e.time, 9)) for e in ea] == [(e.channel, e.tone, round(e.time, 9)) for e in eb]
    assert np.array_equal(a.state, b.state)
    assert len(ea) >= 16


def test_wideband_rate(t):
    """16 kHz (frames of 320 samples): the same recognition."""
    x = t.generate("busy", 3.0, rate=16000)
    assert x.shape == (48000,)
    assert names(t.detect(x, rate=16000)) == ["busy"]
    assert names(t.detect(t.generate("ringback", 7.0, country="us", rate=16000), country="us", rate=16000)) == ["ringback"]
