"""Commands and rate limits: what the control socket does with a decoded request.

The request envelope is the same on both sockets: an optional ``id`` (int or str; the control
socket also takes the older name ``invoke``) that every reply echoes, refusals included. A
request whose id is another type (a map, a list, a float, a bool) is refused with
``InvalidParameterError`` (the reply's id is then null). :class:`RateLimiter` keeps one token
bucket per *account*, so more sockets buy a client no more requests; buckets are dropped only
for accounts that no longer exist. :class:`Commands` maps request types (cti.bus.schema) to
handlers and runs the ``after_request`` hooks after each.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

from cti.call.errors import CallControlError, InvalidParameterError, PrivilegeViolationError

from .auth import Account
from .errors import UnknownRequestError, error_map
from .schema import parse_request

Handler = Callable[[Account, Any, float], dict[str, Any]]

#: longest str id echoed
MAX_ID = 256


def request_id(msg: dict[str, Any]) -> int | str | None:
    """The request's id (``id``, else ``invoke``): None when absent; InvalidParameterError when
    it is not an int or a str of up to MAX_ID characters."""
    key = "id" if "id" in msg else "invoke"
    rid = msg.get(key)
    if rid is None:
        return None
    if isinstance(rid, bool) or not isinstance(rid, (int, str)) or (isinstance(rid, str) and len(rid) > MAX_ID):
        raise InvalidParameterError(f"{key} must be an int or a str of up to {MAX_ID} characters, "
                                    f"not {type(rid).__name__}", field=key)
    return rid


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """A token bucket per account: ``rate`` requests/s, up to ``burst`` at once."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, account: str, now: float) -> bool:
        """Take one token from ``account``'s bucket; False when it is empty."""
        b = self._buckets.get(account)
        if b is None:
            b = self._buckets[account] = _Bucket(self.burst, now)
        b.tokens = min(self.burst, b.tokens + (now - b.stamp) * self.rate)
        b.stamp = now
        if b.tokens < 1.0:
            return False
        b.tokens -= 1.0
        return True

    def keep_only(self, accounts: set[str]) -> None:
        """Forget the buckets of accounts not in ``accounts`` (after an account reload)."""
        for name in [n for n in self._buckets if n not in accounts]:
            del self._buckets[name]

    def __len__(self) -> int:
        return len(self._buckets)


class Commands:
    """Request type -> handler, with the hooks run after each request."""

    def __init__(self, counters: Any) -> None:
        self.handlers: dict[str, Handler] = {}
        self.after_request: list[Callable[[], None]] = []
        self.counters = counters

    def register(self, name: str, handler: Handler) -> None:
        self.handlers[name] = handler

    def handle(self, account: Account | None, msg: Any, rid: int | str | None = None) -> dict[str, Any]:
        """The reply to one decoded request map from ``account`` (never raises for bad input)."""
        try:
            if account is None:
                raise PrivilegeViolationError("unknown account")
            kind, req = parse_request(msg)
            handler = self.handlers.get(kind)
            if handler is None:
                raise UnknownRequestError(f"request type {kind} is not served by this server", type=kind)
            result = handler(account, req, time.time())
            self.counters["commands_ok"] += 1
            return reply(rid, result=result)
        except CallControlError as e:
            self.counters["commands_failed"] += 1
            self.counters[f"error.{e.code}"] += 1
            return reply(rid, error=error_map(e))
        finally:
            for hook in self.after_request:
                hook()


def reply(rid: int | str | None, **body: Any) -> dict[str, Any]:
    """A control-socket reply: ``id`` and, for clients of the first protocol, ``invoke``."""
    return {"invoke": rid, "id": rid, **body}
