# cython: language_level=3
"""MTP2 in-service path, compiled: signal unit parse/build (Q.703 clause 2) and basic error
correction (clause 5: FSN/FIB, BSN/BIB, retransmission buffer, T7). Same API and behaviour as
the pure-Python twin ``bec_py`` (see there); sequence numbers and indicator bits are C ints,
frames are built straight into bytes objects. Timers stay the link's ``Timers`` (TimerSpec
data): T6/T7 are started and stopped in its ``running`` dict like ``Timers.start``/``stop`` do.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
cimport cython
from collections import deque

from cti.signaling.errors import DecodeError
from cti.signaling.ss7.mtp2.states import KIND_EVENTS, LINK_FAILURE, LinkState
from cti.signaling.ss7.mtp2.timers import SUERM_D as _SUERM_D

cdef object _IN_SERVICE = LinkState.IN_SERVICE
cdef object _PO = LinkState.PROCESSOR_OUTAGE
cdef object _IA = LinkState.INITIAL_ALIGNMENT
cdef tuple _KIND_EVENTS = KIND_EVENTS
cdef int SUERM_D = _SUERM_D
cdef double _NEVER = float("inf")

DEF FISU_KIND = -1
DEF MSU_KIND = -2
DEF BAD = -9
DEF FILL_FISU = -1
DEF MAX_SIF = 272
DEF SIB = 5

HOT_COUNTERS = ("rx", "tx", "discarded", "nacks_sent", "retransmitted")
COUNTERS = ("rx", "tx", "su_errors", "nacks_sent", "retransmitted", "proving_aborts", "failures", "discarded")


cdef inline bytes _as_bytes(object data):
    if type(data) is bytes:
        return <bytes>data
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"a signal unit is bytes-like, not {type(data).__name__}")


cdef inline int _kind(const unsigned char* p, Py_ssize_t n) noexcept:
    """The parse kind of a signal unit, or BAD when it breaks Q.703 clause 2 / 4.1.4."""
    cdef int li, st
    if n < 3:
        return BAD
    li = p[2] & 0x3F
    if li == 0:
        return FISU_KIND if n == 3 else BAD
    if li <= 2:
        if n - 3 != li:
            return BAD
        st = p[3] & 0x07
        return st if st <= 5 else BAD
    if (li < 63 and n - 3 != li) or (li == 63 and not 63 <= n - 3 <= MAX_SIF + 1):
        return BAD
    return MSU_KIND


cdef str _error(const unsigned char* p, Py_ssize_t n):
    """The DecodeError text for a signal unit :func:`_kind` rejected (as the twin words it)."""
    if n < 3:
        return f"signal unit of {n} octets (at least 3)"
    cdef int li = p[2] & 0x3F
    if li == 0:
        return f"LI=0 but {n - 3} octets follow"
    if li <= 2:
        if n - 3 != li:
            return f"LI={li} but {n - 3} octets follow"
        return f"LSSU status {p[3] & 0x07} undefined"
    return f"LI={li} does not match {n - 3} octets"


def parse(data) -> tuple:
    """One signal unit (without FCS) as ``(BIB|BSN octet, FIB|FSN octet, kind, sio, sif)``:
    kind is FISU_KIND, MSU_KIND or an LSSU's status; DecodeError when it breaks Q.703
    clause 2 / 4.1.4."""
    cdef bytes b = _as_bytes(data)
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(b)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(b)
    cdef int kind = _kind(p, n)
    if kind == BAD:
        raise DecodeError(_error(p, n))
    if kind == MSU_KIND:
        return p[0], p[1], kind, p[3], PyBytes_FromStringAndSize(<const char*>p + 4, PyBytes_GET_SIZE(b) - 4)
    return p[0], p[1], kind, 0, b""


cdef inline bytes _msu(int bsn, int bib, int fsn, int fib, int sio, bytes sif):
    cdef Py_ssize_t n = PyBytes_GET_SIZE(sif)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 4 + n)
    cdef unsigned char* q = <unsigned char*>PyBytes_AS_STRING(out)
    cdef const unsigned char* s = <const unsigned char*>PyBytes_AS_STRING(sif)
    cdef Py_ssize_t i
    q[0] = (bib << 7) | bsn
    q[1] = (fib << 7) | fsn
    q[2] = 1 + n if n < 62 else 63
    q[3] = sio
    for i in range(n):
        q[4 + i] = s[i]
    return out


def msu_octets(int bsn, int bib, int fsn, int fib, int sio, sif) -> bytes:
    """An MSU from values already in range (the link's own sequence numbers, a checked SIF)."""
    return _msu(bsn, bib, fsn, fib, sio, _as_bytes(sif))


@cython.no_gc       # holds str/float/int/bytes only: no cycles, no GC pressure per MSU
cdef class Mtp2Event:
    """What the link tells MTP3: ``in_service``, ``out_of_service`` (reason), ``msu`` (sio, sif),
    ``remote_processor_outage``, ``remote_processor_recovered``."""

    def __init__(self, kind, time, sio=0, sif=b"", reason=""):
        self.kind, self.time, self.sio, self.sif, self.reason = kind, time, sio, sif, reason

    cdef tuple _key(self):
        return (self.kind, self.time, self.sio, self.sif, self.reason)

    def __eq__(self, other):
        if type(other) is not Mtp2Event:
            return NotImplemented
        return self._key() == (<Mtp2Event>other)._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return (f"Mtp2Event(kind={self.kind!r}, time={self.time!r}, sio={self.sio!r}, "
                f"sif={self.sif!r}, reason={self.reason!r})")


cdef inline int _dist(int a, int b) noexcept:
    """(b - a) mod 128: distance along the 7-bit sequence number cycle."""
    return (b - a) & 0x7F


cdef class LinkCore:
    """Basic error correction and fill-in of one link; ``lsc``/``iac`` (engine machines), ``su_error``
    and ``_timers_due`` come from the link control subclass."""

    def __init__(self, timers):
        self.timers = timers
        self._running = timers.running     # Timers.start/stop are these dict operations
        self._values = timers.values
        self._counters = dict.fromkeys(COUNTERS, 0)
        self.fill_interval = 0.02
        self._events = []
        self._fill = FILL_FISU
        self._last_fill = b""
        self._last_fill_at = -1e9
        self._out = deque()
        self._restart_at = _NEVER
        self._now = 0.0
        self._tb = deque()
        self._cs = 0
        self._su_count = 0
        self._reset_bec()

    def _reset_bec(self):
        """Basic error correction from the start (clause 5, after alignment)."""
        self._fsn_last = 127
        self._fib = 1
        self._acked = 127
        self._rtb = []
        self._retx = []
        self._rx_last = 127
        self._bib = 1
        self._nack_pending = False
        self._bad_bsn = 0
        self._bad_fib = 0
        self._busy = False

    @property
    def counters(self) -> dict:
        """rx, tx, su_errors, nacks_sent, retransmitted, proving_aborts, failures, discarded."""
        d = self._counters
        d["rx"], d["tx"], d["discarded"] = self.n_rx, self.n_tx, self.n_discarded
        d["nacks_sent"], d["retransmitted"] = self.n_nacks, self.n_retx
        return d

    # ---- user side -------------------------------------------------------------------
    def send(self, sio, sif, now) -> None:
        """Queue an MSU for transmission (transmission buffer, clause 5.2.1)."""
        cdef bytes b = sif if type(sif) is bytes else bytes(sif)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(b)
        if not 2 <= n <= 272 or not 0 <= sio <= 255:
            raise ValueError(f"MSU with SIO {sio} and {n}-octet SIF not allowed (2..272 octets)")
        self._tb.append((sio, b))

    cdef int enqueue(self, int sio, bytes sif) except -1:
        """:meth:`send` for callers in C (the compiled MTP3 core)."""
        cdef Py_ssize_t n = PyBytes_GET_SIZE(sif)
        if not 2 <= n <= 272 or not 0 <= sio <= 255:
            raise ValueError(f"MSU with SIO {sio} and {n}-octet SIF not allowed (2..272 octets)")
        self._tb.append((sio, sif))
        return 0

    cdef list take_events(self):
        """:meth:`events` for callers in C."""
        cdef list ev = self._events
        if ev:
            self._events = []
        return ev

    # ---- line side -------------------------------------------------------------------
    def receive(self, frame, double now) -> None:
        """A frame received with a good FCS (FCS stripped)."""
        self.receive_frame(_as_bytes(frame), now)

    def receive_from(self, channel, double now) -> None:
        """Every frame waiting on ``channel`` (a Board API HDLC channel), read by the link itself."""
        for frame in channel.recv_all():
            self.receive_frame(_as_bytes(frame), now)

    cdef int receive_frame(self, bytes b, double now) except -1:
        """:meth:`receive` for callers in C (the compiled transport)."""
        self._now = now
        cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(b)
        cdef int kind = _kind(p, PyBytes_GET_SIZE(b))
        if kind == BAD:
            self.su_error(now)
            return 0
        self.n_rx += 1
        self._su_count += 1               # SUERM's D-count (clause 10.2)
        if self._su_count >= SUERM_D:
            self._su_count = 0
            self._cs = max(0, self._cs - 1)
        lsc = self.lsc
        st = lsc.state
        if st is _IA:
            ev = _KIND_EVENTS[kind + 2]
            self.iac.fire_if(ev, ev, now)
            return 0
        if st is not _IN_SERVICE or kind >= 0:   # in service, FISU/MSU is a no-op row
            ev = _KIND_EVENTS[kind + 2]
            lsc.fire_if(ev, ev, now)
            st = lsc.state
        if st is _IN_SERVICE or st is _PO:
            self._bec_receive(p[0] & 0x7F, p[0] >> 7, p[1] & 0x7F, p[1] >> 7, kind, b, now)
        return 0

    def data_to_send(self, double now) -> list:
        """Frames (without FCS) to transmit now: retransmissions, new MSUs, and the fill-in
        (FISU or LSSU) when it changed or ``fill_interval`` passed."""
        self._now = now
        if self._due(now):
            self._timers_due(now)
        cdef list out
        if self._out:
            out = list(self._out)
            self._out.clear()
        else:
            out = []
        if (self._tb or self._retx) and self.lsc.state is _IN_SERVICE:
            self._bec_transmit(now, out)
        if out and self._fill == FILL_FISU:    # the in-service case of _fill_in, without a Python call
            self._last_fill, self._last_fill_at = self._fill_octets(), now
        else:
            self._fill_in(out, now)             # the link control's, shared with the twin
        self.n_tx += len(out)
        return out

    def handle_timer(self, double now) -> None:
        """Run the timers due at ``now`` (the link control's ``_timers_due``) and a pending restart."""
        self.run_timers(now)

    cdef int run_timers(self, double now) except -1:
        """:meth:`handle_timer` for callers in C."""
        self._now = now
        if self._due(now):
            self._timers_due(now)
        return 0

    cdef bint _due(self, double now) except -1:
        if now >= self._restart_at or self.lsc.running or self.iac.running:   # machines own T1-T4
            return True
        for v in self._running.values():
            if <double>v <= now:
                return True
        return False

    # ---- basic error correction (clause 5) ---------------------------------------------
    cdef int _bec_receive(self, int bsn, int bib, int fsn, int fib, int kind, bytes b,
                          double now) except -1:
        cdef int acked = self._acked, span, nxt
        cdef Mtp2Event ev
        # acknowledgements (5.3): BSN/BIB of every SU
        if _dist(acked, bsn) > _dist(acked, self._fsn_last):
            self._bad_bsn += 1
            if self._bad_bsn >= 2:
                self.lsc.fire(LINK_FAILURE, "abnormal BSN received twice", now)
            return 0
        self._bad_bsn = 0
        if bsn != acked:
            span = _dist(acked, bsn)      # FSNs acked..bsn are acknowledged now
            _drop_acked(self._rtb, acked, span)
            if self._retx:
                _drop_acked(self._retx, acked, span)
            self._acked = bsn
            running = self._running
            running.pop("T6", None)
            if self._rtb:
                running["T7"] = now + self._values["T7"]
            else:
                running.pop("T7", None)
        if bib != self._fib:   # negative acknowledgement: retransmit all unacknowledged (5.3.2)
            if self._rtb:
                self._retx = list(self._rtb)
            self._fib ^= 1
        # reception (5.2.2)
        if kind >= 0:          # LSSU
            if kind == SIB and "T6" not in self._running:
                self._running["T6"] = now + self._values["T6"]
            return 0
        if fib != self._bib:
            if kind == MSU_KIND:
                self.n_discarded += 1
            return 0
        nxt = (self._rx_last + 1) & 0x7F
        if kind == MSU_KIND and fsn == nxt:
            self._rx_last = nxt
            self._nack_pending = False
            ev = Mtp2Event.__new__(Mtp2Event)
            ev.kind, ev.time, ev.sio, ev.reason = "msu", now, (<const unsigned char*>b)[3], ""
            ev.sif = PyBytes_FromStringAndSize(PyBytes_AS_STRING(b) + 4, PyBytes_GET_SIZE(b) - 4)
            self._events.append(ev)
        elif fsn != self._rx_last:
            # a gap: an MSU was lost; ask for retransmission once (NACK by inverting BIB)
            if kind == MSU_KIND:
                self.n_discarded += 1
            if not self._nack_pending:
                self._bib ^= 1
                self._nack_pending = True
                self.n_nacks += 1
        elif kind == MSU_KIND:
            self.n_discarded += 1   # duplicate
        return 0

    cdef int _bec_transmit(self, double now, list out) except -1:
        cdef int rx_last = self._rx_last, bib = self._bib, fib = self._fib, fsn
        cdef bint sent = False
        cdef tuple e
        if self._retx:
            for e in self._retx:
                out.append(_msu(rx_last, bib, <int>e[0], fib, <int>e[1], <bytes>e[2]))
                self.n_retx += 1
            self._retx = []
        tb, rtb = self._tb, self._rtb
        fsn = self._fsn_last
        while tb and len(rtb) < 127:
            e = tb.popleft()
            fsn = (fsn + 1) & 0x7F
            rtb.append((fsn, e[0], e[1]))
            out.append(_msu(rx_last, bib, fsn, fib, <int>e[0], <bytes>e[1]))
            sent = True
        self._fsn_last = fsn
        if sent and "T7" not in self._running:
            self._running["T7"] = now + self._values["T7"]
        return 0

    # ---- fill-in -----------------------------------------------------------------------
    cpdef bytes _fill_octets(self):
        """The fill-in signal unit now: FISU, or the LSSU of ``_fill`` (Q.703 clause 5.2)."""
        cdef bytes out = PyBytes_FromStringAndSize(NULL, 3 if self._fill == FILL_FISU else 4)
        cdef unsigned char* q = <unsigned char*>PyBytes_AS_STRING(out)
        q[0] = (self._bib << 7) | self._rx_last
        q[1] = (self._fib << 7) | self._fsn_last
        if self._fill == FILL_FISU:
            q[2] = 0
        else:
            q[2] = 1
            q[3] = self._fill
        return out


cdef int _drop_acked(list buf, int acked, int span) except -1:
    """Remove from a retransmission buffer the entries whose FSN lies in ``acked+1 .. acked+span``
    (in place; they are its first entries, the FSNs being consecutive)."""
    cdef Py_ssize_t k = 0, n = len(buf), j
    while k < n and _dist(acked, <int>(<tuple>buf[k])[0]) <= span:
        k += 1
    for j in range(k, n):
        if _dist(acked, <int>(<tuple>buf[j])[0]) <= span:   # not consecutive: filter them all
            buf[:] = [e for e in buf if _dist(acked, <int>e[0]) > span]
            return 0
    if k:
        del buf[:k]
    return 0
