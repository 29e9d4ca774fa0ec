"""DTMF batch entry point ``process_channels``: the busy channels of many spans in one call.

The batch call must give exactly the per-span calls' events (it is the same detector, fed
differently), an idle channel starts afresh when it is fed again, bad channel lists are
refused (tests/test_batch_channel_lists.py), and the compiled kernel (several channels to a vector) agrees with the twin.
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import kernel_impls, load_impl

RATE = 8000
BLOCK = 160


@pytest.fixture(params=kernel_impls("dtmf"))
def dtmf(request):
    return load_impl(request.param)


def _signal(dtmf, channels: int, seconds: float, seed: int) -> tuple[np.ndarray, list[str]]:
    """(channels, n) int16: noise at -50 dBm0 and one digit string per channel, at random offsets."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    x = rng.normal(0.0, dtmf.DBM0_PEAK * 10 ** (-50 / 20), (channels, n))
    sent = []
    for c in range(channels):
        digits = "".join(rng.choice(list(dtmf.DIGITS), 3))
        pcm = dtmf.DtmfGenerator(level_dbm0=float(rng.uniform(-25, -5)), on_ms=50, off_ms=50).generate(digits)
        t = int(rng.integers(0, n - pcm.size))
        x[c, t:t + pcm.size] += pcm
        sent.append(digits)
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
    return [(e.channel, e.digit, e.kind, round(e.time, 9)) for e in out]


def test_batch_equals_per_call(dtmf):
    """All channels through process_channels (any order of rows) == process()."""
    x, sent = _signal(dtmf, 13, 1.6, seed=3)
    a = _run(dtmf.DtmfDetector(13), x)
    order = list(np.random.default_rng(0).permutation(13))
    b = _run(dtmf.DtmfDetector(13), x[order], rows=order)
    assert a == b
    got = ["".join(d for c2, d, k, _ in a if c2 == c and k == "start") for c in range(13)]
    assert got == sent


def test_batch_subset_equals_small_detector(dtmf):
    """Feeding channels 2, 5, 11 of a 40-channel detector == a 3-channel detector."""
    x, sent = _signal(dtmf, 3, 1.6, seed=4)
    rows = [2, 5, 11]
    big = dtmf.DtmfDetector(40)
    got = _run(big, x, rows=rows)
    ref = _run(dtmf.DtmfDetector(3), x)
    assert got == [(rows[c], d, k, t) for c, d, k, t in ref]


def test_idle_channel_starts_afresh(dtmf):
    """A channel left out of a call is idle: its unfinished digit is forgotten, not joined."""
    gen = dtmf.DtmfGenerator(level_dbm0=-10, on_ms=0, off_ms=0)
    det = dtmf.DtmfDetector(2)
    pcm = gen.pair("5", 2 * BLOCK).reshape(1, 2 * BLOCK)
    head, tail = np.ascontiguousarray(pcm[:, :BLOCK]), np.ascontiguousarray(pcm[:, BLOCK:])
    quiet = np.zeros((1, BLOCK), np.int16)
    # 20 ms of '5' on channel 1 (too short for a digit alone), then channel 1 idle, then 20 ms more
    ev = det.process_channels(head, 0.0, [1])
    ev += det.process_channels(quiet, 0.02, [0])
    ev += det.process_channels(tail, 0.04, [1])
    ev += det.process_channels(np.zeros((2, 4 * BLOCK), np.int16), 0.06, [0, 1])
    assert [e for e in ev if e.kind == "start"] == []
    # fed without a gap, the same 40 ms is a digit
    det2 = dtmf.DtmfDetector(2)
    ev = det2.process_channels(head, 0.0, [1]) + det2.process_channels(tail, 0.02, [1])
    ev += det2.process_channels(np.zeros((1, 4 * BLOCK), np.int16), 0.04, [1])
    assert [(e.channel, e.digit) for e in ev if e.kind == "start"] == [(1, "5")]


def test_compiled_and_twin_agree_on_a_batch():
    from conftest import _select

    c = _select.compiled("dtmf")
    if c is None:
        pytest.skip("compiled _boardcore.dtmf_c not built")
    py = _select.twin("dtmf")
    x, _ = _signal(py, 11, 1.2, seed=9)
    rows = [7, 1, 9, 3, 0, 10, 4, 2, 8]          # not a multiple of the kernel's 4 lanes
    a = _run(py.DtmfDetector(12), x[:9], rows=rows)
    b = _run(c.DtmfDetector(12), x[:9], rows=rows)
    assert [r[:3] for r in a] == [r[:3] for r in b]
    assert [r[3] for r in a] == pytest.approx([r[3] for r in b], abs=1e-9)


def test_events_are_digit_events():
    """The compiled kernel builds its events without DigitEvent.__init__: same class, equal, hashable."""
    from conftest import _select

    c = _select.compiled("dtmf")
    if c is None:
        pytest.skip("compiled _boardcore.dtmf_c not built")
    py = _select.twin("dtmf")
    pcm = c.DtmfGenerator(level_dbm0=-10, on_ms=60, off_ms=60).generate("7")
    x = np.concatenate([pcm, np.zeros(800, np.int16)])[None, :]
    a, b = py.DtmfDetector(1).process(x, 0.5), c.DtmfDetector(1).process(x, 0.5)
    assert all(type(e) is py.DigitEvent for e in b)
    assert [(e.channel, e.digit, e.kind) for e in b] == [(0, "7", "start"), (0, "7", "stop")]
    assert b == a and {hash(e) for e in b} == {hash(e) for e in a}
    with pytest.raises(AttributeError):
        b[0].digit = "8"                      # still frozen
