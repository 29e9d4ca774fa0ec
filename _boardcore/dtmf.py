"""DTMF (ITU-T Q.23 / Q.24): many-channel detector, generator, one-shot ``detect()``.

The compiled kernel ``dtmf_c`` is used when built, else the pure-Python twin ``dtmf_py``
(``BOARDCORE_NO_EXTENSIONS=1`` forces the twin). See docs/dtmf.md.

    det = DtmfDetector(channels=30)
    events = det.process(block, now)             # block: int16 (30, 160) per 20 ms
    # -> [DigitEvent(channel=4, digit="5", kind="start", time=...), ... kind="stop" ...]
    events = big.process_channels(rows, now, busy)   # batch: the busy channels of many spans
    pcm = DtmfGenerator(level_dbm0=-10, on_ms=60, off_ms=60).generate("0123#")
    detect(pcm)                                  # -> "0123#"
"""
# ruff: noqa: F405  (under TYPE_CHECKING the names in __all__ come from the twin)
from __future__ import annotations

from typing import TYPE_CHECKING

from . import _select

__all__ = ["DtmfDetector", "DtmfGenerator", "DigitEvent", "detect", "DIGITS", "LOW_HZ", "HIGH_HZ",
           "DBM0_PEAK", "digit_pair"]

_select.export("dtmf", globals(), __all__)
if TYPE_CHECKING:       # the twin's API is the kernel's API: type checkers read it there
    from .dtmf_py import *  # noqa: F403

