"""MTP2 in-service path, pure-Python twin of ``bec_c``: signal unit parse/build (Q.703 clause 2)
and basic error correction (clause 5: FSN/FIB, BSN/BIB, retransmission buffer, T7).

:class:`LinkCore` is the base of :class:`~cti.signaling.ss7.mtp2.link.Mtp2Link`: it holds the
link's transmission state and moves MSUs and fill-ins while the link is in service; it hands
everything else (alignment, failures, processor outage, timer expiries) to the link control's
``lsc``/``iac`` tables and methods.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from cti.signaling.errors import DecodeError
from cti.signaling.timers import Timers

from .states import FILL_FISU, FISU_KIND, KIND_EVENTS, LINK_FAILURE, MAX_SIF, MSU_KIND, LinkState
from .timers import SUERM_D

if TYPE_CHECKING:
    from cti.signaling.engine import Machine

_IN_SERVICE, _PO, _IA = LinkState.IN_SERVICE, LinkState.PROCESSOR_OUTAGE, LinkState.INITIAL_ALIGNMENT
_SIB = 5
_NEVER = float("inf")
#: counters kept by the core itself (the rest are the link control's)
HOT_COUNTERS = ("rx", "tx", "discarded", "nacks_sent", "retransmitted")
#: every counter of a link
COUNTERS = ("rx", "tx", "su_errors", "nacks_sent", "retransmitted", "proving_aborts", "failures", "discarded")


def parse(data: bytes | bytearray | memoryview) -> tuple[int, int, int, int, bytes]:
    """One signal unit (without FCS) as ``(BIB|BSN octet, FIB|FSN octet, kind, sio, sif)``:
    kind is :data:`FISU_KIND`, :data:`MSU_KIND` or an LSSU's status; DecodeError when it
    breaks Q.703 clause 2 / 4.1.4."""
    n = len(data)
    if n < 3:
        raise DecodeError(f"signal unit of {n} octets (at least 3)")
    li = data[2] & 0x3F
    if li == 0:
        if n != 3:
            raise DecodeError(f"LI=0 but {n - 3} octets follow")
        return data[0], data[1], FISU_KIND, 0, b""
    if li <= 2:
        if n - 3 != li:
            raise DecodeError(f"LI={li} but {n - 3} octets follow")
        st = data[3] & 0x07
        if st > 5:
            raise DecodeError(f"LSSU status {st} undefined")
        return data[0], data[1], st, 0, b""
    if (li < 63 and n - 3 != li) or (li == 63 and not 63 <= n - 3 <= MAX_SIF + 1):
        raise DecodeError(f"LI={li} does not match {n - 3} octets")
    return data[0], data[1], MSU_KIND, data[3], bytes(data[4:])


def msu_octets(bsn: int, bib: int, fsn: int, fib: int, sio: int, sif: bytes) -> bytes:
    """An MSU from values already in range (the link's own sequence numbers, a checked SIF)."""
    return bytes(((bib << 7) | bsn, (fib << 7) | fsn, min(1 + len(sif), 63), sio)) + sif


class FrameSource(Protocol):
    """Where :meth:`LinkCore.receive_from` reads: a Board API HDLC channel
    (:class:`drivers.base.HdlcChannel`)."""

    def recv_all(self) -> list[bytes]: ...


@dataclass(slots=True, unsafe_hash=True)   # not frozen: built per message, 6x cheaper
class Mtp2Event:
    """What the link tells MTP3: ``in_service``, ``out_of_service`` (reason), ``msu`` (sio, sif),
    ``remote_processor_outage``, ``remote_processor_recovered``."""

    kind: str
    time: float
    sio: int = 0
    sif: bytes = b""
    reason: str = ""


class LinkCore:
    """Basic error correction and fill-in of one link, and the link's transmission state;
    ``lsc``/``iac`` (engine machines), ``su_error``, ``_timers_due`` and ``_fill_in`` come from
    the link control subclass."""

    # the link control's half, which this core calls (set or defined by the subclass)
    lsc: Machine[Any]
    iac: Machine[Any]
    if TYPE_CHECKING:
        def su_error(self, now: float) -> None: ...
        def _timers_due(self, now: float) -> None: ...
        def _fill_in(self, out: list[bytes], now: float) -> None: ...

    def __init__(self, timers: Timers) -> None:
        self.timers = timers
        self._counters = dict.fromkeys(COUNTERS, 0)
        self.n_rx = self.n_tx = self.n_discarded = self.n_nacks = self.n_retx = 0
        self.fill_interval = 0.02                #: repeat the fill-in at least this often
        self._events: list[Mtp2Event] = []
        self._fill = FILL_FISU                  # FILL_FISU, or the status of the LSSU to repeat
        self._last_fill = b""
        self._last_fill_at = -1e9
        self._out: deque[bytes] = deque()       # LSSUs queued by the link control (SIB)
        self._restart_at = _NEVER               # when to realign after a failure
        self._now = 0.0
        self._tb: deque[tuple[int, bytes]] = deque()   # transmission buffer (clause 5.2.1)
        self._cs = 0                            # SUERM count (clause 10.2)
        self._su_count = 0
        self._reset_bec()

    def _reset_bec(self) -> None:
        """Basic error correction from the start (clause 5, after alignment)."""
        self._fsn_last = 127          # last FSN assigned (5.2.1)
        self._fib = 1
        self._acked = 127             # last positively acknowledged FSN
        self._rtb: list[tuple[int, int, bytes]] = []    # (fsn, sio, sif) retransmission buffer
        self._retx: list[tuple[int, int, bytes]] = []
        self._rx_last = 127           # last accepted FSN
        self._bib = 1
        self._nack_pending = False
        self._bad_bsn = 0
        self._bad_fib = 0
        self._busy = False

    @property
    def counters(self) -> dict[str, int]:
        """rx, tx, su_errors, nacks_sent, retransmitted, proving_aborts, failures, discarded."""
        d = self._counters
        d["rx"], d["tx"], d["discarded"] = self.n_rx, self.n_tx, self.n_discarded
        d["nacks_sent"], d["retransmitted"] = self.n_nacks, self.n_retx
        return d

    # ---- user side -------------------------------------------------------------------
    def send(self, sio: int, sif: bytes, now: float) -> None:
        """Queue an MSU for transmission (transmission buffer, clause 5.2.1)."""
        if not 2 <= len(sif) <= 272 or not 0 <= sio <= 255:
            raise ValueError(f"MSU with SIO {sio} and {len(sif)}-octet SIF not allowed (2..272 octets)")
        self._tb.append((sio, bytes(sif)))

    # ---- line side -------------------------------------------------------------------
    def receive(self, frame: bytes, now: float) -> None:
        """A frame received with a good FCS (FCS stripped)."""
        self._now = now
        try:
            h, f, kind, sio, sif = parse(frame)
        except DecodeError:
            self.su_error(now)
            return
        self.n_rx += 1
        self._su_count += 1               # SUERM's D-count (clause 10.2), as in _count_su
        if self._su_count >= SUERM_D:
            self._su_count = 0
            self._cs = max(0, self._cs - 1)
        ev = KIND_EVENTS[kind + 2]
        lsc = self.lsc
        st = lsc.state
        if st is _IA:
            self.iac.fire_if(ev, ev, now)
            return
        if st is not _IN_SERVICE or kind >= 0:   # in service, FISU/MSU is a no-op row
            lsc.fire_if(ev, ev, now)
            st = lsc.state
        if st is _IN_SERVICE or st is _PO:
            self._bec_receive(h & 0x7F, h >> 7, f & 0x7F, f >> 7, kind, sio, sif, now)

    def receive_from(self, channel: FrameSource, now: float) -> None:
        """Every frame waiting on ``channel`` (a Board API HDLC channel: FCS checked and
        stripped), read by the link itself: no transport code between the wire and MTP2."""
        for frame in channel.recv_all():
            self.receive(frame, now)

    def data_to_send(self, now: float) -> list[bytes]:
        """Frames (without FCS) to transmit now: retransmissions, new MSUs, and the fill-in
        (FISU or LSSU) when it changed or ``fill_interval`` passed."""
        self._now = now
        self.handle_timer(now)
        if self._out:
            out = list(self._out)
            self._out.clear()
        else:
            out = []
        if self.lsc.state is _IN_SERVICE and (self._tb or self._retx):
            out += self._bec_transmit(now)
        self._fill_in(out, now)             # the link control's (shared with the compiled core)
        self.n_tx += len(out)
        return out

    def handle_timer(self, now: float) -> None:
        """Run the timers due at ``now`` (the link control's ``_timers_due``) and a pending restart."""
        self._now = now
        running = self.timers.running
        if ((running and min(running.values()) <= now) or now >= self._restart_at or self.lsc.running
                or self.iac.running):       # the link control's machines own T1-T4
            self._timers_due(now)

    # ---- basic error correction (clause 5) ---------------------------------------------
    def _bec_receive(self, bsn: int, bib: int, fsn: int, fib: int, kind: int, sio: int, sif: bytes,
                     now: float) -> None:
        # acknowledgements (5.3): BSN/BIB of every SU
        acked = self._acked
        if (bsn - acked) % 128 > (self._fsn_last - acked) % 128:
            self._bad_bsn += 1
            if self._bad_bsn >= 2:
                self.lsc.fire(LINK_FAILURE, "abnormal BSN received twice", now)
            return
        self._bad_bsn = 0
        if bsn != acked:
            span = (bsn - acked) % 128    # FSNs acked..bsn are acknowledged now
            self._rtb = [e for e in self._rtb if (e[0] - acked) % 128 > span]
            if self._retx:
                self._retx = [e for e in self._retx if (e[0] - acked) % 128 > span]
            self._acked = bsn
            timers = self.timers
            if "T6" in timers.running:
                timers.stop("T6")
            if self._rtb:
                timers.start("T7", now)
            else:
                timers.stop("T7")
        if bib != self._fib:   # negative acknowledgement: retransmit all unacknowledged (5.3.2)
            if self._rtb:
                self._retx = list(self._rtb)
            self._fib ^= 1
        # reception (5.2.2)
        if kind >= 0:          # LSSU
            if kind == _SIB and not self.timers.is_running("T6"):
                self.timers.start("T6", now)
            return
        if fib != self._bib:
            if kind == MSU_KIND:
                self.n_discarded += 1
            return
        nxt = (self._rx_last + 1) % 128
        if kind == MSU_KIND and fsn == nxt:
            self._rx_last = nxt
            self._nack_pending = False
            self._events.append(Mtp2Event("msu", now, sio, sif))
        elif fsn != self._rx_last:
            # a gap: an MSU was lost; ask for retransmission once (NACK by inverting BIB)
            if kind == MSU_KIND:
                self.n_discarded += 1
            if not self._nack_pending:
                self._bib ^= 1
                self._nack_pending = True
                self.n_nacks += 1
        elif kind == MSU_KIND:
            self.n_discarded += 1   # duplicate

    def _bec_transmit(self, now: float) -> list[bytes]:
        out = []
        rx_last, bib, fib = self._rx_last, self._bib, self._fib
        if self._retx:
            for fsn, sio, sif in self._retx:
                out.append(msu_octets(rx_last, bib, fsn, fib, sio, sif))
                self.n_retx += 1
            self._retx = []
        tb, rtb = self._tb, self._rtb
        fsn = self._fsn_last
        sent = False
        while tb and len(rtb) < 127:
            sio, sif = tb.popleft()
            fsn = (fsn + 1) % 128
            rtb.append((fsn, sio, sif))
            out.append(msu_octets(rx_last, bib, fsn, fib, sio, sif))
            sent = True
        self._fsn_last = fsn
        if sent and not self.timers.is_running("T7"):
            self.timers.start("T7", now)
        return out

    # ---- fill-in -----------------------------------------------------------------------
    def _fill_octets(self) -> bytes:
        """The fill-in signal unit now: FISU, or the LSSU of ``_fill`` (Q.703 clause 5.2)."""
        if self._fill == FILL_FISU:
            return bytes(((self._bib << 7) | self._rx_last, (self._fib << 7) | self._fsn_last, 0))
        return bytes(((self._bib << 7) | self._rx_last, (self._fib << 7) | self._fsn_last, 1, self._fill))
