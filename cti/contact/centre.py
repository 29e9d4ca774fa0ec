"""The contact centre attached to a running CtiServer: ACD fed from call-model events,
agents' requests, recording, supervision and statistics, all through the bus.

Flow of an inbound call (docs/contact-centre.md): the call model reports ``Offered`` at a
route point (a routing device: never rung) -> the call waits there (``Queued``) and enters
its ACD queue -> the engine's ``Offered`` names agents -> the call is ``Diverted`` to their
devices and ``Delivered`` at each (cti.acd.calls) -> the agent's desktop sends AnswerCall ->
Established at the agent's device, ACD ``Connected`` -> either side clears -> CallCleared ->
``CallEnded`` and wrap-up. A caller who hangs up first is ``Abandoned``; ring no answer
takes the call back from the agent's device and queues it again.

The centre is a server component (:mod:`cti.plugin`): the server hands it the call-model
events it names (:meth:`ContactCentre.events`), runs :meth:`ContactCentre.service` every
block (it carries audio: taps, bridges, recordings, IVR prompts), puts its request links in
front of the server's call control (AnswerCall and ClearConnection of an ACD call, and the
agent-side requests, are served here and otherwise passed on with ``next``) and adds the
``agents`` / ``queues`` / ``media`` snapshot sections. Everything runs in the server's thread.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from collections.abc import Callable, Collection, Iterable, Mapping

from cti.acd import calls as acd_calls
from cti.acd.engine import AcdEngine, AcdError
from cti.acd.agents import AgentEvent, AgentState
from cti.acd.queue import VOICEMAIL, QueueEvent
from cti.call.errors import CallControlError, InvalidStateError
from cti.ivr.menu import IvrConfig, IvrConfigError
from cti.ivr.session import DigitsCollected, Hangup, ToQueue
from cti.media.recorder import Recorder
from cti.media.taps import SpanTaps
from cti.plugin import EVERY_BLOCK, Component, Host, Link, Section, serves
from cti.stats.service import StatsCollector

from . import events as ce
from . import requests as rq
from .audio import CallAudio, StationError
from .hook import service as hook_service
from .config import ContactConfig
from .campaigns import CampaignRequests
from .handlers import ContactRequests
from .ivr import Connect, IvrRunner
from .outbound import Dialler, publish_campaign
from .stats_spread import StatsSpread

log = logging.getLogger(__name__)


#: call-model events the centre and its audio act on
CALL_EVENTS = frozenset({"Offered", "Delivered", "Established", "Originated", "DigitsDialed", "Held", "Retrieved",
                         "Transferred", "Conferenced", "Reattempted", "Failed", "CallCleared"})


class ContactCentre(ContactRequests, CampaignRequests, Component):
    """See the module docstring. Hand it to the server (``CtiServer(cfg, components=[...])``)."""

    name = "contact"

    def __init__(self, config: ContactConfig) -> None:
        self.config = config
        rq.register()
        self.engine = AcdEngine(config.queues, config.agents, seed=config.seed)
        try:
            self.engine.check()
        except AcdError as e:
            from cti.config import ConfigError
            raise ConfigError(f"[contact] {e}") from None
        self.stats = StatsCollector(self.engine)
        self._stats_spread = StatsSpread(self.stats)
        ivr = None
        if config.ivr is not None:
            from cti.config import ConfigError
            try:
                ivr = IvrConfig.load(config.ivr)
            except (IvrConfigError, OSError, ValueError) as e:
                raise ConfigError(f"[contact] ivr {config.ivr}: {e}") from None
            missing = ivr.queues() - set(self.engine.queues)
            if missing:
                raise ConfigError(f"[contact] the IVR sends callers to unknown queue(s) {sorted(missing)}")
        self.taps = SpanTaps()                             #: listeners on trunk and station timeslots
        self.ivr = IvrRunner(ivr, self._write_audio)
        from .prompts import QueuePrompts
        try:
            self.prompts = QueuePrompts(config.prompts)
        except ValueError as e:
            from cti.config import ConfigError
            raise ConfigError(f"[contact] {e}") from None
        from cti.outbound.campaign import CampaignError
        try:
            self.dialler = Dialler(config.campaigns, set(self.engine.queues))
            for name, spec in config.campaigns.items():
                if spec.get("autostart"):
                    self.dialler.start(name)
        except CampaignError as e:
            from cti.config import ConfigError
            raise ConfigError(str(e)) from None
        self.recorder = Recorder(Path(config.recordings))
        self.routed: dict[str, str] = {}          #: call -> queue it entered (ACD calls, until they end)
        self.supervisions: dict[str, tuple[str, str, str]] = {}   #: supervisor device -> (call, agent, mode)
        self.counters: dict[str, int] = {"acd_errors": 0}
        self._next_stats: float | None = None
        self._rx: dict[str, bytearray] = {}                #: recorded call -> caller audio not yet written
        self._rec_unlisten: dict[str, Callable[[], None]] = {}
        self._rec_bridged: set[str] = set()                #: recorded calls fed from their bridge
        self._announcer: Callable[[str, str], bytes] | None = None
        self.statistics: dict[str, Callable[[], Any]] = {}   #: GetStatistics sections others add
        #: with [cluster] centre, the cluster ACD's routing (cti.cluster.routing) queues the callers
        self.router: Any = None

    def enqueue(self, call_id: str, queue: str, caller: str, now: float, priority: int = 0) -> None:
        """A caller enters ``queue``: this node's ACD, or the cluster's (``router``)."""
        if self.router is not None:
            self.router.enqueue(call_id, queue, caller, now, priority)
        else:
            self.apply(self.engine.enqueue(call_id, queue, caller, now, priority))

    def add_statistics(self, name: str, section: Callable[[], Any]) -> None:
        """Add ``section()`` to every ``GetStatistics`` result under ``name`` (the media
        resources add their pools' usage as ``resources``)."""
        if name in ("time", "queues", "agents") or name in self.statistics:
            raise ValueError(f"GetStatistics has a {name!r} section already")
        self.statistics[name] = section

    def announce_agents(self, announcer: Callable[[str, str], bytes] | None) -> None:
        """Before a caller is bridged to the agent who answered, play them
        ``announcer(queue, agent)`` (A-law: the agent's work number, "工号 1024 为您服务"; empty:
        none); the bridge is made when it has played, the agent hears silence meanwhile."""
        self._announcer = announcer

    # ---- the plugin protocol (cti.plugin) --------------------------------------------------
    def start(self, host: Host) -> None:
        """Take the server's model, bus and board: tap the trunk and station spans."""
        self.server = host
        self.model = host.model
        self.model.routing_devices.update(self.config.route_points)   # offered there, never rung
        self.bus = host.bus
        self.publish = host.publish
        self.audio = CallAudio(host, self.taps, self.config.stations)
        self._tap_spans()
        try:
            self.audio.attach(set(self.taps.spans))
        except StationError as e:
            from cti.config import ConfigError
            raise ConfigError(f"[contact] {e}") from None

    def stop(self) -> None:
        """Finish open recordings (their WAV headers) and publish RecordingStopped for each."""
        for call_id in list(self.recorder.active):
            self._stop_record(call_id)

    def requests(self) -> Mapping[str, Link]:
        own = {"AgentLogon": self._logon, "SetAgentState": self._set_state, "RouteSelect": self._route_select,
               "StartRecording": self._start_recording, "StopRecording": self._stop_recording,
               "Monitor": self._monitor, "StopMonitor": self._stop_monitor, "GetStatistics": self._get_statistics,
               "PlayPrompt": self._play, "CollectDigits": self._collect_digits,
               "StartCampaign": self._start_campaign, **self.campaign_links()}
        links: dict[str, Link] = {name: serves(fn) for name, fn in own.items()}
        links["AnswerCall"] = self._answer
        return links

    def sections(self) -> Mapping[str, Section]:
        return {"agents": self._agents_state, "queues": self._queues_state, "campaigns": self._campaigns_state,
                "media": lambda account, book: self.audio.public(book.visible(account))}

    def events(self) -> Collection[str]:
        return CALL_EVENTS

    def on_event(self, event: Any) -> None:
        self.on_call_event(event)

    def deadline(self) -> float | None:
        """Every block while there is a board (taps, bridges, recordings, prompts carry audio);
        otherwise the ACD's, statistics' and dialler's timers."""
        if self.taps.spans or self.ivr.legs:
            return EVERY_BLOCK
        ds = [self.engine.next_deadline(), self._next_stats if self._next_stats is not None else EVERY_BLOCK]
        if self.dialler.running:
            return EVERY_BLOCK
        return float(min(d for d in ds if d is not None))

    def service(self, now: float) -> None:
        self.tick(now)

    def now(self) -> float:
        return float(self.server.now())

    # ---- ACD output: execute and publish ------------------------------------------------------
    def apply(self, events: Iterable[AgentEvent | QueueEvent]) -> None:
        """Carry out the engine's events on the call model, feed statistics, publish them."""
        events = list(events)
        self.stats.feed(events)
        for e in events:
            if isinstance(e, QueueEvent):
                try:
                    self._execute(e)
                except Exception:   # the call may be gone already; the ACD learns it from the model
                    self.counters["acd_errors"] += 1
                    log.exception("ACD event %s on call %s", e.type, e.call)
            self.publish(ce.from_acd(e, self._devices_of(e)))

    def _devices_of(self, e: AgentEvent | QueueEvent) -> list[str]:
        """Agent devices a queue event concerns, so those agents' accounts see it on the bus."""
        if not isinstance(e, QueueEvent):
            return []
        if e.data.get("devices"):
            return [d for d in e.data["devices"] if d]
        agent = e.data.get("agent")
        if agent in self.engine.agents and self.engine.agents[agent].agent.device:
            return [self.engine.agents[agent].agent.device]
        return []

    def _execute(self, e: QueueEvent) -> None:
        call = self.model.calls.get(e.call)
        if call is None:
            return
        now = self.now()
        if e.type in acd_calls.HANDLED:      # Queued / Offered / RingNoAnswer: events at the right device
            if e.type == "Queued":
                self.routed[e.call] = e.queue
            acd_calls.carry_out(self.model, e, now, {a: m.agent.device for a, m in self.engine.agents.items()})
        elif e.type == "Diverted":
            self.routed[e.call] = e.data["to"]
            if e.data["to"] == VOICEMAIL:        # overflow to voicemail: the prompt, then the caller is let go
                self.routed.pop(e.call, None)
                audio = self.prompts.voicemail()
                circ = call.circuit()
                if audio and circ is not None:
                    self.ivr.play_audio(e.call, circ, audio, then_hangup=True)
                else:
                    self.model.clear_connection(e.call, now)
        elif e.type == "Announce":
            audio = self.prompts.announcement(int(e.data.get("position", 0)), e.data.get("expected_wait"))
            circ = call.circuit()
            if audio and circ is not None:
                self.ivr.play_audio(e.call, circ, audio)
        elif e.type == "Connected":
            self.dialler.connected(e.call, self.now())
            leg = self.ivr.legs.get(e.call)
            if leg is not None and leg.session is None:
                leg.playing.clear()              # the agent is there: stop the queue's announcement
            agent = self.engine.agents.get(e.data.get("agent"))
            device = agent.agent.device if agent is not None else None
            audio = self._announcer(e.queue, str(e.data.get("agent") or "")) if self._announcer else b""
            circ = call.circuit()
            if audio and circ is not None:       # the agent's work number first; the bridge after it
                self.ivr.play_audio(e.call, circ, audio, then=Connect(device))
            else:
                self.audio.connect(e.call, device)
            if e.data.get("record") and e.call not in self.recorder.active:   # a client may have started it
                self._record(e.call, e.data.get("agent"))

    def _ringing(self, call_id: str) -> list[str]:
        qc = self.engine._find(call_id)
        return list(qc.ringing) if qc is not None else []

    def _record(self, call_id: str, agent: str | None) -> str:
        rec = self.recorder.start(call_id, self.now())
        circ = self._circuit_of(call_id)
        if circ is not None and circ[0] in self.taps.spans:
            self._listen_recorded(call_id, circ)
        self.publish(ce.RecordingStarted(call=call_id, path=str(rec.path), agent=agent))
        return str(rec.path)

    def _listen_recorded(self, call_id: str, circ: tuple[int, int]) -> None:
        """The recording's own listener on the caller's trunk timeslot (while not bridged)."""
        buf = self._rx[call_id] = bytearray()

        def heard(alaw: bytes, _t: float) -> None:
            _keep(buf, alaw)
        self._rec_unlisten[call_id] = self.listen(circ, heard)

    def _feed_recordings(self) -> None:
        """One block of every recording. A bridged call's recording takes the bridge's block
        (what the caller sent, what the caller was sent: the same block, in step), so its own
        listener on the trunk timeslot is dropped while the call is bridged (a listener call,
        a copy and a look-up per recorded call and block fewer: a tenth of the calls at full
        load) and taken again if the call leaves the bridge still recorded."""
        bridges = self.audio.bridges.bridges
        unlisten, detached = self._rec_unlisten, self._rec_bridged
        blocks = []
        for call_id, rec in self.recorder.active.items():
            br = bridges.get(call_id)
            if br is not None:
                if call_id in unlisten:
                    unlisten.pop(call_id)()
                    self._rx.pop(call_id, None)
                    detached.add(call_id)
                blocks.append((rec, br.a_rx, br.to_a))
                continue
            if call_id in detached:
                detached.discard(call_id)
                circ = self._circuit_of(call_id)
                if circ is not None and circ[0] in self.taps.spans:
                    self._listen_recorded(call_id, circ)
            rx, sent = self._call_audio(call_id)
            blocks.append((rec, rx, sent))
        self.recorder.feed_many(blocks)

    def _circuit_of(self, call_id: str) -> tuple[int, int] | None:
        call = self.model.calls.get(call_id)
        return call.circuit() if call is not None else None

    def _stop_record(self, call_id: str) -> dict[str, Any] | None:
        stop = self._rec_unlisten.pop(call_id, None)
        if stop is not None:
            stop()
        self._rx.pop(call_id, None)
        self._rec_bridged.discard(call_id)
        rec = self.recorder.stop(call_id, self.now())
        if rec is None:
            return None
        seconds = round(rec.blocks * 0.02, 2)
        self.publish(ce.RecordingStopped(call=call_id, path=str(rec.path), seconds=seconds))
        return {"call": call_id, "path": str(rec.path), "seconds": seconds}

    # ---- call-model input ---------------------------------------------------------------------
    def on_call_event(self, e: Any) -> None:
        """One call-model event of :data:`CALL_EVENTS` (the plugin protocol's ``on_event``)."""
        kind = type(e).__name__
        self.audio.on_call_event(e)
        try:
            if kind == "Transferred" and e.call in self.engine.connected:   # the agent handed it on
                self.apply(self.engine.call_ended(e.call, self.now()))
            elif kind == "Originated" and e.call in self.model.calls:
                self._consultation(self.model.calls[e.call])
            elif kind == "Offered" and e.direction == "in":
                target = self.config.route_points.get(e.called or "")
                if target == "ivr":
                    self._to_ivr(e.call)
                elif target is not None:
                    self.enqueue(e.call, target, e.calling or "", self.now())
            elif kind == "DigitsDialed" and not e.sent:
                self._ivr_actions(self.ivr.digits(e.call, e.digits, self.now()))
            elif kind == "Delivered" and e.call in self.dialler.attempts and e.device.startswith("trunk/"):
                self.dialler.alerting(e.call, self.now())
            elif kind == "Established" and e.call in self.dialler.attempts and e.device.startswith("trunk/"):
                self._campaign_report(self.dialler.answered(e.call, self.now()))
            elif kind == "Reattempted" and e.call in self.dialler.attempts and e.ts is not None:
                self.dialler.moved(e.call, (e.span, e.ts), self.listen)
            elif kind == "Failed" and e.call in self.dialler.attempts:
                self._campaign_ended(e.call, e.cause)
                self.model.clear_connection(e.call, self.now(), cause=e.cause or 16)
            elif kind == "CallCleared":
                self._campaign_ended(e.call, e.cause)
                self._call_gone(e.call)
        except AcdError as err:
            self.counters["acd_errors"] += 1
            log.warning("ACD refused %s of call %s: %s", kind, e.call, err)

    def _consultation(self, call: Any) -> None:
        """A consultation call from an ACD call: its agent's device may control it too."""
        held = call.extra.get("consultation_of")
        if held in self.engine.connected:
            dev = self.engine.agents[self.engine.connected[held][0]].agent.device
            if dev:
                call.extra["devices"] = sorted(set(call.extra.get("devices", ())) | {dev})

    def _campaign_ended(self, call_id: str, cause: int | None) -> None:
        self._campaign_report(self.dialler.ended(call_id, cause, self.now()))

    def _campaign_report(self, r: Any) -> None:
        """Publish an attempt's outcome (cti.contact.outbound.Report); answered calls enter the queue."""
        if r is None:
            return
        if r.call is not None and r.call in self.model.calls:     # the call's CDR carries the outcome
            mark = {"campaign": r.campaign, "campaign_outcome": r.outcome.value}
            if r.amd:
                mark.update(amd=r.amd, amd_confidence=f"{r.confidence or 0.0:.3f}")
            try:
                self.model.update_user_data(r.call, mark, self.now())
            except CallControlError as err:
                log.warning("campaign call %s: outcome not attached: %s", r.call, err)
        publish_campaign(self.server, r, self.dialler.summary(r.campaign))
        for c in r.connects:
            self.enqueue(r.call, c.queue, r.number, self.now())
        self.publish_campaign_status(r.campaign)

    def _dial_tick(self, now: float) -> None:
        if not self.dialler.running:
            return

        def ready(queue: str) -> int:
            if queue not in self.engine.queues:   # call-backs: no queue, each dialled to its own agent
                return 0
            c = self.engine.queues[queue].config
            return sum(1 for m in self.engine.agents.values()
                       if m.agent.state is AgentState.READY and self.engine.eligible(c, m.agent))

        def dial(device: str, number: str, trunk: str | None = None, calling: str | None = None) -> dict[str, Any]:
            res: dict[str, Any] = self.model.make_call(device, number, now, trunk=trunk, calling=calling)
            return res
        def busy(queue: str) -> int:
            if queue not in self.engine.queues:
                return 0
            c = self.engine.queues[queue].config
            return sum(1 for m in self.engine.agents.values()
                       if m.agent.state in (AgentState.RESERVED, AgentState.BUSY, AgentState.WORKING_AFTER_CALL)
                       and self.engine.eligible(c, m.agent))

        reports, clear = self.dialler.tick(now, ready, dial, self.listen, busy)
        for call_id, cause in clear:              # busy / congestion heard in band, no answer
            if call_id in self.model.calls:
                try:
                    self.model.clear_connection(call_id, now, cause=cause)
                except CallControlError as err:   # it is ending anyway: its CallCleared reports it
                    log.warning("campaign call %s not cleared: %s", call_id, err)
        for r in reports:
            self._campaign_report(r)
        for call_id, circ, prompt in self.dialler.take_plays():    # abandon message, a machine's message
            if call_id not in self.model.calls:
                continue
            if self.engine.is_queued(call_id):            # an abandoned callee leaves the queue
                self.apply(self.engine.abandoned(call_id, now))
            audio = self.prompts._get(prompt)
            if circ is not None and audio:
                self.ivr.play_audio(call_id, circ, audio, then_hangup=True)
            else:
                log.warning("campaign prompt %r not found: call %s released without it", prompt, call_id)
                self.model.clear_connection(call_id, now, cause=16)

    def leave_queue(self, call_id: str, to: str, reason: str) -> None:
        """A queued call is taken elsewhere by a request (a voicemail box): the ACD lets it
        go (``Diverted``) so no agent is offered it; a call not queued is left alone."""
        if self.engine.is_queued(call_id):
            self.apply(self.engine.withdraw(call_id, to, reason, self.now()))

    def _call_gone(self, call_id: str) -> None:
        now = self.now()
        self._stop_record(call_id)
        self.ivr.drop(call_id)
        for dev, (cid, _, _) in list(self.supervisions.items()):
            if cid == call_id:
                del self.supervisions[dev]
        if call_id in self.engine.connected:
            self.apply(self.engine.call_ended(call_id, now))
        elif self.engine.is_queued(call_id):
            self.apply(self.engine.abandoned(call_id, now))
        self.routed.pop(call_id, None)

    # ---- time ------------------------------------------------------------------------------
    def tick(self, now: float) -> None:
        """One block: ACD timers, statistics, IVR, dialler, hooks, bridges, recordings."""
        due = self.engine.next_deadline()
        if due is not None and due <= now:
            self.apply(self.engine.service(now))
        due = self._next_stats
        if due is None:
            self._next_stats = now + self.config.stats_every
        elif now >= due:
            self._next_stats = now + self.config.stats_every
            self._publish_snapshot(self._stats_spread.snapshot(now))
        elif self.taps.spans:              # served every block: gather the agents' figures a slice at a time
            self._stats_spread.gather(now, due)
        self._ivr_actions(self.ivr.tick(now))
        self._dial_tick(now)
        self.taps.drain()
        if self.audio.hooks is not None:
            hook_service(self, self.audio.hooks, now)
        self.audio.tick()
        if self.recorder.active:
            self._feed_recordings()

    def _tap_spans(self) -> None:
        """Tee the audio the trunk adapters read from their spans (a board hands each block out
        once, and the stacks read it first for MFC / DTMF): recordings and :meth:`listen`."""
        board = self.server.board
        for adapter in self.model.adapters:
            for n in sorted({c[0] for c in adapter.circuits()}):
                span = board.span(n) if board is not None else getattr(adapter, "span", None)
                if span is not None:
                    self.taps.tap(n, span)

    def listen(self, circuit: tuple[int, int], fn: Callable[[bytes, float], None]) -> Callable[[], None]:
        """Call ``fn(alaw, time)`` with every 20 ms A-law block (160 octets) received on the trunk
        timeslot ``circuit = (span, ts)``; returns a callable that unsubscribes."""
        return self.taps.listen(circuit, fn)

    def _call_audio(self, call_id: str) -> tuple[bytes, bytes]:
        """One 20 ms block of the call's two directions: the caller (from the span tap) and what
        the caller is sent (the agent's station through the bridge, IVR prompts; else silence)."""
        silence = b"\xd5" * 160
        buf = self._rx.get(call_id)
        rx = silence
        if buf is not None and len(buf) >= 160:
            rx = bytes(buf[:160])
            del buf[:160]
        bridged = self.audio.sent_to_caller(call_id)
        if bridged is not None:
            return rx, bridged[1]
        leg = self.ivr.legs.get(call_id)
        sent = leg.sent if leg is not None and len(leg.sent) == 160 else silence
        return rx, sent

    # ---- IVR ----------------------------------------------------------------------------------
    def _write_audio(self, circuit: tuple[int, int], alaw: bytes) -> None:
        self.audio.play(circuit, alaw)

    def _circuit(self, call_id: str) -> tuple[int, int]:
        circ: tuple[int, int] | None = self.model.call(call_id).circuit()
        if circ is None:
            raise InvalidStateError(f"call {call_id} has no trunk circuit to play to", call=call_id)
        return circ

    def _to_ivr(self, call_id: str) -> None:
        now = self.now()
        self.model.answer_call(call_id, now)
        self._ivr_actions(self.ivr.start_menu(call_id, self._circuit(call_id), now))

    def _ivr_actions(self, actions: list[Any]) -> None:
        now = self.now()
        for call_id, a in actions:
            if isinstance(a, DigitsCollected):
                self.publish(ce.DigitsCollected(call=call_id, digits=a.digits, reason=a.reason, menu=a.menu))
                acd_calls.note_ivr(self.model, call_id, {f"ivr.{a.menu or 'collect'}": a.digits}, now)
            elif isinstance(a, ToQueue):
                call = self.model.calls.get(call_id)
                if call is not None:
                    call.extra.setdefault("ivr", {}).update(a.vars)
                    acd_calls.note_ivr(self.model, call_id, dict(a.vars), now)
                    self.enqueue(call_id, a.queue, call.calling or "", now, a.priority)
            elif isinstance(a, Hangup) and call_id in self.model.calls:
                self.model.clear_connection(call_id, now)
            elif isinstance(a, Connect) and call_id in self.engine.connected:
                self.audio.connect(call_id, a.device)     # the announcement has played

    def publish_stats(self, now: float, queue: str | None = None) -> dict[str, Any]:
        return self._publish_snapshot(self.stats.snapshot(now), queue)

    def _publish_snapshot(self, snap: dict[str, Any], queue: str | None = None) -> dict[str, Any]:
        for name, figures in snap["queues"].items():
            if queue is None or name == queue:
                self.publish(ce.QueueStats(queue=name, figures=figures, agents=snap["agents"]))
        return snap


def _keep(buf: bytearray, alaw: bytes, most: int = 3 * 160) -> None:
    """Append a received block to a recording's buffer, keeping at most ``most`` octets."""
    buf += alaw
    if len(buf) > most:
        del buf[:len(buf) - most]
