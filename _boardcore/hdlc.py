"""HDLC flags, zero-bit insertion and FCS-16 for a 64 kbit/s SS7 signalling link (Q.703 clause 2).

The compiled kernel ``hdlc_c`` is used when built, else the pure-Python twin ``hdlc_py``
(``BOARDCORE_NO_EXTENSIONS=1`` forces the twin). See docs/hdlc.md.

    enc = HdlcEncoder()
    enc.send(b"\\x80\\x80\\x00")             # a FISU; the FCS is appended
    line = enc.pull(160)                    # 20 ms of the timeslot, flags when idle
    dec = HdlcDecoder()                     # min_frame=3 (MTP2), max_frame=4096
    frames = dec.feed(line)                 # [b"\\x80\\x80\\x00"], FCS checked and stripped
    dec.fcs_errors, dec.aborts, dec.short_frames, dec.long_frames, dec.octets
    enc.mtp2_fill = dec.mtp2_fill = True    # the card repeats / filters MTP2 fill-ins
    enc.fill_repeats, dec.fill_repeats
"""
# ruff: noqa: F405  (under TYPE_CHECKING the names in __all__ come from the twin)
from __future__ import annotations

from typing import TYPE_CHECKING

from . import _select

__all__ = ["HdlcEncoder", "HdlcDecoder", "fcs16", "is_fill", "FLAG", "FCS_GOOD_RESIDUAL",
           "MTP2_MIN_FRAME", "MTP2_MAX_FRAME", "DEFAULT_MAX_FRAME", "FILL_MAX"]

_select.export("hdlc", globals(), __all__)
if TYPE_CHECKING:       # the twin's API is the kernel's API: type checkers read it there
    from .hdlc_py import *  # noqa: F403

