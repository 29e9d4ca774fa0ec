"""G.704 E1 framer and deframer (pure-Python twin of ``e1frame_c``).

One :class:`E1Framer` builds the transmit side of a 2.048 Mbit/s span, one
:class:`E1Deframer` parses the receive side. Frames are 32 octets, TS0 first; inside an
octet the first transmitted bit is the most significant ("bit 1" of the recommendations).

Transmit (G.704 2.3): TS0 of even frames carries the frame alignment signal (FAS)
``C 0 0 1 1 0 1 1``; odd frames carry the NFAS ``S 1 A Sa4 Sa5 Sa6 Sa7 Sa8``. With CRC-4,
bit 1 of the 16-frame multiframe carries C1..C4 (CRC-4 of the previous sub-multiframe)
in the FAS frames, the multiframe alignment word 001011 in NFAS frames 1-11 and the
E bits (remote CRC-4 block errors) in frames 13 and 15 (G.704 Table 5B). With CAS, TS16
of frame 0 is ``0000 X Y X X`` and frame k carries abcd of channel k and k+15 (G.704 5.1.3.2).

Receive: the stream may start at any bit offset and may slip. The deframer hunts bit by
bit for FAS / NFAS bit 2 / FAS (G.706 4.1.2), then only checks each FAS (3 consecutive
errored FAS = loss, G.706 4.1.1), finds the CRC-4 multiframe (two MFAS within 8 ms, G.706
4.2; none within 8 ms = false frame alignment, new search; none within 400 ms = the far
end has no CRC-4: interworking, G.706 Annex B), checks CRC-4 blocks (>= 915 errored out of
1000 = false alignment, G.706 4.3.2), finds the TS16 CAS multiframe (G.732 5.2) and keeps
AIS / LOS monitors on the raw bit stream (G.775). Both implementations give the same
frames, counters and alarms for the same input.
"""
from __future__ import annotations

from typing import Any

from ._blocks import as_octets

# --- figures from the recommendations ---------------------------------------------------

FRAME_OCTETS = 32
FRAME_BITS = 256
#: Frames in a CRC-4 multiframe and in a TS16 CAS multiframe (G.704 2.3.3, 5.1.3.2).
MULTIFRAME = 16
#: Bits 2-8 of TS0 in FAS frames: 0011011 (G.704 Table 4A).
FAS_WORD = 0x1B
FAS_MASK = 0x7F
#: NFAS: bit 2 always 1, bit 3 the A bit (remote alarm), bits 4-8 Sa4..Sa8 (G.704 Table 4A).
NFAS_BIT2 = 0x40
A_BIT = 0x20
SA_MASK = 0x1F
#: CRC-4 multiframe alignment word in bit 1 of NFAS frames 1,3,5,7,9,11 (G.704 Table 5B).
MFAS_WORD = 0b001011
#: CRC-4 generator x^4 + x + 1 (G.704 2.3.3.5.2).
CRC4_POLY = 0x3
#: TS16 of CAS frame 0: 0000 X Y X X (G.704 Table 14); X spare = 1, Y = MF remote alarm.
CAS_MFAS_MASK = 0xF0
CAS_Y = 0x04
CAS_X = 0x0B
#: abcd sent for channels nobody set: a=1 b=0 c=0 d=1, idle of ITU R2 (Q.421).
CAS_IDLE = 0x9
CHANNELS = 30

#: G.706 4.1.1: frame alignment is lost after 3 consecutive errored FAS.
FAS_LOSS_ERRORS = 3
#: G.706 4.2: CRC-4 multiframe found when two MFAS fall within 8 ms (64 frames), a
#: multiple of 2 ms apart; if none within 8 ms of frame alignment, that alignment is false.
CRC_MF_SEARCH_FRAMES = 64
#: G.706 Annex B: no CRC-4 multiframe within 400 ms (3200 frames) of primary frame
#: alignment = the far end sends no CRC-4; keep frame alignment, stop checking CRC-4.
CRC_INTERWORKING_FRAMES = 3200
#: G.706 4.3.2: >= 915 errored CRC-4 blocks out of 1000 = false frame alignment.
FALSE_ALIGN_BLOCKS = 1000
FALSE_ALIGN_ERRORS = 915
#: G.732 5.2: CAS multiframe lost after 2 consecutive errored MFAS, or TS16 all zero
#: for one multiframe (16 frames).
CAS_MFAS_LOSS_ERRORS = 2
CAS_ZERO_FRAMES = 16
#: G.775: AIS = fewer than 3 zeros in each of 2 consecutive 512-bit periods; cleared by
#: 2 consecutive periods with 3 or more zeros.
AIS_PERIOD_OCTETS = 64
AIS_MAX_ZEROS = 2
AIS_PERIODS = 2
#: G.775: LOS = N consecutive zeros, 10 <= N <= 255: 31 zero octets (248 bits). Cleared by
#: a 512-bit period with a ones density of 12.5 % (64 ones) and no such run.
LOS_ZERO_OCTETS = 31
LOS_CLEAR_ONES = 64
#: TS16 AIS (G.775, verify): fewer than 3 zeros in TS16 in each of 2 multiframes.
MF_AIS_MAX_ZEROS = 2
MF_AIS_PERIODS = 2
#: Persistence of the remote alarms (verify): A bit in 3 consecutive NFAS frames,
#: Y bit in 2 consecutive CAS multiframes.
RAI_FRAMES = 3
MF_RAI_MULTIFRAMES = 2

# Alarm bits: the values of drivers.base.Alarm.
ALARM_LOS = 1
ALARM_AIS = 2
ALARM_LOF = 4
ALARM_RAI = 8
ALARM_LOMF = 16
ALARM_MF_AIS = 32
ALARM_MF_RAI = 64
ALARM_LOCRC = 128

COUNTER_NAMES = ("frames", "fas_errors", "crc4_errors", "crc4_blocks", "e_bits", "slips",
                 "realignments", "crc4_false_alignments", "cas_mfas_errors")


def _crc4_table() -> tuple[int, ...]:
    tab = []
    for byte in range(256):
        r = 0
        for i in range(7, -1, -1):
            fb = ((r >> 3) & 1) ^ ((byte >> i) & 1)
            r = ((r << 1) & 0xF) ^ (CRC4_POLY if fb else 0)
        tab.append(r)
    return tuple(tab)


#: CRC4_TABLE[(r << 4) ^ octet] is the CRC-4 register after shifting ``octet`` in.
CRC4_TABLE: tuple[int, ...] = _crc4_table()
_POPCOUNT = tuple(bin(i).count("1") for i in range(256))


def crc4(data: Any, crc: int = 0) -> int:
    """CRC-4 (x^4 + x + 1, G.704 2.3.3.5.2) of octets, most significant bit first."""
    r = crc & 0xF
    tab = CRC4_TABLE
    for b in as_octets(data):
        r = tab[(r << 4) ^ b]
    return r


# --- argument checks (shared with the compiled kernel) ----------------------------------

def as_out(out: Any, need: int) -> memoryview:
    """A writable byte view of ``out`` holding at least ``need`` octets."""
    mv = as_octets(out)
    if mv.readonly:
        raise TypeError("out must be a writable buffer (bytearray, numpy uint8 array, ...)")
    if len(mv) < need:
        raise ValueError(f"out holds {len(mv)} octets, {need} needed")
    return mv


def check_channel(channel: Any) -> int:
    """A CAS channel number 1..30 (TS1-15 -> 1-15, TS17-31 -> 16-30)."""
    if isinstance(channel, bool) or not hasattr(channel, "__index__"):
        raise TypeError(f"channel must be an int, not {type(channel).__name__}")
    c = channel.__index__()
    if not 1 <= c <= CHANNELS:
        raise ValueError(f"channel {c} out of range 1..{CHANNELS}")
    return c


def check_abcd(abcd: Any) -> int:
    """abcd bits 0x1..0xF; 0000 must not be sent on TS16 (G.704 5.1.3.2)."""
    if isinstance(abcd, bool) or not hasattr(abcd, "__index__"):
        raise TypeError(f"abcd must be an int, not {type(abcd).__name__}")
    v = abcd.__index__()
    if not 1 <= v <= 0xF:
        raise ValueError(f"abcd must be 0x1..0xF (0000 is never sent on TS16), not {v}")
    return v


def check_count(n: Any, what: str, hi: int) -> int:
    if isinstance(n, bool) or not hasattr(n, "__index__"):
        raise TypeError(f"{what} must be an int, not {type(n).__name__}")
    v = n.__index__()
    if not 0 <= v <= hi:
        raise ValueError(f"{what} must be 0..{hi}, not {v}")
    return v


def payload_frames(payload: memoryview) -> int:
    if len(payload) % FRAME_OCTETS:
        raise ValueError(f"payload must be a whole number of {FRAME_OCTETS}-octet frames, "
                         f"got {len(payload)} octets")
    return len(payload) // FRAME_OCTETS


# --- transmit ---------------------------------------------------------------------------

class E1Framer:
    """Transmit side of one E1 span: builds G.704 frames around a payload."""

    def __init__(self, crc4: bool = True, cas: bool = True) -> None:
        self.crc4 = bool(crc4)
        self.cas_enabled = bool(cas)
        self.remote_alarm = False
        self.mf_remote_alarm = False
        self._sa = SA_MASK
        self._si = 1
        self._cas = [CAS_IDLE] * (CHANNELS + 1)   # index 1..30
        self._mfi = 0          # multiframe position of the next frame (CRC-4 and CAS)
        self._crc = 0          # CRC-4 of the sub-multiframe being sent
        self._txc = 0          # CRC-4 of the previous sub-multiframe: the C bits now
        self._pending_e = 0    # remote CRC errors still to report in E bits
        self.frames = 0

    # configuration -------------------------------------------------------------------
    def set_cas(self, channel: int, abcd: int) -> None:
        """Send ``abcd`` for ``channel`` (1..30); 0000 raises ValueError (G.704 5.1.3.2)."""
        c = check_channel(channel)
        self._cas[c] = check_abcd(abcd)

    def get_cas(self, channel: int) -> int:
        """The abcd now sent for ``channel``."""
        return self._cas[check_channel(channel)]

    @property
    def sa(self) -> int:
        """Sa4..Sa8 sent in NFAS bits 4-8 (5 bits, Sa4 most significant)."""
        return self._sa

    @sa.setter
    def sa(self, value: int) -> None:
        self._sa = check_count(value, "sa", SA_MASK)

    @property
    def si(self) -> int:
        """The Si bit sent in bit 1 of every frame when CRC-4 is off."""
        return self._si

    @si.setter
    def si(self, value: int) -> None:
        self._si = check_count(value, "si", 1)

    def report_crc_errors(self, n: int) -> None:
        """Report ``n`` CRC-4 block errors to the far end: one E bit set to 0 per error."""
        self._pending_e = min(self._pending_e + check_count(n, "n", 1 << 30), 1 << 30)

    @property
    def pending_e_bits(self) -> int:
        """Errors reported but not yet sent in an E bit."""
        return self._pending_e

    # encoding ------------------------------------------------------------------------
    def encode(self, payload: Any, out: Any) -> int:
        """Frame ``payload`` (n*32 octets) into ``out``; returns n.

        TS0 is replaced by FAS/NFAS; TS16 by the CAS multiframe when CAS is on.
        """
        src = as_octets(payload)
        n = payload_frames(src)
        dst = as_out(out, n * FRAME_OCTETS)
        tab = CRC4_TABLE
        a = A_BIT if self.remote_alarm else 0
        y = CAS_Y if self.mf_remote_alarm else 0
        for i in range(n):
            o = i * FRAME_OCTETS
            f = bytearray(src[o:o + FRAME_OCTETS])
            mfi = self._mfi
            if mfi & 1 == 0:
                if self.crc4:
                    bit1 = (self._txc >> (3 - ((mfi & 7) >> 1))) & 1
                else:
                    bit1 = self._si
                ts0 = (bit1 << 7) | FAS_WORD
                crc_ts0 = FAS_WORD            # C bits count as 0 in the CRC
            else:
                if not self.crc4:
                    bit1 = self._si
                elif mfi < 12:
                    bit1 = (MFAS_WORD >> (5 - (mfi >> 1))) & 1
                elif mfi == 13 or mfi == 15:
                    bit1 = 1
                    if self._pending_e:
                        self._pending_e -= 1
                        bit1 = 0
                else:                          # mfi 12 is a FAS frame: not reached
                    bit1 = 1
                ts0 = (bit1 << 7) | NFAS_BIT2 | a | self._sa
                crc_ts0 = ts0
            f[0] = ts0
            if self.cas_enabled:
                if mfi == 0:
                    f[16] = CAS_X | y
                else:
                    f[16] = (self._cas[mfi] << 4) | self._cas[mfi + 15]
            if self.crc4:
                r = tab[(self._crc << 4) ^ crc_ts0]
                for b in f[1:]:
                    r = tab[(r << 4) ^ b]
                self._crc = r
                if mfi & 7 == 7:
                    self._txc = r
                    self._crc = 0
            dst[o:o + FRAME_OCTETS] = f
            self._mfi = (mfi + 1) & 15
        self.frames += n
        return n


# --- receive ----------------------------------------------------------------------------

class E1Deframer:
    """Receive side of one E1 span: alignment, CRC-4, CAS, alarms and counters."""

    def __init__(self, crc4: bool = True, cas: bool = True) -> None:
        self.crc4 = bool(crc4)
        self.cas_enabled = bool(cas)
        self.reset()

    def reset(self) -> None:
        """Forget everything: out of alignment, counters zero, no alarms but LOF."""
        self._buf = bytearray()
        self._pos = 0                 # bit index into _buf: hunt position / frame start
        self._base = 0                # absolute stream bit index of _buf[0]
        self._aligned = False
        self._ever_aligned = False
        self._phase = -1              # absolute bit position of FAS frames, modulo 512
        self._fas_next = True
        self._fas_err = 0
        # raw-stream monitors (G.775)
        self._zrun = 0
        self._pzeros = 0
        self._pn = 0
        self._los_hit = False
        self._los = False
        self._ais = False
        self._ais_low = 0
        self._ais_high = 0
        # NFAS
        self._rai = False
        self._a_run = 0
        self._sa = 0
        # CRC-4
        self._interworking = False
        self._intw = -1               # frame times on the 400 ms timer, -1: stopped
        self._lost_at = -1            # absolute bit position of the last loss of alignment
        self._crc_lose()
        # CAS
        self._rx_cas = [0] * (CHANNELS + 1)
        self._cas_lose()
        self._mf_ais = False
        self._mz = 0
        self._mn = 0
        self._mais_low = 0
        self._mais_high = 0
        self._c = dict.fromkeys(COUNTER_NAMES, 0)

    def _crc_lose(self) -> None:
        self._crc_aligned = False
        self._mfi = 0
        self._shreg = 0
        self._shn = 0
        self._cand = -1
        self._since = 0
        self._fno = 0
        self._crc = 0
        self._rxc = 0
        self._expected = -1
        self._started = False
        self._blocks = 0
        self._blk_err = 0

    def _cas_lose(self) -> None:
        self._cas_aligned = False
        self._cmfi = 0
        self._mfas_err = 0
        self._prev_t = 0
        self._tzrun = 0
        self._mf_rai = False
        self._y_run = 0

    # --- state read by users ------------------------------------------------------------
    @property
    def aligned(self) -> bool:
        """In basic frame alignment (G.706 4.1)."""
        return self._aligned

    @property
    def crc4_aligned(self) -> bool:
        """In CRC-4 multiframe alignment (G.706 4.2)."""
        return self._crc_aligned

    @property
    def crc4_interworking(self) -> bool:
        """The far end sends no CRC-4 multiframe (G.706 Annex B): CRC-4 is not checked."""
        return self._interworking

    @property
    def cas_aligned(self) -> bool:
        """In TS16 CAS multiframe alignment (G.732 5.2)."""
        return self._cas_aligned

    @property
    def sa(self) -> int:
        """Sa4..Sa8 of the last NFAS received (5 bits, Sa4 most significant)."""
        return self._sa

    def cas(self, channel: int) -> int:
        """The last abcd received for ``channel`` (1..30); 0 before any was received."""
        return self._rx_cas[check_channel(channel)]

    @property
    def alarms(self) -> int:
        """Bitmask of ALARM_* (the values of drivers.base.Alarm)."""
        a = 0
        if self._los:
            a |= ALARM_LOS
        if self._ais:
            a |= ALARM_AIS
        if not self._aligned:
            a |= ALARM_LOF
        elif self._rai:
            a |= ALARM_RAI
        if self.cas_enabled:
            if not self._cas_aligned:
                a |= ALARM_LOMF
            elif self._mf_rai:
                a |= ALARM_MF_RAI
            if self._mf_ais:
                a |= ALARM_MF_AIS
        if self.crc4 and not self._crc_aligned:
            a |= ALARM_LOCRC
        return a

    @property
    def counters(self) -> dict[str, int]:
        """frames, fas_errors, crc4_errors, crc4_blocks, e_bits, slips, realignments, ..."""
        return dict(self._c)

    # --- the stream ---------------------------------------------------------------------
    def decode(self, data: Any, out: Any) -> int:
        """Feed line octets; write the frames received in alignment to ``out``.

        ``out`` must hold at least ``len(data) + 32`` octets. Returns octets written
        (a multiple of 32). Bits not yet forming a whole frame are kept for the next call.
        """
        src = as_octets(data)
        dst = as_out(out, len(src) + FRAME_OCTETS)
        self._monitor(src)
        buf = self._buf
        buf += src
        nbytes = len(buf)
        cap = len(dst)
        n = 0
        while True:
            if not self._aligned and not self._hunt():
                break
            p = self._pos >> 3
            s = self._pos & 7
            if p + FRAME_OCTETS + (1 if s else 0) > nbytes or n + FRAME_OCTETS > cap:
                break
            if s:
                v = int.from_bytes(buf[p:p + FRAME_OCTETS + 1], "big") >> (8 - s)
                frame = (v & ((1 << FRAME_BITS) - 1)).to_bytes(FRAME_OCTETS, "big")
            else:
                frame = bytes(buf[p:p + FRAME_OCTETS])
            verdict = self._frame(frame)
            if verdict == 2:          # lost on this frame: hunt again from its start
                continue
            dst[n:n + FRAME_OCTETS] = frame
            n += FRAME_OCTETS
            self._pos += FRAME_BITS
            if verdict == 1:          # false alignment found after this frame: hunt again,
                self._lose()          # one bit on, so the false position is not taken again
                self._pos += 1
        drop = self._pos >> 3
        if drop:
            del buf[:drop]
            self._pos -= drop * 8
            self._base += drop * 8
        return n

    def _monitor(self, src: memoryview) -> None:
        """LOS and AIS on the raw bit stream (G.775), whatever the alignment."""
        pop = _POPCOUNT
        for b in src:
            if b == 0:
                self._zrun += 1
                if self._zrun >= LOS_ZERO_OCTETS:
                    self._los = True
                    self._los_hit = True
            else:
                self._zrun = 0
            self._pzeros += 8 - pop[b]
            self._pn += 1
            if self._pn == AIS_PERIOD_OCTETS:
                self._period_end()

    def _period_end(self) -> None:
        if self._pzeros <= AIS_MAX_ZEROS:
            self._ais_high = 0
            self._ais_low += 1
            if self._ais_low >= AIS_PERIODS:
                self._ais = True
        else:
            self._ais_low = 0
            self._ais_high += 1
            if self._ais_high >= AIS_PERIODS:
                self._ais = False
        if self._los and not self._los_hit and AIS_PERIOD_OCTETS * 8 - self._pzeros >= LOS_CLEAR_ONES:
            self._los = False
        self._pzeros = 0
        self._pn = 0
        self._los_hit = self._zrun >= LOS_ZERO_OCTETS

    def _win8(self, b: int) -> int:
        buf = self._buf
        i = b >> 3
        s = b & 7
        if s == 0:
            return buf[i]
        return ((buf[i] << s) | (buf[i + 1] >> (8 - s))) & 0xFF

    def _hunt(self) -> bool:
        """G.706 4.1.2: FAS, then NFAS bit 2 = 1, then FAS again, one frame apart."""
        last = len(self._buf) * 8 - 2 * FRAME_BITS - 8
        b = self._pos
        win8 = self._win8
        while b <= last:
            if (win8(b) & FAS_MASK) == FAS_WORD and win8(b + FRAME_BITS) & NFAS_BIT2 \
                    and (win8(b + 2 * FRAME_BITS) & FAS_MASK) == FAS_WORD:
                self._pos = b + 2 * FRAME_BITS
                self._gain()
                return True
            b += 1
        self._pos = b
        return False

    def _gain(self) -> None:
        self._aligned = True
        self._fas_next = True
        self._fas_err = 0
        phase = (self._base + self._pos) % (2 * FRAME_BITS)
        if self._ever_aligned:
            self._c["realignments"] += 1
            if phase != self._phase:
                self._c["slips"] += 1
        self._ever_aligned = True
        self._phase = phase
        if self.crc4 and not self._interworking:
            if self._intw < 0:
                self._intw = 0        # G.706 Annex B 400 ms timer starts
            elif self._lost_at >= 0:  # it ran on while hunting
                self._intw += (self._base + self._pos - self._lost_at) // FRAME_BITS

    def _lose(self) -> None:
        self._aligned = False
        self._lost_at = self._base + self._pos
        self._rai = False
        self._a_run = 0
        self._crc_lose()
        self._cas_lose()
        self._mf_ais = False
        self._mz = self._mn = self._mais_low = self._mais_high = 0

    def _frame(self, f: bytes) -> int:
        """One frame in alignment: 0 = keep, 1 = keep then hunt, 2 = alignment lost here."""
        ts0 = f[0]
        fas = self._fas_next
        if fas:
            if (ts0 & FAS_MASK) != FAS_WORD:
                self._c["fas_errors"] += 1
                self._fas_err += 1
                if self._fas_err >= FAS_LOSS_ERRORS:
                    self._lose()
                    return 2
            else:
                self._fas_err = 0
        else:
            a = 1 if ts0 & A_BIT else 0
            if a == self._rai:
                self._a_run = 0
            else:
                self._a_run += 1
                if self._a_run >= RAI_FRAMES:
                    self._rai = bool(a)
                    self._a_run = 0
            self._sa = ts0 & SA_MASK
        self._fas_next = not fas
        self._c["frames"] += 1
        verdict = 0
        if self.crc4:
            verdict = self._crc_frame(f, ts0, fas)
        if self.cas_enabled:
            self._cas_frame(f[16])
        return verdict

    def _crc_frame(self, f: bytes, ts0: int, fas: bool) -> int:
        b1 = ts0 >> 7
        self._fno += 1
        if not self._crc_aligned:
            if self._intw >= 0:
                self._intw += 1
                if self._intw >= CRC_INTERWORKING_FRAMES:
                    self._interworking = True
                    self._intw = -1
            if not fas:
                self._shreg = ((self._shreg << 1) | b1) & 0x3F
                self._shn += 1
                if self._shn >= 6 and self._shreg == MFAS_WORD:
                    d = self._fno - self._cand
                    if self._cand >= 0 and d <= CRC_MF_SEARCH_FRAMES and d % MULTIFRAME == 0:
                        self._crc_aligned = True
                        self._mfi = 11
                        self._intw = -1
                        self._interworking = False
                        return 0
                    self._cand = self._fno
            if not self._interworking and self._fno >= CRC_MF_SEARCH_FRAMES:
                self._c["crc4_false_alignments"] += 1
                return 1
            return 0
        mfi = (self._mfi + 1) & 15
        self._mfi = mfi
        if fas:
            self._rxc |= b1 << (3 - ((mfi & 7) >> 1))
            first = ts0 & FAS_MASK
        else:
            if (mfi == 13 or mfi == 15) and not b1:
                self._c["e_bits"] += 1
            first = ts0
        verdict = 0
        if self._started:
            tab = CRC4_TABLE
            r = tab[(self._crc << 4) ^ first]
            for b in f[1:]:
                r = tab[(r << 4) ^ b]
            self._crc = r
        if mfi & 7 == 7:
            if self._started:
                if self._expected >= 0:
                    self._c["crc4_blocks"] += 1
                    self._blocks += 1
                    if self._rxc != self._expected:
                        self._c["crc4_errors"] += 1
                        self._blk_err += 1
                    if self._blocks >= FALSE_ALIGN_BLOCKS:
                        if self._blk_err >= FALSE_ALIGN_ERRORS:
                            self._c["crc4_false_alignments"] += 1
                            verdict = 1
                        self._blocks = self._blk_err = 0
                self._expected = self._crc
            self._crc = 0
            self._rxc = 0
            self._started = True
        return verdict

    def _cas_frame(self, t: int) -> None:
        self._mz += 8 - _POPCOUNT[t]
        self._mn += 1
        if self._mn == MULTIFRAME:
            if self._mz <= MF_AIS_MAX_ZEROS:
                self._mais_high = 0
                self._mais_low += 1
                if self._mais_low >= MF_AIS_PERIODS:
                    self._mf_ais = True
            else:
                self._mais_low = 0
                self._mais_high += 1
                if self._mais_high >= MF_AIS_PERIODS:
                    self._mf_ais = False
            self._mz = self._mn = 0
        self._tzrun = self._tzrun + 1 if t == 0 else 0
        if self._cas_aligned:
            cm = (self._cmfi + 1) & 15
            self._cmfi = cm
            if self._tzrun >= CAS_ZERO_FRAMES:
                self._cas_lose()
            elif cm == 0:
                if t & CAS_MFAS_MASK:
                    self._c["cas_mfas_errors"] += 1
                    self._mfas_err += 1
                    if self._mfas_err >= CAS_MFAS_LOSS_ERRORS:
                        self._cas_lose()
                else:
                    self._mfas_err = 0
                    self._y_bit(t)
            else:
                self._rx_cas[cm] = t >> 4
                self._rx_cas[cm + 15] = t & 0xF
        elif (t & CAS_MFAS_MASK) == 0 and self._prev_t != 0:
            self._cas_aligned = True
            self._cmfi = 0
            self._mfas_err = 0
            self._y_bit(t)
        self._prev_t = t

    def _y_bit(self, t: int) -> None:
        y = 1 if t & CAS_Y else 0
        if y == self._mf_rai:
            self._y_run = 0
        else:
            self._y_run += 1
            if self._y_run >= MF_RAI_MULTIFRAMES:
                self._mf_rai = bool(y)
                self._y_run = 0
