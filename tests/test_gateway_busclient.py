"""The public BusClient surface the gateway uses: request(), ping(), Subscription.catch_up()."""
from __future__ import annotations

import time

import pytest

from cti.bus.client import BusClient
from cti.call.errors import InvalidCallError
from cti.gateway.rig import BusThread


def answer(account, req, _t):
    if req.call == "nope":
        raise InvalidCallError(f"no call {req.call}", call=req.call)
    return {"call": req.call}


@pytest.fixture()
def bus(tmp_path):
    b = BusThread(str(tmp_path / "j.db"), setup=lambda bus: bus.register_command("AnswerCall", answer)).start()
    yield b
    b.stop()


def _wait_seq(bus: BusThread, seq: int) -> None:
    deadline = time.monotonic() + 10
    while bus.seq < seq:
        assert time.monotonic() < deadline, f"bus stuck at {bus.seq}"
        time.sleep(0.02)


def test_request_returns_errors_as_maps_and_command_raises(bus):
    with BusClient(bus.endpoints, timeout=5) as c:
        r = c.request("NoSuchRequest", {})
        assert set(r) == {"error"} and r["error"]["code"] == "UnknownRequestError"
        r = c.request("AnswerCall", {"call": "nope"})
        assert set(r) == {"error"} and r["error"]["code"] == "InvalidCallError"
        assert c.request("AnswerCall", {"call": "7"}) == {"result": {"call": "7"}}
        # a field named like the call's own knob stays the request's: "timeout" reaches the server
        r = c.request("AnswerCall", {"call": "nope", "timeout": 3})
        assert "error" in r
        with pytest.raises(Exception) as e:
            c.command("NoSuchRequest")
        assert type(e.value).__name__ == "UnknownRequestError"


def test_request_times_out_on_a_dead_endpoint():
    from cti.bus.endpoints import Endpoints
    dead = Endpoints("tcp://127.0.0.1:9", "tcp://127.0.0.1:9", "tcp://127.0.0.1:9")
    with BusClient(dead, timeout=0.2) as c:
        with pytest.raises(TimeoutError):
            c.request("AnswerCall", {"call": "1"})
        with pytest.raises(TimeoutError):
            c.ping()


def test_ping_reports_the_head_and_catch_up_replays_to_it(bus):
    with BusClient(bus.endpoints, timeout=5) as c:
        sub = c.subscribe(after=0)
        bus.publish([{"type": "X", "topic": "server.x", "n": i} for i in range(5)])
        _wait_seq(bus, 5)
        assert c.ping() == bus.seq == 5
        # whatever the PUB stream did, catch_up(head) queues every event up to the head, once
        assert sub.catch_up(c.ping()) == 5
        got = [e["seq"] for e in sub.events(timeout=0.3)]
        assert got == [1, 2, 3, 4, 5]
        assert sub.catch_up() == 5               # nothing new: nothing queued twice
        assert sub.get(timeout=0.2) is None
        sub.close()
