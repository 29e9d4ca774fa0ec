"""Transports for an MTP2 link: an HDLC channel of any board (TS16 of a span), or a
SOCK_SEQPACKET socket carrying one signal unit plus its 2 FCS octets per datagram (how
libss7 reads a DAHDI D-channel, so it can be attached over a socketpair)."""
from __future__ import annotations

import errno
import socket
from typing import Protocol

from typing import Any

from drivers.base import Alarm, HdlcChannel

from .mtp2 import Mtp2Link
from .mtp2.codec import add_fcs, check_fcs
from cti.signaling.errors import DecodeError
from .pcap import PcapWriter


class Transport(Protocol):
    link: Mtp2Link

    def receive(self, now: float) -> None:
        """Move received frames into the link."""

    def transmit(self, now: float) -> None:
        """Move the link's output onto the medium."""


class HdlcTransport:
    """An MTP2 link on a board's HDLC channel (FCS added/checked by the HDLC layer below).
    With ``span`` given, LOS/AIS/LOF on it fail the link at once (no flags: Q.703 10.2)."""

    def __init__(self, channel: HdlcChannel, link: Mtp2Link, pcap: PcapWriter | None = None,
                 link_number: int = 0, span: Any = None) -> None:
        self.channel, self.link, self.pcap, self.link_number = channel, link, pcap, link_number
        self.span = span

    def receive(self, now: float) -> None:
        if self.span is not None:
            bad = self.span.alarms & (Alarm.LOS | Alarm.AIS | Alarm.LOF)
            if bad:
                self.channel.recv_all()    # whatever arrives meanwhile is noise
                self.link.line_fault(now, f"span alarm {bad.name or bad!r}")
                return
        for f in self.channel.recv_all():
            if self.pcap:
                self.pcap.write(f, now, sent=False, link=self.link_number)
            self.link.receive(f, now)

    def transmit(self, now: float) -> None:
        for f in self.link.data_to_send(now):
            if self.pcap:
                self.pcap.write(f, now, sent=True, link=self.link_number)
            self.channel.send(f)

    def service(self, now: float) -> None:
        self.receive(now)
        self.transmit(now)


class SeqpacketTransport:
    """An MTP2 link on a SOCK_SEQPACKET (or SOCK_DGRAM) socket: one frame + FCS per datagram.
    The socket is made non-blocking; a dead peer shows as the link failing (T7/T2), and a
    closed socket stops the transport (``closed`` becomes True)."""

    def __init__(self, sock: socket.socket, link: Mtp2Link, pcap: PcapWriter | None = None,
                 link_number: int = 0, drop=None, verify_fcs: bool = True) -> None:
        sock.setblocking(False)
        self.verify_fcs = verify_fcs  #: False for peers that leave the FCS octets to hardware (libss7)
        self.sock, self.link, self.pcap, self.link_number = sock, link, pcap, link_number
        self.closed = False
        self.drop = drop            #: test hook: drop(frame) -> True loses an outgoing frame
        self.fcs_errors = 0

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
