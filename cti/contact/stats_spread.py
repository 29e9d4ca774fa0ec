"""QueueStats gathered over the blocks before it is due, not in one block.

Every ``stats_every`` seconds the contact centre publishes a QueueStats event per queue with
the figures of every agent (:func:`cti.stats.service.agent_figures`: about 8 µs an agent).
With a few hundred agents that was one block of 3-4 ms every 5 s on top of the block's usual
work, at 128 loaded spans enough to make it late. :class:`StatsSpread` computes the agents'
figures a slice per block over the :data:`SLICES` blocks before the event is due (each agent's
figures as of the block it was taken in, at most ``SLICES`` blocks, 0.3 s, before the event's
time) and the queues' figures when it is due; agents that appeared meanwhile are taken then.
"""
from __future__ import annotations

from typing import Any

from cti.stats.service import StatsCollector, agent_figures

#: blocks over which the agents' figures are gathered before the event is due
SLICES = 15
BLOCK = 0.02


class StatsSpread:
    """The agents' figures of the next QueueStats, a slice per block (see the module docstring)."""

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats
        self._todo: list[str] | None = None
        self._got: dict[str, dict[str, Any]] = {}

    def gather(self, now: float, due: float) -> None:
        """A block ``now`` before the event due at ``due``: take this block's slice of agents."""
        if now < due - SLICES * BLOCK:
            return
        engine = self.stats.engine
        if self._todo is None:
            self._todo = list(engine.agents)
            self._got = {}
        left = max(1, round((due - now) / BLOCK))
        n = -(-len(self._todo) // left)
        got = self._got
        for _ in range(min(n, len(self._todo))):
            a = self._todo.pop()
            if a in engine.agents:
                got[a] = agent_figures(engine, a, now)

    def snapshot(self, now: float) -> dict[str, Any]:
        """What :meth:`StatsCollector.snapshot` gives, the agents' figures from the slices."""
        engine, got = self.stats.engine, self._got
        self._todo, self._got = None, {}
        return {"time": now, "queues": {n: f.live(engine, now) for n, f in self.stats.queues.items()},
                "agents": {a: got.get(a) or agent_figures(engine, a, now) for a in engine.agents}}
