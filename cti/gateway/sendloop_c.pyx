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

``SendPool(chunk)``: one helper thread that is a plain POSIX thread, never a Python one: it
never takes the GIL, so a helper the host preempts cannot hold up the event loop's thread (a
Python helper had to take the GIL to wake and again to go back to sleep). ``pool.send(fds,
frame, out)`` offers the batch to the helper and sends alongside it as :func:`send_shared`
does; it returns (the helper's share) once every socket is done and the helper has let go of
the batch, so the buffers are never touched after it returns.
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

cdef extern from *:
    """
    #include <pthread.h>
    #include <errno.h>
    #include <stdlib.h>
    #include <sys/socket.h>

    typedef struct {
        pthread_mutex_t mu;
        pthread_cond_t wake, done;
        pthread_t thread;
        int closing, open, active;
        unsigned long gen;
        long long chunk;
        const int *fds;
        const unsigned char *frame;
        size_t size;
        long long *out;
        long long n, next, finished, helped;
    } sendpool_t;

    static void sendpool_range(const int *fds, const unsigned char *p, size_t size, long long *out,
                               long long a, long long b) {
        for (long long i = a; i < b; i++) {
            ssize_t r;
            do { r = send(fds[i], p, size, MSG_DONTWAIT | MSG_NOSIGNAL); } while (r < 0 && errno == EINTR);
            out[i] = r >= 0 ? (long long)r : -(long long)errno;
        }
    }

    static void sendpool_work(sendpool_t *s, int helper) {
        for (;;) {
            long long a = __atomic_fetch_add(&s->next, s->chunk, __ATOMIC_SEQ_CST);
            if (a >= s->n) return;
            long long b = a + s->chunk < s->n ? a + s->chunk : s->n;
            sendpool_range(s->fds, s->frame, s->size, s->out, a, b);
            if (helper) __atomic_fetch_add(&s->helped, b - a, __ATOMIC_SEQ_CST);
            __atomic_fetch_add(&s->finished, b - a, __ATOMIC_SEQ_CST);
        }
    }

    static void *sendpool_main(void *arg) {
        sendpool_t *s = (sendpool_t *)arg;
        unsigned long seen = 0;
        pthread_mutex_lock(&s->mu);
        for (;;) {
            while (!s->closing && !(s->open && s->gen != seen)) pthread_cond_wait(&s->wake, &s->mu);
            if (s->closing) break;
            seen = s->gen;
            s->active++;
            pthread_mutex_unlock(&s->mu);
            sendpool_work(s, 1);
            pthread_mutex_lock(&s->mu);
            s->active--;
            pthread_cond_signal(&s->done);
        }
        pthread_mutex_unlock(&s->mu);
        return NULL;
    }

    static sendpool_t *sendpool_new(long long chunk) {
        sendpool_t *s = (sendpool_t *)calloc(1, sizeof *s);
        if (s == NULL) return NULL;
        s->chunk = chunk;
        pthread_mutex_init(&s->mu, NULL);
        pthread_cond_init(&s->wake, NULL);
        pthread_cond_init(&s->done, NULL);
        if (pthread_create(&s->thread, NULL, sendpool_main, s) != 0) {
            pthread_cond_destroy(&s->done);
            pthread_cond_destroy(&s->wake);
            pthread_mutex_destroy(&s->mu);
            free(s);
            return NULL;
        }
        return s;
    }

    /* the batch offered to the helper and sent alongside it; returns the helper's share once
       every socket is done and the helper is out of the batch */
    static long long sendpool_send(sendpool_t *s, const int *fds, const unsigned char *frame, size_t size,
                                   long long *out, long long n) {
        long long helped;
        pthread_mutex_lock(&s->mu);
        s->fds = fds; s->frame = frame; s->size = size; s->out = out; s->n = n;
        s->next = 0; s->finished = 0; s->helped = 0;
        s->open = 1;
        s->gen++;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->mu);
        sendpool_work(s, 0);
        pthread_mutex_lock(&s->mu);
        s->open = 0;                     /* a helper that wakes from now on finds no batch */
        while (s->active > 0) pthread_cond_wait(&s->done, &s->mu);
        helped = s->helped;
        pthread_mutex_unlock(&s->mu);
        return helped;
    }

    static void sendpool_free(sendpool_t *s) {
        pthread_mutex_lock(&s->mu);
        s->closing = 1;
        pthread_cond_broadcast(&s->wake);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
        pthread_cond_destroy(&s->done);
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->mu);
        free(s);
    }
    """
    ctypedef struct sendpool_t:
        pass
    sendpool_t* sendpool_new(long long chunk) nogil
    long long sendpool_send(sendpool_t* s, const int* fds, const unsigned char* frame, size_t size,
                            long long* out, long long n) nogil
    void sendpool_free(sendpool_t* s) nogil

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


cdef class SendPool:
    """One POSIX helper thread (no GIL ever) sharing each batch's sockets with the caller."""

    cdef sendpool_t* pool

    def __cinit__(self, Py_ssize_t chunk=16):
        if chunk < 1:
            raise ValueError("chunk >= 1")
        self.pool = sendpool_new(chunk)
        if self.pool == NULL:
            raise OSError("cannot start the send helper thread")

    def send(self, const int[:] fds, const unsigned char[:] frame, long long[:] out) -> int:
        """:func:`send_many` on two threads; returns how many sockets the helper wrote."""
        cdef Py_ssize_t n = fds.shape[0]
        cdef Py_ssize_t size = frame.shape[0]
        cdef long long helped
        if self.pool == NULL:
            raise ValueError("the pool is closed")
        if out.shape[0] < n:
            raise ValueError(f"out holds {out.shape[0]} results for {n} sockets")
        if n == 0:
            return 0
        if size == 0:
            raise ValueError("the frame is empty")
        with nogil:
            helped = sendpool_send(self.pool, &fds[0], &frame[0], <size_t>size, &out[0], n)
        return helped

    def close(self) -> None:
        """Stop and join the helper thread (idempotent)."""
        cdef sendpool_t* p = self.pool
        self.pool = NULL
        if p != NULL:
            with nogil:
                sendpool_free(p)

    def __dealloc__(self):
        if self.pool != NULL:
            sendpool_free(self.pool)
            self.pool = NULL
