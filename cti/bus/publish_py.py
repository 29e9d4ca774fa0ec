"""The bus's publish hot path in Python (the twin of :mod:`.publish_c`: same API, same frames).

:class:`Publisher` stamps an event with the next gap-free ``seq`` and the envelope (``time``,
``v``, ``topic``), encodes it with msgpack, queues ``(seq, time, topic, type, frame)`` for the
journal and the frame for the replay ring, then sends ``[topic, frame]`` on the PUB socket:
no event leaves before it is queued for the journal. :class:`cti.bus.server.BusServer` owns it.

Every frame ends with the envelope ``seq``, ``time``, ``v``, ``topic`` and, when the publisher
has one, ``epoch`` (the journal's id, docs/bus.md).

``limit`` is the highest seq the publisher may stamp without asking: the first event beyond it
calls ``on_limit(seq)`` first, which returns the new limit (>= seq: the server made a durable
seq reservation reach that far) or raises; then no seq is taken (docs/bus.md).
"""
from __future__ import annotations

import collections
import time
from typing import Any

import msgpack
import zmq

from cti.call.events import BusEvent

from .publish_args import NO_LIMIT, check_epoch, check_seq
from .zmq_access import raw_send

_now = time.time
_SNDMORE = zmq.SNDMORE
_ENVELOPE = ("seq", "time", "v", "topic")



class Publisher:
    """Publishes on ``sock`` (a PUB socket) from seq ``seq`` + 1; frames go to ``ring`` (a
    bounded deque) and journal rows to :meth:`take_journal`; ``v`` is the schema major,
    ``epoch`` the journal's id (None: no epoch in the envelope)."""

    def __init__(self, sock: zmq.Socket[Any], seq: int, ring: collections.deque[bytes], v: int,
                 epoch: str | None = None) -> None:
        self.seq = check_seq(seq)
        self.v = v
        self.epoch = check_epoch(epoch)
        self._tail = {} if epoch is None else {"epoch": epoch}
        self.sock = sock
        self.limit = NO_LIMIT
        self.on_limit: Any = None
        self._ring_append = ring.append
        self._journal: list[tuple[int, Any, str, str, bytes]] = []
        self._append = self._journal.append
        self._pack = msgpack.Packer(use_bin_type=True).pack
        self._topics: dict[str, bytes] = {}
        # pyzmq's compiled send, without the sugar layer (cti.bus.zmq_access)
        self._send = raw_send(sock)

    def publish(self, event: BusEvent | dict[str, Any], now: float | None = None) -> int:
        """Stamp ``event`` with the next seq, queue it for the journal and the ring, send it;
        returns its seq. An event msgpack cannot encode raises (TypeError, ValueError,
        OverflowError...) without taking a seq."""
        seq = self.seq + 1
        t = _now() if now is None else now
        if isinstance(event, BusEvent):
            topic = event.topic()
            if type(topic) is not str:
                raise TypeError(f"{type(event).__name__}.topic() returned {type(topic).__name__}, not str")
            d = event.stamped(seq, t, self.v, topic)     # one dict: fields, type, envelope
            if self._tail:
                d.update(self._tail)
            kind = d["type"]
        else:
            kind = event["type"]
            topic = event.get("topic") or kind.lower()
            if type(topic) is not str:
                topic = str(topic)
            d = {**event, "seq": seq, "time": t, "v": self.v, "topic": topic, **self._tail}
        data = self._pack(d)          # raises on an unencodable event, before seq is taken
        if self.sock.closed:
            raise zmq.ZMQError(zmq.ENOTSOCK)
        if seq > self.limit:
            self._reach(seq)
        self.seq = seq
        self._append((seq, t, topic, kind, data))
        self._ring_append(data)
        tb = self._topics.get(topic)
        if tb is None:
            tb = topic.encode()
            if len(self._topics) < 100_000:
                self._topics[topic] = tb
        self._send(tb, _SNDMORE)
        self._send(data)
        return seq

    def _reach(self, seq: int) -> None:
        """Ask ``on_limit`` to let ``seq`` out (it raises, or returns a limit >= seq)."""
        if self.on_limit is None:
            raise RuntimeError(f"seq {seq} is beyond the publisher's limit {self.limit} and nobody extends it")
        limit = self.on_limit(seq)
        if not isinstance(limit, int) or limit < seq:
            raise RuntimeError(f"on_limit({seq}) returned {limit!r}, not a limit >= {seq}")
        self.limit = limit

    def take_journal(self) -> list[tuple[int, Any, str, str, bytes]]:
        """The rows queued since the last call (a new list is queued into from now on)."""
        rows = self._journal
        self._journal = []
        self._append = self._journal.append
        return rows

    def encode(self, event: dict[str, Any], seq: int, time: Any, topic: str) -> bytes:
        """The frame :meth:`publish` sends for the dict ``event`` (for tests and tools)."""
        frame: bytes = self._pack({**event, "seq": seq, "time": time, "v": self.v, "topic": topic, **self._tail})
        return frame
