"""Rig of the tie-span tests and of ``python -m bench cluster``'s call set-up rows: two real
CtiServers in one process, node a (span 0: PRI to the simulated public exchange, span 1: an E1
tie span, PRI network side) and node b (span 0: the tie, PRI user side), each with its own
``sim`` board on one shared clock (simulator.tie), its own store and centre link, one
PostgreSQL database of the centre. No tests here."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from cti.plugin import Component, Host

ANY = "tcp://127.0.0.1:*"
CONTACT = {"route_points": {"4000": "sales"},
           "agents": {"ann": {"device": "8001", "skills": {"sales": 80}, "wrap_up": 0.0},
                      "bob": {"device": "8002", "skills": {"sales": 60}, "wrap_up": 0.0, "team": "blue"},
                      "cat": {"device": "8003", "skills": {"sales": 70}, "wrap_up": 0.0},
                      "dan": {"device": "8004", "skills": {"sales": 50}, "wrap_up": 0.0}},
           "queues": {"sales": {"skills": {"sales": 10}, "ring_timeout": 4.0}}}


#: the tie's PRI: node a the network side, b the user side; a dead far node is declared after
#: T203 + N200 x T200 without frames (2 + 3 x 1 s) and its active calls cleared at T309 (6 s, the
#: least Q.931 allows: between two nodes of one centre there is no exchange to wait for)
TIE_TIMERS = {"q921": {"T203": 2.0, "T200": 1.0}, "q931": {"T309": 6.0}}
TIE_A = {"side": "network", "timers": TIE_TIMERS}
TIE_B = {"side": "user", "timers": TIE_TIMERS}


class Watch(Component):
    """Keeps the call and agent events of one node; answers calls delivered at agent devices
    after ``answer_after`` s (a desk phone picking up), unless the device is in ``deaf``."""

    name = "watch"

    def __init__(self, answer_after: float = 0.5) -> None:
        self.host: Any = None
        self.seen: list[Any] = []
        self.timed: list[tuple[float, Any]] = []
        self.answer_after = answer_after
        self.deaf: set[str] = set()
        self.due: list[tuple[float, str, str]] = []

    def start(self, host: Host) -> None:
        self.host = host

    def events(self) -> tuple[str, ...]:
        return ("Offered", "Delivered", "Established", "CallCleared", "AgentBusy", "AgentReady",
                "AgentNotReady", "AgentWorkingAfterCall")

    def on_event(self, event: Any) -> None:
        self.seen.append(event)
        self.timed.append((self.host.now(), event))
        if type(event).__name__ == "Delivered" and event.device.startswith("80") and event.device not in self.deaf:
            self.due.append((self.host.now() + self.answer_after, event.call, event.device))

    def deadline(self) -> float | None:
        return min(t for t, _, _ in self.due) if self.due else None

    def service(self, now: float) -> None:
        for item in [d for d in self.due if d[0] <= now]:
            self.due.remove(item)
            try:
                self.host.model.answer_call(item[1], now, device=item[2])
            except Exception:             # the offer was taken back meanwhile
                pass

    def of(self, kind: str, **match: Any) -> list[Any]:
        return [e for e in self.seen if type(e).__name__ == kind
                and all(getattr(e, k, None) == v for k, v in match.items())]


def tie_server(tmp: Path, node: str, url: str, clock: Any, spans: int, trunks: list[dict[str, Any]],
               ties: dict[str, int], contact: dict[str, Any] | None = None, cluster: bool = True) -> Any:
    """A node on ``clock`` (``cluster=False``: a single node with its own ACD, no [cluster])."""
    from cti.cli.wiring import build_server
    from cti.config import Config
    cfg = Config.from_dict({"server": {"node": node, "store": str(tmp / f"{node}.db")},
                            "bus": {"events": ANY, "snapshot": ANY, "control": ANY},
                            "board": {"driver": "sim", "spans": spans, "clock": "real", "step": 0.1},
                            "trunk": trunks})
    cfg.board.options = {"clock": clock}                 # both cards on one clock: one tie cable
    if cluster:
        cfg.cluster = {"servers": ["nats://127.0.0.1:9"], "centre": url, "lease_ttl": 1.0, "dead_after": 3.0,
                       "ties": ties}
    cfg.contact = {**CONTACT, "recordings": str(tmp / f"rec-{node}"), **(contact or {})}
    return build_server(cfg, extra=[Watch()])


class Pair:
    """Node a (span 0: PRI to the public exchange, span 1: tie, network side) and node b (span 0:
    the tie, user side), started, with ann's station on a and bob's on b."""

    def __init__(self, tmp: Path, url: str, a: dict[str, Any] | None = None, b: dict[str, Any] | None = None,
                 b_spans: int = 1, single: bool = False) -> None:
        from simulator.tie import TieSpan, shared_clock
        self.clock = shared_clock("real")
        if single:           # the reference: node a alone, its own ACD, no cluster, no tie
            self.a = tie_server(tmp, "a", url, self.clock, 1, [{"signalling": "pri", "spans": [0]}], {}, a,
                                cluster=False)
            self.a.start()
            self.alive = [self.a]
            self.exchange = self.a.part("network").networks[0]
            return
        self.a = tie_server(tmp, "a", url, self.clock, 2,
                            [{"signalling": "pri", "spans": [0]}, {"signalling": "pri", "spans": [1], "config": TIE_A}],
                            {"b": 1}, a)
        self.b = tie_server(tmp, "b", url, self.clock, b_spans,
                            [{"signalling": "pri", "spans": [0], "config": TIE_B}], {"a": 0}, b)
        self.tie = TieSpan(self.a.board, 1, self.b.board, 0)
        self.a.start()
        self.b.start()
        self.alive = [self.a, self.b]
        self.exchange = self.a.part("network").networks[0]

    def run(self, seconds: float, until: Any = None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for s in self.alive:
                s.step(0)
            if until is not None and until():
                return
            time.sleep(0.003)

    def log_on(self, srv: Any, agent: str, device: str, state: str) -> None:
        def go() -> None:
            c = srv.part("contact")
            now = srv.now()
            first = c.engine.log_on(agent, device, now) if c.engine.agent(agent).state.value == "LoggedOff" else []
            c.apply(first + c.engine.set_agent_state(agent, state, now))
        srv.call_soon(go)

    def close(self) -> None:
        for s in (self.a, getattr(self, "b", None)):
            if s is None:
                continue
            try:
                s.close()
            except Exception:
                pass


def db(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    import psycopg
    from cti.cluster.centre import create
    with psycopg.connect(url) as c:
        create(c)
        return c.execute(sql, args).fetchall()


def place(p: Pair, calling: str, hold_for: float | None) -> None:
    from simulator.exchange.base import CallScript
    p.exchange.place_call(CallScript(at=p.a.now() + 0.2, called="4000", calling=calling, hold_for=hold_for))


def record(ex: Any, calling: str) -> Any:
    return next((r for r in ex.records if r.calling == calling), None)




def setup_times(run: Any, now: Any, exchange: Any, watch: Watch, device: str, n: int,
                prefix: str) -> list[tuple[float, float]]:
    """``n`` callers one after the other to the route point, each answered by ``device`` after
    ``watch.answer_after`` s and held 0.5 s: per call (seizure -> ringing at ``device``, the
    device's answer -> the caller answered), in seconds of the boards' clock."""
    from simulator.exchange.base import CallScript
    out = []
    for i in range(n):
        calling = f"{prefix}{i:04d}"
        exchange.place_call(CallScript(at=now() + 0.2, called="4000", calling=calling, hold_for=0.5))
        run(20, until=lambda: (r := record(exchange, calling)) is not None and r.cleared_at is not None)
        r = record(exchange, calling)
        rung = next(t for t, e in watch.timed if type(e).__name__ == "Delivered" and e.device == device
                    and e.calling == calling)
        calls = {e.call for _, e in watch.timed if type(e).__name__ == "Delivered" and e.calling == calling}
        answered = next(t for t, e in watch.timed if type(e).__name__ == "Established" and e.device == device
                        and e.call in calls)
        out.append((rung - r.seized_at, r.answered_at - answered))
        run(1.0)
    return out
