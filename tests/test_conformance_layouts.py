"""The conformance suite and our own simulator agree in every documented layout
(docs/conformance.md "Layouts"), the suite runs against a backend by name, and its
certification artefacts (JUnit XML, JSON, strict mode) say what happened."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from cti.cli.sim import main
from simulator.config import SimConfig, default_config
from simulator.conformance import CHECKS, FAIL, PASS, SKIP, run, summary
from simulator.conformance.vectors import VectorError, load_vectors, match, parse
from simulator.server import SimServer

pytest.importorskip("_boardcore.hdlc")

#: name -> (simulator config, pairs the suite is run on, checks allowed to SKIP in that layout)
LAYOUTS: dict[str, tuple[SimConfig, list[tuple[int, int]], dict[tuple[int, int], set[str]]]] = {
    "default (CAS 0-1, CCS 2-3)": (default_config(), [(0, 1), (2, 3)],
                                   {(2, 3): {"check_cas_all_channels", "check_cas_0000_refused", "check_cas_debounce"}}),
    "CAS only, 2 spans": (SimConfig.from_dict({"spans": 2, "cross_connect": [[0, 1]]}), [(0, 1)],
                          {(0, 1): {"check_hdlc_both_ways"}}),
    "CAS with an extra HDLC timeslot": (SimConfig.from_dict({
        "spans": 2, "cross_connect": [[0, 1]],
        "span": [{"hdlc_timeslots": [5]}, {"hdlc_timeslots": [5]}]}), [(0, 1)], {}),
    "double frame (no CRC-4), CCS": (SimConfig.from_dict({
        "spans": 2, "cross_connect": [[0, 1]],
        "span": [{"framing": "df", "signalling": "ccs"}, {"framing": "df", "signalling": "ccs"}]}), [(0, 1)],
        {(0, 1): {"check_cas_all_channels", "check_cas_0000_refused", "check_cas_debounce",
                  "check_multiframe_alarms"}}),
}


@pytest.mark.system
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_our_simulator_passes_every_check_in_every_documented_layout(layout: str) -> None:
    cfg, pairs, may_skip = LAYOUTS[layout]
    server = SimServer(cfg.build_board(clock="virtual"), port=0, name="layout")
    port = server.start_in_thread()
    try:
        for pair in pairs:
            results = run(f"socket://127.0.0.1:{port}", pair, timeout=10, load_seconds=1.0)
            assert len(results) == len(CHECKS)
            failed = [(r.name, r.detail) for r in results if r.status == FAIL]
            assert not failed, f"{layout} pair {pair}: {failed}"
            skipped = {r.check for r in results if r.status == SKIP}
            assert skipped == may_skip.get(pair, set()), f"{layout} pair {pair}: skipped {skipped}"
    finally:
        server.stop()


def test_a_backend_by_name_runs_the_board_checks_and_skips_the_wire_ones() -> None:
    results = run(None, (0, 1), backend="sim", load_seconds=0.5,
                  options={"spans": 2, "cross_connect": [(0, 1)], "clock": "virtual"})
    by = {r.check: r for r in results}
    assert all(r.status != FAIL for r in results), [(r.name, r.detail) for r in results if r.status == FAIL]
    for name in ("check_audio_loopback", "check_cas_all_channels", "check_alarms_on_faults",
                 "check_line_errors", "check_full_load", "check_counters"):
        assert by[name].status == PASS, (name, by[name].detail)
    assert by["check_test_vectors"].status == SKIP and "wire-protocol" in by["check_test_vectors"].detail
    assert summary(results, strict=True)["ok"] is False      # skips fail a strict run


@pytest.mark.system
def test_reports_and_strict_mode_from_the_command_line(tmp_path) -> None:
    server = SimServer(SimConfig.from_dict({"spans": 2, "cross_connect": [[0, 1]]}).build_board(clock="virtual"),
                       port=0)
    port = server.start_in_thread()
    url = f"socket://127.0.0.1:{port}"
    try:
        args = ["conformance", "--url", url, "--check", "check_ping", "--check", "check_hdlc_both_ways",
                "--junit", str(tmp_path / "r.xml"), "--json", str(tmp_path / "r.json")]
        relaxed = CliRunner().invoke(main, args)
        strict = CliRunner().invoke(main, [*args, "--strict"])
    finally:
        server.stop()
    assert relaxed.exit_code == 0, relaxed.output
    assert strict.exit_code == 1 and "strict: skips fail" in strict.output
    suite = ET.parse(tmp_path / "r.xml").getroot()          # the strict run wrote these last
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    failure = suite.find("testcase[@name='HDLC frames both ways']/failure")
    assert failure is not None and "strict" in (failure.get("message") or "")
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["summary"] == {"passed": 1, "failed": 0, "skipped": 1, "strict": True, "ok": False}
    assert [c["status"] for c in doc["checks"]] == ["PASS", "SKIP"] and doc["card"] == url


def test_unknown_check_names_are_refused_with_the_valid_list() -> None:
    r = CliRunner().invoke(main, ["conformance", "--url", "socket://127.0.0.1:9", "--check", "check_pnig"])
    assert r.exit_code == 2
    assert "unknown check(s) 'check_pnig'" in r.output and "check_ping" in r.output
    r = CliRunner().invoke(main, ["conformance"])
    assert r.exit_code == 2 and "exactly one of --url" in r.output


def test_vector_file_parses_and_patterns_match_as_documented() -> None:
    vectors = load_vectors()
    assert len(vectors) >= 15 and all(v.send for v in vectors)
    assert match("e1 01 05 00 .. .. 00 06 20 *", bytes.fromhex("e101050000080006206162"))
    assert not match("e1 01 05 00 .. .. 00 06 20 *", bytes.fromhex("e101050000080005206162"))
    assert not match("e1 01 04 00 00 00", bytes.fromhex("e1010400000001"))
    with pytest.raises(VectorError, match="line 2"):
        parse("## x\n< zz\n")
    with pytest.raises(VectorError, match="before the first"):
        parse("> e1\n")
