"""Snapshot, replay and watch: the snapshot socket's side of the Clone pattern.

* ``{"op": "snapshot"}`` -> the state right after event ``seq`` (the sections ``add_state`` registered);
* ``{"op": "replay", "after": M, "limit": L}`` -> the published frames with seq > M (up to L,
  at most ``Limits.replay_limit``; L = 0 returns none), from the in-memory ring or the journal;
* ``{"op": "watch", "after": M}`` -> the stream filtered for the account, pushed as ``events``
  messages until the lease lapses (renew by repeating); a watcher that falls more than
  ``Limits.subscriber_buffer`` events behind is moved on and sent ``{"op": "overflow", "first",
  "last"}``: the seqs it missed (it may replay them).
"""
from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

from cti.call.errors import InvalidParameterError, PrivilegeViolationError, ResourceBusyError
from cti.store.base import Store

from .auth import Account, AccountBook, Security, may
from .codec import unpack_event
from .endpoints import Limits
from .errors import ReplayGapError, UnknownRequestError
from .schema import SCHEMA_MAJOR

StateProvider = Callable[[Account, AccountBook], list[dict[str, Any]]]
#: send(ident, message) -> False when the peer's queue is full or the peer is gone
Send = Callable[[bytes, dict[str, Any]], bool]
#: seconds before a watcher whose queue was full is tried again
RETRY = 0.01


@dataclass
class Watcher:
    account: Account
    next_seq: int
    expires: float
    missed: list[tuple[int, int]] = field(default_factory=list)   #: overflows not yet told
    retry_at: float = 0.0       #: its queue was full: not before then (no busy loop on a stuck peer)


def _int(msg: dict[str, Any], key: str, default: int | None = None) -> int:
    v = msg.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise InvalidParameterError(f"{key} must be a non-negative int", field=key)
    return v


def visible(account: Account, allowed: set[str] | None, event: dict[str, Any]) -> bool:
    """May ``account`` (whose devices are ``allowed``) see ``event``?"""
    if allowed is None or str(event.get("topic", "")).startswith("server."):
        return True
    devs = event.get("devices") or ([event["device"]] if event.get("device") else [])
    if devs:
        return may(allowed, devs)
    if event.get("agent") is not None:     # agent events (ACD): the agent, and its team's supervisor
        return event["agent"] == account.name or (
            account.role == "supervisor" and event.get("team") is not None and event.get("team") == account.team)
    return account.role == "supervisor"   # span / queue state: supervisory information


class Replay:
    """Serves the snapshot socket's ops from the ring, the journal and the state providers.

    ``head()`` is the last seq published, ``flush()`` hands queued events to the journal
    (before a read of it)."""

    def __init__(self, store: Store, security: Security, limits: Limits, ring: collections.deque[bytes],
                 head: Callable[[], int], flush: Callable[[], None], node: str, counters: Any) -> None:
        self.store = store
        self.security = security
        self.limits = limits
        self.ring = ring
        self.head = head
        self.flush = flush
        self.node = node
        self.counters = counters
        self.states: dict[str, StateProvider] = {}
        self.watchers: dict[bytes, Watcher] = {}
        self._decoded: dict[int, dict[str, Any]] = {}

    # ---- requests -------------------------------------------------------------------------
    def serve(self, ident: bytes, msg: dict[str, Any], account: Account | None,
              rid: int | str | None) -> dict[str, Any]:
        """The reply to one op (errors raised as CallControlError for the caller to send)."""
        if account is None:
            raise PrivilegeViolationError("unknown account")
        op = msg.get("op")
        head = self.head()
        if op == "snapshot":
            self.counters["snapshots"] += 1
            out: dict[str, Any] = {"op": "snapshot", "id": rid, "seq": head, "node": self.node, "v": SCHEMA_MAJOR}
            for name, provider in self.states.items():
                out[name] = provider(account, self.security.book)
            return out
        if op == "replay":
            self.counters["replays"] += 1
            after = _int(msg, "after")
            limit = min(_int(msg, "limit", self.limits.replay_limit), self.limits.replay_limit)
            evs, last = self.events_after(account, after, limit) if limit else ([], min(after, head))
            # filtered: False when every seq in after+1..last is in events, except the
            # ranges JournalGap events among them declare (a client checks that)
            return {"op": "replay", "id": rid, "events": evs, "last": last, "head": head,
                    "more": last < head, "filtered": self.security.book.visible(account) is not None}
        if op == "watch":
            after = _int(msg, "after", head)
            self.events_after(account, after, 0)   # ReplayGapError now rather than later
            if ident not in self.watchers and len(self.watchers) >= self.limits.max_watchers:
                raise ResourceBusyError("too many watchers")
            w = self.watchers.get(ident)
            nxt = after + 1 if w is None or msg.get("reset") else w.next_seq
            self.watchers[ident] = Watcher(account, nxt, time.monotonic() + self.limits.watch_ttl,
                                           [] if w is None else w.missed)
            return {"op": "watching", "id": rid, "head": head, "ttl": self.limits.watch_ttl}
        if op == "unwatch":
            self.watchers.pop(ident, None)
            return {"op": "unwatched", "id": rid}
        if op == "ping":
            return {"op": "pong", "id": rid, "head": head}
        raise UnknownRequestError(f"unknown snapshot op {op!r}: snapshot, replay, watch, unwatch, ping")

    # ---- reading the stream ------------------------------------------------------------
    def events_after(self, account: Account, after: int, limit: int) -> tuple[list[bytes], int]:
        """Visible published frames with seq > ``after`` (up to ``limit`` scanned), and the last seq scanned."""
        head = self.head()
        if after >= head:
            return [], head
        ring_first = head - len(self.ring) + 1
        rows: list[tuple[int, bytes]]
        if after + 1 >= ring_first:
            start = after + 1 - ring_first
            rows = [(ring_first + i, self.ring[i]) for i in range(start, min(start + limit, len(self.ring)))]
        else:
            self.flush()
            oldest = self.store.oldest_seq()
            if oldest is not None and after + 1 < oldest and self._gap_covers(oldest, after + 1):
                oldest = after + 1          # the journal's first event declares the seqs before it
            if oldest is None or after + 1 < oldest:
                raise ReplayGapError(f"events after {after} were pruned; the journal starts at {oldest}: "
                                     "take a snapshot", oldest=oldest)
            rows = self.store.events_after(after, limit)
        allowed = self.security.book.visible(account)
        if allowed is None:
            return [data for _, data in rows], rows[-1][0] if rows else after
        out = []
        last = after
        for s, data in rows:
            last = s
            if visible(account, allowed, self._event(s, data)):
                out.append(data)
        return out, last

    def _gap_covers(self, oldest: int, seq: int) -> bool:
        """Is the journal's first event (seq ``oldest``) a JournalGap whose range starts at or
        before ``seq`` and ends just before it (nothing between was pruned)?"""
        rows = self.store.events_after(oldest - 1, 1)
        if not rows:
            return False
        e = unpack_event(rows[0][1])
        return (e.get("type") == "JournalGap" and isinstance(e.get("first"), int)
                and e.get("last") == oldest - 1 and e["first"] <= seq)

    def _event(self, seq: int, data: bytes) -> dict[str, Any]:
        """A published frame decoded, cached: many watchers filter the same recent events."""
        d = self._decoded.get(seq)
        if d is None:
            if len(self._decoded) >= 4 * self.limits.replay_limit:
                self._decoded.clear()
            d = self._decoded[seq] = unpack_event(data)
        return d

    # ---- watchers ---------------------------------------------------------------------------
    def pump(self, send: Send) -> None:
        """Push new events to every watcher whose queue has room; move on the ones that lag
        more than ``subscriber_buffer`` events and tell them what they missed."""
        if not self.watchers:
            return
        now = time.monotonic()
        head = self.head()
        for ident, w in list(self.watchers.items()):
            if now > w.expires:
                del self.watchers[ident]
                self.counters["watch_expired"] += 1
                continue
            if w.retry_at > now:
                continue
            if head - w.next_seq + 1 > self.limits.subscriber_buffer:
                first, w.next_seq = w.next_seq, head + 1
                w.missed.append((first, head))
                self.counters["watch_overflows"] += 1
            while w.missed:
                first, last = w.missed[0]
                if not send(ident, {"op": "overflow", "id": None, "first": first, "last": last}):
                    w.retry_at = now + RETRY
                    break
                w.missed.pop(0)
            if w.missed or w.next_seq > head:
                continue
            try:
                evs, last = self.events_after(w.account, w.next_seq - 1, self.limits.replay_limit)
            except ReplayGapError as e:
                from .errors import error_map
                send(ident, {"op": "error", "id": None, "error": error_map(e)})
                del self.watchers[ident]
                continue
            if evs and not send(ident, {"op": "events", "events": evs, "last": last}):
                w.retry_at = now + RETRY        # the peer's queue is full: the same events later
                continue
            if evs:
                self.counters["watch_events"] += len(evs)
            w.next_seq = last + 1

    def deadline(self) -> float | None:
        """Now (monotonic) when a watcher has events or an overflow to be sent, else the first
        lease to lapse; None without watchers."""
        if not self.watchers:
            return None
        head = self.head()
        now = time.monotonic()
        due = [max(now, w.retry_at) if w.missed or w.next_seq <= head else w.expires
               for w in self.watchers.values()]
        return min(due)

    def drop(self, accounts: set[str]) -> int:
        """Stop watchers whose account is not in ``accounts`` (revoked); returns how many."""
        gone = [i for i, w in self.watchers.items() if w.account.name not in accounts]
        for i in gone:
            del self.watchers[i]
        return len(gone)
