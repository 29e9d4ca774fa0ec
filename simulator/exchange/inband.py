"""In-band audio a simulated exchange sends toward us on a call we placed: call-progress
tones (``_boardcore.tones.ToneGenerator``, China 450 Hz by default, YD/T 1970
call-progress tones: ringback 1 s / 4 s, busy 0.35 / 0.35 s, congestion 0.7 / 0.7 s) and,
once the called party answers, its speech (:class:`SyntheticVoice`).

:class:`InbandPlayer` keeps one source per circuit and writes exactly the audio of the time
that passed (20 ms per board block) to the far-end span, so the queue toward us never grows.
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable

import numpy as np

from _boardcore.g711 import alaw_encode
from _boardcore.tones import DBM0_PEAK, ToneGenerator
from drivers.base import Span

RATE = 8000
#: Seconds of synthetic speech an exchange makes once and shares among its talkers.
VOICE_CLIP = 40

#: Vowel formants (F1, F2, F3 Hz), rounded from the Peterson & Barney averages.
_VOWELS = ((730, 1090, 2440), (270, 2290, 3010), (530, 1840, 2480), (660, 1720, 2410),
           (570, 840, 2410), (300, 870, 2240), (640, 1190, 2390), (490, 1350, 1690))
_BANDWIDTHS = (90.0, 110.0, 170.0)


class SyntheticVoice:
    """A voice-like signal: syllables of harmonic sound shaped by vowel formants, pitch that
    glides, breath noise, pauses between words and phrases. Deterministic per ``seed``.

    It is speech to a call-progress detector (non-tonal energy that keeps starting and
    stopping), never a cadenced tone: the harmonics move with the pitch and the vowel.
    """

    def __init__(self, seed: int = 0, level_dbm0: float = -16.0, pitch: tuple[float, float] = (95.0, 230.0)) -> None:
        if not -60.0 <= float(level_dbm0) <= 0.0:
            raise ValueError(f"level_dbm0 must be -60..0, not {level_dbm0!r}")
        lo, hi = pitch
        if not 50.0 <= lo <= hi <= 400.0:
            raise ValueError(f"pitch must be (low, high) within 50..400 Hz, not {pitch!r}")
        self.rng = random.Random(seed)
        self.nrng = np.random.default_rng(seed)
        self.amplitude = DBM0_PEAK * 10.0 ** (level_dbm0 / 20.0)
        self.pitch = (float(lo), float(hi))
        self._buf = np.zeros(0, dtype=np.int16)
        self._phase = 0.0
        self._word = 0                       # syllables left in the current word

    def read(self, n: int) -> np.ndarray:
        """The next ``n`` samples (int16)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be an int >= 0, not {n!r}")
        parts = [self._buf]
        have = len(self._buf)
        while have < n:
            seg = self._segment()
            parts.append(seg)
            have += len(seg)
        out = np.concatenate(parts)
        self._buf = out[n:]
        return out[:n]

    def _segment(self) -> np.ndarray:
        r = self.rng
        if self._word <= 0:
            self._word = r.randint(1, 4)
            gap = r.uniform(0.25, 0.45) if r.random() < 0.25 else r.uniform(0.04, 0.15)   # phrase / word
            return self._silence(gap)
        self._word -= 1
        return self._syllable()

    def _silence(self, seconds: float) -> np.ndarray:
        n = int(seconds * RATE)
        return np.clip(self.nrng.normal(0.0, self.amplitude * 0.003, n), -32768, 32767).astype(np.int16)

    def _syllable(self) -> np.ndarray:
        r = self.rng
        n = int(r.uniform(0.12, 0.32) * RATE)
        t = np.arange(n) / RATE
        lo, hi = self.pitch
        f_start = r.uniform(lo, hi)
        f_end = min(hi, max(lo, f_start * r.uniform(0.75, 1.3)))
        f0 = f_start + (f_end - f_start) * t / max(t[-1], 1e-9) + 6.0 * np.sin(2 * np.pi * r.uniform(4, 7) * t)
        phase = self._phase + 2 * np.pi * np.cumsum(f0) / RATE
        self._phase = float(phase[-1] % (2 * np.pi))
        v1, v2 = r.choice(_VOWELS), r.choice(_VOWELS)
        mix = t / max(t[-1], 1e-9)                          # the vowel moves (a diphthong)
        formants = [(a + (b - a) * mix) for a, b in zip(v1, v2, strict=False)]
        x = np.zeros(n)
        kmax = int(3600 / lo)
        for k in range(1, kmax + 1):
            fk = k * f0
            gain = np.zeros(n)
            for F, B in zip(formants, _BANDWIDTHS, strict=False):
                gain += 1.0 / (1.0 + ((fk - F) / B) ** 2)
            gain *= (fk < 3800) / math.sqrt(k)
            x += gain * np.sin(k * phase)
        x += self.nrng.normal(0.0, 0.08, n) * np.abs(x).mean()   # breath
        if r.random() < 0.35:                                   # a fricative onset
            m = int(r.uniform(0.03, 0.08) * RATE)
            noise = self.nrng.normal(0.0, 1.0, m)
            noise = np.diff(noise, prepend=0.0)                 # high-passed
            x[:m] = x[:m] * np.linspace(0, 1, m) + noise * np.abs(x).mean() * 0.8
        env = np.sin(np.pi * np.arange(n) / n) ** 0.6
        x *= env
        peak = np.abs(x).max() or 1.0
        x *= self.amplitude * r.uniform(0.6, 1.0) / peak * 1.4
        return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


Source = Callable[[int], np.ndarray]


def tone_source(name: str, country: str = "cn", level_dbm0: float = -10.0) -> Source:
    """A call-progress tone as a source (``read(n)``)."""
    return ToneGenerator(name, country=country, level_dbm0=level_dbm0).read


class InbandPlayer:
    """Per-circuit in-band sources written toward us on the exchange's spans, in step with time."""

    def __init__(self, spans: Iterable[Span], country: str = "cn", seed: int = 0) -> None:
        self.spans = {getattr(s, "number", i): s for i, s in enumerate(spans)}
        self.country = country
        self.seed = seed
        self.playing: dict[tuple[int, int], tuple[str, Source]] = {}
        self._start: dict[tuple[int, int], float] = {}     #: when the circuit's audio began
        self._written: dict[tuple[int, int], int] = {}     #: samples written since then
        self._voices = 0
        self._clip: np.ndarray | None = None
        #: every (time, circuit, what) started, for tests and traces
        self.log: list[tuple[float, tuple[int, int], str]] = []

    def play(self, circuit: tuple[int, int], what: str | None, now: float) -> None:
        """Start ``what`` ("ringback", "busy", "congestion", "dial", "voice") on ``circuit``
        (replacing what played), or stop with None."""
        if what is None:
            self.stop(circuit)
            return
        if what == "voice":
            self._voices += 1
            src: Source = self._voice_source(self._voices)
        else:
            src = tone_source(what, self.country)
        self.playing[circuit] = (what, src)
        if circuit not in self._start:
            self._start[circuit], self._written[circuit] = now, 0
        self.log.append((now, circuit, what))

    def _voice_source(self, k: int) -> Source:
        """The ``k``-th talker: the player's speech clip (made once: synthesis costs about 1/75
        of real time) from an offset of its own, looping."""
        if self._clip is None:
            self._clip = SyntheticVoice(seed=self.seed, level_dbm0=-16.0).read(VOICE_CLIP * RATE)
        clip = self._clip
        pos = [(k * 7919 * 160) % len(clip)]

        def read(n: int) -> np.ndarray:
            idx = (pos[0] + np.arange(n)) % len(clip)
            pos[0] = (pos[0] + n) % len(clip)
            return clip[idx]
        return read

    def stop(self, circuit: tuple[int, int]) -> None:
        self.playing.pop(circuit, None)
        self._start.pop(circuit, None)
        self._written.pop(circuit, None)

    def what(self, circuit: tuple[int, int]) -> str | None:
        hit = self.playing.get(circuit)
        return hit[0] if hit else None

    def service(self, now: float) -> None:
        """Write the audio of the time since the last call for every playing circuit."""
        for circuit, (_, src) in list(self.playing.items()):
            span = self.spans.get(circuit[0])
            if span is None:
                continue
            n = round((now - self._start[circuit]) * RATE) - self._written[circuit]
            if n <= 0:
                continue
            self._written[circuit] += n
            span.write_audio(circuit[1], alaw_encode(src(min(n, RATE))))
