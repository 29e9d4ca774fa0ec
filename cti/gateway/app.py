"""The gateway's aiohttp application: the WebSocket protocol, the HTTP endpoints, the pages.

WebSocket ``/ws`` (JSON text frames; docs/gateway.md and docs/schema/gateway-asyncapi.json):

* client -> gateway: ``auth`` {token}; ``subscribe`` {topics, after | snapshot}; ``unsubscribe``;
  ``request`` {id, request: {type, ...}}; ``snapshot`` {id}; ``ping`` {id}
* gateway -> client: ``hello``, ``authenticated``, ``snapshot``, ``subscribed``, ``events``
  {last, events}, ``reply`` {id, result | error}, ``overflow`` {first, last}, ``gap``, ``pong``,
  ``error`` {id, error}

HTTP: ``GET /snapshot``, ``POST /requests``, ``GET /events?after=N`` (long-poll), ``GET /healthz``
(the process), ``GET /readyz`` (the bus answers), ``GET /config.json``, ``GET /crm/{number}``,
the pages ``/agent`` and ``/wallboard`` and their ``/static/`` files.
"""
from __future__ import annotations

import asyncio
import collections
import csv
import gc
import json
import logging
import os
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from cti.bus.auth import Account
from cti.bus.schema import SCHEMA_MAJOR, SCHEMA_MINOR
from cti.call.errors import (CallControlError, InvalidParameterError, MalformedRequestError,
                             RateLimitedError, UnknownRequestError)

from .accounts import Accounts
from .errors import HTTP_STATUS, AuthenticationError, error_map
from .hub import Feed, Hub, Item, Sink, Viewer, dumps, encode, events_frame, text_frame
from .jetstream import ClusterAccounts, pending_items

log = logging.getLogger(__name__)

STATIC = os.path.join(os.path.dirname(__file__), "static")
PLAIN_WARNING = ("PLAIN MODE: cti-gateway asks for NO token and every browser acts as the bus's "
                 "development integrator; it listens on loopback only. Use --keys (tokens) and "
                 "--cert/--key (TLS) anywhere else.")
OPS = ("auth", "subscribe", "unsubscribe", "request", "snapshot", "ping")


@dataclass
class Options:
    """What ``cti-gateway`` was told (see cti/cli/gateway.py)."""

    max_frame: int = 64 * 1024           #: larger client frames close the WebSocket (1009)
    max_buffer: int = 4 << 20            #: octets queued per connection before it overflows
    slow_timeout: float = 30.0           #: a connection that reads nothing this long is closed
    max_inflight: int = 256              #: requests per connection awaiting their reply
    ring: int = 100_000                  #: recent events kept for resume without the bus
    allow_origins: tuple[str, ...] = ()  #: besides the gateway's own origin
    crm_url: str = "/crm/{calling}"      #: the screen-pop's CRM URL template
    crm_csv: str | None = None           #: a CSV with a ``number`` column served at /crm/{number}
    compress: bool = True                #: offer permessage-deflate (event frames compressed once per batch)
    send_threads: int | None = None      #: threads writing a batch straight to plain sockets (None: 2 on
                                         #: a multi-core host; 0: every frame through its transport)
    batch_window: float = 0.02           #: the longest batch window, seconds (Feed.batch_window)
    title: str = "e1cti"


def _since(request: web.Request) -> float:
    """``?since=<Unix time>`` of /readyz: fan-out latencies of the batches written after it."""
    try:
        return float(request.query.get("since", "0"))
    except ValueError:
        return 0.0


def _crm_table(path: str | None) -> dict[str, dict[str, str]]:
    if not path:
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        return {row["number"]: row for row in csv.DictReader(f) if row.get("number")}


@dataclass(eq=False)
class Conn:
    """One WebSocket connection."""

    ws: web.WebSocketResponse
    transport: Any
    account: Account | None
    token: str | None = None
    sink: Sink | None = None
    inflight: int = 0
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    limit: int = 8 << 20        #: octets unread by the client beyond which answers close the connection
    deflate: int = 0            #: permessage-deflate window bits (0: the client did not offer it)

    def closing(self) -> bool:
        return self.ws.closed or self.transport is None or self.transport.is_closing()

    def buffered(self) -> int:
        return 0 if self.transport is None else int(self.transport.get_write_buffer_size())

    def write(self, frame: bytes) -> None:
        if not self.closing():
            self.transport.write(frame)

    def send(self, obj: dict[str, Any]) -> None:
        """An answer (reply, error...). A client that keeps asking but never reads would grow the
        buffer without end: past ``limit`` it is cut off (1008) instead."""
        if self.buffered() > self.limit and not self.closing():
            payload = struct.pack("!H", 1008) + b"not reading its answers"
            self.transport.write(bytes((0x88, len(payload))) + payload)
            self.transport.abort()
            return
        self.write(text_frame(encode(obj)))


class GcPauses:
    """The cyclic garbage collector's pauses (they stop the fan-out): ``(end, seconds, generation)``
    of the recent collections, from :data:`gc.callbacks`."""

    def __init__(self) -> None:
        self.pauses: collections.deque[tuple[float, float, int]] = collections.deque(maxlen=1000)
        self._t0 = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.pauses.append((time.time(), time.perf_counter() - self._t0, int(info.get("generation", 0))))

    def summary(self, since: float = 0.0) -> dict[str, Any]:
        # a C-level copy first: a collection (and this callback's append) may run while a Python
        # loop walks the deque, which then raises "deque mutated during iteration" (a 500 on /readyz)
        xs = [(d, g) for t, d, g in list(self.pauses) if t >= since]
        return {"collections": len(xs), "full": sum(1 for _d, g in xs if g == 2),
                "max_ms": round(max((d for d, _g in xs), default=0.0) * 1000, 2),
                "total_ms": round(sum(d for d, _g in xs) * 1000, 2)}


class Gateway:
    """The hub, the feed, the accounts and the routes of one gateway process."""

    def __init__(self, accounts: Accounts, options: Options | None = None) -> None:
        self.accounts = accounts
        self.options = options or Options()
        self.hub: Hub | None = None
        self.feed: Feed | None = None
        self.crm = _crm_table(self.options.crm_csv)
        self.started = time.time()
        self.conns: set[Conn] = set()
        self.gc = GcPauses()
        self.counters: dict[str, int] = {"ws_open": 0, "ws_deflate": 0, "requests": 0, "bad_frames": 0,
                                         "auth_failed": 0, "origin_refused": 0}

    # ---- lifecycle ------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.options.max_frame)
        app.router.add_get("/", self.index)
        app.router.add_get("/ws", self.websocket)
        app.router.add_get("/snapshot", self.http_snapshot)
        app.router.add_post("/requests", self.http_request)
        app.router.add_get("/events", self.http_events)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/config.json", self.config)
        app.router.add_get("/crm/{number}", self.crm_record)
        app.router.add_get("/favicon.ico", self.favicon)
        app.router.add_get("/agent", self.page("agent.html"))
        app.router.add_get("/wallboard", self.page("wallboard.html"))
        app.router.add_static("/static/", STATIC, show_index=False)
        app.on_startup.append(self._start)
        app.on_shutdown.append(self._shutdown)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, app: web.Application) -> None:
        loop = asyncio.get_running_loop()
        gc.callbacks.append(self.gc)
        self.hub = Hub(self.accounts.replay, ring=self.options.ring, max_buffer=self.options.max_buffer,
                       slow_timeout=self.options.slow_timeout, send_threads=self.options.send_threads)
        if isinstance(self.accounts, ClusterAccounts):       # the whole centre, from JetStream
            self.feed = self.accounts.make_feed(self.hub, loop)
        else:
            gw = self.accounts.client(self.accounts.gateway)
            self.feed = Feed(self.hub, loop,
                             lambda after: self.accounts.client(self.accounts.gateway).subscribe(after), gw.ping)
        self.feed.window_busy = max(self.options.batch_window, self.feed.window)
        self.feed.start()

    async def _shutdown(self, app: web.Application) -> None:
        for c in list(self.conns):
            try:
                await asyncio.wait_for(c.ws.close(code=1001, message=b"gateway stopping"), 1.0)
            except TimeoutError:
                if c.transport is not None:
                    c.transport.abort()

    async def _stop(self, app: web.Application) -> None:
        if self.feed is not None:
            self.feed.stop.set()
            await asyncio.get_running_loop().run_in_executor(None, self.feed.join, 2.0)
        if self.hub is not None and self.hub.writer is not None:
            self.hub.writer.close()
        if self.gc in gc.callbacks:
            gc.callbacks.remove(self.gc)
        self.accounts.close()

    # ---- checks -----------------------------------------------------------------------------
    def origin_ok(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:                   # not a browser: a token still decides
            return True
        own = f"{request.scheme}://{request.host}"
        return origin == own or origin in self.options.allow_origins

    def _bearer(self, request: web.Request) -> str | None:
        h = request.headers.get("Authorization", "")
        return h[7:].strip() if h.lower().startswith("bearer ") else None

    def _http_account(self, request: web.Request) -> Account:
        if not self.origin_ok(request):
            self.counters["origin_refused"] += 1
            raise _HttpError(403, {"code": "PrivilegeViolationError",
                                   "message": f"Origin {request.headers.get('Origin')} is not allowed", "details": {}})
        try:
            return self.accounts.authenticate(self._bearer(request))
        except AuthenticationError as e:
            self.counters["auth_failed"] += 1
            raise _HttpError(401, error_map(e)) from None

    # ---- HTTP -------------------------------------------------------------------------------
    async def index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(os.path.join(STATIC, "index.html"), headers={"Cache-Control": "no-cache"})

    def page(self, name: str) -> Any:
        path = os.path.join(STATIC, name)

        async def handler(request: web.Request) -> web.StreamResponse:
            return web.FileResponse(path, headers={"Cache-Control": "no-cache"})
        return handler

    async def favicon(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def config(self, request: web.Request) -> web.Response:
        return web.json_response({"mode": self.accounts.mode, "crm_url": self.options.crm_url,
                                  "warning": PLAIN_WARNING if self.accounts.mode == "plain" else "",
                                  "version": f"{SCHEMA_MAJOR}.{SCHEMA_MINOR}", "title": self.options.title})

    async def crm_record(self, request: web.Request) -> web.Response:
        row = self.crm.get(request.match_info["number"])
        if row is None:
            return web.json_response({"error": {"code": "NotFound", "message": "no CRM record", "details": {}}},
                                     status=404)
        return web.json_response(row)

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "uptime": round(time.time() - self.started, 1)})

    async def readyz(self, request: web.Request) -> web.Response:
        feed, hub = self.feed, self.hub
        ready = bool(feed and feed.ready)
        body = {"ready": ready, "head": hub.head if hub else 0, "subscribers": hub.subscribers() if hub else 0,
                "connections": len(self.conns), "error": feed.error if feed else "not started",
                "counters": {**self.counters, **(dict(hub.counters) if hub else {}),
                             "tail_catch_ups": feed.tail_catch_ups if feed else 0},
                "fanout_ms": hub.latency_ms(_since(request)) if hub else {},
                "batch_window_ms": round(feed.batch_window() * 1000, 1) if feed else None,
                "send_threads": hub.writer.threads if hub and hub.writer else 0,
                "sent_by_helper": hub.writer.helped if hub and hub.writer else 0,
                "gc": self.gc.summary(_since(request))}
        return web.json_response(body, status=200 if ready else 503)

    async def http_snapshot(self, request: web.Request) -> web.Response:
        try:
            acct = self._http_account(request)
            return web.json_response(await self.accounts.snapshot(acct), dumps=dumps)
        except _HttpError as e:
            return e.response()
        except CallControlError as e:
            return web.json_response({"error": error_map(e)}, status=HTTP_STATUS.get(e.code, 400))

    async def http_request(self, request: web.Request) -> web.Response:
        try:
            acct = self._http_account(request)
        except _HttpError as e:
            return e.response()
        try:
            msg = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError) as e:
            return web.json_response({"error": error_map(MalformedRequestError(f"not JSON: {e}"))}, status=400)
        self.counters["requests"] += 1
        reply = await self.accounts.request(acct, msg)
        status = HTTP_STATUS.get(reply["error"]["code"], 400) if "error" in reply else 200
        return web.json_response(reply, status=status, dumps=dumps)

    async def http_events(self, request: web.Request) -> web.Response:
        try:
            acct = self._http_account(request)
            q = request.query
            after = _int_param(q.get("after"), "after", 0, None)
            wait = min(_float_param(q.get("wait", "25"), "wait"), 60.0)
            limit = _int_param(q.get("limit", "1000"), "limit", 1, 1000)
            topics = tuple(t for t in q.get("topics", "").split(",") if t) or ("",)
        except _HttpError as e:
            return e.response()
        except CallControlError as e:
            return web.json_response({"error": error_map(e)}, status=400)
        assert self.hub is not None
        viewer = Viewer(acct, self.accounts.book, topics)
        deadline = time.monotonic() + wait
        cursor = after
        try:
            while True:
                items, last = await self.hub.events_after(cursor, limit)
                mine = [i.event for i in items if viewer.wants(i.event)]
                cursor = last
                if mine or time.monotonic() >= deadline:
                    return web.json_response({"events": mine, "last": cursor, "head": self.hub.head}, dumps=dumps)
                if cursor >= self.hub.head:
                    await self.hub.wait(deadline - time.monotonic())
        except CallControlError as e:
            return web.json_response({"error": error_map(e)}, status=HTTP_STATUS.get(e.code, 400))

    # ---- WebSocket --------------------------------------------------------------------------
    async def websocket(self, request: web.Request) -> web.StreamResponse:
        if not self.origin_ok(request):
            self.counters["origin_refused"] += 1
            return web.json_response({"error": {"code": "PrivilegeViolationError", "message":
                                      f"Origin {request.headers.get('Origin')} is not allowed", "details": {}}},
                                     status=403)
        ws = web.WebSocketResponse(max_msg_size=self.options.max_frame, compress=self.options.compress,
                                   heartbeat=30.0)
        await ws.prepare(request)
        conn = Conn(ws, request.transport, None, limit=2 * self.options.max_buffer)
        # permessage-deflate, when the client offered it: the window bits aiohttp agreed to
        # (event frames are compressed by the hub; replies and control frames go uncompressed)
        conn.deflate = int(ws.compress) if ws.compress else 0
        self.counters["ws_deflate"] += 1 if conn.deflate else 0
        token = self._bearer(request)
        try:
            if token or self.accounts.mode == "plain":
                conn.account = self.accounts.authenticate(token)
                conn.token = token
        except AuthenticationError as e:
            conn.send({"op": "error", "id": None, "error": error_map(e)})
            await ws.close(code=4001, message=b"authentication failed")
            return ws
        self.conns.add(conn)
        self.counters["ws_open"] += 1
        assert self.hub is not None
        conn.send({"op": "hello", "version": f"{SCHEMA_MAJOR}.{SCHEMA_MINOR}", "mode": self.accounts.mode,
                   "head": self.hub.head, "max_frame": self.options.max_frame,
                   "account": _account_map(conn.account)})
        guard = asyncio.ensure_future(self._guard(conn))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_text(conn, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    self.counters["bad_frames"] += 1
                    conn.send({"op": "error", "id": None, "error": error_map(
                        MalformedRequestError("binary frames are not understood: send JSON text frames"))})
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            guard.cancel()
            self.conns.discard(conn)
            if conn.sink is not None:
                self.hub.detach(conn.sink)
            for t in conn.tasks:
                t.cancel()
        return ws

    async def _guard(self, conn: Conn) -> None:
        """Close a connection whose token expires or is revoked."""
        while not conn.closing():
            await asyncio.sleep(1.0)
            if conn.token is not None:
                try:
                    self.accounts.authenticate(conn.token)
                except AuthenticationError as e:
                    conn.send({"op": "error", "id": None, "error": error_map(e)})
                    await conn.ws.close(code=4001, message=str(e).encode()[:120])
                    return

    async def _on_text(self, conn: Conn, data: str) -> None:
        rid: Any = None
        try:
            try:
                msg = json.loads(data)
            except ValueError as e:
                raise MalformedRequestError(f"not JSON: {e}") from None
            if not isinstance(msg, dict):
                raise MalformedRequestError("a message is a JSON object with an \"op\"")
            rid = msg.get("id")
            if not isinstance(rid, (int, str, type(None))) or isinstance(rid, bool):
                rid = None
                raise InvalidParameterError("id must be an integer or a string", field="id")
            op = msg.get("op")
            if op not in OPS:
                raise UnknownRequestError(f"unknown op {op!r}; known: {', '.join(OPS)}", type=str(op)[:40])
            if op == "auth":
                token = msg.get("token")
                conn.account = self.accounts.authenticate(token if isinstance(token, str) else None)
                conn.token = token if self.accounts.mode != "plain" else None
                conn.send({"op": "authenticated", "id": rid, "account": _account_map(conn.account)})
                return
            if conn.account is None:
                raise AuthenticationError("send {\"op\": \"auth\", \"token\": ...} first (cti-keys token NAME)")
            if op == "ping":
                assert self.hub is not None
                conn.send({"op": "pong", "id": rid, "head": self.hub.head})
            elif op == "request":
                self._request(conn, rid, msg.get("request"))
            elif op == "snapshot":
                snap = await self.accounts.snapshot(conn.account)
                conn.send({"op": "snapshot", "id": rid, **snap})
            elif op == "subscribe":
                await self._subscribe(conn, rid, msg)
            elif op == "unsubscribe":
                if conn.sink is not None:
                    assert self.hub is not None
                    self.hub.detach(conn.sink)
                    conn.sink = None
                conn.send({"op": "unsubscribed", "id": rid})
        except CallControlError as e:
            self.counters["bad_frames"] += 1
            if isinstance(e, AuthenticationError):
                self.counters["auth_failed"] += 1
            conn.send({"op": "error", "id": rid, "error": error_map(e)})

    def _request(self, conn: Conn, rid: Any, req: Any) -> None:
        if rid is None:
            raise InvalidParameterError("a request needs an id (echoed in its reply)", field="id")
        if conn.inflight >= self.options.max_inflight:
            conn.send({"op": "reply", "id": rid, "error": error_map(RateLimitedError(
                f"more than {self.options.max_inflight} requests awaiting replies on this connection"))})
            return
        conn.inflight += 1
        self.counters["requests"] += 1
        assert conn.account is not None

        async def run(account: Account) -> None:
            try:
                reply = await self.accounts.request(account, req)
                conn.send({"op": "reply", "id": rid, **reply})
            finally:
                conn.inflight -= 1

        t = asyncio.ensure_future(run(conn.account))
        conn.tasks.add(t)
        t.add_done_callback(conn.tasks.discard)

    async def _subscribe(self, conn: Conn, rid: Any, msg: dict[str, Any]) -> None:
        assert self.hub is not None and conn.account is not None
        topics = msg.get("topics", [""])
        if not isinstance(topics, list) or not all(isinstance(t, str) and len(t) <= 200 for t in topics) \
                or len(topics) > 64:
            raise InvalidParameterError("topics must be a list of at most 64 topic prefixes", field="topics")
        after = msg.get("after")
        if after is not None and (not isinstance(after, int) or isinstance(after, bool) or after < 0):
            raise InvalidParameterError("after must be a non-negative integer seq", field="after")
        if conn.sink is not None:
            self.hub.detach(conn.sink)
        viewer = Viewer(conn.account, self.accounts.book, tuple(topics) or ("",))
        sink = conn.sink = Sink(viewer, conn.write, conn.buffered, self._closer(conn), conn.closing,
                                transport=conn.transport, ws=conn.ws)
        sink.deflate = conn.deflate
        pending: list[Item] = []
        if msg.get("snapshot"):
            snap = await self.accounts.snapshot(conn.account)
            pending = pending_items(snap)        # cluster mode: events the node snapshots just missed
            conn.send({"op": "snapshot", "id": rid, **snap})
            after = int(snap["seq"])
        elif after is None:
            after = self.hub.head
        conn.send({"op": "subscribed", "id": rid, "after": after, "head": self.hub.head, "topics": list(viewer.topics)})
        mine = [i for i in pending if viewer.wants(i.event)]
        if mine:
            conn.write(events_frame(mine, after, sink.deflate))
        sink.task = asyncio.ensure_future(self._attach(conn, sink, after))

    async def _attach(self, conn: Conn, sink: Sink, after: int) -> None:
        assert self.hub is not None
        try:
            await self.hub.attach(sink, after)
        except CallControlError as e:
            conn.send({"op": "error", "id": None, "error": error_map(e)})

    @staticmethod
    def _closer(conn: Conn) -> Any:
        async def close(code: int, reason: str) -> None:
            # its buffer is full: a close handshake would wait for ever; say why (if it ever reads) and cut
            payload = struct.pack("!H", code) + reason.encode()[:120]
            conn.write(bytes((0x88, len(payload))) + payload)
            if conn.transport is not None:
                conn.transport.abort()
        return close


class _HttpError(Exception):
    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.status = status
        self.error = error

    def response(self) -> web.Response:
        return web.json_response({"error": self.error}, status=self.status)


def _account_map(a: Account | None) -> dict[str, Any] | None:
    return None if a is None else {"name": a.name, "role": a.role, "device": a.device, "team": a.team}


def _int_param(v: str | None, name: str, lo: int, hi: int | None) -> int:
    try:
        n = int(v) if v is not None else None
    except ValueError:
        n = None
    if n is None or n < lo or (hi is not None and n > hi):
        raise InvalidParameterError(f"{name} must be an integer >= {lo}" + (f" and <= {hi}" if hi else ""), field=name)
    return n


def _float_param(v: str, name: str) -> float:
    try:
        f = float(v)
    except ValueError:
        raise InvalidParameterError(f"{name} must be a number of seconds", field=name) from None
    if not f >= 0:
        raise InvalidParameterError(f"{name} must be a number of seconds", field=name)
    return f
