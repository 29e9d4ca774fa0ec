"""The cluster event stream (issue 17 points 1-2) against a real 3-server NATS JetStream cluster
started by the fixture on loopback ports: every journaled event of every node on the stream
exactly once, through kill -9 of a NATS server (the stream's leader) and of a publishing node;
a durable consumer resuming after a restart with nothing lost."""
from __future__ import annotations

import asyncio
import collections
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cluster_rig import nats_cluster_fixture, wait_meta_leader  # noqa: F401  (the nats_cluster fixture)
from cti.cluster import ClusterConfig, ClusterConfigError, check_node
from cti.cluster.natsd import LocalNats, binary
from cti.cluster.stream import headers, msg_id
from cti.config import Config, ConfigError

NODE = str(Path(__file__).with_name("test_cluster_support.py"))
ROOT = Path(__file__).resolve().parents[1]


# ---- configuration and identity (no NATS needed) --------------------------------------------------
def test_cluster_section_parses_and_reports_every_problem() -> None:
    cfg = ClusterConfig.from_dict({"servers": ["nats://a:4222", "nats://b:4222"], "replicas": 3})
    assert cfg.servers == ["nats://a:4222", "nats://b:4222"] and cfg.stream == "CTI"
    with pytest.raises(ClusterConfigError) as e:
        ClusterConfig.from_dict({"servers": "nats://a", "replicas": 9, "window": 0, "stream": "a b", "bogus": 1})
    text = str(e.value)
    for word in ("servers", "replicas", "window", "stream", "bogus"):
        assert word in text
    assert len(e.value.problems) == 5


def test_config_file_section_reaches_the_server_components(tmp_path: Path) -> None:
    from cti.cli.wiring import components
    cfg = Config.from_dict({"server": {"node": "a"}, "cluster": {"servers": ["nats://127.0.0.1:4222"]}})
    assert [c.name for c in components(cfg, network=False)] == ["cluster"]
    assert [c.name for c in components(Config(), network=False)] == []        # single node: nothing added
    bad = Config.from_dict({"server": {"node": "a"}, "cluster": {"replicas": 0}})
    with pytest.raises(ConfigError, match="replicas"):
        components(bad, network=False)
    with pytest.raises(ConfigError, match="must be a table"):
        Config.from_dict({"cluster": 3})


def test_node_names_are_subject_tokens() -> None:
    check_node("node-a_1")
    for bad in ("", "a.b", "a b", "*", ">", "x" * 65):
        with pytest.raises(ClusterConfigError):
            check_node(bad)


def test_message_id_names_node_epoch_and_seq() -> None:
    h = headers("a", "e1", 42)
    assert h["Nats-Msg-Id"] == msg_id("a", "e1", 42) == "a:e1:42"
    assert (h["Cti-Node"], h["Cti-Epoch"], h["Cti-Seq"]) == ("a", "e1", "42")
    assert msg_id("a", "e1", 42) != msg_id("b", "e1", 42)


def test_call_ids_carry_the_node_name() -> None:
    from cti.call.model import CallModel
    m = CallModel(node="a")
    m2 = CallModel(node="b")
    assert m._prefix == "a-" and m2._prefix == "b-"


# ---- against a real NATS cluster -----------------------------------------------------------------
needs_nats = pytest.mark.skipif(binary() is None, reason="nats-server is not installed (Debian package nats-server)")


def _node(tmp: Path, name: str, urls: list[str], rate: float = 400.0) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, NODE, "--node", name, "--store", str(tmp / f"{name}.db"),
                          "--servers", json.dumps(urls), "--rate", str(rate)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert p.stdout is not None
    line = p.stdout.readline()
    assert line.strip() == "ready", f"node {name} did not start: {line!r} {p.stderr.read() if p.stderr else ''}"
    return p


def _stop(p: subprocess.Popen[str]) -> dict[str, Any]:
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def _journal(path: Path) -> tuple[list[int], list[tuple[int, int]]]:
    """The seqs a node's journal holds, and the ranges its JournalGap events declare."""
    from cti.bus.codec import unpack_event
    from cti.store import open_store
    store = open_store(str(path))
    try:
        seqs, gaps, after = [], [], 0
        while True:
            rows = store.events_after(after, 5000)
            if not rows:
                break
            for s, data in rows:
                seqs.append(s)
                e = unpack_event(data)
                if e.get("type") == "JournalGap":
                    gaps.append((int(e["first"]), int(e["last"])))
            after = rows[-1][0]
        return seqs, gaps
    finally:
        store.close()


def _stream(urls: list[str]) -> list[Any]:
    """Every event on the stream (retried while JetStream answers 503 after an election)."""
    from nats.js.errors import ServiceUnavailableError

    from cti.cluster.consumer import read_all
    for _ in range(20):
        try:
            return asyncio.run(read_all(urls, idle=3.0))
        except ServiceUnavailableError:
            time.sleep(0.5)
    return asyncio.run(read_all(urls, idle=3.0))


def _check_exactly_once(events: list[Any], node: str, journal: list[int], gaps: list[tuple[int, int]],
                        info: object = None) -> None:
    """Every journaled event of ``node`` on the stream exactly once; nothing else of it but
    seqs its JournalGaps declare; the payload is the bus frame with that seq."""
    mine = [e for e in events if e.node == node]
    counts = collections.Counter(e.seq for e in mine)
    dups = {s: n for s, n in counts.items() if n > 1}
    assert not dups, f"node {node}: seqs stored more than once: {sorted(dups)[:10]}"
    missing = sorted(set(journal) - set(counts))
    assert not missing, (f"node {node}: {len(missing)} journaled events not on the stream: {missing[:5]}..{missing[-5:]}"
                         f" of 1..{journal[-1]}; {info}")
    extra = sorted(set(counts) - set(journal))
    assert all(any(a <= s <= b for a, b in gaps) for s in extra), f"node {node}: undeclared extra seqs {extra[:10]}"
    for e in mine[:50] + mine[-50:]:
        assert e.event["seq"] == e.seq and e.event["epoch"] == e.epoch


@needs_nats
@pytest.mark.cluster
@pytest.mark.timeout(240)
def test_two_nodes_and_kill9_of_the_stream_leader(nats_cluster: LocalNats, tmp_path: Path) -> None:
    """Two nodes publish under load; the NATS server leading the stream is killed -9 and brought
    back; every journaled event of both nodes is on the stream exactly once, in node seq order
    apart from the resent window."""
    urls = nats_cluster.urls
    a, b = _node(tmp_path, "a", urls), _node(tmp_path, "b", urls)
    try:
        time.sleep(3.0)
        leader = asyncio.run(_stream_leader(urls))
        victim = next(i for i in range(3) if f"-n{i}" in leader)
        nats_cluster.kill(victim)
        t0 = time.monotonic()
        new = asyncio.run(_stream_leader(urls, other_than=leader))
        print(f"stream leader {leader} killed -9: {new} leads after {time.monotonic() - t0:.1f} s")
        time.sleep(2.0)
        nats_cluster.start_one(victim)
        time.sleep(2.0)
    finally:
        ra, rb = _stop(a), _stop(b)
    assert ra["seq"] > 1000 and rb["seq"] > 1000, (ra, rb)
    events = _stream(urls)
    for name in ("a", "b"):
        seqs, gaps = _journal(tmp_path / f"{name}.db")
        _check_exactly_once(events, name, seqs, gaps, {"a": ra, "b": rb})
    calls = {(e.node, e.event["call"]) for e in events if "call" in e.event}
    assert {n for n, _ in calls} == {"a", "b"}, "the demo's calls run on both nodes"
    assert all(c.startswith(f"{n}-") for n, c in calls), "call ids name their node: unique across the cluster"


@needs_nats
@pytest.mark.cluster
@pytest.mark.timeout(240)
def test_paused_stream_leader_no_split_brain(nats_cluster: LocalNats, tmp_path: Path) -> None:
    """SIGSTOP of the NATS server leading the stream (alive to the kernel, silent to its peers:
    a partition): the other two elect a leader and take the node's events; when the paused one
    wakes it follows the new leader (one leader, one history): every event once."""
    urls = nats_cluster.urls
    a = _node(tmp_path, "a", urls, rate=600.0)
    try:
        time.sleep(2.0)
        leader = asyncio.run(_stream_leader(urls))
        victim = next(i for i in range(3) if f"-n{i}" in leader)
        nats_cluster.pause(victim)
        new = asyncio.run(_stream_leader([u for i, u in enumerate(urls) if i != victim], other_than=leader))
        time.sleep(2.0)
        nats_cluster.resume(victim)
        time.sleep(3.0)
        views = {asyncio.run(_stream_leader([u])) for u in urls}     # asked of each server alone
        assert len(views) == 1, f"split brain: servers name different stream leaders {views} (was {new})"
    finally:
        nats_cluster.resume(victim)
        r = _stop(a)
    seqs, gaps = _journal(tmp_path / "a.db")
    _check_exactly_once(_stream(urls), "a", seqs, gaps, r)


async def _stream_leader(urls: list[str], other_than: str | None = None, timeout: float = 60.0) -> str:
    """The server leading the stream (waiting for one other than ``other_than``)."""
    import nats
    nc = await nats.connect(urls, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    end = time.monotonic() + timeout
    try:
        while True:
            try:
                info = await nc.jetstream().stream_info("CTI", )
                leader = info.cluster.leader if info.cluster else None
                if leader and leader != other_than:
                    return str(leader)
            except Exception:
                if time.monotonic() > end:
                    raise
            if time.monotonic() > end:
                raise TimeoutError(f"no stream leader other than {other_than} within {timeout} s")
            await asyncio.sleep(0.1)
    finally:
        await nc.close()


@needs_nats
@pytest.mark.cluster
@pytest.mark.timeout(240)
def test_kill9_of_a_publishing_node_loses_and_repeats_nothing(nats_cluster: LocalNats, tmp_path: Path) -> None:
    """kill -9 of a node mid-stream, then the node restarted on its journal: the stream has every
    journaled event once (the restart resends its last window; JetStream drops the copies)."""
    urls = nats_cluster.urls
    a = _node(tmp_path, "a", urls, rate=800.0)
    time.sleep(4.0)
    a.send_signal(signal.SIGKILL)
    a.communicate(timeout=10)
    a = _node(tmp_path, "a", urls, rate=800.0)
    time.sleep(3.0)
    r = _stop(a)
    seqs, gaps = _journal(tmp_path / "a.db")
    assert gaps, "a kill -9 under load leaves reserved seqs: the restart declares a JournalGap"
    assert r["seq"] == seqs[-1]
    _check_exactly_once(_stream(urls), "a", seqs, gaps)


@needs_nats
@pytest.mark.cluster
@pytest.mark.timeout(240)
def test_durable_consumer_resumes_after_restart_with_nothing_lost(nats_cluster: LocalNats, tmp_path: Path) -> None:
    from cti.cluster.consumer import ClusterConsumer
    urls = nats_cluster.urls
    a = _node(tmp_path, "a", urls, rate=300.0)
    seen: list[tuple[str, str, int]] = []

    async def consume(n: int, ack: bool) -> list[tuple[str, str, int]]:
        got: list[tuple[str, str, int]] = []
        async with ClusterConsumer(urls, durable="crm", ack_wait=2.0) as feed:
            async for ev in feed.events(idle=3.0):
                got.append(ev.key)
                if ack:
                    await ev.ack()
                if len(got) >= n:
                    break
        return got

    try:
        time.sleep(2.0)
        first = asyncio.run(consume(300, ack=True))          # a CRM acks 300 events and stops
        unacked = asyncio.run(consume(50, ack=False))        # one that dies before acking: redelivered
        time.sleep(1.0)
    finally:
        r = _stop(a)
    time.sleep(2.5)                                          # ack_wait passes: the 50 are due again
    rest = asyncio.run(consume(10**9, ack=True))
    seen = first + rest
    assert len(first) == 300 and len(unacked) == 50
    assert set(unacked) <= set(rest), "unacknowledged events must come again"
    assert not set(first) & set(rest), "acknowledged events must not come again"
    counts = collections.Counter(seen)
    assert max(counts.values()) == 1
    seqs, gaps = _journal(tmp_path / "a.db")
    assert sorted(s for n, _, s in seen if n == "a") == seqs and r["seq"] == seqs[-1]
