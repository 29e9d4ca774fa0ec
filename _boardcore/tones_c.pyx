# cython: annotation_typing=False
# (annotations document the API; the twin's checks decide what is accepted)
"""Call-progress tones: compiled cadence detector (twin: ``tones_py``).

Same API, figures and events as the pure-Python twin ``_boardcore.tones_py``, where the
method is described. Here step 1 (frame measures: energy, the DFT at the table's
frequencies, the tone-group decision, the background level) runs for every channel and
frame of a call in one ``nogil`` loop over C tables, and step 2 (voice score, one-frame
bridging, segment lengths) in typed C; the twin's :class:`Track` is called only at
segment boundaries and at the thresholds it asks for, exactly as the twin does. The
generator, the table and the event type are the twin's own objects.
"""
cimport cython
from libc.math cimport INFINITY
from libc.stdint cimport int16_t, int32_t, uint8_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy

import numpy as np

from . import tones_py as _py
from .tones_py import (  # noqa: F401  (re-exported: the same objects as the twin's)
    COUNTRIES, DBM0_PEAK, TONE_NAMES, ToneEvent, ToneGenerator, generate,
)

__all__ = _py.__all__

cdef enum:
    MAXF = 16                    # distinct frequencies per country table
    MAXG = 16                    # tone groups per country table

cdef int SIL = _py.SIL
cdef int OTHER = _py.OTHER
cdef int VOICE = _py.VOICE
cdef int TONE0 = _py.TONE0
cdef int NEVER = _py.NEVER
cdef int VOICE_UP = _py.VOICE_UP
cdef int VOICE_MAX = _py.VOICE_MAX
cdef int VOICE_ON = _py.VOICE_ON
cdef double TONE_RATIO = _py.TONE_RATIO
cdef double TWIST = _py.TWIST
cdef double FLOOR_RISE = _py.FLOOR_RISE
cdef double FLOOR_MARGIN = _py.FLOOR_MARGIN


cdef class CadenceDetector:
    """Call-progress tone and voice detector over ``channels`` channels (20 ms frames)."""

    cdef readonly int channels
    cdef readonly int rate
    cdef readonly object country
    cdef readonly object plan
    cdef int F                    # samples per frame
    cdef int nf                   # frequencies
    cdef int nrows                # DFT rows: 3 per frequency (f - SIDE, f, f + SIDE)
    cdef int ng                   # tone groups
    cdef int gcount[MAXG]
    cdef int gidx[MAXG][MAXF]
    cdef double *cos_t            # nf x F
    cdef double *sin_t
    cdef double silence_energy
    cdef double tone_scale
    cdef int16_t *carry           # channels x F
    cdef int ncarry
    cdef double tpend
    cdef double *floor
    cdef int32_t *st              # channels x NSTATE (the twin's S_* columns)
    cdef int nstate
    cdef list tracks

    def __cinit__(self, *args, **kwargs):
        self.cos_t = self.sin_t = self.floor = NULL
        self.carry = NULL
        self.st = NULL

    def __init__(self, channels: int, country: str = "cn", rate: int = 8000) -> None:
        self.channels = _py.check_channels(channels)
        self.rate = _py.check_rate(rate)
        self.country = country.lower() if isinstance(country, str) else country
        plan = _py.Plan(country, self.rate)
        self.plan = plan
        if len(plan.freqs) > MAXF or len(plan.groups) > MAXG:
            raise ValueError(f"country table {country!r} has too many frequencies for the kernel")
        self.F = plan.frame
        self.nf = len(plan.freqs)
        self.nrows = len(plan.rows)
        self.ng = len(plan.groups)
        cdef int g, k, n
        for g in range(self.ng):
            self.gcount[g] = len(plan.group_index[g])
            for k in range(self.gcount[g]):
                self.gidx[g][k] = plan.group_index[g][k]
        self._free()
        self.cos_t = <double *> malloc(self.nrows * self.F * sizeof(double))
        self.sin_t = <double *> malloc(self.nrows * self.F * sizeof(double))
        self.carry = <int16_t *> calloc(self.channels * self.F, sizeof(int16_t))
        self.floor = <double *> malloc(self.channels * sizeof(double))
        self.nstate = _py.NSTATE
        self.st = <int32_t *> calloc(self.channels * self.nstate, sizeof(int32_t))
        if not (self.cos_t and self.sin_t and self.carry and self.floor and self.st):
            raise MemoryError()
        for k in range(self.nrows):
            for n in range(self.F):
                self.cos_t[k * self.F + n] = plan.cos[k, n]
                self.sin_t[k * self.F + n] = plan.sin[k, n]
        self.silence_energy = plan.silence_energy
        self.tone_scale = plan.tone_scale
        self.reset()

    cdef void _free(self):
        free(self.cos_t)
        free(self.sin_t)
        free(self.carry)
        free(self.floor)
        free(self.st)
        self.cos_t = self.sin_t = self.floor = NULL
        self.carry = NULL
        self.st = NULL

    def __dealloc__(self):
        self._free()

    cdef void _reset_channel(self, int c):
        cdef int32_t *row = &self.st[c * self.nstate]
        cdef int i
        for i in range(self.nstate):
            row[i] = 0
        row[_py.S_SYM] = -1
        row[_py.S_LAST] = -1
        row[_py.S_PEND] = -1
        row[_py.S_NEXT] = NEVER
        self.floor[c] = INFINITY

    def reset(self, channel: int | None = None) -> None:
        """Forget what was heard on one channel (or all)."""
        cdef int c
        if channel is None:
            self.ncarry = 0
            self.tpend = 0.0
            for c in range(self.channels):
                self._reset_channel(c)
            self.tracks = [_py.Track(self.plan) for _ in range(self.channels)]
            return
        c = self._channel_arg(channel)
        self._reset_channel(c)
        self.tracks[c] = _py.Track(self.plan)

    cdef int _channel_arg(self, object channel) except -1:
        if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)):
            raise TypeError(f"channel must be an int, got {type(channel).__name__}")
        if not 0 <= channel < self.channels:
            raise ValueError(f"channel {channel} out of range 0..{self.channels - 1}")
        return int(channel)

    def current(self, channel: int) -> str:
        """What was last reported on ``channel`` ("none" at first)."""
        return self.tracks[self._channel_arg(channel)].reported

    @property
    def state(self):
        """The per-channel integer state of step 2 (a copy; columns as in the twin)."""
        out = np.empty((self.channels, self.nstate), dtype=np.int32)
        cdef int32_t[:, ::1] o = out
        memcpy(&o[0, 0], self.st, self.channels * self.nstate * sizeof(int32_t))
        return out

    def process(self, samples: object, now: float) -> list:
        """Feed ``n`` samples per channel starting at time ``now``; events, by time then channel.

        A frame's symbol is settled when the next frame is in (one frame, 20 ms, later), so
        an event carries the end time of the frame that decided it.
        """
        x = _py.as_channels(samples, self.channels)
        cdef double t0 = _py.check_now(now)
        cdef const int16_t[:, ::1] xv = x
        cdef Py_ssize_t n = xv.shape[1]
        cdef int F = self.F
        cdef int p = self.ncarry
        cdef Py_ssize_t nfr = (p + n) // F
        cdef Py_ssize_t rest, c
        if nfr == 0:
            if n:
                for c in range(self.channels):
                    memcpy(&self.carry[c * F + p], &xv[c, 0], n * sizeof(int16_t))
            self.ncarry = <int> (p + n)
            return []
        cdef uint8_t *syms = <uint8_t *> malloc(self.channels * nfr)
        if syms == NULL:
            raise MemoryError()
        try:
            with nogil:
                self._classify(xv, nfr, syms)
            rest = p + n - nfr * F
            for c in range(self.channels):
                if rest:
                    memcpy(&self.carry[c * F], &xv[c, n - rest], rest * sizeof(int16_t))
            self.ncarry = <int> rest
            return self._advance(syms, nfr, t0, p)
        finally:
            free(syms)

    @cython.boundscheck(False)  # frame j of channel c lies inside carry + x (nfr from their length)
    @cython.wraparound(False)
    cdef void _classify(self, const int16_t[:, ::1] x, Py_ssize_t nfr, uint8_t *syms) noexcept nogil:
        """Step 1 for every channel and frame: symbols into syms[c * nfr + j]."""
        cdef int F = self.F, p = self.ncarry, nf = self.nf, ng = self.ng
        cdef int16_t first[2048]
        cdef const int16_t *src
        cdef double power[MAXF]
        cdef double rowp[3 * MAXF]
        cdef double e, v, re, im, share, best_share, cmin, cmax, fl, newfl
        cdef Py_ssize_t c, j
        cdef int k, m, g, best, sym
        cdef bint tonal
        cdef const double *ct
        cdef const double *sn
        for c in range(self.channels):
            fl = self.floor[c]
            for j in range(nfr):
                if j == 0 and p > 0:
                    memcpy(first, &self.carry[c * F], p * sizeof(int16_t))
                    memcpy(&first[p], &x[c, 0], (F - p) * sizeof(int16_t))
                    src = first
                else:
                    src = &x[c, j * F - p]
                e = 0.0
                for m in range(F):
                    v = src[m]
                    e += v * v
                if e < self.silence_energy:
                    # silence whatever its spectrum (as in the twin): skip the DFT
                    syms[c * nfr + j] = <uint8_t> SIL
                    newfl = e if e < fl else fl * FLOOR_RISE
                    fl = newfl if newfl > self.silence_energy else self.silence_energy
                    continue
                for k in range(self.nrows):
                    ct = &self.cos_t[k * F]
                    sn = &self.sin_t[k * F]
                    re = 0.0
                    im = 0.0
                    for m in range(F):
                        re += src[m] * ct[m]
                        im += src[m] * sn[m]
                    rowp[k] = (re * re + im * im) * self.tone_scale
                for k in range(nf):               # a frequency: the best of its three rows
                    v = rowp[3 * k]
                    if rowp[3 * k + 1] > v:
                        v = rowp[3 * k + 1]
                    if rowp[3 * k + 2] > v:
                        v = rowp[3 * k + 2]
                    power[k] = v
                best = 0
                best_share = -2.0
                for g in range(ng):
                    share = 0.0
                    cmin = INFINITY
                    cmax = -INFINITY
                    for k in range(self.gcount[g]):
                        v = power[self.gidx[g][k]]
                        share += v
                        if v < cmin:
                            cmin = v
                        if v > cmax:
                            cmax = v
                    if cmin < TWIST * cmax:
                        share = -1.0          # a group needs all its tones
                    if share > best_share:
                        best_share = share
                        best = g
                tonal = best_share >= TONE_RATIO * e and e >= self.silence_energy
                sym = TONE0 + best if tonal else OTHER
                if e < self.silence_energy or (not tonal and e < fl * FLOOR_MARGIN):
                    sym = SIL
                syms[c * nfr + j] = <uint8_t> sym
                if not tonal:
                    newfl = e if e < fl else fl * FLOOR_RISE
                    fl = newfl if newfl > self.silence_energy else self.silence_energy
            self.floor[c] = fl

    cdef list _advance(self, const uint8_t *syms, Py_ssize_t nfr, double t0, int p):
        """Step 2 and the calls into Track, frame by frame then channel by channel."""
        cdef list events = []
        cdef int F = self.F, ns = self.nstate
        cdef int S_SYM = _py.S_SYM, S_RUN = _py.S_RUN, S_NEXT = _py.S_NEXT
        cdef int S_SCORE = _py.S_SCORE, S_VON = _py.S_VON, S_LAST = _py.S_LAST, S_PEND = _py.S_PEND
        cdef Py_ssize_t j, c
        cdef int r, s
        cdef int32_t *row
        cdef double t
        cdef object ev
        for j in range(nfr):
            t = self.tpend
            self.tpend = t0 + ((j + 1) * F - p) / <double> self.rate
            for c in range(self.channels):
                row = &self.st[c * ns]
                r = syms[c * nfr + j]
                s = row[S_PEND]
                row[S_PEND] = r
                if s < 0:
                    continue
                if s != row[S_LAST] and s != r and row[S_LAST] >= 0:
                    s = row[S_LAST]        # a lone frame joins the segment before it
                row[S_LAST] = s
                if s == OTHER:
                    row[S_SCORE] = min(row[S_SCORE] + VOICE_UP, VOICE_MAX)
                elif row[S_SCORE] > 0:
                    row[S_SCORE] -= 1
                if row[S_VON]:
                    if row[S_SCORE] == 0:
                        row[S_VON] = 0
                elif row[S_SCORE] >= VOICE_ON:
                    row[S_VON] = 1
                if row[S_VON]:
                    s = VOICE
                if s != row[S_SYM]:
                    if row[S_SYM] >= 0:
                        ev, row[S_NEXT] = self.tracks[c].boundary(row[S_SYM], row[S_RUN], s)
                        if ev is not None:
                            events.append(ToneEvent(c, ev, t))
                    else:
                        row[S_NEXT] = self.tracks[c].threshold(s)
                    row[S_SYM] = s
                    row[S_RUN] = 1
                else:
                    row[S_RUN] += 1
                if row[S_RUN] >= row[S_NEXT]:
                    ev, row[S_NEXT] = self.tracks[c].check(s, row[S_RUN])
                    if ev is not None:
                        events.append(ToneEvent(c, ev, t))
        return events


def detect(samples: object, country: str = "cn", rate: int = 8000) -> list:
    """Events of one channel's signal, fresh state (channel 0, time from 0)."""
    return CadenceDetector(1, country=country, rate=rate).process(samples, 0.0)
