"""One MTP2 signalling link terminal (Q.703), sans-IO.

Feed received signal units with :meth:`Mtp2Link.receive` (and errored ones with
:meth:`su_error`), pull what to transmit with :meth:`data_to_send`, read
:meth:`events`. Time is passed in; :meth:`timer_deadline` says when to call
:meth:`handle_timer`. Link state control (clause 12, Figure 8) and initial alignment
control (clause 7, Figure 9) are transition tables; basic error correction (clause 5),
the AERM/SUERM monitors (clause 10) and processor outage (clause 8) run beside them.
"""
from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from typing import Any

from cti.signaling.errors import DecodeError, LocalProtocolError
from cti.signaling.fsm import ANY, TableFSM
from cti.signaling.timers import Timers

from .._fsm import BoundedFSM
from .codec import FISU_KIND, MSU_KIND, Status, msu_octets, parse
from .timers import AERM_TIE, AERM_TIN, MTP2_TIMERS, PROVING_ATTEMPTS, SUERM_D, SUERM_T


class LinkState(str, enum.Enum):
    """Link state control states (Q.703 clause 12, Figure 8)."""

    OUT_OF_SERVICE = "out_of_service"          #: 12.2: sending SIOS
    INITIAL_ALIGNMENT = "initial_alignment"    #: 12.2 / clause 7: IAC running
    ALIGNED_READY = "aligned_ready"            #: 12.2: proving done, T1 running, sending FISU
    IN_SERVICE = "in_service"                  #: 12.2: MSUs flow
    PROCESSOR_OUTAGE = "processor_outage"      #: clause 8: remote processor outage (SIPO received)


class IacState(str, enum.Enum):
    """Initial alignment control states (Q.703 clause 7.3, Figure 9)."""

    IDLE = "idle"
    NOT_ALIGNED = "not_aligned"  #: sending SIO, T2 running
    ALIGNED = "aligned"          #: sending SIN/SIE, T3 running
    PROVING = "proving"          #: sending SIN/SIE, T4 + AERM running


_L, _I = LinkState, IacState
_RX_FAIL = ("rx_sio", "rx_sin", "rx_sie", "rx_sios")

#: Link state control, Q.703 clause 12 / Figure 8.
LSC_TABLE: dict[tuple[Any, str], tuple[str | None, Any]] = {
    (_L.OUT_OF_SERVICE, "start"): ("_lsc_start", _L.INITIAL_ALIGNMENT),
    (_L.OUT_OF_SERVICE, "stop"): (None, None),
    (_L.INITIAL_ALIGNMENT, "alignment_complete"): ("_lsc_aligned", _L.ALIGNED_READY),
    (_L.INITIAL_ALIGNMENT, "alignment_not_possible"): ("_lsc_fail", _L.OUT_OF_SERVICE),
    (_L.ALIGNED_READY, "rx_fisu"): ("_lsc_in_service", _L.IN_SERVICE),
    (_L.ALIGNED_READY, "rx_msu"): ("_lsc_in_service", _L.IN_SERVICE),
    (_L.ALIGNED_READY, "rx_sin"): (None, None),     # far end still proving
    (_L.ALIGNED_READY, "rx_sie"): (None, None),
    (_L.ALIGNED_READY, "rx_sio"): ("_lsc_fail", _L.OUT_OF_SERVICE),
    (_L.ALIGNED_READY, "rx_sios"): ("_lsc_fail", _L.OUT_OF_SERVICE),
    (_L.ALIGNED_READY, "rx_sipo"): ("_lsc_remote_po", _L.PROCESSOR_OUTAGE),
    (_L.ALIGNED_READY, "T1"): ("_lsc_fail", _L.OUT_OF_SERVICE),
    (_L.IN_SERVICE, "rx_fisu"): (None, None),
    (_L.IN_SERVICE, "rx_msu"): (None, None),
    (_L.IN_SERVICE, "rx_sib"): (None, None),
    (_L.IN_SERVICE, "rx_sipo"): ("_lsc_remote_po", _L.PROCESSOR_OUTAGE),
    (_L.PROCESSOR_OUTAGE, "rx_fisu"): ("_lsc_remote_po_end", _L.IN_SERVICE),
    (_L.PROCESSOR_OUTAGE, "rx_msu"): ("_lsc_remote_po_end", _L.IN_SERVICE),
    (_L.PROCESSOR_OUTAGE, "rx_sipo"): (None, None),
    (_L.PROCESSOR_OUTAGE, "rx_sib"): (None, None),
    **{(s, e): ("_lsc_fail", _L.OUT_OF_SERVICE)
       for s in (_L.IN_SERVICE, _L.PROCESSOR_OUTAGE) for e in _RX_FAIL},
    (ANY, "link_failure"): ("_lsc_fail", _L.OUT_OF_SERVICE),
    (ANY, "stop"): ("_lsc_stop", _L.OUT_OF_SERVICE),
}

#: Initial alignment control, Q.703 clause 7.3 / Figure 9.
IAC_TABLE: dict[tuple[Any, str], tuple[str | None, Any]] = {
    (_I.IDLE, "start"): ("_iac_start", _I.NOT_ALIGNED),
    (_I.NOT_ALIGNED, "rx_sio"): ("_iac_aligned", _I.ALIGNED),
    # SIN/SIE: the far end is aligned already; on a continuous stream the next SU is SIN/SIE
    # again and we would prove one SU later, so prove now (what libss7 does too, and needed
    # on transports that send a status only when it changes)
    (_I.NOT_ALIGNED, "rx_sin"): ("_iac_aligned_prove", _I.PROVING),
    (_I.NOT_ALIGNED, "rx_sie"): ("_iac_aligned_prove_e", _I.PROVING),
    (_I.NOT_ALIGNED, "rx_sios"): (None, None),
    (_I.NOT_ALIGNED, "T2"): ("_iac_fail", _I.IDLE),
    (_I.ALIGNED, "rx_sio"): (None, None),
    (_I.ALIGNED, "rx_sin"): ("_iac_prove", _I.PROVING),
    (_I.ALIGNED, "rx_sie"): ("_iac_prove_e", _I.PROVING),
    (_I.ALIGNED, "rx_sios"): ("_iac_fail", _I.IDLE),
    (_I.ALIGNED, "T3"): ("_iac_fail", _I.IDLE),
    (_I.PROVING, "rx_sio"): ("_iac_reprove", _I.ALIGNED),
    (_I.PROVING, "rx_sin"): (None, None),
    (_I.PROVING, "rx_sie"): ("_iac_go_emergency", None),
    (_I.PROVING, "rx_sios"): ("_iac_fail", _I.IDLE),
    (_I.PROVING, "rx_fisu"): (None, None),          # far end finished proving first
    (_I.PROVING, "T4"): ("_iac_complete", _I.IDLE),
    (_I.PROVING, "aerm"): ("_iac_abort_proving", None),
    (ANY, "stop"): ("_iac_stop", _I.IDLE),
}

_STATUS_EVENT = {Status.SIO: "rx_sio", Status.SIN: "rx_sin", Status.SIE: "rx_sie",
                 Status.SIOS: "rx_sios", Status.SIPO: "rx_sipo", Status.SIB: "rx_sib"}


@dataclass(slots=True, unsafe_hash=True)   # not frozen: built per message, 6x cheaper
class Mtp2Event:
    """What the link tells MTP3: ``in_service``, ``out_of_service`` (reason), ``msu`` (sio, sif),
    ``remote_processor_outage``, ``remote_processor_recovered``."""

    kind: str
    time: float
    sio: int = 0
    sif: bytes = b""
    reason: str = ""


def _between(a: int, x: int, b: int) -> bool:
    """``x`` in the cyclic range a..b (7-bit sequence numbers)."""
    return (x - a) % 128 <= (b - a) % 128


_KIND_EVENT = {FISU_KIND: "rx_fisu", MSU_KIND: "rx_msu", **{int(st): ev for st, ev in _STATUS_EVENT.items()}}


class Mtp2Link:
    """A signalling link terminal: LSC + IAC + basic error correction + error monitors."""

    def __init__(self, *, timers: dict[str, float] | None = None, emergency: bool = False,
                 auto_restart: float | None = 1.0, fill_interval: float = 0.02, name: str = "link") -> None:
        self.name = name
        self.timers = Timers(MTP2_TIMERS, timers)
        self.emergency = emergency              #: local emergency (MTP3 asks: last link of a linkset)
        self.auto_restart = auto_restart        #: restart alignment this long after a failure; None: stay down
        self.fill_interval = fill_interval      #: repeat the fill-in at least this often
        self.lsc: TableFSM[LinkState] = BoundedFSM(f"{name}.LSC", LSC_TABLE, LinkState.OUT_OF_SERVICE, self)
        self.iac: TableFSM[IacState] = BoundedFSM(f"{name}.IAC", IAC_TABLE, IacState.IDLE, self)
        self._events: list[Mtp2Event] = []
        self._fill: Status | None = Status.SIOS  # None = FISU
        self._last_fill: bytes = b""
        self._last_fill_at = -1e9
        self._out: deque[bytes] = deque()
        self._restart_at: float | None = None
        self._started = False
        self.local_po = False
        self.counters = {"rx": 0, "tx": 0, "su_errors": 0, "nacks_sent": 0, "retransmitted": 0,
                         "proving_aborts": 0, "failures": 0, "discarded": 0}
        self._reset_bec()
        self._further_emergency = False
        self._ca = 0
        self._attempts = 0
        self._cs = 0
        self._su_count = 0

    # ---- user side -------------------------------------------------------------------
    @property
    def state(self) -> LinkState:
        return self.lsc.state

    @property
    def in_service(self) -> bool:
        return self.lsc.state in (LinkState.IN_SERVICE,)

    def start(self, now: float) -> None:
        """Start initial alignment (Q.703 12.2, MTP3 'start')."""
        self._started = True
        self._restart_at = None
        self._now = now
        if self.lsc.state is LinkState.OUT_OF_SERVICE:
            self.lsc.fire("start")

    def stop(self, now: float) -> None:
        """Take the link out of service (sends SIOS) and keep it down."""
        self._started = False
        self._restart_at = None
        self._now = now
        self.lsc.fire("stop")

    def line_fault(self, now: float, reason: str) -> None:
        """The bearer failed (LOS/AIS/LOF on the span): a link failure (Q.703 12.1 via the
        octet-counting mode of clause 10.2), then realignment attempts (T2) until it heals."""
        self._now = now
        if self.lsc.state is not LinkState.OUT_OF_SERVICE:
            self.lsc.fire("link_failure", reason)

    def set_local_processor_outage(self, on: bool, now: float) -> None:
        """Local processor outage (clause 8): send SIPO while set."""
        self.local_po = on
        self._update_fill()

    def send(self, sio: int, sif: bytes, now: float) -> None:
        """Queue an MSU for transmission (transmission buffer, clause 5.2.1)."""
        if not 2 <= len(sif) <= 272 or not 0 <= sio <= 255:
            raise ValueError(f"MSU with SIO {sio} and {len(sif)}-octet SIF not allowed (2..272 octets)")
        self._tb.append((sio, bytes(sif)))

    def retrieve(self, bsnt: int | None = None) -> list[tuple[int, bytes]]:
        """After a failure: the MSUs the far end has not accepted (Q.704 5.4 buffer updating and
        retrieval). ``bsnt`` is the far end's last accepted FSN (from COO/COA); None takes
        every unacknowledged MSU. Unsent MSUs follow. Empties the buffers."""
        rtb = self._rtb
        if bsnt is not None and _between(self._acked, bsnt, self._fsn_last):
            rtb = [e for e in rtb if not _between(self._acked, e[0], bsnt)]
        msgs = [(sio, sif) for _, sio, sif in rtb] + list(self._tb)
        self._rtb, self._retx = [], []
        self._tb.clear()
        self.timers.stop("T7")
        return msgs

    @property
    def last_accepted_fsn(self) -> int:
        """FSN of the last MSU accepted from the far end (sent in COO/COA)."""
        return self._rx_last

    def events(self) -> list[Mtp2Event]:
        ev, self._events = self._events, []
        return ev

    # ---- line side -------------------------------------------------------------------
    def receive(self, frame: bytes, now: float) -> None:
        """A frame received with a good FCS (FCS stripped)."""
        self._now = now
        try:
            h, f, kind, sio, sif = parse(frame)
        except DecodeError:
            self.su_error(now)
            return
        self.counters["rx"] += 1
        self._su_count += 1               # SUERM's D-count (clause 10.2), as in _count_su
        if self._su_count >= SUERM_D:
            self._su_count = 0
            self._cs = max(0, self._cs - 1)
        ev = _KIND_EVENT[kind]
        lsc = self.lsc
        st = lsc.state
        if st is LinkState.INITIAL_ALIGNMENT:
            self.iac.fire_if(ev)
            return
        if st is not LinkState.IN_SERVICE or kind >= 0:   # in service, FISU/MSU is a no-op row
            lsc.fire_if(ev)
            st = lsc.state
        if st is LinkState.IN_SERVICE or st is LinkState.PROCESSOR_OUTAGE:
            self._bec_receive(h & 0x7F, h >> 7, f & 0x7F, f >> 7, kind, sio, sif, now)

    def su_error(self, now: float) -> None:
        """An errored signal unit (bad FCS, abort, bad length): AERM / SUERM count it (clause 10)."""
        self._now = now
        self.counters["su_errors"] += 1
        if self.iac.state is IacState.PROVING:
            self._ca += 1
            if self._ca >= (AERM_TIE if self._t4_emergency else AERM_TIN):
                self.iac.fire("aerm")
        elif self.lsc.state in (LinkState.IN_SERVICE, LinkState.PROCESSOR_OUTAGE, LinkState.ALIGNED_READY):
            self._count_su()
            self._cs += 1
            if self._cs >= SUERM_T:
                self.lsc.fire("link_failure", "SUERM threshold")

    def data_to_send(self, now: float) -> list[bytes]:
        """Frames (without FCS) to transmit now: retransmissions, new MSUs, and the fill-in
        (FISU or LSSU) when it changed or ``fill_interval`` passed."""
        self._now = now
        running = self.timers.running
        if self._restart_at is not None or (running and min(running.values()) <= now):
            self.handle_timer(now)
        if self._out:
            out = list(self._out)
            self._out.clear()
        else:
            out = []
        if self.lsc.state is LinkState.IN_SERVICE and (self._tb or self._retx):
            out += self._bec_transmit(now)
        fill = self._fill_octets()
        if out and self._fill is None:
            self._last_fill, self._last_fill_at = fill, now  # MSUs carry the same BSN/BIB
        elif fill != self._last_fill or now - self._last_fill_at >= self.fill_interval:
            out.append(fill)
            self._last_fill, self._last_fill_at = fill, now
        self.counters["tx"] += len(out)
        return out

    def timer_deadline(self) -> float | None:
        d = self.timers.deadline()
        if self._restart_at is not None:
            d = self._restart_at if d is None else min(d, self._restart_at)
        return d

    def handle_timer(self, now: float) -> None:
        self._now = now
        running = self.timers.running
        due = self.timers.expired(now) if running and min(running.values()) <= now else ()
        for name in due:
            if name in ("T2", "T3", "T4"):
                if self.iac.allowed(name):
                    self.iac.fire(name)
            elif name == "T1":
                self.lsc.fire("T1")
            elif name == "T7":
                self.lsc.fire("link_failure", "T7 expired (excessive delay of acknowledgement)")
            elif name == "T6":
                self.lsc.fire("link_failure", "T6 expired (remote congestion)")
            elif name == "T5" and self._busy:
                self._out.append(self._lssu_octets(Status.SIB))
                self.timers.start("T5", now)
        if self._restart_at is not None and now >= self._restart_at:
            self._restart_at = None
            if self._started and self.lsc.state is LinkState.OUT_OF_SERVICE:
                self.lsc.fire("start")

    def set_busy(self, on: bool, now: float) -> None:
        """Local level 2 congestion: send SIB every T5 (clause 9)."""
        self._busy = on
        if on:
            self._out.append(self._lssu_octets(Status.SIB))
            self.timers.start("T5", now)
        else:
            self.timers.stop("T5")

    # ---- LSC actions -----------------------------------------------------------------
    def _lsc_start(self) -> None:
        self.iac.fire("start")

    def _lsc_aligned(self) -> None:
        self._reset_bec()
        self._cs = self._su_count = 0
        self.timers.start("T1", self._now)
        self._fill = Status.SIPO if self.local_po else None

    def _lsc_in_service(self) -> None:
        self.timers.stop("T1")
        self._events.append(Mtp2Event("in_service", self._now))
        self._update_fill()

    def _lsc_remote_po(self) -> None:
        self.timers.stop("T1")
        self._events.append(Mtp2Event("remote_processor_outage", self._now))

    def _lsc_remote_po_end(self) -> None:
        self._events.append(Mtp2Event("remote_processor_recovered", self._now))

    def _lsc_fail(self, reason: str = "") -> None:
        if not reason:
            reason = f"{self.lsc.last_event} in {self.lsc.last_from.value}"
        self.counters["failures"] += 1
        self._down(reason)
        if self._started and self.auto_restart is not None:
            self._restart_at = self._now + self.auto_restart

    def _lsc_stop(self) -> None:
        self._down("stopped")

    def _down(self, reason: str) -> None:
        if self.iac.state is not IacState.IDLE:
            self.iac.fire("stop")
        self.timers.stop_all()
        self._fill = Status.SIOS
        self._events.append(Mtp2Event("out_of_service", self._now, reason=reason))

    # ---- IAC actions (clause 7) ------------------------------------------------------
    def _iac_start(self) -> None:
        self._further_emergency = False
        self._attempts = 0
        self._fill = Status.SIO
        self.timers.start("T2", self._now)

    def _iac_aligned(self) -> None:
        self.timers.stop("T2")
        self._fill = Status.SIE if self.emergency else Status.SIN
        self.timers.start("T3", self._now)

    def _iac_aligned_prove(self) -> None:
        self.timers.stop("T2")
        self._fill = Status.SIE if self.emergency else Status.SIN
        self._iac_prove()

    def _iac_aligned_prove_e(self) -> None:
        self._further_emergency = True
        self._iac_aligned_prove()

    def _iac_prove(self) -> None:
        self.timers.stop("T3")
        self._t4_emergency = self.emergency or self._further_emergency
        self._ca = 0
        self.timers.start("T4", self._now, self.timers.values["T4E" if self._t4_emergency else "T4N"])

    def _iac_prove_e(self) -> None:
        self._further_emergency = True
        self._iac_prove()

    def _iac_reprove(self) -> None:
        self.timers.stop("T4")
        self.timers.start("T3", self._now)

    def _iac_go_emergency(self) -> None:
        if not self._t4_emergency:
            self._further_emergency = True
            self._iac_prove()

    def _iac_abort_proving(self) -> None:
        self.counters["proving_aborts"] += 1
        self._attempts += 1
        if self._attempts >= PROVING_ATTEMPTS:
            self.timers.stop("T4")
            self.lsc.fire("alignment_not_possible", f"proving failed {PROVING_ATTEMPTS} times")
            return
        self._ca = 0
        self.timers.start("T4", self._now, self.timers.values["T4E" if self._t4_emergency else "T4N"])

    def _iac_complete(self) -> None:
        self.lsc.fire("alignment_complete")

    def _iac_fail(self) -> None:
        ev, before = self.iac.last_event, self.iac.last_from
        self.timers.stop("T2")
        self.timers.stop("T3")
        self.lsc.fire("alignment_not_possible", f"alignment not possible: {ev} in {before.value}")

    def _iac_stop(self) -> None:
        for t in ("T2", "T3", "T4"):
            self.timers.stop(t)

    # ---- basic error correction (clause 5) ---------------------------------------------
    def _reset_bec(self) -> None:
        self._fsn_last = 127          # last FSN assigned (5.2.1)
        self._fib = 1
        self._acked = 127             # last positively acknowledged FSN
        self._rtb: list[tuple[int, int, bytes]] = []   # (fsn, sio, sif) retransmission buffer
        if not hasattr(self, "_tb"):
            self._tb: deque[tuple[int, bytes]] = deque()
        self._retx: list[tuple[int, int, bytes]] = []
        self._rx_last = 127           # last accepted FSN
        self._bib = 1
        self._nack_pending = False
        self._bad_bsn = 0
        self._bad_fib = 0
        self._busy = False
        self._t4_emergency = False

    def _bec_receive(self, bsn: int, bib: int, fsn: int, fib: int, kind: int, sio: int, sif: bytes,
                     now: float) -> None:
        # acknowledgements (5.3): BSN/BIB of every SU
        acked = self._acked
        if (bsn - acked) % 128 > (self._fsn_last - acked) % 128:
            self._bad_bsn += 1
            if self._bad_bsn >= 2:
                self.lsc.fire("link_failure", "abnormal BSN received twice")
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
            if kind == Status.SIB and not self.timers.is_running("T6"):
                self.timers.start("T6", now)
            return
        if fib != self._bib:
            if kind == MSU_KIND:
                self.counters["discarded"] += 1
            return
        nxt = (self._rx_last + 1) % 128
        if kind == MSU_KIND and fsn == nxt:
            self._rx_last = nxt
            self._nack_pending = False
            self._events.append(Mtp2Event("msu", now, sio, sif))
        elif fsn != self._rx_last:
            # a gap: an MSU was lost; ask for retransmission once (NACK by inverting BIB)
            if kind == MSU_KIND:
                self.counters["discarded"] += 1
            if not self._nack_pending:
                self._bib ^= 1
                self._nack_pending = True
                self.counters["nacks_sent"] += 1
        elif kind == MSU_KIND:
            self.counters["discarded"] += 1   # duplicate

    def _bec_transmit(self, now: float) -> list[bytes]:
        out = []
        rx_last, bib, fib = self._rx_last, self._bib, self._fib
        if self._retx:
            for fsn, sio, sif in self._retx:
                out.append(msu_octets(rx_last, bib, fsn, fib, sio, sif))
                self.counters["retransmitted"] += 1
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
    def _lssu_octets(self, st: int) -> bytes:
        return bytes(((self._bib << 7) | self._rx_last, (self._fib << 7) | self._fsn_last, 1, st))

    def _fill_octets(self) -> bytes:
        """The fill-in signal unit now: FISU, or the LSSU of ``_fill`` (Q.703 clause 5.2)."""
        if self._fill is None:
            return bytes(((self._bib << 7) | self._rx_last, (self._fib << 7) | self._fsn_last, 0))
        return self._lssu_octets(self._fill)

    def _update_fill(self) -> None:
        if self.lsc.state in (LinkState.ALIGNED_READY, LinkState.IN_SERVICE, LinkState.PROCESSOR_OUTAGE):
            self._fill = Status.SIPO if self.local_po else None

    def _count_su(self) -> None:
        self._su_count += 1
        if self._su_count >= SUERM_D:
            self._su_count = 0
            self._cs = max(0, self._cs - 1)
