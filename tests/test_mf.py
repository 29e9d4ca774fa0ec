"""MFC (R2 / China No.1) kernel: API, generator, detector basics, bad input. Both implementations."""
from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import kernel_impls, load_impl

from test_mf_signals import dual_tone, pad


@pytest.fixture(params=kernel_impls("mf"))
def mf(request):
    return load_impl(request.param)


def run_blocks(det, x: np.ndarray, block: int = 160, t0: float = 0.0):
    """Feed a (channels, n) array in blocks; all events."""
    events = []
    n = x.shape[-1]
    for k in range(0, n, block):
        events += det.process(np.ascontiguousarray(x[..., k:k + block]), t0 + k / 8000)
    return events


# --- the code --------------------------------------------------------------------------

def test_signal_table_is_two_out_of_six(mf):
    assert mf.FORWARD_HZ == (1380, 1500, 1620, 1740, 1860, 1980)
    assert mf.BACKWARD_HZ == (1140, 1020, 900, 780, 660, 540)
    assert len(mf.SIGNAL_PAIRS) == 15
    assert sorted(mf.SIGNAL_PAIRS.values()) == sorted((i, j) for j in range(6) for i in range(j))
    # Q.441 Table 1: 1=(0,1) 2=(0,2) 3=(1,2) 4=(0,3) ... 10=(3,4) 11=(0,5) 15=(4,5)
    assert [mf.SIGNAL_PAIRS[s] for s in (1, 2, 3, 4, 6, 7, 10, 11, 15)] == [
        (0, 1), (0, 2), (1, 2), (0, 3), (2, 3), (0, 4), (3, 4), (0, 5), (4, 5)]
    assert mf.SIGNAL_CHARS == "1234567890BCDEF"
    assert mf.signal_char(10) == "0" and mf.signal_char(11) == "B"
    with pytest.raises(ValueError):
        mf.signal_char(0)


# --- generator -------------------------------------------------------------------------

@pytest.mark.parametrize("forward", [True, False])
def test_generator_frequencies_and_level(mf, forward):
    freqs = mf.FORWARD_HZ if forward else mf.BACKWARD_HZ
    for sig, (i, j) in mf.SIGNAL_PAIRS.items():
        gen = mf.MfGenerator(forward=forward, level_dbm0=-8.0)
        x = gen.tone(sig, 8000).astype(np.float64)
        spec = np.abs(np.fft.rfft(x))          # 1 Hz bins
        peaks = sorted(np.argsort(spec)[-2:])
        assert peaks == sorted((freqs[i], freqs[j]))
        # two tones at -8 dBm0 each: mean power 2 * P0 * 10^-0.8
        level = 10 * math.log10(np.mean(x * x) / (2 * mf.DBM0_PEAK ** 2 / 2))
        assert abs(level - (-8.0)) < 0.05


def test_generator_phase_continuous_and_silence(mf):
    a = mf.MfGenerator()
    whole = a.tone(7, 1000)
    b = mf.MfGenerator()
    parts = np.concatenate([b.tone(7, 333), b.tone(7, 0), b.tone(7, 667)])
    assert np.max(np.abs(whole.astype(int) - parts.astype(int))) <= 1
    assert not a.tone(0, 160).any()
    assert a.tone(3, 0).dtype == np.int16 and a.tone(3, 0).shape == (0,)


def test_generator_bad_arguments(mf):
    gen = mf.MfGenerator()
    with pytest.raises(ValueError):
        gen.tone(16, 10)
    with pytest.raises(ValueError):
        gen.tone(-1, 10)
    with pytest.raises(TypeError):
        gen.tone(1.5, 10)
    with pytest.raises(ValueError):
        gen.tone(1, -1)
    with pytest.raises(ValueError):
        mf.MfGenerator(level_dbm0=float("nan"))
    with pytest.raises(ValueError):
        mf.MfGenerator(level_dbm0=3.0)
    with pytest.raises(ValueError):
        mf.MfGenerator(rate=11025)
    with pytest.raises(ValueError):   # China backward: only signals 1..6
        mf.MfGenerator(forward=False, frequencies=4).tone(7, 10)


# --- detector --------------------------------------------------------------------------

@pytest.mark.parametrize("forward,nfreq", [(True, 6), (False, 6), (False, 4)])
def test_detect_every_signal(mf, forward, nfreq):
    gen = mf.MfGenerator(forward=forward, level_dbm0=-8.0)
    top = 15 if nfreq == 6 else 6
    x = np.concatenate([np.concatenate([gen.tone(s, 480), gen.tone(0, 400)]) for s in range(1, top + 1)])
    assert mf.detect(x, forward=forward, frequencies=nfreq) == mf.SIGNAL_CHARS[:top]


def test_direction_and_china_backward_raster(mf):
    fwd = mf.MfGenerator(forward=True).tone(5, 800)
    back = mf.MfGenerator(forward=False)
    assert mf.detect(fwd, forward=False) == ""
    assert mf.detect(back.tone(5, 800), forward=True) == ""
    # signals 7..15 use f4/f5, absent from the China backward raster: no signal
    x = np.concatenate([back.tone(s, 800) for s in range(7, 16)])
    assert mf.detect(x, forward=False, frequencies=4) == ""


def test_events_times_and_channels(mf):
    gen = mf.MfGenerator()
    x = np.zeros((3, 2400), dtype=np.int16)
    x[1, 400:1600] = gen.tone(12, 1200)               # 50 ms .. 200 ms
    det = mf.MfDetector(3)
    ev = run_blocks(det, x, t0=10.0)
    assert [(e.channel, e.signal) for e in ev] == [(1, 12), (1, 0)]
    on, off = ev[0].time, ev[1].time
    assert 10.05 + 0.035 < on <= 10.05 + 0.055         # recognised 35..55 ms after the start
    assert 10.20 < off <= 10.20 + 0.03                 # released within 30 ms of the end
    assert (on - 10.05) + (off - 10.20) <= 0.080       # Q.441: operate + release <= 80 ms
    assert det.current(1) == 0
    assert isinstance(ev[0], mf.MfEvent) and ev[0] == (1, 12, on)


def test_chunking_does_not_change_events(mf):
    gen = mf.MfGenerator(forward=False)
    x = np.concatenate([pad(gen.tone(s, 600), 300) for s in (1, 2, 3, 4, 5, 6)])[None, :]
    ref = run_blocks(mf.MfDetector(1, forward=False), x)
    assert [e.signal for e in ref if e.signal] == [1, 2, 3, 4, 5, 6]
    for block in (1, 7, 40, 100, 161, 1000):
        got = run_blocks(mf.MfDetector(1, forward=False), x, block=block)
        assert [e.signal for e in got] == [e.signal for e in ref]
        assert all(abs(a.time - b.time) < 1e-9 for a, b in zip(got, ref))


def test_direct_change_of_signal_reports_off_then_on(mf):
    gen = mf.MfGenerator()
    x = np.concatenate([gen.tone(1, 800), gen.tone(2, 800), gen.tone(0, 800)])[None, :]
    ev = run_blocks(mf.MfDetector(1), x)
    assert [e.signal for e in ev] == [1, 0, 2, 0]
    assert 0.1 < ev[1].time <= ev[2].time < 0.1 + 0.06    # 1 ends before 2 is recognised


def test_reset_forgets_a_channel(mf):
    gen = mf.MfGenerator()
    det = mf.MfDetector(2)
    ev = []
    for k in range(5):
        tone = gen.tone(4, 160)
        ev += det.process(np.stack([tone, tone]), k * 0.02)
    assert sorted(e.channel for e in ev) == [0, 1]
    assert det.current(0) == 4
    det.reset(0)
    assert det.current(0) == 0 and det.current(1) == 4
    silent = np.zeros((2, 160), dtype=np.int16)
    ev = []
    for k in range(5):
        ev += det.process(silent, 0.1 + k * 0.02)
    assert [(e.channel, e.signal) for e in ev] == [(1, 0)]   # nothing more from the reset one
    det.reset()
    with pytest.raises(ValueError):
        det.reset(2)
    with pytest.raises(ValueError):
        det.current(-1)
    with pytest.raises(TypeError):
        det.current("0")


def test_one_dimensional_and_buffer_input(mf):
    gen = mf.MfGenerator()
    d1, d2, d3 = mf.MfDetector(2), mf.MfDetector(2), mf.MfDetector(2)
    e1 = e2 = e3 = []
    for k in range(6):
        flat = np.concatenate([gen.tone(9, 160), np.zeros(160, np.int16)])   # 2 channels, 1-D
        e1 = e1 + d1.process(flat, k * 0.02)
        e2 = e2 + d2.process(flat.tobytes(), k * 0.02)
        e3 = e3 + d3.process(memoryview(flat.reshape(2, 160)), k * 0.02)
    assert e1 == e2 == e3 and [(e.channel, e.signal) for e in e1] == [(0, 9)]


def test_bad_input(mf):
    det = mf.MfDetector(2)
    with pytest.raises(TypeError):
        det.process(np.zeros((2, 160), np.float32), 0.0)
    with pytest.raises(TypeError):
        det.process(np.full((2, 160), np.nan), 0.0)
    with pytest.raises(TypeError):
        det.process([0] * 320, 0.0)
    with pytest.raises(ValueError):
        det.process(np.zeros((3, 160), np.int16), 0.0)
    with pytest.raises(ValueError):
        det.process(np.zeros(321, np.int16), 0.0)
    with pytest.raises(ValueError):
        det.process(np.zeros((2, 2, 40), np.int16), 0.0)
    with pytest.raises(ValueError):
        det.process(b"\x00" * 3, 0.0)
    with pytest.raises(ValueError):
        det.process(np.zeros((2, 160), np.int16), float("nan"))
    with pytest.raises(TypeError):
        det.process(np.zeros((2, 160), np.int16), "now")
    assert det.process(np.zeros((2, 0), np.int16), 0.0) == []
    assert det.process(b"", 0.0) == []
    for bad in (0, -1, 5000):
        with pytest.raises(ValueError):
            mf.MfDetector(bad)
    with pytest.raises(TypeError):
        mf.MfDetector(2.0)
    with pytest.raises(ValueError):
        mf.MfDetector(1, frequencies=5)
    with pytest.raises(ValueError):
        mf.MfDetector(1, rate=16000)
    with pytest.raises(ValueError):
        mf.detect(np.zeros(100, np.int16), rate=16000)
    with pytest.raises(TypeError):
        mf.detect(np.zeros(100, np.float64))
    assert mf.detect(np.zeros(0, np.int16)) == ""


def test_full_scale_garbage_does_not_crash(mf):
    rng = np.random.default_rng(7)
    det = mf.MfDetector(4)
    for k in range(20):
        x = rng.integers(-32768, 32768, size=(4, 160), dtype=np.int16)
        if k % 3 == 0:
            x[:] = -32768
        for ev in det.process(x, k * 0.02):
            assert 0 <= ev.signal <= 15


def test_twist_and_level_examples(mf):
    f = mf.FORWARD_HZ
    ok = dual_tone((f[0] + 10, f[2] - 10), (-28.0, -35.0), 0.1)      # 7 dB non-adjacent, -35
    assert mf.detect(pad(ok)) == "2"
    bad = dual_tone((f[0], f[2]), (-10.0, -30.0), 0.1)                # 20 dB: must not operate
    assert mf.detect(pad(bad)) == ""


def test_compiled_and_twin_agree():
    from _boardcore import _select
    comp = _select.compiled("mf")
    if comp is None:
        pytest.skip("compiled _boardcore.mf_c not built")
    twin = _select.twin("mf")
    rng = np.random.default_rng(11)
    gen = twin.MfGenerator(level_dbm0=-12.0)
    x = np.zeros((4, 16000), dtype=np.int16)
    for c in range(4):
        pos = 0
        while pos < 15000:
            sig = int(rng.integers(0, 16))
            n = int(rng.integers(80, 1200))
            x[c, pos:pos + n] = gen.tone(sig, min(n, 16000 - pos))
            pos += n
        x[c] += rng.normal(0, 30, 16000).astype(np.int16)
    ea = run_blocks(comp.MfDetector(4), x)
    eb = run_blocks(twin.MfDetector(4), x)
    assert len(ea) > 20
    assert [(e.channel, e.signal) for e in ea] == [(e.channel, e.signal) for e in eb]
    assert all(abs(a.time - b.time) < 1e-9 for a, b in zip(ea, eb))
    for sig in range(16):
        assert np.max(np.abs(comp.MfGenerator().tone(sig, 500).astype(int)
                             - twin.MfGenerator().tone(sig, 500).astype(int))) <= 1


@pytest.mark.parametrize("forward,nfreq", [(True, 6), (False, 6), (False, 4)])
def test_compiled_and_twin_same_events_hard_input(forward, nfreq):
    """Random levels (in and out of the accept region), heavy noise, random phases and
    random block sizes: the compiled kernel reports exactly the twin's events."""
    from _boardcore import _select
    comp = _select.compiled("mf")
    if comp is None:
        pytest.skip("compiled _boardcore.mf_c not built")
    twin = _select.twin("mf")
    rng = np.random.default_rng(3 + nfreq + forward)
    chans, n = 4, 8000 * 4
    x = np.zeros((chans, n))
    top = 15 if nfreq == 6 else 6
    for c in range(chans):
        pos = 0
        while pos < n:
            sig, k = int(rng.integers(0, top + 1)), int(rng.integers(20, 1500))
            gen = twin.MfGenerator(forward=forward, level_dbm0=rng.uniform(-45, -3))
            gen._phase = list(rng.uniform(0, 1, 6))
            x[c, pos:pos + k] = gen.tone(sig, min(k, n - pos))
            pos += k
        x[c] += rng.normal(0, rng.uniform(1, 2000), n)
    x = np.clip(x, -32768, 32767).astype(np.int16)
    da = comp.MfDetector(chans, forward=forward, frequencies=nfreq)
    db = twin.MfDetector(chans, forward=forward, frequencies=nfreq)
    ea, eb, k = [], [], 0
    while k < n:
        blk = np.ascontiguousarray(x[:, k:k + int(rng.integers(1, 500))])
        ea += da.process(blk, k / 8000)
        eb += db.process(blk, k / 8000)
        k += blk.shape[1]
    assert len(eb) > 30 and ea == eb
    assert [da.current(c) for c in range(chans)] == [db.current(c) for c in range(chans)]


# --- a representative subset of the Q.441 battery (test_mf_battery.py), on both ------------

@pytest.mark.parametrize("forward,nfreq", [(True, 6), (False, 6), (False, 4)])
def test_q441_subset(mf, forward, nfreq):
    """Corners of the accept region (+/-10 Hz, -5 / -35 dBm0, 5 / 7 dB twist, A-law) operate
    once; 20 dB twist, -42 dBm0, 7 ms bursts do not; a 7 ms interruption is bridged."""
    from test_mf_signals import run_cases, signals_of, tone_pair
    freqs = (mf.FORWARD_HZ if forward else mf.BACKWARD_HZ)[:nfreq]
    rng = np.random.default_rng(42 + nfreq)
    sigs = [s for s, (i, j) in mf.SIGNAL_PAIRS.items() if j < nfreq]
    z = np.zeros(400)
    accept, reject = [], []
    for sig in sigs:
        i, j = mf.SIGNAL_PAIRS[sig]
        diff = 5.0 if j - i == 1 else 7.0
        fi, fj = freqs[i] + 10, freqs[j] - 10
        accept.append(np.concatenate([z, tone_pair((fi, fj), (-5.0, -5.0 - diff), 800, rng)]))
        accept.append(np.concatenate([z, tone_pair((fj, fi), (-35.0, -35.0 + diff), 800, rng)]))
        gapped = tone_pair((fi, fj), (-20.0, -20.0), 1000, rng)
        gapped[420:476] = 0.0
        accept.append(np.concatenate([z, gapped]))
        reject.append(np.concatenate([z, tone_pair((fi, fj), (-5.0, -25.0), 800, rng)]))
        reject.append(np.concatenate([z, tone_pair((fi, fj), (-42.0, -42.0), 800, rng)]))
        reject.append(np.concatenate([z, tone_pair((fi, fj), (-5.0, -5.0), 56, rng)]))
    for alaw in (False, True):
        got = run_cases(mf, accept, forward=forward, frequencies=nfreq, alaw=alaw)
        assert [signals_of(e) for e in got] == [[s, 0] for s in sigs for _ in range(3)]
        assert not any(run_cases(mf, reject, forward=forward, frequencies=nfreq, alaw=alaw))


def test_detectors_in_threads_match_sequential(mf):
    """One detector per thread (the compiled kernel releases the GIL): same events."""
    import threading
    rng = np.random.default_rng(5)
    gen = mf.MfGenerator(level_dbm0=-15.0)
    spans = []
    for _ in range(4):
        x = np.concatenate([gen.tone(int(s), 800) for s in rng.integers(0, 16, 12)])
        spans.append(np.stack([x, np.roll(x, 333)]))
    want = [run_blocks(mf.MfDetector(2), x) for x in spans]
    got = [None] * len(spans)

    def work(k):
        got[k] = run_blocks(mf.MfDetector(2), spans[k])
    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(spans))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == want and all(len(w) > 8 for w in want)
