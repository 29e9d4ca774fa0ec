"""E1 tie spans between two simulated boards: how multi-chassis board systems (and PBX tie
lines) join two nodes' cards.

A :class:`TieSpan` wires span ``a`` of one :class:`~simulator.board.SimBoard` to span ``b`` of
another, back to back (:meth:`simulator.card.Card.cross_connect`): every frame one board
transmits on the span is what the other receives, TS16 included, so any signalling the two
ends run over it (PRI: network side on one node, user side on the other) is carried as on a
real tie cable. The two boards must share one clock (:func:`shared_clock`): cards on one E1
wire run from one timing source.

:meth:`TieSpan.cut` models the death of the node that owns board ``b`` (kill -9 of its
process, its host powered off): its card stops transmitting (it leaves the clock), so board
``a`` receives no frames on the tie span any more (loss of signal) and its signalling stack
sees the link go down, exactly what the far end's death looks like on the wire.

    clock = shared_clock()
    board_a = SimBoard(spans=2, clock=clock, config=[...])
    board_b = SimBoard(spans=1, clock=clock, config=[...])
    tie = TieSpan(board_a, 1, board_b, 0)        # a's span 1 <-> b's span 0
"""
from __future__ import annotations

from drivers.base import ConfigError

from .board import SimBoard
from .clock import Clock, RealClock, VirtualClock


def shared_clock(kind: str = "virtual") -> Clock:
    """One clock for the boards of a tie (``virtual`` for tests, ``real`` paced by the wall clock)."""
    if kind == "virtual":
        return VirtualClock()
    if kind == "real":
        return RealClock()
    raise ConfigError(f"clock must be 'virtual' or 'real', not {kind!r}")


class TieSpan:
    """Span ``span_a`` of ``a`` wired to span ``span_b`` of ``b`` (see the module docstring)."""

    def __init__(self, a: SimBoard, span_a: int, b: SimBoard, span_b: int) -> None:
        if a is b:
            raise ConfigError("a tie span joins two boards; for one board use cross_connect")
        if a.card.clock is not b.card.clock:
            raise ConfigError("the boards of a tie span must share one clock (simulator.tie.shared_clock())")
        a.cross_connect(span_a, b, span_b)
        self.a, self.span_a, self.b, self.span_b = a, span_a, b, span_b
        self.cut_at: float | None = None

    def cut(self) -> None:
        """Board ``b``'s node dies: its card stops transmitting (and receiving) on every span."""
        if self.cut_at is None:
            self.cut_at = self.a.now()
            self.b.card.clock.detach(self.b.card)

    def __repr__(self) -> str:
        state = "" if self.cut_at is None else f" cut at {self.cut_at:.2f}s"
        return f"<TieSpan {self.span_a} <-> {self.span_b}{state}>"


__all__ = ["TieSpan", "shared_clock"]
