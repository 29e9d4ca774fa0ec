"""Listening to trunk timeslots without taking their audio from the signalling stacks.

A board hands each received 20 ms block out once (``Span.read_audio`` moves a cursor), and
the trunk adapters read every block first (MFC, DTMF). :class:`SpanTaps` wraps the
``read_audio`` of the spans it is given so that every block read by anyone is also handed,
timeslot by timeslot, to the listeners of that ``(span, timeslot)`` circuit. After the
stacks have had their turn in a block, :meth:`SpanTaps.drain` reads what nobody read (so
listeners hear every block even on a span no stack reads).

    taps = SpanTaps({0: board.span(0)})
    stop = taps.listen((0, 5), lambda alaw, t: ...)     # 160 A-law octets per call, block time
    stop()                                              # unsubscribe
"""
from __future__ import annotations

import logging
from typing import Any
from collections.abc import Callable, Iterable, Mapping

from drivers.base import BLOCK_OCTETS, VOICE_TIMESLOTS, HostEcho, Span

log = logging.getLogger(__name__)

Listener = Callable[[bytes, float], None]
Circuit = tuple[int, int]


class SpanTaps:
    """Per-circuit listeners on the audio read from a set of spans (see the module docstring)."""

    def __init__(self, spans: Mapping[int, Any] | None = None) -> None:
        self.spans: dict[int, Any] = {}
        self._listeners: dict[Circuit, list[Listener]] = {}
        self.errors = 0          #: listeners that raised (logged, the others still called)
        for n, span in (spans or {}).items():
            self.tap(n, span)

    def tap(self, number: int, span: Any) -> bool:
        """Wrap ``span.read_audio`` (span number ``number``); False when it cannot be wrapped."""
        if number in self.spans:
            return True
        inner = getattr(span, "read_audio", None)
        if inner is None:
            return False
        # G.168 echo cancellation where media enters: on the timeslots given an
        # ``echo_canceller`` setting, the stacks (DTMF, IVR barge-in), the recorders and the
        # supervisors all hear the cancelled signal; what is written is its reference
        echo = HostEcho(span) if isinstance(span, Span) and not span.echo_on_card else None
        write = getattr(span, "write_audio", None)

        def read(*args: Any, _inner: Any = inner, _n: int = number, **kw: Any) -> Any:
            blk = _inner(*args, **kw)
            if blk is not None and echo is not None and span.echo_configs():
                blk = echo.received(blk)
            if blk is not None and self._listeners:
                self._heard(_n, blk)
            return blk

        def sent(ts: int, alaw: bytes, _write: Any = write) -> None:
            _write(ts, alaw)
            if echo is not None:
                echo.sent(ts, alaw)
        try:
            span.read_audio = read
            if echo is not None and write is not None:
                span.write_audio = sent
        except AttributeError:
            log.warning("span %s: its read_audio cannot be tapped; nobody hears it", number)
            return False
        self.spans[number] = span
        return True

    def listen(self, circuit: Circuit, fn: Listener) -> Callable[[], None]:
        """Call ``fn(alaw_block, time)`` with every 20 ms block received on ``circuit``;
        returns a callable that unsubscribes (idempotent)."""
        if not callable(fn):
            raise TypeError("a listener is a callable taking (bytes, float)")
        try:
            span, ts = circuit
        except (TypeError, ValueError):
            raise ValueError(f"a circuit is a (span, timeslot) pair, not {circuit!r}") from None
        if isinstance(span, bool) or isinstance(ts, bool) or not isinstance(span, int) or not isinstance(ts, int):
            raise TypeError(f"a circuit is a pair of ints, not {circuit!r}")
        if ts not in VOICE_TIMESLOTS:
            raise ValueError(f"timeslot {ts} is not a voice timeslot (1-15, 17-31)")
        if span not in self.spans:
            raise ValueError(f"span {span} is not tapped (tapped: {sorted(self.spans)})")
        key = (span, ts)
        self._listeners.setdefault(key, []).append(fn)

        def stop() -> None:
            fns = self._listeners.get(key)
            if fns is not None and fn in fns:
                fns.remove(fn)
                if not fns:
                    del self._listeners[key]
        return stop

    def listening(self, circuit: Circuit) -> int:
        """How many listeners ``circuit`` has."""
        return len(self._listeners.get(circuit, ()))

    def drain(self, also: Iterable[int] = ()) -> None:
        """Read (and hand to listeners) the blocks nobody read on spans that have listeners, and
        on the spans ``also`` (spans only we read, kept from overrunning their receive ring)."""
        busy = {sp for sp, _ in self._listeners} | set(also)
        for n in sorted(busy):
            span = self.spans.get(n)
            if span is None:
                continue
            try:
                while span.read_audio() is not None:
                    pass
            except Exception:       # a closed or failing span: its stack reports the fault
                log.debug("span %s: drain failed", n, exc_info=True)

    def _heard(self, span: int, blk: Any) -> None:
        for i, ts in enumerate(blk.timeslots):
            fns = self._listeners.get((span, ts))
            if not fns:
                continue
            data = bytes(blk.data[i * BLOCK_OCTETS:(i + 1) * BLOCK_OCTETS])
            for fn in tuple(fns):
                try:
                    fn(data, blk.time)
                except Exception:
                    self.errors += 1
                    log.exception("audio listener on %s/%s", span, ts)
