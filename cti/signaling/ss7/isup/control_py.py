"""ISUP call control per message in Python (twin of ``control_c``): circuits by CIC, the call
FSM (:data:`.call.CALL_TABLE`), its timers, the outgoing queue and events.

:class:`CallControl` is the base of :class:`.node.IsupNode`, which adds the user requests and
the rare paths (circuit supervision, malformed input, the less common call actions): the
table's actions that are not methods here are the node's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from _boardcore import _select
from cti.signaling.causes import Cause
from cti.signaling.errors import DecodeError, LocalProtocolError
from cti.signaling.fsm import TableFSM
from cti.signaling.timers import Timers

from .._fsm import BoundedFSM
from .call import BCI_ACM, BCI_CON, CALL_TABLE, IAM_DEFAULTS, SUPERVISION_TIMERS, CallState, IsupEvent
from .formats import IsupMessage, MessageType
from .params import CauseInd, Number
from .timers import ISUP_TIMERS

M = MessageType
# the live codec, taken from _select rather than from .codec: _boardcore's import lists the
# accelerated modules' twins, so this module may be imported while .codec itself is loading
_codec = _select.load("cti.signaling.ss7.isup.codec")
decode, encode_message = _codec.decode, _codec.encode_message


@dataclass
class CircuitCtl:
    cic: int
    fsm: TableFSM
    timers: Timers
    local_blocked: bool = False
    remote_blocked: bool = False
    unequipped: bool = False
    reset_pending: bool = False
    called: str = ""
    calling: str | None = None
    cause: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return not (self.local_blocked or self.remote_blocked or self.unequipped)


class CallControl:
    """Circuits ``cics`` (checked by the node) with timer ``overrides`` (checked too)."""

    def __init__(self, cics: list[int], opc: int, dpc: int, overrides: dict[str, float], name: str) -> None:
        self.opc, self.dpc, self.name = opc, dpc, name
        self.circuits: dict[int, CircuitCtl] = {
            c: CircuitCtl(c, BoundedFSM(f"{name}.cic{c}", CALL_TABLE, CallState.IDLE, self),
                          Timers(ISUP_TIMERS, overrides))
            for c in cics}
        self._circuit_list = list(self.circuits.values())
        self._by_cic = sorted(self._circuit_list, key=lambda c: c.cic)   # allocation order
        self._ours = frozenset(c for c in cics if self.controls(c))
        self._out: list[tuple[int, bytes]] = []
        self._events: list[IsupEvent] = []
        self._c: CircuitCtl = next(iter(self.circuits.values())) if cics else None  # type: ignore[assignment]
        self._m: IsupMessage | None = None
        self._now = 0.0
        #: message type -> (circuit supervision handler ``_rx_<NAME>`` or None, call control event)
        self._dispatch = {t: (getattr(self, f"_rx_{t.name}", None), t.name) for t in MessageType}
        self.counters = {"rx": 0, "tx": 0, "discarded": 0, "cfn_sent": 0, "ucic_sent": 0, "unexpected": 0,
                         "glare": 0}

    # ---- outputs ----------------------------------------------------------------------
    def messages(self) -> list[tuple[int, bytes]]:
        out, self._out = self._out, []
        return out

    def events(self) -> list[IsupEvent]:
        ev, self._events = self._events, []
        return ev

    def _tx(self, mtype: MessageType, cic: int, **params: Any) -> None:
        self._out.append((cic, encode_message(mtype, cic, params)))
        self.counters["tx"] += 1

    def _ev(self, kind: str, c: CircuitCtl | None = None, **kw: Any) -> None:
        self._events.append(IsupEvent(kind, (c or self._c).cic, self._now, **kw))

    # ---- circuits ---------------------------------------------------------------------------
    def controls(self, cic: int) -> bool:
        """Q.764 2.9.1.4: the higher point code controls even CICs, the lower odd ones."""
        return (cic % 2 == 0) == (self.opc > self.dpc)

    def allocate(self) -> int | None:
        """A free circuit, preferring those we control (fewer dual seizures), lowest CIC first."""
        other = None
        idle = CallState.IDLE
        for c in self._by_cic:
            if c.fsm.state is idle and not (c.local_blocked or c.remote_blocked or c.unequipped
                                            or c.reset_pending):
                if c.cic in self._ours:
                    return c.cic
                if other is None:
                    other = c.cic
        return other

    # ---- user requests of a call ----------------------------------------------------------------
    def setup(self, called: str, calling: str | None, now: float, cic: int | None = None,
              category: int = 0x0A, **params: Any) -> int:
        """Send an IAM (Q.764 2.1.1); the CIC used. LocalProtocolError when none is free."""
        if cic is None:
            cic = self.allocate()
            if cic is None:
                raise LocalProtocolError("no circuit available")
        c = self._circuit(cic)
        if not c.available or c.fsm.state is not CallState.IDLE:
            raise LocalProtocolError(f"CIC {cic} not free ({c.fsm.state.value}, available={c.available})")
        c.called, c.calling = called, calling
        c.extra = {"category": category, **params}
        self._fire(c, "setup", now)
        return cic

    def alert(self, cic: int, now: float) -> None:
        self._fire(self._circuit(cic), "alert", now)

    def answer(self, cic: int, now: float) -> None:
        self._fire(self._circuit(cic), "answer", now)

    def release(self, cic: int, cause: int, now: float) -> None:
        c = self._circuit(cic)
        c.cause = int(cause)
        if c.fsm.state is CallState.IDLE:
            return
        self._fire(c, "release", now)

    def _circuit(self, cic: int) -> CircuitCtl:
        try:
            return self.circuits[cic]
        except KeyError:
            raise LocalProtocolError(f"CIC {cic} not configured") from None

    # ---- timers ---------------------------------------------------------------------------
    def timer_deadline(self) -> float | None:
        return min((d for c in self.circuits.values() if (d := c.timers.deadline()) is not None), default=None)

    def handle_timer(self, now: float) -> None:
        self._now = now
        for c in self._circuit_list:
            running = c.timers.running
            if not running or min(running.values()) > now:
                continue
            for name in c.timers.expired(now):
                if name in SUPERVISION_TIMERS:
                    self._supervision_timer(c, name, now)
                else:
                    self._c = c
                    c.fsm.fire_if(name)

    # ---- input ------------------------------------------------------------------------------
    def receive(self, data: bytes, now: float) -> None:
        """One ISUP message from the adjacent point. Malformed input never raises."""
        self._now = now
        self.counters["rx"] += 1
        try:
            msg = decode(data)
        except DecodeError as e:
            self._malformed(e)
            return
        c = self.circuits.get(msg.cic)
        if c is None:
            self._unequipped(msg)
            return
        self._m = msg
        handler, event = self._dispatch[msg.type]
        if handler is not None:
            handler(c, msg)
        else:
            self._fire(c, event, now)

    def _fire(self, c: CircuitCtl, event: str, now: float) -> None:
        self._c, self._now = c, now
        if not c.fsm.fire_if(event):
            self._not_allowed(c, event)

    # ---- call control actions (the common ones of the table in .call) -------------------------
    def _send_iam(self) -> None:
        c = self._c
        p = IAM_DEFAULTS.copy()
        p["called_party_number"] = Number(c.called + "F" if not c.called.endswith("F") else c.called)
        if c.calling:
            p["calling_party_number"] = Number(c.calling)
        p.update(c.extra)
        category = p.pop("category", 0x0A)
        if "calling_partys_category" not in c.extra:    # an explicit parameter wins
            p["calling_partys_category"] = category
        self._out.append((c.cic, encode_message(M.IAM, c.cic, p)))
        self.counters["tx"] += 1
        c.timers.start("T7", self._now)

    def _incoming(self) -> None:
        c, m = self._c, self._m
        assert m is not None
        called = m.get("called_party_number")
        calling = m.get("calling_party_number")
        c.called = called.digits.rstrip("F") if called else ""
        c.calling = calling.digits if calling else None
        if (c.remote_blocked or c.local_blocked) and self._blocked_seizure(c):
            return
        self._ev("setup", c, called=c.called, calling=c.calling, category=m.get("calling_partys_category"))

    def _alerting(self) -> None:
        self._c.timers.stop("T7")
        self._c.timers.start("T9", self._now)
        self._ev("alerting")

    def _answered(self) -> None:
        self._c.timers.stop("T7")
        self._c.timers.stop("T9")
        self._ev("answered")

    def _send_acm(self) -> None:
        self._tx(M.ACM, self._c.cic, backward_call_indicators=BCI_ACM)

    def _send_anm(self) -> None:
        self._tx(M.ANM, self._c.cic)
        self._ev("answered", remote=False)

    def _send_con(self) -> None:
        self._tx(M.CON, self._c.cic, backward_call_indicators=BCI_CON)
        self._ev("answered", remote=False)

    def _send_rel(self) -> None:
        c = self._c
        for t in ("T7", "T9"):
            c.timers.stop(t)
        self._tx(M.REL, c.cic, cause_indicators=CauseInd(c.cause or Cause.NORMAL_CLEARING))
        c.timers.start("T1", self._now)
        c.timers.start("T5", self._now)

    def _remote_release(self) -> None:
        c, m = self._c, self._m
        c.timers.stop_all()
        ci = m.get("cause_indicators") if m else None
        cause = ci.value if ci else int(Cause.NORMAL_UNSPECIFIED)
        self._tx(M.RLC, c.cic)
        self._ev("released", cause=cause, remote=True, reason="REL received")

    def _send_rlc(self) -> None:
        self._tx(M.RLC, self._c.cic)

    def _release_complete(self) -> None:
        c = self._c
        for t in ("T1", "T5"):
            c.timers.stop(t)
        self._report_local_release()

    def _report_local_release(self, reason: str = "RLC received") -> None:
        c = self._c
        if not c.extra.pop("released_reported", False):
            self._ev("released", cause=c.cause or Cause.NORMAL_CLEARING, remote=False, reason=reason)
        c.cause = 0
