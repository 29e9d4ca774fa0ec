"""Q.921 LAPD data link: :class:`LapdLink` and its table, from the compiled build
(``link_c``) or the twin (:mod:`.link_py`, ``BOARDCORE_NO_EXTENSIONS=1``): one source."""
from __future__ import annotations

from typing import TYPE_CHECKING

from _boardcore import _select

if TYPE_CHECKING:
    from .link_py import LINK_TABLE, Ev, LapdLink, LinkEvent, LinkState, Upper
else:
    _impl = _select.load("cti.signaling.pri.link")
    LINK_TABLE, Ev, LapdLink, LinkEvent, LinkState, Upper = (
        _impl.LINK_TABLE, _impl.Ev, _impl.LapdLink, _impl.LinkEvent, _impl.LinkState, _impl.Upper)

__all__ = ["LINK_TABLE", "Ev", "LapdLink", "LinkEvent", "LinkState", "Upper"]
