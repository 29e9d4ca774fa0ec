"""MF talk-off: speech and music must not operate the MF receivers; spandsp as the reference.

The corpus is tests/audio_corpus.py (helper "dtmf"): >= 10 minutes of espeak-ng speech in
several languages including Mandarin, and sox-made music. Both directions run (forward
1380-1980 Hz, ITU backward 1140-540 Hz, China backward 4 frequencies), linear and through
an A-law round trip. The interop test runs spandsp's r2_mf_rx on the same corpus and prints
its false detections next to ours.
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import compiled_or_twin

from test_mf_signals import alaw_roundtrip

audio_corpus = pytest.importorskip("audio_corpus", reason="tests/audio_corpus.py (helper dtmf) not there yet")

mf = compiled_or_twin("mf")

#: (name, forward, frequencies) of the receivers that must stay silent.
RECEIVERS = [("forward", True, 6), ("backward", False, 6), ("china-backward", False, 4)]


@pytest.fixture(scope="module")
def clips() -> list[tuple[str, np.ndarray]]:
    out = [(f"speech:{n}", np.asarray(x, dtype=np.int16)) for n, x in audio_corpus.talkoff_speech()]
    out += [(f"music:{n}", np.asarray(x, dtype=np.int16)) for n, x in audio_corpus.talkoff_music()]
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
def test_corpus_is_long_enough(clips):
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
