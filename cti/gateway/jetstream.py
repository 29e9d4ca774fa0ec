"""cti-gateway over the whole centre: events from the cluster's JetStream stream.

    cti-gateway --cluster nats://10.0.0.1:4222 --cluster nats://10.0.0.2:4222 \\
                --node a=tcp://10.0.0.1:5560 --node b=tcp://10.0.0.2:5560

A gateway in this mode reads every node's events from the cluster stream (docs/cluster.md)
with a **durable** JetStream consumer instead of one node's ZeroMQ bus, so a browser sees
the whole centre, and the gateway resumes after any restart where its consumer left off.

**Seqs.** The cursor a client holds is the event's position on the stream (JetStream's stream
sequence: one order for the whole centre, no gaps, never reused), so resume, replay, overflow
and long-poll work exactly as over one bus. Each event keeps its node's own numbering in
``node`` and ``node_seq`` (the bus's ``seq`` on that node). Replay beyond the gateway's ring
reads the stream itself by sequence; events older than the stream's retention answer
ReplayGapError, as a pruned journal does.

**Snapshot** (``subscribe`` with ``snapshot: true``, ``GET /snapshot``): every node's own
snapshot (from its bus, with the browser's account: the node checks the rights), merged, at one
stream position ``seq`` = P, with no gap and no duplicate against the stream:

1. P0 = the stream's last sequence, read first; then each node's snapshot (node seq s_n);
2. wait until the stream holds each node's event s_n (its relay may lag a little);
3. P = the stream's last sequence now. Events at or before P0 were published before the
   snapshots were taken, so the snapshots hold them; events after P come after each s_n (a
   node's events are stored in its seq order). Events in (P0, P] whose ``node_seq`` is beyond
   their node's s_n are the snapshot's ``pending`` list, sent to a subscriber as its first
   events frame (an HTTP client applies ``pending`` after the snapshot itself).

Merging: list sections are concatenated (call ids carry their node's prefix, so they do not
clash), map sections are merged, the rest is kept per node under ``nodes``.

**Requests** go to one node's bus, with the browser's account: the node named by a ``node``
field, else the node whose prefix a call id carries (``a-12``), else the node whose events last
named the device or agent, else the first ``--node``.

The NATS client runs on a thread of its own with its own event loop (the feed), like the bus
feed's thread: the fan-out loop never waits for NATS, and NATS never waits for the fan-out.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from cti.bus.auth import Account
from cti.bus.server import Endpoints
from cti.call.errors import InvalidParameterError, ReplayGapError
from cti.cluster.config import ClusterConfig, check_node
from cti.cluster.consumer import to_event as cluster_event
from cti.cluster.stream import H_SEQ

from .accounts import Accounts
from .errors import BusUnavailableError
from .hub import Feed, Hub, Item, encode

log = logging.getLogger(__name__)

#: fields of a request that name a call (their ids carry the node's prefix, ``a-12``)
CALL_FIELDS = ("call", "held_call", "active_call", "consult_call", "primary_call", "secondary_call")
#: fields of a request or an event that name a device or an agent
DEVICE_FIELDS = ("device", "agent", "station", "calling_device", "called_device")


def parse_node(spec: str) -> tuple[str, Endpoints]:
    """``a=tcp://host:5560`` (the bus's events port; snapshot and control are the next two, as
    cti-server's defaults) or ``a=tcp://h:5560,tcp://h:5561,tcp://h:5562``."""
    name, sep, rest = spec.partition("=")
    if not sep or not rest:
        raise ValueError(f"--node {spec!r}: give NAME=tcp://HOST:PORT (the node's bus events endpoint)")
    check_node(name)
    parts = rest.split(",")
    if len(parts) == 3:
        return name, Endpoints(*parts)
    if len(parts) != 1:
        raise ValueError(f"--node {spec!r}: one endpoint (events; the next two ports follow) or three")
    host, _, port = parts[0].rpartition(":")
    if not host.startswith("tcp://") or not port.isdigit():
        raise ValueError(f"--node {spec!r}: the endpoint must be tcp://HOST:PORT")
    p = int(port)
    return name, Endpoints(f"{host}:{p}", f"{host}:{p + 1}", f"{host}:{p + 2}")


class ClusterFeed(Feed):
    """The gateway's durable consumer on the cluster stream, on a thread with its own loop;
    hands batches to the hub exactly as the bus feed does (:meth:`Feed._post`)."""

    def __init__(self, hub: Hub, loop: asyncio.AbstractEventLoop, cfg: ClusterConfig, durable: str,
                 window: float = 0.01) -> None:
        super().__init__(hub, loop, connect=lambda after: None, ping=lambda: 0, window=window)
        self.name = "cti-gateway-jetstream"
        self.cfg = cfg
        self.durable = durable
        self.nats_loop: asyncio.AbstractEventLoop | None = None
        self.js: Any = None
        self._nc: Any = None
        self._up = False
        self.where: dict[str, str] = {}     #: device / agent -> the node whose events last named it
        self._replays: dict[int, Any] = {}  #: replay consumers by the stream sequence they go on from

    # ---- the thread ---------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self.hub.started and self._up

    def run(self) -> None:
        self.nats_loop = asyncio.new_event_loop()
        try:
            self.nats_loop.run_until_complete(self._main())
        except RuntimeError:              # the gateway's loop closed under us: it is stopping
            pass
        finally:
            self.nats_loop.close()

    async def _main(self) -> None:
        import nats
        while not self.stop.is_set():
            try:
                self._nc = await nats.connect(self.cfg.servers, name=f"cti-gateway-{self.durable}",
                                              max_reconnect_attempts=-1, reconnect_time_wait=0.25,
                                              connect_timeout=self.cfg.connect_timeout)
                self.js = self._nc.jetstream()
                sub = await self._bind()
                await self._consume(sub)
            except Exception as e:          # NATS down, the stream missing: say why on /readyz, retry
                self._up = False
                self.error = f"{type(e).__name__}: {e}"
                log.warning("cti-gateway: cluster stream: %s; retrying", self.error)
                await asyncio.sleep(1.0)
            finally:
                if self._nc is not None and not self._nc.is_closed:
                    await self._nc.close()

    async def _bind(self) -> Any:
        """The durable consumer: made at the stream's end the first time (the ring starts there,
        older events are replayed from the stream on demand), else resumed from its ack floor.

        Resuming makes the consumer again at its ack floor: events the previous gateway had
        fetched but not acknowledged (killed between the two) would otherwise come back only
        after ``ack_wait``, behind newer ones, i.e. as a hole in the ring. The name is the
        gateway's own, so nobody else's position is moved."""
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
        from nats.js.errors import NotFoundError
        stream, subject = self.cfg.stream, f"{self.cfg.subject}.>"
        try:
            info = await self.js.consumer_info(stream, self.durable)
        except NotFoundError:
            info = None
        if info is None:
            start = int((await self.js.stream_info(stream)).state.last_seq)
        else:
            start = int(info.ack_floor.stream_seq)
            if int(info.num_ack_pending) or int(info.delivered.stream_seq) > start:
                await self.js.delete_consumer(stream, self.durable)
                info = None
        if info is None:
            await self.js.add_consumer(stream, ConsumerConfig(
                durable_name=self.durable, ack_policy=AckPolicy.ALL, filter_subject=subject,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start + 1,
                ack_wait=30.0, max_ack_pending=20_000))
        sub = await self.js.pull_subscribe(subject, durable=self.durable, stream=stream)
        self._post("start", start)
        return sub

    async def _consume(self, sub: Any) -> None:
        import nats.errors
        while not self.stop.is_set():
            try:
                msgs = await sub.fetch(5000, timeout=self.window * 20)
            except (nats.errors.TimeoutError, TimeoutError):
                self._up = True
                self.last_pong = time.monotonic()
                continue
            self._up = True
            self.error = ""
            self.last_pong = time.monotonic()
            events = [to_event(m) for m in msgs]
            for e in events:                   # where each device lives, for request routing
                for f in DEVICE_FIELDS:
                    v = e.get(f)
                    if isinstance(v, str) and v:
                        self.where[v] = e["node"]
            self._post("events", events)
            # AckPolicy.ALL: one acknowledgement for the batch, once the hub's loop has it queued
            await msgs[-1].ack()

    # ---- calls from the gateway's loop ----------------------------------------------------------
    async def call(self, coro: Any, timeout: float = 5.0) -> Any:
        """Run ``coro`` on the feed's loop and wait for it on the caller's."""
        if self.nats_loop is None or self.js is None:
            coro.close()
            raise BusUnavailableError(f"the cluster stream is not reachable yet ({self.error or 'connecting'})")
        fut = asyncio.run_coroutine_threadsafe(coro, self.nats_loop)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(fut), timeout)
        except TimeoutError:
            raise BusUnavailableError(f"the cluster stream did not answer within {timeout:.0f} s") from None

    def call_blocking(self, coro: Any, timeout: float = 5.0) -> Any:
        """The same from a worker thread (the hub's replay runs in its executor)."""
        if self.nats_loop is None or self.js is None:
            coro.close()
            raise BusUnavailableError(f"the cluster stream is not reachable yet ({self.error or 'connecting'})")
        try:
            return asyncio.run_coroutine_threadsafe(coro, self.nats_loop).result(timeout)
        except TimeoutError:
            raise BusUnavailableError(f"the cluster stream did not answer within {timeout:.0f} s") from None

    async def last_seq(self) -> tuple[int, int]:
        """(first, last) sequence the stream holds."""
        st = (await self.js.stream_info(self.cfg.stream)).state
        return int(st.first_seq), int(st.last_seq)

    async def node_at(self, node: str) -> int:
        """The node seq of ``node``'s last event on the stream (0: none)."""
        from nats.js.errors import NotFoundError
        try:
            m = await self.js.get_last_msg(self.cfg.stream, f"{self.cfg.subject}.{node}")
        except NotFoundError:
            return 0
        return int((m.headers or {}).get(H_SEQ, 0))

    async def read(self, after: int, limit: int) -> tuple[list[dict[str, Any]], int, int]:
        """Events with stream sequence > ``after``, at most ``limit``: (events, last scanned, head).

        A replay reads pages one after the other: the ephemeral consumer of a page is kept for
        the next (keyed by the sequence it goes on from), so a page costs one fetch, not a
        consumer made and the stream asked again (a tenth of a second each on a busy host)."""
        import nats.errors
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
        sub = self._replays.pop(after + 1, None)
        head = after
        if sub is None:
            first, head = await self.last_seq()
            if after >= head:
                return [], after, head
            if after + 1 < first:
                raise ReplayGapError(f"the cluster stream no longer holds events {after + 1}..{first - 1} "
                                     "(retention): take a snapshot", oldest=first)
            sub = await self.js.pull_subscribe(f"{self.cfg.subject}.>", stream=self.cfg.stream,
                                               config=ConsumerConfig(
                                                   ack_policy=AckPolicy.NONE, inactive_threshold=30.0,
                                                   deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                                                   opt_start_seq=after + 1))
        out: list[dict[str, Any]] = []
        try:
            msgs = await sub.fetch(min(limit, 1000), timeout=1.0)
        except (nats.errors.TimeoutError, TimeoutError):
            msgs = []
        out = [to_event(m) for m in msgs]
        last = out[-1]["seq"] if out else after
        self._replays[last + 1] = sub
        while len(self._replays) > 16:               # replays abandoned half-way
            await self._replays.pop(next(iter(self._replays))).unsubscribe()
        return out, last, max(head, last)


def to_event(msg: Any) -> dict[str, Any]:
    """A stream message as the gateway's event: the bus event, ``seq`` its stream position,
    ``node`` / ``node_seq`` where and as what it was published."""
    ce = cluster_event(msg)                  # the stream's headers, read as every consumer reads them
    e = ce.event
    e["node_seq"] = ce.seq or int(e.get("seq", 0))
    e["node"] = ce.node or str(e.get("node", ""))
    e["seq"] = ce.stream_seq
    return e


class ClusterAccounts(Accounts):
    """The accounts of a gateway over the cluster stream: tokens and rights as over one bus
    (the first node's account book), one bus client per node and account for snapshots and
    requests, the stream for events and replay (see the module docstring)."""

    def __init__(self, cfg: ClusterConfig, nodes: dict[str, Endpoints], keys_dir: str | None = None,
                 gateway_account: str = "gateway", durable: str = "cti-gateway", timeout: float = 5.0) -> None:
        first = next(iter(nodes.values()), Endpoints())
        super().__init__(first, keys_dir, gateway_account, timeout)
        self.cfg = cfg
        self.durable = durable
        self.nodes = {n: Accounts(ep, keys_dir, gateway_account, timeout) for n, ep in nodes.items()}
        self.feed: ClusterFeed | None = None
        self.catch_up_wait = 5.0                 #: seconds a node's events may take to reach the stream

    def close(self) -> None:
        for n in self.nodes.values():
            n.close()
        super().close()

    def make_feed(self, hub: Hub, loop: asyncio.AbstractEventLoop) -> ClusterFeed:
        self.feed = ClusterFeed(hub, loop, self.cfg, self.durable)
        return self.feed

    def _need_feed(self) -> ClusterFeed:
        if self.feed is None:
            raise BusUnavailableError("the gateway's cluster feed has not started")
        return self.feed

    # ---- replay: the stream by sequence -----------------------------------------------------------
    def replay(self, after: int, limit: int) -> tuple[list[dict[str, Any]], int, int]:
        feed = self._need_feed()
        out: tuple[list[dict[str, Any]], int, int] = feed.call_blocking(feed.read(after, limit), timeout=30.0)
        return out

    # ---- requests: to the node that holds the call or device -----------------------------------------
    def _need_nodes(self) -> None:
        if not self.nodes:
            raise BusUnavailableError("cti-gateway --cluster was given no --node: requests and snapshots "
                                      "need a node's bus")

    def route(self, msg: dict[str, Any]) -> str:
        self._need_nodes()
        node = msg.get("node")
        if node is not None:
            if node not in self.nodes:
                raise InvalidParameterError(f"node {node!r} is not one of {', '.join(self.nodes)}", field="node")
            return str(node)
        for f in CALL_FIELDS:
            v = msg.get(f)
            if isinstance(v, str) and "-" in v and v.split("-", 1)[0] in self.nodes:
                return v.split("-", 1)[0]
        where = self.feed.where if self.feed is not None else {}
        for f in DEVICE_FIELDS:
            v = msg.get(f)
            if isinstance(v, str) and where.get(v) in self.nodes:
                return where[v]
        return next(iter(self.nodes))

    async def request(self, account: Account, msg: Any) -> dict[str, Any]:
        try:
            node = self.route(msg) if isinstance(msg, dict) else next(iter(self.nodes), "")
        except (BusUnavailableError, InvalidParameterError) as e:
            from .errors import error_map
            return {"error": error_map(e)}
        body = {k: v for k, v in msg.items() if k != "node"} if isinstance(msg, dict) else msg
        reply = await self.nodes[node].request(account, body)
        reply.setdefault("node", node)
        return reply

    # ---- the merged snapshot ---------------------------------------------------------------------------
    async def snapshot(self, account: Account) -> dict[str, Any]:
        feed = self._need_feed()
        self._need_nodes()
        _, p0 = await feed.call(feed.last_seq())
        names = list(self.nodes)
        snaps = await asyncio.gather(*(self.nodes[n].snapshot(account) for n in names))
        floors = {n: int(s.get("seq", 0)) for n, s in zip(names, snaps, strict=True)}
        deadline = time.monotonic() + self.catch_up_wait
        for n, s_n in floors.items():
            while s_n and await feed.call(feed.node_at(n)) < s_n:
                if time.monotonic() > deadline:
                    raise BusUnavailableError(f"node {n}'s events up to {s_n} have not reached the cluster stream "
                                              f"within {self.catch_up_wait:.0f} s (its relay is behind)")
                await asyncio.sleep(0.02)
        _, p = await feed.call(feed.last_seq())
        pending: list[dict[str, Any]] = []
        cursor = p0
        while cursor < p:
            evs, last, _ = await feed.call(feed.read(cursor, min(1000, p - cursor)), timeout=30.0)
            pending += [e for e in evs if e["seq"] <= p and e["node_seq"] > floors.get(e["node"], 0)]
            if last <= cursor:
                break
            cursor = last
        out = merge(snaps, names, p)
        out["pending"] = pending
        return out


def merge(snaps: list[dict[str, Any]], names: list[str], seq: int) -> dict[str, Any]:
    """Node snapshots as one (see the module docstring)."""
    out: dict[str, Any] = {"seq": seq, "nodes": {}}
    for name, snap in zip(names, snaps, strict=True):
        node: dict[str, Any] = {"seq": snap.get("seq", 0)}
        for k, v in snap.items():
            if k in ("seq", "node", "op", "id"):
                continue
            if k == "v":
                out["v"] = v
            elif isinstance(v, list):
                out.setdefault(k, [])
                if isinstance(out[k], list):
                    out[k] += [{**x, "node": x.get("node", name)} if isinstance(x, dict) else x for x in v]
            elif isinstance(v, dict):
                out.setdefault(k, {})
                if isinstance(out[k], dict):
                    out[k].update(v)
            else:
                node[k] = v
        out["nodes"][name] = node
    return out


def pending_items(snap: dict[str, Any]) -> list[Item]:
    """The snapshot's ``pending`` events as hub items (for the subscriber's first frame)."""
    return [Item(int(e["seq"]), e, encode(e)) for e in snap.pop("pending", [])]


__all__ = ["ClusterAccounts", "ClusterFeed", "merge", "parse_node", "pending_items", "to_event"]
