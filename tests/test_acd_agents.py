"""Agent state machine: CSTA states, wrap-up, deferred requests, ring-no-answer, refusals."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from cti.acd.agents import TABLE, Agent, AgentMachine, AgentRequest, AgentState, AgentStateError


def logged_on(**kw) -> AgentMachine:
    m = AgentMachine(Agent("a1", team="t1", skills={"sales": 50}, **kw))
    m.request("LogOn", 0.0, device="span0/ts1")
    return m


def test_log_on_is_not_ready_then_ready():
    m = AgentMachine(Agent("a1"))
    ev = m.request("LogOn", 1.0, device="span0/ts1")
    assert [e.type for e in ev] == ["AgentLoggedOn"]
    assert m.agent.state is AgentState.NOT_READY and m.agent.device == "span0/ts1"
    ev = m.request("Ready", 2.0)
    assert [e.type for e in ev] == ["AgentReady"] and ev[0].agent["state"] == "Ready"


def test_not_ready_reason_change_is_an_event():
    m = logged_on()
    assert m.request("NotReady", 1.0, reason="lunch")[0].agent["reason"] == "lunch"
    ev = m.request("NotReady", 2.0, reason="training")
    assert [e.type for e in ev] == ["AgentNotReady"] and m.agent.reason == "training"


def test_call_cycle_with_wrap_up():
    m = logged_on(wrap_up=30.0)
    m.request("Ready", 1.0)
    ev = m.request("Offer", 2.0, call_id="c1")
    assert ev[0].type == "AgentBusy" and ev[0].agent["phase"] == "ringing"
    m.request("Answer", 4.0)
    assert m.agent.state is AgentState.BUSY and m.agent.calls_taken == 1
    ev = m.request("CallEnd", 64.0)
    assert ev[0].type == "AgentWorkingAfterCall" and m.agent.wrap_up_until == 94.0
    assert m.agent.talk_time == 60.0
    assert m.request("WrapUpDone", 94.0)[0].type == "AgentReady"


def test_not_ready_during_call_is_applied_after_wrap_up():
    m = logged_on(wrap_up=5.0)
    m.request("Ready", 0.0)
    m.request("Offer", 1.0, call_id="c1")
    m.request("Answer", 2.0)
    assert m.request("NotReady", 3.0, reason="break") == []   # deferred, no change yet
    assert m.agent.state is AgentState.BUSY
    m.request("CallEnd", 10.0)
    m.request("WrapUpDone", 15.0)
    assert m.agent.state is AgentState.NOT_READY and m.agent.reason == "break"


def test_ready_during_call_skips_wrap_up():
    m = logged_on(wrap_up=60.0)
    m.request("Ready", 0.0)
    m.request("Offer", 1.0, call_id="c1")
    m.request("Answer", 2.0)
    m.request("Ready", 3.0)
    m.request("CallEnd", 10.0)
    assert m.agent.state is AgentState.READY


def test_ring_no_answer_makes_agent_not_ready_rona():
    m = logged_on()
    m.request("Ready", 0.0)
    m.request("Offer", 1.0, call_id="c1")
    ev = m.request("NoAnswer", 16.0)
    assert m.agent.state is AgentState.NOT_READY and m.agent.reason == "RONA"
    assert ev[-1].type == "AgentNotReady"


def test_ring_no_answer_can_leave_agent_ready():
    m = logged_on(rona_not_ready=False)
    m.request("Ready", 0.0)
    m.request("Offer", 1.0, call_id="c1")
    m.request("NoAnswer", 16.0)
    assert m.agent.state is AgentState.READY


@pytest.mark.parametrize("state_req,request_", [
    ("LoggedOff", "LogOff"), ("LoggedOff", "Ready"), ("NotReady", "Offer"), ("Ready", "Answer"),
])
def test_refused_requests_raise_typed_error(state_req, request_):
    m = AgentMachine(Agent("a1"))
    if state_req == "NotReady":
        m.request("LogOn", 0.0, device="d")
    elif state_req == "Ready":
        m.request("LogOn", 0.0, device="d")
        m.request("Ready", 0.0)
    with pytest.raises(AgentStateError, match=request_):
        m.request(request_, 1.0, **({"call_id": "c"} if request_ == "Offer" else {}))


def test_time_in_state_accumulates():
    m = logged_on()
    m.request("Ready", 10.0)
    m.request("NotReady", 25.0, reason="x")
    assert m.agent.time_in["NotReady"] == 10.0 and m.agent.time_in["Ready"] == 15.0


REQUESTS = sorted(r.value for r in {row.event for row in TABLE.rows} - {AgentRequest.REFRESH})


@given(st.lists(st.tuples(st.sampled_from(REQUESTS), st.floats(0, 10)), max_size=40))
def test_random_requests_keep_the_agent_consistent(seq):
    """Any request sequence: allowed ones apply, others raise AgentStateError; invariants hold."""
    m = AgentMachine(Agent("a1", wrap_up=3.0))
    now = 0.0
    for req, dt in seq:
        now += dt
        kw = {"LogOn": {"device": "d"}, "Offer": {"call_id": "c"}}.get(req, {})
        try:
            m.request(req, now, **kw)
        except AgentStateError:
            pass
        a = m.agent
        assert m.fsm.state is a.state
        assert (a.call_id is not None) == (a.state in (AgentState.RESERVED, AgentState.BUSY)) or \
            (a.state is AgentState.BUSY)   # direct calls may carry no call id
        assert a.state is not AgentState.WORKING_AFTER_CALL or a.wrap_up_until is not None


def test_agent_table_is_whole_on_the_one_engine():
    assert TABLE.validate() == []
    assert TABLE.reachable() == set(AgentState)


def test_wrap_up_is_the_engines_timer_and_its_expiry_a_row():
    m = logged_on(wrap_up=30.0)
    m.request("Ready", 1.0)
    m.request("Offer", 2.0, call_id="c1")
    m.request("Answer", 3.0)
    m.request("CallEnd", 10.0)
    assert m.deadline() == 40.0 and m.service(39.9) == []
    ev = m.service(40.0)
    assert [e.type for e in ev] == ["AgentReady"] and m.deadline() is None
    assert m.fsm.trace[-1][1:] == (AgentState.WORKING_AFTER_CALL, AgentRequest.WRAP_UP_DONE, AgentState.READY)


def test_unknown_request_is_a_typed_error():
    with pytest.raises(AgentStateError, match="unknown request"):
        logged_on().request("Explode", 1.0)
