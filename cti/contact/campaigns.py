"""The outbound campaign requests of :mod:`cti.outbound.requests` on the contact centre, the
``campaigns`` snapshot section, and the CampaignStatus event a wallboard draws.

A mixin of :class:`cti.contact.centre.ContactCentre` (like :mod:`cti.contact.handlers`):
handlers take ``(account, request, t)``. Rights: switching a campaign's mode is a
supervisor's or an integrator's; a preview is served to the agent it is for (an agent
account for its own agent only), its team's supervisor, or an integrator.
"""
from __future__ import annotations

from typing import Any

from cti.acd.agents import AgentState
from cti.bus.auth import Account, AccountBook
from cti.call.errors import InvalidParameterError, InvalidStateError, PrivilegeViolationError
from cti.outbound import requests as orq
from cti.outbound.campaign import Campaign, CampaignError

from . import events as ce


class CampaignRequests:
    """Campaign mode and preview handlers (see the module docstring); state in ContactCentre."""

    engine: Any
    model: Any
    dialler: Any
    publish: Any
    now: Any
    listen: Any
    _may_act_for: Any

    def campaign_links(self) -> dict[str, Any]:
        return {"SetCampaignMode": self._set_campaign_mode, "PreviewNext": self._preview_next,
                "PreviewDial": self._preview_dial, "PreviewSkip": self._preview_skip}

    def _running(self, name: str) -> Campaign:
        try:
            c: Campaign = self.dialler.campaign(name)
        except CampaignError as e:
            raise InvalidParameterError(str(e), field="campaign") from None
        return c

    # ---- requests ----------------------------------------------------------------------------
    def _set_campaign_mode(self, account: Account, req: orq.SetCampaignMode, _t: float) -> dict[str, Any]:
        if account.role == "agent":
            raise PrivilegeViolationError(f"account {account.name} (agent) may not change a campaign's pacing",
                                          account=account.name)
        self._running(req.campaign)
        try:
            self.dialler.set_mode(req.campaign, req.mode)
        except CampaignError as e:
            raise InvalidParameterError(str(e), field="mode") from None
        self.publish_campaign_status(req.campaign)
        return {"campaign": req.campaign, "mode": req.mode}

    def _preview_next(self, account: Account, req: orq.PreviewNext, _t: float) -> dict[str, Any]:
        self._may_act_for(account, req.agent, "preview records")
        c = self._running(req.campaign)
        agent = self.engine.agent(req.agent)
        if agent.state is AgentState.LOGGED_OFF or not agent.device:
            raise InvalidStateError(f"agent {req.agent} is not logged on")
        if not self.engine.eligible(self.engine.queues[c.queue].config, agent):
            raise InvalidParameterError(f"agent {req.agent} does not serve queue {c.queue!r} of campaign "
                                        f"{req.campaign!r}", field="agent")
        if c.mode != "preview":
            raise InvalidStateError(f"campaign {req.campaign!r} paces in {c.mode} mode, not preview")
        open_ = c.previews_of(req.agent)
        p = open_[0] if open_ else c.preview(self.now(), req.agent)
        if p is None:
            why = c.halted or "no record may be dialled now (all done, waiting for a retry or calling hours)"
            raise InvalidStateError(f"campaign {req.campaign!r}: {why}")
        self.publish_campaign_status(req.campaign)
        return {"campaign": req.campaign, "attempt": p.attempt, "number": p.number, "data": dict(p.data),
                "agent": req.agent}

    def _preview_owner(self, account: Account, c: Campaign, name: str, attempt: str) -> Any:
        agent_id = c.previewing(attempt)
        if agent_id is None:
            raise InvalidParameterError(f"campaign {name!r} has no open preview {attempt!r}", field="attempt")
        self._may_act_for(account, agent_id, "act on this preview")
        return self.engine.agent(agent_id)

    def _preview_dial(self, account: Account, req: orq.PreviewDial, _t: float) -> dict[str, Any]:
        c = self._running(req.campaign)
        agent = self._preview_owner(account, c, req.campaign, req.attempt)
        now = self.now()

        def dial(device: str, number: str, trunk: str | None = None, calling: str | None = None) -> dict[str, Any]:
            got: dict[str, Any] = self.model.make_call(device, number, now, trunk=trunk, calling=calling)
            return got
        call = self.dialler.preview_dial(req.campaign, req.attempt, agent.device, now, dial, self.listen)
        self.publish_campaign_status(req.campaign)
        return {"campaign": req.campaign, "attempt": req.attempt, "call": call}

    def _preview_skip(self, account: Account, req: orq.PreviewSkip, _t: float) -> dict[str, Any]:
        c = self._running(req.campaign)
        self._preview_owner(account, c, req.campaign, req.attempt)
        if req.later is not None and not 0 < req.later <= 30 * 86400:
            raise InvalidParameterError("PreviewSkip.later must be 0..30 days in seconds", field="later")
        self.dialler.preview_skip(req.campaign, req.attempt, self.now(), req.later)
        self.publish_campaign_status(req.campaign)
        return {"campaign": req.campaign, "attempt": req.attempt}

    # ---- state ---------------------------------------------------------------------------------
    def campaign_agents(self, queue: str) -> dict[str, int]:
        """The queue's agents by state (LoggedOff ones left out)."""
        out: dict[str, int] = {}
        q = self.engine.queues.get(queue)
        if q is None:
            return out
        for m in self.engine.agents.values():
            if m.agent.state is not AgentState.LOGGED_OFF and self.engine.eligible(q.config, m.agent):
                out[m.agent.state.value] = out.get(m.agent.state.value, 0) + 1
        return out

    def campaign_status(self, name: str) -> dict[str, Any]:
        c: Campaign = self.dialler.campaign(name)
        return {**c.status(), "agents": self.campaign_agents(c.queue)}

    def publish_campaign_status(self, name: str) -> None:
        st = self.campaign_status(name)
        agents = st.pop("agents")
        self.publish(ce.CampaignStatus(campaign=name, mode=st["mode"], status=st, agent_states=agents))

    def _campaigns_state(self, account: Account, book: AccountBook) -> list[dict[str, Any]]:
        """Snapshot section ``campaigns``: every running campaign's status (supervisors and
        integrators); an agent sees the name, mode and queue of those of its queues."""
        if account.role != "agent":
            return [self.campaign_status(n) for n in sorted(self.dialler.running)]
        me = self.engine.agents.get(account.name)
        out = []
        for n in sorted(self.dialler.running):
            c: Campaign = self.dialler.campaign(n)
            q = self.engine.queues.get(c.queue)
            if me is not None and q is not None and self.engine.eligible(q.config, me.agent):
                out.append({"campaign": n, "mode": c.mode, "queue": c.queue})
        return out
