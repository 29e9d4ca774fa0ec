"""Random contact-centre requests (valid and not) while calls flow: every one is answered by a
result or a typed error, and the call model and the ACD stay consistent."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti.acd.agents import AgentState
from cti.call.errors import CallControlError
from simulator.agents import DesktopProfile, start_desktops
from tests.test_contact_features import AGENTS, DEVICES, place
from tests.test_contact_load import make_server, run_until, restore_bus_requests  # noqa: F401 (fixture)

pytestmark = pytest.mark.system

NAMES = ["AgentLogon", "SetAgentState", "RouteSelect", "StartRecording", "StopRecording", "Monitor",
         "GetStatistics", "PlayPrompt", "CollectDigits", "StartCampaign", "AnswerCall", "ClearConnection"]
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 100), st.floats(allow_nan=True),
                   st.sampled_from(["a0", "a1", "a9", "2000", "2001", "Ready", "NotReady", "LoggedOff", "r1",
                                    "sales", "barge", "1", "2", "3", "", "#"]), st.text(max_size=4))
FIELDS = ["agent", "device", "state", "reason", "route", "queue", "call", "mode", "prompt", "max_digits",
          "timeout", "terminator", "campaign", "cause"]


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    srv, centre = make_server(tmp, {"agents": AGENTS, "route_points": {"4000": "sales"},
                                    "queues": {"sales": {"route_request_timeout": 2.0, "record": True}}}, spans=1)
    bus, desks = start_desktops(srv, DEVICES, DesktopProfile(answer_after=(0.2, 2.0), handle=(1.0, 5.0),
                                                              no_answer=0.2))
    yield srv, centre, bus
    srv.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(NAMES), st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=4),
                          st.floats(0.0, 2.0)), min_size=1, max_size=8))
def test_random_requests_never_break_the_centre(rig, steps):
    srv, centre, bus = rig
    place(srv, 0.1, calling="13700000000", hold_for=None, abandon_after=6.0)
    for name, fields, wait in steps:
        live = list(srv.model.calls)
        if "call" in fields and live and fields["call"] in ("1", "2", "3"):
            fields = dict(fields, call=live[0])
        try:
            res = bus.command(name, **fields)
            assert isinstance(res, dict)
        except CallControlError:
            pass
        run_until(srv, srv.now() + wait)
        assert srv.model.validate() == []
        agents = [a for a, _ in centre.engine.connected.values()]
        assert len(agents) == len(set(agents)), "an agent with two calls"
        for call, (a, _) in centre.engine.connected.items():
            assert centre.engine.agents[a].agent.state is AgentState.BUSY
        assert centre.counters["acd_errors"] == 0
