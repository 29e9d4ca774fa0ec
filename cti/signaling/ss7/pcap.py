"""Write signalling frames to a pcap file that Wireshark/tshark decode (MTP2/MTP3/ISUP).

Link types (tcpdump.org): 140 MTP2 (signal unit without FCS), 141 MTP3 (from the SIO on),
139 MTP2 with a 4-octet pseudo-header (sent, annex A used, link number).
"""
from __future__ import annotations

import struct
import time
from typing import BinaryIO

LINKTYPE_MTP2_WITH_PHDR = 139
LINKTYPE_MTP2 = 140
LINKTYPE_MTP3 = 141


class PcapWriter:
    """Appends records; ``write(frame, ts, sent=True, link=0)`` with ``frame`` an MTP2 signal
    unit without FCS (for 141: pass MSUs; other signal units are skipped)."""

    def __init__(self, path_or_file: str | BinaryIO, linktype: int = LINKTYPE_MTP2,
                 only_msu: bool = False) -> None:
        if linktype not in (LINKTYPE_MTP2_WITH_PHDR, LINKTYPE_MTP2, LINKTYPE_MTP3):
            raise ValueError(f"link type {linktype} is not 139, 140 or 141")
        self.linktype = linktype
        self.only_msu = only_msu or linktype == LINKTYPE_MTP3
        self._own = isinstance(path_or_file, str)
        self.f: BinaryIO = (open(path_or_file, "wb")  # noqa: SIM115 - the writer owns it until close()
                            if isinstance(path_or_file, str) else path_or_file)
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        self.count = 0

    def write(self, frame: bytes, ts: float | None = None, *, sent: bool = True, link: int = 0) -> None:
        if len(frame) < 3:
            return
        is_msu = (frame[2] & 0x3F) > 2
        if self.only_msu and not is_msu:
            return
        if self.linktype == LINKTYPE_MTP3:
            data = bytes(frame[3:])
        elif self.linktype == LINKTYPE_MTP2_WITH_PHDR:
            data = struct.pack(">BBH", 1 if sent else 0, 0, link) + bytes(frame)
        else:
            data = bytes(frame)
        t = time.time() if ts is None else ts
        sec = int(t)
        self.f.write(struct.pack("<IIII", sec, int((t - sec) * 1e6), len(data), len(data)) + data)
        self.count += 1

    def flush(self) -> None:
        self.f.flush()

    def close(self) -> None:
        if self._own:
            self.f.close()
        else:
            self.f.flush()
