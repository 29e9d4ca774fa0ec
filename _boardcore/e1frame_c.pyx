# cython: annotation_typing=False
# (annotations document the API; the twin's checks decide what is accepted)
"""G.704 E1 framer and deframer: compiled kernel (twin: ``e1frame_py``).

Same API, figures, frames, counters and alarms as the pure-Python twin (the procedures
are described there and in docs/e1frame.md). What differs is speed:

* frames move as four big-endian 64-bit words, shifted by the bit offset of the
  alignment, in one ``nogil`` loop per call;
* CRC-4 needs no table walk per octet: x^4 + x + 1 is primitive, so x^15 = 1 modulo it,
  and a sub-multiframe is folded into a 15-bit residue modulo x^15 - 1 (a rotate and
  four shifts per word); two small tables turn the residue into the CRC-4 at the end of
  each sub-multiframe;
* once aligned, only the FAS, CRC-4 and TS16 are looked at; hunting bit by bit happens
  only after a loss of alignment;
* LOS / AIS monitors count zeros a 64-bit word at a time.
"""
cimport cython
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, realloc
from libc.string cimport memcpy, memmove, memset

from . import e1frame_py as _py
from .e1frame_py import (  # noqa: F401  (re-exported: the same objects as the twin's)
    ALARM_AIS, ALARM_LOCRC, ALARM_LOF, ALARM_LOMF, ALARM_LOS, ALARM_MF_AIS, ALARM_MF_RAI,
    ALARM_RAI, CAS_IDLE, CHANNELS, COUNTER_NAMES, FRAME_OCTETS, MULTIFRAME, crc4,
)

__all__ = [
    "E1Framer", "E1Deframer", "crc4", "FRAME_OCTETS", "MULTIFRAME", "CHANNELS", "CAS_IDLE",
    "ALARM_LOS", "ALARM_AIS", "ALARM_LOF", "ALARM_RAI", "ALARM_LOMF", "ALARM_MF_AIS",
    "ALARM_MF_RAI", "ALARM_LOCRC", "COUNTER_NAMES",
]

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    static inline uint64_t e1_load_be64(const unsigned char *p) {
        uint64_t v; memcpy(&v, p, 8);
    #if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        v = __builtin_bswap64(v);
    #endif
        return v;
    }
    static inline void e1_store_be64(unsigned char *p, uint64_t v) {
    #if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        v = __builtin_bswap64(v);
    #endif
        memcpy(p, &v, 8);
    }
    /* w(x) modulo x^15 - 1, a multiple of x^4 + x + 1 */
    static inline uint32_t e1_fold15(uint64_t w) {
        return (uint32_t)((w & 0x7FFF) ^ ((w >> 15) & 0x7FFF) ^ ((w >> 30) & 0x7FFF)
                          ^ ((w >> 45) & 0x7FFF) ^ (w >> 60));
    }
    /* s(x) * x^64 modulo x^15 - 1 = rotate left by 64 mod 15 = 4 */
    static inline uint32_t e1_rot4(uint32_t s) { return ((s << 4) | (s >> 11)) & 0x7FFF; }
    static inline int e1_pop64(uint64_t w) { return __builtin_popcountll(w); }
    static inline int e1_pop8(unsigned v) { return __builtin_popcount(v); }
    static inline int e1_clz64(uint64_t w) { return __builtin_clzll(w); }
    static inline int e1_ctz64(uint64_t w) { return __builtin_ctzll(w); }
    """
    uint64_t e1_load_be64(const uint8_t *p) nogil
    void e1_store_be64(uint8_t *p, uint64_t v) nogil
    uint32_t e1_fold15(uint64_t w) nogil
    uint32_t e1_rot4(uint32_t s) nogil
    int e1_pop64(uint64_t w) nogil
    int e1_pop8(unsigned v) nogil
    int e1_clz64(uint64_t w) nogil
    int e1_ctz64(uint64_t w) nogil


# Figures, read once from the twin (one source of truth).
cdef int FAS_WORD = _py.FAS_WORD
cdef int FAS_MASK = _py.FAS_MASK
cdef int NFAS_BIT2 = _py.NFAS_BIT2
cdef int A_BIT = _py.A_BIT
cdef int SA_MASK = _py.SA_MASK
cdef int MFAS_WORD = _py.MFAS_WORD
cdef int CAS_MFAS_MASK = _py.CAS_MFAS_MASK
cdef int CAS_Y = _py.CAS_Y
cdef int CAS_X = _py.CAS_X
cdef int FAS_LOSS_ERRORS = _py.FAS_LOSS_ERRORS
cdef int CRC_MF_SEARCH_FRAMES = _py.CRC_MF_SEARCH_FRAMES
cdef int CRC_INTERWORKING_FRAMES = _py.CRC_INTERWORKING_FRAMES
cdef int FALSE_ALIGN_BLOCKS = _py.FALSE_ALIGN_BLOCKS
cdef int FALSE_ALIGN_ERRORS = _py.FALSE_ALIGN_ERRORS
cdef int CAS_MFAS_LOSS_ERRORS = _py.CAS_MFAS_LOSS_ERRORS
cdef int CAS_ZERO_FRAMES = _py.CAS_ZERO_FRAMES
cdef int AIS_PERIOD_OCTETS = _py.AIS_PERIOD_OCTETS
cdef int AIS_MAX_ZEROS = _py.AIS_MAX_ZEROS
cdef int AIS_PERIODS = _py.AIS_PERIODS
cdef int LOS_ZERO_OCTETS = _py.LOS_ZERO_OCTETS
cdef int LOS_CLEAR_ONES = _py.LOS_CLEAR_ONES
cdef int MF_AIS_MAX_ZEROS = _py.MF_AIS_MAX_ZEROS
cdef int MF_AIS_PERIODS = _py.MF_AIS_PERIODS
cdef int RAI_FRAMES = _py.RAI_FRAMES
cdef int MF_RAI_MULTIFRAMES = _py.MF_RAI_MULTIFRAMES
assert _py.FRAME_OCTETS == 32 and _py.MULTIFRAME == 16 and _py.AIS_PERIOD_OCTETS % 8 == 0
assert _py.CHANNELS == 30

# CRC-4 of a residue r = hi * x^8 + lo (mod x^15 - 1): RED_HI[hi] ^ RED_LO[lo].
cdef uint8_t RED_LO[256]
cdef uint8_t RED_HI[128]
cdef int _k
for _k in range(256):
    RED_LO[_k] = _py.crc4(bytes([_k]))
for _k in range(128):
    RED_HI[_k] = _py.crc4(bytes([_k, 0]))

cdef uint64_t C_BIT = (<uint64_t> 1) << 63


cdef inline int _reduce(uint32_t s) noexcept nogil:
    return RED_HI[(s >> 8) & 0x7F] ^ RED_LO[s & 0xFF]


cdef inline uint32_t _fold_frame(uint32_t s, const uint8_t *f, bint fas) noexcept nogil:
    cdef uint64_t w0 = e1_load_be64(f)
    if fas:
        w0 &= ~C_BIT                   # C bits count as 0 in the CRC (G.704 2.3.3.5.2)
    s = e1_rot4(s) ^ e1_fold15(w0)
    s = e1_rot4(s) ^ e1_fold15(e1_load_be64(f + 8))
    s = e1_rot4(s) ^ e1_fold15(e1_load_be64(f + 16))
    return e1_rot4(s) ^ e1_fold15(e1_load_be64(f + 24))


cdef class E1Framer:
    """Transmit side of one E1 span: builds G.704 frames around a payload."""

    def __init__(self, crc4: bool = True, cas: bool = True) -> None:
        self.crc4 = bool(crc4)
        self.cas_enabled = bool(cas)
        self.remote_alarm = False
        self.mf_remote_alarm = False
        self._sa = SA_MASK
        self._si = 1
        memset(self._cas, CAS_IDLE, sizeof(self._cas))
        self._mfi = 0
        self._fold = 0
        self._txc = 0
        self._pending_e = 0
        self.frames = 0

    def set_cas(self, channel: int, abcd: int) -> None:
        """Send ``abcd`` for ``channel`` (1..30); 0000 raises ValueError (G.704 5.1.3.2)."""
        c = _py.check_channel(channel)
        self._cas[c] = _py.check_abcd(abcd)

    def get_cas(self, channel: int) -> int:
        """The abcd now sent for ``channel``."""
        return self._cas[_py.check_channel(channel)]

    @property
    def sa(self) -> int:
        """Sa4..Sa8 sent in NFAS bits 4-8 (5 bits, Sa4 most significant)."""
        return self._sa

    @sa.setter
    def sa(self, value: int) -> None:
        self._sa = _py.check_count(value, "sa", SA_MASK)

    @property
    def si(self) -> int:
        """The Si bit sent in bit 1 of every frame when CRC-4 is off."""
        return self._si

    @si.setter
    def si(self, value: int) -> None:
        self._si = _py.check_count(value, "si", 1)

    def report_crc_errors(self, n: int) -> None:
        """Report ``n`` CRC-4 block errors to the far end: one E bit set to 0 per error."""
        self._pending_e = min(self._pending_e + _py.check_count(n, "n", 1 << 30), 1 << 30)

    @property
    def pending_e_bits(self) -> int:
        """Errors reported but not yet sent in an E bit."""
        return self._pending_e

    def encode(self, payload: object, out: object) -> int:
        """Frame ``payload`` (n*32 octets) into ``out``; returns n.

        TS0 is replaced by FAS/NFAS; TS16 by the CAS multiframe when CAS is on.
        """
        src = _py.as_octets(payload)
        cdef Py_ssize_t n = _py.payload_frames(src)
        dst = _py.as_out(out, n * 32)
        cdef const uint8_t[::1] sv = src
        cdef uint8_t[::1] dv = dst
        if n:
            with nogil:
                self._encode(&sv[0], &dv[0], n)
        self.frames += n
        return n

    @cython.boundscheck(False)  # indices stay within the frame
    cdef void _encode(self, const uint8_t *src, uint8_t *dst, Py_ssize_t n) noexcept nogil:
        cdef Py_ssize_t i
        cdef uint8_t *o
        cdef int mfi, bit1, ts0
        cdef int a = A_BIT if self.remote_alarm else 0
        cdef int y = CAS_Y if self.mf_remote_alarm else 0
        for i in range(n):
            o = dst + 32 * i
            memcpy(o, src + 32 * i, 32)
            mfi = self._mfi
            if mfi & 1 == 0:
                if self.crc4:
                    bit1 = (self._txc >> (3 - ((mfi & 7) >> 1))) & 1
                else:
                    bit1 = self._si
                ts0 = (bit1 << 7) | FAS_WORD
            else:
                if not self.crc4:
                    bit1 = self._si
                elif mfi < 12:
                    bit1 = (MFAS_WORD >> (5 - (mfi >> 1))) & 1
                else:                           # frames 13 and 15: E bits
                    bit1 = 1
                    if self._pending_e:
                        self._pending_e -= 1
                        bit1 = 0
                ts0 = (bit1 << 7) | NFAS_BIT2 | a | self._sa
            o[0] = <uint8_t> ts0
            if self.cas_enabled:
                if mfi == 0:
                    o[16] = <uint8_t> (CAS_X | y)
                else:
                    o[16] = <uint8_t> ((self._cas[mfi] << 4) | self._cas[mfi + 15])
            if self.crc4:
                self._fold = _fold_frame(self._fold, o, mfi & 1 == 0)
                if mfi & 7 == 7:
                    self._txc = _reduce(self._fold)
                    self._fold = 0
            self._mfi = (mfi + 1) & 15


cdef class E1Deframer:
    """Receive side of one E1 span: alignment, CRC-4, CAS, alarms and counters."""

    def __cinit__(self, *args, **kwargs):
        self.buf = NULL
        self.nbuf = 0
        self.bufcap = 0

    def __dealloc__(self):
        free(self.buf)

    def __init__(self, crc4: bool = True, cas: bool = True) -> None:
        self.crc4 = bool(crc4)
        self.cas_enabled = bool(cas)
        self.reset()

    def reset(self) -> None:
        """Forget everything: out of alignment, counters zero, no alarms but LOF."""
        memset(&self.st, 0, sizeof(self.st))
        self.nbuf = 0
        self.st.phase = -1
        self.st.fas_next = True
        self.st.intw = -1
        self.st.lost_at = -1
        self._crc_lose()
        self._cas_lose()

    # --- state read by users ------------------------------------------------------------
    @property
    def aligned(self) -> bool:
        """In basic frame alignment (G.706 4.1)."""
        return self.st.aligned

    @property
    def crc4_aligned(self) -> bool:
        """In CRC-4 multiframe alignment (G.706 4.2)."""
        return self.st.crc_aligned

    @property
    def crc4_interworking(self) -> bool:
        """The far end sends no CRC-4 multiframe (G.706 Annex B): CRC-4 is not checked."""
        return self.st.interworking

    @property
    def cas_aligned(self) -> bool:
        """In TS16 CAS multiframe alignment (G.732 5.2)."""
        return self.st.cas_aligned

    @property
    def sa(self) -> int:
        """Sa4..Sa8 of the last NFAS received (5 bits, Sa4 most significant)."""
        return self.st.sa

    def cas(self, channel: int) -> int:
        """The last abcd received for ``channel`` (1..30); 0 before any was received."""
        return self.st.rx_cas[_py.check_channel(channel)]

    @property
    def alarms(self) -> int:
        """Bitmask of ALARM_* (the values of drivers.base.Alarm)."""
        cdef int a = 0
        if self.st.los:
            a |= ALARM_LOS
        if self.st.ais:
            a |= ALARM_AIS
        if not self.st.aligned:
            a |= ALARM_LOF
        elif self.st.rai:
            a |= ALARM_RAI
        if self.cas_enabled:
            if not self.st.cas_aligned:
                a |= ALARM_LOMF
            elif self.st.mf_rai:
                a |= ALARM_MF_RAI
            if self.st.mf_ais:
                a |= ALARM_MF_AIS
        if self.crc4 and not self.st.crc_aligned:
            a |= ALARM_LOCRC
        return a

    @property
    def counters(self) -> dict:
        """frames, fas_errors, crc4_errors, crc4_blocks, e_bits, slips, realignments, ..."""
        return {
            "frames": self.st.c_frames,
            "fas_errors": self.st.c_fas_errors,
            "crc4_errors": self.st.c_crc4_errors,
            "crc4_blocks": self.st.c_crc4_blocks,
            "e_bits": self.st.c_e_bits,
            "slips": self.st.c_slips,
            "realignments": self.st.c_realignments,
            "crc4_false_alignments": self.st.c_crc4_false,
            "cas_mfas_errors": self.st.c_cas_mfas_errors,
        }

    # --- the stream ---------------------------------------------------------------------
    def decode(self, data: object, out: object) -> int:
        """Feed line octets; write the frames received in alignment to ``out``.

        ``out`` must hold at least ``len(data) + 32`` octets. Returns octets written
        (a multiple of 32). Bits not yet forming a whole frame are kept for the next call.
        """
        src = _py.as_octets(data)
        cdef Py_ssize_t n = len(src)
        dst = _py.as_out(out, n + 32)
        cdef const uint8_t[::1] sv = src
        cdef uint8_t[::1] dv = dst
        cdef Py_ssize_t need = self.nbuf + n
        cdef Py_ssize_t cap
        cdef uint8_t *nb
        if need > self.bufcap:
            cap = max(need, 2 * self.bufcap, 256)
            nb = <uint8_t *> realloc(self.buf, cap)
            if nb == NULL:
                raise MemoryError()
            self.buf = nb
            self.bufcap = cap
        cdef Py_ssize_t written
        with nogil:
            if n:
                self._monitor(&sv[0], n)
                memcpy(self.buf + self.nbuf, &sv[0], n)
                self.nbuf += n
            written = self._run(&dv[0], len(dv))
        if self.bufcap > 65536 and self.nbuf < 4096:     # a big call is over: give memory back
            nb = <uint8_t *> realloc(self.buf, 4096)
            if nb != NULL:
                self.buf = nb
                self.bufcap = 4096
        return written

    @cython.boundscheck(False)  # the loop stops before the last whole frame in the buffer
    cdef Py_ssize_t _run(self, uint8_t *out, Py_ssize_t cap) noexcept nogil:
        cdef Py_ssize_t n = 0, p, drop
        cdef int s, q, verdict
        cdef uint8_t *src
        cdef uint8_t *o
        cdef uint64_t w
        while True:
            if not self.st.aligned and not self._hunt():
                break
            p = <Py_ssize_t> (self.st.pos >> 3)
            s = <int> (self.st.pos & 7)
            if p + 32 + (1 if s else 0) > self.nbuf or n + 32 > cap:
                break
            src = self.buf + p
            o = out + n
            if s == 0:
                memcpy(o, src, 32)
            else:
                for q in range(4):
                    w = (e1_load_be64(src + 8 * q) << s) | (src[8 * q + 8] >> (8 - s))
                    e1_store_be64(o + 8 * q, w)
            verdict = self._frame(o)
            if verdict == 2:           # lost on this frame: hunt again from its start
                continue
            n += 32
            self.st.pos += 256
            if verdict == 1:           # false alignment found after this frame: hunt again,
                self._lose()           # one bit on, so the false position is not taken again
                self.st.pos += 1
        drop = <Py_ssize_t> (self.st.pos >> 3)
        if drop:
            memmove(self.buf, self.buf + drop, self.nbuf - drop)
            self.nbuf -= drop
            self.st.pos -= 8 * drop
            self.st.base += 8 * drop
        return n

    cdef void _monitor(self, const uint8_t *p, Py_ssize_t n) noexcept nogil:
        """LOS and AIS on the raw bit stream (G.775), whatever the alignment."""
        cdef Py_ssize_t i = 0
        cdef uint64_t w
        cdef int b
        while i < n:
            if self.st.pn & 7 == 0 and n - i >= 8:
                w = e1_load_be64(p + i)
                if w == 0:
                    self.st.zrun += 8
                    if self.st.zrun >= LOS_ZERO_OCTETS:
                        self.st.los = True
                        self.st.los_hit = True
                else:
                    if w >> 56 == 0:
                        self.st.zrun += e1_clz64(w) >> 3
                        if self.st.zrun >= LOS_ZERO_OCTETS:
                            self.st.los = True
                            self.st.los_hit = True
                    self.st.zrun = e1_ctz64(w) >> 3
                self.st.pzeros += 64 - e1_pop64(w)
                self.st.pn += 8
                i += 8
            else:
                b = p[i]
                if b == 0:
                    self.st.zrun += 1
                    if self.st.zrun >= LOS_ZERO_OCTETS:
                        self.st.los = True
                        self.st.los_hit = True
                else:
                    self.st.zrun = 0
                self.st.pzeros += 8 - e1_pop8(b)
                self.st.pn += 1
                i += 1
            if self.st.pn == AIS_PERIOD_OCTETS:
                self._period_end()

    cdef void _period_end(self) noexcept nogil:
        if self.st.pzeros <= AIS_MAX_ZEROS:
            self.st.ais_high = 0
            self.st.ais_low += 1
            if self.st.ais_low >= AIS_PERIODS:
                self.st.ais = True
        else:
            self.st.ais_low = 0
            self.st.ais_high += 1
            if self.st.ais_high >= AIS_PERIODS:
                self.st.ais = False
        if self.st.los and not self.st.los_hit and AIS_PERIOD_OCTETS * 8 - self.st.pzeros >= LOS_CLEAR_ONES:
            self.st.los = False
        self.st.pzeros = 0
        self.st.pn = 0
        self.st.los_hit = self.st.zrun >= LOS_ZERO_OCTETS

    cdef bint _hunt(self) noexcept nogil:
        """G.706 4.1.2: FAS, then NFAS bit 2 = 1, then FAS again, one frame apart."""
        cdef int64_t last = 8 * <int64_t> self.nbuf - 520
        cdef int64_t b = self.st.pos
        cdef const uint8_t *buf = self.buf
        cdef int64_t i
        cdef int s, w
        while b <= last:
            i = b >> 3
            s = <int> (b & 7)
            w = ((buf[i] << s) | (buf[i + 1] >> (8 - s))) & 0xFF if s else buf[i]
            if (w & FAS_MASK) == FAS_WORD:
                i = (b + 256) >> 3
                w = ((buf[i] << s) | (buf[i + 1] >> (8 - s))) & 0xFF if s else buf[i]
                if w & NFAS_BIT2:
                    i = (b + 512) >> 3
                    w = ((buf[i] << s) | (buf[i + 1] >> (8 - s))) & 0xFF if s else buf[i]
                    if (w & FAS_MASK) == FAS_WORD:
                        self.st.pos = b + 512
                        self._gain()
                        return True
            b += 1
        self.st.pos = b
        return False

    cdef void _gain(self) noexcept nogil:
        self.st.aligned = True
        self.st.fas_next = True
        self.st.fas_err = 0
        cdef int phase = <int> ((self.st.base + self.st.pos) % 512)
        if self.st.ever_aligned:
            self.st.c_realignments += 1
            if phase != self.st.phase:
                self.st.c_slips += 1
        self.st.ever_aligned = True
        self.st.phase = phase
        if self.crc4 and not self.st.interworking:
            if self.st.intw < 0:
                self.st.intw = 0        # G.706 Annex B 400 ms timer starts
            elif self.st.lost_at >= 0:  # it ran on while hunting
                self.st.intw += <int> ((self.st.base + self.st.pos - self.st.lost_at) // 256)

    cdef void _lose(self) noexcept nogil:
        self.st.aligned = False
        self.st.lost_at = self.st.base + self.st.pos
        self.st.rai = False
        self.st.a_run = 0
        self._crc_lose()
        self._cas_lose()
        self.st.mf_ais = False
        self.st.mz = 0
        self.st.mn = 0
        self.st.mais_low = 0
        self.st.mais_high = 0

    cdef void _crc_lose(self) noexcept nogil:
        self.st.crc_aligned = False
        self.st.mfi = 0
        self.st.shreg = 0
        self.st.shn = 0
        self.st.cand = -1
        self.st.fno = 0
        self.st.fold = 0
        self.st.rxc = 0
        self.st.expected = -1
        self.st.started = False
        self.st.blocks = 0
        self.st.blk_err = 0

    cdef void _cas_lose(self) noexcept nogil:
        self.st.cas_aligned = False
        self.st.cmfi = 0
        self.st.mfas_err = 0
        self.st.prev_t = 0
        self.st.tzrun = 0
        self.st.mf_rai = False
        self.st.y_run = 0

    cdef int _frame(self, uint8_t *f) noexcept nogil:
        """One frame in alignment: 0 = keep, 1 = keep then hunt, 2 = alignment lost here."""
        cdef int ts0 = f[0]
        cdef bint fas = self.st.fas_next
        cdef int a
        cdef int verdict = 0
        if fas:
            if (ts0 & FAS_MASK) != FAS_WORD:
                self.st.c_fas_errors += 1
                self.st.fas_err += 1
                if self.st.fas_err >= FAS_LOSS_ERRORS:
                    self._lose()
                    return 2
            else:
                self.st.fas_err = 0
        else:
            a = 1 if ts0 & A_BIT else 0
            if a == self.st.rai:
                self.st.a_run = 0
            else:
                self.st.a_run += 1
                if self.st.a_run >= RAI_FRAMES:
                    self.st.rai = a
                    self.st.a_run = 0
            self.st.sa = ts0 & SA_MASK
        self.st.fas_next = not fas
        self.st.c_frames += 1
        if self.crc4:
            verdict = self._crc_frame(f, ts0, fas)
        if self.cas_enabled:
            self._cas_frame(f[16])
        return verdict

    cdef int _crc_frame(self, uint8_t *f, int ts0, bint fas) noexcept nogil:
        cdef int b1 = ts0 >> 7
        cdef int64_t d
        cdef int mfi
        cdef int verdict = 0
        self.st.fno += 1
        if not self.st.crc_aligned:
            if self.st.intw >= 0:
                self.st.intw += 1
                if self.st.intw >= CRC_INTERWORKING_FRAMES:
                    self.st.interworking = True
                    self.st.intw = -1
            if not fas:
                self.st.shreg = ((self.st.shreg << 1) | b1) & 0x3F
                self.st.shn += 1
                if self.st.shn >= 6 and self.st.shreg == MFAS_WORD:
                    d = self.st.fno - self.st.cand
                    if self.st.cand >= 0 and d <= CRC_MF_SEARCH_FRAMES and d % 16 == 0:
                        self.st.crc_aligned = True
                        self.st.mfi = 11
                        self.st.intw = -1
                        self.st.interworking = False
                        return 0
                    self.st.cand = self.st.fno
            if not self.st.interworking and self.st.fno >= CRC_MF_SEARCH_FRAMES:
                self.st.c_crc4_false += 1
                return 1
            return 0
        mfi = (self.st.mfi + 1) & 15
        self.st.mfi = mfi
        if fas:
            self.st.rxc |= b1 << (3 - ((mfi & 7) >> 1))
        elif (mfi == 13 or mfi == 15) and not b1:
            self.st.c_e_bits += 1
        if self.st.started:
            self.st.fold = _fold_frame(self.st.fold, f, fas)
        if mfi & 7 == 7:
            if self.st.started:
                if self.st.expected >= 0:
                    self.st.c_crc4_blocks += 1
                    self.st.blocks += 1
                    if self.st.rxc != self.st.expected:
                        self.st.c_crc4_errors += 1
                        self.st.blk_err += 1
                    if self.st.blocks >= FALSE_ALIGN_BLOCKS:
                        if self.st.blk_err >= FALSE_ALIGN_ERRORS:
                            self.st.c_crc4_false += 1
                            verdict = 1
                        self.st.blocks = 0
                        self.st.blk_err = 0
                self.st.expected = _reduce(self.st.fold)
            self.st.fold = 0
            self.st.rxc = 0
            self.st.started = True
        return verdict

    cdef void _cas_frame(self, int t) noexcept nogil:
        cdef int cm
        self.st.mz += 8 - e1_pop8(t)
        self.st.mn += 1
        if self.st.mn == 16:
            if self.st.mz <= MF_AIS_MAX_ZEROS:
                self.st.mais_high = 0
                self.st.mais_low += 1
                if self.st.mais_low >= MF_AIS_PERIODS:
                    self.st.mf_ais = True
            else:
                self.st.mais_low = 0
                self.st.mais_high += 1
                if self.st.mais_high >= MF_AIS_PERIODS:
                    self.st.mf_ais = False
            self.st.mz = 0
            self.st.mn = 0
        self.st.tzrun = self.st.tzrun + 1 if t == 0 else 0
        if self.st.cas_aligned:
            cm = (self.st.cmfi + 1) & 15
            self.st.cmfi = cm
            if self.st.tzrun >= CAS_ZERO_FRAMES:
                self._cas_lose()
            elif cm == 0:
                if t & CAS_MFAS_MASK:
                    self.st.c_cas_mfas_errors += 1
                    self.st.mfas_err += 1
                    if self.st.mfas_err >= CAS_MFAS_LOSS_ERRORS:
                        self._cas_lose()
                else:
                    self.st.mfas_err = 0
                    self._y_bit(t)
            else:
                self.st.rx_cas[cm] = t >> 4
                self.st.rx_cas[cm + 15] = t & 0xF
        elif (t & CAS_MFAS_MASK) == 0 and self.st.prev_t != 0:
            self.st.cas_aligned = True
            self.st.cmfi = 0
            self.st.mfas_err = 0
            self._y_bit(t)
        self.st.prev_t = t

    cdef void _y_bit(self, int t) noexcept nogil:
        cdef int y = 1 if t & CAS_Y else 0
        if y == self.st.mf_rai:
            self.st.y_run = 0
        else:
            self.st.y_run += 1
            if self.st.y_run >= MF_RAI_MULTIFRAMES:
                self.st.mf_rai = y
                self.st.y_run = 0
