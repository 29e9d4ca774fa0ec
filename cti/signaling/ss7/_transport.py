"""What every SOCK_SEQPACKET transport holds, compiled (``seqpacket_c``) or twin (``seqpacket_py``)."""
from __future__ import annotations

from typing import Any
from collections.abc import Callable


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
