"""Media: WAV read/write in PCM, A-law and u-law; streaming recordings; supervisor mixing."""
from __future__ import annotations

import struct
import wave

import numpy as np
import pytest

from _boardcore import g711

from cti.media import wavfile
from cti.media.recorder import Recorder
from cti.media.supervise import SuperviseMode, mix


def tone(hz, n=800, amp=8000):
    return (amp * np.sin(2 * np.pi * hz * np.arange(n) / 8000)).astype(np.int16)


@pytest.mark.parametrize("fmt", [wavfile.FORMAT_PCM, wavfile.FORMAT_ALAW, wavfile.FORMAT_ULAW])
def test_wav_round_trip_each_format(tmp_path, fmt):
    pcm = tone(440)
    data = pcm if fmt == wavfile.FORMAT_PCM else (g711.alaw_encode(pcm) if fmt == wavfile.FORMAT_ALAW
                                                  else g711.ulaw_encode(pcm))
    p = tmp_path / "x.wav"
    wavfile.write(p, data, fmt=fmt)
    info, back = wavfile.read_info_and_pcm(p)
    assert (info.format, info.rate, info.frames) == (fmt, 8000, len(pcm))
    assert np.max(np.abs(back.astype(int) - pcm.astype(int))) <= (0 if fmt == wavfile.FORMAT_PCM else 300)
    assert len(wavfile.read_alaw(p)) == len(pcm)


def test_pcm_written_here_is_read_by_python_wave(tmp_path):
    p = tmp_path / "x.wav"
    wavfile.write(p, tone(1000), fmt=wavfile.FORMAT_PCM)
    with wave.open(str(p)) as w:
        assert (w.getnchannels(), w.getframerate(), w.getnframes()) == (1, 8000, 800)


def test_other_rates_are_resampled_and_stereo_takes_first_channel(tmp_path):
    p = tmp_path / "x.wav"
    stereo = np.stack([tone(500, 1600), np.zeros(1600, np.int16)], axis=1).reshape(-1)
    with wave.open(str(p), "wb") as w:
        w.setnchannels(2), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(stereo.astype("<i2").tobytes())
    assert len(wavfile.read_alaw(p)) == 800


@pytest.mark.parametrize("blob,msg", [
    (b"", "not a RIFF"), (b"RIFF\x00\x00\x00\x00WAVE", "missing fmt"),
    (b"RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + struct.pack("<HHIIHH", 3, 1, 8000, 32000, 4, 32)
     + b"data\x00\x00\x00\x00", "unsupported WAV format 3"),
    (b"RIFF\x00\x00\x00\x00WAVEfmt \x40\x00\x00\x00abc", "truncated"),
])
def test_bad_wav_files_are_clear_errors(tmp_path, blob, msg):
    p = tmp_path / "bad.wav"
    p.write_bytes(blob)
    with pytest.raises(wavfile.WavError, match=msg):
        wavfile.read_info_and_pcm(p)


def test_recorder_writes_both_directions_as_stereo_alaw(tmp_path):
    rec = Recorder(tmp_path, flush_every=2)
    r = rec.start("call/1", now=0.0)
    far, near = g711.alaw_encode(tone(400, 160)), g711.alaw_encode(tone(1200, 160))
    for _ in range(5):
        rec.feed("call/1", far, near)
    # mid-call the header is valid up to the last flush
    info, _ = wavfile.read_info_and_pcm(r.path)
    assert info.channels == 2 and info.frames == 4 * 160
    rec.stop("call/1", now=0.1)
    raw = r.path.read_bytes()
    data = raw[raw.index(b"data") + 8:]
    inter = np.frombuffer(data, np.uint8).reshape(-1, 2)
    assert bytes(inter[:160, 0]) == bytes(far) and bytes(inter[:160, 1]) == bytes(near)
    assert r.path.name == "call_1.wav" and len(inter) == 800
    info, both = wavfile.read_channels(r.path)
    assert both.shape == (800, 2)
    assert np.array_equal(both[:160, 0], g711.alaw_decode(far)) and np.array_equal(both[:160, 1], g711.alaw_decode(near))
    with pytest.raises(ValueError, match="already"):
        rec.start("x", 0.0) and rec.start("x", 0.0)


def _power(alaw):
    x = g711.alaw_decode(alaw).astype(float)
    return float(np.mean(x * x))


def test_supervise_modes_route_the_right_parties():
    c, a, s = (g711.alaw_encode(tone(f, 160)) for f in (300, 700, 1500))

    def has(block, ref_hz):
        x = g711.alaw_decode(block).astype(float)
        spec = np.abs(np.fft.rfft(x))
        return spec[int(ref_hz * 160 / 8000)] > 0.2 * spec.max()

    to_c, to_a, to_s = mix(SuperviseMode.MONITOR, c, a, s)
    assert has(to_s, 300) and has(to_s, 700) and not has(to_c, 1500) and not has(to_a, 1500)
    to_c, to_a, to_s = mix("whisper", c, a, s)
    assert has(to_a, 1500) and has(to_a, 300) and not has(to_c, 1500)
    to_c, to_a, to_s = mix("barge", c, a, s)
    assert has(to_c, 1500) and has(to_a, 1500) and has(to_c, 700)
    with pytest.raises(ValueError):
        mix("spy", c, a, s)


def test_recordings_are_filed_under_the_wall_clock_date(tmp_path):
    rec = Recorder(tmp_path, wall_clock=lambda: 1_790_000_000.0)    # 2026-09-21 UTC
    r = rec.start("7", now=12.5)                                    # board time: seconds since start
    rec.stop("7", now=13.0)
    assert r.path == tmp_path / "2026-09-21" / "7.wav"
