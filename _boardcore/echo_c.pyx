# cython: annotation_typing=False
# (annotations document the API; the twin's checks decide what is accepted)
"""G.168 line echo canceller, per channel: the compiled kernel (twin: ``echo_py``).

Same API, figures and state machine as the twin (the algorithm is described there and in
docs/echo.md): NLMS over a 1..128 ms tail, Geigel double-talk detection, a divergence
guard, NLP with comfort noise, the 2100 Hz phase-reversal tone disabler. Here every channel
of a span runs in one ``nogil`` loop; the FIR and the coefficient update are the vector
loops of echo_kernel.h (partial sums: the twin's numpy dot sums in another order, so the
two may differ by rounding). Constants come from the twin.
"""
cimport cython
from libc.math cimport fabs, sqrt, floor
from libc.stdint cimport int16_t, uint32_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy, memset


cdef extern from "echo_kernel.h" nogil:
    double eck_dot(const double *w, const double *x, int n)
    void eck_update(double *w, const double *x, double g, int n)

import numpy as np

from . import echo_py as _py
from .echo_py import DEFAULT_TAIL_MS, MAX_TAIL_MS, RATE, EchoStats, check_tail  # noqa: F401

__all__ = ["EchoCanceller", "EchoStats", "DEFAULT_TAIL_MS", "MAX_TAIL_MS", "RATE", "check_tail"]

cdef enum:
    NMAX = 1024
    HIST = 2048
    SUB = 8
    NBLK = 129
    TONE_BLOCK = 80

assert _py.NMAX == NMAX and _py.HIST == HIST and _py.SUB == SUB and _py.NBLK == NBLK
assert _py.TONE_BLOCK == TONE_BLOCK and _py.TAPS_PER_MS == 8

cdef double MU = _py.MU
cdef double DELTA_PER_TAP = _py.DELTA_PER_TAP
cdef double FAR_POWER = _py.FAR_POWER
cdef double GEIGEL = _py.GEIGEL
cdef int DT_HANG = _py.DT_HANG
cdef double DT_RES = _py.DT_RES
cdef double A_SHORT = _py.A_SHORT
cdef double A_LONG = _py.A_LONG
cdef double CONVERGED = _py.CONVERGED
cdef double NLP_RES = _py.NLP_RES
cdef double NOISE_UP = _py.NOISE_UP
cdef double NOISE_FLOOR = _py.NOISE_FLOOR
cdef int CHECKPOINT = _py.CHECKPOINT
cdef int DIVERGE = _py.DIVERGE
cdef double TONE_FRACTION = _py.TONE_FRACTION
cdef double TONE_ENERGY = _py.TONE_ENERGY
cdef int TONE_MIN_BLOCKS = _py.TONE_MIN_BLOCKS
cdef int RELEASE_BLOCKS = _py.RELEASE_BLOCKS
cdef double REVERSAL_COS = _py.REVERSAL_COS
cdef uint32_t LCG_A = _py.LCG_A
cdef uint32_t LCG_C = _py.LCG_C
cdef double TONE_COS[TONE_BLOCK]
cdef double TONE_SIN[TONE_BLOCK]
cdef int _k
for _k in range(TONE_BLOCK):
    TONE_COS[_k] = _py.TONE_COS[_k]
    TONE_SIN[_k] = _py.TONE_SIN[_k]


cdef struct ec_chan_t:
    double w[NMAX]
    double wb[NMAX]
    double hist[HIST]
    double bmax[NBLK]
    int n, hp, bpos, hang, since_ck, diverge, quiet
    bint enabled, dt_seen, disabled
    double xpow, xmax_done, ds, es, ys, dl, el, noise, cn_amp
    uint32_t seed
    double tre[2]
    double tim[2]
    double ten[2]
    double prev[2][4]
    double adv[2][2]
    int run[2]
    int rev[2]
    int skip[2]


cdef void _chan_reset(ec_chan_t *ch, int index, int tail_ms) noexcept nogil:
    cdef bint enabled = ch.enabled
    memset(ch, 0, sizeof(ec_chan_t))
    ch.enabled = enabled
    ch.n = tail_ms * 8
    ch.hp = NMAX
    ch.noise = NOISE_FLOOR
    ch.cn_amp = sqrt(3.0 * NOISE_FLOOR)
    ch.seed = <uint32_t> ((<unsigned long long> index * 2654435761ULL + 1ULL) & 0xFFFFFFFFULL)


cdef inline void _push(ec_chan_t *ch, double xv) noexcept nogil:
    cdef double old
    if ch.hp == HIST:
        memcpy(ch.hist, &ch.hist[HIST - NMAX], NMAX * sizeof(double))
        ch.hp = NMAX
    old = ch.hist[ch.hp - ch.n]
    ch.hist[ch.hp] = xv
    ch.xpow += xv * xv - old * old
    ch.hp += 1


cdef void _tone_block(ec_chan_t *ch) noexcept nogil:
    cdef bint loud = False, tone
    cdef int path
    cdef double re, im, en, rr, ri, mag, amag
    cdef double *p
    cdef double *a
    for path in range(2):
        re = ch.tre[path]
        im = ch.tim[path]
        en = ch.ten[path]
        ch.tre[path] = 0.0
        ch.tim[path] = 0.0
        ch.ten[path] = 0.0
        if en >= TONE_ENERGY:
            loud = True
        tone = en >= TONE_ENERGY and 2.0 * (re * re + im * im) / TONE_BLOCK >= TONE_FRACTION * en
        p = ch.prev[path]
        a = ch.adv[path]
        if tone and ch.run[path] >= 2:
            rr = re * p[2] + im * p[3]
            ri = im * p[2] - re * p[3]
            mag = sqrt(rr * rr + ri * ri)
            if ch.skip[path] > 0:
                ch.skip[path] -= 1
            elif mag > 0.0:
                amag = sqrt(a[0] * a[0] + a[1] * a[1])
                if ch.run[path] >= 4 and amag > 0.0 and (rr * a[0] + ri * a[1]) < REVERSAL_COS * mag * amag:
                    ch.rev[path] += 1
                    ch.skip[path] = 2
                else:
                    a[0] = 0.5 * a[0] + 0.5 * rr / mag
                    a[1] = 0.5 * a[1] + 0.5 * ri / mag
        if tone:
            ch.run[path] += 1
        else:
            ch.run[path] = 0
            ch.rev[path] = 0
            ch.skip[path] = 0
            a[0] = 0.0
            a[1] = 0.0
        p[2] = p[0]
        p[3] = p[1]
        p[0] = re
        p[1] = im
        if ch.run[path] >= TONE_MIN_BLOCKS and ch.rev[path] > 0 and not ch.disabled:
            ch.disabled = True
    if ch.disabled:
        ch.quiet = 0 if loud else ch.quiet + 1
        if ch.quiet >= RELEASE_BLOCKS:
            ch.disabled = False
            ch.quiet = 0


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _run(ec_chan_t *ch, const int16_t *d, const int16_t *x, int16_t *out, Py_ssize_t count,
               long long pos, bint nlp, bint cng, bint tone_dis) noexcept nogil:
    cdef Py_ssize_t i
    cdef int j, n = ch.n, hp, k
    cdef double xv, dv, ax, xmax, y, e, g, o, m
    cdef double *win
    cdef double *w = ch.w
    cdef bint far, dt
    cdef long long p
    for i in range(count):
        xv = x[i]
        dv = d[i]
        _push(ch, xv)
        hp = ch.hp - 1
        win = &ch.hist[hp - n + 1]
        ax = fabs(xv)
        if ax > ch.bmax[ch.bpos]:
            ch.bmax[ch.bpos] = ax
        xmax = ch.xmax_done if ch.xmax_done > ch.bmax[ch.bpos] else ch.bmax[ch.bpos]
        y = eck_dot(w, win, n)
        e = dv - y
        ch.ds += (dv * dv - ch.ds) * A_SHORT
        ch.es += (e * e - ch.es) * A_SHORT
        ch.ys += (y * y - ch.ys) * A_SHORT
        far = ch.xpow >= FAR_POWER * n
        if fabs(dv) > GEIGEL * xmax and (ch.dl <= CONVERGED * ch.el or ch.es > DT_RES * ch.ys):
            ch.hang = DT_HANG
            ch.dt_seen = True
        elif ch.hang > 0:
            ch.hang -= 1
        dt = ch.hang > 0
        if far and not dt and not ch.disabled:
            g = MU * e / (ch.xpow + DELTA_PER_TAP * n)
            eck_update(w, win, g, n)
        if far:
            ch.dl += (dv * dv - ch.dl) * A_LONG
            ch.el += (e * e - ch.el) * A_LONG
            if ch.es > 2.0 * ch.ds and not ch.disabled:
                ch.diverge += 1
                if ch.diverge >= DIVERGE:
                    memcpy(w, ch.wb, n * sizeof(double))
                    ch.diverge = 0
            else:
                ch.diverge = 0
        if ch.disabled:
            o = dv
        elif nlp and far and not dt and ch.dl > CONVERGED * ch.el and ch.es < NLP_RES * ch.ys:
            if cng:
                ch.seed = ch.seed * LCG_A + LCG_C
                o = ((<double> ((ch.seed >> 16) & 0x7FFF)) / 16384.0 - 1.0) * ch.cn_amp
            else:
                o = 0.0
        else:
            o = e
        if not far:
            if ch.es < ch.noise:
                ch.noise = ch.es if ch.es > NOISE_FLOOR else NOISE_FLOOR
            else:
                ch.noise += (ch.es - ch.noise) * NOISE_UP
        # round half to even, as Python's round()
        m = floor(o + 0.5)
        if m - o == 0.5 and (<long long> m) % 2 != 0:
            m -= 1.0
        out[i] = <int16_t> (32767.0 if m > 32767.0 else (-32768.0 if m < -32768.0 else m))
        p = pos + i + 1
        if p % SUB == 0:
            ch.bpos = (ch.bpos + 1) % NBLK
            ch.bmax[ch.bpos] = 0.0
            m = 0.0
            for j in range(NBLK):
                if ch.bmax[j] > m:
                    m = ch.bmax[j]
            ch.xmax_done = m
            ch.cn_amp = sqrt(3.0 * ch.noise)
        ch.since_ck += 1
        if ch.since_ck >= CHECKPOINT:
            if not ch.dt_seen and ch.dl > 4.0 * ch.el:
                memcpy(ch.wb, w, n * sizeof(double))
            ch.since_ck = 0
            ch.dt_seen = False
        if tone_dis:
            k = <int> ((pos + i) % TONE_BLOCK)
            ch.tre[0] += xv * TONE_COS[k]
            ch.tim[0] += xv * TONE_SIN[k]
            ch.ten[0] += xv * xv
            ch.tre[1] += dv * TONE_COS[k]
            ch.tim[1] += dv * TONE_SIN[k]
            ch.ten[1] += dv * dv
            if k == TONE_BLOCK - 1:
                _tone_block(ch)


cdef class EchoCanceller:
    """G.168 line echo canceller over ``channels`` channels (see ``echo_py``)."""

    cdef readonly int channels
    cdef readonly int rate
    cdef readonly bint nlp
    cdef readonly bint comfort_noise
    cdef readonly bint tone_disabler
    cdef readonly long long pos
    cdef ec_chan_t *ch
    cdef bint busy

    def __cinit__(self, *args, **kwargs):
        self.ch = NULL
        self.busy = False

    def __init__(self, channels: int, tail_ms: int = DEFAULT_TAIL_MS, rate: int = RATE, *,
                 nlp: bool = True, comfort_noise: bool = True, tone_disabler: bool = True) -> None:
        if self.busy:
            raise RuntimeError("EchoCanceller is being used by another thread")
        self.channels = _py.check_channels(channels)
        if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or int(rate) != RATE:
            raise ValueError(f"the echo canceller runs at {RATE} Hz only, got rate={rate!r}")
        self.rate = RATE
        cdef int tail = check_tail(tail_ms)
        self.nlp = bool(nlp)
        self.comfort_noise = bool(comfort_noise)
        self.tone_disabler = bool(tone_disabler)
        self.pos = 0
        free(self.ch)
        self.ch = <ec_chan_t *> calloc(self.channels, sizeof(ec_chan_t))
        if self.ch == NULL:
            raise MemoryError()
        cdef int c
        for c in range(self.channels):
            self.ch[c].enabled = True
            _chan_reset(&self.ch[c], c, tail)

    def __dealloc__(self):
        free(self.ch)

    cdef int _channel_arg(self, object channel) except -1:
        if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)):
            raise TypeError(f"channel must be an int, got {type(channel).__name__}")
        if not 0 <= channel < self.channels:
            raise ValueError(f"channel {channel} out of range 0..{self.channels - 1}")
        if self.busy:
            raise RuntimeError("EchoCanceller is being used by another thread")
        return int(channel)

    def set_tail(self, channel: int, tail_ms: int) -> None:
        """Change one channel's tail (1..128 ms); the coefficients of the common lags are kept."""
        cdef int c = self._channel_arg(channel)
        cdef int n = check_tail(tail_ms) * 8
        cdef ec_chan_t *ch = &self.ch[c]
        cdef int m = n if n < ch.n else ch.n
        cdef double tmp[NMAX]
        cdef double tmpb[NMAX]
        cdef int j
        memset(tmp, 0, sizeof(tmp))
        memset(tmpb, 0, sizeof(tmpb))
        memcpy(&tmp[n - m], &ch.w[ch.n - m], m * sizeof(double))
        memcpy(&tmpb[n - m], &ch.wb[ch.n - m], m * sizeof(double))
        memcpy(ch.w, tmp, NMAX * sizeof(double))
        memcpy(ch.wb, tmpb, NMAX * sizeof(double))
        ch.n = n
        ch.xpow = 0.0
        for j in range(ch.hp - n, ch.hp):
            ch.xpow += ch.hist[j] * ch.hist[j]
        ch.hang = 0

    def enable(self, channel: int, on: bool = True) -> None:
        """Turn one channel's canceller on or off (off: ``sin`` passes unchanged, no adaptation)."""
        self.ch[self._channel_arg(channel)].enabled = bool(on)

    def reset(self, channel: int | None = None) -> None:
        """Forget what one channel (or every channel) has learnt (a new call)."""
        cdef int c
        chans = range(self.channels) if channel is None else [self._channel_arg(channel)]
        for c in chans:
            _chan_reset(&self.ch[c], c, self.ch[c].n // 8)

    def stats(self, channel: int) -> EchoStats:
        cdef ec_chan_t *ch = &self.ch[self._channel_arg(channel)]
        import math
        erle = 10.0 * math.log10((ch.dl + 1e-3) / (ch.el + 1e-3))
        return EchoStats(bool(ch.enabled), ch.n // 8, erle, bool(ch.dl > CONVERGED * ch.el),
                         bool(ch.hang > 0), bool(ch.disabled))

    def process(self, sin: object, rin: object) -> np.ndarray:
        """Cancel the echo of ``rin`` in ``sin`` (both int16, (channels, n)); int16 ``sout``."""
        if self.busy:
            raise RuntimeError("EchoCanceller is being used by another thread")
        d = _py.as_channels(sin, self.channels)
        x = _py.as_channels(rin, self.channels)
        if d.shape != x.shape:
            raise ValueError(f"sin and rin must have the same shape, got {d.shape} and {x.shape}")
        out = np.empty_like(d)
        cdef const int16_t[:, ::1] dv = d
        cdef const int16_t[:, ::1] xv = x
        cdef int16_t[:, ::1] ov = out
        cdef Py_ssize_t n = dv.shape[1], c, i
        cdef bint nlp = self.nlp, cng = self.comfort_noise, tone = self.tone_disabler
        if n == 0:
            return out
        self.busy = True
        try:
            with nogil:
                for c in range(self.channels):
                    if self.ch[c].enabled:
                        _run(&self.ch[c], &dv[c, 0], &xv[c, 0], &ov[c, 0], n, self.pos, nlp, cng, tone)
                    else:
                        memcpy(&ov[c, 0], &dv[c, 0], n * sizeof(int16_t))
                        for i in range(n):
                            _push(&self.ch[c], xv[c, i])
        finally:
            self.busy = False
        self.pos += n
        return out
