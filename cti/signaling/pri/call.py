"""One Q.931 call (a call reference): :class:`PriCall`, the context of the call tables
(:mod:`.calltable`), whose methods are the tables' actions and guards. It is defined with
:class:`~.q931.Q931` in one source (:mod:`.q931_py`, compiled as ``q931_c``); this module
names the live class."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .q931_py import PriCall
else:
    from .q931 import PriCall

__all__ = ["PriCall"]
