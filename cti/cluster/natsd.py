"""A local NATS JetStream cluster of ``nats-server`` processes on loopback ports (tests,
benchmarks, a developer's three-node rehearsal): not how production runs NATS (there each
server is a service of its own host, docs/cluster.md), but the same binary, the same
clustering (routes between the servers, JetStream's Raft replication), so that a test can
kill -9 one server and watch the stream survive.

Each server gets a config file, a JetStream store directory and a log under ``root``;
:meth:`LocalNats.kill` sends SIGKILL, :meth:`LocalNats.pause` SIGSTOP (a partition seen from
the others), :meth:`LocalNats.start_one` brings a server back on the same ports and store.
"""
from __future__ import annotations

import asyncio

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

#: the Debian package's binary (``apt-get install nats-server``)
BINARY = "nats-server"


class NatsUnavailable(RuntimeError):
    """``nats-server`` is not installed or did not come up."""


def binary() -> str | None:
    """The path of ``nats-server``, or None when it is not installed (PATH, then /usr/sbin)."""
    found = shutil.which(BINARY)
    if found:
        return found
    fallback = Path("/usr/sbin") / BINARY
    return str(fallback) if fallback.exists() else None


def free_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports free on loopback now (bound then released: a small race, loopback only)."""
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


@dataclass
class LocalNats:
    """``size`` nats-server processes with JetStream, clustered over loopback routes."""

    root: Path
    size: int = 3
    name: str = "cti"
    client_ports: list[int] = field(default_factory=list)
    route_ports: list[int] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes] | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        if not self.client_ports:
            ports = free_ports(2 * self.size)
            self.client_ports, self.route_ports = ports[:self.size], ports[self.size:]
        self.procs = [None] * self.size

    @property
    def urls(self) -> list[str]:
        """The client URLs of every server (what ``[cluster] servers`` lists)."""
        return [f"nats://127.0.0.1:{p}" for p in self.client_ports]

    def _config(self, i: int) -> Path:
        routes = ", ".join(f'"nats-route://127.0.0.1:{p}"' for j, p in enumerate(self.route_ports) if j != i)
        store = self.root / f"n{i}" / "js"
        store.mkdir(parents=True, exist_ok=True)
        text = (f'server_name: "{self.name}-n{i}"\n'
                f"listen: 127.0.0.1:{self.client_ports[i]}\n"
                f'jetstream {{ store_dir: "{store}", max_memory_store: 64MB, max_file_store: 1GB }}\n')
        if self.size > 1:
            text += (f'cluster {{ name: "{self.name}", listen: 127.0.0.1:{self.route_ports[i]}, '
                     f"routes: [{routes}] }}\n")
        path = self.root / f"n{i}" / "nats.conf"
        path.write_text(text)
        return path

    def start(self, timeout: float = 20.0) -> LocalNats:
        """Start every server and wait until each accepts clients."""
        exe = binary()
        if exe is None:
            raise NatsUnavailable("nats-server is not installed (Debian package nats-server)")
        for i in range(self.size):
            self.start_one(i, wait=False, exe=exe)
        for i in range(self.size):
            self.wait_port(i, timeout)
        return self

    def start_one(self, i: int, wait: bool = True, exe: str | None = None, timeout: float = 20.0) -> None:
        """(Re)start server ``i`` on its ports and store."""
        exe = exe or binary()
        if exe is None:
            raise NatsUnavailable("nats-server is not installed (Debian package nats-server)")
        conf = self._config(i)
        with open(self.root / f"n{i}" / "nats.log", "ab") as log:
            self.procs[i] = subprocess.Popen([exe, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT,
                                             start_new_session=True)
        if wait:
            self.wait_port(i, timeout)

    def wait_port(self, i: int, timeout: float) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            p = self.procs[i]
            if p is not None and p.poll() is not None:
                raise NatsUnavailable(f"nats-server n{i} exited with {p.returncode}: "
                                      f"see {self.root / f'n{i}' / 'nats.log'}")
            try:
                with socket.create_connection(("127.0.0.1", self.client_ports[i]), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise NatsUnavailable(f"nats-server n{i} did not listen on {self.client_ports[i]} within {timeout} s")

    def _signal(self, i: int, sig: int) -> None:
        p = self.procs[i]
        if p is not None and p.poll() is None:
            os.kill(p.pid, sig)

    def kill(self, i: int) -> None:
        """kill -9 server ``i`` (its JetStream store stays on disk for :meth:`start_one`)."""
        self._signal(i, signal.SIGKILL)
        p = self.procs[i]
        if p is not None:
            p.wait(10)
        self.procs[i] = None

    def pause(self, i: int) -> None:
        """SIGSTOP server ``i``: alive to the kernel, silent to its peers (a partition)."""
        self._signal(i, signal.SIGSTOP)

    def resume(self, i: int) -> None:
        self._signal(i, signal.SIGCONT)

    def stop(self) -> None:
        """Stop every server (SIGTERM, then SIGKILL after 5 s)."""
        for i, p in enumerate(self.procs):
            if p is None:
                continue
            self._signal(i, signal.SIGCONT)
            self._signal(i, signal.SIGTERM)
        for i, p in enumerate(self.procs):
            if p is None:
                continue
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
            self.procs[i] = None

    def __enter__(self) -> LocalNats:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def meta_leader_ready(urls: list[str], timeout: float = 30.0) -> None:
    """Wait until the JetStream cluster at ``urls`` has elected its meta leader (account info
    answers): a freshly started cluster refuses JetStream requests until then."""
    import nats
    nc = await nats.connect(urls, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    end = time.monotonic() + timeout
    try:
        while True:
            try:
                await nc.jetstream().account_info()
                return
            except Exception:
                if time.monotonic() > end:
                    raise
                await asyncio.sleep(0.2)
    finally:
        await nc.close()


__all__ = ["BINARY", "LocalNats", "NatsUnavailable", "binary", "free_ports", "meta_leader_ready"]
