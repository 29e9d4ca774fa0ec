# cython: annotation_typing=False
# (annotations document the API; the twin's checks decide what is accepted)
"""R2 / China No.1 MFC register tones: compiled detector and generator (twin: ``mf_py``).

Same API, thresholds and events as the pure-Python twin ``_boardcore.mf_py`` (the
algorithm is described there and in docs/mf.md): per channel, a complex correlation with
each signalling frequency every 5 ms sub-block, phase-referenced so four sub-blocks add
into a sliding 20 ms DFT window; a two-out-of-six decision per window; a
recognise / hold / release machine. Here one call runs every channel of a span in one
``nogil`` loop over precomputed tables. Constants and input checks come from the twin, so
both always use the same figures.
"""
cimport cython
from libc.math cimport isfinite, fmod, rint, sin, M_PI
from libc.stdint cimport int16_t, int32_t, int64_t
from libc.stdlib cimport calloc, free, realloc
from libc.string cimport memcpy, memset


cdef extern from "mf_kernel.h" nogil:
    enum: MFK_LANES
    enum: MFK_HALF
    void mfk_subblocks(const int16_t **src, int n, const float (*fold)[16], const double *rot,
                       const double **prev, double norm, double **z, double (*wz)[16],
                       double (*pw)[8], int *strongest, int64_t *en)
    void mfk_prefetch(const int16_t *first, int rows, long stride, long nbytes)
    void mfk_prefetch_obj(const void *p, long nbytes)

import numpy as np

from . import mf_py as _py
from .mf_py import (  # noqa: F401  (re-exported: the same objects as the twin's)
    BACKWARD_HZ, DBM0_PEAK, DBM0_POWER, FORWARD_HZ, MfEvent, SIGNAL_CHARS, SIGNAL_PAIRS,
    signal_char,
)

__all__ = ["MfDetector", "MfGenerator", "MfEvent", "detect", "signal_char",
           "FORWARD_HZ", "BACKWARD_HZ", "SIGNAL_PAIRS", "SIGNAL_CHARS", "DBM0_PEAK"]

assert _py.SUB == MF_SUB and _py.WIN_SUBS == MF_WIN_SUBS and _py.ROT_PERIOD == MF_ROT and _py.RING == MF_RING

# Decision figures, read once from the twin (one source of truth, see mf_py).
cdef double LEVEL_ON = _py.LEVEL_ON_POWER
cdef double LEVEL_HOLD = _py.LEVEL_HOLD_POWER
cdef double TWIST_ON = _py.TWIST_ON
cdef double TWIST_HOLD = _py.TWIST_HOLD
cdef double THIRD_STRONG = _py.THIRD_STRONG
cdef double THIRD_WEAK = _py.THIRD_WEAK
cdef double FRACTION_ON = _py.FRACTION_ON
cdef double FRACTION_HOLD = _py.FRACTION_HOLD
cdef double COHERENCE2 = 2.0 * _py.COHERENCE_ON
cdef double HOLD_DROP = _py.HOLD_DROP
cdef double LEVEL_MIN = min(_py.LEVEL_ON_POWER, _py.LEVEL_HOLD_POWER)
cdef double FRACTION_MIN = min(_py.FRACTION_ON, _py.FRACTION_HOLD)
cdef int ON_WINDOWS = _py.ON_WINDOWS
cdef int OFF_WINDOWS = _py.OFF_WINDOWS
cdef double NORM = 2.0 / (_py.WIN * _py.WIN)
cdef double INV_WIN = 1.0 / _py.WIN
cdef double STEP = 1.0 / _py.RATE
cdef object _tuple_new = tuple.__new__


cdef inline bint _coherent(const double *w, const double *q0, const double *q1, const double *q2,
                          const double *q3, int k) noexcept nogil:
    """Tone k keeps its phase from the previous window (sub-blocks q0..q3) to this one (w)."""
    cdef double pr = q0[k] + q1[k] + q2[k] + q3[k]
    cdef double pi = q0[8 + k] + q1[8 + k] + q2[8 + k] + q3[8 + k]
    cdef double wr = w[k]
    cdef double wi = w[8 + k]
    cdef double br = wr + pr
    cdef double bi = wi + pi
    return br * br + bi * bi >= COHERENCE2 * ((wr * wr + wi * wi) + (pr * pr + pi * pi))


include "_batch_args.pxi"


cdef class MfDetector:
    """Two-out-of-six MFC signal detector over ``channels`` channels (Q.441 clause 4)."""

    def __cinit__(self, *args, **kwargs):
        self.chan = NULL
        self.evbuf = NULL
        self.evcap = 0
        self.busy = False

    def __init__(self, channels: int, forward: bool = True, frequencies: int = 6, rate: int = 8000) -> None:
        self._not_busy()
        self.channels = _py.check_channels(channels)
        self.rate = _py.check_rate(rate)
        self.forward = bool(forward)
        self.freqs = _py.frequencies_of(self.forward, frequencies)
        # All six frequencies are measured; with four (China backward) f4 and f5 only guard
        # (they can be the "third" frequency; pairs using them are no signal), as in the twin.
        self.nfreq = MF_MAXF
        # The same tables as the twin, computed by the same numpy expressions.
        # The sub-block folded about its centre c (mf_kernel.h): cos / -sin at the
        # half-integer offsets d; the phase reference exp(-j w SUB g) of the twin times
        # exp(-j w c) brings the folded sums back to the twin's correlations.
        w = 2.0 * np.pi * np.asarray(_py.frequencies_of(self.forward, 6), dtype=np.float64) / _py.RATE
        off = np.arange(MFK_HALF, dtype=np.float64) + 0.5
        rot = np.exp(-1j * np.outer(np.arange(MF_ROT, dtype=np.float64), w * MF_SUB)) * np.exp(-1j * w * (MFK_HALF - 0.5))
        memset(self.fold, 0, sizeof(self.fold))
        memset(self.rot, 0, sizeof(self.rot))
        memset(self.sigtab, 0, sizeof(self.sigtab))
        cdef int m, k, g
        for m in range(MFK_HALF):
            for k in range(self.nfreq):
                self.fold[m][k] = np.cos(w[k] * off[m])
                self.fold[m][8 + k] = -np.sin(w[k] * off[m])
        for g in range(MF_ROT):
            for k in range(self.nfreq):
                self.rot[g][k] = rot[g, k].real
                self.rot[g][8 + k] = rot[g, k].imag
        for sig, (i, j) in SIGNAL_PAIRS.items():
            if j < len(self.freqs):
                self.sigtab[i][j] = sig
                self.sigtab[j][i] = sig
        self.pos = 0
        self.rhead = 0
        self.ncarry = 0
        self.feeds = 0
        free(self.chan)
        self.chan = <mf_chan_t *> calloc(self.channels, sizeof(mf_chan_t))
        if self.chan == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.chan)
        free(self.evbuf)

    cdef int _not_busy(self) except -1:
        if self.busy:
            raise RuntimeError("MfDetector is being used by another thread (one detector per span and thread)")
        return 0

    cdef int _channel_arg(self, object channel) except -1:
        if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)):
            raise TypeError(f"channel must be an int, got {type(channel).__name__}")
        if not 0 <= channel < self.channels:
            raise ValueError(f"channel {channel} out of range 0..{self.channels - 1}")
        return int(channel)

    def reset(self, channel: int | None = None) -> None:
        """Forget the history of one channel (or all): no event is reported for it."""
        cdef int c
        self._not_busy()
        if channel is None:
            memset(self.chan, 0, self.channels * sizeof(mf_chan_t))
            for c in range(self.channels):
                self.chan[c].fed = self.feeds
        else:
            c = self._channel_arg(channel)
            memset(&self.chan[c], 0, sizeof(mf_chan_t))
            self.chan[c].fed = self.feeds

    def current(self, channel: int) -> int:
        """The signal now recognised on ``channel`` (0 when none)."""
        return self.chan[self._channel_arg(channel)].cur

    def process(self, samples: object, now: float) -> list:
        """Feed ``n`` samples per channel; events recognised in them, by time then channel."""
        self._not_busy()
        return self._feed(_block(samples, self.channels), None, _now(now))

    def process_channels(self, samples: object, now: float, channels: object) -> list:
        """Feed a block of some channels only: ``samples`` (len(channels), n), row i is
        channel ``channels[i]``; events carry the detector's channel numbers, by time then
        channel.

        The batch entry point: one call for all the channels of all spans that are in a
        register phase (one detector over them), so the kernel runs them four at a time.
        A channel left out of a call is idle: when it is fed again its history is forgotten
        (as ``reset``), and no event is reported for the gap."""
        self._not_busy()
        idx = self._rows(channels)
        return self._feed(_block(samples, len(idx)), idx, _now(now))

    cdef object _rows(self, object channels):
        self.checks += 1
        return _checked_rows(channels, self.channels, &self.chan[0].mark, sizeof(mf_chan_t), self.checks)

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
                    memset(&self.chan[c], 0, sizeof(mf_chan_t))
        cdef int p = self.ncarry
        cdef Py_ssize_t nsub = (p + n) // MF_SUB
        cdef Py_ssize_t need = 2 * nsub * rows
        cdef int32_t *grown
        if need > self.evcap:
            grown = <int32_t *> realloc(self.evbuf, 3 * need * sizeof(int32_t))
            if grown == NULL:
                raise MemoryError()
            self.evbuf = grown
            self.evcap = need
        cdef Py_ssize_t nev, i
        self.busy = True
        try:
            with nogil:
                nev = self._advance(xv, ip)
        finally:
            self.busy = False
        self.feeds += 1
        for r in range(rows):
            self.chan[ip[r] if ip != NULL else r].fed = self.feeds
        events = []
        cdef int32_t *e = self.evbuf
        for i in range(nev):      # MfEvent(...) without the NamedTuple's Python __new__
            events.append(_tuple_new(MfEvent, (e[3 * i], e[3 * i + 1],
                                               t0 + ((e[3 * i + 2] + 1) * MF_SUB - p) * STEP)))
        if nev > 1:
            events.sort(key=_time_channel)
        return events

    @cython.boundscheck(False)  # sub-block indices stay inside x (nsub from its length)
    @cython.wraparound(False)
    cdef Py_ssize_t _advance(self, const int16_t[:, ::1] x, const int32_t *idx) noexcept nogil:
        """Run the rows of x (channel idx[row], or row) over the whole sub-blocks of carry +
        x, four channels at a time (mfk_subblocks); events into evbuf."""
        cdef Py_ssize_t n = x.shape[1]
        cdef Py_ssize_t rows = x.shape[0]
        cdef int p = self.ncarry
        cdef Py_ssize_t nsub = (p + n) // MF_SUB
        cdef int rem = <int> (p + n - nsub * MF_SUB)
        cdef Py_ssize_t nev = 0
        cdef int16_t first[MFK_LANES][MF_SUB]
        cdef const int16_t *srcs[MFK_LANES]
        cdef double *zs[MFK_LANES]
        cdef double wzs[MFK_LANES][MF_COLS]
        cdef double pws[MFK_LANES][8]
        cdef int strongest[MFK_LANES]
        cdef const double *prev[3 * MFK_LANES]
        cdef int64_t ens[MFK_LANES]
        cdef mf_chan_t *ch
        cdef int slot[MF_SLOTS]
        cdef const double *rr
        cdef Py_ssize_t s, g, r
        cdef int l, nl, c, h, k
        # a group of channels runs all its sub-blocks before the next group (its rings stay
        # in the first-level cache); the phase reference and ring slots of a sub-block are
        # the same for every channel
        g = 0
        while g < rows:
            nl = <int> (rows - g if rows - g < MFK_LANES else MFK_LANES)
            if rows - g > MFK_LANES:        # the next group's rows, while this one runs
                mfk_prefetch(&x[g + MFK_LANES, 0],
                             <int> (rows - g - MFK_LANES if rows - g - MFK_LANES < MFK_LANES else MFK_LANES),
                             n * sizeof(int16_t), n * sizeof(int16_t))
                for l in range(<int> (rows - g - MFK_LANES if rows - g - MFK_LANES < MFK_LANES else MFK_LANES)):
                    r = g + MFK_LANES + l
                    mfk_prefetch_obj(&self.chan[idx[r] if idx != NULL else <int> r], sizeof(self.chan[0]))
            for s in range(nsub):
                rr = self.rot[(self.pos + s) % MF_ROT]
                # slot[0..6]: the seven sub-blocks before this one, oldest first; slot[7]:
                # this one's (it replaces the eighth before it, no longer needed)
                h = <int> (self.rhead + s)
                for k in range(MF_SLOTS):
                    slot[k] = (h + 1 + k) & (MF_SLOTS - 1)
                for l in range(nl):
                    r = g + l
                    c = idx[r] if idx != NULL else <int> r
                    ch = &self.chan[c]
                    prev[3 * l] = ch.ring[slot[4]]
                    prev[3 * l + 1] = ch.ring[slot[5]]
                    prev[3 * l + 2] = ch.ring[slot[6]]
                    zs[l] = ch.ring[slot[7]]
                    if s == 0 and p > 0:
                        memcpy(first[l], ch.carry, p * sizeof(int16_t))
                        memcpy(&first[l][p], &x[r, 0], (MF_SUB - p) * sizeof(int16_t))
                        srcs[l] = first[l]
                    else:
                        srcs[l] = &x[r, s * MF_SUB - p]
                mfk_subblocks(srcs, nl, <const float (*)[16]> self.fold, rr, prev, NORM, zs, wzs, pws,
                              strongest, ens)
                for l in range(nl):
                    r = g + l
                    c = idx[r] if idx != NULL else <int> r
                    nev = self._decide(c, zs[l], wzs[l], pws[l], strongest[l], <double> ens[l], slot, s, nev)
            g += MFK_LANES
        # keep the samples of the unfinished sub-block
        for r in range(rows):
            c = idx[r] if idx != NULL else <int> r
            if nsub == 0:
                memcpy(&self.chan[c].carry[p], &x[r, 0], n * sizeof(int16_t))
            elif rem:
                memcpy(self.chan[c].carry, &x[r, n - rem], rem * sizeof(int16_t))
        self.pos = <int> ((self.pos + nsub) % MF_ROT)
        self.rhead = <int> ((self.rhead + nsub) & (MF_SLOTS - 1))
        self.ncarry = rem
        return nev

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef Py_ssize_t _decide(self, int c, const double *z, const double *wz, const double *pw, int a,
                            double en, const int *slot, Py_ssize_t s, Py_ssize_t nev) noexcept nogil:
        """Two-out-of-six decision and recognise / hold / release of channel c on a window.

        z: this sub-block's correlations with the phase reference applied, wz: the 20 ms
        window (three earlier sub-blocks and this one), pw: its tone powers, a: the
        strongest tone, all computed branch-free in C (mfk_subblocks, mfk_front); a window
        where no pair can pass on a channel with no signal recognised (most of speech and
        noise) changes nothing but the ring."""
        cdef mf_chan_t *ch = &self.chan[c]
        cdef int k, b, t, sg, strict, held
        cdef double ew, pa, pb, p3, pair
        cdef int cur = ch.cur
        cdef int cand = ch.cand
        cdef int cand_n = ch.cand_n
        cdef int miss = ch.miss
        cdef double ref = ch.ref
        # 20 ms window W: three earlier sub-blocks (oldest first) plus this one;
        # the window before it W': the four sub-blocks before those (coherence test)
        cdef const double *q0 = ch.ring[slot[0]]
        cdef const double *q1 = ch.ring[slot[1]]
        cdef const double *q2 = ch.ring[slot[2]]
        cdef const double *q3 = ch.ring[slot[3]]
        ew = (ch.ering[slot[4]] + ch.ering[slot[5]] + ch.ering[slot[6]] + en) * INV_WIN
        ch.ering[slot[7]] = en              # (z is already in its slot: mfk_subblocks wrote it)
        pa = pw[a]
        pair = 0.0
        if pa < LEVEL_MIN or 2.0 * pa < FRACTION_MIN * ew:
            # no pair can pass the level or the pair-to-total test, recognising or holding
            # (pb <= pa, pa + pb <= 2 pa): most windows of speech and noise end here
            if cur == 0:                    # no candidate either: only the ring moves on
                ch.cand = 0
                ch.cand_n = 0
                return nev
            strict = 0
            held = 0
        else:
            b = -1
            for k in range(MF_MAXF):
                if k != a and (b < 0 or pw[k] > pw[b]):
                    b = k
            t = -1
            for k in range(MF_MAXF):
                if k != a and k != b and (t < 0 or pw[k] > pw[t]):
                    t = k
            pb = pw[b]
            p3 = pw[t]
            pair = pa + pb
            sg = self.sigtab[a][b]
            strict = sg if (pb >= LEVEL_ON and pa <= pb * TWIST_ON and p3 <= pb * THIRD_WEAK
                            and p3 <= pa * THIRD_STRONG and pair >= FRACTION_ON * ew
                            and _coherent(wz, q0, q1, q2, q3, a) and _coherent(wz, q0, q1, q2, q3, b)) else 0
            held = sg if (pb >= LEVEL_HOLD and pa <= pb * TWIST_HOLD
                          and pair >= FRACTION_HOLD * ew) else 0
        # recognise / hold / release (Q.441: 7 ms burst reject, 7 ms gap bridge)
        if strict and strict != cur:
            if strict == cand:
                cand_n += 1
            else:
                cand = strict
                cand_n = 1
        else:
            cand = 0
            cand_n = 0
        if cur:
            if held == cur and pair >= ref * HOLD_DROP:
                miss = 0
                if pair > ref:
                    ref = pair
            else:
                miss += 1
        if cand_n >= ON_WINDOWS:
            if cur:
                self.evbuf[3 * nev] = <int32_t> c
                self.evbuf[3 * nev + 1] = 0
                self.evbuf[3 * nev + 2] = <int32_t> s
                nev += 1
            self.evbuf[3 * nev] = <int32_t> c
            self.evbuf[3 * nev + 1] = cand
            self.evbuf[3 * nev + 2] = <int32_t> s
            nev += 1
            cur = cand
            cand = 0
            cand_n = 0
            miss = 0
            ref = pair
        elif cur and miss >= OFF_WINDOWS:
            self.evbuf[3 * nev] = <int32_t> c
            self.evbuf[3 * nev + 1] = 0
            self.evbuf[3 * nev + 2] = <int32_t> s
            nev += 1
            cur = 0
            miss = 0
            ref = 0.0
        ch.cur = cur
        ch.cand = cand
        ch.cand_n = cand_n
        ch.miss = miss
        ch.ref = ref
        return nev


def _time_channel(ev):
    return (ev.time, ev.channel)

cdef class MfGenerator:
    """Phase-continuous two-out-of-six signal generator, ``level_dbm0`` per frequency (Q.454)."""

    def __init__(self, forward: bool = True, level_dbm0: float = -8.0, rate: int = 8000,
                 frequencies: int = 6) -> None:
        self.rate = _py.check_rate(rate)
        self.forward = bool(forward)
        self.freqs = _py.frequencies_of(self.forward, frequencies)
        self.frequencies = frequencies
        self.level_dbm0 = _py.check_level(level_dbm0)
        self.amplitude = DBM0_PEAK * 10.0 ** (self.level_dbm0 / 20.0)
        memset(self.phase, 0, sizeof(self.phase))
        self.signal = 0

    def tone(self, signal: int, n: int) -> np.ndarray:
        """``n`` samples of ``signal`` (0 = silence); phase continuous across calls."""
        cdef int sig = _py.check_signal(signal, len(self.freqs))
        cdef Py_ssize_t count = _py.check_count(n)
        out = np.zeros(count, dtype=np.int16)
        cdef int16_t[::1] ov = out
        cdef double f0 = 0.0, f1 = 0.0, ph0 = 0.0, ph1 = 0.0, v
        cdef double rate = self.rate, amp = self.amplitude, tau = 2.0 * M_PI
        cdef Py_ssize_t i
        cdef int k
        if sig:
            i0, i1 = SIGNAL_PAIRS[sig]
            f0 = self.freqs[i0]
            f1 = self.freqs[i1]
            ph0 = self.phase[i0]
            ph1 = self.phase[i1]
            with nogil:
                for i in range(count):
                    v = (sin(tau * (ph0 + f0 * <double> i / rate))
                         + sin(tau * (ph1 + f1 * <double> i / rate))) * amp
                    v = rint(v)
                    ov[i] = <int16_t> (32767.0 if v > 32767.0 else (-32768.0 if v < -32768.0 else v))
        for k in range(len(self.freqs)):
            self.phase[k] = fmod(self.phase[k] + self.freqs[k] * <double> count / rate, 1.0)
        self.signal = sig
        return out


def detect(samples: object, rate: int = 8000, forward: bool = True, frequencies: int = 6) -> str:
    """The signals in ``samples`` (one channel) in order, as "1234567890BCDEF" characters."""
    _py.check_rate(rate)
    det = MfDetector(1, forward=forward, frequencies=frequencies, rate=rate)
    x = _py.as_channels(samples, 1)
    tail = np.zeros((1, _py.WIN * 4), dtype=np.int16)   # silence long enough to release
    out = []
    for ev in det.process(x, 0.0) + det.process(tail, x.shape[1] / _py.RATE):
        if ev.signal:
            out.append(SIGNAL_CHARS[ev.signal - 1])
    return "".join(out)
