"""SOCK_SEQPACKET transport for an MTP2 link (one frame + FCS per datagram): the compiled
``seqpacket_c`` when built, else its pure-Python twin ``seqpacket_py``
(``BOARDCORE_NO_EXTENSIONS=1`` forces the twin). Import it from :mod:`.link`."""
from __future__ import annotations

from typing import TYPE_CHECKING

from _boardcore import _select

__all__ = ["SeqpacketTransport"]

_select.export("cti.signaling.ss7.seqpacket", globals(), __all__)
if TYPE_CHECKING:     # for the type checker: the twin's signature (the compiled transport's is the same)
    from .seqpacket_py import SeqpacketTransport
