"""The call model: calls and CSTA connections driven by trunk adapters and call-control services.

Modules, imports one way: :mod:`.states` (the connection table) and :mod:`.events` (what is
published) <- :mod:`.parties` (calls and connections) <- :mod:`.services` (the CSTA services,
an object over the model) <- :mod:`.model` (state and trunk input).
"""
from .errors import (ERRORS, CallControlError, InvalidCallError, InvalidDeviceError,
                     InvalidParameterError, InvalidStateError, MalformedRequestError,
                     PrivilegeViolationError, RateLimitedError, ResourceBusyError,
                     TrunkFailureError, UnknownRequestError)
from .events import CALL_EVENTS, EVENT_TYPES, BusEvent, CallEvent
from .model import CallModel
from .parties import Call, Connection, MediaPath, trunk_device
from .services import CallServices
from .states import CONNECTION, CONNECTION_TABLE, ConnectionState, Stimulus

__all__ = [
    "BusEvent", "CALL_EVENTS", "CONNECTION", "CONNECTION_TABLE", "Call", "CallControlError", "CallEvent",
    "CallModel", "CallServices", "Connection", "ConnectionState", "ERRORS", "EVENT_TYPES", "InvalidCallError",
    "InvalidDeviceError", "InvalidParameterError", "InvalidStateError", "MalformedRequestError",
    "MediaPath", "PrivilegeViolationError", "RateLimitedError", "ResourceBusyError", "Stimulus",
    "TrunkFailureError", "UnknownRequestError", "trunk_device",
]
