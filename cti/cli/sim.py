"""cti-sim: run the E1 card simulator as a server, or check a card with the conformance suite.

    cti-sim serve --port 7000 [--config sim.toml] [--clock real|virtual]
    cti-sim conformance --url socket://127.0.0.1:7000 [--pair 0,1] [--check NAME ...] [--strict]
                        [--junit report.xml] [--json report.json] [--expect-timing internal|line]
                        [--load-pair 2,3 ...] [--load-seconds 600]
    cti-sim conformance --url socket://127.0.0.1:7000 --soak 2h [--junit soak.xml] [--json soak.json]
    cti-sim conformance --board sim --option spans=2 --option 'cross_connect=[[0,1]]'
    cti-sim fault --url socket://127.0.0.1:7000 --span 1 los|ais|lof|rai|ber|crc-errors|slip|hdlc-broken|
                  mfas|mrai|crc4mf|clock|cas-glitch|clear [VALUE] [--for S]
    cti-sim check-config sim.toml
"""
from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import TYPE_CHECKING, Any

import click

from drivers.base import BoardError, ConfigError
from drivers.wire.protocol import Fault

if TYPE_CHECKING:
    from simulator.config import SimConfig


@click.group()
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
def main(verbose: int) -> None:
    """E1 card simulator and card conformance suite."""
    logging.basicConfig(level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)],
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")


def _load(config: str | None) -> SimConfig:
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


def _options(pairs: tuple[str, ...]) -> dict[str, object]:
    """``--option key=value`` pairs; values are TOML literals (4, "x", [[0, 1]], true)."""
    import tomllib

    out: dict[str, object] = {}
    for p in pairs:
        key, sep, value = p.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{p!r} is not key=value", param_hint="--option")
        try:
            out[key.strip()] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            out[key.strip()] = value          # a bare word is a string
    return out


@main.command()
@click.option("--url", default=None, help="pyserial URL of a wire-protocol card: socket://HOST:PORT, /dev/ttyUSB0.")
@click.option("--board", "backend", default=None,
              help="Any cti.boards backend by name instead of --url (sim, dahdi, a vendor's entry point).")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Option for --board, a TOML value (e.g. spans=4, 'cross_connect=[[0,1]]'); repeatable.")
@click.option("--pair", default="0,1", show_default=True, help="The two spans wired back to back.")
@click.option("--timeout", type=float, default=5.0, show_default=True, help="Seconds to wait for a reply.")
@click.option("--check", "only", multiple=True, help="Run only this check (title or function); repeatable.")
@click.option("--list", "list_checks", is_flag=True, help="List the checks and exit.")
@click.option("--strict", is_flag=True, help="A skipped check fails the run (certification).")
@click.option("--load-seconds", type=click.FloatRange(0.2, 3600), default=10.0, show_default=True,
              help="How long the full-load check keeps every timeslot busy.")
@click.option("--junit", type=click.Path(dir_okay=False), default=None, help="Write a JUnit XML report here.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Write a JSON report here.")
@click.option("--load-pair", "load_pairs", multiple=True, metavar="A,B",
              help="Put this back-to-back pair under the full load too (repeatable; default: --pair only).")
@click.option("--expect-timing", type=click.Choice(["internal", "line"]), default=None,
              help="The clock span B must run on: its own oscillator (master) or the line's (slave).")
@click.option("--soak", "soak_for", default=None, metavar="DURATION",
              help="Instead of the checks, keep the pair under load this long (90s, 15m, 2h) and report.")
def conformance(url: str | None, backend: str | None, options: tuple[str, ...], pair: str, timeout: float,
                only: tuple[str, ...], list_checks: bool, strict: bool, load_seconds: float,
                junit: str | None, json_path: str | None, load_pairs: tuple[str, ...], expect_timing: str | None,
                soak_for: str | None) -> None:
    """Run the back-to-back checks against a card; exit status 1 if any fails."""
    from rich.console import Console
    from rich.table import Table

    from simulator.conformance import CHECKS, FAIL, PASS, run, select, summary
    from simulator.conformance.report import to_json, to_junit, write

    if list_checks:
        for title, fn in CHECKS:
            click.echo(f"{fn.__name__:28} {title}")
        return
    if (url is None) == (backend is None):
        raise click.UsageError("name the card with exactly one of --url (wire protocol) or --board (backend)")
    try:
        a, b = (int(x) for x in pair.split(","))
    except ValueError:
        raise click.BadParameter(f"{pair!r} is not two span numbers like 0,1", param_hint="--pair") from None
    loads: list[tuple[int, int]] = []
    for lp in load_pairs:
        try:
            x, y = (int(v) for v in lp.split(","))
        except ValueError:
            raise click.BadParameter(f"{lp!r} is not two span numbers like 2,3", param_hint="--load-pair") from None
        loads.append((x, y))
    if loads and (a, b) not in loads:
        loads.insert(0, (a, b))
    try:
        select(list(only) or None)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--check") from None
    card = url or f"board {backend}"
    soak_report = None
    if soak_for is not None:
        from simulator.conformance import run_soak
        from simulator.conformance.soak import parse_duration

        try:
            seconds = parse_duration(soak_for)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--soak") from None
        results, soak_report = run_soak(url, (a, b), seconds, timeout, backend=backend, options=_options(options),
                                        progress=lambda r: click.echo(f"soak: round {r.rounds}, {r.seconds:.0f} s, "
                                                                      f"{r.calls} calls, {r.failures} failures",
                                                                      err=True))
    else:
        results = run(url, (a, b), timeout=timeout, only=list(only) or None, backend=backend,
                      options=_options(options), load_seconds=load_seconds, expect_timing=expect_timing,
                      load_pairs=loads)
    table = Table(title=f"Card conformance: {card}" + (" (strict)" if strict else ""))
    table.add_column("check")
    table.add_column("result")
    table.add_column("s", justify="right")
    table.add_column("detail", overflow="fold")
    style = {PASS: "green", FAIL: "bold red"}
    for r in results:
        table.add_row(r.name, f"[{style.get(r.status, 'yellow')}]{r.status}[/]", f"{r.seconds:.2f}", r.detail)
    console = Console()
    console.print(table)
    s = summary(results, strict)
    meta: dict[str, Any] = {"pair": [a, b], "backend": backend or "wire", "checks_requested": list(only)}
    if soak_report is not None:
        meta["soak"] = soak_report.as_dict()
        console.print(soak_report.summary())
    if junit:
        write(junit, to_junit(results, card=card, strict=strict))
    if json_path:
        write(json_path, to_json(results, card=card, strict=strict, meta=meta))
    console.print(f"{s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped"
                  + ("; strict: skips fail" if strict and s["skipped"] else ""))
    sys.exit(0 if s["ok"] else 1)


@main.command(context_settings={"ignore_unknown_options": True})   # VALUE may be negative: slip -1
@click.option("--url", default="socket://127.0.0.1:7000", show_default=True,
              help="The card (a running `cti-sim serve`, or any card that implements FAULT).")
@click.option("--span", "span", type=click.IntRange(0, 254), required=True, help="Span whose receiver sees the fault.")
@click.argument("fault", type=click.Choice([f.name.lower().replace("_", "-") for f in Fault]))
@click.argument("value", type=float, required=False)
@click.option("--for", "duration", type=click.FloatRange(0, 3600), default=None,
              help="Clear the fault again after this many seconds.")
def fault(url: str, span: int, fault: str, value: float | None, duration: float | None) -> None:
    """Inject a line fault on a card over the wire protocol (FAULT), e.g. from a CI job:

    \b
      cti-sim fault --span 1 los            loss of signal toward span 1 until cleared
      cti-sim fault --span 1 ber 1e-4       bit error ratio 1e-4
      cti-sim fault --span 1 slip -1        delete one frame
      cti-sim fault --span 1 ais --for 2    AIS for two seconds
      cti-sim fault --span 1 mfas           TS16 multiframe lost: LOMF here, MF_RAI at the far end
      cti-sim fault --span 1 clock 50       the line 50 ppm off the span's clock: a slip every 2.5 s
      cti-sim fault --span 1 cas-glitch 6   a 6 ms CAS hit (below the 10 ms debounce: not reported)
      cti-sim fault --span 1 clear          every fault off
    """
    import time

    from drivers.wire.client import CardRefused, WireBoard

    f = Fault[fault.upper().replace("-", "_")]
    v = (0.0 if f is Fault.CLEAR else 1.0) if value is None else value
    try:
        board = WireBoard(url=url, name="cti-sim fault")
    except BoardError as exc:
        raise click.ClickException(f"cannot open {url}: {exc}") from None
    try:
        if not 0 <= span < len(board.spans):
            raise click.ClickException(f"span {span} out of range: the card has {len(board.spans)} span(s)")
        board.fault(span, f, v)
        click.echo(f"{url}: span {span}: {f.name} {v:g}; alarms now {board.span(span).alarms!r}")
        if duration is not None and f is not Fault.CLEAR:
            if board.virtual_time:
                board.advance(duration)
            else:
                time.sleep(duration)
            board.fault(span, Fault.CLEAR, 0.0)
            click.echo(f"{url}: span {span}: cleared after {duration:g} s")
    except CardRefused as exc:
        raise click.ClickException(f"the card refused: {exc}") from None
    except BoardError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        board.close()


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
