"""The DAHDI userspace ABI this backend uses (include/dahdi/user.h), declared with cffi.

Only the structures, ioctl numbers and constants the board needs: the generic channel
device (``/dev/dahdi/channel`` + ``DAHDI_SPECIFY``), block size and law for audio, CAS bits,
HDLC-with-FCS mode, channel events, and span status (alarms and error counters) read
through ``/dev/dahdi/ctl``. cffi is used in ABI mode (no compiler): it lays the structs
out as the C compiler does, ``struct dahdi_spaninfo`` packed as in user.h.
"""
from __future__ import annotations

from typing import Any

import struct

import cffi

ffi = cffi.FFI()
ffi.cdef("""
struct dahdi_params {
    int channo; int spanno; int chanpos; int sigtype; int sigcap; int rxisoffhook;
    int rxbits; int txbits; int txhooksig; int rxhooksig; int curlaw; int idlebits;
    char name[40];
    int prewinktime; int preflashtime; int winktime; int flashtime; int starttime;
    int rxwinktime; int rxflashtime; int debouncetime; int pulsebreaktime;
    int pulsemaketime; int pulseaftertime;
    uint32_t chan_alarms;
};
struct dahdi_bufferinfo {
    int txbufpolicy; int rxbufpolicy; int numbufs; int bufsize; int readbufs; int writebufs;
};
""")
ffi.cdef("""
struct dahdi_spaninfo {
    int spanno; char name[20]; char desc[40];
    int alarms; int txlevel; int rxlevel;
    int bpvcount; int crc4count; int ebitcount; int fascount;
    uint32_t fecount; uint32_t cvcount; uint32_t becount; uint32_t prbs; uint32_t errsec;
    int irqmisses; int syncsrc; int numchans; int totalchans; int totalspans;
    int lbo; int lineconfig;
    char lboname[40]; char location[40]; char manufacturer[40]; char devicetype[40];
    int irq; int linecompat; char spantype[6];
};
""", packed=True)

# --- ioctl numbers (asm-generic/ioctl.h encoding: x86, arm, arm64, riscv) ---------------
_IOC_WRITE = 1
_IOC_READ = 2
DAHDI_CODE = 0xDA
_INT = 4


def _ioc(direction: int, nr: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (DAHDI_CODE << 8) | nr


def _iow(nr: int, size: int) -> int:
    return _ioc(_IOC_WRITE, nr, size)


def _ior(nr: int, size: int) -> int:
    return _ioc(_IOC_READ, nr, size)


def _iowr(nr: int, size: int) -> int:
    return _ioc(_IOC_READ | _IOC_WRITE, nr, size)


SIZEOF_PARAMS = ffi.sizeof("struct dahdi_params")        # 136
SIZEOF_SPANINFO = ffi.sizeof("struct dahdi_spaninfo")    # 314 (packed)
SIZEOF_BUFINFO = ffi.sizeof("struct dahdi_bufferinfo")   # 24

DAHDI_GET_BLOCKSIZE = _ior(1, _INT)
DAHDI_SET_BLOCKSIZE = _iow(1, _INT)
DAHDI_FLUSH = _iow(3, _INT)
DAHDI_GET_PARAMS = _iowr(5, SIZEOF_PARAMS)
DAHDI_GETEVENT = _ior(8, _INT)
DAHDI_SPANSTAT = _iowr(10, SIZEOF_SPANINFO)
DAHDI_GET_BUFINFO = _ior(27, SIZEOF_BUFINFO)
DAHDI_SET_BUFINFO = _iow(27, SIZEOF_BUFINFO)
DAHDI_AUDIOMODE = _iow(32, _INT)
DAHDI_CHANNO = _ior(34, _INT)
DAHDI_HDLCRAWMODE = _iow(36, _INT)
DAHDI_HDLCFCSMODE = _iow(37, _INT)
DAHDI_SPECIFY = _iow(38, _INT)
DAHDI_SETLAW = _iow(39, _INT)
DAHDI_GETRXBITS = _ior(43, _INT)
DAHDI_SETTXBITS = _iow(43, _INT)

#: errno of read()/write() on a channel with a pending event (user.h defines ELAST 500
#: where the C library has none, as on Linux): fetch it with DAHDI_GETEVENT.
ELAST = 500

# --- constants -------------------------------------------------------------------------
DAHDI_LAW_DEFAULT = 0
DAHDI_LAW_MULAW = 1
DAHDI_LAW_ALAW = 2

DAHDI_FLUSH_READ = 1
DAHDI_FLUSH_WRITE = 2
DAHDI_FLUSH_EVENT = 4
DAHDI_FLUSH_ALL = 7

DAHDI_DEFAULT_BLOCKSIZE = 1024

DAHDI_EVENT_NONE = 0
DAHDI_EVENT_ALARM = 4
DAHDI_EVENT_NOALARM = 5
DAHDI_EVENT_ABORT = 6
DAHDI_EVENT_OVERRUN = 7
DAHDI_EVENT_BADFCS = 8
DAHDI_EVENT_BITSCHANGED = 13
DAHDI_EVENT_REMOVED = 20

DAHDI_ALARM_NONE = 0
DAHDI_ALARM_RECOVER = 1 << 0
DAHDI_ALARM_LOOPBACK = 1 << 1
DAHDI_ALARM_YELLOW = 1 << 2
DAHDI_ALARM_RED = 1 << 3
DAHDI_ALARM_BLUE = 1 << 4
DAHDI_ALARM_NOTOPEN = 1 << 5
DAHDI_ALARM_LOS = 1 << 8
DAHDI_ALARM_LFA = 1 << 9
DAHDI_ALARM_LMFA = 1 << 10

DAHDI_CONFIG_CCS = 1 << 8
DAHDI_CONFIG_HDB3 = 1 << 9
DAHDI_CONFIG_CRC4 = 1 << 10

DAHDI_SIG_CLEAR = 1 << 7
DAHDI_SIG_HDLCRAW = (1 << 8) | DAHDI_SIG_CLEAR
DAHDI_SIG_HDLCFCS = (1 << 9) | DAHDI_SIG_HDLCRAW
DAHDI_SIG_CAS = 1 << 15
DAHDI_SIG_HARDHDLC = (1 << 19) | DAHDI_SIG_CLEAR
DAHDI_SIG_MTP2 = (1 << 20) | DAHDI_SIG_HDLCFCS

#: Octets of FCS that follow an HDLC frame in read() and that write() must leave room
#: for (the kernel computes them: dahdi-base.c calc_fcs).
HDLC_FCS_OCTETS = 2


# --- argument buffers ------------------------------------------------------------------

def int_arg(value: int = 0) -> bytearray:
    """A native ``int`` an ioctl reads or writes through its pointer."""
    return bytearray(struct.pack("=i", value))


def int_of(buf: bytes | bytearray) -> int:
    value: int = struct.unpack("=i", bytes(buf[:4]))[0]
    return value


def new_spaninfo(spanno: int) -> tuple[Any, Any]:
    """A zeroed ``struct dahdi_spaninfo`` for span ``spanno``: (cdata, writable buffer)."""
    p = ffi.new("struct dahdi_spaninfo *")
    p.spanno = spanno
    return p, ffi.buffer(p)


def new_params(channo: int = 0) -> tuple[Any, Any]:
    """A zeroed ``struct dahdi_params`` (channo 0: the channel of the descriptor)."""
    p = ffi.new("struct dahdi_params *")
    p.channo = channo
    return p, ffi.buffer(p)


def view(ctype: str, buf: Any) -> Any:
    """``buf`` (a writable buffer an ioctl got) seen as ``ctype *`` (for device doubles)."""
    return ffi.from_buffer(ctype + " *", buf)


def text(chars: Any) -> str:
    """A NUL-terminated ``char[]`` field as str."""
    raw: bytes = ffi.string(chars)
    return raw.decode("utf-8", "replace")
