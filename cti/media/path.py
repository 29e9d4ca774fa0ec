"""The call model's media path on a board: DTMF sent in-band, and the bridges transfers ask for.

``send_digits`` writes Q.23 DTMF (the dtmf kernel's generator) as A-law on the circuit's
timeslot, or hands it to the first *route* that takes the circuit: a component that carries
the circuit's audio itself (the contact centre's bridges) adds one with :meth:`BoardMedia.route`,
so in-band digits go into its stream instead of being overwritten by it. ``bridge`` records
which trunk circuits a transfer or conference joined; carrying their audio across is the
media layer's job (cti.media.bridge), which reads :attr:`BoardMedia.bridges`.
"""
from __future__ import annotations

from typing import Any
from collections.abc import Callable, Mapping

import numpy as np

from _boardcore.dtmf import DtmfGenerator
from _boardcore.g711 import alaw_encode

Circuit = tuple[int, int]
#: ``route(circuit, alaw) -> bool``: True when the route carries ``alaw`` to the circuit itself
Route = Callable[[Circuit, bytes], bool]


def dtmf_pcm(digits: str, on_ms: float = 80.0, off_ms: float = 80.0, level_dbm0: float = -10.0) -> np.ndarray:
    """int16 PCM at 8 kHz playing ``digits`` (each tone ``on_ms``, gaps ``off_ms``)."""
    return DtmfGenerator(level_dbm0=level_dbm0, on_ms=on_ms, off_ms=off_ms).generate(digits)


class BoardMedia:
    """MediaPath (cti.call.model) over the spans of a board."""

    def __init__(self, spans: Mapping[int, Any]) -> None:
        self.spans = spans
        self.bridges: list[list[Circuit]] = []
        self._routes: list[Route] = []

    def route(self, fn: Route) -> Callable[[], None]:
        """Offer in-band audio for circuits to ``fn`` first (in the order added); returns a
        callable that removes it."""
        self._routes.append(fn)
        return lambda: self._routes.remove(fn) if fn in self._routes else None

    def send_digits(self, circuit: Circuit, digits: str, now: float) -> None:
        span = self.spans.get(circuit[0])
        if span is None:
            raise ValueError(f"no span {circuit[0]} for in-band digits")
        alaw = alaw_encode(dtmf_pcm(digits))
        for fn in self._routes:
            if fn(tuple(circuit), alaw):        # type: ignore[arg-type]
                return
        span.write_audio(circuit[1], alaw)

    def bridge(self, circuits: list[Circuit]) -> None:
        self.bridges = [b for b in self.bridges if not set(b) & set(circuits)] + [list(circuits)]
