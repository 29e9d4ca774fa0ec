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
