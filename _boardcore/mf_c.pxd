# Declarations of the compiled MFC kernel (implementation in mf_c.pyx).
cimport cython
from libc.stdint cimport int16_t, int32_t

# One 5 ms sub-block, the sliding window in sub-blocks, the largest raster, the period
# (in sub-blocks) of the phase reference. Same values as mf_py.SUB / WIN_SUBS / ROT_PERIOD.
cdef enum:
    MF_SUB = 40
    MF_WIN_SUBS = 4
    MF_RING = 7           # earlier sub-blocks kept per channel: this window and the one before
    MF_SLOTS = 8          # ring slots: those seven and this sub-block's (written in place)
    MF_MAXF = 6
    MF_COLS = 16          # real parts of the six tones in 0..5, imaginary in 8..13 (mf_kernel.h)
    MF_ROT = 10


cdef struct mf_chan_t:
    double ring[MF_SLOTS][MF_COLS]      # rotated correlations of the last sub-blocks (columns)
    double ering[MF_SLOTS]              # their energies
    int16_t carry[MF_SUB]               # samples of an unfinished sub-block
    int cur                             # signal recognised now (0: none)
    int cand                            # clean candidate being counted
    int cand_n                          # consecutive clean windows of cand
    int miss                            # consecutive windows cur did not hold
    double ref                          # peak power of cur's weaker tone since recognition
    long long fed                       # the detector's feed count when this channel was last fed
    long long mark                      # the check that last saw it listed (repeats in a batch)


@cython.final                   # no subclass: methods are called directly (no vtable)
cdef class MfDetector:
    cdef readonly int channels
    cdef readonly int rate
    cdef readonly bint forward
    cdef readonly tuple freqs
    cdef int nfreq
    cdef int pos                        # sub-blocks done, modulo MF_ROT
    cdef int rhead                      # ring slot of the next sub-block, modulo MF_SLOTS
    cdef int ncarry                     # samples in every channel's carry
    cdef long long feeds                # calls that fed samples (a channel missing one is stale)
    cdef float fold[20][MF_COLS]        # the sub-block folded about its centre (mf_kernel.h)
    cdef double rot[MF_ROT][MF_COLS]    # exp(-j w (SUB g + c)), g = 0..ROT-1, c = 19.5 (columns)
    cdef int sigtab[MF_MAXF][MF_MAXF]
    cdef mf_chan_t *chan
    cdef int32_t *evbuf                 # (channel, signal, sub-block) triples
    cdef Py_ssize_t evcap
    cdef bint busy                      # inside process() without the GIL
    cdef Py_ssize_t _advance(self, const int16_t[:, ::1] x, const int32_t *idx) noexcept nogil
    cdef Py_ssize_t _decide(self, int c, const double *z, const double *wz, const double *pw, int a,
                            double en, const int *slot, Py_ssize_t s, Py_ssize_t nev) noexcept nogil
    cdef list _feed(self, const int16_t[:, ::1] xv, object idx, double t0)
    cdef long long checks               # channel lists checked (the marks of the last one)
    cdef object _rows(self, object channels)
    cdef int _channel_arg(self, object channel) except -1
    cdef int _not_busy(self) except -1


cdef class MfGenerator:
    cdef readonly int rate
    cdef readonly bint forward
    cdef readonly int frequencies
    cdef readonly tuple freqs
    cdef readonly double level_dbm0
    cdef readonly double amplitude
    cdef readonly int signal
    cdef double phase[MF_MAXF]
