"""An MTP2 link on a SOCK_SEQPACKET socket, pure-Python twin of ``seqpacket_c``: one signal
unit plus its 2 FCS octets (Q.703 2.2, low octet first) per datagram, as libss7 reads a DAHDI
D-channel, so an external stack can be attached over a socketpair."""
from __future__ import annotations

import errno
import socket
from typing import TYPE_CHECKING
from collections.abc import Callable

from cti.signaling.errors import DecodeError

from ._transport import FrameLink, init_transport
from .mtp2.codec import add_fcs, check_fcs

if TYPE_CHECKING:
    from .pcap import PcapWriter


class SeqpacketTransport:
    """An MTP2 link on a SOCK_SEQPACKET (or SOCK_DGRAM) socket: one frame + FCS per datagram.
    The socket is made non-blocking; a dead peer shows as the link failing (T7/T2), and a
    closed socket stops the transport (``closed`` becomes True)."""

    # the attributes set by init_transport (shared with the compiled build)
    sock: socket.socket
    link: FrameLink
    pcap: PcapWriter | None
    link_number: int
    drop: Callable[[bytes], bool] | None
    verify_fcs: bool
    closed: bool
    fcs_errors: int

    def __init__(self, sock: socket.socket, link: FrameLink, pcap: PcapWriter | None = None,
                 link_number: int = 0, drop: Callable[[bytes], bool] | None = None,
                 verify_fcs: bool = True) -> None:
        init_transport(self, sock, link, pcap, link_number, drop, verify_fcs)

    def receive(self, now: float) -> None:
        while not self.closed:
            try:
                data = self.sock.recv(400)
            except BlockingIOError:
                return
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EINTR):
                    return
                self.closed = True
                return
            if not data:
                self.closed = True
                return
            try:
                if self.verify_fcs:
                    frame = check_fcs(data)
                elif len(data) >= 5:
                    frame = bytes(data[:-2])
                else:
                    raise DecodeError("short frame")
            except DecodeError:
                self.fcs_errors += 1
                self.link.su_error(now)
                continue
            if self.pcap:
                self.pcap.write(frame, now, sent=False, link=self.link_number)
            self.link.receive(frame, now)

    def transmit(self, now: float) -> None:
        for f in self.link.data_to_send(now):
            if self.closed:
                return
            if self.drop is not None and self.drop(f):
                continue
            if self.pcap:
                self.pcap.write(f, now, sent=True, link=self.link_number)
            try:
                self.sock.send(add_fcs(f))
            except BlockingIOError:
                return             # the peer is not reading: the frame is lost, MTP2 recovers
            except OSError:
                self.closed = True

    def service(self, now: float) -> None:
        self.receive(now)
        self.transmit(now)

    def fileno(self) -> int:
        return self.sock.fileno()
