"""One frame to many sockets in Python: the twin of :mod:`.sendloop_c` (same API, same results).

Used when the extension is not built or ``BOARDCORE_NO_EXTENSIONS=1``. ``os.write`` drops the
GIL around each ``write(2)`` (on a socket the same as ``send`` without flags: the gateway's
sockets are non-blocking, and Python ignores SIGPIPE, so a gone peer is ``EPIPE``), but every
socket costs a Python call: slower, same behaviour.
"""
from __future__ import annotations

import errno
import os
from typing import Any

IMPLEMENTATION = "python"


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
    write = os.write
    for i in range(n):
        while True:
            try:
                out[i] = write(fds[i], data)
            except InterruptedError:
                continue
            except OSError as e:
                out[i] = -(e.errno or errno.EIO)
            break
