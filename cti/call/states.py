"""CSTA connection states and the transition table every connection follows.

Everything that affects a connection's state lives here (h11's ``_state.py`` rule). States
and event names follow ECMA-269 (CSTA Phase III), "connection state model": a connection
is the relationship between one device and one call. The table is data: the model fires
stimuli through :class:`cti.signaling.fsm.TableFSM`; a stimulus not in the table is a
request the current state does not allow (the model turns it into a typed error).
"""
from __future__ import annotations

import enum

from cti.signaling.fsm import ANY


class ConnectionState(str, enum.Enum):
    """ECMA-269 connection states (lower-case on the bus)."""

    NULL = "null"            #: no relationship between the device and the call
    INITIATED = "initiated"  #: the device is originating (MakeCall issued, trunk seized, far end not reached)
    ALERTING = "alerting"    #: the device is being alerted (rung) or the far end rings
    CONNECTED = "connected"  #: the device takes part in the call
    HOLD = "hold"            #: the device put the call on hold
    QUEUED = "queued"        #: the call waits for the device (an ACD queue), not yet alerting
    FAIL = "fail"            #: the call could not complete to/from the device (busy, unallocated...)


class Stimulus(str, enum.Enum):
    """What can happen to one connection (signalling input or a command)."""

    INITIATE = "initiate"    #: MakeCall: the originating device starts a call
    SEIZE = "seize"          #: an outgoing trunk circuit was seized for the far party
    OFFER = "offer"          #: an incoming call is offered to a device (Offered)
    ALERT = "alert"          #: the device (or the far end) is rung (Delivered)
    QUEUE = "queue"          #: the call waits in a queue for the device (Queued)
    ANSWER = "answer"        #: the device or the far end answered (Established)
    HOLD = "hold"            #: HoldCall
    RETRIEVE = "retrieve"    #: RetrieveCall
    FAIL = "fail"            #: the call failed for this device (Failed)
    CLEAR = "clear"          #: the connection ends (ConnectionCleared)


S, X = ConnectionState, Stimulus

#: (state, stimulus) -> (action, next state). ANY matches every state without an exact row.
CONNECTION_TABLE: dict[tuple[object, Stimulus], tuple[str | None, ConnectionState]] = {
    # origination (MakeCall / ConsultationCall): ECMA-269 null -> initiated -> connected
    (S.NULL, X.INITIATE): (None, S.INITIATED),
    (S.NULL, X.SEIZE): (None, S.INITIATED),
    (S.INITIATED, X.ALERT): (None, S.ALERTING),        # far end rings (ACM / B1)
    (S.INITIATED, X.ANSWER): (None, S.CONNECTED),      # answered without ringing report
    (S.INITIATED, X.FAIL): (None, S.FAIL),
    # termination (incoming call): null -> (offered) -> alerting -> connected
    (S.NULL, X.OFFER): (None, S.NULL),                 # Offered: no state yet, routing may decide
    (S.NULL, X.ALERT): (None, S.ALERTING),
    (S.NULL, X.QUEUE): (None, S.QUEUED),
    (S.NULL, X.ANSWER): (None, S.CONNECTED),           # the calling party of an incoming call
    (S.QUEUED, X.ALERT): (None, S.ALERTING),
    (S.QUEUED, X.ANSWER): (None, S.CONNECTED),
    (S.ALERTING, X.ANSWER): (None, S.CONNECTED),
    (S.ALERTING, X.QUEUE): (None, S.QUEUED),           # ring timeout -> back to the queue
    (S.ALERTING, X.FAIL): (None, S.FAIL),
    # hold / retrieve (HoldCall, RetrieveCall)
    (S.CONNECTED, X.HOLD): (None, S.HOLD),
    (S.HOLD, X.RETRIEVE): (None, S.CONNECTED),
    # clearing: any live state -> null (ConnectionCleared)
    (S.NULL, X.CLEAR): (None, S.NULL),                 # an offered call rejected before alerting
    (S.INITIATED, X.CLEAR): (None, S.NULL),
    (S.ALERTING, X.CLEAR): (None, S.NULL),
    (S.CONNECTED, X.CLEAR): (None, S.NULL),
    (S.HOLD, X.CLEAR): (None, S.NULL),
    (S.QUEUED, X.CLEAR): (None, S.NULL),
    (S.FAIL, X.CLEAR): (None, S.NULL),
}

#: States in which a connection still belongs to its call.
LIVE_STATES = frozenset(s for s in ConnectionState if s is not ConnectionState.NULL)

__all__ = ["ANY", "CONNECTION_TABLE", "ConnectionState", "LIVE_STATES", "Stimulus"]


def table_markdown() -> str:
    """The connection table as a Markdown table (docs/bus.md embeds it; a test keeps them equal)."""
    rows = ["| state | stimulus | next state |", "|-------|----------|------------|"]
    for (state, stim), (_, nxt) in CONNECTION_TABLE.items():
        rows.append(f"| {getattr(state, 'value', state)} | {stim.value} | {nxt.value} |")
    return "\n".join(rows) + "\n"
