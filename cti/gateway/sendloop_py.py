"""One frame to many sockets in Python: the twin of :mod:`.sendloop_c` (same API, same results).

Used when the extension is not built or ``BOARDCORE_NO_EXTENSIONS=1``. ``os.write`` drops the
GIL around each ``write(2)`` (on a socket the same as ``send`` without flags: the gateway's
sockets are non-blocking, and Python ignores SIGPIPE, so a gone peer is ``EPIPE``), but every
socket costs a Python call: slower, same behaviour.
"""
from __future__ import annotations

import errno
import os
import threading
import time
from typing import Any

IMPLEMENTATION = "python"

_take = threading.Lock()       #: the counters of send_shared (atomic in the compiled module)


def _send_range(fds: Any, data: bytes, out: Any, start: int, end: int) -> None:
    write = os.write
    for i in range(start, end):
        while True:
            try:
                out[i] = write(fds[i], data)
            except InterruptedError:
                continue
            except OSError as e:
                out[i] = -(e.errno or errno.EIO)
            break


def send_many(fds: Any, frame: Any, out: Any) -> None:
    """``out[i]`` = octets of ``frame`` the kernel took on ``fds[i]``, or ``-errno``."""
    n = len(fds)
    if len(out) < n:
        raise ValueError(f"out holds {len(out)} results for {n} sockets")
    data = bytes(frame)
    if not data:
        for i in range(n):
            out[i] = 0
        return
    _send_range(fds, data, out, 0, n)


def send_shared(fds: Any, frame: Any, out: Any, state: Any, chunk: int, wait: bool) -> None:
    """:func:`send_many`, ``chunk`` sockets at a time, shared with other threads through ``state``
    (``[next socket, sockets done, the helper's share]``); with ``wait``, until all are done."""
    n = len(fds)
    if len(out) < n:
        raise ValueError(f"out holds {len(out)} results for {n} sockets")
    data = bytes(frame)
    if len(state) < 3 or chunk < 1 or not data:
        raise ValueError("state holds 3 counters, chunk >= 1, the frame is not empty")
    while True:
        with _take:
            start = state[0]
            state[0] = start + chunk
        if start >= n:
            break
        end = min(start + chunk, n)
        _send_range(fds, data, out, start, end)
        with _take:
            if not wait:
                state[2] += end - start
            state[1] += end - start
    while wait and state[1] < n:
        time.sleep(0)


class SendPool:
    """The compiled ``SendPool``'s twin: a Python helper thread sharing each batch with the
    caller through :func:`send_shared` (it takes the GIL to wake, unlike the compiled one)."""

    def __init__(self, chunk: int = 16) -> None:
        if chunk < 1:
            raise ValueError("chunk >= 1")
        self.chunk = chunk
        self._job: tuple[Any, bytes, Any, Any] | None = None
        self._go = threading.Semaphore(0)
        self._busy = threading.Lock()            #: held by the helper while it works on a batch
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="cti-gateway-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self._go.acquire()
            if self._closed:
                return
            with self._busy:
                job = self._job                  # this batch, or none (already done)
                if job is not None:
                    send_shared(*job, self.chunk, False)

    def send(self, fds: Any, frame: Any, out: Any) -> int:
        """:func:`send_many` on two threads; returns how many sockets the helper wrote."""
        if self._closed:
            raise ValueError("the pool is closed")
        n = len(fds)
        if len(out) < n:
            raise ValueError(f"out holds {len(out)} results for {n} sockets")
        if n == 0:
            return 0
        if not frame:
            raise ValueError("the frame is empty")
        state = [0, 0, 0]
        self._job = (fds, bytes(frame), out, state)
        self._go.release()
        send_shared(fds, frame, out, state, self.chunk, True)
        with self._busy:                          # the helper is out of this batch
            self._job = None
        return int(state[2])

    def close(self) -> None:
        """Stop and join the helper thread (idempotent)."""
        if not self._closed:
            self._closed = True
            self._go.release()
            self._thread.join(1.0)
