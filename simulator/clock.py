"""Clocks that pace the simulator in 20 ms blocks: virtual (tests) or real (a served card).

A clock drives every card registered with it, block by block, so two cards that
share one clock (a cross-connected pair, like osmo-e1d's vpair) stay in step.
The virtual clock moves only when told (``advance``); the real-time clock
catches up to the wall clock when ``pump`` is called.
"""
from __future__ import annotations

import abc
import time
from typing import Protocol
from collections.abc import Callable

from drivers.base import BLOCK_SECONDS, ConfigError

#: Frames per 20 ms block (8000 frames/s, G.704).
BLOCK_FRAMES = 160


class Steppable(Protocol):
    def step(self, now: float) -> None:
        """Run one 20 ms block that ends at ``now``."""


class Clock(abc.ABC):
    """Base: a block counter, the cards it steps and tickers called after every block."""

    #: "virtual" or "real"
    kind: str = ""

    def __init__(self) -> None:
        self.blocks = 0
        self._cards: list[Steppable] = []
        self._tickers: list[Callable[[float], None]] = []

    def now(self) -> float:
        """Simulated time in seconds: the end of the last block run."""
        return self.blocks * BLOCK_SECONDS

    def attach(self, card: Steppable) -> None:
        """Step ``card`` on every block from now on."""
        if card not in self._cards:
            self._cards.append(card)

    def detach(self, card: Steppable) -> None:
        if card in self._cards:
            self._cards.remove(card)

    def add_ticker(self, fn: Callable[[float], None]) -> None:
        """Call ``fn(now)`` after every block (after every card has stepped)."""
        self._tickers.append(fn)

    def remove_ticker(self, fn: Callable[[float], None]) -> None:
        if fn in self._tickers:
            self._tickers.remove(fn)

    @abc.abstractmethod
    def advance(self, seconds: float) -> int:
        """Run ``seconds`` of blocks now (virtual clocks); returns blocks run."""

    @abc.abstractmethod
    def pump(self, max_blocks: int | None = None) -> int:
        """Run the blocks due by the wall clock (real clocks); returns blocks run."""

    def run_blocks(self, n: int) -> None:
        """Run ``n`` blocks now, whatever the kind of clock."""
        for _ in range(n):
            self.blocks += 1
            now = self.blocks * BLOCK_SECONDS
            for card in tuple(self._cards):
                card.step(now)
            for fn in tuple(self._tickers):
                fn(now)


class VirtualClock(Clock):
    """Time moves only by ``advance``: seconds of line time in milliseconds of CPU."""

    kind = "virtual"

    def __init__(self) -> None:
        super().__init__()
        self._debt = 0.0

    def advance(self, seconds: float) -> int:
        """Run the blocks that fit in ``seconds`` (remainders carry over); returns blocks run."""
        if not isinstance(seconds, (int, float)) or seconds != seconds or seconds < 0:
            raise ConfigError(f"advance needs a non-negative number of seconds, not {seconds!r}")
        self._debt += float(seconds)
        n = int(self._debt / BLOCK_SECONDS + 1e-9)
        self._debt = max(0.0, self._debt - n * BLOCK_SECONDS)
        self.run_blocks(n)
        return n

    def pump(self, max_blocks: int | None = None) -> int:
        """Nothing to catch up with in virtual time."""
        return 0


class RealClock(Clock):
    """Paced by the wall clock (``time.monotonic``): ``pump`` runs the blocks that are due."""

    kind = "real"

    #: never run more than this many blocks in one pump (a stalled process skips, then slips)
    MAX_CATCH_UP = 50

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._monotonic = monotonic
        self._start = monotonic()
        self.skipped_blocks = 0

    def pump(self, max_blocks: int | None = None) -> int:
        """Run the blocks due by the wall clock (at most ``max_blocks``); returns blocks run."""
        due = int((self._monotonic() - self._start) / BLOCK_SECONDS + 1e-9)
        n = due - self.blocks
        if n > self.MAX_CATCH_UP:
            # Too far behind (debugger, suspended process): drop the backlog like a
            # slipping elastic store instead of burning CPU to catch up.
            self.skipped_blocks += n - self.MAX_CATCH_UP
            self._start += (n - self.MAX_CATCH_UP) * BLOCK_SECONDS
            n = self.MAX_CATCH_UP
        if max_blocks is not None:
            n = min(n, max_blocks)
        if n > 0:
            self.run_blocks(n)
        return max(n, 0)

    def next_deadline(self) -> float:
        """Monotonic time at which the next block is due."""
        return self._start + (self.blocks + 1) * BLOCK_SECONDS

    def advance(self, seconds: float) -> int:
        raise ConfigError("a real-time clock cannot be advanced; call pump() from a loop")


def make_clock(clock: str | Clock) -> Clock:
    """A clock from a name ("virtual" | "real") or an existing clock (shared by cards)."""
    if isinstance(clock, Clock):
        return clock
    if clock == "virtual":
        return VirtualClock()
    if clock == "real":
        return RealClock()
    raise ConfigError(f"clock must be 'virtual', 'real' or a simulator.clock.Clock, not {clock!r}")
