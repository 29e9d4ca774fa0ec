"""One MTP2 signalling link terminal (Q.703), sans-IO.

Feed received signal units with :meth:`Mtp2Link.receive` (and errored ones with
:meth:`su_error`), pull what to transmit with :meth:`data_to_send`, read
:meth:`events`. Time is passed in; :meth:`timer_deadline` says when to call
:meth:`handle_timer`. Link state control (clause 12, Figure 8) and initial alignment
control (clause 7, Figure 9) are transition tables; basic error correction (clause 5)
runs in the in-service core (:mod:`.bec`: compiled ``bec_c`` or its twin ``bec_py``), the
AERM/SUERM monitors (clause 10) and processor outage (clause 8) here beside the tables.
"""
from __future__ import annotations

from collections import deque
from functools import lru_cache
from types import ModuleType
from typing import Any

from _boardcore import _select
from cti.signaling.fsm import ANY, TableFSM
from cti.signaling.timers import Timers

from .._fsm import BoundedFSM
from .codec import Status
from .states import FILL_FISU, IacState, LinkState
from .timers import AERM_TIE, AERM_TIN, MTP2_TIMERS, PROVING_ATTEMPTS, SUERM_D, SUERM_T

#: dotted prefix of the in-service core (``bec_c`` compiled, ``bec_py`` twin)
CORE = "cti.signaling.ss7.mtp2.bec"

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

class LinkControl:
    """Link state control, initial alignment control, AERM/SUERM and processor outage of one
    signalling link terminal; mixed with an in-service core (:class:`bec_py.LinkCore` or its
    compiled twin) by :func:`link_class`."""

    Event: type   #: the core's Mtp2Event class

    def __init__(self, *, timers: dict[str, float] | None = None, emergency: bool = False,
                 auto_restart: float | None = 1.0, fill_interval: float = 0.02, name: str = "link") -> None:
        super().__init__(Timers(MTP2_TIMERS, timers))
        self.fill_interval = fill_interval      #: repeat the fill-in at least this often
        self._events: list = []
        self._fill = int(Status.SIOS)           # FILL_FISU: a FISU
        self._last_fill: bytes = b""
        self._last_fill_at = -1e9
        self._out: deque[bytes] = deque()
        self._restart_at = _NEVER               # when to realign after a failure
        self._now = 0.0
        self._tb: deque[tuple[int, bytes]] = deque()   # transmission buffer (clause 5.2.1)
        self._cs = 0                            # SUERM count (clause 10.2)
        self._su_count = 0
        self._reset_bec()
        self.name = name
        self.emergency = emergency              #: local emergency (MTP3 asks: last link of a linkset)
        self.auto_restart = auto_restart        #: restart alignment this long after a failure; None: stay down
        self.lsc: TableFSM[LinkState] = BoundedFSM(f"{name}.LSC", LSC_TABLE, LinkState.OUT_OF_SERVICE, self)
        self.iac: TableFSM[IacState] = BoundedFSM(f"{name}.IAC", IAC_TABLE, IacState.IDLE, self)
        self._started = False
        self.local_po = False
        self._t4_emergency = False
        self._further_emergency = False
        self._ca = 0
        self._attempts = 0

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
        self._restart_at = _NEVER
        self._now = now
        if self.lsc.state is LinkState.OUT_OF_SERVICE:
            self.lsc.fire("start")

    def stop(self, now: float) -> None:
        """Take the link out of service (sends SIOS) and keep it down."""
        self._started = False
        self._restart_at = _NEVER
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

    @property
    def unacknowledged(self) -> int:
        """MSUs sent and not yet acknowledged (the retransmission buffer, clause 5.2.1)."""
        return len(self._rtb)

    def events(self) -> list:
        """What happened since the last call: Mtp2Event ``in_service``, ``out_of_service``
        (reason), ``msu`` (sio, sif), ``remote_processor_outage``, ``remote_processor_recovered``."""
        ev, self._events = self._events, []
        return ev

    # ---- line side -------------------------------------------------------------------
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

    def timer_deadline(self) -> float | None:
        d = self.timers.deadline()
        if self._restart_at != _NEVER:
            d = self._restart_at if d is None else min(d, self._restart_at)
        return d

    def _timers_due(self, now: float) -> None:
        """Timers expired at ``now`` (the core's ``handle_timer`` calls this when one is due)."""
        for name in self.timers.expired(now):
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
        if now >= self._restart_at:
            self._restart_at = _NEVER
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
        self._t4_emergency = False
        self._cs = self._su_count = 0
        self.timers.start("T1", self._now)
        self._fill = Status.SIPO if self.local_po else FILL_FISU

    def _lsc_in_service(self) -> None:
        self.timers.stop("T1")
        self._events.append(self.Event("in_service", self._now))
        self._update_fill()

    def _lsc_remote_po(self) -> None:
        self.timers.stop("T1")
        self._events.append(self.Event("remote_processor_outage", self._now))

    def _lsc_remote_po_end(self) -> None:
        self._events.append(self.Event("remote_processor_recovered", self._now))

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
        self._events.append(self.Event("out_of_service", self._now, reason=reason))

    # ---- basic error correction state (clause 5; the core runs it) ----------------------
    def _reset_bec(self) -> None:
        self._fsn_last = 127          # last FSN assigned (5.2.1)
        self._fib = 1
        self._acked = 127             # last positively acknowledged FSN
        self._rtb: list[tuple[int, int, bytes]] = []   # (fsn, sio, sif) retransmission buffer
        self._retx: list[tuple[int, int, bytes]] = []
        self._rx_last = 127           # last accepted FSN
        self._bib = 1
        self._nack_pending = False
        self._bad_bsn = 0
        self._bad_fib = 0
        self._busy = False

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

    def _lssu_octets(self, st: int) -> bytes:
        return bytes(((self._bib << 7) | self._rx_last, (self._fib << 7) | self._fsn_last, 1, st))

    def _fill_in(self, out: list, now: float) -> None:
        """The fill-in of :meth:`data_to_send` (both cores): after MSUs a FISU is not sent (they
        carry the same BSN/BIB); otherwise the FISU or LSSU is appended when it changed or
        ``fill_interval`` passed (Q.703 5.2.1, 7.2: repeated while there is nothing else)."""
        fill = self._fill_octets()
        if out and self._fill == FILL_FISU:
            self._last_fill, self._last_fill_at = fill, now
        elif fill != self._last_fill or now - self._last_fill_at >= self.fill_interval:
            out.append(fill)
            self._last_fill, self._last_fill_at = fill, now

    def _update_fill(self) -> None:
        if self.lsc.state in (LinkState.ALIGNED_READY, LinkState.IN_SERVICE, LinkState.PROCESSOR_OUTAGE):
            self._fill = Status.SIPO if self.local_po else FILL_FISU

    def _count_su(self) -> None:
        self._su_count += 1
        if self._su_count >= SUERM_D:
            self._su_count = 0
            self._cs = max(0, self._cs - 1)


_NEVER = float("inf")


def _between(a: int, x: int, b: int) -> bool:
    """``x`` in the cyclic range a..b (7-bit sequence numbers)."""
    return (x - a) % 128 <= (b - a) % 128


@lru_cache(maxsize=None)
def link_class(core: ModuleType) -> type:
    """The link class built on ``core`` (the compiled ``bec_c`` or the twin ``bec_py``)."""
    return type("Mtp2Link", (LinkControl, core.LinkCore),
                {"__module__": __name__, "__doc__": "A signalling link terminal: LSC + IAC + basic "
                 "error correction + error monitors (Q.703).", "Event": core.Mtp2Event})


#: The live implementation (compiled core unless BOARDCORE_NO_EXTENSIONS=1 or not built).
Mtp2Link = link_class(_select.load(CORE))
Mtp2Event = Mtp2Link.Event
