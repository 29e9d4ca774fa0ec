"""The CSTA call-control services (ECMA-269), as an object over the call model.

:class:`CallServices` holds a :class:`cti.call.model.CallModel` and acts on it through the
model's primitives. Each service either changes the model (events follow in
``model.take_events()``) and returns a small result dict, or raises a
:class:`cti.call.errors.CallControlError` subclass and changes nothing. ``device`` defaults
to the call's local device. The bus maps request types onto these methods; each is also
reachable as ``model.<name>`` (:data:`SERVICES`).

This module imports only the parties and the tables: the model imports it, never the
other way round.
"""
from __future__ import annotations

import re
from typing import Any

from cti.signaling.causes import Cause
from cti.signaling.trunk import Circuit

from . import events as ev
from .errors import InvalidDeviceError, InvalidParameterError, InvalidStateError, TrunkFailureError
from .parties import Call, Connection, trunk_device
from .states import ConnectionState, Stimulus

S, X = ConnectionState, Stimulus
_NUMBER = re.compile(r"[0-9*#A-F]{1,32}")
_DIGITS = re.compile(r"[0-9*#A-D]{1,64}")
_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,32}")
#: user data limits: keys per call, characters per value, encoded size of the whole map
USER_DATA_KEYS = 32
USER_DATA_VALUE = 256
USER_DATA_BYTES = 4096
#: Q.850 cause 26, "non-selected user clearing": the other devices rung for a call one answered
NON_SELECTED = 26


def check_number(value: object, name: str) -> str:
    """A dialable number: 1-32 of 0-9 * # A-F."""
    if not isinstance(value, str) or not _NUMBER.fullmatch(value):
        raise InvalidParameterError(f"{name} must be 1-32 digits (0-9 * # A-F), not {value!r}", field=name)
    return value


def check_device(value: object, name: str = "device") -> str:
    if not isinstance(value, str) or not 0 < len(value) <= 64 or not value.isprintable():
        raise InvalidParameterError(f"{name} must be a device id (1-64 printable characters), not {value!r}",
                                    field=name)
    return value


def check_user_data(data: object, field: str = "data") -> dict[str, str]:
    """A user-data map: up to 32 keys of 1-32 ``[A-Za-z0-9_.-]``, string values of up to 256
    printable characters (str, int, float and bool values are taken as their text)."""
    if not isinstance(data, dict):
        raise InvalidParameterError(f"{field} must be a map of strings, not {type(data).__name__}", field=field)
    if len(data) > USER_DATA_KEYS:
        raise InvalidParameterError(f"{field} has {len(data)} keys; at most {USER_DATA_KEYS}", field=field,
                                    limit=USER_DATA_KEYS)
    out: dict[str, str] = {}
    for k, v in data.items():
        if not isinstance(k, str) or not _KEY.fullmatch(k):
            raise InvalidParameterError(f"{field} key {k!r} must be 1-32 of A-Z a-z 0-9 _ . -", field=field, key=str(k))
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            v = str(v)
        elif isinstance(v, bool):
            v = "true" if v else "false"
        if not isinstance(v, str) or not v.isprintable():
            raise InvalidParameterError(f"{field}[{k!r}] must be a printable string, not {v!r}", field=field, key=k)
        if len(v) > USER_DATA_VALUE:
            raise InvalidParameterError(f"{field}[{k!r}] is {len(v)} characters; at most {USER_DATA_VALUE}",
                                        field=field, key=k, limit=USER_DATA_VALUE)
        out[k] = v
    return out


def _size(data: dict[str, str]) -> int:
    return sum(len(k.encode()) + len(v.encode()) for k, v in data.items())


class CallServices:
    """The CSTA services over ``model`` (a :class:`cti.call.model.CallModel`)."""

    def __init__(self, model: Any) -> None:
        self.m = model

    # ---- origination ----------------------------------------------------------------
    def make_call(self, device: str, called: str, now: float, *, calling: str | None = None,
                  trunk: str | None = None, circuit: Circuit | None = None) -> dict[str, Any]:
        """MakeCall: ``device`` calls ``called`` over a free circuit (of ``trunk`` signalling).
        The calling number is ``calling`` when given (the bus lets only accounts with the right
        set it), else the device's configured presentation number, else the device id."""
        m = self.m
        check_device(device)
        check_number(called, "called")
        if calling is not None:
            check_number(calling, "calling")
        else:
            calling = m.presentation.get(device)
        adapter, circ = m._seize(called, calling, now, trunk, circuit)
        call = m._new_call("out", calling if calling is not None else device, called, adapter.signalling, now)
        m._originate(call, device, adapter, circ, now)
        return {"call": call.id, "span": circ[0], "ts": circ[1]}

    # ---- routing (ACD seam) -------------------------------------------------------------
    def deliver(self, call_id: str, now: float, *, devices: list[str] | None = None,
                reason: str = "acd") -> dict[str, Any]:
        """Ring the call. Without ``devices``: its own local device (Delivered there). With
        ``devices`` (the ACD's offer): the call leaves its route point (Diverted) and rings at
        each of ``devices`` (Delivered at each)."""
        m = self.m
        call = m.call(call_id)
        if devices is None:
            m._ring(call, m._conn(call, None), now)
            return {"call": call.id}
        if not isinstance(devices, list) or not devices:
            raise InvalidParameterError("devices must be a non-empty list of device ids", field="devices")
        for d in devices:
            check_device(d, "devices")
            have = call.connections.get(d)
            if have is not None and have.live:
                raise InvalidStateError(f"device {d} is already a party of call {call.id}", call=call.id, device=d)
        if len(set(devices)) != len(devices):
            raise InvalidParameterError("devices must not repeat", field="devices")
        src = call.connections.get(call.route_device) if call.route_device else call.local()
        waiting = src is not None and src.live and (src.state is S.QUEUED or (src.state is S.NULL and src.offered))
        ringing = [c for c in call.locals_live() if c.state is S.ALERTING and c.via == reason]
        if not waiting and not ringing:
            raise InvalidStateError(f"deliver: call {call.id} does not wait at a route point",
                                    call=call.id, state=src.state.value if src is not None else "null")
        m._alert_network(call, now)             # first: a refusal by the trunk changes nothing
        if waiting:
            assert src is not None
            m._divert(call, src, devices, reason, now)
        for d in devices:
            c = m._add(call, d, True, None, None, now)
            c.via = reason
            m._ring(call, c, now)
        return {"call": call.id, "devices": list(devices)}

    def queue_call(self, call_id: str, queue: str, now: float, *, device: str | None = None) -> dict[str, Any]:
        """The call waits at its route point (``device``, default the call's route device or its
        local device) for an agent of ``queue`` (Queued). A call that had been handed to agents
        comes back to its route point."""
        m = self.m
        call = m.call(call_id)
        dev = device if device is not None else call.route_device
        if dev is None:
            found: Connection | None = m._conn(call, None)
        else:
            check_device(dev)
            found = call.connections.get(dev)
            found = found if found is not None and found.live else None
        if call.direction == "out" and call.answered is None:
            raise InvalidStateError(f"queue: outgoing call {call.id} has not been answered", call=call.id)
        others = [c for c in call.locals_live() if c is not found]
        busy = [c for c in others if c.state is not S.ALERTING]
        if busy:
            raise InvalidStateError(f"queue: call {call.id} is with {busy[0].device} ({busy[0].state.value})",
                                    call=call.id, device=busy[0].device, state=busy[0].state.value)
        if found is not None:
            m._require(found, X.QUEUE, "queue")
        m._alert_network(call, now)             # first: a refusal by the trunk changes nothing
        for c in others:                       # the agents rung stop ringing: the call goes back to the queue
            m._clear(call, c, int(Cause.NORMAL_UNSPECIFIED), now)
            if c.via == "acd":
                del call.connections[c.device]
        conn = found if found is not None else m._add(call, dev or "", True, None, None, now)
        call.route_device = conn.device
        conn.offered = False
        m._fire(call, conn, X.QUEUE, ev.Queued, now, queue=str(queue))
        return {"call": call.id}

    def withdraw(self, call_id: str, device: str, now: float, *, cause: int = int(Cause.NO_ANSWER),
                 queue: str | None = None) -> dict[str, Any]:
        """The ACD takes the call back from ``device`` that rings (ring no answer): its
        connection clears; when no device of ours is left the call goes back to ``queue`` at its
        route point (or ends when ``queue`` is None)."""
        m = self.m
        call = m.call(call_id)
        conn = m._conn(call, device)
        if not conn.local or conn.state is not S.ALERTING:
            raise InvalidStateError(f"withdraw: {conn.device} is {conn.state.value} in call {call.id}",
                                    call=call.id, device=conn.device, state=conn.state.value)
        m._clear(call, conn, cause, now)
        del call.connections[conn.device]     # no longer a party: the device stops seeing the call
        if not call.locals_live():
            if queue is not None:
                return self.queue_call(call_id, queue, now)
            m._settle(call, now)
        return {"call": call.id}

    # ---- termination and clearing ---------------------------------------------------------
    def answer_call(self, call_id: str, now: float, *, device: str | None = None) -> dict[str, Any]:
        """AnswerCall: our alerting (queued, or offered) device answers; the trunk is answered
        if it was not yet; the other devices rung for the call stop ringing."""
        m = self.m
        call = m.call(call_id)
        conn = m._conn(call, device)
        if not conn.local or not (conn.state in (S.ALERTING, S.QUEUED) or (conn.state is S.NULL and conn.offered)):
            raise InvalidStateError(f"AnswerCall not allowed: {conn.device} is {conn.state.value}"
                                    f"{'' if conn.local else ' (a trunk party)'} in call {call.id}",
                                    call=call.id, device=conn.device, state=conn.state.value)
        if not call.network_alerted:
            m._alert_network(call, now)
        m._answer_network(call, now)
        self._answered(call, conn, now)
        return {"call": call.id}

    def _answered(self, call: Call, conn: Connection, now: float) -> None:
        m = self.m
        call.answered = call.answered or now
        call.answered_by = conn.device
        conn.offered = False
        m._fire(call, conn, X.ANSWER, ev.Established, now)
        for other in call.locals_live():
            if other is not conn and other.state is S.ALERTING:
                m._clear(call, other, NON_SELECTED, now)
                if other.via == "acd":        # an agent who was not chosen stops seeing the call
                    del call.connections[other.device]

    def clear_connection(self, call_id: str, now: float, *, device: str | None = None,
                         cause: int = int(Cause.NORMAL_CLEARING)) -> dict[str, Any]:
        """ClearConnection: ``device`` leaves the call (rejects it with ``cause`` if not answered)."""
        m = self.m
        call = m.call(call_id)
        if not isinstance(cause, int) or isinstance(cause, bool) or not 1 <= cause <= 127:
            raise InvalidParameterError(f"cause must be a Q.850 cause 1..127, not {cause!r}", field="cause")
        conn = m._conn(call, device)
        call.cause = call.cause or cause
        m._clear(call, conn, cause, now)
        m._settle(call, now)
        return {"call": call.id}

    # ---- hold / retrieve / alternate / reconnect -------------------------------------------
    def hold_call(self, call_id: str, now: float, *, device: str | None = None) -> dict[str, Any]:
        """HoldCall: the connected local device puts the call on hold (an outgoing call once the
        far end has answered)."""
        m = self.m
        call = m.call(call_id)
        conn = m._conn(call, device)
        m._require(conn, X.HOLD, "HoldCall")
        self._require_answered(call, conn, "HoldCall")
        m._fire(call, conn, X.HOLD, ev.Held, now)
        return {"call": call.id}

    def _require_answered(self, call: Call, conn: Connection, service: str) -> None:
        """Someone else talks in the call: a trunk party (or another of our devices) is connected."""
        if not any(c is not conn and c.state in (S.CONNECTED, S.HOLD) for c in call.live()):
            raise InvalidStateError(f"{service} not allowed: nobody has answered {conn.device}'s call {call.id} yet",
                                    call=call.id, device=conn.device, state=conn.state.value)

    def retrieve_call(self, call_id: str, now: float, *, device: str | None = None) -> dict[str, Any]:
        """RetrieveCall: the device takes the held call back."""
        m = self.m
        call = m.call(call_id)
        conn = m._conn(call, device)
        m._require(conn, X.RETRIEVE, "RetrieveCall")
        m._fire(call, conn, X.RETRIEVE, ev.Retrieved, now)
        return {"call": call.id}

    def alternate_call(self, held_call: str, active_call: str, now: float, *,
                       device: str | None = None) -> dict[str, Any]:
        """AlternateCall: the device holds its active call and takes its held call back
        (Held in ``active_call``, Retrieved in ``held_call``)."""
        m = self.m
        held, hconn, active, aconn = self._two_calls(held_call, active_call, device, "AlternateCall")
        m._require(aconn, X.HOLD, "AlternateCall")
        self._require_answered(active, aconn, "AlternateCall")
        m._fire(active, aconn, X.HOLD, ev.Held, now)
        m._fire(held, hconn, X.RETRIEVE, ev.Retrieved, now)
        return {"call": held.id, "held_call": active.id}

    def reconnect_call(self, held_call: str, active_call: str, now: float, *,
                       device: str | None = None) -> dict[str, Any]:
        """ReconnectCall: the device leaves its active (consultation) call and takes its held
        call back (ConnectionCleared in ``active_call``, Retrieved in ``held_call``)."""
        m = self.m
        held, hconn, active, aconn = self._two_calls(held_call, active_call, device, "ReconnectCall")
        m._clear(active, aconn, Cause.NORMAL_CLEARING, now)
        active.cause = active.cause or int(Cause.NORMAL_CLEARING)
        m._settle(active, now)
        m._fire(held, hconn, X.RETRIEVE, ev.Retrieved, now)
        return {"call": held.id}

    # ---- consultation, transfer, conference -----------------------------------------------
    def consultation_call(self, call_id: str, called: str, now: float, *,
                          device: str | None = None) -> dict[str, Any]:
        """ConsultationCall: hold ``call`` and call ``called`` from the same device; the new call
        starts with a copy of the held call's user data."""
        m = self.m
        call = m.call(call_id)
        conn = m._conn(call, device)
        check_number(called, "called")
        if not conn.local:
            raise InvalidDeviceError("ConsultationCall needs the local device", device=conn.device)
        m._require(conn, X.HOLD, "ConsultationCall")
        self._require_answered(call, conn, "ConsultationCall")
        ours = call.called if call.direction == "in" else call.calling
        adapter, circ = m._seize(called, ours, now)
        m._fire(call, conn, X.HOLD, ev.Held, now)
        new = m._new_call("out", ours, called, adapter.signalling, now)
        new.extra["consultation_of"] = call.id
        new.user_data = dict(call.user_data)
        m._originate(new, conn.device, adapter, circ, now)
        return {"call": new.id, "held_call": call.id, "span": circ[0], "ts": circ[1]}

    def _two_calls(self, held_id: str, active_id: str, device: str | None,
                   service: str) -> tuple[Call, Connection, Call, Connection]:
        m = self.m
        if held_id == active_id:
            raise InvalidParameterError(f"{service} needs two different calls", field="active_call")
        held, active = m.call(held_id), m.call(active_id)
        hconn = self._held_conn(held, device)
        aconn = m._conn(active, device if device is not None else hconn.device)
        if not hconn.local or hconn.device != aconn.device:
            raise InvalidDeviceError(f"{service}: both calls must belong to the same local device",
                                     device=hconn.device)
        if hconn.state is not S.HOLD:
            raise InvalidStateError(f"{service}: {hconn.device} is {hconn.state.value} in {held.id}, not hold",
                                    call=held.id, state=hconn.state.value)
        return held, hconn, active, aconn

    def _held_conn(self, held: Call, device: str | None) -> Connection:
        if device is not None:
            return self.m._conn(held, device)   # type: ignore[no-any-return]
        for c in held.locals_live():
            if c.state is S.HOLD:
                return c
        return self.m._conn(held, None)   # type: ignore[no-any-return]

    def _merge(self, into: Call, other: Call) -> None:
        for dev, c in list(other.connections.items()):
            if c.local or not c.live:
                continue
            c.call = into.id
            into.connections[dev] = c
            del other.connections[dev]
        into.merged.append(other.id)
        into.extra["devices"] = sorted(set(into.local_devices()) | set(other.local_devices()))
        into.answered = into.answered or other.answered
        joined = {**into.user_data, **{k: v for k, v in other.user_data.items() if k not in into.user_data}}
        if len(joined) <= USER_DATA_KEYS and _size(joined) <= USER_DATA_BYTES:
            into.user_data = joined

    def transfer_call(self, held_call: str, active_call: str, now: float, *,
                      device: str | None = None) -> dict[str, Any]:
        """TransferCall: join the held call's and the consultation call's far parties; the device
        leaves. The resulting call keeps the held call's user data (plus keys only the
        consultation call had)."""
        m = self.m
        held, hconn, active, aconn = self._two_calls(held_call, active_call, device, "TransferCall")
        if aconn.state not in (S.CONNECTED, S.ALERTING, S.INITIATED):
            raise InvalidStateError(f"TransferCall: {aconn.device} is {aconn.state.value} in {active.id}",
                                    call=active.id, state=aconn.state.value)
        m._clear(held, hconn, Cause.NORMAL_CLEARING, now, emit=False)
        m._clear(active, aconn, Cause.NORMAL_CLEARING, now, emit=False)
        self._merge(held, active)
        m._finish(active, now, "merged", merged_into=held.id)
        m._emit(ev.Transferred, held, hconn, old_calls=[held.id, active.id],
                parties=[c.device for c in held.live()])
        self._bridge(held)
        m._settle(held, now)
        return {"call": held.id}

    def conference_call(self, held_call: str, active_call: str, now: float, *,
                        device: str | None = None) -> dict[str, Any]:
        """ConferenceCall: the device joins its held call and its answered active call into one."""
        m = self.m
        held, hconn, active, aconn = self._two_calls(held_call, active_call, device, "ConferenceCall")
        if aconn.state is not S.CONNECTED or not any(r.state is S.CONNECTED for r in active.remotes()):
            raise InvalidStateError(f"ConferenceCall: {aconn.device} is {aconn.state.value} in {active.id}"
                                    f"{'' if aconn.state is not S.CONNECTED else ' and the far end has not answered'}",
                                    call=active.id, state=aconn.state.value)
        m._clear(active, aconn, Cause.NORMAL_CLEARING, now, emit=False)
        self._merge(held, active)
        m._finish(active, now, "merged", merged_into=held.id)
        hconn.fsm.fire(X.RETRIEVE, None, now)
        hconn.since = now
        m._emit(ev.Conferenced, held, hconn, old_calls=[held.id, active.id],
                parties=[c.device for c in held.live()])
        self._bridge(held)
        return {"call": held.id}

    def single_step_transfer(self, call_id: str, to: str, now: float, *,
                             device: str | None = None) -> dict[str, Any]:
        """SingleStepTransfer: send the far party to ``to`` over a new trunk call; the device leaves."""
        m = self.m
        call = m.call(call_id)
        conn = m._conn(call, device)
        check_number(to, "to")
        if not conn.local or conn.state not in (S.CONNECTED, S.HOLD):
            raise InvalidStateError(f"SingleStepTransfer: {conn.device} is {conn.state.value} in {call.id}",
                                    call=call.id, device=conn.device, state=conn.state.value)
        adapter, circ = m._seize(to, call.calling, now)
        m._add(call, trunk_device(circ), False, circ, adapter, now).fsm.fire(X.SEIZE, None, now)
        m._clear(call, conn, Cause.NORMAL_CLEARING, now, emit=False)
        m._emit(ev.Transferred, call, conn, old_calls=[call.id], parties=[c.device for c in call.live()])
        self._bridge(call)
        m._settle(call, now)
        return {"call": call.id, "span": circ[0], "ts": circ[1]}

    def _bridge(self, call: Call) -> None:
        if self.m.media is not None:
            self.m.media.bridge([c.circuit for c in call.remotes() if c.circuit is not None])

    # ---- deflect and pickup -------------------------------------------------------------
    def deflect_call(self, call_id: str, to: str, now: float, *, device: str | None = None) -> dict[str, Any]:
        """DeflectCall: the call ringing (or offered, or queued) at ``device`` goes on to our
        device ``to`` instead (Diverted, then Delivered at ``to``). ACD offers are the ACD's to
        move (refused here)."""
        m = self.m
        call = m.call(call_id)
        conn = m._conn(call, device)
        check_device(to, "to")
        if not conn.local or conn.via == "acd" or not conn.fsm.allowed(X.DIVERT):
            raise InvalidStateError(f"DeflectCall: {conn.device} is {conn.state.value}"
                                    f"{' (an ACD offer)' if conn.via == 'acd' else ''} in call {call.id}",
                                    call=call.id, device=conn.device, state=conn.state.value)
        have = call.connections.get(to)
        if have is not None and have.live:
            raise InvalidStateError(f"DeflectCall: {to} is already a party of call {call.id}", call=call.id, device=to)
        m._alert_network(call, now)             # first: a refusal by the trunk changes nothing
        m._divert(call, conn, [to], "deflect", now)
        new = m._add(call, to, True, None, None, now)
        new.via = "deflect"
        m._ring(call, new, now)
        return {"call": call.id, "device": to}

    def pickup_call(self, device: str, now: float, *, call: str | None = None,
                    group: str | None = None) -> dict[str, Any]:
        """Group PickupCall: ``device`` answers a call ringing at another device of its pickup
        group (``group``, default every group ``device`` belongs to; ``call`` picks one call,
        default the one ringing longest): Diverted from the ringing device(s), Established at
        ``device``."""
        m = self.m
        check_device(device)
        groups: dict[str, set[str]] = m.pickup_groups
        if group is not None:
            if not isinstance(group, str) or group not in groups:
                raise InvalidParameterError(f"unknown pickup group {group!r}; known: {', '.join(sorted(groups)) or '-'}",
                                            field="group")
            members = set(groups[group])
        else:
            members = set().union(*(ds for ds in groups.values() if device in ds))
        if not members:
            raise InvalidParameterError(f"device {device} is in no pickup group", field="device")
        if call is not None:
            m.call(call)
        found: list[tuple[float, Call, Connection]] = []
        for c in m.calls.values():
            if call is not None and c.id != call:
                continue
            for conn in c.locals_live():
                if conn.state is S.ALERTING and conn.device in members and conn.device != device \
                        and conn.via != "acd":
                    found.append((conn.since, c, conn))
        if not found:
            raise InvalidStateError(f"no call rings in the pickup group of {device}", device=device)
        _, target, _ = min(found, key=lambda t: (t[0], t[1].id))
        have = target.connections.get(device)
        if have is not None and have.live:
            raise InvalidStateError(f"{device} is already a party of call {target.id}", call=target.id)
        m._answer_network(target, now)          # first: a refusal by the trunk changes nothing
        for conn in [x for x in target.locals_live() if x.state is S.ALERTING]:
            m._divert(target, conn, [device], "pickup", now)
        new = m._add(target, device, True, None, None, now)
        new.via = "pickup"
        self._answered(target, new, now)
        return {"call": target.id, "device": device}

    # ---- digits --------------------------------------------------------------------------
    def send_digits(self, call_id: str, digits: str, now: float, *, device: str | None = None) -> dict[str, Any]:
        """SendDigits: play DTMF ``digits`` in-band towards the far party of an answered call."""
        m = self.m
        call = m.call(call_id)
        conn = m._conn(call, device)
        if not isinstance(digits, str) or not _DIGITS.fullmatch(digits):
            raise InvalidParameterError(f"digits must be 1-64 of 0-9 * # A-D, not {digits!r}", field="digits")
        remotes = [r for r in call.remotes() if r.circuit is not None]
        if not conn.local or conn.state is not S.CONNECTED or not any(r.state is S.CONNECTED for r in remotes):
            raise InvalidStateError(f"SendDigits: {conn.device} is {conn.state.value} in {call.id}"
                                    f"{'' if conn.state is not S.CONNECTED else ' and the far end has not answered'}",
                                    call=call.id, device=conn.device, state=conn.state.value)
        if m.media is None or not remotes:
            raise TrunkFailureError("no media path to send in-band digits on", call=call.id)
        for r in remotes:
            try:
                m.media.send_digits(r.circuit, digits, now)
            except (ValueError, OSError, RuntimeError) as e:   # board refused the audio
                raise TrunkFailureError(f"in-band digits failed: {e}", call=call.id) from e
        m._emit(ev.DigitsDialed, call, conn, digits=digits, sent=True)
        return {"call": call.id}

    # ---- user data (CRM data on the call) -------------------------------------------------
    def attach_user_data(self, call_id: str, data: dict[str, Any], now: float, *,
                         device: str | None = None) -> dict[str, Any]:
        """AttachUserData: add keys to the call's user data (a key it has already is refused:
        change it with UpdateUserData)."""
        call = self.m.call(call_id)
        new = check_user_data(data)
        dup = sorted(set(new) & set(call.user_data))
        if dup:
            raise InvalidParameterError(f"call {call.id} has user data {', '.join(dup)} already; use UpdateUserData",
                                        field="data", keys=dup)
        return self._set_user_data(call, {**call.user_data, **new}, sorted(new), [], device)

    def update_user_data(self, call_id: str, data: dict[str, Any], now: float, *,
                         device: str | None = None) -> dict[str, Any]:
        """UpdateUserData: set keys of the call's user data (added or replaced)."""
        call = self.m.call(call_id)
        new = check_user_data(data)
        return self._set_user_data(call, {**call.user_data, **new}, sorted(new), [], device)

    def delete_user_data(self, call_id: str, keys: list[str] | None, now: float, *,
                         device: str | None = None) -> dict[str, Any]:
        """DeleteUserData: remove ``keys`` (every key when None) from the call's user data."""
        call = self.m.call(call_id)
        if keys is None:
            keys = sorted(call.user_data)
        elif not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise InvalidParameterError("keys must be a list of strings", field="keys")
        missing = sorted(set(keys) - set(call.user_data))
        if missing:
            raise InvalidParameterError(f"call {call.id} has no user data {', '.join(missing)}",
                                        field="keys", keys=missing)
        left = {k: v for k, v in call.user_data.items() if k not in keys}
        return self._set_user_data(call, left, [], sorted(set(keys)), device)

    def _set_user_data(self, call: Call, data: dict[str, str], changed: list[str], deleted: list[str],
                       device: str | None) -> dict[str, Any]:
        if len(data) > USER_DATA_KEYS:
            raise InvalidParameterError(f"call {call.id} would have {len(data)} user data keys; at most "
                                        f"{USER_DATA_KEYS}", field="data", limit=USER_DATA_KEYS)
        if _size(data) > USER_DATA_BYTES:
            raise InvalidParameterError(f"call {call.id}'s user data would be {_size(data)} bytes; at most "
                                        f"{USER_DATA_BYTES}", field="data", limit=USER_DATA_BYTES)
        conn = call.connections.get(device) if device else None
        call.user_data = data
        self.m._emit(ev.UserDataChanged, call, conn, changed=changed, deleted=deleted)
        return {"call": call.id, "user_data": dict(data)}


#: the services a CallModel answers as its own methods
SERVICES = frozenset({
    "make_call", "deliver", "queue_call", "withdraw", "answer_call", "clear_connection", "hold_call",
    "retrieve_call", "alternate_call", "reconnect_call", "consultation_call", "transfer_call",
    "conference_call", "single_step_transfer", "deflect_call", "pickup_call", "send_digits",
    "attach_user_data", "update_user_data", "delete_user_data",
})
