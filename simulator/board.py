"""The "sim" backend: an in-process simulated E1 card (:mod:`simulator.card`).

drivers/ names it in its registry (``"sim": ("simulator.board", "SimBoard")``) and never
imports it: the simulator sits above the drivers' floor.

    board = drivers.open("sim", spans=2)                 # virtual time
    board.span(0).set_cas(1, 0x1)
    board.advance(0.1)                                   # 5 blocks of 20 ms
    board.far_end(0).cas(1)                              # what the network sees -> 0x1
    board.faults(0).los = True                           # the line toward the board fails

``clock="real"`` paces it by the wall clock instead: call :meth:`SimBoard.pump`
from a loop (every few ms) and it runs the blocks that are due.
"""
from __future__ import annotations

import heapq
from collections.abc import AsyncIterator, Callable, Iterable, Sequence

from drivers.base import BLOCK_SECONDS, Board, BoardClosed, BoardEvent, ConfigError, Span, SpanConfig

from .card import TOWARD_BOARD, Card
from .clock import Clock, RealClock
from .e1wire import DEFAULT_IDLE_ABCD, Endpoint
from .faults import FaultInjector


class SimBoard(Board):
    """A simulated card with ``spans`` E1 spans, far ends reachable for a simulated exchange."""

    backend = "sim"

    def __init__(self, spans: int = 2, config: SpanConfig | Sequence[SpanConfig] | None = None,
                 clock: str | Clock = "virtual", seed: int = 0,
                 cross_connect: Iterable[tuple[int, int]] = (),
                 idle_abcd: int = DEFAULT_IDLE_ABCD) -> None:
        self.card = Card(spans, config, clock, seed, idle_abcd)
        self._spans: tuple[Endpoint, ...] = tuple(sl.near for sl in self.card.spans)
        self._queued = [0]            # events queued on any span (Endpoint.queued), and at the last poll
        self._polled = 0
        for ep in self._spans:
            ep.queued = self._queued
        for pair in cross_connect:
            try:
                a, b = pair
            except (TypeError, ValueError):
                raise ConfigError(f"cross_connect entries are (span, span) pairs, not {pair!r}") from None
            self.card.cross_connect(a, self.card, b)

    # ---------------------------------------------------------------- Board API
    @property
    def spans(self) -> tuple[Span, ...]:
        return self._spans

    @property
    def clock(self) -> Clock:
        return self.card.clock

    def now(self) -> float:
        return self.card.clock.now()

    def poll_events(self) -> list[BoardEvent]:
        self.card.check_open()
        # every loop turn, usually nothing queued on any span: one count says so
        n = self._queued[0]
        if n == self._polled:
            return []
        self._polled = n
        return _merge([ep.poll_events() for ep in self._spans if ep.events])

    def advance(self, seconds: float) -> None:
        """Run the card (and every card sharing its clock) ``seconds`` forward in virtual time."""
        self.card.check_open()
        if self.card.clock.kind != "virtual":
            return super().advance(seconds)
        self.card.clock.advance(seconds)

    def pump(self, max_blocks: int | None = None) -> int:
        """Real-time clock: run the blocks due by the wall clock (at most ``max_blocks``);
        returns how many ran."""
        self.card.check_open()
        return self.card.clock.pump(max_blocks)

    def next_block(self) -> float:
        """Monotonic time (``time.monotonic()``) at which a real-time card's next block is due,
        so a loop can sleep until then; a virtual card runs only when advanced: now."""
        import time
        clock = self.card.clock
        return clock.next_deadline() if isinstance(clock, RealClock) else time.monotonic()

    def close(self) -> None:
        self.card.close()

    async def events(self, interval: float = BLOCK_SECONDS) -> AsyncIterator[BoardEvent]:
        """Async iteration of events; a real-time board is pumped between polls."""
        import asyncio

        while True:
            if self.card.clock.kind == "real":
                self.pump()
            for ev in self.poll_events():
                yield ev
            await asyncio.sleep(interval)

    # ---------------------------------------------------------------- simulator extras
    def far_end(self, n: int) -> Endpoint:
        """The network side of span ``n``: the Span API as the exchange sees the line."""
        self.card.check_open()
        return self.card.far(n)

    def faults(self, n: int, toward: str = TOWARD_BOARD) -> FaultInjector:
        """Span ``n``'s fault injector toward the board (default) or toward the network."""
        return self.card.faults(n, toward)

    def add_ticker(self, fn: Callable[[float], None]) -> None:
        """Call ``fn(now)`` after every 20 ms block."""
        if not callable(fn):
            raise TypeError("a ticker is a callable taking the board time")
        self.card.add_ticker(fn)

    def remove_ticker(self, fn: Callable[[float], None]) -> None:
        self.card.clock.remove_ticker(fn)

    def cross_connect(self, span: int, other: SimBoard, other_span: int) -> None:
        """Wire ``span`` back to back with ``other_span`` of ``other`` (both on one clock)."""
        if not isinstance(other, SimBoard):
            raise ConfigError(f"can only cross-connect to a SimBoard, not {type(other).__name__}")
        self.card.cross_connect(span, other.card, other_span)

    def __repr__(self) -> str:
        return f"<SimBoard spans={len(self._spans)} clock={self.card.clock.kind} t={self.now():.2f}s>"


def _merge(lists: list[list[BoardEvent]]) -> list[BoardEvent]:
    """Merge per-span event lists (each in time order) into one, stable by time."""
    if sum(1 for lst in lists if lst) <= 1:
        return [ev for lst in lists for ev in lst]
    return list(heapq.merge(*lists, key=lambda ev: ev.time))


__all__ = ["SimBoard", "BoardClosed"]
