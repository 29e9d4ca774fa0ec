"""A DAHDI kernel double: the :class:`DeviceLayer` the dahdi backend's tests run on.

It keeps the kernel's user-visible rules (dahdi-base.c): a generic channel descriptor does
nothing until ``DAHDI_SPECIFY``; reads and writes fail with ``ELAST`` while an event is
pending and ``EAGAIN`` when there is nothing to read; a read returns at most one block;
an HDLC-with-FCS channel returns one frame per read followed by its two FCS octets, takes
one frame per write with two trailing octets it overwrites with the FCS, and reports a bad
FCS or an abort as an event instead of a frame; CAS bits are set and read with
SETTXBITS / GETRXBITS and a change of the received bits raises BITSCHANGED; SPANSTAT
fills ``struct dahdi_spaninfo``. Spans can be looped in pairs (what span a sends, span b
receives) so the Board API can be tested back to back: at once (the default), or
``paced`` like a card, where each looped channel carries 8000 octets/s of wall-clock time
(what was written, A-law idle when nothing was).
"""
from __future__ import annotations

from typing import Any

import errno
import os
import time
from collections import deque
from dataclasses import dataclass, field
from collections.abc import Iterable

from . import _ffi as abi
from .device import DeviceLayer

__all__ = ["FakeDahdi", "FakeChannel", "fcs16"]

CHANNELS_PER_SPAN = 31
ALAW_IDLE = 0xD5


def fcs16(data: bytes) -> int:
    """PPP / HDLC FCS-16 (CRC-CCITT reflected, init 0xFFFF, complemented), as the kernel sends."""
    fcs = 0xFFFF
    for b in data:
        fcs ^= b
        for _ in range(8):
            fcs = (fcs >> 1) ^ 0x8408 if fcs & 1 else fcs >> 1
    return fcs ^ 0xFFFF


def _oserror(code: int) -> OSError:
    return OSError(code, os.strerror(code) if code != abi.ELAST else "DAHDI event pending")


@dataclass
class FakeChannel:
    channo: int
    spanno: int
    ts: int
    sigtype: int
    blocksize: int = abi.DAHDI_DEFAULT_BLOCKSIZE
    law: int = abi.DAHDI_LAW_DEFAULT
    hdlc: bool = False
    rxbits: int = 0
    txbits: int = 0
    rx: bytearray = field(default_factory=bytearray)          # audio the card received
    tx: bytearray = field(default_factory=bytearray)          # audio the application wrote
    rx_frames: deque[bytes] = field(default_factory=deque)           # HDLC frames + FCS to be read
    tx_frames: list[bytes] = field(default_factory=list)             # HDLC frames written (no FCS)
    events: deque[int] = field(default_factory=deque)
    opened: int = 0


class FakeDahdi(DeviceLayer):
    """DAHDI with ``spans`` E1 spans of 31 channels; ``loop`` pairs spans back to back."""

    def __init__(self, spans: int = 2, lineconfig: int | Iterable[int] = abi.DAHDI_CONFIG_CRC4 | abi.DAHDI_CONFIG_HDB3,
                 loop: Iterable[tuple[int, int]] = (), tx_limit: int = 32 * 160,
                 paced: bool = False, idlebits: int = 0b1001) -> None:
        lcs = [lineconfig] * spans if isinstance(lineconfig, int) else list(lineconfig)
        self.span_info = {n: dict(alarms=0, fascount=0, crc4count=0, ebitcount=0, lineconfig=lcs[n - 1])
                          for n in range(1, spans + 1)}
        self.chans: dict[int, FakeChannel] = {}
        for n in range(1, spans + 1):
            ccs = bool(lcs[n - 1] & abi.DAHDI_CONFIG_CCS)
            for ts in range(1, CHANNELS_PER_SPAN + 1):
                if ccs:
                    sig = abi.DAHDI_SIG_CLEAR
                else:
                    sig = 0 if ts == 16 else abi.DAHDI_SIG_CAS
                c = FakeChannel((n - 1) * CHANNELS_PER_SPAN + ts, n, ts, sig)
                self.chans[c.channo] = c
        self.peer: dict[int, int] = {}
        for a, b in loop:
            self.peer[a] = b
            self.peer[b] = a
        for c in self.chans.values():                     # CAS channels idle as dahdi_cfg set them
            if c.sigtype == abi.DAHDI_SIG_CAS:
                c.txbits = idlebits
                c.rxbits = idlebits if c.spanno in self.peer else 0
        self.tx_limit = tx_limit
        self.paced = paced
        self._t_last = time.monotonic()
        self._t_frac = 0.0
        self.fds: dict[int, object] = {}
        self._next_fd = 100
        self.calls: list[tuple[str, int]] = []                # (what, request or fd) for tests

    # ---------------------------------------------------------------- system calls
    def open(self, path: str, flags: int) -> int:
        name = os.path.basename(path)
        if name not in ("ctl", "channel"):
            raise _oserror(errno.ENOENT)
        fd = self._next_fd
        self._next_fd += 1
        self.fds[fd] = "ctl" if name == "ctl" else None
        return fd

    def close(self, fd: int) -> None:
        ent = self.fds.pop(fd, "gone")
        if ent == "gone":
            raise _oserror(errno.EBADF)
        if isinstance(ent, FakeChannel):
            ent.opened -= 1

    def _chan(self, fd: int) -> FakeChannel:
        if fd not in self.fds:
            raise _oserror(errno.EBADF)
        ent = self.fds[fd]
        if not isinstance(ent, FakeChannel):
            raise _oserror(errno.EINVAL)
        return ent

    def _tick(self) -> None:
        """Paced mode: play out the time since the last call on every looped audio channel."""
        if not self.paced:
            return
        now = time.monotonic()
        self._t_frac += (now - self._t_last) * 8000.0
        self._t_last = now
        n = min(int(self._t_frac), 8000)
        self._t_frac -= int(self._t_frac)
        if n <= 0:
            return
        for c in self.chans.values():
            peer = self.peer.get(c.spanno)
            if peer is None or c.hdlc or c.sigtype == 0:
                continue
            out = bytes(c.tx[:n])
            del c.tx[:n]
            self.chan(peer, c.ts).rx += out + bytes([ALAW_IDLE]) * (n - len(out))

    def ioctl(self, fd: int, request: int, arg: Any) -> None:
        self._tick()
        self.calls.append(("ioctl", request))
        if fd not in self.fds:
            raise _oserror(errno.EBADF)
        if request == abi.DAHDI_SPANSTAT:
            return self._spanstat(arg)
        if request == abi.DAHDI_SPECIFY:
            if self.fds[fd] is not None:
                raise _oserror(errno.EINVAL)
            c = self.chans.get(abi.int_of(arg))
            if c is None:
                raise _oserror(errno.ENXIO)
            self.fds[fd] = c
            c.opened += 1
            return None
        c = self._chan(fd)
        if request == abi.DAHDI_SET_BLOCKSIZE:
            v = abi.int_of(arg)
            if not 16 <= v <= 8192:
                raise _oserror(errno.EINVAL)
            c.blocksize = v
        elif request == abi.DAHDI_SETLAW:
            c.law = abi.int_of(arg)
        elif request == abi.DAHDI_HDLCFCSMODE:
            if c.sigtype & abi.DAHDI_SIG_CLEAR != abi.DAHDI_SIG_CLEAR:
                raise _oserror(errno.EINVAL)
            c.hdlc = bool(abi.int_of(arg))
        elif request == abi.DAHDI_SETTXBITS:
            if c.sigtype != abi.DAHDI_SIG_CAS:
                raise _oserror(errno.EINVAL)
            c.txbits = abi.int_of(arg) & 0xF
            peer = self.peer.get(c.spanno)
            if peer is not None:
                self.set_rxbits(peer, c.ts, c.txbits)
        elif request == abi.DAHDI_GETRXBITS:
            if c.sigtype != abi.DAHDI_SIG_CAS:
                raise _oserror(errno.EINVAL)
            arg[:4] = abi.int_arg(c.rxbits)
        elif request == abi.DAHDI_GETEVENT:
            arg[:4] = abi.int_arg(c.events.popleft() if c.events else abi.DAHDI_EVENT_NONE)
        elif request == abi.DAHDI_GET_PARAMS:
            p = abi.view("struct dahdi_params", arg)
            p.channo, p.spanno, p.chanpos = c.channo, c.spanno, c.ts
            p.sigtype = abi.DAHDI_SIG_HDLCFCS if c.hdlc else c.sigtype
            p.rxbits, p.txbits, p.curlaw = c.rxbits, c.txbits, c.law
        else:
            raise _oserror(errno.ENOTTY)
        return None

    def _spanstat(self, arg: Any) -> None:
        info = abi.view("struct dahdi_spaninfo", arg)
        s = self.span_info.get(int(info.spanno))
        if s is None:
            raise _oserror(errno.EINVAL)
        info.alarms = s["alarms"]
        info.fascount = s["fascount"]
        info.crc4count = s["crc4count"]
        info.ebitcount = s["ebitcount"]
        info.lineconfig = s["lineconfig"]
        info.totalchans = CHANNELS_PER_SPAN
        info.numchans = CHANNELS_PER_SPAN
        info.totalspans = len(self.span_info)
        info.spantype = b"E1"
        info.name = f"FAKE/0/{int(info.spanno)}".encode()

    def read(self, fd: int, n: int) -> bytes:
        self._tick()
        c = self._chan(fd)
        if c.events:
            raise _oserror(abi.ELAST)
        if c.hdlc:
            if not c.rx_frames:
                raise BlockingIOError(errno.EAGAIN, "no frame")
            return bytes(c.rx_frames.popleft()[:n])
        if not c.rx:
            raise BlockingIOError(errno.EAGAIN, "no data")
        k = min(n, c.blocksize, len(c.rx))
        data = bytes(c.rx[:k])
        del c.rx[:k]
        return data

    def write(self, fd: int, data: bytes) -> int:
        self._tick()
        c = self._chan(fd)
        if c.events:
            raise _oserror(abi.ELAST)
        data = bytes(data[:c.blocksize])
        peer = self.peer.get(c.spanno)
        if c.hdlc:
            if len(data) < abi.HDLC_FCS_OCTETS + 1:
                raise _oserror(errno.EINVAL)
            frame = data[:-abi.HDLC_FCS_OCTETS]
            c.tx_frames.append(frame)
            if peer is not None:
                self.feed_hdlc(peer, c.ts, frame)
            return len(data)
        if len(c.tx) >= self.tx_limit:
            raise BlockingIOError(errno.EAGAIN, "transmit buffers full")
        c.tx += data
        if peer is not None and not self.paced:
            self.feed_audio(peer, c.ts, data)
        return len(data)

    # ---------------------------------------------------------------- the line side
    def chan(self, spanno: int, ts: int) -> FakeChannel:
        return self.chans[(spanno - 1) * CHANNELS_PER_SPAN + ts]

    def feed_audio(self, spanno: int, ts: int, data: bytes) -> None:
        """Octets received from the line on ``ts``."""
        self.chan(spanno, ts).rx += data

    def take_tx(self, spanno: int, ts: int) -> bytes:
        """Audio written on ``ts`` so far (and forget it)."""
        c = self.chan(spanno, ts)
        out = bytes(c.tx)
        c.tx.clear()
        return out

    def set_rxbits(self, spanno: int, ts: int, abcd: int) -> None:
        """The far end changes the abcd bits of ``ts``: BITSCHANGED when they differ."""
        c = self.chan(spanno, ts)
        if c.rxbits != abcd:
            c.rxbits = abcd
            c.events.append(abi.DAHDI_EVENT_BITSCHANGED)

    def feed_hdlc(self, spanno: int, ts: int, frame: bytes, good: bool = True) -> None:
        """A frame received on ``ts``: readable with its FCS, or a BADFCS event if not ``good``."""
        c = self.chan(spanno, ts)
        if not good:
            c.events.append(abi.DAHDI_EVENT_BADFCS)
            return
        f = fcs16(frame)
        c.rx_frames.append(bytes(frame) + bytes([f & 0xFF, f >> 8]))

    def event(self, spanno: int, ts: int, ev: int) -> None:
        self.chan(spanno, ts).events.append(ev)

    def set_span(self, spanno: int, **values: int) -> None:
        """Span status as SPANSTAT reports it: alarms, fascount, crc4count, ebitcount."""
        unknown = set(values) - set(self.span_info[spanno])
        if unknown:
            raise KeyError(f"unknown span fields {sorted(unknown)}")
        self.span_info[spanno].update(values)
