"""SQLite store: the default, a file next to the server (no server to run)."""
from __future__ import annotations

import os
import sqlite3
from types import ModuleType

from _boardcore import _select

from .base import PAGE, SqlStore, StoreError

#: database page size of new files (bytes). A commit writes whole pages to the WAL: 16 KiB holds
#: a 64-event journal page in one or two, yet keeps the small per-loop-turn commits small
#: (64 KiB was faster for big batches but slower at 10 000 events/s; docs/bus.md)
PAGE_SIZE = 16384

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
            conn = sqlite3.connect(path, isolation_level="DEFERRED", check_same_thread=False)  # owner + writer thread, one at a time (SqlStore)
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


def journal_impl() -> ModuleType:
    """The journal writer module in use: compiled (:mod:`.journal_c`) when built, allowed
    (BOARDCORE_NO_EXTENSIONS) and linked to Python's own SQLite library, else the twin."""
    mod = _select.load("cti.store.journal")
    return mod if mod.SAME_SQLITE else _select.twin("cti.store.journal")
