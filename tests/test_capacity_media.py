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
