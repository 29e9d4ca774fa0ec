"""cti-demo: run the DTMF receiver (and the call-progress cadence detector) on a signal.

    cti-demo                                  # generated: dial tone, digits, ringback, busy
    cti-demo --digits 13988776655# --level -20 --noise 20
    cti-demo call.wav                         # a WAV file: 16-bit PCM, A-law or u-law, any rate

The signal is cut into 20 ms blocks (160 samples) and fed to ``_boardcore.dtmf`` as a span
would; the digits found and every start/stop event are printed as tables. The call-progress
cadence detector of ``_boardcore.tones`` runs on the same blocks and its events are listed too.
"""
from __future__ import annotations

import struct
import sys
from dataclasses import dataclass

import click
import numpy as np

import _boardcore
from _boardcore import dtmf, tones

RATE = 8000
BLOCK = 160


@dataclass
class Row:
    time: float
    source: str
    event: str
    detail: str


def _tone(name: str, seconds: float, level: float) -> np.ndarray:
    """A China call-progress tone (450 Hz with its cadence) from the tones kernel."""
    return np.asarray(tones.generate(name, seconds, country="cn", level_dbm0=level), dtype=np.int16)


def make_demo_signal(digits: str, level: float, noise_db: float | None, seed: int = 1) -> np.ndarray:
    """Dial tone, the digits, ringback, busy: what a caller's line carries."""
    parts = [_tone("dial", 3.0, -10.0), np.zeros(800, np.int16),
             dtmf.DtmfGenerator(level_dbm0=level, on_ms=80, off_ms=80).generate(digits),
             np.zeros(2400, np.int16), _tone("ringback", 5.0, -10.0), _tone("busy", 2.1, -10.0)]
    x = np.concatenate(parts).astype(np.float64)
    if noise_db is not None:
        rng = np.random.default_rng(seed)
        power = np.mean(x ** 2) if x.size else 0.0
        x += rng.normal(0.0, np.sqrt(power / 10 ** (noise_db / 10)), x.size)
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def _expand(codes: np.ndarray, law: str) -> np.ndarray:
    """G.711 codes to 16-bit linear with _boardcore.g711."""
    from _boardcore import g711

    decode = g711.alaw_decode if law == "alaw" else g711.ulaw_decode
    return np.asarray(decode(codes.tobytes()), dtype=np.int16)


def read_wav(path: str) -> tuple[np.ndarray, int, str]:
    """(int16 samples at 8 kHz, original rate, format) from a mono/stereo WAV file.

    16-bit PCM, 8-bit unsigned PCM, A-law (format 6) and u-law (format 7) are read; other
    rates are resampled to 8 kHz (FFT low-pass + linear interpolation); stereo is mixed.
    """
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise click.ClickException(f"{path}: not a RIFF/WAVE file")
    pos, fmt, body = 12, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        chunk = data[pos + 8:pos + 8 + size]
        if cid == b"fmt " and len(chunk) >= 16:
            fmt = struct.unpack("<HHIIHH", chunk[:16])
        elif cid == b"data":
            body = chunk
        pos += 8 + size + (size & 1)
    if fmt is None or body is None:
        raise click.ClickException(f"{path}: missing fmt or data chunk")
    tag, channels, rate, _, _, bits = fmt
    if tag == 0xFFFE:                            # WAVE_FORMAT_EXTENSIBLE: trust bits
        tag = 1
    if channels < 1 or rate < 1000 or rate > 384000:
        raise click.ClickException(f"{path}: unsupported channels={channels} rate={rate}")
    if tag == 1 and bits == 16:
        x, kind = np.frombuffer(body[:len(body) // 2 * 2], dtype="<i2").astype(np.int16), "16-bit PCM"
    elif tag == 1 and bits == 8:
        x, kind = ((np.frombuffer(body, np.uint8).astype(np.int16) - 128) << 8).astype(np.int16), "8-bit PCM"
    elif tag == 6 and bits == 8:
        x, kind = _expand(np.frombuffer(body, np.uint8), "alaw"), "A-law"
    elif tag == 7 and bits == 8:
        x, kind = _expand(np.frombuffer(body, np.uint8), "ulaw"), "u-law"
    else:
        raise click.ClickException(f"{path}: unsupported WAV format tag {tag} with {bits} bits "
                                   "(16-bit PCM, 8-bit PCM, A-law or u-law)")
    x = x[:x.size // channels * channels].reshape(-1, channels).astype(np.float64).mean(axis=1)
    if rate != RATE:
        x = resample(x, rate, RATE)
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16), rate, kind


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """``x`` from ``rate_in`` to ``rate_out``: FFT low-pass below the new Nyquist, then interpolation."""
    if x.size == 0:
        return x
    if rate_out < rate_in:
        spec = np.fft.rfft(x)
        freqs = np.fft.rfftfreq(x.size, 1.0 / rate_in)
        spec[freqs > 0.45 * rate_out] = 0
        x = np.fft.irfft(spec, x.size)
    n_out = int(x.size * rate_out / rate_in)
    t = np.arange(n_out) * (rate_in / rate_out)
    out: np.ndarray = np.interp(t, np.arange(x.size), x)
    return out


def analyse(x: np.ndarray) -> tuple[str, list[Row]]:
    """Digits and events of a signal, fed in 20 ms blocks (DTMF and call-progress tones)."""
    det = dtmf.DtmfDetector(1)
    cad = tones.CadenceDetector(1, country="cn")
    pad = (-x.size) % BLOCK
    x = np.concatenate([x, np.zeros(pad + 4 * BLOCK, np.int16)])
    rows: list[Row] = []
    digits = ""
    for i in range(0, x.size, BLOCK):
        block = x[i:i + BLOCK].reshape(1, BLOCK)
        now = i / RATE
        for e in det.process(block, now):
            rows.append(Row(e.time, "dtmf", f"{e.kind} {e.digit}", ""))
            if e.kind == "start":
                digits += e.digit
        for te in cad.process(block, now):
            rows.append(Row(te.time, "tones", te.tone, ""))
    starts = {}
    for r in rows:
        if r.source == "dtmf":
            kind, d = r.event.split()
            if kind == "start":
                starts[d] = r.time
            elif d in starts:
                r.detail = f"{(r.time - starts.pop(d)) * 1000:.0f} ms"
    rows.sort(key=lambda r: r.time)
    return digits, rows


@click.command()
@click.argument("wav", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--digits", default="0123456789*#ABCD", show_default=True, help="Digits of the generated signal.")
@click.option("--level", type=click.FloatRange(-40, 0), default=-10.0, show_default=True,
              help="DTMF level per tone, dBm0 (generated signal).")
@click.option("--noise", "noise_db", type=click.FloatRange(0, 60), default=None,
              help="Add white noise at this SNR in dB (generated signal).")
@click.option("--save", type=click.Path(dir_okay=False), default=None,
              help="Write the generated signal to this WAV file (16-bit PCM, 8 kHz).")
def main(wav: str | None, digits: str, level: float, noise_db: float | None, save: str | None) -> None:
    """Detect DTMF digits (and call-progress tones) in a WAV file or a generated signal."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if wav:
        x, rate, kind = read_wav(wav)
        title = f"{wav} ({kind}, {rate} Hz{', resampled to 8000 Hz' if rate != RATE else ''}, {x.size / RATE:.1f} s)"
    else:
        bad = [d for d in digits if d.upper() not in dtmf.DIGITS]
        if bad:
            raise click.BadParameter(f"not DTMF digits: {''.join(bad)!r}", param_hint="--digits")
        x = make_demo_signal(digits.upper(), level, noise_db)
        title = (f"generated: dial tone, {digits.upper()!r} at {level:g} dBm0, ringback, busy"
                 + (f", {noise_db:g} dB SNR" if noise_db is not None else ""))
        if save:
            import wave

            with wave.open(save, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(RATE)
                w.writeframes(x.astype("<i2").tobytes())
    found, rows = analyse(x)
    table = Table(title=title)
    table.add_column("time (s)", justify="right")
    table.add_column("detector")
    table.add_column("event")
    table.add_column("duration", justify="right")
    for r in rows:
        table.add_row(f"{r.time:.3f}", r.source, r.event, r.detail)
    console.print(table)
    kernels = _boardcore.IMPLEMENTATIONS
    console.print(f"kernels: dtmf={kernels.get('dtmf')}, tones={kernels.get('tones')}")
    console.print(f"digits: [bold]{found or '(none)'}[/bold]")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
