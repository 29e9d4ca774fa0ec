"""The fan-out's socket writes spread over two cores: :class:`Writer`.

A batch's frame goes to every eligible subscriber's socket with one ``send(2)`` each
(:mod:`.sendloop_c`, or its twin :mod:`.sendloop_py`). With many sockets the list is cut in
two: a helper thread sends the second half while the calling thread (the event loop's) sends
the first, both without the GIL, and the caller returns when both are done. The loop stays
blocked for the whole fan-out, as when it wrote through the transports, so nothing else writes
to those sockets meanwhile: the order of octets on each connection is the order of the calls.
"""
from __future__ import annotations

import array
import os
import threading
from types import ModuleType

from _boardcore import _select

IMPL: ModuleType = _select.load("cti.gateway.sendloop")
send_many = IMPL.send_many

#: below this many sockets one thread sends them all (handing half over costs two wake-ups)
SPLIT_AT = 64


class Writer:
    """``write(fds, frame)``: what each socket took (octets, or ``-errno``), in order of ``fds``.

    ``threads``: 2 (the caller and one helper) on a host with two cores or more, else 1."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads if threads is not None else (2 if (os.cpu_count() or 1) >= 2 else 1)
        self._job: tuple[array.array[int], bytes, array.array[int]] | None = None
        self._go = threading.Semaphore(0)
        self._done = threading.Semaphore(0)
        self._error: BaseException | None = None
        self._helper: threading.Thread | None = None
        self._closed = False
        self.batches = 0
        self.split = 0

    def _run(self) -> None:
        while True:
            self._go.acquire()
            job = self._job
            if job is None:              # closed
                self._done.release()
                return
            try:
                send_many(*job)
            except BaseException as e:   # handed back to the caller, which raises it
                self._error = e
            self._done.release()

    def write(self, fds: list[int], frame: bytes) -> array.array[int]:
        n = len(fds)
        out = array.array("q", bytes(8 * n))
        self.batches += 1
        if self.threads < 2 or n < SPLIT_AT or self._closed:
            send_many(array.array("i", fds), frame, out)
            return out
        if self._helper is None:
            self._helper = threading.Thread(target=self._run, name="cti-gateway-writer", daemon=True)
            self._helper.start()
        half = n // 2
        out2 = array.array("q", bytes(8 * (n - half)))
        self._job = (array.array("i", fds[half:]), frame, out2)
        self._go.release()
        try:
            send_many(array.array("i", fds[:half]), frame, out)
        finally:
            self._done.acquire()
            self._job = None
        if self._error is not None:
            e, self._error = self._error, None
            raise e
        out[half:] = out2
        self.split += 1
        return out

    def close(self) -> None:
        """Stop the helper thread (idempotent)."""
        self._closed = True
        if self._helper is not None and self._helper.is_alive():
            self._job = None
            self._go.release()
            self._done.acquire()
            self._helper.join(1.0)
        self._helper = None
