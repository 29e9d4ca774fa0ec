"""Fault injector and clocks on their own (the alarms they cause are in test_simulator_card.py)."""
from __future__ import annotations

import numpy as np
import pytest

from drivers.base import ConfigError
from simulator.clock import RealClock, VirtualClock, make_clock
from simulator.faults import FaultInjector, FaultSettings


def block(seed=1):
    return np.random.default_rng(seed).integers(0, 256, size=160 * 32, dtype=np.uint8)


def test_clean_line_passes_untouched():
    f = FaultInjector()
    b = block()
    assert np.array_equal(f.apply(b.copy()), b)


def test_los_and_ais_replace_the_signal():
    f = FaultInjector(settings=FaultSettings(los=True))
    assert not f.apply(block()).any()
    f.set(los=False, ais=True)
    assert (f.apply(block()) == 0xFF).all()
    f.clear()
    assert not f.active


def test_lof_inverts_ts0_only():
    f = FaultInjector()
    f.lof = True
    b = block()
    out = f.apply(b.copy()).reshape(-1, 32)
    assert np.array_equal(out[:, 0], b.reshape(-1, 32)[:, 0] ^ 0xFF)
    assert np.array_equal(out[:, 1:], b.reshape(-1, 32)[:, 1:])


def test_bit_errors_follow_the_rate_and_the_seed():
    a, b = FaultInjector(seed=7), FaultInjector(seed=7)
    a.set_bit_error_rate(1e-3)
    b.set_bit_error_rate(1e-3)
    x = block()
    ya, yb = a.apply(x.copy()), b.apply(x.copy())
    assert np.array_equal(ya, yb)
    flipped = int(np.unpackbits(ya ^ x).sum())
    assert flipped == a.counts.bit_errors or flipped < a.counts.bit_errors  # a bit may flip twice
    total = 0
    for _ in range(50):
        total += int(np.unpackbits(a.apply(x.copy()) ^ x).sum())
    expected = 51 * 160 * 32 * 8 * 1e-3
    assert 0.8 * expected < total + flipped < 1.2 * expected


def test_crc_errors_touch_one_payload_bit_per_submultiframe():
    f = FaultInjector(seed=3)
    f.set_crc_error_rate(500)  # 10 per 20 ms block
    x = block()
    diff = (f.apply(x.copy()) ^ x).reshape(-1, 8, 32)
    assert f.counts.crc_errors == 10
    per_smf = np.unpackbits(diff, axis=2).reshape(diff.shape[0], -1).sum(axis=1)
    assert sorted(set(per_smf.tolist())) == [0, 1]
    assert not diff[:, :, 0].any()          # TS0 (FAS) never touched


def test_controlled_slips_delete_or_repeat_a_frame():
    f = FaultInjector()
    x = block()
    f.slip(-1)
    assert len(f.apply(x.copy())) == len(x) - 32
    f.slip(+1)
    y = f.apply(x.copy())
    assert len(y) == len(x) + 32 and np.array_equal(y[-64:-32], y[-32:])
    assert f.counts.slips == 2
    with pytest.raises(ConfigError):
        f.slip(2)


def test_periodic_slips():
    f = FaultInjector(settings=FaultSettings(slip_interval=0.1))
    lengths = [len(f.apply(block())) for _ in range(10)]
    assert f.counts.slips == 2 and sum(lengths) == 10 * 5120 - 32 + 32


def test_bit_slip_delays_the_stream_continuously():
    f = FaultInjector()
    x1, x2 = block(1), block(2)
    f.apply(x1.copy())
    f.bit_slip(3)
    y = f.apply(x2.copy())
    bits_in = np.unpackbits(np.concatenate([x1, x2]))
    bits_out = np.unpackbits(y)
    assert np.array_equal(bits_out, bits_in[len(bits_in) // 2 - 3:-3])


def test_hdlc_broken_corrupts_only_the_link_timeslots():
    f = FaultInjector(settings=FaultSettings(hdlc_broken=True))
    x = block()
    diff = (f.apply(x.copy(), hdlc_timeslots=(16,)) ^ x).reshape(-1, 32)
    assert diff[:, 16].all() and not np.delete(diff, 16, axis=1).any()


@pytest.mark.parametrize("bad", [{"ber": 2}, {"ber": -1}, {"los": "yes"}, {"crc_errors": True},
                                 {"slip_interval": 0.001}, {"nonsense": 1}])
def test_bad_settings_are_config_errors(bad):
    with pytest.raises(ConfigError):
        FaultSettings.from_dict(bad)
    with pytest.raises(ConfigError):
        FaultInjector().set(**bad)


def test_virtual_clock_steps_cards_and_tickers_in_blocks():
    clock = VirtualClock()
    seen = []

    class Card:
        def step(self, now):
            seen.append(("card", now))

    clock.attach(Card())
    clock.add_ticker(lambda now: seen.append(("tick", now)))
    assert clock.advance(0.05) == 2          # 10 ms carried over
    assert clock.advance(0.01) == 1
    assert [k for k, _ in seen] == ["card", "tick"] * 3
    assert clock.now() == pytest.approx(0.06)
    with pytest.raises(ConfigError):
        clock.advance(-1)


def test_real_clock_runs_due_blocks_and_skips_a_stall():
    t = [100.0]
    clock = RealClock(monotonic=lambda: t[0])
    assert clock.pump() == 0
    t[0] += 0.1
    assert clock.pump() == 5
    t[0] += 60
    assert clock.pump() == RealClock.MAX_CATCH_UP and clock.skipped_blocks > 0
    with pytest.raises(ConfigError):
        clock.advance(1)
    assert make_clock(clock) is clock
    with pytest.raises(ConfigError):
        make_clock("sundial")
