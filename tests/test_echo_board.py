"""The echo canceller in the Board API: ``Span.echo_canceller(ts, tail_ms)``, cancelled on the host.

On the simulator, two spans back to back: span 0 is ours (an IVR plays a prompt on
timeslot 5), span 1 plays the caller's line: it returns the prompt through a hybrid model
(ERL 6 dB, G.168's minimum) and types DTMF over it (barge-in). The host canceller on
span 0 removes the echo where media enters (``Span.read_audio``), so the DTMF detector and
the audio listeners hear the digits on the cancelled signal.
"""
from __future__ import annotations

import numpy as np
import pytest

import drivers
from _boardcore.dtmf import DtmfDetector, DtmfGenerator
from _boardcore.g711 import alaw_decode, alaw_encode
from bench.bench_echo import erle_db, hybrid, i16, speech_band_noise
from cti.media.taps import SpanTaps
from drivers.base import ECHO_TAIL_MAX_MS, ConfigError, EchoConfig

TS = 5
N = 160


def test_echo_canceller_settings_per_timeslot():
    board = drivers.open("sim", spans=1)
    span = board.span(0)
    assert span.echo_configs() == {}
    assert span.echo_canceller(5) == EchoConfig(64)
    assert span.echo_canceller(7, tail_ms=128) == EchoConfig(128)
    assert span.echo_canceller(5, tail_ms=None) is None
    assert span.echo_configs() == {7: EchoConfig(128)}
    for bad in (0, ECHO_TAIL_MAX_MS + 1, True, 64.0):
        with pytest.raises(ConfigError):
            span.echo_canceller(7, tail_ms=bad)
    for ts in (0, 16, 32):
        with pytest.raises((ConfigError, ValueError)):
            span.echo_canceller(ts)
    assert span.echo_configs() == {7: EchoConfig(128)}
    board.close()


def _barge_in(cancel: bool | None, seconds: float = 5.0, digits: str = "1590#"):
    """Play a prompt on span 0 / TS 5; the far end echoes it and types ``digits`` after 2.5 s.
    ``cancel``: True sets the canceller, None sets it and clears it again, False never sets it.
    Returns (what span 0's reader heard, what a listener on the media taps heard, the digits
    detected on what the reader heard)."""
    rng = np.random.default_rng(11)
    board = drivers.open("sim", spans=2, cross_connect=[(0, 1)])
    ours, line = board.span(0), board.span(1)
    if cancel is not False:
        ours.echo_canceller(TS, tail_ms=64)
    if cancel is None:
        ours.echo_canceller(TS, tail_ms=None)
    heard_by_listener: list[np.ndarray] = []
    SpanTaps({0: ours}).listen((0, TS), lambda alaw, t: heard_by_listener.append(
        np.asarray(alaw_decode(alaw), np.int16)))
    n = int(seconds * 8000)
    prompt = i16(speech_band_noise(n, -12.0, rng))
    h = hybrid(8, 6, 6.0, rng)
    keyed = np.zeros(n)
    dt = DtmfGenerator(level_dbm0=-24.0, on_ms=60, off_ms=60).generate(digits).astype(np.float64)
    start = int(min(2.5, seconds / 2) * 8000)
    keyed[start:start + dt.size] = dt[:n - start]
    heard = np.zeros(0)                       # what the far end has received so far
    read = []
    det = DtmfDetector(1)
    got = ""
    for k in range(0, n, N):
        ours.write_audio(TS, alaw_encode(prompt[k:k + N]))
        board.advance(0.02)
        blk = line.read_audio([TS])
        if blk is not None:
            heard = np.concatenate([heard, np.asarray(alaw_decode(blk.timeslot(TS)), np.float64)])
            m = heard.size
            echo = np.convolve(heard[max(0, m - N - h.size):], h)[-h.size - N + 1:][:N] if m >= N else np.zeros(N)
            line.write_audio(TS, alaw_encode(i16(echo + keyed[m - N:m])))
        out = ours.read_audio([TS])           # the stacks' read
        if out is None:
            continue
        pcm = np.asarray(alaw_decode(out.timeslot(TS)), np.int16)
        read.append(pcm)
        got += "".join(e.digit for e in det.process(pcm[None, :], k / 8000) if e.kind == "start")
    board.close()
    return np.concatenate(read), np.concatenate(heard_by_listener), got


def test_host_canceller_removes_the_echo_and_hears_barge_in_dtmf():
    raw, _, plain = _barge_in(cancel=False)    # the far end's echo does not depend on ours
    out, listened, digits = _barge_in(cancel=True)
    quiet = slice(int(1.5 * 8000), int(2.4 * 8000))        # echo only, after convergence
    assert np.mean(raw[quiet].astype(float) ** 2) > 1e4     # there is an echo to cancel
    assert erle_db(raw[quiet], out[quiet]) >= 20.0
    assert digits == "1590#"
    # without it the detector hears the digits through the prompt's echo (6 dB under the
    # -12 dBm0 prompt, louder than the caller's -24 dBm0 digits): none of them is found
    assert plain == ""
    # the listeners (recording, supervision) hear what the stacks read: the cancelled signal
    np.testing.assert_array_equal(listened, out)


def test_without_the_canceller_the_timeslot_passes_unchanged():
    raw, listened, _ = _barge_in(cancel=False, seconds=2.0)
    cleared, _, _ = _barge_in(cancel=None, seconds=2.0)
    np.testing.assert_array_equal(raw, cleared)
    np.testing.assert_array_equal(raw, listened)
