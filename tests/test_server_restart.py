"""Server restart: seq and call ids continue, the journal replays; retention prunes; clients resync."""
from __future__ import annotations

import threading

import pytest

from cti.bus.client import BusClient
from cti.config import Config
from cti.cli.wiring import build_server
from cti.server import BackgroundServer

ANY = "tcp://127.0.0.1:*"


def cfg(path, **server):
    return Config.from_dict({"server": {"store": str(path), **server},
                             "bus": {"events": ANY, "snapshot": ANY, "control": ANY},
                             "board": {"driver": "loopback"}, "trunk": [{"signalling": "loop", "spans": [0]}]})


def run_calls(srv, n):
    trunk = srv.adapters[0]
    for i in range(n):
        circ = trunk.ring("8001", f"139{i:08d}", srv.now())
        srv.step(0)
        trunk.far_clear(circ, srv.now())
        srv.step(0)


def test_restart_continues_seq_call_ids_and_replays(tmp_path):
    db = tmp_path / "cti.db"
    srv = build_server(cfg(db)).start()
    run_calls(srv, 3)
    first_seq = srv.bus.seq
    srv.close()
    srv = build_server(cfg(db)).start()
    run_calls(srv, 2)
    with BackgroundServer(srv), BusClient(srv.bus.endpoints) as c:
        evs = list(c.subscribe(after=0).events(0.5))
        seqs = [e["seq"] for e in evs]
        assert seqs == list(range(1, len(seqs) + 1)) and seqs[-1] > first_seq
        starts = [e["seq"] for e in evs if e["type"] == "ServerStarted"]
        assert len(starts) == 2 and starts[1] == first_seq + 1
        ids = [e["call"] for e in evs if e["type"] == "Offered"]
        assert ids == ["1", "2", "3", "4", "5"]                # call ids are never reused
        assert [r["call"] for r in c_cdrs(srv)] == ids


def c_cdrs(srv):
    return srv.store.cdrs()


def test_retention_prunes_and_a_resuming_client_resyncs_from_snapshot(tmp_path):
    srv = build_server(cfg(tmp_path / "r.db", retention_events=5)).start()
    run_calls(srv, 4)
    srv.store.commit()                                  # the journal written: what a background prune sees
    srv._last_prune = 0.0
    srv.store.maint.wait()
    prunes = srv.store.maint.prunes
    srv.step(0)                                         # housekeeping applies retention
    srv.store.maint.wait()                              # ... on the store's maintenance thread
    assert srv.store.maint.prunes == prunes + 1
    assert 1 < srv.store.oldest_seq() <= srv.bus.seq - 4     # at least 5 kept, whole rows pruned
    srv.bus._ring.clear()                               # as after a restart: only the journal is left
    with BackgroundServer(srv), BusClient(srv.bus.endpoints) as c:
        sub = c.subscribe(after=1)
        assert sub.resynced == 1 and sub.snapshot["seq"] == srv.bus.seq
        srv.call_soon(lambda: run_calls(srv, 1))
        evs = list(sub.events(0.5))
        assert evs and evs[0]["seq"] == sub.snapshot["seq"] + 1


def test_housekeeping_prune_never_holds_up_the_loop(tmp_path, monkeypatch):
    from cti.store import maint
    srv = build_server(cfg(tmp_path / "h.db", retention_events=5)).start()
    run_calls(srv, 3)
    srv.store.commit()
    srv.store.maint.wait()
    entered, gate = threading.Event(), threading.Event()
    real = maint.prune_chunks

    def held(*a, **k):                  # a prune that takes as long as the test says
        entered.set()
        gate.wait(10)
        return real(*a, **k)
    monkeypatch.setattr(maint, "prune_chunks", held)
    prunes = srv.store.maint.prunes
    try:
        srv._last_prune = 0.0
        srv.step(0)                                     # starts the prune, does not wait for it
        assert entered.wait(5)
        seq = srv.bus.seq
        run_calls(srv, 2)                               # the loop goes on: calls, events, journal
        srv.bus.flush()
        assert srv.bus.seq > seq and srv.store.last_seq() == srv.bus.seq
        assert srv.store.maint.prunes == prunes          # ... all while the prune was still held
    finally:
        gate.set()
    srv.store.maint.wait()
    assert srv.store.maint.prunes == prunes + 1 and srv.store.oldest_seq() > 1 and srv.store.maint.error is None
    srv.close()


@pytest.mark.postgres
def test_restart_on_postgresql(tmp_path):
    import os
    import uuid
    url = os.environ.get("CTI_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("CTI_TEST_POSTGRES_URL not set (no PostgreSQL server)")
    psycopg = pytest.importorskip("psycopg")
    schema = "r" + uuid.uuid4().hex[:12]
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    scoped = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    try:
        srv = build_server(cfg(scoped)).start()
        run_calls(srv, 2)
        last = srv.bus.seq
        srv.close()
        srv = build_server(cfg(scoped)).start()
        assert srv.bus.seq == last + 1 + 1 + 1    # ServerStarted + SpanState + ServerReady after the restart
        run_calls(srv, 1)
        assert [r["call"] for r in srv.store.cdrs()] == ["1", "2", "3"]
        assert [s for s, _ in srv.store.events_after(0, 1000)] == list(range(1, srv.bus.seq + 1))
        srv.close()
    finally:
        with psycopg.connect(url, autocommit=True) as c:
            c.execute(f"DROP SCHEMA {schema} CASCADE")
