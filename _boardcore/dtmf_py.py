"""DTMF (ITU-T Q.23 / Q.24) detector and generator: the pure-Python twin of ``dtmf_c``.

Algorithm (both implementations, same figures):

* Each channel is cut into 10 ms sub-blocks (``SUB`` = 80 samples). Per sub-block the
  kernel correlates the samples with the eight DTMF frequencies (a one-bin DFT, bins
  100 Hz wide) and sums the energy. ``p_k = 2 |X_k|^2 / SUB`` is the energy a steady tone
  at ``f_k`` puts in the sub-block, so ``p_k / energy`` is the share of the sub-block that
  tone explains; a tone that covers only part of a sub-block explains only that part,
  which is what rejects short bursts.
* A sub-block is *good* for digit (low ``kl``, high ``kh``: the strongest of each group) when
  - level: both tones at or above ``LEVEL_ON_DBM0`` (Q.24: operate down to -26 dBm0/tone;
    we accept down to -36 dBm0, as spandsp does);
  - twist: high tone at most ``TWIST_NORMAL_DB`` below and ``TWIST_REVERSE_DB`` above the
    low tone (Q.24 Annex A: accept 8 dB normal, 4 dB reverse, plus the measuring margin),
    measured on this and the previous sub-block together (the strong tone's leakage beats
    against the weak one: one sub-block alone swings by +/-2 dB);
  - energy ratio: the two tones carry at least ``RATIO_ON`` of the sub-block energy
    (harmonics, a third tone, speech formants and noise all lower it);
  - relative peak: every other frequency of each group at least ``OTHER_DB`` below the
    chosen one (two tones in one group are not a digit);
  - harmonic neighbours: a voice whose harmonics n and n+1 fall on a digit's two tones
    also has harmonics n-1 and n+2, at ``2 f_low - f_high`` and ``2 f_high - f_low``; a
    Hann-windowed DFT there (sidelobes far below the tones' own leakage) must stay
    ``NEIGHBOUR_DB`` below the two tones (a keypad puts nothing there);
  - frequency: the phase advance of each tone over the last ``STEPS`` sub-block steps (the
    sum of the rotation vectors, which averages out the beat of the other tone's leakage)
    gives its frequency; both within ``FREQ_TOL`` (accept +/-1.5 %, reject +/-3.5 %, Q.24).
    That advance is only known modulo one turn (+/-50 Hz); the advance between the two
    halves of each sub-block (+/-100 Hz, coarser) picks the turn, so a tone 3.5-6 % off
    never aliases into the accepted band.
    The first sub-block of a tone has no such evidence (the steps before it carry less than
    ``WEAK`` of its power: silence or noise) and is not judged on it; the two after it are.
* ``ON_SUBS`` consecutive good sub-blocks of one digit start it (>= 25 ms of tone: a 40 ms
  tone always starts, 23 ms never does). A digit holds while its two tones stay above
  the looser hold figures; ``OFF_SUBS`` failing sub-blocks in a row stop it (a 10 ms
  interruption never does, a 40 ms pause always does). Event times are the start of the
  first good sub-block and of the first failing one (10 ms resolution).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, cast

import numpy as np

from ._blocks import as_channels, check_channel_list, check_channels
from ._blocks import check_now as _check_now

__all__ = ["DtmfDetector", "DtmfGenerator", "DigitEvent", "detect", "DIGITS", "LOW_HZ", "HIGH_HZ",
           "DBM0_PEAK", "digit_pair"]

RATE = 8000
SUB = 80                     #: samples per sub-block (10 ms)
LOW_HZ: tuple[float, ...] = (697.0, 770.0, 852.0, 941.0)        # Q.23 low group
HIGH_HZ: tuple[float, ...] = (1209.0, 1336.0, 1477.0, 1633.0)   # Q.23 high group
#: Keys row by row (low group index) and column by column (high group index), Q.23 Fig. 1.
DIGITS = "123A456B789C*0#D"

#: Peak of a 0 dBm0 sine in 16-bit linear PCM (A-law overload at +3.14 dBm0, G.711).
DBM0_PEAK: float = 22812.0
DBM0_POWER: float = DBM0_PEAK * DBM0_PEAK / 2.0

# Decision figures (one source of truth: the compiled kernel reads them from here).
#: per tone, to start (Q.24: operate to -26, not at -55 dBm0; spandsp accepts to about
#: -36, and so do we: a -36 dBm0 tone measures down to -39.5 with 1.5 % offset and
#: leakage, A-law. Talk-off stays nil with the corpus 0, 12 and 24 dB quieter: the ratio,
#: neighbour and frequency tests reject speech, not the level)
LEVEL_ON_DBM0 = -40.0
LEVEL_HOLD_DBM0 = -46.0      #: per tone, to hold a digit that is on
TWIST_NORMAL_DB = 10.0       #: high tone below low tone (accept 8 dB, Q.24 Annex A)
TWIST_REVERSE_DB = 6.0       #: high tone above low tone (accept 4 dB)
TWIST_HOLD_EXTRA_DB = 3.0    #: extra twist allowed while holding
RATIO_ON = 0.75              #: share of the sub-block energy in the two tones, to start
RATIO_HOLD = 0.5             #: ... to hold
OTHER_DB = 3.0               #: other tones of a group at least this far below the chosen one
NEIGHBOUR_DB = 16.0          #: harmonic neighbours at least this far below the tones
FREQ_TOL = 0.025             #: relative frequency error accepted (accept 1.5 %, reject 3.5 %)
WEAK = 0.25                  #: rotation evidence below this share of the tone power is no evidence
STEPS = 3                    #: phase advance vectors summed for the frequency estimate
ON_SUBS = 3                  #: good sub-blocks in a row to start a digit (Q.24: 40 ms on)
OFF_SUBS = 3                 #: failing sub-blocks in a row to stop it (10 ms break bridged)


def _db(x: float) -> float:
    return 10.0 ** (x / 10.0)


LEVEL_ON_E = DBM0_POWER * _db(LEVEL_ON_DBM0) * SUB          # tone energy per sub-block
LEVEL_HOLD_E = DBM0_POWER * _db(LEVEL_HOLD_DBM0) * SUB
TWIST_LO = _db(-TWIST_NORMAL_DB)                            # p_high >= p_low * TWIST_LO
TWIST_HI = _db(TWIST_REVERSE_DB)                            # p_high <= p_low * TWIST_HI
TWIST_HOLD_LO = _db(-TWIST_NORMAL_DB - TWIST_HOLD_EXTRA_DB)
TWIST_HOLD_HI = _db(TWIST_REVERSE_DB + TWIST_HOLD_EXTRA_DB)
OTHER = _db(-OTHER_DB)
NEIGHBOUR = _db(-NEIGHBOUR_DB)
FREQS = np.array(LOW_HZ + HIGH_HZ, dtype=np.float64)
#: cos of the largest phase advance error accepted between sub-blocks, per frequency.
COS_TOL = np.cos(np.minimum(2.0 * np.pi * FREQ_TOL * FREQS * SUB / RATE, np.pi))
#: largest phase advance error (radians per sub-block) accepted, per frequency.
TOL_RAD = 2.0 * np.pi * FREQ_TOL * FREQS * SUB / RATE
HALF = SUB // 2
PE_NORM = 2.0 / SUB


@dataclass(frozen=True, slots=True)
class DigitEvent:
    """A digit starting (``kind="start"``) or ending (``"stop"``) on ``channel`` at ``time`` s."""

    channel: int
    digit: str
    kind: Literal["start", "stop"]
    time: float


def digit_pair(digit: str) -> tuple[float, float]:
    """(low Hz, high Hz) of ``digit`` ('0'-'9', '*', '#', 'A'-'D'; Q.23)."""
    if not isinstance(digit, str) or len(digit) != 1 or digit.upper() not in DIGITS:
        raise ValueError(f"not a DTMF digit: {digit!r} (expected one of {DIGITS})")
    i = DIGITS.index(digit.upper())
    return LOW_HZ[i // 4], HIGH_HZ[i % 4]


# --- argument checks (shared with the compiled kernel) ----------------------------------

def check_rate(rate: object) -> int:
    """Only 8000 Hz is supported (G.711 channels); anything else is a ValueError."""
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)):
        raise TypeError(f"rate must be an int, got {type(rate).__name__}")
    if int(rate) != RATE:
        raise ValueError(f"DTMF kernel runs at {RATE} Hz only, got rate={rate} (resample first)")
    return RATE


def check_now(now: object) -> float:
    """``now`` as a float; a bool is refused too (TypeError)."""
    if isinstance(now, bool):
        raise TypeError("now must be a number, got bool")
    return _check_now(now)


def _kernel() -> np.ndarray:
    m = np.arange(SUB, dtype=np.float64)
    return np.exp(-1j * np.outer(m, 2.0 * np.pi * FREQS / RATE))          # (SUB, 8)


_KERNEL = _kernel()


def _neighbour_kernel() -> np.ndarray:
    """(16, SUB, 4) Hann-windowed DFT rows per digit: f_low, f_high, 2 f_low - f_high, 2 f_high - f_low."""
    m = np.arange(SUB, dtype=np.float64)
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * (m + 0.5) / SUB)
    out = np.zeros((16, SUB, 4), dtype=np.complex128)
    for d in range(16):
        lo, hi = LOW_HZ[d // 4], HIGH_HZ[d % 4]
        f = np.array([lo, hi, abs(2 * lo - hi), 2 * hi - lo])
        out[d] = hann[:, None] * np.exp(-1j * np.outer(m, 2.0 * np.pi * f / RATE))
    return out


_NKERNEL = _neighbour_kernel()
_ROT = np.exp(-1j * 2.0 * np.pi * FREQS * SUB / RATE)                    # nominal advance


class DtmfDetector:
    """DTMF receiver for ``channels`` channels with per-channel state (Q.24)."""

    def __init__(self, channels: int, rate: int = 8000) -> None:
        self.channels = check_channels(channels)
        self.rate = check_rate(rate)
        self._carry = np.zeros((self.channels, 0), dtype=np.int16)
        self._prev = np.zeros((self.channels, 8), dtype=np.complex128)
        self._rprev = np.zeros((self.channels, STEPS - 1, 8), dtype=np.complex128)
        self._pprev = np.zeros((self.channels, 8), dtype=np.float64)
        self._hprev = np.zeros((self.channels, STEPS - 1, 8), dtype=np.complex128)
        self._on = [-1] * self.channels          # digit index on, or -1
        self._cand = [-1] * self.channels        # digit of the current run of good sub-blocks
        self._run = [0] * self.channels
        self._run_t = [0.0] * self.channels
        self._miss = [0] * self.channels
        self._miss_t = [0.0] * self.channels
        self._feeds = 0                          # calls that fed samples
        self._fed = np.zeros(self.channels, dtype=np.int64)   # _feeds when each channel was last fed

    def reset(self, channel: int | None = None) -> None:
        """Forget the history of one channel (or all); no event is reported for it."""
        if channel is None:
            chans: range | list[int] = range(self.channels)
        else:
            if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)):
                raise TypeError(f"channel must be an int, got {type(channel).__name__}")
            if not 0 <= int(channel) < self.channels:
                raise ValueError(f"channel {channel} out of range 0..{self.channels - 1}")
            chans = [int(channel)]
        carry = self._carry.copy()
        for c in chans:
            carry[c] = 0
            self._prev[c] = 0
            self._rprev[c] = 0
            self._pprev[c] = 0
            self._hprev[c] = 0
            self._on[c] = self._cand[c] = -1
            self._run[c] = self._miss[c] = 0
            self._run_t[c] = self._miss_t[c] = 0.0
            self._fed[c] = self._feeds
        self._carry = carry

    def process_channels(self, samples: object, now: float, channels: object) -> list[DigitEvent]:
        """Feed a block of some channels only: ``samples`` (len(channels), n), row i is
        channel ``channels[i]``; events carry the detector's channel numbers, in time order.

        The batch entry point (one call for all the busy timeslots of all spans). A channel
        left out of a call is idle: when it is fed again its history is forgotten (as
        ``reset``), and no event is reported for the gap."""
        idx = check_channel_list(channels, self.channels)
        x = as_channels(samples, len(idx))
        now = check_now(now)
        if x.shape[1] == 0 or idx.size == 0:
            return []
        for c in idx[self._fed[idx] != self._feeds].tolist():
            self.reset(c)
        chans = idx.tolist()
        sub = DtmfDetector(len(chans), self.rate)
        sub._carry = self._carry[idx]
        sub._prev, sub._rprev = self._prev[idx], self._rprev[idx]
        sub._pprev, sub._hprev = self._pprev[idx], self._hprev[idx]
        for name in ("_on", "_cand", "_run", "_run_t", "_miss", "_miss_t"):
            mine = getattr(self, name)
            setattr(sub, name, [mine[c] for c in chans])
        events = sub.process(x, now)
        carry = np.zeros((self.channels, sub._carry.shape[1]), dtype=np.int16)
        carry[idx] = sub._carry          # the others are idle: reset when fed again
        self._carry = carry
        self._prev[idx], self._rprev[idx] = sub._prev, sub._rprev
        self._pprev[idx], self._hprev[idx] = sub._pprev, sub._hprev
        for name in ("_on", "_cand", "_run", "_run_t", "_miss", "_miss_t"):
            mine, theirs = getattr(self, name), getattr(sub, name)
            for i, c in enumerate(chans):
                mine[c] = theirs[i]
        self._feeds += 1
        self._fed[idx] = self._feeds
        out = [DigitEvent(chans[e.channel], e.digit, e.kind, e.time) for e in events]
        out.sort(key=lambda e: (e.time, e.channel))
        return out

    def process(self, samples: object, now: float) -> list[DigitEvent]:
        """Feed a block (channels, n) whose first sample is at ``now`` s; digit events, in time order."""
        x = as_channels(samples, self.channels)
        now = check_now(now)
        if x.shape[1]:
            self._feeds += 1
            self._fed[:] = self._feeds
        carried = self._carry.shape[1]
        data = np.concatenate([self._carry, x], axis=1) if carried else x
        nsub = data.shape[1] // SUB
        self._carry = data[:, nsub * SUB:].copy()
        if nsub == 0:
            return []
        blocks = data[:, :nsub * SUB].astype(np.float64).reshape(self.channels, nsub, SUB)
        first = blocks[..., :HALF] @ _KERNEL[:HALF]               # (C, S, 8) each half
        second = blocks[..., HALF:] @ _KERNEL[HALF:]
        X = first + second
        half = second * np.conj(first)                              # advance over half a sub-block
        hh = np.concatenate([self._hprev, half], axis=1)
        hsum = cast(np.ndarray, sum(hh[:, i:i + nsub, :] for i in range(STEPS)))
        self._hprev = hh[:, -(STEPS - 1):, :].copy()
        energy = np.einsum("csm,csm->cs", blocks, blocks)
        p = (X.real ** 2 + X.imag ** 2) * PE_NORM
        prev = np.concatenate([self._prev[:, None, :], X[:, :-1, :]], axis=1)
        self._prev = X[:, -1, :].copy()
        rot = X * np.conj(prev) * _ROT                             # phase advance per step
        hist = np.concatenate([self._rprev, rot], axis=1)         # (C, STEPS-1+S, 8)
        rsum = cast(np.ndarray, sum(hist[:, i:i + nsub, :] for i in range(STEPS)))
        self._rprev = hist[:, -(STEPS - 1):, :].copy()
        p2 = p + np.concatenate([self._pprev[:, None, :], p[:, :-1, :]], axis=1)
        self._pprev = p[:, -1, :].copy()
        good, dig = _good(p, p2, energy, rsum, hsum)
        good &= _neighbours_quiet(blocks, dig, good)
        hold = _hold(p, energy)                                    # (C, S, 16)
        events: list[DigitEvent] = []
        t0 = now - carried / RATE
        for c in range(self.channels):
            self._run_channel(c, good[c], dig[c], hold[c], t0, events)
        events.sort(key=lambda e: e.time)
        return events

    def _run_channel(self, c: int, good: np.ndarray, dig: np.ndarray, hold: np.ndarray, t0: float,
                     events: list[DigitEvent]) -> None:
        on, cand, run, run_t = self._on[c], self._cand[c], self._run[c], self._run_t[c]
        miss, miss_t = self._miss[c], self._miss_t[c]
        for s in range(good.shape[0]):
            t = t0 + s * SUB / RATE
            if good[s]:
                d = int(dig[s])
                if d == cand:
                    run += 1
                else:
                    cand, run, run_t = d, 1, t
            else:
                cand, run = -1, 0
            if on < 0:
                if run >= ON_SUBS:
                    on, miss = cand, 0
                    events.append(DigitEvent(c, DIGITS[on], "start", run_t))
                continue
            if hold[s, on]:
                miss = 0
            else:
                if miss == 0:
                    miss_t = t
                miss += 1
            if cand >= 0 and cand != on and run >= ON_SUBS:
                events.append(DigitEvent(c, DIGITS[on], "stop", miss_t if miss else run_t))
                on, miss = cand, 0
                events.append(DigitEvent(c, DIGITS[on], "start", run_t))
            elif miss >= OFF_SUBS:
                events.append(DigitEvent(c, DIGITS[on], "stop", miss_t))
                on, miss = -1, 0
        self._on[c], self._cand[c], self._run[c], self._run_t[c] = on, cand, run, run_t
        self._miss[c], self._miss_t[c] = miss, miss_t


def _good(p: np.ndarray, p2: np.ndarray, energy: np.ndarray, rsum: np.ndarray,
          hsum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(good, digit index) per sub-block: the start checks of the module docstring."""
    pl, ph = p[..., :4], p[..., 4:]
    kl = np.argmax(pl, axis=-1)
    kh = np.argmax(ph, axis=-1)
    bl = np.take_along_axis(pl, kl[..., None], -1)[..., 0]
    bh = np.take_along_axis(ph, kh[..., None], -1)[..., 0]
    ok = (bl >= LEVEL_ON_E) & (bh >= LEVEL_ON_E)
    tl = np.take_along_axis(p2[..., :4], kl[..., None], -1)[..., 0]
    th = np.take_along_axis(p2[..., 4:], kh[..., None], -1)[..., 0]
    ok &= (th >= tl * TWIST_LO) & (th <= tl * TWIST_HI)
    ok &= (bl + bh) >= RATIO_ON * energy
    # relative peak: the other three of each group well below the chosen one
    others_l = np.where(np.arange(4) == kl[..., None], 0.0, pl).max(axis=-1)
    others_h = np.where(np.arange(4) == kh[..., None], 0.0, ph).max(axis=-1)
    ok &= (others_l <= bl * OTHER) & (others_h <= bh * OTHER)
    # frequency: phase advance over the last STEPS steps
    for k, off in ((kl, 0), (kh, 4)):
        idx = (k + off)[..., None]
        r = np.take_along_axis(rsum, idx, -1)[..., 0]
        mag = np.abs(r)
        weak = mag < WEAK * np.take_along_axis(p, idx, -1)[..., 0] / PE_NORM
        full = np.arctan2(r.imag, r.real)                           # modulo one turn
        h = np.take_along_axis(hsum, idx, -1)[..., 0]
        coarse = 2.0 * np.arctan2(h.imag, h.real)                   # half-block advance, doubled
        phase = full + 2.0 * np.pi * np.rint((coarse - full) / (2.0 * np.pi))
        ok &= weak | (np.abs(phase) <= TOL_RAD[idx[..., 0]])
    return ok, kl * 4 + kh


def _neighbours_quiet(blocks: np.ndarray, dig: np.ndarray, good: np.ndarray) -> np.ndarray:
    """Per sub-block: harmonic neighbours of the candidate digit at least NEIGHBOUR_DB down."""
    out = np.zeros(good.shape, dtype=bool)
    idx = np.nonzero(good)
    if idx[0].size == 0:
        return out
    y = np.einsum("nm,nmk->nk", blocks[idx], _NKERNEL[dig[idx]])        # (n, 4)
    q = y.real ** 2 + y.imag ** 2
    out[idx] = (q[:, 2] + q[:, 3]) <= NEIGHBOUR * (q[:, 0] + q[:, 1])
    return out


def _hold(p: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """Per sub-block and digit: do the digit's two tones still hold (looser figures)?"""
    pl = p[..., :4, None]
    ph = p[..., None, 4:]
    ok = (pl >= LEVEL_HOLD_E) & (ph >= LEVEL_HOLD_E)
    ok &= (ph >= pl * TWIST_HOLD_LO) & (ph <= pl * TWIST_HOLD_HI)
    ok &= (pl + ph) >= RATIO_HOLD * energy[..., None, None]
    return ok.reshape(ok.shape[:-2] + (16,))


# --- generator ----------------------------------------------------------------------------

def _check_float(name: str, value: object, lo: float, hi: float) -> float:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, got bool")
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}") from None
    if not (math.isfinite(v) and lo <= v <= hi):
        raise ValueError(f"{name} must be within {lo}..{hi}, got {value!r}")
    return v


class DtmfGenerator:
    """DTMF digits: low tone at ``level_dbm0``, high tone at ``level_dbm0 + twist_db`` (Q.23).

    Each digit is ``on_ms`` of its tone pair followed by ``off_ms`` of silence. ``low_dev`` /
    ``high_dev`` shift the two frequencies by a relative amount (tests of Q.24 tolerance).
    """

    def __init__(self, level_dbm0: float = -10.0, on_ms: float = 60, off_ms: float = 60,
                 twist_db: float = 0.0, rate: int = 8000, *, low_dev: float = 0.0,
                 high_dev: float = 0.0) -> None:
        self.rate = check_rate(rate)
        self.level_dbm0 = _check_float("level_dbm0", level_dbm0, -90.0, 3.0)
        self.on_ms = _check_float("on_ms", on_ms, 0.0, 60_000.0)
        self.off_ms = _check_float("off_ms", off_ms, 0.0, 60_000.0)
        self.twist_db = _check_float("twist_db", twist_db, -30.0, 30.0)
        self.low_dev = _check_float("low_dev", low_dev, -0.2, 0.2)
        self.high_dev = _check_float("high_dev", high_dev, -0.2, 0.2)

    def pair(self, digit: str, n: int) -> np.ndarray:
        """``n`` samples of ``digit``'s tone pair (phase 0 at the first sample)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= int(n) <= 1 << 26:
            raise ValueError(f"n must be an int 0..{1 << 26}, got {n!r}")
        lo, hi = digit_pair(digit)
        t = np.arange(int(n), dtype=np.float64) / self.rate
        a_lo = DBM0_PEAK * 10.0 ** (self.level_dbm0 / 20.0)
        a_hi = DBM0_PEAK * 10.0 ** ((self.level_dbm0 + self.twist_db) / 20.0)
        x = (a_lo * np.sin(2.0 * np.pi * lo * (1.0 + self.low_dev) * t)
             + a_hi * np.sin(2.0 * np.pi * hi * (1.0 + self.high_dev) * t))
        return np.clip(np.rint(x), -32768, 32767).astype(np.int16)

    def generate(self, digits: str) -> np.ndarray:
        """The samples of ``digits``: each ``on_ms`` tone then ``off_ms`` silence."""
        if not isinstance(digits, str):
            raise TypeError(f"digits must be a str, got {type(digits).__name__}")
        for d in digits:
            digit_pair(d)
        n_on = round(self.on_ms * self.rate / 1000.0)
        n_off = round(self.off_ms * self.rate / 1000.0)
        parts = []
        for d in digits:
            parts.append(self.pair(d, n_on))
            parts.append(np.zeros(n_off, dtype=np.int16))
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)


def detect(samples: object, rate: int = 8000) -> str:
    """The digits in a 16-bit linear signal (int16 array or bytes), in order; fresh state."""
    check_rate(rate)
    x = as_channels(samples, 1)
    det = DtmfDetector(1)
    events = det.process(x, 0.0)
    events += det.process(np.zeros((1, SUB * (OFF_SUBS + 1)), np.int16), x.shape[1] / RATE)
    return "".join(e.digit for e in events if e.kind == "start")
