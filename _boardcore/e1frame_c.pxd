# Declarations of the compiled E1 framing kernel (implementation in e1frame_c.pyx).
# Field names follow the twin e1frame_py (same state, same figures).
from libc.stdint cimport int64_t, uint8_t, uint32_t


cdef struct e1_rx_t:
    int64_t pos           # bit index into the buffer: hunt position / start of the next frame
    int64_t base          # absolute stream bit index of buffer[0]
    bint aligned          # basic frame alignment (G.706 4.1)
    bint ever_aligned
    int phase             # absolute bit position of FAS frames modulo 512 (slip detection)
    bint fas_next         # the next frame carries the FAS
    int fas_err           # consecutive errored FAS
    # raw-stream monitors (G.775)
    int zrun              # consecutive zero octets
    int pzeros            # zeros in the current 512-bit period
    int pn                # octets in the current period
    bint los_hit          # a LOS run touched the current period
    bint los
    bint ais
    int ais_low
    int ais_high
    # NFAS
    bint rai
    int a_run
    int sa
    # CRC-4 multiframe (G.706 4.2, 4.3.2, Annex B)
    bint interworking
    int intw              # frames on the 400 ms timer, -1 when stopped
    int64_t lost_at       # absolute bit position of the last loss of alignment, -1 none
    bint crc_aligned
    int mfi               # multiframe position of the last frame
    int shreg             # bit 1 of the last NFAS frames (MFAS search)
    int shn
    int64_t cand          # frame number of the last MFAS candidate, -1 none
    int64_t fno           # frames since frame alignment
    uint32_t fold         # CRC-4 of the sub-multiframe so far, as a residue mod x^15 - 1
    int rxc               # C bits received in this sub-multiframe
    int expected          # CRC-4 of the previous sub-multiframe, -1 none
    bint started          # accumulating a whole sub-multiframe
    int blocks
    int blk_err
    # TS16 CAS multiframe (G.732 5.2)
    bint cas_aligned
    int cmfi
    int mfas_err
    int prev_t
    int tzrun
    bint mf_rai
    int y_run
    bint mf_ais
    int mz
    int mn
    int mais_low
    int mais_high
    uint8_t rx_cas[31]
    # counters
    int64_t c_frames
    int64_t c_fas_errors
    int64_t c_crc4_errors
    int64_t c_crc4_blocks
    int64_t c_e_bits
    int64_t c_slips
    int64_t c_realignments
    int64_t c_crc4_false
    int64_t c_cas_mfas_errors


cdef class E1Framer:
    cdef readonly bint crc4
    cdef readonly bint cas_enabled
    cdef public bint remote_alarm
    cdef public bint mf_remote_alarm
    cdef readonly int64_t frames
    cdef int _sa
    cdef int _si
    cdef uint8_t _cas[31]
    cdef int _mfi
    cdef uint32_t _fold
    cdef int _txc
    cdef int64_t _pending_e
    cdef void _encode(self, const uint8_t *src, uint8_t *dst, Py_ssize_t n) noexcept nogil


cdef class E1Deframer:
    cdef readonly bint crc4
    cdef readonly bint cas_enabled
    cdef e1_rx_t st
    cdef uint8_t *buf
    cdef Py_ssize_t nbuf
    cdef Py_ssize_t bufcap
    cdef void _monitor(self, const uint8_t *p, Py_ssize_t n) noexcept nogil
    cdef void _period_end(self) noexcept nogil
    cdef bint _hunt(self) noexcept nogil
    cdef void _gain(self) noexcept nogil
    cdef void _lose(self) noexcept nogil
    cdef void _crc_lose(self) noexcept nogil
    cdef void _cas_lose(self) noexcept nogil
    cdef int _frame(self, uint8_t *f) noexcept nogil
    cdef int _crc_frame(self, uint8_t *f, int ts0, bint fas) noexcept nogil
    cdef void _cas_frame(self, int t) noexcept nogil
    cdef void _y_bit(self, int t) noexcept nogil
    cdef Py_ssize_t _run(self, uint8_t *out, Py_ssize_t cap) noexcept nogil
