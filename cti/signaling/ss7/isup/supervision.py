"""ISUP circuit supervision (Q.764 2.8 blocking and unblocking, 2.9.3 circuit and group reset,
2.12 unequipped circuits): the maintenance requests and the handling of BLO/UBL/BLA/UBA,
CGB/CGU/CGBA/CGUA, GRS/GRA, UCIC, CFN, COT/CCR.

A mixin of :class:`.node.IsupNode` over the call control (:mod:`.control_py`): messages of
this module never enter the call table; where supervision ends a call (a group reset, UCIC)
it fires :data:`.call.Maint.CLEAR` at the circuit's call machine, whose rows do the rest.

The supervision timers (T12, T14, T18, T20, T22) belong to :data:`SUPERVISION_TABLE`, run by
each circuit's engine machine (``circuit.sup``): a request's row sends the message and starts
its timer, the acknowledgement's row (guarded: only while that timer runs) stops it, and the
expiry event's row repeats the message and restarts the timer (Q.764 2.8.2, 2.9.3). The
procedures of one circuit run side by side (a BLO and a GRS from the same CIC may both be
outstanding), so the table has one state and the running timers are its state; every change
of them is a row.
"""
from __future__ import annotations

import enum
from typing import Any

from cti.signaling.engine import Row, Table

from .call import BUSY_STATES, CallState, IsupEvent, Maint
from .formats import IsupMessage, MessageType
from .params import RangeStatus
from .timers import ISUP_TIMERS

M = MessageType
Circuit = Any    # control_py.Circuit or its compiled build: the same attributes
_GROUP_TIMER = {"GRS": "T22", "CGB": "T18", "CGU": "T20"}
_TIMER_GROUP = {v: k for k, v in _GROUP_TIMER.items()}


class SupState(str, enum.Enum):
    ACTIVE = "active"      #: the one state: which procedures are outstanding is which timers run


class SupReq(str, enum.Enum):
    """Maintenance requests of circuit supervision (the message to send: ``m`` of the row)."""

    BLOCK = "block"        #: BLO (2.8.2.1)
    UNBLOCK = "unblock"    #: UBL (2.8.2.1)
    GRS = "grs"            #: circuit group reset from this CIC (2.9.3.2)
    CGB = "cgb"            #: circuit group blocking, maintenance oriented (2.8.2.2)
    CGU = "cgu"            #: circuit group unblocking (2.8.2.2)


class SupExpiry(str, enum.Enum):
    """A supervision timer ran out (Q.764 Annex A): the engine fires these."""

    T12 = "T12"
    T14 = "T14"
    T18 = "T18"
    T20 = "T20"
    T22 = "T22"


# ---- actions (circuit, message, now) and guards (circuit, message) of the table ---------------
def send_blo(c: Circuit, m: Any, now: float) -> None:
    c.send(M.BLO, {})


def send_ubl(c: Circuit, m: Any, now: float) -> None:
    c.send(M.UBL, {})


def blocked_by_bla(c: Circuit, m: Any, now: float) -> None:
    c.node._set_local(c, True, "BLA received", now)


def unblocked_by_uba(c: Circuit, m: Any, now: float) -> None:
    c.node._set_local(c, False, "UBA received", now)


def send_group(c: Circuit, m: Any, now: float) -> None:
    """GRS/CGB/CGU (``m``: its kind) for the range recorded by the request, again on expiry."""
    kind = m if m in _GROUP_TIMER else _TIMER_GROUP[m]
    c.node._send_group(kind, c, c.node._groups.get((kind, c.cic), 1), now)


def gra_received(c: Circuit, m: Any, now: float) -> None:
    c.node._gra(c, m, now)


def cgba_received(c: Circuit, m: Any, now: float) -> None:
    for cc in c.node._group_bits(m):
        c.node._set_local(cc, True, "CGBA received", now)


def cgua_received(c: Circuit, m: Any, now: float) -> None:
    for cc in c.node._group_bits(m):
        c.node._set_local(cc, False, "CGUA received", now)


def _running(timer: str) -> Any:
    def guard(c: Circuit, m: Any) -> bool:
        return bool(c.sup.is_running(timer))
    guard.__name__ = f"{timer}_running"
    return guard


_A = SupState.ACTIVE
_ALL = ("T12", "T14", "T18", "T20", "T22")
SUPERVISION_TABLE = Table("isup supervision", _A, (
    Row(_A, SupReq.BLOCK, None, send_blo, start=("T12",), clause="Q.764 2.8.2.1"),
    Row(_A, M.BLA, None, blocked_by_bla, _running("T12"), stop=("T12",), clause="Q.764 2.8.2.1"),
    Row(_A, SupExpiry.T12, None, send_blo, start=("T12",), clause="Q.764 2.8.2.1 / Table A.1 T12"),
    Row(_A, SupReq.UNBLOCK, None, send_ubl, start=("T14",), clause="Q.764 2.8.2.1"),
    Row(_A, M.UBA, None, unblocked_by_uba, _running("T14"), stop=("T14",), clause="Q.764 2.8.2.1"),
    Row(_A, SupExpiry.T14, None, send_ubl, start=("T14",), clause="Q.764 2.8.2.1 / Table A.1 T14"),
    Row(_A, SupReq.GRS, None, send_group, start=("T22",), clause="Q.764 2.9.3.2"),
    Row(_A, M.GRA, None, gra_received, _running("T22"), stop=("T22",), clause="Q.764 2.9.3.2"),
    Row(_A, SupExpiry.T22, None, send_group, start=("T22",), clause="Q.764 2.9.3.2 / Table A.1 T22"),
    Row(_A, SupReq.CGB, None, send_group, start=("T18",), clause="Q.764 2.8.2.2"),
    Row(_A, M.CGBA, None, cgba_received, _running("T18"), stop=("T18",), clause="Q.764 2.8.2.2"),
    Row(_A, SupExpiry.T18, None, send_group, start=("T18",), clause="Q.764 2.8.2.2 / Table A.1 T18"),
    Row(_A, SupReq.CGU, None, send_group, start=("T20",), clause="Q.764 2.8.2.2"),
    Row(_A, M.CGUA, None, cgua_received, _running("T20"), stop=("T20",), clause="Q.764 2.8.2.2"),
    Row(_A, SupExpiry.T20, None, send_group, start=("T20",), clause="Q.764 2.8.2.2 / Table A.1 T20"),
    Row(_A, M.UCIC, None, None, stop=_ALL, clause="Q.764 2.12"),
), timers={k: ISUP_TIMERS[k] for k in _ALL}, expiry={t.value: t for t in SupExpiry}, final=frozenset({_A}))
_REQ = {"GRS": SupReq.GRS, "CGB": SupReq.CGB, "CGU": SupReq.CGU}


class Supervision:
    """Blocking, reset and group messages for the circuits of one node."""

    circuits: dict[int, Circuit]
    _counters: dict[str, int]
    _events: list[IsupEvent]
    _groups: dict[tuple[str, int], int]     # (kind, first CIC) -> range of the group message sent

    # ---- requests ------------------------------------------------------------------------
    def block(self, cic: int, now: float) -> None:
        """Maintenance blocking (Q.764 2.8.2.1): BLO until BLA (T12)."""
        self._circuit(cic).sup.fire(SupReq.BLOCK, None, now)    # type: ignore[attr-defined]

    def unblock(self, cic: int, now: float) -> None:
        """Unblocking (Q.764 2.8.2.1): UBL until UBA (T14)."""
        self._circuit(cic).sup.fire(SupReq.UNBLOCK, None, now)    # type: ignore[attr-defined]

    def group_reset(self, first: int, count: int, now: float) -> None:
        """GRS for ``count`` (2..32) circuits from ``first`` (Q.764 2.9.3.2), T22; the circuits
        are not ready until the GRA."""
        self._group_send("GRS", first, count, now)

    def group_block(self, first: int, count: int, now: float) -> None:
        """CGB, maintenance oriented (Q.764 2.8.2.2), T18."""
        self._group_send("CGB", first, count, now)

    def group_unblock(self, first: int, count: int, now: float) -> None:
        """CGU, maintenance oriented (Q.764 2.8.2.2), T20."""
        self._group_send("CGU", first, count, now)

    def _group_send(self, kind: str, first: int, count: int, now: float) -> None:
        if not 2 <= count <= 32:
            raise ValueError("a circuit group message covers 2..32 circuits")
        c = self._circuit(first)    # type: ignore[attr-defined]
        self._groups[(kind, first)] = count - 1
        c.sup.fire(_REQ[kind], kind, now)       # the row sends it and starts its timer

    def _send_group(self, kind: str, c: Circuit, rng: int, now: float) -> None:
        """GRS/CGB/CGU for ``rng + 1`` circuits from ``c`` (the table's action, sent again on expiry)."""
        first, count = c.cic, rng + 1
        if kind == "GRS":
            for k in range(first, first + count):
                if k in self.circuits:
                    self.circuits[k].reset_pending = True
            c.send(M.GRS, {"range_and_status": RangeStatus(rng)})
        else:
            status = bytearray(rng // 8 + 1)
            for k in range(count):
                if first + k in self.circuits:
                    status[k // 8] |= 1 << (k % 8)
            c.send(M.CGB if kind == "CGB" else M.CGU, {"circuit_group_supervision_message_type": 0,
                                                       "range_and_status": RangeStatus(rng, bytes(status))})

    # ---- availability ------------------------------------------------------------------------
    def _clear_circuit(self, c: Circuit, reason: str, now: float) -> None:
        """The circuit's call ends (a row of the call table) and remote blocking goes."""
        c.fsm.fire(Maint.CLEAR, reason, now)

    def _set_remote(self, c: Circuit, blocked: bool, reason: str, now: float) -> None:
        was = c.available
        c.remote_blocked = blocked
        if was != c.available:
            self._events.append(IsupEvent("circuit", c.cic, now, available=c.available, reason=reason))

    def _set_local(self, c: Circuit, blocked: bool, reason: str, now: float) -> None:
        was = c.available
        c.local_blocked = blocked
        if was != c.available:
            self._events.append(IsupEvent("circuit", c.cic, now, available=c.available, reason=reason))

    # ---- received (CallControl.receive dispatches these by name: _rx_<message type>) -----------
    def _rx_BLO(self, c: Circuit, m: IsupMessage, now: float) -> None:
        c.send(M.BLA, {})
        self._set_remote(c, True, "BLO received", now)

    def _rx_UBL(self, c: Circuit, m: IsupMessage, now: float) -> None:
        c.send(M.UBA, {})
        self._set_remote(c, False, "UBL received", now)

    def _rx_BLA(self, c: Circuit, m: IsupMessage, now: float) -> None:
        c.sup.fire_if(M.BLA, m, now)            # only while T12 runs (else ignored)

    def _rx_UBA(self, c: Circuit, m: IsupMessage, now: float) -> None:
        c.sup.fire_if(M.UBA, m, now)

    def _rx_UCIC(self, c: Circuit, m: IsupMessage, now: float) -> None:
        """Q.764 2.12: the far end has no such circuit: unavailable, any call ends."""
        was = c.available
        c.unequipped = True
        c.sup.fire(M.UCIC, m, now)              # every supervision timer stops
        if c.fsm.state in BUSY_STATES or c.fsm.state is CallState.RESETTING:
            self._clear_circuit(c, "UCIC received", now)
        if was:
            self._events.append(IsupEvent("circuit", c.cic, now, available=False,
                                          reason="UCIC: unequipped at the far end"))

    def _rx_CFN(self, c: Circuit, m: IsupMessage, now: float) -> None:
        ci = m.get("cause_indicators")
        self._events.append(IsupEvent("unexpected", c.cic, now,
                                      reason=f"CFN received, cause {ci.value if ci else '?'}"))

    def _rx_COT(self, c: Circuit, m: IsupMessage, now: float) -> None:
        self._counters["discarded"] += 1     # no continuity check requested by us

    def _rx_CCR(self, c: Circuit, m: IsupMessage, now: float) -> None:
        self._counters["discarded"] += 1

    def _range(self, m: IsupMessage) -> list[int]:
        rs: RangeStatus = m.get("range_and_status")
        return [m.cic + k for k in range(rs.range + 1)]

    def _rx_GRS(self, c: Circuit, m: IsupMessage, now: float) -> None:
        """Q.764 2.9.3.2: every circuit of the range is reset; GRA carries our blocking."""
        cics = self._range(m)
        status = bytearray(len(cics) // 8 + (1 if len(cics) % 8 else 0))
        for k, cic in enumerate(cics):
            cc = self.circuits.get(cic)
            if cc is None:
                continue
            self._clear_circuit(cc, "GRS received", now)
            if cc.local_blocked:
                status[k // 8] |= 1 << (k % 8)
        rng = len(cics) - 1
        c.send(M.GRA, {"range_and_status": RangeStatus(rng, bytes(status[:rng // 8 + 1]))})

    def _rx_GRA(self, c: Circuit, m: IsupMessage, now: float) -> None:
        if not c.sup.fire_if(M.GRA, m, now):   # no GRS outstanding (T22 not running)
            self._counters["unexpected"] += 1
            self._events.append(IsupEvent("unexpected", c.cic, now, reason="GRA with no GRS outstanding"))

    def _gra(self, c: Circuit, m: IsupMessage, now: float) -> None:
        """The GRA of our GRS (the table's action): circuits reset, far-end blocking as reported."""
        self._groups.pop(("GRS", c.cic), None)
        rs: RangeStatus = m.get("range_and_status")
        for k, cic in enumerate(self._range(m)):
            cc = self.circuits.get(cic)
            if cc is None:
                continue
            cc.reset_pending = False
            if cc.fsm.state is not CallState.IDLE:
                self._clear_circuit(cc, "group reset", now)
            bit = bool(rs.status and rs.status[k // 8] >> (k % 8) & 1)
            self._set_remote(cc, bit, "GRA: blocked at the far end" if bit else "GRA", now)
        self._events.append(IsupEvent("reset_done", c.cic, now, reason=f"GRA for {rs.range + 1} circuits",
                                      count=rs.range + 1))

    def _group_bits(self, m: IsupMessage) -> list[Circuit]:
        rs: RangeStatus = m.get("range_and_status")
        out = []
        for k, cic in enumerate(self._range(m)):
            if rs.status and rs.status[k // 8] >> (k % 8) & 1 and cic in self.circuits:
                out.append(self.circuits[cic])
        return out

    def _rx_CGB(self, c: Circuit, m: IsupMessage, now: float) -> None:
        for cc in self._group_bits(m):
            self._set_remote(cc, True, "CGB received", now)
        c.send(M.CGBA, {"circuit_group_supervision_message_type": m.get("circuit_group_supervision_message_type"),
                        "range_and_status": m.get("range_and_status")})

    def _rx_CGU(self, c: Circuit, m: IsupMessage, now: float) -> None:
        for cc in self._group_bits(m):
            self._set_remote(cc, False, "CGU received", now)
        c.send(M.CGUA, {"circuit_group_supervision_message_type": m.get("circuit_group_supervision_message_type"),
                        "range_and_status": m.get("range_and_status")})

    def _rx_CGBA(self, c: Circuit, m: IsupMessage, now: float) -> None:
        c.sup.fire_if(M.CGBA, m, now)           # only while T18 runs

    def _rx_CGUA(self, c: Circuit, m: IsupMessage, now: float) -> None:
        c.sup.fire_if(M.CGUA, m, now)           # only while T20 runs
