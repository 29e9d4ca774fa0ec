"""The gateway's own typed errors (beside the bus's, :mod:`cti.call.errors`), same wire shape:
``{"code", "message", "details"}``."""
from __future__ import annotations

from typing import Any

from cti.call.errors import ERRORS, CallControlError


class AuthenticationError(CallControlError):
    """No bearer token, or one that is malformed, forged, expired, revoked or names no account."""


class BusUnavailableError(CallControlError):
    """The CTI server did not answer in time (down, restarting, or refusing the gateway's key)."""


#: every error code a gateway client can receive
GATEWAY_ERRORS: dict[str, type[CallControlError]] = {
    **ERRORS, "AuthenticationError": AuthenticationError, "BusUnavailableError": BusUnavailableError}

#: HTTP status of each error code (POST /requests, GET /snapshot, GET /events)
HTTP_STATUS = {"MalformedRequestError": 400, "InvalidParameterError": 400, "UnknownRequestError": 400,
               "AuthenticationError": 401, "PrivilegeViolationError": 403, "InvalidCallError": 404,
               "InvalidDeviceError": 404, "InvalidStateError": 409, "ReplayGapError": 410,
               "RateLimitedError": 429, "ResourceBusyError": 503, "TrunkFailureError": 502,
               "BusUnavailableError": 503}


def error_map(e: CallControlError) -> dict[str, Any]:
    """The wire form of ``e`` (as the bus sends it)."""
    return {"code": e.code, "message": str(e),
            "details": {k: v for k, v in e.details.items() if isinstance(v, (str, int, float, list, type(None)))}}
