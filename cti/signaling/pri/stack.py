"""One PRI D channel (:class:`PriStack`: the Q.921 data link and Q.931 layer 3 wired together)
from the compiled build (``stack_c``) or the twin (:mod:`.stack_py`,
``BOARDCORE_NO_EXTENSIONS=1``): one source."""
from __future__ import annotations

from typing import TYPE_CHECKING

from _boardcore import _select

if TYPE_CHECKING:
    from .stack_py import PriStack
else:
    PriStack = _select.load("cti.signaling.pri.stack").PriStack

__all__ = ["PriStack"]
