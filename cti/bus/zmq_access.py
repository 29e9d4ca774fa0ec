"""The pyzmq internals the publishers rely on, in one place, with the versions they are tested on.

The publish path sends two frames per event; pyzmq's public ``Socket.send`` goes through its
sugar layer (flags, copy thresholds, tracking) that costs more than the event itself. The twin
binds the backend's ``send`` (one layer down); the compiled publisher calls libzmq's own
``zmq_send`` on the socket's handle (``Socket.underlying``, public), taking the function from
the very libzmq pyzmq loaded (its backend extension links it). Both are internals: a pyzmq
release may move them, so :func:`check` pins the versions tests/test_bus_zmq_access.py runs
on, and every accessor falls back to the public API when its internal is gone.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import zmq

#: pyzmq versions the internals below are tested on: [first, last) by (major, minor)
SUPPORTED = ((25, 0), (28, 0))


def pyzmq_version() -> tuple[int, int]:
    major, minor = (int(x) for x in zmq.pyzmq_version().split(".")[:2])
    return major, minor


def supported() -> bool:
    """Is the installed pyzmq one of the versions the internals are tested on?"""
    return SUPPORTED[0] <= pyzmq_version() < SUPPORTED[1]


def raw_send(sock: Any) -> Callable[..., Any]:
    """``sock``'s send without pyzmq's sugar layer (the backend's method bound to it), or the
    public ``sock.send`` when the backend has none."""
    backend: Any = getattr(getattr(zmq, "backend", None), "Socket", None)
    send = getattr(backend, "send", None)
    if send is None or not isinstance(sock, backend):
        return sock.send        # type: ignore[no-any-return]
    return send.__get__(sock)   # type: ignore[no-any-return]


def libzmq_send_address() -> int:
    """The address of ``zmq_send`` in the libzmq pyzmq uses, 0 when it cannot be found (the
    compiled publisher then sends through :func:`raw_send`)."""
    try:
        import ctypes

        from zmq.backend.cython import _zmq
        return ctypes.cast(ctypes.CDLL(_zmq.__file__).zmq_send, ctypes.c_void_p).value or 0
    except (ImportError, OSError, AttributeError):
        return 0
