# cython: language_level=3
"""One frame to many sockets, without the GIL (twin: :mod:`.sendloop_py`, same API, same results).

The gateway writes the SAME frame octets to every subscriber of a group (RFC 6455 server frames
are unmasked, see :mod:`cti.gateway.hub`). Through the transports that is one
``transport.write`` per subscriber on the event loop's one thread, holding the GIL: measured
12-15 ms a batch for 1 000 subscribers on the 2-core host, two thirds of it in the kernel's TCP
send path, while the other core idles. Here it is one ``send(2)`` per socket in a C loop with
the GIL released, so two threads (the loop's and one writer, :class:`cti.gateway.fanout.Writer`)
run the syscalls of one batch on both cores at once. No library does this (asyncio/uvloop
transports hold the GIL per write; ``socket.send`` is one Python call per socket), hence it is
written by hand: twenty lines of C.

``send_many(fds, frame, out)``: ``out[i]`` becomes what ``send(fds[i], frame, len,
MSG_DONTWAIT | MSG_NOSIGNAL)`` returned: the octets taken (``len(frame)``, or fewer: a partial
write), or ``-errno`` (``-EAGAIN``: the socket's buffer is full; ``-EPIPE``, ``-ECONNRESET``...:
the peer is gone). EINTR is retried. It never blocks and never raises SIGPIPE; what the kernel
did not take is the caller's to queue (on the transport, in order).
"""
from libc.errno cimport EINTR, errno

cdef extern from "sys/socket.h" nogil:
    ssize_t send(int fd, const void* buf, size_t n, int flags)
    int MSG_DONTWAIT
    int MSG_NOSIGNAL

IMPLEMENTATION = "compiled"


def send_many(const int[:] fds, const unsigned char[:] frame, long long[:] out) -> None:
    """``out[i]`` = octets of ``frame`` the kernel took on ``fds[i]``, or ``-errno``."""
    cdef Py_ssize_t i, n = fds.shape[0]
    cdef Py_ssize_t size = frame.shape[0]
    cdef ssize_t r
    cdef const unsigned char* p
    if out.shape[0] < n:
        raise ValueError(f"out holds {out.shape[0]} results for {n} sockets")
    if size == 0:
        for i in range(n):
            out[i] = 0
        return
    p = &frame[0]
    with nogil:
        for i in range(n):
            while True:
                r = send(fds[i], p, <size_t>size, MSG_DONTWAIT | MSG_NOSIGNAL)
                if r >= 0 or errno != EINTR:
                    break
            out[i] = r if r >= 0 else -errno
