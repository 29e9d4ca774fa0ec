"""A cluster node for the tests, run as a process of its own (``python tests/test_cluster_support.py``):
a real cti-server (loopback trunks, the demo's calls) with a ``[cluster]`` section, plus a probe
component publishing ``rate`` extra events a second through the server (call-load stand-in),
so that a kill -9 lands mid-stream. No tests here; tests/test_cluster_stream.py drives it."""
from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cti.plugin import Component, Host


class Probe(Component):
    """Publishes ``rate`` ClusterProbe events a second (model time), numbered from 1 per run."""

    name = "probe"

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.host: Host | None = None
        self.n = 0
        self.t0: float | None = None

    def start(self, host: Host) -> None:
        self.host = host

    def deadline(self) -> float | None:
        return float("-inf") if self.t0 is None else self.t0 + self.n / self.rate

    def service(self, now: float) -> None:
        assert self.host is not None
        if self.t0 is None:
            self.t0 = now
        due = int((now - self.t0) * self.rate) + 1
        while self.n < due:
            self.n += 1
            self.host.publish({"type": "ClusterProbe", "topic": "test.probe", "n": self.n})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--node", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--servers", required=True, help="JSON list of NATS URLs")
    ap.add_argument("--rate", type=float, default=500.0)
    ap.add_argument("--duration", type=float, default=None)
    a = ap.parse_args()
    from cti.cli.wiring import build_server
    from cti.config import Config, TrunkSection
    cfg = Config()
    cfg.demo.enabled = True
    cfg.board.driver = "loopback"
    cfg.trunks = [TrunkSection("loop", [0]), TrunkSection("loop", [1])]
    cfg.server.node = a.node
    cfg.server.store = a.store
    cfg.bus.events = cfg.bus.snapshot = cfg.bus.control = "tcp://127.0.0.1:*"
    cfg.cluster = {"servers": json.loads(a.servers)}
    srv = build_server(cfg, extra=[Probe(a.rate)])
    srv.start()
    signal.signal(signal.SIGTERM, lambda *_: srv.stop())
    print("ready", flush=True)
    try:
        srv.run(a.duration)
    finally:
        srv.close()
    pub = srv.part("cluster")
    relay = getattr(pub, "relay", None)
    print(json.dumps({"seq": srv.bus.seq, "sent": getattr(pub, "sent", None), "acked": getattr(relay, "acked", None),
                      "backlog": getattr(relay, "backlog", None), "counters": dict(getattr(relay, "counters", {})),
                      "error": getattr(relay, "last_error", None)}), flush=True)


if __name__ == "__main__":
    main()
