"""The one seam between the dahdi backend and the operating system.

Every ``open``/``ioctl``/``read``/``write``/``close`` of the backend goes through a
:class:`DeviceLayer`, so tests replace it with a double that behaves like the DAHDI
kernel (:mod:`drivers.dahdi.fake`) and a real card needs nothing else.

Errors are the kernel's, as ``OSError``: ``EAGAIN`` when a non-blocking read finds no
data or a write finds the buffers full, ``ELAST`` (500) when a channel event is pending
(fetch it with ``DAHDI_GETEVENT``), ``ENOENT`` when DAHDI is not loaded.
"""
from __future__ import annotations

from typing import Any

import os


class DeviceLayer:
    """System calls on DAHDI device files (the real ones)."""

    def open(self, path: str, flags: int) -> int:
        """Open a device file; returns a descriptor."""
        return os.open(path, flags)

    def close(self, fd: int) -> None:
        os.close(fd)

    def ioctl(self, fd: int, request: int, arg: Any) -> None:
        """``ioctl(fd, request, &arg)``: ``arg`` is a writable buffer the kernel may update."""
        import fcntl

        fcntl.ioctl(fd, request, arg, True)

    def read(self, fd: int, n: int) -> bytes:
        return os.read(fd, n)

    def write(self, fd: int, data: bytes) -> int:
        return os.write(fd, data)
