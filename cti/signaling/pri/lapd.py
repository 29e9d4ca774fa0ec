"""Q.921 (LAPD) frames: address, control field (modulo 128) and information, as plain data.

A frame on the D channel (FCS already checked and stripped by the HDLC layer below) is
``address (2) + control (1 or 2) + information``. :func:`decode` turns octets into a
:class:`Frame`; :func:`encode` does the reverse. Bad octets raise :class:`LapdError` (a
:class:`~cti.signaling.errors.DecodeError`) and nothing else: Q.921 5.8.5 says what the link
does with them (the receiver treats an invalid frame per its state).

C/R (Q.921 3.3.2, Table 1): a command from the user side carries C/R = 0 and its response
C/R = 1; from the network side the reverse. ``Frame.command`` is resolved with the side of
the *sender*, so the receiver calls ``decode(octets, peer_is_network)``.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from cti.signaling.errors import DecodeError

#: Q.921 5.9.3: maximum octets of an information field (N201) for SAPI 0 (and 16)
N201_DEFAULT = 260
SAPI_CALL_CONTROL = 0      #: Q.921 Table 2: call control procedures (Q.931)
SAPI_MANAGEMENT = 63       #: layer 2 management (TEI assignment; not used on PRI)
TEI_PRI = 0                #: point-to-point PRI uses the fixed TEI 0 (Q.921 3.3.4.2)


class LapdError(DecodeError):
    """A LAPD frame that cannot be decoded (Q.921 3.8 / 5.8.5 invalid frame)."""


class Kind(enum.Enum):
    """Frame types of Q.921 3.6 (modulo 128 control field formats, Table 5)."""

    #: members are singletons compared by identity: hashed by identity too, in C, rather than by
    #: name in Python (Enum.__hash__) on every table lookup of the per-frame path
    __hash__ = object.__hash__

    I = "I"            # noqa: E741 (the recommendation's name)
    RR = "RR"
    RNR = "RNR"
    REJ = "REJ"
    SABME = "SABME"
    DM = "DM"
    UI = "UI"
    DISC = "DISC"
    UA = "UA"
    FRMR = "FRMR"
    XID = "XID"


#: S format: second bits of octet 4 (Q.921 Table 5); U format: the modifier bits without P/F
S_CODES = {0x01: Kind.RR, 0x05: Kind.RNR, 0x09: Kind.REJ}
U_CODES = {0x6F: Kind.SABME, 0x0F: Kind.DM, 0x03: Kind.UI, 0x43: Kind.DISC, 0x63: Kind.UA,
           0x87: Kind.FRMR, 0xAF: Kind.XID}
S_OCTET = {k: v for v, k in S_CODES.items()}
U_OCTET = {k: v for v, k in U_CODES.items()}
#: Q.921 Table 5: which frames are commands (C), responses (R) or either
COMMANDS = frozenset({Kind.I, Kind.SABME, Kind.DISC, Kind.UI})
RESPONSES = frozenset({Kind.DM, Kind.UA, Kind.FRMR})
PF = 0x10


@dataclass(slots=True)
class Frame:
    """One LAPD frame. ``ns``/``nr`` are None where the format has none; ``pf`` is the P bit
    of a command or the F bit of a response."""

    kind: Kind
    command: bool = True
    pf: bool = False
    ns: int | None = None
    nr: int | None = None
    info: bytes = b""
    sapi: int = SAPI_CALL_CONTROL
    tei: int = TEI_PRI

    def __str__(self) -> str:
        bits = [self.kind.value, "C" if self.command else "R"]
        if self.ns is not None:
            bits.append(f"N(S)={self.ns}")
        if self.nr is not None:
            bits.append(f"N(R)={self.nr}")
        if self.pf:
            bits.append("P" if self.command else "F")
        if self.info:
            bits.append(f"{len(self.info)} octets")
        return " ".join(bits)


def cr_bit(command: bool, sender_is_network: bool) -> int:
    """The C/R bit a frame carries (Q.921 Table 1)."""
    return int(command == sender_is_network)


def encode(f: Frame, sender_is_network: bool) -> bytes:
    """The octets of ``f`` sent by the user side (``sender_is_network`` False) or the network."""
    if not 0 <= f.sapi <= 63 or not 0 <= f.tei <= 127:
        raise ValueError(f"SAPI {f.sapi} / TEI {f.tei} out of range")
    addr = bytes(((f.sapi << 2) | (cr_bit(f.command, sender_is_network) << 1), (f.tei << 1) | 1))
    p = 1 if f.pf else 0
    if f.kind is Kind.I:
        if f.ns is None or f.nr is None:
            raise ValueError("an I frame needs N(S) and N(R)")
        return addr + bytes(((f.ns & 0x7F) << 1, ((f.nr & 0x7F) << 1) | p)) + bytes(f.info)
    if f.kind in S_OCTET:
        if f.nr is None:
            raise ValueError(f"{f.kind.value} needs N(R)")
        return addr + bytes((S_OCTET[f.kind], ((f.nr & 0x7F) << 1) | p))
    return addr + bytes((U_OCTET[f.kind] | (PF if f.pf else 0),)) + bytes(f.info)


def decode(data: bytes, sender_is_network: bool, n201: int = N201_DEFAULT) -> Frame:
    """The frame in ``data`` (no FCS) as sent by the network (``sender_is_network``) or the
    user side; :class:`LapdError` for anything Q.921 3.8 / 5.8.5 calls invalid."""
    n = len(data)
    if n < 3:
        raise LapdError(f"frame of {n} octets: shorter than address + control")
    a0, a1 = data[0], data[1]
    if a0 & 1 or not a1 & 1:
        raise LapdError("address field is not two octets (EA bits)")
    sapi, tei = a0 >> 2, a1 >> 1
    command = bool((a0 >> 1) & 1) == sender_is_network
    c0 = data[2]
    if not c0 & 1:                                   # I format
        if n < 4:
            raise LapdError("I frame without its second control octet")
        if n - 4 > n201:
            raise LapdError(f"information field of {n - 4} octets exceeds N201={n201}")
        if not command:
            raise LapdError("I frame sent as a response")
        return Frame(Kind.I, True, bool(data[3] & 1), c0 >> 1, data[3] >> 1, bytes(data[4:]), sapi, tei)
    if (c0 & 3) == 1:                                # S format
        kind = S_CODES.get(c0)
        if kind is None:
            raise LapdError(f"undefined supervisory control field 0x{c0:02x}")
        if n != 4:
            raise LapdError(f"{kind.value} frame of {n} octets (4 expected)")
        return Frame(kind, command, bool(data[3] & 1), None, data[3] >> 1, b"", sapi, tei)
    kind = U_CODES.get(c0 & ~PF & 0xFF)              # U format
    if kind is None:
        raise LapdError(f"undefined unnumbered control field 0x{c0:02x}")
    info = bytes(data[3:])
    if (kind in COMMANDS and not command) or (kind in RESPONSES and command):
        raise LapdError(f"{kind.value} with the wrong C/R bit")
    if info and kind not in (Kind.UI, Kind.FRMR, Kind.XID):
        raise LapdError(f"{kind.value} with an information field")
    if len(info) > n201:
        raise LapdError(f"information field of {len(info)} octets exceeds N201={n201}")
    return Frame(kind, command, bool(c0 & PF), None, None, info, sapi, tei)


def frmr_info(rejected_control: bytes, vs: int, vr: int, rejected_was_response: bool,
              w: bool = False, x: bool = False, y: bool = False, z: bool = False) -> bytes:
    """The 5-octet information field of an FRMR (Q.921 3.6.12, Figure 6, modulo 128)."""
    ctl = (bytes(rejected_control) + b"\0")[:2]
    return ctl + bytes(((vs & 0x7F) << 1, ((vr & 0x7F) << 1) | int(rejected_was_response),
                        int(w) | int(x) << 1 | int(y) << 2 | int(z) << 3))
