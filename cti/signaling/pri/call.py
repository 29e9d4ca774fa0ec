"""One Q.931 call (a call reference): :class:`PriCall`, the context of the call tables
(:mod:`.calltable`), whose methods are the tables' actions and guards, :class:`CallEvent` and
:class:`Node` (what a call needs of its interface), from the compiled build (``call_c``) or
the twin (:mod:`.call_py`, ``BOARDCORE_NO_EXTENSIONS=1``): one source."""
from __future__ import annotations

from typing import TYPE_CHECKING

from _boardcore import _select

if TYPE_CHECKING:
    from .call_py import CallEvent, Node, PriCall
else:
    _impl = _select.load("cti.signaling.pri.call")
    CallEvent, Node, PriCall = _impl.CallEvent, _impl.Node, _impl.PriCall

__all__ = ["CallEvent", "Node", "PriCall"]
