"""The fan-out's socket writes spread over two cores: :class:`Writer`.

A batch's frame goes to every eligible subscriber's socket with one ``send(2)`` each
(:mod:`.sendloop_c`, or its twin :mod:`.sendloop_py`). With many sockets a helper thread is
woken and both it and the calling thread (the event loop's) take ``CHUNK`` sockets at a time
until none are left, without the GIL; the caller returns when every socket is done. A helper
the host does not schedule in time simply finds nothing left: the batch never waits for it.
The loop stays blocked for the whole fan-out, as when it wrote through the transports, so
nothing else writes to those sockets meanwhile: the order of octets on each connection is the
order of the calls.
"""
from __future__ import annotations

import array
import os
import threading
from types import ModuleType

from _boardcore import _select

IMPL: ModuleType = _select.load("cti.gateway.sendloop")
send_many = IMPL.send_many
send_shared = IMPL.send_shared

#: below this many sockets one thread sends them all (waking a helper costs more than it saves)
SPLIT_AT = 64
#: sockets a thread takes at a time (small: the caller may wait for the helper's last chunk)
CHUNK = 16

_Job = tuple["array.array[int]", bytes, "array.array[int]", "array.array[int]"]


class Writer:
    """``write(fds, frame)``: what each socket took (octets, or ``-errno``), in order of ``fds``.

    ``threads``: 2 (the caller and one helper) on a host with two cores or more, else 1.
    ``sent`` / ``helped``: sockets written, of which by the helper."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads if threads is not None else (2 if (os.cpu_count() or 1) >= 2 else 1)
        self._job: _Job | None = None
        self._go = threading.Semaphore(0)
        self._helper: threading.Thread | None = None
        self._closed = False
        self.sent = 0
        self.helped = 0

    def _run(self) -> None:
        while True:
            self._go.acquire()
            if self._closed:
                return
            job = self._job            # the current batch's, or a later one's, or none (all done)
            if job is not None:
                fds, frame, out, state = job
                send_shared(fds, frame, out, state, CHUNK, False)

    def write(self, fds: list[int], frame: bytes) -> array.array[int]:
        n = len(fds)
        out = array.array("q", bytes(8 * n))
        self.sent += n
        if self.threads < 2 or n < SPLIT_AT or self._closed:
            send_many(array.array("i", fds), frame, out)
            return out
        if self._helper is None:
            self._helper = threading.Thread(target=self._run, name="cti-gateway-writer", daemon=True)
            self._helper.start()
        state = array.array("q", [0, 0, 0])
        socks = array.array("i", fds)
        self._job = (socks, frame, out, state)
        self._go.release()
        try:
            send_shared(socks, frame, out, state, CHUNK, True)
        finally:
            self._job = None
        self.helped += state[2]
        return out

    def close(self) -> None:
        """Stop the helper thread (idempotent)."""
        self._closed = True
        if self._helper is not None and self._helper.is_alive():
            self._go.release()
            self._helper.join(1.0)
        self._helper = None
