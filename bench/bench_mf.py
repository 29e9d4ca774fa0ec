"""MF (R2 / China No.1) receiver: channels per core in real time, ours vs spandsp.

One signal for every implementation: per channel, speech (the talk-off corpus when
tests/audio_corpus.py is there, else espeak-ng, else none) plus white noise at -45 dBm0 plus
an MF forward signal of 100 ms every 0.5 s. Each implementation runs a forward receiver on
every channel, fed 20 ms blocks (160 samples x channels) as a span delivers them:

* compiled  ``_boardcore.mf_c.MfDetector`` (one call per block for all channels)
* twin      ``_boardcore.mf_py.MfDetector`` (numpy)
* spandsp   ``r2_mf_rx`` per channel, the channel loop in C (bench/spandsp_mf.py), reference

"channels/core" = audio seconds processed per CPU second, summed over channels: how many
timeslots one core keeps up with in real time.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

from bench.common import Result, rate

RATE = 8000
BLOCK = 160
ROOT = Path(__file__).resolve().parents[1]


def _speech() -> tuple[np.ndarray | None, str]:
    """Some speech at 8 kHz, and where it came from."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import audio_corpus  # type: ignore[import-not-found]

        clips = audio_corpus.talkoff_speech()
        return np.concatenate([np.asarray(x, np.int16) for _, x in clips]), "talk-off corpus speech"
    except Exception:
        pass
    finally:
        sys.path.pop(0)
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    if not (espeak and sox):
        return None, "no speech (espeak-ng/sox missing)"
    text = ("Please hold the line while we connect your call. 您好，欢迎致电客户服务中心。"
            "请稍候，我们正在为您转接。 Thank you for calling, your call is important to us.")
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = os.path.join(tmp, "raw.wav"), os.path.join(tmp, "s.wav")
        subprocess.run([espeak, "-v", "cmn", "-w", raw, text], check=True, capture_output=True)
        subprocess.run([sox, raw, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "wavpcm",
                        out, "norm", "-6"], check=True, capture_output=True)
        with wave.open(out) as w:
            return np.frombuffer(w.readframes(w.getnframes()), np.int16).copy(), "espeak-ng speech"


def make_signal(channels: int, seconds: float, seed: int = 1) -> tuple[np.ndarray, str]:
    """(channels, n) int16: speech + noise + MF bursts, different per channel."""
    from _boardcore import mf_py

    n = int(seconds * RATE) // BLOCK * BLOCK
    rng = np.random.default_rng(seed)
    speech, source = _speech()
    x = rng.normal(0.0, mf_py.DBM0_PEAK * 10 ** (-45 / 20) / np.sqrt(2), (channels, n))
    for c in range(channels):
        if speech is not None and speech.size:
            start = int(rng.integers(0, max(1, speech.size - n)))
            seg = speech[start:start + n].astype(np.float64)
            x[c, :seg.size] += seg
        gen = mf_py.MfGenerator(forward=True, level_dbm0=float(rng.uniform(-30, -8)))
        for t in range(int(rng.integers(0, 2000)), n - 800, 4000):
            x[c, t:t + 800] += gen.tone(int(rng.integers(1, 16)), 800)
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16), source + " + noise + MF"


def _blocks(x: np.ndarray) -> list[np.ndarray]:
    return [np.ascontiguousarray(x[:, k:k + BLOCK]) for k in range(0, x.shape[1], BLOCK)]


def run(quick: bool = False) -> list[Result]:
    from _boardcore import _select

    seconds, repeat = (0.3, 1) if quick else (1.0, 3)
    results: list[Result] = []
    for channels in (30, 480):
        label = f"forward receiver, {channels} channels per call"
        x, source = make_signal(channels, 2.0)
        blocks = _blocks(x)
        per_block = channels * BLOCK / RATE          # channel-seconds in one block

        def runner(det, call):
            state = {"i": 0}

            def fn() -> int:
                i = state["i"]
                call(det, blocks[i % len(blocks)], i * BLOCK / RATE)
                state["i"] = i + 1
                return 1
            return fn

        comp = _select.compiled("mf")
        if comp is not None:
            det = comp.MfDetector(channels)
            v = rate(runner(det, lambda d, b, t: d.process(b, t)), seconds=seconds, repeat=repeat)
            results.append(Result(label, "compiled (mf_c)", v * per_block, "channels/core", note=source))
        twin = _select.twin("mf")
        det = twin.MfDetector(channels)
        v = rate(runner(det, lambda d, b, t: d.process(b, t)), seconds=seconds, repeat=repeat)
        results.append(Result(label, "twin (mf_py)", v * per_block, "channels/core"))
        from bench import spandsp_mf

        ok, why = spandsp_mf.available()
        if ok:
            rx = spandsp_mf.SpandspMfRx(channels, forward=True, log=False)
            v = rate(runner(rx, lambda d, b, t: d.process(b)), seconds=seconds, repeat=repeat)
            results.append(Result(label, "spandsp r2_mf_rx", v * per_block, "channels/core", reference=True,
                                  note="C loop over channels"))
        else:
            results.append(Result(label, "spandsp r2_mf_rx", 0.0, "channels/core", note=f"skipped: {why}"))
    return results
