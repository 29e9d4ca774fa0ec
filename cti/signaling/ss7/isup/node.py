"""ISUP signalling for the circuits to one adjacent exchange (Q.764), sans-IO.

:meth:`IsupNode.receive` takes the user part octets of an MTP-TRANSFER indication;
:meth:`messages` gives ``(cic, octets)`` to send (SLS = CIC's low bits); :meth:`events`
gives :class:`IsupEvent`. Call control is the table in :mod:`.call`, run per message by
``CallControl`` (compiled ``control_c`` when built, else its twin :mod:`.control_py`);
this class adds the user requests, circuit and circuit-group supervision (blocking, reset,
Q.764 2.8/2.9), malformed-message handling (2.9.5: CFN for an unknown message, discard for
a format error, UCIC for an unequipped CIC) and the rarer call actions.
"""
from __future__ import annotations

from types import ModuleType
from typing import Any

from _boardcore import _select
from cti.signaling.causes import Cause
from cti.signaling.errors import DecodeError, LocalProtocolError

from .call import BCI_ACM, BCI_CON, BUSY_STATES, IAM_DEFAULTS, CallState, IsupEvent
from .codec import IsupMessage, MessageType, UnknownMessage
from .params import CauseInd, RangeStatus
from .timers import ISUP_TIMERS

__all__ = ["IsupNode", "IsupEvent", "IAM_DEFAULTS", "BCI_ACM", "BCI_CON", "IMPLEMENTATION", "node_class",
           "GLARE_REASON"]

_control = _select.load("cti.signaling.ss7.isup.control")
#: reason of the ``glare`` and ``released`` events of our call that backed off on dual seizure
GLARE_REASON = "dual seizure (glare), backed off"
#: "compiled" or "python": which call control runs the per-message path.
IMPLEMENTATION = "compiled" if _control.__name__.endswith("_c") else "python"
M = MessageType
Circuit = Any    # control_py.CircuitCtl or control_c.Circuit: the same attributes


class _NodeMixin:
    """What :class:`IsupNode` adds to ``CallControl``: requests and rare paths, in Python."""

    circuits: dict[int, Circuit]
    counters: dict[str, int]
    _c: Circuit
    _m: IsupMessage | None
    _now: float

    def __init__(self, cics: list[int], opc: int, dpc: int, *, timers: dict[str, float] | None = None,
                 name: str = "isup") -> None:
        if len(set(cics)) != len(cics) or not all(0 <= c <= 0xFFF for c in cics):
            raise ValueError("CICs must be distinct, 0..4095")
        super().__init__(list(cics), opc, dpc, {k: v for k, v in (timers or {}).items() if k in ISUP_TIMERS}, name)
        self._groups: dict[tuple[str, int], tuple[int, bytes | None]] = {}  # (kind, first) -> (range, status)

    # ---- user requests ------------------------------------------------------------------
    def reset(self, cic: int, now: float) -> None:
        """Circuit reset (Q.764 2.9.3.1): RSC, T16."""
        self._fire(self._circuit(cic), "reset", now)

    def block(self, cic: int, now: float) -> None:
        """Maintenance blocking (Q.764 2.8.2.1): BLO until BLA (T12)."""
        c = self._circuit(cic)
        self._now = now
        self._tx(M.BLO, cic)
        c.timers.start("T12", now)

    def unblock(self, cic: int, now: float) -> None:
        c = self._circuit(cic)
        self._now = now
        self._tx(M.UBL, cic)
        c.timers.start("T14", now)

    def group_reset(self, first: int, count: int, now: float) -> None:
        """GRS for ``count`` (2..32) circuits from ``first`` (Q.764 2.9.3.2), T22."""
        self._group_send("GRS", first, count, now)

    def group_block(self, first: int, count: int, now: float) -> None:
        """CGB, maintenance oriented (Q.764 2.8.2.2), T18."""
        self._group_send("CGB", first, count, now)

    def group_unblock(self, first: int, count: int, now: float) -> None:
        self._group_send("CGU", first, count, now)

    def _group_send(self, kind: str, first: int, count: int, now: float, repeat: bool = False) -> None:
        if not 2 <= count <= 32:
            raise ValueError("a circuit group message covers 2..32 circuits")
        c = self._circuit(first)
        self._now = now
        rng = count - 1
        if kind == "GRS":
            for k in range(first, first + count):
                if k in self.circuits:
                    self.circuits[k].reset_pending = True
            self._tx(M.GRS, first, range_and_status=RangeStatus(rng))
            c.timers.start("T22", now)
        else:
            status = bytearray(rng // 8 + 1)
            for k in range(count):
                if first + k in self.circuits:
                    status[k // 8] |= 1 << (k % 8)
            self._tx(M.CGB if kind == "CGB" else M.CGU, first, circuit_group_supervision_message_type=0,
                     range_and_status=RangeStatus(rng, bytes(status)))
            c.timers.start("T18" if kind == "CGB" else "T20", now)
        self._groups[(kind, first)] = (rng, None)

    # ---- rare paths of the per-message code (CallControl calls these) --------------------------
    def _malformed(self, e: DecodeError) -> None:
        if isinstance(e, UnknownMessage):   # Q.764 2.9.5.1: CFN, cause 97, diagnostic = message type
            if e.cic in self.circuits:
                self._tx(M.CFN, e.cic, cause_indicators=CauseInd(Cause.MESSAGE_TYPE_NONEXISTENT,
                                                                  diagnostic=bytes((e.mtype,))))
                self.counters["cfn_sent"] += 1
            else:
                self.counters["discarded"] += 1
        else:                               # format error (2.9.5.3 / 2.10.5): discard
            self.counters["discarded"] += 1

    def _unequipped(self, msg: IsupMessage) -> None:
        """Q.764 2.12: a message for a CIC we do not have."""
        if msg.type not in (M.UCIC, M.CFN):
            self._tx(M.UCIC, msg.cic)
            self.counters["ucic_sent"] += 1

    def _not_allowed(self, c: Circuit, event: str) -> None:
        if event.isupper() and len(event) <= 4:      # a message unexpected in this state
            self.counters["unexpected"] += 1
            self._ev("unexpected", c, reason=f"{event} in {c.fsm.state.value}")
        else:
            raise LocalProtocolError(f"CIC {c.cic}: {event} not allowed in {c.fsm.state.value}")

    def _supervision_timer(self, c: Circuit, name: str, now: float) -> None:
        """T12/T14/T18/T20/T22 expired: repeat BLO/UBL/CGB/CGU/GRS (Q.764 2.8.2, 2.9.3)."""
        if name == "T12":
            self._tx(M.BLO, c.cic)
            c.timers.start("T12", now)
        elif name == "T14":
            self._tx(M.UBL, c.cic)
            c.timers.start("T14", now)
        else:
            kind = {"T18": "CGB", "T20": "CGU", "T22": "GRS"}[name]
            rng, _ = self._groups.get((kind, c.cic), (1, None))
            self._group_send(kind, c.cic, rng + 1, now)

    def _blocked_seizure(self, c: Circuit) -> bool:
        """An IAM on a blocked circuit; True when the call is refused (REL sent)."""
        if c.remote_blocked:            # Q.764 2.8.2.3: an IAM unblocks a remotely blocked circuit
            c.remote_blocked = False
            self._ev("circuit", c, available=c.available, reason="IAM on remotely blocked circuit")
        if c.local_blocked:             # 2.8.2.1: no calls on a circuit we blocked
            c.cause = Cause.TEMPORARY_FAILURE
            self._send_rel()
            c.fsm.state = CallState.RELEASING
            return True
        return False

    # ---- call control actions (the rarer ones of the table in .call) ----------------------------
    def _progress(self) -> None:
        self._ev("progress", reason=f"event {self._m.get('event_information') if self._m else ''}")

    def _more_digits(self) -> None:
        n = self._m.get("subsequent_number") if self._m else None
        if n:
            d = n.digits.rstrip("F")
            self._c.called += d
            self._ev("digits", called=d)

    def _suspended(self) -> None:
        self._ev("suspended")

    def _resumed(self) -> None:
        self._ev("resumed")

    def _timeout_release(self) -> None:
        c = self._c
        name = c.fsm.last_event
        c.cause = Cause.RECOVERY_ON_TIMER_EXPIRY if name == "T7" else Cause.NO_ANSWER
        self._send_rel()
        self._ev("released", cause=c.cause, remote=True, reason=f"{name} expired")
        c.extra["released_reported"] = True

    def _repeat_rel(self) -> None:
        c = self._c
        self._tx(M.REL, c.cic, cause_indicators=CauseInd(c.cause or Cause.NORMAL_CLEARING))
        c.timers.start("T1", self._now)

    def _give_up_release(self) -> None:
        c = self._c
        c.timers.stop("T1")
        self._tx(M.RSC, c.cic)
        c.timers.start("T17", self._now)
        self._report_local_release(reason="T5 expired, circuit reset")

    def _release_collision(self) -> None:
        self._c.timers.stop_all()
        self._tx(M.RLC, self._c.cic)
        self._report_local_release(reason="REL collision")

    def _glare(self) -> None:
        """Q.764 2.10.1.4 (2.9.1.4 in the table): dual seizure. The exchange that does not control
        the CIC backs off and takes the incoming call; its own call is reported as a ``glare``
        event carrying the call's numbers and category (for the automatic repeat attempt on
        another circuit, made by the trunk adapter), then ``released`` with cause 41."""
        c = self._c
        self.counters["glare"] += 1
        if self.controls(c.cic):       # we keep our call; the other side backs off
            return
        c.timers.stop("T7")
        extra = c.extra or {}
        self._ev("glare", called=c.called, calling=c.calling, category=extra.get("category"),
                 cause=Cause.TEMPORARY_FAILURE, remote=True, reason=GLARE_REASON)
        self._ev("released", cause=Cause.TEMPORARY_FAILURE, remote=True, reason=GLARE_REASON)
        c.fsm.state = CallState.IN_WAIT_ALERT
        self._incoming()

    def _send_rsc(self) -> None:
        c = self._c
        had_call = c.fsm.last_from in BUSY_STATES
        c.timers.stop_all()
        self._tx(M.RSC, c.cic)
        c.timers.start("T16", self._now)
        if had_call:
            self._ev("released", cause=Cause.TEMPORARY_FAILURE, remote=False, reason="circuit reset")

    def _repeat_rsc(self) -> None:
        self._tx(M.RSC, self._c.cic)
        self._c.timers.start("T17", self._now)

    def _reset_complete(self) -> None:
        self._c.timers.stop_all()
        self._ev("reset_done")

    def _remote_reset(self) -> None:
        c = self._c
        self._clear_circuit(c, "RSC received", c.fsm.last_from)
        self._tx(M.RLC, c.cic)

    def _clear_circuit(self, c: Circuit, reason: str, before: CallState | None = None) -> None:
        before = c.fsm.state if before is None else before
        keep = {t: c.timers.running[t] for t in ("T12", "T14", "T18", "T20", "T22") if t in c.timers.running}
        c.timers.stop_all()
        c.timers.running.update(keep)
        if before in BUSY_STATES:
            self._ev("released", c, cause=Cause.TEMPORARY_FAILURE, remote=True, reason=reason)
        c.fsm.state = CallState.IDLE
        if c.remote_blocked:           # Q.764 2.9.3.1 b: reset removes remote blocking
            c.remote_blocked = False
            self._ev("circuit", c, available=c.available, reason=reason)

    # ---- circuit supervision messages (Q.764 2.8, 2.9) ------------------------------------------
    def _set_remote(self, c: Circuit, blocked: bool, reason: str) -> None:
        was = c.available
        c.remote_blocked = blocked
        if was != c.available:
            self._ev("circuit", c, available=c.available, reason=reason)

    def _set_local(self, c: Circuit, blocked: bool, reason: str) -> None:
        was = c.available
        c.local_blocked = blocked
        if was != c.available:
            self._ev("circuit", c, available=c.available, reason=reason)

    def _rx_BLO(self, c: Circuit, m: IsupMessage) -> None:
        self._tx(M.BLA, c.cic)
        self._set_remote(c, True, "BLO received")

    def _rx_UBL(self, c: Circuit, m: IsupMessage) -> None:
        self._tx(M.UBA, c.cic)
        self._set_remote(c, False, "UBL received")

    def _rx_BLA(self, c: Circuit, m: IsupMessage) -> None:
        if c.timers.is_running("T12"):
            c.timers.stop("T12")
            self._set_local(c, True, "BLA received")

    def _rx_UBA(self, c: Circuit, m: IsupMessage) -> None:
        if c.timers.is_running("T14"):
            c.timers.stop("T14")
            self._set_local(c, False, "UBA received")

    def _rx_UCIC(self, c: Circuit, m: IsupMessage) -> None:
        was = c.available
        c.unequipped = True
        c.timers.stop_all()
        if c.fsm.state in BUSY_STATES or c.fsm.state is CallState.RESETTING:
            if c.fsm.state in BUSY_STATES:
                self._ev("released", c, cause=Cause.TEMPORARY_FAILURE, remote=True, reason="UCIC received")
            c.fsm.state = CallState.IDLE
        if was:
            self._ev("circuit", c, available=False, reason="UCIC: unequipped at the far end")

    def _rx_CFN(self, c: Circuit, m: IsupMessage) -> None:
        self._ev("unexpected", c, reason=f"CFN received, cause {m.get('cause_indicators').value}")

    def _rx_COT(self, c: Circuit, m: IsupMessage) -> None:
        self.counters["discarded"] += 1     # no continuity check requested by us

    def _rx_CCR(self, c: Circuit, m: IsupMessage) -> None:
        self.counters["discarded"] += 1

    def _range(self, m: IsupMessage) -> list[int]:
        rs: RangeStatus = m.get("range_and_status")
        return [m.cic + k for k in range(rs.range + 1)]

    def _rx_GRS(self, c: Circuit, m: IsupMessage) -> None:
        cics = self._range(m)
        status = bytearray(len(cics) // 8 + (1 if len(cics) % 8 else 0))
        for k, cic in enumerate(cics):
            cc = self.circuits.get(cic)
            if cc is None:
                continue
            self._clear_circuit(cc, "GRS received")
            if cc.local_blocked:
                status[k // 8] |= 1 << (k % 8)
        rng = len(cics) - 1
        self._tx(M.GRA, m.cic, range_and_status=RangeStatus(rng, bytes(status[:rng // 8 + 1])))

    def _rx_GRA(self, c: Circuit, m: IsupMessage) -> None:
        if not c.timers.is_running("T22"):
            self.counters["unexpected"] += 1
            return
        c.timers.stop("T22")
        self._groups.pop(("GRS", c.cic), None)
        rs: RangeStatus = m.get("range_and_status")
        for k, cic in enumerate(self._range(m)):
            cc = self.circuits.get(cic)
            if cc is None:
                continue
            cc.reset_pending = False
            if cc.fsm.state is not CallState.IDLE:
                self._clear_circuit(cc, "group reset")
            bit = bool(rs.status and rs.status[k // 8] >> (k % 8) & 1)
            self._set_remote(cc, bit, "GRA: blocked at the far end" if bit else "GRA")
        self._ev("reset_done", c, reason=f"GRA for {rs.range + 1} circuits", count=rs.range + 1)

    def _group_bits(self, m: IsupMessage) -> list[Circuit]:
        rs: RangeStatus = m.get("range_and_status")
        out = []
        for k, cic in enumerate(self._range(m)):
            if rs.status and rs.status[k // 8] >> (k % 8) & 1 and cic in self.circuits:
                out.append(self.circuits[cic])
        return out

    def _rx_CGB(self, c: Circuit, m: IsupMessage) -> None:
        for cc in self._group_bits(m):
            self._set_remote(cc, True, "CGB received")
        self._tx(M.CGBA, m.cic, circuit_group_supervision_message_type=m.get("circuit_group_supervision_message_type"),
                 range_and_status=m.get("range_and_status"))

    def _rx_CGU(self, c: Circuit, m: IsupMessage) -> None:
        for cc in self._group_bits(m):
            self._set_remote(cc, False, "CGU received")
        self._tx(M.CGUA, m.cic, circuit_group_supervision_message_type=m.get("circuit_group_supervision_message_type"),
                 range_and_status=m.get("range_and_status"))

    def _rx_CGBA(self, c: Circuit, m: IsupMessage) -> None:
        if c.timers.is_running("T18"):
            c.timers.stop("T18")
            for cc in self._group_bits(m):
                self._set_local(cc, True, "CGBA received")

    def _rx_CGUA(self, c: Circuit, m: IsupMessage) -> None:
        if c.timers.is_running("T20"):
            c.timers.stop("T20")
            for cc in self._group_bits(m):
                self._set_local(cc, False, "CGUA received")


class IsupNode(_NodeMixin, _control.CallControl):   # type: ignore[misc,valid-type]
    """ISUP for ``cics`` between our point code ``opc`` and the adjacent ``dpc``."""


_CLASSES: dict[str, type] = {_control.__name__: IsupNode}


def node_class(control: ModuleType) -> type:
    """:class:`IsupNode` over the call control of ``control`` (``control_c`` or ``control_py``,
    e.g. from :func:`_boardcore._select.twin`): tests and benchmarks compare the two."""
    cls = _CLASSES.get(control.__name__)
    if cls is None:
        cls = _CLASSES[control.__name__] = type("IsupNode", (_NodeMixin, control.CallControl),
                                                {"__module__": __name__, "__doc__": IsupNode.__doc__})
    return cls
