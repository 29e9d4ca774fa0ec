"""Call-progress classification of outbound attempts from what is heard: tones made by the
kernel's generator, through A-law, with noise; speech that must not be taken for busy;
the precedence between signalling and tone evidence."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from _boardcore import tones
from _boardcore.g711 import alaw_encode
from cti.outbound import Outcome, ProgressClassifier
from cti.outbound.listen import AttemptListener
from cti.outbound.progress import outcome_of_cause
from simulator.exchange.inband import SyntheticVoice
from tests.audio_corpus import white_noise
from tests.conftest import kernel_impls, load_impl


def feed(listener: AttemptListener, pcm: np.ndarray, t0: float = 0.0, stop_when_decided: bool = False) -> float:
    """Feed ``pcm`` in 20 ms A-law blocks from ``t0``; the time after the last block fed."""
    a = alaw_encode(np.ascontiguousarray(pcm, dtype=np.int16))
    t = t0
    for i in range(0, len(a), 160):
        listener.feed(a[i:i + 160], t)
        t += 0.02
        if stop_when_decided and listener.progress.outcome is not None:
            break
    return t


def mix(*parts: np.ndarray) -> np.ndarray:
    n = max(len(p) for p in parts)
    out = np.zeros(n, dtype=np.int32)
    for p in parts:
        out[:len(p)] += p
    return np.clip(out, -32768, 32767).astype(np.int16)


def voice(seconds: float, seed: int = 1, level: float = -16.0) -> np.ndarray:
    return SyntheticVoice(seed, level_dbm0=level).read(int(seconds * 8000))


@pytest.mark.parametrize("tone,outcome,cycle", [("busy", Outcome.BUSY, 0.7), ("congestion", Outcome.CONGESTION, 1.4)])
@pytest.mark.parametrize("level", [-10.0, -25.0])
def test_busy_and_congestion_in_band_decide_within_two_cycles(tone, outcome, cycle, level):
    p = ProgressClassifier(0.0, no_answer_timeout=30.0)
    p.alerting(0.0)                                  # the signalling says alerting, nothing else
    lis = AttemptListener(p)
    feed(lis, tones.generate(tone, 6.0, level_dbm0=level), stop_when_decided=True)
    assert p.outcome is outcome and p.source == "tone"
    assert p.decided_at <= 2 * cycle + 0.1
    assert p.heard_tones() == [tone]


@pytest.mark.parametrize("snr_db", [20.0, 15.0])
def test_busy_under_white_noise(snr_db):
    p = ProgressClassifier(0.0)
    pcm = mix(tones.generate("busy", 5.0, level_dbm0=-15.0), white_noise(40000, -15.0 - snr_db, seed=3))
    feed(AttemptListener(p), pcm)
    assert p.outcome is Outcome.BUSY and p.source == "tone"


def test_noise_alone_is_not_a_tone_and_ends_in_no_answer():
    p = ProgressClassifier(0.0, no_answer_timeout=20.0)
    p.alerting(0.1)
    feed(AttemptListener(p), white_noise(8000 * 21, -45.0, seed=5))
    assert p.outcome is Outcome.NO_ANSWER and p.source == "timer"
    assert not {"busy", "congestion", "ringback"} & set(p.heard_tones())


def test_ringback_until_the_timeout_is_no_answer():
    p = ProgressClassifier(0.0, no_answer_timeout=25.0)
    p.alerting(0.2)
    feed(AttemptListener(p), tones.generate("ringback", 26.0))
    assert p.outcome is Outcome.NO_ANSWER and p.source == "timer" and p.decided_at == pytest.approx(25.0, abs=0.03)
    assert p.heard_tones() == ["ringback"]


def test_ringback_then_answer_then_voice_is_answered_by_the_voice():
    p = ProgressClassifier(0.0, answer_wait=6.0)
    p.alerting(0.2)
    lis = AttemptListener(p)
    t = feed(lis, tones.generate("ringback", 8.0))
    assert p.outcome is None and p.heard == "ringback"
    p.answered_by_signalling(t)
    feed(lis, voice(3.0), t)
    assert p.outcome is Outcome.ANSWERED and p.source == "tone"
    assert t + 0.6 <= p.decided_at <= t + 1.2
    assert p.heard_tones() == ["ringback", "voice"]


def test_pbx_answers_the_trunk_then_busy_in_band():
    """A PBX behind the trunk answers at once and plays busy: the signalling answer is no
    answer; the tone decides."""
    p = ProgressClassifier(0.0, answer_wait=6.0)
    p.answered_by_signalling(0.3)
    feed(AttemptListener(p), tones.generate("busy", 3.0), 0.3)
    assert p.outcome is Outcome.BUSY and p.source == "tone"


def test_pbx_rings_its_extension_forever_is_no_answer():
    p = ProgressClassifier(0.0, no_answer_timeout=20.0, answer_wait=6.0)
    p.answered_by_signalling(0.3)
    feed(AttemptListener(p), tones.generate("ringback", 21.0), 0.3)
    assert p.outcome is Outcome.NO_ANSWER and p.source == "timer"


def test_pbx_extension_answers_after_ringing():
    p = ProgressClassifier(0.0, no_answer_timeout=30.0, answer_wait=6.0)
    p.answered_by_signalling(0.0)
    lis = AttemptListener(p)
    t = feed(lis, tones.generate("ringback", 11.0))
    assert p.outcome is None                    # the PBX rings: the trunk answer alone is not enough
    feed(lis, voice(2.0, seed=4), t)
    assert p.outcome is Outcome.ANSWERED and p.source == "tone" and p.decided_at < t + 1.5


def test_pbx_dial_tone_means_the_number_is_incomplete():
    p = ProgressClassifier(0.0, answer_wait=6.0, supervised=True)
    p.answered_by_signalling(0.2)
    feed(AttemptListener(p), tones.generate("dial", 3.0), 0.2)
    assert p.outcome is Outcome.FAILED and p.source == "tone" and p.heard_tones() == ["dial"]


def test_silent_answer_is_trusted_after_answer_wait():
    p = ProgressClassifier(0.0, answer_wait=4.0)
    p.alerting(0.1)
    p.answered_by_signalling(2.0)
    feed(AttemptListener(p), np.zeros(8000 * 7, dtype=np.int16), 2.0)
    assert p.outcome is Outcome.ANSWERED and p.source == "signalling" and p.decided_at == pytest.approx(6.0, abs=0.03)


def test_answer_wait_zero_is_the_signalling_answer_at_once():
    p = ProgressClassifier(0.0)
    assert p.answered_by_signalling(1.0) is Outcome.ANSWERED and p.source == "signalling"


def test_early_media_voice_is_not_an_answer():
    """Voice while the signalling alerts (an announcement, a coloured ringback tone) is noted,
    not taken as an answer."""
    p = ProgressClassifier(0.0, no_answer_timeout=12.0)
    p.alerting(0.0)
    feed(AttemptListener(p), voice(13.0, seed=2))
    assert p.outcome is Outcome.NO_ANSWER and p.heard_tones() == ["voice (early)"]


def test_voice_on_a_line_without_supervision_is_answered():
    p = ProgressClassifier(0.0, no_answer_timeout=12.0)
    feed(AttemptListener(p), voice(2.0, seed=6))
    assert p.outcome is Outcome.ANSWERED and p.source == "tone"


@pytest.mark.parametrize("seed", range(6))
def test_speech_after_answer_is_never_taken_for_a_tone(seed):
    p = ProgressClassifier(0.0, answer_wait=6.0, no_answer_timeout=100.0)
    p.answered_by_signalling(0.0)
    lis = AttemptListener(p)
    feed(lis, voice(30.0, seed=seed, level=-10.0 - 3 * seed))
    assert p.outcome is Outcome.ANSWERED
    assert {e.tone for e in lis.events} <= {"voice", "silence", "none"}


def test_real_speech_corpus_is_never_busy():
    """espeak-ng speech (the talk-off corpus, a few minutes) through A-law: never busy,
    congestion or ringback."""
    from tests.audio_corpus import talkoff_speech
    clips = talkoff_speech()[:6]
    for name, pcm in clips:
        lis = AttemptListener(ProgressClassifier(0.0, no_answer_timeout=1e5))
        feed(lis, pcm[: 8000 * 40])
        got = {e.tone for e in lis.events}
        assert not got & {"busy", "congestion", "ringback", "dial"}, (name, got)


def test_release_cause_decides_at_once_and_generic_causes_take_the_tone():
    p = ProgressClassifier(0.0)
    p.tone("ringback", 5.0)
    assert p.released(17, 6.0) is Outcome.BUSY and p.source == "signalling"
    p = ProgressClassifier(0.0)
    p.tone("ringback", 5.0)
    assert p.released(16, 9.0) is Outcome.NO_ANSWER and p.source == "tone"
    p = ProgressClassifier(0.0)
    assert p.released(16, 1.0) is Outcome.FAILED and p.source == "signalling"
    p = ProgressClassifier(0.0)
    p.tone("busy", 1.0)                       # the tone came first: the later release keeps it
    assert p.released(34, 2.0) is Outcome.BUSY and p.source == "tone"
    assert [outcome_of_cause(c) for c in (1, 17, 19, 34, 42, 16, None)] == [
        Outcome.UNALLOCATED, Outcome.BUSY, Outcome.NO_ANSWER, Outcome.CONGESTION, Outcome.CONGESTION,
        Outcome.FAILED, Outcome.FAILED]


def test_bad_input():
    with pytest.raises(ValueError):
        ProgressClassifier(0.0, no_answer_timeout=0)
    with pytest.raises(ValueError):
        ProgressClassifier(0.0, answer_wait=-1)
    p = ProgressClassifier(0.0)
    with pytest.raises(TypeError):
        p.tone(3, 1.0)                        # type: ignore[arg-type]
    lis = AttemptListener(p)
    with pytest.raises(TypeError):
        lis.feed("abc", 0.0)                  # type: ignore[arg-type]
    assert lis.feed(b"", 0.0) is None         # nothing heard, nothing decided
    assert lis.feed(b"\xd5" * 7, 0.0) is None  # a short block is carried, not an error


_EVENTS = st.lists(st.tuples(st.sampled_from(["tone", "alert", "answer", "release", "time"]),
                             st.sampled_from(["busy", "ringback", "congestion", "voice", "silence", "none", "dial"]),
                             st.floats(0.0, 5.0), st.sampled_from([None, 1, 16, 17, 19, 34, 102])),
                   max_size=40)


@pytest.mark.system
@settings(max_examples=200, deadline=None)
@given(_EVENTS, st.floats(0.0, 10.0))
def test_random_evidence_decides_once_and_in_time(events, wait):
    p = ProgressClassifier(0.0, no_answer_timeout=30.0, answer_wait=wait)
    now, first = 0.0, None
    for kind, name, dt, cause in events:
        now += dt
        if kind == "tone":
            p.tone(name, now)
        elif kind == "alert":
            p.alerting(now)
        elif kind == "answer":
            p.answered_by_signalling(now)
        elif kind == "release":
            p.released(cause, now)
        else:
            p.service(now)
        if first is None and p.outcome is not None:
            first = (p.outcome, p.source, p.decided_at)
        if first is not None:
            assert (p.outcome, p.source, p.decided_at) == first    # decided once, never changed
    p.service(now + 31.0)
    assert p.outcome is not None and p.next_deadline() is None


@pytest.fixture(params=kernel_impls("tones"))
def tones_impl(request):
    return load_impl(request.param)


def test_both_kernels_classify_alike(tones_impl):
    """The compiled detector and its twin give the classifier the same evidence."""
    seq = np.concatenate([tones.generate("ringback", 11.0), voice(3.0, seed=9)])
    got = []
    for answer_at in (None, 11.0):
        p = ProgressClassifier(0.0, answer_wait=6.0, supervised=True)
        p.alerting(0.0)
        lis = AttemptListener(p, detector=tones_impl.CadenceDetector(1))
        a = alaw_encode(seq)
        for i in range(0, len(a), 160):
            t = i / 8000
            if answer_at is not None and t >= answer_at and p.answered_at is None:
                p.answered_by_signalling(t)
            lis.feed(a[i:i + 160], t)
        got.append((p.outcome, p.source, p.heard_tones()))
    assert got[0] == (None, "", ["ringback", "voice (early)"])      # no answer yet: early media
    assert got[1][:2] == (Outcome.ANSWERED, "tone") and got[1][2] == ["ringback", "voice"]


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=0, max_size=2000), st.integers(1, 400))
def test_arbitrary_audio_never_raises(data, block):
    p = ProgressClassifier(0.0, no_answer_timeout=5.0)
    lis = AttemptListener(p)
    t = 0.0
    for i in range(0, len(data), block):
        lis.feed(data[i:i + block], t)
        t += block / 8000
    assert p.outcome in (None, *Outcome)
