"""A virtual E1 card: N spans clocked at 8000 frames/s through the real framer kernels.

Each span has a *near* endpoint (the board side: what the driver API sees) and a
*far* endpoint (the network side, where a simulated exchange attaches), joined by
two :class:`~simulator.e1wire.Line` objects, each with its own fault injector. A span
can instead be cross-connected to a span of another card, or to another span of
the same card, like osmo-e1d's vpair: the near ends then talk to each other and
the far ends are left without signal.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from drivers.base import BoardClosed, ConfigError, SpanConfig

from .clock import Clock, make_clock
from .faults import FaultInjector
from .e1wire import DEFAULT_IDLE_ABCD, Endpoint, Line

#: the two directions of a span's line, named by where the bits go
TOWARD_BOARD = "board"
TOWARD_NETWORK = "network"


def span_config(c: SpanConfig | dict[str, Any]) -> SpanConfig:
    """A SpanConfig, or one built from a dict (a TOML table) with the same keys."""
    if isinstance(c, SpanConfig):
        return c
    if isinstance(c, dict):
        try:
            d = dict(c)
            if "hdlc_timeslots" in d:
                d["hdlc_timeslots"] = tuple(d["hdlc_timeslots"])
            return SpanConfig(**d)
        except TypeError as exc:
            raise ConfigError(f"span config {c!r}: {exc}") from None
    raise ConfigError(f"a span config is a SpanConfig or a dict, not {type(c).__name__}")


class SimSpanLine:
    """One span of the card: two endpoints, two directions, two fault injectors."""

    def __init__(self, number: int, config: SpanConfig, seed: int, idle_abcd: int) -> None:
        self.number = number
        self.config = config
        self.near = Endpoint(number, config, "near", idle_abcd)
        self.far = Endpoint(number, config, "far", idle_abcd)
        self.faults = {
            TOWARD_BOARD: FaultInjector(seed=seed * 2 + 1),
            TOWARD_NETWORK: FaultInjector(seed=seed * 2 + 2),
        }
        #: lines whose transmitter is on this card (stepped by this card)
        self.lines: list[Line] = [
            Line(self.near, self.far, self.faults[TOWARD_NETWORK]),
            Line(self.far, self.near, self.faults[TOWARD_BOARD]),
        ]
        self.peer: tuple[Card, int] | None = None


class Card:
    """N simulated spans stepped block by block by a (shared) clock."""

    def __init__(self, spans: int = 2, config: SpanConfig | Sequence[SpanConfig] | None = None,
                 clock: str | Clock = "virtual", seed: int = 0,
                 idle_abcd: int = DEFAULT_IDLE_ABCD) -> None:
        if isinstance(spans, bool) or not isinstance(spans, int) or not 1 <= spans <= 256:
            raise ConfigError(f"spans must be an int in 1..256, not {spans!r}")
        if config is None:
            configs = [SpanConfig()] * spans
        elif isinstance(config, (SpanConfig, dict)):
            configs = [span_config(config)] * spans
        else:
            configs = [span_config(c) for c in config]
            if len(configs) != spans:
                raise ConfigError(f"config must be a SpanConfig or a list of {spans} SpanConfig")
        self.clock = make_clock(clock)
        self.spans = [SimSpanLine(i, c, seed * 1000 + i, idle_abcd) for i, c in enumerate(configs)]
        self.closed = False
        self.clock.attach(self)

    # ---------------------------------------------------------------- stepping
    def step(self, now: float) -> None:
        """Run one 20 ms block on every line this card transmits on."""
        for sl in self.spans:
            for line in sl.lines:
                line.step(now)

    def now(self) -> float:
        return self.clock.now()

    def add_ticker(self, fn: Callable[[float], None]) -> None:
        self.clock.add_ticker(fn)

    # ---------------------------------------------------------------- access
    def span_line(self, n: int) -> SimSpanLine:
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < len(self.spans):
            raise ConfigError(f"span {n!r} out of range 0..{len(self.spans) - 1}")
        return self.spans[n]

    def near(self, n: int) -> Endpoint:
        return self.span_line(n).near

    def far(self, n: int) -> Endpoint:
        return self.span_line(n).far

    def faults(self, n: int, toward: str = TOWARD_BOARD) -> FaultInjector:
        """The fault injector on span ``n``'s line toward the board (default) or the network."""
        sl = self.span_line(n)
        if toward not in sl.faults:
            raise ConfigError(f"toward must be {TOWARD_BOARD!r} or {TOWARD_NETWORK!r}, not {toward!r}")
        return sl.faults[toward]

    # ---------------------------------------------------------------- wiring
    def cross_connect(self, n: int, other: Card, m: int) -> None:
        """Wire span ``n`` of this card to span ``m`` of ``other`` (or of this card) back to back.

        The near ends then exchange frames directly (each direction keeps the fault
        injector "toward board" of its receiving span); the far ends get no signal.
        ``n == m`` on the same card is a loopback plug. Both cards must share a clock.
        """
        if not isinstance(other, Card):
            raise ConfigError(f"cross_connect needs a simulator Card, not {type(other).__name__}")
        if other.clock is not self.clock:
            raise ConfigError("cross-connected cards must share one clock (pass clock=<Clock>)")
        a, b = self.span_line(n), other.span_line(m)
        if a.peer is not None or b.peer is not None:
            raise ConfigError("span already cross-connected")
        if a.config != b.config:
            raise ConfigError(f"cannot cross-connect spans with different configs: {a.config} vs {b.config}")
        if a is b:
            a.lines = [Line(a.near, a.near, a.faults[TOWARD_BOARD]),
                       Line(None, a.far, a.faults[TOWARD_NETWORK])]
        else:
            a.lines = [Line(a.near, b.near, b.faults[TOWARD_BOARD]),
                       Line(None, a.far, a.faults[TOWARD_NETWORK])]
            b.lines = [Line(b.near, a.near, a.faults[TOWARD_BOARD]),
                       Line(None, b.far, b.faults[TOWARD_NETWORK])]
        a.peer = (other, m)
        b.peer = (self, n)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.clock.detach(self)
        for sl in self.spans:
            sl.near.close()
            sl.far.close()

    def check_open(self) -> None:
        if self.closed:
            raise BoardClosed("the simulated card is closed")
