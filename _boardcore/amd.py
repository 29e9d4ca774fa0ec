"""Answering-machine detection: human / machine / unknown from the greeting's energy and
silence pattern, and the end of the greeting (the beep) so that a message can be left.

The compiled kernel ``amd_c`` is used when built, else the pure-Python twin ``amd_py``
(``BOARDCORE_NO_EXTENSIONS=1`` forces the twin); ``amd_py`` describes the method.

    det = AmdDetector()                     # or AmdDetector(greeting_max=2000.0, ...)
    for block in blocks:                    # int16, 8 kHz, any length (a 20 ms block: 160)
        for ev in det.feed(block):          # AmdEvent(kind, at, confidence, reason, freq)
            ...                             # kind: human / machine / unknown, then beep or greeting-end
    det.verdict, det.confidence, det.done; det.reset()
"""
# ruff: noqa: F405  (under TYPE_CHECKING the names in __all__ come from the twin)
from __future__ import annotations

from typing import TYPE_CHECKING

from . import _select

__all__ = ["AmdDetector", "AmdEvent", "DEFAULTS", "VERDICTS", "params", "frame_sums", "FRAME", "FRAME_MS",
           "RATE", "DBM0_PEAK"]

_select.export("amd", globals(), __all__)
if TYPE_CHECKING:       # the twin's API is the kernel's API: type checkers read it there
    from .amd_py import *  # noqa: F403
