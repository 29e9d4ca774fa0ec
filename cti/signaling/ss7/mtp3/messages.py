"""Signalling network management (Q.704 clause 15) and link test (Q.707 clause 5) messages.

After the routing label: heading octet H0 (bits 1-4) / H1 (bits 5-8), then the fields.
COO/COA carry the FSN of the last accepted MSU (7 bits), CBD/CBA a changeback code;
SLTM/SLTA a length indicator (bits 5-8 of one octet) and the test pattern.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from cti.signaling.errors import DecodeError


class H(enum.IntEnum):
    """Heading codes H1H0 as one octet (Q.704 15.2, Q.707 5.1)."""

    COO = 0x11
    COA = 0x21
    CBD = 0x51
    CBA = 0x61
    TRA = 0x17
    UPU = 0x1A    #: user part unavailable (H0 = 1010 UFC, H1 = 0001; Q.704 15.17)
    SLTM = 0x11   #: under SI=1 (test and maintenance)
    SLTA = 0x21


@dataclass(frozen=True, slots=True)
class SnmMessage:
    heading: int
    value: int = 0             #: FSN for COO/COA, changeback code for CBD/CBA


@dataclass(frozen=True, slots=True)
class SltMessage:
    heading: int
    pattern: bytes = b""


_SNM_WITH_OCTET = {H.COO, H.COA, H.CBD, H.CBA}


class UpuCause(enum.IntEnum):
    """Unavailability cause of a UPU (Q.704 15.17.3)."""

    UNKNOWN = 0
    UNEQUIPPED = 1          #: unequipped remote user
    INACCESSIBLE = 2        #: inaccessible remote user


@dataclass(frozen=True, slots=True)
class UpuMessage:
    """User part unavailable (Q.704 15.17): ``destination`` (our point code) has no user part
    ``upi`` (its service indicator) for ``cause``."""

    destination: int
    upi: int
    cause: int = UpuCause.UNEQUIPPED


def encode_upu(m: UpuMessage, pc_bits: int = 14) -> bytes:
    """Heading, the affected destination (14 bits + 2 spare, ITU; 24 bits, China), then the
    user part identity (bits 1-4) and the unavailability cause (bits 5-8)."""
    if not 0 <= m.destination < 1 << pc_bits or not 0 <= m.upi <= 15 or not 0 <= m.cause <= 15:
        raise ValueError(f"UPU {m!r} out of range")
    return bytes((H.UPU,)) + m.destination.to_bytes(pc_bits // 8 + (pc_bits % 8 > 0), "little") + \
        bytes((m.upi | m.cause << 4,))


def decode_upu(data: bytes, pc_bits: int = 14) -> UpuMessage:
    n = pc_bits // 8 + (pc_bits % 8 > 0)
    if len(data) < 2 + n or data[0] != H.UPU:
        raise DecodeError("UPU truncated")
    dest = int.from_bytes(data[1:1 + n], "little") & ((1 << pc_bits) - 1)
    return UpuMessage(dest, data[1 + n] & 0x0F, data[1 + n] >> 4)


def encode_snm(m: SnmMessage) -> bytes:
    if m.heading in _SNM_WITH_OCTET:
        if not 0 <= m.value <= (127 if m.heading in (H.COO, H.COA) else 255):
            raise ValueError(f"SNM value {m.value} out of range")
        return bytes((m.heading, m.value))
    return bytes((m.heading,))


def decode_snm(data: bytes) -> SnmMessage:
    if not data:
        raise DecodeError("SNM message without heading")
    h = data[0]
    if h in _SNM_WITH_OCTET:
        if len(data) < 2:
            raise DecodeError(f"SNM {h:#04x} truncated")
        return SnmMessage(h, data[1] & (0x7F if h in (H.COO, H.COA) else 0xFF))
    return SnmMessage(h)


def encode_slt(m: SltMessage) -> bytes:
    if len(m.pattern) > 15:
        raise ValueError("SLTM test pattern longer than 15 octets")
    return bytes((m.heading, len(m.pattern) << 4)) + m.pattern


def decode_slt(data: bytes) -> SltMessage:
    if len(data) < 2:
        raise DecodeError("SLTM/SLTA truncated")
    n = data[1] >> 4
    if len(data) < 2 + n:
        raise DecodeError(f"SLTM/SLTA pattern of {n} octets truncated")
    return SltMessage(data[0], bytes(data[2:2 + n]))
