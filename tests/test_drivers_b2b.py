"""One back-to-back suite for every available backend (python-can's pattern).

Each backend is opened on a card whose spans are wired in pairs: 0<->1 (CAS) and
2<->3 (CCS, TS16 an HDLC link; a real card named by CTI_DAHDI_SPAN has the CAS pair only). Whatever span 0
sends, span 1 receives. Backends:

* ``sim``   -- always: the in-process simulator (virtual time);
* ``wire``  -- always: the simulator served in-process on an ephemeral TCP port,
  reached over ``socket://`` (the card runs in virtual time, driven by ADVANCE);
* ``dahdi-double`` -- always: the dahdi backend over its paced DAHDI kernel double
  (drivers/dahdi/fake.py, looped spans, wall-clock time);
* ``dahdi`` -- only when CTI_DAHDI_SPAN names two looped spans, e.g. ``1,2``.
"""
from __future__ import annotations

import importlib.metadata
import os

import numpy as np
import pytest

import drivers
from drivers.base import (VOICE_TIMESLOTS, Alarm, AlarmChanged, Board, BoardClosed, BoardError, CasChanged,
                          ConfigError, HdlcFrameReady, SpanConfig)


def sim_layout() -> dict:
    return dict(spans=4, config=[SpanConfig(), SpanConfig(), SpanConfig(signalling="ccs"),
                                 SpanConfig(signalling="ccs")], cross_connect=[(0, 1), (2, 3)])


@pytest.fixture(params=["sim", "wire", "dahdi-double", "dahdi"])
def board(request):
    name = request.param
    if name == "sim":
        b = drivers.open("sim", seed=5, **sim_layout())
        inject = b.faults
        b.inject = lambda span, fault, on=True: setattr(inject(span), fault, on)
        b.advance(0.2)
        yield b
        b.close()
    elif name == "wire":
        from simulator.server import SimServer

        card = drivers.open("sim", seed=5, **sim_layout())
        server = SimServer(card, port=0)
        port = server.start_in_thread()
        b = drivers.open("wire", url=f"socket://127.0.0.1:{port}", timeout=10)
        from drivers.wire.protocol import Fault

        b.inject = lambda span, fault, on=True: b.fault(span, Fault[fault.upper()], 1.0 if on else 0.0)
        b.advance(0.2)
        yield b
        b.close()
        server.stop()
        card.close()
    elif name == "dahdi-double":
        # the dahdi backend over its paced kernel double (looped spans, wall-clock time)
        from drivers.dahdi import _ffi as abi
        from drivers.dahdi.fake import FakeDahdi

        cas = abi.DAHDI_CONFIG_CRC4 | abi.DAHDI_CONFIG_HDB3
        fake = FakeDahdi(spans=4, lineconfig=[cas, cas, cas | abi.DAHDI_CONFIG_CCS, cas | abi.DAHDI_CONFIG_CCS],
                         loop=[(1, 2), (3, 4)], paced=True)
        b = drivers.open("dahdi", spans=[1, 2, 3, 4], device=fake)
        b.inject = None
        yield b
        b.close()
    else:
        spec = os.environ.get("CTI_DAHDI_SPAN")
        if not spec:
            pytest.skip("set CTI_DAHDI_SPAN=<span>,<span> (two looped DAHDI spans) to run on a card")
        b = drivers.open("dahdi", spans=[int(x) for x in spec.split(",")])
        b.inject = None
        yield b
        b.close()


def settle(board: Board, seconds: float = 0.2) -> None:
    """Let the line carry what was sent: virtual time where the backend has it."""
    try:
        board.advance(seconds)
    except BoardError:          # a real-time board
        import time
        time.sleep(seconds)


def collect(span, timeslots) -> dict[int, bytes]:
    out = {ts: bytearray() for ts in timeslots}
    while (blk := span.read_audio(timeslots)) is not None:
        for ts in timeslots:
            out[ts] += blk.timeslot(ts)
    return {ts: bytes(v) for ts, v in out.items()}


def pattern(ts: int, n: int) -> bytes:
    return np.random.default_rng(ts).integers(0, 256, size=n, dtype=np.uint8).tobytes()


# ---------------------------------------------------------------- the registry

def test_registry_lists_the_builtins_and_refuses_unknown_names():
    assert drivers.available()[:3] == ["sim", "wire", "dahdi"]
    with pytest.raises(ConfigError, match="unknown board 'acme'.*sim, wire, dahdi"):
        drivers.open("acme")
    with pytest.raises(ConfigError):
        drivers.open(42)


def test_registry_loads_third_party_boards_from_entry_points(monkeypatch):
    from simulator.board import SimBoard

    class AcmeBoard(SimBoard):
        backend = ""

    class FakeEP:
        name, value = "acme", "acme_e1:AcmeBoard"

        def load(self):
            return AcmeBoard

    class NotABoard(FakeEP):
        name = "junk"

        def load(self):
            return dict

    real = importlib.metadata.entry_points

    def fake(group=None, **kw):
        if group == drivers.ENTRY_POINT_GROUP:
            return [FakeEP(), NotABoard()]
        return real(group=group, **kw)

    monkeypatch.setattr(importlib.metadata, "entry_points", fake)
    assert drivers.available() == ["sim", "wire", "dahdi", "acme", "junk"]
    b = drivers.open("acme", spans=1)
    assert isinstance(b, AcmeBoard) and b.backend == "acme"
    with pytest.raises(ConfigError, match="not a drivers.base.Board"):
        drivers.open("junk")


# ---------------------------------------------------------------- back to back

def test_spans_and_their_configs(board):
    assert len(board.spans) >= 2
    assert board.span(0).config.signalling == "cas" and board.span(0).number == 0
    with pytest.raises(ConfigError):
        board.span(len(board.spans))
    with pytest.raises(ConfigError):
        board.span(-1)


def test_cas_every_channel_both_ways(board):
    a, b = board.span(0), board.span(1)
    board.poll_events()
    for src, dst, salt in ((a, b, 3), (b, a, 11)):
        want = {ts: 1 + (ts * salt) % 15 for ts in VOICE_TIMESLOTS}
        for ts, v in want.items():
            src.set_cas(ts, v)
        settle(board)
        assert {ts: dst.cas(ts) for ts in VOICE_TIMESLOTS} == want
    evs = [e for e in board.poll_events() if isinstance(e, CasChanged)]
    assert {(e.span, e.timeslot, e.abcd) for e in evs} >= {(1, ts, 1 + ts * 3 % 15) for ts in VOICE_TIMESLOTS}


def test_cas_0000_and_bad_numbers_refused(board):
    s = board.span(0)
    with pytest.raises(ConfigError, match="0000"):
        s.set_cas(1, 0)
    for ts in (0, 16, 32, -1):
        with pytest.raises(ConfigError):
            s.set_cas(ts, 0x9)
        with pytest.raises(ConfigError):
            s.cas(ts)
        with pytest.raises(ConfigError):
            s.write_audio(ts, b"\xd5" * 160)
    with pytest.raises(ConfigError):
        s.hdlc(5)
    settle(board)
    assert board.span(1).cas(1) != 0


@pytest.mark.system
def test_audio_intact_on_every_timeslot_both_ways(board):
    for src, dst in ((board.span(0), board.span(1)), (board.span(1), board.span(0))):
        collect(dst, VOICE_TIMESLOTS)              # subscribes (wire) and drops the past
        settle(board, 0.1)
        collect(dst, VOICE_TIMESLOTS)
        for ts in VOICE_TIMESLOTS:
            src.write_audio(ts, pattern(ts, 2000))
        settle(board, 0.5)
        got = collect(dst, VOICE_TIMESLOTS)
        bad = [ts for ts in VOICE_TIMESLOTS if pattern(ts, 2000) not in got[ts]]
        assert not bad


def test_audio_listeners_hear_every_block_read(board):
    """Span.add_audio_listener: each block anyone reads is handed, timeslot by timeslot, to the
    listeners of its timeslots; removed listeners hear nothing more; a listener that raises is
    counted and the others still hear."""
    src, dst = board.span(0), board.span(1)
    heard: list[tuple[bytes, float]] = []
    other: list[bytes] = []

    def boom(alaw: bytes, t: float) -> None:
        raise RuntimeError("listener bug")

    def on3(alaw: bytes, t: float) -> None:
        heard.append((alaw, t))

    dst.add_audio_listener(3, boom)
    dst.add_audio_listener(3, on3)
    dst.add_audio_listener(5, lambda alaw, t: other.append(alaw))
    assert dst.audio_listeners(3) == 2 and dst.audio_listeners(4) == 0
    collect(dst, [3, 5])
    heard.clear()
    other.clear()
    errors = dst.audio_listener_errors
    src.write_audio(3, pattern(3, 1600))
    settle(board, 0.5)
    got = collect(dst, [3])                        # the reader asks only for TS3
    assert b"".join(a for a, _ in heard) == got[3] and pattern(3, 1600) in got[3]
    assert all(len(a) == 160 for a, _ in heard)
    assert [t for _, t in heard] == sorted(t for _, t in heard)
    assert dst.audio_listener_errors - errors == len(heard) > 0
    assert dst.remove_audio_listener(3, on3) and not dst.remove_audio_listener(3, on3)
    n = len(heard)
    settle(board, 0.2)
    collect(dst, [3, 5])
    assert len(heard) == n and other                # TS5's listener still hears
    with pytest.raises(ConfigError):
        dst.add_audio_listener(16, on3)
    with pytest.raises(TypeError):
        dst.add_audio_listener(3, None)  # type: ignore[arg-type]


def test_audio_blocks_are_20ms_per_timeslot(board):
    s = board.span(1)
    s.read_audio([1, 17])
    settle(board, 0.2)
    blk = s.read_audio([1, 17])
    assert blk is not None and blk.span == 1 and blk.timeslots == (1, 17)
    assert len(blk.data) == 2 * 160 and len(blk.timeslot(17)) == 160


@pytest.mark.system
def test_hdlc_frames_both_ways(board):
    if len(board.spans) < 4 or board.span(2).config.signalling != "ccs":
        pytest.skip("no CCS pair on this card (CTI_DAHDI_SPAN names one looped CAS pair)")
    a, b = board.span(2), board.span(3)
    assert a.config.signalling == "ccs" and 16 in a.config.hdlc
    frames = [bytes([0x80 | i, i, 3]) + bytes(range(i, i + 40)) for i in range(25)]
    board.poll_events()
    for src, dst in ((a, b), (b, a)):
        for f in frames:
            src.hdlc(16).send(f)
        settle(board, 0.5)
        assert dst.hdlc(16).recv_all() == frames
    ready = [e for e in board.poll_events() if isinstance(e, HdlcFrameReady)]
    assert len(ready) == 50
    with pytest.raises(ConfigError):
        a.set_cas(1, 0x9)


def test_alarms_follow_injected_faults(board):
    if board.inject is None:
        pytest.skip("this backend cannot inject line faults")
    board.poll_events()
    board.inject(1, "los")
    settle(board, 0.1)
    assert Alarm.LOS in board.span(1).alarms
    assert Alarm.RAI in board.span(0).alarms           # consequent action from span 1's receiver
    board.inject(1, "los", False)
    settle(board, 0.5)
    assert board.span(1).alarms == Alarm.NONE and board.span(0).alarms == Alarm.NONE
    evs = [e for e in board.poll_events() if isinstance(e, AlarmChanged) and e.span == 1]
    assert Alarm.LOS in evs[0].alarms and evs[-1].alarms == Alarm.NONE


def test_counters_grow(board):
    c1 = board.span(1).counters
    settle(board, 0.2)
    c2 = board.span(1).counters
    assert c2.frames_rx > c1.frames_rx and c2.fas_errors == c1.fas_errors


def test_closed_board_refuses_calls(board):
    span = board.span(0)
    board.close()
    with pytest.raises(BoardClosed):
        span.set_cas(1, 0x9)
    with pytest.raises(BoardClosed):
        board.poll_events()
