"""Two PRI stacks back to back in memory (user and network side), for tests, the benchmark
and anyone who wants to see both sides of a D channel without a board: frames cross at each
:meth:`Pair.step`, time advances as the caller says, ``drop(sender, frame)`` loses frames."""
from __future__ import annotations

from typing import Any
from collections.abc import Callable

from .stack import PriStack


class Pair:
    def __init__(self, user: PriStack | None = None, network: PriStack | None = None,
                 drop: Callable[[PriStack, bytes], bool] | None = None, now: float = 0.0) -> None:
        self.user = user or PriStack(False, name="user")
        self.network = network or PriStack(True, name="network")
        self.drop = drop
        self.now = now
        self.events: dict[str, list[Any]] = {"user": [], "network": []}
        self.frames = 0

    def step(self, dt: float = 0.0) -> None:
        """Exchange frames until both sides are quiet, then advance ``dt`` and run timers."""
        for _ in range(64):
            moved = False
            for a, b in ((self.user, self.network), (self.network, self.user)):
                for f in a.data_to_send(self.now):
                    moved = True
                    self.frames += 1
                    if self.drop is None or not self.drop(a, f):
                        b.receive(f, self.now)
            if not moved:
                break
        self.now += dt
        for s in (self.user, self.network):
            d = s.timer_deadline()
            if d is not None and d <= self.now:
                s.handle_timer(self.now)
        self.events["user"] += self.user.events()
        self.events["network"] += self.network.events()

    def run(self, seconds: float, dt: float = 0.05) -> None:
        end = self.now + seconds
        while self.now < end:
            self.step(dt)
        self.step()

    def kinds(self, side: str) -> list[str]:
        return [e.kind for e in self.events[side]]

    def last(self, side: str, kind: str) -> Any:
        return next(e for e in reversed(self.events[side]) if e.kind == kind)
