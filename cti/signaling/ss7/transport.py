"""Transports for an MTP2 link: an HDLC channel of any board (TS16 of a span), or a
SOCK_SEQPACKET socket carrying one signal unit plus its 2 FCS octets per datagram (how
libss7 reads a DAHDI D-channel, so it can be attached over a socketpair)."""
from __future__ import annotations

from typing import Protocol
from collections.abc import Callable

from drivers.base import Alarm, HdlcChannel, Span

from ._transport import FrameLink
from .pcap import PcapWriter
from .seqpacket import SeqpacketTransport   # compiled seqpacket_c or its twin seqpacket_py

__all__ = ["Transport", "HdlcTransport", "SeqpacketTransport", "SEQPACKET"]


class Transport(Protocol):
    link: FrameLink    # an Mtp2Link (built over the compiled core or its twin), or a PRI D channel

    def receive(self, now: float) -> None:
        """Move received frames into the link."""

    def transmit(self, now: float) -> None:
        """Move the link's output onto the medium."""


_LINE_DOWN = Alarm.LOS | Alarm.AIS | Alarm.LOF


class HdlcTransport:
    """An MTP2 link on a board's HDLC channel (FCS added/checked by the HDLC layer below).
    With ``span`` given, LOS/AIS/LOF on it fail the link at once (no flags: Q.703 10.2).
    An MTP2 link reads the channel itself (``receive_from``): the frames go from the board
    to the link with no code of this module between, unless a pcap records them."""

    def __init__(self, channel: HdlcChannel, link: FrameLink, pcap: PcapWriter | None = None,
                 link_number: int = 0, span: Span | None = None) -> None:
        self.channel, self.link, self.pcap, self.link_number = channel, link, pcap, link_number
        self.span = span
        self.card_fill = False     #: the card repeats and filters MTP2 fill-ins (card_fill_in)
        reader = getattr(link, "receive_from", None)
        self._read: Callable[[HdlcChannel, float], None] | None = reader if pcap is None else None

    def card_fill_in(self) -> bool:
        """Ask the card to do MTP2's fill-in (``channel.mtp2_fill(True)``, on cards that can):
        it repeats the last FISU or LSSU sent while nothing else is queued and filters received
        ones equal to the frame before them, counting them; the MTP2 link (``card_fill``) then
        sends a fill-in only when it changes and applies the count. True when the card does."""
        fill = getattr(self.channel, "mtp2_fill", None)
        if fill is None or not hasattr(self.link, "fill_repeated"):    # not a card that can, or not MTP2
            return False
        on = self.card_fill = bool(fill(True))
        self.link.card_fill = on  # type: ignore[attr-defined]
        return on

    def receive(self, now: float) -> None:
        if self.span is not None:
            bad = self.span.alarms & _LINE_DOWN
            if bad:
                self.channel.recv_all()    # whatever arrives meanwhile is noise
                if self.card_fill:
                    self.link.fill_dropped(self.channel.fill_repeats)  # type: ignore[attr-defined]
                self.link.line_fault(now, f"span alarm {bad.name or bad!r}")
                return
        if self._read is not None:
            self._read(self.channel, now)
            return
        frames = self.channel.recv_all()
        if self.card_fill:
            self.link.fill_repeated(self.channel.fill_repeats, now)  # type: ignore[attr-defined]
        for f in frames:
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


#: dotted prefix of the SOCK_SEQPACKET transport (``seqpacket_c`` compiled, ``seqpacket_py`` twin)
SEQPACKET = "cti.signaling.ss7.seqpacket"
# SeqpacketTransport(sock, link, pcap=None, link_number=0, drop=None, verify_fcs=True): an MTP2
# link on a SOCK_SEQPACKET (or SOCK_DGRAM) socket, one frame + FCS per datagram; receive(now),
# transmit(now), service(now), fileno(), closed, fcs_errors.
