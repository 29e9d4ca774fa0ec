"""The bus server: PUB for events, ROUTER for snapshot/replay/watch, ROUTER for commands.

The ZeroMQ guide's Clone pattern: every event gets the next gap-free ``seq``, goes to the
journal (the store) and an in-memory ring, and out on PUB as ``[topic, msgpack(event)]``.
A subscriber that starts late, restarts or loses messages asks the snapshot socket for
"state as of seq N" or "events after seq M" and catches up without loss or duplicates
(docs/bus.md). Single-threaded: the owner calls :meth:`BusServer.publish` for each event and
:meth:`BusServer.poll` from its loop (or waits on :meth:`BusServer.sockets` itself); request
handlers run in that thread, so they may touch the call model directly.

:class:`BusServer` wires rooms that each have one job:

* :mod:`.seqs`: seq reservations and the journal gap of an unclean stop;
* :mod:`.publisher`: the publish hot path (compiled or twin), built here at construction:
  ``BusServer.publish`` is the publisher's own method;
* :mod:`.replay`: snapshot, replay and watch (the snapshot socket);
* :mod:`.control`: commands, request ids and per-account rate limits (the control socket);
* :mod:`.errors`: the bus's error types; :mod:`.endpoints`: endpoints and limits;
* :mod:`.filewatch`: when to read the accounts file again (:meth:`BusServer.reload_accounts`).

Every event and every reply carries ``epoch``, the id the store created with its journal: a
client that sees a new epoch knows the journal was lost or replaced and resyncs by snapshot.
Bad input gets a typed error or is dropped with a counter; it never stops the loop.
"""
from __future__ import annotations

import collections
import errno
import logging
import select
import time
from types import ModuleType
from typing import Any
from collections.abc import Callable

import zmq

from cti.call.errors import CallControlError
from cti.store.base import Store

from .auth import DOMAIN_CONTROL, DOMAIN_EVENTS, DOMAIN_SNAPSHOT, Account, Security
from .codec import pack, unpack
from .control import Commands, Handler, RateLimiter, reply, request_id
from .endpoints import Endpoints, Limits
from .errors import MalformedRequestError, RateLimitedError, error_map
from .events import JournalGap
from .filewatch import FileWatch
from .publisher import IMPL, new_publisher
from .replay import Replay, StateProvider, visible
from .schema import SCHEMA_MAJOR
from .seqs import Reservations

log = logging.getLogger(__name__)

__all__ = ["BusServer", "Endpoints", "Limits", "Handler", "StateProvider"]

#: seconds between two looks at the accounts file (a changed file is read again)
ACCOUNTS_CHECK = 1.0


def _not_started(seq: int) -> int:
    raise RuntimeError("BusServer.publish before start()")


def _readable(sock: zmq.Socket[Any]) -> bool:
    """A message is waiting on ``sock`` (ZMQ_EVENTS: also takes the socket's pending commands,
    which re-arms its edge-triggered descriptor)."""
    return bool(int(sock.get(zmq.EVENTS)) & zmq.POLLIN)


def _closed(seq: int) -> int:
    raise RuntimeError("BusServer.publish after close()")


class BusServer:
    """See the module docstring."""

    #: ``publish(event, now=None) -> seq``: stamp ``event`` with the next seq and the envelope,
    #: queue it for the journal and the ring, send it. An event msgpack cannot encode raises
    #: (TypeError, ValueError, OverflowError) without taking a seq; so does a server not
    #: started or closed (RuntimeError, ZMQError). The publisher's own method (see the module
    #: docstring), chosen at construction.
    publish: Callable[..., int]

    def __init__(self, store: Store, security: Security | None = None, endpoints: Endpoints | None = None,
                 limits: Limits | None = None, node: str = "cti", ctx: zmq.Context[Any] | None = None,
                 publisher: ModuleType | None = None) -> None:
        self.store = store
        self.security = security or Security()
        self.endpoints = endpoints or Endpoints()
        self.limits = limits or Limits()
        self.node = node
        self._own_ctx = ctx is None
        self.ctx = ctx or zmq.Context()
        self.counters: collections.Counter[str] = collections.Counter()
        self.seqs = Reservations(store)
        #: seqs an unclean stop left reserved but not journaled (declared by a JournalGap at start)
        self.gap = self.seqs.gap
        self._first_seq = self.seqs.start
        #: the journal's id: a new one means the journal was lost or replaced (docs/bus.md)
        self.epoch: str = store.epoch()
        # the newest published frames (bytes: nothing for the garbage collector to walk)
        self._ring: collections.deque[bytes] = collections.deque(maxlen=self.limits.ring)
        self.pub: zmq.Socket[Any] = self.ctx.socket(zmq.PUB)
        self.snap: zmq.Socket[Any] = self.ctx.socket(zmq.ROUTER)
        self.ctl: zmq.Socket[Any] = self.ctx.socket(zmq.ROUTER)
        #: the publish module in use (``publisher``: another one, e.g. the twin for a benchmark)
        self.publisher_impl = publisher or IMPL
        self._publisher = new_publisher(self.pub, self.seqs.start, self._ring, SCHEMA_MAJOR, self.epoch,
                                        self.publisher_impl)
        self._publisher.limit = self.seqs.start            # nothing goes out before start()
        self._publisher.on_limit = _not_started
        self.publish = self._publisher.publish
        self.commands = Commands(self.counters)
        self.replay = Replay(store, self.security, self.limits, self._ring, lambda: self._publisher.seq,
                             self.flush, node, self.counters)
        self.rates = RateLimiter(self.limits.rate, self.limits.burst)
        self._poller = zmq.Poller()
        #: the request sockets' descriptors (ZMQ_FD), looked at in one system call a turn; they
        #: are edge-triggered: after a socket was read or written, input may be pending without
        #: a signal, so ``_recheck`` says to read ZMQ_EVENTS at the next turn instead
        self._fds = select.poll()
        self._fd_numbers: tuple[int, ...] = ()
        self._recheck = False
        self._started = False
        self._accounts = FileWatch(self.security.accounts_path, ACCOUNTS_CHECK, time.monotonic())
        self._flushed = -1               #: the publisher's seq at the last flush

    # ---- life cycle ---------------------------------------------------------------
    def start(self) -> BusServer:
        """Start authentication and bind the three sockets; the first seq block is reserved
        now (no wait at the first event); after an unclean stop the first event is the JournalGap."""
        self.security.start(self.ctx)
        self._setup(self.pub, DOMAIN_EVENTS, self.endpoints.events)
        self._setup(self.snap, DOMAIN_SNAPSHOT, self.endpoints.snapshot)
        self._setup(self.ctl, DOMAIN_CONTROL, self.endpoints.control)
        p = self._publisher
        p.on_limit = self._reach
        p.limit = self._reach(self.seqs.start + 1)
        self._started = True
        if self.gap is not None:
            first, last = self.gap
            log.warning("unclean stop: seqs %d..%d may have been published but are not in the journal; "
                        "declared by a JournalGap event (seq %d)", first, last, last + 1)
            self.publish(JournalGap(first=first, last=last,
                                    reason="unclean stop: reserved seqs not in the journal"))
        # "tcp://127.0.0.1:*" binds a free port: record what was actually bound
        self.endpoints = Endpoints(self.bound(self.pub), self.bound(self.snap), self.bound(self.ctl))
        self._poller.register(self.snap, zmq.POLLIN)
        self._poller.register(self.ctl, zmq.POLLIN)
        self._fd_numbers = (int(self.ctl.get(zmq.FD)), int(self.snap.get(zmq.FD)))
        for fd in self._fd_numbers:
            self._fds.register(fd, select.POLLIN)
        self._recheck = False          # unread commands (a connection, a first message) keep them readable
        return self

    def _setup(self, s: zmq.Socket[Any], domain: str, endpoint: str) -> None:
        s.linger = 0
        s.setsockopt(zmq.MAXMSGSIZE, self.limits.max_frame)
        if s.type == zmq.PUB:
            s.sndhwm = self.limits.subscriber_buffer
        else:
            s.rcvhwm = 10_000
            s.sndhwm = 10_000
            s.setsockopt(zmq.ROUTER_MANDATORY, 1)   # a full or gone peer is an error we see, not a silent drop
        self.security.apply(s, domain, endpoint)
        s.bind(endpoint)

    def bound(self, sock: zmq.Socket[Any]) -> str:
        """The endpoint a socket actually bound (tcp://...:0 picks a port)."""
        return sock.getsockopt_string(zmq.LAST_ENDPOINT)

    def sockets(self) -> list[zmq.Socket[Any]]:
        """The sockets whose input :meth:`poll` serves (an owner's loop may wait on them)."""
        return [self.ctl, self.snap]

    def fds(self) -> tuple[int, ...]:
        """The descriptors (ZMQ_FD) an owner's loop waits on, with its own, in one poll, then
        hands the answer to :meth:`serve` (or calls ``poll(0)``). Edge-triggered: wait on them
        only when :meth:`deadline` is not now (it is now while input may be pending unsignalled)."""
        return self._fd_numbers

    def deadline(self) -> float | None:
        """When (``time.monotonic()``) the bus next needs :meth:`poll` besides socket input:
        now when a watcher has events to be pushed, else the next watch lease to lapse or the
        next look at the accounts file; now, too, while input may be waiting unsignalled
        (see :meth:`fds`); None when nothing is due. The owner's loop sleeps on :meth:`fds`
        until then (docs/bus.md "Latency"), so nothing waits for a fixed poll."""
        if self._recheck:
            return time.monotonic()
        due = self.replay.deadline()
        look = self._accounts.due()
        if look is not None:
            due = look if due is None else min(due, look)
        return due

    def close(self) -> None:
        """Journal what is queued, lower the seq reservation to the last seq (a clean stop: the
        next start declares no gap), close the sockets."""
        try:
            if self._started:
                self.flush()
                self.store.commit()
                p = self._publisher
                if p.on_limit == self._reach:
                    p.on_limit = _closed
                    p.limit = p.seq        # nothing more goes out
                    self.seqs.lower(p.seq)
        finally:        # a store that failed (raised above) leaves the reservation: the next start declares a gap
            self._started = False
            for s in (self.pub, self.snap, self.ctl):
                s.close(0)
            self.security.stop()
            if self._own_ctx:
                self.ctx.destroy(linger=0)

    # ---- extension points ----------------------------------------------------------
    @property
    def handlers(self) -> dict[str, Handler]:
        """Request type -> handler (see :meth:`register_command`)."""
        return self.commands.handlers

    @property
    def after_request(self) -> list[Callable[[], None]]:
        """Hooks run after every command (cti-server publishes what the model produced)."""
        return self.commands.after_request

    @property
    def states(self) -> dict[str, StateProvider]:
        return self.replay.states

    def register_command(self, name: str, handler: Handler) -> None:
        """Serve request type ``name`` (a class registered in cti.bus.schema) with ``handler``."""
        self.commands.register(name, handler)

    def add_state(self, name: str, provider: StateProvider) -> None:
        """Add a section to snapshots: ``provider(account, book)`` returns what that account may see."""
        self.replay.states[name] = provider

    # ---- publishing ---------------------------------------------------------------
    @property
    def seq(self) -> int:
        """The seq of the last event published (from the journal at start-up)."""
        return int(self._publisher.seq)

    @property
    def published(self) -> int:
        """Events published since this server started."""
        return self.seq - self._first_seq

    @property
    def compiled(self) -> bool:
        """Is the publisher the compiled one?"""
        return self.publisher_impl.__name__.endswith("_c")

    def flush(self) -> None:
        """Hand the journal rows queued since the last flush to the store's writer (the owner
        calls it once per loop turn; poll does too), and reserve the next block of seqs ahead of
        need. Durability: see docs/bus.md."""
        p = self._publisher
        seq = p.seq
        if seq != self._flushed or self.seqs.asked > p.limit:     # published since, or a reservation to take up
            self._flushed = seq
            rows = p.take_journal()
            if rows:
                self.store.append_many(rows)
            if p.on_limit == self._reach:
                p.limit = self.seqs.ahead(seq, p.limit)
        self.store.commit_soon()

    def _reach(self, seq: int) -> int:
        """The publisher's ``on_limit`` (see :meth:`Reservations.reach`), counted."""
        limit = self.seqs.reach(seq)
        self.counters["reserve_waits"] += 1
        return limit

    # ---- serving --------------------------------------------------------------------
    def poll(self, timeout_ms: int = 0) -> int:
        """Serve pending requests (waiting up to ``timeout_ms`` for one) and push to watchers;
        returns requests served. ``poll(0)``, every loop turn, costs one system call when no
        socket signalled (the descriptors of :meth:`fds`)."""
        if timeout_ms or not self._started:
            ready = dict(self._poller.poll(timeout_ms))
            n = self._serve_sockets(self.ctl in ready, self.snap in ready)
            self._after_input()
            return n
        return self.serve(dict(self._fds.poll(0)))

    def serve(self, ready: Any) -> int:
        """Serve what an owner's poll found (``ready``: descriptor -> events, keyed as
        :meth:`fds`) and push to watchers; returns requests served. Reads the sockets only when
        one of their descriptors signalled or input may be pending since the last turn."""
        n = 0
        ctl_fd, snap_fd = self._fd_numbers or (-1, -1)
        if self._recheck or ctl_fd in ready or snap_fd in ready:
            n = self._serve_sockets(_readable(self.ctl), _readable(self.snap))
        self._after_input()
        return n

    def _serve_sockets(self, ctl_in: bool, snap_in: bool) -> int:
        n = 0
        if ctl_in:
            n += self._drain(self.ctl, self._command)
        if snap_in:
            n += self._drain(self.snap, self._snapshot_request)
        # reads and replies process the sockets' commands: input that came meanwhile does not
        # signal the (edge-triggered) descriptors, so look at ZMQ_EVENTS once more
        self._recheck = _readable(self.ctl) or _readable(self.snap)
        return n

    def _after_input(self) -> None:
        """The per-turn rest of :meth:`poll`: watchers, the journal hand-off, the accounts file."""
        replay = self.replay
        if replay.watchers:
            replay.pump(self._push)
            if _readable(self.snap):      # pushes went out on the snapshot socket
                self._recheck = True
        self.flush()
        if self._accounts.path is not None:
            self._check_accounts()

    def _drain(self, sock: zmq.Socket[Any], serve: Callable[[zmq.Socket[Any], list[zmq.Frame]], None]) -> int:
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

    def _send(self, sock: zmq.Socket[Any], head: list[bytes], msg: dict[str, Any]) -> bool:
        """Send a reply (with the journal epoch); False when the peer's queue is full or it is gone."""
        msg["epoch"] = self.epoch
        try:
            sock.send_multipart([*head, pack(msg)], zmq.NOBLOCK)
            return True
        except zmq.Again:
            self.counters["replies_dropped"] += 1
        except zmq.ZMQError as e:
            if e.errno != errno.EHOSTUNREACH:
                raise
            self.counters["peer_gone"] += 1
        return False

    def _push(self, ident: bytes, msg: dict[str, Any]) -> bool:
        return self._send(self.snap, [ident], msg)

    def _decode(self, sock: zmq.Socket[Any], frames: list[zmq.Frame]
                ) -> tuple[list[bytes], dict[str, Any], Account | None, int | str | None] | None:
        """Split envelope and body, read the id, check the account's rate; answer the framing,
        size, id and rate problems itself (None then), with the request's id where it has one."""
        self.counters["requests"] += 1
        if len(frames) < 2:
            self.counters["dropped_short"] += 1
            return None
        head = [f.bytes for f in frames[:-1]]
        answer = reply if sock is self.ctl else (lambda rid, **b: {"op": "error", "id": rid, **b})
        rid = None
        try:
            msg = unpack(frames[-1].bytes, max_size=self.limits.max_request)
            if not isinstance(msg, dict):
                raise MalformedRequestError(f"a request is a msgpack map, not {type(msg).__name__}")
            rid = request_id(msg)
        except CallControlError as e:
            self.counters["malformed" if isinstance(e, MalformedRequestError) else f"error.{e.code}"] += 1
            self._send(sock, head, answer(rid, error=error_map(e)))
            return None
        account = self._account(frames)
        if not self.rates.allow(account.name if account is not None else "", time.monotonic()):
            self.counters["rate_limited"] += 1
            self._send(sock, head, answer(rid, error=error_map(RateLimitedError("slow down"))))
            return None
        return head, msg, account, rid

    def _account(self, frames: list[zmq.Frame]) -> Account | None:
        try:
            uid = frames[-1].get("User-Id")
        except (zmq.ZMQError, KeyError):
            uid = None
        return self.security.account(uid if isinstance(uid, str) else None)

    def _command(self, sock: zmq.Socket[Any], frames: list[zmq.Frame]) -> None:
        got = self._decode(sock, frames)
        if got is not None:
            head, msg, account, rid = got
            self._send(sock, head, self.commands.handle(account, msg, rid))

    def handle_command(self, account: Account | None, msg: Any) -> dict[str, Any]:
        """The reply to one decoded request from ``account`` (never raises for bad input)."""
        try:
            rid = request_id(msg) if isinstance(msg, dict) else None
        except CallControlError as e:
            return reply(None, error=error_map(e))
        return self.commands.handle(account, msg, rid)

    def _snapshot_request(self, sock: zmq.Socket[Any], frames: list[zmq.Frame]) -> None:
        got = self._decode(sock, frames)
        if got is None:
            return
        head, msg, account, rid = got
        try:
            out = self.replay.serve(head[0], msg, account, rid)
        except CallControlError as e:
            self.counters[f"error.{e.code}"] += 1
            out = {"op": "error", "id": rid, "error": error_map(e)}
        self._send(sock, head, out)

    # ---- accounts --------------------------------------------------------------------
    def _check_accounts(self) -> None:
        """Read the accounts file again when it changed (looked at every ACCOUNTS_CHECK s)."""
        if self._accounts.changed(time.monotonic()):
            try:
                self.reload_accounts()
            except Exception as e:      # a half-written or broken file: keep the accounts in use
                self.counters["accounts_reload_failed"] += 1
                log.error("accounts file %s not reloaded: %s", self.security.accounts_path, e)

    def reload_accounts(self) -> tuple[set[str], set[str]]:
        """Apply the accounts file as it is now (cti-keys client / revoke on a running server;
        also on SIGHUP where the owner wires it): new accounts may connect at once; a revoked
        one's requests are refused, its watch ends, and the sockets are bound again so that
        its connections are cut (others reconnect by themselves and catch up by seq). Calls
        are not touched. Returns ``(added, revoked)``."""
        added, revoked = self.security.reload()
        names = set(self.security.book.accounts)
        self.rates.keep_only(names)
        dropped = self.replay.drop(names)
        if revoked and self._started:
            self._rebind()
            self._recheck = True
        self.counters["accounts_reloaded"] += 1
        log.warning("accounts reloaded: %d added, %d revoked (%s), %d watchers stopped",
                    len(added), len(revoked), ", ".join(sorted(revoked)) or "-", dropped)
        return added, revoked

    def _rebind(self) -> None:
        """Unbind and bind every socket again: every connection is dropped and must pass the
        handshake with the accounts now in force."""
        for s, ep in ((self.pub, self.endpoints.events), (self.snap, self.endpoints.snapshot),
                      (self.ctl, self.endpoints.control)):
            s.unbind(ep)
            for _ in range(50):
                try:
                    s.bind(ep)
                    break
                except zmq.ZMQError as e:        # the port is released asynchronously
                    if e.errno != errno.EADDRINUSE:
                        raise
                    time.sleep(0.01)
            else:
                s.bind(ep)

    # kept for callers of the first version
    visible = staticmethod(visible)
