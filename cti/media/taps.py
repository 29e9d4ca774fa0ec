"""Listening to trunk timeslots without taking their audio from the signalling stacks.

A board hands each received 20 ms block out once (``Span.read_audio`` moves a cursor), and
the trunk adapters read every block first (MFC, DTMF). The Board API hands every block read
to a span's audio listeners (``Span.add_audio_listener``); :class:`SpanTaps` keeps the
contact centre's listeners per ``(span, timeslot)`` circuit on the spans it is given. After
the stacks have had their turn in a block, :meth:`SpanTaps.drain` reads what nobody read (so
listeners hear every block even on a span no stack reads). Line echo is cancelled below, in
the Board API, so the stacks and the listeners hear the same cancelled signal.

    taps = SpanTaps({0: board.span(0)})
    stop = taps.listen((0, 5), lambda alaw, t: ...)     # 160 A-law octets per call, block time
    stop()                                              # unsubscribe
    stop = taps.feed((0, 5), rx_deque)                  # rx_deque.append(alaw) per block: one
                                                        # block listener per span, no call per circuit
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Protocol

from drivers.base import BLOCK_OCTETS, VOICE_TIMESLOTS, AudioBlock, Span, _positions

log = logging.getLogger(__name__)

Listener = Callable[[bytes, float], None]
Circuit = tuple[int, int]


class Sink(Protocol):
    """Where :meth:`SpanTaps.feed` appends a circuit's blocks (a ``deque``, a ``list``)."""

    def append(self, block: bytes, /) -> None: ...


def _fan(rows: dict[int, list[Sink]], blk: AudioBlock) -> None:
    """One span's block to the sinks of its timeslots (a block listener: one call per span)."""
    data = blk.data
    pos = _positions(blk.timeslots)
    for ts, sinks in rows.items():
        i = pos.get(ts)
        if i is not None:
            row = data[i * BLOCK_OCTETS:(i + 1) * BLOCK_OCTETS]
            for sink in sinks:
                sink.append(row)


class SpanTaps:
    """Per-circuit listeners on the audio read from a set of spans (see the module docstring)."""

    def __init__(self, spans: Mapping[int, Span] | None = None) -> None:
        self.spans: dict[int, Span] = {}
        self._listeners: dict[Circuit, list[object]] = {}   #: listeners and fed sinks (their append)
        self._circuits: dict[int, int] = {}         #: span -> its circuits with listeners (drain)
        self._errors0: dict[int, int] = {}          #: span -> its listener errors when tapped
        self._rows: dict[int, dict[int, list[Sink]]] = {}    #: span -> timeslot -> sinks (feed)
        self._fans: dict[int, Callable[[AudioBlock], None]] = {}
        for n, span in (spans or {}).items():
            self.tap(n, span)

    def tap(self, number: int, span: object) -> bool:
        """Listen on ``span`` as span number ``number``; False when it is not a Board API span
        (a test double without audio listeners: nobody hears it)."""
        if number in self.spans:
            return True
        if not isinstance(span, Span):
            log.warning("span %s: %s has no audio listeners; nobody hears it", number, type(span).__name__)
            return False
        self.spans[number] = span
        self._errors0[number] = span.audio_listener_errors
        return True

    @property
    def errors(self) -> int:
        """Listener calls on the tapped spans that raised since they were tapped (each logged by
        the span; the other listeners were still called)."""
        return sum(sp.audio_listener_errors - self._errors0.get(n, 0) for n, sp in self.spans.items())

    def listen(self, circuit: Circuit, fn: Listener) -> Callable[[], None]:
        """Call ``fn(alaw_block, time)`` with every 20 ms block received on ``circuit``;
        returns a callable that unsubscribes (idempotent)."""
        if not callable(fn):
            raise TypeError("a listener is a callable taking (bytes, float)")
        span, ts = self._check(circuit)
        key = (span, ts)
        # the span calls ``fn`` itself (no hook of ours in between: one Python call per
        # circuit and block fewer), each listener's failure its own (Span.audio_listener_errors)
        self.spans[span].add_audio_listener(ts, fn)
        self._add(key, fn)

        def stop() -> None:
            if self._remove(key, fn):
                self.spans[span].remove_audio_listener(ts, fn)
        return stop

    def feed(self, circuit: Circuit, sink: Sink) -> Callable[[], None]:
        """Append every 20 ms block received on ``circuit`` to ``sink`` (``sink.append(alaw)``,
        a bounded ``deque`` for instance): what :meth:`listen` does for a consumer that only
        queues the blocks, without a Python call per circuit and block. The span's circuits
        fed so share one block listener that slices each block once per fed timeslot (the
        bridges: two or three circuits per bridged call, every block). Returns a callable that
        unsubscribes (idempotent); :meth:`listening` counts sinks as listeners."""
        if not callable(getattr(sink, "append", None)):
            raise TypeError("a sink has an append(block) method (a deque, a list)")
        span, ts = self._check(circuit)
        key = (span, ts)
        rows = self._rows.get(span)
        if rows is None:
            rows = self._rows[span] = {}
            fan = self._fans[span] = partial(_fan, rows)
            self.spans[span].add_block_listener(fan)
        rows.setdefault(ts, []).append(sink)
        self._add(key, sink.append)
        token = sink.append

        def stop() -> None:
            sinks = rows.get(ts)
            if sinks is None or sink not in sinks or not self._remove(key, token):
                return
            sinks.remove(sink)
            if not sinks:
                del rows[ts]
            if not rows and self._rows.get(span) is rows:
                del self._rows[span]
                self.spans[span].remove_block_listener(self._fans.pop(span))
        return stop

    def _add(self, key: Circuit, fn: object) -> None:
        fns = self._listeners.get(key)
        if fns is None:
            fns = self._listeners[key] = []
            self._circuits[key[0]] = self._circuits.get(key[0], 0) + 1
        fns.append(fn)

    def _remove(self, key: Circuit, fn: object) -> bool:
        fns = self._listeners.get(key)
        if fns is None or fn not in fns:
            return False
        fns.remove(fn)
        if not fns:
            del self._listeners[key]
            left = self._circuits[key[0]] - 1
            if left:
                self._circuits[key[0]] = left
            else:
                del self._circuits[key[0]]
        return True

    def _check(self, circuit: Circuit) -> tuple[int, int]:
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
        return span, ts

    def listening(self, circuit: Circuit) -> int:
        """How many listeners ``circuit`` has."""
        return len(self._listeners.get(circuit, ()))

    def drain(self, also: Iterable[int] = ()) -> None:
        """Read (and hand to listeners) the blocks nobody read on spans that have listeners, and
        on the spans ``also`` (spans only we read, kept from overrunning their receive ring)."""
        busy = self._circuits.keys() | set(also)       # kept per span: no walk over every circuit
        for n in sorted(busy):
            span = self.spans.get(n)
            if span is None:
                continue
            try:
                while span.read_audio() is not None:
                    pass
            except Exception:       # a closed or failing span: its stack reports the fault
                log.debug("span %s: drain failed", n, exc_info=True)
