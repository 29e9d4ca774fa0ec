"""LAPD frame and Q.931 message octets: the few operations of the PRI per-frame path that
build bytes from C integers (Q.921 2.1 / 3.5, Q.931 4.1-4.4).

One name, two bodies: this module is what the twin runs; ``_octets.pxd`` beside it holds the
same functions as inline C that write one new bytes object in place, which the compiled data
link (``link_py`` compiled as ``link_c``) and message codec (``message_py`` compiled as
``message_c``) cimport under the same name. Each returns exactly one new object; built from
a tuple of ints and concatenations they made three to five."""
from __future__ import annotations

__all__ = ["frame", "head", "join_wires", "sframe", "tail"]


def head(mtype: int, cref: int, flag: bool) -> bytes:
    """The five header octets of a Q.931 message on the primary rate interface (4.2-4.4):
    protocol discriminator, call reference length 2, the call reference with its flag, the
    message type. ``cref`` is 0..0x7FFF (checked by the caller)."""
    return bytes((0x08, 2, cref >> 8 | (0x80 if flag else 0), cref & 0xFF, mtype & 0x7F))


def join_wires(mtype: int, cref: int, flag: bool, wires: list[tuple[int, bytes]]) -> bytes:
    """:func:`head` followed by the octets of ``wires`` ((order key, octets) per element, in
    order: the elements of a message, as :func:`.message_py.encode_parts` orders them)."""
    return head(mtype, cref, flag) + b"".join([w[1] for w in wires])


def frame(addr: bytes, ns: int, nr: int, info: bytes) -> bytes:
    """An I frame (Q.921 3.5, modulo 128): ``addr`` (two octets), N(S), N(R), P=0, ``info``."""
    return addr + bytes(((ns & 0x7F) << 1, (nr & 0x7F) << 1)) + info


def sframe(addr: bytes, control: int, nr: int, pf: bool) -> bytes:
    """A supervisory frame (RR, RNR, REJ): ``addr``, its control octet, N(R) with P/F."""
    return addr + bytes((control, (nr & 0x7F) << 1 | (1 if pf else 0)))


def tail(data: bytes, start: int) -> bytes:
    """``data[start:]`` (an I frame's information field): one new bytes, no slice object."""
    return data[start:]
