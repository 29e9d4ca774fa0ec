"""The cluster publisher: the server component that puts every event of this node on the
cluster's JetStream stream, exactly once, in the bus's schema (``[cluster]``, docs/cluster.md).

It takes nothing from the hot path: no event subscription, no wrapper around ``publish``. At
each service (every 20 ms of model time) it reads the frames published since the last one, in
seq order, from the bus's replay ring (the newest frames) or, when it has fallen behind the
ring (NATS unreachable for a while, or a restart), from the node's journal, and hands them to
the :class:`~cti.cluster.relay.Relay` thread. The journal is the source: whatever the node
journaled reaches the stream eventually, however long NATS was gone (up to the journal's
retention), and a restart after kill -9 continues after the node's last event on the stream.

Exactly once on the stream: every message carries ``Nats-Msg-Id = node:epoch:seq``; after a
restart the publisher re-sends the last window of events before the stream's position (a
window that may have had a hole: a retried message stored after later ones) and JetStream's
duplicate window drops those it already has. Events an unclean stop published on the ZeroMQ
bus but never journaled are declared by the bus's JournalGap (docs/bus.md); the gap's seqs
are not on the cluster stream either, and the JournalGap event itself is.
"""
from __future__ import annotations

import itertools
import logging
from typing import Any
from collections.abc import Mapping

from cti.plugin import Component, Host, Section

from .config import ClusterConfig, check_node
from .relay import Relay

log = logging.getLogger("cti.cluster")

#: model seconds between two reads of the newly published frames
INTERVAL = 0.02
#: frames read at a time
CHUNK = 4096


class ClusterPublisher(Component):
    """See the module docstring; ``node`` is the server's ``[server] node``."""

    name = "cluster"

    def __init__(self, cfg: ClusterConfig, node: str) -> None:
        check_node(node)
        self.cfg = cfg
        self.node = node
        self.relay: Relay | None = None
        self.host: Host | None = None
        #: every event up to this seq has been handed to the relay (None: position not known yet)
        self.sent: int | None = None
        #: events the journal no longer had when they were due (retention pruned them first)
        self.lost = 0
        self._next = float("-inf")

    @classmethod
    def from_config(cls, section: dict[str, Any], node: str) -> ClusterPublisher:
        return cls(ClusterConfig.from_dict(section), node)

    # ---- lifespan ---------------------------------------------------------------------
    def start(self, host: Host) -> None:
        self.host = host
        self.relay = Relay(self.cfg, self.node, host.bus.epoch).start()

    def stop(self) -> None:
        if self.relay is None:
            return
        if self.sent is not None:
            self._pump()
        self.relay.stop(2.0)

    def deadline(self) -> float | None:
        return self._next

    def service(self, now: float) -> None:
        self._next = now + INTERVAL
        relay = self.relay
        if relay is None or not relay.ready.is_set():
            return
        if self.sent is None:
            self.sent = self._resume()
        self._pump()

    # ---- reading the node's frames ----------------------------------------------------------
    def _resume(self) -> int:
        """The seq after which this node's events are not (known to be) on the stream."""
        assert self.relay is not None and self.host is not None
        pos, bus = self.relay.position, self.host.bus
        if pos is None or pos.epoch != bus.epoch:
            if pos is not None:
                log.warning("cluster: node %s's journal epoch changed (%s -> %s): publishing its journal "
                            "from the start", self.node, pos.epoch, bus.epoch)
            return 0
        age = self.relay.position_age
        if age is not None and age < self.cfg.duplicate_window / 2:
            return max(0, pos.seq - self.cfg.window)       # the window that may have a hole: dedup drops the rest
        return pos.seq

    def _pump(self) -> None:
        assert self.relay is not None and self.host is not None and self.sent is not None
        head = self.host.bus.seq
        while self.sent < head and self.relay.backlog < self.cfg.backlog:
            rows = self._frames_after(self.sent, CHUNK)
            if not rows:
                break
            self.relay.offer(rows)
            self.sent = rows[-1][0]

    def _frames_after(self, after: int, limit: int) -> list[tuple[int, bytes]]:
        """``(seq, frame)`` of the events after ``after`` (up to ``limit``): ring, else journal."""
        assert self.host is not None
        bus = self.host.bus
        head = bus.seq
        ring = bus.replay.ring
        ring_first = head - len(ring) + 1
        if after + 1 >= ring_first:
            n = min(head - after, limit)
            frames = list(itertools.islice(reversed(ring), head - after - n, head - after))
            frames.reverse()
            return [(after + 1 + i, f) for i, f in enumerate(frames)]
        bus.flush()
        oldest = bus.store.oldest_seq()
        if oldest is not None and after + 1 < oldest:
            skipped = oldest - 1 - after
            self.lost += skipped
            log.error("cluster: node %s's events %d..%d were pruned from the journal before reaching the "
                      "cluster stream", self.node, after + 1, oldest - 1)
        return bus.store.events_after(after, limit)

    # ---- what the snapshot shows ---------------------------------------------------------------
    def sections(self) -> Mapping[str, Section]:
        return {"cluster": self._section}

    def _section(self, account: Any, book: Any) -> list[dict[str, Any]]:
        r = self.relay
        row: dict[str, Any] = {"node": self.node, "stream": self.cfg.stream, "sent": self.sent, "lost": self.lost}
        if r is not None:
            row.update(connected=r.ready.is_set(), acked=r.acked, backlog=r.backlog, last_error=r.last_error,
                       **{k: int(v) for k, v in r.counters.items()})
        return [row]


__all__ = ["ClusterPublisher"]
