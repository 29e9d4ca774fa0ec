"""Who a browser is, and the bus client the gateway acts through for it.

The accounts are the bus's (``accounts.toml`` made by ``cti-keys``): a bearer token names one
(:mod:`cti.gateway.tokens`). Requests and snapshots go to the bus over a client of *that
account* (its CURVE key from the keys directory), so the bus itself checks every right exactly
as for a desktop connected directly; live events are filtered by the hub with the watch
stream's rule for the same account. Each account's client lives on its own worker thread
(a ZeroMQ socket is not thread-safe; BusClient calls block), created on first use.

Plain mode (no keys): like the bus's plain mode, every browser is the development integrator,
no token is asked for, and the gateway listens on loopback only and says so loudly.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from typing import Any

import zmq

from cti.bus.auth import PLAIN_ACCOUNT, Account, AccountBook, AuthError
from cti.bus.client import BusClient, ClientKeys
from cti.bus.schema import parse_request
from cti.bus.server import Endpoints
from cti.call.errors import CallControlError, InvalidParameterError
from cti.contact import requests as contact_requests

from . import tokens
from .errors import AuthenticationError, BusUnavailableError, error_map

log = logging.getLogger(__name__)

contact_requests.register()          # the gateway accepts every request type a contact centre serves


class _Lane:
    """One account's bus client and the single thread that uses it."""

    def __init__(self, client: BusClient) -> None:
        self.client = client
        self.pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="cti-gw-bus")

    async def call(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()


class Accounts:
    """Authentication (tokens) and per-account bus access (see the module docstring)."""

    def __init__(self, endpoints: Endpoints | None = None, keys_dir: str | None = None,
                 gateway_account: str = "gateway", timeout: float = 5.0) -> None:
        self.endpoints = endpoints or Endpoints()
        self.keys_dir = keys_dir
        self.timeout = timeout
        self.ctx = zmq.Context()
        self._lanes: dict[str, _Lane] = {}
        self._lock = threading.Lock()
        self._replay_lock = threading.Lock()
        self._replayer: BusClient | None = None
        if keys_dir is None:
            self.mode = "plain"
            self.book = AccountBook()
            self.secret = b""
            self.revoked: tokens.RevocationList | None = None
            self.gateway = PLAIN_ACCOUNT
        else:
            self.mode = "token"
            self.book = AccountBook.load(os.path.join(keys_dir, "accounts.toml"))
            self.secret = tokens.load_secret(keys_dir, create=True)
            self.revoked = tokens.RevocationList(keys_dir)
            acct = self.book.get(gateway_account)
            if acct is None or acct.role != "integrator":
                raise AuthError(f"the gateway needs an integrator account {gateway_account!r} in "
                                f"{keys_dir}/accounts.toml: cti-keys client {keys_dir} {gateway_account} "
                                "--role integrator")
            self.gateway = acct

    # ---- who ----------------------------------------------------------------------------
    def authenticate(self, token: str | None) -> Account:
        """The account a request comes from; AuthenticationError when the token is not good."""
        if self.mode == "plain":
            return PLAIN_ACCOUNT
        if not token:
            raise AuthenticationError("a bearer token is required (cti-keys token NAME)")
        assert self.revoked is not None
        try:
            claims = tokens.verify(self.secret, token, self.revoked.current())
        except tokens.TokenError as e:
            raise AuthenticationError(str(e)) from None
        acct = self.book.get(claims.account)
        if acct is None:
            raise AuthenticationError(f"token names account {claims.account!r}, which no longer exists")
        return acct

    # ---- bus clients --------------------------------------------------------------------
    def client(self, account: Account) -> BusClient:
        keys = None
        if self.mode != "plain":
            assert self.keys_dir is not None
            secret = os.path.join(self.keys_dir, f"{account.name}.key_secret")
            if not os.path.exists(secret):
                raise AuthenticationError(f"the gateway holds no bus key for account {account.name} ({secret})")
            keys = ClientKeys(secret, os.path.join(self.keys_dir, "server.key"))
        return BusClient(self.endpoints, keys=keys, ctx=self.ctx, timeout=self.timeout)

    def lane(self, account: Account) -> _Lane:
        with self._lock:
            lane = self._lanes.get(account.name)
            if lane is None:
                lane = self._lanes[account.name] = _Lane(self.client(account))
            return lane

    async def request(self, account: Account, msg: Any) -> dict[str, Any]:
        """``{"result": ...}`` or ``{"error": {code, message, details}}`` for one request map."""
        try:
            if not isinstance(msg, dict):
                raise InvalidParameterError("a request is a JSON object with a \"type\"", field="")
            parse_request(msg)                       # typed errors here, before the bus
            body = {k: v for k, v in msg.items() if k not in ("invoke", "id")}
            lane = self.lane(account)
            reply: dict[str, Any] = await lane.call(self._send, lane, body)
        except CallControlError as e:
            return {"error": error_map(e)}
        return reply

    def _send(self, lane: _Lane, body: dict[str, Any]) -> dict[str, Any]:
        fields = {k: v for k, v in body.items() if k != "type"}
        try:
            reply: dict[str, Any] = dict(lane.client.request(str(body.get("type")), fields))
        except TimeoutError as e:
            return {"error": error_map(BusUnavailableError(str(e)))}
        return reply

    async def snapshot(self, account: Account) -> dict[str, Any]:
        lane = self.lane(account)
        try:
            snap: dict[str, Any] = await lane.call(lane.client.snapshot)
        except TimeoutError as e:
            raise BusUnavailableError(str(e)) from None
        snap.pop("id", None)
        snap.pop("op", None)
        return snap

    def replay(self, after: int, limit: int) -> tuple[list[dict[str, Any]], int, int]:
        """The gateway's (integrator) replay from the journal; blocking, for the hub's executor."""
        with self._replay_lock:
            if self._replayer is None:
                self._replayer = self.client(self.gateway)
            try:
                return self._replayer.replay(after, limit)
            except TimeoutError as e:
                self._replayer.close()
                self._replayer = None
                raise BusUnavailableError(str(e)) from None

    def close(self) -> None:
        for lane in self._lanes.values():
            lane.close()
        self._lanes.clear()
        if self._replayer is not None:
            self._replayer.close()
        self.ctx.destroy(linger=0)
