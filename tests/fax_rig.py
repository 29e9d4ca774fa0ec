"""Test rig for faxes across the simulated network: two timeslots of a simulated card wired back
to back (span 0 <-> span 1), a FaxRunner on each, and audio impairments on the way.

:class:`Impairment` degrades what one side sends before it reaches the line, as a noisy
analogue tail would: a gain in dB (level), white noise at a level in dBm0, and dropped
20 ms blocks (replaced by silence, counted). Seeded, so a run is reproducible.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

import drivers
from _boardcore import g711

from cti.fax.runner import FaxRunner


@dataclass
class Impairment:
    gain_db: float = 0.0
    noise_dbm0: float | None = None
    drop_every: int = 0          #: drop one block in this many (0: never)
    drop_blocks: tuple[int, ...] = ()   #: or exactly these block numbers
    seed: int = 1
    dropped: int = 0
    _n: int = 0
    _rng: Any = field(default=None, repr=False)

    def apply(self, alaw: bytes) -> bytes:
        if self._rng is None:
            self._rng = np.random.default_rng(self.seed)
        self._n += 1
        if (self.drop_every and self._n % self.drop_every == 0) or self._n in self.drop_blocks:
            self.dropped += 1
            return b"\xd5" * len(alaw)
        if not self.gain_db and self.noise_dbm0 is None:
            return alaw
        x = g711.alaw_decode(np.frombuffer(alaw, np.uint8)).astype(np.float64)
        x *= 10 ** (self.gain_db / 20)
        if self.noise_dbm0 is not None:
            # 0 dBm0 sine peak is 3.14 dB below A-law overload (32768 * 0.7 rms ~ 22900/sqrt2)
            rms = 32768 * 10 ** (-3.14 / 20) / np.sqrt(2) * 10 ** (self.noise_dbm0 / 20)
            x += self._rng.normal(0.0, rms, len(x))
        return bytes(g711.alaw_encode(np.clip(x, -32768, 32767).astype(np.int16)))


def make_document(path: Path, pages: int = 3, *, fine: bool = False, width: int = 1728, length: int = 1100,
                  seed: int = 7) -> Path:
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(pages):
        im = Image.new("1", (width, length), 1)
        d = ImageDraw.Draw(im)
        d.text((120, 80), f"e1cti fax test page {i + 1} of {pages}", fill=0)
        for _ in range(25):
            x0, y0 = int(rng.integers(0, width - 300)), int(rng.integers(120, length - 200))
            d.rectangle((x0, y0, x0 + int(rng.integers(20, 300)), y0 + int(rng.integers(5, 200))), outline=0,
                        width=int(rng.integers(1, 4)))
        frames.append(im)
    frames[0].save(path, compression="group4", save_all=True, append_images=frames[1:],
                   dpi=(204, 196 if fine else 98))
    return path


class _Wire:
    """Two timeslots joined directly, one block of delay each way (no E1 framing: the twins'
    framer is slow in pure Python, and the fax engine's figures do not depend on it)."""

    def __init__(self) -> None:
        self.t = 0.0
        self.q: dict[tuple[int, int], list[bytes]] = {}
        self.spans = [self._Span(self, 0), self._Span(self, 1)]

    class _Span:
        def __init__(self, wire: _Wire, n: int) -> None:
            self.wire, self.n = wire, n

        def write_audio(self, ts: int, alaw: bytes) -> None:
            self.wire.q.setdefault((1 - self.n, ts), []).append(bytes(alaw))

        def read_audio(self, timeslots: list[int]) -> Any:
            q = self.wire.q.get((self.n, timeslots[0]))
            if not q:
                return None
            data = q.pop(0)
            return type("Blk", (), {"timeslot": lambda _self, ts: data})()

    def span(self, n: int) -> _Wire._Span:
        return self.spans[n]

    def advance(self, seconds: float) -> None:
        self.t += seconds

    def now(self) -> float:
        return self.t


class Rig:
    """Span 0 TS ``ts`` <-> span 1 TS ``ts`` of one simulated card (``wire=True``: joined directly),
    a FaxRunner on each end."""

    def __init__(self, ts: int = 5, a_to_b: Impairment | None = None, b_to_a: Impairment | None = None,
                 wire: bool = False, **runner_kw: Any) -> None:
        self.board: Any = _Wire() if wire else drivers.open("sim", spans=2, cross_connect=[(0, 1)])
        self.ts = ts
        self.imp = {(0, ts): a_to_b or Impairment(), (1, ts): b_to_a or Impairment()}
        self.a = FaxRunner(self._writer, **runner_kw)
        self.b = FaxRunner(self._writer, **runner_kw)
        self.events: list[Any] = []
        self.hung_up = False

    def _writer(self, circuit: tuple[int, int], alaw: bytes) -> None:
        if not self.hung_up:
            self.board.span(circuit[0]).write_audio(circuit[1], self.imp[circuit].apply(alaw))

    def step(self) -> None:
        self.board.advance(0.02)
        now = self.board.now()
        for n, runner in ((0, self.a), (1, self.b)):
            span = self.board.span(n)
            while (blk := span.read_audio([self.ts])) is not None:
                runner.audio((n, self.ts), blk.timeslot(self.ts), now)
            self.events += runner.tick(now)

    def run(self, seconds: float, until_done: bool = True) -> list[Any]:
        for _ in range(int(seconds / 0.02)):
            self.step()
            if until_done and not self.a.jobs and not self.b.jobs:
                break
        return self.events

    def of(self, call: str, kind: str) -> list[Any]:
        return [e for e in self.events if getattr(e, "call", None) == call and type(e).__name__ == kind]
