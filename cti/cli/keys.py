"""cti-keys: CURVE key pairs for the server and its client accounts.

    cti-keys server keys/                                   # keys/server.key + server.key_secret
    cti-keys client keys/ alice --role agent --device 8001 --team sales
    cti-keys client keys/ bob --role supervisor --team sales
    cti-keys client keys/ crm --role integrator
    cti-keys list keys/
    cti-keys token alice --keys keys/ --ttl 8h              # a bearer token for cti-gateway
    cti-keys token alice --keys keys/ --revoke TOKEN_OR_ID

A client needs its own ``NAME.key_secret`` and the server's public ``server.key``; the server
reads ``server.key_secret`` and ``accounts.toml`` (public keys + roles) from the directory.
"""
from __future__ import annotations

import os
import time
import tomllib

import click
import zmq.auth

from cti.bus.auth import ROLES, Account, AccountBook, AuthError


def _toml_str(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_accounts(path: str, book: AccountBook) -> None:
    """Write ``accounts.toml`` (accounts, then explicit team device lists)."""
    lines = ["# CTI bus accounts: written by cti-keys; roles: agent, supervisor, integrator", ""]
    for a in book.accounts.values():
        lines.append(f"[accounts.{_toml_str(a.name)}]")
        lines.append(f"role = {_toml_str(a.role)}")
        for k in ("device", "team", "public_key"):
            v = getattr(a, k)
            if v:
                lines.append(f"{k} = {_toml_str(v)}")
        lines.append("")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines))
    os.replace(tmp, path)


def generate_server(directory: str) -> tuple[str, str]:
    """Create the server key pair in ``directory``; returns (public file, secret file)."""
    os.makedirs(directory, exist_ok=True)
    pub, sec = zmq.auth.create_certificates(directory, "server")
    os.chmod(sec, 0o600)
    return pub, sec


def generate_client(directory: str, name: str, role: str, device: str | None = None,
                    team: str | None = None) -> tuple[str, str]:
    """Create a client key pair and add its account to ``accounts.toml``; returns its key files."""
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise AuthError(f"account name must be letters, digits, - _ . (not {name!r})")
    acct_path = os.path.join(directory, "accounts.toml")
    data = {}
    if os.path.exists(acct_path):
        with open(acct_path, "rb") as f:
            data = tomllib.load(f)
    os.makedirs(directory, exist_ok=True)
    pub, sec = zmq.auth.create_certificates(directory, name)
    os.chmod(sec, 0o600)
    public, _ = zmq.auth.load_certificate(pub)
    accounts = data.setdefault("accounts", {})
    Account(name, role, device, team, public.decode())       # validates
    accounts[name] = {"role": role, "device": device, "team": team, "public_key": public.decode()}
    write_accounts(acct_path, AccountBook.from_dict(data))
    return pub, sec


def revoke_client(directory: str, name: str) -> None:
    """Remove account ``name`` from ``accounts.toml`` (a running server applies it within a
    second: the account's connections are cut, docs/bus.md "Accounts"); its key files stay."""
    acct_path = os.path.join(directory, "accounts.toml")
    book = AccountBook.load(acct_path)
    if name not in book.accounts:
        raise AuthError(f"no account {name!r} in {acct_path}")
    del book.accounts[name]
    write_accounts(acct_path, AccountBook(book.accounts))


@click.group()
def main() -> None:
    """CURVE keys and accounts for the CTI bus."""


@main.command("server")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="replace an existing server key")
def server_cmd(directory: str, force: bool) -> None:
    """Generate the server key pair in DIRECTORY."""
    if os.path.exists(os.path.join(directory, "server.key_secret")) and not force:
        raise click.ClickException(f"{directory}/server.key_secret exists (use --force to replace it)")
    pub, sec = generate_server(directory)
    click.echo(f"server public key: {pub}\nserver secret key: {sec} (keep it private)")


@main.command("client")
@click.argument("directory", type=click.Path(file_okay=False))
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--device", help="the agent's (or supervisor's) own device")
@click.option("--team", help="team name (agents belong to one; supervisors watch one)")
def client_cmd(directory: str, name: str, role: str, device: str | None, team: str | None) -> None:
    """Generate a key pair for account NAME and add it to DIRECTORY/accounts.toml."""
    try:
        _pub, sec = generate_client(directory, name, role, device, team)
    except AuthError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"account {name} ({role}): give the client {sec} and {os.path.join(directory, 'server.key')}")


@main.command("revoke")
@click.argument("directory", type=click.Path(file_okay=False, exists=True))
@click.argument("name")
def revoke_cmd(directory: str, name: str) -> None:
    """Remove account NAME from DIRECTORY/accounts.toml (a running cti-server cuts it off)."""
    try:
        revoke_client(directory, name)
    except AuthError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"account {name} revoked")


@main.command("list")
@click.argument("directory", type=click.Path(file_okay=False, exists=True))
def list_cmd(directory: str) -> None:
    """List the accounts in DIRECTORY/accounts.toml."""
    try:
        book = AccountBook.load(os.path.join(directory, "accounts.toml"))
    except AuthError as e:
        raise click.ClickException(str(e)) from None
    for a in book.accounts.values():
        click.echo(f"{a.name:16} {a.role:11} device={a.device or '-':8} team={a.team or '-'}")


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(text: str) -> float:
    """``90``, ``30m``, ``8h``, ``7d`` -> seconds."""
    unit = _UNITS.get(text[-1:].lower())
    try:
        return float(text[:-1]) * unit if unit else float(text)
    except ValueError:
        raise click.BadParameter(f"not a duration: {text!r} (e.g. 3600, 30m, 8h, 7d)") from None


@main.command("token")
@click.argument("name")
@click.option("--keys", "directory", default="keys", show_default=True, type=click.Path(file_okay=False),
              help="the cti-keys directory (accounts.toml; gateway.secret is created here)")
@click.option("--ttl", default="8h", show_default=True, help="lifetime: seconds, or 30m, 8h, 7d")
@click.option("--revoke", "revoke_token", metavar="TOKEN_OR_ID", help="revoke a token instead of issuing one")
def token_cmd(directory: str, name: str, ttl: str, revoke_token: str | None) -> None:
    """Issue a cti-gateway bearer token for account NAME (or revoke one)."""
    from cti.gateway import tokens
    try:
        if revoke_token:
            click.echo(f"revoked token {tokens.revoke(directory, revoke_token)}")
            return
        book = AccountBook.load(os.path.join(directory, "accounts.toml"))
        if book.get(name) is None:
            raise click.ClickException(f"no account {name!r} in {directory}/accounts.toml (cti-keys client first)")
        token, claims = tokens.issue(tokens.load_secret(directory, create=True), name, _seconds(ttl))
    except (AuthError, tokens.TokenError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(token)
    click.echo(f"# account {name}, id {claims.id}, expires "
               f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(claims.expires))} UTC", err=True)


if __name__ == "__main__":
    main()
