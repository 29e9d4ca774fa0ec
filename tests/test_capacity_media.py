"""The media path's per-block work kept cheap without changing what it writes: a stereo
recording interleaves the two directions octet by octet, from any bytes-like block."""
from __future__ import annotations

import pytest

from cti.media.wavfile import WavWriter, read_channels


def test_stereo_blocks_interleave_octet_by_octet(tmp_path):
    path = tmp_path / "r.wav"
    left, right = bytes(range(160)), bytes(range(255, 95, -1))
    with WavWriter(path, channels=2) as w:
        w.write_frames(left, memoryview(right))
        w.write_frames(bytearray(right), left)
    data = path.read_bytes()[-640:]
    assert data[0:320:2] == left and data[1:320:2] == right
    assert data[320::2] == right and data[321::2] == left
    info, pcm = read_channels(path)
    assert (info.channels, info.frames) == (2, 320) and pcm.shape == (320, 2)


def test_blocks_of_unequal_length_or_count_are_refused(tmp_path):
    with WavWriter(tmp_path / "r.wav", channels=2) as w:
        with pytest.raises(ValueError):
            w.write_frames(b"\xd5" * 160, b"\xd5" * 159)
        with pytest.raises(ValueError):
            w.write_frames(b"\xd5" * 160)
        assert w.octets == 0


def test_reused_buffer_blocks_of_other_lengths_still_interleave(tmp_path):
    path = tmp_path / "r.wav"
    with WavWriter(path, channels=2) as w:
        w.write_frames(b"\x01" * 160, b"\x02" * 160)
        w.write_frames(b"\x03" * 80, b"\x04" * 80)       # not the reused 20 ms buffer's size
        w.write_frames(b"\x05" * 160, b"\x06" * 160)
    data = path.read_bytes()[-(320 + 160 + 320):]
    assert data[:320] == b"\x01\x02" * 160
    assert data[320:480] == b"\x03\x04" * 80
    assert data[480:] == b"\x05\x06" * 160


def test_the_decoded_block_is_shared_and_equals_the_kernels_decode():
    import numpy as np

    from _boardcore.g711 import alaw_decode
    from drivers.base import VOICE_TIMESLOTS, AudioBlock

    data = bytes(range(256)) * 18 + bytes(range(192))
    blk = AudioBlock(0, VOICE_TIMESLOTS, data, 1.0)
    pcm = blk.pcm()
    assert pcm is blk.pcm()                                # decoded once, shared by every reader
    assert pcm.shape == (30, 160) and pcm.dtype == np.int16
    assert np.array_equal(pcm.ravel(), np.asarray(alaw_decode(data)))
    assert blk == AudioBlock(0, VOICE_TIMESLOTS, data, 1.0)   # the cache is not part of the value


def test_taps_count_their_listeners_failures_and_stop_cleanly():
    import drivers
    from cti.media.taps import SpanTaps

    board = drivers.open("sim", spans=1)
    span = board.span(0)
    taps = SpanTaps({0: span})
    good: list[bytes] = []
    stop_bad = taps.listen((0, 1), lambda a, t: 1 / 0)
    stop_good = taps.listen((0, 1), lambda a, t: good.append(a))
    board.advance(0.06)
    taps.drain()
    assert good and taps.errors == len(good) and span.audio_listeners(1) == 2
    stop_bad()
    stop_bad()                                             # idempotent
    assert span.audio_listeners(1) == 1 and taps.listening((0, 1)) == 1
    n = len(good)
    board.advance(0.04)
    taps.drain()
    assert len(good) > n and taps.errors == n              # no new failure once it left
    stop_good()
    assert span.audio_listeners(1) == 0 and taps.listening((0, 1)) == 0


def test_a_bridged_recording_takes_the_bridge_blocks_not_a_listener_of_its_own(tmp_path):
    # per recorded call and block, a listener call and a copy fewer while the call is bridged;
    # the recording's own listener comes back if the call leaves the bridge still recorded
    from tests.test_contact_stations import AGENTS, STATIONS, connect_caller, make_centre, run_for
    from simulator.agents import DesktopProfile, start_desktops
    srv, centre = make_centre(tmp_path, {
        "agents": AGENTS, "stations": STATIONS, "route_points": {"4000": "sales"},
        "queues": {"sales": {"strategy": "linear", "members": ["a0", "a1"], "record": True}}})
    try:
        start_desktops(srv, {a: v["device"] for a, v in AGENTS.items()},
                       DesktopProfile(answer_after=(0.5, 0.6), handle=(400.0, 401.0)))
        call_id, caller = connect_caller(srv, centre)
        circ = srv.model.calls[call_id].circuit()
        rec = centre.recorder.active[call_id]
        assert call_id in centre._rec_bridged and call_id not in centre._rx
        assert centre.taps.listening(circ) == 1                 # the bridge's port only
        br = centre.audio.bridges.bridges[call_id]
        blocks = rec.blocks
        run_for(srv, 0.2)
        assert rec.blocks == blocks + 10                        # a record per 20 ms block
        assert br.a_rx != b"\xd5" * 160                          # the caller's phone, through the bridge
        centre.audio.bridges.leave(call_id)                     # out of the bridge, still recorded
        run_for(srv, 0.3)
        assert call_id not in centre._rec_bridged and centre.taps.listening(circ) == 1
        assert len(centre._rx[call_id]) == 0 and rec.blocks == blocks + 25  # fed from its own listener
    finally:
        srv.close()


def test_feed_many_writes_what_feed_writes(tmp_path):
    from cti.media.recorder import Recorder
    a, b = Recorder(tmp_path / "a", flush_every=3), Recorder(tmp_path / "b", flush_every=3)
    ra, rb = a.start("c", 0.0), b.start("c", 0.0)
    for k in range(7):
        rx, tx = bytes([k]) * 160, bytes([200 - k]) * 80 + bytes([k]) * 80
        a.feed("c", rx, tx)
        b.feed_many([(rb, rx, tx)])
    assert ra.blocks == rb.blocks == 7
    with pytest.raises(ValueError):
        b.feed_many([(rb, b"\xd5" * 160, b"\xd5" * 159)])    # refused as write_frames refuses it
    a.stop("c", 1.0)
    b.stop("c", 1.0)
    assert ra.path.read_bytes() == rb.path.read_bytes()


def test_fed_sinks_get_every_block_of_their_timeslot_from_one_block_listener():
    from collections import deque

    import drivers
    from cti.media.taps import SpanTaps

    board = drivers.open("sim", spans=1)
    far, span = board.far_end(0), board.span(0)
    taps = SpanTaps({0: span})
    heard: list[bytes] = []
    q5: deque[bytes] = deque()
    q7: list[bytes] = []
    taps.listen((0, 5), lambda a, t: heard.append(a))
    stop5 = taps.feed((0, 5), q5)
    stop7 = taps.feed((0, 7), q7)
    assert len(span.__dict__["_block_listeners"]) == 1       # one per span, whatever it feeds
    assert taps.listening((0, 5)) == 2 and taps.listening((0, 7)) == 1
    with pytest.raises(TypeError):
        taps.feed((0, 9), object())                           # type: ignore[arg-type]
    with pytest.raises(ValueError):
        taps.feed((0, 16), q7)
    far.write_audio(5, bytes(range(40, 200)) * 20)
    for _ in range(30):
        board.advance(0.02)
        taps.drain()                                          # nobody else reads: the taps do
    assert list(q5) == heard and len(q5) >= 25                # what a listener hears, block for block
    assert bytes(range(40, 200)) in b"".join(q5)
    assert len(q7) == len(q5) and set(b"".join(q7)) <= {0xD5}
    stop5()
    stop5()                                                   # idempotent
    assert taps.listening((0, 5)) == 1 and "_block_listeners" in span.__dict__
    stop7()
    assert "_block_listeners" not in span.__dict__ and taps.listening((0, 7)) == 0
    assert taps._circuits == {0: 1}                           # drain's busy spans, kept by count
    n = len(q5)
    board.advance(0.1)
    taps.drain()
    assert len(q5) == n and len(heard) > n                    # the listener still hears
