"""The simulated card: real frames through the framer kernel, faults seen by the deframer."""
from __future__ import annotations

import numpy as np
import pytest

import drivers
from drivers.base import (VOICE_TIMESLOTS, Alarm, AlarmChanged, BoardClosed, BoardError, CasChanged, ConfigError,
                          SpanConfig)
from simulator.clock import VirtualClock

pytest.importorskip("_boardcore.e1frame")


def hdlc_available() -> bool:
    try:
        import _boardcore.hdlc  # noqa: F401
    except ImportError:
        return False
    return True


needs_hdlc = pytest.mark.skipif(not hdlc_available(), reason="_boardcore.hdlc not built yet")


@pytest.fixture
def board():
    with drivers.open("sim", spans=2, seed=1) as b:
        b.advance(0.2)
        yield b


def pattern(ts: int, n: int, salt: int = 0) -> bytes:
    rng = np.random.default_rng(ts * 1000 + salt)
    return rng.integers(0, 256, size=n, dtype=np.uint8).tobytes()


def drain(span, ts) -> bytes:
    out = bytearray()
    while (blk := span.read_audio([ts])) is not None:
        out += blk.data
    return bytes(out)


def test_clean_line_no_alarms_frames_counted(board):
    for ep in (board.span(0), board.far_end(0), board.span(1), board.far_end(1)):
        assert ep.alarms == Alarm.NONE
        c = ep.counters
        assert c.frames_rx > 0 and c.fas_errors == 0 and c.crc4_errors == 0
    before = board.span(0).counters.frames_rx
    board.advance(1.0)
    assert board.span(0).counters.frames_rx - before == 8000       # G.704: 8000 frames/s


def test_cas_every_channel_both_ways(board):
    near, far = board.span(0), board.far_end(0)
    for ts in VOICE_TIMESLOTS:
        near.set_cas(ts, 1 + ts % 15)
        far.set_cas(ts, 1 + (ts * 7) % 15)
    board.advance(0.1)
    assert {ts: far.cas(ts) for ts in VOICE_TIMESLOTS} == {ts: 1 + ts % 15 for ts in VOICE_TIMESLOTS}
    assert {ts: near.cas(ts) for ts in VOICE_TIMESLOTS} == {ts: 1 + (ts * 7) % 15 for ts in VOICE_TIMESLOTS}
    evs = [e for e in board.poll_events() if isinstance(e, CasChanged)]
    assert {(e.timeslot, e.abcd) for e in evs} >= {(ts, 1 + (ts * 7) % 15) for ts in VOICE_TIMESLOTS}
    assert board.span(1).cas(1) == 0x9                               # other span untouched (idle)


def test_audio_crosses_every_timeslot_intact(board):
    near, far = board.span(0), board.far_end(0)
    for ts in VOICE_TIMESLOTS:
        drain(far, ts)
        near.write_audio(ts, pattern(ts, 1200))
    board.advance(0.3)
    for ts in VOICE_TIMESLOTS:
        assert pattern(ts, 1200) in drain(far, ts), f"TS{ts}"


def test_read_audio_blocks_shape_and_overrun(board):
    far = board.far_end(1)
    blk = far.read_audio()
    assert blk.timeslots == VOICE_TIMESLOTS and len(blk.data) == 30 * 160
    board.advance(2.0)                        # more than the 1 s kept: the oldest are gone
    n = 0
    while far.read_audio([1]) is not None:
        n += 1
    assert n == 50 and far.counters.audio_overruns > 0


@pytest.mark.parametrize("fault,alarm", [("los", Alarm.LOS), ("ais", Alarm.AIS), ("lof", Alarm.LOF),
                                         ("rai", Alarm.RAI)])
def test_faults_raise_the_right_alarm_and_clear(board, fault, alarm):
    board.poll_events()
    setattr(board.faults(0), fault, True)
    board.advance(0.1)
    near = board.span(0)
    assert alarm in near.alarms
    if fault == "lof":
        assert not near.alarms & (Alarm.LOS | Alarm.AIS)
    if fault != "rai":
        # G.732 consequent action: our receiver in trouble sends RAI to the far end
        assert Alarm.RAI in board.far_end(0).alarms
    assert board.span(1).alarms == Alarm.NONE                        # span 1 unaffected
    board.faults(0).clear()
    board.advance(0.5)
    assert near.alarms == Alarm.NONE and board.far_end(0).alarms == Alarm.NONE
    evs = [e for e in board.poll_events() if isinstance(e, AlarmChanged) and e.span == 0]
    assert alarm in evs[0].alarms and evs[-1].alarms == Alarm.NONE


def test_fault_toward_network_hits_the_far_end(board):
    board.faults(1, toward="network").los = True
    board.advance(0.1)
    assert Alarm.LOS in board.far_end(1).alarms
    assert Alarm.RAI in board.span(1).alarms
    with pytest.raises(ConfigError):
        board.faults(1, toward="sideways")


def test_crc_errors_counted_and_reported_back_in_e_bits(board):
    board.faults(0).set_crc_error_rate(50)
    board.advance(1.0)
    board.faults(0).clear()
    board.advance(0.2)
    near = board.span(0).counters
    injected = board.faults(0).counts.crc_errors
    assert injected == 50
    assert near.crc4_errors == injected and near.fas_errors == 0
    assert board.far_end(0).counters.e_bits == injected              # G.704 2.3.3.4
    assert board.span(0).alarms == Alarm.NONE


def test_bit_errors_at_a_rate(board):
    board.faults(0).set_bit_error_rate(1e-4)
    board.advance(1.0)
    c = board.span(0).counters
    assert board.faults(0).counts.bit_errors > 100
    assert c.crc4_errors > 0


def test_slips_and_bit_slips_realign(board):
    before = board.span(0).counters
    board.faults(0).bit_slip(3)
    board.advance(0.5)
    after = board.span(0).counters
    # three bad FAS words lose alignment (G.706 4.1.1), the deframer finds it again
    assert after.fas_errors - before.fas_errors >= 3
    assert after.realignments > before.realignments
    assert board.span(0).alarms == Alarm.NONE
    before = after
    board.faults(0).slip(-1)
    board.faults(0).slip(+1)
    board.advance(0.5)
    after = board.span(0).counters
    assert board.faults(0).counts.slips == 2
    assert (after.slips, after.fas_errors, after.crc4_errors) != (before.slips, before.fas_errors,
                                                                 before.crc4_errors)
    assert board.span(0).alarms == Alarm.NONE


@needs_hdlc
def test_hdlc_on_a_ccs_span_and_a_broken_link():
    cfg = SpanConfig(signalling="ccs")
    with drivers.open("sim", spans=1, config=cfg) as b:
        near, far = b.span(0), b.far_end(0)
        b.advance(0.1)                              # frame alignment first
        frames = [bytes([i]) * (3 + i) + b"\x7e\x7d" for i in range(30)]
        for f in frames:
            near.hdlc().send(f)
            far.hdlc().send(f[::-1])
        b.advance(0.5)
        assert far.hdlc().recv_all() == frames
        assert near.hdlc().recv_all() == [f[::-1] for f in frames]
        b.faults(0).hdlc_broken = True
        for f in frames:
            far.hdlc().send(f)
        b.advance(0.5)
        assert near.hdlc().recv_all() == []
        c = near.counters
        assert c.hdlc_fcs_errors + c.hdlc_aborts > 0
        b.faults(0).hdlc_broken = False
        far.hdlc().send(b"\x01\x02\x03back")
        b.advance(0.2)
        assert near.hdlc().recv_all() == [b"\x01\x02\x03back"]
        with pytest.raises(ValueError, match="outside 3"):
            near.hdlc().send(b"ab")                 # shorter than BSN/FSN/LI: would be dropped
        with pytest.raises(TypeError):
            near.hdlc().send("text")
        with pytest.raises(ConfigError, match="CCS"):
            near.set_cas(1, 0x9)
        with pytest.raises(ConfigError, match="HDLC"):
            near.hdlc(5)


def test_cross_connected_cards_on_one_clock():
    clock = VirtualClock()
    a = drivers.open("sim", spans=1, clock=clock)
    b = drivers.open("sim", spans=1, clock=clock, seed=2)
    a.cross_connect(0, b, 0)
    a.advance(0.1)                                  # frame alignment first
    a.span(0).set_cas(7, 0x5)
    b.span(0).write_audio(3, pattern(3, 800))
    a.advance(0.3)                                  # one clock: b runs too
    assert b.span(0).cas(7) == 0x5
    assert pattern(3, 800) in drain(a.span(0), 3)
    assert Alarm.LOS in a.far_end(0).alarms          # nothing transmits to the far ends now
    b.faults(0).los = True
    a.advance(0.1)
    assert Alarm.LOS in b.span(0).alarms and Alarm.RAI in a.span(0).alarms
    with pytest.raises(ConfigError, match="clock"):
        a.cross_connect(0, drivers.open("sim", spans=1), 0)
    with pytest.raises(ConfigError, match="already"):
        a.cross_connect(0, b, 0)


def test_cross_connect_within_a_card_and_mismatched_configs():
    b = drivers.open("sim", spans=3, config=[SpanConfig(), SpanConfig(), SpanConfig(framing="df")],
                     cross_connect=[(0, 1)])
    b.span(1).set_cas(31, 0x3)
    b.advance(0.2)
    assert b.span(0).cas(31) == 0x3
    other = drivers.open("sim", spans=1, clock=b.clock)
    with pytest.raises(ConfigError, match="different"):
        b.cross_connect(2, other, 0)
    b.cross_connect(2, b, 2)                         # a loopback plug
    b.span(2).set_cas(5, 0xA)
    b.advance(0.2)
    assert b.span(2).cas(5) == 0xA


def test_tickers_run_every_block_and_virtual_time_is_cheap():
    b = drivers.open("sim", spans=2)
    seen = []
    b.add_ticker(seen.append)
    b.advance(10.0)                                  # 500 blocks x 2 spans x 2 directions
    assert len(seen) == 500 and seen[0] == pytest.approx(0.02) and seen[-1] == pytest.approx(10.0)
    assert b.now() == pytest.approx(10.0)
    with pytest.raises(TypeError):
        b.add_ticker(42)


def test_bad_input_is_a_clear_error(board):
    s = board.span(0)
    with pytest.raises(ConfigError):
        board.span(2)
    with pytest.raises(ConfigError):
        board.far_end(-1)
    for ts in (0, 16, 32, "1", True):
        with pytest.raises(ConfigError):
            s.set_cas(ts, 0x9)
        with pytest.raises(ConfigError):
            s.write_audio(ts, b"\xd5")
    with pytest.raises(ConfigError, match="0000"):
        s.set_cas(1, 0)
    with pytest.raises(ConfigError):
        s.set_cas(1, 16)
    with pytest.raises(TypeError):
        s.write_audio(1, "text")
    with pytest.raises(ConfigError):
        s.hdlc(16)
    with pytest.raises(ConfigError):
        s.read_audio([])
    with pytest.raises(ConfigError):
        board.advance(-1)
    with pytest.raises(ConfigError):
        drivers.open("sim", spans=0)
    with pytest.raises(ConfigError):
        drivers.open("sim", spans=2, config=[SpanConfig()])
    with pytest.raises(ConfigError):
        drivers.open("sim", clock="sundial")
    with pytest.raises(ConfigError, match="unexpected keyword"):
        drivers.open("sim", spans=1, config={"framing": "crc4", "colour": "blue"})
    with pytest.raises(ConfigError):
        drivers.open("sim", spans=1, config=[42])
    assert drivers.open("sim", spans=1, config={"framing": "df"}).span(0).config.framing == "df"
    board.close()
    with pytest.raises(BoardClosed):
        s.set_cas(1, 0x9)
    with pytest.raises(BoardClosed):
        board.advance(0.1)


def test_numpy_numbers_and_buffers_are_accepted_wide_samples_are_not(board):
    s, far = board.span(0), board.far_end(0)
    s.set_cas(np.int64(4), np.uint8(0x3))
    s.write_audio(np.int32(6), np.full(160, 0x2A, dtype=np.uint8))
    board.advance(0.1)
    assert far.cas(4) == 0x3 and b"\x2a" * 160 in drain(far, 6)
    with pytest.raises(TypeError, match="8-bit A-law"):
        s.write_audio(6, np.zeros(160, dtype=np.int16))
    with pytest.raises(ConfigError):
        s.set_cas(4, True)


def test_real_time_board_pumps_and_iterates_events_async():
    import asyncio

    from simulator.clock import RealClock

    t = [0.0]
    b = drivers.open("sim", spans=1, clock=RealClock(monotonic=lambda: t[0]))
    assert b.pump() == 0
    t[0] = 0.2
    assert b.pump() == 10 and b.now() == pytest.approx(0.2)
    with pytest.raises(BoardError):
        b.advance(1.0)                              # real time cannot be advanced
    b.far_end(0).set_cas(2, 0x7)

    async def first_cas():
        async for ev in b:
            if isinstance(ev, CasChanged) and ev.abcd == 0x7:
                return ev
            t[0] += 0.02                            # wall time moves; the iterator pumps

    ev = asyncio.run(asyncio.wait_for(first_cas(), 5))
    assert ev.timeslot == 2 and b.span(0).cas(2) == 0x7
