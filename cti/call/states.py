"""CSTA connection states and the transition table every connection follows.

Everything that affects a connection's state lives here (h11's ``_state.py`` rule). States
and event names follow ECMA-269 (CSTA Phase III), "connection state model": a connection
is the relationship between one device and one call. The table is a
:class:`cti.signaling.engine.Table` (the one engine of every stack); a stimulus with no row
in the current state is a request that state does not allow (the model and the services
turn it into a typed error before anything changes). The rows need no actions: what a
transition means for the call (events, trunk requests) is the model's and the services' job.
"""
from __future__ import annotations

import enum

from cti.signaling.engine import Row, Table


class ConnectionState(str, enum.Enum):
    """ECMA-269 connection states (lower-case on the bus)."""

    NULL = "null"            #: no relationship between the device and the call
    INITIATED = "initiated"  #: the device is originating (MakeCall issued) / a trunk circuit seized, far end not reached
    ALERTING = "alerting"    #: the device is being alerted (rung) or the far end rings
    CONNECTED = "connected"  #: the device takes part in the call
    HOLD = "hold"            #: the device put the call on hold
    QUEUED = "queued"        #: the call waits at the device (a route point, an ACD queue), not yet alerting
    FAIL = "fail"            #: the call could not complete to/from the device (busy, unallocated...)


class Stimulus(str, enum.Enum):
    """What can happen to one connection (signalling input or a command)."""

    INITIATE = "initiate"    #: MakeCall: the originating device starts a call
    ORIGINATE = "originate"  #: the call left the originating device for the network (Originated)
    SEIZE = "seize"          #: an outgoing trunk circuit was seized for the far party
    OFFER = "offer"          #: an incoming call is offered to a device (Offered)
    ALERT = "alert"          #: the device (or the far end) is rung (Delivered)
    QUEUE = "queue"          #: the call waits at the device for an agent (Queued)
    DIVERT = "divert"        #: the call left the device for another (Diverted: ACD, DeflectCall, PickupCall)
    ANSWER = "answer"        #: the device or the far end answered (Established)
    HOLD = "hold"            #: HoldCall (or AlternateCall / ConsultationCall)
    RETRIEVE = "retrieve"    #: RetrieveCall (or AlternateCall / ReconnectCall)
    FAIL = "fail"            #: the call failed for this device (Failed)
    CLEAR = "clear"          #: the connection ends (ConnectionCleared)


S, X = ConnectionState, Stimulus
_ECMA = "ECMA-269 6.1 connection states"


def _r(state: ConnectionState, stim: Stimulus, nxt: ConnectionState, clause: str = _ECMA) -> Row:
    return Row(state, stim, nxt, clause=clause)


#: The connection state machine. Rows have no actions (see the module docstring).
CONNECTION = Table("connection", S.NULL, (
    # origination (MakeCall / ConsultationCall): null -> initiated -> connected (Originated)
    _r(S.NULL, X.INITIATE, S.INITIATED),
    _r(S.INITIATED, X.ORIGINATE, S.CONNECTED, "ECMA-269 Originated event"),
    _r(S.CONNECTED, X.FAIL, S.FAIL, "ECMA-269 Failed event: the far end could not be reached"),
    # the far party of an outgoing call: seized -> alerting -> connected (or fail)
    _r(S.NULL, X.SEIZE, S.INITIATED),
    _r(S.INITIATED, X.ALERT, S.ALERTING),
    _r(S.INITIATED, X.ANSWER, S.CONNECTED),
    _r(S.INITIATED, X.FAIL, S.FAIL),
    # termination (incoming call): null -> (offered) -> queued / alerting -> connected
    _r(S.NULL, X.OFFER, S.NULL, "ECMA-269 Offered event: routing may still decide"),
    _r(S.NULL, X.ALERT, S.ALERTING),
    _r(S.NULL, X.QUEUE, S.QUEUED),
    _r(S.NULL, X.ANSWER, S.CONNECTED),           # the calling party of an incoming call; PickupCall
    _r(S.NULL, X.DIVERT, S.NULL),                # an offered call deflected before it rang
    _r(S.QUEUED, X.ALERT, S.ALERTING),
    _r(S.QUEUED, X.ANSWER, S.CONNECTED),
    _r(S.QUEUED, X.QUEUE, S.QUEUED),             # moved to another queue (overflow, RouteSelect)
    _r(S.QUEUED, X.DIVERT, S.NULL, "ECMA-269 Diverted event: the ACD hands the call to an agent"),
    _r(S.CONNECTED, X.QUEUE, S.QUEUED),          # an answered call (IVR, campaign) enters a queue
    _r(S.ALERTING, X.ANSWER, S.CONNECTED),
    _r(S.ALERTING, X.QUEUE, S.QUEUED),           # ring timeout of a plain call -> parked
    _r(S.ALERTING, X.DIVERT, S.NULL, "ECMA-269 Diverted event: DeflectCall, PickupCall"),
    _r(S.ALERTING, X.FAIL, S.FAIL),
    # hold / retrieve (HoldCall, RetrieveCall, AlternateCall, ReconnectCall)
    _r(S.CONNECTED, X.HOLD, S.HOLD),
    _r(S.HOLD, X.RETRIEVE, S.CONNECTED),
    # clearing: any live state -> null (ConnectionCleared)
    _r(S.NULL, X.CLEAR, S.NULL),                 # an offered call rejected before alerting
    _r(S.INITIATED, X.CLEAR, S.NULL),
    _r(S.ALERTING, X.CLEAR, S.NULL),
    _r(S.CONNECTED, X.CLEAR, S.NULL),
    _r(S.HOLD, X.CLEAR, S.NULL),
    _r(S.QUEUED, X.CLEAR, S.NULL),
    _r(S.FAIL, X.CLEAR, S.NULL),
))
#: the same table under its old name
CONNECTION_TABLE = CONNECTION

#: States in which a connection still belongs to its call.
LIVE_STATES = frozenset(s for s in ConnectionState if s is not ConnectionState.NULL)

__all__ = ["CONNECTION", "CONNECTION_TABLE", "ConnectionState", "LIVE_STATES", "Stimulus", "table_markdown"]


def table_markdown() -> str:
    """The connection table as a Markdown table (docs/call-model.md embeds it; a test keeps them equal)."""
    rows = ["| state | stimulus | next state | clause |", "|-------|----------|------------|--------|"]
    for r in CONNECTION.rows:
        rows.append(f"| {r.state.value} | {r.event.value} | {r.next.value} | {r.clause} |")  # type: ignore[attr-defined]
    return "\n".join(rows) + "\n"
