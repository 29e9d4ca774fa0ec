"""SQLite store: the default, a file next to the server (no server to run)."""
from __future__ import annotations

import os
import sqlite3
from types import ModuleType
from typing import Any

from _boardcore import _select

from .base import PAGE, SqlStore, StoreError

#: database page size of new files (bytes; existing files keep theirs). A 64-event journal row
#: is about 12 KiB: 16 KiB pages hold one row each and cost the writer 4x the CPU per event
#: of 64 KiB pages, which hold five (group commits made the small per-turn commits, where
#: 16 KiB had won, a thing of the past; docs/bus.md)
PAGE_SIZE = 65536

#: the journal writer's transactions come at most once per this many seconds (group commit): a
#: write every loop turn costs the server's cores more than the events do at high rates
#: (docs/bus.md); reads, ``commit`` and ``close`` never wait for it
COMMIT_INTERVAL = 0.01


class SqliteStore(SqlStore):
    """Journal + CDRs in one SQLite file (WAL mode); ``":memory:"`` for tests."""

    def __init__(self, path: str = "cti.db", commit_interval: float = COMMIT_INTERVAL) -> None:
        if path != ":memory:":
            d = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(d):
                raise StoreError(f"directory {d} does not exist")
        try:
            # owner + the store's writer thread, one at a time (SqlStore); the journal writer has a
            # connection of its own: IMMEDIATE takes the write lock at BEGIN (busy-waited), so
            # neither side ever fails with SQLITE_BUSY_SNAPSHOT
            conn = sqlite3.connect(path, isolation_level="IMMEDIATE", check_same_thread=False, timeout=5.0)
            if path != ":memory:":
                # a new file only: SQLite keeps an existing file's page size
                conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as e:
            raise StoreError(f"cannot open SQLite store {path}: {e}") from e
        self.path = path
        self.background = path != ":memory:"    # nothing to overlap in memory: commit at once
        super().__init__(conn)
        if self.background:
            try:
                self.journal_writer = journal_impl().JournalWriter(path, PAGE, commit_interval)
            except (OSError, ValueError) as e:
                conn.close()
                raise StoreError(f"cannot open SQLite store {path}: {e}") from e


    def _maint_connector(self) -> Any:
        """Reservations need a durable commit (synchronous=FULL: the WAL is synced, so a power
        failure keeps them); a connection of their own keeps the fsync off the loop's thread."""
        if self.path == ":memory:":
            return None
        path = self.path

        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(path, isolation_level="IMMEDIATE", check_same_thread=False, timeout=30.0)
            conn.execute("PRAGMA synchronous=FULL")
            return conn
        return connect


def journal_impl() -> ModuleType:
    """The journal writer module in use: compiled (:mod:`.journal_c`, journal_py.py built in
    Cython's pure-Python mode) when built and allowed (BOARDCORE_NO_EXTENSIONS), else the twin;
    both use Python's own sqlite3 (``SAME_SQLITE``)."""
    mod = _select.load("cti.store.journal")
    return mod if mod.SAME_SQLITE else _select.twin("cti.store.journal")
