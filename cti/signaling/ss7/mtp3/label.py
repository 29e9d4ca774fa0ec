"""Service information octet and routing label (Q.704 clauses 2.2, 14.2; China GF 001-9001 24-bit).

ITU: DPC 14 bits, OPC 14 bits, SLS 4 bits packed in 4 octets, least significant first.
China: DPC 24 bits, OPC 24 bits (3 octets each, least significant first), SLS in an 8-bit
field (7 octets); message formats are the ITU ones otherwise.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from cti.signaling.errors import DecodeError


class Variant(str, enum.Enum):
    ITU = "itu"      #: Q.704 14-bit point codes
    CHINA = "china"  #: GF 001-9001 24-bit point codes

    @property
    def pc_bits(self) -> int:
        return 14 if self is Variant.ITU else 24

    @property
    def label_len(self) -> int:
        return 4 if self is Variant.ITU else 7


class SI(enum.IntEnum):
    """Service indicator (Q.704 14.2.1)."""

    SNM = 0
    SLTM = 1
    SLTM_SPECIAL = 2
    SCCP = 3
    TUP = 4
    ISUP = 5


class NI(enum.IntEnum):
    """Network indicator (Q.704 14.2.2)."""

    INTERNATIONAL = 0
    INTERNATIONAL_SPARE = 1
    NATIONAL = 2
    NATIONAL_SPARE = 3


def encode_sio(si: int, ni: int) -> int:
    """SIO octet: SI in bits 1-4, spare/priority bits 5-6, NI in bits 7-8."""
    if not 0 <= si <= 15 or not 0 <= ni <= 3:
        raise ValueError(f"SI {si} / NI {ni} out of range")
    return (ni << 6) | si


def decode_sio(sio: int) -> tuple[int, int]:
    """(SI, NI) of an SIO octet."""
    return sio & 0x0F, (sio >> 6) & 0x03


@dataclass(frozen=True, slots=True)
class RoutingLabel:
    dpc: int
    opc: int
    sls: int

    def encode(self, variant: Variant) -> bytes:
        top = (1 << variant.pc_bits) - 1
        for name, v in (("dpc", self.dpc), ("opc", self.opc)):
            if not 0 <= v <= top:
                raise ValueError(f"{name}={v} outside {variant.value} point code range 0..{top}")
        if variant is Variant.ITU:
            if not 0 <= self.sls <= 15:
                raise ValueError(f"sls={self.sls} outside 0..15")
            return (self.dpc | (self.opc << 14) | (self.sls << 28)).to_bytes(4, "little")
        if not 0 <= self.sls <= 255:
            raise ValueError(f"sls={self.sls} outside 0..255")
        return self.dpc.to_bytes(3, "little") + self.opc.to_bytes(3, "little") + bytes((self.sls,))

    @classmethod
    def decode(cls, data: bytes, variant: Variant) -> tuple[RoutingLabel, bytes]:
        """The label at the start of an SIF and the octets after it."""
        dpc, opc, sls = decode_label(data, variant)
        return cls(dpc, opc, sls), bytes(data[variant.label_len:])


def decode_label(data: bytes, variant: Variant) -> tuple[int, int, int]:
    """(DPC, OPC, SLS) of the routing label at the start of an SIF; DecodeError when too short."""
    if variant is Variant.ITU:
        if len(data) < 4:
            raise DecodeError(f"SIF of {len(data)} octets shorter than the itu routing label (4)")
        v = data[0] | (data[1] << 8) | (data[2] << 16) | (data[3] << 24)
        return v & 0x3FFF, (v >> 14) & 0x3FFF, v >> 28
    if len(data) < 7:
        raise DecodeError(f"SIF of {len(data)} octets shorter than the {variant.value} routing label (7)")
    return (data[0] | (data[1] << 8) | (data[2] << 16), data[3] | (data[4] << 8) | (data[5] << 16), data[6])


def format_pc(pc: int, variant: Variant) -> str:
    """ITU 3-8-3 (zone-area-SP) or China 8-8-8 (main-sub-SP) text form."""
    if variant is Variant.ITU:
        return f"{pc >> 11}-{(pc >> 3) & 0xFF}-{pc & 7}"
    return f"{pc >> 16}-{(pc >> 8) & 0xFF}-{pc & 0xFF}"


def parse_pc(text: str | int, variant: Variant) -> int:
    """A point code from an int or its dashed text form; ValueError when out of range."""
    if isinstance(text, int):
        pc = text
    else:
        parts = [int(p) for p in str(text).split("-")]
        if len(parts) == 1:
            pc = parts[0]
        elif len(parts) == 3:
            a, b, c = parts
            if variant is Variant.ITU:
                if not (0 <= a <= 7 and 0 <= b <= 255 and 0 <= c <= 7):
                    raise ValueError(f"ITU point code {text!r} not 3-8-3")
                pc = (a << 11) | (b << 3) | c
            else:
                if not all(0 <= x <= 255 for x in parts):
                    raise ValueError(f"China point code {text!r} not 8-8-8")
                pc = (a << 16) | (b << 8) | c
        else:
            raise ValueError(f"point code {text!r}: an int or three dashed fields")
    if not 0 <= pc < (1 << variant.pc_bits):
        raise ValueError(f"point code {pc} outside the {variant.pc_bits}-bit range")
    return pc
