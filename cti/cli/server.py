"""cti-server: run the CTI server (board + signalling + call model + bus + store).

    cti-server                          # demo: simulator, No.1 + SS7 + PRI spans, calls flowing, plain bus
    cti-server -c site.toml             # a site configuration (docs/cti-server.md)
    cti-server --check -c site.toml     # validate config, keys, endpoints; every problem at once
    cti-server --clock virtual --scenario calls.toml --until 120   # deterministic run + summary
    cti-server -c site.toml --store postgresql://cti@db/cti --security curve --keys /etc/cti/keys
"""
from __future__ import annotations

import logging
import signal
import sys
from typing import TYPE_CHECKING

import click

from cti.config import Config, ConfigError
from cti.plugin import Component
from cti.server import CtiServer

if TYPE_CHECKING:
    from cti.cli.run import RunReport


def build_config(config: str | None, **over: object) -> Config:
    """The configuration from a file (or the demo defaults) with command-line overrides applied."""
    cfg = Config.load(config) if config else Config()
    if config is None:
        cfg.demo.enabled = True
        if over.get("board__spans") is None:       # the demo's third span: ISDN PRI (user side)
            from cti.config import TrunkSection
            cfg.board.spans = 3
            cfg.trunks.append(TrunkSection("pri", [2], {"side": "user"}))
    for key, value in over.items():
        if value is None:
            continue
        section, name = key.split("__")
        setattr(getattr(cfg, section), name, value)
    cfg.validate()
    return cfg


@click.command()
@click.option("-c", "--config", type=click.Path(exists=True, dir_okay=False), help="TOML configuration file")
@click.option("--board", "board__driver", help="board driver: sim, wire, dahdi, loopback, ...")
@click.option("--spans", "board__spans", type=int, help="number of spans (simulator)")
@click.option("--clock", "board__clock", type=click.Choice(["real", "virtual"]), help="simulator clock")
@click.option("--store", "server__store", help="store: a SQLite path, sqlite://..., postgresql://...")
@click.option("--node", "server__node", help="node name (call ids and ServerStarted)")
@click.option("--events", "bus__events", help="PUB endpoint, e.g. tcp://127.0.0.1:5560")
@click.option("--snapshot", "bus__snapshot", help="snapshot/replay ROUTER endpoint")
@click.option("--control", "bus__control", help="command ROUTER endpoint")
@click.option("--security", "bus__security", type=click.Choice(["plain", "curve"]), help="bus security")
@click.option("--keys", "bus__keys", help="directory made by cti-keys (server.key_secret, accounts.toml)")
@click.option("--demo/--no-demo", "demo__enabled", default=None, help="run the demo call scenario")
@click.option("--scenario", "demo__scenario", type=click.Path(exists=True, dir_okay=False),
              help="scenario TOML (simulator/scenario.py)")
@click.option("--duration", type=float, default=None, help="stop after this many seconds")
@click.option("--ready-timeout", "server__ready_timeout", type=float, default=None,
              help="exit 3 if the spans are not usable (ServerReady) within this many seconds")
@click.option("--until", type=float, default=None,
              help="stop at this board time (virtual clock: a deterministic run), print a summary, "
                   "exit 1 on errors, lost calls or unmet scenario expectations")
@click.option("--trace", "trace_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="with --until: write every event as a JSON line (no wall-clock fields)")
@click.option("--summary-json", type=click.Path(dir_okay=False, writable=True), default=None,
              help="with --until: write the run summary as JSON")
@click.option("--check", is_flag=True, help="validate config, keys and endpoints (no board opened), list every problem")
@click.option("-v", "--verbose", count=True)
def main(config: str | None, duration: float | None, verbose: int, check: bool, until: float | None,
         trace_path: str | None, summary_json: str | None, **over: object) -> None:
    """Run the CTI server. With no options: the simulator demo on localhost."""
    if check:
        _check(config)
    if over.get("demo__scenario") and over.get("demo__enabled") is None:
        over["demo__enabled"] = True          # --scenario runs it
    if until is None and (trace_path or summary_json):
        raise click.UsageError("--trace and --summary-json go with --until")
    logging.basicConfig(level=logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("cti-server")
    try:
        cfg = build_config(config, **over)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    from cti.cli.wiring import build_server
    report = trace = None
    if until is not None:
        from cti.cli.run import RunReport
        trace = open(trace_path, "w", encoding="utf-8") if trace_path else None   # noqa: SIM115
        report = RunReport(until, trace)
    extra: list[Component] = [report] if report is not None else []
    try:
        srv = build_server(cfg, strict=config is not None, extra=extra)
    except Exception as e:   # the demo falls back, a site config fails loudly
        if config is not None or cfg.board.driver != "sim":
            raise click.ClickException(str(e)) from None
        log.warning("simulator unavailable (%s): running the demo on loopback trunks", e)
        cfg.board.driver = "loopback"
        cfg.trunks = [t.__class__("loop", t.spans) for t in cfg.trunks]
        try:
            srv = build_server(cfg, extra=extra)
        except Exception as e2:
            raise click.ClickException(f"cannot start: {e2}") from None
    try:
        srv.start()
    except Exception as e:
        srv.store.close()
        raise click.ClickException(f"cannot bind the bus: {e}") from None
    signal.signal(signal.SIGTERM, lambda *_: srv.stop())
    # SIGHUP: read accounts.toml again now (the bus also does when the file changes)
    def reload() -> None:
        srv.bus.reload_accounts()
    signal.signal(signal.SIGHUP, lambda *_: srv.call_soon(reload))
    ep = srv.bus.endpoints
    click.echo(f"cti-server {cfg.server.node}: board={cfg.board.driver} "
               f"trunks={[(t.signalling, t.spans) for t in cfg.trunks]} store={cfg.server.store}", err=True)
    click.echo(f"  events {ep.events}  snapshot {ep.snapshot}  control {ep.control}  security={cfg.bus.security}",
               err=True)
    if cfg.bus.security == "plain":
        click.secho("  WARNING: plain mode - no authentication, no encryption: localhost development only",
                    fg="red", bold=True, err=True)
    if any(c.name == "demo" for c in srv.components):
        click.echo("  demo scenario running: watch it with `cti-monitor`", err=True)
    try:
        if report is not None and cfg.board.clock == "virtual":
            _run_virtual(srv, report)
        else:
            srv.run(duration)
    except KeyboardInterrupt:
        pass
    finally:
        srv.close()
        if trace is not None:
            trace.close()
    failed = getattr(_part(srv, "readiness"), "failed", None)
    if report is not None and not failed:
        _report(report, summary_json)
    if failed:
        click.secho(f"cti-server: start-up failed: {failed}", fg="red", err=True)
        sys.exit(3)
    sys.exit(0)


def _run_virtual(srv: CtiServer, report: RunReport) -> None:
    """Turn the loop without waiting (the virtual clock moves one step a turn) until the run is
    over or start-up failed; one bad turn is logged (and counted as an error), not fatal."""
    log = logging.getLogger("cti-server")
    ready = _part(srv, "readiness")
    while not report.done and not getattr(ready, "failed", None):
        try:
            srv.step(0)
        except Exception as e:
            from drivers.base import BoardClosed
            if isinstance(e, BoardClosed):
                raise
            log.exception("loop turn failed")


def _report(report: RunReport, summary_json: str | None) -> None:
    """Print the run summary; exit 1 on errors, lost calls or unmet expectations."""
    import json

    from cti.cli.run import failed, render
    summary = report.summary()
    click.echo(render(summary))
    if summary_json:
        with open(summary_json, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=1, ensure_ascii=False, sort_keys=True)
    if failed(summary):
        sys.exit(1)


def _check(config: str | None) -> None:
    """``--check``: every problem of the site, one a line; exit 1 when there is any."""
    from cti.cli.check import check_site
    problems = check_site(config)
    for p in problems:
        click.echo(f"{config}: {p}", err=True)
    if problems:
        click.secho(f"{config}: {len(problems)} problem(s)", fg="red", err=True)
        sys.exit(1)
    click.echo(f"{config}: OK")
    sys.exit(0)


def _part(srv: CtiServer, name: str) -> Component | None:
    try:
        return srv.part(name)
    except KeyError:
        return None


if __name__ == "__main__":
    main()
