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


@dataclass
class FaultCounts:
    """What the injector did (tests compare these with the deframer's counters)."""

    bit_errors: int = 0
    crc_errors: int = 0
    slips: int = 0
    bit_slips: int = 0
    hdlc_octets_corrupted: int = 0


@dataclass
class FaultSettings:
    """Persistent fault settings (also the ``[[faults]]`` TOML table of a simulator config)."""

    los: bool = False
    ais: bool = False
    lof: bool = False
    rai: bool = False
    hdlc_broken: bool = False
    ber: float = 0.0              #: bit error ratio, 0 <= ber <= 0.5
    crc_errors: float = 0.0       #: CRC-4 sub-multiframe errors injected per second (<= 1000)
    slip_interval: float = 0.0    #: seconds between controlled slips (0: none)

    def validate(self) -> FaultSettings:
        for name in ("los", "ais", "lof", "rai", "hdlc_broken"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"fault {name!r} must be true or false, not {getattr(self, name)!r}")
        for name, hi in (("ber", 0.5), ("crc_errors", 1000.0), ("slip_interval", 1e9)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= hi:
                raise ConfigError(f"fault {name!r} must be a number in 0..{hi:g}, not {v!r}")
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

    @property
    def active(self) -> bool:
        s = self.settings
        return bool(s.los or s.ais or s.lof or s.hdlc_broken or s.ber or s.crc_errors
                    or s.slip_interval or self._pending_slips or self._shift)

    # ---- the data path ----
    def apply(self, line: np.ndarray, hdlc_timeslots: Iterable[int] = ()) -> np.ndarray:
        """Fault one block of framer output (uint8, whole aligned frames); may change its length."""
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
