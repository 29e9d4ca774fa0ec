"""Simulated agent desktops and phones for the contact centre, acting as a real desktop would.

A :class:`AgentDesktop` logs its agent on, goes Ready, and when the ACD offers it a call
(``AgentOffered`` on ``queue.*``) answers after a random delay, or never (ring no answer,
with probability ``no_answer``); it talks for a random handle time, clears, and after a
RONA goes Ready again after ``rona_back`` seconds. It only *sends requests* (AgentLogon,
SetAgentState, AnswerCall, ClearConnection) and *reads events*, like any bus client.

:class:`LocalBus` is the in-process transport: requests go through the bus's own parser
and handlers (authorisation included) and events come from the server's publish path, in
the server's thread, so a whole load runs in virtual time and deterministically. A real
desktop uses :class:`cti.bus.client.BusClient` (``command`` / ``subscribe``) instead.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable

from cti.bus.auth import PLAIN_ACCOUNT, Account
from cti.bus.schema import parse_request
from cti.call.errors import CallControlError


class LocalBus:
    """Requests and events of a CtiServer without sockets (see the module docstring)."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        bus = server.bus
        inner = bus.publish

        def publish(event: Any, now: float | None = None) -> int:
            seq = inner(event, now)
            d = bus._ring[-1][2]
            for fn in list(self.listeners):
                fn(d)
            return seq
        bus.publish = publish

    def command(self, type: str, account: Account = PLAIN_ACCOUNT, **fields: Any) -> dict[str, Any]:
        """Serve one request as the command socket would; raises the typed error on refusal."""
        kind, req = parse_request({"type": type, **fields})
        handler = self.server.bus.handlers[kind]
        try:
            return handler(account, req, self.server.now())
        finally:
            self.server.flush_model()


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
    bus: LocalBus
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
            return self.bus.command(type, self.account, **fields)
        except CallControlError as e:       # the call went away meanwhile: a desktop shrugs
            self.log.append((self.bus.server.now(), f"refused {type}: {e.__class__.__name__}",
                             fields.get("call", "")))
            return None

    def on_event(self, e: dict[str, Any]) -> None:
        kind, now = e.get("type"), self.bus.server.now()
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
