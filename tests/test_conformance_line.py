"""The line checks of the conformance suite (timing, clock slips, multiframe alarms, CAS
debounce) pass on our simulator and FAIL on a card that gets each of them wrong: a check
that cannot fail proves nothing."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from cti.cli.sim import main

from simulator import e1wire
from simulator.casrx import CasDebouncer
from simulator.config import SimConfig
from simulator.conformance import FAIL, PASS, run
from simulator.conformance.linechecks import slip_interval
from simulator.faults import FaultInjector
from simulator.server import SimServer

pytest.importorskip("_boardcore.hdlc")


LINE_CHECKS = ["check_multiframe_alarms", "check_cas_debounce", "check_pacing", "check_clock_slips"]
SIM = {"spans": 2, "cross_connect": [(0, 1)], "clock": "virtual"}


def results(**kw):
    return {r.check: r for r in run(None, (0, 1), backend="sim", options=dict(SIM), only=LINE_CHECKS, **kw)}


def test_the_slip_interval_is_one_frame_per_offset():
    # 8000 frames/s: a clock 50 ppm off gains a whole frame every 1 / (8000 * 50e-6) = 2.5 s
    assert slip_interval(50) == pytest.approx(2.5)
    assert slip_interval(100) == pytest.approx(1.25)
    # two G.811 clocks 1e-11 apart each way: one slip in about 72 days
    assert slip_interval(2e-5) / 86400 == pytest.approx(72.3, abs=0.1)


@pytest.mark.system
def test_our_simulator_passes_the_line_checks_and_reports_measured_drift():
    by = results()
    assert all(r.status == PASS for r in by.values()), {k: r.detail for k, r in by.items()}
    assert "measured drift 100.8 ppm" in by["check_clock_slips"].detail
    assert by["check_clock_slips"].measured == {"offset_ppm": 100.0, "seconds": 5.0, "slips": 4,
                                                "timing": "internal", "drift_ppm": 100.8}
    assert by["check_pacing"].measured["blocks"] >= 98 and by["check_cas_debounce"].measured["channels"] == 30
    assert "master" in by["check_clock_slips"].detail


@pytest.mark.system
def test_a_line_timed_span_never_slips_and_the_expected_timing_is_enforced():
    server = SimServer(SimConfig.from_dict({"spans": 2, "cross_connect": [[0, 1]],
                                            "span": [{"timing": "line"}, {"timing": "line"}]})
                       .build_board(clock="virtual"), port=0)
    port = server.start_in_thread()
    try:
        url = f"socket://127.0.0.1:{port}"
        ok = run(url, (0, 1), only=["check_clock_slips"], expect_timing="line")[0]
        wrong = run(url, (0, 1), only=["check_clock_slips"], expect_timing="internal")[0]
    finally:
        server.stop()
    assert ok.status == PASS and "slave" in ok.detail, ok.detail
    assert wrong.status == FAIL and "line-timed" in wrong.detail, wrong.detail


@pytest.mark.system
def test_a_card_without_debounce_fails(monkeypatch):
    orig = CasDebouncer.__init__

    def no_debounce(self, recognition=0.0):
        orig(self, 0.0)
    monkeypatch.setattr(CasDebouncer, "__init__", no_debounce)
    r = results()["check_cas_debounce"]
    assert r.status == FAIL and "6 ms CAS hit was reported" in r.detail, r.detail


@pytest.mark.system
def test_a_card_whose_slips_do_not_follow_its_clock_fails(monkeypatch):
    real = FaultInjector.clock_slip

    def twice(self, frames, free_running):
        real(self, 2 * frames, free_running)
    monkeypatch.setattr(FaultInjector, "clock_slip", twice)
    r = results()["check_clock_slips"]
    assert r.status == FAIL and "measured drift" in r.detail, r.detail


@pytest.mark.system
def test_a_card_that_does_not_answer_lomf_with_the_y_bit_fails(monkeypatch):
    monkeypatch.setattr(e1wire, "_MF_RAI_CAUSES", e1wire.Alarm.NONE)
    r = results()["check_multiframe_alarms"]
    assert r.status == FAIL and "no MF_RAI (G.732 5.2)" in r.detail, r.detail


@pytest.mark.system
def test_a_real_time_card_keeps_pace_with_the_host():
    server = SimServer(SimConfig.from_dict({"spans": 2, "cross_connect": [[0, 1]]}).build_board(clock="real"),
                       port=0)
    port = server.start_in_thread()
    try:
        r = run(f"socket://127.0.0.1:{port}", (0, 1), only=["check_pacing"])[0]
    finally:
        server.stop()
    skipped = getattr(server.board.clock, "skipped_blocks", 0)
    if r.status == FAIL and skipped:
        # the check was right: this card (our simulator on an overloaded host) lost time
        pytest.skip(f"the simulator fell {skipped} blocks behind real time on this host: {r.detail}")
    assert r.status == PASS and "ppm vs the host" in r.detail, r.detail


def test_clock_drift_reads_the_lower_envelope_of_late_bursty_arrivals():
    import random

    from simulator.conformance.linechecks import clock_drift

    rng = random.Random(7)
    stamps, host = [], 100.0
    for i in range(250):                       # a card 500 ppm fast, delivered late in bursts of 5
        card = i * 0.02
        lag = rng.uniform(0.0, 0.03) + (0.02 * (4 - i % 5) if i % 5 else 0.0)
        stamps.append((card, host + card / (1 + 500e-6) + (lag if rng.random() > 0.1 else 0.0)))
    ppm, spread = clock_drift(stamps)
    assert ppm == pytest.approx(500, abs=60) and spread > 4.9
    assert clock_drift(stamps[:4]) == (0.0, 0.0)


# ---- the older checks can fail too: several hosts, overflow, the line errors

def served_run(check: str) -> object:
    server = SimServer(SimConfig.from_dict({"spans": 2, "cross_connect": [[0, 1]]}).build_board(clock="virtual"),
                       port=0)
    port = server.start_in_thread()
    try:
        return run(f"socket://127.0.0.1:{port}", (0, 1), timeout=3, only=[check])[0]
    finally:
        server.stop()


@pytest.mark.system
def test_several_hosts_passes_and_fails_on_a_card_that_tells_only_one(monkeypatch):
    ok = served_run("check_several_hosts")
    assert ok.status == PASS and "4 hosts" in ok.detail, ok.detail

    def first_only(self, msg):
        from drivers.wire import protocol as P
        for s in sorted(self.sessions, key=id)[:1]:
            if s.hello:
                s.transport.write(P.encode(msg))
    monkeypatch.setattr(SimServer, "_broadcast", first_only)
    bad = served_run("check_several_hosts")
    assert bad.status == FAIL, bad.detail


@pytest.mark.system
def test_overflow_fails_on_a_card_that_never_refuses(monkeypatch):
    monkeypatch.setattr(e1wire, "TX_QUEUE_OCTETS", 400 * 8000)
    bad = served_run("check_overflow")
    assert bad.status == FAIL and "OVERFLOW" in bad.detail, bad.detail


@pytest.mark.system
def test_line_errors_fail_on_a_card_that_counts_no_bit_errors(monkeypatch):
    real = FaultInjector.apply

    def no_ber(self, line, hdlc_timeslots=(), cas=False):
        ber, self.settings.ber = self.settings.ber, 0.0
        try:
            return real(self, line, hdlc_timeslots, cas)
        finally:
            self.settings.ber = ber
    monkeypatch.setattr(FaultInjector, "apply", no_ber)
    r = run(None, (0, 1), backend="sim", options=dict(SIM), only=["check_line_errors"])[0]
    assert r.status == FAIL and "BER 1e-3" in r.detail, r.detail


@pytest.mark.system
def test_full_load_on_four_spans_at_once_from_the_command_line(tmp_path):
    server = SimServer(SimConfig.from_dict({"spans": 4, "cross_connect": [[0, 1], [2, 3]]})
                       .build_board(clock="virtual"), port=0)
    port = server.start_in_thread()
    try:
        out = CliRunner().invoke(main, ["conformance", "--url", f"socket://127.0.0.1:{port}", "--check",
                                        "check_full_load", "--load-pair", "2,3", "--load-seconds", "3",
                                        "--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "r.xml")])
        bad = CliRunner().invoke(main, ["conformance", "--url", f"socket://127.0.0.1:{port}", "--load-pair", "x"])
    finally:
        server.stop()
    detail = json.loads((tmp_path / "r.json").read_text())["checks"][0]["detail"]
    assert out.exit_code == 0 and detail.startswith("4 spans full duplex: 120 timeslots x 3 s"), detail
    assert json.loads((tmp_path / "r.json").read_text())["checks"][0]["measured"]["spans"] == 4
    props = {p.get("name"): p.get("value") for p in ET.parse(tmp_path / "r.xml").getroot().iter("property")}
    assert props["spans"] == "4" and props["timeslots"] == "120"
    assert bad.exit_code == 2 and "--load-pair" in bad.output


@pytest.mark.system
def test_full_load_keeps_within_a_two_second_card_queue_and_catches_corruption(monkeypatch):
    monkeypatch.setattr(e1wire, "TX_QUEUE_OCTETS", 2 * 8000)      # the least a card may queue
    ok = run(None, (0, 1), backend="sim", options=dict(SIM), only=["check_full_load"], load_seconds=6)[0]
    assert ok.status == PASS, ok.detail
    real = e1wire.Endpoint.transmit_block

    def flip(self):
        line = real(self)
        if self.number == 0 and self.framer.frames > 8000 * 3:       # one octet of TS5, 3 s in
            line[5] ^= 0x01
        return line
    monkeypatch.setattr(e1wire.Endpoint, "transmit_block", flip)
    bad = run(None, (0, 1), backend="sim", options=dict(SIM), only=["check_full_load"], load_seconds=6)[0]
    assert bad.status == FAIL and "pattern lost or corrupted on TS [5]" in bad.detail, bad.detail
