"""Call-progress tones (dial, busy, ringback, congestion, voice) heard on every busy trunk circuit.

:class:`ProgressWatch` runs as a server component (:class:`cti.server.CallProgress`, the
same with the plugin base: this floor does not import the plugin protocol). While a trunk span has a circuit in a live call,
one ``_boardcore.tones.CadenceDetector`` for the whole span hears each 20 ms block the span's
signalling stack reads (``Span.add_block_listener``: no second copy of the block, one A-law
decode and one kernel call per span and block, not per circuit); a span whose stack reads no
audio is drained after the stacks' turn so its busy circuits are heard too. A span with no busy
circuit costs nothing. Which circuits are busy is taken from the call model (its trunk
circuits in a call) every
:attr:`ProgressWatch.refresh` seconds; a circuit's detector history is forgotten when it
becomes busy.

What is heard is kept per circuit (:attr:`ProgressWatch.heard`, the last tone recognised),
counted by tone (:attr:`ProgressWatch.counts`) and handed to callbacks added with
:meth:`ProgressWatch.on_tone` (``fn(circuit, tone, time)``): a busy tone on a connected call
whose far end signals no clear (an analogue PBX behind the trunk) is the usual use.

    watch = server.add(CallProgress(country="cn"))           # cti.server.CallProgress
    watch.on_tone(lambda circuit, tone, t: ...)
"""
from __future__ import annotations

import functools
import logging
from collections import Counter
from typing import Any
from collections.abc import Callable

from _boardcore.tones import CadenceDetector
from drivers.base import AudioBlock, Span

log = logging.getLogger(__name__)

Circuit = tuple[int, int]
ToneCallback = Callable[[Circuit, str, float], None]


class _SpanEar:
    """The detector of one span, for the timeslot layout of its blocks."""

    def __init__(self, timeslots: tuple[int, ...], country: str) -> None:
        self.timeslots = timeslots
        self.row = {ts: i for i, ts in enumerate(timeslots)}
        self.det: Any = CadenceDetector(len(timeslots), country=country)


#: a deadline before any time: service every block (the value of cti.plugin.EVERY_BLOCK)
EVERY_BLOCK = float("-inf")


class ProgressWatch:
    """Call-progress detection on every busy trunk circuit (see the module docstring). The
    methods of a server component (``start(host)``, ``stop``, ``deadline``, ``service``);
    ``host`` is anything with ``model`` (its ``adapters`` and ``busy_circuits()``) and ``board``."""

    name = "call-progress"

    def __init__(self, country: str = "cn", refresh: float = 0.2) -> None:
        if refresh <= 0:
            raise ValueError(f"refresh must be > 0 seconds, not {refresh!r}")
        CadenceDetector(1, country=country)          # an unknown country fails here, not per block
        self.country = country
        self.refresh = refresh
        self.spans: dict[int, Span] = {}
        self.heard: dict[Circuit, str] = {}          #: busy circuit -> last tone recognised
        self.counts: Counter[str] = Counter()        #: tones recognised, by name
        self.blocks = 0                              #: span blocks analysed
        self.errors = 0                              #: callbacks that raised (logged)
        self._busy: dict[int, set[int]] = {}         #: span -> busy timeslots
        self._seen: set[Circuit] = set()             #: the model's busy circuits at the last look
        self._fresh: set[Circuit] = set()            #: busy since the last block: reset their history
        self._ears: dict[int, _SpanEar] = {}
        self._hooks: dict[int, Callable[[AudioBlock], None]] = {}
        self._callbacks: list[ToneCallback] = []
        self._next = float("-inf")
        self._model: Any = None

    # ---- Component
    def start(self, host: Any) -> None:
        self._model = host.model
        board = host.board
        if board is None:
            return
        numbers = sorted({span for a in host.model.adapters for span, _ in a.circuits()})
        for n in numbers:
            span = board.span(n)
            if isinstance(span, Span):
                self.spans[n] = span
            else:
                log.warning("span %s: %s hands out no audio blocks; its calls are not heard",
                            n, type(span).__name__)

    def stop(self) -> None:
        for n in list(self._hooks):
            self._unhook(n)

    def deadline(self) -> float | None:
        return EVERY_BLOCK if self.spans else None

    def service(self, now: float) -> None:
        if now >= self._next:
            self._next = now + self.refresh
            self._look(now)
        for n in self._busy:            # blocks no stack read this turn (e.g. a span without DTMF)
            span = self.spans[n]
            try:
                while span.read_audio() is not None:
                    pass
            except Exception:           # a closed or failing span: its stack reports the fault
                log.debug("span %s: call-progress drain failed", n, exc_info=True)

    # ---- API
    def on_tone(self, fn: ToneCallback) -> Callable[[], None]:
        """Call ``fn(circuit, tone, time)`` for every tone recognised on a busy circuit;
        returns a callable that removes it."""
        if not callable(fn):
            raise TypeError("a tone callback is a callable taking (circuit, tone, time)")
        self._callbacks.append(fn)
        return lambda: self._callbacks.remove(fn) if fn in self._callbacks else None

    def busy(self) -> dict[int, set[int]]:
        """Span -> the busy timeslots being listened to (a copy)."""
        return {n: set(ts) for n, ts in self._busy.items()}

    # ---- internals
    def _look(self, now: float) -> None:
        """Which circuits are busy now: listen on their spans, forget those that were freed.
        The model's busy circuits are compared with the last look's as sets (C, about 0.1 ms
        for 3 900 circuits), and only the circuits that changed are visited (a walk over every
        busy circuit every refresh was 1-2 ms, one block in ten, at 128 loaded spans)."""
        cur = set(self._model.busy_circuits())
        added, gone = cur - self._seen, self._seen - cur
        self._seen = cur
        busy, spans = self._busy, self.spans
        for n, ts in gone:
            tss = busy.get(n)
            if tss is None:
                continue
            tss.discard(ts)
            self.heard.pop((n, ts), None)
            self._fresh.discard((n, ts))
            if not tss:
                del busy[n]
                self._unhook(n)
        for circuit in added:
            n, ts = circuit
            if n not in spans:
                continue
            tss = busy.get(n)
            if tss is None:
                tss = busy[n] = set()
            tss.add(ts)
            self._fresh.add(circuit)
            if n not in self._hooks:
                hook = self._hooks[n] = self._hear(n)
                spans[n].add_block_listener(hook)

    def _unhook(self, n: int) -> None:
        hook = self._hooks.pop(n, None)
        if hook is not None:
            self.spans[n].remove_block_listener(hook)

    def _hear(self, n: int) -> Callable[[AudioBlock], None]:
        return functools.partial(self._block, n)      # per busy span and block: no frame of ours

    def _block(self, n: int, blk: AudioBlock) -> None:
        live = self._busy.get(n)
        if not live:
            return
        ear = self._ears.get(n)
        if ear is None or ear.timeslots != blk.timeslots:
            ear = self._ears[n] = _SpanEar(blk.timeslots, self.country)
            self._fresh.update((n, ts) for ts in live)
        if self._fresh:
            for circuit in [c for c in self._fresh if c[0] == n]:
                self._fresh.discard(circuit)
                row = ear.row.get(circuit[1])
                if row is not None:
                    ear.det.reset(row)
        self.blocks += 1
        pcm = blk.pcm()               # decoded once per block, shared with the stacks' detectors
        for ev in ear.det.process(pcm, blk.time):
            ts = blk.timeslots[ev.channel]
            if ts not in live:
                continue
            circuit = (n, ts)
            self.heard[circuit] = ev.tone
            self.counts[ev.tone] += 1
            for fn in tuple(self._callbacks):
                try:
                    fn(circuit, ev.tone, ev.time)
                except Exception:
                    self.errors += 1
                    log.exception("call-progress callback %r on %s/%s", fn, *circuit)
