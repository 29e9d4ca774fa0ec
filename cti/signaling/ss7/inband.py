"""In-band DTMF on connected SS7 circuits (ISUP carries no digits after answer).

Drains every span's received audio each service turn (so the board's buffers never grow)
and runs a one-channel DTMF detector (the ``_boardcore.dtmf`` kernel: compiled, or its twin)
on each connected circuit, reporting :class:`DigitsReceived` on digit start.
"""
from __future__ import annotations

from typing import Any
from collections.abc import Sequence

from _boardcore.dtmf import DtmfDetector  # type: ignore[attr-defined]
from _boardcore.g711 import alaw_decode  # type: ignore[attr-defined]
from cti.signaling.trunk import Circuit, DigitsReceived
from drivers.base import BLOCK_OCTETS, Span


class InbandDigits:
    """DTMF detectors for connected circuits of ``spans``."""

    def __init__(self, spans: Sequence[Span]) -> None:
        self.spans = list(spans)
        self.detectors: dict[Circuit, Any] = {}

    def start(self, circuit: Circuit) -> None:
        if circuit not in self.detectors and self.spans:
            self.detectors[circuit] = (DtmfDetector(1), alaw_decode)

    def stop(self, circuit: Circuit) -> None:
        self.detectors.pop(circuit, None)

    @property
    def active(self) -> bool:
        return bool(self.detectors)

    def service(self) -> list[DigitsReceived]:
        out: list[DigitsReceived] = []
        for span in self.spans:
            number = getattr(span, "number", 0)
            while (blk := span.read_audio()) is not None:
                for (sp, ts), (det, decode) in list(self.detectors.items()):
                    if sp != number or ts not in blk.timeslots:
                        continue
                    i = blk.timeslots.index(ts)
                    pcm = decode(blk.data[i * BLOCK_OCTETS:(i + 1) * BLOCK_OCTETS])
                    for ev in det.process(pcm, blk.time):
                        if ev.kind == "start":
                            out.append(DigitsReceived((sp, ts), ev.time, ev.digit))
        return out
