# cython: annotation_typing=False
"""Answering-machine detection: compiled kernel (twin: ``amd_py``, where the method is
described). The frame sums and the per-frame decisions run in typed C over the call's
samples; the parameters, the event type and the derived thresholds are the twin's own, so
both take the same decisions on the same samples (the sums are exact integers, the few
floating-point steps are the same operations in the same order)."""
cimport cython
from libc.math cimport acos, floor as c_floor, M_PI
from libc.stdint cimport int16_t, int64_t

import numpy as np

from . import amd_py as _py
from .amd_py import AmdEvent, DBM0_PEAK, DEFAULTS, FRAME, FRAME_MS, RATE, VERDICTS, frame_sums, params  # noqa: F401

__all__ = ["AmdDetector", "AmdEvent", "DEFAULTS", "VERDICTS", "params", "frame_sums", "FRAME", "FRAME_MS",
           "RATE", "DBM0_PEAK"]

cdef int CFRAME = _py.FRAME
cdef int CFRAME_MS = _py.FRAME_MS
cdef double CRATE = _py.RATE


cdef inline double _round(double x, double scale):
    return c_floor(x * scale + 0.5) / scale


cdef class AmdDetector:
    """One call's answering-machine detector (see ``amd_py``)."""

    cdef readonly dict p
    cdef double _abs, _snr, _creep
    cdef double initial_silence, greeting_max, after_greeting, max_words, min_word, between_words
    cdef double total_analysis, beep_min, beep_max_ratio, end_silence
    cdef readonly int t
    cdef readonly double floor
    cdef readonly str verdict
    cdef readonly double confidence
    cdef readonly bint done
    cdef int16_t buf[80]
    cdef int nbuf
    cdef int _words
    cdef bint _in_word, _greeting, _heard_voice
    cdef int _voice_run, _voice, _silence, _tone_run
    cdef double _tone_freq

    def __init__(self, **kw):
        p = params(**kw)
        self.p = p
        # the twin's expressions, evaluated by Python: the same doubles
        self._abs = (DBM0_PEAK * 10 ** (p["min_level_dbm0"] / 20.0)) ** 2 / 2.0 * FRAME
        self._snr = 10 ** (p["voice_snr_db"] / 10.0)
        self._creep = 10 ** (1.0 / 10.0 / (1000.0 / FRAME_MS))
        self.initial_silence = p["initial_silence"]
        self.greeting_max = p["greeting_max"]
        self.after_greeting = p["after_greeting"]
        self.max_words = p["max_words"]
        self.min_word = p["min_word"]
        self.between_words = p["between_words"]
        self.total_analysis = p["total_analysis"]
        self.beep_min = p["beep_min"]
        self.beep_max_ratio = p["beep_max_ratio"]
        self.end_silence = p["end_silence"]
        self.reset()

    def reset(self):
        """Forget the call: ready for the next one."""
        self.t = 0
        self.floor = -1.0
        self.verdict = ""
        self.confidence = 0.0
        self.done = False
        self.nbuf = 0
        self._words = 0
        self._in_word = False
        self._voice_run = 0
        self._voice = 0
        self._silence = 0
        self._greeting = False
        self._heard_voice = False
        self._tone_run = 0
        self._tone_freq = 0.0

    def feed(self, pcm):
        """Analyse ``pcm`` (int16 samples, any length): the events it completes."""
        x = np.asarray(pcm)
        if x.ndim != 1 or x.dtype != np.int16:
            x = np.asarray(x, dtype=np.int16).reshape(-1)
        x = np.ascontiguousarray(x)
        cdef const int16_t[::1] v = x
        cdef Py_ssize_t n = v.shape[0], i = 0
        cdef int k
        cdef int16_t frame[80]
        out = []
        while not self.done:
            if self.nbuf + (n - i) < CFRAME:
                break
            k = 0
            while k < self.nbuf:
                frame[k] = self.buf[k]
                k += 1
            while k < CFRAME:
                frame[k] = v[i]
                k += 1
                i += 1
            self.nbuf = 0
            self._frame(frame, out)
        if not self.done:
            while i < n:
                self.buf[self.nbuf] = v[i]
                self.nbuf += 1
                i += 1
        return out

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef void _sums(self, const int16_t *x, int64_t *e, int64_t *ss, int64_t *num, int64_t *den) noexcept:
        cdef int64_t a = 0, b = 0, c = 0, d = 0, s, m
        cdef int j
        for j in range(CFRAME):
            a += <int64_t>x[j] * x[j]
        for j in range(1, CFRAME - 1):
            s = <int64_t>x[j + 1] + x[j - 1]
            m = x[j]
            b += s * s
            c += s * m
            d += m * m
        e[0], ss[0], num[0], den[0] = a, b, c, d

    cdef _frame(self, const int16_t *x, list out):
        cdef int64_t e, ss, num, den
        cdef double ef, a, resid, freq = 0.0, margin
        cdef bint voice, tonal = False, beep_ended
        cdef int beep_len
        cdef double beep_freq
        self._sums(x, &e, &ss, &num, &den)
        self.t += CFRAME_MS
        ef = <double>e
        if self.floor < 0.0 or ef < self.floor:
            self.floor = ef
        else:
            self.floor = self.floor * self._creep
        voice = ef > self._abs and ef > self.floor * self._snr
        if voice and den > 0 and ss > 0:
            a = <double>num / <double>den
            resid = <double>ss - <double>num * a
            if resid < self.beep_max_ratio * <double>ss and -2.0 < a < 2.0:
                freq = acos(a / 2.0) * CRATE / (2.0 * M_PI)
                tonal = 300.0 <= freq <= 3000.0
        beep_len = self._tone_run
        beep_freq = self._tone_freq
        if tonal and self._tone_run > 0 and abs(freq - self._tone_freq) <= 0.03 * self._tone_freq:
            self._tone_run += CFRAME_MS
        elif tonal:
            self._tone_run = CFRAME_MS
            self._tone_freq = freq
        else:
            self._tone_run = 0
        beep_ended = beep_len >= self.beep_min and self._tone_run < beep_len
        if beep_ended:
            if not self.verdict:
                self._decide(out, "machine", 0.97, "beep")
            out.append(AmdEvent("beep", <double>(self.t - CFRAME_MS), 1.0, "beep", _round(beep_freq, 10.0)))
            self.done = True
            return
        if voice:
            self._voice_run += CFRAME_MS
            self._voice += CFRAME_MS
            if self._voice_run >= self.min_word:
                self._silence = 0
                self._heard_voice = True
                if not self._in_word:
                    self._in_word = True
                    self._words += 1
                    self._greeting = True
        else:
            self._silence += CFRAME_MS
            if self._silence >= self.between_words:
                self._in_word = False
                self._voice_run = 0
        if not self.verdict:
            if not self._greeting and self._silence >= self.initial_silence:
                self._decide(out, "machine", 0.55, "initial-silence")
            elif self._greeting and self._words > self.max_words:
                self._decide(out, "machine", 0.8, "max-words")
            elif self._greeting and self._voice >= self.greeting_max:
                self._decide(out, "machine", 0.9, "long-greeting")
            elif self._greeting and self._silence >= self.after_greeting:
                margin = 1.0 - self._voice / self.greeting_max
                self._decide(out, "human", min(0.99, 0.6 + 0.4 * margin), "short-greeting")
            elif self.t >= self.total_analysis:
                self._decide(out, "unknown", 0.5, "too-long")
            if self.verdict == "human" or self.verdict == "unknown":
                self.done = True
        elif self.verdict == "machine" and self._heard_voice and self._silence >= self.end_silence:
            out.append(AmdEvent("greeting-end", <double>self.t, 1.0, "silence"))
            self.done = True

    cdef _decide(self, list out, str kind, double conf, str reason):
        self.verdict = kind
        self.confidence = _round(conf, 1000.0)
        out.append(AmdEvent(kind, <double>self.t, self.confidence, reason))
