# cython: language_level=3
"""One frame to many sockets, without the GIL (twin: :mod:`.sendloop_py`, same API, same results).

The gateway writes the SAME frame octets to every subscriber of a group (RFC 6455 server frames
are unmasked, see :mod:`cti.gateway.hub`). Through the transports that is one
``transport.write`` per subscriber on the event loop's one thread, holding the GIL: measured
12-15 ms a batch for 1 000 subscribers on the 2-core host, two thirds of it in the kernel's TCP
send path, while the other core idles. Here it is one ``send(2)`` per socket in a C loop with
the GIL released, which two threads (the loop's and one writer, :class:`cti.gateway.fanout.Writer`)
run at once on the same batch. No library does this (asyncio/uvloop transports hold the GIL per
write; ``socket.send`` is one Python call per socket), hence it is written by hand.

``send_many(fds, frame, out)``: ``out[i]`` becomes what ``send(fds[i], frame, len,
MSG_DONTWAIT | MSG_NOSIGNAL)`` returned: the octets taken (``len(frame)``, or fewer: a partial
write), or ``-errno`` (``-EAGAIN``: the socket's buffer is full; ``-EPIPE``, ``-ECONNRESET``...:
the peer is gone). EINTR is retried. It never blocks and never raises SIGPIPE; what the kernel
did not take is the caller's to queue (on the transport, in order).

``send_shared(fds, frame, out, state, chunk, wait)``: the same, shared between threads: each
takes the next ``chunk`` sockets (``state[0]``, an atomic counter) until none are left, and
adds what it sent to ``state[1]`` (and first, when it does not ``wait``, to ``state[2]``: the
helper's share). With ``wait`` it returns only when every socket is done. A helper that wakes
late finds nothing left and returns at once, so the batch never waits for a thread the host
did not schedule (measured: at load 10, waiting for a fixed half doubled the fan-out's p99).
"""
from libc.errno cimport EINTR, errno

cdef extern from "sys/socket.h" nogil:
    ssize_t send(int fd, const void* buf, size_t n, int flags)
    int MSG_DONTWAIT
    int MSG_NOSIGNAL

cdef extern from "sched.h" nogil:
    int sched_yield()

cdef extern from *:
    """
    static inline long long sendloop_fetch_add(long long *p, long long v) {
        return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
    }
    static inline long long sendloop_load(long long *p) {
        return __atomic_load_n(p, __ATOMIC_SEQ_CST);
    }
    """
    long long sendloop_fetch_add(long long* p, long long v) nogil
    long long sendloop_load(long long* p) nogil

IMPLEMENTATION = "compiled"


cdef inline void _send_range(const int[:] fds, const unsigned char* p, Py_ssize_t size, long long[:] out,
                             Py_ssize_t start, Py_ssize_t end) noexcept nogil:
    cdef Py_ssize_t i
    cdef ssize_t r
    for i in range(start, end):
        while True:
            r = send(fds[i], p, <size_t>size, MSG_DONTWAIT | MSG_NOSIGNAL)
            if r >= 0 or errno != EINTR:
                break
        out[i] = r if r >= 0 else -errno


def send_many(const int[:] fds, const unsigned char[:] frame, long long[:] out) -> None:
    """``out[i]`` = octets of ``frame`` the kernel took on ``fds[i]``, or ``-errno``."""
    cdef Py_ssize_t i, n = fds.shape[0]
    cdef Py_ssize_t size = frame.shape[0]
    if out.shape[0] < n:
        raise ValueError(f"out holds {out.shape[0]} results for {n} sockets")
    if size == 0:
        for i in range(n):
            out[i] = 0
        return
    with nogil:
        _send_range(fds, &frame[0], size, out, 0, n)


def send_shared(const int[:] fds, const unsigned char[:] frame, long long[:] out, long long[:] state,
                Py_ssize_t chunk, bint wait) -> None:
    """:func:`send_many`, ``chunk`` sockets at a time, shared with other threads through ``state``."""
    cdef Py_ssize_t n = fds.shape[0]
    cdef Py_ssize_t size = frame.shape[0]
    cdef long long start, end
    if out.shape[0] < n:
        raise ValueError(f"out holds {out.shape[0]} results for {n} sockets")
    if state.shape[0] < 3 or chunk < 1 or size == 0:
        raise ValueError("state holds 3 counters, chunk >= 1, the frame is not empty")
    with nogil:
        while True:
            start = sendloop_fetch_add(&state[0], chunk)
            if start >= n:
                break
            end = start + chunk if start + chunk < n else n
            _send_range(fds, &frame[0], size, out, <Py_ssize_t>start, <Py_ssize_t>end)
            if not wait:
                sendloop_fetch_add(&state[2], end - start)
            sendloop_fetch_add(&state[1], end - start)
        if wait:
            while sendloop_load(&state[1]) < n:
                sched_yield()
