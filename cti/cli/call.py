"""cti-call: call-control commands, snapshots and event tails from the command line.

    cti-call make 9000 6601                 # MakeCall from device 9000
    cti-call answer 17                      # AnswerCall
    cti-call clear 17 [--device D] [--cause 17]
    cti-call hold 17 / retrieve 17
    cti-call consult 17 6602                # ConsultationCall
    cti-call transfer HELD ACTIVE / conference HELD ACTIVE / sst 17 6603
    cti-call digits 17 123#
    cti-call snapshot                       # live calls and spans (JSON)
    cti-call events [--after N] [--count K] # tail events (JSON lines)
    cti-call request '{"type": "HoldCall", "call": "17"}'   # any request type
Common options pick the server and the CURVE keys (--key NAME.key_secret --server-key server.key).
"""
from __future__ import annotations

import json
import sys
from typing import Any

import click

from cti.bus.client import BusClient, ClientKeys
from cti.bus.server import Endpoints
from cti.call.errors import CallControlError


def _client(ctx: click.Context) -> BusClient:
    o = ctx.obj
    keys = None
    if o["key"] or o["server_key"]:
        if not (o["key"] and o["server_key"]):
            raise click.UsageError("CURVE needs both --key and --server-key")
        keys = ClientKeys(o["key"], o["server_key"])
    return BusClient(Endpoints(o["events"], o["snapshot"], o["control"]), keys=keys, timeout=o["timeout"])


def _run(ctx: click.Context, kind: str, **fields: Any) -> None:
    with _client(ctx) as c:
        try:
            result = c.command(kind, **fields)
        except CallControlError as e:
            click.echo(json.dumps({"error": e.code, "message": str(e)}), err=True)
            sys.exit(2)
        except TimeoutError as e:
            click.echo(json.dumps({"error": "Timeout", "message": str(e)}), err=True)
            sys.exit(3)
    click.echo(json.dumps(result))


@click.group()
@click.option("--events", default="tcp://127.0.0.1:5560", show_default=True)
@click.option("--snapshot", default="tcp://127.0.0.1:5561", show_default=True)
@click.option("--control", default="tcp://127.0.0.1:5562", show_default=True)
@click.option("--key", type=click.Path(exists=True, dir_okay=False), help="this account's NAME.key_secret")
@click.option("--server-key", type=click.Path(exists=True, dir_okay=False), help="the server's server.key")
@click.option("--timeout", type=float, default=5.0, show_default=True)
@click.pass_context
def main(ctx: click.Context, /, **opts: Any) -> None:
    """Call control on a CTI server."""
    ctx.obj = opts


@main.command()
@click.argument("device")
@click.argument("called")
@click.option("--calling")
@click.option("--trunk", type=click.Choice(["no1", "ss7", "loop"]))
@click.pass_context
def make(ctx: click.Context, device: str, called: str, calling: str | None, trunk: str | None) -> None:
    """MakeCall from DEVICE to CALLED."""
    _run(ctx, "MakeCall", device=device, called=called, calling=calling, trunk=trunk)


def _simple(name: str, kind: str, doc: str) -> None:
    @main.command(name, help=doc)
    @click.argument("call")
    @click.option("--device")
    @click.pass_context
    def cmd(ctx: click.Context, call: str, device: str | None) -> None:
        _run(ctx, kind, call=call, device=device)


_simple("answer", "AnswerCall", "AnswerCall: answer the alerting CALL.")
_simple("hold", "HoldCall", "HoldCall: put CALL on hold.")
_simple("retrieve", "RetrieveCall", "RetrieveCall: take CALL back from hold.")


@main.command()
@click.argument("call")
@click.option("--device")
@click.option("--cause", type=int, default=16, show_default=True, help="Q.850 cause")
@click.pass_context
def clear(ctx: click.Context, call: str, device: str | None, cause: int) -> None:
    """ClearConnection: leave (or reject) CALL."""
    _run(ctx, "ClearConnection", call=call, device=device, cause=cause)


@main.command()
@click.argument("call")
@click.argument("called")
@click.option("--device")
@click.pass_context
def consult(ctx: click.Context, call: str, called: str, device: str | None) -> None:
    """ConsultationCall: hold CALL and call CALLED."""
    _run(ctx, "ConsultationCall", call=call, called=called, device=device)


@main.command()
@click.argument("held")
@click.argument("active")
@click.option("--device")
@click.pass_context
def transfer(ctx: click.Context, held: str, active: str, device: str | None) -> None:
    """TransferCall: join HELD and ACTIVE calls' far parties and leave."""
    _run(ctx, "TransferCall", held_call=held, active_call=active, device=device)


@main.command()
@click.argument("held")
@click.argument("active")
@click.option("--device")
@click.pass_context
def conference(ctx: click.Context, held: str, active: str, device: str | None) -> None:
    """ConferenceCall: join HELD and ACTIVE into one call."""
    _run(ctx, "ConferenceCall", held_call=held, active_call=active, device=device)


@main.command()
@click.argument("call")
@click.argument("to")
@click.option("--device")
@click.pass_context
def sst(ctx: click.Context, call: str, to: str, device: str | None) -> None:
    """SingleStepTransfer: send CALL's far party to TO."""
    _run(ctx, "SingleStepTransfer", call=call, to=to, device=device)


@main.command()
@click.argument("call")
@click.argument("digits")
@click.option("--device")
@click.pass_context
def digits(ctx: click.Context, call: str, digits: str, device: str | None) -> None:
    """SendDigits: DTMF DIGITS in-band on CALL."""
    _run(ctx, "SendDigits", call=call, digits=digits, device=device)


@main.command()
@click.argument("request_json")
@click.pass_context
def request(ctx: click.Context, request_json: str) -> None:
    """Send any request given as JSON (its "type" and fields)."""
    try:
        msg = json.loads(request_json)
        kind = msg.pop("type")
    except (ValueError, KeyError, AttributeError, TypeError):
        raise click.UsageError('REQUEST_JSON must be a JSON object with a "type"') from None
    _run(ctx, kind, **msg)


@main.command()
@click.pass_context
def snapshot(ctx: click.Context) -> None:
    """Print the server state (live calls, spans) as JSON."""
    with _client(ctx) as c:
        try:
            click.echo(json.dumps(c.snapshot(), indent=2))
        except (TimeoutError, CallControlError) as e:
            raise click.ClickException(str(e)) from None


@main.command()
@click.option("--after", type=int, default=None, help="start after this seq (default: now)")
@click.option("--count", type=int, default=0, help="stop after this many events (0: forever)")
@click.option("--topic", multiple=True, help="topic prefix, e.g. call. (repeatable)")
@click.option("--watch", is_flag=True, help="filtered stream for agent/supervisor accounts")
@click.option("--idle", type=float, default=0.0, help="stop after this many seconds without events")
@click.pass_context
def events(ctx: click.Context, after: int | None, count: int, topic: tuple[str, ...], watch: bool,
           idle: float) -> None:
    """Print events as JSON lines, gap-free from --after."""
    with _client(ctx) as c:
        sub = c.subscribe(after=after, topics=topic or ("",), mode="watch" if watch else "pub")
        n = 0
        while count == 0 or n < count:
            e = sub.get(timeout=idle or 1.0)
            if e is None:
                if idle:
                    break
                continue
            click.echo(json.dumps(e))
            n += 1


if __name__ == "__main__":
    main()
