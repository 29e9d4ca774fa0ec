"""HDLC framing for a 64 kbit/s signalling timeslot (pure-Python twin of ``hdlc_c``).

What ITU-T Q.703 clause 2 asks of the MTP2 link layer below the signal units (the same
framing as ISO/IEC 13239 HDLC):

* frames are delimited by the flag 01111110 (0x7E); one flag may close a frame and open
  the next; any number of flags may fill the line between frames (Q.703 2.2);
* inside a frame the transmitter inserts a 0 after every five consecutive 1s and the
  receiver removes it (zero-bit insertion, Q.703 2.3);
* the last two octets of a frame are the FCS-16: CRC-CCITT x^16+x^12+x^5+1, reflected,
  initial value 0xFFFF, complemented, low octet first (Q.703 2.2.6); the receiver checks
  the residual 0xF0B8 over data + FCS;
* seven or more consecutive 1s abort the frame in progress (Q.703 2.3.5); the receiver
  then hunts for the next flag;
* frames that are not a whole number of octets, shorter than the minimum or longer than
  the maximum are discarded and counted (Q.703 4.1.4: "signal unit received in error").

Bits go on the line least significant bit of each octet first, so the octet stream of
the timeslot is the bit stream packed LSB first; frames and flags may start at any bit.
The decoder keeps its state across ``feed`` calls, so a frame may be split anywhere.

MTP2 fill-in on the card (``mtp2_fill``, off by default), as SS7 HDLC controllers do: Q.703
5.2 / 7.2 send the fill-in signal unit (a FISU, or the LSSU of the link's status)
continuously while there is nothing else to send. With ``mtp2_fill`` set the encoder repeats
the last fill-in it was given (a frame whose LI, octet 3's low six bits, is 0, 1 or 2) instead
of idle flags, from its line bits computed once; the decoder does not return a fill-in equal
to the frame it returned before it and counts it in ``fill_repeats``, so the host hears of a
fill-in only when it changes (MTP2 applies the count: :meth:`LinkCore.fill_repeated`).
"""
from __future__ import annotations

import numpy as np

from ._blocks import as_octets

__all__ = ["HdlcEncoder", "HdlcDecoder", "fcs16", "is_fill", "FLAG", "FCS_GOOD_RESIDUAL",
           "MTP2_MIN_FRAME", "MTP2_MAX_FRAME", "DEFAULT_MAX_FRAME", "FILL_MAX"]

#: The flag octet (Q.703 2.2.1).
FLAG: int = 0x7E
#: CRC register after data + FCS when both are intact (before the final complement).
FCS_GOOD_RESIDUAL: int = 0xF0B8
#: Octets before the FCS in the shortest MTP2 signal unit, a FISU: BSN/BIB, FSN/FIB, LI.
MTP2_MIN_FRAME: int = 3
#: ... and in the longest MSU: 3 + SIO + 272 octets of SIF (Q.703 2.3.8, m = 272).
MTP2_MAX_FRAME: int = 276
#: Largest frame a decoder accepts unless told otherwise (generic HDLC channels).
DEFAULT_MAX_FRAME: int = 4096
#: Largest frame an encoder accepts.
MAX_SEND: int = 65536
#: Longest MTP2 fill-in signal unit: an LSSU with a two-octet status field (Q.703 2.3.4).
FILL_MAX: int = 5


def is_fill(frame: bytes) -> bool:
    """An MTP2 fill-in signal unit: a FISU (LI = 0) or an LSSU (LI = 1, 2) of 3..5 octets."""
    return 3 <= len(frame) <= FILL_MAX and (frame[2] & 0x3F) < 3


def _fcs_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x8408 if c & 1 else c >> 1
        table.append(c)
    return table


#: CRC-CCITT (reflected polynomial 0x8408) one octet at a time.
FCS_TABLE: list[int] = _fcs_table()


def _crc(data: bytes, crc: int = 0xFFFF) -> int:
    t = FCS_TABLE
    for o in data:
        crc = (crc >> 8) ^ t[(crc ^ o) & 0xFF]
    return crc


def fcs16(data: object) -> int:
    """FCS-16 of ``data`` (Q.703 2.2.6: CRC-CCITT reflected, init 0xFFFF, complemented)."""
    return _crc(bytes(as_octets(data))) ^ 0xFFFF


def check_frame_limits(min_frame: object, max_frame: object) -> tuple[int, int]:
    for name, v in (("min_frame", min_frame), ("max_frame", max_frame)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(v).__name__}")
    lo, hi = int(min_frame), int(max_frame)  # type: ignore[call-overload]  # an int or numpy integer, checked above
    if not 1 <= lo <= hi <= MAX_SEND:
        raise ValueError(f"need 1 <= min_frame <= max_frame <= {MAX_SEND}, got {lo}, {hi}")
    return lo, hi


def check_count(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return int(n)


def check_frame(frame: object) -> bytes:
    f = bytes(as_octets(frame, "frame"))
    if not 1 <= len(f) <= MAX_SEND:
        raise ValueError(f"an HDLC frame has 1..{MAX_SEND} octets, got {len(f)}")
    return f


_FLAG_BITS = [0, 1, 1, 1, 1, 1, 1, 0]


class HdlcEncoder:
    """Transmit side: frames in, the timeslot's octet stream out (flags when idle)."""

    def __init__(self) -> None:
        self._bits: list[int] = []                 # stuffed line bits not yet pulled
        self._queued = 0                           # frames queued, not yet fully pulled
        self._ends: list[int] = []                 # bit count at which each queued frame ends
        self._pulled_bits = 0
        self._fill: list[int] = []                 # line bits of the fill-in to repeat (+ flag)
        self.frames = 0                            #: frames completely sent
        self.octets = 0                            #: octets pulled
        self.mtp2_fill = False                     #: repeat the last MTP2 fill-in instead of flags
        self.fill_repeats = 0                      #: fill-ins repeated (mtp2_fill)

    def send(self, frame: object) -> None:
        """Queue ``frame`` (1..65536 octets); the FCS-16 is appended here."""
        f = check_frame(frame)
        crc = _crc(f) ^ 0xFFFF
        data = f + bytes((crc & 0xFF, crc >> 8))
        bits = self._bits
        if not self._queued:
            # Coming out of idle: open with a whole flag of its own, so a receiver that
            # lost the idle flags (errors, a link just restored) still finds this frame.
            bits.extend(_FLAG_BITS)
        ones = 0
        for octet in data:
            for k in range(8):
                b = (octet >> k) & 1
                bits.append(b)
                if b:
                    ones += 1
                    if ones == 5:
                        bits.append(0)        # Q.703 2.3: a 0 after five 1s
                        ones = 0
                else:
                    ones = 0
        bits.extend(_FLAG_BITS)               # closing flag (may open the next frame)
        self._ends.append(self._pulled_bits + len(bits))
        self._queued += 1
        if self.mtp2_fill and is_fill(f):
            self._fill = bits[len(bits) - self._stuffed_len(data) - 8:]

    @staticmethod
    def _stuffed_len(data: bytes) -> int:
        """Line bits of ``data`` (frame + FCS) after zero insertion."""
        n = ones = 0
        for octet in data:
            for k in range(8):
                n += 1
                if (octet >> k) & 1:
                    ones += 1
                    if ones == 5:
                        n += 1
                        ones = 0
                else:
                    ones = 0
        return n

    @property
    def pending(self) -> int:
        """Frames queued and not yet completely pulled."""
        return self._queued

    @property
    def idle(self) -> bool:
        """True when only flags remain to be sent."""
        return self._queued == 0

    def pull(self, n: int) -> bytes:
        """The next ``n`` octets of the line (flags fill any idle time)."""
        n = check_count(n)
        need = 8 * n
        bits = self._bits
        fill = self._fill if self.mtp2_fill else None
        while len(bits) < need:
            if fill:
                bits.extend(fill)             # the fill-in again (Q.703 5.2: sent continuously)
                self.fill_repeats += 1
            else:
                bits.extend(_FLAG_BITS)
        out = np.packbits(np.array(bits[:need], dtype=np.uint8), bitorder="little").tobytes()
        del bits[:need]
        self._pulled_bits += need
        while self._ends and self._ends[0] <= self._pulled_bits:
            self._ends.pop(0)
            self._queued -= 1
            self.frames += 1
        self.octets += n
        return out


class HdlcDecoder:
    """Receive side: the timeslot's octet stream in, frames with a good FCS out.

    Counters: ``frames`` (good), ``fcs_errors``, ``aborts``, ``short_frames``,
    ``long_frames``, ``misaligned`` (not a whole number of octets), ``octets`` (fed).
    ``min_frame`` / ``max_frame`` bound the frame length without the FCS (defaults: MTP2's
    3 octets, and 4096).
    """

    def __init__(self, min_frame: int = MTP2_MIN_FRAME, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.min_frame, self.max_frame = check_frame_limits(min_frame, max_frame)
        self._limit_bits = 8 * (self.max_frame + 2) + 8   # beyond this a frame is too long
        self.reset()
        self.mtp2_fill = False                  #: drop a fill-in equal to the frame before it
        self.fill_repeats = 0                   #: fill-ins so dropped
        self._last = b""                        # the last frame returned
        self.frames = 0
        self.fcs_errors = 0
        self.aborts = 0
        self.short_frames = 0
        self.long_frames = 0
        self.misaligned = 0
        self.octets = 0

    def reset(self) -> None:
        """Drop any frame in progress and hunt for a flag (counters are kept)."""
        self._hunting = True
        self._ones = 0
        self._bits: list[int] = []

    @property
    def counters(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in
                ("frames", "fcs_errors", "aborts", "short_frames", "long_frames", "misaligned", "octets")}

    def feed(self, data: object) -> list[bytes]:
        """Frames completed by ``data`` (any octets of the line), FCS checked and stripped."""
        buf = as_octets(data)
        out: list[bytes] = []
        hunting, ones, bits = self._hunting, self._ones, self._bits
        limit = self._limit_bits
        for octet in bytes(buf):
            if hunting and octet == 0xFF:
                # all ones: nothing to find (a line in abort / idle-ones); keep the count
                ones += 8
                continue
            for k in range(8):
                b = (octet >> k) & 1
                if b:
                    ones += 1
                    if ones == 7 and not hunting:
                        self.aborts += 1          # Q.703 2.3.5: seven 1s abort the frame
                        hunting = True
                        bits = []
                    if not hunting:
                        bits.append(1)
                        if len(bits) > limit:
                            self.long_frames += 1
                            hunting = True
                            bits = []
                    continue
                # a 0
                if ones == 6:                     # a flag: ends a frame, opens the next
                    if not hunting:
                        self._close(bits, out)
                    hunting = False
                    bits = []
                elif ones == 5:
                    pass                          # zero removed after five 1s (Q.703 2.3)
                elif not hunting:
                    bits.append(0)
                    if len(bits) > limit:
                        self.long_frames += 1
                        hunting = True
                        bits = []
                ones = 0
        self._hunting, self._ones, self._bits = hunting, ones, bits
        self.octets += len(buf)
        return out

    def _close(self, bits: list[int], out: list[bytes]) -> None:
        n = len(bits) - 7                         # the flag's 0111111 went in as data
        if n <= 0:
            return                                # flags back to back
        if n % 8:
            self.misaligned += 1
            return
        octets = np.packbits(np.array(bits[:n], dtype=np.uint8), bitorder="little").tobytes()
        if len(octets) < self.min_frame + 2:
            self.short_frames += 1
            return
        if len(octets) > self.max_frame + 2:
            self.long_frames += 1
            return
        if _crc(octets) != FCS_GOOD_RESIDUAL:
            self.fcs_errors += 1
            return
        self.frames += 1
        frame = octets[:-2]
        if self.mtp2_fill:
            if frame == self._last and is_fill(frame):
                self.fill_repeats += 1            # the same fill-in again: counted, not returned
                return
            self._last = frame
        out.append(frame)
