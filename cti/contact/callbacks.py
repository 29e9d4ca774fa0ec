"""Voicemail call-backs through the outbound dialler (the CallBack request of
:mod:`cti.contact.media_requests`).

A CallBack does not dial by itself: it hands the message's caller number to a
:class:`cti.outbound.callback.CallbackCampaign` that runs in the contact centre's
:class:`cti.contact.outbound.Dialler` beside the configured campaigns (name ``callback``), so
the call obeys the calling rules of ``[media.voicemail.callback]`` (``dnc``, ``hours``,
``zones``, ``dial_plan``), its attempt limits (``max_attempts``, ``retry_after``,
``no_answer_timeout``) and ``trunk``, is classified and reported as any campaign attempt
(CampaignProgress, the CDR's ``campaign_outcome``), and is dialled from the device of the
agent who asked, when that agent is Ready (preview pacing to that agent).

Events (topic ``media.voicemail``): ``CallBackPlaced`` (the dialler placed the call),
``CallBackWaiting`` (outside the number's calling hours, or the agent is not Ready: it waits),
``CallBackRefused`` (the number is on the do-not-call list, or the list cannot be read).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from cti.acd.agents import AgentState
from cti.call.errors import CallControlError, InvalidParameterError, InvalidStateError
from cti.outbound.callback import CallbackCampaign
from cti.outbound.campaign import CampaignError

log = logging.getLogger(__name__)


class VoicemailCallbacks:
    """The call-backs of one server: ``centre`` the contact centre (its dialler, ACD and call
    model), ``publish`` a bus event (a dict), ``handled(message id, by)`` marks a message."""

    def __init__(self, spec: Mapping[str, Any], centre: Any, publish: Callable[[dict[str, Any]], None],
                 handled: Callable[[int, str], None]) -> None:
        self.centre, self.publish, self.handled = centre, publish, handled
        self.name = "callback" if "callback" not in centre.dialler.specs else "voicemail-callback"
        self.campaign = CallbackCampaign.from_spec(self.name, spec)
        self.trunk = spec.get("trunk")
        self._by: dict[str, str] = {}          #: attempt -> the account that asked

    def _register(self) -> None:
        """Run in the dialler (its reports, CDR marks and campaign status) once there is work."""
        d = self.centre.dialler
        if self.name not in d.running:
            d.specs[self.name] = {"trunk": self.trunk} if self.trunk else {}
            d.running[self.name] = (self.campaign, "dialler")

    def _ready(self, device: str) -> bool:
        """The agent logged on at ``device`` is Ready (a device with no agent: always)."""
        states = [m.agent.state for m in self.centre.engine.agents.values() if m.agent.device == device]
        return not states or any(s is AgentState.READY for s in states)

    def request(self, message: Any, device: str, by: str, now: float) -> dict[str, Any]:
        """Queue a call-back of ``message``'s caller for the agent at ``device``; place it now when
        the rules and the agent allow. Raises InvalidStateError when refused."""
        if not message.caller:
            raise InvalidStateError(f"message {message.id} has no caller number to call back")
        if not device:
            raise InvalidParameterError("CallBack needs the device of the agent who calls back", field="device")
        base = {"topic": "media.voicemail", "id": message.id, "number": message.caller, "device": device, "by": by}
        try:
            verdict, when = self.campaign.request(message.caller, device, {"message": str(message.id), "by": by}, now)
        except ValueError as e:         # CampaignError, RulesError (the do-not-call list cannot be read)
            self.publish({**base, "type": "CallBackRefused", "reason": str(e)})
            raise InvalidStateError(f"message {message.id}: not called back: {e}") from None
        if verdict == "dnc":
            why = f"{message.caller} is on the do-not-call list"
            self.publish({**base, "type": "CallBackRefused", "reason": why})
            raise InvalidStateError(f"message {message.id}: not called back: {why}")
        self._register()
        placed = self.service(now)
        call = placed.get(message.id)
        if call is not None:
            return {"id": message.id, "call": call, "status": "placed"}
        reason = "calling hours" if verdict == "hours" else "agent not ready"
        self.publish({**base, "type": "CallBackWaiting", "reason": reason, "at": when})
        return {"id": message.id, "call": None, "status": "waiting", "reason": reason, "at": when}

    def service(self, now: float) -> dict[int, str]:
        """Dial the call-backs that are due to Ready agents: {message id: call id}."""
        placed: dict[int, str] = {}
        if self.name not in self.centre.dialler.running:
            return placed
        for p in self.campaign.due(now, self._ready):
            msg = int(p.data.get("message", "0"))
            by = p.data.get("by", "")

            def dial(device: str, number: str, trunk: str | None = None, calling: str | None = None) -> dict[str, Any]:
                got: dict[str, Any] = self.centre.model.make_call(device, number, now, trunk=trunk, calling=calling)
                return got
            try:
                call = self.centre.dialler.preview_dial(self.name, p.attempt, p.agent, now, dial, self.centre.listen)
            except (CallControlError, CampaignError) as e:     # reported to the campaign: retried or done
                log.warning("call-back of message %s to %s not placed: %s", msg, p.number, e)
                continue
            placed[msg] = call
            self.publish({"type": "CallBackPlaced", "topic": "media.voicemail", "id": msg, "number": p.number,
                          "device": p.agent, "call": call, "by": by})
            try:
                self.handled(msg, by)
            except ValueError as e:
                log.warning("message %s: not marked handled: %s", msg, e)
        for c in self.campaign.take_blocked():     # on the do-not-call list since it was asked
            self.publish({"type": "CallBackRefused", "topic": "media.voicemail", "id": int(c.data.get("message", "0")),
                          "number": c.number, "device": c.data.get("agent", ""), "by": c.data.get("by", ""),
                          "reason": f"{c.number} is on the do-not-call list"})
        return placed

    def waiting(self) -> int:
        """Call-backs not placed yet."""
        return sum(1 for c in self.campaign.contacts if not c.done and id(c) not in self.campaign._live)
