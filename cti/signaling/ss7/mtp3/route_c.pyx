# cython: language_level=3
"""MTP3 per-MSU path, compiled: routing with SLS load sharing (Q.704 clauses 2.3, 4.2),
discrimination and distribution (clauses 2.3, 2.4) and the linkset's service loop. Same API
and behaviour as the pure-Python twin ``route_py`` (see there); the routing label (ITU 14-bit
or China 24-bit point codes, Q.704 2.2 / GF 001-9001) is decoded on C ints, the SIO and label
of each (SI, SLS) are still built once by ``label.RoutingLabel`` and cached. Links on the
compiled MTP2 core (``bec_c``) are driven through its C interface (cimport), others through
their Python methods.
"""
cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE

from cti.signaling.ss7.mtp2.bec_c cimport LinkCore, Mtp2Event

from cti.signaling.ss7.mtp3.label import RoutingLabel, Variant, encode_sio

cdef object _ITU = Variant.ITU
DEF SLTM_SPECIAL = 2     # SI 0..2 are MTP's own (SNM, SLTM); user parts above (Q.704 14.2.1)


cdef inline Py_ssize_t _mod(long a, Py_ssize_t n) noexcept:
    """``a % n`` with Python's sign (C's follows ``a``)."""
    cdef Py_ssize_t r = a % n
    return r + n if r < 0 else r


@cython.no_gc       # holds str/float/int/bytes only: no cycles, no GC pressure per MSU
cdef class Mtp3Event:
    """An MTP3 indication: ``transfer`` (si, opc, dpc, sls, payload, link), ``pause``/``resume``
    (dpc, reason), ``link_up``/``link_down`` (link, reason)."""

    cdef public object kind, time, si, opc, dpc, sls, payload, link, reason

    def __init__(self, kind, time, si=0, opc=0, dpc=0, sls=0, payload=b"", link=-1, reason=""):
        self.kind, self.time, self.si, self.opc, self.dpc = kind, time, si, opc, dpc
        self.sls, self.payload, self.link, self.reason = sls, payload, link, reason

    cdef tuple _key(self):
        return (self.kind, self.time, self.si, self.opc, self.dpc, self.sls, self.payload,
                self.link, self.reason)

    def __eq__(self, other):
        if type(other) is not Mtp3Event:
            return NotImplemented
        return self._key() == (<Mtp3Event>other)._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return (f"Mtp3Event(kind={self.kind!r}, time={self.time!r}, si={self.si!r}, opc={self.opc!r}, "
                f"dpc={self.dpc!r}, sls={self.sls!r}, payload={self.payload!r}, link={self.link!r}, "
                f"reason={self.reason!r})")


cdef class LinksetCore:
    """Routing, discrimination and distribution of one linkset; ``_route``, ``_management``,
    ``_link_in_service`` and ``_link_down`` come from the linkset control subclass."""

    cdef public list links, timers, available, _events
    cdef public object variant
    cdef public long opc, dpc
    cdef public int ni
    cdef public dict _hold, _heads, _users, counters
    cdef public set _diverted
    cdef int _label_len, _sls_mask
    cdef bint _itu

    def __init__(self, list links, long opc, long dpc, variant, int ni, list timers):
        self.links = links
        self.variant = variant
        self._itu = variant is _ITU
        self._label_len = 4 if self._itu else 7
        self._sls_mask = 0x0F if self._itu else 0xFF
        self.opc, self.dpc, self.ni = opc, dpc, ni
        self.timers = timers
        self.available = [False] * len(links)
        self._hold = {}
        self._diverted = set()
        self._events = []
        self._heads = {}
        self._users = {}
        self.counters = {"discarded": 0, "not_for_us": 0, "changeovers": 0, "changebacks": 0,
                         "retrieved": 0, "slt_failures": 0}

    # ---- user side ------------------------------------------------------------------
    def send(self, int si, payload, long sls, now) -> None:
        """MTP-TRANSFER request to the adjacent point; load-shared by ``sls``."""
        self._send(si, payload, sls, now)

    cdef int _send(self, int si, payload, long sls, now) except -1:
        cdef long key = (si << 8) | (sls & self._sls_mask)
        cdef tuple head = self._heads.get(key)
        if head is None:     # SIO and routing label for this SI and SLS, checked once
            label = RoutingLabel(self.dpc, self.opc, sls & self._sls_mask)
            head = (encode_sio(si, self.ni), label.encode(self.variant))
            self._heads[key] = head
        cdef bytes data = <bytes>head[1] + (payload if type(payload) is bytes else bytes(payload))
        cdef Py_ssize_t pref = _mod(sls, len(self.links))
        if self.available[pref] and not self._hold and not self._diverted:   # _route's usual case
            ln = self.links[pref]
            if isinstance(ln, LinkCore):
                (<LinkCore>ln).enqueue(<int>head[0], data)
            else:
                ln.send(head[0], data, now)
        else:
            self._route(head[0], data, sls, now)
        return 0

    def send_each(self, int si, messages, now, long sls_mask=0x0F) -> None:
        """:meth:`send` each ``(key, payload)`` of ``messages`` with SLS ``key & sls_mask``
        (ISUP: key = CIC, whose low 4 bits are the SLS, Q.764 2.2.2)."""
        for key, payload in messages:
            self._send(si, payload, <long>key & sls_mask, now)

    # ---- service ----------------------------------------------------------------------
    def service(self, now) -> list:
        """Run MTP3 over what the links received and the timers due; the events for the users."""
        cdef Py_ssize_t i
        cdef double t = now
        cdef list evs
        cdef Mtp2Event e
        for i in range(len(self.links)):
            ln = self.links[i]
            if isinstance(ln, LinkCore):
                (<LinkCore>ln).run_timers(t)
                evs = (<LinkCore>ln).take_events()
            else:
                ln.handle_timer(now)
                evs = ln.events()
            for ev in evs:
                if type(ev) is Mtp2Event:
                    e = <Mtp2Event>ev
                    if e.kind == "msu":
                        self._receive(i, e.sio, e.sif, now)
                        continue
                kind = ev.kind
                if kind == "msu":
                    self._receive(i, ev.sio, ev.sif, now)
                elif kind == "in_service":
                    self._link_in_service(i, now)
                elif kind == "out_of_service" or kind == "remote_processor_outage":
                    self._link_down(i, now, ev.reason or kind)
            timers = self.timers[i]
            for v in timers.running.values():
                if <double>v <= t:
                    timers.handle_timer(now)     # expiry events: rows of the link's table
                    break
        ev = self._events
        self._events = []
        return ev

    # ---- discrimination and distribution (Q.704 clause 2.3, 2.4) --------------------------
    cdef int _receive(self, Py_ssize_t i, int sio, bytes sif, now) except -1:
        cdef int si = sio & 0x0F, ni = (sio >> 6) & 0x03
        cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(sif)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(sif)
        cdef long dpc, opc, sls
        cdef unsigned long v
        if n < self._label_len:
            self.counters["discarded"] += 1
            return 0
        if self._itu:
            v = p[0] | (p[1] << 8) | (p[2] << 16) | (<unsigned long>p[3] << 24)
            dpc, opc, sls = v & 0x3FFF, (v >> 14) & 0x3FFF, v >> 28
        else:
            dpc = p[0] | (p[1] << 8) | (p[2] << 16)
            opc = p[3] | (p[4] << 8) | (p[5] << 16)
            sls = p[6]
        if ni != self.ni:
            self.counters["discarded"] += 1
            return 0
        if dpc != self.opc:
            self.counters["not_for_us"] += 1   # we are not an STP: discard (Q.704 2.3.5)
            return 0
        rest = PyBytes_FromStringAndSize(<const char*>p + self._label_len, n - self._label_len)
        cdef Mtp3Event ev
        if si > SLTM_SPECIAL:                 # user parts
            deliver = self._users.get(si) if self._users else None
            if deliver is not None and opc == self.dpc and not self._events:
                deliver(rest, now)
            else:
                ev = Mtp3Event.__new__(Mtp3Event)
                ev.kind, ev.time, ev.si, ev.opc, ev.dpc, ev.sls = "transfer", now, si, opc, dpc, sls
                ev.payload, ev.link, ev.reason = rest, i, ""
                self._events.append(ev)
            return 0
        self._management(i, si, dpc, opc, sls, rest, now)
        return 0
