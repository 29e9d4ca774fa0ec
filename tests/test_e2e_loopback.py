"""End to end over the real bus and server loop, network played by the loopback trunk.

network offers a call -> subscriber sees Offered/Delivered with the numbers -> client answers
through the command socket -> Established -> far end clears -> ConnectionCleared/CallCleared
-> CDR row; then a subscriber killed mid-stream resumes with no gap and no duplicate.
"""
from __future__ import annotations

import pytest

from cti.bus.client import BusClient
from cti.call.errors import InvalidCallError, InvalidStateError, ResourceBusyError
from cti.call.loopback import LoopbackTrunk
from cti.config import Config
from cti.cli.wiring import build_server
from cti.server import BackgroundServer

ANY = "tcp://127.0.0.1:*"


def make_server(tmp_path, **bus):
    cfg = Config.from_dict({"server": {"store": str(tmp_path / "cti.db")},
                            "bus": {"events": ANY, "snapshot": ANY, "control": ANY, **bus},
                            "board": {"driver": "loopback"}, "trunk": [{"signalling": "loop", "spans": [0]}]})
    return build_server(cfg)


def until(sub, pred, timeout=5.0):
    seen = []
    for e in sub.events(timeout):
        seen.append(e)
        if pred(e):
            return seen
    raise AssertionError(f"not seen; got {[x['type'] for x in seen]}")


def test_call_through_bus_answer_clear_cdr(tmp_path):
    srv = make_server(tmp_path).start()
    trunk: LoopbackTrunk = srv.adapters[0]
    with BackgroundServer(srv) as _, BusClient(srv.bus.endpoints) as c:
        bg = _bg(srv)
        sub = c.subscribe()
        circ = bg.do(lambda: trunk.ring("8001", "13800138000", srv.now()))
        seen = until(sub, lambda e: e["type"] == "Delivered")
        off = next(e for e in seen if e["type"] == "Offered")
        assert (off["calling"], off["called"], off["span"], off["ts"]) == ("13800138000", "8001", 0, circ[1])
        assert off["v"] == 1 and off["topic"] == f"call.0.{circ[1]}"
        cid = off["call"]
        with pytest.raises(InvalidStateError):
            c.hold_call(cid)
        assert c.answer_call(cid) == {"call": cid}
        until(sub, lambda e: e["type"] == "Established")
        snap = c.snapshot()
        assert snap["calls"][0]["call"] == cid and snap["seq"] >= off["seq"]
        bg.do(lambda: trunk.far_clear(circ, srv.now()))
        seen = until(sub, lambda e: e["type"] == "CallCleared")
        assert [e["type"] for e in seen] == ["ConnectionCleared", "ConnectionCleared", "CallCleared"]
        with pytest.raises(InvalidCallError):
            c.answer_call(cid)
        seqs = [e["seq"] for e in seen]
        assert seqs == list(range(seqs[0], seqs[0] + 3))
        cdrs = bg.do(lambda: srv.store.cdrs())
        assert cdrs[-1]["call"] == cid and cdrs[-1]["outcome"] == "answered" and cdrs[-1]["calling"] == "13800138000"


def _bg(srv):
    b = BackgroundServer.__new__(BackgroundServer)
    b.server = srv
    return b


@pytest.mark.system
def test_make_call_and_no_circuit(tmp_path):
    cfg = Config.from_dict({"server": {"store": ":memory:"},
                            "bus": {"events": ANY, "snapshot": ANY, "control": ANY},
                            "board": {"driver": "loopback"}, "trunk": [{"signalling": "loop", "spans": [0]}]})
    srv = build_server(cfg).start()
    with BackgroundServer(srv), BusClient(srv.bus.endpoints) as c:
        sub = c.subscribe()
        results = [c.make_call("9000", "66001234") for _ in range(30)]
        assert len({(r["span"], r["ts"]) for r in results}) == 30
        with pytest.raises(ResourceBusyError):
            c.make_call("9000", "66001234")
        seen = until(sub, lambda e: e["type"] == "Established")
        assert seen[0]["type"] == "Originated" and seen[0]["device"] == "9000"


@pytest.mark.system
def test_subscriber_killed_and_restarted_resumes_without_gap_or_duplicate(tmp_path):
    srv = make_server(tmp_path).start()
    trunk = srv.adapters[0]
    bg = _bg(srv)
    with BackgroundServer(srv), BusClient(srv.bus.endpoints) as c:
        got: list[dict] = []
        sub = c.subscribe(after=0)

        def burst(n):
            def go():
                for i in range(n):
                    circ = trunk.ring("8001", f"1390000{i:04d}", srv.now())
                    trunk.far_clear(circ, srv.now())
            bg.do(go)

        burst(5)
        for e in sub.events(0.5):
            got.append(e)
        sub.close()                              # "killed": everything in between is missed
        burst(8)
        # a new process would read its last seq from disk; we keep it in a variable
        sub = c.subscribe(after=got[-1]["seq"])
        burst(4)
        for e in sub.events(0.7):
            got.append(e)
        seqs = [e["seq"] for e in got]
        assert seqs == list(range(1, len(seqs) + 1)), "missing or duplicated events"
        assert seqs[-1] == bg.do(lambda: srv.bus.seq)
        assert sum(e["type"] == "CallCleared" for e in got) == 17


def test_lost_messages_are_filled_from_replay(tmp_path):
    """Events published while the SUB socket is not connected are fetched by seq."""
    srv = make_server(tmp_path).start()
    trunk = srv.adapters[0]
    bg = _bg(srv)
    with BackgroundServer(srv), BusClient(srv.bus.endpoints) as c:
        sub = c.subscribe(after=0)
        sub._sub.setsockopt(__import__("zmq").UNSUBSCRIBE, b"")   # simulate a slow joiner / drops
        bg.do(lambda: trunk.ring("8001", "1", srv.now()))
        sub._sub.setsockopt(__import__("zmq").SUBSCRIBE, b"")
        import time
        time.sleep(0.2)
        bg.do(lambda: trunk.ring("8002", "2", srv.now()))
        evs = list(sub.events(0.5))
        assert [e["seq"] for e in evs] == list(range(1, len(evs) + 1))
        assert [e["type"] for e in evs].count("Delivered") == 2
