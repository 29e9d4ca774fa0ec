"""Media resource pools: how many fax and voice (IVR / voicemail / announcement) channels a server has.

A voice/fax board's DSP resources are counted like its ports: the plans we build for say
"IVR 60 lines, of which FAX 16". A :class:`ResourcePools` holds one :class:`Pool` per kind
(``fax``, ``voice``), configured per server:

```toml
[media.pools]
fax = 16        # T.30 sessions at once
voice = 60      # prompt players, voicemail recorders, TTS announcements at once
```

``acquire(kind, owner)`` takes a unit for ``owner`` (a call id) or answers ``False`` when the
pool is full, counting the refusal; ``release(kind, owner)`` gives it back (idempotent).
``usage()`` is what the snapshot, the wallboard and the statistics show.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from collections.abc import Mapping

KINDS = ("fax", "voice")


class PoolConfigError(ValueError):
    """A pool size that is not a whole number >= 0, or an unknown kind."""


@dataclass
class Pool:
    kind: str
    size: int
    owners: set[str] = field(default_factory=set)
    peak: int = 0
    taken: int = 0      #: acquisitions since start
    refused: int = 0    #: acquisitions refused because the pool was full

    @property
    def busy(self) -> int:
        return len(self.owners)

    def acquire(self, owner: str) -> bool:
        if owner in self.owners:
            return True
        if len(self.owners) >= self.size:
            self.refused += 1
            return False
        self.owners.add(owner)
        self.taken += 1
        self.peak = max(self.peak, len(self.owners))
        return True

    def release(self, owner: str) -> bool:
        if owner in self.owners:
            self.owners.discard(owner)
            return True
        return False

    def usage(self) -> dict[str, int]:
        return {"size": self.size, "busy": self.busy, "free": self.size - self.busy, "peak": self.peak,
                "taken": self.taken, "refused": self.refused}


@dataclass(frozen=True)
class ResourceExhausted:
    """No free unit of ``kind`` for ``call`` (published on the bus; the caller got ``treatment``)."""

    kind: str
    call: str
    size: int
    treatment: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": "ResourceExhausted", "kind": self.kind, "call": self.call, "size": self.size,
                "treatment": self.treatment}


class ResourcePools:
    """The server's fax and voice pools (see the module docstring)."""

    def __init__(self, sizes: Mapping[str, Any] | None = None) -> None:
        sizes = dict(sizes or {})
        unknown = sorted(set(sizes) - set(KINDS))
        if unknown:
            raise PoolConfigError(f"media.pools: unknown kind(s) {unknown}; known: {list(KINDS)}")
        self.pools: dict[str, Pool] = {}
        for kind in KINDS:
            v = sizes.get(kind, 30)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise PoolConfigError(f"media.pools.{kind} must be a whole number >= 0, not {v!r}")
            self.pools[kind] = Pool(kind, v)

    def acquire(self, kind: str, owner: str) -> bool:
        return self._pool(kind).acquire(owner)

    def release(self, kind: str, owner: str) -> bool:
        return self._pool(kind).release(owner)

    def usage(self) -> dict[str, dict[str, int]]:
        return {k: p.usage() for k, p in self.pools.items()}

    def _pool(self, kind: str) -> Pool:
        try:
            return self.pools[kind]
        except KeyError:
            raise PoolConfigError(f"unknown resource kind {kind!r}; known: {list(KINDS)}") from None
