"""Call-control commands (CSTA services) on the call model, validated against connection state.

Each method either changes the model (events follow in ``take_events``) and returns a small
result dict, or raises a :class:`cti.call.errors.CallControlError` subclass and changes
nothing. ``device`` defaults to the call's local device. Mixed into
:class:`cti.call.model.CallModel`; the bus maps request types onto these methods.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from cti.signaling.causes import Cause
from cti.signaling.errors import ProtocolError
from cti.signaling.trunk import Circuit, TrunkAdapter, TrunkError

from . import events as ev
from .errors import (InvalidDeviceError, InvalidParameterError, InvalidStateError,
                     ResourceBusyError, TrunkFailureError)
from .states import ConnectionState, Stimulus

if TYPE_CHECKING:
    from .model import Call, CallModel, Connection

S, X = ConnectionState, Stimulus
#: what a trunk adapter may raise when it refuses a request (TrunkError per the contract;
#: protocol or value errors from a stack are treated the same, never as a server crash)
ADAPTER_ERRORS = (TrunkError, ProtocolError, ValueError)
_NUMBER = re.compile(r"[0-9*#A-F]{1,32}")
_DIGITS = re.compile(r"[0-9*#A-D]{1,64}")


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


class CallControl:
    """The CSTA call-control services (see the module docstring)."""

    # ---- lookups --------------------------------------------------------------------
    def _conn(self: "CallModel", call: "Call", device: str | None) -> "Connection":
        if device is None:
            conn = call.local()
            if conn is None or not conn.live:
                raise InvalidDeviceError(f"call {call.id} has no local device; name one", call=call.id)
            return conn
        check_device(device)
        conn = call.connections.get(device)
        if conn is None or not conn.live:
            raise InvalidDeviceError(f"device {device!r} is not a party of call {call.id}",
                                     call=call.id, device=device)
        return conn

    def _require(self, conn: "Connection", stim: Stimulus, service: str) -> None:
        if not conn.fsm.allowed(stim):
            raise InvalidStateError(f"{service} not allowed: {conn.device} is {conn.state.value} in call {conn.call}",
                                    call=conn.call, device=conn.device, state=conn.state.value)

    def _seize(self: "CallModel", called: str, calling: str | None, now: float,
               trunk: str | None = None, circuit: Circuit | None = None) -> tuple[TrunkAdapter, Circuit]:
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

    # ---- origination ----------------------------------------------------------------
    def make_call(self: "CallModel", device: str, called: str, now: float, *, calling: str | None = None,
                  trunk: str | None = None, circuit: Circuit | None = None) -> dict[str, Any]:
        """MakeCall: ``device`` calls ``called`` over a free circuit (of ``trunk`` signalling)."""
        check_device(device)
        check_number(called, "called")
        if calling is not None:
            check_number(calling, "calling")
        adapter, circ = self._seize(called, calling, now, trunk, circuit)
        call = self._new_call("out", calling if calling is not None else device, called, adapter.signalling, now)
        local = self._add(call, device, True, None, None, now)
        local.fsm.fire(X.INITIATE)
        from .model import trunk_device
        remote = self._add(call, trunk_device(circ), False, circ, adapter, now)
        remote.fsm.fire(X.SEIZE)
        self._emit(ev.Originated, call, local)
        return {"call": call.id, "span": circ[0], "ts": circ[1]}

    def deliver(self: "CallModel", call_id: str, now: float) -> dict[str, Any]:
        """Alert the local device of an offered or queued incoming call (Delivered)."""
        call = self.call(call_id)
        local = self._conn(call, None)
        self._require(local, X.ALERT, "deliver")
        remote = call.remotes()
        if remote and remote[0].adapter is not None and local.state is S.NULL:
            try:
                remote[0].adapter.alert(remote[0].circuit, now)  # type: ignore[arg-type]
            except ADAPTER_ERRORS as e:
                raise TrunkFailureError(f"alert failed: {e}", cause=getattr(e, "cause", 41)) from e
        self._fire(call, local, X.ALERT, ev.Delivered, now)
        return {"call": call.id}

    def queue_call(self: "CallModel", call_id: str, queue: str, now: float) -> dict[str, Any]:
        """Park an offered (or ring-timed-out) incoming call in ``queue`` (Queued); ACD seam."""
        call = self.call(call_id)
        local = self._conn(call, None)
        self._require(local, X.QUEUE, "queue")
        self._fire(call, local, X.QUEUE, ev.Queued, now, queue=str(queue))
        return {"call": call.id}

    # ---- termination and clearing ---------------------------------------------------------
    def answer_call(self: "CallModel", call_id: str, now: float, *, device: str | None = None) -> dict[str, Any]:
        """AnswerCall: the alerting (or queued) local device answers; the trunk sends answer."""
        call = self.call(call_id)
        conn = self._conn(call, device)
        if not conn.local or conn.state not in (S.ALERTING, S.QUEUED):
            raise InvalidStateError(f"AnswerCall not allowed: {conn.device} is {conn.state.value}"
                                    f"{'' if conn.local else ' (a trunk party)'} in call {call.id}",
                                    call=call.id, device=conn.device, state=conn.state.value)
        for r in call.remotes():
            if r.adapter is not None and r.circuit is not None:
                try:
                    r.adapter.answer(r.circuit, now)
                except ADAPTER_ERRORS as e:
                    raise TrunkFailureError(f"answer failed: {e}", cause=getattr(e, "cause", 41)) from e
        call.answered = call.answered or now
        self._fire(call, conn, X.ANSWER, ev.Established, now)
        return {"call": call.id}

    def clear_connection(self: "CallModel", call_id: str, now: float, *, device: str | None = None,
                         cause: int = int(Cause.NORMAL_CLEARING)) -> dict[str, Any]:
        """ClearConnection: ``device`` leaves the call (rejects it with ``cause`` if not answered)."""
        call = self.call(call_id)
        if not isinstance(cause, int) or isinstance(cause, bool) or not 1 <= cause <= 127:
            raise InvalidParameterError(f"cause must be a Q.850 cause 1..127, not {cause!r}", field="cause")
        conn = self._conn(call, device)
        call.cause = call.cause or cause
        self._clear(call, conn, cause, now)
        self._settle(call, now)
        return {"call": call.id}

    # ---- hold / retrieve ---------------------------------------------------------------
    def hold_call(self: "CallModel", call_id: str, now: float, *, device: str | None = None) -> dict[str, Any]:
        """HoldCall: the connected local device puts the call on hold."""
        call = self.call(call_id)
        conn = self._conn(call, device)
        self._require(conn, X.HOLD, "HoldCall")
        self._fire(call, conn, X.HOLD, ev.Held, now)
        return {"call": call.id}

    def retrieve_call(self: "CallModel", call_id: str, now: float, *, device: str | None = None) -> dict[str, Any]:
        """RetrieveCall: the device takes the held call back."""
        call = self.call(call_id)
        conn = self._conn(call, device)
        self._require(conn, X.RETRIEVE, "RetrieveCall")
        self._fire(call, conn, X.RETRIEVE, ev.Retrieved, now)
        return {"call": call.id}

    # ---- consultation, transfer, conference -----------------------------------------------
    def consultation_call(self: "CallModel", call_id: str, called: str, now: float, *,
                          device: str | None = None) -> dict[str, Any]:
        """ConsultationCall: hold ``call`` and call ``called`` from the same device."""
        call = self.call(call_id)
        conn = self._conn(call, device)
        check_number(called, "called")
        if not conn.local:
            raise InvalidDeviceError("ConsultationCall needs the local device", device=conn.device)
        self._require(conn, X.HOLD, "ConsultationCall")
        adapter, circ = self._seize(called, call.called if call.direction == "in" else call.calling, now)
        self._fire(call, conn, X.HOLD, ev.Held, now)
        new = self._new_call("out", call.called if call.direction == "in" else call.calling, called,
                             adapter.signalling, now)
        new.extra["consultation_of"] = call.id
        local = self._add(new, conn.device, True, None, None, now)
        local.fsm.fire(X.INITIATE)
        from .model import trunk_device
        self._add(new, trunk_device(circ), False, circ, adapter, now).fsm.fire(X.SEIZE)
        self._emit(ev.Originated, new, local)
        return {"call": new.id, "held_call": call.id, "span": circ[0], "ts": circ[1]}

    def _two_calls(self: "CallModel", held_id: str, active_id: str, device: str | None,
                   service: str) -> tuple["Call", "Connection", "Call", "Connection"]:
        if held_id == active_id:
            raise InvalidParameterError(f"{service} needs two different calls", field="active_call")
        held, active = self.call(held_id), self.call(active_id)
        hconn = self._conn(held, device)
        aconn = self._conn(active, device if device is not None else hconn.device)
        if not hconn.local or hconn.device != aconn.device:
            raise InvalidDeviceError(f"{service}: both calls must belong to the same local device",
                                     device=hconn.device)
        if hconn.state is not S.HOLD:
            raise InvalidStateError(f"{service}: {hconn.device} is {hconn.state.value} in {held.id}, not hold",
                                    call=held.id, state=hconn.state.value)
        return held, hconn, active, aconn

    def _merge(self: "CallModel", into: "Call", other: "Call", now: float) -> None:
        for dev, c in list(other.connections.items()):
            if c.local or not c.live:
                continue
            c.call = into.id
            into.connections[dev] = c
            del other.connections[dev]
        into.merged.append(other.id)
        into.extra["devices"] = sorted(set(into.local_devices()) | set(other.local_devices()))
        into.answered = into.answered or other.answered

    def transfer_call(self: "CallModel", held_call: str, active_call: str, now: float, *,
                      device: str | None = None) -> dict[str, Any]:
        """TransferCall: join the held call's and the consultation call's far parties; the device leaves."""
        held, hconn, active, aconn = self._two_calls(held_call, active_call, device, "TransferCall")
        if aconn.state not in (S.CONNECTED, S.ALERTING, S.INITIATED):
            raise InvalidStateError(f"TransferCall: {aconn.device} is {aconn.state.value} in {active.id}",
                                    call=active.id, state=aconn.state.value)
        self._clear(held, hconn, Cause.NORMAL_CLEARING, now, emit=False)
        self._clear(active, aconn, Cause.NORMAL_CLEARING, now, emit=False)
        self._merge(held, active, now)
        self._finish(active, now, "merged", merged_into=held.id)
        self._emit(ev.Transferred, held, hconn, old_calls=[held.id, active.id],
                   parties=[c.device for c in held.live()])
        self._bridge(held)
        self._settle(held, now)
        return {"call": held.id}

    def conference_call(self: "CallModel", held_call: str, active_call: str, now: float, *,
                        device: str | None = None) -> dict[str, Any]:
        """ConferenceCall: the device joins its held call and its active call into one."""
        held, hconn, active, aconn = self._two_calls(held_call, active_call, device, "ConferenceCall")
        if aconn.state is not S.CONNECTED:
            raise InvalidStateError(f"ConferenceCall: {aconn.device} is {aconn.state.value} in {active.id}",
                                    call=active.id, state=aconn.state.value)
        self._clear(active, aconn, Cause.NORMAL_CLEARING, now, emit=False)
        self._merge(held, active, now)
        self._finish(active, now, "merged", merged_into=held.id)
        hconn.fsm.fire(X.RETRIEVE)
        hconn.since = now
        self._emit(ev.Conferenced, held, hconn, old_calls=[held.id, active.id],
                   parties=[c.device for c in held.live()])
        self._bridge(held)
        return {"call": held.id}

    def single_step_transfer(self: "CallModel", call_id: str, to: str, now: float, *,
                             device: str | None = None) -> dict[str, Any]:
        """SingleStepTransfer: send the far party to ``to`` over a new trunk call; the device leaves."""
        call = self.call(call_id)
        conn = self._conn(call, device)
        check_number(to, "to")
        if not conn.local or conn.state not in (S.CONNECTED, S.HOLD):
            raise InvalidStateError(f"SingleStepTransfer: {conn.device} is {conn.state.value} in {call.id}",
                                    call=call.id, device=conn.device, state=conn.state.value)
        adapter, circ = self._seize(to, call.calling, now)
        from .model import trunk_device
        self._add(call, trunk_device(circ), False, circ, adapter, now).fsm.fire(X.SEIZE)
        self._clear(call, conn, Cause.NORMAL_CLEARING, now, emit=False)
        self._emit(ev.Transferred, call, conn, old_calls=[call.id], parties=[c.device for c in call.live()])
        self._bridge(call)
        self._settle(call, now)
        return {"call": call.id, "span": circ[0], "ts": circ[1]}

    def _bridge(self: "CallModel", call: "Call") -> None:
        if self.media is not None:
            self.media.bridge([c.circuit for c in call.remotes() if c.circuit is not None])

    # ---- digits --------------------------------------------------------------------------
    def send_digits(self: "CallModel", call_id: str, digits: str, now: float, *,
                    device: str | None = None) -> dict[str, Any]:
        """SendDigits: play DTMF ``digits`` in-band towards the far party of a connected call."""
        call = self.call(call_id)
        conn = self._conn(call, device)
        if not isinstance(digits, str) or not _DIGITS.fullmatch(digits):
            raise InvalidParameterError(f"digits must be 1-64 of 0-9 * # A-D, not {digits!r}", field="digits")
        if not conn.local or conn.state is not S.CONNECTED:
            raise InvalidStateError(f"SendDigits: {conn.device} is {conn.state.value} in {call.id}",
                                    call=call.id, device=conn.device, state=conn.state.value)
        remotes = [r for r in call.remotes() if r.circuit is not None]
        if self.media is None or not remotes:
            raise TrunkFailureError("no media path to send in-band digits on", call=call.id)
        for r in remotes:
            try:
                self.media.send_digits(r.circuit, digits, now)  # type: ignore[arg-type]
            except (ValueError, OSError, RuntimeError) as e:   # board refused the audio
                raise TrunkFailureError(f"in-band digits failed: {e}", call=call.id) from e
        self._emit(ev.DigitsDialed, call, conn, digits=digits, sent=True)
        return {"call": call.id}
