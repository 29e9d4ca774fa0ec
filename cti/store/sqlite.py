"""SQLite store: the default, a file next to the server (no server to run)."""
from __future__ import annotations

import os
import sqlite3

from .base import SqlStore, StoreError


class SqliteStore(SqlStore):
    """Journal + CDRs in one SQLite file (WAL mode); ``":memory:"`` for tests."""

    def __init__(self, path: str = "cti.db") -> None:
        if path != ":memory:":
            d = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(d):
                raise StoreError(f"directory {d} does not exist")
        try:
            conn = sqlite3.connect(path, isolation_level="DEFERRED", check_same_thread=False)  # one user at a time: the server loop
            if path != ":memory:":
                # 64 KiB pages (a new file only; SQLite keeps an existing file's size): a journal
                # page of 64 events is one database page instead of four, 2-3x less WAL writing
                conn.execute("PRAGMA page_size=65536")
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as e:
            raise StoreError(f"cannot open SQLite store {path}: {e}") from e
        self.path = path
        super().__init__(conn)
