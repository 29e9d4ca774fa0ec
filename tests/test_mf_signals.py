"""Signal builders shared by the MF tests (no tests here): tones, bursts, A-law round trip."""
from __future__ import annotations

import numpy as np

from _boardcore import g711

DBM0_PEAK = 22812.0   # G.711: 0 dBm0 = sine of peak 22 812
RATE = 8000


def amplitude(level_dbm0: float) -> float:
    return DBM0_PEAK * 10.0 ** (level_dbm0 / 20.0)


def dual_tone(freqs, levels_dbm0, seconds: float, phases=None, rate: int = RATE) -> np.ndarray:
    """Sum of sines (any count) at the given levels, int16."""
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    out = np.zeros(n)
    phases = phases if phases is not None else [0.0] * len(freqs)
    for f, lv, ph in zip(freqs, levels_dbm0, phases):
        out += amplitude(lv) * np.sin(2 * np.pi * f * t + ph)
    return np.clip(np.rint(out), -32768, 32767).astype(np.int16)


def pad(x: np.ndarray, n: int = 800) -> np.ndarray:
    """``x`` between ``n`` samples of silence."""
    z = np.zeros(n, dtype=np.int16)
    return np.concatenate([z, x, z])


# --- A-law (G.711) round trip through _boardcore.g711 --------------------------------------

def alaw_roundtrip(x: np.ndarray) -> np.ndarray:
    """``x`` through the A-law encoder and decoder of ``_boardcore.g711`` (what a timeslot delivers)."""
    x = np.ascontiguousarray(x, dtype=np.int16)
    flat = x.reshape(-1)
    return np.asarray(g711.alaw_decode(g711.alaw_encode(flat)), dtype=np.int16).reshape(x.shape)


# --- many cases at once: one case per channel of one detector ---------------------------

def to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def tone_pair(freqs, levels_dbm0, n: int, rng: np.random.Generator) -> np.ndarray:
    """Float samples of sines at ``freqs`` / ``levels_dbm0`` with random phases."""
    t = np.arange(n) / RATE
    out = np.zeros(n)
    for f, lv in zip(freqs, levels_dbm0):
        out += amplitude(lv) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    return out


def run_cases(mod, cases, *, forward: bool = True, frequencies: int = 6, alaw: bool = False,
              block: int = 160, max_channels: int = 2048):
    """Run each float case (already padded as wanted) on its own channel; events per case.

    Cases are zero-padded at the end to a common length plus 60 ms of silence, converted to
    int16 (and through an A-law round trip when ``alaw``), and fed in ``block`` samples.
    Returns ``(events, length)``: per case the list of (signal, sample index) events.
    """
    n = max(len(c) for c in cases) + 480
    out = []
    for base in range(0, len(cases), max_channels):
        chunk = cases[base:base + max_channels]
        x = np.zeros((len(chunk), n))
        for i, c in enumerate(chunk):
            x[i, :len(c)] = c
        x = to_int16(x)
        if alaw:
            x = alaw_roundtrip(x)
        det = mod.MfDetector(len(chunk), forward=forward, frequencies=frequencies)
        per = [[] for _ in chunk]
        for k in range(0, n, block):
            for ev in det.process(np.ascontiguousarray(x[:, k:k + block]), k / RATE):
                per[ev.channel].append((ev.signal, int(round(ev.time * RATE))))
        out += per
    return out


def signals_of(events) -> list[int]:
    return [s for s, _ in events]
