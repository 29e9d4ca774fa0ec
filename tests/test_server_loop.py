"""The server loop sleeps until the earliest deadline or socket activity: no fixed poll.

Idle, a loopback server turns about once a second (its housekeeping) instead of a hundred
times (the old 10 ms poll); a timer of the call model's stacks wakes it on time; a request
or call_soon wakes it at once; on a real-time simulator board it turns once per 20 ms block.
"""
from __future__ import annotations

import pytest

import time

from cti.bus.client import BusClient
from cti.cli.wiring import build_server
from cti.config import Config
from cti.plugin import Component
from cti.server import MAX_SLEEP, BackgroundServer

ANY = "tcp://127.0.0.1:*"


def loopback(tmp_path):
    return build_server(Config.from_dict({
        "server": {"store": str(tmp_path / "cti.db")}, "bus": {"events": ANY, "snapshot": ANY, "control": ANY},
        "board": {"driver": "loopback"}, "trunk": [{"signalling": "loop", "spans": [0]}]}))


class Seen(Component):
    """Wall-clock time of each event the server publishes."""

    name = "seen"

    def __init__(self) -> None:
        self.log: list[tuple[float, str]] = []

    def events(self):
        return None

    def on_event(self, event) -> None:
        self.log.append((time.monotonic(), type(event).__name__))


@pytest.mark.system
def test_idle_server_sleeps_instead_of_polling(tmp_path):
    srv = loopback(tmp_path).start()
    with BackgroundServer(srv):
        time.sleep(0.2)
        first = srv.turns
        time.sleep(2.0)
        turns = srv.turns - first
    assert 1 <= turns <= 2.0 / MAX_SLEEP + 2, turns      # a 10 ms poll would have turned ~200 times


@pytest.mark.system
def test_a_stack_timer_wakes_the_loop_on_time(tmp_path):
    srv = loopback(tmp_path)
    seen = srv.add(Seen())
    srv.start()
    with BackgroundServer(srv) as s:
        time.sleep(0.2)
        t0, n0 = time.monotonic(), s.turns
        call = _do(s, lambda: s.model.make_call("9000", "6601", s.now()))
        while time.monotonic() < t0 + 5.0 and not any(k == "Established" for _, k in seen.log):
            time.sleep(0.01)
        turns = s.turns - n0
    est = [t for t, k in seen.log if k == "Established"]
    assert call["call"] and est, seen.log
    assert 1.9 <= est[0] - t0 <= 2.3            # the loopback far end answers after 2.0 s
    assert turns < 30


def _do(srv, fn):
    box = []
    srv.call_soon(lambda: box.append(fn()))
    end = time.monotonic() + 1.0
    while not box:
        assert time.monotonic() < end, "call_soon did not wake the loop"
        time.sleep(0.001)
    return box[0]


def test_call_soon_and_requests_wake_the_sleeping_loop(tmp_path):
    srv = loopback(tmp_path).start()
    with BackgroundServer(srv) as s, BusClient(s.bus.endpoints) as c:
        time.sleep(0.3)                            # asleep until housekeeping (MAX_SLEEP)
        t = time.monotonic()
        _do(s, lambda: None)
        assert time.monotonic() - t < 0.1
        t = time.monotonic()
        c.snapshot()
        assert time.monotonic() - t < 0.2


@pytest.mark.system
def test_real_time_simulator_turns_once_per_block(tmp_path):
    srv = build_server(Config.from_dict({
        "server": {"store": str(tmp_path / "cti.db")}, "bus": {"events": ANY, "snapshot": ANY, "control": ANY},
        "board": {"driver": "sim", "clock": "real", "spans": 1}, "trunk": []}))
    srv.start()
    with BackgroundServer(srv) as s:
        time.sleep(0.2)
        n0, b0 = s.turns, s.now()
        time.sleep(1.0)
        turns, board = s.turns - n0, s.now() - b0
    blocks = board / 0.02
    assert blocks >= 40                           # the board kept time
    assert turns <= blocks * 1.3 + 5, (turns, blocks)   # about one turn per block, no extra polls
