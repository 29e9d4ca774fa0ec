"""Q.931 layer 3 of one PRI interface: :class:`Q931` (and :class:`~.call.PriCall`, the call
tables' context) from the compiled build (``q931_c``) or the twin (:mod:`.q931_py`,
``BOARDCORE_NO_EXTENSIONS=1``): one source."""
from __future__ import annotations

from typing import TYPE_CHECKING

from _boardcore import _select

if TYPE_CHECKING:
    from .q931_py import E1_B_CHANNELS, NETWORK_TABLE, USER_TABLE, CallEvent, PriCall, Q931
else:
    _impl = _select.load("cti.signaling.pri.q931")
    E1_B_CHANNELS, NETWORK_TABLE, USER_TABLE, CallEvent, PriCall, Q931 = (
        _impl.E1_B_CHANNELS, _impl.NETWORK_TABLE, _impl.USER_TABLE, _impl.CallEvent, _impl.PriCall, _impl.Q931)

__all__ = ["E1_B_CHANNELS", "NETWORK_TABLE", "USER_TABLE", "CallEvent", "PriCall", "Q931"]
