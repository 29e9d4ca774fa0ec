"""DTMF receiver: channels per core in real time, compiled vs twin vs spandsp's dtmf_rx.

One signal for every implementation: per channel, speech from the talk-off corpus
(tests/audio_corpus.py; none when espeak-ng/sox are missing) plus white noise at -45 dBm0
plus a DTMF digit burst (60 ms on, random level -26..-6 dBm0) every 0.4 s. A span's 30
timeslots are fed in 20 ms blocks (160 samples x 30 channels), as a card delivers them:

* compiled  ``_boardcore.dtmf_c.DtmfDetector`` (one call per block for all channels)
* twin      ``_boardcore.dtmf_py.DtmfDetector`` (numpy)
* spandsp   ``dtmf_rx`` per channel, the channel loop in C (bench/spandsp_dtmf.py), reference

"channels/core" = audio seconds processed per CPU second, summed over channels: how many
timeslots one core keeps up with in real time. Run: ``python3 -m bench dtmf``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from bench.common import Result, rate

RATE = 8000
BLOCK = 160
CHANNELS = 30
ROOT = Path(__file__).resolve().parents[1]


def _speech() -> tuple[np.ndarray | None, str]:
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import audio_corpus  # type: ignore[import-not-found]

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


def _ours(mod, blocks: list[np.ndarray], channels: int):
    det = mod.DtmfDetector(channels)
    state = {"i": 0}

    def step() -> int:
        i = state["i"]
        det.process(blocks[i % len(blocks)], i * BLOCK / RATE)
        state["i"] = i + 1
        return BLOCK * channels
    return step


def _theirs(blocks: list[np.ndarray], channels: int):
    from bench import spandsp_dtmf

    rx = spandsp_dtmf.SpandspDtmfRx(channels)
    state = {"i": 0}

    def step() -> int:
        i = state["i"]
        rx.run(blocks[i % len(blocks)])
        if i % 100 == 99:
            rx.digits()          # drain spandsp's digit buffer now and then
        state["i"] = i + 1
        return BLOCK * channels
    return step


def run(quick: bool = False) -> list[Result]:
    from _boardcore import _select
    from bench import spandsp_dtmf

    seconds = 2.0 if quick else 20.0
    t = 0.2 if quick else 1.0
    x, what, _ = make_signal(CHANNELS, seconds)
    blocks = _blocks(x)
    unit = "channels/core"
    out: list[Result] = []
    ok, why = spandsp_dtmf.available()
    c = _select.compiled("dtmf")
    # Alternate the two fast ones over a few rounds and keep each one's best: on a shared
    # machine the load changes within seconds, and the ratio is what matters.
    best = {"spandsp": 0.0, "compiled": 0.0}
    for _ in range(1 if quick else 3):
        if ok:
            best["spandsp"] = max(best["spandsp"], rate(_theirs(blocks, CHANNELS), seconds=t, repeat=2) / RATE)
        if c is not None:
            best["compiled"] = max(best["compiled"], rate(_ours(c, blocks, CHANNELS), seconds=t, repeat=2) / RATE)
    if ok:
        out.append(Result("dtmf", "spandsp dtmf_rx", best["spandsp"], unit, reference=True, note=what))
    if c is not None:
        out.append(Result("dtmf", "compiled", best["compiled"], unit, reference=not ok,
                          note=f"{CHANNELS} ch per call"))
    v = rate(_ours(_select.twin("dtmf"), blocks, CHANNELS), seconds=t, repeat=1 if quick else 3) / RATE
    out.append(Result("dtmf", "twin (numpy)", v, unit, reference=not ok and c is None, note=""))
    if not ok:
        out.append(Result("dtmf", "spandsp dtmf_rx", 0.0, unit, note=f"unavailable: {why}"))
    return out
