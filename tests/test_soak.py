"""cti-sim conformance --soak: the pair under load for a duration, then a report (JUnit,
JSON, a human summary); a short run is CI's mode, a broken card fails it."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from cti.cli.sim import main
from simulator.config import SimConfig, default_config
from simulator.conformance import run_soak
from simulator.conformance.soak import SoakReport, parse_duration, percentiles
from simulator.server import SimServer

pytest.importorskip("_boardcore.hdlc")

SIM = {"spans": 2, "cross_connect": [(0, 1)], "clock": "virtual"}


def test_durations_and_percentiles():
    assert parse_duration("90") == 90 and parse_duration("15m") == 900 and parse_duration("2h") == 7200
    for bad in ("", "soon", "0s", "-5", "8d"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    p = percentiles([float(x) for x in range(1, 101)])
    assert (p["p50"], p["p95"], p["p99"], p["max"]) == (50, 95, 99, 100)
    assert percentiles([3.0])["p99"] == 3.0


@pytest.mark.system
def test_a_short_soak_from_the_command_line_writes_every_report(tmp_path):
    server = SimServer(default_config().build_board(clock="virtual"), port=0)
    port = server.start_in_thread()
    try:
        out = CliRunner().invoke(main, ["conformance", "--url", f"socket://127.0.0.1:{port}", "--soak", "6s",
                                        "--junit", str(tmp_path / "s.xml"), "--json", str(tmp_path / "s.json")])
        ccs = CliRunner().invoke(main, ["conformance", "--url", f"socket://127.0.0.1:{port}", "--pair", "2,3",
                                        "--soak", "3s", "--json", str(tmp_path / "c.json")])
    finally:
        server.stop()
    assert out.exit_code == 0, out.output
    assert "result: PASS" in out.output and "latency: CAS p50" in out.output
    doc = json.loads((tmp_path / "s.json").read_text())
    soak = doc["soak"]
    assert soak["ok"] and soak["calls"] >= 10 and soak["calls_failed"] == 0 and soak["slips"] == 0
    assert soak["seconds"] >= 6 and soak["audio_timeslot_seconds"] >= 60 and "rss_growth_kib" in soak
    assert set(soak["latency_ms"]["CAS"]) == {"p50", "p95", "p99", "max", "n"}
    assert soak["latency_ms"]["CAS"]["max"] <= 50           # docs/wire-protocol.md: CAS crosses within 50 ms
    suite = ET.parse(tmp_path / "s.xml").getroot()
    assert suite.get("failures") == "0" and int(suite.get("tests")) == 5
    assert ccs.exit_code == 0, ccs.output
    hdlc = json.loads((tmp_path / "c.json").read_text())["soak"]
    assert hdlc["hdlc_frames"] >= 20 and hdlc["hdlc_lost"] == 0 and hdlc["calls"] == 0


@pytest.mark.system
def test_a_soak_catches_a_line_that_slips_and_corrupts():
    server = SimServer(SimConfig.from_dict({"spans": 2, "cross_connect": [[0, 1]],
                                            "fault": [{"span": 1, "clock_ppm": 400.0}]}).build_board(clock="virtual"),
                       port=0)
    port = server.start_in_thread()
    try:
        results, rep = run_soak(f"socket://127.0.0.1:{port}", (0, 1), 5.0)
    finally:
        server.stop()
    assert isinstance(rep, SoakReport) and not rep.ok
    assert rep.slips >= 5 and rep.audio_errors >= 1 and rep.errors
    by = {r.name: r.status for r in results}
    assert by["soak: line counters"] == "FAIL" and by["soak: audio"] == "FAIL"
    assert "FAIL" in rep.summary()


@pytest.mark.system
def test_a_card_that_cannot_be_opened_fails_the_soak_at_hello():
    results, rep = run_soak("socket://127.0.0.1:9", (0, 1), 1.0, timeout=1.0)
    assert rep is None and results[0].status == "FAIL" and "cannot open" in results[0].detail


@pytest.mark.system
def test_expect_timing_reaches_the_clock_check(tmp_path):
    args = ["conformance", "--board", "sim", "--option", "spans=2", "--option", "cross_connect=[[0,1]]",
            "--option", 'clock="virtual"', "--check", "check_clock_slips", "--json", str(tmp_path / "t.json")]
    wrong = CliRunner().invoke(main, [*args, "--expect-timing", "line"])
    detail = json.loads((tmp_path / "t.json").read_text())["checks"][0]["detail"]
    right = CliRunner().invoke(main, [*args, "--expect-timing", "internal"])
    assert wrong.exit_code == 1 and "expected line timing" in detail, detail
    assert right.exit_code == 0, right.output
