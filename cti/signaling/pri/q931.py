"""Q.931 layer 3 of one PRI interface: :class:`Q931` (and :class:`~.call.PriCall`, the call
tables' context) from the compiled build (``q931_c`` with ``call_c``) or the twins
(:mod:`.q931_py` with :mod:`.call_py`, ``BOARDCORE_NO_EXTENSIONS=1``): one source each."""
from __future__ import annotations

from typing import TYPE_CHECKING

from _boardcore import _select

if TYPE_CHECKING:
    from .call_py import CallEvent, PriCall
    from .q931_py import E1_B_CHANNELS, NETWORK_TABLE, USER_TABLE, Q931
else:
    _impl = _select.load("cti.signaling.pri.q931")
    # the calls of the same build as the interface (q931_c cimports call_c; the twin imports call_py)
    _calls = _select.compiled("cti.signaling.pri.call") if _impl.__name__.endswith("_c") else None
    _calls = _calls or _select.twin("cti.signaling.pri.call")
    E1_B_CHANNELS, NETWORK_TABLE, USER_TABLE, Q931 = _impl.E1_B_CHANNELS, _impl.NETWORK_TABLE, _impl.USER_TABLE, _impl.Q931
    CallEvent, PriCall = _calls.CallEvent, _calls.PriCall

__all__ = ["E1_B_CHANNELS", "NETWORK_TABLE", "USER_TABLE", "CallEvent", "PriCall", "Q931"]
