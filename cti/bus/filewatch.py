"""A file looked at now and then: has it changed since the last look? (The bus re-reads its
accounts file so; cti-keys replaces the file atomically, so a change is one new mtime.)"""
from __future__ import annotations

import os


class FileWatch:
    """Looks at ``path`` at most every ``every`` seconds (monotonic time passed in)."""

    def __init__(self, path: str | None, every: float = 1.0, now: float = 0.0) -> None:
        self.path = path
        self.every = every
        self._looked = now
        self._stamp = self._mtime()

    def _mtime(self) -> int | None:
        try:
            return os.stat(self.path).st_mtime_ns if self.path else None
        except OSError:
            return None

    def due(self) -> float | None:
        """When the next look is due (None: no file to watch)."""
        return None if self.path is None else self._looked + self.every

    def changed(self, now: float) -> bool:
        """True once per change seen (a look only when due)."""
        if self.path is None or now - self._looked < self.every:
            return False
        self._looked = now
        stamp = self._mtime()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        return True
