"""The journal epoch (issue 19 section 4): an id made with the journal, in every event and
reply; a client that meets a new one (the journal was lost or replaced, seqs start again)
resyncs by snapshot instead of dropping the new journal's events as seqs it has seen."""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import msgpack
import zmq

from cti.bus.client import BusClient
from cti.bus.codec import unpack_event
from cti.bus.server import BusServer, Endpoints
from cti.store import open_store

ANY = "tcp://127.0.0.1:*"


@contextmanager
def serving(path: str, endpoints: Endpoints) -> Iterator[BusServer]:
    bus = BusServer(open_store(path), endpoints=endpoints).start()
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            bus.poll(2)
    t = threading.Thread(target=loop)
    t.start()
    try:
        yield bus
    finally:
        stop.set()
        t.join()
        bus.close()


def test_the_epoch_is_made_with_the_journal_and_kept_across_restarts(tmp_path):
    path = str(tmp_path / "a.db")
    st = open_store(path)
    epoch = st.epoch()
    assert isinstance(epoch, str) and len(epoch) == 16
    st.close()
    st = open_store(path)
    assert st.epoch() == epoch
    st.close()
    other = open_store(str(tmp_path / "b.db"))
    assert other.epoch() != epoch
    other.close()


def test_every_event_and_reply_carries_the_epoch(tmp_path):
    with serving(str(tmp_path / "j.db"), Endpoints(ANY, ANY, ANY)) as bus:
        with BusClient(bus.endpoints) as c:
            sub = c.subscribe(after=0)
            for i in range(3):
                bus.publish({"type": "Note", "i": i})
            events = list(sub.events(timeout=0.3))
            assert [e["epoch"] for e in events] == [bus.epoch] * 3
            assert c.snapshot()["epoch"] == bus.epoch
            s = c._dealer("snapshot")
            for req in ({"op": "ping"}, {"op": "replay", "after": 0}, {"op": "nope"}):
                s.send(msgpack.packb({**req, "id": 5}))
                assert s.poll(2000)
                assert unpack_event(s.recv())["epoch"] == bus.epoch
            try:
                c.command("Nope")
            except Exception:
                pass
            assert c.epoch == bus.epoch
        frames = [unpack_event(f) for _, f in bus.store.events_after(0)]
        assert {f["epoch"] for f in frames} == {bus.epoch}


def _fixed_endpoints() -> Endpoints:
    ctx = zmq.Context.instance()
    eps = []
    for _ in range(3):
        s = ctx.socket(zmq.PUB)
        s.bind(ANY)
        eps.append(s.getsockopt_string(zmq.LAST_ENDPOINT))
        s.close(0)
    return Endpoints(*eps)


def test_a_client_resyncs_on_a_new_journal_and_drops_nothing_of_it(tmp_path):
    ep = _fixed_endpoints()
    first = str(tmp_path / "first.db")
    with BusClient(ep) as c:
        with serving(first, ep) as bus:
            sub = c.subscribe(after=0)
            for i in range(20):
                bus.publish({"type": "Note", "i": i, "journal": "old"})
            old = [e for e in sub.events(timeout=0.3)]
            assert len(old) == 20 and sub.last == 20
            old_epoch = bus.epoch
        os.remove(first)                         # the journal is lost: a new one starts at seq 1
        with serving(first, ep) as bus:
            assert bus.epoch != old_epoch and bus.seq == 0
            for i in range(5):
                bus.publish({"type": "Note", "i": i, "journal": "new"})
            got: list[dict] = []
            for _ in range(50):                  # PUB reconnects by itself; publish until it is back
                bus.publish({"type": "Note", "i": 99, "journal": "new"})
                got += list(sub.events(timeout=0.1))
                if got:
                    break
            assert sub.epochs == [bus.epoch] and sub.resynced == 1 and sub.epoch == bus.epoch
            assert sub.snapshot is not None and sub.snapshot["epoch"] == bus.epoch
            # after the snapshot (which covers the new journal up to its seq) nothing is dropped:
            # every later event of the new journal arrives, though its seq is one this client saw
            assert got and all(e["journal"] == "new" and e["seq"] > sub.snapshot["seq"] for e in got)
            assert [e["seq"] for e in got] == list(range(sub.snapshot["seq"] + 1, bus.seq + 1))


def test_resume_with_a_saved_epoch_from_another_journal_resyncs(tmp_path):
    with serving(str(tmp_path / "j.db"), Endpoints(ANY, ANY, ANY)) as bus:
        for i in range(10):
            bus.publish({"type": "Note", "i": i})
        with BusClient(bus.endpoints) as c:
            same = c.subscribe(after=4, epoch=bus.epoch)          # same journal: replay from seq 5
            assert [e["i"] for e in same.events(timeout=0.2)] == [4, 5, 6, 7, 8, 9] and same.resynced == 0
            other = c.subscribe(after=4, epoch="0123456789abcdef")  # another journal's seq 4 means nothing here
            assert other.resynced == 1 and other.snapshot is not None and other.last == 10
            assert list(other.events(timeout=0.2)) == []
