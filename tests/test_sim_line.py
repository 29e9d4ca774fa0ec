"""The simulator's line beyond plain faults: multiframe alarms and their consequent
actions, a clock offset against a span's own oscillator (controlled slips, master vs
slave), and the card's CAS debounce; driven in-process, through the TOML config and by
`cti-sim fault` over the wire protocol."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.cli.sim import main
from drivers.base import Alarm, CasChanged, ConfigError
from drivers.wire.client import WireBoard
from simulator.board import SimBoard
from simulator.casrx import RECOGNITION_S, CasDebouncer
from simulator.config import SimConfig, default_config
from simulator.faults import FaultInjector, apply_wire_fault
from simulator.server import SimServer


def pair(**kw) -> SimBoard:
    b = SimBoard(spans=2, clock="virtual", cross_connect=[(0, 1)], **kw)
    b.advance(0.5)
    return b


def test_mfas_gives_lomf_and_the_far_end_gets_the_y_bit():
    b = pair()
    before = b.span(1).cas(5)
    b.faults(1).set(mfas=True)
    b.advance(0.2)
    assert Alarm.LOMF in b.span(1).alarms and Alarm.MF_RAI in b.span(0).alarms
    assert b.span(1).cas(5) == before                     # the last abcd is kept
    b.span(0).set_cas(5, 0xD)
    b.advance(0.2)
    assert b.span(1).cas(5) == before                     # nothing is read without the multiframe
    b.faults(1).clear()
    b.advance(0.3)
    assert not b.span(1).alarms & Alarm.LOMF and not b.span(0).alarms & Alarm.MF_RAI
    assert b.span(1).cas(5) == 0xD


def test_ts16_ais_gives_mf_ais_and_the_y_bit_back_and_keeps_the_last_abcd():
    b = pair()
    b.faults(1).set(ts16_ais=True)
    b.advance(0.2)
    assert Alarm.MF_AIS in b.span(1).alarms and Alarm.MF_RAI in b.span(0).alarms
    assert b.span(1).cas(3) == 0x9                        # all ones never becomes abcd 1111
    b.faults(1).clear()
    b.advance(0.3)
    assert b.span(1).alarms == Alarm.NONE and b.span(0).alarms == Alarm.NONE


def test_mrai_is_only_a_remote_alarm():
    b = pair()
    b.faults(1).set(mrai=True)
    b.advance(0.2)
    assert b.span(1).alarms == Alarm.MF_RAI and b.span(0).alarms == Alarm.NONE
    b.faults(1).clear()
    b.advance(0.2)
    assert b.span(1).alarms == Alarm.NONE


@pytest.mark.system
def test_crc4mf_gives_locrc_then_interworking_keeps_frame_alignment():
    b = pair()
    b.faults(1).set(crc4mf=True)
    b.advance(2.0)
    assert b.span(1).alarms & (Alarm.LOCRC | Alarm.LOF) == Alarm.LOCRC
    c1, e1 = b.span(1).counters.crc4_errors, b.span(0).counters.e_bits
    b.advance(0.5)
    assert b.span(1).counters.crc4_errors == c1                # G.706 Annex B: no CRC-4 checking
    assert b.span(0).counters.e_bits - e1 == 0.5 * 1000        # E bits sent as 0: 2 per 2 ms multiframe
    assert Alarm.RAI not in b.span(0).alarms
    b.faults(1).clear()
    b.advance(1.0)
    assert b.span(1).alarms == Alarm.NONE


def test_multiframe_faults_leave_a_ccs_span_alone():
    b = SimBoard(spans=2, clock="virtual", cross_connect=[(0, 1)], config={"signalling": "ccs"})
    b.advance(0.5)
    b.faults(1).set(mfas=True, mrai=True)
    b.advance(0.3)
    assert b.span(1).alarms == Alarm.NONE


@pytest.mark.system
@pytest.mark.parametrize("ppm", [50.0, -50.0, 100.0])
def test_a_free_running_span_slips_once_per_frame_of_offset(ppm: float):
    b = pair()
    c0 = b.span(1).counters.slips
    b.faults(1).set(clock_ppm=ppm)
    b.advance(10.0)
    made = b.faults(1).counts.clock_slips
    assert made == int(10.0 * 8000 * abs(ppm) * 1e-6)        # 50 ppm: every 2.5 s -> 4 in 10 s
    assert abs((b.span(1).counters.slips - c0) - made) <= 1
    assert Alarm.LOF not in b.span(1).alarms


@pytest.mark.system
def test_a_line_timed_span_follows_the_line_clock():
    cfg = SimConfig.from_dict({"spans": 2, "cross_connect": [[0, 1]], "span": [{}, {"timing": "line"}],
                               "fault": [{"span": 1, "clock_ppm": 100.0}]})
    b = cfg.build_board(clock="virtual")
    b.advance(5.0)
    assert b.card.spans[1].near.timing == "line" and b.span(1).counters.slips == 0
    with pytest.raises(ConfigError, match="timing"):
        SimConfig.from_dict({"span": [{"timing": "gps"}]})


def test_fault_values_are_checked():
    inj = FaultInjector()
    for bad in ({"clock_ppm": 5000.0}, {"clock_ppm": True}, {"mfas": 1}):
        with pytest.raises(ConfigError):
            inj.set(**bad)
    for ms in (0, -1, 2000, True):
        with pytest.raises(ConfigError):
            inj.cas_glitch(ms)
    with pytest.raises(ConfigError, match="unknown fault id 99"):
        apply_wire_fault(inj, 99, 1.0)


def test_cas_changes_from_the_host_cross_debounced_with_the_time_first_received():
    b = pair()
    b.poll_events()
    t0 = b.now()
    b.span(0).set_cas(7, 0x1)
    b.advance(0.1)
    evs = [e for e in b.poll_events() if isinstance(e, CasChanged) and e.span == 1]
    assert [(e.timeslot, e.abcd) for e in evs] == [(7, 0x1)]
    assert t0 <= evs[0].time <= t0 + 0.004                 # TS7 is sampled in frame 7 of a 2 ms multiframe


def _ts16(samples: list[int], frames: int) -> np.ndarray:
    """TS16 of ``frames`` frames where channel 1 carries samples[k] in multiframe k."""
    out = np.full(frames, 0x99, dtype=np.uint8)
    out[::16] = 0x0B
    for k, v in enumerate(samples):
        if 16 * k + 1 < frames:
            out[16 * k + 1] = (v << 4) | 0x9
    return out


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(0, 60))
def test_the_debouncer_reports_a_change_iff_it_lasts_the_recognition_time(mfs: int, start: int):
    d = CasDebouncer()
    d.feed(_ts16([9] * 80, 1280), 1.0)                     # idle, recognised
    samples = [9] * start + [1] * mfs + [9] * 80
    got = d.feed(_ts16(samples, 16 * len(samples)), 2.0)
    ch1 = [(v, t) for c, v, t in got if c == 1]
    lasted = mfs * 0.002                                    # one sample per 2 ms multiframe
    if lasted - 0.002 >= RECOGNITION_S - 1e-9:
        assert [v for v, _ in ch1] == [1, 9]
        assert ch1[1][1] - ch1[0][1] == pytest.approx(lasted)
    else:
        assert ch1 == [] and d.glitches >= 1


@pytest.mark.system
def test_cti_sim_fault_drives_the_multiframe_alarms_end_to_end():
    server = SimServer(default_config().build_board(clock="virtual"), port=0)
    port = server.start_in_thread()
    url = f"socket://127.0.0.1:{port}"
    watcher = WireBoard(url=url, name="watcher")
    try:
        for fault, here, there in (("mfas", Alarm.LOMF, Alarm.MF_RAI), ("mrai", Alarm.MF_RAI, Alarm.NONE)):
            r = CliRunner().invoke(main, ["fault", "--url", url, "--span", "1", fault])
            assert r.exit_code == 0, r.output
            watcher.advance(0.2)
            assert here in watcher.span(1).alarms and watcher.span(0).alarms == there, fault
            CliRunner().invoke(main, ["fault", "--url", url, "--span", "1", "clear"])
            watcher.advance(0.3)
            assert watcher.span(1).alarms == Alarm.NONE
        r = CliRunner().invoke(main, ["fault", "--url", url, "--span", "1", "crc4mf", "--for", "2"])
        assert r.exit_code == 0 and "LOCRC" not in r.output, r.output   # not yet: G.706 needs 1 s of errors
        r = CliRunner().invoke(main, ["fault", "--url", url, "--span", "1", "clock", "100"])
        assert r.exit_code == 0, r.output
        c0 = watcher.span(1).counters.slips
        watcher.advance(5.0)
        assert watcher.span(1).counters.slips - c0 in (3, 4, 5)
        r = CliRunner().invoke(main, ["fault", "--url", url, "--span", "1", "clock", "5000"])
        assert r.exit_code == 1 and "clock_ppm" in r.output, r.output
    finally:
        watcher.close()
        server.stop()


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 255), st.floats(allow_nan=True, allow_infinity=True))
def test_any_fault_message_is_applied_or_refused_with_a_config_error(fault: int, value: float):
    inj = FaultInjector(seed=1)
    try:
        apply_wire_fault(inj, fault, value)
    except ConfigError:
        pass
    line = np.random.default_rng(fault).integers(0, 256, size=160 * 32, dtype=np.uint8)
    inj.clock_slip(160, free_running=True)
    out = inj.apply(line, (16,), cas=True)
    assert out.dtype == np.uint8 and len(out) % 32 == 0
