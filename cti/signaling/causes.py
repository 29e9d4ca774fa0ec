"""Release causes (ITU-T Q.850), shared by ISUP and by No.1 (whose B signals map onto them)."""
from __future__ import annotations

import enum


class Cause(enum.IntEnum):
    UNALLOCATED_NUMBER = 1
    NORMAL_CLEARING = 16
    USER_BUSY = 17
    NO_USER_RESPONDING = 18
    NO_ANSWER = 19
    CALL_REJECTED = 21
    NUMBER_CHANGED = 22
    DESTINATION_OUT_OF_ORDER = 27
    INVALID_NUMBER_FORMAT = 28
    NORMAL_UNSPECIFIED = 31
    NO_CIRCUIT_AVAILABLE = 34
    NETWORK_OUT_OF_ORDER = 38
    TEMPORARY_FAILURE = 41
    SWITCHING_EQUIPMENT_CONGESTION = 42
    RESOURCE_UNAVAILABLE = 47
    INVALID_MESSAGE = 95
    MANDATORY_IE_MISSING = 96
    MESSAGE_TYPE_NONEXISTENT = 97
    IE_NONEXISTENT = 99
    INVALID_IE_CONTENTS = 100
    RECOVERY_ON_TIMER_EXPIRY = 102
    PROTOCOL_ERROR = 111
    INTERWORKING = 127

    @classmethod
    def of(cls, value: int) -> Cause | int:
        """The Cause for ``value``, or the bare int when Q.850 codes it but we do not name it."""
        try:
            return cls(value)
        except ValueError:
            return value
