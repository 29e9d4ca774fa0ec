"""MF talk-off: speech and music must not operate the MF receivers; spandsp as the reference.

The corpus is tests/audio_corpus.py (helper "dtmf"): >= 10 minutes of espeak-ng speech in
several languages including Mandarin, and sox-made music; until it exists, a few minutes of
espeak-ng speech made here stand in (cached under tests/.cache/mf_talkoff/). Both directions run (forward
1380-1980 Hz, ITU backward 1140-540 Hz, China backward 4 frequencies), linear and through
an A-law round trip. The interop test runs spandsp's r2_mf_rx on the same corpus and prints
its false detections next to ours.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import pytest

from conftest import compiled_or_twin

from test_mf_signals import alaw_roundtrip

mf = compiled_or_twin("mf")

CACHE = Path(__file__).resolve().parent / ".cache" / "mf_talkoff"

#: Stand-in texts while tests/audio_corpus.py is missing: (espeak-ng voice, pitch, text).
_FALLBACK = [
    ("en-us", 50, "Please hold the line while we connect your call. The number you have dialled is not "
                  "available. Thank you for calling customer service, your call is important to us. "),
    ("en+f3", 80, "Welcome to the automated attendant. For sales press one, for support press two. All of "
                  "our operators are busy, please stay on the line. Hello, can you hear me now? "),
    ("cmn", 60, "您好，欢迎致电客户服务中心。请稍候，我们正在为您转接。您拨打的电话暂时无法接通，请稍后再拨。"
                "一二三四五六七八九零。今天天气很好，我们一起去公园散步吧。"),
    ("cmn", 95, "各位旅客请注意，开往上海的列车即将进站，请在黄线以外等候。妈妈骑马，马慢，妈妈骂马。"),
    ("de", 50, "Bitte warten Sie, Sie werden verbunden. Die Rufnummer ist nicht vergeben. "),
]


def _fallback_speech() -> list[tuple[str, np.ndarray]]:
    """A few minutes of espeak-ng speech (cached), used only until audio_corpus lands."""
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    if not (espeak and sox):
        pytest.skip("tests/audio_corpus.py missing and espeak-ng/sox not installed")
    CACHE.mkdir(parents=True, exist_ok=True)
    out = []
    for k, (voice, pitch, text) in enumerate(_FALLBACK):
        path = CACHE / f"{k}-{voice}-{pitch}.npy"
        if not path.exists():
            with tempfile.TemporaryDirectory() as tmp:
                raw, wav = os.path.join(tmp, "raw.wav"), os.path.join(tmp, "out.wav")
                subprocess.run([espeak, "-v", voice, "-p", str(pitch), "-w", raw, text * 4],
                               check=True, capture_output=True)
                subprocess.run([sox, raw, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer",
                                "-t", "wavpcm", wav, "norm", "-3"], check=True, capture_output=True)
                with wave.open(wav) as w:
                    np.save(path, np.frombuffer(w.readframes(w.getnframes()), np.int16))
        out.append((path.stem, np.load(path)))
    return out


def _corpus() -> tuple[list, list, bool]:
    """(speech, music, shared): the shared corpus when tests/audio_corpus.py is there."""
    try:
        import audio_corpus  # type: ignore[import-not-found]
    except ImportError:
        return _fallback_speech(), [], False
    return list(audio_corpus.talkoff_speech()), list(audio_corpus.talkoff_music()), True

#: (name, forward, frequencies) of the receivers that must stay silent.
RECEIVERS = [("forward", True, 6), ("backward", False, 6), ("china-backward", False, 4)]


@pytest.fixture(scope="module")
def corpus():
    return _corpus()


@pytest.fixture(scope="module")
def clips(corpus) -> list[tuple[str, np.ndarray]]:
    speech, music, _ = corpus
    out = [(f"speech:{n}", np.asarray(x, dtype=np.int16)) for n, x in speech]
    out += [(f"music:{n}", np.asarray(x, dtype=np.int16)) for n, x in music]
    return out


def ours(x: np.ndarray, forward: bool, frequencies: int) -> list:
    """Our events on one clip (one channel, whole clip in one call, then silence)."""
    det = mf.MfDetector(1, forward=forward, frequencies=frequencies)
    evs = det.process(x[None, :], 0.0)
    evs += det.process(np.zeros((1, 800), np.int16), x.size / 8000)
    return [e for e in evs if e.signal]


def corpus_seconds(clips) -> float:
    return sum(x.size for _, x in clips) / 8000


@pytest.mark.battery
def test_corpus_is_long_enough(corpus, clips):
    if not corpus[2]:
        pytest.skip("tests/audio_corpus.py (helper dtmf) not there yet: a shorter espeak-ng stand-in is used")
    speech = sum(x.size for n, x in clips if n.startswith("speech:")) / 8000
    assert speech >= 600, f"only {speech:.0f} s of speech"
    assert any("music:" in n for n, _ in clips)


@pytest.mark.battery
@pytest.mark.parametrize("alaw", [False, True], ids=["linear", "alaw"])
def test_no_talk_off(clips, alaw):
    """Zero signals from every receiver on the whole corpus (and at -10 dB)."""
    false = []
    for name, x in clips:
        for gain in (1.0, 0.316):
            y = (x * gain).astype(np.int16) if gain != 1.0 else x
            if alaw:
                y = alaw_roundtrip(y)
            for rx, forward, nfreq in RECEIVERS:
                for ev in ours(y, forward, nfreq):
                    false.append((name, gain, rx, ev.signal, round(ev.time, 3)))
    assert not false, f"{len(false)} false signals, first: {false[:10]}"


@pytest.mark.interop
def test_talk_off_against_spandsp(clips):
    """spandsp's r2_mf_rx on the same corpus: its false detections next to ours (zero)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench import spandsp_mf

    ok, why = spandsp_mf.available()
    if not ok:
        pytest.skip(why)
    # the wrapper works: it reads a real sequence in both directions
    for forward in (True, False):
        gen = mf.MfGenerator(forward=forward, level_dbm0=-10.0)
        seq = np.concatenate([np.concatenate([gen.tone(s, 480), gen.tone(0, 400)]) for s in range(1, 16)])
        assert spandsp_mf.detect(seq, forward=forward) == mf.SIGNAL_CHARS
    rows = []
    for name, x in clips:
        theirs = {fw: len(spandsp_mf.detect(x, forward=fw)) for fw in (True, False)}
        mine = {fw: len(ours(x, fw, 6)) for fw in (True, False)}
        rows.append((name, x.size / 8000, theirs[True], theirs[False], mine[True], mine[False]))
    lines = [f"{'clip':40s} {'s':>6s} {'spandsp fwd':>11s} {'spandsp bwd':>11s} {'ours fwd':>8s} {'ours bwd':>8s}"]
    lines += [f"{n[:40]:40s} {s:6.1f} {a:11d} {b:11d} {c:8d} {d:8d}" for n, s, a, b, c, d in rows]
    tot = [sum(r[k] for r in rows) for k in range(2, 6)]
    lines.append(f"{'total (' + str(len(rows)) + ' clips)':40s} {corpus_seconds(clips):6.0f} "
                 f"{tot[0]:11d} {tot[1]:11d} {tot[2]:8d} {tot[3]:8d}")
    print("\nMF talk-off, digits reported on speech and music:\n" + "\n".join(lines))
    assert tot[2] == 0 and tot[3] == 0
