"""MTP3 per-MSU path (Q.704 routing with SLS load sharing, discrimination, distribution): the
compiled ``route_c`` when built, else its pure-Python twin ``route_py``
(``BOARDCORE_NO_EXTENSIONS=1`` forces the twin)."""
from __future__ import annotations

from _boardcore import _select

__all__ = ["LinksetCore", "Mtp3Event"]

_select.export("cti.signaling.ss7.mtp3.route", globals(), __all__)
