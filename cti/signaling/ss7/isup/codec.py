"""ISUP message codec (Q.763 clause 1.3 and Tables 32-50): messages declared once as tables.

The tables (:data:`FORMATS`, :data:`PLANS`) live in :mod:`.formats`; :func:`encode`,
:func:`encode_message` and :func:`decode` come from the compiled codec (``codec_c``) when it
is built, else from its Python twin :mod:`.codec_py` (``BOARDCORE_NO_EXTENSIONS=1`` forces
the twin). Both raise the same errors: ValueError/TypeError on bad values to encode, only
:class:`~cti.signaling.errors.DecodeError` subclasses (:class:`UnknownMessage`,
:class:`FormatError`) on bad octets.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from _boardcore import _select

from .formats import FORMATS, PLANS, FormatError, IsupMessage, MessageFormat, MessageType, UnknownMessage

#: encode ... event are set by _select.export below (F822 is ignored for this facade)
__all__ = ["FORMATS", "PLANS", "FormatError", "IsupMessage", "MessageFormat", "MessageType", "UnknownMessage",
           "encode", "encode_message", "decode", "peek_header", "IMPLEMENTATION", "number", "event"]

_select.export("cti.signaling.ss7.isup.codec", globals(), ["encode", "encode_message", "decode", "number", "event"])
if TYPE_CHECKING:     # for the type checker: the twin's signatures (the compiled codec's are the same)
    from .codec_py import decode, encode, encode_message, event, number


def peek_header(data: bytes) -> tuple[int, int]:
    """(CIC, message type) of an ISUP message; DecodeError when shorter than 3 octets."""
    if len(data) < 3:
        raise FormatError(None, None, f"{len(data)} octets, shorter than CIC + type")
    return int.from_bytes(data[:2], "little") & 0x0FFF, data[2]
