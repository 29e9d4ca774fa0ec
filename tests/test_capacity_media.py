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
