"""SpanTaps / ContactCentre.listen: every 20 ms block of a trunk timeslot reaches its listeners,
whether the signalling stack reads the span first or nobody does; unsubscribing stops it."""
from __future__ import annotations

import numpy as np
import pytest

import drivers
from _boardcore import g711
from cti.media.taps import SpanTaps
from tests.test_contact_load import restore_bus_requests  # noqa: F401 (fixture: install() registers requests)


def _tone(hz: float, n: int, start: int = 0) -> np.ndarray:
    t = (np.arange(n) + start) / 8000.0
    return (6000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def test_listener_hears_every_block_of_its_timeslot_only():
    board = drivers.open("sim", spans=1)
    far = board.far_end(0)
    taps = SpanTaps({0: board.span(0)})
    got5: list[tuple[bytes, float]] = []
    got7: list[bytes] = []
    stop = taps.listen((0, 5), lambda a, t: got5.append((a, t)))
    taps.listen((0, 7), lambda a, t: got7.append(a))
    sent = g711.alaw_encode(_tone(1000.0, 160 * 50))
    far.write_audio(5, sent)
    for _ in range(60):
        board.advance(0.02)
        while board.span(0).read_audio() is not None:    # the stack reads first
            pass
    assert all(len(a) == 160 for a, _ in got5) and len(got5) >= 55   # after frame alignment
    times = [t for _, t in got5]
    assert times == sorted(times) and np.allclose(np.diff(times), 0.02)
    heard = b"".join(a for a, _ in got5)
    assert sent[:1600] in heard                          # the far end's tone arrives intact
    assert set(b"".join(got7)) <= {0xD5}                 # TS7 idle: A-law silence
    stop()
    stop()                                               # idempotent
    n = len(got5)
    board.advance(0.1)
    taps.drain()
    assert len(got5) == n and taps.listening((0, 5)) == 0


def test_drain_reads_spans_nobody_reads():
    board = drivers.open("sim", spans=2)
    taps = SpanTaps({1: board.span(1)})
    got: list[bytes] = []
    taps.listen((1, 17), lambda a, t: got.append(a))
    for _ in range(10):
        board.advance(0.02)
        taps.drain()
    assert len(got) >= 8            # every block after frame alignment


def test_bad_subscriptions_are_clear_errors():
    board = drivers.open("sim", spans=1)
    taps = SpanTaps({0: board.span(0)})
    with pytest.raises(ValueError):
        taps.listen((0, 16), lambda a, t: None)
    with pytest.raises(ValueError):
        taps.listen((3, 1), lambda a, t: None)
    with pytest.raises(ValueError):
        taps.listen((0,), lambda a, t: None)
    with pytest.raises(TypeError):
        taps.listen(("0", 1), lambda a, t: None)
    with pytest.raises(TypeError):
        taps.listen((0, 1), None)


def test_a_failing_listener_does_not_stop_the_others():
    board = drivers.open("sim", spans=1)
    taps = SpanTaps({0: board.span(0)})
    got: list[bytes] = []
    taps.listen((0, 1), lambda a, t: 1 / 0)
    taps.listen((0, 1), lambda a, t: got.append(a))
    board.advance(0.06)
    taps.drain()
    assert len(got) >= 1 and taps.errors == len(got)


def test_centre_listen_on_a_trunk_timeslot(tmp_path):
    from tests.test_contact_load import make_server
    srv, centre = make_server(tmp_path, {"agents": {}, "queues": {}}, spans=1)
    try:
        got: list[float] = []
        stop = centre.listen((0, 3), lambda a, t: got.append(t))
        t0 = srv.now()
        while srv.now() < t0 + 1.0:
            srv.step(0)
        assert 49 <= len(got) <= 51 and np.allclose(np.diff(got), 0.02)
        stop()
        n = len(got)
        srv.step(0)
        assert len(got) == n
    finally:
        srv.close()
