"""The card's CAS receiver: abcd per multiframe from TS16, debounced before it is reported.

TS16 of frame 0 of each 16-frame CAS multiframe is ``0000 X Y X X``; frame k (1..15)
carries abcd of channel k in bits 1-4 and of channel k+15 in bits 5-8 (G.704 5.1.3.2),
so every channel is sampled once per 2 ms multiframe. A change counts once the new abcd
has been received in every multiframe for :data:`RECOGNITION_S` (Q.421: a state must
persist 20 +/- 10 ms before it is recognised, so a change shorter than 10 ms is never
one): a hit on the line shorter than that is never reported; a longer change is
reported once, with the time it was first received. The host's line signalling may
add its own persistence check from that time.

Why by hand and in numpy: the framer kernel reports only the latest abcd of each
channel, once per 20 ms block; debouncing needs every multiframe's sample. The common
case (nothing changed in the block) is one vectorised comparison.
"""
from __future__ import annotations

import numpy as np

#: Q.421 recognition time, lower bound: a change must last this long to be reported (s)
RECOGNITION_S = 0.010
FRAMES_PER_SECOND = 8000
MULTIFRAME = 16
CHANNELS = 30


class CasDebouncer:
    """Per-span debounce of the 30 CAS channels (channel numbers 1..30, G.704 Table 9)."""

    def __init__(self, recognition: float = RECOGNITION_S) -> None:
        self.recognition = recognition
        self.stable = np.zeros(CHANNELS + 1, dtype=np.int16)      # reported abcd (0: none yet)
        self.candidate = np.zeros(CHANNELS + 1, dtype=np.int16)   # last abcd received
        self.since = np.zeros(CHANNELS + 1, dtype=np.float64)     # when the candidate began
        self.glitches = 0                                         # changes too short to report
        self._last = b""          # TS16 of the last block: steady CAS repeats it block after block
        self._pending = False     # some channel's candidate is not reported yet

    def feed(self, ts16: np.ndarray, t_end: float) -> list[tuple[int, int, float]]:
        """TS16 octets of aligned frames, the last ending at ``t_end``; returns the
        recognised changes as ``(channel, abcd, time first received)``, in time order."""
        raw = ts16.tobytes()
        if raw == self._last and not self._pending:
            return []             # 160 frames = 10 whole multiframes: the same octets, no change
        self._last = raw
        n = len(ts16)
        mf0 = np.flatnonzero((ts16 & 0xF0) == 0)
        if n == 0 or len(mf0) == 0:          # no multiframe word in sight: keep the last state
            return []
        base = int(np.bincount(mf0 % MULTIFRAME, minlength=MULTIFRAME).argmax())
        pos = np.arange(n)
        k = (pos - base) % MULTIFRAME
        p = pos[k != 0]
        ch = k[k != 0]
        hi = (ts16[p] >> 4).astype(np.int16)
        lo = (ts16[p] & 0x0F).astype(np.int16)
        cand = self.candidate
        pending = cand != self.stable
        if (hi == cand[ch]).all() and (lo == cand[ch + 15]).all() and not pending[1:].any():
            return []
        times = t_end - (n - p) / FRAMES_PER_SECOND
        out: list[tuple[int, int, float]] = []
        for c in range(1, 16):
            sel = ch == c
            for chan, vals in ((c, hi[sel]), (c + 15, lo[sel])):
                if (vals == cand[chan]).all() and not pending[chan]:
                    continue
                for v, t in zip(vals.tolist(), times[sel].tolist(), strict=True):
                    if v != cand[chan]:
                        if cand[chan] != self.stable[chan]:
                            self.glitches += 1            # the last change did not last
                        cand[chan] = v
                        self.since[chan] = t
                    if cand[chan] != self.stable[chan] and t - self.since[chan] >= self.recognition - 1e-9:
                        self.stable[chan] = cand[chan]
                        out.append((chan, int(cand[chan]), float(self.since[chan])))
        self._pending = bool((cand != self.stable)[1:].any())
        out.sort(key=lambda e: e[2])
        return out
