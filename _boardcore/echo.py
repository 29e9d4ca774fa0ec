"""G.168 line echo canceller per timeslot: NLMS, double talk, NLP + comfort noise, tone disabler.

The compiled kernel ``echo_c`` is used when built, else the pure-Python twin ``echo_py``
(``BOARDCORE_NO_EXTENSIONS=1`` forces the twin). See docs/echo.md.

    ec = EchoCanceller(channels=30, tail_ms=64)      # one per span, a channel per timeslot
    sout = ec.process(sin, rin)    # int16 (30, 160): received (caller + echo), sent; -> cancelled
    ec.set_tail(3, 128); ec.enable(7, False); ec.reset(3); ec.stats(3).erle_db
"""
# ruff: noqa: F405  (under TYPE_CHECKING the names in __all__ come from the twin)
from __future__ import annotations

from typing import TYPE_CHECKING

from . import _select

__all__ = ["EchoCanceller", "EchoStats", "DEFAULT_TAIL_MS", "MAX_TAIL_MS", "RATE", "check_tail"]

_select.export("echo", globals(), __all__)
if TYPE_CHECKING:       # the twin's API is the kernel's API: type checkers read it there
    from .echo_py import *  # noqa: F403
