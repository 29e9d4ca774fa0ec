"""Store: journal append/replay/retention, CDRs, meta; survives reopen. SQLite always, PostgreSQL when available."""
from __future__ import annotations

import os
import time
import uuid

import pytest

from cti.store import SqliteStore, StoreError, open_store



@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def reopen(request, tmp_path):
    """A factory opening the same store again (to test restarts)."""
    if request.param == "sqlite":
        path = str(tmp_path / "cti.db")
        yield lambda: open_store(path)
        return
    url = os.environ.get("CTI_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("CTI_TEST_POSTGRES_URL not set (no PostgreSQL server)")
    try:
        import psycopg
    except ImportError:
        pytest.skip("psycopg not installed")
    schema = "t" + uuid.uuid4().hex[:12]
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in url else "?"
    scoped = f"{url}{sep}options=-csearch_path%3D{schema}"
    yield lambda: open_store(scoped)
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"DROP SCHEMA {schema} CASCADE")


def test_journal_append_replay_and_restart(reopen):
    st = reopen()
    assert st.last_seq() == 0 and st.oldest_seq() is None
    for i in range(1, 251):
        st.append(i, 1000.0 + i, f"call.0.{i % 30}", "Offered", b"\x81\xa1a" + bytes([i % 128]))
    assert st.last_seq() == 250            # queued counts before commit
    st.commit()
    rows = st.events_after(100, limit=10)
    assert [s for s, _ in rows] == list(range(101, 111))
    assert rows[0][1] == b"\x81\xa1a" + bytes([101])
    assert [s for s, _ in st.events_after(63, limit=3)] == [64, 65, 66]      # across a page boundary
    with pytest.raises(StoreError):
        st.append(250, 0.0, "x", "y", b"")
    st.set_meta("next_call", "42")
    st.close()
    st = reopen()                           # restart: seq continues, journal replays
    assert st.last_seq() == 250 and st.get_meta("next_call") == "42"
    assert len(st.events_after(0, limit=1000)) == 250
    st.append(251, 2000.0, "span.0", "SpanState", b"\x80")
    gone = st.prune(keep_events=100)                     # whole journal rows (pages) go
    oldest = st.oldest_seq()
    assert gone == oldest - 1 and 251 - 100 - 64 < oldest <= 152
    assert [s for s, _ in st.events_after(0, 1000)] == list(range(oldest, 252))
    assert st.prune(keep_seconds=10, now=2005.0) == 251 - oldest   # the newest row always stays
    assert st.oldest_seq() == 251 and st.last_seq() == 251
    st.close()


def test_cdr_written_and_read_back(reopen):
    st = reopen()
    cdr = {"call": "7", "direction": "in", "calling": "139", "called": "8001", "device": "8001",
           "span": 0, "ts": 5, "signalling": "ss7", "started": 1.0, "answered": 2.0, "ended": 9.5,
           "talk_seconds": 7.5, "cause": 16, "outcome": "answered", "merged_into": None, "merged": ["8"]}
    st.write_cdr(cdr)
    st.write_cdr(dict(cdr))                 # a duplicate (replayed clear) is ignored
    st.close()
    st = reopen()
    (row,) = st.cdrs()
    assert {k: row[k] for k in cdr} == cdr and row["recorded_at"] > 0
    st.close()


def test_bad_urls_are_store_errors(tmp_path):
    with pytest.raises(StoreError):
        open_store("")
    with pytest.raises(StoreError):
        SqliteStore(str(tmp_path / "missing" / "x.db"))
    assert open_store("sqlite://:memory:").last_seq() == 0
    assert isinstance(open_store(f"sqlite://{tmp_path}/a.db"), SqliteStore)


def test_journal_from_before_pages_is_migrated(tmp_path):
    import sqlite3
    path = str(tmp_path / "old.db")
    c = sqlite3.connect(path)
    c.execute("CREATE TABLE journal (seq BIGINT PRIMARY KEY, time REAL NOT NULL, topic TEXT NOT NULL, "
              "type TEXT NOT NULL, body BLOB NOT NULL)")
    c.executemany("INSERT INTO journal VALUES (?, ?, ?, ?, ?)", [(i, float(i), "t", "x", bytes([i])) for i in (1, 2, 3)])
    c.commit()
    c.close()
    st = open_store(path)
    assert st.last_seq() == 3 and st.events_after(1) == [(2, b"\x02"), (3, b"\x03")]
    st.append(4, 4.0, "t", "x", b"\x04")
    assert [s for s, _ in st.events_after(0)] == [1, 2, 3, 4]
    st.close()


def test_commit_soon_writes_in_background_and_reads_wait_for_it(tmp_path):
    st = open_store(str(tmp_path / "bg.db"))
    st.append_many([(i, float(i), "call.0.1", "Offered", bytes([i])) for i in range(1, 201)])
    st.commit_soon()                         # the journal writer takes it; reads wait for it
    assert [s for s, _ in st.events_after(0, 1000)] == list(range(1, 201))
    st.append(201, 201.0, "span.0", "SpanState", b"\xc0")
    st.write_cdr({"call": "1", "ended": 5.0})
    st.commit_soon()                         # journal rows to the journal writer, the CDR to the store's thread
    jw, writer = st.journal_writer, st._writer
    assert jw is not None and writer is not None
    st.close()                               # waits for both writes, stops both threads
    assert not writer.is_alive() and jw.closed
    st = open_store(str(tmp_path / "bg.db"))
    assert st.last_seq() == 201 and st.events_after(199) == [(200, bytes([200])), (201, b"\xc0")]
    assert [c["call"] for c in st.cdrs()] == ["1"]
    st.close()


def _collide(st, seq: int) -> None:
    """A journal row the store does not know of: the next insert of ``seq`` collides."""
    st.conn.execute(f"INSERT INTO journal (seq, last, time, topic, type, body) VALUES ({seq}, {seq}, 0, 't', 'x', x'00')")
    st.conn.commit()


def test_background_write_failure_is_reported_on_the_owner_thread(tmp_path):
    st = open_store(str(tmp_path / "fail.db"))
    _collide(st, 5)
    st.append(5, 1.0, "t", "x", b"\x01")
    st.commit_soon()
    with pytest.raises(StoreError, match=r"journal write failed.*UNIQUE"):
        st.commit()
    st.append(6, 2.0, "t", "x", b"\x02")    # the store goes on
    st.commit()
    assert st.events_after(5) == [(6, b"\x02")]
    _collide(st, 7)
    st.append(7, 3.0, "t", "x", b"\x07")
    st.commit_soon()
    deadline = time.monotonic() + 10
    while not st.journal_writer.failed:      # let the writer fail
        assert time.monotonic() < deadline
        time.sleep(0.001)
    with pytest.raises(StoreError, match="journal write failed"):
        st.commit_soon()                     # the next hand-off (the bus's flush) raises it
    st.append(8, 4.0, "t", "x", b"\x08")
    st.commit_soon()
    assert st.events_after(7) == [(8, b"\x08")]
    st.close()


def test_meta_is_queued_and_written_with_the_next_commit(reopen):
    st = reopen()
    st.set_meta("next_call", "7")
    assert st.get_meta("next_call") == "7"          # a queued value reads back at once
    st.set_meta("next_call", "8")                   # the newest value wins
    st.commit_soon()
    st.set_meta("other", 5)
    assert st.get_meta("next_call") == "8" and st.get_meta("other") == "5"
    with pytest.raises(TypeError):
        st.set_meta(1, "x")
    st.close()
    st = reopen()
    assert st.get_meta("next_call") == "8" and st.get_meta("other") == "5" and st.get_meta("none") is None
    st.close()


def test_journal_and_cdr_writers_share_the_file_without_losing_anything(tmp_path):
    """The journal writer's connection and the store's (CDRs, meta) write the same file at once."""
    st = open_store(str(tmp_path / "both.db"))
    seq = 0
    for i in range(300):
        st.append_many([(seq + k + 1, float(i), "call.0.1", "Offered", b"\x80") for k in range(20)])
        seq += 20
        st.write_cdr({"call": str(i), "ended": float(i)})
        st.set_meta("next_call", str(i))
        st.commit_soon()                      # both threads write while the owner goes on
    st.close()
    st = open_store(str(tmp_path / "both.db"))
    assert [s for s, _ in st.events_after(0, 10_000)] == list(range(1, seq + 1))
    assert len(st.cdrs(1000)) == 300 and st.get_meta("next_call") == "299"
    st.close()


def test_seq_reservation_is_durable_lowers_on_request_and_survives_reopen(reopen):
    st = reopen()
    assert st.reserved_seq() == 0 and st.seq_reserved == -1
    st.reserve_seq(10_000)                          # waits: durable when it returns
    assert st.seq_reserved == 10_000
    st.reserve_seq(20_000, wait=False)              # written on the maintenance thread
    st.maint.wait()
    assert st.seq_reserved == 20_000 and st.reserved_seq() == 20_000
    st.set_meta("next_call", "7")                   # other meta keys are left alone
    st.commit()
    st2 = reopen()                                  # a second process's view: committed
    assert st2.reserved_seq() == 20_000
    st2.close()
    st.reserve_seq(5)                               # a clean stop lowers it
    st.close()
    st = reopen()
    assert st.reserved_seq() == 5 and st.get_meta("next_call") == "7"
    st.close()


def test_prune_soon_on_the_maintenance_thread(reopen):
    st = reopen()
    for i in range(1, 2001):
        st.append(i, 1000.0 + i, "t", "x", b"\x80")
        if i % 50 == 0:
            st.commit_soon()
    st.commit()
    st.prune_soon(keep_events=300)
    st.reserve_seq(3000, wait=False)
    st.maint.wait()
    assert st.maint.error is None and st.maint.prunes == 1 and st.seq_reserved == 3000
    oldest = st.oldest_seq()
    assert st.maint.pruned == oldest - 1 and 2000 - 300 - 64 < oldest <= 1701
    assert [s for s, _ in st.events_after(oldest - 1, 5000)] == list(range(oldest, 2001))
    st.close()
