"""Answering-machine detection (AMD), pure-Python twin of ``amd_c``.

One detector listens to one answered call (8 kHz linear PCM, any block size) and reports:

* a **verdict** once: ``human`` (a short greeting - "喂?", "hello?" - then the silence of
  someone waiting for an answer), ``machine`` (a long greeting, many words, a beep, or a long
  silence before anything is said) or ``unknown`` (nothing decisive within
  ``total_analysis`` ms), with a confidence 0..1 and the rule that decided;
* after a ``machine`` verdict, the **end of the greeting**: ``beep`` when a steady tone of
  ``beep_min`` ms or more ends (the recorder starts then: leave the message), else
  ``greeting-end`` after ``end_silence`` ms of silence following speech.

Each 10 ms frame (80 samples) gives four integer sums, exact in int64, so that the compiled
kernel and this twin take the same decisions on the same samples:

* energy ``E = sum x[n]^2``: a frame is voice when ``E`` is ``voice_snr_db`` above the noise
  floor (the least energy seen, creeping up 1 dB/s so that it follows a noisier line) and
  above an absolute floor of ``min_level_dbm0``;
* tonality: a sinusoid obeys ``x[n] + x[n-2] = 2 cos(w) x[n-1]``. With ``s = x[n] + x[n-2]``,
  ``num = sum s x[n-1]``, ``den = sum x[n-1]^2``, ``ss = sum s^2``, the least-squares residual
  ``ss - num^2 / den`` is tiny against ``ss`` for a pure tone and large for speech or noise;
  ``2 cos(w) = num / den`` gives its frequency. A beep is a run of tonal frames of one
  frequency (within 3 %, 300-3000 Hz) lasting ``beep_min`` ms.

Speech is segmented into words as Asterisk's app_amd does (a word is ``min_word`` ms of voice,
it ends after ``between_words`` ms of silence); the thresholds differ and the beep, the noise
floor and the confidence are ours. Confidence is a margin: how far the deciding measure went
past its threshold (documented per rule in docs/outbound.md).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

RATE = 8000
FRAME = 80                      #: samples per analysis frame (10 ms)
FRAME_MS = 10
DBM0_PEAK = 22812.0             #: peak of a 0 dBm0 sine in 16-bit linear PCM (as the tone kernels)

#: Default parameters (milliseconds, decibels); any may be given to :class:`AmdDetector`.
DEFAULTS: dict[str, float] = {
    "initial_silence": 3000.0,   # silence before any word: machine (a recorder waiting to play)
    "greeting_max": 1800.0,      # voice in the greeting beyond this: machine
    "after_greeting": 800.0,     # silence after a short greeting: human
    "max_words": 5.0,            # more words than this: machine
    "min_word": 100.0,           # voice this long is a word
    "between_words": 60.0,       # silence this long ends a word
    "total_analysis": 5000.0,    # nothing decisive by then: unknown
    "beep_min": 120.0,           # a steady tone this long is a beep
    "beep_max_ratio": 0.25,      # residual / energy of s below this: a tonal frame
    "end_silence": 2500.0,       # after a machine verdict: silence this long ends the greeting
    "voice_snr_db": 6.0,         # voice: this much above the noise floor
    "min_level_dbm0": -55.0,     # and above this absolute level
}
VERDICTS = ("human", "machine", "unknown")


@dataclass(frozen=True)
class AmdEvent:
    """``kind``: human / machine / unknown (the verdict), beep or greeting-end; ``at``: ms from
    the start of the call's audio; ``confidence`` of the verdict (1.0 for beep and greeting-end);
    ``reason``: the rule (short-greeting, long-greeting, max-words, initial-silence, beep,
    too-long), with the beep's frequency (Hz) in ``freq``."""

    kind: str
    at: float
    confidence: float
    reason: str
    freq: float = 0.0


def params(**kw: Any) -> dict[str, float]:
    """The defaults updated by ``kw``; unknown names and non-positive values raise ValueError."""
    out = dict(DEFAULTS)
    for k, v in kw.items():
        if k not in DEFAULTS:
            raise ValueError(f"AMD: unknown parameter {k!r}; known: {sorted(DEFAULTS)}")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"AMD {k}: a number, not {v!r}")
        if k not in ("min_level_dbm0",) and v <= 0:
            raise ValueError(f"AMD {k}: must be positive, not {v!r}")
        out[k] = float(v)
    return out


def _round(x: float, scale: float) -> float:
    """Half-up rounding to 1/scale, the kernel's arithmetic (``round`` rounds half to even)."""
    return math.floor(x * scale + 0.5) / scale


def frame_sums(x: np.ndarray) -> tuple[int, int, int, int]:
    """(E, ss, num, den) of one frame of FRAME int16 samples (module docstring)."""
    v = x.astype(np.int64)
    s = v[2:] + v[:-2]
    m = v[1:-1]
    return int(v @ v), int(s @ s), int(s @ m), int(m @ m)


class AmdDetector:
    """One call's answering-machine detector (the module docstring)."""

    def __init__(self, **kw: Any) -> None:
        p = params(**kw)
        self.p = p
        self._abs = (DBM0_PEAK * 10 ** (p["min_level_dbm0"] / 20.0)) ** 2 / 2.0 * FRAME
        self._snr = 10 ** (p["voice_snr_db"] / 10.0)
        self._creep = 10 ** (1.0 / 10.0 / (1000.0 / FRAME_MS))      # +1 dB per second
        self._buf = np.zeros(0, dtype=np.int16)
        self.reset()

    def reset(self) -> None:
        """Forget the call: ready for the next one."""
        self.t = 0                   #: ms analysed
        self.floor = -1.0            #: noise floor energy (per frame); < 0: none yet
        self.verdict = ""
        self.confidence = 0.0
        self.done = False            #: verdict given and (machine) greeting end reported
        self._buf = np.zeros(0, dtype=np.int16)
        self._words = 0
        self._in_word = False
        self._voice_run = 0          # ms of consecutive voice
        self._voice = 0              # ms of voice since the greeting began
        self._silence = 0            # ms of consecutive silence
        self._greeting = False
        self._heard_voice = False
        self._tone_run = 0           # ms of consecutive tonal frames of one frequency
        self._tone_freq = 0.0

    # -- input ----------------------------------------------------------------------------------
    def feed(self, pcm: Any) -> list[AmdEvent]:
        """Analyse ``pcm`` (int16 samples, any length): the events it completes."""
        x = np.asarray(pcm)
        if x.ndim != 1 or x.dtype != np.int16:
            x = np.asarray(x, dtype=np.int16).reshape(-1)
        if self._buf.size:
            x = np.concatenate((self._buf, x))
        n = (x.size // FRAME) * FRAME
        out: list[AmdEvent] = []
        for i in range(0, n, FRAME):
            if self.done:
                break
            e, ss, num, den = frame_sums(x[i:i + FRAME])
            ev = self._frame(e, ss, num, den)
            if ev is not None:
                out.extend(ev)
        self._buf = x[n:].copy()
        return out

    # -- one frame: the same arithmetic as amd_c ------------------------------------------------
    def _frame(self, e: int, ss: int, num: int, den: int) -> list[AmdEvent] | None:
        p = self.p
        self.t += FRAME_MS
        ef = float(e)
        if self.floor < 0.0 or ef < self.floor:
            self.floor = ef
        else:
            self.floor = self.floor * self._creep
        voice = ef > self._abs and ef > self.floor * self._snr
        # tonality
        tonal = False
        freq = 0.0
        if voice and den > 0 and ss > 0:
            a = float(num) / float(den)
            resid = float(ss) - float(num) * a
            if resid < p["beep_max_ratio"] * float(ss) and -2.0 < a < 2.0:
                freq = math.acos(a / 2.0) * RATE / (2.0 * math.pi)
                tonal = 300.0 <= freq <= 3000.0
        out: list[AmdEvent] = []
        beep_len = self._tone_run
        beep_freq = self._tone_freq
        if tonal and self._tone_run > 0 and abs(freq - self._tone_freq) <= 0.03 * self._tone_freq:
            self._tone_run += FRAME_MS
        elif tonal:
            self._tone_run, self._tone_freq = FRAME_MS, freq
        else:
            self._tone_run = 0
        beep_ended = beep_len >= p["beep_min"] and self._tone_run < beep_len
        if beep_ended:
            if not self.verdict:
                self._decide(out, "machine", 0.97, "beep")
            out.append(AmdEvent("beep", float(self.t - FRAME_MS), 1.0, "beep", _round(beep_freq, 10.0)))
            self.done = True
            return out
        if voice:
            self._voice_run += FRAME_MS
            self._voice += FRAME_MS
            if self._voice_run >= p["min_word"]:
                self._silence = 0
                self._heard_voice = True
                if not self._in_word:
                    self._in_word = True
                    self._words += 1
                    self._greeting = True
        else:
            self._silence += FRAME_MS
            if self._silence >= p["between_words"]:
                self._in_word = False
                self._voice_run = 0
        if not self.verdict:
            if not self._greeting and self._silence >= p["initial_silence"]:
                self._decide(out, "machine", 0.55, "initial-silence")
            elif self._greeting and self._words > p["max_words"]:
                self._decide(out, "machine", 0.8, "max-words")
            elif self._greeting and self._voice >= p["greeting_max"]:
                self._decide(out, "machine", 0.9, "long-greeting")
            elif self._greeting and self._silence >= p["after_greeting"]:
                margin = 1.0 - self._voice / p["greeting_max"]
                self._decide(out, "human", min(0.99, 0.6 + 0.4 * margin), "short-greeting")
            elif self.t >= p["total_analysis"]:
                self._decide(out, "unknown", 0.5, "too-long")
            if self.verdict in ("human", "unknown"):
                self.done = True
        elif self.verdict == "machine" and self._heard_voice and self._silence >= p["end_silence"]:
            out.append(AmdEvent("greeting-end", float(self.t), 1.0, "silence"))
            self.done = True
        return out or None

    def _decide(self, out: list[AmdEvent], kind: str, conf: float, reason: str) -> None:
        self.verdict, self.confidence = kind, _round(conf, 1000.0)
        out.append(AmdEvent(kind, float(self.t), self.confidence, reason))
