"""ACD engine: each strategy picks who it promises; skills, VIP priority, sticky agent,
ring timeout and re-queue, overflow, CRM route requests, announcements, abandon."""
from __future__ import annotations

import pytest

from cti.acd import VOICEMAIL, AcdEngine, AcdError, Agent, AgentState, QueueConfig, Strategy


def engine(strategy="linear", n=3, queues=None, wrap_up=0.0, **qkw) -> AcdEngine:
    agents = [Agent(f"a{i}", skills={"sales": 10 * (i + 1)}, wrap_up=wrap_up) for i in range(n)]
    qs = queues or [QueueConfig("sales", strategy=Strategy.parse(strategy),
                                members=[a.id for a in agents], announce_every=None, **qkw)]
    e = AcdEngine(qs, agents)
    e.check()
    for a in agents:
        e.log_on(a.id, f"dev-{a.id}", 0.0)
        e.set_agent_state(a.id, "Ready", 0.0)
    return e


def offered(events):
    return [ev for ev in events if getattr(ev, "type", "") == "Offered"]


def serve(e: AcdEngine, call: str, caller: str, now: float, queue="sales", talk=1.0) -> str:
    """Enqueue, answer by the (first) offered agent, end the call; returns the agent."""
    ev = e.enqueue(call, queue, caller, now)
    agent = offered(ev)[0].data["agents"][0]
    e.answered(call, agent, now + 0.5)
    e.call_ended(call, now + 0.5 + talk)
    return agent


def test_linear_always_from_the_top():
    e = engine("linear")
    assert [serve(e, f"c{i}", f"x{i}", i * 10.0) for i in range(3)] == ["a0", "a0", "a0"]


def test_linear_moves_down_when_top_is_busy():
    e = engine("linear")
    ev1 = e.enqueue("c1", "sales", "x1", 0.0)
    e.answered("c1", "a0", 1.0)
    ev2 = e.enqueue("c2", "sales", "x2", 2.0)
    assert offered(ev1)[0].data["agents"] == ["a0"] and offered(ev2)[0].data["agents"] == ["a1"]


def test_round_robin_remembers_the_last():
    e = engine("round-robin", sticky=False)
    assert [serve(e, f"c{i}", f"x{i}", i * 10.0) for i in range(5)] == ["a0", "a1", "a2", "a0", "a1"]


def test_longest_idle_picks_who_waited_longest():
    e = engine("longest-idle", sticky=False)
    got = [serve(e, f"c{i}", f"x{i}", i * 10.0) for i in range(4)]
    assert got == ["a0", "a1", "a2", "a0"]


def test_fewest_calls():
    e = engine("fewest-calls", sticky=False)
    e.agent("a0").calls_taken = 5
    e.agent("a1").calls_taken = 2
    e.agent("a2").calls_taken = 3
    assert serve(e, "c1", "x", 0.0) == "a1"


def test_least_talk_time():
    e = engine("least-talk-time", sticky=False)
    serve(e, "c1", "x1", 0.0, talk=100.0)   # a2? no: all 0 -> member order -> a0 talks 100 s
    serve(e, "c2", "x2", 200.0, talk=50.0)  # a1 now (0 s)
    assert serve(e, "c3", "x3", 400.0) == "a2"
    assert serve(e, "c4", "x4", 600.0) == "a2"  # a2 talked 1 s, least
    assert e.agent("a0").talk_time == 100.0


def test_random_is_seeded_and_uses_everyone():
    picks = [serve(e, f"c{i}", f"x{i}", i * 10.0) for e in [engine("random", sticky=False)] for i in range(40)]
    again = [serve(e, f"c{i}", f"x{i}", i * 10.0) for e in [engine("random", sticky=False)] for i in range(40)]
    assert picks == again and set(picks) == {"a0", "a1", "a2"}


def test_ring_all_rings_everyone_and_withdraws_the_rest():
    e = engine("ring-all")
    ev = e.enqueue("c1", "sales", "x", 0.0)
    assert offered(ev)[0].data["agents"] == ["a0", "a1", "a2"]
    assert all(e.agent(a).state is AgentState.RESERVED for a in ("a0", "a1", "a2"))
    e.answered("c1", "a1", 2.0)
    assert e.agent("a1").state is AgentState.BUSY
    assert e.agent("a0").state is AgentState.READY and e.agent("a2").state is AgentState.READY


def test_skills_filter_and_priority():
    agents = [Agent("lo", skills={"cn": 20}, wrap_up=0), Agent("hi", skills={"cn": 90}, wrap_up=0),
              Agent("none", skills={}, wrap_up=0)]
    q = QueueConfig("cn", strategy=Strategy.LINEAR, skills={"cn": 10}, skill_priority=True, announce_every=None)
    e = AcdEngine([q], agents)
    for a in agents:
        e.log_on(a.id, a.id, 0.0)
        e.set_agent_state(a.id, "Ready", 0.0)
    ev = e.enqueue("c1", "cn", "x", 1.0)
    assert offered(ev)[0].data["agents"] == ["hi"]
    ev = e.enqueue("c2", "cn", "y", 1.0)
    assert offered(ev)[0].data["agents"] == ["lo"]
    e.enqueue("c3", "cn", "z", 1.0)          # "none" lacks the skill: c3 waits
    assert e.agent("none").state is AgentState.READY and [q.call_id for q in e.waiting("cn") if not q.ringing] == ["c3"]


def test_vip_priority_jumps_the_queue():
    e = engine("linear", n=1)
    e.enqueue("busy", "sales", "x", 0.0)
    e.answered("busy", "a0", 0.5)
    e.enqueue("normal", "sales", "n", 1.0)
    e.enqueue("vip", "sales", "v", 2.0, priority=10)
    assert e.position("vip") == 1 and e.position("normal") == 2
    ev = e.call_ended("busy", 3.0)
    assert offered(ev)[0].call == "vip"


def test_sticky_agent_preferred_when_ready():
    e = engine("linear")
    e.enqueue("c1", "sales", "caller-9", 0.0)
    e.answered("c1", "a0", 0.0)
    e.enqueue("c2", "sales", "caller-7", 0.0)      # goes to a1
    e.answered("c2", "a1", 0.0)
    e.call_ended("c1", 5.0)
    e.call_ended("c2", 5.0)
    ev = e.enqueue("c3", "sales", "caller-7", 10.0)
    assert offered(ev)[0].data["agents"] == ["a1"]   # sticky beats linear's a0


def test_ring_timeout_requeues_to_next_agent():
    e = engine("linear", ring_timeout=10.0)
    e.enqueue("c1", "sales", "x", 0.0)
    ev = e.service(10.0)
    types = [getattr(x, "type", "") for x in ev]
    assert "RingNoAnswer" in types
    assert e.agent("a0").state is AgentState.NOT_READY and e.agent("a0").reason == "RONA"
    assert offered(ev)[0].data["agents"] == ["a1"]


def test_max_wait_overflows_to_another_queue_then_voicemail():
    a = [Agent("a0", wrap_up=0), Agent("b0", wrap_up=0)]
    qs = [QueueConfig("first", members=["a0"], max_wait=30.0, overflow="second", announce_every=None),
          QueueConfig("second", members=["b0"], max_wait=30.0, overflow=VOICEMAIL, announce_every=None)]
    e = AcdEngine(qs, a)
    e.check()
    for ag in a:
        e.log_on(ag.id, ag.id, 0.0)        # both NotReady: nobody answers
    e.enqueue("c1", "first", "x", 0.0)
    ev = e.service(30.0)
    div = [x for x in ev if getattr(x, "type", "") == "Diverted"]
    assert div[0].queue == "first" and div[0].data["to"] == "second"
    assert [q.call_id for q in e.waiting("second")] == ["c1"]
    ev = e.service(60.0)
    div = [x for x in ev if getattr(x, "type", "") == "Diverted"]
    assert div[0].data["to"] == VOICEMAIL and not e.waiting("second")


def test_full_queue_overflows_at_once():
    e = engine("linear", n=1, max_callers=1, overflow=VOICEMAIL)
    e.set_agent_state("a0", "NotReady", 0.0, reason="break")
    e.enqueue("c1", "sales", "x", 0.0)
    ev = e.enqueue("c2", "sales", "y", 0.0)
    assert ev[0].type == "Diverted" and ev[0].data["reason"] == "full"


def test_route_request_crm_selects_agent():
    e = engine("linear", route_request_timeout=2.0)
    ev = e.enqueue("c1", "sales", "x", 0.0)
    rr = next(x for x in ev if getattr(x, "type", "") == "RouteRequest")
    assert not offered(ev)                       # waits for the CRM
    ev = e.route_select(rr.data["route"], 0.5, agent="a2")
    assert offered(ev)[0].data["agents"] == ["a2"]
    with pytest.raises(AcdError, match="unknown or expired"):
        e.route_select(rr.data["route"], 0.6, agent="a1")


def test_route_request_default_after_timeout():
    e = engine("linear", route_request_timeout=2.0)
    e.enqueue("c1", "sales", "x", 0.0)
    assert not offered(e.service(1.9))
    ev = e.service(2.0)
    assert [x.type for x in ev][:2] == ["RouteUsed", "Offered"]


def test_route_select_to_busy_agent_refused():
    e = engine("linear", route_request_timeout=2.0)
    e.set_agent_state("a1", "NotReady", 0.0, reason="x")
    rr = next(x for x in e.enqueue("c1", "sales", "x", 0.0) if x.type == "RouteRequest")
    with pytest.raises(AcdError, match="not Ready"):
        e.route_select(rr.data["route"], 0.5, agent="a1")


def test_announcements_give_position_and_expected_wait():
    q = QueueConfig("sales", members=["a0"], announce_every=20.0)
    e = AcdEngine([q], [Agent("a0")])
    e.log_on("a0", "d", 0.0)
    e.enqueue("c1", "sales", "x", 0.0)
    e.enqueue("c2", "sales", "y", 1.0)
    ev = [x for x in e.service(21.0) if x.type == "Announce"]
    assert [(x.call, x.data["position"]) for x in ev] == [("c1", 1), ("c2", 2)]
    assert ev[1].data["expected_wait"] == pytest.approx(2 * 180.0)


def test_abandon_while_ringing_frees_the_agent():
    e = engine("linear")
    e.enqueue("c1", "sales", "x", 0.0)
    ev = e.abandoned("c1", 3.0)
    assert ev[0].type == "Abandoned" and ev[0].data["wait"] == 3.0
    assert e.agent("a0").state is AgentState.READY


def test_unknown_names_are_clear_errors():
    e = engine()
    with pytest.raises(AcdError, match="unknown queue 'nope'"):
        e.enqueue("c1", "nope", "x", 0.0)
    with pytest.raises(AcdError, match="unknown agent"):
        e.set_agent_state("zz", "Ready", 0.0)
    with pytest.raises(AcdError, match="unknown agent state"):
        e.set_agent_state("a0", "Sleeping", 0.0)
    with pytest.raises(AcdError, match="not ringing"):
        e.answered("c9", "a0", 0.0)
    with pytest.raises(ValueError, match="unknown strategy"):
        QueueConfig.from_dict("q", {"strategy": "best"})
    with pytest.raises(ValueError, match="unknown keys"):
        QueueConfig.from_dict("q", {"ringtimeout": 3})
    with pytest.raises(ValueError, match="overflow target"):
        QueueConfig.from_dict("q", {"max_wait": 3})
    bad = AcdEngine([QueueConfig("q", overflow="elsewhere")])
    with pytest.raises(AcdError, match="unknown queue 'elsewhere'"):
        bad.check()


def test_withheld_callers_are_not_stuck_to_one_agent():
    eng = AcdEngine([QueueConfig("q", strategy=Strategy.FEWEST_CALLS, sticky=True)],
                    [Agent("a0", wrap_up=0.0), Agent("a1", wrap_up=0.0)])
    for a in ("a0", "a1"):
        eng.log_on(a, f"d{a}", 0.0)
        eng.set_agent_state(a, "Ready", 0.0)
    eng.enqueue("c1", "q", "", 1.0)
    first = eng.waiting("q")[0].ringing[0]
    eng.answered("c1", first, 2.0)
    eng.call_ended("c1", 3.0)
    eng.enqueue("c2", "q", "", 4.0)
    assert eng.waiting("q")[0].ringing == [a for a in ("a0", "a1") if a != first]   # fewest calls, not sticky
    assert "" not in eng.sticky


def test_withdraw_takes_a_ringing_call_out_and_no_agent_is_offered_it_again():
    e = engine("linear", n=1)
    ev = e.enqueue("c1", "sales", "x1", 0.0)
    assert offered(ev)[0].data["agents"] == ["a0"] and e.is_queued("c1")
    out = e.withdraw("c1", "voicemail:sales", "voicemail", 1.0)
    diverted = [x for x in out if getattr(x, "type", "") == "Diverted"]
    assert diverted and diverted[0].data == {"to": "voicemail:sales", "reason": "voicemail", "wait": 1.0}
    assert not e.is_queued("c1") and e.agent("a0").state is AgentState.READY
    assert not offered(e.service(60.0))                     # nothing left to offer, ever
    with pytest.raises(AcdError, match="not queued"):
        e.withdraw("c1", "voicemail:sales", "voicemail", 2.0)


def test_withdraw_from_a_queue_with_no_free_agent_leaves_the_others_in_order():
    e = engine("linear", n=1)
    e.enqueue("c1", "sales", "x1", 0.0)
    e.answered("c1", "a0", 0.5)
    e.enqueue("c2", "sales", "x2", 1.0)
    e.enqueue("c3", "sales", "x3", 2.0)
    e.withdraw("c2", "voicemail:sales", "voicemail", 3.0)
    assert [q.call_id for q in e.waiting("sales")] == ["c3"]
    ev = e.call_ended("c1", 10.0)
    assert offered(ev)[0].call == "c3"
