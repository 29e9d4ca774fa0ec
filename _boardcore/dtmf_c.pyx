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
from libc.math cimport isfinite, atan2, fabs, rint, sqrt, M_PI
from libc.stdint cimport int16_t, int32_t, int64_t
from libc.stdlib cimport calloc, free, realloc
from libc.string cimport memcpy, memset


cdef extern from "dtmf_kernel.h" nogil:
    enum: DTK_LANES
    enum: DTK_HALF
    void dtk_subblocks(const int16_t **src, int n, const float (*fold)[16], const float (*rot)[16],
                       float **out, int64_t *en, double **prev, const dtk_figs *f, int (*screen)[3])
    ctypedef struct dtk_figs:
        double norm, level_on, twist_lo, twist_hi, ratio_on
    void dtk_prefetch(const int16_t *first, int rows, long stride, long nbytes)
    void dtk_prefetch_obj(const void *p, long nbytes)
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
cdef dtk_figs FIGS
FIGS.norm = PE_NORM
FIGS.level_on = LEVEL_ON_E
FIGS.twist_lo = TWIST_LO
FIGS.twist_hi = TWIST_HI
FIGS.ratio_on = RATIO_ON
cdef int OFF_SUBS = _py.OFF_SUBS
cdef double STEP = 1.0 / _py.RATE
cdef object DIGIT_STR = [c for c in _py.DIGITS]
def _tables() -> tuple:
    """The detector's tables as flat C-ordered arrays (fold, hrot, ntab, rot, tolrad).

    Each half sub-block is folded about its centre (dtmf_kernel.h): cos / -sin at the
    half-integer offsets d, and the rotation back to the sub-block's origin; per digit the
    Hann DFT rows of the harmonic-neighbour test (re columns 0..3, im 4..7)."""
    w = 2.0 * np.pi * np.asarray(_py.FREQS, dtype=np.float64) / _py.RATE
    off = np.arange(DTK_HALF, dtype=np.float64) + 0.5
    fold = np.concatenate([np.cos(np.outer(off, w)), -np.sin(np.outer(off, w))], axis=1)
    centre = np.arange(2, dtype=np.float64)[:, None] * (DT_SUB // 2) + DTK_HALF - 0.5
    hrot = np.concatenate([np.cos(centre * w), np.sin(centre * w)], axis=1)
    nk = _py._NKERNEL
    ntab = np.concatenate([nk.real, nk.imag], axis=2)
    rot = np.concatenate([_py._ROT.real, _py._ROT.imag])
    assert fold.shape == (DTK_HALF, DT_COLS) and ntab.shape == (16, DT_SUB, 8) and rot.shape == (DT_COLS,)
    return (np.ascontiguousarray(fold, np.float32).ravel(), np.ascontiguousarray(hrot, np.float32).ravel(),
            np.ascontiguousarray(ntab, np.float32).ravel(), np.ascontiguousarray(rot, np.float64).ravel(),
            np.ascontiguousarray(_py.TOL_RAD, np.float64).ravel())


cdef tuple _TABLES = _tables()


# DigitEvent is a frozen dataclass with slots: its __init__ sets each field through
# object.__setattr__ (about 2 us an event, as much as the kernel spends on a few
# channels). Events are built here from the slots' own descriptors instead: the same
# class, fields, equality and hash, about 5x faster.
cdef object _new = object.__new__
cdef object _set_channel = DigitEvent.channel.__set__
cdef object _set_digit = DigitEvent.digit.__set__
cdef object _set_kind = DigitEvent.kind.__set__
cdef object _set_time = DigitEvent.time.__set__


cdef object _event(int channel, int digit, bint start, double time):
    ev = _new(DigitEvent)
    _set_channel(ev, channel)
    _set_digit(ev, DIGIT_STR[digit])
    _set_kind(ev, "start" if start else "stop")
    _set_time(ev, time)
    return ev


include "_batch_args.pxi"


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
        # the tables are the same for every detector: computed once at import (_TABLES),
        # copied here (filling them element by element from numpy cost ~4 ms a detector)
        cdef const float[::1] fold = _TABLES[0]
        cdef const float[::1] hrot = _TABLES[1]
        cdef const float[::1] ntab = _TABLES[2]
        cdef const double[::1] rot = _TABLES[3]
        cdef const double[::1] tol = _TABLES[4]
        memcpy(self.fold, &fold[0], sizeof(self.fold))
        memcpy(self.hrot, &hrot[0], sizeof(self.hrot))
        memcpy(self.ntab, &ntab[0], sizeof(self.ntab))
        memcpy(self.rot, &rot[0], sizeof(self.rot))
        memcpy(self.tolrad, &tol[0], sizeof(self.tolrad))
        self.ncarry = 0
        self.feeds = 0
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
            self.chan[c].fed = self.feeds

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
        return self._feed(_block(samples, self.channels), None, _now(now))

    def process_channels(self, samples: object, now: float, channels: object) -> list:
        """Feed a block of some channels only: ``samples`` (len(channels), n), row i is
        channel ``channels[i]``; events carry the detector's channel numbers, in time order.

        The batch entry point: one call for all the busy timeslots of all spans (one
        detector over them), so the kernel runs them eight to a vector. A channel left out
        of a call is idle: when it is fed again its history is forgotten (as ``reset``), and
        no event is reported for the gap."""
        self._not_busy()
        idx = self._rows(channels)
        return self._feed(_block(samples, len(idx)), idx, _now(now))

    cdef object _rows(self, object channels):
        self.checks += 1
        return _checked_rows(channels, self.channels, &self.chan[0].mark, sizeof(dt_chan_t), self.checks)

    cdef list _feed(self, const int16_t[:, ::1] xv, object idx, double t0):
        cdef Py_ssize_t n = xv.shape[1]
        cdef Py_ssize_t rows = xv.shape[0]
        if n == 0 or rows == 0:
            return []
        cdef const int32_t[::1] iv
        cdef const int32_t *ip = NULL
        cdef Py_ssize_t r
        cdef int c
        if idx is not None:
            iv = idx
            ip = &iv[0]
            for r in range(rows):
                c = ip[r]
                if self.chan[c].fed != self.feeds:      # missed a feed: idle since, start afresh
                    self._clear(c, c + 1)
        cdef Py_ssize_t nsub = (self.ncarry + n) // DT_SUB
        cdef Py_ssize_t need = 2 * (nsub + 1) * rows
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
                nev = self._advance(xv, ip, t0)
        finally:
            self.busy = False
        self.feeds += 1
        for r in range(rows):
            self.chan[ip[r] if ip != NULL else r].fed = self.feeds
        events = []
        cdef dt_event_t *e = self.evbuf
        for i in range(nev):
            events.append(_event(e[i].channel, e[i].digit, e[i].start, e[i].time))
        if nev > 1:
            events.sort(key=_time_channel)
        return events

    @cython.boundscheck(False)  # sub-block indices stay inside x (nsub from its length)
    @cython.wraparound(False)
    cdef Py_ssize_t _advance(self, const int16_t[:, ::1] x, const int32_t *idx, double t0) noexcept nogil:
        """Run the rows of x (channel idx[row], or row) over the whole sub-blocks of carry +
        x, eight channels to a vector (dtk_subblocks); events into evbuf."""
        cdef Py_ssize_t n = x.shape[1]
        cdef Py_ssize_t rows = x.shape[0]
        cdef int p = self.ncarry
        cdef Py_ssize_t nsub = (p + n) // DT_SUB
        cdef int rem = <int> (p + n - nsub * DT_SUB)
        cdef Py_ssize_t nev = 0
        cdef int16_t first[DTK_LANES][DT_SUB]
        cdef const int16_t *srcs[DTK_LANES]
        cdef float *outs[DTK_LANES]
        cdef double *prevs[DTK_LANES]
        cdef int screen[DTK_LANES][3]
        cdef int64_t ens[DTK_LANES]
        cdef Py_ssize_t s, g, r
        cdef int l, nl, c
        cdef double t
        cdef double tstart = t0 - p * STEP
        # a group of channels runs all its sub-blocks before the next group: its state
        # stays in the first-level cache
        g = 0
        while g < rows:
            nl = <int> (rows - g if rows - g < DTK_LANES else DTK_LANES)
            if rows - g > DTK_LANES:        # the next group's rows, while this one runs
                dtk_prefetch(&x[g + DTK_LANES, 0],
                             <int> (rows - g - DTK_LANES if rows - g - DTK_LANES < DTK_LANES else DTK_LANES),
                             n * sizeof(int16_t), n * sizeof(int16_t))
                for l in range(<int> (rows - g - DTK_LANES if rows - g - DTK_LANES < DTK_LANES else DTK_LANES)):
                    r = g + DTK_LANES + l
                    dtk_prefetch_obj(&self.chan[idx[r] if idx != NULL else <int> r], sizeof(self.chan[0]))
            for s in range(nsub):
                t = tstart + s * DT_SUB * STEP
                for l in range(nl):
                    r = g + l
                    c = idx[r] if idx != NULL else <int> r
                    outs[l] = self.chan[c].hist[(self.chan[c].head + 1) & 3]   # _decide moves head there
                    prevs[l] = self.chan[c].pprev
                    if s == 0 and p > 0:
                        memcpy(first[l], self.chan[c].carry, p * sizeof(int16_t))
                        memcpy(&first[l][p], &x[r, 0], (DT_SUB - p) * sizeof(int16_t))
                        srcs[l] = first[l]
                    else:
                        srcs[l] = &x[r, s * DT_SUB - p]
                dtk_subblocks(srcs, nl, <const float (*)[16]> self.fold, <const float (*)[16]> self.hrot,
                              outs, ens, prevs, &FIGS, screen)
                for l in range(nl):
                    r = g + l
                    c = idx[r] if idx != NULL else <int> r
                    nev = self._decide(c, ens[l], screen[l][0], screen[l][1], screen[l][2], srcs[l], t, nev)
            g += DTK_LANES
        # keep the samples of the unfinished sub-block
        for r in range(rows):
            c = idx[r] if idx != NULL else <int> r
            if nsub == 0:
                memcpy(&self.chan[c].carry[p], &x[r, 0], n * sizeof(int16_t))
            elif rem > 0:
                memcpy(self.chan[c].carry, &x[r, n - rem], rem * sizeof(int16_t))
        self.ncarry = rem
        return nev

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef Py_ssize_t _decide(self, int c, int64_t ien, int kl, int kh, int good, const int16_t *src,
                            double t, Py_ssize_t nev) noexcept nogil:
        """The checks and the start / hold / stop machine of channel c on one sub-block, whose
        half sums dtk_subblocks wrote into the channel's next history slot.

        The level, twist and ratio tests come first, branch-free in C (dtk_screen, run by
        dtk_subblocks: kl, kh the strongest tone of each group, good their result); a
        sub-block failing them on a channel with no digit on and none building up (most of
        speech and noise) changes nothing else.

        The phase tests need the advance of the two chosen tones over the last three steps:
        they are computed from the ring of the last four sub-blocks' half sums only when
        the cheaper tests pass (most sub-blocks of speech or noise stop at the level,
        twist or ratio test)."""
        cdef dt_chan_t *ch = &self.chan[c]
        cdef dt_event_t *ev = self.evbuf
        cdef float acc[4][DT_COLS]          # sub-block sums: now, 1, 2, 3 sub-blocks before
        cdef const float *hs[3]
        cdef double *pw = ch.pprev          # this sub-block's tone powers (dtk_screen)
        cdef double nacc[8]
        cdef double q0, q1, mag, hr, hi, full, coarse
        cdef int i, j, k, dig, held
        cdef double en = <double> ien
        cdef double bl, bh, ol, oh, zr, zi, rr, ri
        cdef int on = ch.on
        cdef int cand = ch.cand
        cdef int run = ch.run
        cdef int miss = ch.miss
        cdef double run_t = ch.run_t
        cdef double miss_t = ch.miss_t
        cdef int head = (ch.head + 1) & 3
        ch.head = head
        if not good and on < 0 and cand < 0:
            return nev                      # cand stays -1, run 0: nothing else changes
        bl = pw[kl]
        bh = pw[kh]
        if good:
            ol = 0.0
            oh = 0.0
            for k in range(4):
                if k != kl and pw[k] > ol:
                    ol = pw[k]
                if k + 4 != kh and pw[k + 4] > oh:
                    oh = pw[k + 4]
            good = ol <= bl * OTHER and oh <= bh * OTHER
        if good:
            for j in range(4):
                hs[0] = ch.hist[(head - j) & 3]
                for k in range(DT_COLS):
                    acc[j][k] = hs[0][k] + hs[0][DT_COLS + k]
            for j in range(3):
                hs[j] = ch.hist[(head - j) & 3]
            # phase advance summed over the last STEPS = 3 steps (averages out the other
            # tone's leakage): step j is sub-block j against the one before it
            for i in range(2):
                k = kl if i == 0 else kh
                rr = 0.0
                ri = 0.0
                hr = 0.0
                hi = 0.0
                for j in range(3):
                    zr = acc[j][k] * acc[j + 1][k] + acc[j][DT_NF + k] * acc[j + 1][DT_NF + k]
                    zi = acc[j][DT_NF + k] * acc[j + 1][k] - acc[j][k] * acc[j + 1][DT_NF + k]
                    rr += zr * self.rot[k] - zi * self.rot[DT_NF + k]
                    ri += zr * self.rot[DT_NF + k] + zi * self.rot[k]
                    # advance over half a sub-block: second half * conj(first half)
                    hr += (hs[j][DT_COLS + k] * hs[j][k] + hs[j][DT_COLS + DT_NF + k] * hs[j][DT_NF + k])
                    hi += (hs[j][DT_COLS + DT_NF + k] * hs[j][k] - hs[j][DT_COLS + k] * hs[j][DT_NF + k])
                mag = sqrt(rr * rr + ri * ri)
                # no evidence yet (first sub-block of a tone): not judged on it
                if mag >= WEAK * pw[k] / PE_NORM:
                    # the full advance is known modulo one turn; the half-block one picks it
                    full = atan2(ri, rr)
                    coarse = 2.0 * atan2(hi, hr)
                    full = full + 2.0 * M_PI * rint((coarse - full) / (2.0 * M_PI))
                    if not fabs(full) <= self.tolrad[k]:
                        good = 0
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
        else:
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
        ch.on = on
        ch.cand = cand
        ch.run = run
        ch.miss = miss
        ch.run_t = run_t
        ch.miss_t = miss_t
        return nev


def _time_channel(ev):
    return (ev.time, ev.channel)

def detect(samples: object, rate: int = 8000) -> str:
    """The digits in a 16-bit linear signal (int16 array or bytes), in order; fresh state."""
    _py.check_rate(rate)
    x = _py.as_channels(samples, 1)
    det = DtmfDetector(1)
    events = det.process(x, 0.0)
    events += det.process(np.zeros((1, DT_SUB * (OFF_SUBS + 1)), np.int16), x.shape[1] / 8000.0)
    return "".join(e.digit for e in events if e.kind == "start")
