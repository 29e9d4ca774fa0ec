"""G.168 line echo canceller, per channel: the pure-Python twin of ``echo_c``.

An E1 voice board cancels, on each timeslot, the echo of what it sends (``rin``, the
canceller's receive-in in G.168 terms) that the far end's 2-wire hybrid returns in what it
receives (``sin``, send-in: the caller's voice plus that echo). Per channel and sample:

* **NLMS** adaptive FIR over the tail (``tail_ms``, 64 ms default, 128 ms maximum:
  8 taps per ms): ``y = w . x``, ``e = sin - y``, ``w += MU e x / (|x|^2 + DELTA)``.
  ``|x|^2`` over the tail is kept as an exact running sum of integer squares. Adaptation
  only while the far end talks (tail power >= ``FAR_DBM0``).
* **Double talk** (Geigel): ``|sin| > GEIGEL x max|rin|`` over the tail (ERL >= 6 dB,
  G.168's hybrid minimum, keeps echo under it) stops adaptation for ``DT_HANG`` samples.
  The tail maximum is kept per 1 ms sub-block (a 1 ms coarser window, 8x cheaper).
  Once converged, a hit counts only when the residual is within ``DT_RES_DB`` of the echo
  estimate (near-end speech is there; a rare echo peak over the bound is not).
* **Divergence guard**: every 200 ms without double talk and with the canceller above
  6 dB ERLE, the coefficients are saved; when the output stays 3 dB louder than the input
  for 50 ms while the far end talks (double talk the Geigel test missed), they come back.
* **Non-linear processor** (NLP): while the far end talks alone, the canceller has
  converged (long-term ERLE >= ``CONVERGED_DB``) and the residual is at least
  ``NLP_RES_DB`` below the echo estimate, the output is replaced by **comfort noise** at
  the level of the background (the residual's power while the far end is silent: falls
  at once, rises with a 250 ms time constant; held while the far end talks), white
  from a 32-bit LCG so both implementations give the same samples.
* **Tone disabler** (G.168 clause 7 / G.165): a 2100 Hz tone (+/-21 Hz, >= -36 dBm0) with
  phase reversals, on either path, disables cancellation and NLP (the output is ``sin``)
  until both paths stay below -36 dBm0 for 250 ms. A 2100 Hz tone without reversals (a
  G.164 echo-suppressor disabler, fax CED) does not. Phase is measured per 10 ms block
  (21 cycles of 2100 Hz: no drift at the nominal frequency) and compared two blocks apart
  against the tone's own measured advance, so the block holding the reversal is skipped.

Why hand-written (not libspeexdsp): one state machine per timeslot, in the span's own
20 ms block loop, with the G.168 parts (tone disabler, NLP and comfort noise we decide,
per-timeslot tail) and a twin; bench/bench_echo.py measures speexdsp's and spandsp's
cancellers on the same signals.

The twin sums the FIR with numpy (pairwise), the kernel sequentially: outputs may differ
by rounding (the tests compare ERLE and samples within a tolerance).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ._blocks import as_channels, check_channel, check_channels

__all__ = ["EchoCanceller", "EchoStats", "DEFAULT_TAIL_MS", "MAX_TAIL_MS", "RATE", "check_tail"]

RATE = 8000
TAPS_PER_MS = 8
DEFAULT_TAIL_MS = 64
MAX_TAIL_MS = 128
NMAX = MAX_TAIL_MS * TAPS_PER_MS
#: history buffer: the longest tail plus room to write before shifting it back
HIST = NMAX + 1024
SUB = 8                               #: 1 ms sub-block of the Geigel maximum and CN level
NBLK = NMAX // SUB + 1
TONE_BLOCK = 80                       #: 10 ms: 21 cycles of 2100 Hz
DBM0_POWER = 22812.0 * 22812.0 / 2.0  #: mean power of a 0 dBm0 sine (16-bit linear)

MU = 0.5
DELTA_PER_TAP = DBM0_POWER * 1e-5     #: NLMS regularisation: -50 dBm0 per tap
FAR_DBM0 = -45.0                      #: far end "talking": tail mean power at least this
GEIGEL = 0.5                          #: double talk when |sin| > 0.5 max|rin| (ERL 6 dB)
DT_HANG = 240                         #: 30 ms hangover after the last Geigel hit
DT_RES_DB = 12.0                      #: once converged, a hit counts only with a residual
#: within this of the echo estimate (noise-like far ends exceed the Geigel bound now and
#: then at 6 dB ERL: without this the NLP would let residual echo through)
A_SHORT = 1.0 / 64.0                  #: short-term power smoothing (8 ms)
A_LONG = 1.0 / 1024.0                 #: long-term (ERLE) smoothing (128 ms)
CONVERGED_DB = 10.0
NLP_RES_DB = 6.0
NOISE_UP = 1.0 / 2000.0               #: the noise estimate rises towards it in 250 ms
NOISE_FLOOR = DBM0_POWER * 1e-9       #: -90 dBm0, the comfort noise's starting level
CHECKPOINT = 1600                     #: 200 ms between saved coefficient sets
DIVERGE = 400                         #: 50 ms of output 3 dB louder than input
TONE_HZ = 2100.0
TONE_FRACTION = 0.7                   #: share of the block energy in the 2100 Hz bin
TONE_DBM0 = -36.0
TONE_MIN_BLOCKS = 30                  #: 300 ms of tone, with a reversal, to disable
RELEASE_BLOCKS = 25                   #: 250 ms below -36 dBm0 on both paths re-enables
REVERSAL_COS = -0.5                   #: 2-block phase error beyond 120 degrees
LCG_A = 1103515245
LCG_C = 12345

FAR_POWER = DBM0_POWER * 10.0 ** (FAR_DBM0 / 10.0)
CONVERGED = 10.0 ** (CONVERGED_DB / 10.0)
NLP_RES = 10.0 ** (-NLP_RES_DB / 10.0)
DT_RES = 10.0 ** (-DT_RES_DB / 10.0)
TONE_ENERGY = DBM0_POWER * 10.0 ** (TONE_DBM0 / 10.0) * TONE_BLOCK
_n = np.arange(TONE_BLOCK, dtype=np.float64)
TONE_COS = np.cos(2.0 * np.pi * TONE_HZ * _n / RATE)
TONE_SIN = -np.sin(2.0 * np.pi * TONE_HZ * _n / RATE)


class EchoStats(NamedTuple):
    """State of one channel's canceller."""

    enabled: bool
    tail_ms: int
    erle_db: float          #: long-term echo return loss enhancement while the far end talks
    converged: bool         #: erle_db >= CONVERGED_DB
    double_talk: bool
    disabled_by_tone: bool  #: 2100 Hz with phase reversals seen (G.168 tone disabler)


def check_tail(tail_ms: object) -> int:
    """``tail_ms`` as an int in 1..128 (ms); TypeError / ValueError otherwise."""
    if isinstance(tail_ms, bool) or not isinstance(tail_ms, (int, np.integer)):
        raise TypeError(f"tail_ms must be an int, got {type(tail_ms).__name__}")
    if not 1 <= int(tail_ms) <= MAX_TAIL_MS:
        raise ValueError(f"tail_ms must be 1..{MAX_TAIL_MS} ms, got {tail_ms}")
    return int(tail_ms)


class _Chan:
    """One channel's state (the compiled kernel keeps the same fields in a C struct)."""

    def __init__(self, c: int, tail_ms: int) -> None:
        self.index = c
        self.enabled = True
        self.reset(tail_ms)

    def reset(self, tail_ms: int) -> None:
        self.n = tail_ms * TAPS_PER_MS
        self.w = np.zeros(self.n)
        self.wb = np.zeros(self.n)
        self.hist = np.zeros(HIST)
        self.hp = NMAX
        self.xpow = 0.0
        self.bmax = np.zeros(NBLK)
        self.bpos = 0
        self.xmax_done = 0.0
        self.hang = 0
        self.ds = self.es = self.ys = 0.0
        self.dl = self.el = 0.0
        self.noise = NOISE_FLOOR
        self.cn_amp = math.sqrt(3.0 * NOISE_FLOOR)
        self.seed = (self.index * 2654435761 + 1) & 0xFFFFFFFF
        self.since_ck = 0
        self.dt_seen = False
        self.diverge = 0
        self.tre = [0.0, 0.0]          # 2100 Hz correlation, this block, per path (rin, sin)
        self.tim = [0.0, 0.0]
        self.ten = [0.0, 0.0]
        self.prev = [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]   # X(k-1), X(k-2): re, im
        self.adv = [[0.0, 0.0], [0.0, 0.0]]    # smoothed 2-block advance, per path
        self.run = [0, 0]                      # consecutive tone blocks, per path
        self.rev = [0, 0]                      # reversals seen in the current tone
        self.skip = [0, 0]                     # blocks to skip after a reversal
        self.disabled = False
        self.quiet = 0

    def set_tail(self, tail_ms: int) -> None:
        n = tail_ms * TAPS_PER_MS
        m = min(n, self.n)
        w = np.zeros(n)
        wb = np.zeros(n)
        w[n - m:] = self.w[self.n - m:]
        wb[n - m:] = self.wb[self.n - m:]
        self.w, self.wb, self.n = w, wb, n
        win = self.hist[self.hp - n:self.hp]
        self.xpow = float(np.sum(win * win))
        self.hang = 0


class EchoCanceller:
    """G.168 line echo canceller over ``channels`` channels (see the module docstring)."""

    def __init__(self, channels: int, tail_ms: int = DEFAULT_TAIL_MS, rate: int = RATE, *,
                 nlp: bool = True, comfort_noise: bool = True, tone_disabler: bool = True) -> None:
        self.channels = check_channels(channels)
        if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or int(rate) != RATE:
            raise ValueError(f"the echo canceller runs at {RATE} Hz only, got rate={rate!r}")
        self.rate = RATE
        tail = check_tail(tail_ms)
        self.nlp = bool(nlp)
        self.comfort_noise = bool(comfort_noise)
        self.tone_disabler = bool(tone_disabler)
        self.pos = 0                   # samples done (all channels advance together)
        self._ch = [_Chan(c, tail) for c in range(self.channels)]

    def _channel_arg(self, channel: object) -> int:
        return check_channel(channel, self.channels)

    def set_tail(self, channel: int, tail_ms: int) -> None:
        """Change one channel's tail (1..128 ms); the coefficients of the common lags are kept."""
        c = self._channel_arg(channel)
        self._ch[c].set_tail(check_tail(tail_ms))

    def enable(self, channel: int, on: bool = True) -> None:
        """Turn one channel's canceller on or off (off: ``sin`` passes unchanged, no adaptation)."""
        self._ch[self._channel_arg(channel)].enabled = bool(on)

    def reset(self, channel: int | None = None) -> None:
        """Forget what one channel (or every channel) has learnt (a new call)."""
        chans = range(self.channels) if channel is None else [self._channel_arg(channel)]
        for c in chans:
            ch = self._ch[c]
            ch.reset(ch.n // TAPS_PER_MS)

    def stats(self, channel: int) -> EchoStats:
        ch = self._ch[self._channel_arg(channel)]
        erle = 10.0 * math.log10((ch.dl + 1e-3) / (ch.el + 1e-3))
        return EchoStats(ch.enabled, ch.n // TAPS_PER_MS, erle, ch.dl > CONVERGED * ch.el,
                         ch.hang > 0, ch.disabled)

    def process(self, sin: object, rin: object) -> np.ndarray:
        """Cancel the echo of ``rin`` in ``sin`` (both int16, (channels, n)); int16 ``sout``."""
        d = as_channels(sin, self.channels)
        x = as_channels(rin, self.channels)
        if d.shape != x.shape:
            raise ValueError(f"sin and rin must have the same shape, got {d.shape} and {x.shape}")
        out = np.empty_like(d)
        n = d.shape[1]
        for c, ch in enumerate(self._ch):
            if not ch.enabled:
                out[c] = d[c]
                self._advance_history(ch, x[c])
                continue
            out[c] = self._run(ch, d[c].astype(np.float64).tolist(), x[c].astype(np.float64).tolist())
        self.pos += n
        return out

    def _advance_history(self, ch: _Chan, x: np.ndarray) -> None:
        """A disabled channel still records what it sent, so turning it on needs no warm-up."""
        for v in x.astype(np.float64).tolist():
            if ch.hp == HIST:
                ch.hist[:NMAX] = ch.hist[HIST - NMAX:]
                ch.hp = NMAX
            old = ch.hist[ch.hp - ch.n]
            ch.hist[ch.hp] = v
            ch.xpow += v * v - old * old
            ch.hp += 1

    def _run(self, ch: _Chan, d: list[float], x: list[float]) -> list[int]:
        out: list[int] = []
        n = ch.n
        hist = ch.hist
        pos = self.pos
        for i in range(len(d)):
            xv = x[i]
            dv = d[i]
            if ch.hp == HIST:
                hist[:NMAX] = hist[HIST - NMAX:]
                ch.hp = NMAX
            hp = ch.hp
            old = hist[hp - n]
            hist[hp] = xv
            ch.xpow += xv * xv - old * old
            ch.hp = hp + 1
            win = hist[hp - n + 1:hp + 1]
            # Geigel: max |rin| over the tail, per 1 ms sub-block
            ax = abs(xv)
            if ax > ch.bmax[ch.bpos]:
                ch.bmax[ch.bpos] = ax
            xmax = ch.xmax_done if ch.xmax_done > ch.bmax[ch.bpos] else ch.bmax[ch.bpos]
            # FIR and error
            y = float(np.dot(ch.w, win))
            e = dv - y
            ch.ds += (dv * dv - ch.ds) * A_SHORT
            ch.es += (e * e - ch.es) * A_SHORT
            ch.ys += (y * y - ch.ys) * A_SHORT
            far = ch.xpow >= FAR_POWER * n
            if abs(dv) > GEIGEL * xmax and (ch.dl <= CONVERGED * ch.el or ch.es > DT_RES * ch.ys):
                ch.hang = DT_HANG
                ch.dt_seen = True
            elif ch.hang > 0:
                ch.hang -= 1
            dt = ch.hang > 0
            if far and not dt and not ch.disabled:
                g = MU * e / (ch.xpow + DELTA_PER_TAP * n)
                ch.w += g * win
            if far:
                ch.dl += (dv * dv - ch.dl) * A_LONG
                ch.el += (e * e - ch.el) * A_LONG
                if ch.es > 2.0 * ch.ds and not ch.disabled:
                    ch.diverge += 1
                    if ch.diverge >= DIVERGE:
                        ch.w[:] = ch.wb
                        ch.diverge = 0
                else:
                    ch.diverge = 0
            # output: cancelled, comfort noise (NLP), or sin itself (tone disabler)
            if ch.disabled:
                o = dv
            elif self.nlp and far and not dt and ch.dl > CONVERGED * ch.el and ch.es < NLP_RES * ch.ys:
                if self.comfort_noise:
                    ch.seed = (ch.seed * LCG_A + LCG_C) & 0xFFFFFFFF
                    o = (((ch.seed >> 16) & 0x7FFF) / 16384.0 - 1.0) * ch.cn_amp
                else:
                    o = 0.0
            else:
                o = e
            if not far:                # the background, heard while the far end is silent
                if ch.es < ch.noise:
                    ch.noise = ch.es if ch.es > NOISE_FLOOR else NOISE_FLOOR
                else:
                    ch.noise += (ch.es - ch.noise) * NOISE_UP
            o = round(o)
            out.append(32767 if o > 32767 else (-32768 if o < -32768 else int(o)))
            # sub-block and checkpoint bookkeeping
            p = pos + i + 1
            if p % SUB == 0:
                ch.bpos = (ch.bpos + 1) % NBLK
                ch.bmax[ch.bpos] = 0.0
                ch.xmax_done = float(ch.bmax.max())
                ch.cn_amp = math.sqrt(3.0 * ch.noise)
            ch.since_ck += 1
            if ch.since_ck >= CHECKPOINT:
                if not ch.dt_seen and ch.dl > 4.0 * ch.el:
                    ch.wb[:] = ch.w
                ch.since_ck = 0
                ch.dt_seen = False
            if self.tone_disabler:
                k = (pos + i) % TONE_BLOCK
                self._tone_sample(ch, 0, xv, k)
                self._tone_sample(ch, 1, dv, k)
                if k == TONE_BLOCK - 1:
                    self._tone_block(ch)
        return out

    @staticmethod
    def _tone_sample(ch: _Chan, path: int, v: float, k: int) -> None:
        ch.tre[path] += v * TONE_COS[k]
        ch.tim[path] += v * TONE_SIN[k]
        ch.ten[path] += v * v

    def _tone_block(self, ch: _Chan) -> None:
        """End of a 10 ms block: the 2100 Hz tone and phase-reversal test on both paths."""
        loud = False
        for path in (0, 1):
            re, im, en = ch.tre[path], ch.tim[path], ch.ten[path]
            ch.tre[path] = ch.tim[path] = ch.ten[path] = 0.0
            if en >= TONE_ENERGY:
                loud = True
            tone = en >= TONE_ENERGY and 2.0 * (re * re + im * im) / TONE_BLOCK >= TONE_FRACTION * en
            p = ch.prev[path]
            if tone and ch.run[path] >= 2:
                # X(k) X*(k-2), against the tone's own 2-block advance
                rr = re * p[2] + im * p[3]
                ri = im * p[2] - re * p[3]
                mag = math.sqrt(rr * rr + ri * ri)
                a = ch.adv[path]
                if ch.skip[path] > 0:
                    ch.skip[path] -= 1
                elif mag > 0.0:
                    amag = math.sqrt(a[0] * a[0] + a[1] * a[1])
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
                ch.adv[path][0] = ch.adv[path][1] = 0.0
            p[2], p[3] = p[0], p[1]
            p[0], p[1] = re, im
            if ch.run[path] >= TONE_MIN_BLOCKS and ch.rev[path] > 0 and not ch.disabled:
                ch.disabled = True
        if ch.disabled:
            ch.quiet = 0 if loud else ch.quiet + 1
            if ch.quiet >= RELEASE_BLOCKS:
                ch.disabled = False
                ch.quiet = 0
