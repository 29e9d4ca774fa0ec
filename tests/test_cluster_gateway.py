"""cti-gateway over the whole centre (issue 17 point 2): two real nodes publish into a real
3-server JetStream cluster; `cti-gateway --cluster` reads the stream with a durable consumer,
serves a snapshot merged from both nodes with no gap and no duplicate against the stream, is
killed -9 and restarted, and a browser-like client resumes by seq with nothing lost; requests
go to the node that holds the call."""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cluster_rig import nats_cluster_fixture  # noqa: F401  (the nats_cluster fixture)
from cti.cluster.natsd import LocalNats, binary
from test_cluster_support import Probe

ROOT = Path(__file__).resolve().parents[1]
aiohttp = pytest.importorskip("aiohttp", reason="aiohttp not installed (pip install -e '.[test]')")
pytestmark = [pytest.mark.cluster,
              pytest.mark.skipif(binary() is None, reason="nats-server is not installed (Debian package nats-server)")]


@contextlib.contextmanager
def node(tmp: Path, name: str, urls: list[str], rate: float = 200.0, replicas: int = 3) -> Iterator[Any]:
    """A cti-server node in a thread: the demo's calls on loopback trunks, ``rate`` probe events a
    second, its bus on free loopback ports, a ``[cluster]`` section publishing to ``urls``."""
    from cti.cli.wiring import build_server
    from cti.config import Config, TrunkSection
    from cti.server import BackgroundServer
    cfg = Config()
    cfg.demo.enabled = True
    cfg.board.driver = "loopback"
    cfg.trunks = [TrunkSection("loop", [0]), TrunkSection("loop", [1])]
    cfg.server.node = name
    cfg.server.store = str(tmp / f"{name}.db")
    cfg.bus.events = cfg.bus.snapshot = cfg.bus.control = "tcp://127.0.0.1:*"
    cfg.cluster = {"servers": urls, "replicas": replicas}
    srv = build_server(cfg, extra=[Probe(rate)])
    srv.start()
    with BackgroundServer(srv):
        yield srv


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gateway(port: int, urls: list[str], nodes: dict[str, Any]) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "cti.cli.gateway", "--port", str(port), "--durable", "gw-test"]
    args += [a for u in urls for a in ("--cluster", u)]
    args += [a for n, ep in nodes.items() for a in ("--node", f"{n}={ep.events},{ep.snapshot},{ep.control}")]
    p = subprocess.Popen(args, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert p.poll() is None, (p.stderr.read() if p.stderr else b"").decode()
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5) as s:
                s.sendall(b"GET /readyz HTTP/1.0\r\n\r\n")
                if b" 200 " in s.recv(200):
                    return p
        except OSError:
            pass
        time.sleep(0.2)
    p.kill()
    raise AssertionError("cti-gateway --cluster did not become ready: " + (p.stderr.read() if p.stderr else b"").decode())


async def session(port: int, hello: dict[str, Any], seconds: float, requests: list[dict[str, Any]] = (),
                  until: int | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Open a WebSocket, send ``hello`` (a subscribe) and ``requests``; every message received
    within ``seconds``, or until an event at or beyond seq ``until`` (ops other than events),
    and every event, in order."""
    msgs: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as s, s.ws_connect(f"http://127.0.0.1:{port}/ws") as ws:
        await ws.send_json({"op": "subscribe", "id": 1, **hello})
        for i, r in enumerate(requests):
            await ws.send_json({"op": "request", "id": 100 + i, "request": r})
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                m = await ws.receive(timeout=left)
            except TimeoutError:
                break
            if m.type != aiohttp.WSMsgType.TEXT:
                break
            d = json.loads(m.data)
            if d.get("op") == "events":
                events += d["events"]
                if until is not None and events and events[-1]["seq"] >= until:
                    break
            else:
                msgs.append(d)
    return msgs, events


def check_stream(events: list[dict[str, Any]], after: int) -> None:
    """The gateway's seqs are the stream's: consecutive from ``after`` + 1, none twice."""
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(after + 1, after + 1 + len(seqs))), \
        f"not consecutive after {after}: {[(a, b) for a, b in itertools.pairwise(seqs) if b != a + 1][:5]}"


def check_nodes(events: list[dict[str, Any]], floors: dict[str, int]) -> dict[str, int]:
    """Each node's own seqs consecutive from its floor + 1: nothing lost, nothing twice."""
    last = dict(floors)
    for e in events:
        n = e["node"]
        assert e["node_seq"] == last[n] + 1, f"node {n}: {e['node_seq']} after {last[n]}"
        last[n] = e["node_seq"]
    return last


@pytest.mark.timeout(300)
def test_gateway_over_the_cluster_stream_snapshot_resume_and_kill9(nats_cluster: LocalNats, tmp_path: Path) -> None:
    urls = nats_cluster.urls
    port = free_port()
    with node(tmp_path, "a", urls) as a, node(tmp_path, "b", urls) as b:
        eps = {"a": a.bus.endpoints, "b": b.bus.endpoints}
        time.sleep(1.0)                                  # both nodes' relays have published
        gw = gateway(port, urls, eps)
        try:
            msgs, events = asyncio.run(session(port, {"snapshot": True}, 4.0, requests=[
                {"type": "ClearConnection", "call": "b-999999"}, {"type": "ClearConnection", "call": "a-999999"},
                {"type": "ClearConnection", "call": "a-1", "node": "z"}]))
            snap = next(m for m in msgs if m["op"] == "snapshot")
            assert set(snap["nodes"]) == {"a", "b"} and snap["seq"] > 0
            floors = {n: v["seq"] for n, v in snap["nodes"].items()}
            # the events after the snapshot: the stream's seqs on from its position, each node's on
            # from its own snapshot: the merged snapshot and the stream neither overlap nor leave a hole
            assert len(events) > 500, len(events)
            pending = [e for e in events if e["seq"] <= snap["seq"]]       # the snapshot's pending events
            assert events[:len(pending)] == pending                        # come first
            check_stream(events[len(pending):], snap["seq"])
            assert {e["node"] for e in events} == {"a", "b"}
            last_nodes = check_nodes(events, floors)
            assert {e["type"] for e in events} >= {"ClusterProbe"}
            # requests go to the node whose prefix the call carries; a node that is not there is refused
            replies = {m["id"]: m for m in msgs if m["op"] == "reply"}
            assert replies[100]["node"] == "b" and replies[100]["error"]["code"] == "InvalidCallError"
            assert replies[101]["node"] == "a" and replies[101]["error"]["code"] == "InvalidCallError"
            assert replies[102]["error"]["code"] == "InvalidParameterError"

            # kill -9 of the gateway while the nodes go on publishing; a new one resumes its durable
            # consumer, and the client resumes from its last seq: nothing lost, nothing twice
            gw.send_signal(signal.SIGKILL)
            gw.wait(10)
            time.sleep(2.0)
            gw = gateway(port, urls, eps)
            after = events[-1]["seq"]
            msgs2, events2 = asyncio.run(session(port, {"after": after}, 30.0, until=after + 1000))
            assert any(m["op"] == "subscribed" and m["after"] == after for m in msgs2)
            assert len(events2) >= 1000, len(events2)
            check_stream(events2, after)
            check_nodes(events2, last_nodes)

            # a resume from before the gateway's ring (its restart emptied it) reads the stream itself
            target = events2[-1]["seq"]
            t0 = time.monotonic()
            msgs3, events3 = asyncio.run(session(port, {"after": 10}, 60.0, until=target))
            took = time.monotonic() - t0
            check_stream(events3, 10)
            assert events3[-1]["seq"] >= target, (len(events3), target)
            assert not [m for m in msgs3 if m["op"] == "error"]
            print(f"snapshot at stream seq {snap['seq']} (nodes {floors}), {len(pending)} pending, "
                  f"{len(events)} events; after kill -9 of the gateway: {len(events2)} from {after}; "
                  f"replay of {target - 10} events from the stream in {took:.1f} s")
        finally:
            gw.kill()
            gw.wait(10)
