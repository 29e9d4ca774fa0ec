"""Property tests (hypothesis) for the MF kernel, on both implementations.

Generator -> detector for random signal sequences at random levels, twists and frequency
offsets inside the Q.441 accept region; any bytes, any block split: no crash, valid events;
bad arguments: TypeError / ValueError.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _boardcore.mf_py import SIGNAL_PAIRS
from conftest import kernel_impls, load_impl

from test_mf_signals import RATE, alaw_roundtrip, to_int16, tone_pair
import itertools


@pytest.fixture(params=kernel_impls("mf"), scope="module")
def mf(request):
    return load_impl(request.param)


RASTERS = st.sampled_from([(True, 6), (False, 6), (False, 4)])


@st.composite
def sequences(draw):
    """(forward, frequencies, [(signal, levels, offsets, on_ms, off_ms), ...], alaw, seed)."""
    forward, nfreq = draw(RASTERS)
    top = 15 if nfreq == 6 else 6
    items = []
    for _ in range(draw(st.integers(1, 6))):
        sig = draw(st.integers(1, top))
        i, j = SIGNAL_PAIRS[sig]
        limit = 5.0 if j - i == 1 else 7.0
        weak = draw(st.floats(-35.0, -5.0 - limit))
        diff = draw(st.floats(0.0, limit))
        levels = (weak + diff, weak) if draw(st.booleans()) else (weak, weak + diff)
        offsets = (draw(st.floats(-10.0, 10.0)), draw(st.floats(-10.0, 10.0)))
        items.append((sig, levels, offsets, draw(st.integers(60, 200)), draw(st.integers(40, 150))))
    return forward, nfreq, items, draw(st.booleans()), draw(st.integers(0, 2**32 - 1))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seq=sequences())
def test_generated_sequences_are_detected_in_order(mf, seq):
    forward, nfreq, items, alaw, seed = seq
    freqs = (mf.FORWARD_HZ if forward else mf.BACKWARD_HZ)[:nfreq]
    rng = np.random.default_rng(seed)
    parts = [np.zeros(int(rng.integers(0, 400)))]
    for sig, levels, offsets, on_ms, off_ms in items:
        i, j = mf.SIGNAL_PAIRS[sig]
        parts.append(tone_pair((freqs[i] + offsets[0], freqs[j] + offsets[1]), levels, on_ms * 8, rng))
        parts.append(np.zeros(off_ms * 8))
    x = to_int16(np.concatenate(parts))
    if alaw:
        x = alaw_roundtrip(x)
    want = "".join(mf.SIGNAL_CHARS[s - 1] for s, *_ in items)
    assert mf.detect(x, forward=forward, frequencies=nfreq) == want


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(level=st.floats(-35.0, -5.0), sig=st.integers(1, 15), forward=st.booleans(),
       seconds=st.floats(0.06, 0.3))
def test_generator_output_is_detected(mf, level, sig, forward, seconds):
    gen = mf.MfGenerator(forward=forward, level_dbm0=level)
    x = np.concatenate([gen.tone(0, 200), gen.tone(sig, int(seconds * RATE)), gen.tone(0, 200)])
    assert mf.detect(x, forward=forward) == mf.SIGNAL_CHARS[sig - 1]
    assert mf.detect(x, forward=not forward) == ""


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4000), channels=st.integers(1, 4), splits=st.lists(st.integers(0, 4000), max_size=5))
def test_arbitrary_bytes_never_crash(mf, data, channels, splits):
    det = mf.MfDetector(channels)
    unit = 2 * channels
    if len(data) % unit:
        with pytest.raises(ValueError):
            det.process(data, 0.0)
        data = data[: len(data) - len(data) % unit]
    cuts = sorted({0, len(data), *(min(s - s % unit, len(data)) for s in splits)})
    t = 0.0
    for a, b in itertools.pairwise(cuts):
        for ev in det.process(data[a:b], t):
            assert 0 <= ev.channel < channels and 0 <= ev.signal <= 15
            assert isinstance(ev.time, float) and np.isfinite(ev.time)
        t += (b - a) / unit / RATE
    assert all(0 <= det.current(c) <= 15 for c in range(channels))


@pytest.mark.system
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), sizes=st.lists(st.integers(1, 700), min_size=1, max_size=30))
def test_block_split_does_not_change_events(mf, seed, sizes):
    rng = np.random.default_rng(seed)
    gen = mf.MfGenerator(level_dbm0=float(rng.uniform(-30, -5)))
    x = np.concatenate([gen.tone(int(rng.integers(0, 16)), int(rng.integers(100, 900))) for _ in range(8)])
    x = (x + rng.normal(0, 50, x.size)).clip(-32768, 32767).astype(np.int16)[None, :]
    whole = mf.MfDetector(1).process(x, 1.0)
    det, got, k, s = mf.MfDetector(1), [], 0, 0
    while k < x.shape[1]:
        n = sizes[s % len(sizes)]
        got += det.process(np.ascontiguousarray(x[:, k:k + n]), 1.0 + k / RATE)
        k, s = k + n, s + 1
    assert [(e.channel, e.signal) for e in got] == [(e.channel, e.signal) for e in whole]
    assert all(abs(a.time - b.time) < 1e-9 for a, b in zip(got, whole))


BAD_SAMPLES = [
    (np.zeros((2, 160), np.float32), TypeError),
    (np.zeros((2, 160), np.int32), TypeError),
    (np.zeros((2, 160), np.uint16), TypeError),
    ([0, 1, 2, 3], TypeError),
    ("abcd", TypeError),
    (None, TypeError),
    (12, TypeError),
    (np.zeros((3, 160), np.int16), ValueError),
    (np.zeros(161, np.int16), ValueError),
    (np.zeros((2, 2, 2), np.int16), ValueError),
    (np.zeros((), np.int16), ValueError),
    (b"\x01\x02\x03", ValueError),
    (bytearray(5), ValueError),
]


@pytest.mark.parametrize("bad,exc", BAD_SAMPLES, ids=[f"bad{i}" for i in range(len(BAD_SAMPLES))])
def test_bad_samples_raise_clearly(mf, bad, exc):
    det = mf.MfDetector(2)
    with pytest.raises(exc):
        det.process(bad, 0.0)
    # the detector is still usable afterwards
    assert det.process(np.zeros((2, 160), np.int16), 0.0) == []


@pytest.mark.parametrize("kwargs,exc", [
    ({"channels": 0}, ValueError), ({"channels": "2"}, TypeError), ({"channels": True}, TypeError),
    ({"channels": 1, "frequencies": 3}, ValueError), ({"channels": 1, "frequencies": 6.0}, ValueError),
    ({"channels": 1, "rate": 8000.5}, TypeError), ({"channels": 1, "rate": 44100}, ValueError),
])
def test_bad_detector_arguments(mf, kwargs, exc):
    with pytest.raises(exc):
        mf.MfDetector(**kwargs)


@pytest.mark.parametrize("now,exc", [(float("inf"), ValueError), (float("nan"), ValueError),
                                     (None, TypeError), ("1.0", None), (b"x", TypeError)])
def test_bad_now(mf, now, exc):
    det = mf.MfDetector(1)
    if exc is None:          # anything float() accepts is a time
        assert det.process(np.zeros(160, np.int16), now) == []
    else:
        with pytest.raises(exc):
            det.process(np.zeros(160, np.int16), now)
