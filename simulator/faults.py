"""Line faults injected between a span's framer and the deframer at the other end.

A :class:`FaultInjector` sits on one direction of a simulated line. The framer's
octets pass through :meth:`FaultInjector.apply` once per 20 ms block, so every
fault is seen by the real deframer exactly as a card would see it on copper:

====================  =====================================================  ===================
fault                 what happens to the bit stream                          deframer reports
====================  =====================================================  ===================
``los``               all zeros (no signal, G.775)                            LOS (+ LOF)
``ais``               all ones (G.775: < 3 zeros in 2 frames)                 AIS (+ LOF)
``lof``               TS0 inverted in every frame: no FAS, no NFAS bit 2      LOF
``rai``               the far framer sets the A bit of NFAS (G.704 2.3.2)     RAI
``ber``               random bit errors at the given rate (seeded)            FAS / CRC-4 errors
``crc_errors``        one payload bit flipped per sub-multiframe, N per s     CRC-4 errors, E bits
``slip`` / interval   a whole frame deleted (-1) or repeated (+1)             slips, realignment
``bit_slip``          the stream delayed by 1-7 bits from now on              LOF, then realigned
``hdlc_broken``       HDLC timeslots overwritten with seeded random octets    FCS errors / aborts
``mfas``              TS16 frame 0 reads 1111 instead of 0000 (CAS spans)     LOMF, sends MF_RAI back
``mrai``              the far framer sets the Y bit of TS16 frame 0           MF_RAI
``ts16_ais``          TS16 all ones (CAS spans)                               MF_AIS, sends MF_RAI back
``crc4mf``            the CRC-4 multiframe word and the C bits inverted       LOCRC (G.706 4.2/4.3.2)
``clock_ppm``         the far clock runs N ppm off the span's own oscillator  controlled slips (free run)
``cas_glitch``        every channel's a,b read 00 for N ms (one shot)         nothing below debounce
====================  =====================================================  ===================

Everything random comes from one ``numpy.random.Generator`` seeded at
construction, so a test run is reproducible.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any
from collections.abc import Iterable

import numpy as np

from drivers.base import BLOCK_SECONDS, ConfigError

FRAME_OCTETS = 32
FRAMES_PER_SECOND = 8000
#: largest clock offset the simulator models (G.703 allows a 2 048 kbit/s clock +/-50 ppm)
MAX_PPM = 1000.0
#: longest CAS glitch, ms
MAX_GLITCH_MS = 1000.0
#: a CAS glitch starts this many frames into the next block (10 ms: it straddles the block end)
GLITCH_START_FRAME = 80
BOOL_FAULTS = ("los", "ais", "lof", "rai", "hdlc_broken", "mfas", "mrai", "crc4mf", "ts16_ais")


@dataclass
class FaultCounts:
    """What the injector did (tests compare these with the deframer's counters)."""

    bit_errors: int = 0
    crc_errors: int = 0
    slips: int = 0
    bit_slips: int = 0
    hdlc_octets_corrupted: int = 0
    clock_slips: int = 0          #: slips made by the clock offset (also counted in ``slips``)
    cas_glitch_frames: int = 0


@dataclass
class FaultSettings:
    """Persistent fault settings (also the ``[[faults]]`` TOML table of a simulator config)."""

    los: bool = False
    ais: bool = False
    lof: bool = False
    rai: bool = False
    hdlc_broken: bool = False
    mfas: bool = False            #: TS16 CAS multiframe alignment word corrupted (G.732 5.2)
    mrai: bool = False            #: the far transmitter sets Y (TS16 frame 0 bit 6)
    crc4mf: bool = False          #: CRC-4 multiframe alignment word and C bits inverted
    ts16_ais: bool = False        #: TS16 all ones (G.775 TS16 AIS)
    clock_ppm: float = 0.0        #: far clock minus the span's own oscillator, ppm (|x| <= 1000)
    ber: float = 0.0              #: bit error ratio, 0 <= ber <= 0.5
    crc_errors: float = 0.0       #: CRC-4 sub-multiframe errors injected per second (<= 1000)
    slip_interval: float = 0.0    #: seconds between controlled slips (0: none)

    def validate(self) -> FaultSettings:
        for name in BOOL_FAULTS:
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"fault {name!r} must be true or false, not {getattr(self, name)!r}")
        for name, hi in (("ber", 0.5), ("crc_errors", 1000.0), ("slip_interval", 1e9)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= hi:
                raise ConfigError(f"fault {name!r} must be a number in 0..{hi:g}, not {v!r}")
        v = self.clock_ppm
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not -MAX_PPM <= v <= MAX_PPM:
            raise ConfigError(f"fault 'clock_ppm' must be a number in -{MAX_PPM:g}..{MAX_PPM:g}, not {v!r}")
        if 0 < self.slip_interval < BLOCK_SECONDS:
            raise ConfigError(f"slip_interval must be 0 or >= {BLOCK_SECONDS} s")
        return self

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FaultSettings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown fault(s) {unknown}; known: {sorted(known)}")
        return cls(**d).validate()


class FaultInjector:
    """Faults on one direction of one simulated span (see the module table)."""

    def __init__(self, seed: int = 0, settings: FaultSettings | None = None) -> None:
        self.settings = (settings or FaultSettings()).validate()
        self.counts = FaultCounts()
        self._rng = np.random.default_rng(seed)
        self._pending_slips: list[int] = []
        self._shift = 0          # bits of delay currently applied (0..7)
        self._prev = 0           # last octet of the previous block (for the bit shift)
        self._crc_debt = 0.0
        self._slip_clock = 0.0
        self._phase = 0.0        # frames the far clock gained on ours since the last clock slip
        self._glitch_at = -1     # frame of the coming blocks where a CAS glitch starts
        self._glitch_left = 0    # frames of the glitch still to come

    # ---- settings ----
    def set(self, **kw: Any) -> None:
        """Change settings by name, e.g. ``set(los=True)``, ``set(ber=1e-4)``."""
        merged = {f.name: getattr(self.settings, f.name) for f in fields(FaultSettings)}
        for k in kw:
            if k not in merged:
                raise ConfigError(f"unknown fault {k!r}; known: {sorted(merged)}")
        merged.update(kw)
        self.settings = FaultSettings(**merged).validate()

    def clear(self) -> None:
        """Back to a clean line (pending one-shot slips dropped; a bit shift stays, as on a real line)."""
        self.settings = FaultSettings()
        self._pending_slips.clear()
        self._phase = 0.0
        self._glitch_left = 0

    @property
    def los(self) -> bool:
        return self.settings.los

    @los.setter
    def los(self, on: bool) -> None:
        self.set(los=on)

    @property
    def ais(self) -> bool:
        return self.settings.ais

    @ais.setter
    def ais(self, on: bool) -> None:
        self.set(ais=on)

    @property
    def lof(self) -> bool:
        return self.settings.lof

    @lof.setter
    def lof(self, on: bool) -> None:
        self.set(lof=on)

    @property
    def rai(self) -> bool:
        return self.settings.rai

    @rai.setter
    def rai(self, on: bool) -> None:
        self.set(rai=on)

    @property
    def hdlc_broken(self) -> bool:
        return self.settings.hdlc_broken

    @hdlc_broken.setter
    def hdlc_broken(self, on: bool) -> None:
        self.set(hdlc_broken=on)

    def set_bit_error_rate(self, ber: float) -> None:
        self.set(ber=ber)

    def set_crc_error_rate(self, per_second: float) -> None:
        self.set(crc_errors=per_second)

    def slip(self, frames: int = -1) -> None:
        """One controlled slip on the next block: -1 deletes a frame, +1 repeats one."""
        if frames not in (-1, 1):
            raise ConfigError(f"a controlled slip deletes (-1) or repeats (+1) one frame, not {frames!r}")
        self._pending_slips.append(frames)

    def bit_slip(self, bits: int) -> None:
        """Delay the stream by ``bits`` (1..7) from the next block on: frame alignment is lost."""
        if not isinstance(bits, int) or not 1 <= bits <= 7:
            raise ConfigError(f"bit_slip takes 1..7 bits, not {bits!r}")
        self._shift = (self._shift + bits) % 8
        self.counts.bit_slips += 1

    def cas_glitch(self, ms: float) -> None:
        """From 10 ms into the next block, every CAS channel's a,b read 00 for ``ms`` (one shot):
        what a card's debounce must not report when ``ms`` is below its recognition time."""
        if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not 0 < ms <= MAX_GLITCH_MS:
            raise ConfigError(f"a CAS glitch lasts 0..{MAX_GLITCH_MS:g} ms, not {ms!r}")
        self._glitch_at = GLITCH_START_FRAME
        self._glitch_left = max(1, round(ms * FRAMES_PER_SECOND / 1000))

    @property
    def active(self) -> bool:
        s = self.settings
        return bool(s.los or s.ais or s.lof or s.hdlc_broken or s.ber or s.crc_errors or s.mfas or s.crc4mf
                    or s.ts16_ais
                    or s.slip_interval or self._pending_slips or self._shift or self._glitch_left
                    or s.clock_ppm)

    def clock_slip(self, frames: int, free_running: bool) -> None:
        """Advance the far clock's phase over ``frames``: a span on its own oscillator
        (``free_running``) slips one frame each time the phase reaches a whole frame, so at
        ``clock_ppm`` it slips every 1 / (8000 x ppm x 1e-6) s (50 ppm: 2.5 s). A line-timed
        span follows the far clock: its phase never builds up (G.822 controlled slips)."""
        ppm = self.settings.clock_ppm
        if not ppm or not free_running:
            self._phase = 0.0
            return
        self._phase += frames * ppm * 1e-6
        while abs(self._phase) >= 1.0:
            faster = self._phase > 0
            self._phase -= 1.0 if faster else -1.0
            # the far end is faster: our elastic store overflows and a frame is deleted
            self._pending_slips.append(-1 if faster else 1)
            self.counts.clock_slips += 1

    # ---- the data path ----
    def apply(self, line: np.ndarray, hdlc_timeslots: Iterable[int] = (), cas: bool = False) -> np.ndarray:
        """Fault one block of framer output (uint8, whole aligned frames); may change its length.
        ``cas``: TS16 carries the CAS multiframe (the ``mfas`` and ``cas_glitch`` faults need it)."""
        s = self.settings
        if s.los:
            self._prev = 0
            return np.zeros_like(line)
        if s.ais:
            self._prev = 0xFF
            return np.full_like(line, 0xFF)
        if not self.active:
            if len(line):
                self._prev = int(line[-1])
            return line
        out = line.copy()
        frames = out.reshape(-1, FRAME_OCTETS)
        if s.lof:
            frames[:, 0] ^= 0xFF
        if cas and (s.mfas or self._glitch_left):
            self._cas_faults(frames)
        if cas and s.ts16_ais:
            frames[:, 16] = 0xFF
        if s.crc4mf:
            ts0 = frames[:, 0]
            # bit 1 of every frame: the MFAS 001011 of NFAS frames and C1..C4 of FAS frames
            ts0 ^= 0x80
        if s.hdlc_broken:
            for ts in hdlc_timeslots:
                frames[:, ts] ^= self._rng.integers(1, 256, size=len(frames), dtype=np.uint8)
                self.counts.hdlc_octets_corrupted += len(frames)
        if s.crc_errors:
            self._crc_debt += s.crc_errors * BLOCK_SECONDS
            k = min(int(self._crc_debt), len(frames) // 8)
            if k:
                self._crc_debt -= k
                smf = self._rng.choice(len(frames) // 8, size=k, replace=False)
                frames[smf * 8 + 2, 1] ^= 0x10   # a payload bit of TS1: CRC-4 only, no FAS error
                self.counts.crc_errors += k
        if s.ber:
            nbits = out.size * 8
            k = int(self._rng.binomial(nbits, s.ber))
            if k:
                pos = self._rng.integers(0, nbits, size=k)
                np.bitwise_xor.at(out, pos >> 3, (0x80 >> (pos & 7)).astype(np.uint8))
                self.counts.bit_errors += k
        if s.slip_interval:
            self._slip_clock += BLOCK_SECONDS
            if self._slip_clock >= s.slip_interval - 1e-9:
                self._slip_clock -= s.slip_interval
                self._pending_slips.append(-1 if self.counts.slips % 2 == 0 else 1)
        while self._pending_slips:
            kind = self._pending_slips.pop(0)
            frames = out.reshape(-1, FRAME_OCTETS)
            if kind < 0:
                out = frames[1:].reshape(-1)
            else:
                out = np.concatenate([frames, frames[-1:]]).reshape(-1)
            self.counts.slips += 1
        if self._shift and len(out):
            sh = self._shift
            wide = out.astype(np.uint16)
            prev = np.empty_like(wide)
            prev[0] = self._prev
            prev[1:] = wide[:-1]
            self._prev = int(out[-1])
            out = (((prev << (8 - sh)) | (wide >> sh)) & 0xFF).astype(np.uint8)
        elif len(out):
            self._prev = int(out[-1])
        return out

    def _cas_faults(self, frames: np.ndarray) -> None:
        ts16 = frames[:, 16]
        mf0 = (ts16 & 0xF0) == 0              # frame 0 of a CAS multiframe: 0000 X Y X X
        if self._glitch_left:
            n = len(frames)
            start = min(max(self._glitch_at, 0), n)
            stop = min(start + self._glitch_left, n)
            sel = np.zeros(n, dtype=bool)
            sel[start:stop] = True
            sel &= ~mf0
            # a,b = 00 on both channels of the octet, c,d kept with d forced to 1 (never 0000)
            ts16[sel] = (ts16[sel] & 0x33) | 0x11
            self._glitch_left -= stop - start
            self._glitch_at = 0
            self.counts.cas_glitch_frames += stop - start
        if self.settings.mfas:
            ts16[mf0] |= 0xF0


#: FAULT ids of the wire protocol (``drivers.wire.protocol.Fault``) -> injector settings
WIRE_FAULT_SETTINGS: dict[int, str] = {
    1: "los", 2: "ais", 3: "lof", 4: "rai", 5: "ber", 6: "crc_errors", 8: "hdlc_broken",
    9: "mfas", 10: "mrai", 11: "crc4mf", 12: "clock_ppm", 14: "ts16_ais",
}
WIRE_CLEAR, WIRE_SLIP, WIRE_CAS_GLITCH = 0, 7, 13
_NUMERIC = {"ber", "crc_errors", "clock_ppm"}


def apply_wire_fault(inj: FaultInjector, fault: int, value: float) -> None:
    """Do what a FAULT message asks (docs/wire-protocol.md "Faults") on one injector.
    ConfigError for an unknown fault id or a value out of range."""
    if fault == WIRE_CLEAR:
        inj.clear()
    elif fault == WIRE_SLIP:
        inj.slip(-1 if value < 0 else 1)
    elif fault == WIRE_CAS_GLITCH:
        inj.cas_glitch(float(value))
    elif fault in WIRE_FAULT_SETTINGS:
        name = WIRE_FAULT_SETTINGS[fault]
        inj.set(**{name: float(value) if name in _NUMERIC else bool(value)})
    else:
        raise ConfigError(f"unknown fault id {fault}")
