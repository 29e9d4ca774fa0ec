"""Seqs are never reused: durable reservations, the JournalGap of an unclean stop, clean stops,
declared and undeclared gaps at the client, background prunes."""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import uuid

import msgpack
import pytest

from cti.bus import seqs as bus_seqs
from cti.bus.client import BusClient
from cti.bus.codec import unpack_event
from cti.bus.server import BusServer, Endpoints
from cti.store import StoreError, open_store
from cti.store.maint import SEQ_RESERVED

ANY = "tcp://127.0.0.1:*"


def _bus(store) -> BusServer:
    return BusServer(store, endpoints=Endpoints(ANY, ANY, ANY)).start()


def _crash(bus: BusServer) -> None:
    """What SIGKILL leaves of ``bus``: what its store committed; nothing else is flushed."""
    for s in (bus.pub, bus.snap, bus.ctl):
        s.close(0)
    bus.ctx.destroy(0)
    st = bus.store
    if st.journal_writer is not None:
        st.journal_writer.close()         # the rows handed over so far; the unflushed ones are lost
    st.maint.close()
    st.conn.close()                       # PostgreSQL: the session ends as the process's would


@contextlib.contextmanager
def serving(bus: BusServer):
    """Serve ``bus``'s sockets on a thread while the block runs (nothing else touches it then)."""
    stop = threading.Event()
    t = threading.Thread(target=lambda: [bus.poll(5) for _ in iter(stop.is_set, True)])
    t.start()
    try:
        yield bus
    finally:
        stop.set()
        t.join()


def _events(bus: BusServer, after: int) -> list[dict]:
    return [unpack_event(b) for _, b in bus.store.events_after(after, 100_000)]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request, tmp_path):
    """A store URL: a SQLite file, or a fresh schema on CTI_TEST_POSTGRES_URL."""
    if request.param == "sqlite":
        yield str(tmp_path / "j.db")
        return
    url = os.environ.get("CTI_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("CTI_TEST_POSTGRES_URL not set (no PostgreSQL server)")
    psycopg = pytest.importorskip("psycopg")
    schema = "d" + uuid.uuid4().hex[:12]
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"DROP SCHEMA {schema} CASCADE")


def test_unclean_stop_declares_the_unjournaled_seqs_and_never_reuses_them(store_url):
    path = store_url
    bus = _bus(open_store(path))
    for i in range(10):
        bus.publish({"type": "Note", "n": i})
    bus.flush()
    bus.store.commit()
    for i in range(5):                                      # sent on PUB, never journaled
        bus.publish({"type": "Note", "n": 10 + i})
    assert bus.seq == 15 and bus.store.seq_reserved >= 15    # reserved before they went out
    _crash(bus)

    st = open_store(path)
    reserved = st.reserved_seq()
    assert st.last_seq() == 10 and reserved >= 15
    bus2 = _bus(st)
    try:
        assert bus2.gap == (11, reserved)
        gap_seq = reserved + 1
        assert bus2.seq == gap_seq                            # the JournalGap is the first event
        assert bus2.publish({"type": "After"}) == gap_seq + 1  # nothing below the reservation again
        bus2.flush()
        evs = _events(bus2, 0)
        assert [e["seq"] for e in evs] == [*range(1, 11), gap_seq, gap_seq + 1]
        gap = evs[10]
        assert gap["type"] == "JournalGap" and (gap["first"], gap["last"]) == (11, reserved)
        assert gap["topic"] == "server.journal_gap"
        with serving(bus2), BusClient(bus2.endpoints) as c:
            for after in (5, 12, reserved):                   # before, inside, at the end of the gap
                sub = c.subscribe(after=after)
                seqs = [e["seq"] for e in sub.events(0.3)]
                assert seqs == [*range(after + 1, 11), gap_seq, gap_seq + 1]
                assert sub.gaps == [(11, reserved)] and sub.undeclared == []
                sub.close()
    finally:
        bus2.close()
        st.close()


def test_clean_close_lowers_the_reservation_and_declares_nothing(store_url):
    path = store_url
    bus = _bus(open_store(path))
    for i in range(25):
        bus.publish({"type": "Note", "n": i})
    bus.close()
    bus.store.close()
    st = open_store(path)
    assert st.reserved_seq() == st.last_seq() == 25
    bus = _bus(st)
    try:
        assert bus.gap is None and bus.publish({"type": "Note"}) == 26
    finally:
        bus.close()
        st.close()


@pytest.mark.parametrize("where", ["memory", "file"])
def test_every_published_seq_is_reserved_durably_first(where, tmp_path, monkeypatch):
    monkeypatch.setattr(bus_seqs, "RESERVE_MIN", 100)    # many blocks
    st = open_store(":memory:" if where == "memory" else str(tmp_path / "r.db"))
    bus = _bus(st)
    try:
        for i in range(5000):
            bus.publish({"type": "Note", "n": i})
            if i % 37 == 0:
                bus.flush()
            assert st.seq_reserved >= bus.seq
        bus.flush()
        assert int(st.get_meta(SEQ_RESERVED)) >= bus.seq
    finally:
        bus.close()
    assert st.reserved_seq() == st.last_seq() == 5000
    st.close()


def test_a_failed_reservation_raises_and_takes_no_seq(monkeypatch):
    st = open_store(":memory:")
    bus = _bus(st)
    try:
        limit = bus._publisher.limit
        for _ in range(limit - bus.seq):
            bus.publish({"type": "Note"})

        def broken(upto, wait=True):
            raise StoreError("disk full")
        monkeypatch.setattr(st, "reserve_seq", broken)
        seq = bus.seq
        with pytest.raises(StoreError, match="disk full"):
            bus.publish({"type": "Note"})
        assert bus.seq == seq and bus._ring and unpack_event(bus._ring[-1])["seq"] == seq
        monkeypatch.undo()
        assert bus.publish({"type": "Note"}) == seq + 1
    finally:
        bus.close()


def test_client_flags_a_server_that_went_back(tmp_path, caplog):
    # a journal whose server never reserved (or was replaced): head 3, the client saw 9
    bus = _bus(open_store(str(tmp_path / "b.db")))
    try:
        for _ in range(3):
            bus.publish({"type": "Note"})
        with serving(bus), BusClient(bus.endpoints) as c, caplog.at_level(logging.ERROR, "cti.bus.client"):
            sub = c.subscribe(after=9)
            assert sub.undeclared == [(4, 9)] and sub.last == 3
            assert "undeclared gap" in caplog.text
            sub.close()
    finally:
        bus.close()


def test_client_flags_a_replay_hole_nothing_declares(tmp_path):
    path = str(tmp_path / "h.db")
    st = open_store(path)
    st.append_many([(s, 1.0, "t", "Note", _frame(s)) for s in (1, 2, 3, 7, 8)])
    st.set_meta(SEQ_RESERVED, "8")
    st.close()
    bus = _bus(open_store(path))
    try:
        with serving(bus), BusClient(bus.endpoints) as c:
            sub = c.subscribe(after=1)
            seqs = [e["seq"] for e in sub.events(0.3)]
            assert seqs == [2, 3, 7, 8]
            assert sub.undeclared == [(4, 6)] and sub.gaps == []
            sub.close()
    finally:
        bus.close()


def _frame(seq: int) -> bytes:
    return msgpack.packb({"type": "Note", "seq": seq, "time": 1.0, "v": 1, "topic": "note"})


@pytest.mark.parametrize("where", ["memory", "file"])
def test_prune_soon_runs_off_the_callers_thread_and_keeps_the_newest_row(where, tmp_path):
    st = open_store(":memory:" if where == "memory" else str(tmp_path / "p.db"))
    bus = _bus(st)
    try:
        for i in range(3000):
            bus.publish({"type": "Note", "n": i})
            if i % 100 == 99:
                bus.flush()
        bus.flush()
        st.commit()
        st.prune_soon(keep_events=500)
        st.maint.wait()
        assert st.maint.prunes == 1 and st.maint.pruned >= 2000 and st.maint.error is None
        assert 2000 < st.oldest_seq() <= 2501
        assert [s for s, _ in st.events_after(2999)] == [3000]
        st.prune_soon(keep_seconds=0.0, now=1e12)           # everything old: the newest row stays
        st.maint.wait()
        assert st.oldest_seq() is not None and st.last_seq() == 3000
        assert bus.publish({"type": "Note"}) == 3001
    finally:
        bus.close()
        st.close()


def test_a_crash_before_the_first_journal_write_still_replays_the_declaration(tmp_path):
    path = str(tmp_path / "e.db")
    bus = _bus(open_store(path))
    for i in range(5):
        bus.publish({"type": "Note", "n": i})          # nothing reaches the journal
    _crash(bus)
    st = open_store(path)
    bus = _bus(st)
    try:
        r = bus.gap[1]
        bus.flush()
        assert bus.gap == (1, r) and st.oldest_seq() == r + 1
        bus._ring.clear()                               # replay from the journal, whose first event is the gap
        with serving(bus), BusClient(bus.endpoints) as c:
            sub = c.subscribe(after=3)                  # no ReplayGapError: the range is declared
            evs = list(sub.events(0.3))
            assert [e["type"] for e in evs] == ["JournalGap"] and sub.resynced == 0
            assert sub.gaps == [(1, r)] and sub.undeclared == []
            sub.close()
    finally:
        bus.close()
        st.close()


def _crm():
    import importlib.util
    import pathlib
    spec = importlib.util.spec_from_file_location(
        "crm_client", pathlib.Path(__file__).resolve().parent.parent / "docs" / "examples" / "crm_client.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.system
def test_crm_client_logs_a_declared_gap_and_stops_on_an_undeclared_one_when_strict(tmp_path, capsys):
    path = str(tmp_path / "crm.db")
    bus = _bus(open_store(path))
    for i in range(4):
        bus.publish({"type": "Note", "n": i})
    bus.flush()
    bus.store.commit()
    bus.publish({"type": "Note"})                       # seq 5: seen by the CRM, lost by the crash
    _crash(bus)
    st = open_store(path)
    bus = _bus(st)
    crm = _crm()
    state = tmp_path / "crm.seq"
    try:
        r = bus.gap[1]
        eps = bus.endpoints
        args = ["--events", eps.events, "--snapshot", eps.snapshot, "--control", eps.control,
                "--state", str(state), "--idle", "0.5"]
        with serving(bus):
            state.write_text("5")
            assert crm.main(args) == 0
            err = capsys.readouterr().err
            assert f"declared gap: seqs 5..{r} were lost" in err and "ERROR" not in err
            seq, epoch = state.read_text().split()      # the last seq, and the journal it belongs to
            assert int(seq) == r + 1 and epoch == bus.epoch     # the JournalGap's seq: done with
            state.write_text(f"{r + 50} {bus.epoch}")  # a CRM that saw seqs this journal never had
            assert crm.main([*args, "--strict"]) == 3
            assert f"ERROR: seqs {r + 2}..{r + 50} are missing" in capsys.readouterr().err
            state.write_text(f"{r + 50} 0123456789abcdef")     # seqs of another journal: resync
            assert crm.main([*args, "--strict"]) == 0
            assert "ERROR" not in capsys.readouterr().err
    finally:
        bus.close()
        st.close()
