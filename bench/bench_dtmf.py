"""DTMF receiver: channels per core in real time, compiled vs twin vs spandsp's dtmf_rx.

One signal for every implementation: per channel, speech from the talk-off corpus
(tests/audio_corpus.py; none when espeak-ng/sox are missing) plus white noise at -45 dBm0
plus a DTMF digit burst (60 ms on, random level -26..-6 dBm0) every 0.4 s. A span's 30
timeslots are fed in 20 ms blocks (160 samples x 30 channels), as a card delivers them:

* compiled  ``_boardcore.dtmf_c.DtmfDetector`` (one call per block: a span's 30 channels
            with ``process``, or the 228 busy channels of 8 spans with ``process_channels``)
* twin      ``_boardcore.dtmf_py.DtmfDetector`` (numpy)
* spandsp   ``dtmf_rx`` per channel, the channel loop in C (bench/spandsp_dtmf.py), reference

"channels/core" = audio seconds processed per CPU second of the measuring thread, summed
over channels: how many timeslots one core keeps up with in real time. Implementations
alternate over 7 rounds (bench/kernel_rounds.py); the table shows median rates and the
notes the median and range of the per-round ratio. Run: ``python3 -m bench dtmf``.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import Result

RATE = 8000
BLOCK = 160
CHANNELS = 30
ROOT = Path(__file__).resolve().parents[1]


def _speech() -> tuple[np.ndarray | None, str]:
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import audio_corpus

        clips = audio_corpus.talkoff_speech()
        return np.concatenate([np.asarray(x, np.int16) for _, x in clips]), "speech"
    except BaseException:      # pytest.skip outside pytest, or tools missing
        return None, "no speech (espeak-ng/sox missing)"
    finally:
        sys.path.pop(0)


def make_signal(channels: int, seconds: float, seed: int = 1) -> tuple[np.ndarray, str, list[str]]:
    """(channels, n) int16: speech + noise + DTMF bursts; the digits sent per channel."""
    from _boardcore import dtmf_py

    n = int(seconds * RATE) // BLOCK * BLOCK
    rng = np.random.default_rng(seed)
    speech, source = _speech()
    x = rng.normal(0.0, dtmf_py.DBM0_PEAK * 10 ** (-45 / 20) / np.sqrt(2), (channels, n))
    sent = []
    for c in range(channels):
        if speech is not None and speech.size:
            start = int(rng.integers(0, max(1, speech.size - n)))
            seg = speech[start:start + n].astype(np.float64) * 0.5
            x[c, :seg.size] += seg
        digits = ""
        for t in range(int(rng.integers(0, 1600)), n - 480, 3200):
            d = dtmf_py.DIGITS[int(rng.integers(0, 16))]
            gen = dtmf_py.DtmfGenerator(level_dbm0=float(rng.uniform(-26, -6)), on_ms=0, off_ms=0)
            x[c, t:t + 480] += gen.pair(d, 480)
            digits += d
        sent.append(digits)
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16), source + " + noise + DTMF bursts", sent


def _blocks(x: np.ndarray) -> list[np.ndarray]:
    return [np.ascontiguousarray(x[:, k:k + BLOCK]) for k in range(0, x.shape[1], BLOCK)]


def _ours(det: Any, blocks: list[np.ndarray], rows: np.ndarray | None) -> Callable[[], float]:
    """fn() for kernel_rounds: one 20 ms block of every row per call, time advancing.
    ``rows``: the batch entry point (process_channels) for those channels; None: process()."""
    state = {"i": 0}
    per = float(blocks[0].shape[0] * BLOCK / RATE)      # channel-seconds per block

    def step() -> float:
        i = state["i"]
        if rows is None:
            det.process(blocks[i % len(blocks)], i * BLOCK / RATE)
        else:
            det.process_channels(blocks[i % len(blocks)], i * BLOCK / RATE, rows)
        state["i"] = i + 1
        return per
    return step


def _theirs(blocks: list[np.ndarray]) -> Callable[[], float]:
    from bench import spandsp_dtmf

    rx = spandsp_dtmf.SpandspDtmfRx(blocks[0].shape[0])
    state = {"i": 0}
    per = float(blocks[0].shape[0] * BLOCK / RATE)

    def step() -> float:
        i = state["i"]
        rx.run(blocks[i % len(blocks)])
        if i % 100 == 99:
            rx.digits()          # drain spandsp's digit buffer now and then
        state["i"] = i + 1
        return per
    return step


#: the two feeds measured: one span per call (process), and the busy timeslots of 8 spans
#: (95 % of 240) in one batch call (process_channels), as a board driver feeds them
SPANS = 8
BUSY = 0.95


def run(quick: bool = False) -> list[Result]:
    from _boardcore import _select
    from bench import spandsp_dtmf
    from bench.kernel_rounds import alternate, spread

    seconds, rounds = (0.1, 1) if quick else (0.4, 7)
    unit = "channels/core"
    out: list[Result] = []
    ok, why = spandsp_dtmf.available()
    c = _select.compiled("dtmf")
    rng = np.random.default_rng(2)
    total = SPANS * CHANNELS
    rows = np.sort(rng.choice(total, round(BUSY * total), replace=False)).astype(np.int32)
    feeds = [(f"one span per call ({CHANNELS} channels, process)", CHANNELS, None),
             (f"{len(rows)} busy of {total} channels per call (process_channels)", len(rows), rows)]
    for label, n, idx in feeds:
        x, what, _ = make_signal(n, 2.0 if quick else 4.0)
        blocks = _blocks(x)
        impls = {}
        if ok:
            impls["spandsp dtmf_rx"] = _theirs(blocks)
        if c is not None:
            impls["compiled"] = _ours(c.DtmfDetector(total if idx is not None else n), blocks, idx)
        got = alternate(impls, rounds, seconds)
        ref = got.get("spandsp dtmf_rx")
        for name, vals in got.items():
            sp = spread(vals, ref)
            note = what if name.startswith("spandsp") else (sp.note("spandsp") if ref else "")
            out.append(Result(label, name, sp.median, unit, reference=name.startswith("spandsp")
                              or ref is None, note=note + f" ({rounds} rounds, CPU time)"))
        twin = _select.twin("dtmf").DtmfDetector(total if idx is not None else n)
        v = spread(alternate({"twin": _ours(twin, blocks, idx)}, 1, seconds)["twin"])
        out.append(Result(label, "twin (numpy)", v.median, unit, note="one round"))
        if not ok:
            out.append(Result(label, "spandsp dtmf_rx", 0.0, unit, note=f"unavailable: {why}"))
    return out
