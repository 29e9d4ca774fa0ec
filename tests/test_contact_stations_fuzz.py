"""Random media requests (Monitor / StopMonitor / Hold / Retrieve / SendDigits / ClearConnection /
recording, from agents, supervisors and integrators, valid or not) while calls flow to agents on
station timeslots: every request gets a result or a typed error, and the bridges stay sound: a
circuit in one bridge at most, every bridge belongs to a live call connected to the agent whose
station it holds, every audio supervision is one the centre knows."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti.bus.auth import Account
from cti.call.errors import CallControlError
from simulator.agents import DesktopProfile, start_desktops
from simulator.exchange.base import CallScript
from tests.test_contact_load import restore_bus_requests  # noqa: F401 (fixture)
from tests.test_contact_stations import AGENTS, STATIONS, make_centre, run_for

pytestmark = pytest.mark.system

ACCOUNTS = [Account("boss", "supervisor", device="3000", team="blue"),
            Account("red", "supervisor", device="3001", team="red"),
            Account("a0", "agent", device="2000", team="blue"),
            Account("a1", "agent", device="2001", team="blue"),
            Account("crm", "integrator")]
NAMES = ["Monitor", "StopMonitor", "HoldCall", "RetrieveCall", "SendDigits", "ClearConnection",
         "StartRecording", "StopRecording", "ConsultationCall", "TransferCall", "ConferenceCall"]
VALUES = {"agent": st.sampled_from(["a0", "a0", "a1", "zz"]),
          "device": st.sampled_from(["2000", "2001", "3000", "3000", "3001", "9999"]),
          "mode": st.sampled_from(["monitor", "whisper", "barge", "loud"]),
          "digits": st.sampled_from(["1", "#9", "x"]),
          "call": st.sampled_from(["live", "live", "live", "nope"]),
          "called": st.sampled_from(["8888", "8888", "12"]),
          "held_call": st.sampled_from(["live", "last"]),
          "active_call": st.sampled_from(["last", "live"])}
#: the fields each request takes (a few requests also get a field they do not take)
TAKES = {"Monitor": ("agent", "device", "mode"), "StopMonitor": ("device",), "HoldCall": ("call", "device"),
         "RetrieveCall": ("call", "device"), "SendDigits": ("call", "digits", "device"),
         "ClearConnection": ("call", "device"), "StartRecording": ("call",), "StopRecording": ("call",),
         "ConsultationCall": ("call", "called", "device"), "TransferCall": ("held_call", "active_call", "device"),
         "ConferenceCall": ("held_call", "active_call", "device")}


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    srv, centre = make_centre(tmp_path_factory.mktemp("sfuzz"), {
        "agents": AGENTS, "stations": STATIONS, "simulated_phones": True, "route_points": {"4000": "sales"},
        "queues": {"sales": {"strategy": "linear", "members": ["a0", "a1"]}}})
    bus, desks = start_desktops(srv, {a: v["device"] for a, v in AGENTS.items()},
                                DesktopProfile(answer_after=(0.2, 1.0), handle=(2.0, 8.0)))
    yield srv, centre, bus
    srv.close()


def check(srv, centre) -> None:
    owners: dict = {}
    for call_id, br in centre.audio.bridges.bridges.items():
        assert call_id in srv.model.calls
        for c in (br.a, br.b, br.supervisor):
            if c is not None:
                assert c not in owners, f"{c} in {owners[c]} and {call_id}"
                owners[c] = call_id
        if call_id in centre.engine.connected:
            agent = centre.engine.connected[call_id][0]
            assert STATIONS[AGENTS[agent]["device"]] == f"{br.b[0]}/{br.b[1]}"
    for dev, call_id in centre.audio.supervising.items():
        assert centre.supervisions[dev][0] == call_id
        assert centre.audio.bridges.bridges[call_id].supervisor == tuple(map(int, STATIONS[dev].split("/")))
    assert srv.model.validate() == []


@settings(max_examples=50, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(ACCOUNTS),
                          st.fixed_dictionaries(VALUES), st.booleans(), st.floats(0.0, 1.5)),
                min_size=3, max_size=10))
def test_random_media_requests_keep_the_bridges_sound(rig, steps):
    srv, centre, bus = rig
    srv.part("network").networks[0].place_call(CallScript(at=srv.now() + 0.1, called="4000", hold_for=None, abandon_after=20.0))
    end = srv.now() + 8.0
    while not centre.audio.bridges.bridges and srv.now() < end:     # start with a call at an agent
        srv.step(0)
    for name, account, values, extra, wait in steps:
        fields = {k: v for k, v in values.items() if k in TAKES[name] or (extra and k == "mode")}
        calls = list(srv.model.calls)
        for k in ("call", "held_call", "active_call"):
            if fields.get(k) == "live":
                fields[k] = calls[0] if calls else "none"
            elif fields.get(k) == "last":
                fields[k] = calls[-1] if calls else "none"
        try:
            assert isinstance(bus.command(name, account, **fields), dict)
        except CallControlError:
            pass
        except (TypeError, ValueError) as e:     # the bus parser: a field the request does not take
            assert extra and "mode" in str(e), e
        run_for(srv, wait)
        check(srv, centre)

