"""MTP2 signal unit formats (Q.703 clause 2): FISU, LSSU, MSU and the FCS-16.

A signal unit between flags is ``BSN|BIB, FSN|FIB, LI, [SF | SIO SIF], FCS``. The codec here
handles the octets between the flags without the FCS (the HDLC layer adds/strips it);
:func:`fcs16`, :func:`add_fcs` and :func:`check_fcs` serve transports that carry the FCS
themselves (a SOCK_SEQPACKET datagram as libss7 reads it from a DAHDI D-channel).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from _boardcore.hdlc import fcs16 as _hdlc_fcs16
from cti.signaling.errors import DecodeError

from .bec import msu_octets, parse  # noqa: F401  (re-exported: the in-service core's parse/build)
from .states import FISU_KIND, MAX_SIF, MSU_KIND


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
    """Parse one signal unit (without FCS); DecodeError when it breaks Q.703 clause 2 / 4.1.4.
    :func:`parse` gives the same as ``(BIB|BSN, FIB|FSN, kind, sio, sif)`` ints."""
    h, f, kind, sio, sif = parse(data)
    bsn, bib, fsn, fib = h & 0x7F, h >> 7, f & 0x7F, f >> 7
    if kind == FISU_KIND:
        return FISU(bsn, bib, fsn, fib)
    if kind == MSU_KIND:
        return MSU(bsn, bib, fsn, fib, sio, sif)
    return LSSU(bsn, bib, fsn, fib, Status(kind))


def fcs16(data: bytes | bytearray | memoryview) -> int:
    """FCS-16 of Q.703 clause 2.2 (CRC-CCITT, reflected, init 0xFFFF, complemented)."""
    return _hdlc_fcs16(data)


def add_fcs(frame: bytes) -> bytes:
    """``frame`` followed by its FCS, low octet first (as sent on the line)."""
    return bytes(frame) + _hdlc_fcs16(frame).to_bytes(2, "little")


#: fcs16() over a frame followed by its own good FCS: the complement of the CRC residual
#: 0xF0B8 (Q.703 2.2.6 / ISO 3309), so the FCS is checked without slicing it off first.
_GOOD_FCS_OVER_FRAME = 0xF0B8 ^ 0xFFFF


def check_fcs(data: bytes | bytearray | memoryview) -> bytes:
    """Strip and verify a trailing FCS; DecodeError when it is wrong."""
    b = bytes(data)
    if len(b) < 5:
        raise DecodeError(f"frame of {len(b)} octets with FCS (at least 5)")
    if _hdlc_fcs16(b) != _GOOD_FCS_OVER_FRAME:
        raise DecodeError("FCS error")
    return b[:-2]
