"""Who may connect to the bus and what each account may see and do.

Authentication is ZeroMQ CURVE: the server has a key pair, each client account a key pair
whose public key is listed in ``accounts.toml`` (written by ``cti-keys``). The ZAP handler
(:class:`CurveAuthenticator`, pyzmq's ThreadAuthenticator) admits only listed keys and names
the account in the ZAP User-Id, which the server reads from every request frame.
Authorisation by role:

* ``agent``: sees and controls calls of its own ``device`` only;
* ``supervisor``: sees the calls of its team's devices (monitoring), controls its own device;
* ``integrator``: sees and controls everything, and may use the raw PUB stream.

The PUB socket cannot filter per subscriber, so only integrators may connect to it (ZAP
domain ``events``); agents and supervisors receive a filtered stream with ``watch`` on the
snapshot socket. Plain mode (no CURVE) is for localhost development only: every client is
an integrator, non-loopback endpoints are refused, and the server says so loudly.
"""
from __future__ import annotations

import logging
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Iterable

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

log = logging.getLogger(__name__)

ROLES = ("agent", "supervisor", "integrator")
#: ZAP domains of the three server sockets
DOMAIN_EVENTS, DOMAIN_SNAPSHOT, DOMAIN_CONTROL = "events", "snapshot", "control"
PLAIN_WARNING = ("PLAIN MODE: the CTI bus has NO authentication and NO encryption; every client is an "
                 "integrator. For localhost development only - use CURVE keys (cti-keys) in production.")


class AuthError(ValueError):
    """Accounts file or key files are missing or malformed."""


@dataclass(frozen=True)
class Account:
    """One client identity."""

    name: str
    role: str
    device: str | None = None
    team: str | None = None
    public_key: str | None = None   #: z85 CURVE public key

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise AuthError(f"account {self.name}: role must be one of {ROLES}, not {self.role!r}")
        if self.role == "agent" and not self.device:
            raise AuthError(f"account {self.name}: an agent needs a device")
        if self.role == "supervisor" and not self.team:
            raise AuthError(f"account {self.name}: a supervisor needs a team")


PLAIN_ACCOUNT = Account("plain", "integrator")


@dataclass
class AccountBook:
    """Accounts by name and by public key, and the devices of each team."""

    accounts: dict[str, Account] = field(default_factory=dict)
    teams: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_key = {a.public_key: a for a in self.accounts.values() if a.public_key}
        for a in self.accounts.values():
            if a.team and a.device:
                self.teams.setdefault(a.team, set()).add(a.device)

    @classmethod
    def load(cls, path: str) -> AccountBook:
        """Read ``accounts.toml``: ``[accounts.<name>]`` role/device/team/public_key, ``[teams.<t>] devices``."""
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise AuthError(f"cannot read accounts file {path}: {e}") from e
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AccountBook:
        accounts = {}
        for name, a in (data.get("accounts") or {}).items():
            if not isinstance(a, dict):
                raise AuthError(f"account {name} must be a table")
            accounts[name] = Account(name, str(a.get("role", "")), a.get("device"), a.get("team"),
                                     a.get("public_key"))
        teams = {t: set(map(str, (v or {}).get("devices", []))) for t, v in (data.get("teams") or {}).items()}
        return cls(accounts, teams)

    def by_key(self, z85_key: str) -> Account | None:
        return self._by_key.get(z85_key)

    def get(self, name: str) -> Account | None:
        return self.accounts.get(name)

    # ---- authorisation ---------------------------------------------------------------
    def visible(self, account: Account) -> set[str] | None:
        """Devices whose calls ``account`` may see (None: everything)."""
        if account.role == "integrator":
            return None
        if account.role == "supervisor":
            return set(self.teams.get(account.team or "", set())) | ({account.device} if account.device else set())
        return {account.device} if account.device else set()

    def controllable(self, account: Account) -> set[str] | None:
        """Devices ``account`` may control (None: everything)."""
        if account.role == "integrator":
            return None
        return {account.device} if account.device else set()

    def may_connect(self, account: Account, domain: str) -> bool:
        return domain != DOMAIN_EVENTS or account.role == "integrator"


def may(allowed: set[str] | None, devices: Iterable[str]) -> bool:
    """True when ``allowed`` (None = all) covers one of ``devices``."""
    return allowed is None or any(d in allowed for d in devices)


class _Provider:
    def __init__(self, book: AccountBook) -> None:
        self.book = book

    def callback(self, domain: str, key: bytes) -> bool:
        acct = self.book.by_key(key.decode("ascii") if isinstance(key, bytes) else key)
        ok = acct is not None and self.book.may_connect(acct, domain)
        if not ok:
            log.warning("CURVE client refused on %s: %s", domain, "unknown key" if acct is None else acct.name)
        return ok


class CurveAuthenticator(ThreadAuthenticator):
    """pyzmq's ZAP thread, admitting listed keys and naming the account as the User-Id."""

    def __init__(self, context: zmq.Context[Any], book: AccountBook) -> None:
        super().__init__(context)
        self.book = book

    def curve_user_id(self, client_public_key: bytes) -> str:
        acct = self.book.by_key(zmq.utils.z85.encode(client_public_key).decode("ascii"))
        return acct.name if acct else ""


@dataclass
class Security:
    """How the server's sockets authenticate: CURVE with an account book, or plain."""

    mode: str = "plain"                       #: "curve" | "plain"
    server_public: bytes | None = None
    server_secret: bytes | None = None
    book: AccountBook = field(default_factory=AccountBook)
    _auth: CurveAuthenticator | None = None
    #: the accounts file (CURVE): :meth:`reload` reads it again
    accounts_path: str | None = None
    _providers: list[_Provider] = field(default_factory=list)

    @classmethod
    def curve(cls, keys_dir: str, accounts: str | None = None) -> Security:
        """CURVE from ``keys_dir`` (server.key_secret, accounts.toml), as ``cti-keys`` lays it out."""
        secret = os.path.join(keys_dir, "server.key_secret")
        if not os.path.exists(secret):
            raise AuthError(f"no server key {secret}: run `cti-keys server {keys_dir}`")
        pub, sec = zmq.auth.load_certificate(secret)
        if sec is None:
            raise AuthError(f"{secret} holds no secret key")
        path = accounts or os.path.join(keys_dir, "accounts.toml")
        return cls("curve", pub, sec, AccountBook.load(path), accounts_path=path)

    def start(self, ctx: zmq.Context[Any]) -> None:
        if self.mode == "plain":
            log.warning(PLAIN_WARNING)
            return
        self._auth = CurveAuthenticator(ctx, self.book)
        self._auth.start()
        self._providers = [_Provider(self.book) for _ in range(4)]
        for d, provider in zip(("*", DOMAIN_EVENTS, DOMAIN_SNAPSHOT, DOMAIN_CONTROL), self._providers, strict=True):
            self._auth.configure_curve_callback(d, provider)

    def reload(self) -> tuple[set[str], set[str]]:
        """Read the accounts file again (``cti-keys client`` / ``revoke`` while the server runs)
        and use it for every new handshake and request; returns ``(added, revoked)`` account
        names (an account whose key, role, device or team changed counts as both). A file that
        does not parse raises AuthError and the accounts in use stay."""
        if self.mode != "curve" or self.accounts_path is None:
            return set(), set()
        book = AccountBook.load(self.accounts_path)
        old, new = self.book.accounts, book.accounts
        changed = {n for n in old.keys() & new.keys() if old[n] != new[n]}
        added = (new.keys() - old.keys()) | changed
        revoked = (old.keys() - new.keys()) | changed
        self.book = book
        for p in self._providers:
            p.book = book
        if self._auth is not None:
            self._auth.book = book
        return added, revoked

    def apply(self, sock: zmq.Socket[Any], domain: str, endpoint: str) -> None:
        """Configure a server socket before bind (CURVE server + ZAP domain, or the plain-mode checks)."""
        if self.mode == "plain":
            if not is_loopback(endpoint):
                raise AuthError(f"plain mode refuses the non-local endpoint {endpoint}: use CURVE keys")
            return
        sock.curve_secretkey = self.server_secret
        sock.curve_publickey = self.server_public
        sock.curve_server = True
        sock.zap_domain = domain.encode()

    def account(self, user_id: str | None) -> Account | None:
        """The account a request came from (the ZAP User-Id); plain mode: the dev integrator."""
        if self.mode == "plain":
            return PLAIN_ACCOUNT
        return self.book.get(user_id or "")

    def stop(self) -> None:
        if self._auth is not None:
            self._auth.stop()
            self._auth = None


def is_loopback(endpoint: str) -> bool:
    """True for inproc://, ipc:// and tcp:// endpoints on 127.0.0.1 / localhost / ::1."""
    if endpoint.startswith(("inproc://", "ipc://")):
        return True
    if endpoint.startswith("tcp://"):
        host = endpoint[6:].rsplit(":", 1)[0].strip("[]")
        return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")
    return False


def client_curve(sock: zmq.Socket[Any], client_secret_file: str, server_public_file: str) -> None:
    """Configure a client socket for CURVE from ``cti-keys`` files (NAME.key_secret, server.key)."""
    cpub, csec = zmq.auth.load_certificate(client_secret_file)
    spub, _ = zmq.auth.load_certificate(server_public_file)
    if csec is None:
        raise AuthError(f"{client_secret_file} holds no secret key")
    sock.curve_secretkey = csec
    sock.curve_publickey = cpub
    sock.curve_serverkey = spub
