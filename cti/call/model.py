"""The call model: calls and CSTA connections, driven by trunk adapters and call control.

Sans-IO like the stacks below it: time is passed in, nothing here touches a socket. Inputs
are :mod:`cti.signaling.trunk` events (:meth:`CallModel.service` or
:meth:`CallModel.on_trunk_event`) and the CSTA services of :mod:`cti.call.services` (an
object over this model, ``model.services``; each service is reachable as ``model.<name>``
too, e.g. ``model.make_call``). Outputs are :mod:`cti.call.events` objects and CDR dicts,
collected until the owner takes them (:meth:`take_events`, :meth:`take_cdrs`).

Imports run one way: :mod:`.parties` (data) <- :mod:`.services` (call control) <- this
module (state, trunk input, the primitives the services use).

Devices and events (ECMA-269): an incoming call is Offered to the called number. A plain
device is rung at once (Delivered there); a *routing device* (a route point the contact
centre serves, :attr:`CallModel.routing_devices`) is not: the call waits there (Queued)
until the ACD hands it to agents (Diverted from the route point, Delivered at each agent's
device), and the device that answers reports Established. A call ends (CallCleared + CDR)
when fewer than two parties, or no trunk party, are left; a lone failed connection stays
(CSTA ``fail``) until cleared or ``fail_linger`` seconds pass.
"""
from __future__ import annotations

import dataclasses
import itertools
import logging
from typing import Any
from collections.abc import Callable, Collection, Iterable

from cti.signaling.causes import Cause
from cti.signaling.trunk import (Alerting, Answered, Circuit, CircuitState, DigitsReceived,
                                 IncomingCall, Proceeding, Reattempted, Released, TrunkAdapter,
                                 TrunkEvent)

from . import events as ev
from .errors import (CallControlError, InvalidCallError, InvalidDeviceError, InvalidParameterError,
                     InvalidStateError, ResourceBusyError, TrunkFailureError)
from .parties import ADAPTER_ERRORS, Call, Connection, MediaPath, trunk_device
from .services import SERVICES, CallServices, check_device
from .states import ConnectionState, Stimulus

log = logging.getLogger(__name__)
S, X = ConnectionState, Stimulus
#: the user data of events of a call without any (shared, never changed: events are frozen)
_NO_DATA: dict[str, str] = {}

__all__ = ["Call", "CallModel", "Connection", "MediaPath", "trunk_device"]


class CallModel:
    """Calls over the circuits of some trunk adapters (see the module docstring).

    ``routing_devices``: called numbers the model does not ring itself (route points);
    ``presentation``: the calling number each device presents on MakeCall (default: the
    device id); ``pickup_groups``: group name -> devices, for group PickupCall.
    """

    def __init__(self, adapters: Iterable[TrunkAdapter] = (), *, auto_alert: bool = True,
                 media: MediaPath | None = None, first_call: int = 1, node: str = "",
                 fail_linger: float = 5.0, routing_devices: Iterable[str] = (),
                 presentation: dict[str, str] | None = None,
                 pickup_groups: dict[str, Iterable[str]] | None = None) -> None:
        self.adapters: list[TrunkAdapter] = []
        self.auto_alert = auto_alert
        self.media = media
        self.fail_linger = fail_linger
        self.routing_devices: set[str] = set(routing_devices)
        self.presentation: dict[str, str] = dict(presentation or {})
        self.pickup_groups: dict[str, set[str]] = {g: set(d) for g, d in (pickup_groups or {}).items()}
        self.calls: dict[str, Call] = {}
        self._failing = False     #: a connection may be in FAIL (X.FAIL fired): service expires it after fail_linger
        self.available: dict[Circuit, bool] = {}
        self.counters: dict[str, int] = {"unexpected_trunk_events": 0, "calls": 0}
        self._adapter_of: dict[Circuit, TrunkAdapter] = {}
        self._busy: dict[Circuit, Connection] = {}
        self._ids = itertools.count(first_call)
        self._prefix = f"{node}-" if node else ""
        self._events: list[ev.BusEvent] = []
        self._cdrs: list[dict[str, Any]] = []
        self.services = CallServices(self)
        for a in adapters:
            self.add_adapter(a)

    def __getattr__(self, name: str) -> Any:
        # the CSTA services answer as the model's own methods (model.make_call(...))
        if name in SERVICES:
            return getattr(self.services, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # ---- wiring -------------------------------------------------------------------
    def add_adapter(self, adapter: TrunkAdapter) -> None:
        """Serve the circuits of ``adapter`` (a circuit belongs to one adapter only)."""
        for circ in adapter.circuits():
            if circ in self._adapter_of:
                raise ValueError(f"circuit {circ} is served by two adapters")
            self._adapter_of[circ] = adapter
            self.available.setdefault(circ, True)
        self.adapters.append(adapter)

    def busy_circuits(self) -> Collection[Circuit]:
        """The trunk circuits in a call now (a live view: do not keep it across calls into the model)."""
        return self._busy.keys()

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
        if self._failing:                  # only while a connection is failed: no walk over every call per block
            failed = False
            for call in list(self.calls.values()):
                live = call.live()
                if len(live) == 1 and live[0].state is S.FAIL and now - live[0].since >= self.fail_linger:
                    self._clear(call, live[0], call.cause or Cause.NORMAL_UNSPECIFIED, now)
                    self._settle(call, now)
                elif any(c.state is S.FAIL for c in live):
                    failed = True
            self._failing = failed

    def timer_deadline(self) -> float | None:
        """The earliest time :meth:`service` must run again without input."""
        ds = [d for a in self.adapters if (d := a.timer_deadline()) is not None]
        for call in self.calls.values() if self._failing else ():
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
        if local.device in self.routing_devices:
            call.route_device = local.device
        self._fire(call, local, X.OFFER, ev.Offered, now)
        if self.auto_alert and call.route_device is None:
            try:
                self._ring(call, local, now)
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
            new: Circuit = tuple(tev.new_circuit)  # type: ignore[assignment]
        except TypeError:
            new = ()  # type: ignore[assignment]
        if new not in self._adapter_of or new == old:
            self.counters["unexpected_trunk_events"] += 1
            log.warning("call %s: repeat attempt onto unknown circuit %r ignored", call.id, tev.new_circuit)
            return
        other = self._busy.get(new)
        if other is not None and other is not conn:
            # the model still has a call on the new circuit: the trunk's view wins, the stale one goes
            log.warning("repeat attempt of call %s onto %s, busy with call %s", call.id, new, other.call)
            if other.call in self.calls:
                self._remote_released(self.calls[other.call], other, Cause.TEMPORARY_FAILURE, tev.time)
        if self._busy.get(old) is conn:
            del self._busy[old]
        old_device = conn.device
        conn.circuit = new
        conn.adapter = adapter or self._adapter_of.get(new) or conn.adapter
        conn.device = trunk_device(new)
        call.connections = {(conn.device if d == old_device else d): c for d, c in call.connections.items()}
        self._busy[new] = conn
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
        pending = conn.state in (S.INITIATED, S.ALERTING)
        self._clear(call, conn, cause, now, release=False)
        local = call.local()
        if pending and call.direction == "out" and not call.remotes() and call.answered is None \
                and local is not None and local.live and len(call.locals_live()) == 1 and local.fsm.allowed(X.FAIL):
            local.fsm.fire(X.FAIL, None, now)
            local.since = now
            self._failing = True
            self._emit(ev.Failed, call, local, cause=cause)
            return
        self._settle(call, now)

    # ---- primitives the services use ------------------------------------------------------
    def call(self, call_id: str) -> Call:
        """The live call ``call_id`` (typed errors for a bad or unknown id)."""
        if not isinstance(call_id, str):
            raise InvalidParameterError("call must be a string call id", field="call")
        try:
            return self.calls[call_id]
        except KeyError:
            raise InvalidCallError(f"no call {call_id!r}", call=call_id) from None

    def _conn(self, call: Call, device: str | None) -> Connection:
        """``device``'s live connection in ``call`` (default: the call's local one)."""
        if device is None:
            conn = call.local()
            if conn is None or not conn.live:
                raise InvalidDeviceError(f"call {call.id} has no local device; name one", call=call.id)
            return conn
        check_device(device)
        found = call.connections.get(device)
        if found is None or not found.live:
            raise InvalidDeviceError(f"device {device!r} is not a party of call {call.id}",
                                     call=call.id, device=device)
        return found

    def _require(self, conn: Connection, stim: Stimulus, service: str) -> None:
        if not conn.fsm.allowed(stim):
            raise InvalidStateError(f"{service} not allowed: {conn.device} is {conn.state.value} in call {conn.call}",
                                    call=conn.call, device=conn.device, state=conn.state.value)

    def _seize(self, called: str, calling: str | None, now: float,
               trunk: str | None = None, circuit: Circuit | None = None) -> tuple[TrunkAdapter, Circuit]:
        """A free circuit for a call to ``called`` (of ``trunk`` signalling, or ``circuit``)."""
        if circuit is not None:
            adapters = [self._adapter_of[circuit]] if circuit in self._adapter_of else []
            if not adapters:
                raise InvalidParameterError(f"no trunk serves circuit {circuit}", field="circuit")
            if circuit in self._busy:
                raise ResourceBusyError(f"circuit {circuit} is busy", circuit=list(circuit))
        else:
            adapters = [a for a in self.adapters if trunk in (None, "", a.signalling)]
            if not adapters:
                raise InvalidParameterError(f"no {trunk or ''} trunk configured", field="trunk")
        last: Exception | None = None
        for a in adapters:
            try:
                got = a.make_call(called, calling, now, circuit)
            except ADAPTER_ERRORS as e:
                last = e
                continue
            if got in self._busy or got not in self._adapter_of:
                try:
                    a.release(got, int(Cause.TEMPORARY_FAILURE), now)
                except ADAPTER_ERRORS:
                    pass
                raise TrunkFailureError(f"adapter seized circuit {got}, which is busy or unknown")
            return a, got
        raise ResourceBusyError(f"no circuit free for {called}: {last}", cause=getattr(last, "cause", 34))

    def _originate(self, call: Call, device: str, adapter: TrunkAdapter, circ: Circuit, now: float) -> Connection:
        """``device`` originates ``call`` over the seized ``circ``: Originated, device connected."""
        local = self._add(call, device, True, None, None, now)
        local.fsm.fire(X.INITIATE, None, now)
        self._add(call, trunk_device(circ), False, circ, adapter, now).fsm.fire(X.SEIZE, None, now)
        self._fire(call, local, X.ORIGINATE, ev.Originated, now)
        return local

    def _alert_network(self, call: Call, now: float) -> None:
        """Tell the calling network that the call rings (once per incoming call)."""
        if not call.network_alerted and call.direction == "in":
            self._to_caller(call, lambda a, c, t: a.alert(c, t), "alert", now)
        call.network_alerted = True

    def _answer_network(self, call: Call, now: float) -> None:
        """Answer the trunk of an incoming call (once)."""
        if not call.network_answered and call.direction == "in":
            self._to_caller(call, lambda a, c, t: a.answer(c, t), "answer", now)
        call.network_answered = True

    def _to_caller(self, call: Call, request: Callable[[TrunkAdapter, Circuit, float], None], what: str,
                   now: float) -> None:
        """``request(adapter, circuit, now)`` (alert / answer) on the caller's circuit; a refusal is a
        typed error."""
        for r in call.remotes():
            if r.adapter is not None and r.circuit is not None:
                try:
                    request(r.adapter, r.circuit, now)
                except ADAPTER_ERRORS as e:
                    raise TrunkFailureError(f"{what} failed: {e}", cause=getattr(e, "cause", 41)) from e
                return

    def _ring(self, call: Call, conn: Connection, now: float) -> None:
        """Alert our device ``conn`` (Delivered), telling the network first."""
        self._require(conn, X.ALERT, "deliver")
        self._alert_network(call, now)
        self._fire(call, conn, X.ALERT, ev.Delivered, now)

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
        conn.fsm.fire(stim, None, now)
        conn.since = now
        self._emit(event, call, conn, **extra)

    def _emit(self, event: type[ev.CallEvent], call: Call, conn: Connection | None, **extra: Any) -> None:
        circ = (conn.circuit if conn is not None and conn.circuit else None) or call.circuit()
        self._events.append(event(
            call=call.id, device=conn.device if conn else "", state=conn.state.value if conn else "null",
            calling=call.calling, called=call.called, span=circ[0] if circ else None,
            ts=circ[1] if circ else None, signalling=call.signalling, direction=call.direction,
            devices=call.local_devices(), user_data=dict(call.user_data) if call.user_data else _NO_DATA, **extra))

    def _clear(self, call: Call, conn: Connection, cause: int, now: float, *, release: bool = True,
               emit: bool = True) -> None:
        """Take ``conn`` to null; release its circuit towards the network when ``release``."""
        if not conn.live:
            return
        conn.fsm.fire(X.CLEAR, None, now)
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

    def _divert(self, call: Call, conn: Connection, to: list[str], reason: str, now: float) -> None:
        """The call leaves ``conn``'s device for ``to`` (Diverted; the connection is null after)."""
        self._require(conn, X.DIVERT, "divert")
        conn.offered = False
        self._fire(call, conn, X.DIVERT, ev.Diverted, now, to=list(to), reason=reason)

    def _settle(self, call: Call, now: float) -> None:
        """End ``call`` when fewer than two parties, or no trunk party, are left (a lone failed
        party lingers)."""
        live = call.live()
        if len(live) >= 2 and any(not c.local for c in live):
            return
        if len(live) == 1 and live[0].state is S.FAIL:
            return
        cause = int(call.cause or Cause.NORMAL_CLEARING)
        last = ""
        for c in live:
            self._clear(call, c, cause, now)
            last = c.device
        self._emit(ev.CallCleared, call, None, cause=cause)
        cleared = self._events[-1]
        assert isinstance(cleared, ev.CallCleared)
        self._events[-1] = dataclasses.replace(cleared, device=last)
        self._finish(call, now, "cleared")

    def _finish(self, call: Call, now: float, how: str, merged_into: str | None = None) -> None:
        self.calls.pop(call.id, None)
        circ = call.circuit()
        local = call.local()
        self._cdrs.append({
            "call": call.id, "direction": call.direction, "calling": call.calling,
            "called": call.called, "device": call.answered_by or (local.device if local else None),
            "span": circ[0] if circ else None, "ts": circ[1] if circ else None,
            "signalling": call.signalling, "started": call.created, "answered": call.answered,
            "ended": now, "talk_seconds": round(now - call.answered, 3) if call.answered else 0.0,
            "cause": int(call.cause or Cause.NORMAL_CLEARING), "outcome": _outcome(call, how),
            "merged_into": merged_into, "merged": list(call.merged),
            "route_device": call.route_device, "user_data": dict(call.user_data),
        })

    # ---- queries -------------------------------------------------------------------
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
            locals_ = call.locals_live()
            settled = [c for c in locals_ if c.state is not S.ALERTING]
            if len(settled) > 1:       # several devices may ring for one call (ring-all), one holds it
                bad.append(f"{cid}: {len(settled)} live local connections not alerting")
            if not locals_ and len(live) < 2:
                bad.append(f"{cid}: lone trunk party")
            if live and all(c.local for c in live) and not (len(live) == 1 and live[0].state is S.FAIL):
                bad.append(f"{cid}: no trunk party left")
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
