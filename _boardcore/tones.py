"""Call-progress tones: per-country table, generator, cadence detector with voice detection.

The compiled kernel ``tones_c`` is used when built, else the pure-Python twin ``tones_py``
(``BOARDCORE_NO_EXTENSIONS=1`` forces the twin). See docs/kernels.md.

    pcm = generate("busy", 2.0, country="cn")              # 450 Hz, 0.35 s on / 0.35 s off
    gen = ToneGenerator("ringback", country="cn"); gen.read(160)
    det = CadenceDetector(channels=30, country="cn")
    events = det.process(block, now)                        # block: int16 (30, 160) per 20 ms
    # -> [ToneEvent(channel=4, tone="busy", time=...), ToneEvent(channel=9, tone="voice", ...)]
    COUNTRIES["cn"]["busy"]   # {"freqs": (450,), "level_dbm0": -10.0, "cadence": (0.35, 0.35)}
"""
# ruff: noqa: F405  (under TYPE_CHECKING the names in __all__ come from the twin)
from __future__ import annotations

from typing import TYPE_CHECKING

from . import _select

__all__ = ["generate", "ToneGenerator", "CadenceDetector", "ToneEvent", "COUNTRIES", "TONE_NAMES",
           "DBM0_PEAK", "detect"]

_select.export("tones", globals(), __all__)
if TYPE_CHECKING:       # the twin's API is the kernel's API: type checkers read it there
    from .tones_py import *  # noqa: F403

