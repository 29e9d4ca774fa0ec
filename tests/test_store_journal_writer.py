"""The SQLite journal writer (compiled and twin): the rows SqlStore would write, byte for byte."""
from __future__ import annotations

import sqlite3
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.store import SqliteStore, StoreError, open_store
from cti.store.base import PAGE, _pages
from cti.store.sqlite import COMMIT_INTERVAL, journal_impl
from tests.conftest import kernel_impls, load_impl

IMPLS = kernel_impls("cti.store.journal")


def _journal_db(path) -> str:
    open_store(str(path)).close()          # the store creates the table (WAL mode)
    return str(path)


def _rows(path: str) -> list[tuple]:
    c = sqlite3.connect(path)
    try:
        return [tuple(bytes(v) if isinstance(v, bytes) else v for v in r)
                for r in c.execute("SELECT seq, last, time, topic, type, body FROM journal ORDER BY seq")]
    finally:
        c.close()


def _events(first: int, n: int, size: int = 3, topic: str = "call.0.1") -> list[tuple]:
    return [(s, 1000.0 + s, topic, "Offered", bytes([s % 256]) * size) for s in range(first, first + n)]


@pytest.mark.parametrize("impl", IMPLS)
def test_pages_are_the_stores_pages(impl, tmp_path):
    mod = load_impl(impl)
    path = _journal_db(tmp_path / "j.db")
    # one run longer than a page, a gap, single events, frames needing bin8/bin16/bin32 headers,
    # a run of more than 15 (array16 header) and non-ASCII topics
    batches = [_events(1, 150), _events(200, 1) + _events(202, 2, size=300),
               _events(300, 20, size=70_000, topic="queue.vente-é"), _events(400, 16, size=255)]
    w = mod.JournalWriter(path, PAGE)
    for b in batches:
        w.submit(list(b))
    assert w.wait() is None and w.idle and not w.failed
    assert w.close() is None and w.closed
    want = [p for b in batches for p in _pages(b)]
    assert _rows(path) == want
    assert open_store(path).events_after(0, 10_000) == [(r[0], r[4]) for b in batches for r in b]


@pytest.mark.system
@pytest.mark.parametrize("impl", IMPLS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_random_runs_match_the_python_pages(impl, tmp_path_factory, data):
    mod = load_impl(impl)
    path = _journal_db(tmp_path_factory.mktemp("j") / "j.db")
    page = data.draw(st.integers(1, 70))
    steps = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=200))   # seq increments
    seqs, s = [], 0
    for d in steps:
        s += d
        seqs.append(s)
    rows = [(q, float(q), data.draw(st.sampled_from(["a", "call.1.2", "ü"])), "T",
             data.draw(st.binary(max_size=300))) for q in seqs]
    w = mod.JournalWriter(path, page)
    cut = data.draw(st.integers(0, len(rows)))
    w.submit(rows[:cut])
    w.submit(rows[cut:])
    assert w.close() is None
    assert _rows(path) == list(_pages(rows[:cut], page)) + list(_pages(rows[cut:], page))


@pytest.mark.parametrize("impl", IMPLS)
def test_write_failure_is_reported_once_and_the_writer_goes_on(impl, tmp_path):
    mod = load_impl(impl)
    path = _journal_db(tmp_path / "j.db")
    c = sqlite3.connect(path)
    c.execute("INSERT INTO journal (seq, last, time, topic, type, body) VALUES (5, 5, 0, 't', 'x', x'00')")
    c.commit()
    c.close()
    w = mod.JournalWriter(path)
    w.submit(_events(1, 3) + _events(5, 1))     # one transaction: none of it is written
    err = w.wait()
    assert err is not None and "UNIQUE" in err and not w.failed
    assert w.wait() is None                       # reported once
    w.submit(_events(6, 2))
    assert w.close() is None
    assert [r[0] for r in _rows(path)] == [5, 6]


@pytest.mark.parametrize("impl", IMPLS)
def test_bad_rows_and_use_after_close(impl, tmp_path):
    mod = load_impl(impl)
    path = _journal_db(tmp_path / "j.db")
    w = mod.JournalWriter(path)
    for bad in ([(1, 1.0, "t", "x", "not bytes")], [(1, 1.0, "t", "x")], [[1, 1.0, "t", "x", b""]],
                [(1, 1.0, 5, "x", b"")], [("1", 1.0, "t", "x", b"")], [(1, "now", "t", "x", b"")]):
        with pytest.raises(TypeError):
            w.submit(bad)
    with pytest.raises(TypeError):
        w.submit((1, 1.0, "t", "x", b""))
    w.submit([])
    assert w.wait() is None and _rows(path) == []
    with pytest.raises(ValueError):
        mod.JournalWriter(path, 0)
    with pytest.raises(OSError):
        mod.JournalWriter(str(tmp_path / "missing" / "j.db"))
    assert w.close() is None and w.close() is None
    with pytest.raises(RuntimeError):
        w.submit(_events(1, 1))


def test_the_store_uses_the_compiled_writer_when_it_may():
    mod = journal_impl()
    assert mod.SAME_SQLITE and mod.__name__.startswith("cti.store.journal_")


@pytest.mark.parametrize("impl", IMPLS)
def test_group_commit_interval_never_delays_readers(impl, tmp_path):
    mod = load_impl(impl)
    path = _journal_db(tmp_path / "j.db")
    w = mod.JournalWriter(path, PAGE, 30.0)          # one transaction per 30 s at most...
    assert w.interval == 30.0
    w.submit(_events(1, 10))                         # the first write starts at once
    w.submit(_events(11, 10))                        # this one waits for the interval...
    assert w.wait() is None                          # ...unless someone waits for it
    assert [r[1] for r in _rows(path)][-1] == 20
    w.hurry_bytes = 100                              # or that many octets are queued
    w.submit(_events(21, 40, size=10))
    w.submit(_events(61, 40, size=10))
    deadline = time.monotonic() + 10
    while _rows(path)[-1][1] != 100:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    w.submit(_events(101, 1))
    assert w.close() is None                         # close does not wait for the interval either
    assert _rows(path)[-1][1] == 101
    with pytest.raises(ValueError):
        mod.JournalWriter(path, PAGE, -1.0)


def test_the_store_writes_in_group_commits(tmp_path):
    st = open_store(str(tmp_path / "s.db"))
    assert st.journal_writer.interval == COMMIT_INTERVAL > 0
    st.close()
    st = SqliteStore(str(tmp_path / "s.db"), commit_interval=0.0)
    assert st.journal_writer.interval == 0.0
    st.close()
    with pytest.raises(StoreError):
        SqliteStore(str(tmp_path / "t.db"), commit_interval=-1)


@pytest.mark.parametrize("impl", IMPLS)
def test_submit_waits_when_the_backlog_is_full(impl, tmp_path):
    mod = load_impl(impl)
    path = _journal_db(tmp_path / "j.db")
    w = mod.JournalWriter(path, PAGE, 30.0)
    w.max_bytes = 1000
    w.submit(_events(1, 5, size=10))
    for k in range(20):                              # each submit returns with the backlog under the bound
        w.submit(_events(6 + 50 * k, 50, size=30))
        assert w.backlog < 1000
    assert w.close() is None
    assert [r[1] for r in _rows(path)][-1] == 5 + 50 * 20
