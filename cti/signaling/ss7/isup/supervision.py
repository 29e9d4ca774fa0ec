"""ISUP circuit supervision (Q.764 2.8 blocking and unblocking, 2.9.3 circuit and group reset,
2.12 unequipped circuits): the maintenance requests and the handling of BLO/UBL/BLA/UBA,
CGB/CGU/CGBA/CGUA, GRS/GRA, UCIC, CFN, COT/CCR.

A mixin of :class:`.node.IsupNode` over the call control (:mod:`.control_py`): messages of
this module never enter the call table; where supervision ends a call (a group reset, UCIC)
it fires :data:`.call.Maint.CLEAR` at the circuit's call machine, whose rows do the rest.
The supervision timers (T12, T14, T18, T20, T22) run in each circuit's ``sup`` timers: their
expiry repeats the message (Q.764 2.8.2, 2.9.3).
"""
from __future__ import annotations

from typing import Any

from .call import BUSY_STATES, CallState, IsupEvent, Maint
from .formats import IsupMessage, MessageType
from .params import RangeStatus

M = MessageType
Circuit = Any    # control_py.Circuit or its compiled build: the same attributes
_GROUP_TIMER = {"GRS": "T22", "CGB": "T18", "CGU": "T20"}
_TIMER_GROUP = {v: k for k, v in _GROUP_TIMER.items()}


class Supervision:
    """Blocking, reset and group messages for the circuits of one node."""

    circuits: dict[int, Circuit]
    counters: dict[str, int]
    _events: list[IsupEvent]
    _groups: dict[tuple[str, int], int]     # (kind, first CIC) -> range of the group message sent

    # ---- requests ------------------------------------------------------------------------
    def block(self, cic: int, now: float) -> None:
        """Maintenance blocking (Q.764 2.8.2.1): BLO until BLA (T12)."""
        c = self._circuit(cic)    # type: ignore[attr-defined]
        c.send(M.BLO, {})
        c.sup.start("T12", now)

    def unblock(self, cic: int, now: float) -> None:
        """Unblocking (Q.764 2.8.2.1): UBL until UBA (T14)."""
        c = self._circuit(cic)    # type: ignore[attr-defined]
        c.send(M.UBL, {})
        c.sup.start("T14", now)

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
        rng = count - 1
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
        c.sup.start(_GROUP_TIMER[kind], now)
        self._groups[(kind, first)] = rng

    def _supervision_timer(self, c: Circuit, name: str, now: float) -> None:
        """T12/T14/T18/T20/T22 expired: repeat BLO/UBL/CGB/CGU/GRS (Q.764 2.8.2, 2.9.3)."""
        if name == "T12":
            self.block(c.cic, now)
        elif name == "T14":
            self.unblock(c.cic, now)
        else:
            kind = _TIMER_GROUP[name]
            self._group_send(kind, c.cic, self._groups.get((kind, c.cic), 1) + 1, now)

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
        if c.sup.is_running("T12"):
            c.sup.stop("T12")
            self._set_local(c, True, "BLA received", now)

    def _rx_UBA(self, c: Circuit, m: IsupMessage, now: float) -> None:
        if c.sup.is_running("T14"):
            c.sup.stop("T14")
            self._set_local(c, False, "UBA received", now)

    def _rx_UCIC(self, c: Circuit, m: IsupMessage, now: float) -> None:
        """Q.764 2.12: the far end has no such circuit: unavailable, any call ends."""
        was = c.available
        c.unequipped = True
        c.sup.stop_all()
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
        self.counters["discarded"] += 1     # no continuity check requested by us

    def _rx_CCR(self, c: Circuit, m: IsupMessage, now: float) -> None:
        self.counters["discarded"] += 1

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
        if not c.sup.is_running("T22"):
            self.counters["unexpected"] += 1
            self._events.append(IsupEvent("unexpected", c.cic, now, reason="GRA with no GRS outstanding"))
            return
        c.sup.stop("T22")
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
        if c.sup.is_running("T18"):
            c.sup.stop("T18")
            for cc in self._group_bits(m):
                self._set_local(cc, True, "CGBA received", now)

    def _rx_CGUA(self, c: Circuit, m: IsupMessage, now: float) -> None:
        if c.sup.is_running("T20"):
            c.sup.stop("T20")
            for cc in self._group_bits(m):
                self._set_local(cc, False, "CGUA received", now)
