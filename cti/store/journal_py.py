"""SQLite journal writer: one source, run as it is (the twin) and compiled by Cython in
pure-Python mode as :mod:`.journal_c` (``journal_c.pxd``; aiohttp builds its WebSocket reader
so).

A thread with its own ``sqlite3`` connection writes each hand-off (everything submitted since
its last write) in one transaction. SQLite drops the GIL while it steps; the thread takes it
back to bind each row. A hand-written writer that never took the GIL (462 lines of Cython
over SQLite's C API) made the publisher no faster than this source compiled (docs/bus.md
"Measured"), so this is the only one.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

from .writer_args import HURRY_BYTES, MAX_BYTES, check_writer_args
from .writer_args import INSERT as _INSERT

#: the twin uses Python's own sqlite3: it may always share a file with it
SAME_SQLITE: bool = True


class JournalWriter:
    """Writes journal pages to the SQLite file ``path`` (its ``journal`` table must exist) on a
    thread of its own. ``page``: events per journal row at most (``cti.store.base.PAGE``)."""

    def __init__(self, path: str, page: int = 64, interval: float = 0.0) -> None:
        check_writer_args(page, interval)
        self.page = page
        self.interval = interval
        self.hurry_bytes = HURRY_BYTES
        self.max_bytes = MAX_BYTES
        self.path = path
        try:
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
            self._conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as e:
            raise OSError(f"cannot open journal {path}: {e}") from e
        self._cv = threading.Condition()
        self._queue: list[list[tuple[Any, ...]]] = []
        self._busy = self._hurry = self._sleeping = False
        self._queued = 0
        self._err: str | None = None
        self._closing = self.closed = False
        self._thread: threading.Thread | None = None

    def submit(self, rows: list[tuple[int, float, str, str, bytes]]) -> None:
        """Queue ``(seq, time, topic, type, frame)`` rows (seq increasing) for the next write."""
        if self.closed:
            raise RuntimeError("journal writer is closed")
        if not isinstance(rows, list):
            raise TypeError(f"rows must be a list, not {type(rows).__name__}")
        if not rows:
            return
        for r in rows:                              # what the compiled writer refuses, refused here
            if type(r) is not tuple or len(r) != 5 or type(r[4]) is not bytes or type(r[0]) is not int \
                    or not isinstance(r[1], (int, float)) \
                    or type(r[2]) is not str or type(r[3]) is not str:
                raise TypeError(f"journal rows are (seq, time, topic, type, frame) tuples, not {r!r:.80}")
        from .base import _pages
        pages = list(_pages(rows, self.page))
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
            self._thread.start()
        with self._cv:
            self._queue.append(pages)
            self._queued += sum(len(r[4]) for r in rows)
            if self._sleeping or self._queued >= self.hurry_bytes or self.interval <= 0:
                self._cv.notify_all()
            while self._queued >= self.max_bytes:     # back-pressure: the writer takes the queue first
                self._hurry = True
                self._cv.notify_all()
                self._cv.wait()

    def _run(self) -> None:
        """Write everything queued in one transaction; then (group commit) let ``interval``
        pass before the next write unless hurried (a waiter, closing, HURRY_BYTES queued)."""
        while True:
            with self._cv:
                while not self._queue and not self._closing:
                    self._sleeping = True
                    self._cv.wait()
                    self._sleeping = False
                if not self._queue:
                    return
                batches, self._queue = self._queue, []
                self._queued = 0
                self._hurry = False
                self._busy = True
            err = None
            try:
                self._conn.execute("BEGIN IMMEDIATE")     # the write lock now (busy-waited), never BUSY_SNAPSHOT
                try:
                    self._conn.executemany(_INSERT, [p for b in batches for p in b])
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as e:
                err = str(e)
            with self._cv:
                if err is not None and self._err is None:
                    self._err = err
                self._busy = False
                self._cv.notify_all()
                until = time.monotonic() + self.interval
                while not (self._hurry or self._closing or self._queued >= self.hurry_bytes):
                    left = until - time.monotonic()
                    if left <= 0:
                        break
                    self._cv.wait(left)

    def wait(self) -> str | None:
        """Block until everything submitted is written; the first write failure since the last
        wait (SQLite's message; those rows are not in the journal), or None."""
        with self._cv:
            while self._queue or self._busy:
                self._hurry = True
                self._cv.notify_all()
                self._cv.wait()
            err, self._err = self._err, None
        return err

    @property
    def backlog(self) -> int:
        """Octets submitted and not yet taken by the writer."""
        return self._queued

    @property
    def failed(self) -> bool:
        """A write failed and :meth:`wait` has not reported it yet."""
        return self._err is not None

    @property
    def idle(self) -> bool:
        """Nothing queued or being written."""
        with self._cv:
            return not self._queue and not self._busy

    def close(self) -> str | None:
        """Write what is queued, stop the thread, close the connection; returns as :meth:`wait`."""
        if self.closed:
            return None
        err = self.wait()
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join()
        self.closed = True
        self._conn.close()
        return err
