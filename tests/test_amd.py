"""Answering-machine detection: the kernel and its twin on the espeak-ng corpus (Mandarin and
English human / machine greetings with beeps, noise, A-law), the beep, bad input."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from _boardcore import _select, amd, amd_py

IMPLS = [amd_py] + ([m] if (m := _select.compiled("amd")) is not None else [])
IDS = [m.__name__.rsplit(".", 1)[1] for m in IMPLS]


@pytest.fixture(scope="module")
def items():
    from bench.amd_corpus import CorpusUnavailable, corpus
    try:
        return corpus(48, seed=7)
    except CorpusUnavailable as e:
        pytest.skip(str(e))


def run(mod, pcm, block=160):
    d = mod.AmdDetector()
    out = []
    for i in range(0, len(pcm), block):
        out += d.feed(pcm[i:i + block])
    return out


def verdict(events):
    v = [e for e in events if e.kind in amd_py.VERDICTS]
    assert len(v) <= 1
    return v[0] if v else None


@pytest.mark.system
@pytest.mark.parametrize("mod", IMPLS, ids=IDS)
def test_corpus_accuracy_and_beep(items, mod):
    right = beeps_found = machines = 0
    for it in items:
        ev = run(mod, it.pcm)
        v = verdict(ev)
        assert v is not None, it.name
        assert 0.5 <= v.confidence <= 1.0
        right += v.kind == it.label
        if it.label == "human":
            assert v.at < 5000.0 and not any(e.kind == "beep" for e in ev), it.name
        elif v.kind == "machine":
            machines += 1
            beeps = [e for e in ev if e.kind == "beep"]
            assert len(beeps) <= 1 and (beeps or ev[-1].kind == "greeting-end"), it.name
            if beeps:
                assert abs(beeps[0].at - it.beep_end_ms) <= 30.0, (it.name, beeps, it.beep_end_ms)
                beeps_found += 1
    assert right >= 0.9 * len(items), f"{right}/{len(items)}"
    assert beeps_found >= 0.85 * machines, f"{beeps_found}/{machines}"


def test_compiled_and_twin_agree_event_for_event(items):
    if len(IMPLS) < 2:
        pytest.skip("amd_c not built (BOARDCORE_NO_EXTENSIONS or no compiler): nothing to compare")
    for it in items:
        assert run(IMPLS[0], it.pcm) == run(IMPLS[1], it.pcm), it.name


@pytest.mark.parametrize("mod", IMPLS, ids=IDS)
def test_block_size_does_not_matter(items, mod):
    for it in items[:6]:
        assert run(mod, it.pcm, 160) == run(mod, it.pcm, 37) == run(mod, it.pcm, len(it.pcm))


def test_reset_gives_a_fresh_call(items):
    d = amd.AmdDetector()
    first = d.feed(items[1].pcm)
    d.reset()
    assert d.verdict == "" and not d.done and d.feed(items[1].pcm) == first


def tone(f, sec, level=8000.0):
    t = np.arange(int(sec * 8000)) / 8000
    return (level * np.sin(2 * np.pi * f * t)).astype(np.int16)


@pytest.mark.parametrize("mod", IMPLS, ids=IDS)
def test_beep_alone_and_silence(mod):
    pcm = np.concatenate([np.zeros(4000, np.int16), tone(1000.0, 0.4), np.zeros(8000, np.int16)])
    ev = run(mod, pcm)
    assert [e.kind for e in ev] == ["machine", "beep"] and ev[0].reason == "beep"
    assert abs(ev[1].at - 900.0) <= 20 and abs(ev[1].freq - 1000.0) < 15
    ev = run(mod, np.zeros(8000 * 4, np.int16))
    assert [(e.kind, e.reason) for e in ev] == [("machine", "initial-silence")]
    ev = run(mod, tone(1000.0, 0.08))          # too short for a beep
    assert not ev


@pytest.mark.parametrize("kw,msg", [({"greeting": 1.0}, "unknown parameter"), ({"greeting_max": -1}, "positive"),
                                    ({"beep_min": "x"}, "a number"), ({"after_greeting": float("nan")}, "a number")])
def test_bad_parameters(kw, msg):
    for mod in IMPLS:
        with pytest.raises(ValueError, match=msg):
            mod.AmdDetector(**kw)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-32768, 32767), max_size=2000), st.integers(1, 400))
def test_arbitrary_audio_never_raises_and_implementations_agree(samples, block):
    pcm = np.array(samples, dtype=np.int16)
    got = [run(m, pcm, block) for m in IMPLS]
    assert all(g == got[0] for g in got)
    for e in got[0]:
        assert e.kind in (*amd_py.VERDICTS, "beep", "greeting-end") and 0.0 <= e.confidence <= 1.0
