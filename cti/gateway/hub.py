"""Fan-out of the bus's events to WebSocket subscribers: the feed, the ring, the sinks.

One bus subscription feeds the whole gateway (:class:`Feed`, a thread running
:class:`cti.bus.client.Subscription`: gap-free, resumes by seq). Events land in the
:class:`Hub` on the asyncio loop, in a ring of recent events (JSON text encoded once), and go
out to every subscriber (:class:`Sink`) whose account may see them: the filter is the bus's
own watch-stream rule (:meth:`cti.bus.server.BusServer.visible`) plus the subscriber's topic
prefixes. Subscribers with the same account and topics form a group; a batch of events is
filtered and encoded once per group, and the same WebSocket frame octets are written to each
member's transport (RFC 6455 server frames are unmasked, so one frame serves every
connection: the reason this module writes the 2-10 octet frame header itself rather than
calling ``send_str`` a thousand times per batch). A subscriber on a plain socket whose
transport has nothing queued gets that frame by a direct ``send(2)`` on both cores, without
the GIL (:mod:`cti.gateway.fanout`); what the kernel does not take goes to its transport, in
order; TLS subscribers and those with octets queued are written through their transports.

Resume: a subscriber names the last seq it has; events after it come from the ring, or from
the bus's journal (replay) when the ring no longer holds them, then the subscriber joins the
live stream. Joining happens on the loop with no ``await`` between "caught up to the head"
and "added to the group", so nothing falls between replay and live and nothing is sent twice.

Slow consumers: a sink's queue is its transport's write buffer, bounded by ``max_buffer``
octets. When a batch would go beyond it, the sink leaves the live stream and remembers the
first seq it did not get; once its client has read the buffer down (within ``slow_timeout``,
else the connection is closed with 1008 and the seq to resume from), it is sent
``{"op": "overflow", "first": F, "last": H}`` and the events from F are replayed to it before
it rejoins the live stream. Nothing is lost silently and the gateway never waits for a client.
"""
from __future__ import annotations

import asyncio
import base64
import collections
import json
import logging
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Awaitable, Callable

import orjson

from cti.bus.auth import Account, AccountBook
from cti.bus.server import BusServer
from cti.call.errors import ReplayGapError

from .fanout import Writer

log = logging.getLogger(__name__)

#: events per replay page and per frame during a replay
PAGE = 1000
#: at most this many events in one live frame made of batches that piled up (Feed._deliver)
MERGE = 5000


def _default(o: Any) -> Any:
    if isinstance(o, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(o)).decode("ascii")
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return str(o)


def encode(obj: Any) -> bytes:
    """Compact UTF-8 JSON (octets as base64). orjson: every event is encoded once, and the
    standard encoder's 20 us an event on the 2-core host was most of the gateway's cost."""
    try:
        return orjson.dumps(obj, default=_default, option=orjson.OPT_NON_STR_KEYS)
    except (TypeError, orjson.JSONEncodeError):      # e.g. an int beyond 64 bits
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=_default).encode()


def dumps(obj: Any) -> str:
    """:func:`encode` as text."""
    return encode(obj).decode()


def _frame(first: int, payload: bytes) -> bytes:
    """One unmasked, unfragmented RFC 6455 frame (server to client): ``first`` octet, length, payload."""
    n = len(payload)
    if n < 126:
        return bytes((first, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", first, 126, n) + payload
    return struct.pack("!BBQ", first, 127, n) + payload


def text_frame(payload: bytes) -> bytes:
    """One text frame (FIN, opcode 1) carrying ``payload``."""
    return _frame(0x81, payload)


@dataclass(slots=True)
class Item:
    """One bus event: decoded, and as JSON text."""

    seq: int
    event: dict[str, Any]
    data: bytes


def deflate_frame(payload: bytes, bits: int, stored: int = 0) -> bytes:
    """``payload`` as one compressed text frame of the permessage-deflate extension (RFC 7692):
    RSV1 set, raw DEFLATE with a window of ``2**bits`` made by a fresh compressor and ended by a
    sync flush whose 00 00 ff ff tail is dropped. A message that refers to no earlier one reads
    the same whether or not the client keeps its context, so the one frame serves every
    subscriber that negotiated the extension, like :func:`text_frame`.

    The first ``stored`` octets (the batch header of an events frame) go first as a *stored*
    DEFLATE block (RFC 1951 3.2.4: one 00 octet, LEN, NLEN, the octets as they are), the rest
    compressed after it: any inflater reads the same message, and a client can read the header
    at offset 5 of the payload without inflating anything."""
    c = zlib.compressobj(1, zlib.DEFLATED, -bits)
    data = c.compress(payload[stored:]) + c.flush(zlib.Z_SYNC_FLUSH)
    if data.endswith(b"\x00\x00\xff\xff"):
        data = data[:-4]
    if stored:
        data = struct.pack("<BHH", 0, stored, stored ^ 0xFFFF) + payload[:stored] + data
    return _frame(0xC1, data)                  # FIN, RSV1 (compressed), opcode 1


def events_payload(items: list[Item], last: int, sent: float | None = None) -> bytes:
    """``{"op": "events", "first": F, "last": L, "count": N, "oldest": T, "sent": S, "events": [...]}``.

    The batch header comes first, in this order, so a client can read it without parsing the
    events (or, compressed, after inflating only the first hundred octets): ``first`` the seq of
    the first event, ``count`` the events, ``oldest`` the bus's ``time`` stamp of the first (the
    oldest) event. A client that trusts the gateway checks continuity and latency from it alone;
    ``last`` is the last seq covered (what to resume after), as before. ``sent`` (Unix time, when
    given) is when the gateway made the frame, just before writing it to its subscribers: a
    client's receive time minus ``sent`` is the frame's wait in the fan-out plus the socket and
    its own read, ``sent`` minus ``oldest`` the time inside the gateway."""
    head = items[0]
    oldest = head.event.get("time")
    stamp = b',"oldest":%b' % encode(oldest) if isinstance(oldest, (int, float)) and not isinstance(oldest, bool) else b""
    if sent is not None:
        stamp += b',"sent":%.6f' % sent
    return b'{"op":"events","first":%d,"last":%d,"count":%d%b,"events":[%b]}' % (
        head.seq, last, len(items), stamp, b",".join(i.data for i in items))


def events_frame(items: list[Item], last: int, deflate: int = 0, sent: float | None = None) -> bytes:
    """:func:`events_payload` as a WebSocket frame (compressed with a window of ``2**deflate``
    when the subscriber negotiated permessage-deflate, 0: plain; its batch header then travels
    in a stored block, see :func:`deflate_frame`); ``items`` is not empty; ``sent``: now."""
    payload = events_payload(items, last, time.time() if sent is None else sent)
    if not deflate:
        return text_frame(payload)
    return deflate_frame(payload, deflate, payload.index(b',"events":['))     # the header stored as it is


def _pcts(xs: list[float]) -> dict[str, float]:
    """p50 / p99 / max of sorted seconds, in milliseconds."""
    return {"p50": round(xs[len(xs) // 2] * 1000, 2), "p99": round(xs[min(len(xs) - 1, int(len(xs) * 0.99))] * 1000, 2),
            "max": round(xs[-1] * 1000, 2)}


class Viewer:
    """What one account with one set of topic prefixes may see."""

    def __init__(self, account: Account, book: AccountBook, topics: tuple[str, ...] = ("",)) -> None:
        self.account = account
        self.allowed = book.visible(account)
        self.topics = tuple(topics) or ("",)
        self.key = (account.name, self.topics)

    def wants(self, e: dict[str, Any]) -> bool:
        topic = str(e.get("topic", ""))
        return any(topic.startswith(t) for t in self.topics) and BusServer.visible(self.account, self.allowed, e)


class Sink:
    """One subscriber: a transport to write frames to, its viewer and its cursor (``last``).

    ``transport`` (an asyncio transport) and ``ws`` (anything with a ``closed`` attribute: the
    aiohttp WebSocketResponse), when given, are the live fan-out's fast path: the batch frame is
    written with the transport's own methods, three C calls per subscriber, instead of through
    ``closing``/``buffered``/``write`` (a dozen Python calls: a fifth of the gateway's CPU at a
    thousand subscribers). Both paths check the same things."""

    def __init__(self, viewer: Viewer, write: Callable[[bytes], None], buffered: Callable[[], int],
                 close: Callable[[int, str], Awaitable[Any]], closing: Callable[[], bool], *,
                 transport: Any = None, ws: Any = None) -> None:
        self.viewer = viewer
        self.write = write
        self.buffered = buffered
        self.close = close
        self.closing = closing
        self.transport = transport if ws is not None else None
        self.ws = ws
        #: the socket the fan-out may ``send`` to directly (:mod:`cti.gateway.fanout`), -1: none
        #: (no fast path, or TLS: its octets must go through the transport's encryption)
        self.fd = plain_fd(self.transport) if self.transport is not None else -1
        self.last = 0              #: seq of the last event sent or skipped as not visible
        self.live = False
        self.missed_from: int | None = None
        self.overflows = 0
        self.task: asyncio.Task[None] | None = None
        self.deflate = 0           #: permessage-deflate window bits its client negotiated (0: none)

    def send(self, obj: dict[str, Any]) -> None:
        if not self.closing():
            self.write(text_frame(encode(obj)))


def plain_fd(transport: Any) -> int:
    """The file descriptor of a plain (not TLS) stream transport's socket, or -1."""
    try:
        if transport.get_extra_info("sslcontext") is not None or transport.get_extra_info("ssl_object") is not None:
            return -1
        sock = transport.get_extra_info("socket")
        return int(sock.fileno()) if sock is not None else -1
    except (AttributeError, OSError, ValueError):
        return -1


@dataclass
class Group:
    viewer: Viewer
    sinks: set[Sink] = field(default_factory=set)


Fetch = Callable[[int, int], tuple[list[dict[str, Any]], int, int]]


class Hub:
    """The ring of recent events and the live groups of sinks (see the module docstring)."""

    def __init__(self, fetch: Fetch | None = None, *, ring: int = 100_000, max_buffer: int = 4 << 20,
                 slow_timeout: float = 30.0, send_threads: int | None = None) -> None:
        self.fetch = fetch              #: bus replay (after, limit) -> (events, last, head); blocking
        #: (seq, JSON text) of recent events: exact tuples of an int and bytes, which the cyclic
        #: garbage collector stops tracking, so a full ring (100 000 events) costs a full collection
        #: nothing; as decoded events (a dict and its lists each) it made one take 0.4 s
        self.ring: collections.deque[tuple[int, bytes]] = collections.deque(maxlen=ring)
        self.head = 0
        self.max_buffer = max_buffer
        self.slow_timeout = slow_timeout
        self.groups: dict[tuple[str, tuple[str, ...]], Group] = {}
        self.counters: collections.Counter[str] = collections.Counter()
        self.gaps: list[tuple[int, int, bool]] = []      #: (first, last, declared) seen by the feed
        self._arrived = asyncio.Event()
        self.started = False
        self.latencies: collections.deque[tuple[float, float]] = collections.deque(maxlen=20_000)
        self.fanout_s = 0.0      #: moving average of the seconds a batch takes to be written to every subscriber
        #: per batch (done, oldest event's bus time, feed got it, feed posted it, fan-out start): the stages
        self.stages: collections.deque[tuple[float, float, float, float, float]] = collections.deque(maxlen=20_000)
        #: the direct socket writes (send_threads 0: every frame through its transport, as with TLS)
        self.writer: Writer | None = Writer(send_threads) if send_threads != 0 else None

    # ---- input ------------------------------------------------------------------------
    def start_at(self, seq: int) -> None:
        """The feed begins after ``seq`` (its snapshot): older events come from the bus."""
        if not self.started:
            self.head = seq
            self.started = True

    def feed(self, events: list[dict[str, Any]], got: float = 0.0, posted: float = 0.0) -> None:
        """A batch of bus events in seq order (called on the loop by the feed); ``got`` and
        ``posted``: when the feed took its first event off the bus and handed it over (Unix time)."""
        items = []
        for e in events:
            seq = int(e["seq"])
            if seq <= self.head:
                continue
            if e.get("type") == "JournalGap":
                self.gaps.append((int(e.get("first", 0)), int(e.get("last", 0)), True))
            items.append(Item(seq, e, encode(e)))
        if not items:
            return
        self.ring.extend([(i.seq, i.data) for i in items])
        self.head = items[-1].seq
        self.counters["events"] += len(items)
        self._fan_out(items, got, posted)
        self._arrived.set()
        self._arrived = asyncio.Event()

    def restart(self, seq: int) -> None:
        """The bus's seqs start again after ``seq`` (a new journal): forget the ring, and tell every
        subscriber to take a snapshot (ReplayGapError), since its seq means nothing any more."""
        self.ring.clear()
        self.head = seq
        self.counters["restarts"] += 1
        for g in list(self.groups.values()):
            for s in list(g.sinks):
                s.send({"op": "error", "id": None, "error": {
                    "code": "ReplayGapError", "details": {"seq": seq},
                    "message": f"the bus's journal was replaced; it goes on after seq {seq}: take a snapshot "
                               "(subscribe with snapshot: true)"}})
                self.detach(s)
        self.groups.clear()

    def undeclared_gap(self, first: int, last: int) -> None:
        """The feed saw seqs missing that no JournalGap declares: tell every subscriber."""
        self.gaps.append((first, last, False))
        for g in self.groups.values():
            for s in g.sinks:
                s.send({"op": "gap", "first": first, "last": last, "declared": False})

    def _fan_out(self, items: list[Item], got: float = 0.0, posted: float = 0.0) -> None:
        sent = time.time()
        t0 = time.perf_counter()
        self._fan_out_groups(items, sent)
        if self.groups:
            # how long a batch takes to reach every subscriber (Feed.batch_window sizes batches by it)
            self.fanout_s = 0.8 * self.fanout_s + 0.2 * (time.perf_counter() - t0)
        stamp = items[0].event.get("time")
        if isinstance(stamp, (int, float)) and self.subscribers():
            # bus publication of the batch's oldest event -> its frame written to every subscriber
            now = time.time()
            self.latencies.append((now, now - stamp))
            if got and posted:
                self.stages.append((now, float(stamp), got, posted, sent))

    def latency_ms(self, since: float = 0.0) -> dict[str, Any]:
        """p50 / p99 / max of the recent fan-out latencies (see :meth:`_fan_out`) of the batches
        written after Unix time ``since``, milliseconds; ``stages``: the same batches' time split
        (p50 / p99 of each): ``bus_to_gateway`` (bus publication of the oldest event -> the feed
        took it off the SUB socket), ``window`` (-> the feed handed the batch to the loop: the
        batch window, and the socket read), ``queued`` (-> the fan-out began: the loop was busy,
        e.g. with the previous batch), ``fanout`` (-> written to every subscriber)."""
        xs = sorted(lat for t, lat in list(self.latencies) if t >= since)   # copies: see GcPauses.summary
        if not xs:
            return {}
        out: dict[str, Any] = {"batches": len(xs), **_pcts(xs)}
        rows = [r for r in list(self.stages) if r[0] >= since]
        if rows:
            out["stages"] = {name: _pcts(sorted(b - a for a, b in pairs)) for name, pairs in (
                ("bus_to_gateway", [(r[1], r[2]) for r in rows]), ("window", [(r[2], r[3]) for r in rows]),
                ("queued", [(r[3], r[4]) for r in rows]), ("fanout", [(r[4], r[0]) for r in rows]))}
        return out

    def _fan_out_groups(self, items: list[Item], sent: float) -> None:
        first, last = items[0].seq, items[-1].seq
        room = self.max_buffer
        direct = self.writer is not None
        for key, g in list(self.groups.items()):
            mine = [i for i in items if g.viewer.wants(i.event)]
            frames: dict[int, bytes] = {}           # by deflate window: each made once, for all
            fds: dict[int, tuple[list[int], list[Sink]]] = {}     # by deflate window: the direct writes
            written = 0
            for s in list(g.sinks):
                frame = frames.get(s.deflate)
                if frame is None:
                    frame = frames[s.deflate] = events_frame(mine, last, s.deflate, sent) if mine else b""
                # the common case inline (a thousand sinks a batch): in step, open, room to spare;
                # one write per subscriber per batch
                if mine and s.last < first:
                    tr = s.transport
                    if tr is not None:
                        if not s.ws.closed and not tr.is_closing():
                            queued = tr.get_write_buffer_size()
                            if not queued and s.fd >= 0 and direct and len(frame) <= room:
                                # nothing queued before it: its octets may go straight to the socket
                                mine_fds = fds.get(s.deflate)
                                if mine_fds is None:
                                    mine_fds = fds[s.deflate] = ([], [])
                                mine_fds[0].append(s.fd)
                                mine_fds[1].append(s)
                                continue
                            if queued + len(frame) <= room:
                                tr.write(frame)
                                s.last = last
                                written += 1
                                continue
                    elif not s.closing() and s.buffered() + len(frame) <= room:
                        s.write(frame)
                        s.last = last
                        written += 1
                        continue
                self._push(g, s, mine, frame, first, last)
            for deflate, (socks, sinks) in fds.items():
                written += self._send_direct(socks, sinks, frames[deflate], last)
            self.counters["frames"] += written
            if not g.sinks:
                del self.groups[key]

    def _send_direct(self, socks: list[int], sinks: list[Sink], frame: bytes, last: int) -> int:
        """``frame`` sent on each socket at once (:class:`cti.gateway.fanout.Writer`: both cores, no
        GIL); what a socket did not take goes to its transport, which sends it after (in order:
        its buffer was empty, and the loop writes nothing else meanwhile). A socket that failed
        (the peer gone) gets the frame through its transport too: its own write meets the error
        and closes the connection the usual way."""
        assert self.writer is not None
        took = self.writer.write(socks, frame)
        n = len(frame)
        rest = 0
        for s, r in zip(sinks, took, strict=True):
            s.last = last
            if r == n:
                continue
            rest += 1
            tr: Any = s.transport
            tr.write(memoryview(frame)[r:] if r > 0 else frame)
        self.counters["direct_frames"] += len(sinks) - rest
        self.counters["direct_rest"] += rest
        return len(sinks)

    def _push(self, g: Group, s: Sink, mine: list[Item], frame: bytes, first: int, last: int) -> None:
        if s.closing():
            g.sinks.discard(s)
            s.live = False
            return
        if s.last >= last:
            return
        if not mine:
            s.last = last
            return
        if s.last >= first:                          # joined mid-batch (its snapshot was ahead)
            mine = [i for i in mine if i.seq > s.last]
            frame = events_frame(mine, last, s.deflate) if mine else b""
        if s.buffered() + len(frame) > self.max_buffer:
            g.sinks.discard(s)
            s.live = False
            s.missed_from = s.last + 1
            s.overflows += 1
            self.counters["overflows"] += 1
            s.task = asyncio.ensure_future(self._recover(s))
            return
        if frame:
            s.write(frame)
            self.counters["frames"] += 1
        s.last = last

    # ---- replay -----------------------------------------------------------------------
    async def events_after(self, after: int, limit: int = PAGE) -> tuple[list[Item], int]:
        """Events with seq > ``after`` (every account's): from the ring, else the bus's journal.
        Returns ``(items, last scanned)``; ReplayGapError when the journal no longer has them."""
        if after >= self.head:
            return [], after
        ring_first = self.ring[0][0] if self.ring else self.head + 1
        if after + 1 >= ring_first:
            start = after + 1 - ring_first
            n = len(self.ring)
            ring = self.ring
            out = [Item(seq, orjson.loads(data), data) for seq, data in (ring[k] for k in range(start, min(start + limit, n)))]
            return out, out[-1].seq if out else after
        if self.fetch is None:
            raise ReplayGapError(f"events after {after} are not held here; take a snapshot", oldest=ring_first)
        fetch = self.fetch
        evs, last, _head = await asyncio.get_running_loop().run_in_executor(None, fetch, after, limit)
        self.counters["bus_replays"] += 1
        items = [Item(int(e["seq"]), e, encode(e)) for e in evs if int(e["seq"]) > after]
        return items, max(int(last), after)

    async def attach(self, s: Sink, after: int) -> None:
        """Send ``s`` the events it may see after ``after``, then add it to the live stream."""
        cursor = after
        while not s.closing():
            if cursor >= self.head:
                s.last = cursor
                s.live = True
                s.missed_from = None
                g = self.groups.get(s.viewer.key)
                if g is None:
                    g = self.groups[s.viewer.key] = Group(s.viewer)
                g.sinks.add(s)
                return
            items, last = await self.events_after(cursor)
            mine = [i for i in items if s.viewer.wants(i.event)]
            if mine and not s.closing():
                s.write(events_frame(mine, last, s.deflate))
                self.counters["replayed"] += len(mine)
            s.last = cursor = last
            await self._drained(s, self.max_buffer // 2)

    def detach(self, s: Sink) -> None:
        g = self.groups.get(s.viewer.key)
        if g is not None:
            g.sinks.discard(s)
        s.live = False
        if s.task is not None and not s.task.done() and s.task is not asyncio.current_task():
            s.task.cancel()

    async def _drained(self, s: Sink, level: int) -> None:
        """Wait until ``s``'s buffer is at most ``level`` octets; close it after ``slow_timeout``."""
        deadline = time.monotonic() + self.slow_timeout
        while s.buffered() > level and not s.closing():
            if time.monotonic() > deadline:
                self.counters["slow_closed"] += 1
                log.warning("closing a subscriber that read nothing for %.0f s (resume after %d)",
                            self.slow_timeout, s.last)
                await s.close(1008, f"too slow: resume after seq {s.last}")
                return
            await asyncio.sleep(0.02)

    async def _recover(self, s: Sink) -> None:
        try:
            await self._drained(s, self.max_buffer // 4)
            if s.closing():
                return
            s.send({"op": "overflow", "first": s.missed_from, "last": self.head,
                    "reason": f"your queue exceeded {self.max_buffer} octets: these seqs are replayed now"})
            await self.attach(s, s.last)
        except ReplayGapError as e:
            s.send({"op": "error", "error": {"code": e.code, "message": str(e), "details": {}}})
        except asyncio.CancelledError:
            pass

    async def wait(self, timeout: float) -> None:
        """Until the next batch arrives, or ``timeout`` seconds."""
        try:
            await asyncio.wait_for(self._arrived.wait(), timeout)
        except TimeoutError:
            pass

    def subscribers(self) -> int:
        return sum(len(g.sinks) for g in self.groups.values())


class Feed(threading.Thread):
    """The gateway's one bus subscription, handing batches to the hub on its loop.

    ``connect()`` returns a subscription (:meth:`cti.bus.client.BusClient.subscribe`); the
    thread retries it every second while the bus is down, and ``ready`` tells whether the
    bus answered within the last ``ping_every * 3`` seconds.
    """

    def __init__(self, hub: Hub, loop: asyncio.AbstractEventLoop, connect: Callable[[int | None], Any],
                 ping: Callable[[], int], ping_every: float = 2.0, window: float = 0.01) -> None:
        super().__init__(name="cti-gateway-feed", daemon=True)
        self.hub = hub
        self.loop = loop
        self.connect = connect
        self.ping = ping
        self.ping_every = ping_every
        self.window = window      #: seconds a batch waits for more events (fewer, larger frames to send)
        self.window_busy = 2 * window     #: the longest window, with 200 subscribers or more (batch_window)
        self.target = 0.05        #: seconds from bus publication to delivery the window leaves room for
        self.margin = 0.015       #: of which the network and the client's own reading
        self.stop = threading.Event()
        self._inbox: list[tuple[str, Any]] = []       #: what the loop has not taken yet, in order
        self._inbox_lock = threading.Lock()
        self._scheduled = False
        self.last_pong = 0.0
        self.error = ""
        self.tail_catch_ups = 0   #: times the bus's head showed events the PUB stream had dropped

    def _post(self, kind: str, arg: Any) -> None:
        """Hand ``(kind, arg)`` to the loop. One wake-up serves everything posted until the loop
        runs it, so a loop that fell behind (a fan-out to a thousand sockets, a host that gave the
        process no CPU for a while) takes the batches that piled up as ONE batch: one frame per
        subscriber for all of them, not one each. The work per event falls as the lag grows,
        and the lag cannot snowball."""
        with self._inbox_lock:
            self._inbox.append((kind, arg))
            if self._scheduled:
                return
            self._scheduled = True
        self.loop.call_soon_threadsafe(self._deliver)

    def _deliver(self) -> None:
        """On the loop: everything posted, in order, consecutive event batches merged."""
        with self._inbox_lock:
            todo, self._inbox = self._inbox, []
            self._scheduled = False
        events: list[dict[str, Any]] = []
        batches = 0
        got = posted = 0.0            # of the first batch merged into ``events`` (the stage split)
        for kind, arg in todo:
            if kind == "events":
                stamps = (0.0, 0.0)
                if isinstance(arg, tuple):          # (events, got, posted) from run()
                    arg, *rest = arg
                    stamps = (rest[0], rest[1])
                if len(events) + len(arg) > MERGE:
                    self.hub.feed(events, got, posted)
                    events = []
                if not events:
                    got, posted = stamps
                events.extend(arg)
                batches += 1
                continue
            if events:
                self.hub.feed(events, got, posted)
                events = []
            if kind == "start":
                self.hub.start_at(arg)
            elif kind == "restart":
                self.hub.restart(arg)
            elif kind == "gap":
                self.hub.undeclared_gap(*arg)
        if events:
            self.hub.feed(events, got, posted)
        if batches > 1:
            self.hub.counters["coalesced"] += batches - 1

    def batch_window(self) -> float:
        """Seconds a batch waits for more events. Each batch costs one socket write per subscriber
        (most of the gateway's CPU), so the longer the window, the less CPU per event; the oldest
        event of a batch waits the window, then the fan-out. Under 200 subscribers: ``window``.
        From 200: the longest window that still lets the oldest event reach the last subscriber
        within ``target`` (less ``margin``) given the measured fan-out time, at most
        ``window_busy``; when even ``window`` would not fit (a host that gives the process too
        little CPU), ``window_busy``: the target is out of reach, so spend the least CPU."""
        # (on the feed's thread: the groups are read through one C-level copy, which cannot see
        # the loop change them midway, as a Python-level walk could)
        if sum(len(g.sinks) for g in list(self.hub.groups.values())) < 200:
            return self.window
        fit = self.target - self.margin - self.hub.fanout_s
        return self.window_busy if fit < self.window else min(fit, self.window_busy)

    @property
    def ready(self) -> bool:
        return self.hub.started and time.monotonic() - self.last_pong < self.ping_every * 3

    def run(self) -> None:
        sub = None
        while sub is None and not self.stop.is_set():
            try:
                sub = self.connect(None)
                self.last_pong = time.monotonic()
                seq = int(sub.last)
                self._post("start", seq)
            except Exception as e:   # bus down or refusing us: keep trying, say why on /readyz
                self.error = f"{type(e).__name__}: {e}"
                log.warning("cti-gateway: cannot subscribe to the bus (%s); retrying", self.error)
                self.stop.wait(1.0)
        next_ping = time.monotonic() + self.ping_every
        undeclared = 0
        stalled_at = -1
        resynced = getattr(sub, "resynced", 0)
        while sub is not None and not self.stop.is_set():
            batch: list[dict[str, Any]] = []
            got = 0.0
            try:
                first = sub.get(timeout=0.02)
                if first is not None:
                    got = time.time()
                    # the batch's first event is here: sleep out the window (no GIL held, no wake-up
                    # per event), then take what queued meanwhile in one read of the SUB socket
                    self.stop.wait(self.batch_window())
                polled = False
                while first is not None:
                    if getattr(sub, "resynced", 0) != resynced:
                        # the bus's journal was replaced or pruned past us: the subscription went on
                        # from a fresh snapshot, so seqs start again there; what came before is sent,
                        # then the hub starts over and its subscribers are told to take a snapshot
                        resynced = sub.resynced
                        if batch:
                            self._post("events", batch)
                        batch = []
                        snap = getattr(sub, "snapshot", None) or {}
                        self._post("restart", int(snap.get("seq", first["seq"] - 1)))
                    batch.append(first)
                    if len(batch) >= 5000:
                        break
                    first = sub.get(timeout=0.0)
                    if first is None and not polled:      # one read of the socket: what queued, no more
                        polled = True
                        first = sub.get(timeout=0.0005)
                if batch:
                    self._post("events", (batch, got, time.time()))
                    batch = []
                    self.last_pong = time.monotonic()
                while undeclared < len(sub.undeclared):
                    a, b = sub.undeclared[undeclared]
                    undeclared += 1
                    self._post("gap", (a, b))
                if time.monotonic() > next_ping:
                    next_ping = time.monotonic() + self.ping_every
                    head = self.ping()
                    self.last_pong = time.monotonic()
                    self.error = ""
                    # the last events of a burst dropped at the PUB high-water mark leave no later
                    # event to reveal the hole: the head the bus reports does; replay up to it
                    if head > sub.last and sub.last == stalled_at:
                        self.tail_catch_ups += 1
                        sub.catch_up(head)
                    stalled_at = sub.last
            except TimeoutError as e:
                self.error = str(e)
            except RuntimeError as e:
                if self.loop.is_closed():     # the loop closed under us: the gateway is stopping
                    return
                self.error = f"RuntimeError: {e}"
                log.exception("cti-gateway feed")
                self.stop.wait(0.5)
            except Exception as e:
                self.error = f"{type(e).__name__}: {e}"
                log.exception("cti-gateway feed")
                self.stop.wait(0.5)
            finally:
                # events already taken off the subscription (an error mid-batch, e.g. a replay that
                # timed out) still go to the hub: the subscription will not give them again
                if batch and not self.loop.is_closed():
                    self._post("events", batch)
