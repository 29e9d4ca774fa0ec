"""The IAM's octets on call control's per-call path (Q.763 1.1, 3.9, 3.10): the usual IAM read
(:func:`read_iam`: called and calling digits and the caller's category, with no parameter
objects) and address signals written into an IAM under construction (:func:`write_address`).

Written by hand rather than through the codec because these are the two places per call where
the codec's general machinery (parameter objects, a dict per message) was most of the cost;
what they accept is a subset the codec accepts, anything else is left to the codec.

One source, two builds like :mod:`.control_py` (which cimports these functions when compiled):
this module runs as it is (the twin) and setup.py compiles it in Cython's pure-Python mode with
``iam_c.pxd`` as ``iam_c``.
"""
from __future__ import annotations

from typing import Any

def write_address(out: bytearray, at: Any, digits: str, st: Any) -> bool:
    """Write the address signals ``digits`` (and the ST digit F if ``st``) into ``out`` from
    ``at``, first digit in the low nibble (Q.763 3.9, 3.10); False when a digit is not 0-9A-F.
    (A loop over the characters: compiled, it runs in C.)"""
    n = len(digits)
    total = n + st
    k = 0
    while k < total:
        lo = 15                                   # the ST digit
        if k < n:
            c = ord(digits[k])
            lo = c - 48 if 48 <= c <= 57 else c - 55 if 65 <= c <= 70 else c - 87 if 97 <= c <= 102 else -1
        hi = 0                                    # filler of an odd count
        if k + 1 < total:
            hi = 15
            if k + 1 < n:
                c = ord(digits[k + 1])
                hi = c - 48 if 48 <= c <= 57 else c - 55 if 65 <= c <= 70 else c - 87 if 97 <= c <= 102 else -1
        if lo < 0 or hi < 0:
            return False
        out[at] = (hi << 4) | lo
        at += 1
        k += 2
    return True


class ReceivedIam:
    """What call control reads of a received IAM (Q.764 2.1.2), the message of the table's IAM
    rows: the called party's digits (the ST digit dropped), the calling party's digits (None
    without a calling party number) and the calling party's category."""

    __slots__ = ("called", "calling", "category")

    def __init__(self, called: str, calling: str | None, category: int) -> None:
        self.called = called
        self.calling = calling
        self.category = category

    def __repr__(self) -> str:
        return f"ReceivedIam({self.called!r}, {self.calling!r}, {self.category})"


def iam_of(msg: Any) -> ReceivedIam:
    """:class:`ReceivedIam` of an IAM the codec decoded."""
    params: dict[str, Any] = msg.params
    called = params["called_party_number"]
    calling = params.get("calling_party_number")
    return ReceivedIam(called.digits.rstrip("F"), calling.digits if calling is not None else None,
                       params["calling_partys_category"])


_HEX = b"0123456789ABCDEF"
_DIG = bytearray(512)     #: _digits' scratch: a parameter holds at most 253 octets of digits


def _digits(b: bytes, at: Any, end: Any, odd: Any) -> str:
    """Address signals of octets ``at`` to ``end`` of ``b`` (first digit in the low nibble,
    Q.763 3.9), the filler of an odd count dropped: what the codec's number decoder gives."""
    out = _DIG
    k = 0
    for i in range(at, end):
        v = b[i]
        out[k] = _HEX[v & 15]
        out[k + 1] = _HEX[v >> 4]
        k += 2
    if odd:
        k -= 1
    return out[:k].decode("ascii")


def read_iam(b: bytes) -> ReceivedIam | None:
    """:class:`ReceivedIam` read from the octets of an IAM (CIC, type 0x01, the mandatory fixed
    part, the called party number, an optional part holding at most the calling party number),
    without decoding the parameters call control does not read. None for any other shape (the
    codec decodes it, and says what is wrong): so an IAM read here is one the codec accepts."""
    n = len(b)
    p = 8 + b[8]                          # called party number: its length octet (Q.763 3.9)
    if b[8] == 0 or p >= n:
        return None
    size = b[p]
    if size < 2 or p + 1 + size > n or ((b[p + 1] & 0x80) and size == 2):
        return None
    called = _digits(b, p + 3, p + 1 + size, b[p + 1] & 0x80).rstrip("F")
    calling = None
    if b[9]:
        q = 9 + b[9]                      # the optional part
        if q < n and b[q] == 0x0A:        # calling party number (Q.763 3.10)
            if q + 1 >= n:
                return None
            size = b[q + 1]
            if size < 2 or q + 2 + size > n or ((b[q + 2] & 0x80) and size == 2):
                return None
            calling = _digits(b, q + 4, q + 2 + size, b[q + 2] & 0x80)
            q += 2 + size
        if q >= n or b[q] != 0:
            return None
    return ReceivedIam(called, calling, b[6])
