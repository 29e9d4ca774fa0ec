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

from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, ClassVar

from _boardcore import _select
from cti.signaling.engine import ANY, Machine, Row, Table
from cti.signaling.timers import Timers

from .codec import Status
from .states import FILL_FISU, IacEvent, IacState, LinkState, LscEvent, Su
from .timers import AERM_TIE, AERM_TIN, MTP2_TIMERS, PROVING_ATTEMPTS, SUERM_D, SUERM_T

#: dotted prefix of the in-service core (``bec_c`` compiled, ``bec_py`` twin)
CORE = "cti.signaling.ss7.mtp2.bec"

_L, _I, _E, _X = LinkState, IacState, LscEvent, IacEvent
_T4 = ("T4N", "T4E")

if TYPE_CHECKING:    # the checker sees the control on its twin core; at run time it is a mixin
    from .bec_py import LinkCore as _Core
else:
    _Core = object


class LinkControl(_Core):
    """Link state control, initial alignment control, AERM/SUERM and processor outage of one
    signalling link terminal; mixed with an in-service core (:class:`bec_py.LinkCore` or its
    compiled twin) by :func:`link_class`. ``lsc`` and ``iac`` are machines of the one engine
    over :data:`LSC_TABLE` and :data:`IAC_TABLE` (they own T1-T4); the core's timers
    (``timers``: T5, T6, T7) belong to basic error correction and congestion."""

    Event: ClassVar[type[Mtp2Event]]   #: the core's Mtp2Event class

    def __init__(self, *, timers: dict[str, float] | None = None, emergency: bool = False,
                 auto_restart: float | None = 1.0, fill_interval: float = 0.02, name: str = "link",
                 trace: int = 0) -> None:
        overrides = timers or {}
        core_timers = {k: MTP2_TIMERS[k] for k in ("T5", "T6", "T7")}
        unknown = set(overrides) - set(MTP2_TIMERS)
        if unknown:
            raise ValueError(f"unknown timer {sorted(unknown)[0]!r}; known: {', '.join(sorted(MTP2_TIMERS))}")
        super().__init__(Timers(core_timers, {k: v for k, v in overrides.items() if k in core_timers}))
        self.fill_interval = fill_interval      #: repeat the fill-in at least this often
        self._fill = int(Status.SIOS)           # out of service: SIOS (FILL_FISU: a FISU)
        self.name = name
        self.emergency = emergency              #: local emergency (MTP3 asks: last link of a linkset)
        self.auto_restart = auto_restart        #: restart alignment this long after a failure; None: stay down
        self.lsc = Machine(
            LSC_TABLE, self, name=f"{name}.LSC", trace=trace,
            timer_values={k: v for k, v in overrides.items() if k in LSC_TABLE.timers})
        self.iac = Machine(
            IAC_TABLE, self, name=f"{name}.IAC", trace=trace,
            timer_values={k: v for k, v in overrides.items() if k in IAC_TABLE.timers})
        self._started = False
        self.local_po = False
        self._t4_emergency = False
        self._further_emergency = False
        self._ca = 0
        self._attempts = 0

    # ---- user side -------------------------------------------------------------------
    @property
    def state(self) -> LinkState:
        return self.lsc.state  # type: ignore[no-any-return]

    @property
    def in_service(self) -> bool:
        return self.lsc.state is LinkState.IN_SERVICE

    def start(self, now: float) -> None:
        """Start initial alignment (Q.703 12.2, MTP3 'start')."""
        self._started = True
        self._restart_at = _NEVER
        self._now = now
        if self.lsc.state is LinkState.OUT_OF_SERVICE:
            self.lsc.fire(_E.START, None, now)

    def stop(self, now: float) -> None:
        """Take the link out of service (sends SIOS) and keep it down."""
        self._started = False
        self._restart_at = _NEVER
        self._now = now
        self.lsc.fire(_E.STOP, None, now)

    def line_fault(self, now: float, reason: str) -> None:
        """The bearer failed (LOS/AIS/LOF on the span): a link failure (Q.703 12.1 via the
        octet-counting mode of clause 10.2), then realignment attempts (T2) until it heals."""
        self._now = now
        if self.lsc.state is not LinkState.OUT_OF_SERVICE:
            self.lsc.fire(_E.LINK_FAILURE, reason, now)

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

    def events(self) -> list[Mtp2Event]:
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
                self.iac.fire(_X.AERM, None, now)
        elif self.lsc.state in (LinkState.IN_SERVICE, LinkState.PROCESSOR_OUTAGE, LinkState.ALIGNED_READY):
            self._count_su()
            self._cs += 1
            if self._cs >= SUERM_T:
                self.lsc.fire(_E.LINK_FAILURE, "SUERM threshold", now)

    def timer_deadline(self) -> float | None:
        ds = [d for d in (self.timers.deadline(), self.lsc.deadline(), self.iac.deadline()) if d is not None]
        if self._restart_at != _NEVER:
            ds.append(self._restart_at)
        return min(ds, default=None)

    def _timers_due(self, now: float) -> None:
        """Timers expired at ``now`` (the core's ``handle_timer`` calls this when one may be due)."""
        for name in self.timers.expired(now):
            if name == "T7":
                self.lsc.fire(_E.LINK_FAILURE, "T7 expired (excessive delay of acknowledgement)", now)
            elif name == "T6":
                self.lsc.fire(_E.LINK_FAILURE, "T6 expired (remote congestion)", now)
            elif name == "T5" and self._busy:
                self._out.append(self._lssu_octets(Status.SIB))
                self.timers.start("T5", now)
        if self.iac.running:
            self.iac.handle_timer(now)
        if self.lsc.running:
            self.lsc.handle_timer(now)
        if now >= self._restart_at:
            self._restart_at = _NEVER
            if self._started and self.lsc.state is LinkState.OUT_OF_SERVICE:
                self.lsc.fire(_E.START, None, now)

    def set_busy(self, on: bool, now: float) -> None:
        """Local level 2 congestion: send SIB every T5 (clause 9)."""
        self._busy = on
        if on:
            self._out.append(self._lssu_octets(Status.SIB))
            self.timers.start("T5", now)
        else:
            self.timers.stop("T5")

    # ---- LSC actions (clause 12; called (link, message, now) by the engine) ---------------
    def _lsc_start(self, m: object, now: float) -> None:
        self.iac.fire(_X.START, None, now)

    def _lsc_aligned(self, m: object, now: float) -> None:
        self._reset_bec()
        self._t4_emergency = False
        self._cs = self._su_count = 0
        self._fill = Status.SIPO if self.local_po else FILL_FISU

    def _lsc_in_service(self, m: object, now: float) -> None:
        self._events.append(self.Event("in_service", now))
        self._update_fill()

    def _lsc_remote_po(self, m: object, now: float) -> None:
        self._events.append(self.Event("remote_processor_outage", now))

    def _lsc_remote_po_end(self, m: object, now: float) -> None:
        self._events.append(self.Event("remote_processor_recovered", now))

    def _lsc_fail(self, m: object, now: float) -> None:
        """Out of service: ``m`` is the reason, the signal unit received, or "T1" (expired)."""
        reason = (f"{m.value} received" if isinstance(m, Su) else "T1 expired" if m == "T1"
                  else str(m or "link failure"))
        self.counters["failures"] += 1
        self._down(reason, now)
        if self._started and self.auto_restart is not None:
            self._restart_at = now + self.auto_restart

    def _lsc_stop(self, m: object, now: float) -> None:
        self._down("stopped", now)

    def _down(self, reason: str, now: float) -> None:
        if self.iac.state is not IacState.IDLE:
            self.iac.fire(_X.STOP, None, now)
        self.timers.stop_all()
        self._fill = Status.SIOS
        self._events.append(self.Event("out_of_service", now, reason=reason))

    # ---- IAC guards and actions (clause 7) --------------------------------------------
    def _emergency_proving(self, m: object) -> bool:
        """Proving would use the emergency period Pe (local or far-end emergency)."""
        return self.emergency or self._further_emergency

    def _proving_normally(self, m: object) -> bool:
        return not self._t4_emergency

    def _proving_emergency(self, m: object) -> bool:
        return self._t4_emergency

    def _last_attempt(self, m: object) -> bool:
        return self._attempts + 1 >= PROVING_ATTEMPTS

    def _iac_start(self, m: object, now: float) -> None:
        self._further_emergency = False
        self._attempts = 0
        self._fill = Status.SIO

    def _iac_aligned(self, m: object, now: float) -> None:
        self._fill = Status.SIE if self.emergency else Status.SIN

    def _iac_prove(self, m: object, now: float) -> None:
        """Proving starts (the row started T4 with Pn or Pe, by the same guard as here)."""
        self._fill = Status.SIE if self.emergency else Status.SIN
        self._t4_emergency = self.emergency or self._further_emergency
        self._ca = 0

    def _iac_prove_e(self, m: object, now: float) -> None:
        self._further_emergency = True
        self._iac_prove(m, now)

    def _iac_reprove(self, m: object, now: float) -> None:
        """SIO while proving: aligned again (T3 on entry)."""

    def _iac_abort_proving(self, m: object, now: float) -> None:
        """AERM threshold: proving again (the row restarts T4), up to PROVING_ATTEMPTS times."""
        self.counters["proving_aborts"] += 1
        self._attempts += 1
        self._ca = 0

    def _iac_give_up(self, m: object, now: float) -> None:
        self.counters["proving_aborts"] += 1
        self._attempts += 1
        self.lsc.fire(_E.ALIGNMENT_NOT_POSSIBLE, f"proving failed {PROVING_ATTEMPTS} times", now)

    def _iac_complete(self, m: object, now: float) -> None:
        self.lsc.fire(_E.ALIGNMENT_COMPLETE, None, now)

    def _iac_fail(self, m: object, now: float) -> None:
        why = f"{m.value} received" if isinstance(m, Su) else f"{m} expired"
        self.lsc.fire(_E.ALIGNMENT_NOT_POSSIBLE, f"alignment not possible: {why}", now)

    def _lssu_octets(self, st: int) -> bytes:
        return bytes(((self._bib << 7) | self._rx_last, (self._fib << 7) | self._fsn_last, 1, st))

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


# ---- the tables ------------------------------------------------------------------------------
_LC = LinkControl
_RX_FAIL = (Su.SIO, Su.SIN, Su.SIE, Su.SIOS)

#: Link state control, Q.703 clause 12 / Figure 8.
LSC_TABLE = Table("mtp2 lsc", _L.OUT_OF_SERVICE, (
    Row(_L.OUT_OF_SERVICE, _E.START, _L.INITIAL_ALIGNMENT, _LC._lsc_start, clause="Q.703 12.2"),
    Row(_L.OUT_OF_SERVICE, _E.STOP, None, None),
    Row(_L.INITIAL_ALIGNMENT, _E.ALIGNMENT_COMPLETE, _L.ALIGNED_READY, _LC._lsc_aligned, clause="Q.703 12.2"),
    Row(_L.INITIAL_ALIGNMENT, _E.ALIGNMENT_NOT_POSSIBLE, _L.OUT_OF_SERVICE, _LC._lsc_fail, clause="Q.703 12.2"),
    Row(_L.ALIGNED_READY, Su.FISU, _L.IN_SERVICE, _LC._lsc_in_service, clause="Q.703 12.2"),
    Row(_L.ALIGNED_READY, Su.MSU, _L.IN_SERVICE, _LC._lsc_in_service, clause="Q.703 12.2"),
    Row(_L.ALIGNED_READY, Su.SIN, None, None, clause="far end still proving"),
    Row(_L.ALIGNED_READY, Su.SIE, None, None, clause="far end still proving"),
    Row(_L.ALIGNED_READY, Su.SIO, _L.OUT_OF_SERVICE, _LC._lsc_fail, clause="Q.703 12.2"),
    Row(_L.ALIGNED_READY, Su.SIOS, _L.OUT_OF_SERVICE, _LC._lsc_fail, clause="Q.703 12.2"),
    Row(_L.ALIGNED_READY, Su.SIPO, _L.PROCESSOR_OUTAGE, _LC._lsc_remote_po, clause="Q.703 8"),
    Row(_L.ALIGNED_READY, _E.T1, _L.OUT_OF_SERVICE, _LC._lsc_fail, clause="Q.703 12.3 T1"),
    Row(_L.IN_SERVICE, Su.FISU, None, None),
    Row(_L.IN_SERVICE, Su.MSU, None, None),
    Row(_L.IN_SERVICE, Su.SIB, None, None, clause="Q.703 9 (the core runs T6)"),
    Row(_L.IN_SERVICE, Su.SIPO, _L.PROCESSOR_OUTAGE, _LC._lsc_remote_po, clause="Q.703 8"),
    Row(_L.PROCESSOR_OUTAGE, Su.FISU, _L.IN_SERVICE, _LC._lsc_remote_po_end, clause="Q.703 8"),
    Row(_L.PROCESSOR_OUTAGE, Su.MSU, _L.IN_SERVICE, _LC._lsc_remote_po_end, clause="Q.703 8"),
    Row(_L.PROCESSOR_OUTAGE, Su.SIPO, None, None),
    Row(_L.PROCESSOR_OUTAGE, Su.SIB, None, None),
    *(Row(s, e, _L.OUT_OF_SERVICE, _LC._lsc_fail, clause="Q.703 12.2")
      for s in (_L.IN_SERVICE, _L.PROCESSOR_OUTAGE) for e in _RX_FAIL),
    Row(ANY, _E.LINK_FAILURE, _L.OUT_OF_SERVICE, _LC._lsc_fail, clause="Q.703 12.1"),
    Row(ANY, _E.STOP, _L.OUT_OF_SERVICE, _LC._lsc_stop, clause="Q.703 12.2"),
), timers={"T1": MTP2_TIMERS["T1"]}, entry={_L.ALIGNED_READY: ("T1",)}, expiry={"T1": _E.T1})

#: Initial alignment control, Q.703 clause 7.3 / Figure 9. Proving runs T4 with the normal
#: period Pn (T4N) or the emergency period Pe (T4E): guarded rows choose.
IAC_TABLE = Table("mtp2 iac", _I.IDLE, (
    Row(_I.IDLE, _X.START, _I.NOT_ALIGNED, _LC._iac_start, clause="Q.703 7.3"),
    Row(_I.NOT_ALIGNED, Su.SIO, _I.ALIGNED, _LC._iac_aligned, clause="Q.703 7.3"),
    # SIN/SIE: the far end is aligned already; on a continuous stream the next SU is SIN/SIE
    # again and we would prove one SU later, so prove now (what libss7 does too, and needed
    # on transports that send a status only when it changes)
    Row(_I.NOT_ALIGNED, Su.SIN, _I.PROVING, _LC._iac_prove, _LC._emergency_proving, start=("T4E",)),
    Row(_I.NOT_ALIGNED, Su.SIN, _I.PROVING, _LC._iac_prove, start=("T4N",)),
    Row(_I.NOT_ALIGNED, Su.SIE, _I.PROVING, _LC._iac_prove_e, start=("T4E",)),
    Row(_I.NOT_ALIGNED, Su.SIOS, None, None),
    Row(_I.NOT_ALIGNED, _X.T2, _I.IDLE, _LC._iac_fail, clause="Q.703 7.3 T2"),
    Row(_I.ALIGNED, Su.SIO, None, None),
    Row(_I.ALIGNED, Su.SIN, _I.PROVING, _LC._iac_prove, _LC._emergency_proving, start=("T4E",)),
    Row(_I.ALIGNED, Su.SIN, _I.PROVING, _LC._iac_prove, start=("T4N",), clause="Q.703 7.3"),
    Row(_I.ALIGNED, Su.SIE, _I.PROVING, _LC._iac_prove_e, start=("T4E",), clause="Q.703 7.3"),
    Row(_I.ALIGNED, Su.SIOS, _I.IDLE, _LC._iac_fail, clause="Q.703 7.3"),
    Row(_I.ALIGNED, _X.T3, _I.IDLE, _LC._iac_fail, clause="Q.703 7.3 T3"),
    Row(_I.PROVING, Su.SIO, _I.ALIGNED, _LC._iac_reprove, stop=_T4, clause="Q.703 7.3"),
    Row(_I.PROVING, Su.SIN, None, None),
    Row(_I.PROVING, Su.SIE, None, _LC._iac_prove_e, _LC._proving_normally, stop=_T4, start=("T4E",),
        clause="Q.703 7.3: far end in emergency"),
    Row(_I.PROVING, Su.SIE, None, None),
    Row(_I.PROVING, Su.SIOS, _I.IDLE, _LC._iac_fail, stop=_T4, clause="Q.703 7.3"),
    Row(_I.PROVING, Su.FISU, None, None, clause="far end finished proving first"),
    Row(_I.PROVING, _X.T4, _I.IDLE, _LC._iac_complete, stop=_T4, clause="Q.703 7.3 T4"),
    Row(_I.PROVING, _X.AERM, None, _LC._iac_give_up, _LC._last_attempt, stop=_T4, clause="Q.703 7.3 M"),
    Row(_I.PROVING, _X.AERM, None, _LC._iac_abort_proving, _LC._proving_emergency, stop=_T4, start=("T4E",),
        clause="Q.703 10.3"),
    Row(_I.PROVING, _X.AERM, None, _LC._iac_abort_proving, stop=_T4, start=("T4N",), clause="Q.703 10.3"),
    Row(ANY, _X.STOP, _I.IDLE, None, stop=_T4, clause="Q.703 7.3"),
), timers={k: MTP2_TIMERS[k] for k in ("T2", "T3", "T4N", "T4E")},
    entry={_I.NOT_ALIGNED: ("T2",), _I.ALIGNED: ("T3",)},
    expiry={"T2": _X.T2, "T3": _X.T3, "T4N": _X.T4, "T4E": _X.T4})


@cache
def link_class(core: ModuleType) -> type[LinkControl]:
    """The link class built on ``core`` (the compiled ``bec_c`` or the twin ``bec_py``)."""
    cls: type[LinkControl] = type("Mtp2Link", (LinkControl, core.LinkCore), {
        "__module__": __name__, "Event": core.Mtp2Event,
        "__doc__": "A signalling link terminal: LSC + IAC + basic error correction + error monitors (Q.703)."})
    return cls


#: The live implementation (compiled core unless BOARDCORE_NO_EXTENSIONS=1 or not built).
Mtp2Link = link_class(_select.load(CORE))
if TYPE_CHECKING:
    from .bec_py import Mtp2Event as Mtp2Event
else:
    Mtp2Event = Mtp2Link.Event
