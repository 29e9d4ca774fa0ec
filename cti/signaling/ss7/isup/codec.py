"""ISUP message codec (Q.763 clause 1.3 and Tables 32-50): messages declared once as tables.

Wire format: CIC (12 bits in 2 octets, least significant first), message type, mandatory
fixed part, one pointer per mandatory variable parameter, a pointer to the optional part
(when the message may carry one), the variable parameters (length + value) and the
optional parameters (code, length, value; ended by 00).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from cti.signaling.errors import DecodeError

from .params import BY_NAME, PARAMS, ParameterError


class MessageType(enum.IntEnum):
    """Q.763 Table 4 (the messages in STANDARDS.md)."""

    IAM = 0x01
    SAM = 0x02
    COT = 0x05
    ACM = 0x06
    CON = 0x07
    ANM = 0x09
    REL = 0x0C
    SUS = 0x0D
    RES = 0x0E
    RLC = 0x10
    CCR = 0x11
    RSC = 0x12
    BLO = 0x13
    UBL = 0x14
    BLA = 0x15
    UBA = 0x16
    GRS = 0x17
    CGB = 0x18
    CGU = 0x19
    CGBA = 0x1A
    CGUA = 0x1B
    GRA = 0x29
    CPG = 0x2C
    UCIC = 0x2E
    CFN = 0x2F


class UnknownMessage(DecodeError):
    """A message type we do not recognise (Q.764 2.9.5.1: answered with CFN, cause 97)."""

    def __init__(self, cic: int, mtype: int) -> None:
        super().__init__(f"unrecognised ISUP message type {mtype:#04x} on CIC {cic}")
        self.cic, self.mtype = cic, mtype


class FormatError(DecodeError):
    """A recognised message with a format error (Q.764 2.9.5.3 / 2.10.5: discarded)."""

    def __init__(self, cic: int | None, mtype: int | None, why: str) -> None:
        super().__init__(f"ISUP {getattr(MessageType, '_value2member_map_', {}).get(mtype, mtype)} "
                         f"on CIC {cic}: {why}")
        self.cic, self.mtype = cic, mtype


@dataclass(frozen=True, slots=True)
class MessageFormat:
    fixed: tuple[str, ...] = ()       #: mandatory fixed parameters, in order
    variable: tuple[str, ...] = ()    #: mandatory variable parameters, in order
    optional: bool = False            #: may carry an optional part


_F = MessageFormat
_M = MessageType
#: Q.763 Tables 32-50 (ITU-T 1999 formats, which China ISUP follows).
FORMATS: dict[MessageType, MessageFormat] = {
    _M.IAM: _F(("nature_of_connection_indicators", "forward_call_indicators", "calling_partys_category",
                "transmission_medium_requirement"), ("called_party_number",), True),
    _M.SAM: _F((), ("subsequent_number",), True),
    _M.COT: _F(("continuity_indicators",)),
    _M.ACM: _F(("backward_call_indicators",), (), True),
    _M.CON: _F(("backward_call_indicators",), (), True),
    _M.ANM: _F((), (), True),
    _M.REL: _F((), ("cause_indicators",), True),
    _M.SUS: _F(("suspend_resume_indicators",), (), True),
    _M.RES: _F(("suspend_resume_indicators",), (), True),
    _M.RLC: _F((), (), True),
    _M.CCR: _F(),
    _M.RSC: _F(),
    _M.BLO: _F(),
    _M.UBL: _F(),
    _M.BLA: _F(),
    _M.UBA: _F(),
    _M.GRS: _F((), ("range_and_status",)),
    _M.CGB: _F(("circuit_group_supervision_message_type",), ("range_and_status",)),
    _M.CGU: _F(("circuit_group_supervision_message_type",), ("range_and_status",)),
    _M.CGBA: _F(("circuit_group_supervision_message_type",), ("range_and_status",)),
    _M.CGUA: _F(("circuit_group_supervision_message_type",), ("range_and_status",)),
    _M.GRA: _F((), ("range_and_status",)),
    _M.CPG: _F(("event_information",), (), True),
    _M.UCIC: _F(),
    _M.CFN: _F((), ("cause_indicators",), True),
}


@dataclass(frozen=True)
class IsupMessage:
    """One ISUP message: ``params`` maps parameter names (params.PARAMS) to values;
    ``unknown`` keeps optional parameters we do not decode (code -> raw octets)."""

    type: MessageType
    cic: int
    params: dict[str, Any] = field(default_factory=dict)
    unknown: dict[int, bytes] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)


_NAMES = {t: frozenset(f.fixed + f.variable) for t, f in FORMATS.items()}


def encode(msg: IsupMessage) -> bytes:
    """The octets of ``msg`` (after the routing label); ValueError/TypeError on bad values."""
    mtype = MessageType(msg.type)
    fmt = FORMATS[mtype]
    if not 0 <= msg.cic <= 0xFFF:
        raise ValueError(f"CIC {msg.cic} outside 0..4095")
    p = msg.params
    names = _NAMES[mtype]
    extra = [n for n in p if n not in names]
    if len(p) - len(extra) != len(names):
        missing = sorted(names - set(p))
        raise ValueError(f"{mtype.name} needs {', '.join(missing)}")
    if (extra or msg.unknown) and not fmt.optional:
        raise ValueError(f"{mtype.name} has no optional part ({sorted(extra)})")
    out = bytearray(msg.cic.to_bytes(2, "little"))
    out.append(mtype)
    for name in fmt.fixed:
        out += BY_NAME[name].encode(p[name])
    var = [BY_NAME[n].encode(p[n]) for n in fmt.variable]
    nptr = len(var) + (1 if fmt.optional else 0)
    body = bytearray()
    ptrs = []
    for i, v in enumerate(var):
        if len(v) > 255:
            raise ValueError("parameter longer than 255 octets")
        ptrs.append(nptr - i + len(body))
        body += bytes((len(v),)) + v
    opts = bytearray()
    if extra:
        for name in extra:
            if name not in BY_NAME:
                raise ValueError(f"unknown parameter {name!r}")
        for name in sorted(extra, key=lambda n: BY_NAME[n].code):
            v = BY_NAME[name].encode(p[name])
            if len(v) > 255:
                raise ValueError("parameter longer than 255 octets")
            opts += bytes((BY_NAME[name].code, len(v))) + v
    for code, v in sorted(msg.unknown.items()):
        if code in PARAMS or not 0 < code <= 255 or len(v) > 255:
            raise ValueError(f"unknown parameter code {code}")
        opts += bytes((code, len(v))) + v
    if fmt.optional:
        ptrs.append(nptr - len(var) + len(body) if opts else 0)
        if opts:
            opts.append(0)
    if any(x > 255 for x in ptrs):
        raise ValueError("message too long for its pointers")
    return bytes(out + bytes(ptrs) + body + opts)


def peek_header(data: bytes) -> tuple[int, int]:
    """(CIC, message type) of an ISUP message; DecodeError when shorter than 3 octets."""
    if len(data) < 3:
        raise FormatError(None, None, f"{len(data)} octets, shorter than CIC + type")
    return int.from_bytes(data[:2], "little") & 0x0FFF, data[2]


def decode(data: bytes | bytearray | memoryview) -> IsupMessage:
    """Parse one ISUP message; only DecodeError subclasses on bad input."""
    b = bytes(data)
    cic, mt = peek_header(b)
    try:
        mtype = MessageType(mt)
    except ValueError:
        raise UnknownMessage(cic, mt) from None
    fmt = FORMATS[mtype]
    params: dict[str, Any] = {}
    unknown: dict[int, bytes] = {}
    i = 3
    try:
        for name in fmt.fixed:
            pr = BY_NAME[name]
            if i + pr.size > len(b):
                raise FormatError(cic, mt, f"fixed part truncated at {name}")
            params[name] = pr.decode(b[i:i + pr.size])
            i += pr.size
        for name in fmt.variable:
            if i >= len(b):
                raise FormatError(cic, mt, f"pointer to {name} missing")
            at = i + b[i]
            if b[i] == 0 or at >= len(b) or at + 1 + b[at] > len(b):
                raise FormatError(cic, mt, f"pointer/length of {name} out of the message")
            params[name] = BY_NAME[name].decode(b[at + 1:at + 1 + b[at]])
            i += 1
        if fmt.optional:
            if i >= len(b):
                raise FormatError(cic, mt, "pointer to the optional part missing")
            if b[i]:
                j = i + b[i]
                while True:
                    if j >= len(b):
                        raise FormatError(cic, mt, "optional part not ended by 00")
                    code = b[j]
                    if code == 0:
                        break
                    if j + 1 >= len(b) or j + 2 + b[j + 1] > len(b):
                        raise FormatError(cic, mt, f"optional parameter {code:#04x} truncated")
                    val = b[j + 2:j + 2 + b[j + 1]]
                    pr = PARAMS.get(code)
                    if pr is None or pr.name in fmt.fixed or pr.name in fmt.variable:
                        unknown[code] = val
                    else:
                        params[pr.name] = pr.decode(val)
                    j += 2 + b[j + 1]
    except ParameterError as e:
        raise FormatError(cic, mt, str(e)) from None
    return IsupMessage(mtype, cic, params, unknown)
