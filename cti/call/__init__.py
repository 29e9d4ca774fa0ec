"""The call model: calls and CSTA connections driven by trunk adapters and call-control commands."""
from .errors import (ERRORS, CallControlError, InvalidCallError, InvalidDeviceError,
                     InvalidParameterError, InvalidStateError, MalformedRequestError,
                     PrivilegeViolationError, RateLimitedError, ResourceBusyError,
                     TrunkFailureError, UnknownRequestError)
from .events import CALL_EVENTS, EVENT_TYPES, BusEvent, CallEvent
from .model import Call, CallModel, Connection, MediaPath, trunk_device
from .states import CONNECTION_TABLE, ConnectionState, Stimulus

__all__ = [
    "BusEvent", "CALL_EVENTS", "CONNECTION_TABLE", "Call", "CallControlError", "CallEvent",
    "CallModel", "Connection", "ConnectionState", "ERRORS", "EVENT_TYPES", "InvalidCallError",
    "InvalidDeviceError", "InvalidParameterError", "InvalidStateError", "MalformedRequestError",
    "MediaPath", "PrivilegeViolationError", "RateLimitedError", "ResourceBusyError", "Stimulus",
    "TrunkFailureError", "UnknownRequestError", "trunk_device",
]
