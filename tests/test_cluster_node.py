"""A node's centre link with the centre's database away (issue 17: a node keeps working alone):
nothing raises into the server's loop, what waits for the database is bounded by the number of
agents, the problem is shown in the snapshot section. No PostgreSQL needed (that is the point)."""
from __future__ import annotations

import socket
import time
from dataclasses import dataclass

import pytest

from cti.cluster.config import ClusterConfig
from cti.cluster.node import CentreLink

pytest.importorskip("psycopg", reason="psycopg not installed (pip install 'psycopg[binary]')")


@dataclass
class AgentReady:
    agent: str
    state: str = "Ready"
    device: str | None = "8001"
    reason: str = ""
    call: str | None = None
    phase: str = ""


class Host:
    def now(self) -> float:
        return time.monotonic()

    def part(self, name: str) -> object:
        raise KeyError(name)


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


@pytest.mark.system
def test_database_away_the_node_works_alone_and_keeps_only_the_newest_state() -> None:
    url = f"postgresql://cti:cti@127.0.0.1:{_closed_port()}/none"
    link = CentreLink(ClusterConfig(centre=url), "a")
    link.start(Host())             # type: ignore[arg-type]
    try:
        t0 = time.monotonic()
        for i in range(5000):
            link.on_event(AgentReady(f"ag{i % 5}", state="Ready" if i % 2 else "NotReady"))
        assert time.monotonic() - t0 < 1.0           # the loop never waits for the database
        end = time.monotonic() + 10
        while time.monotonic() < end and (link.last_error is None or not link._writes.empty()):
            time.sleep(0.05)
        assert link.last_error is not None and not link.connected
        assert set(link.pending) == {f"ag{i}" for i in range(5)}        # bounded by the agents
        assert link.pending["ag4"][1] == "Ready" and link.pending["ag3"][1] == "NotReady"   # the newest
        (row,) = link.sections()["centre"](None, None)
        assert row["connected"] is False and row["last_error"] and row["written"] == 0
        link.service(link.deadline() or 0.0)         # nothing to restore: no error either
    finally:
        link.stop()


def test_ringing_is_kept_as_reserved() -> None:
    link = CentreLink(ClusterConfig(centre="postgresql://x@127.0.0.1:1/y"), "a")
    link.on_event(AgentReady("ann", state="Busy", phase="ringing", call="a-1"))
    link.on_event(AgentReady("bob", state="Busy", phase="talking", call="a-2"))
    link._take(0.0)
    assert link.pending["ann"][1:5] == ("Reserved", "8001", "", "a-1") and link.pending["ann"][-1] is False
    assert link.pending["bob"][1] == "Busy"
