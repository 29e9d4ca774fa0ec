"""The publisher the bus uses, chosen once at import: the compiled :mod:`.publish_c`, or its
Python twin :mod:`.publish_py` (``BOARDCORE_NO_EXTENSIONS=1``, or not built). Same API, same
frames; :class:`~cti.bus.server.BusServer` builds one at construction and its ``publish`` *is*
that publisher's method (no wrapper call on the hot path, nothing swapped at start)."""
from __future__ import annotations

import collections
from types import ModuleType
from typing import Any

import zmq

from _boardcore import _select

IMPL: ModuleType = _select.load("cti.bus.publish")


def new_publisher(sock: zmq.Socket[Any], seq: int, ring: collections.deque[bytes], v: int,
                  epoch: str | None, impl: ModuleType | None = None) -> Any:
    """A publisher on the PUB socket ``sock`` continuing after ``seq``; frames go to ``ring``,
    every event carries ``v`` (schema major) and ``epoch`` (the journal's id) in its envelope.
    ``impl``: the module to take it from (default :data:`IMPL`; benchmarks compare the twin)."""
    return (impl or IMPL).Publisher(sock, seq, ring, v, epoch)
