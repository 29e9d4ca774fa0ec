"""Readiness (issue 19 §1): ServerReady once every span is usable, MakeCall refused before,
a readiness snapshot section, and a start-up timeout that stops the server."""
from __future__ import annotations

import pytest


from cti.bus.auth import PLAIN_ACCOUNT
from cti.bus.client import BusClient
from cti.call.errors import ResourceBusyError
from cti.cli.wiring import build_server
from cti.config import Config
from cti.readiness import Readiness, adapter_ready
from cti.server import BackgroundServer

ANY = "tcp://127.0.0.1:*"


def _config(tmp_path, **server):
    return Config.from_dict({
        "server": {"store": str(tmp_path / "cti.db"), **server},
        "bus": {"events": ANY, "snapshot": ANY, "control": ANY},
        "board": {"driver": "sim", "spans": 3, "clock": "virtual", "step": 0.1},
        "trunk": [{"signalling": "no1", "spans": [0]}, {"signalling": "ss7", "spans": [1]},
                  {"signalling": "pri", "spans": [2], "config": {"side": "user"}}]})


@pytest.mark.system
def test_make_call_refused_until_ready_then_server_ready_published(tmp_path):
    srv = build_server(_config(tmp_path)).start()
    ready = srv.part("readiness")
    assert isinstance(ready, Readiness) and not ready.ready
    assert "span 1 (ss7" in ready.waiting_for() and "span 2 (pri" in ready.waiting_for()
    reply = srv.bus.handle_command(PLAIN_ACCOUNT, {"type": "MakeCall", "device": "9000", "called": "6601", "id": 1})
    assert reply["error"]["code"] == ResourceBusyError.code and "not ready" in reply["error"]["message"]
    assert "ss7" in reply["error"]["message"]
    assert srv.model.calls == {}                          # refused at once, nothing half-placed
    for _ in range(3000):
        if ready.ready:
            break
        srv.step(0)
    assert ready.ready and all(adapter_ready(a) for a in srv.adapters)
    assert 0 < ready.waited < 60
    with BackgroundServer(srv), BusClient(srv.bus.endpoints, timeout=10) as c:
        evs = [e for e in c.subscribe(after=0).events(2.0)]
        got = [e for e in evs if e["type"] == "ServerReady"]
        assert len(got) == 1 and got[0]["spans"] == [0, 1, 2] and got[0]["topic"] == "server.ready"
        assert got[0]["seq"] > next(e["seq"] for e in evs if e["type"] == "ServerStarted")
        snap = c.snapshot()
        assert snap["readiness"][0]["ready"] is True
        assert [s["ready"] for s in snap["readiness"][0]["spans"]] == [True, True, True]
        out = c.make_call("9000", "6601")                 # carried now
        assert out["call"]


def test_startup_timeout_stops_the_server_and_says_why(tmp_path):
    cfg = _config(tmp_path, ready_timeout=0.5)            # SS7 cannot align in half a second
    srv = build_server(cfg).start()
    ready = srv.part("readiness")
    srv.run(duration=20.0)                                # returns once readiness stops it
    srv.close()
    assert not ready.ready and ready.failed and "not ready after 0.5 s" in ready.failed
    assert "ss7" in ready.failed


def test_loopback_trunks_are_ready_at_start(tmp_path):
    cfg = Config.from_dict({"server": {"store": str(tmp_path / "cti.db")},
                            "bus": {"events": ANY, "snapshot": ANY, "control": ANY},
                            "board": {"driver": "loopback"}, "trunk": [{"signalling": "loop", "spans": [0]}]})
    srv = build_server(cfg).start()
    try:
        assert srv.part("readiness").ready and srv.part("readiness").waited == 0.0
    finally:
        srv.close()


def test_cti_server_exits_3_when_spans_never_come_up(tmp_path):
    from click.testing import CliRunner

    from cti.cli.server import main
    args = ["--clock", "virtual", "--ready-timeout", "0.3", "--store", str(tmp_path / "cti.db"),
            "--events", ANY, "--snapshot", ANY, "--control", ANY, "--duration", "30"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 3, res.output
    assert "start-up failed: not ready after 0.3 s" in res.output and "ss7" in res.output
