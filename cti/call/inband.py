"""The call model's media path on a board: DTMF sent in-band, and the bridges transfers ask for.

``send_digits`` writes Q.23 DTMF (the dtmf kernel's generator when built, otherwise a numpy
twin of the same pairs) as A-law on the circuit's timeslot. ``bridge`` records which trunk
circuits a transfer or conference joined; carrying their audio across is the media layer's
job (cti.media), which reads :attr:`BoardMedia.bridges`.
"""
from __future__ import annotations

import numpy as np

from _boardcore.g711 import alaw_encode
from cti.signaling.trunk import Circuit
from drivers.base import Span

#: Q.23 DTMF pairs (low Hz, high Hz)
DTMF_PAIRS = {"1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "A": (697, 1633),
              "4": (770, 1209), "5": (770, 1336), "6": (770, 1477), "B": (770, 1633),
              "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "C": (852, 1633),
              "*": (941, 1209), "0": (941, 1336), "#": (941, 1477), "D": (941, 1633)}


def dtmf_pcm(digits: str, on_ms: float = 80.0, off_ms: float = 80.0, level_dbm0: float = -10.0) -> np.ndarray:
    """int16 PCM at 8 kHz playing ``digits`` (each tone ``on_ms``, gaps ``off_ms``)."""
    try:
        from _boardcore.dtmf import DtmfGenerator  # type: ignore[import-not-found]
        return DtmfGenerator(level_dbm0=level_dbm0, on_ms=on_ms, off_ms=off_ms).generate(digits)
    except ImportError:
        pass
    amp = 22812.0 * 10 ** (level_dbm0 / 20.0)   # per tone; 0 dBm0 = 3.17 dB below A-law full scale
    t = np.arange(int(on_ms * 8)) / 8000.0
    parts = []
    for d in digits:
        lo, hi = DTMF_PAIRS[d]
        parts += [amp * (np.sin(2 * np.pi * lo * t) + np.sin(2 * np.pi * hi * t)), np.zeros(int(off_ms * 8))]
    return np.clip(np.concatenate(parts or [np.zeros(0)]), -32768, 32767).astype(np.int16)


class BoardMedia:
    """MediaPath over the spans of a board."""

    def __init__(self, spans: dict[int, Span]) -> None:
        self.spans = spans
        self.bridges: list[list[Circuit]] = []

    def send_digits(self, circuit: Circuit, digits: str, now: float) -> None:
        span = self.spans.get(circuit[0])
        if span is None:
            raise ValueError(f"no span {circuit[0]} for in-band digits")
        span.write_audio(circuit[1], alaw_encode(dtmf_pcm(digits)))

    def bridge(self, circuits: list[Circuit]) -> None:
        self.bridges = [b for b in self.bridges if not set(b) & set(circuits)] + [list(circuits)]
