"""Queue strategies: which ready agent(s) get the next call.

Names and behaviour follow what users know from Asterisk's app_queue and FreeSWITCH's
mod_callcenter:

=================  ================================  ===========================================
strategy           Asterisk / FreeSWITCH name         picks
=================  ================================  ===========================================
ring-all           ringall / ring-all                 every ready member at once
longest-idle       leastrecent / longest-idle-agent   the member idle longest (since last call)
round-robin        rrmemory / round-robin             the member after the one picked last time
fewest-calls       fewestcalls / agent-with-fewest    the member who took fewest calls
least-talk-time    - / agent-with-least-talk-time     the member with least talk time
random             random / random                    a (seeded) random member
linear             linear / top-down                  the members in configured order, from the top
=================  ================================  ===========================================

Skills: members lacking a required skill level are never candidates; with skill priority on,
members with a higher level in the queue's first skill come before the strategy's order.
"""
from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field
from collections.abc import Sequence

from .agents import Agent


class Strategy(str, enum.Enum):
    RING_ALL = "ring-all"
    LONGEST_IDLE = "longest-idle"
    ROUND_ROBIN = "round-robin"
    FEWEST_CALLS = "fewest-calls"
    LEAST_TALK_TIME = "least-talk-time"
    RANDOM = "random"
    LINEAR = "linear"

    @classmethod
    def parse(cls, name: str) -> Strategy:
        aliases = {"ringall": "ring-all", "leastrecent": "longest-idle", "longest-idle-agent": "longest-idle",
                   "rrmemory": "round-robin", "fewestcalls": "fewest-calls", "top-down": "linear",
                   "agent-with-least-talk-time": "least-talk-time", "agent-with-fewest-calls": "fewest-calls"}
        key = aliases.get(name.lower(), name.lower())
        try:
            return cls(key)
        except ValueError:
            raise ValueError(f"unknown strategy {name!r}; known: {', '.join(s.value for s in cls)}") from None


@dataclass
class StrategyMemory:
    """What a strategy remembers between calls of one queue."""

    last: str | None = None               #: agent picked last (round-robin)
    rng: random.Random = field(default_factory=lambda: random.Random(0))


def order(strategy: Strategy, candidates: Sequence[Agent], members: Sequence[str],
          memory: StrategyMemory, *, skill: str | None = None) -> list[Agent]:
    """The candidates in the order the strategy offers them the call.

    ``members`` is the queue's configured member order (linear, round-robin). For ring-all
    every candidate is rung at once; for the others the ACD rings the first and moves down
    the list on no answer.
    """
    rank = {m: i for i, m in enumerate(members)}
    base = sorted(candidates, key=lambda a: (rank.get(a.id, len(rank)), a.id))
    if strategy in (Strategy.RING_ALL, Strategy.LINEAR):
        out = base
    elif strategy is Strategy.LONGEST_IDLE:
        out = sorted(base, key=lambda a: a.idle_since)
    elif strategy is Strategy.FEWEST_CALLS:
        out = sorted(base, key=lambda a: a.calls_taken)
    elif strategy is Strategy.LEAST_TALK_TIME:
        out = sorted(base, key=lambda a: a.talk_time)
    elif strategy is Strategy.RANDOM:
        out = list(base)
        memory.rng.shuffle(out)
    elif strategy is Strategy.ROUND_ROBIN:
        start = rank.get(memory.last, -1) + 1 if memory.last is not None else 0
        out = sorted(base, key=lambda a: (rank.get(a.id, len(rank)) - start) % max(1, len(rank) + 1))
    else:  # pragma: no cover - enum is closed
        raise ValueError(strategy)
    if skill is not None:
        out = sorted(out, key=lambda a: -a.skill(skill))  # stable: strategy order within a level
    return out
