"""ISUP message codec (Q.763 clause 1.3 and Tables 32-50): messages declared once as tables.

Wire format: CIC (12 bits in 2 octets, least significant first), message type, mandatory
fixed part, one pointer per mandatory variable parameter, a pointer to the optional part
(when the message may carry one), the variable parameters (length + value) and the
optional parameters (code, length, value; ended by 00).
"""
from __future__ import annotations

import enum
import struct
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


@dataclass(frozen=True, slots=True)
class _Plan:
    """A message type's format resolved once: encoders/decoders looked up, names checked."""

    mtype: MessageType
    fixed: tuple[tuple[str, Any, Any, int], ...]     #: (name, encode, decode, size)
    fixed_struct: struct.Struct                      #: the whole fixed part (all indicators)
    fixed_names: tuple[str, ...]
    variable: tuple[tuple[str, Any, Any], ...]       #: (name, encode, decode)
    optional: bool
    names: frozenset[str]                            #: the mandatory parameter names
    nptr: int                                        #: pointers after the fixed part


_STRUCT_CODE = {1: "B", 2: "H", 3: None, 4: "I"}


def _plan(mtype: MessageType, fmt: MessageFormat) -> _Plan:
    fixed = tuple((n, BY_NAME[n].encode, BY_NAME[n].decode, BY_NAME[n].size) for n in fmt.fixed)
    # Q.763 1.5: the mandatory fixed part is indicators of fixed length, least significant octet first
    st = struct.Struct("<" + "".join(_STRUCT_CODE[size] for _, _, _, size in fixed))
    var = tuple((n, BY_NAME[n].encode, BY_NAME[n].decode) for n in fmt.variable)
    return _Plan(mtype, fixed, st, fmt.fixed, var, fmt.optional, frozenset(fmt.fixed + fmt.variable),
                 len(var) + (1 if fmt.optional else 0))


#: Optional parameters by name: (code, name, encode), sortable by code.
_OPTIONAL: dict[str, tuple[int, str, Any]] = {n: (pr.code, n, pr.encode) for n, pr in BY_NAME.items()}

#: Per message type (looked up by the type's int code): the plan built from :data:`FORMATS`.
PLANS: dict[int, _Plan] = {int(t): _plan(t, f) for t, f in FORMATS.items()}


def encode(msg: IsupMessage) -> bytes:
    """The octets of ``msg`` (after the routing label); ValueError/TypeError on bad values."""
    return encode_message(msg.type, msg.cic, msg.params, msg.unknown)


def encode_message(mtype: int, cic: int, p: dict[str, Any], unknown: dict[int, bytes] | None = None) -> bytes:
    """:func:`encode` without building an :class:`IsupMessage` first."""
    plan = PLANS.get(mtype)
    if plan is None:
        raise ValueError(f"{mtype!r} is not a message type of FORMATS")
    mt = plan.mtype
    if not 0 <= cic <= 0xFFF:
        raise ValueError(f"CIC {cic} outside 0..4095")
    names = plan.names
    if len(p) == len(names) and names.issuperset(p):
        extra: Any = ()
    else:
        extra = [n for n in p if n not in names]
        if len(p) - len(extra) != len(names):
            missing = sorted(names - set(p))
            raise ValueError(f"{mt.name} needs {', '.join(missing)}")
    if (extra or unknown) and not plan.optional:
        raise ValueError(f"{mt.name} has no optional part ({sorted(extra)})")
    out = bytearray((cic & 0xFF, cic >> 8, mt))
    if plan.fixed:
        vals = [p[name] for name in plan.fixed_names]
        try:
            for v in vals:
                if type(v) is not int:
                    raise struct.error("not int")
            out += plan.fixed_struct.pack(*vals)
        except struct.error:         # out of range or not an int: the parameter's own encoder says why
            for name, enc, _, _ in plan.fixed:
                out += enc(p[name])
    nptr = plan.nptr
    if not plan.variable and not extra and not unknown:
        if plan.optional:
            out.append(0)
        return bytes(out)
    body = bytearray()
    ptrs: list[int] = []
    i = 0
    for name, enc, _ in plan.variable:
        v = enc(p[name])
        if len(v) > 255:
            raise ValueError("parameter longer than 255 octets")
        ptrs.append(nptr - i + len(body))
        body.append(len(v))
        body += v
        i += 1
    opts = bytearray()
    if extra:
        items = []
        for name in extra:
            item = _OPTIONAL.get(name)
            if item is None:
                raise ValueError(f"unknown parameter {name!r}")
            items.append(item)
        if len(items) > 1:
            items.sort()              # ascending parameter code
        for code, name, enc in items:
            v = enc(p[name])
            if len(v) > 255:
                raise ValueError("parameter longer than 255 octets")
            opts.append(code)
            opts.append(len(v))
            opts += v
    if unknown:
        for code, v in sorted(unknown.items()):
            if code in PARAMS or not 0 < code <= 255 or len(v) > 255:
                raise ValueError(f"unknown parameter code {code}")
            opts += bytes((code, len(v))) + v
    if plan.optional:
        ptrs.append(nptr - i + len(body) if opts else 0)
        if opts:
            opts.append(0)
    if ptrs and max(ptrs) > 255:
        raise ValueError("message too long for its pointers")
    out += bytes(ptrs)
    out += body
    out += opts
    return bytes(out)


def peek_header(data: bytes) -> tuple[int, int]:
    """(CIC, message type) of an ISUP message; DecodeError when shorter than 3 octets."""
    if len(data) < 3:
        raise FormatError(None, None, f"{len(data)} octets, shorter than CIC + type")
    return int.from_bytes(data[:2], "little") & 0x0FFF, data[2]


def decode(data: bytes | bytearray | memoryview) -> IsupMessage:
    """Parse one ISUP message; only DecodeError subclasses on bad input."""
    b = bytes(data)
    n = len(b)
    if n < 3:
        raise FormatError(None, None, f"{n} octets, shorter than CIC + type")
    cic, mt = (b[0] | (b[1] << 8)) & 0x0FFF, b[2]
    plan = PLANS.get(mt)
    if plan is None:
        raise UnknownMessage(cic, mt)
    params: dict[str, Any] = {}
    unknown: dict[int, bytes] = {}
    i = 3
    try:
        if plan.fixed:
            fs = plan.fixed_struct
            if i + fs.size > n:
                for name, _, _, size in plan.fixed:
                    if i + size > n:
                        raise FormatError(cic, mt, f"fixed part truncated at {name}")
                    i += size
            params.update(zip(plan.fixed_names, fs.unpack_from(b, i)))
            i += fs.size
        for name, _, dec in plan.variable:
            if i >= n:
                raise FormatError(cic, mt, f"pointer to {name} missing")
            at = i + b[i]
            if b[i] == 0 or at >= n or at + 1 + b[at] > n:
                raise FormatError(cic, mt, f"pointer/length of {name} out of the message")
            params[name] = dec(b[at + 1:at + 1 + b[at]])
            i += 1
        if plan.optional:
            if i >= n:
                raise FormatError(cic, mt, "pointer to the optional part missing")
            if b[i]:
                names = plan.names
                j = i + b[i]
                while True:
                    if j >= n:
                        raise FormatError(cic, mt, "optional part not ended by 00")
                    code = b[j]
                    if code == 0:
                        break
                    if j + 1 >= n or j + 2 + b[j + 1] > n:
                        raise FormatError(cic, mt, f"optional parameter {code:#04x} truncated")
                    val = b[j + 2:j + 2 + b[j + 1]]
                    pr = PARAMS.get(code)
                    if pr is None or pr.name in names:
                        unknown[code] = val
                    else:
                        params[pr.name] = pr.decode(val)
                    j += 2 + b[j + 1]
    except ParameterError as e:
        raise FormatError(cic, mt, str(e)) from None
    msg = object.__new__(IsupMessage)    # what the frozen __init__ does, without 4 setattr calls
    msg.__dict__.update(type=plan.mtype, cic=cic, params=params, unknown=unknown)
    return msg
