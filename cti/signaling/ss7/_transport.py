"""What every SOCK_SEQPACKET transport holds, compiled (``seqpacket_c``) or twin (``seqpacket_py``)."""
from __future__ import annotations

from typing import Any, Protocol
from collections.abc import Callable


class FrameLink(Protocol):
    """What a transport moves frames for: an MTP2 link, or any stack of the same shape on
    signal units (a PRI D channel's Q.921)."""

    def receive(self, frame: bytes, now: float, /) -> None: ...

    def su_error(self, now: float, /) -> None: ...

    def line_fault(self, now: float, reason: str, /) -> None: ...

    def data_to_send(self, now: float, /) -> list[bytes]: ...


def init_transport(t: Any, sock: Any, link: Any, pcap: Any, link_number: int,
                   drop: Callable[[bytes], bool] | None, verify_fcs: bool) -> None:
    """Make ``sock`` non-blocking and set the transport ``t``'s attributes: ``verify_fcs``
    (False for peers that leave the FCS octets to hardware, as libss7 does), ``drop`` (test
    hook: ``drop(frame)`` -> True loses an outgoing frame), ``closed``, ``fcs_errors``."""
    sock.setblocking(False)
    t.verify_fcs = verify_fcs
    t.sock, t.link, t.pcap, t.link_number = sock, link, pcap, link_number
    t.closed = False
    t.drop = drop
    t.fcs_errors = 0
