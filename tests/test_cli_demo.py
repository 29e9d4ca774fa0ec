"""cti-demo: generated signal and WAV files (PCM, A-law, u-law, other rates) through CliRunner."""
from __future__ import annotations

import struct
import wave

import numpy as np
import pytest
from click.testing import CliRunner

from cti.cli.demo import analyse, main, make_demo_signal, read_wav


def _wav(path, payload: bytes, tag: int, rate: int, bits: int, channels: int = 1) -> None:
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    body = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(payload)) + payload
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body)


def _digits_line(output: str) -> str:
    return [line for line in output.splitlines() if line.startswith("digits:")][-1].split(":", 1)[1].strip()


def test_generated_signal_default():
    res = CliRunner().invoke(main, [])
    assert res.exit_code == 0, res.output
    assert _digits_line(res.output) == "0123456789*#ABCD"
    assert "start 5" in res.output and "stop 5" in res.output


def test_generated_with_noise_and_save(tmp_path):
    out = tmp_path / "gen.wav"
    res = CliRunner().invoke(main, ["--digits", "13988776655#", "--level", "-20", "--noise", "20",
                                    "--save", str(out)])
    assert res.exit_code == 0, res.output
    assert _digits_line(res.output) == "13988776655#"
    res2 = CliRunner().invoke(main, [str(out)])
    assert res2.exit_code == 0, res2.output
    assert _digits_line(res2.output) == "13988776655#"


def test_bad_digits_is_a_usage_error():
    res = CliRunner().invoke(main, ["--digits", "12X"])
    assert res.exit_code == 2 and "not DTMF digits" in res.output


@pytest.mark.parametrize("rate", [8000, 16000, 44100])
def test_pcm_wav_any_rate(tmp_path, rate):
    from _boardcore.dtmf import DtmfGenerator

    x = DtmfGenerator(level_dbm0=-12).generate("2580")
    t = np.arange(int(x.size * rate / 8000)) / rate
    y = np.interp(t, np.arange(x.size) / 8000, x.astype(float)).astype("<i2")   # crude upsample
    path = tmp_path / f"s{rate}.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(y.tobytes())
    got, r, kind = read_wav(str(path))
    assert r == rate and kind == "16-bit PCM" and abs(got.size - x.size) <= 1
    res = CliRunner().invoke(main, [str(path)])
    assert res.exit_code == 0, res.output
    assert _digits_line(res.output) == "2580"


@pytest.mark.parametrize("law,tag", [("alaw", 6), ("ulaw", 7)])
def test_g711_wav(tmp_path, law, tag):
    from _boardcore import g711
    from _boardcore.dtmf import DtmfGenerator

    x = DtmfGenerator(level_dbm0=-15).generate("*0#D")
    codes = g711.alaw_encode(x) if law == "alaw" else g711.ulaw_encode(x)
    path = tmp_path / f"{law}.wav"
    _wav(path, bytes(codes), tag, 8000, 8)
    res = CliRunner().invoke(main, [str(path)])
    assert res.exit_code == 0, res.output
    assert _digits_line(res.output) == "*0#D"
    assert ("A-law" if law == "alaw" else "u-law") in res.output


def test_stereo_is_mixed(tmp_path):
    from _boardcore.dtmf import DtmfGenerator

    x = DtmfGenerator(level_dbm0=-10).generate("77")
    path = tmp_path / "st.wav"
    _wav(path, np.stack([x, x], axis=1).astype("<i2").tobytes(), 1, 8000, 16, channels=2)
    assert read_wav(str(path))[0].size == x.size
    assert _digits_line(CliRunner().invoke(main, [str(path)]).output) == "77"


@pytest.mark.parametrize("payload", [b"", b"RIFF\x00\x00\x00\x00WAVE", b"not a wav at all",
                                     b"RIFF\x10\x00\x00\x00WAVEfmt \x04\x00\x00\x00abcd"])
def test_broken_wav_is_a_clear_error(tmp_path, payload):
    path = tmp_path / "bad.wav"
    path.write_bytes(payload)
    res = CliRunner().invoke(main, [str(path)])
    assert res.exit_code == 1 and "Error" in res.output


def test_unsupported_format(tmp_path):
    path = tmp_path / "f.wav"
    _wav(path, b"\x00" * 64, 3, 8000, 32)     # IEEE float
    res = CliRunner().invoke(main, [str(path)])
    assert res.exit_code == 1 and "unsupported WAV format" in res.output


def test_demo_signal_has_no_false_digits_in_call_progress_tones():
    x = make_demo_signal("", -10, None)
    digits, rows = analyse(x)
    assert digits == ""


def test_call_progress_tones_reported():
    res = CliRunner().invoke(main, ["--digits", "5"])
    assert res.exit_code == 0, res.output
    events = [line for line in res.output.splitlines() if "tones" in line]
    assert any("dial" in line for line in events) and any("busy" in line for line in events), res.output
    assert _digits_line(res.output) == "5"
