"""What the ACD's queue events mean for the call model (ECMA-269 events at the right device).

The ACD engine (:mod:`cti.acd.engine`) decides; this module carries its decisions out on a
:class:`cti.call.model.CallModel`, so the call events on the bus name the device each fact
happens at:

==============  ==========================================================================
ACD event       call model
==============  ==========================================================================
Queued          ``queue_call``: Queued at the route point (the call waits there; the caller
                hears ringing, or the IVR / announcements after an answer)
Offered         ``deliver(devices)``: Diverted from the route point to the agents' devices,
                Delivered at each (the screen-pop belongs to this one)
RingNoAnswer    ``withdraw``: ConnectionCleared at the agent's device (cause 19); Queued at
                the route point again when no agent rings any more
Connected       nothing: the agent's AnswerCall gave Established at its device (and cleared
                the other devices rung, cause 26)
==============  ==========================================================================

A route point never alerts: the model is told which called numbers are route points
(``CallModel.routing_devices``) and only offers calls to them. What an IVR collected goes
into the call's user data (:func:`note_ivr`), so it reaches the agent with the call.
"""
from __future__ import annotations

import logging
from typing import Any

from cti.call.errors import CallControlError
from cti.signaling.causes import Cause

from .queue import QueueEvent

log = logging.getLogger(__name__)
#: the ACD events this module carries out
HANDLED = frozenset({"Queued", "Offered", "RingNoAnswer"})


def carry_out(model: Any, e: QueueEvent, now: float, agent_device: dict[str, str | None]) -> None:
    """Carry out the queue event ``e`` on ``model`` (see the module docstring).
    ``agent_device``: agent id -> its device. Typed call-control errors pass to the caller."""
    call = model.calls.get(e.call)
    if call is None or e.type not in HANDLED:
        return
    if e.type == "Queued":
        model.queue_call(e.call, e.queue, now)
    elif e.type == "Offered":
        devices = [d for d in e.data.get("devices", []) if d]
        if devices:
            model.deliver(e.call, now, devices=devices, reason="acd")
    elif e.type == "RingNoAnswer":
        device = agent_device.get(e.data.get("agent", ""))
        conn = call.connections.get(device) if device else None
        if conn is not None and conn.live:
            model.withdraw(e.call, device, now, cause=int(Cause.NO_ANSWER), queue=e.queue)


def note_ivr(model: Any, call_id: str, data: dict[str, Any], now: float) -> None:
    """Put what the IVR collected (menu digits, ``var`` answers) into the call's user data, so
    the agent's screen-pop and the CDR carry it; a value the user-data limits refuse is logged
    and left out (the call goes on)."""
    data = {k: v for k, v in data.items() if v not in ("", None)}
    if not data or call_id not in model.calls:
        return
    try:
        model.update_user_data(call_id, data, now)
    except CallControlError as e:
        log.warning("call %s: IVR data %s not kept: %s", call_id, sorted(data), e)
