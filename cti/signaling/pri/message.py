"""Q.931 messages and their codec: :class:`Message`, :func:`decode`, :func:`encode`,
:func:`encode_parts` ..., from the compiled build (``message_c``) or the twin
(:mod:`.message_py`, ``BOARDCORE_NO_EXTENSIONS=1``): one source."""
from __future__ import annotations

from typing import TYPE_CHECKING

from _boardcore import _select

if TYPE_CHECKING:
    from .message_py import (CREF_LEN_PRI, GLOBAL_CREF, MANDATORY, MANDATORY_FROM_NETWORK, MT, PD_Q931, Message,
                             MessageError, decode, encode, encode_header, encode_parts, mandatory_invalid, missing,
                             number_wire)
else:
    _impl = _select.load("cti.signaling.pri.message")
    (CREF_LEN_PRI, GLOBAL_CREF, MANDATORY, MANDATORY_FROM_NETWORK, MT, PD_Q931, Message, MessageError, decode, encode,
     encode_header, encode_parts, mandatory_invalid, missing, number_wire) = (
        _impl.CREF_LEN_PRI, _impl.GLOBAL_CREF, _impl.MANDATORY, _impl.MANDATORY_FROM_NETWORK, _impl.MT,
        _impl.PD_Q931, _impl.Message, _impl.MessageError, _impl.decode, _impl.encode, _impl.encode_header,
        _impl.encode_parts, _impl.mandatory_invalid, _impl.missing, _impl.number_wire)

__all__ = ["CREF_LEN_PRI", "GLOBAL_CREF", "MANDATORY", "MANDATORY_FROM_NETWORK", "MT", "PD_Q931", "Message",
           "MessageError", "decode", "encode", "encode_header", "encode_parts", "mandatory_invalid", "missing",
           "number_wire"]
