"""MTP2 in-service path (Q.703 clause 2 signal units, clause 5 basic error correction): the
compiled ``bec_c`` when built, else its pure-Python twin ``bec_py``
(``BOARDCORE_NO_EXTENSIONS=1`` forces the twin)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from _boardcore import _select

__all__ = ["LinkCore", "Mtp2Event", "parse", "msu_octets", "HOT_COUNTERS"]

_select.export("cti.signaling.ss7.mtp2.bec", globals(), __all__)
if TYPE_CHECKING:     # for the type checker: the twin's signatures (the compiled core's are the same)
    from .bec_py import HOT_COUNTERS, LinkCore, Mtp2Event, msu_octets, parse
