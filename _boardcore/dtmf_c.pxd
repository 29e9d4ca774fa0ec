# Declarations of the compiled DTMF kernel (implementation in dtmf_c.pyx).
cimport cython
from libc.stdint cimport int16_t, int32_t, int64_t

cdef enum:
    DT_SUB = 80            # one 10 ms sub-block (dtmf_py.SUB)
    DT_NF = 8              # 4 low + 4 high group frequencies
    DT_COLS = 16           # cos columns 0..7, -sin columns 8..15


cdef struct dt_chan_t:
    float hist[4][2 * DT_COLS]          # half-sub-block correlations of the last 4 sub-blocks (ring)
    double pprev[DT_NF]                 # tone energies of the previous sub-block
    int head                            # ring slot of the newest sub-block
    int16_t carry[DT_SUB]               # samples of an unfinished sub-block
    int on                              # digit index on (0..15) or -1
    int cand                            # digit of the current run of good sub-blocks, or -1
    int run                             # length of that run
    int miss                            # consecutive sub-blocks the digit on did not hold
    double run_t                        # time of the first sub-block of the run
    double miss_t                       # time of the first failing sub-block
    long long fed                       # the detector's feed count when this channel was last fed
    long long mark                      # the check that last saw it listed (repeats in a batch)


cdef struct dt_event_t:
    int32_t channel
    int32_t digit
    int32_t start                       # 1 start, 0 stop
    double time


@cython.final                   # no subclass: methods are called directly (no vtable)
cdef class DtmfDetector:
    cdef readonly int channels
    cdef readonly int rate
    cdef int ncarry                     # samples in every channel's carry
    cdef long long feeds                # calls that fed samples (a channel missing one is stale)
    cdef float fold[20][DT_COLS]           # half sub-block folded about its centre (dtmf_kernel.h)
    cdef float hrot[2][DT_COLS]         # rotation of each half back to the sub-block's origin
    cdef double rot[DT_COLS]            # nominal phase advance per sub-block (re 0..7, im 8..15)
    cdef double tolrad[DT_NF]
    cdef float ntab[16][DT_SUB][8]      # per digit: Hann DFT rows at f_lo, f_hi and the harmonic neighbours
    cdef dt_chan_t *chan
    cdef dt_event_t *evbuf
    cdef Py_ssize_t evcap
    cdef bint busy
    cdef Py_ssize_t _advance(self, const int16_t[:, ::1] x, const int32_t *idx, double t0) noexcept nogil
    cdef Py_ssize_t _decide(self, int c, int64_t ien, int kl, int kh, int good, const int16_t *src,
                            double t, Py_ssize_t nev) noexcept nogil
    cdef list _feed(self, const int16_t[:, ::1] xv, object idx, double t0)
    cdef long long checks               # channel lists checked (the marks of the last one)
    cdef object _rows(self, object channels)
    cdef int _not_busy(self) except -1
