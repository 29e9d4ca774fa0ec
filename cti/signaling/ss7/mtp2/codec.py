"""MTP2 signal unit formats (Q.703 clause 2): FISU, LSSU, MSU and the FCS-16.

A signal unit between flags is ``BSN|BIB, FSN|FIB, LI, [SF | SIO SIF], FCS``. The codec here
handles the octets between the flags without the FCS (the HDLC layer adds/strips it);
:func:`fcs16`, :func:`add_fcs` and :func:`check_fcs` serve transports that carry the FCS
themselves (a SOCK_SEQPACKET datagram as libss7 reads it from a DAHDI D-channel).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from cti.signaling.errors import DecodeError

#: Q.703 clause 2.3.3: the largest SIF of an MSU (272 octets), so SIO + SIF <= 273.
MAX_SIF = 272


class Status(enum.IntEnum):
    """LSSU status field (Q.703 clause 11.1.2, Table 1)."""

    SIO = 0   #: out of alignment
    SIN = 1   #: normal alignment
    SIE = 2   #: emergency alignment
    SIOS = 3  #: out of service
    SIPO = 4  #: processor outage
    SIB = 5   #: busy (link congestion)


@dataclass(frozen=True, slots=True)
class SignalUnit:
    bsn: int = 127
    bib: int = 1
    fsn: int = 127
    fib: int = 1


@dataclass(frozen=True, slots=True)
class FISU(SignalUnit):
    """Fill-in signal unit (LI = 0)."""


@dataclass(frozen=True, slots=True)
class LSSU(SignalUnit):
    """Link status signal unit (LI = 1; 2-octet status fields are accepted)."""

    status: Status = Status.SIOS


@dataclass(frozen=True, slots=True)
class MSU(SignalUnit):
    """Message signal unit (LI >= 3): service information octet and field."""

    sio: int = 0
    sif: bytes = b""


def _header(su: SignalUnit, li: int) -> bytes:
    for name, v, hi in (("bsn", su.bsn, 127), ("fsn", su.fsn, 127), ("bib", su.bib, 1), ("fib", su.fib, 1)):
        if not 0 <= v <= hi:
            raise ValueError(f"{name}={v} out of range 0..{hi}")
    return bytes(((su.bib << 7) | su.bsn, (su.fib << 7) | su.fsn, li))


def encode(su: SignalUnit) -> bytes:
    """The octets of ``su`` between the flags, without FCS."""
    if isinstance(su, MSU):
        if not 0 <= su.sio <= 255:
            raise ValueError(f"sio={su.sio} out of range")
        if not 2 <= len(su.sif) <= MAX_SIF:
            raise ValueError(f"SIF of {len(su.sif)} octets (2..{MAX_SIF} allowed)")
        n = 1 + len(su.sif)
        return _header(su, min(n, 63)) + bytes((su.sio,)) + bytes(su.sif)
    if isinstance(su, LSSU):
        return _header(su, 1) + bytes((int(su.status),))
    return _header(su, 0)


def decode(data: bytes | bytearray | memoryview) -> SignalUnit:
    """Parse one signal unit (without FCS); DecodeError when it breaks Q.703 clause 2 / 4.1.4."""
    b = bytes(data)
    if len(b) < 3:
        raise DecodeError(f"signal unit of {len(b)} octets (at least 3)")
    bsn, bib, fsn, fib, li = b[0] & 0x7F, b[0] >> 7, b[1] & 0x7F, b[1] >> 7, b[2] & 0x3F
    rest = b[3:]
    if li == 0:
        if rest:
            raise DecodeError(f"LI=0 but {len(rest)} octets follow")
        return FISU(bsn, bib, fsn, fib)
    if li in (1, 2):
        if len(rest) != li:
            raise DecodeError(f"LI={li} but {len(rest)} octets follow")
        st = rest[0] & 0x07
        if st > 5:
            raise DecodeError(f"LSSU status {st} undefined")
        return LSSU(bsn, bib, fsn, fib, Status(st))
    if (li < 63 and len(rest) != li) or (li == 63 and not 63 <= len(rest) <= MAX_SIF + 1):
        raise DecodeError(f"LI={li} does not match {len(rest)} octets")
    return MSU(bsn, bib, fsn, fib, rest[0], rest[1:])


def _table() -> list[int]:
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x8408 if c & 1 else c >> 1
        t.append(c)
    return t


_FCS = _table()


def fcs16(data: bytes | bytearray | memoryview) -> int:
    """FCS-16 of Q.703 clause 2.2 (CRC-CCITT, reflected, init 0xFFFF, complemented)."""
    c = 0xFFFF
    for o in bytes(data):
        c = (c >> 8) ^ _FCS[(c ^ o) & 0xFF]
    return c ^ 0xFFFF


def add_fcs(frame: bytes) -> bytes:
    """``frame`` followed by its FCS, low octet first (as sent on the line)."""
    f = fcs16(frame)
    return bytes(frame) + bytes((f & 0xFF, f >> 8))


def check_fcs(data: bytes | bytearray | memoryview) -> bytes:
    """Strip and verify a trailing FCS; DecodeError when it is wrong."""
    b = bytes(data)
    if len(b) < 5:
        raise DecodeError(f"frame of {len(b)} octets with FCS (at least 5)")
    if fcs16(b[:-2]) != b[-2] | (b[-1] << 8):
        raise DecodeError("FCS error")
    return b[:-2]
