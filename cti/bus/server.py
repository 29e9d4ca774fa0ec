"""The bus server: PUB for events, ROUTER for snapshot/replay/watch, ROUTER for commands.

The ZeroMQ guide's Clone pattern: every event gets the next gap-free ``seq``, goes to the
journal (the store) and an in-memory ring, and out on PUB as ``[topic, msgpack(event)]``.
A subscriber that starts late, restarts or loses messages asks the snapshot socket for
"state as of seq N" or "events after seq M" and catches up without loss or duplicates.

Single-threaded and poll-driven: the owner calls :meth:`BusServer.publish` for each event
and :meth:`BusServer.poll` from its loop; request handlers run in that thread, so they may
touch the call model directly. Snapshot socket requests (DEALER/REQ clients), all msgpack maps:

* ``{"op": "snapshot"}`` -> ``{"op": "snapshot", "seq": N, "calls": [...], "spans": [...], ...}``
* ``{"op": "replay", "after": M, "limit": L}`` -> ``{"op": "replay", "events": [bin...], "last": S,
  "head": N, "more": bool}`` (``events`` are the published msgpack frames)
* ``{"op": "watch", "after": M}`` -> the server pushes ``{"op": "events", "events": [...]}``
  (filtered for the account) until the lease (``watch_ttl``) lapses; renew by repeating.

Seqs are never reused: before it publishes beyond the reservation recorded durably in the store
(``Store.reserve_seq``), the server reserves the next block, ahead of need and off the loop's
thread; after an unclean stop it continues after the reservation, and its first event is a
:class:`~cti.bus.events.JournalGap` declaring the seqs that may have been published but are not
in the journal; :meth:`BusServer.close` lowers the reservation to the last seq (docs/bus.md).

Command socket: ``{"type": "<Request>", "invoke": id, ...}`` -> ``{"invoke": id, "result": {...}}``
or ``{"invoke": id, "error": {"code", "message", "details"}}``. Bad input gets a typed error or
is dropped with a counter; it never stops the loop.
"""
from __future__ import annotations

import collections
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import zmq

from _boardcore import _select
from cti.call.errors import (CallControlError, InvalidParameterError, MalformedRequestError,
                             PrivilegeViolationError, RateLimitedError, ReplayGapError,
                             ResourceBusyError, UnknownRequestError)
from cti.call.events import BusEvent
from cti.store.base import Store, StoreError

from .auth import (DOMAIN_CONTROL, DOMAIN_EVENTS, DOMAIN_SNAPSHOT, Account, AccountBook,
                   Security, may)
from .codec import pack, unpack, unpack_event
from .events import JournalGap
from .schema import SCHEMA_MAJOR, parse_request

_publish = _select.load("cti.bus.publish")

log = logging.getLogger(__name__)

#: seqs reserved at a time at least, and the seconds of events a block covers at the current rate
RESERVE_MIN = 10_000
RESERVE_SECONDS = 1.0
RESERVE_MAX = 1 << 26

Handler = Callable[[Account, Any, float], dict[str, Any]]
StateProvider = Callable[[Account, AccountBook], list[dict[str, Any]]]


@dataclass
class Endpoints:
    events: str = "tcp://127.0.0.1:5560"
    snapshot: str = "tcp://127.0.0.1:5561"
    control: str = "tcp://127.0.0.1:5562"


@dataclass
class Limits:
    max_request: int = 64 * 1024       #: larger requests get MalformedRequestError
    max_frame: int = 1 << 20           #: ZMQ_MAXMSGSIZE: a peer sending more is disconnected
    rate: float = 500.0                #: requests per second per client (token bucket)
    burst: float = 1000.0
    batch: int = 256                   #: requests served per socket per poll (fairness)
    replay_limit: int = 1000           #: events per replay / watch message
    ring: int = 100_000                #: recent events kept in memory for fast replay
    watch_ttl: float = 30.0
    max_watchers: int = 1000


@dataclass
class _Watcher:
    account: Account
    next_seq: int
    expires: float


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class BusServer:
    """See the module docstring."""

    store: Store
    security: Security = field(default_factory=Security)
    endpoints: Endpoints = field(default_factory=Endpoints)
    limits: Limits = field(default_factory=Limits)
    node: str = "cti"
    ctx: zmq.Context | None = None

    def __post_init__(self) -> None:
        journaled = self.store.last_seq()
        reserved = self.store.reserved_seq()
        #: seqs an unclean stop left reserved but not journaled (declared by a JournalGap at start)
        self.gap: tuple[int, int] | None = (journaled + 1, reserved) if reserved > journaled else None
        self._seq0 = max(journaled, reserved)
        self._asked = self._seq0           # the highest reservation asked for
        self._block = RESERVE_MIN
        self._asked_at = (time.monotonic(), self._seq0)
        self._publisher: Any = None     # the publish hot path (cti.bus.publish), from start()
        self.handlers: dict[str, Handler] = {}
        self.states: dict[str, StateProvider] = {}
        self.after_request: list[Callable[[], None]] = []
        self.counters: collections.Counter[str] = collections.Counter()
        self._first_seq = self._seq0
        # the newest published frames (bytes: nothing for the garbage collector to walk); the
        # last one has seq self.seq. Visibility filtering decodes them once, into _decoded.
        self._ring: collections.deque[bytes] = collections.deque(maxlen=self.limits.ring)
        self._decoded: dict[int, dict[str, Any]] = {}
        self._watchers: dict[bytes, _Watcher] = {}
        self._buckets: dict[bytes, _Bucket] = {}
        self._own_ctx = self.ctx is None
        self.ctx = self.ctx or zmq.Context()
        self.pub = self.snap = self.ctl = None  # type: ignore[assignment]

    # ---- life cycle ---------------------------------------------------------------
    def start(self) -> "BusServer":
        """Start authentication and bind the three sockets."""
        self.security.start(self.ctx)
        self.pub = self._socket(zmq.PUB, DOMAIN_EVENTS, self.endpoints.events)
        self.snap = self._socket(zmq.ROUTER, DOMAIN_SNAPSHOT, self.endpoints.snapshot)
        self.ctl = self._socket(zmq.ROUTER, DOMAIN_CONTROL, self.endpoints.control)
        self._publisher = _publish.Publisher(self.pub, self._seq0, self._ring, SCHEMA_MAJOR)
        self._publisher.on_limit = self._reach
        self._publisher.limit = self._seq0
        # the hot path: callers reach the (compiled) publisher's method with no wrapper call between
        self.publish = self._publisher.publish      # type: ignore[method-assign]
        self._publisher.limit = self._reach(self._seq0 + 1)     # the first block now: no wait at the first event
        if self.gap is not None:
            first, last = self.gap
            log.warning("unclean stop: seqs %d..%d may have been published but are not in the journal; "
                        "declared by a JournalGap event (seq %d)", first, last, last + 1)
            self.publish(JournalGap(first=first, last=last,
                                    reason="unclean stop: reserved seqs not in the journal"))
        # "tcp://127.0.0.1:*" binds a free port: record what was actually bound
        self.endpoints = Endpoints(self.bound(self.pub), self.bound(self.snap), self.bound(self.ctl))
        self._poller = zmq.Poller()
        self._poller.register(self.snap, zmq.POLLIN)
        self._poller.register(self.ctl, zmq.POLLIN)
        return self

    def _socket(self, kind: int, domain: str, endpoint: str) -> zmq.Socket:
        s = self.ctx.socket(kind)
        s.linger = 0
        s.setsockopt(zmq.MAXMSGSIZE, self.limits.max_frame)
        if kind == zmq.PUB:
            s.sndhwm = 1_000_000
        else:
            s.rcvhwm = 10_000
            s.sndhwm = 10_000
        self.security.apply(s, domain, endpoint)
        s.bind(endpoint)
        return s

    def bound(self, sock: zmq.Socket) -> str:
        """The endpoint a socket actually bound (tcp://...:0 picks a port)."""
        return sock.getsockopt_string(zmq.LAST_ENDPOINT)

    def close(self) -> None:
        """Journal what is queued, lower the seq reservation to the last seq (a clean stop: the
        next start declares no gap), close the sockets."""
        try:
            if self.pub is not None:
                self.flush()
                self.store.commit()
                if self._publisher is not None and self._publisher.on_limit is not None:
                    self._publisher.on_limit = None
                    self._publisher.limit = self.seq        # nothing more goes out
                    self.store.reserve_seq(self.seq, wait=True)
        finally:        # a store that failed (raised above) leaves the reservation: the next start declares a gap
            for s in (self.pub, self.snap, self.ctl):
                if s is not None:
                    s.close(0)
            self.security.stop()
            if self._own_ctx:
                self.ctx.destroy(linger=0)

    # ---- extension points ----------------------------------------------------------
    def register_command(self, name: str, handler: Handler) -> None:
        """Serve request type ``name`` (a class registered in cti.bus.schema) with ``handler``."""
        self.handlers[name] = handler

    def add_state(self, name: str, provider: StateProvider) -> None:
        """Add a section to snapshots: ``provider(account, book)`` returns what that account may see."""
        self.states[name] = provider

    # ---- publishing ---------------------------------------------------------------
    def publish(self, event: BusEvent | dict[str, Any], now: float | None = None) -> int:
        """Stamp ``event`` with the next seq, journal it and send it; returns its seq.

        The event is queued for the journal and the replay ring before it is sent, and written
        at the next :meth:`flush` (the owner's loop turn). An event that msgpack cannot encode
        raises (TypeError, ValueError, OverflowError) without taking a seq; so does a closed
        server (ZMQError). :meth:`start` replaces this method by the publisher's own
        (``cti.bus.publish``: compiled, or its Python twin), which does exactly this.
        """
        if self._publisher is None:
            raise RuntimeError("BusServer.publish before start()")
        return self._publisher.publish(event, now)

    @property
    def seq(self) -> int:
        """The seq of the last event published (from the journal at start-up)."""
        return self._seq0 if self._publisher is None else self._publisher.seq

    @property
    def published(self) -> int:
        """Events published since this server started."""
        return self.seq - self._first_seq

    def flush(self) -> None:
        """Hand the journal rows queued since the last flush to the store's writer (the owner
        calls it once per loop turn; poll does too), and reserve the next block of seqs ahead of
        need. Durability: see docs/bus.md."""
        p = self._publisher
        if p is not None:
            rows = p.take_journal()
            if rows:
                self.store.append_many(rows)
            if p.on_limit is not None:
                durable = self.store.seq_reserved
                if durable > p.limit:
                    p.limit = durable
                if p.seq + self._block > self._asked:      # less than a block left: ask for two more
                    self.store.reserve_seq(self._next_block(p.seq), wait=False)
        self.store.commit_soon()

    def _next_block(self, seq: int) -> int:
        """Ask for a reservation two blocks beyond ``seq`` (a block: ``RESERVE_SECONDS`` of
        events at the rate since the last ask, RESERVE_MIN at least): one durable write per
        block of events, a block's worth of time for it to land; returns its end."""
        now = time.monotonic()
        t0, s0 = self._asked_at
        rate = (seq - s0) / (now - t0) if now > t0 else 0.0
        self._block = int(min(max(RESERVE_MIN, rate * RESERVE_SECONDS), RESERVE_MAX))
        self._asked_at = (now, seq)
        self._asked = seq + 2 * self._block
        return self._asked

    def _reach(self, seq: int) -> int:
        """The publisher's ``on_limit``: seq is beyond the durable reservation; wait for the one
        asked for (or ask now) and return the new limit. A failed write raises StoreError and
        the event is not published."""
        if self._asked < seq:
            self._next_block(seq - 1)
        self.store.reserve_seq(self._asked, wait=True)
        durable = self.store.seq_reserved
        if durable < seq:
            raise StoreError(f"seq reservation up to {self._asked} is not durable (store has {durable})")
        self.counters["reserve_waits"] += 1
        return durable

    # ---- serving --------------------------------------------------------------------
    def poll(self, timeout_ms: int = 0) -> int:
        """Serve pending requests (waiting up to ``timeout_ms``) and push to watchers; returns requests served."""
        n = 0
        events = dict(self._poller.poll(timeout_ms))
        if self.ctl in events:
            n += self._drain(self.ctl, self._command)
        if self.snap in events:
            n += self._drain(self.snap, self._snapshot_request)
        self._pump_watchers()
        self.flush()
        return n

    def _drain(self, sock: zmq.Socket, serve: Callable[[zmq.Socket, list[zmq.Frame]], None]) -> int:
        n = 0
        while n < self.limits.batch:
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            n += 1
            try:
                serve(sock, frames)
            except Exception:   # a bug in one request must not stop the server
                self.counters["internal_errors"] += 1
                log.exception("request failed")
        return n

    def _account(self, frames: list[zmq.Frame]) -> Account | None:
        try:
            uid = frames[-1].get("User-Id")
        except (zmq.ZMQError, KeyError):
            uid = None
        return self.security.account(uid)

    def _rate_ok(self, ident: bytes, now: float) -> bool:
        b = self._buckets.get(ident)
        if b is None:
            if len(self._buckets) > 10_000:
                self._buckets.clear()
            b = self._buckets[ident] = _Bucket(self.limits.burst, now)
        b.tokens = min(self.limits.burst, b.tokens + (now - b.stamp) * self.limits.rate)
        b.stamp = now
        if b.tokens < 1.0:
            return False
        b.tokens -= 1.0
        return True

    def _reply(self, sock: zmq.Socket, head: list[Any], msg: dict[str, Any]) -> None:
        try:
            sock.send_multipart([*head, pack(msg)], zmq.NOBLOCK)
        except zmq.Again:
            self.counters["replies_dropped"] += 1

    @staticmethod
    def _error(e: CallControlError) -> dict[str, Any]:
        return {"code": e.code, "message": str(e), "details": {k: v for k, v in e.details.items()
                                                                  if isinstance(v, (str, int, float, list, type(None)))}}

    def _decode(self, sock: zmq.Socket, frames: list[zmq.Frame]) -> tuple[list[Any], Any, Account | None] | None:
        """Split envelope and body; answer framing/size/rate problems itself (None then)."""
        self.counters["requests"] += 1
        if len(frames) < 2:
            self.counters["dropped_short"] += 1
            return None
        head, body = [f.bytes for f in frames[:-1]], frames[-1]
        ident = head[0]
        if not self._rate_ok(ident, time.monotonic()):
            self.counters["rate_limited"] += 1
            self._reply(sock, head, {"invoke": None, "error": self._error(RateLimitedError("slow down"))})
            return None
        try:
            msg = unpack(body.bytes, max_size=self.limits.max_request)
        except MalformedRequestError as e:
            self.counters["malformed"] += 1
            self._reply(sock, head, {"invoke": None, "error": self._error(e)})
            return None
        return head, msg, self._account(frames)

    def _command(self, sock: zmq.Socket, frames: list[zmq.Frame]) -> None:
        got = self._decode(sock, frames)
        if got is None:
            return
        head, msg, account = got
        self._reply(sock, head, self.handle_command(account, msg))

    def handle_command(self, account: Account | None, msg: Any) -> dict[str, Any]:
        """The reply to one decoded request from ``account`` (never raises for bad input)."""
        invoke = msg.get("invoke") if isinstance(msg, dict) else None
        if not isinstance(invoke, (int, str, type(None))) or isinstance(invoke, bool):
            invoke = None
        try:
            if account is None:
                raise PrivilegeViolationError("unknown account")
            kind, req = parse_request(msg)
            handler = self.handlers.get(kind)
            if handler is None:
                raise UnknownRequestError(f"request type {kind} is not served by this server", type=kind)
            result = handler(account, req, time.time())
            self.counters["commands_ok"] += 1
            return {"invoke": invoke, "result": result}
        except CallControlError as e:
            self.counters["commands_failed"] += 1
            self.counters[f"error.{e.code}"] += 1
            return {"invoke": invoke, "error": self._error(e)}
        finally:
            for hook in self.after_request:
                hook()

    # ---- snapshot / replay / watch ----------------------------------------------------
    def _snapshot_request(self, sock: zmq.Socket, frames: list[zmq.Frame]) -> None:
        got = self._decode(sock, frames)
        if got is None:
            return
        head, msg, account = got
        op = msg.get("op") if isinstance(msg, dict) else None
        rid = msg.get("id") if isinstance(msg, dict) else None
        try:
            if account is None:
                raise PrivilegeViolationError("unknown account")
            if op == "snapshot":
                self.counters["snapshots"] += 1
                out = {"op": "snapshot", "id": rid, "seq": self.seq, "node": self.node, "v": SCHEMA_MAJOR}
                for name, provider in self.states.items():
                    out[name] = provider(account, self.security.book)
                self._reply(sock, head, out)
            elif op == "replay":
                self.counters["replays"] += 1
                after, limit = self._int(msg, "after"), min(self._int(msg, "limit", self.limits.replay_limit),
                                                            self.limits.replay_limit)
                evs, last = self._events_after(account, after, max(limit, 1))
                # filtered: False when every seq in after+1..last is in events, except the
                # ranges JournalGap events among them declare (a client checks that)
                self._reply(sock, head, {"op": "replay", "id": rid, "events": evs, "last": last,
                                         "head": self.seq, "more": last < self.seq,
                                         "filtered": self.security.book.visible(account) is not None})
            elif op == "watch":
                after = self._int(msg, "after", self.seq)
                self._events_after(account, after, 0)   # ReplayGapError now rather than later
                if head[0] not in self._watchers and len(self._watchers) >= self.limits.max_watchers:
                    raise ResourceBusyError("too many watchers")
                w = self._watchers.get(head[0])
                nxt = after + 1 if w is None or msg.get("reset") else w.next_seq
                self._watchers[head[0]] = _Watcher(account, nxt, time.monotonic() + self.limits.watch_ttl)
                self._reply(sock, head, {"op": "watching", "id": rid, "head": self.seq, "ttl": self.limits.watch_ttl})
            elif op == "unwatch":
                self._watchers.pop(head[0], None)
                self._reply(sock, head, {"op": "unwatched", "id": rid})
            elif op == "ping":
                self._reply(sock, head, {"op": "pong", "id": rid, "head": self.seq})
            else:
                raise UnknownRequestError(f"unknown snapshot op {op!r}: snapshot, replay, watch, unwatch, ping")
        except CallControlError as e:
            self.counters[f"error.{e.code}"] += 1
            self._reply(sock, head, {"op": "error", "id": rid, "error": self._error(e)})

    @staticmethod
    def _int(msg: dict[str, Any], key: str, default: int | None = None) -> int:
        v = msg.get(key, default)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise InvalidParameterError(f"{key} must be a non-negative int", field=key)
        return v

    def _events_after(self, account: Account, after: int, limit: int) -> tuple[list[bytes], int]:
        """Visible published frames with seq > ``after`` (up to ``limit`` scanned), and the last seq scanned."""
        if after >= self.seq:
            return [], self.seq
        ring_first = self.seq - len(self._ring) + 1
        rows: list[tuple[int, bytes]]
        if after + 1 >= ring_first:
            start = after + 1 - ring_first
            rows = [(ring_first + i, self._ring[i]) for i in range(start, min(start + limit, len(self._ring)))]
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
            if self.visible(account, allowed, self._event(s, data)):
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

    @staticmethod
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

    def _pump_watchers(self) -> None:
        if not self._watchers:
            return
        now = time.monotonic()
        for ident, w in list(self._watchers.items()):
            if now > w.expires:
                del self._watchers[ident]
                self.counters["watch_expired"] += 1
                continue
            if w.next_seq > self.seq:
                continue
            try:
                evs, last = self._events_after(w.account, w.next_seq - 1, self.limits.replay_limit)
            except ReplayGapError as e:
                self._reply(self.snap, [ident], {"op": "error", "id": None, "error": self._error(e)})
                del self._watchers[ident]
                continue
            w.next_seq = last + 1
            if evs:
                self.counters["watch_events"] += len(evs)
                self._reply(self.snap, [ident], {"op": "events", "events": evs, "last": last})
