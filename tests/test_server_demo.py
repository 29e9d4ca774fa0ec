"""The no-argument experience: the demo scenario on the simulator produces live calls both ways."""
from __future__ import annotations


import pytest

from cti.config import Config
from cti.cli.wiring import build_server
from simulator.scenario import LoopbackNetwork, Scenario, ScenarioConfig

ANY = "tcp://127.0.0.1:*"


def _events(srv):
    from cti.bus.codec import unpack_event
    return [unpack_event(packed) for packed in srv.bus._ring]


def _types(srv):
    return [d["type"] for d in _events(srv)]


@pytest.mark.system
def test_demo_on_simulated_no1_and_ss7_exchanges_in_virtual_time(tmp_path):
    cfg = Config.from_dict({"server": {"store": str(tmp_path / "d.db")},
                            "bus": {"events": ANY, "snapshot": ANY, "control": ANY},
                            "board": {"driver": "sim", "spans": 2, "clock": "virtual", "step": 0.5},
                            "trunk": [{"signalling": "no1", "spans": [0]}, {"signalling": "ss7", "spans": [1]}],
                            "demo": {"enabled": True, "seed": 3}})
    srv = build_server(cfg).start()
    srv.part("demo").scenario.config.outbound_rate = 0.2
    for _ in range(120):                       # 60 s of virtual time
        srv.step(0)
    types = _types(srv)
    assert types.count("Offered") >= 10 and types.count("Originated") >= 3
    assert types.count("Established") >= 10 and types.count("CallCleared") >= 8
    assert srv.part("demo").scenario.answered >= 5 and srv.model.validate() == []
    cdrs = srv.store.cdrs(1000)
    assert {c["direction"] for c in cdrs} == {"in", "out"}
    assert {c["signalling"] for c in cdrs} == {"no1", "ss7"}
    assert any(c["outcome"] == "answered" for c in cdrs)
    srv.close()


def test_scenario_config_validation_and_loopback_network():
    with pytest.raises(ValueError):
        ScenarioConfig.from_dict({"scenario": {"rate": -1}})
    with pytest.raises(ValueError):
        ScenarioConfig.from_dict({"scenario": {"hold": [5, 1]}})
    with pytest.raises(ValueError):
        ScenarioConfig.from_dict({"scenario": {"colour": "red"}})
    cfg = ScenarioConfig.from_dict({"scenario": {"rate": 2.0, "abandon": 1.0, "abandon_after": [1, 1],
                                                 "call": [{"at": 0.5, "called": "8009", "calling": "1"}]}})
    from cti.call import CallModel
    from cti.call.loopback import LoopbackTrunk
    trunk = LoopbackTrunk([0], [1, 2, 3, 4, 5, 6])
    net = LoopbackNetwork(trunk)
    model = CallModel([trunk], auto_alert=True)
    sc = Scenario(cfg, [net], None)             # nobody answers: every caller abandons
    cleared, called = 0, set()
    t = 0.0
    while t < 10:
        sc.tick(t)
        net.service(t)
        model.service(t)
        for e in model.take_events():
            cleared += type(e).__name__ == "CallCleared"
            called.add(e.called)
        t += 0.1
    assert sc.placed >= 10 and cleared >= 10 and model.validate() == []
    assert "8009" in called                      # the explicitly scripted call was placed too


def test_board_without_tickers_is_serviced_every_loop_turn():
    from cti.call.loopback import LoopbackTrunk
    from drivers.base import AlarmChanged, Alarm, Board

    class Plain(Board):
        backend = "plain"
        t = 0.0
        events: list = []

        @property
        def spans(self):
            return ()

        def now(self):
            return self.t

        def poll_events(self):
            out, self.events = self.events, []
            return out

        def close(self):
            pass

    board = Plain()
    trunk = LoopbackTrunk([0], [1, 2])
    cfg = Config.from_dict({"server": {"store": ":memory:"},
                            "bus": {"events": ANY, "snapshot": ANY, "control": ANY}})
    srv = build_server(cfg, board=board, adapters=[trunk]).start()
    trunk.ring("8001", "1", 0.0)
    board.events = [AlarmChanged(0, Alarm.LOS | Alarm.RAI, 0.0)]
    srv.step(0)
    types = _types(srv)
    assert "Delivered" in types
    span = [d for d in _events(srv) if d["type"] == "SpanState" and d["alarms"]]
    assert span and span[0]["alarms"] == ["LOS", "RAI"] and span[0]["topic"] == "span.0"
    srv.close()
