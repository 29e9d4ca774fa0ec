"""cti-sim: run the E1 card simulator as a server, or check a card with the conformance suite.

    cti-sim serve --port 7000 [--config sim.toml] [--clock real|virtual]
    cti-sim conformance --url socket://127.0.0.1:7000 [--pair 0,1] [--check NAME ...]
    cti-sim check-config sim.toml
"""
from __future__ import annotations

import asyncio
import logging
import signal
import sys

import click

from drivers.base import BoardError, ConfigError


@click.group()
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
def main(verbose: int) -> None:
    """E1 card simulator and card conformance suite."""
    logging.basicConfig(level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)],
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")


def _load(config: str | None):
    from simulator.config import SimConfig, default_config

    return SimConfig.load(config) if config else default_config()


@main.command()
@click.option("--config", "config", type=click.Path(dir_okay=False), default=None,
              help="TOML file: spans, framing, signalling, cross-connects, faults (docs/simulator.md).")
@click.option("--host", default=None, help="Address to listen on [config, else 127.0.0.1].")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="TCP port [config, else 7000; 0 = any].")
@click.option("--clock", type=click.Choice(["real", "virtual"]), default=None,
              help="real: 8000 frames/s by the wall clock; virtual: time moves by ADVANCE [config, else real].")
def serve(config: str | None, host: str | None, port: int | None, clock: str | None) -> None:
    """Serve a simulated card over TCP in the wire protocol."""
    from simulator.server import SimServer

    try:
        cfg = _load(config)
        board = cfg.build_board(clock=clock)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    server = SimServer(board, host=host or cfg.host, port=cfg.port if port is None else port, name=cfg.name)

    async def run() -> None:
        try:
            actual = await server.start()
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {server.host}:{server.port}: {exc}") from None
        pairs = ", ".join(f"{a}<->{b}" for a, b in cfg.cross_connect) or "none"
        click.echo(f"cti-sim: {len(board.spans)} span(s), {board.clock.kind} clock, cross-connects {pairs}; "
                   f"listening on {server.host}:{actual}", err=True)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, server._stopping.set)  # type: ignore[union-attr]
            except (NotImplementedError, RuntimeError):  # pragma: no cover - not the main thread
                pass
        await server.serve_forever()

    asyncio.run(run())


@main.command()
@click.option("--url", required=True, help="pyserial URL of the card: socket://HOST:PORT, /dev/ttyUSB0, ...")
@click.option("--pair", default="0,1", show_default=True, help="The two spans wired back to back.")
@click.option("--timeout", type=float, default=5.0, show_default=True, help="Seconds to wait for a reply.")
@click.option("--check", "only", multiple=True, help="Run only this check (name or function); repeatable.")
def conformance(url: str, pair: str, timeout: float, only: tuple[str, ...]) -> None:
    """Run the back-to-back checks against a card; exit status 1 if any fails."""
    from rich.console import Console
    from rich.table import Table

    from simulator.conformance import FAIL, PASS, run

    try:
        a, b = (int(x) for x in pair.split(","))
    except ValueError:
        raise click.BadParameter(f"{pair!r} is not two span numbers like 0,1", param_hint="--pair") from None
    results = run(url, (a, b), timeout=timeout, only=list(only) or None)
    table = Table(title=f"Card conformance: {url}")
    table.add_column("check")
    table.add_column("result")
    table.add_column("s", justify="right")
    table.add_column("detail", overflow="fold")
    style = {PASS: "green", FAIL: "bold red"}
    for r in results:
        table.add_row(r.name, f"[{style.get(r.status, 'yellow')}]{r.status}[/]", f"{r.seconds:.2f}", r.detail)
    console = Console()
    console.print(table)
    failed = [r for r in results if r.status == FAIL]
    passed = sum(r.status == PASS for r in results)
    console.print(f"{passed} passed, {len(failed)} failed, {len(results) - passed - len(failed)} skipped")
    sys.exit(1 if failed or not results else 0)


@main.command("check-config")
@click.argument("path", type=click.Path(dir_okay=False))
def check_config(path: str) -> None:
    """Check a simulator config file and say what it sets up."""
    try:
        cfg = _load(path)
        cfg.build_board(clock="virtual").close()
    except (ConfigError, BoardError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{path}: {cfg.spans} span(s), {cfg.clock} clock, cross-connects {cfg.cross_connect}, "
               f"{len(cfg.faults)} fault(s); serves on {cfg.host}:{cfg.port}")


if __name__ == "__main__":  # pragma: no cover
    main()
