"""Call-control requests on the bus: authorisation, then the call model's CSTA services.

``install(bus, model, clock)`` registers a handler per request type of cti.bus.schema and
the ``calls`` / ``spans`` snapshot sections, filtered per account. The account may act only
on calls involving a device it controls (agents: their own; integrators: any).
"""
from __future__ import annotations

from typing import Any
from collections.abc import Callable

from cti.call.errors import PrivilegeViolationError
from cti.call.model import CallModel

from . import schema as s
from .auth import Account, AccountBook, may
from .server import BusServer


def _local_devices(model: CallModel, call_id: str) -> list[str]:
    return model.call(call_id).local_devices()


def _check(bus: BusServer, account: Account, devices: list[str], what: str) -> None:
    allowed = bus.security.book.controllable(account)
    if not may(allowed, devices):
        raise PrivilegeViolationError(
            f"account {account.name} ({account.role}) may not {what} for device(s) {', '.join(devices) or '-'}",
            account=account.name, devices=devices)


def install(bus: BusServer, model: CallModel, clock: Callable[[], float]) -> None:
    """Serve the call-control requests on ``bus`` against ``model``; ``clock()`` is model time."""

    def on_call(req: Any, account: Account, what: str, *call_ids: str) -> None:
        devices: list[str] = []
        for cid in call_ids:
            devices += _local_devices(model, cid)
        if req.device is not None:
            _check(bus, account, [req.device], what)
        _check(bus, account, devices, what)

    def own_device(req: Any, account: Account, what: str, *call_ids: str) -> str | None:
        """The device ``account`` acts for in each of ``call_ids``: ``req.device`` or its own; it
        must be one the account controls and have a live connection in every call (integrators:
        any device, or the model's default)."""
        allowed = bus.security.book.controllable(account)
        device = req.device if req.device is not None else (account.device if allowed is not None else None)
        if allowed is None:
            return device
        if device is None or device not in allowed:
            raise PrivilegeViolationError(f"account {account.name} ({account.role}) may not {what} for device "
                                          f"{device or '-'}", account=account.name, device=device)
        for cid in call_ids:
            conn = model.call(cid).connections.get(device)
            if conn is None or not conn.live:
                raise PrivilegeViolationError(f"account {account.name} may not {what}: {device} has no connection "
                                              f"in call {cid}", account=account.name, device=device, call=cid)
        return device

    def make_call(account: Account, req: s.MakeCall, _t: float) -> dict[str, Any]:
        _check(bus, account, [req.device], "MakeCall")
        if req.calling is not None and account.role != "integrator" \
                and "set_calling" not in getattr(account, "rights", ()):
            # the calling number is the device's (CallModel.presentation) unless the account may set it
            raise PrivilegeViolationError(f"account {account.name} ({account.role}) may not set the calling number",
                                          account=account.name, field="calling")
        return model.services.make_call(req.device, req.called, clock(), calling=req.calling, trunk=req.trunk)

    def answer(account: Account, req: s.AnswerCall, _t: float) -> dict[str, Any]:
        on_call(req, account, "AnswerCall", req.call)
        return model.services.answer_call(req.call, clock(), device=req.device)

    def clear(account: Account, req: s.ClearConnection, _t: float) -> dict[str, Any]:
        on_call(req, account, "ClearConnection", req.call)
        return model.services.clear_connection(req.call, clock(), device=req.device, cause=req.cause)

    def hold(account: Account, req: s.HoldCall, _t: float) -> dict[str, Any]:
        on_call(req, account, "HoldCall", req.call)
        return model.services.hold_call(req.call, clock(), device=req.device)

    def retrieve(account: Account, req: s.RetrieveCall, _t: float) -> dict[str, Any]:
        on_call(req, account, "RetrieveCall", req.call)
        return model.services.retrieve_call(req.call, clock(), device=req.device)

    def consult(account: Account, req: s.ConsultationCall, _t: float) -> dict[str, Any]:
        on_call(req, account, "ConsultationCall", req.call)
        return model.services.consultation_call(req.call, req.called, clock(), device=req.device)

    def transfer(account: Account, req: s.TransferCall, _t: float) -> dict[str, Any]:
        device = own_device(req, account, "TransferCall", req.held_call, req.active_call)
        return model.services.transfer_call(req.held_call, req.active_call, clock(), device=device)

    def sst(account: Account, req: s.SingleStepTransfer, _t: float) -> dict[str, Any]:
        on_call(req, account, "SingleStepTransfer", req.call)
        return model.services.single_step_transfer(req.call, req.to, clock(), device=req.device)

    def conference(account: Account, req: s.ConferenceCall, _t: float) -> dict[str, Any]:
        device = own_device(req, account, "ConferenceCall", req.held_call, req.active_call)
        return model.services.conference_call(req.held_call, req.active_call, clock(), device=device)

    def alternate(account: Account, req: s.AlternateCall, _t: float) -> dict[str, Any]:
        device = own_device(req, account, "AlternateCall", req.held_call, req.active_call)
        return model.services.alternate_call(req.held_call, req.active_call, clock(), device=device)

    def reconnect(account: Account, req: s.ReconnectCall, _t: float) -> dict[str, Any]:
        device = own_device(req, account, "ReconnectCall", req.held_call, req.active_call)
        return model.services.reconnect_call(req.held_call, req.active_call, clock(), device=device)

    def deflect(account: Account, req: s.DeflectCall, _t: float) -> dict[str, Any]:
        device = own_device(req, account, "DeflectCall", req.call)
        return model.services.deflect_call(req.call, req.to, clock(), device=device)

    def pickup(account: Account, req: s.PickupCall, _t: float) -> dict[str, Any]:
        _check(bus, account, [req.device], "PickupCall")
        return model.services.pickup_call(req.device, clock(), call=req.call, group=req.group)

    def attach(account: Account, req: s.AttachUserData, _t: float) -> dict[str, Any]:
        on_call(req, account, "AttachUserData", req.call)
        return model.services.attach_user_data(req.call, req.data, clock(), device=req.device)

    def update(account: Account, req: s.UpdateUserData, _t: float) -> dict[str, Any]:
        on_call(req, account, "UpdateUserData", req.call)
        return model.services.update_user_data(req.call, req.data, clock(), device=req.device)

    def delete(account: Account, req: s.DeleteUserData, _t: float) -> dict[str, Any]:
        on_call(req, account, "DeleteUserData", req.call)
        return model.services.delete_user_data(req.call, req.keys, clock(), device=req.device)

    def digits(account: Account, req: s.SendDigits, _t: float) -> dict[str, Any]:
        on_call(req, account, "SendDigits", req.call)
        return model.services.send_digits(req.call, req.digits, clock(), device=req.device)

    for name, fn in (("MakeCall", make_call), ("AnswerCall", answer), ("ClearConnection", clear),
                     ("HoldCall", hold), ("RetrieveCall", retrieve), ("ConsultationCall", consult),
                     ("TransferCall", transfer), ("SingleStepTransfer", sst),
                     ("ConferenceCall", conference), ("SendDigits", digits), ("AlternateCall", alternate),
                     ("ReconnectCall", reconnect), ("DeflectCall", deflect), ("PickupCall", pickup),
                     ("AttachUserData", attach), ("UpdateUserData", update), ("DeleteUserData", delete)):
        bus.register_command(name, fn)

    def calls(account: Account, book: AccountBook) -> list[dict[str, Any]]:
        allowed = book.visible(account)
        return [c.to_dict() | {"devices": c.local_devices()} for c in model.calls.values()
                if may(allowed, c.local_devices())]

    def spans(account: Account, book: AccountBook) -> list[dict[str, Any]]:
        return model.snapshot()["spans"] if account.role != "agent" else []

    bus.add_state("calls", calls)
    bus.add_state("spans", spans)
