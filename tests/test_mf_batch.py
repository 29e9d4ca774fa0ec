"""MF batch entry point ``process_channels``: the register-phase channels of many spans in one call.

The batch call must give exactly the per-span calls' events (same detector, fed
differently), an idle channel starts afresh when it is fed again, bad channel lists are
refused (tests/test_batch_channel_lists.py), and the compiled kernel (four channels at a
time) agrees with the twin.
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import kernel_impls, load_impl

RATE = 8000
BLOCK = 160


@pytest.fixture(params=kernel_impls("mf"))
def mf(request):
    return load_impl(request.param)


def _signal(mf, channels: int, seconds: float, seed: int, forward: bool = True):
    """(channels, n) int16: noise at -50 dBm0 and three MF signals per channel (100 ms on, 60 ms off)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    x = rng.normal(0.0, mf.DBM0_PEAK * 10 ** (-50 / 20), (channels, n))
    sent = []
    for c in range(channels):
        gen = mf.MfGenerator(forward=forward, level_dbm0=float(rng.uniform(-25, -6)))
        sigs = [int(v) for v in rng.integers(1, 16, 3)]
        t = int(rng.integers(0, n - 3 * 1280))
        for sg in sigs:
            x[c, t:t + 800] += gen.tone(sg, 800)
            t += 1280
        sent.append(sigs)
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16), sent


def _run(det, x, rows=None):
    """Feed x in 20 ms blocks; with ``rows``, x's row i is channel rows[i] (process_channels)."""
    out = []
    for k in range(0, x.shape[1], BLOCK):
        blk = np.ascontiguousarray(x[:, k:k + BLOCK])
        if rows is None:
            out += det.process(blk, k / RATE)
        else:
            out += det.process_channels(blk, k / RATE, rows)
    return [(e.channel, e.signal, round(e.time, 9)) for e in out]


def test_batch_equals_per_call(mf):
    x, sent = _signal(mf, 11, 1.5, seed=5)
    a = _run(mf.MfDetector(11), x)
    order = list(np.random.default_rng(1).permutation(11))
    b = _run(mf.MfDetector(11), x[order], rows=order)
    assert a == b
    got = [[sg for c2, sg, _ in a if c2 == c and sg] for c in range(11)]
    assert got == sent


def test_batch_subset_equals_small_detector(mf):
    x, _ = _signal(mf, 5, 1.5, seed=6, forward=False)
    rows = [30, 2, 17, 8, 25]
    got = _run(mf.MfDetector(31, forward=False), x, rows=rows)
    ref = _run(mf.MfDetector(5, forward=False), x)
    assert got == sorted(((rows[c], sg, t) for c, sg, t in ref), key=lambda e: (e[2], e[0]))


def test_idle_channel_starts_afresh(mf):
    """A channel left out of a call is idle: a signal split by the gap is not recognised."""
    gen = mf.MfGenerator(level_dbm0=-10.0)
    pcm = gen.tone(7, 3 * BLOCK).reshape(1, 3 * BLOCK)
    head, tail = np.ascontiguousarray(pcm[:, :200]), np.ascontiguousarray(pcm[:, 200:])
    quiet = np.zeros((1, BLOCK), np.int16)
    det = mf.MfDetector(2)
    # 25 ms, then a call without channel 1, then 35 ms: recognition needs about 40 ms,
    # so only a join across the gap would recognise it
    ev = det.process_channels(head, 0.0, [1])
    ev += det.process_channels(quiet, 0.025, [0])
    ev += det.process_channels(tail, 0.045, [1])
    ev += det.process_channels(np.zeros((1, 4 * BLOCK), np.int16), 0.08, [1])
    assert [e for e in ev if e.signal] == []
    # fed without a gap, the 60 ms are recognised
    det2 = mf.MfDetector(2)
    ev = det2.process_channels(head, 0.0, [1]) + det2.process_channels(tail, 0.025, [1])
    ev += det2.process_channels(np.zeros((1, 4 * BLOCK), np.int16), 0.06, [1])
    assert [(e.channel, e.signal) for e in ev if e.signal] == [(1, 7)]


@pytest.mark.parametrize("forward", [True, False])
def test_compiled_and_twin_agree_on_a_batch(forward):
    from conftest import _select

    c = _select.compiled("mf")
    if c is None:
        pytest.skip("compiled _boardcore.mf_c not built")
    py = _select.twin("mf")
    x, _ = _signal(py, 7, 1.5, seed=8, forward=forward)
    rows = [6, 0, 4, 9, 2, 8, 1]                 # not a multiple of the kernel's 4 lanes
    a = _run(py.MfDetector(10, forward=forward), x, rows=rows)
    b = _run(c.MfDetector(10, forward=forward), x, rows=rows)
    assert [r[:2] for r in a] == [r[:2] for r in b]
    assert [r[2] for r in a] == pytest.approx([r[2] for r in b], abs=1e-9)
