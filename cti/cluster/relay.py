"""The relay: a thread of its own that carries a node's bus frames into JetStream.

nats-py is an asyncio client and the server's loop is not, so the relay runs an asyncio loop in
a daemon thread; the loop thread hands it ``(seq, frame)`` rows in seq order with
:meth:`Relay.offer` and never waits for NATS (a node whose NATS cluster is gone keeps working
alone; its journal keeps what the relay has not sent, :mod:`.publisher` reads it back).

Publishing: up to ``window`` messages go out pipelined (``publish_async``), then the relay waits
for all their acknowledgements; any that failed (a server killed, a leader election, a
timeout) is sent again, in seq order, one at a time, with the same ``Nats-Msg-Id`` until
JetStream acknowledges it. A message that had in fact been stored comes back ``duplicate``
and is not stored twice. :attr:`Relay.acked` is the seq below which every event is on the
stream (the window is the only place where the stream's order of a node's events can differ
from seq order: a retried message lands after ones sent after it, see docs/cluster.md).
"""
from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from typing import Any

from .config import ClusterConfig
from .stream import Position, ensure_stream, headers, last_position, subject

log = logging.getLogger("cti.cluster")

#: seconds between attempts while NATS cannot be reached or refuses a message
RETRY = 0.25
#: seconds to wait for the acknowledgements of one window
ACK_TIMEOUT = 5.0


class Relay:
    """Publishes the rows offered to it on ``<subject>.<node>`` (see the module docstring)."""

    def __init__(self, cfg: ClusterConfig, node: str, epoch: str) -> None:
        self.cfg = cfg
        self.node = node
        self.epoch = epoch
        self.subject = subject(cfg, node)
        #: the node's last event on the stream when the relay connected (None: none yet)
        self.position: Position | None = None
        #: seconds between that event being stored and the relay connecting (None: unknown)
        self.position_age: float | None = None
        #: set once connected and the position is read (the publisher starts offering then)
        self.ready = threading.Event()
        #: every offered event up to this seq is acknowledged by JetStream
        self.acked = 0
        self.counters: collections.Counter[str] = collections.Counter()
        self.last_error: str | None = None
        self._rows: collections.deque[tuple[int, bytes]] = collections.deque()
        self._stopping = False
        self._stop_by = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name=f"cluster-relay-{node}", daemon=True)

    # ---- the loop thread's side -------------------------------------------------------
    def start(self) -> Relay:
        self._thread.start()
        return self

    def offer(self, rows: list[tuple[int, bytes]]) -> None:
        """Queue ``rows`` (seq order, after any offered before) for publishing; never blocks."""
        if not rows:
            return
        self._rows.extend(rows)
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:          # the relay's loop has ended (stopping)
                pass

    @property
    def backlog(self) -> int:
        """Rows offered and not yet taken into a window."""
        return len(self._rows)

    def stop(self, timeout: float = 2.0) -> None:
        """Publish what is queued for up to ``timeout`` seconds, then close the connection."""
        self._stop_by = time.monotonic() + timeout
        self._stopping = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:
                pass
        if self._thread.is_alive():
            self._thread.join(timeout + 3.0)

    # ---- the relay's thread ------------------------------------------------------------
    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as e:            # never takes the node down: logged, counted
            self.last_error = f"{type(e).__name__}: {e}"
            self.counters["crashed"] += 1
            log.exception("cluster relay stopped")

    def _done(self) -> bool:
        return self._stopping and (not self._rows or time.monotonic() >= self._stop_by)

    async def _main(self) -> None:
        import nats
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        nc = None
        while nc is None and not self._done():
            try:
                nc = await nats.connect(self.cfg.servers, name=f"cti-node-{self.node}",
                                        connect_timeout=self.cfg.connect_timeout, reconnect_time_wait=RETRY,
                                        max_reconnect_attempts=-1, error_cb=self._error,
                                        disconnected_cb=self._disconnected)
            except Exception as e:
                self._failed("connect", e)
                await asyncio.sleep(RETRY * 4)
        if nc is None:
            return
        js = nc.jetstream(publish_async_max_pending=max(self.cfg.window, 1))
        try:
            while not self.ready.is_set() and not self._done():
                try:
                    await ensure_stream(js, self.cfg)
                    self.position = await last_position(js, self.cfg, self.node)
                    self.position_age = await self._age(js)
                    self.ready.set()
                except Exception as e:
                    self._failed("stream", e)
                    await asyncio.sleep(RETRY)
            while not self._done():
                if not self._rows:
                    if self._stopping:
                        break
                    self._wake.clear()
                    if not self._rows:
                        try:
                            await asyncio.wait_for(self._wake.wait(), 0.5)
                        except TimeoutError:
                            pass
                    continue
                n = min(len(self._rows), self.cfg.window)
                batch = [self._rows.popleft() for _ in range(n)]
                await self._publish(js, batch)
        finally:
            try:
                await nc.close()
            except Exception:
                pass

    async def _age(self, js: Any) -> float | None:
        if self.position is None:
            return None
        msg = await js.get_last_msg(self.cfg.stream, self.subject)
        t = getattr(msg, "time", None)
        if t is None:
            return None
        try:
            return max(0.0, time.time() - float(t.timestamp()))
        except AttributeError:
            return None

    async def _publish(self, js: Any, batch: list[tuple[int, bytes]]) -> None:
        """One window: pipelined, then the failed ones again in seq order until stored."""
        futures = []
        for seq, frame in batch:
            try:
                futures.append(await js.publish_async(self.subject, frame, headers=headers(self.node, self.epoch, seq)))
            except Exception as e:
                self._failed("publish", e)
                futures.append(None)
        live = [f for f in futures if f is not None]
        if live:                        # one deadline for the whole window
            await asyncio.wait(live, timeout=ACK_TIMEOUT)
        retry: list[tuple[int, bytes]] = []
        for (seq, frame), fut in zip(batch, futures, strict=True):
            if fut is None:
                retry.append((seq, frame))
            elif not fut.done():
                fut.cancel()
                self._failed("ack", TimeoutError(f"no acknowledgement within {ACK_TIMEOUT} s"))
                retry.append((seq, frame))
            elif fut.cancelled() or fut.exception() is not None:
                self._failed("ack", fut.exception() or asyncio.CancelledError())
                retry.append((seq, frame))
            else:
                self._count(fut.result())
        for seq, frame in retry:
            self.counters["retries"] += 1
            while True:
                try:
                    ack = await js.publish(self.subject, frame, timeout=ACK_TIMEOUT,
                                           headers=headers(self.node, self.epoch, seq))
                    self._count(ack)
                    break
                except Exception as e:
                    self._failed("retry", e)
                    if self._stopping and time.monotonic() >= self._stop_by:
                        return                  # left unacknowledged: the journal has it, the next start resends
                    await asyncio.sleep(RETRY)
        self.acked = batch[-1][0]

    def _count(self, ack: Any) -> None:
        self.counters["duplicates" if getattr(ack, "duplicate", False) else "published"] += 1

    def _failed(self, what: str, e: BaseException) -> None:
        self.counters[f"{what}_errors"] += 1
        msg = f"{what}: {type(e).__name__}: {e}"
        if msg != self.last_error:
            log.warning("cluster relay %s", msg)
        self.last_error = msg

    async def _error(self, e: Exception) -> None:
        self.counters["nats_errors"] += 1

    async def _disconnected(self) -> None:
        self.counters["disconnects"] += 1


__all__ = ["Relay"]
