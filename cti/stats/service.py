"""Queue and agent statistics computed from the ACD's events.

Formulas (docs/stats.md), with T the queue's service-level threshold in seconds:

* service level (Asterisk ``ServicelevelPerf``): answered within T / answered;
* service level 2 (Asterisk ``ServicelevelPerf2``): (answered within T + abandoned within T)
  / (answered + abandoned), i.e. callers who hung up before T count as served in time;
* abandon rate: abandoned / (answered + abandoned); diverted calls count in neither;
* average handle time (AHT): (talk time + wrap-up time) / handled calls;
* occupancy: (Busy + WorkingAfterCall time) / (Ready + Busy + WorkingAfterCall time),
  Reserved (ringing) counted as Ready time, NotReady and LoggedOff excluded.

Percentages are in 0..100; a ratio with nothing to divide is ``None`` (shown as "-").
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from collections.abc import Iterable

from cti.acd.agents import AgentEvent, AgentState
from cti.acd.engine import AcdEngine
from cti.acd.queue import QueueEvent


def _pct(num: float, den: float) -> float | None:
    return None if den == 0 else round(100.0 * num / den, 2)


def service_level(answered_within: int, answered: int) -> float | None:
    """Asterisk-style service level, percent."""
    return _pct(answered_within, answered)


def service_level_2(answered_within: int, abandoned_within: int, answered: int, abandoned: int) -> float | None:
    """Asterisk ``ServicelevelPerf2``: abandoned-in-threshold calls count as served in time."""
    return _pct(answered_within + abandoned_within, answered + abandoned)


def abandon_rate(abandoned: int, answered: int) -> float | None:
    return _pct(abandoned, answered + abandoned)


@dataclass
class QueueFigures:
    """Counters of one queue since the collector started (or was reset)."""

    queue: str
    threshold: float
    offered: int = 0
    answered: int = 0
    answered_within: int = 0
    abandoned: int = 0
    abandoned_within: int = 0
    diverted: int = 0
    ring_no_answer: int = 0
    wait_answered: float = 0.0     #: total wait of answered calls
    talk: float = 0.0
    handled: int = 0

    def live(self, engine: AcdEngine, now: float) -> dict[str, Any]:
        waiting = engine.waiting(self.queue)
        d = asdict(self)
        d.update({
            "waiting": len(waiting),
            "longest_wait": round(max((now - qc.enqueued_at for qc in waiting), default=0.0), 3),
            "service_level": service_level(self.answered_within, self.answered),
            "service_level_2": service_level_2(self.answered_within, self.abandoned_within,
                                               self.answered, self.abandoned),
            "abandon_rate": abandon_rate(self.abandoned, self.answered),
            "average_wait": None if not self.answered else round(self.wait_answered / self.answered, 3),
        })
        return d


def agent_figures(engine: AcdEngine, agent_id: str, now: float) -> dict[str, Any]:
    """Live figures of one agent: state, calls, talk and wrap-up time, AHT, occupancy."""
    a = engine.agent(agent_id)
    times = dict(a.time_in)
    times[a.state.value] = times.get(a.state.value, 0.0) + max(0.0, now - a.since)
    wrap = times.get(AgentState.WORKING_AFTER_CALL.value, 0.0)
    busy = times.get(AgentState.BUSY.value, 0.0) + wrap
    avail = times.get(AgentState.READY.value, 0.0) + times.get(AgentState.RESERVED.value, 0.0)
    return {
        "agent": agent_id, "state": a.public()["state"], "calls": a.calls_taken,
        "talk": round(a.talk_time, 3), "wrap_up": round(wrap, 3),
        "aht": None if not a.calls_taken else round((a.talk_time + wrap) / a.calls_taken, 3),
        "occupancy": _pct(busy, busy + avail),
    }


class StatsCollector:
    """Feeds on ACD events; ``snapshot`` gives the live figures published on the bus."""

    def __init__(self, engine: AcdEngine) -> None:
        self.engine = engine
        self.queues: dict[str, QueueFigures] = {
            name: QueueFigures(name, q.config.service_level) for name, q in engine.queues.items()}

    def feed(self, events: Iterable[QueueEvent | AgentEvent]) -> None:
        for ev in events:
            if not isinstance(ev, QueueEvent):
                continue
            f = self.queues[ev.queue]
            wait = float(ev.data.get("wait", 0.0))
            if ev.type == "Queued":
                f.offered += 1
            elif ev.type == "Connected":
                f.answered += 1
                f.wait_answered += wait
                f.answered_within += wait <= f.threshold
            elif ev.type == "Abandoned":
                f.abandoned += 1
                f.abandoned_within += wait <= f.threshold
            elif ev.type == "Diverted":
                f.diverted += 1
            elif ev.type == "RingNoAnswer":
                f.ring_no_answer += 1
            elif ev.type == "CallEnded":
                f.handled += 1
                f.talk += float(ev.data.get("talk", 0.0))

    def snapshot(self, now: float) -> dict[str, Any]:
        """``{"queues": {...}, "agents": {...}, "time": now}``: what the QueueStats event carries."""
        return {
            "time": now,
            "queues": {n: f.live(self.engine, now) for n, f in self.queues.items()},
            "agents": {a: agent_figures(self.engine, a, now) for a in self.engine.agents},
        }
