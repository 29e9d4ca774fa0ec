"""QueueStats' agent figures gathered a slice per block before the event is due
(cti/contact/stats_spread.py): the same figures as a one-shot snapshot, never all in one block."""
from __future__ import annotations

from cti.acd import AcdEngine, Agent
from cti.contact import stats_spread
from cti.contact.stats_spread import StatsSpread
from cti.stats.service import StatsCollector


def _engine(n: int) -> AcdEngine:
    from tests.test_acd_engine import engine
    return engine("linear", n=n)


def test_gathered_figures_equal_a_one_shot_snapshot_and_are_spread(monkeypatch):
    e = _engine(100)
    stats = StatsCollector(e)
    spread = StatsSpread(stats)
    calls: list[int] = []
    real = stats_spread.agent_figures

    def counted(engine, agent, now):
        calls[-1] += 1
        return real(engine, agent, now)
    monkeypatch.setattr(stats_spread, "agent_figures", counted)
    due = 5.0
    now = 4.0
    while now < due - 1e-9:                      # the blocks before the event
        calls.append(0)
        spread.gather(now, due)
        now = round(now + 0.02, 2)
    calls.append(0)
    snap = spread.snapshot(due)
    assert sum(calls[:-1]) == 100 and calls[-1] == 0       # every agent taken before it is due
    assert max(calls) <= -(-100 // stats_spread.SLICES) + 1  # a slice per block, never all at once
    assert calls[:len(calls) - 1 - stats_spread.SLICES] == [0] * (len(calls) - 1 - stats_spread.SLICES)
    one_shot = stats.snapshot(due)
    assert list(snap["agents"]) == list(one_shot["agents"])
    assert snap["queues"] == one_shot["queues"] and snap["time"] == due
    for a, fig in snap["agents"].items():           # Ready since 0: only the Ready time differs
        assert fig["state"] == one_shot["agents"][a]["state"] and fig["calls"] == 0


def test_agents_not_gathered_are_taken_when_due_and_gone_ones_left_out():
    e = _engine(3)
    spread = StatsSpread(StatsCollector(e))
    snap = spread.snapshot(1.0)                     # nothing gathered (served only at deadlines)
    assert set(snap["agents"]) == {"a0", "a1", "a2"}
    spread.gather(0.99, 1.0)
    e.add_agent(Agent("late", skills={"sales": 1}))
    snap = spread.snapshot(1.0)
    assert set(snap["agents"]) == {"a0", "a1", "a2", "late"}
    assert spread.snapshot(2.0)["agents"]["late"]["agent"] == "late"
