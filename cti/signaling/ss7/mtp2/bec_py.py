# cython: annotation_typing=False
"""MTP2 in-service path: signal unit parse/build (Q.703 clause 2) and basic error correction
(clause 5: FSN/FIB, BSN/BIB, retransmission buffer, T6/T7), and the fill-in.

One source, two builds: this module runs as it is (the twin) and setup.py compiles it in
Cython's pure-Python mode with ``bec_c.pxd`` as ``bec_c`` (as aiohttp builds its WebSocket
reader); the octets of a signal unit are read and built by :mod:`._octets` (inline C in the
compiled build). The compiled MTP3 core and the SOCK_SEQPACKET transport call its C methods.

:class:`LinkCore` is the base of :class:`~cti.signaling.ss7.mtp2.link.Mtp2Link`: it holds the
link's transmission state and moves MSUs and fill-ins while the link is in service; it hands
everything else (alignment, failures, processor outage, timer expiries) to the link control's
``lsc``/``iac`` tables and methods. Timers stay the link's ``Timers`` (TimerSpec data): T6/T7
are started and stopped in its ``running`` dict as ``Timers.start``/``stop`` do.

Fill-in on the card (``card_fill``, set by a transport whose HDLC channel does it: the
``mtp2_fill`` mode of ``_boardcore.hdlc``): the card repeats the last fill-in it was sent and
drops received fill-ins equal to the frame before them, counting them. The link then sends its
fill-in only when it changes (after MSUs too: the card repeats it), never on a clock, and
applies the count of dropped ones (:meth:`LinkCore.fill_repeated`): each was received, so
SUERM's D-count and ``rx`` move by it, and the state machine sees the last frame again (at
most twice: after that a repeat changes nothing; the second abnormal BSN of Q.703 5.3.1 is
such a repeat). An idle in-service link then costs the host nothing per block.
"""
from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Protocol

from cti.signaling.errors import DecodeError
from cti.signaling.timers import Timers

from . import _octets
from .states import KIND_EVENTS, LINK_FAILURE, LinkState
from .timers import SUERM_D

if TYPE_CHECKING:
    from cti.signaling.engine import Machine

_IN_SERVICE, _PO, _IA = LinkState.IN_SERVICE, LinkState.PROCESSOR_OUTAGE, LinkState.INITIAL_ALIGNMENT
_KIND_EVENTS = KIND_EVENTS
_SIB = 5
_NEVER = float("inf")
_SUERM_D = SUERM_D
#: counters kept by the core itself (the rest are the link control's)
HOT_COUNTERS = ("rx", "tx", "discarded", "nacks_sent", "retransmitted")
#: every counter of a link
COUNTERS = ("rx", "tx", "su_errors", "nacks_sent", "retransmitted", "proving_aborts", "failures", "discarded")


def _as_bytes(data: bytes | bytearray | memoryview) -> bytes:
    if type(data) is bytes:
        return data
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"a signal unit is bytes-like, not {type(data).__name__}")


def _error(b: bytes) -> str:
    """The DecodeError text for a signal unit :func:`_octets.kind` rejected."""
    n = len(b)
    if n < 3:
        return f"signal unit of {n} octets (at least 3)"
    li = b[2] & 0x3F
    if li == 0:
        return f"LI=0 but {n - 3} octets follow"
    if li <= 2:
        if n - 3 != li:
            return f"LI={li} but {n - 3} octets follow"
        return f"LSSU status {b[3] & 0x07} undefined"
    return f"LI={li} does not match {n - 3} octets"


def parse(data: bytes | bytearray | memoryview) -> tuple[int, int, int, int, bytes]:
    """One signal unit (without FCS) as ``(BIB|BSN octet, FIB|FSN octet, kind, sio, sif)``:
    kind is :data:`FISU_KIND`, :data:`MSU_KIND` or an LSSU's status; DecodeError when it
    breaks Q.703 clause 2 / 4.1.4."""
    b = _as_bytes(data)
    k = _octets.kind(b)
    if k == _octets.BAD:
        raise DecodeError(_error(b))
    if k == _octets.MSU_KIND:
        return b[0], b[1], k, b[3], b[4:]
    return b[0], b[1], k, 0, b""


def msu_octets(bsn: int, bib: int, fsn: int, fib: int, sio: int, sif: bytes) -> bytes:
    """An MSU from values already in range (the link's own sequence numbers, a checked SIF)."""
    return _octets.msu(bsn, bib, fsn, fib, sio, _as_bytes(sif))


class FrameSource(Protocol):
    """Where :meth:`LinkCore.receive_from` reads: a Board API HDLC channel
    (:class:`drivers.base.HdlcChannel`)."""

    def recv_all(self) -> list[bytes]: ...

    @property
    def fill_repeats(self) -> int:
        """Fill-ins the card filtered as repeats (read only in ``card_fill`` mode)."""


class Mtp2Event:
    """What the link tells MTP3: ``in_service``, ``out_of_service`` (reason), ``msu`` (sio, sif),
    ``remote_processor_outage``, ``remote_processor_recovered``."""

    def __init__(self, kind: str, time: float, sio: int = 0, sif: bytes = b"", reason: str = "") -> None:
        self.kind, self.time, self.sio, self.sif, self.reason = kind, time, sio, sif, reason

    def _key(self) -> tuple[str, float, int, bytes, str]:
        return (self.kind, self.time, self.sio, self.sif, self.reason)

    def __eq__(self, other: object) -> bool:
        if type(other) is not Mtp2Event:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"Mtp2Event(kind={self.kind!r}, time={self.time!r}, sio={self.sio!r}, "
                f"sif={self.sif!r}, reason={self.reason!r})")


class LinkCore:
    """Basic error correction and fill-in of one link, and the link's transmission state;
    ``lsc``/``iac`` (engine machines), ``su_error`` and ``_timers_due`` come from the link
    control subclass."""

    # the link control's half, which this core calls (set or defined by the subclass)
    lsc: Machine[Any]
    iac: Machine[Any]
    if TYPE_CHECKING:
        def su_error(self, now: float) -> None: ...
        def _timers_due(self, now: float) -> None: ...

    def __init__(self, timers: Timers) -> None:
        self.timers = timers
        self._running = timers.running     # Timers.start/stop are these dict operations
        self._values = timers.values
        self._counters = dict.fromkeys(COUNTERS, 0)
        self.n_rx = self.n_tx = self.n_discarded = self.n_nacks = self.n_retx = 0
        self.fill_interval = 0.02                #: repeat the fill-in at least this often
        self._events: list[Mtp2Event] = []
        self._fill = _octets.FILL_FISU          # a FISU, or the status of the LSSU to repeat
        self._last_fill = b""
        self._last_fill_at = -1e9
        self._out: deque[bytes] = deque()       # LSSUs queued by the link control (SIB)
        self._restart_at = _NEVER               # when to realign after a failure
        self._now = 0.0
        self._tb: deque[tuple[int, bytes]] = deque()   # transmission buffer (clause 5.2.1)
        self._cs = 0                            # SUERM count (clause 10.2)
        self._su_count = 0
        self.card_fill = False                  #: the card repeats and filters fill-ins
        self._repeats_seen = 0                  # the channel's fill_repeats already applied
        self._last_rx = b""                     # the last signal unit received (good)
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
        self.enqueue(sio, _as_bytes(sif))

    def enqueue(self, sio: int, sif: bytes) -> int:
        """:meth:`send` (the compiled MTP3 core calls it in C)."""
        n = len(sif)
        if not 2 <= n <= 272 or not 0 <= sio <= 255:
            raise ValueError(f"MSU with SIO {sio} and {n}-octet SIF not allowed (2..272 octets)")
        self._tb.append((sio, sif))
        return 0

    def take_events(self) -> list[Mtp2Event]:
        """What happened since the last call (the link control's ``events``; C callers)."""
        ev = self._events
        if ev:
            self._events = []
        return ev

    # ---- line side -------------------------------------------------------------------
    def receive(self, frame: bytes, now: float) -> None:
        """A frame received with a good FCS (FCS stripped)."""
        self.receive_frame(_as_bytes(frame), now)

    def receive_from(self, channel: FrameSource, now: float) -> None:
        """Every frame waiting on ``channel`` (a Board API HDLC channel: FCS checked and
        stripped), read by the link itself: no transport code between the wire and MTP2."""
        frames = channel.recv_all()
        if self.card_fill:
            self.fill_repeated(channel.fill_repeats, now)
        for frame in frames:
            self.receive_frame(_as_bytes(frame), now)

    def fill_repeated(self, total: int, now: float) -> int:
        """The card dropped fill-ins equal to the frame before them (``mtp2_fill``): ``total``
        is its running count. Those since the last call were received after the last frame
        this link read (before the ones read with this call): the state machine sees that
        frame again, at most twice (a third time changes nothing), and the rest only move
        ``rx`` and SUERM's D-count (clause 10.2), by arithmetic."""
        k = total - self._repeats_seen
        self._repeats_seen = total
        last = self._last_rx
        if k <= 0 or not last:
            return 0
        replay = 2 if k > 2 else k
        for _ in range(replay):
            self.receive_frame(last, now)
        k -= replay
        if k:
            self.n_rx += k
            c = self._su_count + k
            self._cs = max(0, self._cs - c // _SUERM_D)
            self._su_count = c % _SUERM_D
        return 0

    def fill_dropped(self, total: int) -> None:
        """The card's repeats up to ``total`` are not applied: they came with frames the
        transport dropped (noise while the span was in alarm)."""
        self._repeats_seen = total

    def receive_frame(self, b: bytes, now: float) -> int:
        """:meth:`receive` of a bytes object (the compiled transport calls it in C)."""
        self._now = now
        kind = _octets.kind(b)
        if kind == _octets.BAD:
            self.su_error(now)
            return 0
        self._last_rx = b
        self.n_rx += 1
        self._su_count += 1               # SUERM's D-count (clause 10.2), as in _count_su
        if self._su_count >= _SUERM_D:
            self._su_count = 0
            self._cs = max(0, self._cs - 1)
        lsc = self.lsc
        st = lsc.state
        if st is _IA:
            ev = _KIND_EVENTS[kind + 2]
            self.iac.fire_if(ev, ev, now)
            return 0
        if st is not _IN_SERVICE or kind >= 0:   # in service, FISU/MSU is a no-op row
            ev = _KIND_EVENTS[kind + 2]
            lsc.fire_if(ev, ev, now)
            st = lsc.state
        if st is _IN_SERVICE or st is _PO:
            h, f = b[0], b[1]
            self._bec_receive(h & 0x7F, h >> 7, f & 0x7F, f >> 7, kind, b, now)
        return 0

    def data_to_send(self, now: float) -> list[bytes]:
        """Frames (without FCS) to transmit now: retransmissions, new MSUs, and the fill-in
        (FISU or LSSU) when it changed or ``fill_interval`` passed."""
        self._now = now
        if self._due(now):
            self._timers_due(now)
        out: list[bytes]
        if self._out:
            out = list(self._out)
            self._out.clear()
        else:
            out = []
        if (self._tb or self._retx) and self.lsc.state is _IN_SERVICE:
            self._bec_transmit(now, out)
        self._fill_in(out, now)
        self.n_tx += len(out)
        return out

    def handle_timer(self, now: float) -> None:
        """Run the timers due at ``now`` (the link control's ``_timers_due``) and a pending restart."""
        self.run_timers(now)

    def run_timers(self, now: float) -> int:
        """:meth:`handle_timer` (C callers)."""
        self._now = now
        if self._due(now):
            self._timers_due(now)
        return 0

    def _due(self, now: float) -> bool:
        if now >= self._restart_at or self.lsc.running or self.iac.running:   # machines own T1-T4
            return True
        for v in self._running.values():   # noqa: SIM110  (a C loop compiled; any() makes a generator)
            if v <= now:
                return True
        return False

    # ---- basic error correction (clause 5) ---------------------------------------------
    def _bec_receive(self, bsn: int, bib: int, fsn: int, fib: int, kind: int, b: bytes,
                     now: float) -> int:
        # acknowledgements (5.3): BSN/BIB of every SU
        acked = self._acked
        if (bsn - acked) & 0x7F > (self._fsn_last - acked) & 0x7F:
            self._bad_bsn += 1
            if self._bad_bsn >= 2:
                self.lsc.fire(LINK_FAILURE, "abnormal BSN received twice", now)
            return 0
        self._bad_bsn = 0
        if bsn != acked:
            span = (bsn - acked) & 0x7F   # FSNs acked+1..bsn are acknowledged now
            _drop_acked(self._rtb, acked, span)
            if self._retx:
                _drop_acked(self._retx, acked, span)
            self._acked = bsn
            running = self._running
            running.pop("T6", None)
            if self._rtb:
                running["T7"] = now + self._values["T7"]
            else:
                running.pop("T7", None)
        if bib != self._fib:   # negative acknowledgement: retransmit all unacknowledged (5.3.2)
            if self._rtb:
                self._retx = list(self._rtb)
            self._fib ^= 1
        # reception (5.2.2)
        if kind >= 0:          # LSSU
            if kind == _SIB and "T6" not in self._running:
                self._running["T6"] = now + self._values["T6"]
            return 0
        if fib != self._bib:
            if kind == _octets.MSU_KIND:
                self.n_discarded += 1
            return 0
        nxt = (self._rx_last + 1) & 0x7F
        if kind == _octets.MSU_KIND and fsn == nxt:
            self._rx_last = nxt
            self._nack_pending = False
            ev = Mtp2Event.__new__(Mtp2Event)
            ev.kind, ev.time, ev.sio, ev.sif, ev.reason = "msu", now, b[3], b[4:], ""
            self._events.append(ev)
        elif fsn != self._rx_last:
            # a gap: an MSU was lost; ask for retransmission once (NACK by inverting BIB)
            if kind == _octets.MSU_KIND:
                self.n_discarded += 1
            if not self._nack_pending:
                self._bib ^= 1
                self._nack_pending = True
                self.n_nacks += 1
        elif kind == _octets.MSU_KIND:
            self.n_discarded += 1   # duplicate
        return 0

    def _bec_transmit(self, now: float, out: list[bytes]) -> int:
        rx_last, bib, fib = self._rx_last, self._bib, self._fib
        if self._retx:
            for e in self._retx:
                out.append(_octets.msu(rx_last, bib, e[0], fib, e[1], e[2]))
                self.n_retx += 1
            self._retx = []
        tb, rtb = self._tb, self._rtb
        fsn = self._fsn_last
        sent = False
        while tb and len(rtb) < 127:
            q = tb.popleft()
            fsn = (fsn + 1) & 0x7F
            rtb.append((fsn, q[0], q[1]))
            out.append(_octets.msu(rx_last, bib, fsn, fib, q[0], q[1]))
            sent = True
        self._fsn_last = fsn
        if sent and "T7" not in self._running:
            self._running["T7"] = now + self._values["T7"]
        return 0

    # ---- fill-in -----------------------------------------------------------------------
    def _fill_octets(self) -> bytes:
        """The fill-in signal unit now: FISU, or the LSSU of ``_fill`` (Q.703 clause 5.2)."""
        return _octets.fill(self._rx_last, self._bib, self._fsn_last, self._fib, self._fill)

    def _fill_in(self, out: list[bytes], now: float) -> int:
        """The fill-in of :meth:`data_to_send`: after MSUs a FISU is not sent (they carry the
        same BSN/BIB); otherwise the FISU or LSSU is appended when it changed or
        ``fill_interval`` passed (Q.703 5.2.1, 7.2: repeated while there is nothing else)."""
        fill = self._fill_octets()
        if self.card_fill:              # the card repeats it: sent when it changes, after MSUs too
            if fill != self._last_fill:
                out.append(fill)
                self._last_fill, self._last_fill_at = fill, now
            return 0
        if out and self._fill == _octets.FILL_FISU:
            self._last_fill, self._last_fill_at = fill, now
        elif fill != self._last_fill or now - self._last_fill_at >= self.fill_interval:
            out.append(fill)
            self._last_fill, self._last_fill_at = fill, now
        return 0


def _drop_acked(buf: list[tuple[int, int, bytes]], acked: int, span: int) -> int:
    """Remove from a retransmission buffer the entries whose FSN lies in ``acked+1 .. acked+span``
    (in place; they are its first entries, the FSNs being consecutive)."""
    n = len(buf)
    k = 0
    while k < n:
        e = buf[k]
        fsn = e[0]
        if (fsn - acked) & 0x7F > span:
            break
        k += 1
    for j in range(k, n):
        e = buf[j]
        fsn = e[0]
        if (fsn - acked) & 0x7F <= span:    # not consecutive: filter them all
            buf[:] = [e for e in buf if (e[0] - acked) & 0x7F > span]
            return 0
    if k:
        del buf[:k]
    return 0
