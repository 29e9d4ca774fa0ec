"""Client library for the CTI bus: commands, snapshot, and a gap-free event subscription.

>>> c = BusClient()                                   # plain mode, default localhost endpoints
>>> snap = c.snapshot()                               # {"seq": N, "calls": [...], "spans": [...]}
>>> sub = c.subscribe(after=snap["seq"])              # or after=<last seq you processed>
>>> for event in sub.events(timeout=1.0): ...         # seq order, no gaps, no duplicates
>>> c.answer_call(call="17")                          # -> {"call": "17"} or a typed exception
>>> c.request("AnswerCall", {"call": "17"})           # -> {"result": {...}} or {"error": {...}}
>>> c.ping()                                          # -> the server's head seq
>>> sub.catch_up(c.ping())                            # replay up to the head now

A subscription on the PUB socket (``mode="pub"``, integrators) fills any seq gap (slow
join, HWM drop, restart) from the server's replay; ``mode="watch"`` receives the stream
filtered for the account over the snapshot socket (agents, supervisors). Errors arrive as
the exception classes of :mod:`cti.call.errors`; no reply within ``timeout`` is TimeoutError.

Gaps: a ``JournalGap`` event (topic ``server.journal_gap``) declares seqs a crashed server may
have published but could not journal; a subscription records it in ``.gaps``, logs it and
goes on. A gap nothing declares (a replay that skips seqs it should hold, or a server whose
head is behind what this client already saw: it lost its journal and will reuse seqs) is
logged as an error and recorded in ``.undeclared``.

Epochs: every event and reply carries the journal's ``epoch``. A subscription that sees a new
one (the server's journal was lost or replaced: its seqs start again) takes a fresh snapshot
(``.snapshot``, counted in ``.resynced`` and listed in ``.epochs``) and goes on from its seq,
instead of dropping the new journal's events as seqs it has already seen. Give the epoch you
saved with your last seq to ``subscribe(after=..., epoch=...)`` to have it checked on resume.

A watcher that falls too far behind is told which seqs it missed (an ``overflow`` message);
the subscription replays them (``.missed`` lists the ranges).
"""
from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass
from typing import Any, TypedDict
from collections.abc import Iterator, Mapping

import zmq

from .auth import client_curve
from .codec import pack, unpack_event
from .endpoints import Endpoints
from .errors import ReplayGapError, raise_error

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClientKeys:
    """CURVE files from ``cti-keys``: this account's secret key file, the server's public key file."""

    secret_file: str
    server_public_file: str


_raise = raise_error


class Reply(TypedDict, total=False):
    """What :meth:`BusClient.request` returns: exactly one of the two keys."""

    result: dict[str, Any]
    error: dict[str, Any]


class BusClient:
    """One connection to a CTI server (see the module docstring)."""

    def __init__(self, endpoints: Endpoints | None = None, *, keys: ClientKeys | None = None,
                 ctx: zmq.Context[Any] | None = None, timeout: float = 5.0) -> None:
        self.endpoints = endpoints or Endpoints()
        self.keys = keys
        self.timeout = timeout
        self._own_ctx = ctx is None
        self.ctx = ctx or zmq.Context()
        self._invokes = itertools.count(1)
        self._socks: dict[str, zmq.Socket[Any]] = {}
        #: the journal epoch of the last reply (None before the first)
        self.epoch: str | None = None

    # ---- sockets ----------------------------------------------------------------------
    def _socket(self, kind: int, endpoint: str) -> zmq.Socket[Any]:
        s = self.ctx.socket(kind)
        s.linger = 0
        if self.keys is not None:
            client_curve(s, self.keys.secret_file, self.keys.server_public_file)
        s.connect(endpoint)
        return s

    def _dealer(self, which: str) -> zmq.Socket[Any]:
        s = self._socks.get(which)
        if s is None:
            s = self._socks[which] = self._socket(zmq.DEALER, getattr(self.endpoints, which))
        return s

    def _request(self, which: str, msg: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        """Send ``msg`` and wait for the reply whose ``id`` matches (lazy pirate on timeout)."""
        sock = self._dealer(which)
        sock.send(pack(msg))
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not sock.poll(int(left * 1000) + 1):
                self._socks.pop(which).close(0)      # drop queued requests with the socket
                raise TimeoutError(f"no reply from {getattr(self.endpoints, which)} "
                                   "(server down, or not authenticated?)")
            reply = unpack_event(sock.recv())
            if isinstance(reply.get("epoch"), str):
                self.epoch = reply["epoch"]
            if reply.get("id") == msg.get("id") or (reply.get("id") is None and "error" in reply \
                    and reply["error"].get("code") == "MalformedRequestError"):
                return reply
            # a late reply to an earlier request that timed out: skip it

    # ---- requests ---------------------------------------------------------------------
    def request(self, type: str, fields: Mapping[str, Any] | None = None, *,
                timeout: float | None = None) -> Reply:
        """Send one request of ``type`` with ``fields`` and return its reply map, errors included:
        ``{"result": {...}}`` or ``{"error": {"code", "message", "details"}}`` (a gateway or a
        proxy passes either on as it is). The fields are a map, so any field name is the
        request's own (``CollectDigits`` has a ``timeout`` field; this call's ``timeout`` is
        the wait for the reply). Raises TimeoutError when the server does not answer in time."""
        msg: dict[str, Any] = {k: v for k, v in (fields or {}).items() if v is not None and k not in ("id", "invoke")}
        msg["type"] = type
        msg["id"] = next(self._invokes)
        reply = self._request("control", msg, timeout)
        if "error" in reply:
            return {"error": reply["error"]}
        return {"result": reply.get("result") or {}}

    def command(self, type: str, *, timeout: float | None = None, **fields: Any) -> dict[str, Any]:
        """Send one request; its result map, or raise its typed error (:mod:`cti.call.errors`)."""
        reply = self.request(type, fields, timeout=timeout)
        if "error" in reply:
            _raise(reply["error"])
        return reply.get("result") or {}

    def ping(self, timeout: float | None = None) -> int:
        """The server's head (the seq of the last event it published); a liveness check.
        Raises TimeoutError when the server does not answer in time."""
        return int(self._snap({"op": "ping"}, timeout)["head"])

    def make_call(self, device: str, called: str, **kw: Any) -> dict[str, Any]:
        return self.command("MakeCall", device=device, called=called, **kw)

    def answer_call(self, call: str, **kw: Any) -> dict[str, Any]:
        return self.command("AnswerCall", call=call, **kw)

    def clear_connection(self, call: str, **kw: Any) -> dict[str, Any]:
        return self.command("ClearConnection", call=call, **kw)

    def hold_call(self, call: str, **kw: Any) -> dict[str, Any]:
        return self.command("HoldCall", call=call, **kw)

    def retrieve_call(self, call: str, **kw: Any) -> dict[str, Any]:
        return self.command("RetrieveCall", call=call, **kw)

    def consultation_call(self, call: str, called: str, **kw: Any) -> dict[str, Any]:
        return self.command("ConsultationCall", call=call, called=called, **kw)

    def transfer_call(self, held_call: str, active_call: str, **kw: Any) -> dict[str, Any]:
        return self.command("TransferCall", held_call=held_call, active_call=active_call, **kw)

    def single_step_transfer(self, call: str, to: str, **kw: Any) -> dict[str, Any]:
        return self.command("SingleStepTransfer", call=call, to=to, **kw)

    def conference_call(self, held_call: str, active_call: str, **kw: Any) -> dict[str, Any]:
        return self.command("ConferenceCall", held_call=held_call, active_call=active_call, **kw)

    def send_digits(self, call: str, digits: str, **kw: Any) -> dict[str, Any]:
        return self.command("SendDigits", call=call, digits=digits, **kw)

    # ---- snapshot / replay ----------------------------------------------------------------
    def _snap(self, msg: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        msg["id"] = next(self._invokes)
        reply = self._request("snapshot", msg, timeout)
        if reply.get("op") == "error":
            _raise(reply["error"])
        return reply

    def snapshot(self, timeout: float | None = None) -> dict[str, Any]:
        """State now: ``seq`` (the last event it includes), ``calls``, ``spans`` (and more sections)."""
        return self._snap({"op": "snapshot"}, timeout)

    def replay(self, after: int, limit: int = 1000) -> tuple[list[dict[str, Any]], int, int]:
        """Events with seq > ``after`` (visible to this account): ``(events, last_scanned, head)``."""
        r = self._snap({"op": "replay", "after": after, "limit": limit})
        return [unpack_event(b) for b in r["events"]], int(r["last"]), int(r["head"])

    def subscribe(self, after: int | None = None, topics: tuple[str, ...] = ("",),
                  mode: str = "pub", epoch: str | None = None) -> Subscription:
        """A gap-free stream of events with seq > ``after`` (None: from a fresh snapshot, kept in
        ``.snapshot``); ``epoch``: the journal epoch ``after`` belongs to (a server with another
        one is resynced by snapshot)."""
        return Subscription(self, after, topics, mode, epoch)

    def close(self) -> None:
        for s in self._socks.values():
            s.close(0)
        self._socks.clear()
        if self._own_ctx:
            self.ctx.destroy(linger=0)      # also closes the sockets of open subscriptions

    def __enter__(self) -> BusClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Subscription:
    """Events in seq order without gaps or duplicates (see :meth:`BusClient.subscribe`)."""

    def __init__(self, client: BusClient, after: int | None, topics: tuple[str, ...], mode: str,
                 epoch: str | None = None) -> None:
        if mode not in ("pub", "watch"):
            raise ValueError("mode must be 'pub' or 'watch'")
        self.client = client
        self.topics = tuple(topics) or ("",)
        self.mode = mode
        self.snapshot: dict[str, Any] | None = None
        self.gaps_filled = 0
        self.resynced = 0        #: times the journal no longer held what we missed (see .snapshot)
        self.gaps: list[tuple[int, int]] = []        #: seq ranges JournalGap events declared
        self.undeclared: list[tuple[int, int]] = []  #: seq ranges missing with no declaration
        self.missed: list[tuple[int, int]] = []      #: seq ranges a watch overflow skipped (then replayed)
        self.epochs: list[str] = []                  #: new journal epochs met (each one resynced)
        #: the journal epoch of the events delivered
        self.epoch: str | None = epoch
        self._pending: list[dict[str, Any]] = []
        self._watch_renew = 0.0
        if mode == "pub":
            self._sub = client._socket(zmq.SUB, client.endpoints.events)
            for t in self.topics:
                self._sub.setsockopt(zmq.SUBSCRIBE, t.encode())
        if after is None:
            self.snapshot = client.snapshot()
            after = int(self.snapshot["seq"])
            self.epoch = self.snapshot.get("epoch", self.epoch)
        self.last = after        #: seq of the last event delivered (or covered by a snapshot/replay)
        if mode == "watch":
            self._watch_sock = client._socket(zmq.DEALER, client.endpoints.snapshot)
            self._renew(reset=True)
        else:
            self._catch_up(None)

    def _wanted(self, e: dict[str, Any]) -> bool:
        return any(str(e.get("topic", "")).startswith(t) for t in self.topics)

    def catch_up(self, upto: int | None = None) -> int:
        """Replay from :attr:`last` until seq ``upto`` (None: the server's head) is covered and
        queue what this subscription wants; returns :attr:`last`. For a tail the stream dropped
        with no later event to reveal the hole (the head :meth:`BusClient.ping` reports does)."""
        self._catch_up(upto)
        return self.last

    def _catch_up(self, upto: int | None) -> None:
        """Replay from ``self.last`` until ``upto`` (or the server's head) is covered."""
        while True:
            try:
                r = self.client._snap({"op": "replay", "after": self.last, "limit": 1000})
            except ReplayGapError:
                # what we missed was pruned (retention): start again from a fresh snapshot
                self.snapshot = self.client.snapshot()
                self.last = int(self.snapshot["seq"])
                self.resynced += 1
                continue
            if self._epoch_changed(r.get("epoch")):
                return
            evs = [unpack_event(b) for b in r["events"]]
            last, head = int(r["last"]), int(r["head"])
            if head < self.last:
                # the server never got as far as we did: it lost events we saw and will reuse their seqs
                self._undeclared(head + 1, self.last, f"server head {head} is behind seq {self.last} "
                                 "this client already received")
                self.last = head
                return
            expect = self.last + 1
            for e in evs:
                s = int(e["seq"])
                if e.get("type") == "JournalGap":
                    self._declared(e)
                if s > expect and r.get("filtered") is False and not self._covers(e, expect, s - 1):
                    self._undeclared(expect, s - 1, "replay skipped them")
                expect = s + 1
                if self._wanted(e):
                    self._pending.append(e)
            if last <= self.last:
                return
            self.last = last
            if last >= (upto if upto is not None else head):
                return

    def _epoch_changed(self, epoch: Any) -> bool:
        """True (after a resync by snapshot) when ``epoch`` is a journal epoch other than ours."""
        if not isinstance(epoch, str) or epoch == self.epoch:
            return False
        if self.epoch is None:
            self.epoch = epoch
            return False
        log.warning("new journal epoch %s (was %s): the server's journal was lost or replaced; "
                    "resyncing from a snapshot", epoch, self.epoch)
        self.epochs.append(epoch)
        self.snapshot = self.client.snapshot()
        self.last = int(self.snapshot["seq"])
        self.epoch = self.snapshot.get("epoch", epoch)
        self.resynced += 1
        if self.mode == "watch":
            self._renew(reset=True)
        return True

    def _declared(self, e: dict[str, Any]) -> None:
        rng = (int(e.get("first", 0)), int(e.get("last", 0)))
        if rng not in self.gaps:
            self.gaps.append(rng)
            log.warning("declared gap: seqs %d..%d are not in the server's journal (%s)",
                        rng[0], rng[1], e.get("reason", ""))

    @staticmethod
    def _covers(e: dict[str, Any], first: int, last: int) -> bool:
        """Does ``e`` (the event after a hole first..last) declare that hole?"""
        return (e.get("type") == "JournalGap" and isinstance(e.get("first"), int)
                and isinstance(e.get("last"), int) and e["first"] <= first and e["last"] >= last)

    def _undeclared(self, first: int, last: int, why: str) -> None:
        self.undeclared.append((first, last))
        log.error("undeclared gap: seqs %d..%d (%s)", first, last, why)

    def _renew(self, reset: bool = False) -> None:
        msg = {"op": "watch", "after": self.last, "id": 0}
        if reset:
            msg["reset"] = True
        self._watch_sock.send(pack(msg))
        self._watch_renew = time.monotonic() + 5.0

    def get(self, timeout: float = 1.0) -> dict[str, Any] | None:
        """The next event, or None after ``timeout`` seconds without one."""
        deadline = time.monotonic() + timeout
        while not self._pending:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if self.mode == "watch":
                self._recv_watch(left)
            else:
                self._recv_pub(left)
        return self._pending.pop(0)

    def _recv_pub(self, left: float) -> None:
        if not self._sub.poll(int(left * 1000) + 1):
            return
        while True:
            try:
                _topic, data = self._sub.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            e = unpack_event(data)
            seq = int(e["seq"])
            if e.get("epoch") != self.epoch and self._epoch_changed(e.get("epoch")) and seq <= self.last:
                continue                          # in the snapshot just taken
            if seq <= self.last:
                continue                          # already delivered via replay
            if seq > self.last + 1:
                self.gaps_filled += 1
                self._catch_up(seq - 1)           # lost, or filtered out: the replay decides
                if seq <= self.last:
                    continue
            if e.get("type") == "JournalGap":
                self._declared(e)
            self._pending.append(e)
            self.last = seq

    def _recv_watch(self, left: float) -> None:
        if time.monotonic() > self._watch_renew:
            self._renew()
        if not self._watch_sock.poll(int(min(left, 1.0) * 1000) + 1):
            return
        msg = unpack_event(self._watch_sock.recv())
        if msg.get("op") == "error":
            _raise(msg["error"])
        if self._epoch_changed(msg.get("epoch")):
            return
        if msg.get("op") == "overflow":
            self._overflow(int(msg["first"]), int(msg["last"]))
            return
        for b in msg.get("events", ()):
            e = unpack_event(b)
            if e.get("type") == "JournalGap" and int(e["seq"]) > self.last:
                self._declared(e)
            if int(e["seq"]) > self.last and self._wanted(e):
                self._pending.append(e)
                self.last = int(e["seq"])
        if msg.get("op") == "events":
            self.last = max(self.last, int(msg.get("last", self.last)))
        elif msg.get("op") == "watching" and isinstance(msg.get("head"), int) and msg["head"] < self.last:
            self._undeclared(msg["head"] + 1, self.last, f"server head {msg['head']} is behind seq "
                             f"{self.last} this client already received")
            self.last = msg["head"]
            self._renew(reset=True)

    def _overflow(self, first: int, last: int) -> None:
        """The server moved our watch on past seqs first..last (we lagged): replay them."""
        log.warning("watch overflow: seqs %d..%d skipped by the server; replaying them", first, last)
        self.missed.append((first, last))
        after = max(self.last, first - 1)
        while after < last:
            try:
                r = self.client._snap({"op": "replay", "after": after, "limit": min(1000, last - after)})
            except ReplayGapError:
                self.snapshot = self.client.snapshot()      # pruned meanwhile: start from state now
                self.resynced += 1
                self.last = int(self.snapshot["seq"])
                self._renew(reset=True)
                return
            for b in r["events"]:
                e = unpack_event(b)
                if after < int(e["seq"]) <= last and self._wanted(e):
                    self._pending.append(e)
            if int(r["last"]) <= after:
                break
            after = int(r["last"])
        self.last = max(self.last, last)

    def events(self, timeout: float = 1.0) -> Iterator[dict[str, Any]]:
        """Iterate events until none arrives for ``timeout`` seconds."""
        while (e := self.get(timeout)) is not None:
            yield e

    def close(self) -> None:
        if self.mode == "pub":
            self._sub.close(0)
        else:
            try:
                self._watch_sock.send(pack({"op": "unwatch", "id": 0}), zmq.NOBLOCK)
            except zmq.ZMQError:
                pass
            self._watch_sock.close(0)
