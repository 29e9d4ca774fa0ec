"""Q.931 messages: header (protocol discriminator, call reference, message type) and their
information elements (Q.931 clause 4), encoded and decoded as data.

:func:`decode` raises :class:`MessageError` (a DecodeError) only for what Q.931 5.8.1-5.8.3
and 5.8.5 say to *ignore* (wrong protocol discriminator, bad call reference, too short).
Everything the call control must answer is decoded into the :class:`Message` instead:
an unknown message type keeps its number (5.8.4: STATUS cause 97), an element whose contents
break its coding is listed in ``invalid`` (5.8.6.2 / 5.8.7.2: cause 100), an element we do
not know in ``unrecognized`` (5.8.7.1: cause 99); mandatory elements are in
:data:`MANDATORY` and checked by :func:`missing` (5.8.6.1: cause 96), or all at once by
:meth:`Message.problem`.

One source, two builds: this module runs as it is (the twin) and setup.py compiles it in
Cython's pure-Python mode with ``message_c.pxd`` as ``message_c`` (:mod:`.message` picks the
live one). The decoder is written for the compiled build, because it is the per-message cost
of every PRI call: one pass over the octets in C integers locates the elements and checks
their coding (:func:`_valid`, the same verdicts as the decoders of :mod:`.ie`, which a
hypothesis test holds it to) and makes no element object. The message keeps its octets:
``ies`` is built on first use, :meth:`Message.get` parses the one element asked for, and the
accessors the call states read (:meth:`~Message.cause_value`, :meth:`~Message.channel`,
:meth:`~Message.progress`, :meth:`~Message.call_state`, :meth:`~Message.has`,
:meth:`~Message.called_digits`) read octets, and a number element asked for is built from
its fields read there.
Anything unusual (a shift, an element we do not know or whose contents are wrong) takes the
reference decoder (:func:`_elements`), which builds the lists at once. The encoder writes the
header and the elements' kept octets into one new bytes object (:mod:`._octets`).
"""
from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any, TypeVar

import cython

from cti.signaling.errors import DecodeError

from . import _octets
from . import ie as IE
from .ie import KNOWN_RAW, IE_TYPES, Ie, IeError, Raw

PD_Q931 = 0x08             #: Q.931 4.2 protocol discriminator of user-network call control
CREF_LEN_PRI = 2           #: Q.931 4.3: two-octet call reference on the primary rate interface
GLOBAL_CREF = 0            #: Q.931 4.3: the global call reference (RESTART)


class MessageError(DecodeError):
    """A message Q.931 5.8.1-5.8.3 / 5.8.5 says to ignore."""


class MT(enum.IntEnum):
    """Message types of Q.931 Table 4-2 that basic call control uses."""

    ALERTING = 0x01
    CALL_PROCEEDING = 0x02
    PROGRESS = 0x03
    SETUP = 0x05
    CONNECT = 0x07
    SETUP_ACKNOWLEDGE = 0x0D
    CONNECT_ACKNOWLEDGE = 0x0F
    DISCONNECT = 0x45
    RESTART = 0x46
    RELEASE = 0x4D
    RESTART_ACKNOWLEDGE = 0x4E
    RELEASE_COMPLETE = 0x5A
    NOTIFY = 0x6E
    STATUS_ENQUIRY = 0x75
    INFORMATION = 0x7B
    STATUS = 0x7D


#: Q.931 clause 3.1 (network -> user and user -> network alike unless said): mandatory elements
MANDATORY: dict[int, tuple[int, ...]] = {
    MT.SETUP: (IE.Id.BEARER_CAPABILITY,),
    MT.DISCONNECT: (IE.Id.CAUSE,),
    MT.STATUS: (IE.Id.CAUSE, IE.Id.CALL_STATE),
    MT.RESTART: (IE.Id.RESTART_INDICATOR,),
    MT.RESTART_ACKNOWLEDGE: (IE.Id.RESTART_INDICATOR,),
    MT.NOTIFY: (IE.Id.NOTIFICATION,),
    MT.PROGRESS: (IE.Id.PROGRESS,),
}
#: mandatory only from the network side on a primary rate interface (Q.931 3.1.14 / 3.1.2 notes)
MANDATORY_FROM_NETWORK: dict[int, tuple[int, ...]] = {
    MT.SETUP: (IE.Id.CHANNEL_ID,),
}
#: plain int keys (a C int message type finds its row without the enum's hash)
_NEED: dict[int, tuple[int, ...]] = {int(k): tuple(int(i) for i in v) for k, v in MANDATORY.items()}
_NEED_NET: dict[int, tuple[int, ...]] = {int(k): tuple(int(i) for i in v) for k, v in MANDATORY_FROM_NETWORK.items()}

I = TypeVar("I", bound=Ie)  # noqa: E741

#: identifier octet -> what the one-pass decoder does with it: 1 an element of :data:`IE_TYPES`
#: (contents checked by :func:`_valid`), 2 an element carried uninterpreted (:data:`KNOWN_RAW`),
#: 0 anything else (the reference decoder sorts it out)
_KIND: bytes = bytes(1 if i in IE_TYPES else 2 if i in KNOWN_RAW else 0 for i in range(256))
_DIGIT: bytes = bytes(1 if chr(i) in IE.DIGITS else 0 for i in range(256))   #: IA5 number digits
_SC = int(IE.Id.SENDING_COMPLETE)


class Message:
    """One Q.931 message. ``flag`` is the call reference flag: False from the side that
    allocated the call reference, True toward it (Q.931 4.3).

    Built from its parts (``Message(mtype, cref, flag, ies)``, to send) or by :func:`decode`,
    which keeps the octets and builds ``ies`` / ``unrecognized`` / ``invalid`` only when they
    are first read; :meth:`get`, :meth:`has` and the accessors read the octets until then."""

    def __init__(self, mtype: int, cref: int = 0, flag: bool = False, ies: list[Ie] | None = None,
                 unrecognized: list[int] | None = None, invalid: list[tuple[int, str]] | None = None) -> None:
        self.mtype = mtype
        self.cref = cref
        self.flag = flag
        #: the octets of a decoded message (None: built from parts); the three lists are None
        #: until first read when the one-pass decoder found nothing unusual
        self._data: bytes = None  # type: ignore[assignment]
        self._start = 0
        self._ies: list[Ie] = [] if ies is None else ies
        self._unrec: list[int] = [] if unrecognized is None else unrecognized
        self._inv: list[tuple[int, str]] = [] if invalid is None else invalid

    # ---- the lists, built from the octets on first use ---------------------------------------
    def _expand(self) -> None:
        if self._ies is None:
            self._ies, self._unrec, self._inv = [], [], []
            _elements(self, self._data, self._start)

    @property
    def ies(self) -> list[Ie]:
        """The elements (typed; :class:`~.ie.Raw` for those carried uninterpreted)."""
        if self._ies is None:
            self._expand()
        return self._ies

    @ies.setter
    def ies(self, value: list[Ie]) -> None:
        self._expand()
        self._ies = value

    @property
    def unrecognized(self) -> list[int]:
        """Element identifiers we do not know (Q.931 5.8.7.1), codeset 0 only."""
        if self._ies is None:
            self._expand()
        return self._unrec

    @unrecognized.setter
    def unrecognized(self, value: list[int]) -> None:
        self._expand()
        self._unrec = value

    @property
    def invalid(self) -> list[tuple[int, str]]:
        """(identifier, reason) of elements whose contents are wrong (5.8.6.2 / 5.8.7.2)."""
        if self._ies is None:
            self._expand()
        return self._inv

    @invalid.setter
    def invalid(self, value: list[tuple[int, str]]) -> None:
        self._expand()
        self._inv = value

    @property
    def clean(self) -> bool:
        """No element unrecognized or invalid (Q.931 5.8.6 / 5.8.7 have nothing to say)."""
        if self._ies is None:
            return True                    # the one-pass decoder found nothing unusual
        return not self._unrec and not self._inv

    @property
    def name(self) -> str:
        try:
            return MT(self.mtype).name
        except ValueError:
            return f"0x{self.mtype:02x}"

    # ---- reading elements --------------------------------------------------------------------
    def _find(self, ident: cython.int) -> cython.int:
        """Offset of the first codeset 0 element ``ident`` in the octets, -1 when absent (a
        message decoded by the one-pass decoder: no shifts, every element whole)."""
        data: bytes = self._data
        n = len(data)
        i = self._start
        while i < n:
            o = data[i]
            if o & 0x80:
                if o == ident and o == _SC:          # the other single octets are not elements
                    return i
                i += 1
                continue
            if o == ident:
                return i
            i += 2 + data[i + 1]
        return -1

    def get(self, kind: type[I]) -> I | None:
        """The first element of type ``kind``, or None."""
        if self._ies is None:
            ident = IE_TYPES_ID.get(kind, -1)
            if ident >= 0:
                i = self._find(ident)
                if i < 0:
                    return None
                if ident == _SC:
                    return IE.SENDING_COMPLETE
                if ident == 0x70 or ident == 0x6C or ident == 0x4C:
                    return self._number(kind, i)
                data: bytes = self._data
                return kind.decode(data[i + 2:i + 2 + data[i + 1]])
            self._expand()
        for e in self._ies:
            if type(e) is kind:
                return e
        return None

    def _number(self, kind: Any, i: cython.int) -> Any:
        """The number element (called, calling, connected) at offset ``i``, checked by the
        one-pass decoder: its fields read here, as :meth:`.ie._Number.decode` reads them."""
        data: bytes = self._data
        p = i + 2
        o3 = data[p]
        if o3 & 0x80:
            pres, scr, j = None, 0, p + 1
        else:
            pres, scr, j = (data[p + 1] >> 5) & 3, data[p + 1] & 3, p + 2
        # a frozen dataclass's fields live in its __dict__: filled directly, without the
        # generated __init__'s five object.__setattr__ calls (most of this path's cost)
        e = kind.__new__(kind)
        d = e.__dict__
        d["digits"] = data[j:p + data[i + 1]].decode("ascii")
        d["ton"] = (o3 >> 4) & 7
        d["plan"] = o3 & 0x0F
        d["presentation"] = pres
        d["screening"] = scr
        return e

    def called_digits(self) -> str:
        """The digits of the called party number, "" without one."""
        if self._ies is None:
            i = self._find(0x70)
            if i < 0:
                return ""
            data: bytes = self._data
            return data[i + 3:i + 2 + data[i + 1]].decode("ascii")
        n = self.get(IE.CalledNumber)
        return n.digits if n is not None else ""

    def has(self, ident: cython.int) -> bool:
        """An element of identifier ``ident`` is present (any codeset, as :func:`missing`)."""
        if self._ies is None:
            return self._find(ident) >= 0
        for e in self._ies:  # noqa: SIM110 (no generator: cpdef methods take no closures)
            if _ident(e) == ident:
                return True
        return False

    @property
    def sending_complete(self) -> bool:
        """Sending complete (Q.931 4.5.27) is present: en-bloc."""
        return self.has(_SC)

    def cause_value(self, default: cython.int = 16) -> cython.int:
        """The cause value (Q.850) of the cause element, or ``default`` without one."""
        if self._ies is None:
            i = self._find(0x08)
            if i < 0:
                return default
            data: bytes = self._data
            return data[i + 3 if data[i + 2] & 0x80 else i + 4] & 0x7F
        c = self.get(IE.Cause)
        return c.value if c is not None else default

    def progress(self) -> cython.int:
        """The progress description of the progress indicator, 0 without one."""
        if self._ies is None:
            i = self._find(0x1E)
            if i < 0:
                return 0
            data: bytes = self._data
            return data[i + 3] & 0x7F
        p = self.get(IE.Progress)
        return p.description if p is not None else 0

    def call_state(self) -> cython.int:
        """The call state (0..63) of the call state element, -1 without one."""
        if self._ies is None:
            i = self._find(0x14)
            if i < 0:
                return -1
            data: bytes = self._data
            return data[i + 2] & 0x3F
        s = self.get(IE.CallState)
        return s.value if s is not None else -1

    def channel(self) -> cython.int:
        """The first B channel (E1 timeslot) the channel identification names, 0 when there
        is none or it names no channel."""
        if self._ies is None:
            i = self._find(0x18)
            if i < 0:
                return 0
            data: bytes = self._data
            o3 = data[i + 2]
            if o3 & 3 != 1:
                return 0
            j = i + 3
            if o3 & 0x40:                  # interface identifier: skipped
                while not data[j] & 0x80:
                    j += 1
                j += 1
            return data[j + 1] & 0x7F
        c = self.get(IE.ChannelId)
        return c.channels[0] if c is not None and c.channels else 0

    def problem(self, from_network: bool) -> tuple[int, bool] | None:
        """(cause, act on the message anyway) for a message with element errors (Q.931
        5.8.6, 5.8.7), None for a message without: 96 a mandatory element missing (or an
        unrecognized one whose comprehension is required), 100 a mandatory element invalid,
        99 an element unrecognized, 100 an optional element invalid (the last two acted on).
        ``from_network``: the peer is the network side (its mandatory elements)."""
        mt: cython.int = self.mtype
        if self._ies is None:
            need = _NEED.get(mt)
            if need is not None:
                for i in need:
                    if self._find(i) < 0:
                        return 96, False
            if from_network:
                need = _NEED_NET.get(mt)
                if need is not None:
                    for i in need:
                        if self._find(i) < 0:
                            return 96, False
            return None
        if missing(self, from_network):
            return 96, False
        for u in self._unrec:
            if u < 0x10:                   # comprehension required (4.5.1)
                return 96, False
        if mandatory_invalid(self, from_network):
            return 100, False
        if self._unrec:
            return 99, True
        if self._inv:
            return 100, True
        return None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return (self.mtype, self.cref, self.flag, self.ies, self.unrecognized, self.invalid) == (
            other.mtype, other.cref, other.flag, other.ies, other.unrecognized, other.invalid)

    def __repr__(self) -> str:
        return (f"Message(mtype={self.mtype!r}, cref={self.cref!r}, flag={bool(self.flag)!r}, ies={self.ies!r}, "
                f"unrecognized={self.unrecognized!r}, invalid={self.invalid!r})")

    def __str__(self) -> str:
        return f"{self.name} cref={self.cref}{'*' if self.flag else ''} " + " ".join(type(e).__name__ for e in self.ies)


#: the element types :meth:`Message.get` finds by identifier in the octets
IE_TYPES_ID: dict[Any, int] = {t: int(i) for i, t in IE_TYPES.items()}
IE_TYPES_ID[IE.SendingComplete] = _SC


def _ident(e: Ie) -> int:
    return e.ident if type(e) is Raw else e.id      # type(): no ABC instance check per element


def _needed(mtype: int, from_network: bool) -> tuple[int, ...]:
    need = MANDATORY.get(mtype, ())       # IntEnum keys: an int message type finds its row
    return need + MANDATORY_FROM_NETWORK.get(mtype, ()) if from_network else need


def missing(m: Message, from_network: bool) -> list[int]:
    """Mandatory elements absent (or present but invalid, 5.8.6.2 counts them as content errors)."""
    need = _needed(m.mtype, from_network)
    if not need:
        return []
    have = [_ident(e) for e in m.ies]
    if m.invalid:
        have += [i for i, _ in m.invalid]
    return [i for i in need if i not in have]


def mandatory_invalid(m: Message, from_network: bool) -> list[int]:
    """Mandatory elements present whose contents are wrong (Q.931 5.8.6.2)."""
    if not m.invalid:
        return []
    need = _needed(m.mtype, from_network)
    return [i for i, _ in m.invalid if i in need]


def _wire(e: Ie | tuple[int, bytes]) -> tuple[int, bytes]:
    """(order key, octets) of one element: identifier, length and contents (Q.931 4.5), after
    a non-locking shift for another codeset. Elements are immutable (frozen), so the octets
    are kept on the element: one sent again (a call's cause, its channel) is not encoded
    again. The key orders single-octet elements first, then codeset 0, then the others by
    codeset (4.5.1), each by identifier."""
    if isinstance(e, tuple):                    # already in this form (:func:`number_wire`)
        return e
    d = e.__dict__
    hit: tuple[int, bytes] | None = d.get("_wire")
    if hit is not None:
        return hit
    if type(e) is Raw:
        ident = e.ident
        pre = bytes((0x98 | (e.codeset & 7),)) if e.codeset else b""
        cs = e.codeset
    else:
        ident, pre, cs = e.id, b"", 0
    if ident & 0x80:
        octets = pre + bytes((ident,))
        key = ident
    else:
        t = type(e)
        if t is IE.CalledNumber or t is IE.CallingNumber or t is IE.ConnectedNumber:
            body = _number_body(e)              # new with every call: its ie.encode() inlined
        else:
            body = e.encode()
        if len(body) > 255:
            raise ValueError(f"element 0x{ident:02x} of {len(body)} octets")
        octets = pre + bytes((ident, len(body))) + body
        key = (1 + cs) << 8 | ident
    hit = d["_wire"] = (key, octets)
    return hit


def _number_body(e: Any) -> bytes:
    """The contents of a party number (Q.931 4.5.8 / 4.5.10), as ``_Number.encode`` writes
    them (a test holds the two together)."""
    o3: cython.int = (e.ton & 7) << 4 | (e.plan & 0x0F)
    digits: bytes = e.digits.encode("ascii")
    pres = e.presentation
    if pres is None:
        return bytes((0x80 | o3,)) + digits
    return bytes((o3, 0x80 | (pres & 3) << 5 | (e.screening & 3))) + digits


def number_wire(ident: cython.int, digits: str, ton: cython.int, plan: cython.int, presentation: cython.int = -1,
                screening: cython.int = 0) -> tuple[int, bytes]:
    """A party number element (``ident``: :data:`IE.Id.CALLED_NUMBER`, ``CALLING_NUMBER`` or
    ``CONNECTED_NUMBER``; ``presentation`` -1: no octet 3a) in the form :func:`encode_parts`
    takes among the elements, (order key, octets), written straight from the digits: the
    number a call sends is new with every call, so no element object is built for it
    (Q.931 4.5.8 / 4.5.10; the same octets as the element's ``encode``, a test holds them)."""
    if ident != 0x6C and ident != 0x70 and ident != 0x4C:
        raise ValueError(f"element 0x{ident:02x} is not a party number")
    body = digits.encode("ascii")
    o3: cython.int = (ton & 7) << 4 | (plan & 0x0F)
    if presentation < 0:
        head = bytes((ident, len(body) + 1, 0x80 | o3))
    else:
        head = bytes((ident, len(body) + 2, o3, 0x80 | (presentation & 3) << 5 | (screening & 3)))
    if len(body) + len(head) - 2 > 255:
        raise ValueError(f"element 0x{ident:02x} of {len(body) + len(head) - 2} octets")
    return (0x100 | ident, head + body)


def _key(w: tuple[int, bytes]) -> int:
    return w[0]


def encode(m: Message, cref_len: int = CREF_LEN_PRI) -> bytes:
    """The octets of ``m``; elements in ascending order of identifier (Q.931 4.5.1)."""
    return encode_parts(m.mtype, m.cref, m.flag, m.ies, cref_len)


def encode_parts(mtype: cython.int, cref: Any, flag: bool, ies: Sequence[Ie | tuple[int, bytes]],
                 cref_len: Any = CREF_LEN_PRI) -> bytes:
    """The octets of a message given by its parts (no :class:`Message` built: the call
    actions send this way); an element may be given in its wire form, (order key, octets),
    as :func:`number_wire` makes it. ``cref`` and ``cref_len`` are ints (Python objects in the
    compiled build, so a call reference out of range is a ValueError, not an overflow)."""
    if cref_len != 2:
        return _encode_other(mtype, cref, flag, ies, cref_len)
    if not 0 <= cref < 0x8000:
        raise ValueError(f"call reference {cref} does not fit 2 octets")
    n = len(ies)
    if not n:
        return _octets.head(mtype, cref, flag)
    ws = []
    last = -1
    ordered = True
    for e in ies:
        w = _wire(e)
        k: cython.int = w[0]
        if k < last:
            ordered = False
        last = k
        ws.append(w)
    if not ordered:        # a stable insertion sort on the keys (a message has a few elements)
        for i in range(1, n):
            w = ws[i]
            k = w[0]
            j = i - 1
            while j >= 0 and ws[j][0] > k:
                ws[j + 1] = ws[j]
                j -= 1
            ws[j + 1] = w
    return _octets.join_wires(mtype, cref, flag, ws)


def _encode_other(mtype: int, cref: Any, flag: bool, ies: Sequence[Ie | tuple[int, bytes]], cref_len: Any) -> bytes:
    """:func:`encode_parts` for a call reference of another length than the primary rate's."""
    if not 0 <= cref < 1 << max(8 * cref_len - 1, 0):
        raise ValueError(f"call reference {cref} does not fit {cref_len} octets")
    cr = cref.to_bytes(cref_len, "big")
    if flag and cr:
        cr = bytes((cr[0] | 0x80,)) + cr[1:]
    head = bytes((PD_Q931, cref_len)) + cr + bytes((mtype & 0x7F,))
    ws = sorted([_wire(e) for e in ies], key=_key)
    out: bytes = head + b"".join([w[1] for w in ws])
    return out


def encode_header(mtype: cython.int, cref: Any, flag: bool) -> bytes:
    """A message without elements on the primary rate interface (CONNECT ACKNOWLEDGE,
    RELEASE COMPLETE without a cause ...)."""
    if not 0 <= cref < 0x8000:
        raise ValueError(f"call reference {cref} does not fit 2 octets")
    return _octets.head(mtype, cref, flag)


def decode(data: bytes | bytearray | memoryview, cref_len: cython.int = CREF_LEN_PRI) -> Message:
    """The message in ``data``; :class:`MessageError` where Q.931 5.8 says to ignore it."""
    b: bytes = data if type(data) is bytes else bytes(data)
    n = len(b)
    if n < 2:
        raise MessageError(f"message of {n} octets (5.8.5: too short)")
    if b[0] != PD_Q931:
        raise MessageError(f"protocol discriminator 0x{b[0]:02x} is not Q.931 (5.8.1)")
    crl = b[1] & 0x0F
    if b[1] & 0xF0 or crl > cref_len:
        raise MessageError(f"call reference length {b[1]} (5.8.3.1)")
    if n < 3 + crl:
        raise MessageError(f"message of {n} octets (5.8.5: too short)")
    flag = crl != 0 and b[2] & 0x80 != 0
    if crl == 2:                                     # the primary rate interface's
        cref = (b[2] & 0x7F) << 8 | b[3]
    elif crl:
        cref = int.from_bytes(bytes((b[2] & 0x7F,)) + b[3:2 + crl], "big")
    else:
        cref = 0
    mtype = b[2 + crl]
    if mtype & 0x80:
        raise MessageError(f"message type octet 0x{mtype:02x} (bit 8 set)")
    m = Message.__new__(Message)
    m.mtype = mtype
    m.cref = cref
    m.flag = flag
    m._data = b
    m._start = 3 + crl
    if _scan(b, 3 + crl):
        m._ies = m._unrec = m._inv = None  # type: ignore[assignment]   # built when first read
    else:
        m._ies, m._unrec, m._inv = [], [], []
        _elements(m, b, 3 + crl)
    return m


def _scan(data: bytes, start: cython.Py_ssize_t) -> bool:
    """The one pass of :func:`decode`: True when every element from ``start`` on is whole,
    in codeset 0, known, and (if interpreted) correctly coded, so that nothing needs to be
    built now; False sends the message to the reference decoder."""
    n = len(data)
    i = start
    while i < n:
        o = data[i]
        if o & 0x80:                                  # single-octet element
            if (o & 0xF0) == 0x90:
                return False                          # a shift: codesets (the reference's)
            if o != _SC and o & 0xF0 != 0xA0 and o & 0xF0 != 0xB0:
                return False                          # unrecognized
            i += 1
            continue
        if i + 1 >= n:
            return False
        ln = data[i + 1]
        if i + 2 + ln > n:
            return False
        k = _KIND[o]
        if k == 0 or (k == 1 and not _valid(o, data, i + 2, ln)):
            return False
        i += 2 + ln
    return True


def _valid(ident: cython.int, data: bytes, p: cython.Py_ssize_t, ln: cython.Py_ssize_t) -> bool:
    """The contents ``data[p:p + ln]`` of element ``ident`` (one of :data:`IE_TYPES`) decode
    without an :class:`~.ie.IeError`: the decoders' checks of :mod:`.ie` on C integers. A
    display with non-IA5 octets is not judged here (False: the reference decides)."""
    e = p + ln
    if ident == 0x04 or ident == 0x1E:               # bearer capability, progress indicator
        return bool(ln >= 2)
    if ident == 0x08:                                 # cause
        if ln < 2:
            return False
        j = p + 1 if data[p] & 0x80 else p + 2
        return bool(j < e and data[j] & 0x80 != 0)
    if ident == 0x18:                                 # channel identification
        if ln < 1:
            return False
        o3 = data[p]
        if not o3 & 0x20 or o3 & 3 == 2:
            return False
        j = p + 1
        if o3 & 0x40:
            while j < e and not data[j] & 0x80:
                j += 1
            j += 1
        if o3 & 3 != 1:
            return True
        if j + 2 > e:
            return False
        o32 = data[j]
        if o32 & 0x60 or o32 & 0x0F != 3 or o32 & 0x10:
            return False
        j += 1
        while j < e:
            c = data[j] & 0x7F
            if c < 1 or c > 31 or c == 16:
                return False
            if data[j] & 0x80:
                return True
            j += 1
        return False
    if ident == 0x70 or ident == 0x6C or ident == 0x4C:      # called / calling / connected number
        if ln < 1:
            return False
        j = p + 1
        if not data[p] & 0x80:
            if ident == 0x70 or ln < 2 or not data[p + 1] & 0x80:
                return False
            j = p + 2
        while j < e:
            if not _DIGIT[data[j]]:
                return False
            j += 1
        return True
    if ident == 0x14 or ident == 0x27 or ident == 0x34:      # call state, notification, signal
        return bool(ln >= 1)
    if ident == 0x79:                                 # restart indicator
        return bool(ln >= 1 and data[p] & 7 in (0, 6, 7))
    if ident == 0x7D:                                 # high layer compatibility
        return bool(ln >= 2 and (data[p + 1] & 0x80 != 0 or ln >= 3))
    if ident == 0x28 or ident == 0x2C:                # display, keypad: IA5 only here
        if ident == 0x2C and ln < 1:
            return False
        j = p
        while j < e:
            if data[j] & 0x80 and not (ident == 0x28 and j == p and (ln == 1 or not data[p + 1] & 0x80)):
                return False
            j += 1
        return True
    return False


def _elements(m: Message, data: bytes, start: int) -> Message:
    """The information elements of ``data`` from ``start`` on, into ``m``'s lists (Q.931
    4.5): the reference decoder, for messages the one pass does not take and for ``ies``."""
    n = len(data)
    ies: list[Ie] = m._ies
    unrec: list[int] = m._unrec
    inv: list[tuple[int, str]] = m._inv
    i, codeset, locked = start, 0, 0
    seen: set[tuple[int, int]] = set()
    while i < n:
        o = data[i]
        if o & 0x80:                                  # single-octet element
            i += 1
            if (o & 0xF0) == 0x90:                    # shift
                new = o & 7
                if o & 0x08:
                    codeset = new                     # non-locking: the next element only
                    continue
                if new == 0 or new < locked:          # 4.5.2: locking shift to a lower codeset
                    inv.append((o, f"locking shift to codeset {new}"))
                    continue
                locked = codeset = new
                continue
            if codeset == 0:
                if o == IE.Id.SENDING_COMPLETE:
                    ies.append(IE.SENDING_COMPLETE)
                elif o & 0xF0 not in (0xA0, 0xB0):    # more data, congestion level: known
                    unrec.append(o)
            else:
                ies.append(Raw(o, b"", codeset))
            codeset = locked
            continue
        if i + 1 >= n:
            inv.append((o, "element length octet missing"))
            break
        ln = data[i + 1]
        body = data[i + 2:i + 2 + ln]
        i += 2 + ln
        if len(body) < ln:
            inv.append((o, f"element length {ln} exceeds the message"))
            break
        cs, codeset = codeset, locked
        if (cs, o) in seen and cs == 0 and o in IE_TYPES:
            continue                                  # 5.8.7.3 repeated element: first kept
        seen.add((cs, o))
        if cs != 0:
            ies.append(Raw(o, body, cs))
            continue
        kind = IE_TYPES.get(o)
        if kind is None:
            if o in KNOWN_RAW:
                ies.append(Raw(o, body))
            else:                                     # 0x00-0x0F: comprehension required (4.5.1)
                unrec.append(o)
            continue
        try:
            ies.append(kind.decode(body))
        except IeError as e:
            inv.append((o, str(e)))
    return m
