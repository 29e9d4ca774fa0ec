"""G.704 E1 framing (2.048 Mbit/s): framer, deframer, alarms (G.706, G.732, G.775).

The compiled kernel ``e1frame_c`` is used when built, else the pure-Python twin
``e1frame_py`` (``BOARDCORE_NO_EXTENSIONS=1`` forces the twin). See docs/e1frame.md.

    tx = E1Framer(crc4=True, cas=True)
    tx.set_cas(1, 0b1001)                         # channel 1 (TS1): abcd = 1001
    line = bytearray(160 * 32)
    tx.encode(payload, line)                      # payload: 160 frames of 32 octets
    rx = E1Deframer(crc4=True, cas=True)
    out = bytearray(len(line) + 32)
    n = rx.decode(line, out)                      # aligned frames, from any bit offset
    rx.cas(1), rx.alarms, rx.counters
"""
# ruff: noqa: F405  (under TYPE_CHECKING the names in __all__ come from the twin)
from __future__ import annotations

from typing import TYPE_CHECKING

from . import _select

__all__ = [
    "E1Framer", "E1Deframer", "crc4", "FRAME_OCTETS", "MULTIFRAME", "CHANNELS", "CAS_IDLE",
    "ALARM_LOS", "ALARM_AIS", "ALARM_LOF", "ALARM_RAI", "ALARM_LOMF", "ALARM_MF_AIS",
    "ALARM_MF_RAI", "ALARM_LOCRC", "COUNTER_NAMES",
]

_select.export("e1frame", globals(), __all__)
if TYPE_CHECKING:       # the twin's API is the kernel's API: type checkers read it there
    from .e1frame_py import *  # noqa: F403

