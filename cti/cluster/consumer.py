"""Reading the whole centre: a durable JetStream consumer over every node's events.

    async with ClusterConsumer(["nats://10.0.0.1:4222", ...], durable="crm") as feed:
        async for ev in feed.events():
            handle(ev.node, ev.event)          # the bus event, decoded (docs/bus.md)
            await ev.ack()                     # acknowledged: never delivered to "crm" again

The consumer is durable (JetStream keeps its position under the name ``durable``, replicated
like the stream): a CRM that stops, crashes or loses its NATS server resumes where it left,
with every unacknowledged event delivered again. Delivery is at least once: an event handled
and not yet acknowledged when the CRM died comes again (same ``node``, ``epoch``, ``seq``, the
event's id across the cluster, so a handler can be idempotent). Order: a node's events come in
that node's seq order (except after a publisher's retry, docs/cluster.md); events of different
nodes interleave in the order the stream stored them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from collections.abc import AsyncIterator

from cti.bus.codec import unpack_event

from .config import ClusterConfig
from .stream import H_EPOCH, H_NODE, H_SEQ


@dataclass
class ClusterEvent:
    """One event of the cluster stream."""

    node: str
    epoch: str
    seq: int
    stream_seq: int          #: its position on the stream (cluster-wide, storage order)
    data: bytes              #: the bus frame, exactly as the node's ZeroMQ bus sent it
    msg: Any = field(repr=False, default=None)

    @property
    def event(self) -> dict[str, Any]:
        """The bus event (type, fields, envelope)."""
        return unpack_event(self.data)

    @property
    def key(self) -> tuple[str, str, int]:
        """The event's id across the cluster."""
        return (self.node, self.epoch, self.seq)

    async def ack(self) -> None:
        if self.msg is not None:
            await self.msg.ack()


def to_event(msg: Any) -> ClusterEvent:
    h = msg.headers or {}
    meta = msg.metadata
    return ClusterEvent(str(h.get(H_NODE, "")), str(h.get(H_EPOCH, "")), int(h.get(H_SEQ, 0)),
                        int(meta.sequence.stream), msg.data, msg)


class ClusterConsumer:
    """A durable pull consumer named ``durable`` on the cluster stream (``nodes``: only these)."""

    def __init__(self, servers: list[str], durable: str, *, cfg: ClusterConfig | None = None,
                 nodes: list[str] | None = None, batch: int = 256, ack_wait: float = 30.0) -> None:
        self.cfg = cfg or ClusterConfig(servers=list(servers))
        self.servers = list(servers)
        self.durable = durable
        self.nodes = nodes
        self.batch = batch
        self.ack_wait = ack_wait
        self.nc: Any = None
        self.sub: Any = None

    async def __aenter__(self) -> ClusterConsumer:
        import nats
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
        self.nc = await nats.connect(self.servers, name=f"cti-consumer-{self.durable}", max_reconnect_attempts=-1,
                                     reconnect_time_wait=0.25)
        js = self.nc.jetstream()
        subjects = [f"{self.cfg.subject}.{n}" for n in self.nodes] if self.nodes else [f"{self.cfg.subject}.>"]
        config = ConsumerConfig(durable_name=self.durable, ack_policy=AckPolicy.EXPLICIT,
                                deliver_policy=DeliverPolicy.ALL, ack_wait=self.ack_wait,
                                max_ack_pending=max(self.batch * 4, 1024))
        if len(subjects) == 1:
            config.filter_subject = subjects[0]
        else:
            config.filter_subjects = subjects
        self.sub = await js.pull_subscribe(subjects[0] if len(subjects) == 1 else "", durable=self.durable,
                                           stream=self.cfg.stream, config=config)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.nc is not None:
            await self.nc.close()

    async def fetch(self, timeout: float = 1.0) -> list[ClusterEvent]:
        """The next events (up to ``batch``), waiting up to ``timeout`` s; [] when none came."""
        import nats.errors
        try:
            msgs = await self.sub.fetch(self.batch, timeout=timeout)
        except (nats.errors.TimeoutError, TimeoutError):
            return []
        return [to_event(m) for m in msgs]

    async def events(self, idle: float | None = None) -> AsyncIterator[ClusterEvent]:
        """Every event, as it comes; ends after ``idle`` seconds without one (None: never)."""
        import time
        last = time.monotonic()
        while True:
            got = await self.fetch(timeout=1.0)
            if got:
                last = time.monotonic()
            elif idle is not None and time.monotonic() - last >= idle:
                return
            for ev in got:
                yield ev


async def read_all(servers: list[str], cfg: ClusterConfig | None = None, *, idle: float = 2.0) -> list[ClusterEvent]:
    """Every event on the stream now, in stream order (an ephemeral consumer: audits, tests);
    waits first until every replica is current (up to ``10 * idle`` s)."""
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
    cfg = cfg or ClusterConfig(servers=list(servers))
    nc = await nats.connect(servers, max_reconnect_attempts=-1, reconnect_time_wait=0.25)
    try:
        js = nc.jetstream()
        info = await _settled(js, cfg.stream, idle * 10)
        total = info.state.messages
        sub = await js.pull_subscribe(f"{cfg.subject}.>", stream=cfg.stream,
                                      config=ConsumerConfig(ack_policy=AckPolicy.NONE,
                                                            deliver_policy=DeliverPolicy.ALL,
                                                            inactive_threshold=60.0))
        out: list[ClusterEvent] = []
        import nats.errors
        while len(out) < total:
            try:
                msgs = await sub.fetch(1000, timeout=idle)
            except (nats.errors.TimeoutError, TimeoutError):
                break
            out += [to_event(m) for m in msgs]
        await sub.unsubscribe()
        return out
    finally:
        await nc.close()


async def _settled(js: Any, stream: str, patience: float) -> Any:
    """The stream's info once every replica is current (an ephemeral consumer may be placed on
    any replica and reads that server's copy: one still catching up after a partition would
    show a hole that is not in the stream); after ``patience`` s, the info as it is."""
    import asyncio
    import time
    end = time.monotonic() + patience
    while True:
        info = await _stream_info(js, stream, patience)
        replicas = info.cluster.replicas if info.cluster and info.cluster.replicas else []
        if all(r.current and not r.lag for r in replicas) or time.monotonic() > end:
            return info
        await asyncio.sleep(0.2)


async def _stream_info(js: Any, stream: str, patience: float) -> Any:
    """The stream's info, waiting up to ``patience`` s while JetStream is unavailable (503 during
    a leader election or a server's catch-up)."""
    import asyncio
    import time

    from nats.js.errors import NotFoundError
    end = time.monotonic() + patience
    while True:
        try:
            return await js.stream_info(stream)
        except NotFoundError:
            raise
        except Exception:
            if time.monotonic() > end:
                raise
            await asyncio.sleep(0.2)


__all__ = ["ClusterConsumer", "ClusterEvent", "read_all", "to_event"]
