# cython: language_level=3
"""ISUP codec compiled (twin: :mod:`.codec_py`), driven by the same tables.

At import the message plans (:data:`.formats.PLANS`) and parameters (:data:`.params.PARAMS`)
are turned into C arrays: per message type the codes of its mandatory fixed and variable
parameters and whether it has an optional part; per parameter code its kind (an indicator
of n octets, a number, cause indicators, range and status, raw octets). Values that the
fast paths do not take (wrong types, out of range, a parameter with an encoder of its own)
go to the parameter's Python encoder/decoder from the table, so errors and their messages
are the twin's.
"""
from cpython.long cimport PyLong_AsLongAndOverflow
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.object cimport PyObject, PyObject_GenericSetAttr, PyObject_GenericSetDict, PyTypeObject
from cpython.ref cimport Py_DECREF, Py_INCREF
from cpython.unicode cimport PyUnicode_GET_LENGTH
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy

import dataclasses
from types import MemberDescriptorType

from . import params as _params
from .formats import _OPTIONAL, PLANS, FormatError, IsupMessage, MessageType, UnknownMessage, optional_items
from .call import IsupEvent
from .params import PARAMS, CauseInd, Number, ParameterError, RangeStatus

# ---- tables -> C arrays (at import) ------------------------------------------------------
cdef enum Kind:
    K_NONE = 0      # not a parameter we know
    K_INT = 1       # indicator of code_size[] octets, least significant first
    K_CALLED = 2
    K_CALLING = 3
    K_SUBSEQ = 4
    K_CAUSE = 5
    K_RANGE = 6
    K_RAW = 7
    K_PY = 8        # an encoder/decoder pair the compiled codec does not know: call it

DEF MAXPART = 8

cdef int code_kind[256]
cdef int code_size[256]
cdef list code_name = [None] * 256
cdef list code_enc = [None] * 256
cdef list code_dec = [None] * 256

cdef bint plan_ok[256]
cdef int plan_nfixed[256]
cdef int plan_fixed[256][MAXPART]
cdef int plan_fixed_size[256]
cdef int plan_nvar[256]
cdef int plan_var[256][MAXPART]
cdef bint plan_opt[256]
cdef list plan_mtype = [None] * 256
cdef list plan_names = [None] * 256        # frozenset of the mandatory parameter names
cdef list plan_fixed_names = [None] * 256


def _kind(p):
    """Which fast path serves parameter ``p`` (by its encode/decode pair from the table)."""
    if p.size:
        return K_INT
    pair = (p.encode, p.decode)
    if pair == (_params.enc_called, _params.dec_called):
        return K_CALLED
    if pair == (_params.enc_calling, _params.dec_calling):
        return K_CALLING
    if pair == (_params.enc_subsequent, _params.dec_subsequent):
        return K_SUBSEQ
    if pair == (_params.enc_cause, _params.dec_cause):
        return K_CAUSE
    if pair == (_params.enc_range, _params.dec_range):
        return K_RANGE
    if p.decode is bytes:
        return K_RAW
    return K_PY


def _build():
    cdef int code, mt, k
    for code in range(256):
        code_kind[code] = K_NONE
        code_size[code] = 0
        plan_ok[code] = False
    for code, p in PARAMS.items():
        code_kind[code] = _kind(p)
        code_size[code] = p.size
        code_name[code] = p.name
        code_enc[code] = p.encode
        code_dec[code] = p.decode
    by_name = {p.name: c for c, p in PARAMS.items()}
    for mt, plan in PLANS.items():
        if len(plan.fixed) > MAXPART or len(plan.variable) > MAXPART:
            continue      # reported below: every plan must fit the arrays
        plan_ok[mt] = True
        plan_mtype[mt] = plan.mtype
        plan_names[mt] = plan.names
        plan_fixed_names[mt] = plan.fixed_names
        plan_nfixed[mt] = len(plan.fixed)
        plan_fixed_size[mt] = plan.fixed_struct.size
        for k, f in enumerate(plan.fixed):
            plan_fixed[mt][k] = by_name[f[0]]
        plan_nvar[mt] = len(plan.variable)
        for k, f in enumerate(plan.variable):
            plan_var[mt][k] = by_name[f[0]]
        plan_opt[mt] = plan.optional
    missing = [mt for mt in PLANS if not plan_ok[mt]]
    if missing:
        raise ImportError(f"codec_c: message types {missing} have more than {MAXPART} mandatory parameters")


_build()

# ---- a growable output buffer ------------------------------------------------------------
cdef struct Buf:
    unsigned char *p
    Py_ssize_t n
    Py_ssize_t cap
    unsigned char local[256]


cdef inline void buf_init(Buf *b) noexcept:
    b.p = b.local
    b.n = 0
    b.cap = 256


cdef inline void buf_free(Buf *b) noexcept:
    if b.p != b.local:
        free(b.p)


cdef int buf_grow(Buf *b, Py_ssize_t need) except -1:
    cdef Py_ssize_t cap = b.cap * 2
    cdef unsigned char *q
    while cap < b.n + need:
        cap *= 2
    if b.p == b.local:
        q = <unsigned char *>malloc(cap)
        if q == NULL:
            raise MemoryError()
        memcpy(q, b.local, b.n)
    else:
        q = <unsigned char *>realloc(b.p, cap)
        if q == NULL:
            raise MemoryError()
    b.p = q
    b.cap = cap
    return 0


cdef inline int buf_put(Buf *b, const unsigned char *src, Py_ssize_t k) except -1:
    if b.n + k > b.cap:
        buf_grow(b, k)
    memcpy(b.p + b.n, src, k)
    b.n += k
    return 0


cdef inline int buf_byte(Buf *b, unsigned char v) except -1:
    if b.n + 1 > b.cap:
        buf_grow(b, 1)
    b.p[b.n] = v
    b.n += 1
    return 0


cdef inline int buf_bytes(Buf *b, object v) except -1:
    """Append a bytes/bytearray value (what a Python encoder returned)."""
    cdef bytes bv = v if type(v) is bytes else bytes(v)
    return buf_put(b, <const unsigned char *>PyBytes_AS_STRING(bv), PyBytes_GET_SIZE(bv))


# ---- building and reading the parameter value objects -------------------------------------
cdef extern from "Python.h":
    ctypedef struct PyMemberDef:
        const char *name
        int type
        Py_ssize_t offset
        int flags
    ctypedef struct PyMemberDescrObject:
        PyMemberDef *d_member
    PyObject *PyType_GenericAlloc(PyTypeObject *tp, Py_ssize_t nitems) except NULL


cdef extern from "structmember.h":
    enum:
        T_OBJECT_EX
        READONLY


cdef class Slots:
    """Builds instances of a slots dataclass (frozen or not) without its __init__ (a frozen
    one sets each field through object.__setattr__: slow): the object is allocated and its
    slots filled in place, defaults from the dataclass fields for the values not given."""

    def __init__(self, cls):
        fields = dataclasses.fields(cls)
        self.cls = cls
        self.names = tuple(f.name for f in fields)
        self.defaults = tuple(f.default for f in fields)
        self.n = len(fields)
        self.direct = self.n <= 16 and type(cls) is type   # a plain class: allocated by PyType_GenericAlloc
        for i, name in enumerate(self.names):
            d = cls.__dict__.get(name)
            if not self.direct or type(d) is not MemberDescriptorType:
                self.direct = False
                break
            m = (<PyMemberDescrObject *><PyObject *>d).d_member
            if m.type != T_OBJECT_EX or m.flags & READONLY:
                self.direct = False
                break
            self.offs[i] = m.offset

    cdef object get(self, object obj, Py_ssize_t i):
        """Field ``i`` of ``obj`` (read in place when ``obj`` is exactly of the class)."""
        cdef PyObject *v
        if self.direct and type(obj) is self.cls:
            v = (<PyObject **>((<char *><PyObject *>obj) + self.offs[i]))[0]
            if v != NULL:
                return <object>v
        return getattr(obj, self.names[i])

    cdef object make(self, tuple values):
        """An instance with ``values`` for the first fields (in order), defaults for the rest."""
        cdef Py_ssize_t i, k = len(values)
        cdef PyObject *o
        cdef PyObject **slot
        if not self.direct:
            obj = self.cls.__new__(self.cls)
            for i in range(self.n):
                PyObject_GenericSetAttr(obj, self.names[i], values[i] if i < k else self.defaults[i])
            return obj
        o = PyType_GenericAlloc(<PyTypeObject *>self.cls, 0)   # zeroed slots, GC-tracked
        obj = <object>o
        Py_DECREF(obj)          # <object> took a second reference
        for i in range(self.n):
            v = values[i] if i < k else self.defaults[i]
            Py_INCREF(v)
            slot = <PyObject **>((<char *>o) + self.offs[i])
            slot[0] = <PyObject *>v
        return obj


cdef Slots NUMBER = Slots(Number)
cdef Slots EVENT = Slots(IsupEvent)
assert EVENT.names == ("kind", "cic", "time", "called", "calling", "category", "cause", "remote", "reason",
                       "available", "count"), "event() fills IsupEvent's fields by position"


def number(str digits):
    """``Number(digits)`` (the other fields default), built in place: call control's IAM."""
    return NUMBER.make((digits,))


def event(kind, cic, time, called="", calling=None, category=None, cause=0, remote=True, reason="",
          available=True, count=1):
    """``IsupEvent(...)`` by position, built in place (call control makes one per message)."""
    return EVENT.make((kind, cic, time, called, calling, category, cause, remote, reason, available, count))
#: the IsupEvent builder itself: call control (control_c) calls its ``make`` in C
EVENT_SLOTS = EVENT
cdef Slots CAUSE = Slots(CauseInd)
cdef Slots RANGE = Slots(RangeStatus)
cdef Py_ssize_t N_DIGITS = NUMBER.names.index("digits"), N_NAI = NUMBER.names.index("nai")
cdef Py_ssize_t N_NPI = NUMBER.names.index("npi"), N_INN = NUMBER.names.index("inn")
cdef Py_ssize_t N_PRES = NUMBER.names.index("presentation"), N_SCR = NUMBER.names.index("screening")
cdef Py_ssize_t C_VALUE = CAUSE.names.index("value"), C_LOCATION = CAUSE.names.index("location")
cdef Py_ssize_t C_CODING = CAUSE.names.index("coding"), C_DIAG = CAUSE.names.index("diagnostic")
cdef Py_ssize_t R_RANGE = RANGE.names.index("range"), R_STATUS = RANGE.names.index("status")


# ---- parameter encoders (fast paths; anything else goes to the table's encoder) -----------
cdef inline bint fits(object v, long hi) except -1:
    """``type(v) is int and 0 <= v <= hi`` without overflowing on big ints."""
    cdef int overflow = 0
    cdef long x
    if type(v) is not int:
        return False
    x = PyLong_AsLongAndOverflow(v, &overflow)
    return overflow == 0 and 0 <= x <= hi


cdef int hexval(Py_UCS4 u) noexcept:
    cdef unsigned int ch = <unsigned int>u
    if 48 <= ch <= 57:
        return ch - 48
    if 65 <= ch <= 70:
        return ch - 55
    if 97 <= ch <= 102:
        return ch - 87
    return -1


cdef int put_digits(Buf *b, object digits, int *odd) except -2:
    """Address signals, first digit in the low nibble (Q.763 3.9); -1 when not 0-9A-F or > 40."""
    cdef str s
    cdef Py_ssize_t n, i
    cdef int lo, hi
    if type(digits) is not str:
        return -1
    s = <str>digits
    n = PyUnicode_GET_LENGTH(s)
    if n > 40:
        return -1
    odd[0] = n & 1
    i = 0
    while i < n:
        lo = hexval(s[i])
        if lo < 0:
            return -1
        if i + 1 < n:
            hi = hexval(s[i + 1])
            if hi < 0:
                return -1
        else:
            hi = 0
        buf_byte(b, <unsigned char>((hi << 4) | lo))
        i += 2
    return 0


cdef int enc_fast(Buf *b, int code, object v) except -2:
    """Append the value octets of parameter ``code``; -1 when the fast path does not apply
    (nothing appended then: the caller uses the table's encoder)."""
    cdef int kind = code_kind[code]
    cdef int size, odd = 0, k
    cdef long x
    cdef Py_ssize_t start = b.n
    if kind == K_INT:
        size = code_size[code]
        if not fits(v, (1 << (8 * size)) - 1 if size < 8 else 0x7FFFFFFFFFFFFFFF):
            return -1
        x = v
        for k in range(size):
            buf_byte(b, <unsigned char>((x >> (8 * k)) & 0xFF))
        return 0
    if kind == K_CALLED or kind == K_CALLING:
        if type(v) is not Number:
            return -1
        n = <object>v
        nai, inn, npi = NUMBER.get(n, N_NAI), NUMBER.get(n, N_INN), NUMBER.get(n, N_NPI)
        if not (fits(nai, 127) and fits(inn, 1) and fits(npi, 7)):
            return -1
        if kind == K_CALLING:
            pres, scr = NUMBER.get(n, N_PRES), NUMBER.get(n, N_SCR)
            if not (fits(pres, 3) and fits(scr, 3)):
                return -1
            x = (<long>inn << 7) | (<long>npi << 4) | (<long>pres << 2) | <long>scr
        else:
            x = (<long>inn << 7) | (<long>npi << 4)
        buf_byte(b, 0)
        buf_byte(b, <unsigned char>x)
        if put_digits(b, NUMBER.get(n, N_DIGITS), &odd) < 0:
            b.n = start
            return -1
        b.p[start] = <unsigned char>((odd << 7) | <long>nai)
        return 0
    if kind == K_SUBSEQ:
        if type(v) is not Number:
            return -1
        buf_byte(b, 0)
        if put_digits(b, NUMBER.get(v, N_DIGITS), &odd) < 0:
            b.n = start
            return -1
        b.p[start] = <unsigned char>(odd << 7)
        return 0
    if kind == K_CAUSE:
        if type(v) is not CauseInd:
            return -1
        c = <object>v
        value, location, coding, diag = CAUSE.get(c, C_VALUE), CAUSE.get(c, C_LOCATION), CAUSE.get(c, C_CODING), CAUSE.get(c, C_DIAG)
        if not (fits(coding, 3) and fits(location, 15) and fits(value, 127) and type(diag) is bytes):
            return -1
        buf_byte(b, <unsigned char>(0x80 | (<long>coding << 5) | <long>location))
        buf_byte(b, <unsigned char>(0x80 | <long>value))
        buf_bytes(b, diag)
        return 0
    if kind == K_RANGE:
        if type(v) is not RangeStatus:
            return -1
        r = <object>v
        rng, status = RANGE.get(r, R_RANGE), RANGE.get(r, R_STATUS)
        if not fits(rng, 255):
            return -1
        if status is None:
            buf_byte(b, <unsigned char><long>rng)
            return 0
        if type(status) is not bytes or len(status) != <long>rng // 8 + 1:
            return -1
        buf_byte(b, <unsigned char><long>rng)
        buf_bytes(b, status)
        return 0
    if kind == K_RAW:
        if type(v) is not bytes:
            return -1
        buf_bytes(b, v)
        return 0
    return -1


cdef inline int enc_param(Buf *b, int code, object v) except -1:
    if enc_fast(b, code, v) < 0:
        buf_bytes(b, code_enc[code](v))
    return 0


# ---- parameter decoders ---------------------------------------------------------------------
cdef const char *HEXC = b"0123456789ABCDEF"




cdef str digits_dec(int odd, const unsigned char *d, Py_ssize_t n):
    cdef Py_ssize_t i, k = 0
    cdef char out[512]
    for i in range(n):
        out[k] = HEXC[d[i] & 0x0F]
        out[k + 1] = HEXC[d[i] >> 4]
        k += 2
    if odd:
        if k == 0:
            raise ParameterError("odd indicator set without digits")
        k -= 1
    return out[:k].decode("ascii")


cdef object dec_param(int code, const unsigned char *d, Py_ssize_t n):
    cdef int kind = code_kind[code]
    cdef int size, k, i
    cdef long x
    if kind == K_INT:
        size = code_size[code]
        if n != size:
            raise ParameterError(f"indicator of {n} octets (expected {size})")
        x = 0
        for k in range(size):
            x |= (<long>d[k]) << (8 * k)
        return x
    if kind == K_CALLED:
        if n < 2:
            raise ParameterError("number shorter than 2 octets")
        return NUMBER.make((digits_dec(d[0] >> 7, d + 2, n - 2), d[0] & 0x7F, (d[1] >> 4) & 7, d[1] >> 7))
    if kind == K_CALLING:
        if n < 2:
            raise ParameterError("number shorter than 2 octets")
        return NUMBER.make((digits_dec(d[0] >> 7, d + 2, n - 2), d[0] & 0x7F, (d[1] >> 4) & 7, d[1] >> 7,
                            (d[1] >> 2) & 3, d[1] & 3))
    if kind == K_SUBSEQ:
        if n < 1:
            raise ParameterError("subsequent number empty")
        return NUMBER.make((digits_dec(d[0] >> 7, d + 1, n - 1),))
    if kind == K_CAUSE:
        if n < 2:
            raise ParameterError("cause indicators shorter than 2 octets")
        i = 1
        if not d[0] & 0x80:      # octet 1a (recommendation) present
            i = 2
            if n < 3:
                raise ParameterError("cause indicators truncated")
        return CAUSE.make((d[i] & 0x7F, d[0] & 0x0F, (d[0] >> 5) & 3,
                           PyBytes_FromStringAndSize(<char *>d + i + 1, n - i - 1)))
    if kind == K_RANGE:
        if n == 0:
            raise ParameterError("range and status empty")
        if n == 1:
            return RANGE.make((d[0], None))
        if n != d[0] // 8 + 2:
            raise ParameterError(f"status of {n - 1} octets for range {d[0]}")
        return RANGE.make((d[0], PyBytes_FromStringAndSize(<char *>d + 1, n - 1)))
    raw = PyBytes_FromStringAndSize(<char *>d, n)
    if kind == K_RAW:
        return raw
    return code_dec[code](raw)


# ---- messages ---------------------------------------------------------------------------------
def encode(msg):
    """The octets of ``msg`` (after the routing label); ValueError/TypeError on bad values."""
    return encode_message(msg.type, msg.cic, msg.params, msg.unknown)


def encode_message(mtype, cic, p, unknown=None):
    """:func:`encode` without building an :class:`IsupMessage` first."""
    cdef int mt = -1
    if type(mtype) is int or type(mtype) is MessageType:     # the plan from the C arrays
        if 0 <= mtype < 256 and plan_ok[<int>mtype]:
            mt = mtype
    if mt < 0:                                              # anything PLANS takes as a key
        plan = PLANS.get(mtype)
        if plan is None:
            raise ValueError(f"{mtype!r} is not a message type of FORMATS")
        mt = plan.mtype
    mtn = plan_mtype[mt]
    cdef int icic
    if type(cic) is int and 0 <= cic <= 0xFFF:
        icic = cic
    else:
        if not 0 <= cic <= 0xFFF:
            raise ValueError(f"CIC {cic} outside 0..4095")
        icic = (cic & 0xFF) | ((cic >> 8) << 8)
    names = <frozenset>plan_names[mt]
    cdef list extra = None
    if not (len(p) == len(names) and names.issuperset(p)):
        extra = [n for n in p if n not in names]
        if len(p) - len(extra) != len(names):
            missing = sorted(names - set(p))
            raise ValueError(f"{mtn.name} needs {', '.join(missing)}")
        if not extra:
            extra = None
    if (extra or unknown) and not plan_opt[mt]:
        raise ValueError(f"{mtn.name} has no optional part ({sorted(extra or ())})")
    cdef Buf out, body, opts
    cdef int k, code, nptr, nvar = plan_nvar[mt], nfixed = plan_nfixed[mt]
    cdef Py_ssize_t at, vlen
    cdef long ptrs[MAXPART + 1]
    cdef unsigned char ptro[MAXPART + 1]
    cdef int np = 0
    buf_init(&out)
    buf_init(&body)
    buf_init(&opts)
    try:
        buf_byte(&out, icic & 0xFF)
        buf_byte(&out, icic >> 8)
        buf_byte(&out, mt)
        if nfixed:
            # Q.763 1.5: the mandatory fixed part is indicators of fixed length, LSB first
            vals = [p[name] for name in <tuple>plan_fixed_names[mt]]
            for k in range(nfixed):
                if enc_fast(&out, plan_fixed[mt][k], vals[k]) < 0:
                    out.n = 3     # as the twin: the parameters' own encoders say why
                    for k in range(nfixed):
                        buf_bytes(&out, code_enc[plan_fixed[mt][k]](p[code_name[plan_fixed[mt][k]]]))
                    break
        if nvar == 0 and extra is None and not unknown:
            if plan_opt[mt]:
                buf_byte(&out, 0)
            return PyBytes_FromStringAndSize(<char *>out.p, out.n)
        nptr = nvar + (1 if plan_opt[mt] else 0)
        for k in range(nvar):
            code = plan_var[mt][k]
            at = body.n
            buf_byte(&body, 0)
            enc_param(&body, code, p[code_name[code]])
            vlen = body.n - at - 1
            if vlen > 255:
                raise ValueError("parameter longer than 255 octets")
            body.p[at] = <unsigned char>vlen
            ptrs[np] = nptr - k + at
            np += 1
        if extra is not None:
            if len(extra) == 1 and extra[0] in _OPTIONAL:
                items = [_OPTIONAL[extra[0]]]     # the usual case (calling party number): no sort
            else:
                items = optional_items(extra)
            for item in items:
                code = item[0]
                buf_byte(&opts, code)
                at = opts.n
                buf_byte(&opts, 0)
                enc_param(&opts, code, p[item[1]])
                vlen = opts.n - at - 1
                if vlen > 255:
                    raise ValueError("parameter longer than 255 octets")
                opts.p[at] = <unsigned char>vlen
        if unknown:
            for code_o, v in sorted(unknown.items()):
                if code_o in PARAMS or not 0 < code_o <= 255 or len(v) > 255:
                    raise ValueError(f"unknown parameter code {code_o}")
                vb = bytes((code_o, len(v))) + v
                buf_bytes(&opts, vb)
        if plan_opt[mt]:
            ptrs[np] = nptr - nvar + body.n if opts.n else 0
            np += 1
            if opts.n:
                buf_byte(&opts, 0)
        for k in range(np):
            if ptrs[k] > 255:
                raise ValueError("message too long for its pointers")
            ptro[k] = <unsigned char>ptrs[k]
        buf_put(&out, ptro, np)
        buf_put(&out, body.p, body.n)
        buf_put(&out, opts.p, opts.n)
        return PyBytes_FromStringAndSize(<char *>out.p, out.n)
    finally:
        buf_free(&out)
        buf_free(&body)
        buf_free(&opts)


def decode(data):
    """Parse one ISUP message; only DecodeError subclasses on bad input."""
    return decode_as(data, True)


cdef int cause_value(bytes b) noexcept:
    """The cause value (Q.850) of a message that :func:`decode_as` accepted and whose first
    mandatory variable parameter is the cause indicators (REL, Q.763 table 26): read in place,
    octet 1a skipped when octet 1's extension bit is 0."""
    cdef const unsigned char *d = <const unsigned char *>PyBytes_AS_STRING(b)
    cdef Py_ssize_t i = 3 + plan_fixed_size[d[2]]
    cdef const unsigned char *c = d + i + d[i] + 1
    return c[1 if c[0] & 0x80 else 2] & 0x7F


cdef object decode_as(object data, bint build):
    """:func:`decode`; with ``build`` False the message is checked as a whole (every pointer,
    length and parameter value, the same errors) but no IsupMessage is built: True."""
    cdef bytes b = data if type(data) is bytes else bytes(data)
    cdef const unsigned char *d = <const unsigned char *>PyBytes_AS_STRING(b)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(b), i, at, j, vl
    cdef int cic, mt, k, code
    if n < 3:
        raise FormatError(None, None, f"{n} octets, shorter than CIC + type")
    cic = (d[0] | (d[1] << 8)) & 0x0FFF
    mt = d[2]
    if not plan_ok[mt]:
        raise UnknownMessage(cic, mt)
    cdef dict params = {} if build else None
    cdef dict unknown = {} if build else None
    i = 3
    try:
        for k in range(plan_nfixed[mt]):
            code = plan_fixed[mt][k]
            if i + code_size[code] > n:
                raise FormatError(cic, mt, f"fixed part truncated at {code_name[code]}")
            v = dec_param(code, d + i, code_size[code])
            if build:
                params[code_name[code]] = v
            i += code_size[code]
        for k in range(plan_nvar[mt]):        # one pointer each, to length + value
            code = plan_var[mt][k]
            if i >= n:
                raise FormatError(cic, mt, f"pointer to {code_name[code]} missing")
            at = i + d[i] if d[i] else n       # a zero pointer is out of the message too
            vl = d[at] if at < n else n
            if at + 1 + vl > n:
                raise FormatError(cic, mt, f"pointer/length of {code_name[code]} out of the message")
            v = dec_param(code, d + at + 1, vl)
            if build:
                params[code_name[code]] = v
            i += 1
        if plan_opt[mt]:
            if i >= n:
                raise FormatError(cic, mt, "pointer to the optional part missing")
            j = i + d[i]
            while d[i]:                         # code, length, value ... ended by 00
                code = d[j] if j < n else -1
                if code < 0:
                    raise FormatError(cic, mt, "optional part not ended by 00")
                if code == 0:
                    break
                vl = d[j + 1] if j + 1 < n else n
                if j + 2 + vl > n:
                    raise FormatError(cic, mt, f"optional parameter {code:#04x} truncated")
                if code_kind[code] != K_NONE and code_name[code] not in <frozenset>plan_names[mt]:
                    v = dec_param(code, d + j + 2, vl)
                    if build:
                        params[code_name[code]] = v
                elif build:                     # not ours, or a mandatory one repeated: kept raw
                    unknown[code] = PyBytes_FromStringAndSize(<char *>d + j + 2, vl)
                j += 2 + vl
    except ParameterError as e:
        raise FormatError(cic, mt, str(e)) from None
    if not build:
        return True
    msg = <object>PyType_GenericAlloc(<PyTypeObject *>IsupMessage, 0)   # what the frozen __init__
    Py_DECREF(msg)                      # does, without its 4 object.__setattr__ (<object> took a reference)
    PyObject_GenericSetDict(msg, {"type": plan_mtype[mt], "cic": cic, "params": params, "unknown": unknown}, NULL)
    return msg
