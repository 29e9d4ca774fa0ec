"""cti-monitor: a live terminal view of a CTI server's spans, agents, queues, calls and
events (rich), readable in an 80-column terminal.

    cti-monitor                              # plain-mode server on localhost
    cti-monitor --key keys/bob.key_secret --server-key keys/server.key --watch

It takes a snapshot, then follows the gap-free event stream and keeps its own view of the
calls (:class:`CallView`) up to date; a ServerStarted event makes it take a fresh snapshot.
"""
from __future__ import annotations

import collections
import time
from collections.abc import Callable
from typing import Any

import click
from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from cti.bus.client import BusClient, ClientKeys
from cti.bus.server import Endpoints


#: queue events (they carry ``queue`` and ``data``) that take a call out of the queue
_LEAVE_QUEUE = frozenset({"Connected", "Diverted", "Abandoned"})


class CallView:
    """Spans, agents, queues, calls and recent events as seen from the bus (snapshot + events)."""

    def __init__(self, recent: int = 15, security: str = "plain") -> None:
        self.calls: dict[str, dict[str, Any]] = {}
        self.spans: dict[int, dict[str, Any]] = {}
        self.agents: dict[str, dict[str, Any]] = {}
        self.queues: dict[str, dict[str, Any]] = {}
        self.recent: collections.deque[dict[str, Any]] = collections.deque(maxlen=recent)
        self.seq = 0
        self.node = ""
        self.security = security
        self.now = 0.0
        self.counts: collections.Counter[str] = collections.Counter()

    def load(self, snap: dict[str, Any]) -> None:
        self.seq = int(snap.get("seq", 0))
        self.node = str(snap.get("node", self.node))
        self.calls = {}
        for c in snap.get("calls", []):
            states = {x["device"]: x["state"] for x in c.get("connections", []) if x["state"] != "null"}
            self.calls[c["call"]] = {**c, "states": states}
        self.spans = {s["span"]: dict(s) for s in snap.get("spans", [])}
        self.agents = {a["agent"]: dict(a) for a in snap.get("agents", []) if isinstance(a, dict) and "agent" in a}
        self.queues = {q["queue"]: {"waiting": list(q.get("waiting", [])), "figures": {}}
                       for q in snap.get("queues", []) if isinstance(q, dict) and "queue" in q}

    def _apply_contact(self, kind: str, e: dict[str, Any]) -> bool:
        """Agent and queue events; True when ``e`` was one."""
        agent = e.get("agent")
        if kind.startswith("Agent") and isinstance(agent, dict) and "agent" in agent:
            if kind == "AgentLoggedOff":
                self.agents.pop(agent["agent"], None)
            else:
                self.agents[agent["agent"]] = dict(agent)
            return True
        queue = e.get("queue")
        if not isinstance(queue, str) or ("data" not in e and kind != "QueueStats"):
            return False
        q = self.queues.setdefault(queue, {"waiting": [], "figures": {}})
        if kind == "QueueStats":
            q["figures"] = dict(e.get("figures") or {})
        elif kind == "CallQueued" and e.get("call") not in q["waiting"]:
            q["waiting"].append(e.get("call"))
        elif kind in _LEAVE_QUEUE and e.get("call") in q["waiting"]:
            q["waiting"].remove(e.get("call"))
        return True

    def apply(self, e: dict[str, Any]) -> None:
        self.seq = int(e.get("seq", self.seq))
        self.now = float(e.get("time", self.now) or self.now)
        self.recent.append(e)
        kind = e.get("type", "")
        self.counts[kind] += 1
        if kind == "ServerStarted":
            self.node = str(e.get("node", self.node))
        if self._apply_contact(kind, e):
            return
        if kind == "SpanState":
            self.spans[e["span"]] = {**self.spans.get(e["span"], {}), **{k: e[k] for k in ("span", "available", "total")},
                                     "alarms": e.get("alarms", [])}
            return
        if "call" not in e:
            return
        if kind == "CallCleared":
            self.calls.pop(e["call"], None)
            return
        moved: dict[str, str] = {}
        if kind == "Transferred" or kind == "Conferenced":
            for old in e.get("old_calls", []):
                if old != e["call"]:                   # the far parties of the old call join this one
                    gone = self.calls.pop(old, None) or {}
                    moved.update({d: st for d, st in gone.get("states", {}).items() if d in e.get("parties", [])})
        c = self.calls.setdefault(e["call"], {"call": e["call"], "states": {}, "created": e.get("time")})
        c["states"].update(moved)
        for k in ("calling", "called", "span", "ts", "signalling", "direction"):
            if e.get(k) is not None:
                c[k] = e[k]
        if kind == "Offered" and e.get("span") is not None:
            c["states"][f"trunk/{e['span']}/{e['ts']}"] = "connected"   # the caller is off-hook
        if kind == "Originated" and e.get("span") is not None:
            c["states"][f"trunk/{e['span']}/{e['ts']}"] = "initiated"   # the circuit seized for the far end
        if not e.get("device"):                  # UserDataChanged from the IVR: no connection changed
            return
        c["states"][e["device"]] = e.get("state", "")
        if e.get("state") == "null":
            c["states"].pop(e["device"], None)

    def render(self) -> Group:
        """Compact tables that fit 80 columns: long cells are cut with an ellipsis."""
        mode = "[green]curve[/]" if self.security == "curve" else "[yellow]plain (localhost only)[/]"
        header = Text.from_markup(f"[b]cti-monitor[/] node [b]{self.node or '?'}[/] bus {mode} seq {self.seq} "
                                  f"calls {len(self.calls)} agents {len(self.agents)}")
        header.no_wrap, header.overflow = True, "ellipsis"
        parts: list[Any] = [header]
        spans = _table("spans", ("span", "sig", "in service", "busy", "total", "alarms"))
        busy: dict[int, int] = {}
        for c in self.calls.values():          # circuits our live calls hold (one per trunk party)
            for dev in c.get("states", {}):
                parts_ = str(dev).split("/")
                if len(parts_) == 3 and parts_[0] == "trunk" and parts_[1].isdigit():
                    busy[int(parts_[1])] = busy.get(int(parts_[1]), 0) + 1
        for n, s in sorted(self.spans.items()):
            alarms = ", ".join(s.get("alarms") or []) or "-"
            spans.add_row(str(n), s.get("signalling", ""), str(s.get("available", "")), str(busy.get(n, 0)),
                          str(s.get("total", "")), f"[red]{alarms}[/]" if alarms != "-" else alarms)
        parts.append(spans)
        if self.agents:
            agents = _table(f"agents ({len(self.agents)})", ("agent", "device", "state", "for", "call"))
            for a in sorted(self.agents.values(), key=lambda a: str(a.get("agent"))):
                since = a.get("since")
                held = _duration(self.now - since) if isinstance(since, (int, float)) and self.now >= since else ""
                state = str(a.get("state", "")) + (f" ({a['reason']})" if a.get("reason") else "")
                agents.add_row(str(a.get("agent")), str(a.get("device", "")), state, held, str(a.get("call") or ""))
            parts.append(agents)
        if self.queues:
            queues = _table("queues", ("queue", "waiting", "SL %", "abandon %", "AHT s"))
            for name, q in sorted(self.queues.items()):
                f = q["figures"]
                queues.add_row(name, str(len(q["waiting"])), _fig(f.get("service_level")),
                               _fig(f.get("abandon_rate")), _fig(f.get("aht")))
            parts.append(queues)
        calls = _table(f"live calls ({len(self.calls)})", ("call", "dir", "calling", "called", "circuit", "parties"))
        for c in list(self.calls.values())[-20:]:
            parties = " ".join(f"{d}:{s}" for d, s in c["states"].items())
            circ = f"{c.get('span')}/{c.get('ts')}" if c.get("span") is not None else "-"
            calls.add_row(c["call"], c.get("direction", ""), str(c.get("calling") or ""), str(c.get("called") or ""),
                          circ, parties)
        evs = _table(f"events (seq {self.seq})", ("seq", "type", "call", "device", "state", "cause"))
        for e in reversed(self.recent):
            evs.add_row(str(e.get("seq")), e.get("type", ""), str(e.get("call", "")), str(e.get("device", "")),
                        str(e.get("state", "")), str(e.get("cause") or ""))
        parts += [calls, evs]
        return Group(*parts)


#: columns whose content must show whole (min) or may be cut early (max), in characters
_MIN = {"state": 18, "calling": 11, "parties": 16, "call": 4, "dir": 3, "called": 6}
_MAX = {"agent": 16, "device": 9, "call": 10, "circuit": 7}


def _table(title: str, columns: tuple[str, ...]) -> Table:
    t = Table(title=title, expand=True, box=box.SIMPLE_HEAD, padding=(0, 1), title_justify="left")
    for col in columns:
        t.add_column(col, no_wrap=True, overflow="ellipsis", min_width=_MIN.get(col), max_width=_MAX.get(col))
    return t


def _duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _fig(v: Any) -> str:
    return f"{v:.0f}" if isinstance(v, (int, float)) else "-"


@click.command()
@click.option("--events", default="tcp://127.0.0.1:5560", show_default=True)
@click.option("--snapshot", default="tcp://127.0.0.1:5561", show_default=True)
@click.option("--control", default="tcp://127.0.0.1:5562", show_default=True)
@click.option("--key", type=click.Path(exists=True, dir_okay=False), help="this account's NAME.key_secret")
@click.option("--server-key", type=click.Path(exists=True, dir_okay=False), help="the server's server.key")
@click.option("--watch", is_flag=True, help="filtered stream (agent / supervisor accounts)")
@click.option("--duration", type=float, default=None, help="stop after this many seconds")
@click.option("--once", is_flag=True, help="print one view after --duration (or 1 s) and exit")
def main(events: str, snapshot: str, control: str, key: str | None, server_key: str | None,
         watch: bool, duration: float | None, once: bool) -> None:
    """Live view of calls, spans and events on a CTI server."""
    keys = ClientKeys(key, server_key) if key and server_key else None
    console = Console()
    with BusClient(Endpoints(events, snapshot, control), keys=keys, timeout=3.0) as client:
        view = CallView(security="curve" if keys else "plain")
        try:
            sub = client.subscribe(mode="watch" if watch else "pub")
        except TimeoutError as e:
            raise click.ClickException(f"{e}") from None
        assert sub.snapshot is not None
        view.load(sub.snapshot)
        end = time.monotonic() + (duration if duration is not None else (1.0 if once else float("inf")))

        def follow(refresh: Callable[[], None]) -> None:
            while time.monotonic() < end:
                e = sub.get(timeout=0.25)
                if e is None:
                    continue
                if e.get("type") == "ServerStarted":
                    view.load(client.snapshot())
                view.apply(e)
                refresh()

        if once:
            follow(lambda: None)
            console.print(view.render())
            return
        with Live(view.render(), console=console, refresh_per_second=4) as live:
            try:
                follow(lambda: live.update(view.render()))
            except KeyboardInterrupt:
                pass


if __name__ == "__main__":
    main()
