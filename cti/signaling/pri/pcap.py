"""Write D-channel frames to a pcap file that Wireshark/tshark decode as LAPD + Q.931.

Link type 177 (LINKTYPE_LINUX_LAPD, tcpdump.org): each frame is preceded by a 16-octet
pseudo-header in the form of Linux "cooked" capture: packet type (0 received, 4 sent), the
ARPHRD_LAPD hardware type, and address octet 0 = 1 when the capturing side is the network
side, so the dissector tells commands from responses (Q.921 Table 1).
"""
from __future__ import annotations

import struct
import time
from typing import BinaryIO

from cti.signaling.ss7.pcap import PcapWriter

LINKTYPE_LINUX_LAPD = 177
_ARPHRD_LAPD = 8445
_ETH_P_LAPD = 0x0030


class LapdPcapWriter(PcapWriter):
    """``write(frame, ts, sent=True, link=0)`` as the SS7 transports call their writer
    (``flush`` / ``close`` are the SS7 writer's)."""

    def __init__(self, path_or_file: str | BinaryIO, network: bool) -> None:
        self.linktype, self.only_msu = LINKTYPE_LINUX_LAPD, False
        self.network = network
        self._own = isinstance(path_or_file, str)
        self.f: BinaryIO = open(path_or_file, "wb") if isinstance(path_or_file, str) else path_or_file  # noqa: SIM115
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_LINUX_LAPD))
        self.count = 0

    def write(self, frame: bytes, ts: float | None = None, *, sent: bool = True, link: int = 0) -> None:
        hdr = struct.pack(">HHH8sH", 4 if sent else 0, _ARPHRD_LAPD, 1,
                          bytes((1 if self.network else 0,)) + b"\0" * 7, _ETH_P_LAPD)
        data = hdr + bytes(frame)
        t = time.time() if ts is None else ts
        sec = int(t)
        self.f.write(struct.pack("<IIII", sec, int((t - sec) * 1e6), len(data), len(data)) + data)
        self.count += 1
