"""The fan-out's socket writes spread over two cores: :class:`Writer`.

A batch's frame goes to every eligible subscriber's socket with one ``send(2)`` each
(:mod:`.sendloop_c`, or its twin :mod:`.sendloop_py`). With many sockets the batch is offered
to a helper thread (``SendPool``: in the compiled module a POSIX thread that never takes the
GIL), and both it and the calling thread (the event loop's) take ``CHUNK`` sockets at a time
until none are left; the caller returns when every socket is done. A helper the host does not
schedule in time finds nothing left: the batch never waits for it. The loop stays blocked for
the whole fan-out, as when it wrote through the transports, so nothing else writes to those
sockets meanwhile: the order of octets on each connection is the order of the calls.
"""
from __future__ import annotations

import array
import os
from types import ModuleType
from typing import Any

from _boardcore import _select

IMPL: ModuleType = _select.load("cti.gateway.sendloop")
send_many = IMPL.send_many

#: below this many sockets one thread sends them all (waking a helper costs more than it saves)
SPLIT_AT = 64
#: sockets a thread takes at a time (small: the caller may wait for the helper's last chunk)
CHUNK = 16


class Writer:
    """``write(fds, frame)``: what each socket took (octets, or ``-errno``), in order of ``fds``.

    ``threads``: 2 (the caller and one helper) on a host with two cores or more, else 1.
    ``sent`` / ``helped``: sockets written, of which by the helper."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads if threads is not None else (2 if (os.cpu_count() or 1) >= 2 else 1)
        self._pool: Any = None
        self._closed = False
        self.sent = 0
        self.helped = 0

    def write(self, fds: list[int], frame: bytes) -> array.array[int]:
        n = len(fds)
        out = array.array("q", bytes(8 * n))
        socks = array.array("i", fds)
        self.sent += n
        if self.threads < 2 or n < SPLIT_AT or self._closed or not frame:
            send_many(socks, frame, out)
            return out
        if self._pool is None:
            self._pool = IMPL.SendPool(CHUNK)
        self.helped += int(self._pool.send(socks, frame, out))
        return out

    def close(self) -> None:
        """Stop the helper thread (idempotent)."""
        self._closed = True
        if self._pool is not None:
            self._pool.close()
            self._pool = None
