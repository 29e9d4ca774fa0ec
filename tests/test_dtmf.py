"""DTMF kernel: API, bad input and a representative quality subset, on both implementations.

The long Q.24 battery (every Q.24 / LSSGR requirement, A-law round trip, talk-off corpus) is
tests/test_dtmf_battery.py and runs on the compiled kernel.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import kernel_impls, load_impl


@pytest.fixture(params=kernel_impls("dtmf"))
def dtmf(request):
    return load_impl(request.param)


DIGITS = "0123456789*#ABCD"


def starts(events):
    return [e for e in events if e.kind == "start"]


def test_public_module_exports_live_impl():
    from _boardcore import dtmf

    assert dtmf.IMPLEMENTATION in ("compiled", "python")
    assert dtmf.detect(dtmf.DtmfGenerator().generate("159#")) == "159#"


def test_all_digits_default_generator(dtmf):
    pcm = dtmf.DtmfGenerator().generate(DIGITS)
    assert dtmf.detect(pcm) == DIGITS
    assert dtmf.detect(pcm.tobytes()) == DIGITS
    assert dtmf.detect(bytearray(pcm.tobytes())) == DIGITS


def test_events_have_start_stop_and_times(dtmf):
    gen = dtmf.DtmfGenerator(on_ms=60, off_ms=60)
    pcm = np.concatenate([np.zeros(800, np.int16), gen.generate("5")])
    det = dtmf.DtmfDetector(1)
    events = det.process(pcm, 10.0) + det.process(np.zeros(800, np.int16), 10.0 + pcm.size / 8000)
    assert [(e.channel, e.digit, e.kind) for e in events] == [(0, "5", "start"), (0, "5", "stop")]
    assert events[0].time == pytest.approx(10.1, abs=0.011)
    assert events[1].time == pytest.approx(10.16, abs=0.011)


def test_blocks_of_any_size_give_the_same_events(dtmf):
    pcm = dtmf.DtmfGenerator(level_dbm0=-20, on_ms=45, off_ms=45).generate("147*2580#369")
    whole = dtmf.DtmfDetector(1).process(pcm, 0.0)
    for size in (160, 37, 1000):
        det = dtmf.DtmfDetector(1)
        events = []
        for i in range(0, pcm.size, size):
            events += det.process(pcm[i:i + size], i / 8000)
        assert [(e.digit, e.kind) for e in events] == [(e.digit, e.kind) for e in whole]
        assert [e.time for e in events] == pytest.approx([e.time for e in whole], abs=1e-9)


def test_thirty_channels_keep_separate_state(dtmf):
    gen = dtmf.DtmfGenerator(level_dbm0=-15, on_ms=50, off_ms=50)
    strings = [DIGITS[c % 16:] + DIGITS[:c % 16] for c in range(30)]
    sig = np.stack([np.concatenate([np.zeros(20 * c, np.int16), gen.generate(s)])[:16 * 800] for c, s in
                    enumerate(strings)])
    det = dtmf.DtmfDetector(30)
    events = []
    for i in range(0, sig.shape[1], 160):
        events += det.process(np.ascontiguousarray(sig[:, i:i + 160]), i / 8000)
    assert events == sorted(events, key=lambda e: e.time)
    for c in range(30):
        got = "".join(e.digit for e in starts(events) if e.channel == c)
        assert got == strings[c][:len(got)] and len(got) >= 15, (c, got)


def test_reset_forgets_a_digit_in_progress(dtmf):
    gen = dtmf.DtmfGenerator(on_ms=100, off_ms=0)
    tone = gen.generate("7")
    det = dtmf.DtmfDetector(2)
    ev = det.process(np.stack([tone, tone]), 0.0)
    assert sorted(e.channel for e in starts(ev)) == [0, 1]
    det.reset(1)
    ev = det.process(np.zeros((2, 800), np.int16), 0.1)
    assert [(e.channel, e.kind) for e in ev] == [(0, "stop")]
    det.reset()
    with pytest.raises(ValueError):
        det.reset(2)


def test_level_and_twist_limits(dtmf):
    for level in (-3, -26):
        assert dtmf.detect(dtmf.DtmfGenerator(level_dbm0=level).generate(DIGITS)) == DIGITS
    assert dtmf.detect(dtmf.DtmfGenerator(level_dbm0=-55).generate(DIGITS)) == ""
    assert dtmf.detect(dtmf.DtmfGenerator(twist_db=-8).generate(DIGITS)) == DIGITS
    assert dtmf.detect(dtmf.DtmfGenerator(twist_db=4).generate(DIGITS)) == DIGITS


def test_quiet_digits_down_to_minus_36_dbm0(dtmf):
    """The weaker tone down to -36 dBm0 (spandsp's range; Q.24 asks -26), 40 ms tones,
    twist -8..+3 dB, +/-1.5 %, through A-law; -45 dBm0 per tone stays silent."""
    from _boardcore import g711

    def alaw(x):
        return np.asarray(g711.alaw_decode(g711.alaw_encode(x)), dtype=np.int16)

    for tw in (0, -8, 3):
        low = -36 - tw if tw < 0 else -36
        for dev in (-0.015, 0.0, 0.015):
            x = dtmf.DtmfGenerator(level_dbm0=low, twist_db=tw, on_ms=40, off_ms=40,
                                   low_dev=dev, high_dev=-dev).generate(DIGITS)
            assert dtmf.detect(alaw(np.concatenate([np.zeros(400, np.int16), x]))) == DIGITS, (tw, dev)
    assert dtmf.detect(alaw(dtmf.DtmfGenerator(level_dbm0=-45).generate(DIGITS))) == ""


def test_frequency_and_timing_limits(dtmf):
    for dev in (0.015, -0.015):
        assert dtmf.detect(dtmf.DtmfGenerator(low_dev=dev, high_dev=dev).generate(DIGITS)) == DIGITS
    for dev in (0.035, -0.035):
        assert dtmf.detect(dtmf.DtmfGenerator(low_dev=dev).generate(DIGITS)) == ""
        assert dtmf.detect(dtmf.DtmfGenerator(high_dev=dev).generate(DIGITS)) == ""
    assert dtmf.detect(dtmf.DtmfGenerator(on_ms=40, off_ms=40).generate(DIGITS)) == DIGITS
    assert dtmf.detect(dtmf.DtmfGenerator(on_ms=23, off_ms=40).generate(DIGITS)) == ""


def test_interruption_of_10ms_is_bridged(dtmf):
    gen = dtmf.DtmfGenerator(level_dbm0=-20, on_ms=0, off_ms=0)
    for d in "19*D":
        x = gen.pair(d, 800)
        x[400:480] = 0
        assert dtmf.detect(x) == d


def test_generator_figures(dtmf):
    gen = dtmf.DtmfGenerator(level_dbm0=-10, on_ms=60, off_ms=50, twist_db=-2)
    x = gen.generate("1")
    assert x.dtype == np.int16 and x.size == 880
    assert not x[480:].any()
    spec = np.abs(np.fft.rfft(x[:480].astype(float), 8000))
    lo, hi = 697 + np.argmax(spec[697 - 20:697 + 21]) - 20, 1209 + np.argmax(spec[1209 - 20:1209 + 21]) - 20
    assert abs(lo - 697) <= 1 and abs(hi - 1209) <= 1
    assert 20 * np.log10(spec[hi] / spec[lo]) == pytest.approx(-2, abs=0.2)
    power = np.mean(x[:480].astype(float) ** 2)
    expect = 22812.0 ** 2 / 2 * (10 ** -1 + 10 ** -1.2)
    assert 10 * np.log10(power / expect) == pytest.approx(0, abs=0.1)
    assert gen.generate("").size == 0


@pytest.mark.parametrize("bad,exc", [
    (np.zeros(160, np.float64), TypeError),
    (np.zeros(160, np.int32), TypeError),
    (np.full(160, np.nan), TypeError),
    (b"\x00" * 3, ValueError),
    ("abc", TypeError),
    (None, TypeError),
    (np.zeros((2, 2, 40), np.int16), ValueError),
])
def test_bad_samples(dtmf, bad, exc):
    with pytest.raises(exc):
        dtmf.detect(bad)
    with pytest.raises(exc):
        dtmf.DtmfDetector(1).process(bad, 0.0)


def test_bad_arguments(dtmf):
    det = dtmf.DtmfDetector(2)
    with pytest.raises(ValueError):
        det.process(np.zeros(161, np.int16), 0.0)           # does not split into 2 channels
    with pytest.raises(ValueError):
        det.process(np.zeros((3, 160), np.int16), 0.0)
    with pytest.raises(ValueError):
        det.process(np.zeros((2, 160), np.int16), float("nan"))
    with pytest.raises(TypeError):
        det.process(np.zeros((2, 160), np.int16), "now")
    assert det.process(np.zeros((2, 0), np.int16), 0.0) == []
    assert dtmf.detect(b"") == ""
    for args in [(0,), (5000,), (True,)]:
        with pytest.raises((TypeError, ValueError)):
            dtmf.DtmfDetector(*args)
    with pytest.raises(ValueError):
        dtmf.DtmfDetector(1, rate=16000)
    with pytest.raises(ValueError):
        dtmf.detect(np.zeros(10, np.int16), rate=44100)
    with pytest.raises(ValueError):
        dtmf.DtmfGenerator().generate("12E")
    with pytest.raises(TypeError):
        dtmf.DtmfGenerator().generate(12)
    for kw in [dict(level_dbm0=float("nan")), dict(level_dbm0=10), dict(on_ms=-1), dict(twist_db=float("inf")),
               dict(rate=16000)]:
        with pytest.raises(ValueError):
            dtmf.DtmfGenerator(**kw)


def test_fullscale_garbage_does_not_crash(dtmf):
    rng = np.random.default_rng(4)
    x = rng.integers(-32768, 32768, size=(3, 8000), dtype=np.int16)
    x[1] = 32767
    x[2] = -32768
    events = dtmf.DtmfDetector(3).process(x, 0.0)
    assert all(e.digit in DIGITS for e in events)


@settings(max_examples=40)
@given(digits=st.text(alphabet=DIGITS, min_size=1, max_size=8),
       level=st.floats(-26, -3), twist=st.floats(-8, 4), on_ms=st.floats(40, 120), off_ms=st.floats(40, 120),
       dev=st.floats(-0.015, 0.015))
def test_generated_digits_always_decode(digits, level, twist, on_ms, off_ms, dev):
    from _boardcore import dtmf_py

    for dtmf in {dtmf_py, __import__("_boardcore.dtmf", fromlist=["x"])}:
        level = min(max(level, -26 - min(twist, 0)), -3 - max(twist, 0))   # both tones in -26..-3 dBm0
        gen = dtmf.DtmfGenerator(level_dbm0=level, twist_db=twist, on_ms=on_ms, off_ms=off_ms,
                                 low_dev=dev, high_dev=-dev)
        assert dtmf.detect(gen.generate(digits)) == digits


@settings(max_examples=60)
@given(data=st.binary(max_size=4000), channels=st.integers(1, 4))
def test_arbitrary_bytes_never_crash(data, channels):
    from _boardcore import dtmf, dtmf_py

    for mod in {dtmf, dtmf_py}:
        det = mod.DtmfDetector(channels)
        try:
            events = det.process(data, 0.0)
        except ValueError:
            assert len(data) % 2 or (len(data) // 2) % channels
            continue
        assert all(e.digit in DIGITS and e.kind in ("start", "stop") for e in events)


def test_noise_15db_snr_subset(dtmf):
    from audio_corpus import white_noise

    x = dtmf.DtmfGenerator(level_dbm0=-12, on_ms=50, off_ms=50).generate(DIGITS).astype(np.int32)
    noise = white_noise(x.size, -12 + 3 - 15, seed=3)            # two tones at -12 = -9 dBm0 total
    y = np.clip(x + noise, -32768, 32767).astype(np.int16)
    assert dtmf.detect(y) == DIGITS


def test_twin_and_compiled_give_the_same_events():
    from conftest import _select
    import test_dtmf_battery as battery

    c = _select.compiled("dtmf")
    if c is None:
        pytest.skip("compiled _boardcore.dtmf_c not built")
    py = _select.twin("dtmf")
    for case in battery.cases()[::3]:
        a = py.DtmfDetector(1).process(case.signal, 1.5)
        b = c.DtmfDetector(1).process(case.signal, 1.5)
        assert [(e.digit, e.kind) for e in a] == [(e.digit, e.kind) for e in b], case.name
        assert [e.time for e in a] == pytest.approx([e.time for e in b], abs=1e-9)
