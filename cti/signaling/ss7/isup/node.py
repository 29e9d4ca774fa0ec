"""ISUP signalling for the circuits to one adjacent exchange (Q.764), sans-IO.

:meth:`IsupNode.receive` takes the user part octets of an MTP-TRANSFER indication;
:meth:`messages` gives ``(cic, octets)`` to send (SLS = CIC's low bits); :meth:`events`
gives :class:`IsupEvent`. Call control is the table in :mod:`.call`; circuit and
circuit-group supervision (blocking, reset, Q.764 2.8/2.9) and malformed-message
handling (2.9.5: CFN for an unknown message, discard for a format error, UCIC for an
unequipped CIC) run here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cti.signaling.causes import Cause
from cti.signaling.errors import DecodeError, LocalProtocolError
from cti.signaling.fsm import TableFSM

from cti.signaling.timers import Timers

from .._fsm import BoundedFSM
from .call import BUSY_STATES, CALL_TABLE, CallState
from .codec import FormatError, IsupMessage, MessageType, UnknownMessage, decode, encode_message
from .params import CauseInd, Number, RangeStatus
from .timers import ISUP_TIMERS

M = MessageType
#: Defaults of the mandatory IAM indicators (Q.763 3.35, 3.23, 3.11, 3.54).
IAM_DEFAULTS = {"nature_of_connection_indicators": 0x00,    # no satellite, no continuity check
                "forward_call_indicators": 0x0020,          # national, ISUP all the way, preferred
                "calling_partys_category": 0x0A,            # ordinary subscriber
                "transmission_medium_requirement": 0x03}    # 3.1 kHz audio
#: Backward call indicators for ACM: subscriber free, ordinary, ISUP all the way (Q.763 3.5).
BCI_ACM = 0x0416
BCI_CON = 0x0416


@dataclass(slots=True, unsafe_hash=True)   # not frozen: built per message, 6x cheaper
class IsupEvent:
    """kind: setup | digits | alerting | progress | answered | suspended | resumed | released |
    circuit (availability changed) | reset_done | unexpected."""

    kind: str
    cic: int
    time: float
    called: str = ""
    calling: str | None = None
    category: int | None = None
    cause: int = 0
    remote: bool = True
    reason: str = ""
    available: bool = True
    count: int = 1          #: circuits covered (reset_done after GRA)


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


class IsupNode:
    """ISUP for ``cics`` between our point code ``opc`` and the adjacent ``dpc``."""

    def __init__(self, cics: list[int], opc: int, dpc: int, *, timers: dict[str, float] | None = None,
                 name: str = "isup") -> None:
        if len(set(cics)) != len(cics) or not all(0 <= c <= 0xFFF for c in cics):
            raise ValueError("CICs must be distinct, 0..4095")
        self.opc, self.dpc, self.name = opc, dpc, name
        ov = {k: v for k, v in (timers or {}).items() if k in ISUP_TIMERS}
        self.circuits: dict[int, CircuitCtl] = {
            c: CircuitCtl(c, BoundedFSM(f"{name}.cic{c}", CALL_TABLE, CallState.IDLE, self), Timers(ISUP_TIMERS, ov))
            for c in cics}
        self._circuit_list = list(self.circuits.values())
        self._by_cic = sorted(self._circuit_list, key=lambda c: c.cic)   # allocation order
        self._ours = frozenset(c for c in cics if self.controls(c))
        self._out: list[tuple[int, bytes]] = []
        self._events: list[IsupEvent] = []
        self._c: CircuitCtl = next(iter(self.circuits.values())) if cics else None  # type: ignore[assignment]
        self._m: IsupMessage | None = None
        self._now = 0.0
        self._groups: dict[tuple[str, int], tuple[int, bytes | None]] = {}  # (kind, first) -> (range, status)
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

    # ---- user requests ------------------------------------------------------------------
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
                if name == "T12":
                    self._tx(M.BLO, c.cic)
                    c.timers.start("T12", now)
                elif name == "T14":
                    self._tx(M.UBL, c.cic)
                    c.timers.start("T14", now)
                elif name in ("T18", "T20", "T22"):
                    kind = {"T18": "CGB", "T20": "CGU", "T22": "GRS"}[name]
                    rng, _ = self._groups.get((kind, c.cic), (1, None))
                    self._group_send(kind, c.cic, rng + 1, now)
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
        except UnknownMessage as e:   # Q.764 2.9.5.1: CFN, cause 97, diagnostic = message type
            if e.cic in self.circuits:
                self._tx(M.CFN, e.cic, cause_indicators=CauseInd(Cause.MESSAGE_TYPE_NONEXISTENT,
                                                                  diagnostic=bytes((e.mtype,))))
                self.counters["cfn_sent"] += 1
            else:
                self.counters["discarded"] += 1
            return
        except DecodeError:            # format error (2.9.5.3 / 2.10.5): discard
            self.counters["discarded"] += 1
            return
        c = self.circuits.get(msg.cic)
        if c is None:                  # Q.764 2.12: unequipped CIC
            if msg.type not in (M.UCIC, M.CFN):
                self._tx(M.UCIC, msg.cic)
                self.counters["ucic_sent"] += 1
            return
        self._m = msg
        handler, event = self._dispatch[msg.type]
        if handler is not None:
            handler(c, msg)
        else:
            self._fire(c, event, now)

    def _fire(self, c: CircuitCtl, event: str, now: float) -> None:
        self._c, self._now = c, now
        if c.fsm.fire_if(event):
            return
        if event.isupper() and len(event) <= 4:      # a message unexpected in this state
            self.counters["unexpected"] += 1
            self._ev("unexpected", c, reason=f"{event} in {c.fsm.state.value}")
        else:
            raise LocalProtocolError(f"CIC {c.cic}: {event} not allowed in {c.fsm.state.value}")

    def _circuit(self, cic: int) -> CircuitCtl:
        try:
            return self.circuits[cic]
        except KeyError:
            raise LocalProtocolError(f"CIC {cic} not configured") from None

    # ---- call control actions (table in .call) -----------------------------------------------
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
        if c.remote_blocked:            # Q.764 2.8.2.3: an IAM unblocks a remotely blocked circuit
            c.remote_blocked = False
            self._ev("circuit", c, available=c.available, reason="IAM on remotely blocked circuit")
        called = m.get("called_party_number")
        calling = m.get("calling_party_number")
        c.called = called.digits.rstrip("F") if called else ""
        c.calling = calling.digits if calling else None
        if c.local_blocked:             # 2.8.2.1: no calls on a circuit we blocked
            c.cause = Cause.TEMPORARY_FAILURE
            self._send_rel()
            c.fsm.state = CallState.RELEASING
            return
        self._ev("setup", c, called=c.called, calling=c.calling, category=m.get("calling_partys_category"))

    def _more_digits(self) -> None:
        n = self._m.get("subsequent_number") if self._m else None
        if n:
            d = n.digits.rstrip("F")
            self._c.called += d
            self._ev("digits", called=d)

    def _alerting(self) -> None:
        self._c.timers.stop("T7")
        self._c.timers.start("T9", self._now)
        self._ev("alerting")

    def _progress(self) -> None:
        self._ev("progress", reason=f"event {self._m.get('event_information') if self._m else ''}")

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

    def _suspended(self) -> None:
        self._ev("suspended")

    def _resumed(self) -> None:
        self._ev("resumed")

    def _send_rel(self) -> None:
        c = self._c
        for t in ("T7", "T9"):
            c.timers.stop(t)
        self._tx(M.REL, c.cic, cause_indicators=CauseInd(c.cause or Cause.NORMAL_CLEARING))
        c.timers.start("T1", self._now)
        c.timers.start("T5", self._now)

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

    def _release_collision(self) -> None:
        self._c.timers.stop_all()
        self._tx(M.RLC, self._c.cic)
        self._report_local_release(reason="REL collision")

    def _report_local_release(self, reason: str = "RLC received") -> None:
        c = self._c
        if not c.extra.pop("released_reported", False):
            self._ev("released", cause=c.cause or Cause.NORMAL_CLEARING, remote=False, reason=reason)
        c.cause = 0

    def _glare(self) -> None:
        c = self._c
        self.counters["glare"] += 1
        if self.controls(c.cic):       # we keep our call; the other side backs off
            return
        c.timers.stop("T7")
        self._ev("released", cause=Cause.TEMPORARY_FAILURE, remote=True, reason="dual seizure (glare), backed off")
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

    def _clear_circuit(self, c: CircuitCtl, reason: str, before: CallState | None = None) -> None:
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
    def _set_remote(self, c: CircuitCtl, blocked: bool, reason: str) -> None:
        was = c.available
        c.remote_blocked = blocked
        if was != c.available:
            self._ev("circuit", c, available=c.available, reason=reason)

    def _set_local(self, c: CircuitCtl, blocked: bool, reason: str) -> None:
        was = c.available
        c.local_blocked = blocked
        if was != c.available:
            self._ev("circuit", c, available=c.available, reason=reason)

    def _rx_BLO(self, c: CircuitCtl, m: IsupMessage) -> None:
        self._tx(M.BLA, c.cic)
        self._set_remote(c, True, "BLO received")

    def _rx_UBL(self, c: CircuitCtl, m: IsupMessage) -> None:
        self._tx(M.UBA, c.cic)
        self._set_remote(c, False, "UBL received")

    def _rx_BLA(self, c: CircuitCtl, m: IsupMessage) -> None:
        if c.timers.is_running("T12"):
            c.timers.stop("T12")
            self._set_local(c, True, "BLA received")

    def _rx_UBA(self, c: CircuitCtl, m: IsupMessage) -> None:
        if c.timers.is_running("T14"):
            c.timers.stop("T14")
            self._set_local(c, False, "UBA received")

    def _rx_UCIC(self, c: CircuitCtl, m: IsupMessage) -> None:
        was = c.available
        c.unequipped = True
        c.timers.stop_all()
        if c.fsm.state in BUSY_STATES or c.fsm.state is CallState.RESETTING:
            if c.fsm.state in BUSY_STATES:
                self._ev("released", c, cause=Cause.TEMPORARY_FAILURE, remote=True, reason="UCIC received")
            c.fsm.state = CallState.IDLE
        if was:
            self._ev("circuit", c, available=False, reason="UCIC: unequipped at the far end")

    def _rx_CFN(self, c: CircuitCtl, m: IsupMessage) -> None:
        self._ev("unexpected", c, reason=f"CFN received, cause {m.get('cause_indicators').value}")

    def _rx_COT(self, c: CircuitCtl, m: IsupMessage) -> None:
        self.counters["discarded"] += 1     # no continuity check requested by us

    def _rx_CCR(self, c: CircuitCtl, m: IsupMessage) -> None:
        self.counters["discarded"] += 1

    def _range(self, m: IsupMessage) -> list[int]:
        rs: RangeStatus = m.get("range_and_status")
        return [m.cic + k for k in range(rs.range + 1)]

    def _rx_GRS(self, c: CircuitCtl, m: IsupMessage) -> None:
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

    def _rx_GRA(self, c: CircuitCtl, m: IsupMessage) -> None:
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

    def _group_bits(self, m: IsupMessage) -> list[CircuitCtl]:
        rs: RangeStatus = m.get("range_and_status")
        out = []
        for k, cic in enumerate(self._range(m)):
            if rs.status and rs.status[k // 8] >> (k % 8) & 1 and cic in self.circuits:
                out.append(self.circuits[cic])
        return out

    def _rx_CGB(self, c: CircuitCtl, m: IsupMessage) -> None:
        for cc in self._group_bits(m):
            self._set_remote(cc, True, "CGB received")
        self._tx(M.CGBA, m.cic, circuit_group_supervision_message_type=m.get("circuit_group_supervision_message_type"),
                 range_and_status=m.get("range_and_status"))

    def _rx_CGU(self, c: CircuitCtl, m: IsupMessage) -> None:
        for cc in self._group_bits(m):
            self._set_remote(cc, False, "CGU received")
        self._tx(M.CGUA, m.cic, circuit_group_supervision_message_type=m.get("circuit_group_supervision_message_type"),
                 range_and_status=m.get("range_and_status"))

    def _rx_CGBA(self, c: CircuitCtl, m: IsupMessage) -> None:
        if c.timers.is_running("T18"):
            c.timers.stop("T18")
            for cc in self._group_bits(m):
                self._set_local(cc, True, "CGBA received")

    def _rx_CGUA(self, c: CircuitCtl, m: IsupMessage) -> None:
        if c.timers.is_running("T20"):
            c.timers.stop("T20")
            for cc in self._group_bits(m):
                self._set_local(cc, False, "CGUA received")
