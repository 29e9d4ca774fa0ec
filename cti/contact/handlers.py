"""The contact centre's requests on the command socket, with who may send them.

A mixin of :class:`cti.contact.centre.ContactCentre`: each handler takes ``(account, request,
t)``, checks the account (agents act for their own agent and device, supervisors for their
team, integrators for all) and answers a result map or raises a typed error from
cti.call.errors. AnswerCall is a chain link (:mod:`cti.plugin`): ``(account, request, t,
next)``, answering an ACD call for the agent it rings at and passing any other call on to
``next`` (the server's call control). The other call-control requests need no link: the
agent's device is a party of its ACD call, so the server's own checks apply (a supervisor
listening in is no party and controls nothing).
"""
from __future__ import annotations

from typing import Any
from collections.abc import Callable

from cti.acd.agents import AgentState
from cti.acd.engine import AcdError
from cti.acd.queue import QueueEvent
from cti.bus.auth import Account, AccountBook, may
from cti.call.errors import InvalidParameterError, InvalidStateError, PrivilegeViolationError
from cti.call.states import ConnectionState as S
from cti.ivr.collect import CollectSpec
from cti.media.supervise import SuperviseMode
from cti.plugin import Handler

from . import events as ce
from . import requests as rq


class ContactRequests:
    """Request handlers (see the module docstring); the state lives in ContactCentre."""

    engine: Any
    model: Any
    bus: Any
    recorder: Any
    ivr: Any
    dialler: Any
    apply: Any
    now: Any
    supervisions: dict[str, tuple[str, str, str]]
    audio: Any
    publish: Any
    server: Any
    _ringing: Callable[[str], list[str]]
    _record: Callable[[str, str | None], str]
    _stop_record: Callable[[str], dict[str, Any] | None]
    _circuit: Callable[[str], tuple[int, int]]
    publish_stats: Callable[..., dict[str, Any]]
    statistics: dict[str, Callable[[], Any]]
    publish_campaign_status: Any

    # ---- authorisation --------------------------------------------------------------------
    def _book(self) -> AccountBook:
        book: AccountBook = self.bus.security.book
        return book

    def _may_act_for(self, account: Account, agent_id: str, what: str) -> None:
        a = self._agent(agent_id)
        if account.role == "integrator":
            return
        if account.role == "supervisor" and a.team and a.team == account.team:
            return
        if account.role == "agent" and account.device and account.device == a.device:
            return
        raise PrivilegeViolationError(f"account {account.name} ({account.role}) may not {what} for agent {agent_id}",
                                      account=account.name, agent=agent_id)

    def _agent(self, agent_id: str) -> Any:
        try:
            return self.engine.agent(agent_id)
        except AcdError as e:
            raise InvalidParameterError(str(e), field="agent") from None

    def _acd(self, fn: Any, *args: Any, **kw: Any) -> list[Any]:
        try:
            events: list[Any] = fn(*args, **kw)
            return events
        except AcdError as e:
            raise InvalidStateError(str(e)) from None

    # ---- requests --------------------------------------------------------------------------
    def _logon(self, account: Account, req: rq.AgentLogon, _t: float) -> dict[str, Any]:
        self._may_act_for(account, req.agent, "log on")
        if account.role == "agent" and req.device != account.device:
            raise PrivilegeViolationError(f"account {account.name} may log on only at its own device",
                                          account=account.name, device=req.device)
        self.apply(self._acd(self.engine.log_on, req.agent, req.device, self.now()))
        return {"agent": req.agent, "state": self.engine.agent(req.agent).state.value}

    def _set_state(self, account: Account, req: rq.SetAgentState, _t: float) -> dict[str, Any]:
        self._may_act_for(account, req.agent, "set the state")
        self.apply(self._acd(self.engine.set_agent_state, req.agent, req.state, self.now(), req.reason))
        return {"agent": req.agent, "state": self.engine.agent(req.agent).public()["state"]}

    def _route_select(self, account: Account, req: rq.RouteSelect, _t: float) -> dict[str, Any]:
        if account.role == "agent":
            raise PrivilegeViolationError(f"account {account.name} (agent) may not answer route requests",
                                          account=account.name)
        events = self._acd(self.engine.route_select, req.route, self.now(), agent=req.agent, queue=req.queue)
        used = [e for e in events if isinstance(e, QueueEvent) and e.type in ("Offered", "Diverted")]
        if used:
            self.publish(ce.RouteUsed(queue=used[0].queue, call=used[0].call, data={"route": req.route, "by": "crm"}))
        self.apply(events)
        return {"route": req.route}

    def _answer(self, account: Account, req: Any, t: float, nxt: Handler) -> dict[str, Any]:
        """AnswerCall: for an ACD call ringing at agents, ``device`` (or the account's) names the
        agent; any other call goes on to ``nxt``."""
        ringing = self._ringing(req.call) if isinstance(req.call, str) else []
        if not ringing:
            return nxt(account, req, t)
        by_device = {self.engine.agent(a).device: a for a in ringing}
        agent = by_device.get(req.device) or by_device.get(account.device)
        if agent is None:
            if req.device is not None or account.role != "integrator":
                raise PrivilegeViolationError(f"call {req.call} does not ring at {req.device or account.device}",
                                              account=account.name, call=req.call)
            agent = ringing[0]
        dev = self.engine.agent(agent).device
        if not may(self._book().controllable(account), [dev or ""]):
            raise PrivilegeViolationError(f"account {account.name} may not answer for device {dev}",
                                          account=account.name, device=dev)
        return self.answer_for(req.call, agent)

    def answer_for(self, call_id: str, agent: str) -> dict[str, Any]:
        """``agent`` answers the ACD call ``call_id`` ringing at it (desktop or handset)."""
        call = self.model.call(call_id)
        device = self.engine.agent(agent).device
        conn = call.connections.get(device)
        if conn is not None and conn.live and conn.state is S.ALERTING:   # rung at the agent's device
            self.model.answer_call(call_id, self.now(), device=device)
            self.server.flush_model()        # Established at the agent's device, then ACD Connected
        self.apply(self._acd(self.engine.answered, call_id, agent, self.now()))
        return {"call": call_id, "agent": agent}

    def _start_recording(self, account: Account, req: rq.StartRecording, _t: float) -> dict[str, Any]:
        call = self.model.call(req.call)
        if not may(self._book().controllable(account), call.local_devices()):
            raise PrivilegeViolationError(f"account {account.name} may not record call {req.call}",
                                          account=account.name, call=req.call)
        if req.call in self.recorder.active:
            raise InvalidStateError(f"call {req.call} is already being recorded", call=req.call)
        agent = self.engine.connected.get(req.call, (None, None))[0]
        return {"call": req.call, "path": self._record(req.call, agent)}

    def _stop_recording(self, account: Account, req: rq.StopRecording, _t: float) -> dict[str, Any]:
        call = self.model.call(req.call)
        if not may(self._book().controllable(account), call.local_devices()):
            raise PrivilegeViolationError(f"account {account.name} may not stop recording call {req.call}",
                                          account=account.name, call=req.call)
        out = self._stop_record(req.call)
        if out is None:
            raise InvalidStateError(f"call {req.call} is not being recorded", call=req.call)
        return out

    def _monitor(self, account: Account, req: rq.Monitor, _t: float) -> dict[str, Any]:
        try:
            mode = SuperviseMode(req.mode)
        except ValueError:
            raise InvalidParameterError(f"mode must be monitor, whisper or barge, not {req.mode!r}",
                                        field="mode") from None
        a = self._agent(req.agent)
        if account.role == "agent" or (account.role == "supervisor" and a.team != account.team):
            raise PrivilegeViolationError(
                f"account {account.name} ({account.role}) is not a supervisor of agent {req.agent}'s team",
                account=account.name, agent=req.agent)
        if account.role == "supervisor" and account.device and req.device != account.device:
            raise PrivilegeViolationError(f"account {account.name} may supervise only from its own device",
                                          account=account.name, device=req.device)
        if a.state is not AgentState.BUSY or a.call_id is None:
            raise InvalidStateError(f"agent {req.agent} is {a.state.value}, not on a call", agent=req.agent)
        if req.device == a.device:
            raise InvalidParameterError(f"agent {req.agent} cannot be supervised from its own device",
                                        field="device")
        try:     # joins the audio when the device is a station and the call is bridged
            self.audio.supervise(req.device, a.call_id, mode)
        except ValueError as e:
            raise InvalidStateError(str(e), device=req.device) from None
        old = self.supervisions.get(req.device)
        if old is not None and old[0] != a.call_id:
            self._forget_supervisor(req.device, old[0])
        self.supervisions[req.device] = (a.call_id, a.id, mode.value)
        call = self.model.calls.get(a.call_id)
        if call is not None:
            call.extra["devices"] = sorted(set(call.extra.get("devices", ())) | {req.device})
        return {"call": a.call_id, "agent": a.id, "mode": mode.value}

    def _stop_monitor(self, account: Account, req: rq.StopMonitor, _t: float) -> dict[str, Any]:
        """StopMonitor: the supervisor at ``device`` leaves the call it supervises."""
        if account.role != "integrator" and not (account.role == "supervisor" and account.device == req.device):
            raise PrivilegeViolationError(f"account {account.name} ({account.role}) may not stop supervision "
                                          f"at {req.device}", account=account.name, device=req.device)
        sup = self.supervisions.pop(req.device, None)
        if sup is None:
            raise InvalidStateError(f"device {req.device} supervises no call", device=req.device)
        self.audio.unsupervise(req.device)
        self._forget_supervisor(req.device, sup[0])
        return {"device": req.device, "call": sup[0]}

    def _forget_supervisor(self, device: str, call_id: str) -> None:
        call = self.model.calls.get(call_id)
        if call is not None:
            call.extra["devices"] = [d for d in call.extra.get("devices", ()) if d != device]

    def _play(self, account: Account, req: rq.PlayPrompt, _t: float) -> dict[str, Any]:
        self._may_control_call(account, req.call, "play prompts")
        try:
            seconds = self.ivr.play(req.call, self._circuit(req.call), req.prompt)
        except (ValueError, OSError) as e:
            raise InvalidParameterError(f"prompt {req.prompt!r}: {e}", field="prompt") from None
        return {"call": req.call, "seconds": seconds}

    def _collect_digits(self, account: Account, req: rq.CollectDigits, _t: float) -> dict[str, Any]:
        self._may_control_call(account, req.call, "collect digits")
        try:
            spec = CollectSpec(max_digits=req.max_digits, first_timeout=float(req.timeout),
                               inter_digit_timeout=float(req.inter_digit), terminator=req.terminator)
            self.ivr.collect(req.call, self._circuit(req.call), spec, self.now())
        except ValueError as e:
            raise InvalidParameterError(str(e)) from None
        return {"call": req.call}

    def _may_control_call(self, account: Account, call_id: str, what: str) -> None:
        call = self.model.call(call_id)
        if not may(self._book().controllable(account), call.local_devices()):
            raise PrivilegeViolationError(f"account {account.name} may not {what} on call {call_id}",
                                          account=account.name, call=call_id)

    def _start_campaign(self, account: Account, req: rq.StartCampaign, _t: float) -> dict[str, Any]:
        from cti.outbound.campaign import CampaignError
        if account.role == "agent":
            raise PrivilegeViolationError(f"account {account.name} (agent) may not start campaigns",
                                          account=account.name)
        spec = self.dialler.specs.get(req.campaign, {})
        q = self.engine.queues.get(spec.get("queue", ""))
        staffed = None if q is None else sum(1 for m in self.engine.agents.values()
                                             if self.engine.eligible(q.config, m.agent))
        try:
            c = self.dialler.start(req.campaign, staffed=staffed, may_set_calling=account.role == "integrator"
                                   or "set_calling" in getattr(account, "rights", ()))
        except PermissionError as e:
            raise PrivilegeViolationError(str(e), account=account.name, field="caller_id") from None
        except CampaignError as e:
            raise InvalidParameterError(str(e), field="campaign") from None
        self.publish_campaign_status(req.campaign)
        return {"campaign": req.campaign, "contacts": len(c.contacts)}

    def _get_statistics(self, account: Account, req: rq.GetStatistics, _t: float) -> dict[str, Any]:
        if account.role == "agent":
            raise PrivilegeViolationError(f"account {account.name} (agent) may not read queue statistics",
                                          account=account.name)
        if req.queue is not None and req.queue not in self.engine.queues:
            raise InvalidParameterError(f"unknown queue {req.queue!r}", field="queue")
        snap = self.publish_stats(self.now(), req.queue)
        if req.queue is not None:
            snap["queues"] = {req.queue: snap["queues"][req.queue]}
        for name, section in self.statistics.items():
            snap[name] = section()
        return snap

    # ---- snapshot sections -----------------------------------------------------------------
    def _agents_state(self, account: Account, book: AccountBook) -> list[dict[str, Any]]:
        seen = book.visible(account)
        return [m.agent.public() for m in self.engine.agents.values()
                if seen is None or m.agent.device in seen]

    def _queues_state(self, account: Account, book: AccountBook) -> list[dict[str, Any]]:
        if account.role == "agent":
            return []
        return [{"queue": n, "waiting": [qc.call_id for qc in self.engine.waiting(n)]} for n in self.engine.queues]
