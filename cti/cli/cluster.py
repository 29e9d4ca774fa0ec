"""``python -m cti.cli.cluster``: the cluster's commands (docs/cluster.md), on the command floor
because they build a server or read a ``[contact]`` section:

    python -m cti.cli.cluster serve -c site.toml                        # a node sharing a wire card
    python -m cti.cli.cluster config push --db postgresql://... site.toml   # the centre's [contact]
    python -m cti.cli.cluster config show --db postgresql://...
    python -m cti.cli.cluster tail | natsd | acd ...                   # as python -m cti.cluster
"""
from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Sequence
from typing import Any

import click

from cti.cluster.__main__ import main, stop_on_signals


@main.command()
@click.option("-c", "--config", "path", required=True, type=click.Path(exists=True, dir_okay=False))
def serve(path: str) -> None:
    """cti-server on a network-attached card shared with standby nodes: wait for the card's
    lease, then run; exit 75 at once if the lease is lost (docs/cluster.md)."""
    from cti.config import Config, ConfigError
    try:
        cfg = Config.load(path)
        serve_card(cfg, say=lambda text: click.echo(text, err=True))
    except (ConfigError, ValueError) as e:
        raise click.ClickException(str(e)) from None


def serve_card(cfg: Any, extra: Sequence[Any] = (), duration: float | None = None,
               say: Callable[[str], None] = print) -> None:
    """``serve`` for a loaded site ``cfg``: wait as standby until this node holds the card's
    lease (a stop signal ends the wait), keep it on a thread, claim the card with the lease
    epoch (the wire protocol's OWNER: the card takes no orders from an older owner again), then
    build and run the node's server (``extra`` components added; ``duration`` s, or until a
    stop signal) and give the card up when it ends. ``say`` hears the node's states as lines
    starting ``standby`` and ``owner <epoch> <wall-clock time>``."""
    from cti.cli.wiring import build_server
    from cti.cluster.card import fence, for_site
    card = for_site(cfg)
    stop = stop_on_signals()
    say(f"standby (cti-cluster {cfg.server.node} for card {card.url})")
    t0 = time.monotonic()
    if not card.wait(stop.is_set):
        return
    card.keep()
    fence(cfg, card.epoch)
    say(f"owner {card.epoch} {time.time():.3f} (cti-cluster {cfg.server.node} owns card {card.url}, "
        f"lease epoch {card.epoch}, after {time.monotonic() - t0:.2f} s)")
    srv = build_server(cfg, extra=list(extra))
    srv.start()
    signal.signal(signal.SIGTERM, lambda *_: srv.stop())
    signal.signal(signal.SIGINT, lambda *_: srv.stop())
    try:
        srv.run(duration)
    finally:
        srv.close()
        card.release()


@main.group()
def config() -> None:
    """The centre's configuration in its database (read by nodes whose site file has no [contact])."""


@config.command()
@click.option("--db", required=True, help="the centre's PostgreSQL URL")
@click.argument("site", type=click.Path(exists=True, dir_okay=False))
def push(db: str, site: str) -> None:
    """Store SITE's [contact] section (validated first) as the centre's configuration."""
    import tomllib

    import psycopg

    from cti.config import ConfigError

    from cti.cluster.centre import NodeCentre, create
    try:
        with open(site, "rb") as f:
            contact = tomllib.load(f).get("contact")
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise click.ClickException(f"{site}: {e}") from None
    if not isinstance(contact, dict):
        raise click.ClickException(f"{site} has no [contact] section")
    from cti.contact import ContactConfig
    try:
        ContactConfig.from_dict(contact)
    except (ConfigError, ValueError, TypeError) as e:
        raise click.ClickException(f"{site} [contact]: {e}") from None
    try:
        with psycopg.connect(db, connect_timeout=5) as conn:
            create(conn)
            NodeCentre(conn, "").put_config("contact", contact)
    except psycopg.Error as e:
        raise click.ClickException(f"cannot store it in {db}: {e}") from None
    click.echo(f"stored [contact] of {site}: {len(contact.get('agents', {}))} agent(s), "
               f"{len(contact.get('queues', {}))} queue(s)")


@config.command()
@click.option("--db", required=True, help="the centre's PostgreSQL URL")
def show(db: str) -> None:
    """Print the centre's [contact] configuration (JSON)."""
    import psycopg

    from cti.cluster.centre import NodeCentre, create
    with psycopg.connect(db, connect_timeout=5) as conn:
        create(conn)
        click.echo(json.dumps(NodeCentre(conn, "").config("contact"), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
