"""What an outbound attempt hears: A-law blocks of its trunk timeslot -> the call-progress tone
detector -> its :class:`~cti.outbound.progress.ProgressClassifier`.

One :class:`AttemptListener` per live attempt, each with a one-channel
``_boardcore.tones.CadenceDetector`` (attempts start and end at any block, so they do not
share a multi-channel detector's block alignment). Blocks arrive from the contact centre's
``listen(circuit, fn)`` tap (``fn(alaw, t)`` every 20 ms) or straight from a test.
"""
from __future__ import annotations

from typing import Any
from collections.abc import Callable

import numpy as np

from _boardcore.g711 import alaw_decode
from _boardcore.tones import CadenceDetector, ToneEvent

from .campaign import Outcome
from .progress import ProgressClassifier


class AttemptListener:
    """Feeds one attempt's received audio to the detector and the attempt's classifier."""

    def __init__(self, progress: ProgressClassifier, country: str = "cn",
                 on_outcome: Callable[[Outcome], None] | None = None, detector: Any = None) -> None:
        self.progress = progress
        #: a one-channel cadence detector (``detector`` overrides: e.g. the pure-Python twin's)
        self.detector = detector if detector is not None else CadenceDetector(1, country=country)
        self.on_outcome = on_outcome
        self.blocks = 0                  #: blocks heard
        self.events: list[ToneEvent] = []
        self._reported = False

    def feed(self, alaw: bytes, t: float) -> Outcome | None:
        """One block of A-law octets received at time ``t`` (its start); the outcome when decided."""
        if not isinstance(alaw, (bytes, bytearray, memoryview)):
            raise TypeError(f"audio must be A-law bytes, not {type(alaw).__name__}")
        if len(alaw) == 0 or not self.progress.hearing():
            return self.progress.service(float(t))
        self.blocks += 1
        pcm = alaw_decode(bytes(alaw))
        for ev in self.detector.process(pcm, float(t)):
            self.events.append(ev)
            self.progress.tone(ev.tone, ev.time)
        end = float(t) + len(alaw) / 8000.0
        self.progress.service(end)
        return self._report()

    def feed_pcm(self, pcm: np.ndarray, t: float) -> Outcome | None:
        """Linear PCM (int16) instead of A-law: for tests and non-G.711 sources."""
        for ev in self.detector.process(pcm, float(t)):
            self.events.append(ev)
            self.progress.tone(ev.tone, ev.time)
        self.progress.service(float(t) + len(pcm) / 8000.0)
        return self._report()

    def _report(self) -> Outcome | None:
        o = self.progress.outcome
        if o is not None and not self._reported:
            self._reported = True
            if self.on_outcome is not None:
                self.on_outcome(o)
        return o
