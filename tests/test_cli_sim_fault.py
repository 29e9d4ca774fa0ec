"""`cti-sim fault` drives line alarms on a served card end to end, as a CI job would."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from cti.cli.sim import main
from drivers.base import Alarm
from drivers.wire.client import WireBoard
from simulator.config import default_config
from simulator.server import SimServer



@pytest.fixture()
def served():
    server = SimServer(default_config().build_board(clock="virtual"), port=0)
    port = server.start_in_thread()
    yield f"socket://127.0.0.1:{port}"
    server.stop()


@pytest.mark.system
def test_fault_raises_and_clears_an_alarm_seen_by_another_host(served: str) -> None:
    watcher = WireBoard(url=served, name="watcher")
    try:
        r = CliRunner().invoke(main, ["fault", "--url", served, "--span", "1", "los"])
        assert r.exit_code == 0, r.output
        assert "span 1: LOS 1" in r.output
        watcher.advance(0.2)
        assert Alarm.LOS in watcher.span(1).alarms
        assert Alarm.RAI in watcher.span(0).alarms        # the consequent action at the far end
        r = CliRunner().invoke(main, ["fault", "--url", served, "--span", "1", "clear"])
        assert r.exit_code == 0, r.output
        watcher.advance(0.5)
        assert not watcher.span(1).alarms & (Alarm.LOS | Alarm.LOF)
        r = CliRunner().invoke(main, ["fault", "--url", served, "--span", "1", "ais", "--for", "0.3"])
        assert r.exit_code == 0 and "cleared after 0.3 s" in r.output, r.output
        watcher.advance(0.5)
        assert not watcher.span(1).alarms & (Alarm.AIS | Alarm.LOF)
        c0 = watcher.span(1).counters.slips
        r = CliRunner().invoke(main, ["fault", "--url", served, "--span", "1", "slip", "-1"])
        assert r.exit_code == 0, r.output
        watcher.advance(0.2)
        assert watcher.span(1).counters.slips > c0
    finally:
        watcher.close()


def test_fault_errors_are_clear(served: str) -> None:
    r = CliRunner().invoke(main, ["fault", "--url", served, "--span", "9", "los"])
    assert r.exit_code == 1 and "span 9 out of range: the card has 4 span(s)" in r.output
    r = CliRunner().invoke(main, ["fault", "--url", served, "--span", "1", "ber", "7"])
    assert r.exit_code == 1 and "the card refused" in r.output
    r = CliRunner().invoke(main, ["fault", "--url", "socket://127.0.0.1:9", "--span", "1", "los"])
    assert r.exit_code == 1 and "cannot open" in r.output
    r = CliRunner().invoke(main, ["fault", "--url", served, "--span", "1", "flood"])
    assert r.exit_code == 2 and "hdlc-broken" in r.output
