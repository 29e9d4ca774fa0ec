# cython: language_level=3
# distutils: libraries = sqlite3
"""SQLite journal writer compiled (twin: :mod:`.journal_py`): a writer thread that never holds the GIL.

:meth:`JournalWriter.submit` (owner's thread, GIL held) cuts the queued rows into journal pages
(the layout of :func:`cti.store.base._pages`, byte for byte) and copies them into one C buffer;
the writer thread, started on the first submit, leaves the GIL once and for all and writes each
hand-off (everything queued since its last write) in one transaction through its own SQLite
connection: the publishing thread never waits for the GIL because of the journal (the Python
twin's thread takes the GIL for every row it binds, which costs the publisher a futex hand-off
per ``zmq.send`` while it waits). Requires the SQLite library Python's ``sqlite3`` module uses
(:data:`SAME_SQLITE`): two copies of SQLite in one process must never open the same file.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.float cimport PyFloat_AsDouble
from cpython.long cimport PyLong_AsLongLong
from libc.stdlib cimport free, malloc, realloc
from libc.errno cimport ETIMEDOUT
from libc.string cimport memcpy, strncpy
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec
from posix.types cimport clockid_t

import threading

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size) except NULL

cdef extern from "<pthread.h>" nogil:
    ctypedef struct pthread_mutex_t:
        pass
    ctypedef struct pthread_cond_t:
        pass
    ctypedef struct pthread_condattr_t:
        pass
    int pthread_condattr_init(pthread_condattr_t* a)
    int pthread_condattr_setclock(pthread_condattr_t* a, clockid_t clock)
    int pthread_condattr_destroy(pthread_condattr_t* a)
    int pthread_cond_timedwait(pthread_cond_t* c, pthread_mutex_t* m, const timespec* t)
    int pthread_cond_signal(pthread_cond_t* c)
    int pthread_mutex_init(pthread_mutex_t* m, const void* attr)
    int pthread_mutex_destroy(pthread_mutex_t* m)
    int pthread_mutex_lock(pthread_mutex_t* m)
    int pthread_mutex_unlock(pthread_mutex_t* m)
    int pthread_cond_init(pthread_cond_t* c, const void* attr)
    int pthread_cond_destroy(pthread_cond_t* c)
    int pthread_cond_wait(pthread_cond_t* c, pthread_mutex_t* m)
    int pthread_cond_broadcast(pthread_cond_t* c)

cdef extern from "<sqlite3.h>" nogil:
    ctypedef struct sqlite3:
        pass
    ctypedef struct sqlite3_stmt:
        pass
    ctypedef long long sqlite3_int64
    ctypedef void (*sqlite3_destructor_type)(void*)
    sqlite3_destructor_type SQLITE_STATIC
    int SQLITE_OK, SQLITE_DONE, SQLITE_OPEN_READWRITE, SQLITE_OPEN_NOMUTEX
    const char* sqlite3_libversion()
    int sqlite3_open_v2(const char* filename, sqlite3** db, int flags, const char* vfs)
    int sqlite3_close_v2(sqlite3* db)
    int sqlite3_busy_timeout(sqlite3* db, int ms)
    int sqlite3_exec(sqlite3* db, const char* sql, void* cb, void* arg, char** errmsg)
    int sqlite3_prepare_v2(sqlite3* db, const char* sql, int n, sqlite3_stmt** stmt, const char** tail)
    int sqlite3_bind_int64(sqlite3_stmt* s, int i, sqlite3_int64 v)
    int sqlite3_bind_double(sqlite3_stmt* s, int i, double v)
    int sqlite3_bind_text(sqlite3_stmt* s, int i, const char* v, int n, sqlite3_destructor_type d)
    int sqlite3_bind_blob(sqlite3_stmt* s, int i, const void* v, int n, sqlite3_destructor_type d)
    int sqlite3_step(sqlite3_stmt* s)
    int sqlite3_reset(sqlite3_stmt* s)
    int sqlite3_finalize(sqlite3_stmt* s)
    const char* sqlite3_errmsg(sqlite3* db)


def _same_sqlite() -> bool:
    """Does this module call the very SQLite library (same code in memory) as ``sqlite3``?"""
    try:
        import ctypes
        import _sqlite3
        theirs = ctypes.cast(ctypes.CDLL(_sqlite3.__file__).sqlite3_libversion, ctypes.c_void_p).value
    except (ImportError, OSError, AttributeError):
        return False
    return theirs == <size_t><void*>sqlite3_libversion


#: True when this writer may share a database file with Python's ``sqlite3`` connections.
SAME_SQLITE: bool = _same_sqlite()

from cti.store.writer_args import INSERT as _INSERT_SQL
cdef bytes INSERT_SQL = _INSERT_SQL.encode()
DEF ERRLEN = 512
from cti.store.writer_args import HURRY_BYTES, MAX_BYTES, check_writer_args


cdef struct Page:
    long long first
    long long last
    double time
    size_t topic        # offsets into the batch buffer
    int topic_len
    size_t kind
    int kind_len
    size_t body
    int body_len


cdef struct Batch:
    Batch* next
    Page* pages
    int npages
    char* buf
    size_t used
    size_t cap


cdef void _free_chain(Batch* b) noexcept nogil:
    cdef Batch* nxt
    while b != NULL:
        nxt = b.next
        free(b.pages)
        free(b.buf)
        free(b)
        b = nxt


cdef int _reserve(Batch* b, size_t n) except -1:
    cdef size_t cap
    cdef char* p
    if b.used + n <= b.cap:
        return 0
    cap = b.cap * 2 if b.cap else 4096
    while cap < b.used + n:
        cap *= 2
    p = <char*>realloc(b.buf, cap)
    if p == NULL:
        raise MemoryError()
    b.buf, b.cap = p, cap
    return 0


cdef size_t _put(Batch* b, const char* src, size_t n) except? 0:
    """Append n octets; returns their offset."""
    _reserve(b, n)
    cdef size_t at = b.used
    memcpy(b.buf + at, src, n)
    b.used += n
    return at


cdef size_t _put_str(Batch* b, object s, int* n) except? 0:
    cdef Py_ssize_t size
    cdef const char* p = PyUnicode_AsUTF8AndSize(s, &size)
    n[0] = <int>size
    return _put(b, p, <size_t>size)


cdef void _be(char* p, unsigned long long v, int n) noexcept:
    cdef int i
    for i in range(n):
        p[n - 1 - i] = <char>(v & 0xff)
        v >>= 8


cdef void _header(Batch* b, int tag8, int tag16, int tag32, size_t n, int fix_base, size_t fix_max):
    """A msgpack length header (array or bin), as msgpack-python writes it."""
    cdef char h[5]
    if fix_base >= 0 and n <= fix_max:
        h[0] = <char>(fix_base | n)
        _put(b, h, 1)
    elif tag8 >= 0 and n < 0x100:
        h[0] = <char>tag8
        h[1] = <char>n
        _put(b, h, 2)
    elif n < 0x10000:
        h[0] = <char>tag16
        _be(h + 1, n, 2)
        _put(b, h, 3)
    else:
        h[0] = <char>tag32
        _be(h + 1, n, 4)
        _put(b, h, 5)


cdef class JournalWriter:
    """Writes journal pages to the SQLite file ``path`` (its ``journal`` table must exist) on a
    thread of its own. ``page``: events per journal row at most (``cti.store.base.PAGE``)."""

    cdef sqlite3* db
    cdef sqlite3_stmt* stmt
    cdef pthread_mutex_t mu
    cdef pthread_cond_t work
    cdef pthread_cond_t idle
    cdef Batch* head
    cdef Batch* tail
    cdef int busy
    cdef int closing
    cdef int hurry          # someone waits for the write: no interval
    cdef int sleeping       # the writer waits for work with no deadline: wake it on submit
    cdef size_t queued      # octets queued since the last write began
    cdef public size_t hurry_bytes
    cdef public size_t max_bytes
    cdef readonly double interval
    cdef readonly bint closed
    cdef char err[ERRLEN]
    cdef readonly int page
    cdef readonly object path
    cdef object thread

    def __cinit__(self):
        self.db = NULL
        self.stmt = NULL
        self.head = self.tail = NULL
        self.err[0] = 0
        cdef pthread_condattr_t attr
        pthread_mutex_init(&self.mu, NULL)
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)     # interval deadlines
        pthread_cond_init(&self.work, &attr)
        pthread_condattr_destroy(&attr)
        pthread_cond_init(&self.idle, NULL)

    def __init__(self, path: str, page: int = 64, interval: float = 0.0) -> None:
        if not SAME_SQLITE:
            raise RuntimeError("this journal writer links a different SQLite library than Python's sqlite3")
        check_writer_args(page, interval)
        self.page = page
        self.interval = interval
        self.hurry_bytes = HURRY_BYTES
        self.max_bytes = MAX_BYTES
        self.path = path
        cdef bytes p = path.encode()
        cdef int rc = sqlite3_open_v2(p, &self.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL)
        if rc == SQLITE_OK:
            sqlite3_busy_timeout(self.db, 5000)
            rc = sqlite3_exec(self.db, b"PRAGMA synchronous=NORMAL", NULL, NULL, NULL)
        if rc == SQLITE_OK:
            rc = sqlite3_prepare_v2(self.db, INSERT_SQL, -1, &self.stmt, NULL)
        if rc != SQLITE_OK:
            msg = (sqlite3_errmsg(self.db) if self.db != NULL else b"out of memory").decode(errors="replace")
            self._close_db()
            raise OSError(f"cannot open journal {path}: {msg}")

    cdef void _close_db(self) noexcept:
        if self.stmt != NULL:
            sqlite3_finalize(self.stmt)
            self.stmt = NULL
        if self.db != NULL:
            sqlite3_close_v2(self.db)
            self.db = NULL

    def __dealloc__(self):
        self._close_db()
        _free_chain(self.head)
        pthread_cond_destroy(&self.work)
        pthread_cond_destroy(&self.idle)
        pthread_mutex_destroy(&self.mu)

    def submit(self, list rows) -> None:
        """Queue ``(seq, time, topic, type, frame)`` rows (seq increasing) for the next write."""
        if self.closed:
            raise RuntimeError("journal writer is closed")
        cdef Py_ssize_t n = len(rows), i = 0, j, k
        if n == 0:
            return
        cdef Batch* b = <Batch*>malloc(sizeof(Batch))
        if b == NULL:
            raise MemoryError()
        b.next = NULL
        b.npages = 0
        b.buf = NULL
        b.used = b.cap = 0
        b.pages = <Page*>malloc(sizeof(Page) * <size_t>n)   # at most one page per row
        cdef long long seq, prev
        cdef tuple row
        cdef bytes frame
        cdef Page* pg
        try:
            if b.pages == NULL:
                raise MemoryError()
            for j in range(n):                  # the shape first (indexing below is unchecked)
                row = <tuple?>rows[j]
                if len(row) != 5 or type(row[4]) is not bytes or type(row[0]) is not int \
                        or not isinstance(row[1], (int, float)) \
                        or type(row[2]) is not str or type(row[3]) is not str:
                    raise TypeError(f"journal rows are (seq, time, topic, type, frame) tuples, not {row!r:.80}")
            while i < n:
                # a run of consecutive seqs, at most `page` long
                row = <tuple>rows[i]
                prev = PyLong_AsLongLong(row[0])
                j = i + 1
                while j < n and j - i < self.page:
                    seq = PyLong_AsLongLong((<tuple>rows[j])[0])
                    if seq != prev + 1:
                        break
                    prev = seq
                    j += 1
                pg = &b.pages[b.npages]
                pg.first = PyLong_AsLongLong(row[0])
                pg.last = prev
                pg.topic = _put_str(b, row[2], &pg.topic_len)
                if j - i == 1:
                    frame = <bytes>row[4]
                    pg.time = PyFloat_AsDouble(row[1])
                    pg.kind = _put_str(b, row[3], &pg.kind_len)
                    pg.body = _put(b, PyBytes_AS_STRING(frame), <size_t>PyBytes_GET_SIZE(frame))
                    pg.body_len = <int>PyBytes_GET_SIZE(frame)
                else:
                    # the newest event's time, so age-based retention never drops a younger one
                    pg.time = PyFloat_AsDouble((<tuple>rows[j - 1])[1])
                    pg.kind = _put(b, b"page", 4)
                    pg.kind_len = 4
                    pg.body = b.used
                    _header(b, -1, 0xdc, 0xdd, <size_t>(j - i), 0x90, 15)
                    for k in range(i, j):
                        frame = <bytes>(<tuple>rows[k])[4]
                        _header(b, 0xc4, 0xc5, 0xc6, <size_t>PyBytes_GET_SIZE(frame), -1, 0)
                        _put(b, PyBytes_AS_STRING(frame), <size_t>PyBytes_GET_SIZE(frame))
                    pg.body_len = <int>(b.used - pg.body)
                b.npages += 1
                i = j
        except BaseException:
            _free_chain(b)
            raise
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
            self.thread.start()
        with nogil:
            pthread_mutex_lock(&self.mu)
            if self.tail == NULL:
                self.head = b
            else:
                self.tail.next = b
            self.tail = b
            self.queued += b.used
            if self.sleeping or self.queued >= self.hurry_bytes or self.interval <= 0:
                pthread_cond_broadcast(&self.work)
            while self.queued >= self.max_bytes:     # back-pressure: the writer takes the queue first
                self.hurry = 1
                pthread_cond_broadcast(&self.work)
                pthread_cond_wait(&self.idle, &self.mu)
            pthread_mutex_unlock(&self.mu)

    def _run(self) -> None:
        with nogil:
            self._loop()

    cdef void _loop(self) noexcept nogil:
        """Write everything queued in one transaction; then (group commit) let ``interval``
        pass before the next write unless hurried (a waiter, closing, HURRY_BYTES queued)."""
        cdef Batch* chain
        cdef timespec until
        cdef long long ns
        pthread_mutex_lock(&self.mu)
        while True:
            while self.head == NULL and not self.closing:
                self.sleeping = 1
                pthread_cond_wait(&self.work, &self.mu)
                self.sleeping = 0
            chain = self.head
            if chain == NULL:           # closing and nothing left
                break
            self.head = self.tail = NULL
            self.queued = 0
            self.hurry = 0
            self.busy = 1
            pthread_mutex_unlock(&self.mu)
            self._write(chain)
            _free_chain(chain)
            pthread_mutex_lock(&self.mu)
            self.busy = 0
            pthread_cond_broadcast(&self.idle)
            if self.interval > 0:
                clock_gettime(CLOCK_MONOTONIC, &until)
                ns = until.tv_nsec + <long long>(self.interval * 1e9)
                until.tv_sec += ns // 1000000000
                until.tv_nsec = ns % 1000000000
                while not (self.hurry or self.closing or self.queued >= self.hurry_bytes):
                    if pthread_cond_timedwait(&self.work, &self.mu, &until) == ETIMEDOUT:
                        break
        pthread_mutex_unlock(&self.mu)

    @property
    def backlog(self) -> int:
        """Octets submitted and not yet taken by the writer."""
        return self.queued

    cdef int _write(self, Batch* chain) noexcept nogil:
        """Every page of the chain in one transaction; on failure none of them."""
        # the write lock at once (the busy timeout waits for the store's own connection): a
        # deferred transaction could fail with SQLITE_BUSY_SNAPSHOT, which no busy handler retries
        cdef int rc = sqlite3_exec(self.db, b"BEGIN IMMEDIATE", NULL, NULL, NULL)
        cdef Batch* b = chain
        cdef Page* p
        cdef int i
        while rc == SQLITE_OK and b != NULL:
            for i in range(b.npages):
                p = &b.pages[i]
                sqlite3_bind_int64(self.stmt, 1, p.first)
                sqlite3_bind_int64(self.stmt, 2, p.last)
                sqlite3_bind_double(self.stmt, 3, p.time)
                sqlite3_bind_text(self.stmt, 4, b.buf + p.topic, p.topic_len, SQLITE_STATIC)
                sqlite3_bind_text(self.stmt, 5, b.buf + p.kind, p.kind_len, SQLITE_STATIC)
                sqlite3_bind_blob(self.stmt, 6, b.buf + p.body, p.body_len, SQLITE_STATIC)
                rc = sqlite3_step(self.stmt)
                sqlite3_reset(self.stmt)
                if rc != SQLITE_DONE:
                    break
                rc = SQLITE_OK
            b = b.next
        if rc == SQLITE_OK:
            rc = sqlite3_exec(self.db, b"COMMIT", NULL, NULL, NULL)
        if rc != SQLITE_OK:
            pthread_mutex_lock(&self.mu)      # keep the message before ROLLBACK replaces it
            if self.err[0] == 0:
                strncpy(self.err, sqlite3_errmsg(self.db), ERRLEN - 1)
                self.err[ERRLEN - 1] = 0
            pthread_mutex_unlock(&self.mu)
            sqlite3_exec(self.db, b"ROLLBACK", NULL, NULL, NULL)
        return rc

    def wait(self) -> str | None:
        """Block until everything submitted is written; the first write failure since the last
        wait (SQLite's message; those rows are not in the journal), or None."""
        cdef char msg[ERRLEN]
        with nogil:
            pthread_mutex_lock(&self.mu)
            while self.head != NULL or self.busy:
                self.hurry = 1
                pthread_cond_broadcast(&self.work)
                pthread_cond_wait(&self.idle, &self.mu)
            memcpy(msg, self.err, ERRLEN)
            self.err[0] = 0
            pthread_mutex_unlock(&self.mu)
        return msg.decode("utf-8", "replace") if msg[0] else None

    @property
    def failed(self) -> bool:
        """A write failed and :meth:`wait` has not reported it yet."""
        return self.err[0] != 0

    @property
    def idle(self) -> bool:
        """Nothing queued or being written."""
        pthread_mutex_lock(&self.mu)
        cdef bint r = self.head == NULL and not self.busy
        pthread_mutex_unlock(&self.mu)
        return r

    def close(self) -> str | None:
        """Write what is queued, stop the thread, close the connection; returns as :meth:`wait`."""
        if self.closed:
            return None
        err = self.wait()
        with nogil:
            pthread_mutex_lock(&self.mu)
            self.closing = 1
            pthread_cond_broadcast(&self.work)
            pthread_mutex_unlock(&self.mu)
        if self.thread is not None:
            self.thread.join()
        self.closed = 1
        self._close_db()
        return err
