"""The call model: calls and CSTA connections, driven by trunk adapters and commands.

Sans-IO like the stacks below it: time is passed in, nothing here touches a socket. Inputs
are :mod:`cti.signaling.trunk` events (through :meth:`CallModel.service` or
:meth:`CallModel.on_trunk_event`) and call-control commands (:mod:`cti.call.control`).
Outputs are :mod:`cti.call.events` objects and CDR dicts, collected until the owner takes
them (:meth:`take_events`, :meth:`take_cdrs`) and publishes / stores them.

Devices: the *local* device of a call is the number we answer as (the called number of an
incoming call) or the device that originated it (MakeCall); each trunk party is a *remote*
device named ``trunk/<span>/<ts>`` after its circuit, so device ids in a call are unique.
A call ends (CallCleared + CDR) when fewer than two parties are left; a lone failed
connection stays (CSTA ``fail``) until cleared or ``fail_linger`` seconds pass.
"""
from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol

from cti.signaling.causes import Cause
from cti.signaling.fsm import TableFSM
from cti.signaling.trunk import (Alerting, Answered, Circuit, CircuitState, DigitsReceived,
                                 IncomingCall, Proceeding, Reattempted, Released, TrunkAdapter,
                                 TrunkEvent)

from . import events as ev
from .control import ADAPTER_ERRORS, CallControl
from .states import CONNECTION_TABLE, LIVE_STATES, ConnectionState, Stimulus

log = logging.getLogger(__name__)
S, X = ConnectionState, Stimulus


class MediaPath(Protocol):
    """What the model needs from the media layer (in-band digits; bridging for transfers)."""

    def send_digits(self, circuit: Circuit, digits: str, now: float) -> None: ...

    def bridge(self, circuits: list[Circuit]) -> None: ...


def trunk_device(circuit: Circuit) -> str:
    """The device id of the trunk party on ``circuit``."""
    return f"trunk/{circuit[0]}/{circuit[1]}"


@dataclass
class Connection:
    """One device's relationship with one call (ECMA-269 connection)."""

    call: str
    device: str
    local: bool
    circuit: Circuit | None = None
    adapter: TrunkAdapter | None = None
    since: float = 0.0
    offered: bool = False   #: an offered incoming call not yet cleared (CSTA state null, but a party)
    fsm: TableFSM = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.fsm = TableFSM(f"connection {self.call}/{self.device}", CONNECTION_TABLE, S.NULL, self)

    @property
    def state(self) -> ConnectionState:
        return self.fsm.state

    @property
    def live(self) -> bool:
        return self.offered or self.fsm.state in LIVE_STATES

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "state": self.state.value, "local": self.local,
                "span": self.circuit[0] if self.circuit else None,
                "ts": self.circuit[1] if self.circuit else None}


@dataclass
class Call:
    """A call: its connections and what the CDR needs."""

    id: str
    direction: str
    calling: str | None
    called: str | None
    signalling: str
    created: float
    connections: dict[str, Connection] = field(default_factory=dict)
    answered: float | None = None
    cause: int | None = None
    merged: list[str] = field(default_factory=list)   #: call ids joined into this one
    extra: dict[str, Any] = field(default_factory=dict)

    def local(self) -> Connection | None:
        for c in self.connections.values():
            if c.local:
                return c
        return None

    def live(self) -> list[Connection]:
        return [c for c in self.connections.values() if c.live]

    def remotes(self) -> list[Connection]:
        return [c for c in self.connections.values() if not c.local and c.live]

    def circuit(self) -> Circuit | None:
        """The call's primary circuit (its first trunk party's)."""
        for c in self.connections.values():
            if c.circuit is not None:
                return c.circuit
        return None

    def devices(self) -> set[str]:
        return {c.device for c in self.connections.values()}

    def local_devices(self) -> list[str]:
        """Our devices that took part in the call (kept after they leave: transfers)."""
        seen = [c.device for c in self.connections.values() if c.local]
        return sorted(set(seen) | set(self.extra.get("devices", ())))

    def to_dict(self) -> dict[str, Any]:
        circ = self.circuit()
        return {"call": self.id, "direction": self.direction, "calling": self.calling,
                "called": self.called, "signalling": self.signalling,
                "span": circ[0] if circ else None, "ts": circ[1] if circ else None,
                "created": self.created, "answered": self.answered,
                "connections": [c.to_dict() for c in self.connections.values() if c.live]}


class CallModel(CallControl):
    """Calls over the circuits of some trunk adapters (see the module docstring)."""

    def __init__(self, adapters: Iterable[TrunkAdapter] = (), *, auto_alert: bool = True,
                 media: MediaPath | None = None, first_call: int = 1, node: str = "",
                 fail_linger: float = 5.0) -> None:
        self.adapters: list[TrunkAdapter] = []
        self.auto_alert = auto_alert
        self.media = media
        self.fail_linger = fail_linger
        self.calls: dict[str, Call] = {}
        self.available: dict[Circuit, bool] = {}
        self.counters: dict[str, int] = {"unexpected_trunk_events": 0, "calls": 0}
        self._adapter_of: dict[Circuit, TrunkAdapter] = {}
        self._busy: dict[Circuit, Connection] = {}
        self._ids = itertools.count(first_call)
        self._prefix = f"{node}-" if node else ""
        self._events: list[ev.BusEvent] = []
        self._cdrs: list[dict[str, Any]] = []
        for a in adapters:
            self.add_adapter(a)

    # ---- wiring -------------------------------------------------------------------
    def add_adapter(self, adapter: TrunkAdapter) -> None:
        """Serve the circuits of ``adapter`` (a circuit belongs to one adapter only)."""
        for circ in adapter.circuits():
            if circ in self._adapter_of:
                raise ValueError(f"circuit {circ} is served by two adapters")
            self._adapter_of[circ] = adapter
            self.available.setdefault(circ, True)
        self.adapters.append(adapter)

    def take_events(self) -> list[ev.BusEvent]:
        """Events since the last call, oldest first."""
        out, self._events = self._events, []
        return out

    def take_cdrs(self) -> list[dict[str, Any]]:
        """CDRs of calls cleared since the last call."""
        out, self._cdrs = self._cdrs, []
        return out

    @property
    def next_call_number(self) -> int:
        """The number the next call id will carry (persist it to continue after a restart)."""
        n = next(self._ids)
        self._ids = itertools.count(n)
        return n

    # ---- time and trunk input ---------------------------------------------------------
    def service(self, now: float) -> None:
        """Service every adapter up to ``now`` and apply what they report; expire failed calls."""
        for adapter in self.adapters:
            try:
                tevs = adapter.service(now)
            except Exception:   # a failing stack must not stop the others (counted, logged)
                self.counters["adapter_errors"] = self.counters.get("adapter_errors", 0) + 1
                log.exception("%s adapter service failed", adapter.signalling)
                continue
            for tev in tevs:
                try:
                    self.on_trunk_event(tev, adapter)
                except Exception:
                    self.counters["event_errors"] = self.counters.get("event_errors", 0) + 1
                    log.exception("trunk event %r failed", tev)
        for call in list(self.calls.values()):
            live = call.live()
            if len(live) == 1 and live[0].state is S.FAIL and now - live[0].since >= self.fail_linger:
                self._clear(call, live[0], call.cause or Cause.NORMAL_UNSPECIFIED, now)
                self._settle(call, now)

    def timer_deadline(self) -> float | None:
        """The earliest time :meth:`service` must run again without input."""
        ds = [d for a in self.adapters if (d := a.timer_deadline()) is not None]
        for call in self.calls.values():
            for c in call.live():
                if c.state is S.FAIL:
                    ds.append(c.since + self.fail_linger)
        return min(ds) if ds else None

    def on_trunk_event(self, tev: TrunkEvent, adapter: TrunkAdapter | None = None) -> None:
        """Apply one trunk event (what ``service`` does for each event an adapter reports)."""
        now = tev.time
        if isinstance(tev, IncomingCall):
            self._incoming(tev, adapter or self._adapter_of.get(tev.circuit))
            return
        if isinstance(tev, CircuitState):
            self._circuit_state(tev)
            return
        conn = self._busy.get(tev.circuit)
        if conn is None or conn.call not in self.calls:
            # e.g. the release completing a clear we already applied: nothing to do
            if not isinstance(tev, Released):
                self.counters["unexpected_trunk_events"] += 1
                log.debug("trunk event on idle circuit: %r", tev)
            return
        call = self.calls[conn.call]
        if isinstance(tev, Proceeding):
            return
        if isinstance(tev, Reattempted):
            self._reattempted(call, conn, tev, adapter)
            return
        if isinstance(tev, Alerting):
            if conn.fsm.allowed(X.ALERT):
                self._fire(call, conn, X.ALERT, ev.Delivered, now)
            return
        if isinstance(tev, Answered):
            if not conn.fsm.allowed(X.ANSWER):
                self.counters["unexpected_trunk_events"] += 1
                return
            self._fire(call, conn, X.ANSWER, ev.Established, now)
            call.answered = call.answered or now
            local = call.local()
            if local is not None and local.state is S.INITIATED:
                local.fsm.fire(X.ANSWER)
                local.since = now
            return
        if isinstance(tev, DigitsReceived):
            self._emit(ev.DigitsDialed, call, conn, digits=tev.digits, sent=False)
            return
        if isinstance(tev, Released):
            self._remote_released(call, conn, tev.cause, now)
            return
        self.counters["unexpected_trunk_events"] += 1

    def _incoming(self, tev: IncomingCall, adapter: TrunkAdapter | None) -> None:
        now = tev.time
        old = self._busy.get(tev.circuit)
        if old is not None and old.call in self.calls:
            # a new seizure on a circuit we think is busy: the old call is gone (glare / missed clear)
            log.warning("circuit %s seized while busy with call %s", tev.circuit, old.call)
            self._remote_released(self.calls[old.call], old, Cause.TEMPORARY_FAILURE, now)
        call = self._new_call("in", tev.calling, tev.called, tev.signalling or getattr(adapter, "signalling", ""), now)
        call.extra.update({k: v for k, v in (("category", tev.category),) if v is not None})
        remote = self._add(call, trunk_device(tev.circuit), False, tev.circuit, adapter, now)
        remote.fsm.fire(X.ANSWER)            # the calling party is off-hook: connected
        local = self._add(call, tev.called or "", True, None, None, now)
        local.offered = True
        self._fire(call, local, X.OFFER, ev.Offered, now)
        if self.auto_alert:
            from .errors import CallControlError
            try:
                self.deliver(call.id, now)
            except CallControlError as e:   # the stack refused to alert: give the call up
                log.warning("call %s: %s", call.id, e)
                call.cause = int(Cause.TEMPORARY_FAILURE)
                self._clear(call, remote, call.cause, now)
                self._settle(call, now)

    def _reattempted(self, call: Call, conn: Connection, tev: Reattempted,
                     adapter: TrunkAdapter | None) -> None:
        """Our call lost a dual seizure and the trunk placed it again on ``tev.new_circuit``
        (Q.764 2.10.1.4 / Q.12 automatic repeat attempt): the same call and connection move
        there; the trunk party's device follows its circuit (``trunk/<span>/<ts>``)."""
        old = tev.circuit
        try:
            new = tuple(tev.new_circuit)
        except TypeError:
            new = ()
        if new not in self._adapter_of or new == old:
            self.counters["unexpected_trunk_events"] += 1
            log.warning("call %s: repeat attempt onto unknown circuit %r ignored", call.id, tev.new_circuit)
            return
        other = self._busy.get(new)   # type: ignore[arg-type]
        if other is not None and other is not conn:
            # the model still has a call on the new circuit: the trunk's view wins, the stale one goes
            log.warning("repeat attempt of call %s onto %s, busy with call %s", call.id, new, other.call)
            if other.call in self.calls:
                self._remote_released(self.calls[other.call], other, Cause.TEMPORARY_FAILURE, tev.time)
        if self._busy.get(old) is conn:
            del self._busy[old]
        old_device = conn.device
        conn.circuit = new   # type: ignore[assignment]
        conn.adapter = adapter or self._adapter_of.get(new) or conn.adapter   # type: ignore[arg-type]
        conn.device = trunk_device(new)   # type: ignore[arg-type]
        call.connections = {(conn.device if d == old_device else d): c for d, c in call.connections.items()}
        self._busy[new] = conn   # type: ignore[index]
        self.counters["repeat_attempts"] = self.counters.get("repeat_attempts", 0) + 1
        call.extra.setdefault("reattempts", []).append(
            {"from": list(old), "to": list(new), "cause": int(tev.cause), "time": tev.time, "reason": tev.reason})
        self._emit(ev.Reattempted, call, conn, cause=int(tev.cause), old_span=old[0], old_ts=old[1],
                   old_device=old_device, attempt=tev.attempt, reason=tev.reason)

    def _circuit_state(self, tev: CircuitState) -> None:
        if self.available.get(tev.circuit) == tev.available:
            return
        self.available[tev.circuit] = tev.available
        span = tev.circuit[0]
        circs = [c for c in self._adapter_of if c[0] == span]
        self._events.append(ev.SpanState(span=span, available=sum(self.available[c] for c in circs),
                                         total=len(circs), reason=tev.reason))

    def _remote_released(self, call: Call, conn: Connection, cause: int, now: float) -> None:
        call.cause = call.cause or cause
        local = call.local()
        pending = conn.state in (S.INITIATED, S.ALERTING)
        self._clear(call, conn, cause, now, release=False)
        if pending and local is not None and local.live and local.state in (S.INITIATED, S.ALERTING) \
                and call.direction == "out" and not call.remotes():
            local.fsm.fire(X.FAIL)
            local.since = now
            self._emit(ev.Failed, call, local, cause=cause)
            return
        self._settle(call, now)

    # ---- helpers the commands use too --------------------------------------------------
    def _new_call(self, direction: str, calling: str | None, called: str | None, sig: str, now: float) -> Call:
        cid = f"{self._prefix}{next(self._ids)}"
        call = Call(cid, direction, calling, called, sig, now)
        self.calls[cid] = call
        self.counters["calls"] += 1
        return call

    def _add(self, call: Call, device: str, local: bool, circuit: Circuit | None,
             adapter: TrunkAdapter | None, now: float) -> Connection:
        conn = Connection(call.id, device, local, circuit, adapter, now)
        call.connections[device] = conn
        if circuit is not None:
            self._busy[circuit] = conn
        return conn

    def _fire(self, call: Call, conn: Connection, stim: Stimulus, event: type[ev.CallEvent],
              now: float, **extra: Any) -> None:
        conn.fsm.fire(stim)
        conn.since = now
        self._emit(event, call, conn, **extra)

    def _emit(self, event: type[ev.CallEvent], call: Call, conn: Connection | None, **extra: Any) -> None:
        circ = (conn.circuit if conn is not None and conn.circuit else None) or call.circuit()
        self._events.append(event(
            call=call.id, device=conn.device if conn else "", state=conn.state.value if conn else "null",
            calling=call.calling, called=call.called, span=circ[0] if circ else None,
            ts=circ[1] if circ else None, signalling=call.signalling, direction=call.direction,
            devices=call.local_devices(), **extra))

    def _clear(self, call: Call, conn: Connection, cause: int, now: float, *, release: bool = True,
               emit: bool = True) -> None:
        """Take ``conn`` to null; release its circuit towards the network when ``release``."""
        if not conn.live:
            return
        conn.fsm.fire(X.CLEAR)
        conn.offered = False
        conn.since = now
        if conn.circuit is not None:
            if self._busy.get(conn.circuit) is conn:
                del self._busy[conn.circuit]
            if release and conn.adapter is not None:
                try:
                    conn.adapter.release(conn.circuit, int(cause), now)
                except ADAPTER_ERRORS as e:   # the stack already considers it idle
                    log.info("release of %s: %s", conn.circuit, e)
        if emit:
            self._emit(ev.ConnectionCleared, call, conn, cause=int(cause))

    def _settle(self, call: Call, now: float) -> None:
        """End ``call`` when fewer than two parties are left (a lone failed party lingers)."""
        live = call.live()
        if len(live) >= 2:
            return
        if len(live) == 1 and live[0].state is S.FAIL:
            return
        cause = int(call.cause or Cause.NORMAL_CLEARING)
        last = ""
        for c in live:
            self._clear(call, c, cause, now)
            last = c.device
        self._emit(ev.CallCleared, call, None, cause=cause)
        self._events[-1] = _replace_device(self._events[-1], last)
        self._finish(call, now, "cleared")

    def _finish(self, call: Call, now: float, how: str, merged_into: str | None = None) -> None:
        self.calls.pop(call.id, None)
        circ = call.circuit()
        local = call.local()
        self._cdrs.append({
            "call": call.id, "direction": call.direction, "calling": call.calling,
            "called": call.called, "device": local.device if local else None,
            "span": circ[0] if circ else None, "ts": circ[1] if circ else None,
            "signalling": call.signalling, "started": call.created, "answered": call.answered,
            "ended": now, "talk_seconds": round(now - call.answered, 3) if call.answered else 0.0,
            "cause": int(call.cause or Cause.NORMAL_CLEARING), "outcome": _outcome(call, how),
            "merged_into": merged_into, "merged": list(call.merged),
        })

    # ---- queries -------------------------------------------------------------------
    def call(self, call_id: str) -> Call:
        from .errors import InvalidCallError, InvalidParameterError
        if not isinstance(call_id, str):
            raise InvalidParameterError("call must be a string call id", field="call")
        try:
            return self.calls[call_id]
        except KeyError:
            raise InvalidCallError(f"no call {call_id!r}", call=call_id) from None

    def snapshot(self) -> dict[str, Any]:
        """Live calls and span availability (for the bus snapshot)."""
        spans: dict[int, list[Circuit]] = {}
        for c in self._adapter_of:
            spans.setdefault(c[0], []).append(c)
        return {
            "calls": [c.to_dict() for c in self.calls.values()],
            "spans": [{"span": s, "total": len(cs), "available": sum(self.available[c] for c in cs),
                       "busy": sum(c in self._busy for c in cs),
                       "signalling": getattr(self._adapter_of[cs[0]], "signalling", "")}
                      for s, cs in sorted(spans.items())],
        }

    def validate(self) -> list[str]:
        """Every broken invariant, as text (empty when the model is consistent)."""
        bad: list[str] = []
        seen: dict[Circuit, str] = {}
        for cid, call in self.calls.items():
            live = call.live()
            if not live:
                bad.append(f"{cid}: no live connection")
            locals_ = [c for c in call.connections.values() if c.local and c.live]
            if len(locals_) > 1:
                bad.append(f"{cid}: {len(locals_)} live local connections")
            if not locals_ and len(live) < 2:
                bad.append(f"{cid}: lone trunk party")
            fails = [c for c in live if c.state is S.FAIL]
            if fails and len(live) > 1:
                bad.append(f"{cid}: failed connection beside others")
            for c in live:
                if c.state not in ConnectionState:
                    bad.append(f"{cid}: bad state {c.state}")
                if c.circuit is not None:
                    if c.circuit in seen:
                        bad.append(f"circuit {c.circuit} in {seen[c.circuit]} and {cid}")
                    seen[c.circuit] = cid
                    if self._busy.get(c.circuit) is not c:
                        bad.append(f"{cid}: circuit {c.circuit} not marked busy")
        for circ, conn in self._busy.items():
            if conn.call not in self.calls or not conn.live:
                bad.append(f"circuit {circ} busy with a dead connection {conn.call}/{conn.device}")
        return bad


def _outcome(call: Call, how: str) -> str:
    if how != "cleared":
        return how
    if call.answered is not None:
        return "answered"
    if call.cause in (Cause.USER_BUSY,):
        return "busy"
    return "unanswered" if call.direction == "in" else "failed"


def _replace_device(event: ev.BusEvent, device: str) -> ev.BusEvent:
    import dataclasses
    return dataclasses.replace(event, device=device)  # type: ignore[type-var]
