"""Shared state in PostgreSQL (issue 17 point 3): the nodes of a cluster share one database;
each node's journal and meta rows are its own (node column, schema version 7), the CDRs are
the cluster's. Marked ``postgres`` (CTI_TEST_POSTGRES_URL, started by .ci/run)."""
from __future__ import annotations


import pytest

from cluster_rig import pg_url_fixture  # noqa: F401  (the pg_url fixture)
from cti.store import open_store
from cti.store.migrations import LATEST, Dialect, migrate

pytestmark = pytest.mark.postgres
psycopg = pytest.importorskip("psycopg", reason="psycopg not installed (pip install 'psycopg[binary]')")

PG = Dialect("postgresql", "DOUBLE PRECISION", "BYTEA", "%s")


def _events(first: int, n: int, tag: bytes) -> list[tuple[int, float, str, str, bytes]]:
    return [(s, float(s), "t", "Note", tag + bytes([s % 256])) for s in range(first, first + n)]


def test_two_nodes_share_one_database_each_with_its_own_journal(pg_url: str) -> None:
    a, b = open_store(pg_url, node="a"), open_store(pg_url, node="b")
    try:
        a.append_many(_events(1, 100, b"a"))
        b.append_many(_events(1, 30, b"b"))          # the same seqs: each node's own
        a.write_cdr({"call": "a-1", "ended": 5.0})
        b.write_cdr({"call": "b-1", "ended": 6.0})
        a.set_meta("next_call", "2")
        b.set_meta("next_call", "9")
        a.commit()
        b.commit()
        assert a.epoch() != b.epoch()
        a.reserve_seq(10_100)
        b.reserve_seq(10_030)
        assert (a.last_seq(), b.last_seq()) == (100, 30)
        assert [f for _, f in a.events_after(98)] == [b"a\x63", b"a\x64"]
        assert [f for _, f in b.events_after(28)] == [b"b\x1d", b"b\x1e"]
        assert {c["call"] for c in a.cdrs()} == {c["call"] for c in b.cdrs()} == {"a-1", "b-1"}   # the cluster's
        assert a.prune(keep_events=10) > 0            # a's retention never touches b's journal
        assert b.oldest_seq() == 1 and b.last_seq() == 30 and a.oldest_seq() > 1
    finally:
        a.close()
        b.close()
    a2, b2 = open_store(pg_url, node="a"), open_store(pg_url, node="b")   # restarts: each finds its own
    try:
        assert (a2.last_seq(), b2.last_seq()) == (100, 30)
        assert (a2.get_meta("next_call"), b2.get_meta("next_call")) == ("2", "9")
        assert (a2.reserved_seq(), b2.reserved_seq()) == (10_100, 10_030)
        with pytest.raises(Exception, match="seq must grow"):
            b2.append(30, 0.0, "t", "x", b"")
        b2.append(31, 31.0, "t", "Note", b"b31")
        b2.commit()
        assert a2.last_seq() == 100
    finally:
        a2.close()
        b2.close()


def test_version_6_database_with_data_keeps_it_as_the_single_node(pg_url: str) -> None:
    conn = psycopg.connect(pg_url)
    try:
        assert migrate(conn, PG, target=6) == [1, 2, 3, 4, 5, 6]
        cur = conn.cursor()
        cur.execute("INSERT INTO journal (seq, last, time, topic, type, body) VALUES (1, 1, 1.0, 't', 'Note', %s)",
                    (b"x1",))
        cur.execute("INSERT INTO meta (key, value) VALUES ('next_call', '41')")
        cur.execute("INSERT INTO cdr (call, ended) VALUES ('40', 1.0)")
        cur.execute("SELECT value FROM meta WHERE key = 'journal.epoch'")
        epoch = cur.fetchone()[0]
        conn.commit()
    finally:
        conn.close()
    single = open_store(pg_url)                      # node '': what it was
    try:
        assert single.migrations_applied == [LATEST] == [7]
        assert single.last_seq() == 1 and single.events_after(0) == [(1, b"x1")]
        assert single.get_meta("next_call") == "41" and single.epoch() == epoch
    finally:
        single.close()
    joined = open_store(pg_url, node="a")           # a cluster node in the same database: a journal of its own
    try:
        assert joined.migrations_applied == [] and joined.last_seq() == 0 and joined.get_meta("next_call") is None
        assert joined.epoch() != epoch and [c["call"] for c in joined.cdrs()] == ["40"]
    finally:
        joined.close()
