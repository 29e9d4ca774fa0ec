"""Simulated load in virtual time: hundreds of calls, agents with random handle times and
answer delays, impatient callers. Every call is answered, abandoned or overflowed (none
lost), no agent ever holds two calls, and the statistics match an independent count."""
from __future__ import annotations

import heapq
import random

import pytest

from cti.acd import VOICEMAIL, AcdEngine, Agent, AgentState, QueueConfig, Strategy
from cti.stats import StatsCollector


def run_load(strategy: Strategy, calls: int, seed: int):
    rng = random.Random(seed)
    agents = [Agent(f"ag{i}", skills={"sales": 50, "support": 50 if i % 2 else 0}, wrap_up=rng.choice([0, 5, 15]))
              for i in range(12)]
    queues = [
        QueueConfig("sales", strategy=strategy, skills={"sales": 1}, ring_timeout=15.0, max_wait=120.0,
                    overflow="support", announce_every=30.0, service_level=20.0),
        QueueConfig("support", strategy=Strategy.ROUND_ROBIN, skills={"support": 1}, ring_timeout=15.0,
                    max_wait=180.0, overflow=VOICEMAIL, service_level=30.0),
    ]
    eng = AcdEngine(queues, agents, seed=seed)
    eng.check()
    stats = StatsCollector(eng)
    todo: list[tuple[float, int, str, tuple]] = []
    n = 0

    def at(t: float, what: str, *args) -> None:
        nonlocal n
        n += 1
        heapq.heappush(todo, (t, n, what, args))

    for a in agents:
        at(rng.uniform(0, 5), "logon", a.id)
    t = 0.0
    for i in range(calls):
        t += rng.expovariate(1 / 8.0)              # a call every 8 s on average
        at(t, "arrive", f"c{i}", rng.choice(["sales", "sales", "support"]), f"+86{rng.randrange(10**6):06d}",
           10 if rng.random() < 0.05 else 0)
    # independent bookkeeping
    entered: dict[tuple[str, str], float] = {}
    outcome: dict[str, str] = {}
    holding: dict[str, str] = {}                   # agent -> call (ringing or talking)
    ringing: dict[str, set[str]] = {}
    count = {q.name: dict(answered=0, answered_within=0, abandoned=0, abandoned_within=0, diverted=0)
             for q in queues}
    threshold = {q.name: q.service_level for q in queues}

    def handle(events, now):
        stats.feed(events)
        for ev in events:
            typ = ev.type
            if typ == "Queued":
                entered[(ev.call, ev.queue)] = now
            elif typ == "Offered":
                for ag in ev.data["agents"]:
                    assert ag not in holding, f"{ag} offered {ev.call} while holding {holding.get(ag)}"
                    holding[ag] = ev.call
                    delay = rng.uniform(1, 22)     # some exceed the 15 s ring timeout
                    at(now + delay, "answer", ev.call, ag)
                ringing[ev.call] = set(ev.data["agents"])
            elif typ == "RingNoAnswer":
                holding.pop(ev.data["agent"], None)
                ringing[ev.call].discard(ev.data["agent"])
                at(now + 20, "ready", ev.data["agent"])    # the agent notices and goes Ready again
            elif typ == "Connected":
                for ag in ringing.pop(ev.call, set()) - {ev.data["agent"]}:
                    holding.pop(ag, None)
                assert ev.call not in outcome
                outcome[ev.call] = "answered"
                c = count[ev.queue]
                wait = now - entered[(ev.call, ev.queue)]
                assert wait == pytest.approx(ev.data["wait"])
                c["answered"] += 1
                c["answered_within"] += wait <= threshold[ev.queue]
                at(now + rng.uniform(20, 120), "end", ev.call)
            elif typ in ("Abandoned", "Diverted"):
                for ag in ringing.pop(ev.call, set()):
                    holding.pop(ag, None)
                wait = now - entered.get((ev.call, ev.queue), now)
                c = count[ev.queue]
                if typ == "Abandoned":
                    assert ev.call not in outcome
                    outcome[ev.call] = "abandoned"
                    c["abandoned"] += 1
                    c["abandoned_within"] += wait <= threshold[ev.queue]
                else:
                    c["diverted"] += 1
                    if ev.data["to"] == VOICEMAIL:
                        assert ev.call not in outcome
                        outcome[ev.call] = "voicemail"
            elif typ == "CallEnded":
                holding.pop(ev.data["agent"], None)

    now = 0.0
    idle_services = 0
    while todo or eng.next_deadline() is not None:
        deadline = eng.next_deadline()
        if todo and (deadline is None or todo[0][0] <= deadline):
            now, _, what, args = heapq.heappop(todo)
        else:
            now = deadline
            events = eng.service(now)
            handle(events, now)
            idle_services = 0 if events or eng.next_deadline() != deadline else idle_services + 1
            assert idle_services < 3, f"next_deadline {deadline} returned but service did nothing"
            continue
        if what == "logon":
            handle(eng.log_on(args[0], f"span0/ts{args[0][2:]}", now), now)
            handle(eng.set_agent_state(args[0], "Ready", now), now)
        elif what == "arrive":
            call, queue, caller, prio = args
            handle(eng.enqueue(call, queue, caller, now, priority=prio), now)
            at(now + rng.uniform(10, 400), "hangup", call)        # caller patience
        elif what == "hangup":
            if args[0] not in outcome:
                handle(eng.abandoned(args[0], now), now)
        elif what == "answer":
            call, ag = args
            if call in ringing and ag in ringing[call]:
                handle(eng.answered(call, ag, now), now)
        elif what == "end":
            handle(eng.call_ended(args[0], now), now)
        elif what == "ready" and eng.agent(args[0]).state is AgentState.NOT_READY:
            handle(eng.set_agent_state(args[0], "Ready", now), now)
        if now > 1e6:
            raise AssertionError("simulation did not settle")
    return eng, stats, outcome, count, now


@pytest.mark.parametrize("strategy", list(Strategy))
def test_load_no_call_lost_no_agent_double_booked(strategy):
    calls = 400
    eng, stats, outcome, count, now = run_load(strategy, calls, seed=7)
    assert len(outcome) == calls, "every call must end answered, abandoned or in voicemail"
    assert set(outcome.values()) <= {"answered", "abandoned", "voicemail"}
    assert sum(v == "answered" for v in outcome.values()) > calls // 2
    assert not eng.connected and all(not eng.waiting(q) for q in eng.queues)
    snap = stats.snapshot(now)
    for q, c in count.items():
        f = snap["queues"][q]
        for key, value in c.items():
            assert f[key] == value, (q, key)
        ans, ab = c["answered"], c["abandoned"]
        assert f["service_level"] == pytest.approx(100.0 * c["answered_within"] / ans, abs=0.01)
        assert f["service_level_2"] == pytest.approx(
            100.0 * (c["answered_within"] + c["abandoned_within"]) / (ans + ab), abs=0.01)
        assert f["abandon_rate"] == pytest.approx(100.0 * ab / (ans + ab), abs=0.01)
    total_taken = sum(eng.agent(a).calls_taken for a in eng.agents)
    assert total_taken == sum(v == "answered" for v in outcome.values())
    for a in snap["agents"].values():
        assert a["occupancy"] is None or 0.0 <= a["occupancy"] <= 100.0
