"""Q.931 call states (U0..U25 user side, N0..N25 network side), the roles the tables are
written in, the requests and events of the call tables, and what a call tells the layer above.

Q.931 numbers its states so that both sides of one call share the number of a phase seen
from the user (U1 "call initiated" is the user that sent SETUP, N1 the network that received
it); :class:`Role` names a phase by who did what and :data:`STATE_OF` maps it to each side.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .call_py import CallEvent as CallEvent


def __getattr__(name: str) -> Any:
    """``CallEvent`` (what a call tells the layer above) is defined with the call, in the
    compiled layer 3 (:mod:`.q931`): taken from there on first use."""
    if name == "CallEvent":
        from .call import CallEvent
        return CallEvent
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class U(enum.IntEnum):
    """User-side call states (Q.931 2.1.1)."""

    U0_NULL = 0
    U1_CALL_INITIATED = 1
    U2_OVERLAP_SENDING = 2
    U3_OUTGOING_CALL_PROCEEDING = 3
    U4_CALL_DELIVERED = 4
    U6_CALL_PRESENT = 6
    U7_CALL_RECEIVED = 7
    U8_CONNECT_REQUEST = 8
    U9_INCOMING_CALL_PROCEEDING = 9
    U10_ACTIVE = 10
    U11_DISCONNECT_REQUEST = 11
    U12_DISCONNECT_INDICATION = 12
    U19_RELEASE_REQUEST = 19
    U25_OVERLAP_RECEIVING = 25


class N(enum.IntEnum):
    """Network-side call states (Q.931 2.1.2)."""

    N0_NULL = 0
    N1_CALL_INITIATED = 1
    N2_OVERLAP_SENDING = 2
    N3_OUTGOING_CALL_PROCEEDING = 3
    N4_CALL_DELIVERED = 4
    N6_CALL_PRESENT = 6
    N7_CALL_RECEIVED = 7
    N8_CONNECT_REQUEST = 8
    N9_INCOMING_CALL_PROCEEDING = 9
    N10_ACTIVE = 10
    N11_DISCONNECT_REQUEST = 11
    N12_DISCONNECT_INDICATION = 12
    N19_RELEASE_REQUEST = 19
    N25_OVERLAP_RECEIVING = 25


class Role(enum.Enum):
    """A phase of the call by who did what (mapped to U/N states by :data:`STATE_OF`)."""

    NULL = "null"
    O_INITIATED = "we sent SETUP"
    O_OVERLAP = "SETUP ACK received (we send more digits)"
    O_PROCEEDING = "CALL PROCEEDING received"
    O_DELIVERED = "ALERTING received"
    I_PRESENT = "SETUP received"
    I_OVERLAP = "SETUP ACK sent (digits awaited)"
    I_PROCEEDING = "CALL PROCEEDING sent"
    I_RECEIVED = "ALERTING sent"
    I_CONNECT = "CONNECT sent, CONNECT ACK awaited (user side)"
    O_CONNECT = "CONNECT received, CONNECT ACK not yet sent (network side)"
    ACTIVE = "active"
    DISC_SENT = "DISCONNECT sent"
    DISC_RECEIVED = "DISCONNECT received, RELEASE not yet sent"
    REL_SENT = "RELEASE sent"


STATE_OF: dict[str, dict[Role, Any]] = {
    "user": {Role.NULL: U.U0_NULL, Role.O_INITIATED: U.U1_CALL_INITIATED, Role.O_OVERLAP: U.U2_OVERLAP_SENDING,
             Role.O_PROCEEDING: U.U3_OUTGOING_CALL_PROCEEDING, Role.O_DELIVERED: U.U4_CALL_DELIVERED,
             Role.I_PRESENT: U.U6_CALL_PRESENT, Role.I_OVERLAP: U.U25_OVERLAP_RECEIVING,
             Role.I_PROCEEDING: U.U9_INCOMING_CALL_PROCEEDING, Role.I_RECEIVED: U.U7_CALL_RECEIVED,
             Role.I_CONNECT: U.U8_CONNECT_REQUEST, Role.ACTIVE: U.U10_ACTIVE,
             Role.DISC_SENT: U.U11_DISCONNECT_REQUEST, Role.DISC_RECEIVED: U.U12_DISCONNECT_INDICATION,
             Role.REL_SENT: U.U19_RELEASE_REQUEST},
    "network": {Role.NULL: N.N0_NULL, Role.O_INITIATED: N.N6_CALL_PRESENT, Role.O_OVERLAP: N.N25_OVERLAP_RECEIVING,
                Role.O_PROCEEDING: N.N9_INCOMING_CALL_PROCEEDING, Role.O_DELIVERED: N.N7_CALL_RECEIVED,
                Role.I_PRESENT: N.N1_CALL_INITIATED, Role.I_OVERLAP: N.N2_OVERLAP_SENDING,
                Role.I_PROCEEDING: N.N3_OUTGOING_CALL_PROCEEDING, Role.I_RECEIVED: N.N4_CALL_DELIVERED,
                Role.O_CONNECT: N.N8_CONNECT_REQUEST, Role.ACTIVE: N.N10_ACTIVE,
                Role.DISC_SENT: N.N12_DISCONNECT_INDICATION, Role.DISC_RECEIVED: N.N11_DISCONNECT_REQUEST,
                Role.REL_SENT: N.N19_RELEASE_REQUEST},
}


class Req(enum.Enum):
    """Requests from the layer above (primitives of Q.931 Annex / the adapter)."""

    #: members are singletons compared by identity: hashed by identity too, in C, rather than by
    #: name in Python (Enum.__hash__) on every table lookup of the per-frame path
    __hash__ = object.__hash__

    SETUP = "SETUP-REQ"
    MORE_INFO = "MORE-INFO-REQ"          #: overlap receiving: SETUP ACK
    INFO = "INFO-REQ"                    #: overlap sending: INFORMATION with digits
    PROCEEDING = "PROCEEDING-REQ"
    ALERTING = "ALERTING-REQ"
    PROGRESS = "PROGRESS-REQ"
    SETUP_RESPONSE = "SETUP-RESP"        #: answer: CONNECT
    DISCONNECT = "DISCONNECT-REQ"
    REJECT = "REJECT-REQ"                #: refuse an offered call: RELEASE COMPLETE
    RELEASE = "RELEASE-REQ"              #: after a DISCONNECT received (U12 / N11): RELEASE
    SETUP_COMPLETE = "SETUP-COMPLETE-REQ"  #: network side, CONNECT received (N8): CONNECT ACK
    STATUS_ENQUIRY = "STATUS-ENQUIRY-REQ"


class Ev(enum.Enum):
    """Timer expiries and data link changes, as events of the table."""

    #: members are singletons compared by identity: hashed by identity too, in C, rather than by
    #: name in Python (Enum.__hash__) on every table lookup of the per-frame path
    __hash__ = object.__hash__

    T301 = "T301"
    T302 = "T302"
    T303 = "T303"
    T304 = "T304"
    T305 = "T305"
    T306 = "T306"
    T308 = "T308"
    T309 = "T309"
    T310 = "T310"
    T313 = "T313"
    T322 = "T322"
    GLARE = "B channel taken by the network's SETUP"
    DL_FAILURE = "data link failure"
    DL_ESTABLISHED = "data link established"


#: our state -> peer states a STATUS may name without trouble (5.8.10: "compatible")
COMPATIBLE: dict[int, set[int]] = {
    1: {1, 6, 2, 25, 3, 9}, 2: {2, 25, 3, 9}, 3: {3, 9, 4, 7}, 4: {4, 7, 8, 10}, 6: {6, 1},
    25: {25, 2, 3, 9}, 9: {9, 3, 4, 7}, 7: {7, 4, 8, 10}, 8: {8, 10}, 10: {10, 8},
    11: {11, 12, 19}, 12: {12, 11, 19}, 19: {19, 11, 12},
}


@dataclass(frozen=True, slots=True)
class InterfaceEvent:
    """What the interface tells the layer above (link up/down, RESTART)."""

    kind: str                  #: restart (by the peer), restart_ack, restart_failed
    time: float
    channels: tuple[int, ...] = ()
    reason: str = ""
