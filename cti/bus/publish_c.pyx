# cython: language_level=3
"""The bus's publish hot path compiled (twin: :mod:`.publish_py`: same API, same frames).

What the twin does in about 1.7 us per event (build the stamped dict, msgpack it, two
``Socket.send`` calls that each drop and retake the GIL), done here without intermediate
objects: a dict event is written as msgpack straight into a reusable buffer with the
envelope appended (msgpack-python's exact octets: fixint/uint/int, float64, fixstr/str8/16/32,
bin, array, map), and both frames go to libzmq's ``zmq_send`` on the socket's handle
(``Socket.underlying``), the function taken from the very libzmq pyzmq loaded (the pyzmq
internals this needs are in :mod:`cti.bus.zmq_access`). A value the
encoder does not take (another type, a subclass, a big int, deep nesting, a dict that brings
its own envelope keys) sends the event through msgpack's Packer as the twin does, so
results and errors are the twin's.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_Next, PyDict_Size
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_AsUnsignedLongLong
from cpython.object cimport PyObject
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE
from libc.errno cimport EINTR, errno
from libc.stdint cimport uint64_t
from libc.stdlib cimport free, realloc
from libc.string cimport memcpy
from posix.time cimport CLOCK_REALTIME, clock_gettime, timespec

import collections
import types

import msgpack
import zmq

from cti.bus.zmq_access import libzmq_send_address, raw_send

from cti.call.events import BusEvent, CallEvent

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object s)
    void* PyUnicode_DATA(object s)
    Py_ssize_t PyUnicode_GET_LENGTH(object s)
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size) except NULL
    bint PyDict_CheckExact(object o)
    bint PyUnicode_CheckExact(object o)
    bint PyLong_CheckExact(object o)
    bint PyFloat_CheckExact(object o)
    bint PyBytes_CheckExact(object o)
    bint PyList_CheckExact(object o)
    bint PyTuple_CheckExact(object o)
    int PyErr_CheckSignals() except -1

cdef extern from "structmember.h":
    ctypedef struct PyMemberDef:
        int type
        Py_ssize_t offset
    int T_OBJECT_EX

cdef extern from "Python.h":
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member

ctypedef int (*zmq_send_fn)(void* sock, const void* buf, size_t n, int flags) noexcept nogil

cdef int ZMQ_SNDMORE = zmq.SNDMORE
DEF MAX_DEPTH = 32       # deeper values go to msgpack (which allows 512)


cdef size_t _ZSEND = libzmq_send_address()
#: True when frames go to libzmq directly (else through ``Socket.send``)
DIRECT_SEND: bool = _ZSEND != 0

cdef str K_SEQ = "seq", K_TIME = "time", K_V = "v", K_TOPIC = "topic", K_EPOCH = "epoch"


cdef struct Buf:
    char* p
    size_t n
    size_t cap


cdef int _grow(Buf* b, size_t need) except -1:
    cdef size_t cap = b.cap if b.cap else 1024
    while cap < b.n + need:
        cap *= 2
    cdef char* p = <char*>realloc(b.p, cap)
    if p == NULL:
        raise MemoryError()
    b.p, b.cap = p, cap
    return 0


cdef inline int _put(Buf* b, const void* src, size_t n) except -1:
    if b.n + n > b.cap:
        _grow(b, n)
    memcpy(b.p + b.n, src, n)
    b.n += n
    return 0


cdef inline int _tag(Buf* b, unsigned char tag, uint64_t v, int width) except -1:
    """``tag`` then ``v`` big-endian in ``width`` octets (0: the tag alone)."""
    cdef unsigned char h[9]
    cdef int i
    h[0] = tag
    for i in range(width):
        h[width - i] = <unsigned char>(v & 0xff)
        v >>= 8
    return _put(b, h, 1 + width)


cdef inline int _len(Buf* b, size_t n, unsigned char fix, long long fixmax, int t8,
                     unsigned char t16, unsigned char t32) except -1:
    """A length header as msgpack writes it: fix|n up to ``fixmax`` (-1: no fix form), then
    ``t8`` (-1: none), ``t16``, ``t32`` with the length big-endian."""
    if <long long>n <= fixmax:
        return _tag(b, <unsigned char>(fix | n), 0, 0)
    if t8 >= 0 and n < 0x100:
        return _tag(b, <unsigned char>t8, n, 1)
    if n < 0x10000:
        return _tag(b, t16, n, 2)
    return _tag(b, t32, n, 4)


cdef inline int _str(Buf* b, object s) except -1:
    """Returns 1 when msgpack must do it (a string UTF-8 cannot hold, e.g. a lone surrogate)."""
    cdef Py_ssize_t n
    cdef const char* p
    if PyUnicode_IS_ASCII(s):
        n = PyUnicode_GET_LENGTH(s)
        p = <const char*>PyUnicode_DATA(s)
    else:
        try:
            p = PyUnicode_AsUTF8AndSize(s, &n)
        except UnicodeError:
            return 1
    if n > 0xffffffff:
        return 1
    _len(b, <size_t>n, 0xa0, 31, 0xd9, 0xda, 0xdb)
    _put(b, p, <size_t>n)
    return 0


cdef int _int(Buf* b, object o) except -1:
    cdef int overflow = 0
    cdef long long v = PyLong_AsLongLongAndOverflow(o, &overflow)
    cdef unsigned long long u
    if overflow < 0:
        return 1
    if overflow > 0:
        try:
            u = PyLong_AsUnsignedLongLong(o)
        except OverflowError:
            return 1
        return _tag(b, 0xcf, u, 8)
    return _ll(b, v)


cdef int _ll(Buf* b, long long v) except -1:
    cdef unsigned long long u
    if v >= 0:
        u = <unsigned long long>v
        if u < 0x80:
            return _tag(b, <unsigned char>u, 0, 0)
        if u < 0x100:
            return _tag(b, 0xcc, u, 1)
        if u < 0x10000:
            return _tag(b, 0xcd, u, 2)
        if u < 0x100000000:
            return _tag(b, 0xce, u, 4)
        return _tag(b, 0xcf, u, 8)
    if v >= -32:
        return _tag(b, <unsigned char>(v & 0xff), 0, 0)
    if v >= -128:
        return _tag(b, 0xd0, <uint64_t>v & 0xff, 1)
    if v >= -32768:
        return _tag(b, 0xd1, <uint64_t>v & 0xffff, 2)
    if v >= -2147483648:
        return _tag(b, 0xd2, <uint64_t>v & 0xffffffff, 4)
    return _tag(b, 0xd3, <uint64_t>v, 8)


cdef int _enc(Buf* b, object o, int depth) except -1:
    """msgpack of ``o`` appended to ``b``: 0, or 1 when msgpack must encode the whole event."""
    cdef double d
    cdef uint64_t bits
    cdef Py_ssize_t n, i
    if depth > MAX_DEPTH:
        return 1
    if PyUnicode_CheckExact(o):
        return _str(b, o)
    if o is None:
        return _tag(b, 0xc0, 0, 0)
    if o is True:
        return _tag(b, 0xc3, 0, 0)
    if o is False:
        return _tag(b, 0xc2, 0, 0)
    if PyLong_CheckExact(o):
        return _int(b, o)
    if PyFloat_CheckExact(o):
        d = PyFloat_AS_DOUBLE(o)
        memcpy(&bits, &d, 8)
        return _tag(b, 0xcb, bits, 8)
    if PyList_CheckExact(o):
        n = PyList_GET_SIZE(o)
        if n > 0xffffffff:
            return 1
        _len(b, <size_t>n, 0x90, 15, -1, 0xdc, 0xdd)
        for i in range(n):      # nothing here runs Python code: the list cannot change meanwhile
            if _enc(b, <object>PyList_GET_ITEM(o, i), depth + 1):
                return 1
        return 0
    if PyTuple_CheckExact(o):
        n = PyTuple_GET_SIZE(o)
        _len(b, <size_t>n, 0x90, 15, -1, 0xdc, 0xdd)
        for i in range(n):
            if _enc(b, <object>PyTuple_GET_ITEM(o, i), depth + 1):
                return 1
        return 0
    if PyDict_CheckExact(o):
        n = PyDict_Size(o)
        _len(b, <size_t>n, 0x80, 15, -1, 0xde, 0xdf)
        return _items(b, o, depth + 1)
    if PyBytes_CheckExact(o):
        n = PyBytes_GET_SIZE(o)
        if n > 0xffffffff:
            return 1
        _len(b, <size_t>n, 0, -1, 0xc4, 0xc5, 0xc6)
        _put(b, PyBytes_AS_STRING(o), <size_t>n)
        return 0
    return 1


cdef int _envelope(Buf* b, long long seq, object t, long long v, object topic, bytes tail) except -1:
    """The envelope every event ends with (seq, time, v, topic, then ``tail``: the packed epoch
    entry or nothing): 0, or 1 when msgpack must encode the whole event."""
    _put(b, b"\xa3seq", 4)
    _ll(b, seq)
    _put(b, b"\xa4time", 5)
    if _enc(b, t, 1):
        return 1
    _put(b, b"\xa1v", 2)
    _ll(b, v)
    _put(b, b"\xa5topic", 6)
    if _str(b, topic):
        return 1
    if PyBytes_GET_SIZE(tail):
        _put(b, PyBytes_AS_STRING(tail), <size_t>PyBytes_GET_SIZE(tail))
    return 0


cdef int _items(Buf* b, dict o, int depth) except -1:
    """The keys and values of ``o`` (the map header is the caller's)."""
    cdef Py_ssize_t pos = 0
    cdef PyObject* k
    cdef PyObject* val
    while PyDict_Next(o, &pos, &k, &val):
        if _enc(b, <object>k, depth) or _enc(b, <object>val, depth):
            return 1
    return 0


DEF MAX_FIELDS = 64
DEF TOPIC_SPANS = 256    # call topics made once and kept for span < 256, ts < 64
DEF TOPIC_TS = 64
_ENVELOPE = frozenset(("type", "seq", "time", "v", "topic", "epoch"))


cdef class _Plan:
    """How to write one BusEvent class without building its dict: the msgpack of each field
    name and the offset of its slot, in field order (what ``stamped`` would put in the dict)."""
    cdef bytes keys             # the packed names, back to back
    cdef Py_ssize_t key_end[MAX_FIELDS]
    cdef Py_ssize_t offset[MAX_FIELDS]
    cdef int n
    cdef bytes kind_packed      # b"\xa4type" + msgpack of the class name
    cdef str kind
    cdef bint call_topic        # topic() is CallEvent.topic: "call.<span>.<ts>", made here
    cdef Py_ssize_t span_at, ts_at


cdef object _plan(type cls):
    """A plan for ``cls``, or False when its events must go through ``stamped``."""
    import dataclasses
    if cls.to_dict is not BusEvent.to_dict or cls.stamped is not BusEvent.stamped \
            or not dataclasses.is_dataclass(cls):
        return False
    names = [f.name for f in dataclasses.fields(cls)]
    if len(names) > MAX_FIELDS or _ENVELOPE.intersection(names):
        return False
    cdef _Plan p = _Plan()
    cdef PyMemberDescrObject* d
    pack = msgpack.Packer(use_bin_type=True).pack
    keys = b""
    for i, name in enumerate(names):
        desc = getattr(cls, name, None)
        if type(desc) is not types.MemberDescriptorType:
            return False
        d = <PyMemberDescrObject*>desc
        if d.d_member.type != T_OBJECT_EX:
            return False
        keys += pack(name)
        p.key_end[i] = len(keys)
        p.offset[i] = d.d_member.offset
    p.keys = keys
    p.n = len(names)
    p.kind = cls.__name__
    p.kind_packed = pack("type") + pack(p.kind)
    p.call_topic = cls.topic is CallEvent.topic and "span" in names and "ts" in names
    if p.call_topic:
        p.span_at = p.offset[names.index("span")]
        p.ts_at = p.offset[names.index("ts")]
    return p


from cti.bus.publish_args import NO_LIMIT, check_epoch, check_seq


cdef class Publisher:
    """Publishes on ``sock`` (a PUB socket) from seq ``seq`` + 1; frames go to ``ring`` (a
    bounded deque) and journal rows to :meth:`take_journal`; ``v`` is the schema major,
    ``epoch`` the journal's id (None: no epoch in the envelope). Beyond seq ``limit``, ``on_limit(seq)`` is asked first (see the twin, publish_py.py)."""

    cdef public long long seq
    cdef public long long limit
    cdef public object on_limit
    cdef readonly object sock
    cdef readonly long long v
    cdef readonly object epoch
    cdef bytes _tail_packed     # b"\xa5epoch" + msgpack(epoch), or b""
    cdef dict _tail             # {"epoch": epoch}, or {}
    cdef int _extra             # map entries the tail adds (0 or 1)
    cdef object _v
    cdef object _ring_append
    cdef list _journal
    cdef dict _topics
    cdef object _pack
    cdef object _send
    cdef void* _handle
    cdef zmq_send_fn _zsend
    cdef Buf buf
    cdef dict _plans
    cdef list _ct_str, _ct_bytes

    def __cinit__(self):
        self.buf.p = NULL
        self.buf.n = self.buf.cap = 0

    def __init__(self, sock: zmq.Socket, seq: int, ring: collections.deque, v: int, epoch=None) -> None:
        self.seq = check_seq(seq)
        self.epoch = check_epoch(epoch)
        self._tail = {} if epoch is None else {"epoch": epoch}
        self._extra = len(self._tail)
        self._tail_packed = b"".join(msgpack.packb(x, use_bin_type=True) for kv in self._tail.items() for x in kv)
        self.limit = NO_LIMIT
        self.on_limit = None
        self.v = v
        self._v = v
        self.sock = sock
        self._ring_append = ring.append
        self._journal = []
        self._topics = {}
        self._plans = {}
        self._ct_str = [None] * (TOPIC_SPANS * TOPIC_TS)
        self._ct_bytes = [None] * (TOPIC_SPANS * TOPIC_TS)
        self._pack = msgpack.Packer(use_bin_type=True).pack
        self._send = raw_send(sock)
        self._handle = <void*><size_t>sock.underlying
        self._zsend = <zmq_send_fn>_ZSEND

    def __dealloc__(self):
        free(self.buf.p)

    cdef bytes _frame(self, dict event, long long seq, object t, str topic):
        """The dict ``event`` with the envelope, as msgpack; None when msgpack must do it."""
        cdef Buf* b = &self.buf
        b.n = 0
        if K_SEQ in event or K_TIME in event or K_V in event or K_TOPIC in event \
                or self._extra and K_EPOCH in event:
            return None         # {**event, envelope} keeps those keys where they are
        _len(b, <size_t>(PyDict_Size(event) + 4 + self._extra), 0x80, 15, -1, 0xde, 0xdf)
        if _items(b, event, 1):
            return None
        if _envelope(b, seq, t, self.v, topic, self._tail_packed):
            return None
        return PyBytes_FromStringAndSize(b.p, <Py_ssize_t>b.n)

    def publish(self, event, now=None) -> int:
        """Stamp ``event`` with the next seq, queue it for the journal and the ring, send it;
        returns its seq. An event msgpack cannot encode raises (TypeError, ValueError,
        OverflowError...) without taking a seq."""
        cdef long long seq = self.seq + 1
        cdef timespec ts
        cdef object t
        if now is None:
            clock_gettime(CLOCK_REALTIME, &ts)      # time.time()
            t = ts.tv_sec + ts.tv_nsec * 1e-9
        else:
            t = now
        cdef object kind, topic
        cdef object tb = None
        cdef bytes data = None
        cdef Py_ssize_t i
        if PyDict_CheckExact(event):
            kind = event["type"]
            topic = event.get("topic") or kind.lower()
            if not PyUnicode_CheckExact(topic):
                topic = str(topic)
            data = self._frame(event, seq, t, topic)
            if data is None:
                data = self._pack({**event, "seq": seq, "time": t, "v": self._v, "topic": topic, **self._tail})
        elif (plan := self._plans.get(type(event))) is not None and plan is not False:
            i = self._call_topic(<_Plan>plan, event) if (<_Plan>plan).call_topic else -1
            if i >= 0:
                topic, tb = self._ct_str[i], self._ct_bytes[i]
            else:
                topic = event.topic()
                if not PyUnicode_CheckExact(topic):
                    raise TypeError(f"{type(event).__name__}.topic() returned {type(topic).__name__}, not str")
            kind = (<_Plan>plan).kind
            data = self._event_frame(<_Plan>plan, event, seq, t, topic)
            if data is None:
                d = event.stamped(seq, t, self._v, topic)
                if self._extra:
                    d.update(self._tail)
                data = self._pack(d)
        elif isinstance(event, BusEvent):
            if plan is None:
                self._plans[type(event)] = _plan(type(event))
                return self.publish(event, now)
            topic = event.topic()
            if not PyUnicode_CheckExact(topic):
                raise TypeError(f"{type(event).__name__}.topic() returned {type(topic).__name__}, not str")
            d = event.stamped(seq, t, self._v, topic)      # one dict: fields, type, envelope
            if self._extra:
                d.update(self._tail)
            kind = d["type"]
            b = &self.buf
            b.n = 0
            if PyDict_CheckExact(d) and not _enc(b, d, 0):
                data = PyBytes_FromStringAndSize(b.p, <Py_ssize_t>b.n)
            else:
                data = self._pack(d)
        else:
            kind = event["type"]
            topic = event.get("topic") or kind.lower()
            if not PyUnicode_CheckExact(topic):
                topic = str(topic)
            data = self._pack({**event, "seq": seq, "time": t, "v": self._v, "topic": topic, **self._tail})
        if self.sock.closed:
            raise zmq.ZMQError(zmq.ENOTSOCK)
        if seq > self.limit:
            self._reach(seq)
        self.seq = seq
        self._journal.append((seq, t, topic, kind, data))
        self._ring_append(data)
        if tb is None:
            tb = self._topics.get(topic)
            if tb is None:
                tb = (<str>topic).encode()
                if len(self._topics) < 100_000:
                    self._topics[topic] = tb
        if self._zsend != NULL:
            self._zmq_send(tb, ZMQ_SNDMORE)
            self._zmq_send(data, 0)
        else:
            self._send(tb, zmq.SNDMORE)
            self._send(data)
        return seq

    cdef int _reach(self, long long seq) except -1:
        """Ask ``on_limit`` to let ``seq`` out (it raises, or returns a limit >= seq)."""
        if self.on_limit is None:
            raise RuntimeError(f"seq {seq} is beyond the publisher's limit {self.limit} and nobody extends it")
        limit = self.on_limit(seq)
        if not isinstance(limit, int) or limit < seq:
            raise RuntimeError(f"on_limit({seq}) returned {limit!r}, not a limit >= {seq}")
        self.limit = limit
        return 0

    cdef Py_ssize_t _call_topic(self, _Plan plan, object event) except -2:
        """The index of ``event.topic()`` in the call-topic table (made on first use), or -1
        when the event's span/ts are not small ints (then topic() is called)."""
        cdef PyObject* span = (<PyObject**>((<char*><PyObject*>event) + plan.span_at))[0]
        cdef PyObject* ts = (<PyObject**>((<char*><PyObject*>event) + plan.ts_at))[0]
        cdef long long s, t
        cdef int over_s = 0, over_t = 0
        if span == NULL or ts == NULL or not PyLong_CheckExact(<object>span) or not PyLong_CheckExact(<object>ts):
            return -1
        s = PyLong_AsLongLongAndOverflow(<object>span, &over_s)
        t = PyLong_AsLongLongAndOverflow(<object>ts, &over_t)
        if over_s or over_t or not (0 <= s < TOPIC_SPANS and 0 <= t < TOPIC_TS):
            return -1
        cdef Py_ssize_t i = s * TOPIC_TS + t
        if self._ct_str[i] is None:
            topic = f"call.{s}.{t}"
            self._ct_str[i] = topic
            self._ct_bytes[i] = topic.encode()
        return i

    cdef bytes _event_frame(self, _Plan plan, object event, long long seq, object t, str topic):
        """``event.stamped(...)`` as msgpack, read from the slots; None when msgpack must do it."""
        cdef Buf* b = &self.buf
        cdef const char* keys = PyBytes_AS_STRING(plan.keys)
        cdef Py_ssize_t start = 0
        cdef PyObject* v
        cdef int i
        b.n = 0
        _len(b, <size_t>(plan.n + 5 + self._extra), 0x80, 15, -1, 0xde, 0xdf)
        for i in range(plan.n):
            v = (<PyObject**>((<char*><PyObject*>event) + plan.offset[i]))[0]
            if v == NULL:           # an unset slot: stamped raises AttributeError
                return None
            _put(b, keys + start, <size_t>(plan.key_end[i] - start))
            start = plan.key_end[i]
            if _enc(b, <object>v, 1):
                return None
        _put(b, PyBytes_AS_STRING(plan.kind_packed), <size_t>PyBytes_GET_SIZE(plan.kind_packed))
        if _envelope(b, seq, t, self.v, topic, self._tail_packed):
            return None
        return PyBytes_FromStringAndSize(b.p, <Py_ssize_t>b.n)

    cdef int _zmq_send(self, bytes frame, int flags) except -1:
        cdef int rc
        while True:
            rc = self._zsend(self._handle, PyBytes_AS_STRING(frame), <size_t>PyBytes_GET_SIZE(frame), flags)
            if rc >= 0:
                return 0
            if errno != EINTR:
                raise zmq.ZMQError(errno)
            PyErr_CheckSignals()

    def take_journal(self) -> list:
        """The rows queued since the last call (a new list is queued into from now on)."""
        rows = self._journal
        self._journal = []
        return rows

    def encode(self, event: dict, seq: int, time, topic: str) -> bytes:
        """The frame :meth:`publish` sends for the dict ``event`` (for tests and tools)."""
        data = self._frame(event, seq, time, topic) if PyDict_CheckExact(event) else None
        if data is None:
            data = self._pack({**event, "seq": seq, "time": time, "v": self._v, "topic": topic, **self._tail})
        return data
