"""Call-progress tones: per-country table, generator and cadence detector (twin of ``tones_c``).

Generation: each tone is one or two frequencies at ``level_dbm0`` per frequency, switched by
its cadence (on, off, on, off, ... seconds; empty = continuous), phase continuous.

Detection, per channel, over many channels per call, in 20 ms frames (``rate // 50``
samples; a partial frame is carried to the next call):

1. each frame is classified: *silence* (power below ``SILENCE_DBM0``), *tone g* (the
   frequencies of tone group g -- the distinct frequency sets of the country table -- carry
   at least ``TONE_RATIO`` of the frame's power), or *other* (energy that is no known tone:
   speech, music, noise);
2. a voice score (integers: +2 per *other* frame, -1 otherwise, 0..``VOICE_MAX``) turns the
   channel to *voice* at ``VOICE_ON`` and back when it decays to 0 (about 0.6 s without
   speech), so pauses between words do not end the voice state;
3. the resulting symbols form segments (runs); a cadenced tone is recognised at the start of
   an on-segment when the completed segments before it repeat the tone's whole cycle within
   ``TOL_REL`` * duration + ``TOL_ABS``; a continuous tone (dial) when its on-segment has
   lasted longer than any cadenced tone of the same frequencies could;
4. events are reported on change only: a tone name, ``"voice"`` when speech (or anything
   non-tonal and loud) is present, ``"silence"`` when a recognised tone or the voice stops
   into quiet (or after ``SILENCE_IDLE`` of quiet), ``"none"`` when a tone stops into
   something unrecognised.

Steps 1 and 2 are the hot loop (compiled in ``tones_c``); steps 3 and 4 run in
:class:`Track` only at segment boundaries and at the thresholds it asks for, in both
implementations, so both report the same events.

Figures: China (call-progress tones of YD/T 1970 / GB 3380: 450 Hz, -10 dBm0;
busy 0.35/0.35 s, ringback 1/4 s, congestion 0.7/0.7 s), ITU-T E.180 (425 Hz, common CEPT
cadences), the US precise tone plan (ANSI T1.401) and the UK (BT SIN 350).
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ._blocks import as_channels, check_channel, check_channels

__all__ = ["generate", "ToneGenerator", "CadenceDetector", "ToneEvent", "COUNTRIES", "TONE_NAMES",
           "DBM0_PEAK", "detect"]

#: Peak of a 0 dBm0 sine in 16-bit linear PCM (G.711: 3.14 dB below full scale).
DBM0_PEAK: float = 22812.0
DBM0_POWER: float = DBM0_PEAK * DBM0_PEAK / 2.0

TONE_NAMES: tuple[str, ...] = ("dial", "busy", "ringback", "congestion")


def _t(freqs: tuple[int, ...], level: float, cadence: tuple[float, ...]) -> dict[str, Any]:
    return {"freqs": freqs, "level_dbm0": level, "cadence": cadence}


#: Country -> tone name -> {"freqs": Hz tuple, "level_dbm0": per frequency, "cadence": on/off s}.
COUNTRIES: dict[str, dict[str, dict[str, Any]]] = {
    # China: YD/T 1970 / GB 3380 (450 Hz, about -10 dBm0)
    "cn": {"dial": _t((450,), -10.0, ()),
           "busy": _t((450,), -10.0, (0.35, 0.35)),
           "ringback": _t((450,), -10.0, (1.0, 4.0)),
           "congestion": _t((450,), -10.0, (0.7, 0.7))},
    # ITU-T E.180 clause 2 (425 Hz; ringing 0.67-1.5 s on, 3-5 s off; busy / congestion
    # 0.1-0.6 s on/off): the values common to CEPT networks
    "itu": {"dial": _t((425,), -10.0, ()),
            "busy": _t((425,), -10.0, (0.5, 0.5)),
            "ringback": _t((425,), -10.0, (1.0, 4.0)),
            "congestion": _t((425,), -10.0, (0.25, 0.25))},
    # USA: precise tone plan (ANSI T1.401): dual tones; reorder is the congestion tone
    "us": {"dial": _t((350, 440), -13.0, ()),
           "busy": _t((480, 620), -24.0, (0.5, 0.5)),
           "ringback": _t((440, 480), -19.0, (2.0, 4.0)),
           "congestion": _t((480, 620), -24.0, (0.25, 0.25))},
    # UK: BT SIN 350
    "gb": {"dial": _t((350, 450), -13.0, ()),
           "busy": _t((400,), -13.0, (0.375, 0.375)),
           "ringback": _t((400, 450), -13.0, (0.4, 0.2, 0.4, 2.0)),
           "congestion": _t((400,), -13.0, (0.4, 0.35, 0.225, 0.525))},
}

# --- detector figures ---------------------------------------------------------------------
#: Frames below this power are silence (a tone's off phase, pauses).
SILENCE_DBM0: float = -42.0
#: Share of a frame's power the frequencies of one tone group must carry.
TONE_RATIO: float = 0.75
#: A frequency's power is the largest of the DFT at it and SIDE_HZ either side: at 20 ms
#: (50 Hz bins) that keeps tones up to about +/-25 Hz off nominal above TONE_RATIO.
SIDE_HZ: int = 10
#: Each frequency of a dual tone must be within 10 dB of the other (power ratio).
TWIST: float = 0.1
#: Background level: rises 10 dB per second, falls at once to any quieter non-tonal frame;
#: non-tonal frames within 6 dB of it are silence.
FLOOR_RISE: float = 10.0 ** (10.0 / 10.0 / 50)
FLOOR_MARGIN: float = 10.0 ** (6.0 / 10.0)
#: Voice score: +2 per non-tonal loud frame, -1 otherwise, kept in 0..VOICE_MAX.
VOICE_UP: int = 2
VOICE_MAX: int = 30
VOICE_ON: int = 16
#: Cadence tolerance: |measured - nominal| <= TOL_REL * nominal + TOL_ABS (seconds).
TOL_REL: float = 0.2
TOL_ABS: float = 0.05
#: Quiet this long after voice or a continuous tone reports "silence" ...
SILENCE_AFTER: float = 0.5
#: ... and this long when nothing was recognised before.
SILENCE_IDLE: float = 6.0
FRAMES_PER_SECOND: int = 50

# Frame symbols (step 1 and 2); tone group g is TONE0 + g.
SIL, OTHER, VOICE, TONE0 = 0, 1, 2, 3
NEVER: int = 1 << 30
# Per-channel integer state of step 2 (columns of CadenceDetector.state; the same in tones_c):
# current segment symbol, its length in frames, the length at which Track wants to look,
# voice score, voice on, last settled raw symbol, raw symbol held back one frame.
S_SYM, S_RUN, S_NEXT, S_SCORE, S_VON, S_LAST, S_PEND, NSTATE = range(8)


class ToneEvent(NamedTuple):
    """``tone`` ("dial", "busy", "ringback", "congestion", "voice", "silence", "none") on ``channel``."""

    channel: int
    tone: str
    time: float


# --- argument checks ----------------------------------------------------------------------

def check_country(country: object) -> dict[str, dict[str, Any]]:
    if not isinstance(country, str):
        raise TypeError(f"country must be a str, got {type(country).__name__}")
    table = COUNTRIES.get(country.lower())
    if table is None:
        raise ValueError(f"unknown country {country!r}; known: {', '.join(sorted(COUNTRIES))}")
    return table


def check_rate(rate: object) -> int:
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)):
        raise TypeError(f"rate must be an int, got {type(rate).__name__}")
    if rate < 4000 or rate > 96000 or rate % FRAMES_PER_SECOND:
        raise ValueError(f"rate must be 4000..96000 Hz and a multiple of {FRAMES_PER_SECOND}, got {rate}")
    return int(rate)


def check_level(level: object) -> float:
    try:
        v = float(level)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"level_dbm0 must be a number, got {type(level).__name__}") from None
    if not math.isfinite(v) or v > 3.0 or v < -90.0:
        raise ValueError(f"level_dbm0 must be finite, -90..+3 dBm0, got {level!r}")
    return v


def check_now(now: object) -> float:
    try:
        t = float(now)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"now must be a number, got {type(now).__name__}") from None
    if not math.isfinite(t):
        raise ValueError(f"now must be finite, got {now!r}")
    return t


# --- generation ---------------------------------------------------------------------------

class ToneGenerator:
    """A call-progress tone as a continuous stream: ``read(n)`` gives the next ``n`` samples."""

    def __init__(self, name: str, country: str = "cn", level_dbm0: float = -10.0, rate: int = 8000) -> None:
        table = check_country(country)
        if name not in table:
            raise ValueError(f"unknown tone {name!r}; {country} has {', '.join(table)}")
        self.name = name
        self.country = country.lower()
        self.rate = check_rate(rate)
        self.level_dbm0 = check_level(level_dbm0)
        spec = table[name]
        self.freqs: tuple[int, ...] = tuple(spec["freqs"])
        self.cadence: tuple[float, ...] = tuple(spec["cadence"])
        self.amplitude = DBM0_PEAK * 10.0 ** (self.level_dbm0 / 20.0)
        # cadence as sample boundaries of one cycle
        self._edges = np.cumsum([round(d * self.rate) for d in self.cadence]).astype(np.int64)
        self._pos = 0                                     # samples since the start

    def read(self, n: int) -> np.ndarray:
        """The next ``n`` samples (int16), phase and cadence continuing from the last call."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"n must be an int, got {type(n).__name__}")
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        t = np.arange(self._pos, self._pos + int(n), dtype=np.int64)
        self._pos += int(n)
        x = np.zeros(int(n), dtype=np.float64)
        for f in self.freqs:
            # integer frequencies: the phase index f*t mod rate is exact for any length
            x += np.sin(2.0 * np.pi * ((f * t) % self.rate) / self.rate)
        x *= self.amplitude
        if len(self._edges):
            k = np.searchsorted(self._edges, t % self._edges[-1], side="right")
            x[k % 2 == 1] = 0.0                           # odd cadence slots are off
        return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def generate(name: str, seconds: float, *, country: str = "cn", level_dbm0: float = -10.0,
             rate: int = 8000) -> np.ndarray:
    """``seconds`` of tone ``name`` of ``country`` (cadence starting with its on phase)."""
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        raise TypeError(f"seconds must be a number, got {type(seconds).__name__}") from None
    if not math.isfinite(s) or s < 0 or s > 3600:
        raise ValueError(f"seconds must be 0..3600, got {seconds!r}")
    gen = ToneGenerator(name, country=country, level_dbm0=level_dbm0, rate=rate)
    return gen.read(round(s * gen.rate))


# --- detection: the table as the detector sees it -----------------------------------------

class Plan:
    """The detector's view of one country's table (shared by both implementations)."""

    def __init__(self, country: str, rate: int) -> None:
        table = check_country(country)
        self.rate = rate
        self.frame = rate // FRAMES_PER_SECOND
        self.groups: list[tuple[int, ...]] = []
        for spec in table.values():
            fs = tuple(sorted(spec["freqs"]))
            if fs not in self.groups:
                self.groups.append(fs)
        self.freqs: list[int] = sorted({f for g in self.groups for f in g})
        #: per group, the indices of its frequencies in ``freqs``
        self.group_index: list[list[int]] = [[self.freqs.index(f) for f in g] for g in self.groups]
        n = np.arange(self.frame, dtype=np.float64)
        #: analysis rows: each frequency and SIDE_HZ either side of it (3 rows per frequency)
        self.rows = [f + d for f in self.freqs for d in (-SIDE_HZ, 0, SIDE_HZ)]
        w = 2.0 * np.pi * np.asarray(self.rows, dtype=np.float64) / rate
        self.cos = np.ascontiguousarray(np.cos(np.outer(w, n)))     # (rows, frame)
        self.sin = np.ascontiguousarray(np.sin(np.outer(w, n)))
        #: frame power (sum of squares) below which a frame is silence
        self.silence_energy = DBM0_POWER * 10.0 ** (SILENCE_DBM0 / 10.0) * self.frame
        # a tone group's power share is 2 |X_f|^2 / (N * sum x^2), summed over its frequencies
        self.tone_scale = 2.0 / self.frame
        self.cadenced: list[tuple[str, int, tuple[float, ...]]] = []
        self.continuous: dict[int, str] = {}
        longest_on: dict[int, float] = {}
        for name, spec in table.items():
            g = self.groups.index(tuple(sorted(spec["freqs"])))
            cad = tuple(spec["cadence"])
            if cad:
                self.cadenced.append((name, g, cad))
                longest_on[g] = max(longest_on.get(g, 0.0), max(cad[0::2]))
            else:
                self.continuous[g] = name
        #: frames an on-segment must last to be the continuous tone of its group
        self.continuous_frames = {
            g: max(25, self.frames(longest_on.get(g, 0.0) * (1 + TOL_REL) + TOL_ABS) + 5)
            for g in self.continuous}
        self.by_name = {name: (g, cad) for name, g, cad in self.cadenced}

    @staticmethod
    def frames(seconds: float) -> int:
        return math.ceil(seconds * FRAMES_PER_SECOND)


def fits(seconds: float, nominal: float) -> bool:
    return abs(seconds - nominal) <= TOL_REL * nominal + TOL_ABS


class Track:
    """Steps 3 and 4 for one channel: segments in, tone names out (see the module docstring)."""

    __slots__ = ("plan", "reported", "hist")

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.reported = "none"
        self.hist: list[tuple[int, int]] = []     # completed (symbol, frames), oldest first

    def _say(self, name: str) -> str | None:
        if name == self.reported:
            return None
        self.reported = name
        return name

    def _is_on(self, sym: int, g: int) -> bool:
        return sym == TONE0 + g

    def _window_fits(self, g: int, cad: tuple[float, ...], w: int) -> bool:
        """The last ``w`` completed segments repeat ``cad`` (on, off, ...) and end with an off."""
        if len(self.hist) < w:
            return False
        last = self.hist[-w:]
        L = len(cad)
        for r in range(0, L, 2):                 # w is even: starts on, ends off
            for i, (sym, nf) in enumerate(last):
                k = (r + i) % L
                on = self._is_on(sym, g) if k % 2 == 0 else sym == SIL
                if not on or not fits(nf / FRAMES_PER_SECOND, cad[k]):
                    break
            else:
                return True
        return False

    def _match(self, new_sym: int) -> str | None:
        """A cadenced tone whose whole cycle the history ends with, its next on starting now.

        When a tone with a longer cycle on the same frequencies could also explain the
        segments seen (UK busy 0.375/0.375 inside congestion 0.4/0.35/0.225/0.525), the
        shorter one must repeat over the longer cycle's length first.
        """
        for name, g, cad in self.plan.cadenced:
            if not self._is_on(new_sym, g):
                continue
            need = len(cad)
            for _other, g2, cad2 in self.plan.cadenced:
                if g2 == g and len(cad2) > len(cad) and self._window_fits(g, cad2, len(cad)):
                    need = max(need, len(cad2))
            if self._window_fits(g, cad, need):
                return name
        return None

    def _fits_reported(self, sym: int, nf: int) -> bool:
        got = self.plan.by_name.get(self.reported)
        if got is None:
            return True
        g, cad = got
        if sym == SIL:
            return any(fits(nf / FRAMES_PER_SECOND, d) for d in cad[1::2])
        if self._is_on(sym, g):
            return any(fits(nf / FRAMES_PER_SECOND, d) for d in cad[0::2])
        return False

    def threshold(self, sym: int) -> int:
        """Run length (frames) of the current segment at which check() must look."""
        plan = self.plan
        if sym == SIL:
            got = plan.by_name.get(self.reported)
            if got is not None:
                return plan.frames(max(got[1][1::2]) * (1 + TOL_REL) + TOL_ABS) + 1
            if self.reported == "silence":
                return NEVER
            if self.reported == "none":
                return plan.frames(SILENCE_IDLE)
            return plan.frames(SILENCE_AFTER)
        if sym >= TONE0:
            g = sym - TONE0
            limits = []
            if g in plan.continuous and self.reported != plan.continuous[g]:
                limits.append(plan.continuous_frames[g])
            got = plan.by_name.get(self.reported)
            if got is not None and got[0] == g:
                limits.append(plan.frames(max(got[1][0::2]) * (1 + TOL_REL) + TOL_ABS) + 1)
            return min(limits) if limits else NEVER
        return NEVER

    def boundary(self, sym: int, nf: int, new_sym: int) -> tuple[str | None, int]:
        """Segment (sym, nf frames) ended, ``new_sym`` begins: (event or None, next threshold)."""
        ev = None
        self.hist.append((sym, nf))
        if len(self.hist) > 8:
            del self.hist[0]
        if new_sym == VOICE:
            self.hist.clear()
            ev = self._say("voice")
        elif sym == VOICE:
            self.hist.clear()
        else:
            name = self._match(new_sym)
            if name is not None:
                ev = self._say(name)
            elif self.reported in self.plan.by_name and not self._fits_reported(sym, nf):
                # the cadence broke; into non-tonal sound: wait (voice follows, or the
                # burst ends and is judged at its own end)
                if new_sym != OTHER:
                    ev = self._say("silence" if new_sym == SIL else "none")
            elif self.reported in self.plan.continuous.values() and sym >= TONE0 and new_sym != SIL:
                ev = self._say("none")            # the continuous tone changed into something else
        return ev, self.threshold(new_sym)

    def check(self, sym: int, nf: int) -> tuple[str | None, int]:
        """Segment ``sym`` has lasted ``nf`` frames: (event or None, next threshold)."""
        ev = None
        plan = self.plan
        if sym == SIL:
            ev = self._say("silence")
        elif sym >= TONE0:
            g = sym - TONE0
            if g in plan.continuous and nf >= plan.continuous_frames[g]:
                ev = self._say(plan.continuous[g])
            else:
                ev = self._say("none")            # on for longer than the reported cadence allows
        return ev, self.threshold(sym)


def frame_measures(plan: Plan, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame of ``frames`` (..., frame): energy, best tone group, its power share x energy."""
    x = frames.astype(np.float64)
    energy = np.einsum("...n,...n->...", x, x)
    re = x @ plan.cos.T
    im = x @ plan.sin.T
    power = (re * re + im * im) * plan.tone_scale          # per row, comparable to energy
    power = power.reshape(power.shape[:-1] + (len(plan.freqs), 3)).max(axis=-1)   # per frequency
    share = np.empty(power.shape[:-1] + (len(plan.groups),))
    for g, idx in enumerate(plan.group_index):
        comp = power[..., idx]
        twisted = comp.min(axis=-1) < TWIST * comp.max(axis=-1)
        share[..., g] = np.where(twisted, -1.0, comp.sum(axis=-1))   # a group needs all its tones
    best = np.argmax(share, axis=-1)
    best_share = np.take_along_axis(share, best[..., None], axis=-1)[..., 0]
    return energy, best, best_share


def classify(plan: Plan, frames: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """Step 1 for frames shaped (channels, n, frame): symbols SIL / OTHER / TONE0+g (uint8).

    ``floor`` (per channel, updated) is the background level: the lowest non-tonal frame
    energy, rising by ``FLOOR_RISE`` per frame, never below the silence level; a
    non-tonal frame less than
    ``FLOOR_MARGIN`` above it is silence too (steady line noise is not voice).
    """
    energy, best, best_share = frame_measures(plan, frames)
    out = np.empty(energy.shape, dtype=np.uint8)
    for j in range(energy.shape[1]):
        e = energy[:, j]
        tonal = (best_share[:, j] >= TONE_RATIO * e) & (e >= plan.silence_energy)
        sym = np.where(tonal, TONE0 + best[:, j], OTHER)
        quiet = (e < plan.silence_energy) | (~tonal & (e < floor * FLOOR_MARGIN))
        sym[quiet] = SIL
        out[:, j] = sym
        nt = ~tonal
        floor[nt] = np.maximum(np.where(e[nt] < floor[nt], e[nt], floor[nt] * FLOOR_RISE),
                               plan.silence_energy)
    return out


class CadenceDetector:
    """Call-progress tone and voice detector over ``channels`` channels (20 ms frames)."""

    def __init__(self, channels: int, country: str = "cn", rate: int = 8000) -> None:
        self.channels = check_channels(channels)
        self.rate = check_rate(rate)
        self.country = country.lower() if isinstance(country, str) else country
        self.plan = Plan(country, self.rate)
        self.reset()

    def reset(self, channel: int | None = None) -> None:
        """Forget what was heard on one channel (or all)."""
        if channel is None:
            n = self.channels
            self._carry = np.zeros((n, self.plan.frame), dtype=np.int16)
            self._ncarry = 0
            self._tpend = 0.0                     # end time of the frames held back
            self._floor = np.full(n, np.inf)      # background level per channel (unknown)
            self.state = np.zeros((n, NSTATE), dtype=np.int32)
            self.state[:, S_SYM] = -1
            self.state[:, S_LAST] = -1
            self.state[:, S_PEND] = -1
            self.state[:, S_NEXT] = NEVER
            self._track = [Track(self.plan) for _ in range(n)]
            return
        c = self._channel_arg(channel)
        self._floor[c] = np.inf
        self.state[c, :] = 0
        self.state[c, S_SYM] = self.state[c, S_LAST] = self.state[c, S_PEND] = -1
        self.state[c, S_NEXT] = NEVER
        self._track[c] = Track(self.plan)

    def _channel_arg(self, channel: object) -> int:
        return check_channel(channel, self.channels)

    def current(self, channel: int) -> str:
        """What was last reported on ``channel`` ("none" at first)."""
        return self._track[self._channel_arg(channel)].reported

    def process(self, samples: object, now: float) -> list[ToneEvent]:
        """Feed ``n`` samples per channel starting at time ``now``; events, by time then channel.

        A frame's symbol is settled when the next frame is in (one frame, 20 ms, later), so
        an event carries the end time of the frame that decided it.
        """
        x = as_channels(samples, self.channels)
        t0 = check_now(now)
        F = self.plan.frame
        p = self._ncarry
        n = x.shape[1]
        nfr = (p + n) // F
        if nfr == 0:
            self._carry[:, p:p + n] = x
            self._ncarry = p + n
            return []
        whole = np.concatenate([self._carry[:, :p], x[:, :nfr * F - p]], axis=1)
        syms = classify(self.plan, whole.reshape(self.channels, nfr, F), self._floor)
        rest = p + n - nfr * F
        self._carry[:, :rest] = x[:, n - rest:]
        self._ncarry = rest
        return self._advance(syms, t0, p)

    def _advance(self, syms: np.ndarray, t0: float, p: int) -> list[ToneEvent]:
        """Step 2 and the calls into Track, frame by frame then channel by channel."""
        events: list[ToneEvent] = []
        F, rate = self.plan.frame, self.rate
        st = self.state.tolist()
        track = self._track
        for j in range(syms.shape[1]):
            t = self._tpend                                # the held-back frame ends here
            self._tpend = t0 + ((j + 1) * F - p) / rate
            for c in range(self.channels):
                row = st[c]
                r = int(syms[c, j])
                s = row[S_PEND]
                row[S_PEND] = r
                if s < 0:
                    continue
                # a lone frame unlike both neighbours is the edge of a tone burst (part
                # tone, part silence: its spectrum smeared) or a click: it joins the
                # segment before it
                if s != row[S_LAST] and s != r and row[S_LAST] >= 0:
                    s = row[S_LAST]
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
                        ev, row[S_NEXT] = track[c].boundary(row[S_SYM], row[S_RUN], s)
                        if ev is not None:
                            events.append(ToneEvent(c, ev, t))
                    else:
                        row[S_NEXT] = track[c].threshold(s)
                    row[S_SYM] = s
                    row[S_RUN] = 1
                else:
                    row[S_RUN] += 1
                if row[S_RUN] >= row[S_NEXT]:
                    ev, row[S_NEXT] = track[c].check(s, row[S_RUN])
                    if ev is not None:
                        events.append(ToneEvent(c, ev, t))
        self.state[:, :] = np.array(st, dtype=np.int32)
        return events


def detect(samples: object, country: str = "cn", rate: int = 8000) -> list[ToneEvent]:
    """Events of one channel's signal, fresh state (channel 0, time from 0)."""
    det = CadenceDetector(1, country=country, rate=rate)
    return det.process(samples, 0.0)
