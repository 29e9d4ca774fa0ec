"""cti-monitor: a live terminal view of a CTI server's calls, spans and events (rich).

    cti-monitor                              # plain-mode server on localhost
    cti-monitor --key keys/bob.key_secret --server-key keys/server.key --watch

It takes a snapshot, then follows the gap-free event stream and keeps its own view of the
calls (:class:`CallView`) up to date; a ServerStarted event makes it take a fresh snapshot.
"""
from __future__ import annotations

import collections
import time
from typing import Any

import click
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from cti.bus.client import BusClient, ClientKeys
from cti.bus.server import Endpoints


class CallView:
    """Calls, spans and recent events as seen from the bus (snapshot + events)."""

    def __init__(self, recent: int = 15) -> None:
        self.calls: dict[str, dict[str, Any]] = {}
        self.spans: dict[int, dict[str, Any]] = {}
        self.recent: collections.deque[dict[str, Any]] = collections.deque(maxlen=recent)
        self.seq = 0
        self.counts: collections.Counter[str] = collections.Counter()

    def load(self, snap: dict[str, Any]) -> None:
        self.seq = int(snap.get("seq", 0))
        self.calls = {}
        for c in snap.get("calls", []):
            states = {x["device"]: x["state"] for x in c.get("connections", [])}
            self.calls[c["call"]] = {**c, "states": states}
        self.spans = {s["span"]: dict(s) for s in snap.get("spans", [])}

    def apply(self, e: dict[str, Any]) -> None:
        self.seq = int(e.get("seq", self.seq))
        self.recent.append(e)
        kind = e.get("type", "")
        self.counts[kind] += 1
        if kind == "SpanState":
            self.spans[e["span"]] = {**self.spans.get(e["span"], {}), **{k: e[k] for k in ("span", "available", "total")},
                                     "alarms": e.get("alarms", [])}
            return
        if "call" not in e:
            return
        if kind == "CallCleared":
            self.calls.pop(e["call"], None)
            return
        if kind == "Transferred" or kind == "Conferenced":
            for old in e.get("old_calls", []):
                if old != e["call"]:
                    self.calls.pop(old, None)
        c = self.calls.setdefault(e["call"], {"call": e["call"], "states": {}, "created": e.get("time")})
        for k in ("calling", "called", "span", "ts", "signalling", "direction"):
            if e.get(k) is not None:
                c[k] = e[k]
        if kind == "Offered" and e.get("span") is not None:
            c["states"][f"trunk/{e['span']}/{e['ts']}"] = "connected"   # the caller is off-hook
        c["states"][e.get("device", "")] = e.get("state", "")
        if e.get("state") == "null":
            c["states"].pop(e.get("device", ""), None)

    def render(self) -> Group:
        spans = Table(title="spans", expand=True)
        for col in ("span", "signalling", "available", "total", "alarms"):
            spans.add_column(col)
        for n, s in sorted(self.spans.items()):
            alarms = ", ".join(s.get("alarms") or []) or "-"
            spans.add_row(str(n), s.get("signalling", ""), str(s.get("available", "")), str(s.get("total", "")),
                          f"[red]{alarms}[/]" if alarms != "-" else alarms)
        calls = Table(title=f"live calls ({len(self.calls)})", expand=True)
        for col in ("call", "dir", "calling", "called", "circuit", "sig", "parties"):
            calls.add_column(col)
        for c in list(self.calls.values())[-20:]:
            parties = "  ".join(f"{d}:{s}" for d, s in c["states"].items())
            circ = f"{c.get('span')}/{c.get('ts')}" if c.get("span") is not None else "-"
            calls.add_row(c["call"], c.get("direction", ""), str(c.get("calling") or ""), str(c.get("called") or ""),
                          circ, c.get("signalling", ""), parties)
        evs = Table(title=f"events (seq {self.seq})", expand=True)
        for col in ("seq", "type", "call", "device", "state", "cause"):
            evs.add_column(col)
        for e in reversed(self.recent):
            evs.add_row(str(e.get("seq")), e.get("type", ""), str(e.get("call", "")), str(e.get("device", "")),
                        str(e.get("state", "")), str(e.get("cause") or ""))
        return Group(spans, calls, evs)


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
        view = CallView()
        try:
            sub = client.subscribe(mode="watch" if watch else "pub")
        except TimeoutError as e:
            raise click.ClickException(f"{e}") from None
        assert sub.snapshot is not None
        view.load(sub.snapshot)
        end = time.monotonic() + (duration if duration is not None else (1.0 if once else float("inf")))

        def follow(refresh) -> None:
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
