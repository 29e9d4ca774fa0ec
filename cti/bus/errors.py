"""The bus's own errors: framing, rates, replay and unknown requests.

Every error on the wire is ``{"code", "message", "details"}``; ``code`` is the class name and
never changes (clients in other languages switch on it). The call model's errors (invalid call,
state, device, parameter, privilege...) are :mod:`cti.call.errors`; these are the ones only the
bus raises. They derive from the same base, :class:`~cti.call.errors.CallControlError`, so a
client catches any refusal with one ``except``. :data:`ERRORS` maps every code a reply can
carry to its class (what :class:`cti.bus.client.BusClient` raises).
"""
from __future__ import annotations

from typing import Any

from cti.call.errors import ERRORS as CALL_ERRORS
from cti.call.errors import CallControlError


class BusError(CallControlError):
    """Base of the errors the bus itself raises (never sent as such)."""


class MalformedRequestError(BusError):
    """The request frame could not be decoded (not msgpack, not a map, too large)."""


class UnknownRequestError(BusError):
    """The request type is not one the server implements."""


class RateLimitedError(BusError):
    """The account sent requests faster than its allowance; retry later."""


class ReplayGapError(BusError):
    """Events after the requested seq were pruned from the journal (retention): take a snapshot."""


BUS_ERRORS: dict[str, type[CallControlError]] = {
    c.code: c for c in (MalformedRequestError, UnknownRequestError, RateLimitedError, ReplayGapError)}

#: every error code a reply can carry, and the class a client raises for it
ERRORS: dict[str, type[CallControlError]] = {**CALL_ERRORS, **BUS_ERRORS}

_DETAIL_TYPES = (str, int, float, list, type(None))


def error_map(e: CallControlError) -> dict[str, Any]:
    """The wire form of ``e``: ``{"code", "message", "details"}`` (details of plain types only)."""
    return {"code": e.code, "message": str(e),
            "details": {k: v for k, v in e.details.items() if isinstance(v, _DETAIL_TYPES)}}


def raise_error(err: Any) -> None:
    """Raise the typed exception a reply's ``error`` map names (unknown codes: CallControlError)."""
    if not isinstance(err, dict):
        raise CallControlError(f"malformed error reply: {err!r:.80}")
    cls = ERRORS.get(str(err.get("code")), CallControlError)
    details = err.get("details")
    raise cls(str(err.get("message", "")), **(details if isinstance(details, dict) else {}))
