"""Deterministic runs and scenario expectations (issue 19 §1): cti-server --clock virtual
--until, the run summary, exit status on errors, lost calls and unmet expectations."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cti.cli.server import main
from simulator.scenario import ScenarioConfig

ANY = "tcp://127.0.0.1:*"
SCRIPTED = """
[scenario]
rate = 0.0
outbound_rate = 0.0
[[scenario.call]]
at = 3.0
called = "8001"
calling = "13800138000"
hold_for = 4.0
expect = "answered"
[[scenario.call]]
at = 4.0
called = "8002"
calling = "13900001111"
abandon_after = 0.5
expect = "abandoned"
[scenario.expect]
calls = [1, 2]
answered = 1
lost = 0
errors = 0
"""


def _run(tmp_path, name, *args):
    out = tmp_path / name
    out.mkdir()
    res = CliRunner().invoke(main, ["--clock", "virtual", "--store", str(out / "cti.db"), "--events", ANY,
                                    "--snapshot", ANY, "--control", ANY, "--trace", str(out / "trace.jsonl"),
                                    "--summary-json", str(out / "summary.json"), *args])
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else None
    trace = (out / "trace.jsonl").read_text() if (out / "trace.jsonl").exists() else ""
    return res, summary, trace


@pytest.mark.system
def test_two_runs_of_the_demo_give_the_same_event_trace_and_summary(tmp_path):
    r1, s1, t1 = _run(tmp_path, "a", "--until", "60")
    r2, s2, t2 = _run(tmp_path, "b", "--until", "60")
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    assert s1["counts"]["calls"] >= 10 and s1["counts"]["answered"] >= 5    # the demo really ran
    assert t1 == t2 and len(t1.splitlines()) == s1["counts"]["events"]
    assert s1 == s2
    assert "result: OK" in r1.output and "calls: " in r1.output and "events: " in r1.output
    assert s1["ended_at"] == 60.0


@pytest.mark.system
def test_scripted_scenario_ends_when_its_calls_are_done_and_meets_expectations(tmp_path):
    sc = tmp_path / "sc.toml"
    sc.write_text(SCRIPTED)
    res, summary, _ = _run(tmp_path, "a", "--scenario", str(sc), "--until", "600")
    assert res.exit_code == 0, res.output
    assert summary["ended_at"] < 30                 # not 600: every scripted call has ended
    assert summary["counts"]["answered"] == 1 and summary["unmet"] == []


@pytest.mark.system
def test_unmet_expectations_fail_the_run_and_say_which(tmp_path):
    sc = tmp_path / "sc.toml"
    sc.write_text(SCRIPTED.replace('expect = "abandoned"', 'expect = "busy"').replace("answered = 1", "answered = 2"))
    res, summary, _ = _run(tmp_path, "a", "--scenario", str(sc), "--until", "600")
    assert res.exit_code == 1
    assert "unmet: expected answered 2, got 1" in res.output
    assert "unmet: call 1 (13900001111 -> 8002 at 4 s): expected busy, got abandoned" in res.output
    assert "result: FAILED" in res.output and len(summary["unmet"]) == 2


@pytest.mark.system
def test_calls_the_network_could_not_place_are_lost_and_fail_the_run(tmp_path):
    sc = tmp_path / "sc.toml"          # 31 callers at once on each 30-circuit span: one too many each
    sc.write_text("[scenario]\nrate = 0.0\noutbound_rate = 0.0\n" + "".join(
        f'[[scenario.call]]\nat = 3.0\ncalled = "8001"\ncalling = "{1000 + i}"\nhold_for = 5.0\n' for i in range(93)))
    res, summary, _ = _run(tmp_path, "a", "--scenario", str(sc), "--until", "600")
    assert res.exit_code == 1
    assert summary["counts"]["lost"] == 3 and summary["counts"]["answered"] == 90
    assert sorted(x.split(" -> ")[0] for x in summary["lost"]) == ["1090", "1091", "1092"]
    assert "lost: 1090 -> 8001 at 3 s: no idle circuit" in res.output


def test_an_error_in_the_loop_is_counted_and_fails_the_run(tmp_path):
    from cti.cli.run import RunReport, failed
    from cti.cli.server import _run_virtual
    from cti.cli.wiring import build_server
    from cti.config import Config
    from cti.plugin import Component

    class Boom(Component):
        name = "boom"

        def deadline(self):
            return 5.0

        def service(self, now):
            raise RuntimeError("a component broke")

    report = RunReport(until=6.0)
    cfg = Config.from_dict({"server": {"store": str(tmp_path / "cti.db")},
                            "bus": {"events": ANY, "snapshot": ANY, "control": ANY},
                            "board": {"driver": "sim", "spans": 1, "clock": "virtual"},
                            "trunk": [{"signalling": "no1", "spans": [0]}]})
    srv = build_server(cfg, extra=[report, Boom()]).start()   # the report is serviced first
    try:
        _run_virtual(srv, report)
    finally:
        srv.close()
    s = report.summary()
    assert s["counts"]["errors"] >= 1 and "loop turn failed" in s["errors"][0] and failed(s)


@pytest.mark.parametrize("bad, msg", [
    ({"expect": {"answred": 1}}, "unknown key 'answred'"),
    ({"expect": {"answered": -1}}, "a count >= 0"),
    ({"expect": {"answered": [3, 1]}}, "a count >= 0 or \\[low, high\\]"),
    ({"call": [{"at": 1.0, "called": "1", "expect": "maybe"}]}, "expect must be one of answered"),
    ({"call": [{"at": 1.0, "called": "1", "colour": "red"}]}, "scenario call 0"),
])
def test_bad_expectations_are_refused_by_name(bad, msg):
    with pytest.raises(ValueError, match=msg):
        ScenarioConfig.from_dict({"scenario": bad})


def test_until_without_virtual_clock_options_are_checked():
    res = CliRunner().invoke(main, ["--trace", "x.jsonl"])
    assert res.exit_code == 2 and "--trace and --summary-json go with --until" in res.output
