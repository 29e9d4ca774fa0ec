"""ISUP message formats (Q.763 clause 1.3 and Tables 32-50), declared once as tables.

:data:`FORMATS` and the :data:`PLANS` resolved from it drive both codecs (the Python one in
:mod:`.codec_py` and the compiled one in ``codec_c``). Wire format: CIC (12 bits in 2 octets, least significant first), message type, mandatory
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

from .params import BY_NAME


class MessageType(enum.IntEnum):
    """Q.763 Table 4 (the messages we send and receive)."""

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
    codes = [_STRUCT_CODE[size] for _, _, _, size in fixed]
    if None in codes:
        raise ValueError(f"{mtype.name}: a fixed parameter of a size struct cannot pack")
    st = struct.Struct("<" + "".join(c for c in codes if c is not None))
    var = tuple((n, BY_NAME[n].encode, BY_NAME[n].decode) for n in fmt.variable)
    return _Plan(mtype, fixed, st, fmt.fixed, var, fmt.optional, frozenset(fmt.fixed + fmt.variable),
                 len(var) + (1 if fmt.optional else 0))


#: Optional parameters by name: (code, name, encode), sortable by code.
_OPTIONAL: dict[str, tuple[int, str, Any]] = {n: (pr.code, n, pr.encode) for n, pr in BY_NAME.items()}

def optional_items(names: Any) -> list[tuple[int, str, Any]]:
    """(code, name, encode) of the optional parameters ``names``, ascending code (Q.763 1.8
    leaves the order free; we send them sorted); ValueError for a name not in PARAMS."""
    items = []
    for name in names:
        item = _OPTIONAL.get(name)
        if item is None:
            raise ValueError(f"unknown parameter {name!r}")
        items.append(item)
    if len(items) > 1:
        items.sort()
    return items


#: Per message type (looked up by the type's int code): the plan built from :data:`FORMATS`.
PLANS: dict[int, _Plan] = {int(t): _plan(t, f) for t, f in FORMATS.items()}
