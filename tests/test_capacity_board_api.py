"""What an idle span costs rests on three Board API additions: ``Span.changes`` (moves on with
every CAS / alarm change or HDLC frame, never with plain audio), ``Span.cas_all`` (the 30
circuits' abcd bits in one call) and ``Span.skip_audio`` (pass received blocks over without
copying them), plus block listeners (a span-wide detector shares the stacks' read). No.1 uses
them to do nothing on a quiet block. Checked on the simulated card (compiled and twin kernels)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from drivers.base import VOICE_TIMESLOTS, AudioBlock, Span

sys.path.insert(0, str(Path(__file__).resolve().parent))
from no1_rig import Rig, open_sim

from simulator.exchange.base import CallScript


def test_cas_all_is_every_timeslots_cas_and_follows_changes():
    board = open_sim(1)
    span, far = board.span(0), board.far_end(0)
    far.set_cas(5, 0x1)
    far.set_cas(20, 0x5)
    board.advance(0.2)
    table = span.cas_all()
    assert len(table) == 32 and table[0] == table[16] == 0
    assert [table[ts] for ts in VOICE_TIMESLOTS] == [span.cas(ts) for ts in VOICE_TIMESLOTS]
    assert table[5] == 0x1 and table[20] == 0x5
    assert Span.cas_all(span) == table            # the generic form (30 cas() calls) agrees


def test_changes_move_on_cas_changes_not_on_audio():
    board = open_sim(1)
    span, far = board.span(0), board.far_end(0)
    board.advance(0.2)
    c0 = span.changes
    far.write_audio(3, b"\x55" * 800)              # audio only: no change a poller must see
    board.advance(0.2)
    assert span.changes == c0
    far.set_cas(7, 0x1)
    board.advance(0.1)
    assert span.changes > c0 and span.cas(7) == 0x1


def test_skip_audio_passes_blocks_over_without_counting_overruns():
    board = open_sim(1)
    span = board.span(0)
    board.advance(0.2)                             # 10 blocks unread
    span.skip_audio()
    assert span.read_audio() is None
    board.advance(0.02)
    blk = span.read_audio()
    assert blk is not None and span.read_audio() is None
    assert span.counters.audio_overruns == 0


def test_skip_audio_still_hands_blocks_to_listeners():
    board = open_sim(1)
    span, far = board.span(0), board.far_end(0)
    heard: list[bytes] = []
    blocks: list[AudioBlock] = []
    span.add_audio_listener(4, lambda alaw, t: heard.append(alaw))
    span.add_block_listener(blocks.append)
    far.write_audio(4, b"\x2a" * 1600)
    board.advance(0.1)
    span.skip_audio()
    assert len(blocks) >= 4 and len(heard) == len(blocks)       # every block the line delivered
    assert all(b.timeslot(4) == h for b, h in zip(blocks, heard))
    assert span.read_audio() is None


def test_block_listener_hears_each_block_once_and_can_leave():
    board = open_sim(1)
    span = board.span(0)
    got: list[AudioBlock] = []

    def boom(blk: AudioBlock) -> None:
        raise RuntimeError("listener bug")

    span.add_block_listener(got.append)
    span.add_block_listener(boom)
    board.advance(0.06)
    while span.read_audio() is not None:
        pass
    n = len(got)
    assert n >= 2 and len({b.time for b in got}) == n
    assert span.audio_listener_errors == n         # logged and counted; the others still heard
    assert span.remove_block_listener(got.append) and not span.remove_block_listener(got.append)
    with pytest.raises(TypeError):
        span.add_block_listener("not callable")    # type: ignore[arg-type]


def test_an_idle_no1_span_reads_nothing_on_a_quiet_block():
    rig = Rig()
    span = rig.board.span(0)
    rig.run(0.5)                                   # settle: every circuit idle, no timer running
    calls = {"cas_all": 0, "read_audio": 0}
    real_cas_all, real_read = span.cas_all, span.read_audio

    def cas_all() -> bytes:
        calls["cas_all"] += 1
        return real_cas_all()

    def read_audio(timeslots=None):
        calls["read_audio"] += 1
        return real_read(timeslots)

    span.cas_all, span.read_audio = cas_all, read_audio          # type: ignore[method-assign]
    rig.run(1.0)
    assert calls == {"cas_all": 0, "read_audio": 0}
    # ... and a seizure after the quiet spell is still taken and completed
    rig.exchange.place_call(CallScript(at=rig.now + 0.1, called="1234", calling="13800138000",
                                       hold_for=1.0))
    rig.run(9.0)                                   # compelled MFC: DNIS, then KA and the calling number
    kinds = [type(e).__name__ for e in rig.events]
    assert "IncomingCall" in kinds and "Released" in kinds
    assert calls["cas_all"] > 0 and calls["read_audio"] > 0
    assert rig.all_idle()


def test_reads_of_every_timeslot_and_of_a_subset_keep_their_places():
    board = open_sim(1)
    span = board.span(0)
    board.advance(1.5)                              # more blocks than the ring keeps
    first = span.read_audio()
    assert first is not None
    over = span.counters.audio_overruns
    assert over > 0                                 # the oldest left the ring unread: counted
    while span.read_audio() is not None:
        pass
    board.advance(0.06)
    a = span.read_audio([3])                        # a subset reader takes the next block of TS3
    b = span.read_audio()                           # ... every timeslot's next block is the same one
    assert a is not None and b is not None and a.time == b.time > first.time
    assert a.data == b.timeslot(3)
    c = span.read_audio()
    d = span.read_audio([3])                        # c moved every timeslot past its block
    assert c is not None and d is not None and c.time > b.time and d.time == pytest.approx(c.time + 0.02)
    while span.read_audio() is not None:
        pass
    assert span.read_audio([3]) is None
    assert span.counters.audio_overruns == over


def test_listeners_hear_in_timeslot_order_as_they_come_and_go():
    board = open_sim(1)
    span = board.span(0)
    heard: list[int] = []

    def on(ts: int):
        return lambda alaw, t: heard.append(ts)

    fns = {ts: on(ts) for ts in (20, 3, 11)}
    for ts, fn in fns.items():
        span.add_audio_listener(ts, fn)
    board.advance(0.1)
    while span.read_audio() is not None:
        pass
    assert heard and heard == [3, 11, 20] * (len(heard) // 3)
    heard.clear()
    assert span.remove_audio_listener(11, fns[11])
    span.add_audio_listener(7, on(7))
    board.advance(0.1)
    while span.read_audio() is not None:
        pass
    assert heard and heard == [3, 7, 20] * (len(heard) // 3)


def test_a_station_span_without_a_change_is_not_read_for_hooks():
    from cti.contact.hook import OFF_HOOK, StationHooks

    board = open_sim(2)
    hooks = StationHooks(board, {"2001": (1, 1), "2002": (1, 2)})
    far = board.far_end(1)
    board.advance(0.2)
    assert hooks.poll() == []
    reads: list[int] = []
    span = board.span(1)
    cas = span.cas
    span.cas = lambda ts: reads.append(ts) or cas(ts)      # type: ignore[method-assign]
    board.advance(0.1)
    assert hooks.poll() == [] and reads == []              # Span.changes did not move: not read
    far.set_cas(2, OFF_HOOK)
    board.advance(0.1)
    assert hooks.poll() == [("2002", True)] and reads      # it moved: read, the change seen
