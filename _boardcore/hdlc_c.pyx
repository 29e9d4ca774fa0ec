# cython: annotation_typing=False
# (annotations document the API; the twin's checks decide what is accepted)
"""HDLC framing for a 64 kbit/s signalling timeslot: compiled kernel (twin: ``hdlc_py``).

Same API, rules (Q.703 clause 2) and counters as the pure-Python twin
``_boardcore.hdlc_py``, where the framing is described. Here the encoder keeps its line
bits packed in a C buffer (LSB first, as on the line) and copies them out with shifts;
the decoder runs one bit at a time over a C frame buffer, and checks the FCS with a
256-entry table. MTP2 fill-in on the card (``mtp2_fill``): the encoder keeps the line bits of
the last fill-in (stuffed, with its closing flag) and repeats them instead of flags; the
decoder compares a fill-in with the frame it returned before, in C.
"""
cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.stdint cimport int64_t, uint8_t, uint16_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcmp, memcpy, memmove

from . import hdlc_py as _py
from .hdlc_py import (  # noqa: F401  (re-exported: the same objects as the twin's)
    DEFAULT_MAX_FRAME, FCS_GOOD_RESIDUAL, FILL_MAX, FLAG, MTP2_MAX_FRAME, MTP2_MIN_FRAME, is_fill,
)

__all__ = _py.__all__

cdef uint16_t FCS_TAB[256]

cdef enum:
    FLAG_OCTET = 0x7E            # Q.703 2.2.1
    GOOD_RESIDUAL = 0xF0B8       # CRC register over intact data + FCS
    FILL_OCTETS = 5              # longest MTP2 fill-in (an LSSU with a 2-octet status)
    FILL_BUF = 16                # octets for its line bits, stuffed, with a flag: (5 + 2) * 8 * 6 / 5 + 8 < 128

assert FLAG == FLAG_OCTET and FCS_GOOD_RESIDUAL == GOOD_RESIDUAL


cdef void _load_table():
    cdef int i
    for i in range(256):
        FCS_TAB[i] = _py.FCS_TABLE[i]


_load_table()

# Octet-at-a-time tables (the line bit by bit is the reference: see the twin).
# Transmit: STUFF[ones][octet] -> the octet's bits with zeros inserted (<= 10 bits, LSB
# first), their count and the run of 1s after it; ones = 0..4 before the octet.
cdef uint16_t STUFF_BITS[5][256]
cdef uint8_t STUFF_N[5][256]
cdef uint8_t STUFF_ONES[5][256]
# Receive: per run of 1s before the octet (0..6, 7 = seven or more) and octet: the data
# bits with inserted zeros removed, their count, the run after it, and whether a flag or
# an abort happens inside it (then the octet takes the bit-by-bit path).
cdef uint8_t RX_BITS[8][256]
cdef uint8_t RX_N[8][256]
cdef uint8_t RX_ONES[8][256]
cdef uint8_t RX_SPECIAL[8][256]


cdef void _load_octet_tables():
    cdef int ones0, octet, k, b, ones, n
    cdef unsigned int bits
    cdef bint special
    for ones0 in range(5):
        for octet in range(256):
            ones = ones0
            bits = 0
            n = 0
            for k in range(8):
                b = (octet >> k) & 1
                bits |= b << n
                n += 1
                if b:
                    ones += 1
                    if ones == 5:
                        n += 1                    # an inserted 0
                        ones = 0
                else:
                    ones = 0
            STUFF_BITS[ones0][octet] = bits
            STUFF_N[ones0][octet] = n
            STUFF_ONES[ones0][octet] = ones
    for ones0 in range(8):
        for octet in range(256):
            ones = ones0
            bits = 0
            n = 0
            special = False
            for k in range(8):
                b = (octet >> k) & 1
                if ones == 6:
                    special = True                # a flag (0) or an abort (1) here
                if b:
                    bits |= 1 << n
                    n += 1
                    ones = ones + 1 if ones < 7 else 7
                else:
                    if ones != 5:
                        n += 1                    # a data 0 (after five 1s: inserted, dropped)
                    ones = 0
            RX_BITS[ones0][octet] = bits
            RX_N[ones0][octet] = n
            RX_ONES[ones0][octet] = ones
            RX_SPECIAL[ones0][octet] = special


_load_octet_tables()


@cython.boundscheck(False)  # n octets from a valid pointer
cdef inline uint16_t _crc(const uint8_t *p, Py_ssize_t n, uint16_t crc) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        crc = (crc >> 8) ^ FCS_TAB[(crc ^ p[i]) & 0xFF]
    return crc


cdef const uint8_t[::1] _octets(object data, str what):
    if type(data) is bytes:
        return data
    return _py.as_octets(data, what)


def fcs16(data: object) -> int:
    """FCS-16 of ``data`` (Q.703 2.2.6: CRC-CCITT reflected, init 0xFFFF, complemented)."""
    cdef const uint8_t[::1] d = _octets(data, "data")
    if d.shape[0] == 0:
        return 0
    return _crc(&d[0], d.shape[0], 0xFFFF) ^ 0xFFFF


cdef class HdlcEncoder:
    """Transmit side: frames in, the timeslot's octet stream out (flags when idle)."""

    cdef uint8_t *buf          # line bits, packed LSB first
    cdef Py_ssize_t cap        # bytes in buf
    cdef Py_ssize_t rd         # next bit to pull
    cdef Py_ssize_t wr         # next bit to write
    cdef int64_t pulled        # bits pulled since creation
    cdef int64_t written       # bits written since creation (pulled + wr - rd)
    cdef object _ends          # bit counts (absolute) at which queued frames end
    cdef uint8_t fillbuf[FILL_BUF]   # line bits of the fill-in to repeat (+ flag)
    cdef Py_ssize_t fill_nbits
    cdef public object frames  #: frames completely sent
    cdef public object octets  #: octets pulled
    cdef public bint mtp2_fill          #: repeat the last MTP2 fill-in instead of flags
    cdef public Py_ssize_t fill_repeats #: fill-ins repeated (mtp2_fill)

    def __cinit__(self):
        self.buf = NULL

    def __init__(self) -> None:
        free(self.buf)
        self.cap = 256
        self.buf = <uint8_t *> malloc(self.cap)
        if self.buf == NULL:
            raise MemoryError()
        self.rd = 0
        self.wr = 0
        self.pulled = 0
        self.written = 0
        self._ends = []
        self.frames = 0
        self.octets = 0
        self.fill_nbits = 0
        self.mtp2_fill = False
        self.fill_repeats = 0

    def __dealloc__(self):
        free(self.buf)

    cdef int _room(self, Py_ssize_t bits) except -1:
        """Make room for ``bits`` more bits after wr (dropping pulled bytes first)."""
        cdef Py_ssize_t drop = self.rd >> 3
        cdef Py_ssize_t need, ncap
        cdef uint8_t *grown
        if drop:
            memmove(self.buf, &self.buf[drop], ((self.wr + 7) >> 3) - drop)
            self.rd -= drop * 8
            self.wr -= drop * 8
        need = ((self.wr + bits) >> 3) + 2
        if need > self.cap:
            ncap = max(need, 2 * self.cap)
            grown = <uint8_t *> realloc(self.buf, ncap)
            if grown == NULL:
                raise MemoryError()
            self.buf = grown
            self.cap = ncap
        return 0

    cdef inline void _put(self, int bit) noexcept nogil:
        cdef Py_ssize_t k = self.wr >> 3
        cdef int s = self.wr & 7
        if s == 0:
            self.buf[k] = bit
        else:
            self.buf[k] |= bit << s
        self.wr += 1

    cdef void _flags(self, Py_ssize_t count) noexcept nogil:
        cdef Py_ssize_t i
        cdef int k
        for i in range(count):
            for k in range(8):
                self._put((FLAG_OCTET >> k) & 1)
        self.written += 8 * count

    def send(self, frame: object) -> None:
        """Queue ``frame`` (1..65536 octets); the FCS-16 is appended here."""
        cdef const uint8_t[::1] f = _octets(frame, "frame")
        cdef Py_ssize_t n = f.shape[0]
        if not 1 <= n <= _py.MAX_SEND:
            raise ValueError(f"an HDLC frame has 1..{_py.MAX_SEND} octets, got {n}")
        self._room(((n + 2) * 8 * 6) // 5 + 40)
        cdef uint16_t crc = _crc(&f[0], n, 0xFFFF) ^ 0xFFFF
        cdef bint opening = not self._ends
        cdef Py_ssize_t start
        with nogil:
            if opening:
                # out of idle: open with a whole flag of its own (see the twin)
                self._flags(1)
            start = self.wr
            self._stuff(&f[0], n, crc)
            self._flags(1)                            # closing flag (may open the next frame)
        self.written += self.wr - start - 8
        self._ends.append(self.written)
        if self.mtp2_fill and 3 <= n <= FILL_OCTETS and (f[2] & 0x3F) < 3:
            self._keep_fill(start, self.wr)

    @cython.boundscheck(False)  # end - start <= 8 * FILL_BUF: a fill-in of <= 5 octets
    cdef void _keep_fill(self, Py_ssize_t start, Py_ssize_t end) noexcept:
        """The line bits start..end (a fill-in just sent, with its closing flag) to repeat."""
        cdef Py_ssize_t j, k
        for j in range(FILL_BUF):
            self.fillbuf[j] = 0
        for j in range(end - start):
            k = start + j
            self.fillbuf[j >> 3] |= ((self.buf[k >> 3] >> (k & 7)) & 1) << (j & 7)
        self.fill_nbits = end - start

    @cython.boundscheck(False)
    cdef void _fills(self, Py_ssize_t count) noexcept nogil:
        cdef Py_ssize_t i, j
        for i in range(count):
            for j in range(self.fill_nbits):
                self._put((self.fillbuf[j >> 3] >> (j & 7)) & 1)
        self.written += count * self.fill_nbits

    cdef void _stuff(self, const uint8_t *p, Py_ssize_t n, uint16_t crc) noexcept nogil:
        """Frame + FCS with zero insertion (Q.703 2.3), an octet at a time from STUFF."""
        cdef int ones = 0
        cdef Py_ssize_t i, k
        cdef int octet, s, cnt
        cdef unsigned int v
        for i in range(n + 2):
            if i < n:
                octet = p[i]
            elif i == n:
                octet = crc & 0xFF
            else:
                octet = crc >> 8
            v = STUFF_BITS[ones][octet]
            cnt = STUFF_N[ones][octet]
            ones = STUFF_ONES[ones][octet]
            k = self.wr >> 3
            s = self.wr & 7
            v <<= s                               # up to 17 bits: three octets
            self.buf[k] = (self.buf[k] & ((1 << s) - 1)) | (v & 0xFF)
            self.buf[k + 1] = (v >> 8) & 0xFF
            self.buf[k + 2] = (v >> 16) & 0xFF
            self.wr += cnt

    @property
    def pending(self) -> int:
        """Frames queued and not yet completely pulled."""
        return len(self._ends)

    @property
    def idle(self) -> bool:
        """True when only flags remain to be sent."""
        return not self._ends

    def pull(self, n: int) -> bytes:
        """The next ``n`` octets of the line (flags fill any idle time)."""
        cdef Py_ssize_t count = _py.check_count(n)
        cdef Py_ssize_t need = 8 * count
        cdef Py_ssize_t have = self.wr - self.rd
        cdef Py_ssize_t reps
        if have < need and self.mtp2_fill and self.fill_nbits:
            # the fill-in again, whole, until the block is full (Q.703 5.2: sent continuously)
            reps = (need - have + self.fill_nbits - 1) // self.fill_nbits
            self._room(reps * self.fill_nbits + 8)
            with nogil:
                self._fills(reps)
            self.fill_repeats += reps
        elif have < need:
            self._room(need - have + 8)
            with nogil:
                self._flags((need - have + 7) // 8)
        cdef bytes out = PyBytes_FromStringAndSize(NULL, count)
        cdef uint8_t *o = <uint8_t *> PyBytes_AS_STRING(out)
        with nogil:
            self._copy(o, count)
        self.rd += need
        self.pulled += need
        ends = self._ends
        while ends and ends[0] <= self.pulled:
            ends.pop(0)
            self.frames += 1
        self.octets += count
        return out

    @cython.boundscheck(False)  # the caller made sure wr - rd >= 8 * count
    cdef void _copy(self, uint8_t *o, Py_ssize_t count) noexcept nogil:
        cdef Py_ssize_t k = self.rd >> 3
        cdef int s = self.rd & 7
        cdef Py_ssize_t i
        if s == 0:
            memcpy(o, &self.buf[k], count)
        else:
            for i in range(count):
                o[i] = <uint8_t> ((self.buf[k + i] >> s) | (self.buf[k + i + 1] << (8 - s)))


cdef class HdlcDecoder:
    """Receive side: the timeslot's octet stream in, frames with a good FCS out.

    Counters: ``frames`` (good), ``fcs_errors``, ``aborts``, ``short_frames``,
    ``long_frames``, ``misaligned`` (not a whole number of octets), ``octets`` (fed).
    ``min_frame`` / ``max_frame`` bound the frame length without the FCS (defaults: MTP2's
    3 octets, and 4096).
    """

    cdef readonly int min_frame
    cdef readonly int max_frame
    cdef uint8_t *fbuf
    cdef Py_ssize_t limit      # frame bits beyond which a frame is too long
    cdef bint hunting
    cdef Py_ssize_t ones
    cdef Py_ssize_t nbits
    cdef public Py_ssize_t frames
    cdef public Py_ssize_t fcs_errors
    cdef public Py_ssize_t aborts
    cdef public Py_ssize_t short_frames
    cdef public Py_ssize_t long_frames
    cdef public Py_ssize_t misaligned
    cdef public Py_ssize_t octets
    cdef public bint mtp2_fill          #: drop a fill-in equal to the frame before it
    cdef public Py_ssize_t fill_repeats #: fill-ins so dropped
    cdef uint8_t last[FILL_OCTETS]      # the last frame returned, when a fill-in's length
    cdef Py_ssize_t last_n              # its length (0: longer, or none)

    def __cinit__(self, *args, **kwargs):
        self.fbuf = NULL

    def __init__(self, min_frame: int = MTP2_MIN_FRAME, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.min_frame, self.max_frame = _py.check_frame_limits(min_frame, max_frame)
        self.limit = 8 * (self.max_frame + 2) + 8
        free(self.fbuf)
        self.fbuf = <uint8_t *> malloc((self.limit >> 3) + 4)
        if self.fbuf == NULL:
            raise MemoryError()
        self.reset()
        self.frames = self.fcs_errors = self.aborts = 0
        self.short_frames = self.long_frames = self.misaligned = self.octets = 0
        self.mtp2_fill = False
        self.fill_repeats = 0
        self.last_n = 0

    def __dealloc__(self):
        free(self.fbuf)

    def reset(self) -> None:
        """Drop any frame in progress and hunt for a flag (counters are kept)."""
        self.hunting = True
        self.ones = 0
        self.nbits = 0

    @property
    def counters(self) -> dict:
        return {"frames": self.frames, "fcs_errors": self.fcs_errors, "aborts": self.aborts,
                "short_frames": self.short_frames, "long_frames": self.long_frames,
                "misaligned": self.misaligned, "octets": self.octets}

    @cython.boundscheck(False)  # nbits <= limit, and fbuf holds limit bits + 2 octets
    @cython.wraparound(False)
    def feed(self, data: object) -> list:
        """Frames completed by ``data`` (any octets of the line), FCS checked and stripped."""
        cdef const uint8_t[::1] d = _octets(data, "data")
        cdef Py_ssize_t n = d.shape[0]
        cdef list out = []
        cdef Py_ssize_t i, nbits = self.nbits, ones = self.ones, limit = self.limit
        cdef bint hunting = self.hunting
        cdef int k, b, octet
        cdef uint8_t *fb = self.fbuf
        cdef int o7, cnt, s
        cdef unsigned int v
        cdef Py_ssize_t q
        for i in range(n):
            octet = d[i]
            o7 = ones if ones < 7 else 7
            if not RX_SPECIAL[o7][octet]:
                # no flag and no abort inside: the octet's data bits at once
                if not hunting:
                    cnt = RX_N[o7][octet]
                    q = nbits >> 3
                    s = nbits & 7
                    v = (<unsigned int> RX_BITS[o7][octet]) << s
                    fb[q] = (fb[q] & ((1 << s) - 1)) | (v & 0xFF)
                    fb[q + 1] = (v >> 8) & 0xFF
                    nbits += cnt
                    if nbits > limit:
                        self.long_frames += 1
                        hunting = True
                        nbits = 0
                ones = RX_ONES[o7][octet]
                continue
            for k in range(8):
                b = (octet >> k) & 1
                if b:
                    ones += 1
                    if ones == 7 and not hunting:
                        self.aborts += 1          # Q.703 2.3.5: seven 1s abort the frame
                        hunting = True
                        nbits = 0
                    if not hunting:
                        if nbits & 7:
                            fb[nbits >> 3] |= 1 << (nbits & 7)
                        else:
                            fb[nbits >> 3] = 1
                        nbits += 1
                        if nbits > limit:
                            self.long_frames += 1
                            hunting = True
                            nbits = 0
                    continue
                if ones == 6:                     # a flag: ends a frame, opens the next
                    if not hunting:
                        self._close(fb, nbits - 7, out)
                    hunting = False
                    nbits = 0
                elif ones != 5 and not hunting:   # (after five 1s: an inserted 0, dropped)
                    if nbits & 7 == 0:
                        fb[nbits >> 3] = 0
                    nbits += 1
                    if nbits > limit:
                        self.long_frames += 1
                        hunting = True
                        nbits = 0
                ones = 0
        self.nbits = nbits
        self.ones = ones if ones < 64 else 64
        self.hunting = hunting
        self.octets += n
        return out

    cdef int _close(self, const uint8_t *fb, Py_ssize_t nbits, list out) except -1:
        if nbits <= 0:
            return 0                              # flags back to back
        if nbits & 7:
            self.misaligned += 1
            return 0
        cdef Py_ssize_t n = nbits >> 3
        if n < self.min_frame + 2:
            self.short_frames += 1
            return 0
        if n > self.max_frame + 2:
            self.long_frames += 1
            return 0
        if _crc(fb, n, 0xFFFF) != GOOD_RESIDUAL:
            self.fcs_errors += 1
            return 0
        self.frames += 1
        n -= 2
        if self.mtp2_fill:
            if (n == self.last_n and n >= 3 and (fb[2] & 0x3F) < 3
                    and memcmp(fb, self.last, n) == 0):
                self.fill_repeats += 1            # the same fill-in again: counted, not returned
                return 0
            if n <= FILL_OCTETS:
                memcpy(self.last, fb, n)
                self.last_n = n
            else:
                self.last_n = 0
        out.append(PyBytes_FromStringAndSize(<const char *> fb, n))
        return 0
