"""Versioned schema migrations (issue 19 section 3): a database of every earlier version, with
data in it, is brought to the current version at start and loses nothing; a CDR table that
lacks a column is repaired instead of failing every CDR write behind "journal write failed"."""
from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import msgpack
import pytest

from cti.store import StoreError, open_store
from cti.store.base import CDR_FIELDS
from cti.store.migrations import LATEST, MIGRATIONS, TABLE, Dialect, migrate, version

FRAMES = [msgpack.packb({"type": "Note", "seq": i, "i": i}) for i in range(1, 6)]
CDR = {"call": "7", "direction": "in", "calling": "139", "called": "8001", "device": "8001", "span": 0,
       "ts": 1, "signalling": "ss7", "started": 1.0, "answered": 2.0, "ended": 5.0, "talk_seconds": 3.0,
       "cause": 16, "outcome": "answered", "merged_into": None, "merged": "[]", "recorded_at": 5.5}


class Db:
    """One database, raw (DB-API) and as a store."""

    def __init__(self, kind: str, connect: Callable[[], Any], url: str, d: Dialect) -> None:
        self.kind, self.connect, self.url, self.d = kind, connect, url, d

    def store(self) -> Any:
        return open_store(self.url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, tmp_path) -> Iterator[Db]:
    if request.param == "sqlite":
        path = str(tmp_path / "old.db")
        yield Db("sqlite", lambda: sqlite3.connect(path, isolation_level="IMMEDIATE"), path, Dialect("sqlite"))
        return
    url = os.environ.get("CTI_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("CTI_TEST_POSTGRES_URL not set (no PostgreSQL server)")
    psycopg = pytest.importorskip("psycopg", reason="psycopg not installed")
    schema = "m" + uuid.uuid4().hex[:12]
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    scoped = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    yield Db("postgres", lambda: psycopg.connect(scoped), scoped,
             Dialect("postgresql", "DOUBLE PRECISION", "BYTEA", "%s"))
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"DROP SCHEMA {schema} CASCADE")


def _fill(conn: Any, d: Dialect, v: int) -> None:
    """Rows as a server of schema version ``v`` wrote them."""
    p = d.ph
    cur = conn.cursor()
    if v >= 2:        # pages: one row holds 1..4, one row holds 5
        cur.execute(f"INSERT INTO journal (seq, last, time, topic, type, body) VALUES ({p},{p},{p},{p},{p},{p})",
                    (1, 4, 4.0, "t", "page", msgpack.packb(FRAMES[:4], use_bin_type=True)))
        cur.execute(f"INSERT INTO journal (seq, last, time, topic, type, body) VALUES ({p},{p},{p},{p},{p},{p})",
                    (5, 5, 5.0, "t", "Note", FRAMES[4]))
    else:             # one event per row
        for i, f in enumerate(FRAMES, 1):
            cur.execute(f"INSERT INTO journal (seq, time, topic, type, body) VALUES ({p},{p},{p},{p},{p})",
                        (i, float(i), "t", "Note", f))
    cols = ", ".join(CDR)
    cur.execute(f"INSERT INTO cdr ({cols}) VALUES ({', '.join([p] * len(CDR))})", tuple(CDR.values()))
    cur.execute(f"INSERT INTO meta (key, value) VALUES ({p}, {p})", ("next_call", "8"))
    cur.execute(f"INSERT INTO meta (key, value) VALUES ({p}, {p})", ("bus.seq_reserved", "10005"))
    conn.commit()


def _check_upgraded(st: Any, epoch: str | None = None) -> None:
    assert st.last_seq() == 5 and [f for _, f in st.events_after(0)] == FRAMES
    assert st.cdrs()[0] == {**CDR, "merged": [], "route_device": None, "user_data": {}}
    assert st.get_meta("next_call") == "8" and st.reserved_seq() == 10005
    e = st.epoch()
    assert isinstance(e, str) and (epoch is None or e == epoch)
    # and it goes on working: a new page and a new CDR
    st.append_many([(6, 6.0, "t", "Note", b"\x06"), (7, 7.0, "t", "Note", b"\x07")])
    st.write_cdr({"call": "8", "ended": 9.0})
    st.commit()
    assert [s for s, _ in st.events_after(4)] == [5, 6, 7] and [c["call"] for c in st.cdrs()] == ["7", "8"]


@pytest.mark.parametrize("start", range(0, LATEST))
@pytest.mark.parametrize("legacy", [False, True])
def test_every_earlier_version_with_data_is_upgraded(db, start, legacy):
    if legacy and start not in (1, 2):
        pytest.skip("only versions 1 and 2 existed before the migrations table")
    conn = db.connect()
    try:
        assert migrate(conn, db.d, target=start) == list(range(1, start + 1))
        if start:
            _fill(conn, db.d, start)
        if legacy:                          # what a server before this change left: no migrations table
            conn.cursor().execute(f"DROP TABLE {TABLE}")
            conn.commit()
        assert version(conn.cursor(), db.d) == start
        conn.rollback()
    finally:
        conn.close()
    st = db.store()
    try:
        assert st.migrations_applied == list(range(start + 1, LATEST + 1))
        if start:
            _check_upgraded(st)
        epoch = st.epoch()
    finally:
        st.close()
    st = db.store()                         # again: nothing to do, the same epoch
    try:
        assert st.migrations_applied == []
        if start:
            assert st.epoch() == epoch and st.last_seq() == 7
    finally:
        st.close()
    conn = db.connect()
    try:
        cur = conn.cursor()
        cur.execute(f"SELECT version FROM {TABLE} ORDER BY version")
        assert [r[0] for r in cur.fetchall()] == list(range(1, LATEST + 1))
    finally:
        conn.close()


def test_a_cdr_table_missing_columns_is_repaired_and_no_record_is_lost(db):
    conn = db.connect()
    try:
        migrate(conn, db.d, target=3)
        cur = conn.cursor()
        cur.execute("DROP TABLE cdr")                 # as a build whose table lacked two columns made it
        cur.execute("CREATE TABLE cdr (call TEXT PRIMARY KEY, direction TEXT, calling TEXT, called TEXT, "
                    "device TEXT, span INTEGER, ts INTEGER, signalling TEXT, started REAL, answered REAL, "
                    "ended REAL, talk_seconds REAL, cause INTEGER, outcome TEXT, merged_into TEXT, merged TEXT)")
        cur.execute("INSERT INTO cdr (call, ended) VALUES ('1', 1.0)")
        conn.commit()
    finally:
        conn.close()
    st = db.store()
    try:
        st.write_cdr({"call": "2", "ended": 2.0})
        st.commit()
        assert [c["call"] for c in st.cdrs()] == ["1", "2"] and st.cdrs()[1]["recorded_at"] is not None
    finally:
        st.close()


def test_a_newer_schema_is_refused(tmp_path):
    path = str(tmp_path / "new.db")
    open_store(path).close()
    c = sqlite3.connect(path)
    c.execute(f"INSERT INTO {TABLE} (version, name, applied_at) VALUES (?, 'from the future', 0)", (LATEST + 1,))
    c.commit()
    c.close()
    with pytest.raises(StoreError, match="newer than this code"):
        open_store(path)


def test_a_failed_cdr_write_keeps_the_cdrs_and_says_what_failed(tmp_path):
    st = open_store(str(tmp_path / "f.db"))
    try:
        st.write_cdr({"call": "1", "ended": 1.0})
        st.commit_soon()
        st.commit()
        # break the next CDR write underneath the store (what a schema mismatch did)
        with st._lock:
            st.conn.execute("ALTER TABLE cdr RENAME TO cdr_gone")
            st.conn.commit()
        st.write_cdr({"call": "2", "ended": 2.0})
        st.commit_soon()
        with pytest.raises(StoreError, match=r"CDR/meta write failed.*CDRs and meta kept"):
            st._drain()
        with st._lock:
            st.conn.execute("ALTER TABLE cdr_gone RENAME TO cdr")
            st.conn.commit()
        st.commit()                                    # tried again: nothing was lost
        assert [c["call"] for c in st.cdrs()] == ["1", "2"]
    finally:
        st.close()


def test_one_file_per_version_in_order():
    names = [m.__name__.rsplit(".", 1)[1] for m in MIGRATIONS]
    assert names == sorted(names) and [int(n[1:4]) for n in names] == list(range(1, LATEST + 1))
    assert all(callable(m.up) and m.NAME for m in MIGRATIONS)
    assert set(CDR_FIELDS) <= {c for m in MIGRATIONS for c, _ in getattr(m, "CDR_COLUMNS", ())}


def test_the_media_message_box_is_a_table_of_the_store(db):
    """Version 5 (cti/voicemail/messages.py): the store's database holds voicemail messages and faxes."""
    with db.store():
        pass
    conn = db.connect()
    try:
        cur = conn.cursor()
        from cti.store.migrations import columns
        assert columns(cur, db.d, "media_message") == {"id", "kind", "time", "call", "caller", "box", "path",
                                                         "status", "meta"}
    finally:
        conn.close()
