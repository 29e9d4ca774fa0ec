"""``python -m cti.cluster``: look at the cluster stream, or rehearse a NATS cluster locally.

    python -m cti.cluster tail --server nats://10.0.0.1:4222 --durable crm    # the whole centre, JSON lines
    python -m cti.cluster tail --server nats://127.0.0.1:4222 --node a --no-ack
    python -m cti.cluster natsd /tmp/nats                                        # 3 local nats-servers
    python -m cti.cluster acd --db postgresql://... --name a                     # this node's ACD role

The commands that build a server or read a [contact] section live on the command floor:
``python -m cti.cli.cluster serve`` and ``config`` (cti/cli/cluster.py).
"""
from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
import time
from pathlib import Path

import click


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT (a command's clean stop)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    return stop


@click.group()
def main() -> None:
    """The cluster event stream (docs/cluster.md)."""


@main.command()
@click.option("--server", "servers", multiple=True, required=True, help="a NATS URL (repeat for each server)")
@click.option("--durable", default="cti-tail", show_default=True, help="durable consumer name (its position is kept)")
@click.option("--node", "nodes", multiple=True, help="only this node's events (repeatable)")
@click.option("--ack/--no-ack", default=True, help="acknowledge what is printed (--no-ack: read again next time)")
@click.option("--idle", type=float, default=None, help="stop after this many seconds without an event")
def tail(servers: tuple[str, ...], durable: str, nodes: tuple[str, ...], ack: bool, idle: float | None) -> None:
    """Print every event of the centre as a JSON line (node, seq, event)."""
    from .consumer import ClusterConsumer

    async def go() -> None:
        async with ClusterConsumer(list(servers), durable, nodes=list(nodes) or None) as feed:
            async for ev in feed.events(idle=idle):
                click.echo(json.dumps({"node": ev.node, "epoch": ev.epoch, "seq": ev.seq, "event": ev.event},
                                      ensure_ascii=False, default=str))
                if ack:
                    await ev.ack()
    try:
        asyncio.run(go())
    except KeyboardInterrupt:
        pass


@main.command()
@click.argument("root", type=click.Path(file_okay=False))
@click.option("--size", type=int, default=3, show_default=True)
def natsd(root: str, size: int) -> None:
    """Run SIZE nats-servers clustered on loopback ports (JetStream stores under ROOT) until Ctrl-C."""
    from .natsd import LocalNats, NatsUnavailable
    cluster = LocalNats(Path(root), size=size)
    try:
        cluster.start()
    except NatsUnavailable as e:
        raise click.ClickException(str(e)) from None
    click.echo("servers = [" + ", ".join(f'"{u}"' for u in cluster.urls) + "]")
    stop = stop_on_signals()
    try:
        while not stop.is_set():
            time.sleep(0.2)
    finally:
        cluster.stop()
    sys.exit(0)


@main.command()
@click.option("--db", required=True, help="the centre's PostgreSQL URL")
@click.option("--name", required=True, help="this node's name (the lease holder)")
@click.option("--ttl", type=float, default=3.0, show_default=True, help="lease seconds: a standby takes over after")
@click.option("--dead-after", type=float, default=5.0, show_default=True,
              help="seconds without a node's heartbeat before its callers are cleared")
@click.option("--duration", type=float, default=None, help="stop after this many seconds")
def acd(db: str, name: str, ttl: float, dead_after: float, duration: float | None) -> None:
    """Run the centre's ACD role: lead when holding the lease, else stand by (JSON lines of changes)."""
    from .acd import ClusterAcd
    from .config import check_node
    check_node(name)
    stop = stop_on_signals()

    def show(ev: dict[str, object]) -> None:
        click.echo(json.dumps({**ev, "t": time.time()}), nl=True)
        sys.stdout.flush()
    a = ClusterAcd(db, name, ttl=ttl, dead_after=dead_after, on_event=show)
    try:
        a.run(duration, stop=stop.is_set)
    finally:
        a.close()
        show({"event": "stopped", "holder": name, "offered": a.offered, "cleared": a.cleared, "fenced": a.fenced})


if __name__ == "__main__":
    main()
