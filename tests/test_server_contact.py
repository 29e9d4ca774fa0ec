"""cti-server with the example contact-centre config: the [contact] section installs the ACD,
the demo's callers reach the route points, simulated agents answer them (virtual time)."""
from __future__ import annotations

import pathlib
import tomllib

import pytest

from cti.bus.codec import unpack_event
from cti.config import Config, ConfigError
from cti.cli.wiring import build_server
from tests.test_contact_load import restore_bus_requests  # noqa: F401 (fixture: the [contact] section registers requests)

ROOT = pathlib.Path(__file__).resolve().parents[1]
ANY = "tcp://127.0.0.1:*"


def example(tmp_path) -> dict:
    data = tomllib.loads((ROOT / "docs/examples/contact-centre.toml").read_text())
    data["server"] = {"store": str(tmp_path / "cc.db")}
    data["bus"] = {"events": ANY, "snapshot": ANY, "control": ANY}
    data["board"] |= {"clock": "virtual", "step": 0.5}
    data["demo"]["scenario"] = str(ROOT / data["demo"]["scenario"])
    data["contact"]["recordings"] = str(tmp_path / "rec")
    return data


@pytest.mark.system
def test_example_config_serves_callers_with_agents(tmp_path):
    from simulator.agents import DesktopProfile, start_desktops

    srv = build_server(Config.from_dict(example(tmp_path))).start()
    try:
        assert srv.part("contact") is not None and srv.part("demo").scenario.config.acd_numbers == ["4000", "4001"]
        agents = {a: d["device"] for a, d in example(tmp_path)["contact"]["agents"].items()}
        start_desktops(srv, agents, DesktopProfile(answer_after=(1, 3), handle=(10, 30)), seed=5)
        for _ in range(360):                              # 3 minutes of virtual time
            srv.step(0)
        types = [unpack_event(p)["type"] for p in srv.bus._ring]
        assert types.count("CallQueued") >= 10 and types.count("Connected") >= 5
        assert "AgentLoggedOn" in types and "QueueStats" in types and "RecordingStarted" in types
        # agents sit on station timeslots with simulated phones: a finished recording has the
        # agent's own tone on its right channel
        from cti.media import wavfile
        from simulator.phones import dominant_hz
        tones = {p.hz for p in srv.part("phones").phones.values()}
        stopped = [e for e in map(unpack_event, srv.bus._ring) if e["type"] == "RecordingStopped"]
        assert stopped
        info, pcm = wavfile.read_channels(stopped[0]["path"])
        assert min(abs(dominant_hz(pcm[-4000:, 1]) - hz) for hz in tones) < 20.0
        assert srv.model.validate() == []
    finally:
        srv.close()


def test_contact_section_must_be_a_table():
    with pytest.raises(ConfigError, match=r"\[contact\]"):
        Config.from_dict({"contact": 3})
