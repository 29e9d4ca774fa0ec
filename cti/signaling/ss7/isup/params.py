"""ISUP parameters (Q.763 clause 3): codes, names and encode/decode pairs, declared once.

Each entry of :data:`PARAMS` is ``code -> Param(name, encode, decode)``. Values are ints
for indicator octets (fixed length given), :class:`Number` for numbers, :class:`CauseInd`
for cause indicators, :class:`RangeStatus` for range and status, bytes otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

from cti.signaling.errors import DecodeError

_DIGITS = "0123456789ABCDEF"


class ParameterError(DecodeError):
    """A parameter's contents could not be decoded (Q.764 2.10.5: handled as a format error)."""


@dataclass(frozen=True, slots=True)
class Number:
    """Called/calling/redirecting/original called/subsequent number (Q.763 3.9, 3.10, 3.45, 3.51).

    ``digits``: "0".."9", "A".."E" (codes 10-14: 'B' = code 11, 'C' = code 12), "F" = ST.
    """

    digits: str
    nai: int = 3          #: nature of address indicator: 1 subscriber, 3 national, 4 international
    npi: int = 1          #: numbering plan: 1 ISDN E.164
    inn: int = 0          #: INN (called) / NI (calling) bit
    presentation: int = 0  #: calling only: APRI
    screening: int = 3     #: calling only: network provided


@dataclass(frozen=True, slots=True)
class CauseInd:
    """Cause indicators (Q.763 3.12, Q.850)."""

    value: int
    location: int = 0
    coding: int = 0
    diagnostic: bytes = b""


@dataclass(frozen=True, slots=True)
class RangeStatus:
    """Range and status (Q.763 3.43): circuits first..first+range; status bit per circuit."""

    range: int
    status: bytes | None = None   #: absent in GRS (and CQM)


_DIGIT_SET = frozenset(_DIGITS + _DIGITS.lower())
_SWAP = bytes(((o & 0x0F) << 4) | (o >> 4) for o in range(256))   #: nibbles exchanged


def _digits_enc(digits: str) -> tuple[int, bytes]:
    if len(digits) > 40 or not _DIGIT_SET.issuperset(digits):
        raise ValueError(f"address digits {digits!r}: up to 40 of 0-9A-F")
    odd = len(digits) % 2
    # first digit in the low nibble (Q.763 3.9): hex pairs read high nibble first, so swap
    return odd, bytes.fromhex(digits + "0" if odd else digits).translate(_SWAP)


def _digits_dec(odd: int, data: bytes) -> str:
    s = bytes(data).translate(_SWAP).hex().upper()
    if odd:
        if not s:
            raise ParameterError("odd indicator set without digits")
        s = s[:-1]
    return s


def _check(v: int, hi: int, what: str) -> int:
    if not isinstance(v, int) or not 0 <= v <= hi:
        raise ValueError(f"{what}={v!r} out of range 0..{hi}")
    return v


def _small(v: object, hi: int) -> bool:
    return type(v) is int and 0 <= v <= hi


def enc_called(n: Number) -> bytes:
    odd, b = _digits_enc(n.digits)
    nai, inn, npi = n.nai, n.inn, n.npi
    if not (_small(nai, 127) and _small(inn, 1) and _small(npi, 7)):
        _check(nai, 127, "nai"), _check(inn, 1, "inn"), _check(npi, 7, "npi")
    return bytes(((odd << 7) | nai, (inn << 7) | (npi << 4))) + b


def dec_called(d: bytes) -> Number:
    if len(d) < 2:
        raise ParameterError("number shorter than 2 octets")
    return Number(_digits_dec(d[0] >> 7, d[2:]), d[0] & 0x7F, (d[1] >> 4) & 7, d[1] >> 7)


def enc_calling(n: Number) -> bytes:
    odd, b = _digits_enc(n.digits)
    nai, inn, npi, pres, scr = n.nai, n.inn, n.npi, n.presentation, n.screening
    if not (_small(inn, 1) and _small(npi, 7) and _small(pres, 3) and _small(scr, 3) and _small(nai, 127)):
        _check(inn, 1, "ni"), _check(npi, 7, "npi"), _check(pres, 3, "presentation")
        _check(scr, 3, "screening"), _check(nai, 127, "nai")
    return bytes(((odd << 7) | nai, (inn << 7) | (npi << 4) | (pres << 2) | scr)) + b


def dec_calling(d: bytes) -> Number:
    if len(d) < 2:
        raise ParameterError("number shorter than 2 octets")
    return Number(_digits_dec(d[0] >> 7, d[2:]), d[0] & 0x7F, (d[1] >> 4) & 7, d[1] >> 7,
                  (d[1] >> 2) & 3, d[1] & 3)


def enc_subsequent(n: Number) -> bytes:
    odd, b = _digits_enc(n.digits)
    return bytes((odd << 7,)) + b


def dec_subsequent(d: bytes) -> Number:
    if len(d) < 1:
        raise ParameterError("subsequent number empty")
    return Number(_digits_dec(d[0] >> 7, d[1:]))


def enc_cause(c: CauseInd) -> bytes:
    return bytes((0x80 | (_check(c.coding, 3, "coding") << 5) | _check(c.location, 15, "location"),
                  0x80 | _check(c.value, 127, "cause"))) + bytes(c.diagnostic)


def dec_cause(d: bytes) -> CauseInd:
    i = 0
    if len(d) < 2:
        raise ParameterError("cause indicators shorter than 2 octets")
    o1 = d[0]
    i = 1
    if not o1 & 0x80:   # octet 1a (recommendation) present
        i = 2
        if len(d) < 3:
            raise ParameterError("cause indicators truncated")
    return CauseInd(d[i] & 0x7F, o1 & 0x0F, (o1 >> 5) & 3, bytes(d[i + 1:]))


def enc_range(r: RangeStatus) -> bytes:
    _check(r.range, 255, "range")
    if r.status is None:
        return bytes((r.range,))
    if len(r.status) != r.range // 8 + 1:
        raise ValueError(f"status of {len(r.status)} octets for range {r.range} (needs {r.range // 8 + 1})")
    return bytes((r.range,)) + bytes(r.status)


def dec_range(d: bytes) -> RangeStatus:
    if not d:
        raise ParameterError("range and status empty")
    if len(d) == 1:
        return RangeStatus(d[0])
    if len(d) != d[0] // 8 + 2:
        raise ParameterError(f"status of {len(d) - 1} octets for range {d[0]}")
    return RangeStatus(d[0], bytes(d[1:]))


def _int(n: int) -> tuple[Callable[[int], bytes], Callable[[bytes], int]]:
    top = (1 << (8 * n)) - 1

    def enc(v: int) -> bytes:
        if type(v) is not int or not 0 <= v <= top:
            _check(v, top, "indicator")
        return v.to_bytes(n, "little")

    def dec(d: bytes) -> int:
        if len(d) != n:
            raise ParameterError(f"indicator of {len(d)} octets (expected {n})")
        return int.from_bytes(d, "little")
    return enc, dec


def _raw() -> tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]:
    def enc(v: bytes) -> bytes:
        if not isinstance(v, (bytes, bytearray)):
            raise TypeError(f"raw parameter must be bytes, not {type(v).__name__}")
        return bytes(v)
    return enc, bytes


@dataclass(frozen=True, slots=True)
class Param:
    code: int
    name: str
    encode: Callable[[Any], bytes]
    decode: Callable[[bytes], Any]
    size: int = 0    #: octets when it is a fixed-length indicator, 0 otherwise


def _p(code: int, name: str, kind: Any) -> Param:
    if isinstance(kind, int):
        return Param(code, name, *_int(kind), size=kind)
    return Param(code, name, *kind)


#: Q.763 Table 5 (the parameters our messages carry).
PARAMS: dict[int, Param] = {p.code: p for p in (
    _p(0x02, "transmission_medium_requirement", 1),
    _p(0x04, "called_party_number", (enc_called, dec_called)),
    _p(0x05, "subsequent_number", (enc_subsequent, dec_subsequent)),
    _p(0x06, "nature_of_connection_indicators", 1),
    _p(0x07, "forward_call_indicators", 2),
    _p(0x09, "calling_partys_category", 1),
    _p(0x0A, "calling_party_number", (enc_calling, dec_calling)),
    _p(0x0B, "redirecting_number", (enc_calling, dec_calling)),
    _p(0x10, "continuity_indicators", 1),
    _p(0x11, "backward_call_indicators", 2),
    _p(0x12, "cause_indicators", (enc_cause, dec_cause)),
    _p(0x15, "circuit_group_supervision_message_type", 1),
    _p(0x16, "range_and_status", (enc_range, dec_range)),
    _p(0x1D, "user_service_information", _raw()),
    _p(0x22, "suspend_resume_indicators", 1),
    _p(0x24, "event_information", 1),
    _p(0x28, "original_called_number", (enc_calling, dec_calling)),
    _p(0x29, "optional_backward_call_indicators", 1),
)}
BY_NAME: dict[str, Param] = {p.name: p for p in PARAMS.values()}
