"""The fan-out alone: CPU of the event loop's thread per batch, direct sends against transports.

One process, uvloop: a :class:`cti.gateway.hub.Hub` with ``n`` subscribers on real loopback TCP
connections, drained by a reader thread (epoll); ``batches`` batches of 20 events fed one by one.
For each ``--send-threads`` mode (0: every frame through its transport; 1: direct ``send`` on
the loop's thread; 2: shared with the POSIX helper) the median of the loop thread's CPU
(``time.thread_time``) and wall time per batch. On a quiet host the wall time of a fan-out is
about the loop thread's CPU; on a busy one the CPU still says what the fan-out costs, which is
what the latency rows of the bench cannot isolate.
"""
from __future__ import annotations

import asyncio
import os
import resource
import select
import socket
import statistics
import threading
import time
from typing import Any

from cti.bus.auth import PLAIN_ACCOUNT, AccountBook
from cti.gateway.hub import Hub, Sink, Viewer

EVENT: dict[str, Any] = {"type": "Delivered", "topic": "call.0.1", "device": "2001", "devices": ["2001"],
                         "state": "alerting", "calling": "13800138000", "called": "4000"}


class _Ws:
    closed = False


async def _one(mode: int, n: int, batches: int) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    hub = Hub(max_buffer=16 << 20, send_threads=mode)
    transports: list[Any] = []

    class Server(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            transports.append(transport)

    srv = await loop.create_server(Server, "127.0.0.1", 0, backlog=4096)
    port = srv.sockets[0].getsockname()[1]
    clients = []
    for _ in range(n):
        c = socket.socket()
        c.connect(("127.0.0.1", port))
        c.setblocking(False)
        clients.append(c)
    while len(transports) < n:
        await asyncio.sleep(0.01)
    stop = threading.Event()

    def drain() -> None:
        ep = select.epoll()
        by_fd = {c.fileno(): c for c in clients}
        for fd in by_fd:
            ep.register(fd, select.EPOLLIN)
        while not stop.is_set():
            for fd, _ in ep.poll(0.05):
                try:
                    by_fd[fd].recv(1 << 16)
                except BlockingIOError:
                    pass
        ep.close()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    viewer = Viewer(PLAIN_ACCOUNT, AccountBook())
    hub.start_at(0)

    async def never(code: int, why: str) -> None:
        return None
    for t in transports:
        await hub.attach(Sink(viewer, t.write, t.get_write_buffer_size, never, t.is_closing, transport=t, ws=_Ws()), 0)
    cpu, wall = [], []
    seq = 0
    try:
        for _ in range(batches):
            events = [dict(EVENT, seq=seq + i + 1, time=time.time(), call=str(seq + i)) for i in range(20)]
            seq += 20
            c0, w0 = time.thread_time(), time.perf_counter()
            hub.feed(events)
            cpu.append(time.thread_time() - c0)
            wall.append(time.perf_counter() - w0)
            await asyncio.sleep(0.005)
    finally:
        stop.set()
        reader.join(5)
        for c in clients:
            c.close()
        srv.close()
        if hub.writer is not None:
            hub.writer.close()
    return {"cpu_ms": statistics.median(cpu) * 1000, "wall_ms": statistics.median(wall) * 1000,
            "helped": float(hub.writer.helped / hub.writer.sent) if hub.writer and hub.writer.sent else 0.0}


def measure(n: int = 1000, batches: int = 100, rounds: int = 2, out: Any = None) -> dict[int, list[dict[str, float]]]:
    """``{mode: [figures per round]}``, the modes alternated; put on ``out`` (a queue) when given."""
    import uvloop
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2 * n + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard) if hard > 0 else want, hard))
    res: dict[int, list[dict[str, float]]] = {0: [], 1: [], 2: []}
    for _ in range(rounds):
        for mode in (0, 1, 2):
            r = uvloop.run(_one(mode, n, batches))
            r["load"] = os.getloadavg()[0]
            res[mode].append(r)
    if out is not None:
        out.put(res)
    return res
