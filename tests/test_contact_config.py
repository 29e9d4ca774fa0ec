"""[contact] configuration, event and request shapes, and bad input (typed errors, never a crash)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.bus.schema import REQUESTS, parse_request
from cti.call.errors import InvalidParameterError
from cti.config import ConfigError
from cti.contact import ContactConfig
from tests.test_contact_load import restore_bus_requests  # noqa: F401 (fixture)
from cti.contact import events as ce
from cti.contact.requests import CONTACT_REQUESTS
from cti.acd.agents import AgentEvent
from cti.acd.queue import QueueEvent

GOOD = {
    "route_points": {"4000": "sales", "4100": "ivr"}, "ivr": "ivr.toml", "recordings": "rec",
    "stats_every": 2.0, "seed": 3,
    "agents": {"alice": {"device": "2001", "team": "blue", "skills": {"sales": 60}, "wrap_up": 5}},
    "queues": {"sales": {"strategy": "rrmemory", "skills": {"sales": 10}, "max_wait": 60.0, "overflow": "voicemail"}},
}


def test_good_section_parses():
    cfg = ContactConfig.from_dict(GOOD)
    (a,) = cfg.agents
    assert (a.id, a.device, a.team, a.skills, a.wrap_up) == ("alice", "2001", "blue", {"sales": 60}, 5.0)
    (q,) = cfg.queues
    assert q.name == "sales" and q.strategy.value == "round-robin" and q.max_wait == 60.0
    assert cfg.route_points == {"4000": "sales", "4100": "ivr"} and cfg.stats_every == 2.0


def test_load_reads_the_server_file(tmp_path):
    f = tmp_path / "cti.toml"
    f.write_text('[server]\nnode = "x"\n[contact]\nroute_points = { "4000" = "q" }\n[contact.queues.q]\n')
    assert ContactConfig.load(str(f)).route_points == {"4000": "q"}
    g = tmp_path / "plain.toml"
    g.write_text('[server]\nnode = "x"\n')
    assert ContactConfig.load(str(g)) is None
    with pytest.raises(ConfigError):
        ContactConfig.load(str(tmp_path / "missing.toml"))


@pytest.mark.parametrize("patch", [
    {"route_points": {"4000": "nowhere"}},
    {"route_points": {"4100": "ivr"}, "ivr": None},
    {"agents": {"bob": {"device": 2001}}},
    {"agents": {"bob": {"skills": {"x": 101}}}},
    {"agents": {"bob": {"wrap_up": -1}}},
    {"agents": {"bob": {"colour": "red"}}},
    {"queues": {"q": {"strategy": "telepathy"}}},
    {"queues": {"q": {"max_wait": 10.0}}},
    {"queues": "sales"},
    {"stats_every": 0.0},
    {"seed": "one"},
    {"colour": 1},
])
def test_bad_sections_are_config_errors(patch):
    d = {k: v for k, v in GOOD.items()}
    d.update(patch)
    if d.get("ivr") is None:
        d.pop("ivr", None)
    with pytest.raises(ConfigError):
        ContactConfig.from_dict(d)


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=4),
                    max_leaves=12))
@pytest.mark.system
def test_fuzzed_sections_parse_or_raise_config_error(data):
    try:
        ContactConfig.from_dict(data)
    except ConfigError:
        pass


def test_events_topics_and_acd_mapping():
    e = ce.from_acd(QueueEvent("Queued", "sales", "7", 1.0, {"caller": "139", "position": 1}))
    assert type(e) is ce.CallQueued and e.topic() == "queue.sales"
    assert e.to_dict() == {"queue": "sales", "call": "7", "data": {"caller": "139", "position": 1}, "devices": [],
                           "type": "CallQueued"}
    assert ce.from_acd(QueueEvent("Offered", "q", "7", 1.0, {}), ["2001"]).devices == ["2001"]
    a = ce.from_acd(AgentEvent("AgentBusy", {"agent": "alice", "state": "Busy", "device": "2001", "team": "blue",
                                             "phase": "ringing", "reason": "", "call": "7"}, 1.0))
    assert type(a) is ce.AgentBusy and a.topic() == "agent.alice" and a.phase == "ringing"
    assert ce.QueueStats(queue="q").topic() == "queue.q"
    assert ce.RecordingStopped(call="1", path="/x.wav", seconds=2.0).topic() == "recording.1"
    for name, cls in ce.CONTACT_EVENTS.items():
        assert cls.__name__ == name and cls.__doc__


def test_requests_registered_and_checked():
    from cti.contact.requests import register
    register()          # what install() does
    for cls in CONTACT_REQUESTS:
        assert REQUESTS[cls.__name__] is cls and cls.__doc__
    kind, req = parse_request({"type": "SetAgentState", "agent": "alice", "state": "NotReady", "reason": "lunch"})
    assert kind == "SetAgentState" and req.reason == "lunch"
    with pytest.raises(InvalidParameterError):
        parse_request({"type": "Monitor", "agent": "alice"})            # device missing
    with pytest.raises(InvalidParameterError):
        parse_request({"type": "CollectDigits", "call": "1", "max_digits": "four"})


def test_contact_schema_file_matches_code():
    import json
    from pathlib import Path
    from cti.contact import schema
    on_disk = json.loads((Path(__file__).parent.parent / "docs/schema/contact-schema.json").read_text())
    assert on_disk == json.loads(schema.render()), \
        "regenerate: python3 -m cti.contact.schema > docs/schema/contact-schema.json"
    for name, e in on_disk["events"].items():
        assert e["doc"], name
        assert e["topic"] in ("agent.*", "queue.*", "ivr.*", "recording.*", "campaign.*"), name
    assert set(on_disk["requests"]) == {c.__name__ for c in CONTACT_REQUESTS}


def test_example_config_parses():
    from pathlib import Path
    cfg = ContactConfig.load(str(Path(__file__).parent.parent / "docs/examples/contact-centre.toml"))
    assert cfg is not None and {q.name for q in cfg.queues} == {"sales", "support"} and len(cfg.agents) == 4
    from cti.acd.engine import AcdEngine
    AcdEngine(cfg.queues, cfg.agents).check()
