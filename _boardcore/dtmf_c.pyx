# cython: annotation_typing=False
# (annotations document the API; the twin's checks decide what is accepted)
"""DTMF (ITU-T Q.23 / Q.24): compiled detector (twin: ``dtmf_py``).

Same API, figures and events as the pure-Python twin ``_boardcore.dtmf_py`` (the algorithm
is described there and in docs/dtmf.md): per channel, a one-bin DFT of every 10 ms
sub-block at the eight DTMF frequencies, level / twist / energy-ratio / relative-peak /
phase-frequency checks, then a start / hold / stop machine. Here one call runs every
channel of a span in one ``nogil`` loop over a precomputed single-precision table
(dtmf_kernel.h, SIMD). The generator is numpy code and is the twin's own class;
constants and input checks come from the twin, so both always use the same figures.
"""
cimport cython
from libc.math cimport atan2, fabs, rint, sqrt, M_PI
from libc.stdint cimport int16_t, int32_t, int64_t
from libc.stdlib cimport calloc, free, realloc
from libc.string cimport memcpy, memset


cdef extern from "dtmf_kernel.h" nogil:
    void dtk_subblock(const int16_t *src, const float (*table)[16], float *halves, int64_t *en)
    void dtk_neighbours(const int16_t *src, const float (*tab)[8], double *acc)

import numpy as np

from . import dtmf_py as _py
from .dtmf_py import (  # noqa: F401  (re-exported: the same objects as the twin's)
    DBM0_PEAK, DIGITS, HIGH_HZ, LOW_HZ, DigitEvent, DtmfGenerator, digit_pair,
)

__all__ = ["DtmfDetector", "DtmfGenerator", "DigitEvent", "detect", "DIGITS", "LOW_HZ", "HIGH_HZ",
           "DBM0_PEAK", "digit_pair"]

assert _py.SUB == DT_SUB and _py.RATE == 8000 and _py.STEPS == 3

# Decision figures, read once from the twin (one source of truth).
cdef double LEVEL_ON_E = _py.LEVEL_ON_E
cdef double LEVEL_HOLD_E = _py.LEVEL_HOLD_E
cdef double TWIST_LO = _py.TWIST_LO
cdef double TWIST_HI = _py.TWIST_HI
cdef double TWIST_HOLD_LO = _py.TWIST_HOLD_LO
cdef double TWIST_HOLD_HI = _py.TWIST_HOLD_HI
cdef double RATIO_ON = _py.RATIO_ON
cdef double RATIO_HOLD = _py.RATIO_HOLD
cdef double OTHER = _py.OTHER
cdef double NEIGHBOUR = _py.NEIGHBOUR
cdef double WEAK = _py.WEAK
cdef double PE_NORM = _py.PE_NORM
cdef int ON_SUBS = _py.ON_SUBS
cdef int OFF_SUBS = _py.OFF_SUBS
cdef double STEP = 1.0 / _py.RATE
cdef object DIGIT_STR = [c for c in _py.DIGITS]


cdef class DtmfDetector:
    """DTMF receiver for ``channels`` channels with per-channel state (Q.24)."""

    def __cinit__(self, *args, **kwargs):
        self.chan = NULL
        self.evbuf = NULL
        self.evcap = 0
        self.busy = False

    def __init__(self, channels: int, rate: int = 8000) -> None:
        self._not_busy()
        self.channels = _py.check_channels(channels)
        self.rate = _py.check_rate(rate)
        kern = _py._KERNEL
        cdef int m, k
        for m in range(DT_SUB):
            for k in range(DT_NF):
                self.table[m][k] = kern[m, k].real
                self.table[m][DT_NF + k] = kern[m, k].imag
        cdef int d, j
        nk = _py._NKERNEL
        for d in range(16):
            for m in range(DT_SUB):
                for j in range(4):
                    self.ntab[d][m][j] = nk[d, m, j].real
                    self.ntab[d][m][4 + j] = nk[d, m, j].imag
        for k in range(DT_NF):
            self.rot[k] = _py._ROT[k].real
            self.rot[DT_NF + k] = _py._ROT[k].imag
            self.tolrad[k] = _py.TOL_RAD[k]
        self.ncarry = 0
        free(self.chan)
        self.chan = <dt_chan_t *> calloc(self.channels, sizeof(dt_chan_t))
        if self.chan == NULL:
            raise MemoryError()
        self._clear(0, self.channels)

    def __dealloc__(self):
        free(self.chan)
        free(self.evbuf)

    cdef int _not_busy(self) except -1:
        if self.busy:
            raise RuntimeError("DtmfDetector is being used by another thread (one detector per span and thread)")
        return 0

    def _clear(self, int lo, int hi):
        cdef int c
        for c in range(lo, hi):
            memset(&self.chan[c], 0, sizeof(dt_chan_t))
            self.chan[c].on = -1
            self.chan[c].cand = -1

    def reset(self, channel: int | None = None) -> None:
        """Forget the history of one channel (or all); no event is reported for it."""
        self._not_busy()
        if channel is None:
            self._clear(0, self.channels)
            return
        if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)):
            raise TypeError(f"channel must be an int, got {type(channel).__name__}")
        if not 0 <= channel < self.channels:
            raise ValueError(f"channel {channel} out of range 0..{self.channels - 1}")
        self._clear(int(channel), int(channel) + 1)

    def process(self, samples: object, now: float) -> list:
        """Feed a block (channels, n) whose first sample is at ``now`` s; digit events, in time order."""
        self._not_busy()
        x = _py.as_channels(samples, self.channels)
        cdef double t0 = _py.check_now(now)
        cdef const int16_t[:, ::1] xv = x
        cdef Py_ssize_t n = xv.shape[1]
        if n == 0:
            return []
        cdef Py_ssize_t nsub = (self.ncarry + n) // DT_SUB
        cdef Py_ssize_t need = 2 * (nsub + 1) * self.channels
        cdef dt_event_t *grown
        if need > self.evcap:
            grown = <dt_event_t *> realloc(self.evbuf, need * sizeof(dt_event_t))
            if grown == NULL:
                raise MemoryError()
            self.evbuf = grown
            self.evcap = need
        cdef Py_ssize_t nev, i
        self.busy = True
        try:
            with nogil:
                nev = self._advance(xv, t0)
        finally:
            self.busy = False
        events = []
        cdef dt_event_t *e = self.evbuf
        for i in range(nev):
            events.append(DigitEvent(e[i].channel, DIGIT_STR[e[i].digit],
                                     "start" if e[i].start else "stop", e[i].time))
        if nev > 1:
            events.sort(key=lambda ev: ev.time)
        return events

    @cython.boundscheck(False)  # sub-block indices stay inside x (nsub from its length)
    @cython.wraparound(False)
    cdef Py_ssize_t _advance(self, const int16_t[:, ::1] x, double t0) noexcept nogil:
        """Run every channel over the whole sub-blocks of carry + x; events into evbuf."""
        cdef Py_ssize_t n = x.shape[1]
        cdef int p = self.ncarry
        cdef Py_ssize_t nsub = (p + n) // DT_SUB
        cdef int rem = <int> (p + n - nsub * DT_SUB)
        cdef Py_ssize_t nev = 0
        cdef int16_t first[DT_SUB]
        cdef float acc[DT_COLS]
        cdef float halves[2 * DT_COLS]
        cdef double hv[DT_COLS]
        cdef double hr, hi, full, coarse
        cdef double pw[DT_NF]
        cdef double rot[DT_COLS]
        cdef double nacc[8]
        cdef double tl, th, q0, q1, mag
        cdef int m, j
        cdef int64_t ien
        cdef const int16_t *src
        cdef dt_chan_t *ch
        cdef dt_event_t *ev = self.evbuf
        cdef Py_ssize_t c, s
        cdef int i, k, kl, kh, good, dig, held, on, cand, run, miss
        cdef double en, bl, bh, ol, oh, t, run_t, miss_t, zr, zi, rr, ri, tb
        cdef double tstart = t0 - p * STEP
        for c in range(self.channels):
            ch = &self.chan[c]
            on = ch.on
            cand = ch.cand
            run = ch.run
            miss = ch.miss
            run_t = ch.run_t
            miss_t = ch.miss_t
            for s in range(nsub):
                if s == 0 and p > 0:
                    memcpy(first, ch.carry, p * sizeof(int16_t))
                    memcpy(&first[p], &x[c, 0], (DT_SUB - p) * sizeof(int16_t))
                    src = first
                else:
                    src = &x[c, s * DT_SUB - p]
                t = tstart + s * DT_SUB * STEP
                dtk_subblock(src, <const float (*)[16]> self.table, halves, &ien)
                en = <double> ien
                for k in range(DT_COLS):
                    acc[k] = halves[k] + halves[DT_COLS + k]
                # advance over half a sub-block: second half * conj(first half)
                for k in range(DT_NF):
                    hv[k] = (halves[DT_COLS + k] * halves[k]
                             + halves[DT_COLS + DT_NF + k] * halves[DT_NF + k])
                    hv[DT_NF + k] = (halves[DT_COLS + DT_NF + k] * halves[k]
                                     - halves[DT_COLS + k] * halves[DT_NF + k])
                for k in range(DT_NF):
                    zr = acc[k]
                    zi = acc[DT_NF + k]
                    pw[k] = (zr * zr + zi * zi) * PE_NORM
                # strongest tone of each group (first one on ties, as numpy's argmax)
                kl = 0
                for k in range(1, 4):
                    if pw[k] > pw[kl]:
                        kl = k
                kh = 4
                for k in range(5, 8):
                    if pw[k] > pw[kh]:
                        kh = k
                bl = pw[kl]
                bh = pw[kh]
                # twist on this and the previous sub-block together (leakage beats)
                tl = pw[kl] + ch.pprev[kl]
                th = pw[kh] + ch.pprev[kh]
                good = (bl >= LEVEL_ON_E and bh >= LEVEL_ON_E
                        and th >= tl * TWIST_LO and th <= tl * TWIST_HI
                        and bl + bh >= RATIO_ON * en)
                memcpy(ch.pprev, pw, sizeof(pw))
                if good:
                    ol = 0.0
                    oh = 0.0
                    for k in range(4):
                        if k != kl and pw[k] > ol:
                            ol = pw[k]
                        if k + 4 != kh and pw[k + 4] > oh:
                            oh = pw[k + 4]
                    good = ol <= bl * OTHER and oh <= bh * OTHER
                # phase advance of every tone against the previous sub-block
                for k in range(DT_NF):
                    zr = acc[k] * ch.prev[k] + acc[DT_NF + k] * ch.prev[DT_NF + k]
                    zi = acc[DT_NF + k] * ch.prev[k] - acc[k] * ch.prev[DT_NF + k]
                    rot[k] = zr * self.rot[k] - zi * self.rot[DT_NF + k]
                    rot[DT_NF + k] = zr * self.rot[DT_NF + k] + zi * self.rot[k]
                if good:
                    # summed over the last STEPS = 3 steps (averages out the other tone's leakage)
                    for i in range(2):
                        k = kl if i == 0 else kh
                        rr = rot[k] + ch.rprev[0][k] + ch.rprev[1][k]
                        ri = rot[DT_NF + k] + ch.rprev[0][DT_NF + k] + ch.rprev[1][DT_NF + k]
                        mag = sqrt(rr * rr + ri * ri)
                        # no evidence yet (first sub-block of a tone): not judged on it
                        if mag >= WEAK * pw[k] / PE_NORM:
                            # the full advance is known modulo one turn; the half-block one picks it
                            hr = hv[k] + ch.hprev[0][k] + ch.hprev[1][k]
                            hi = hv[DT_NF + k] + ch.hprev[0][DT_NF + k] + ch.hprev[1][DT_NF + k]
                            full = atan2(ri, rr)
                            coarse = 2.0 * atan2(hi, hr)
                            full = full + 2.0 * M_PI * rint((coarse - full) / (2.0 * M_PI))
                            if not fabs(full) <= self.tolrad[k]:
                                good = 0
                memcpy(ch.hprev[1], ch.hprev[0], sizeof(hv))
                memcpy(ch.hprev[0], hv, sizeof(hv))
                memcpy(ch.rprev[1], ch.rprev[0], sizeof(rot))
                memcpy(ch.rprev[0], rot, sizeof(rot))
                memcpy(ch.prev, acc, sizeof(acc))
                if good:
                    # harmonic neighbours 2 f_lo - f_hi and 2 f_hi - f_lo (Hann window)
                    dig = kl * 4 + (kh - 4)
                    dtk_neighbours(src, <const float (*)[8]> self.ntab[dig], nacc)
                    q0 = nacc[0] * nacc[0] + nacc[4] * nacc[4] + nacc[1] * nacc[1] + nacc[5] * nacc[5]
                    q1 = nacc[2] * nacc[2] + nacc[6] * nacc[6] + nacc[3] * nacc[3] + nacc[7] * nacc[7]
                    good = q1 <= NEIGHBOUR * q0
                if good:
                    dig = kl * 4 + (kh - 4)
                    if dig == cand:
                        run += 1
                    else:
                        cand = dig
                        run = 1
                        run_t = t
                else:
                    cand = -1
                    run = 0
                if on < 0:
                    if run >= ON_SUBS:
                        on = cand
                        miss = 0
                        ev[nev].channel = <int32_t> c
                        ev[nev].digit = on
                        ev[nev].start = 1
                        ev[nev].time = run_t
                        nev += 1
                    continue
                bl = pw[on // 4]
                bh = pw[4 + on % 4]
                held = (bl >= LEVEL_HOLD_E and bh >= LEVEL_HOLD_E
                        and bh >= bl * TWIST_HOLD_LO and bh <= bl * TWIST_HOLD_HI
                        and bl + bh >= RATIO_HOLD * en)
                if held:
                    miss = 0
                else:
                    if miss == 0:
                        miss_t = t
                    miss += 1
                if cand >= 0 and cand != on and run >= ON_SUBS:
                    ev[nev].channel = <int32_t> c
                    ev[nev].digit = on
                    ev[nev].start = 0
                    ev[nev].time = miss_t if miss else run_t
                    nev += 1
                    on = cand
                    miss = 0
                    ev[nev].channel = <int32_t> c
                    ev[nev].digit = on
                    ev[nev].start = 1
                    ev[nev].time = run_t
                    nev += 1
                elif miss >= OFF_SUBS:
                    ev[nev].channel = <int32_t> c
                    ev[nev].digit = on
                    ev[nev].start = 0
                    ev[nev].time = miss_t
                    nev += 1
                    on = -1
                    miss = 0
            # keep the samples of the unfinished sub-block
            if nsub == 0:
                memcpy(&ch.carry[p], &x[c, 0], n * sizeof(int16_t))
            elif rem > 0:
                memcpy(ch.carry, &x[c, n - rem], rem * sizeof(int16_t))
            ch.on = on
            ch.cand = cand
            ch.run = run
            ch.miss = miss
            ch.run_t = run_t
            ch.miss_t = miss_t
        self.ncarry = rem
        return nev


def detect(samples: object, rate: int = 8000) -> str:
    """The digits in a 16-bit linear signal (int16 array or bytes), in order; fresh state."""
    _py.check_rate(rate)
    x = _py.as_channels(samples, 1)
    det = DtmfDetector(1)
    events = det.process(x, 0.0)
    events += det.process(np.zeros((1, DT_SUB * (OFF_SUBS + 1)), np.int16), x.shape[1] / 8000.0)
    return "".join(e.digit for e in events if e.kind == "start")
