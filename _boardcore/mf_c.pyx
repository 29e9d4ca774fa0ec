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
from libc.math cimport fmod, rint, sin, M_PI
from libc.stdint cimport int16_t, int32_t
from libc.stdlib cimport calloc, free, realloc
from libc.string cimport memcpy, memset


cdef extern from "mf_kernel.h" nogil:
    void mfk_subblock(const int16_t *src, const double (*table)[12], double *acc, double *en)

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
cdef int ON_WINDOWS = _py.ON_WINDOWS
cdef int OFF_WINDOWS = _py.OFF_WINDOWS
cdef double NORM = 2.0 / (_py.WIN * _py.WIN)
cdef double INV_WIN = 1.0 / _py.WIN
cdef double STEP = 1.0 / _py.RATE


cdef inline bint _coherent(const double *w, const double *q0, const double *q1, const double *q2,
                          const double *q3, int k) noexcept nogil:
    """Tone k keeps its phase from the previous window (sub-blocks q0..q3) to this one (w)."""
    cdef double pr = q0[2 * k] + q1[2 * k] + q2[2 * k] + q3[2 * k]
    cdef double pi = q0[2 * k + 1] + q1[2 * k + 1] + q2[2 * k + 1] + q3[2 * k + 1]
    cdef double wr = w[2 * k]
    cdef double wi = w[2 * k + 1]
    cdef double br = wr + pr
    cdef double bi = wi + pi
    return br * br + bi * bi >= COHERENCE2 * ((wr * wr + wi * wi) + (pr * pr + pi * pi))


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
        w = 2.0 * np.pi * np.asarray(_py.frequencies_of(self.forward, 6), dtype=np.float64) / _py.RATE
        kern = np.exp(-1j * np.outer(np.arange(MF_SUB, dtype=np.float64), w))
        rot = np.exp(-1j * np.outer(np.arange(MF_ROT, dtype=np.float64), w * MF_SUB))
        memset(self.table, 0, sizeof(self.table))
        memset(self.rot, 0, sizeof(self.rot))
        memset(self.sigtab, 0, sizeof(self.sigtab))
        cdef int m, k, g
        for m in range(MF_SUB):
            for k in range(self.nfreq):
                self.table[m][2 * k] = kern[m, k].real
                self.table[m][2 * k + 1] = kern[m, k].imag
        for g in range(MF_ROT):
            for k in range(self.nfreq):
                self.rot[g][2 * k] = rot[g, k].real
                self.rot[g][2 * k + 1] = rot[g, k].imag
        for sig, (i, j) in SIGNAL_PAIRS.items():
            if j < len(self.freqs):
                self.sigtab[i][j] = sig
                self.sigtab[j][i] = sig
        self.pos = 0
        self.rhead = 0
        self.ncarry = 0
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
        else:
            c = self._channel_arg(channel)
            memset(&self.chan[c], 0, sizeof(mf_chan_t))

    def current(self, channel: int) -> int:
        """The signal now recognised on ``channel`` (0 when none)."""
        return self.chan[self._channel_arg(channel)].cur

    def process(self, samples: object, now: float) -> list:
        """Feed ``n`` samples per channel; events recognised in them, by time then channel."""
        self._not_busy()
        x = _py.as_channels(samples, self.channels)
        cdef double t0 = _py.check_now(now)
        cdef const int16_t[:, ::1] xv = x
        cdef Py_ssize_t n = xv.shape[1]
        if n == 0:
            return []
        cdef int p = self.ncarry
        cdef Py_ssize_t nsub = (p + n) // MF_SUB
        cdef Py_ssize_t need = 2 * nsub * self.channels
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
                nev = self._advance(xv)
        finally:
            self.busy = False
        events = []
        cdef int32_t *e = self.evbuf
        for i in range(nev):
            events.append(MfEvent(e[3 * i], e[3 * i + 1],
                                  t0 + ((e[3 * i + 2] + 1) * MF_SUB - p) * STEP))
        if nev > 1:
            events.sort(key=lambda ev: (ev.time, ev.channel))
        return events

    @cython.boundscheck(False)  # sub-block indices stay inside x (nsub from its length)
    @cython.wraparound(False)
    cdef Py_ssize_t _advance(self, const int16_t[:, ::1] x) noexcept nogil:
        """Run every channel over the whole sub-blocks of carry + x; events into evbuf."""
        cdef Py_ssize_t n = x.shape[1]
        cdef int p = self.ncarry
        cdef Py_ssize_t nsub = (p + n) // MF_SUB
        cdef int rem = <int> (p + n - nsub * MF_SUB)
        cdef int nf = self.nfreq
        cdef int ncols = 2 * nf
        cdef Py_ssize_t nev = 0
        cdef int16_t first[MF_SUB]
        cdef double acc[MF_COLS]
        cdef double z[MF_COLS]
        cdef double pw[MF_MAXF]
        cdef const int16_t *src
        cdef const double *rr
        cdef mf_chan_t *ch
        cdef Py_ssize_t c, s
        cdef int m, k, h, a, b, t, sg, strict, held
        cdef double en, ew, pa, pb, p3, pair, ref
        cdef double wz[MF_COLS]
        cdef const double *q0
        cdef const double *q1
        cdef const double *q2
        cdef const double *q3
        cdef const double *q4
        cdef const double *q5
        cdef const double *q6
        cdef int cur, cand, cand_n, miss
        for c in range(self.channels):
            ch = &self.chan[c]
            cur = ch.cur
            cand = ch.cand
            cand_n = ch.cand_n
            miss = ch.miss
            ref = ch.ref
            for s in range(nsub):
                if s == 0 and p > 0:
                    memcpy(first, ch.carry, p * sizeof(int16_t))
                    memcpy(&first[p], &x[c, 0], (MF_SUB - p) * sizeof(int16_t))
                    src = first
                else:
                    src = &x[c, s * MF_SUB - p]
                # correlation with every frequency, and the energy, of this sub-block
                mfk_subblock(src, self.table, acc, &en)
                # phase reference: rotate to the stream's time origin
                rr = self.rot[(self.pos + s) % MF_ROT]
                for k in range(0, ncols, 2):
                    z[k] = acc[k] * rr[k] - acc[k + 1] * rr[k + 1]
                    z[k + 1] = acc[k] * rr[k + 1] + acc[k + 1] * rr[k]
                # 20 ms window W: three earlier sub-blocks (oldest first) plus this one;
                # the window before it W': the four sub-blocks before those (coherence test)
                h = (self.rhead + s) % MF_RING
                q0 = ch.ring[h]
                q1 = ch.ring[(h + 1) % MF_RING]
                q2 = ch.ring[(h + 2) % MF_RING]
                q3 = ch.ring[(h + 3) % MF_RING]
                q4 = ch.ring[(h + 4) % MF_RING]
                q5 = ch.ring[(h + 5) % MF_RING]
                q6 = ch.ring[(h + 6) % MF_RING]
                for k in range(ncols):
                    wz[k] = q4[k] + q5[k] + q6[k] + z[k]
                for k in range(nf):
                    pw[k] = (wz[2 * k] * wz[2 * k] + wz[2 * k + 1] * wz[2 * k + 1]) * NORM
                ew = (ch.ering[(h + 4) % MF_RING] + ch.ering[(h + 5) % MF_RING]
                      + ch.ering[(h + 6) % MF_RING] + en) * INV_WIN
                # the two strongest and the third (ties: lower index first, as a stable sort)
                a = 0
                for k in range(1, nf):
                    if pw[k] > pw[a]:
                        a = k
                b = -1
                for k in range(nf):
                    if k != a and (b < 0 or pw[k] > pw[b]):
                        b = k
                t = -1
                for k in range(nf):
                    if k != a and k != b and (t < 0 or pw[k] > pw[t]):
                        t = k
                pa = pw[a]
                pb = pw[b]
                p3 = pw[t]
                pair = pa + pb
                sg = self.sigtab[a][b]
                strict = sg if (pb >= LEVEL_ON and pa <= pb * TWIST_ON and p3 <= pb * THIRD_WEAK
                                and p3 <= pa * THIRD_STRONG and pair >= FRACTION_ON * ew
                                and _coherent(wz, q0, q1, q2, q3, a) and _coherent(wz, q0, q1, q2, q3, b)) else 0
                memcpy(ch.ring[h], z, MF_COLS * sizeof(double))
                ch.ering[h] = en
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
            # keep the samples of the unfinished sub-block
            if nsub == 0:
                memcpy(&ch.carry[p], &x[c, 0], n * sizeof(int16_t))
            elif rem:
                memcpy(ch.carry, &x[c, n - rem], rem * sizeof(int16_t))
        self.pos = <int> ((self.pos + nsub) % MF_ROT)
        self.rhead = <int> ((self.rhead + nsub) % MF_RING)
        self.ncarry = rem
        return nev


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
