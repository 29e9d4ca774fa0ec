"""A bus and a gateway on threads of this process, for tests, the benchmark and experiments.

:class:`BusThread` runs a :class:`cti.bus.server.BusServer` (SQLite journal, ephemeral ports,
plain or CURVE) on its own thread and publishes what it is given, or a paced stream; request
handlers can be registered before it starts. :class:`GatewayThread` runs the gateway's aiohttp
application on its own event loop and port. Nothing here is used by ``cti-gateway`` itself.
"""
from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from typing import Any
from collections.abc import Callable

from aiohttp import web

from cti.bus.auth import Security
from cti.bus.server import BusServer, Endpoints, Limits
from cti.store.sqlite import SqliteStore

from .accounts import Accounts
from .app import Gateway, Options

ANY = "tcp://127.0.0.1:*"
log = logging.getLogger(__name__)


class BusThread:
    """A BusServer on a thread: ``publish(events)``, ``pace(n, rate, make)``, ``endpoints``."""

    def __init__(self, store_path: str, security: Security | None = None, limits: Limits | None = None,
                 setup: Callable[[BusServer], None] | None = None) -> None:
        self.store_path = store_path
        self.security = security or Security()
        self.limits = limits or Limits()
        self.setup = setup
        self.inbox: queue.Queue[Any] = queue.Queue()
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self.bus: BusServer | None = None
        self.endpoints: Endpoints | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="bus-rig", daemon=True)

    def start(self) -> BusThread:
        self.thread.start()
        if not self.ready.wait(10) or self.error is not None:
            raise RuntimeError(f"bus did not start: {self.error}")
        return self

    def _run(self) -> None:
        try:
            self.bus = BusServer(SqliteStore(self.store_path), self.security, Endpoints(ANY, ANY, ANY), self.limits)
            if self.setup is not None:
                self.setup(self.bus)
            self.bus.start()
            self.endpoints = self.bus.endpoints          # the bound ports
        except BaseException as e:     # reported by start()
            self.error = e
            self.ready.set()
            return
        self.ready.set()
        bus = self.bus
        try:
            while not self.stopping.is_set():
                try:
                    while True:
                        job = self.inbox.get_nowait()
                        try:
                            if callable(job):
                                job(bus)
                            else:
                                for event in job:
                                    bus.publish(event)
                        except Exception as e:     # say so, and keep serving: a rig must not die silently
                            log.exception("bus rig job failed")
                            self.error = e
                except queue.Empty:
                    pass
                bus.poll(1)
        finally:
            bus.close()

    def publish(self, events: list[dict[str, Any]]) -> None:
        self.inbox.put(list(events))

    def call(self, fn: Callable[[BusServer], Any], timeout: float = 60.0) -> Any:
        """Run ``fn(bus)`` on the bus thread and return its result."""
        done: queue.Queue[Any] = queue.Queue()
        self.inbox.put(lambda bus: done.put(fn(bus)))
        return done.get(timeout=timeout)

    def pace(self, n: int, rate: float, make: Callable[[int], dict[str, Any]]) -> None:
        """Publish ``make(i)`` for i < n at ``rate`` events/s (from the bus thread, in 1 ms steps)."""
        def job(bus: BusServer) -> None:
            t0 = time.perf_counter()
            i = 0
            while i < n and not self.stopping.is_set():
                due = min(n, int((time.perf_counter() - t0) * rate) + 1)
                while i < due:
                    bus.publish(make(i))
                    i += 1
                bus.poll(1)
        self.inbox.put(job)

    @property
    def seq(self) -> int:
        return int(self.call(lambda bus: bus.seq))

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(10)


class GatewayThread:
    """The gateway application on its own event loop and an ephemeral port."""

    def __init__(self, accounts: Accounts, options: Options | None = None) -> None:
        self.gateway = Gateway(accounts, options)
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._runner: web.AppRunner | None = None
        self.thread = threading.Thread(target=self.loop.run_forever, name="gateway-rig", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_timeout: float = 15.0) -> GatewayThread:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(15)
        deadline = time.monotonic() + ready_timeout
        while not (self.gateway.feed and self.gateway.feed.ready):
            if time.monotonic() > deadline:
                raise RuntimeError(f"gateway not ready: {self.gateway.feed.error if self.gateway.feed else '-'}")
            time.sleep(0.05)
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.gateway.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]   # type: ignore[attr-defined]

    def run(self, coro: Any, timeout: float = 30.0) -> Any:
        """Run a coroutine on the gateway's loop (to look at its state)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
