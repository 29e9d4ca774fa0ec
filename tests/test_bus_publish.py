"""The publish fast path: one stamped dict per event, frames in the ring, journal pages, restart."""
from __future__ import annotations

import dataclasses

import pytest
import zmq

from cti.bus.auth import Account
from cti.bus.codec import unpack_event
from cti.bus.server import BusServer, Endpoints, Limits
from cti.call.events import EVENT_TYPES, Delivered
from cti.store import StoreError, open_store

ANY = "tcp://127.0.0.1:*"


def _bus(store, **limits) -> BusServer:
    return BusServer(store, endpoints=Endpoints(ANY, ANY, ANY), limits=Limits(**limits)).start()


def _sample(cls):
    """An instance of ``cls`` with every required field filled by its type."""
    values = {"str": "x", "int": 3}
    return cls(**{f.name: values[str(f.type).split(" ")[0]] for f in dataclasses.fields(cls)
                  if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING})


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_stamped_is_to_dict_plus_envelope(name):
    e = _sample(EVENT_TYPES[name])
    assert e.stamped(7, 1.5, 1, "t") == {**e.to_dict(), "seq": 7, "time": 1.5, "v": 1, "topic": "t"}
    assert e.to_dict() == {**{f.name: getattr(e, f.name) for f in dataclasses.fields(e)}, "type": name}


def test_published_frames_decode_to_event_plus_envelope_and_inputs_stay_untouched():
    bus = _bus(open_store(":memory:"))
    try:
        raw = {"type": "Note", "topic": "queue.sales", "devices": ["8001"], "n": 1}
        before = dict(raw)
        ev = Delivered(call="9", device="8002", state="alerting", span=1, ts=4, devices=["8002"])
        assert bus.publish(raw, now=10.0) == 1 and bus.publish(ev, now=11.0) == 2
        assert raw == before
        bus.flush()
        f1, f2 = (unpack_event(b) for _, b in bus.store.events_after(0))
        ep = bus.epoch          # the journal's epoch ends every envelope, in key order
        assert list(f2)[-5:] == ["seq", "time", "v", "topic", "epoch"]
        assert f1 == {**raw, "seq": 1, "time": 10.0, "v": 1, "topic": "queue.sales", "epoch": ep}
        assert f2 == {**ev.to_dict(), "seq": 2, "time": 11.0, "v": 1, "topic": "call.1.4", "epoch": ep}
        assert bus.publish({"type": "SpanThing"}) == 3        # topic defaults to the type
        assert unpack_event(bus._ring[-1])["topic"] == "spanthing"
    finally:
        bus.close()


@pytest.mark.parametrize("where", ["memory", "file"])
def test_replay_from_ring_and_journal_agree_and_filter_per_account(where, tmp_path):
    # a short ring: older replays come from the journal (a file store writes on its writer thread)
    bus = _bus(open_store(":memory:" if where == "memory" else str(tmp_path / "j.db")), ring=50)
    try:
        for i in range(300):
            dev = "8001" if i % 3 == 0 else "8002"
            bus.publish(Delivered(call=str(i), device=dev, state="alerting", devices=[dev]))
            if i % 7 == 0:
                bus.flush()                              # hand-offs of odd sizes
        everyone = Account("crm", "integrator")
        agent = Account("a1", "agent", device="8001")
        frames, last = bus.replay.events_after(everyone, 0, 1000)        # journal (before the ring)
        assert last == 300 and [unpack_event(f)["seq"] for f in frames] == list(range(1, 301))
        ring, last = bus.replay.events_after(everyone, 260, 1000)        # ring
        assert last == 300 and ring == frames[260:]
        mine, last = bus.replay.events_after(agent, 200, 1000)
        assert last == 300 and [unpack_event(f)["seq"] for f in mine] == [s for s in range(201, 301) if (s - 1) % 3 == 0]
        mine_j, _ = bus.replay.events_after(agent, 0, 1000)
        assert [unpack_event(f)["device"] for f in mine_j] == ["8001"] * 100
    finally:
        bus.close()


def test_seq_and_journal_continue_across_restart(tmp_path):
    path = str(tmp_path / "cti.db")
    bus = _bus(open_store(path))
    for i in range(150):
        bus.publish({"type": "Note", "i": i})
    sent = list(bus._ring)
    bus.close()
    bus = _bus(open_store(path))
    try:
        assert bus.publish({"type": "Note", "i": 150}) == 151
        bus.flush()
        rows = bus.store.events_after(0, 1000)
        assert [s for s, _ in rows] == list(range(1, 152))
        assert [b for _, b in rows[:150]] == sent
    finally:
        bus.close()


def test_append_many_accepts_growing_and_refuses_stale_seqs():
    st = open_store(":memory:")
    st.append_many([(1, 1.0, "t", "x", b"\x01"), (2, 1.0, "t", "x", b"\x02"), (5, 2.0, "t", "x", b"\x05")])
    with pytest.raises(StoreError):
        st.append_many([(6, 1.0, "t", "x", b""), (8, 1.0, "t", "x", b""), (7, 1.0, "t", "x", b"")])
    with pytest.raises(StoreError):
        st.append_many([(5, 1.0, "t", "x", b"")])
    st.commit()
    assert st.events_after(0) == [(1, b"\x01"), (2, b"\x02"), (5, b"\x05")]
    st.close()


def test_publish_before_start_and_after_close_takes_no_seq(tmp_path):
    path = str(tmp_path / "c.db")
    st = open_store(path)
    st.append(7, 1.0, "t", "x", b"\x80")
    st.close()
    bus = BusServer(open_store(path), endpoints=Endpoints(ANY, ANY, ANY))
    assert bus.seq == 7 and bus.published == 0
    with pytest.raises(RuntimeError):
        bus.publish({"type": "Early"})
    bus.start()
    assert bus.publish({"type": "Note"}) == 8 and bus.seq == 8 and bus.published == 1
    bus.close()
    with pytest.raises(zmq.ZMQError):
        bus.publish({"type": "Late"})
    assert bus.seq == 8
    st = open_store(path)
    assert st.last_seq() == 8
    st.close()
