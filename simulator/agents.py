"""Simulated agent desktops and phones for the contact centre, acting as a real desktop would.

A :class:`AgentDesktop` logs its agent on, goes Ready, and when the ACD offers it a call
(``AgentOffered`` on ``queue.*``) answers after a random delay, or never (ring no answer,
with probability ``no_answer``); it talks for a random handle time, clears, and after a
RONA goes Ready again after ``rona_back`` seconds. It only *sends requests* (AgentLogon,
SetAgentState, AnswerCall, ClearConnection) and *reads events*, like any bus client.

:class:`LocalBus` is the in-process transport: requests go through the bus's own parser
and handlers (authorisation included) and events come from the server's publish path, in
the server's thread, so a whole load runs in virtual time and deterministically.
:class:`RemoteBus` is the same over the real sockets (:class:`cti.bus.client.BusClient`), in
real time: ``python3 -m simulator.agents --agent a0=2000 --agent a1=2001`` staffs a running
``cti-server`` that has a ``[contact]`` section.
"""
from __future__ import annotations

import argparse
import random
import time
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

from cti.bus.auth import PLAIN_ACCOUNT, Account
from cti.bus.schema import parse_request
from cti.call.events import BusEvent
from cti.call.errors import CallControlError
from cti.plugin import Component


class LocalBus(Component):
    """Requests and events of a CtiServer without sockets (see the module docstring): a server
    component that wants every event the server publishes."""

    name = "local-bus"

    def __init__(self, server: Any) -> None:
        self.server = server
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        LocalBus._made += 1
        self.name = f"local-bus-{LocalBus._made}"
        server.add(self)

    _made = 0

    def events(self) -> None:
        return None                      # every event

    def on_event(self, event: Any) -> None:
        if not self.listeners:
            return
        if isinstance(event, BusEvent):
            d = event.to_dict()
            d["topic"] = event.topic()
        else:
            d = dict(event)
            d.setdefault("topic", str(d.get("topic") or d["type"].lower()))
        d["seq"] = self.server.bus.seq    # handed out right after it was published
        d.setdefault("time", time.time())
        for fn in list(self.listeners):
            fn(d)

    def now(self) -> float:
        return float(self.server.now())

    def command(self, type: str, account: Account = PLAIN_ACCOUNT, **fields: Any) -> dict[str, Any]:
        """Serve one request as the command socket would; raises the typed error on refusal."""
        kind, req = parse_request({"type": type, **fields})
        handler = self.server.bus.handlers[kind]
        try:
            reply: dict[str, Any] = handler(account, req, self.server.now())
            return reply
        finally:
            self.server.flush_model()


class RemoteBus:
    """Desktops over the bus sockets in real time: requests with ``BusClient.command``, events
    from a gap-free subscription (the account is the client's CURVE identity)."""

    def __init__(self, client: Any, topics: tuple[str, ...] = ("queue.", "agent.", "call."),
                 mode: str = "pub") -> None:
        self.client = client
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self.sub = client.subscribe(topics=topics, mode=mode)   # agents and supervisors: mode "watch"

    def now(self) -> float:
        return time.monotonic()

    def command(self, type: str, account: Account | None = None, **fields: Any) -> dict[str, Any]:
        reply: dict[str, Any] = self.client.command(type, **fields)
        return reply

    def pump(self, desks: list[AgentDesktop], seconds: float) -> None:
        """Deliver events and run the desktops' timers for ``seconds``."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            e = self.sub.get(0.02)
            if e is not None:
                for fn in list(self.listeners):
                    fn(e)
            for d in desks:
                d.tick(self.now())


@dataclass
class DesktopProfile:
    """How a simulated agent behaves (seconds)."""

    answer_after: tuple[float, float] = (1.0, 4.0)
    handle: tuple[float, float] = (20.0, 90.0)
    no_answer: float = 0.0          #: probability of never answering an offered call (RONA)
    rona_back: float = 10.0         #: seconds NotReady after a RONA before going Ready again


@dataclass
class AgentDesktop:
    """One simulated agent (see the module docstring)."""

    agent: str
    device: str
    bus: Any                      #: LocalBus | RemoteBus
    profile: DesktopProfile = field(default_factory=DesktopProfile)
    rng: random.Random = field(default_factory=random.Random)
    account: Account = PLAIN_ACCOUNT
    log: list[tuple[float, str, str]] = field(default_factory=list)   #: (time, action, call)
    _todo: list[tuple[float, str, str]] = field(default_factory=list)
    _call: str | None = None

    def start(self) -> None:
        self.bus.listeners.append(self.on_event)
        self._send("AgentLogon", agent=self.agent, device=self.device)
        self._send("SetAgentState", agent=self.agent, state="Ready")

    def _send(self, type: str, **fields: Any) -> dict[str, Any] | None:
        try:
            reply: dict[str, Any] = self.bus.command(type, self.account, **fields)
            return reply
        except CallControlError as e:       # the call went away meanwhile: a desktop shrugs
            self.log.append((self.bus.now(), f"refused {type}: {e.__class__.__name__}",
                             fields.get("call", "")))
            return None

    def on_event(self, e: dict[str, Any]) -> None:
        kind, now = e.get("type"), self.bus.now()
        data = e.get("data") or {}
        if kind == "AgentOffered" and self.agent in data.get("agents", ()):
            if self.rng.random() >= self.profile.no_answer:
                self._todo.append((now + self.rng.uniform(*self.profile.answer_after), "answer", e["call"]))
        elif kind in ("RingNoAnswer", "Abandoned", "Connected") and e.get("call"):
            if kind != "Connected" or data.get("agent") != self.agent:
                self._todo = [t for t in self._todo if not (t[1] == "answer" and t[2] == e["call"])]
        elif kind == "AgentNotReady" and e.get("agent") == self.agent and e.get("reason") == "RONA":
            self._todo.append((now + self.profile.rona_back, "ready", ""))
        elif kind == "CallCleared" and e.get("call") == self._call:
            self._todo = [t for t in self._todo if t[2] != self._call]
            self._call = None

    def tick(self, now: float) -> None:
        due = [t for t in self._todo if t[0] <= now]
        if not due:
            return
        self._todo = [t for t in self._todo if t[0] > now]
        for _, action, call in sorted(due):
            if action == "answer":
                if self._send("AnswerCall", call=call, device=self.device) is not None:
                    self.log.append((now, "answered", call))
                    self._call = call
                    self._todo.append((now + self.rng.uniform(*self.profile.handle), "clear", call))
            elif action == "clear" and self._call == call:
                if self._send("ClearConnection", call=call, device=self.device) is not None:
                    self.log.append((now, "cleared", call))
                self._call = None
            elif action == "ready":
                self._send("SetAgentState", agent=self.agent, state="Ready")


def start_desktops(server: Any, agents: dict[str, str], profile: DesktopProfile | None = None,
                   seed: int = 1) -> tuple[LocalBus, list[AgentDesktop]]:
    """Desktops for ``agents`` (id -> device) on ``server``, ticking with its board."""
    bus = LocalBus(server)
    desks = [AgentDesktop(a, d, bus, profile or DesktopProfile(), random.Random(f"{seed}/{a}"))
             for a, d in agents.items()]
    for d in desks:
        d.start()
        server.board.add_ticker(d.tick)
    return bus, desks


def main(argv: list[str] | None = None) -> None:
    """Staff a running cti-server's contact centre with simulated agents (real time)."""
    from cti.bus.client import BusClient, ClientKeys
    from cti.bus.server import Endpoints
    p = argparse.ArgumentParser(prog="python3 -m simulator.agents", description=main.__doc__)
    p.add_argument("--agent", action="append", required=True, metavar="ID=DEVICE")
    p.add_argument("--events", default="tcp://127.0.0.1:5560")
    p.add_argument("--snapshot", default="tcp://127.0.0.1:5561")
    p.add_argument("--control", default="tcp://127.0.0.1:5562")
    p.add_argument("--key", help="this account's secret key file (CURVE)")
    p.add_argument("--server-key", help="the server's public key file (CURVE)")
    p.add_argument("--answer", default="1,4", help="answer delay range, seconds (min,max)")
    p.add_argument("--handle", default="20,90", help="talk time range, seconds (min,max)")
    p.add_argument("--no-answer", type=float, default=0.0, help="probability of never answering (RONA)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--watch", action="store_true", help="filtered stream (agent / supervisor accounts under CURVE)")
    p.add_argument("--duration", type=float, default=None, help="seconds to run (default: until Ctrl-C)")
    a = p.parse_args(argv)

    def pair(text: str) -> tuple[float, float]:
        lo, hi = (float(x) for x in text.split(","))
        return lo, hi
    agents = dict(x.split("=", 1) for x in a.agent)
    keys = ClientKeys(a.key, a.server_key) if a.key and a.server_key else None
    profile = DesktopProfile(pair(a.answer), pair(a.handle), a.no_answer)
    with BusClient(Endpoints(a.events, a.snapshot, a.control), keys=keys) as client:
        bus = RemoteBus(client, mode="watch" if a.watch else "pub")
        desks = [AgentDesktop(ag, dev, bus, profile, random.Random(f"{a.seed}/{ag}")) for ag, dev in agents.items()]
        for d in desks:
            d.start()
        bus.listeners.append(lambda e: print(e["seq"], e["type"], e.get("agent") or e.get("call") or "")
                             if e["topic"].startswith(("agent.", "queue.")) else None)
        try:
            bus.pump(desks, a.duration if a.duration is not None else float("inf"))
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
