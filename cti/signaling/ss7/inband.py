"""In-band DTMF on connected SS7 circuits (ISUP carries no digits after answer).

Drains every span's received audio each service turn (so the board's buffers never grow)
and runs the DTMF detector (the ``_boardcore.dtmf`` kernel: compiled, or its twin) on the
connected circuits, reporting :class:`DigitsReceived` on digit start.

One multi-channel detector per span, fed the whole block (every timeslot the block carries)
in one call: on a loaded span that is one kernel call and one A-law decode per 20 ms instead
of one of each per circuit plus a Python loop over every detector of every span (measured by
bench/bench_capacity.py: the per-circuit form cost 10 % of a loaded server at 16 spans and
grew with spans x circuits). Digits on channels without a connected call are not reported;
a channel's history is forgotten when its call starts. A span with no connected call is
passed over (``Span.skip_audio``: no block copied, listeners still hear theirs).
"""
from __future__ import annotations

from typing import Any
from collections.abc import Sequence

import numpy as np

from _boardcore.dtmf import DtmfDetector
from cti.signaling.trunk import Circuit, DigitsReceived
from drivers.base import Span


class _SpanDetector:
    """The detector of one span, for the timeslot layout of its blocks."""

    def __init__(self, timeslots: tuple[int, ...]) -> None:
        self.timeslots = timeslots
        self.row = {ts: i for i, ts in enumerate(timeslots)}
        self.det: Any = DtmfDetector(len(timeslots))


class InbandDigits:
    """DTMF detection on the connected circuits of ``spans``."""

    def __init__(self, spans: Sequence[Span]) -> None:
        self.spans = list(spans)
        self.detectors: dict[Circuit, bool] = {}      #: connected circuits (the value: history to forget)
        self._per_span: dict[int, _SpanDetector] = {}
        self._active: dict[int, set[int]] = {}        #: span number -> connected timeslots
        self._fresh: dict[int, set[int]] = {}         #: span number -> connected since its last block
        self._rows: dict[int, Any] = {}               #: span number -> detector rows of _active (sorted)

    def start(self, circuit: Circuit) -> None:
        if circuit not in self.detectors and self.spans:
            self.detectors[circuit] = True
            self._active.setdefault(circuit[0], set()).add(circuit[1])
            self._fresh.setdefault(circuit[0], set()).add(circuit[1])
            self._rows.pop(circuit[0], None)

    def stop(self, circuit: Circuit) -> None:
        if self.detectors.pop(circuit, None) is not None:
            ts = self._active.get(circuit[0])
            if ts is not None:
                ts.discard(circuit[1])
            self._rows.pop(circuit[0], None)

    @property
    def active(self) -> bool:
        return bool(self.detectors)

    def service(self) -> list[DigitsReceived]:
        out: list[DigitsReceived] = []
        for span in self.spans:
            number = getattr(span, "number", 0)
            if not self._active.get(number) and hasattr(span, "skip_audio"):
                span.skip_audio()        # no connected call here: pass the blocks over unread
                continue
            while (blk := span.read_audio()) is not None:
                live = self._active.get(number)
                if not live:
                    continue
                sd = self._per_span.get(number)
                if sd is None or sd.timeslots != blk.timeslots:
                    sd = self._per_span[number] = _SpanDetector(blk.timeslots)
                    self._fresh[number] = set(live)
                    self._rows.pop(number, None)
                fresh = self._fresh.get(number)
                if fresh:                                        # new calls: forget the channels' past
                    for ts in fresh:
                        if self.detectors.get((number, ts)):
                            self.detectors[(number, ts)] = False
                            row = sd.row.get(ts)
                            if row is not None:
                                sd.det.reset(row)
                    fresh.clear()
                # only the connected channels, in one batch call (an idle one is skipped, and
                # starts afresh when it is fed again); rows sorted again only when calls change
                rows = self._rows.get(number)
                if rows is None:
                    rows = self._rows[number] = np.array(sorted(sd.row[ts] for ts in live if ts in sd.row),
                                                         np.int32)
                if not rows.size:
                    continue
                pcm = blk.pcm()          # decoded once per block, shared with call progress
                for ev in sd.det.process_channels(pcm[rows], blk.time, rows):
                    if ev.kind == "start":
                        ts = blk.timeslots[ev.channel]
                        if ts in live:
                            out.append(DigitsReceived((number, ts), ev.time, ev.digit))
        return out
