"""R2 / China No.1 MFC register signals (ITU-T Q.441): detector, generator, one-shot detect().

The compiled kernel ``mf_c`` is used when built, else the pure-Python twin ``mf_py``
(``BOARDCORE_NO_EXTENSIONS=1`` forces the twin). See docs/mf.md.

    det = MfDetector(channels=30, forward=True)           # 1380..1980 Hz group
    events = det.process(block, now)                       # block: int16 (30, 160) per 20 ms
    # -> [MfEvent(channel=3, signal=5, time=...), MfEvent(channel=3, signal=0, time=...)]
    events = big.process_channels(rows, now, chans)        # batch: chosen channels of many spans
    gen = MfGenerator(forward=False, level_dbm0=-8.0)      # 1140..540 Hz group
    pcm = gen.tone(1, 800)                                 # A1 for 100 ms, phase continuous
    detect(pcm, forward=False)                             # -> "1"
"""
# ruff: noqa: F405  (under TYPE_CHECKING the names in __all__ come from the twin)
from __future__ import annotations

from typing import TYPE_CHECKING

from . import _select

__all__ = [
    "MfDetector", "MfGenerator", "MfEvent", "detect", "signal_char",
    "FORWARD_HZ", "BACKWARD_HZ", "SIGNAL_PAIRS", "SIGNAL_CHARS", "DBM0_PEAK",
]

_select.export("mf", globals(), __all__)
if TYPE_CHECKING:       # the twin's API is the kernel's API: type checkers read it there
    from .mf_py import *  # noqa: F403

