"""cti-gateway: WebSocket + HTTP for browsers and non-Python CRMs, beside cti-server.

    cti-gateway                                    # plain mode, http://127.0.0.1:8080/agent
    cti-gateway --keys keys/ --cert gw.pem --key gw.key --host 0.0.0.0 --port 8443
    cti-gateway --crm-csv docs/examples/crm.csv --crm-url 'https://crm.example/api/{calling}'
    cti-gateway --cluster nats://10.0.0.1:4222 --node a=tcp://10.0.0.1:5560 --node b=tcp://10.0.0.2:5560

Open /agent (agent desktop) and /wallboard (supervisor). docs/gateway.md says the rest.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import ssl

import click
from aiohttp import web

from cti.bus.auth import AuthError, is_loopback
from cti.bus.server import Endpoints
from cti.gateway.accounts import Accounts
from cti.gateway.app import PLAIN_WARNING, Gateway, Options
from cti.gateway.tokens import TokenError

log = logging.getLogger("cti.gateway")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--events", default="tcp://127.0.0.1:5560", show_default=True, help="the bus's PUB endpoint")
@click.option("--snapshot", default="tcp://127.0.0.1:5561", show_default=True, help="the bus's snapshot endpoint")
@click.option("--control", default="tcp://127.0.0.1:5562", show_default=True, help="the bus's command endpoint")
@click.option("--keys", "keys_dir", type=click.Path(file_okay=False, exists=True),
              help="cti-keys directory: CURVE to the bus, bearer tokens for browsers (else plain mode)")
@click.option("--account", default="gateway", show_default=True, help="the gateway's own integrator account")
@click.option("--cert", type=click.Path(dir_okay=False, exists=True), help="TLS certificate (PEM)")
@click.option("--key", "keyfile", type=click.Path(dir_okay=False, exists=True), help="TLS private key (PEM)")
@click.option("--allow-origin", multiple=True, help="another web origin allowed to connect (repeatable)")
@click.option("--crm-csv", type=click.Path(dir_okay=False, exists=True),
              help="CSV with a number column, served at /crm/{number} for the screen-pop")
@click.option("--crm-url", default="/crm/{calling}", show_default=True,
              help="screen-pop CRM URL template ({calling}, {called}, {call}, {agent})")
@click.option("--max-buffer", default=4 << 20, show_default=True, type=int,
              help="octets queued per connection before it overflows (then it is replayed)")
@click.option("--loop", "loop_kind", type=click.Choice(["auto", "asyncio", "uvloop"]), default="auto", show_default=True,
              help="event loop: uvloop (if installed: cheaper socket writes to many subscribers) or asyncio")
@click.option("--compress/--no-compress", default=True, show_default=True,
              help="offer permessage-deflate: event frames compressed once per batch for every subscriber")
@click.option("--send-threads", type=click.IntRange(0, 2), default=None,
              help="threads sending each batch straight to the plain sockets (default 2 on a multi-core "
                   "host, 1 on one core; 0: every frame through its transport, as with TLS)")
@click.option("--batch-window", type=click.FloatRange(10, 100), default=20, show_default=True,
              help="the longest a batch of events waits for more (ms) with 200 subscribers or more: "
                   "longer windows cost less CPU per event (docs/gateway.md, Measured)")
@click.option("--cluster", "cluster", multiple=True, metavar="NATS_URL",
              help="read the whole centre from the cluster's JetStream stream (repeatable: each NATS server)")
@click.option("--stream", default="CTI", show_default=True, help="the cluster stream's name ([cluster] stream)")
@click.option("--subject", default="cti.events", show_default=True, help="the stream's subject prefix")
@click.option("--durable", default="cti-gateway", show_default=True,
              help="the gateway's durable consumer: a restart resumes where it left off")
@click.option("--node", "nodes", multiple=True, metavar="NAME=tcp://HOST:PORT",
              help="with --cluster: a node's bus (events port; snapshot and control the next two), "
                   "for snapshots and requests (repeatable)")
@click.option("-v", "--verbose", count=True)
def main(host: str, port: int, events: str, snapshot: str, control: str, keys_dir: str | None, account: str,
         cert: str | None, keyfile: str | None, allow_origin: tuple[str, ...], crm_csv: str | None,
         crm_url: str, max_buffer: int, loop_kind: str, compress: bool, send_threads: int | None,
         batch_window: float, cluster: tuple[str, ...], stream: str, subject: str, durable: str,
         nodes: tuple[str, ...], verbose: int) -> None:
    """Serve the CTI bus to browsers: WebSocket, HTTP, the agent desktop and the wallboard."""
    logging.basicConfig(level=logging.WARNING - 10 * verbose, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    local = is_loopback(f"tcp://{host}:{port}")
    if keys_dir is None and not local:
        raise click.ClickException(f"plain mode refuses to listen on {host}: give --keys (tokens), "
                                   "and --cert/--key, or listen on 127.0.0.1")
    if keys_dir is not None and not local and cert is None:
        raise click.ClickException(f"bearer tokens over plain HTTP on {host} could be read on the network: "
                                   "give --cert and --key (TLS), or listen on 127.0.0.1")
    if (cert is None) != (keyfile is None):
        raise click.ClickException("--cert and --key go together")
    try:
        if cluster:
            accounts: Accounts = cluster_accounts(cluster, stream, subject, durable, nodes, keys_dir, account)
        elif nodes:
            raise click.ClickException("--node goes with --cluster (a gateway over one bus takes --events ...)")
        else:
            accounts = Accounts(Endpoints(events, snapshot, control), keys_dir, account)
    except (AuthError, TokenError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    tls = None
    if cert is not None:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(cert, keyfile)
    if keys_dir is None:
        click.secho(PLAIN_WARNING, fg="red", bold=True, err=True)
    gw = Gateway(accounts, Options(allow_origins=allow_origin, crm_csv=crm_csv, crm_url=crm_url,
                                   max_buffer=max_buffer, compress=compress,
                                   send_threads=send_threads, batch_window=batch_window / 1000))
    scheme = "https" if tls else "http"
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo(f"cti-gateway: {scheme}://{shown}:{port}/agent (agent desktop), "
               f"{scheme}://{shown}:{port}/wallboard (wallboard); "
               + (f"cluster stream {stream} on {', '.join(cluster)}" if cluster else f"bus {snapshot}"), err=True)
    if loop_kind != "asyncio":
        try:
            import uvloop
            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        except ImportError:
            if loop_kind == "uvloop":
                raise click.ClickException("uvloop is not installed (pip install uvloop)") from None
    app = gw.app()
    # what the imports made (some 49 000 objects: modules, classes, functions) lives as long as the
    # process: out of the collector's sight, a full collection (it stops the fan-out) walks only what
    # came after (measured: 29 ms of CPU less per full collection)
    gc.collect()
    gc.freeze()
    web.run_app(app, host=host, port=port, ssl_context=tls, print=None, access_log=None)


def cluster_accounts(servers: tuple[str, ...], stream: str, subject: str, durable: str, nodes: tuple[str, ...],
                     keys_dir: str | None, account: str) -> Accounts:
    """The accounts of a gateway over the cluster stream (cti/gateway/jetstream.py)."""
    from cti.cluster.config import ClusterConfig
    from cti.gateway.jetstream import ClusterAccounts, parse_node
    cfg = ClusterConfig.from_dict({"servers": list(servers), "stream": stream, "subject": subject})
    parsed = dict(parse_node(n) for n in nodes)
    if len(parsed) != len(nodes):
        raise click.ClickException("--node: each node once")
    return ClusterAccounts(cfg, parsed, keys_dir, account, durable=durable)


if __name__ == "__main__":
    main()
