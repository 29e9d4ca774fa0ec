"""Q.931 messages: header (protocol discriminator, call reference, message type) and their
information elements (Q.931 clause 4), encoded and decoded as data.

:func:`decode` raises :class:`MessageError` (a DecodeError) only for what Q.931 5.8.1-5.8.3
and 5.8.5 say to *ignore* (wrong protocol discriminator, bad call reference, too short).
Everything the call control must answer is decoded into the :class:`Message` instead:
an unknown message type keeps its number (5.8.4: STATUS cause 97), an element whose contents
break its coding is listed in ``invalid`` (5.8.6.2 / 5.8.7.2: cause 100), an element we do
not know in ``unrecognized`` (5.8.7.1: cause 99); mandatory elements are in
:data:`MANDATORY` and checked by :func:`missing` (5.8.6.1: cause 96).
"""
from __future__ import annotations

import enum
from collections.abc import Sequence
from operator import itemgetter
from dataclasses import dataclass, field
from typing import TypeVar

from cti.signaling.errors import DecodeError

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

I = TypeVar("I", bound=Ie)  # noqa: E741


@dataclass
class Message:
    """One Q.931 message. ``flag`` is the call reference flag: False from the side that
    allocated the call reference, True toward it (Q.931 4.3)."""

    mtype: int
    cref: int = 0
    flag: bool = False
    ies: list[Ie] = field(default_factory=list)
    #: element identifiers we do not know (Q.931 5.8.7.1), codeset 0 only
    unrecognized: list[int] = field(default_factory=list)
    #: (identifier, reason) of elements whose contents are wrong (5.8.6.2 / 5.8.7.2)
    invalid: list[tuple[int, str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        try:
            return MT(self.mtype).name
        except ValueError:
            return f"0x{self.mtype:02x}"

    def get(self, kind: type[I]) -> I | None:
        for e in self.ies:
            if type(e) is kind:
                return e
        return None

    def has(self, ident: int) -> bool:
        return any(_ident(e) == ident for e in self.ies)

    def __str__(self) -> str:
        return f"{self.name} cref={self.cref}{'*' if self.flag else ''} " + " ".join(type(e).__name__ for e in self.ies)


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


def _sort_key(e: Ie) -> tuple[int, int]:
    i = _ident(e)
    return (0, i) if i & 0x80 else (1 + (e.codeset if type(e) is Raw else 0), i)


_FIRST = itemgetter(0)     #: the order key of a _wire() pair (stable sort: repeated elements keep their order)


def _wire(e: Ie) -> tuple[tuple[int, int], bytes]:
    """(order key, octets) of one element: identifier, length and contents (Q.931 4.5), after
    a non-locking shift for another codeset. Elements are immutable (frozen), so the octets
    are kept on the element: one sent again (a call's cause, its channel) is not encoded
    again."""
    d = e.__dict__
    hit: tuple[tuple[int, int], bytes] | None = d.get("_wire")
    if hit is not None:
        return hit
    if type(e) is Raw:
        ident = e.ident
        pre = bytes((0x98 | (e.codeset & 7),)) if e.codeset else b""
    else:
        ident, pre = e.id, b""
    if ident & 0x80:
        octets = pre + bytes((ident,))
    else:
        body = e.encode()
        if len(body) > 255:
            raise ValueError(f"element 0x{ident:02x} of {len(body)} octets")
        octets = pre + bytes((ident, len(body))) + body
    hit = d["_wire"] = (_sort_key(e), octets)
    return hit


def encode(m: Message, cref_len: int = CREF_LEN_PRI) -> bytes:
    """The octets of ``m``; elements in ascending order of identifier (Q.931 4.5.1)."""
    return encode_parts(m.mtype, m.cref, m.flag, m.ies, cref_len)


def encode_parts(mtype: int, cref: int, flag: bool, ies: Sequence[Ie], cref_len: int = CREF_LEN_PRI) -> bytes:
    """The octets of a message given by its parts (no :class:`Message` built: the call
    actions send this way)."""
    if not 0 <= cref < 1 << max(8 * cref_len - 1, 0):
        raise ValueError(f"call reference {cref} does not fit {cref_len} octets")
    if cref_len == 2:                             # the primary rate interface's: built at once
        head = bytes((PD_Q931, 2, cref >> 8 | (0x80 if flag else 0), cref & 0xFF, mtype & 0x7F))
    else:
        cr = cref.to_bytes(cref_len, "big")
        if flag and cr:
            cr = bytes((cr[0] | 0x80,)) + cr[1:]
        head = bytes((PD_Q931, cref_len)) + cr + bytes((mtype & 0x7F,))
    n = len(ies)
    if not n:
        return head
    if n == 1:
        return head + _wire(ies[0])[1]
    return head + b"".join([w[1] for w in sorted([_wire(e) for e in ies], key=_FIRST)])


#: octets from the message type on -> (type, elements, unrecognized, invalid) as decoded. The
#: decoder is a pure function of them (the elements are immutable) and the messages of a call
#: repeat from call to call (ALERTING, CONNECT, DISCONNECT, RELEASE ... differ by the call
#: reference only), so a body seen before is not decoded again; bounded (emptied when full)
_MEMO: dict[bytes, tuple[int, tuple[Ie, ...], tuple[int, ...], tuple[tuple[int, str], ...]]] = {}
_MEMO_MAX = 512


def decode(data: bytes, cref_len: int = CREF_LEN_PRI) -> Message:
    """The message in ``data``; :class:`MessageError` where Q.931 5.8 says to ignore it."""
    n = len(data)
    if n < 2:
        raise MessageError(f"message of {n} octets (5.8.5: too short)")
    if data[0] != PD_Q931:
        raise MessageError(f"protocol discriminator 0x{data[0]:02x} is not Q.931 (5.8.1)")
    crl = data[1] & 0x0F
    if data[1] & 0xF0 or crl > cref_len:
        raise MessageError(f"call reference length {data[1]} (5.8.3.1)")
    if n < 3 + crl:
        raise MessageError(f"message of {n} octets (5.8.5: too short)")
    flag = bool(crl and data[2] & 0x80)
    if crl == 2:                                     # the primary rate interface's
        cref = (data[2] & 0x7F) << 8 | data[3]
    else:
        cref = int.from_bytes(bytes((data[2] & 0x7F,)) + bytes(data[3:2 + crl]), "big") if crl else 0
    mtype = data[2 + crl]
    if mtype & 0x80:
        raise MessageError(f"message type octet 0x{mtype:02x} (bit 8 set)")
    body = bytes(data[2 + crl:])
    hit = _MEMO.get(body)
    if hit is not None:
        return Message(mtype, cref, flag, list(hit[1]), list(hit[2]) if hit[2] else [],
                       list(hit[3]) if hit[3] else [])
    m = _elements(Message(mtype, cref, flag), data, 3 + crl)
    if len(_MEMO) >= _MEMO_MAX:
        _MEMO.clear()                     # garbage (a fuzzer, a broken peer) never pins it
    _MEMO[body] = (mtype, tuple(m.ies), tuple(m.unrecognized), tuple(m.invalid))
    return m


def _elements(m: Message, data: bytes, start: int) -> Message:
    """The information elements of ``data`` from ``start`` on, into ``m`` (Q.931 4.5)."""
    n = len(data)
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
                    m.invalid.append((o, f"locking shift to codeset {new}"))
                    continue
                locked = codeset = new
                continue
            if codeset == 0:
                if o == IE.Id.SENDING_COMPLETE:
                    m.ies.append(IE.SendingComplete())
                elif o & 0xF0 not in (0xA0, 0xB0):    # more data, congestion level: known
                    m.unrecognized.append(o)
            else:
                m.ies.append(Raw(o, b"", codeset))
            codeset = locked
            continue
        if i + 1 >= n:
            m.invalid.append((o, "element length octet missing"))
            break
        ln = data[i + 1]
        body = bytes(data[i + 2:i + 2 + ln])
        i += 2 + ln
        if len(body) < ln:
            m.invalid.append((o, f"element length {ln} exceeds the message"))
            break
        cs, codeset = codeset, locked
        if (cs, o) in seen and cs == 0 and o in IE_TYPES:
            continue                                  # 5.8.7.3 repeated element: first kept
        seen.add((cs, o))
        if cs != 0:
            m.ies.append(Raw(o, body, cs))
            continue
        kind = IE_TYPES.get(o)
        if kind is None:
            if o in KNOWN_RAW:
                m.ies.append(Raw(o, body))
            else:                                     # 0x00-0x0F: comprehension required (4.5.1)
                m.unrecognized.append(o)
            continue
        try:
            m.ies.append(kind.decode(body))
        except IeError as e:
            m.invalid.append((o, str(e)))
    return m
