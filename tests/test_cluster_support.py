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
from typing import Any

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


class Script(Component):
    """At the first turn, logs agents on (``ann:Ready,bob:NotReady:lunch``) through the node's
    contact centre, as an agent's desktop request would; after ``report`` s (model time) prints
    the ACD's agents (``agents {...}``) for the test to read."""

    name = "script"

    def __init__(self, logon: str, report: float | None) -> None:
        self.logon = [x.split(":") for x in logon.split(",") if x]
        self.report = report
        self.host: Any = None
        self.t0: float | None = None
        self.done = False

    def start(self, host: Host) -> None:
        self.host = host

    def deadline(self) -> float | None:
        if self.t0 is None:
            return float("-inf")
        return None if self.done or self.report is None else self.t0 + self.report

    def service(self, now: float) -> None:
        centre = self.host.part("contact")
        if self.t0 is None:
            self.t0 = now
            for agent, state, *reason in self.logon:
                dev = next(ag.device for ag in centre.config.agents if ag.id == agent)
                events = centre.engine.log_on(agent, dev, now)
                events += centre.engine.set_agent_state(agent, state, now, reason[0] if reason else "")
                centre.apply(events)
        if self.report is not None and not self.done and now >= self.t0 + self.report:
            self.done = True
            print("agents " + json.dumps({a: m.agent.public() for a, m in centre.engine.agents.items()},
                                         default=str), flush=True)


class Answer(Component):
    """Answers every call delivered to a device (a desk phone picking up), as a CRM would."""

    name = "answer"

    def __init__(self) -> None:
        self.host: Any = None

    def start(self, host: Host) -> None:
        self.host = host

    def events(self) -> tuple[str, ...]:
        return ("Delivered", "ServerReady")

    def on_event(self, event: Any) -> None:
        if type(event).__name__ == "ServerReady":      # SS7: every circuit's start-up reset acknowledged
            import time
            print(f"server-ready {time.time()}", flush=True)
            return
        call = event.call

        def go() -> None:
            try:
                self.host.model.answer_call(call, self.host.now())
            except Exception:                 # cleared meanwhile
                pass
        self.host.call_soon(go)


#: the card lease's ttl in the takeover test: the owner fences itself after ttl / 2 without a
#: renewal, so on a loaded 2-core host (CI, a shared machine) a ttl of 1.5 s made the owner give
#: the card up by itself now and then (a PostgreSQL round trip held up for 0.75 s)
CARD_TTL = 3.0


def card_main(a: argparse.Namespace) -> None:
    """``--card URL``: a node on a served card's span 0 run by ``cti-cluster serve``'s own code
    (:func:`cti.cli.cluster.serve_card`): waits for the card's lease, prints ``standby`` then
    ``owner <epoch> <time> ...``, claims the card, answers every call."""
    from cti.cli.cluster import serve_card
    from cti.config import Config
    cfg = Config.from_dict({"server": {"node": a.node, "store": a.store},
                            "bus": {"events": "tcp://127.0.0.1:*", "snapshot": "tcp://127.0.0.1:*",
                                    "control": "tcp://127.0.0.1:*"},
                            "board": {"driver": "wire", "options": {"url": a.card}},
                            "trunk": [{"signalling": a.card_signalling, "spans": [0]}],
                            "cluster": {"servers": json.loads(a.servers), "centre": a.centre, "lease_ttl": CARD_TTL}})
    serve_card(cfg, extra=[Answer()], duration=a.duration, say=lambda text: print(text, flush=True))


CONTACT = {"route_points": {"4000": "sales"}, "stations": {},
           "agents": {"ann": {"device": "8001", "skills": {"sales": 80}},
                      "bob": {"device": "8002", "skills": {"sales": 60, "help": 30}}},
           "queues": {"sales": {"skills": {"sales": 10}}, "help": {"skills": {"help": 10}}}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--node", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--servers", required=True, help="JSON list of NATS URLs")
    ap.add_argument("--rate", type=float, default=500.0)
    ap.add_argument("--duration", type=float, default=None)
    ap.add_argument("--centre", default=None, help="[cluster] centre: PostgreSQL URL")
    ap.add_argument("--logon", default=None, help="agent:state[:reason],... logged on at the first turn")
    ap.add_argument("--report", type=float, default=None, help="print the ACD's agents after this many seconds")
    ap.add_argument("--shared-contact", action="store_true", help="[contact] from the centre database")
    ap.add_argument("--card", default=None, help="a served card's URL: run as its owner or standby")
    ap.add_argument("--card-signalling", default="ss7", help="the trunk on the card's span 0: ss7, pri or no1")
    a = ap.parse_args()
    if a.card:
        card_main(a)
        return
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
    extra: list[Component] = [Probe(a.rate)]
    if a.centre:
        cfg.cluster["centre"] = a.centre
        cfg.cluster["lease_ttl"] = 1.0
        cfg.contact = None if a.shared_contact else CONTACT
        extra.append(Script(a.logon or "", a.report))
    srv = build_server(cfg, extra=extra)
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
