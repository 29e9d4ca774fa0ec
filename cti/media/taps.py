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
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

from drivers.base import VOICE_TIMESLOTS, Span

log = logging.getLogger(__name__)

Listener = Callable[[bytes, float], None]
Circuit = tuple[int, int]


class SpanTaps:
    """Per-circuit listeners on the audio read from a set of spans (see the module docstring)."""

    def __init__(self, spans: Mapping[int, Span] | None = None) -> None:
        self.spans: dict[int, Span] = {}
        self._listeners: dict[Circuit, list[Listener]] = {}
        self._errors0: dict[int, int] = {}          #: span -> its listener errors when tapped
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
        # the span calls ``fn`` itself (no hook of ours in between: one Python call per
        # circuit and block fewer), each listener's failure its own (Span.audio_listener_errors)
        self.spans[span].add_audio_listener(ts, fn)
        self._listeners.setdefault(key, []).append(fn)

        def stop() -> None:
            fns = self._listeners.get(key)
            if fns is not None and fn in fns:
                fns.remove(fn)
                if not fns:
                    del self._listeners[key]
                self.spans[span].remove_audio_listener(ts, fn)
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
