"""R2 / China No.1 MFC register tones: detector and generator (pure-Python twin of ``mf_c``).

Two-out-of-six multifrequency code of ITU-T Q.441 (China GF 001-9001 uses the same code
and frequencies, with only four backward frequencies).

Detector, per channel, over many channels per call:

* every 5 ms sub-block (40 samples) the complex correlation of the input with each of the
  6 (or 4) signalling frequencies is taken, phase-referenced to the stream so that the
  last four sub-blocks add up coherently into a 20 ms (160-sample) DFT window, sliding
  every 5 ms. At 160 samples the bins are 50 Hz apart, so the 120 Hz raster sits 2.4 bins
  apart (leakage below -18 dB) and a tone half way between two signalling frequencies
  falls near a null of both;
* a window is a *clean* two-out-of-six signal when the two strongest frequencies are above
  the level threshold, within the twist limit, well above the third, carry most of the
  window's energy (the pair-to-total test), and each keeps its phase against the 20 ms
  window before it (the coherence test: a tone more than about 13 Hz off its nominal
  frequency turns by more than ~95 degrees in 20 ms). The last two tests are what keep
  speech and music from operating: voiced speech often puts two harmonics near two
  signalling frequencies, but rarely within +/-13 Hz of both, steadily, for 50 ms;
* with ``frequencies=4`` (China backward) f4 and f5 are still measured, as guards: they
  can be the third frequency, but a pair using them is no signal;
* a signal is recognised after ``ON_WINDOWS`` consecutive clean windows (Q.441: bursts
  shorter than 7 ms must not operate) and released after ``OFF_WINDOWS`` consecutive
  windows in which it no longer holds (Q.441: interruptions up to 7 ms must not release);
  holding uses looser thresholds than recognising (hysteresis), plus a level of the pair
  relative to its own peak (``HOLD_DROP_DB``), which releases quickly after the signal ends
  (Q.441: operate + release time at most 80 ms) while a 7 ms gap costs under 4 dB.

Events carry the time of recognition: ``now`` (time of the first sample passed to
``process``) plus the offset of the end of the deciding sub-block.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._blocks import as_channels, check_channel, check_channel_list, check_channels, check_now

# --- the code (Q.441 Table 1; R2 / China No.1 MFC) -----------------------------------------

#: Forward frequencies f0..f5 (Hz), Q.441 clause 1.
FORWARD_HZ: tuple[int, ...] = (1380, 1500, 1620, 1740, 1860, 1980)
#: Backward frequencies f0..f5 (Hz), Q.441 clause 1; China uses f0..f3 only.
BACKWARD_HZ: tuple[int, ...] = (1140, 1020, 900, 780, 660, 540)
#: Signal n -> (index of first frequency, index of second), two out of six.
SIGNAL_PAIRS: dict[int, tuple[int, int]] = {
    j * (j - 1) // 2 + i + 1: (i, j) for j in range(1, 6) for i in range(j)
}
#: Characters for signals 1..15 (10 -> '0', 11..15 -> 'B'..'F'), as in spandsp/openr2.
SIGNAL_CHARS: str = "1234567890BCDEF"

#: Peak of a 0 dBm0 sine in 16-bit linear PCM (G.711: 3.14 dB below full scale).
DBM0_PEAK: float = 22812.0
#: Mean power of a 0 dBm0 sine.
DBM0_POWER: float = DBM0_PEAK * DBM0_PEAK / 2.0

RATE: int = 8000
#: Sub-block: the hop of the sliding window (5 ms).
SUB: int = 40
#: Window = WIN_SUBS sub-blocks (20 ms, 160 samples): bins 50 Hz apart.
WIN_SUBS: int = 4
WIN: int = SUB * WIN_SUBS
#: Sub-blocks kept per channel: the window and the window before it (coherence test).
RING: int = 2 * WIN_SUBS - 1
#: Period, in sub-blocks, of the phase reference: f*SUB/RATE is a multiple of 1/10 for
#: every signalling frequency (all are multiples of 60 Hz... and of 20 Hz suffices).
ROT_PERIOD: int = 10

# --- decision thresholds (chosen against the Q.441 clause 4 figures, see docs/mf.md) -----
#: Weaker tone of a clean pair must reach this level (Q.441: operate from -35 dBm0).
LEVEL_ON_DBM0: float = -39.0
#: ... and may drop to this while a recognised signal holds (a 7 ms gap costs the weaker
#: tone of a -35 dBm0, 10 Hz off pair up to 11 dB in the windows that span it).
LEVEL_HOLD_DBM0: float = -50.0
#: Stronger/weaker ratio of a clean pair (Q.441: accept 5 dB adjacent, 7 dB non-adjacent;
#: 20 dB must not operate; measured up to 8.8 dB on a 7 dB pair at +/-10 Hz).
TWIST_ON_DB: float = 10.0
TWIST_HOLD_DB: float = 14.0
#: Third-strongest frequency must be this far below the stronger and the weaker of the pair
#: (leakage of +/-10 Hz pairs reaches -11.9 dB below the stronger (equal levels, the
#: third between the two) and -7.4 dB below the weaker (7 dB twist); speech often fails it).
THIRD_STRONG_DB: float = 10.0
THIRD_WEAK_DB: float = 5.5
#: The pair must carry this share of the window energy (talk-off guard; a +/-10 Hz pair
#: keeps 0.71 or more of it in a 160-sample window, worst twist and offsets, A-law).
FRACTION_ON: float = 0.67
FRACTION_HOLD: float = 0.25
#: Phase coherence of each tone of the pair over 40 ms: |W + W'|^2 / 2(|W|^2 + |W'|^2) of
#: this window W and the one before W' (1 at the nominal frequency, 0.65 at 10 Hz off,
#: 0.5 at 12.5 Hz, 0.35 at 15 Hz; measured >= 0.436 at +/-10 Hz with leakage).
COHERENCE_ON: float = 0.36
#: A held signal's pair power (both tones) may drop this far below its peak since
#: recognition (a 7 ms gap costs the pair at most ~6 dB; the weaker tone alone, with a
#: level difference and 10 Hz offsets, ripples ~4 dB and lost up to 8.5 dB, which released
#: the signal; the tail of an ended signal falls below it 12 ms after the end).
HOLD_DROP_DB: float = 8.0
#: Consecutive clean windows (5 ms apart) to recognise a signal: operate in 41..51 ms
#: (speech that passed every test above did so for at most 5 windows in a row, over 74
#: minutes of espeak-ng speech in 14 languages and sox music).
ON_WINDOWS: int = 7
#: Consecutive failing windows to release it: release in 14..25 ms, so operate + release
#: stays under the 80 ms of Q.441 clause 4 (75 ms at most).
OFF_WINDOWS: int = 2


def _db(x: float) -> float:
    return float(10.0 ** (x / 10.0))


LEVEL_ON_POWER: float = DBM0_POWER * _db(LEVEL_ON_DBM0)
LEVEL_HOLD_POWER: float = DBM0_POWER * _db(LEVEL_HOLD_DBM0)
TWIST_ON: float = _db(TWIST_ON_DB)
TWIST_HOLD: float = _db(TWIST_HOLD_DB)
THIRD_STRONG: float = _db(-THIRD_STRONG_DB)
THIRD_WEAK: float = _db(-THIRD_WEAK_DB)
HOLD_DROP: float = _db(-HOLD_DROP_DB)


class MfEvent(NamedTuple):
    """A recognised signal (``signal`` 1..15) or the end of one (``signal`` 0)."""

    channel: int
    signal: int
    time: float


def signal_char(signal: int) -> str:
    """'1'..'9', '0' (signal 10), 'B'..'F' (11..15)."""
    if not 1 <= signal <= 15:
        raise ValueError(f"MF signal must be 1..15, got {signal!r}")
    return SIGNAL_CHARS[signal - 1]


def frequencies_of(forward: bool, frequencies: int = 6) -> tuple[int, ...]:
    """The frequency raster of a direction (6, or 4 for China backward)."""
    if isinstance(frequencies, bool) or not isinstance(frequencies, int) or frequencies not in (4, 6):
        raise ValueError(f"frequencies must be 4 or 6, got {frequencies!r}")
    return (FORWARD_HZ if forward else BACKWARD_HZ)[:frequencies]


def check_rate(rate: object) -> int:
    """Only 8000 Hz is supported (G.711 channels); anything else is a ValueError."""
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)):
        raise TypeError(f"rate must be an int, got {type(rate).__name__}")
    if int(rate) != RATE:
        raise ValueError(f"MF detector runs at {RATE} Hz only, got rate={rate}")
    return RATE


def _signal_table(nfreq: int) -> np.ndarray:
    table = np.zeros((6, 6), dtype=np.int64)
    for sig, (i, j) in SIGNAL_PAIRS.items():
        if j < nfreq:
            table[i, j] = table[j, i] = sig
    return table


class MfDetector:
    """Two-out-of-six MFC signal detector over ``channels`` channels (Q.441 clause 4)."""

    def __init__(self, channels: int, forward: bool = True, frequencies: int = 6, rate: int = 8000) -> None:
        self.channels = check_channels(channels)
        self.rate = check_rate(rate)
        self.forward = bool(forward)
        self.freqs = frequencies_of(self.forward, frequencies)
        # All six frequencies are measured; with four (China backward) f4 and f5 only guard:
        # they count as the "third" frequency but pairs using them are no signal.
        nf = 6
        w = 2.0 * np.pi * np.asarray(frequencies_of(self.forward, 6), dtype=np.float64) / RATE
        m = np.arange(SUB, dtype=np.float64)
        self._kernel = np.exp(-1j * np.outer(m, w))                      # (SUB, nf)
        g = np.arange(ROT_PERIOD, dtype=np.float64)
        self._rot = np.exp(-1j * np.outer(g, w * SUB))                   # (10, nf)
        self._sig = _signal_table(len(self.freqs))
        self._norm = 2.0 / (WIN * WIN)
        self._pos = 0                                                    # sub-blocks done
        self._carry = np.zeros((self.channels, 0), dtype=np.int16)
        self._ring = np.zeros((self.channels, RING, nf), dtype=np.complex128)
        self._ering = np.zeros((self.channels, RING), dtype=np.float64)
        self._ref = [0.0] * self.channels                                # peak level held
        self._cur = [0] * self.channels
        self._cand = [0] * self.channels
        self._cand_n = [0] * self.channels
        self._miss = [0] * self.channels
        self._feeds = 0                                                  # calls that fed samples
        self._fed = np.zeros(self.channels, dtype=np.int64)              # _feeds at each channel's last feed

    def reset(self, channel: int | None = None) -> None:
        """Forget the history of one channel (or all): no event is reported for it."""
        chans = range(self.channels) if channel is None else [self._channel_arg(channel)]
        for c in chans:
            self._ring[c] = 0
            self._ering[c] = 0
            self._carry[c] = 0
            self._cur[c] = self._cand[c] = self._cand_n[c] = self._miss[c] = 0
            self._ref[c] = 0.0
            self._fed[c] = self._feeds

    def current(self, channel: int) -> int:
        """The signal now recognised on ``channel`` (0 when none)."""
        return self._cur[self._channel_arg(channel)]

    def _channel_arg(self, channel: object) -> int:
        return check_channel(channel, self.channels)

    def process(self, samples: object, now: float) -> list[MfEvent]:
        """Feed ``n`` samples per channel; events recognised in them, by time then channel."""
        x = as_channels(samples, self.channels)
        t0 = check_now(now)
        n = x.shape[1]
        if n == 0:
            return []
        self._feeds += 1
        self._fed[:] = self._feeds
        p = self._carry.shape[1]
        data = np.concatenate((self._carry, x), axis=1) if p else x
        nsub = (p + n) // SUB
        self._carry = data[:, nsub * SUB:].copy()
        if nsub == 0:
            return []
        xs = data[:, : nsub * SUB].reshape(self.channels, nsub, SUB).astype(np.float64)
        z = xs @ self._kernel                                             # (C, S, nf)
        z *= self._rot[(self._pos + np.arange(nsub)) % ROT_PERIOD][None, :, :]
        e = np.einsum("csm,csm->cs", xs, xs)
        self._pos = (self._pos + nsub) % ROT_PERIOD
        zall = np.concatenate((self._ring, z), axis=1)
        eall = np.concatenate((self._ering, e), axis=1)
        self._ring = zall[:, -RING:].copy()
        self._ering = eall[:, -RING:].copy()
        # window s: sub-blocks s-3..s (zall[s+4..s+7]); the window before: zall[s..s+3]
        w0 = WIN_SUBS
        win, prev = zall[:, w0:w0 + nsub], zall[:, 0:nsub]
        ew = eall[:, w0:w0 + nsub]
        for k in range(1, WIN_SUBS):
            win = win + zall[:, w0 + k:w0 + k + nsub]
            prev = prev + zall[:, k:k + nsub]
            ew = ew + eall[:, w0 + k:w0 + k + nsub]
        wpow = win.real * win.real + win.imag * win.imag                 # (C, S, nf)
        both = win + prev
        coherent = (both.real * both.real + both.imag * both.imag
                    >= (2.0 * COHERENCE_ON) * (wpow + (prev.real * prev.real + prev.imag * prev.imag)))
        power = wpow * self._norm
        energy = ew * (1.0 / WIN)
        order = np.argsort(-power, axis=2, kind="stable")
        a, b, third = order[..., 0], order[..., 1], order[..., 2]
        pa = np.take_along_axis(power, a[..., None], 2)[..., 0]
        pb = np.take_along_axis(power, b[..., None], 2)[..., 0]
        p3 = np.take_along_axis(power, third[..., None], 2)[..., 0]
        pair = pa + pb
        sig = self._sig[a, b]
        coh_ab = (np.take_along_axis(coherent, a[..., None], 2)[..., 0]
                  & np.take_along_axis(coherent, b[..., None], 2)[..., 0])
        clean = ((sig > 0) & (pb >= LEVEL_ON_POWER) & (pa <= pb * TWIST_ON) & (p3 <= pb * THIRD_WEAK) & (p3 <= pa * THIRD_STRONG)
                 & (pair >= FRACTION_ON * energy) & coh_ab)
        holds = (pb >= LEVEL_HOLD_POWER) & (pa <= pb * TWIST_HOLD) & (pair >= FRACTION_HOLD * energy)
        strict = np.where(clean, sig, 0)
        held_sig = np.where(holds, sig, 0)
        busy = clean.any(axis=1)
        events: list[MfEvent] = []
        step = 1.0 / RATE
        for c in range(self.channels):
            if not busy[c] and not self._cur[c] and not self._cand[c]:
                continue
            events.extend(self._run(c, strict[c].tolist(), held_sig[c].tolist(), pair[c].tolist(), t0, p, step))
        if len(events) > 1:
            events.sort(key=lambda ev: (ev.time, ev.channel))
        return events

    def process_channels(self, samples: object, now: float, channels: object) -> list[MfEvent]:
        """Feed a block of some channels only: ``samples`` (len(channels), n), row i is
        channel ``channels[i]``; events carry the detector's channel numbers, by time then
        channel.

        The batch entry point (one call for the channels of all spans in a register phase).
        A channel left out of a call is idle: when it is fed again its history is forgotten
        (as ``reset``), and no event is reported for the gap."""
        idx = check_channel_list(channels, self.channels)
        x = as_channels(samples, len(idx))
        t0 = check_now(now)
        if x.shape[1] == 0 or idx.size == 0:
            return []
        for c in idx[self._fed[idx] != self._feeds].tolist():
            self.reset(c)
        chans = idx.tolist()
        sub = MfDetector(len(chans), forward=self.forward, frequencies=len(self.freqs), rate=self.rate)
        sub._pos = self._pos
        sub._carry, sub._ring, sub._ering = self._carry[idx], self._ring[idx], self._ering[idx]
        for name in ("_ref", "_cur", "_cand", "_cand_n", "_miss"):
            mine = getattr(self, name)
            setattr(sub, name, [mine[c] for c in chans])
        events = sub.process(x, t0)
        self._pos = sub._pos
        carry = np.zeros((self.channels, sub._carry.shape[1]), dtype=np.int16)
        carry[idx] = sub._carry            # the others are idle: reset when fed again
        self._carry = carry
        self._ring[idx], self._ering[idx] = sub._ring, sub._ering
        for name in ("_ref", "_cur", "_cand", "_cand_n", "_miss"):
            mine, theirs = getattr(self, name), getattr(sub, name)
            for i, c in enumerate(chans):
                mine[c] = theirs[i]
        self._feeds += 1
        self._fed[idx] = self._feeds
        out = [MfEvent(chans[e.channel], e.signal, e.time) for e in events]
        out.sort(key=lambda ev: (ev.time, ev.channel))
        return out

    def _run(self, c: int, strict: list[int], held: list[int], pair: list[float], t0: float, p: int,
             step: float) -> list[MfEvent]:
        """The per-channel recognise/hold/release machine over this call's windows.

        ``pair``: power of the two strongest frequencies together, per window.
        """
        out: list[MfEvent] = []
        cur, cand, cand_n, miss, ref = self._cur[c], self._cand[c], self._cand_n[c], self._miss[c], self._ref[c]
        for s, sg in enumerate(strict):
            if sg and sg != cur:
                if sg == cand:
                    cand_n += 1
                else:
                    cand, cand_n = sg, 1
            else:
                cand, cand_n = 0, 0
            if cur:
                if held[s] == cur and pair[s] >= ref * HOLD_DROP:
                    miss = 0
                    if pair[s] > ref:
                        ref = pair[s]
                else:
                    miss += 1
            if cand_n >= ON_WINDOWS:
                t = t0 + ((s + 1) * SUB - p) * step
                if cur:
                    out.append(MfEvent(c, 0, t))
                out.append(MfEvent(c, cand, t))
                cur, cand, cand_n, miss, ref = cand, 0, 0, 0, pair[s]
            elif cur and miss >= OFF_WINDOWS:
                out.append(MfEvent(c, 0, t0 + ((s + 1) * SUB - p) * step))
                cur, miss, ref = 0, 0, 0.0
        self._cur[c], self._cand[c], self._cand_n[c], self._miss[c], self._ref[c] = cur, cand, cand_n, miss, ref
        return out


def check_level(level_dbm0: object) -> float:
    try:
        level = float(level_dbm0)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"level_dbm0 must be a number, got {type(level_dbm0).__name__}") from None
    if not -90.0 <= level <= 0.0:
        raise ValueError(f"level_dbm0 must be within -90..0 dBm0 per tone, got {level_dbm0!r}")
    return level


def check_signal(signal: object, frequencies: int = 6) -> int:
    if isinstance(signal, bool) or not isinstance(signal, (int, np.integer)):
        raise TypeError(f"signal must be an int 0..15, got {type(signal).__name__}")
    sig = int(signal)
    if not 0 <= sig <= 15:
        raise ValueError(f"MF signal must be 0..15, got {signal}")
    if sig and SIGNAL_PAIRS[sig][1] >= frequencies:
        raise ValueError(f"signal {sig} needs frequency f{SIGNAL_PAIRS[sig][1]}, only {frequencies} in use")
    return sig


def check_count(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if not 0 <= int(n) <= 1 << 26:
        raise ValueError(f"n must be 0..{1 << 26}, got {n}")
    return int(n)


class MfGenerator:
    """Phase-continuous two-out-of-six signal generator, ``level_dbm0`` per frequency (Q.454)."""

    def __init__(self, forward: bool = True, level_dbm0: float = -8.0, rate: int = 8000,
                 frequencies: int = 6) -> None:
        self.rate = check_rate(rate)
        self.forward = bool(forward)
        self.frequencies = frequencies
        self.freqs = frequencies_of(self.forward, frequencies)
        self.level_dbm0 = check_level(level_dbm0)
        self.amplitude = DBM0_PEAK * 10.0 ** (self.level_dbm0 / 20.0)
        self._phase = [0.0] * len(self.freqs)        # cycles, in [0, 1)
        self.signal = 0

    def tone(self, signal: int, n: int) -> np.ndarray:
        """``n`` samples of ``signal`` (0 = silence); phase continuous across calls."""
        sig = check_signal(signal, len(self.freqs))
        n = check_count(n)
        out = np.zeros(n, dtype=np.float64)
        if sig:
            idx = np.arange(n, dtype=np.float64)
            for k in SIGNAL_PAIRS[sig]:
                out += np.sin(2.0 * np.pi * (self._phase[k] + self.freqs[k] * idx / self.rate))
            out *= self.amplitude
        for k, f in enumerate(self.freqs):
            self._phase[k] = (self._phase[k] + f * n / self.rate) % 1.0
        self.signal = sig
        return np.clip(np.rint(out), -32768, 32767).astype(np.int16)


def detect(samples: object, rate: int = 8000, forward: bool = True, frequencies: int = 6) -> str:
    """The signals in ``samples`` (one channel) in order, as "1234567890BCDEF" characters."""
    check_rate(rate)
    det = MfDetector(1, forward=forward, frequencies=frequencies, rate=rate)
    x = as_channels(samples, 1)
    tail = np.zeros((1, WIN * 4), dtype=np.int16)   # silence long enough to release
    out = []
    for ev in det.process(x, 0.0) + det.process(tail, x.shape[1] / RATE):
        if ev.signal:
            out.append(SIGNAL_CHARS[ev.signal - 1])
    return "".join(out)
