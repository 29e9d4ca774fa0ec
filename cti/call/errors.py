"""Typed errors of call control: each has a stable ``code`` sent on the bus."""
from __future__ import annotations


class CallControlError(Exception):
    """Base of every error a call-control request can end in."""

    code = "CallControlError"

    def __init_subclass__(cls, **kw: object) -> None:
        super().__init_subclass__(**kw)
        cls.code = cls.__name__

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = details


class InvalidCallError(CallControlError):
    """The request names a call that does not exist (or no longer exists)."""


class InvalidDeviceError(CallControlError):
    """The device is not a party of the call, or not a device we know."""


class InvalidStateError(CallControlError):
    """The device's connection is not in a state that allows the request."""


class InvalidParameterError(CallControlError, ValueError):
    """A parameter is missing, of the wrong type or out of range."""


class ResourceBusyError(CallControlError):
    """No trunk circuit was free (or the adapter refused): the call was not placed."""


class TrunkFailureError(CallControlError):
    """The signalling adapter failed to carry out the request."""


class PrivilegeViolationError(CallControlError):
    """The authenticated account may not act on (or see) this device or call."""


class UnknownRequestError(CallControlError):
    """The request type is not one the server implements."""


class MalformedRequestError(CallControlError):
    """The request frame could not be decoded (not msgpack, not a map, too large)."""


class RateLimitedError(CallControlError):
    """The client sent requests faster than its allowance; retry later."""


class ReplayGapError(CallControlError):
    """Events after the requested seq were pruned from the journal (retention): take a snapshot."""


ERRORS: dict[str, type[CallControlError]] = {
    c.code: c for c in (
        CallControlError, InvalidCallError, InvalidDeviceError, InvalidStateError,
        InvalidParameterError, ResourceBusyError, TrunkFailureError, PrivilegeViolationError,
        UnknownRequestError, MalformedRequestError, RateLimitedError, ReplayGapError,
    )
}
