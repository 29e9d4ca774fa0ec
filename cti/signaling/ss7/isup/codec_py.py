"""ISUP codec in Python (twin of ``codec_c``): encode/decode driven by :data:`.formats.PLANS`."""
from __future__ import annotations

import struct
from typing import Any

from .call import IsupEvent
from .formats import PLANS, FormatError, IsupMessage, UnknownMessage, optional_items
from .params import PARAMS, Number, ParameterError

#: ``Number(digits)`` and ``IsupEvent(...)`` by position: the compiled codec builds them in place
number = Number
event = IsupEvent


class _EventSlots:
    """The twin of the compiled codec's ``EVENT_SLOTS``: ``make(values)`` builds an IsupEvent
    from its fields in order."""

    @staticmethod
    def make(values: tuple[Any, ...]) -> IsupEvent:
        return IsupEvent(*values)


EVENT_SLOTS = _EventSlots()


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
        for code, name, enc in optional_items(extra):
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
            params.update(zip(plan.fixed_names, fs.unpack_from(b, i), strict=False))
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
