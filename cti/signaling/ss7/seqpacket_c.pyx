# cython: language_level=3
"""An MTP2 link on a SOCK_SEQPACKET socket, compiled: one signal unit plus its 2 FCS octets
(Q.703 2.2, low octet first) per datagram. Same API and behaviour as the twin
``seqpacket_py`` (frames handed to the link in the same order, the same losses when the peer
stops reading), but the datagrams waiting on the socket are read with one ``recvmmsg`` and a
batch of frames is written with one ``sendmmsg`` (Linux), from C, into buffers owned here; the
FCS-16 is computed by a table (CRC-CCITT reflected, polynomial 0x8408, Q.703 2.2.5).
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.errno cimport EAGAIN, EINTR, errno
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

from cti.signaling.ss7._transport import init_transport
from cti.signaling.ss7.mtp2.bec_c cimport LinkCore

DEF BUF = 512
DEF BATCH = 64              # datagrams per recvmmsg / sendmmsg
DEF RECV_MAX = 400          # as the twin: sock.recv(400)
DEF GOOD_RESIDUAL = 0xF0B8  # CRC over a frame and its own FCS (Q.703 2.2.6 / ISO 3309)

cdef extern from "errno.h":
    int EWOULDBLOCK

cdef extern from "sys/uio.h" nogil:
    struct iovec:
        void* iov_base
        size_t iov_len

cdef extern from "sys/socket.h" nogil:   # recvmmsg/sendmmsg: _GNU_SOURCE comes with pyconfig.h
    struct msghdr:
        void* msg_name
        unsigned int msg_namelen
        iovec* msg_iov
        size_t msg_iovlen
        void* msg_control
        size_t msg_controllen
        int msg_flags
    struct mmsghdr:
        msghdr msg_hdr
        unsigned int msg_len
    int recvmmsg(int fd, mmsghdr* vec, unsigned int n, int flags, void* timeout)
    int sendmmsg(int fd, mmsghdr* vec, unsigned int n, int flags)
    int MSG_DONTWAIT
    int MSG_NOSIGNAL

cdef unsigned short _TABLE[256]


cdef void _make_table() noexcept:
    cdef unsigned int i, c, k
    for i in range(256):
        c = i
        for k in range(8):
            c = (c >> 1) ^ 0x8408 if c & 1 else c >> 1
        _TABLE[i] = c


_make_table()


cdef inline unsigned int _crc(const unsigned char* p, Py_ssize_t n) noexcept nogil:
    """CRC-CCITT register after ``n`` octets from 0xFFFF (not yet complemented)."""
    cdef unsigned int crc = 0xFFFF
    cdef Py_ssize_t i
    for i in range(n):
        crc = (crc >> 8) ^ _TABLE[(crc ^ p[i]) & 0xFF]
    return crc


cdef class SeqpacketTransport:
    """An MTP2 link on a SOCK_SEQPACKET (or SOCK_DGRAM) socket: one frame + FCS per datagram.
    The socket is made non-blocking; a dead peer shows as the link failing (T7/T2), and a
    closed socket stops the transport (``closed`` becomes True)."""

    cdef public object sock, link, pcap, drop
    cdef public int link_number
    cdef public bint closed, verify_fcs
    cdef public long long fcs_errors
    cdef unsigned char* _rx       # BATCH receive buffers of BUF octets
    cdef unsigned char* _tx       # BATCH transmit buffers of BUF octets
    cdef mmsghdr _rvec[BATCH]
    cdef mmsghdr _tvec[BATCH]
    cdef iovec _riov[BATCH]
    cdef iovec _tiov[BATCH]

    def __cinit__(self, *args, **kwargs):
        self._rx = <unsigned char*>malloc(BATCH * BUF)
        self._tx = <unsigned char*>malloc(BATCH * BUF)
        if self._rx == NULL or self._tx == NULL:
            raise MemoryError()
        memset(self._rvec, 0, sizeof(self._rvec))
        memset(self._tvec, 0, sizeof(self._tvec))
        cdef int k
        for k in range(BATCH):
            self._riov[k].iov_base = self._rx + k * BUF
            self._riov[k].iov_len = RECV_MAX
            self._rvec[k].msg_hdr.msg_iov = &self._riov[k]
            self._rvec[k].msg_hdr.msg_iovlen = 1
            self._tiov[k].iov_base = self._tx + k * BUF
            self._tvec[k].msg_hdr.msg_iov = &self._tiov[k]
            self._tvec[k].msg_hdr.msg_iovlen = 1

    def __dealloc__(self):
        free(self._rx)
        free(self._tx)

    def __init__(self, sock, link, pcap=None, int link_number=0, drop=None, bint verify_fcs=True):
        init_transport(self, sock, link, pcap, link_number, drop, verify_fcs)

    def receive(self, now) -> None:
        cdef int got, k
        cdef unsigned int n
        cdef bint bad
        cdef const unsigned char* p
        cdef int fd = self.sock.fileno()   # -1 once closed: recv fails, the transport closes
        link = self.link
        cdef LinkCore core = link if isinstance(link, LinkCore) else None   # C calls when compiled
        while not self.closed:
            got = recvmmsg(fd, self._rvec, BATCH, MSG_DONTWAIT, NULL)
            if got < 0:
                if errno != EAGAIN and errno != EWOULDBLOCK and errno != EINTR:
                    self.closed = True
                return
            for k in range(got):
                n = self._rvec[k].msg_len
                p = self._rx + k * BUF
                if n == 0:
                    self.closed = True
                    return
                if self.verify_fcs:
                    bad = n < 5 or _crc(p, n) != GOOD_RESIDUAL
                else:
                    bad = n < 5
                if bad:
                    self.fcs_errors += 1
                    link.su_error(now)
                    continue
                frame = PyBytes_FromStringAndSize(<const char*>p, n - 2)
                if self.pcap:
                    self.pcap.write(frame, now, sent=False, link=self.link_number)
                if core is not None:
                    core.receive_frame(frame, now)
                else:
                    link.receive(frame, now)
            if got < BATCH:
                return

    def transmit(self, now) -> None:
        cdef Py_ssize_t n
        cdef unsigned int fcs
        cdef int queued = 0, sent
        cdef unsigned char* q
        cdef bytes b
        cdef int fd = self.sock.fileno()
        for f in self.link.data_to_send(now):
            if self.closed:
                return
            if self.drop is not None and self.drop(f):
                continue
            if self.pcap:              # per frame, so the capture stops where sending stops
                if self._flush(fd, queued) < 0:
                    return
                queued = 0
                self.pcap.write(f, now, sent=True, link=self.link_number)
            b = f if type(f) is bytes else bytes(f)
            n = PyBytes_GET_SIZE(b)
            if n + 2 > BUF:        # never from an Mtp2Link; sent as the twin would
                if self._flush(fd, queued) < 0:
                    return
                queued = 0
                fcs = _crc(<const unsigned char*>PyBytes_AS_STRING(b), n) ^ 0xFFFF
                try:
                    self.sock.send(b + bytes((fcs & 0xFF, fcs >> 8)))
                except BlockingIOError:
                    return
                except OSError:
                    self.closed = True
                continue
            q = self._tx + queued * BUF
            memcpy(q, PyBytes_AS_STRING(b), n)
            fcs = _crc(q, n) ^ 0xFFFF
            q[n] = fcs & 0xFF
            q[n + 1] = fcs >> 8
            self._tiov[queued].iov_len = n + 2
            queued += 1
            if queued == BATCH:
                if self._flush(fd, queued) < 0:
                    return
                queued = 0
        self._flush(fd, queued)

    cdef int _flush(self, int fd, int queued) except -2:
        """Send the ``queued`` frames; -1 when the rest of this round is lost (the peer is not
        reading: MTP2 recovers) or the socket failed (``closed``)."""
        cdef int done = 0, r
        while done < queued:
            r = sendmmsg(fd, &self._tvec[done], queued - done, MSG_DONTWAIT | MSG_NOSIGNAL)
            if r < 0:
                if errno != EAGAIN and errno != EWOULDBLOCK and errno != EINTR:
                    self.closed = True
                return -1
            done += r
        return 0

    def service(self, now) -> None:
        self.receive(now)
        self.transmit(now)

    def fileno(self) -> int:
        return self.sock.fileno()
