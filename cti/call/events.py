"""CSTA-named events the call model emits (frozen dataclasses, one per event type).

The bus publishes ``event.to_dict()`` under ``event.topic()``; the bus adds the envelope
(``seq``, ``time``, ``v``). Field lists are the schema (docs/schema/events.json is generated
from these classes and checked by a test). Evolution rule: new fields get defaults and go at
the end; nothing is removed or retyped within a major schema version.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar
from collections.abc import Callable


#: per class: (to_dict, stamped) functions generated from its fields (see _dict_makers)
_MAKERS: dict[type, tuple[Callable[..., dict[str, Any]], Callable[..., dict[str, Any]]]] = {}


def _dict_makers(cls: type) -> tuple[Callable[..., dict[str, Any]], Callable[..., dict[str, Any]]]:
    """Compile ``cls``'s to_dict and stamped as single dict displays (as dataclasses does for
    ``__init__``): publishing builds one dict per event with no per-field Python loop."""
    names = tuple(f.name for f in dataclasses.fields(cls))
    body = "".join(f"{n!r}: self.{n}, " for n in names) + f"'type': {cls.__name__!r}"
    src = (f"def to_dict(self):\n    return {{{body}}}\n"
           f"def stamped(self, seq, time, v, topic):\n"
           f"    return {{{body}, 'seq': seq, 'time': time, 'v': v, 'topic': topic}}\n")
    ns: dict[str, Any] = {}
    exec(src, {}, ns)    # names are dataclass field identifiers: nothing foreign is compiled
    makers = _MAKERS[cls] = (ns["to_dict"], ns["stamped"])
    return makers


@dataclass(frozen=True, slots=True)
class BusEvent:
    """Base of everything published on the bus."""

    TOPIC: ClassVar[str] = "server"

    def topic(self) -> str:
        return self.TOPIC

    def to_dict(self) -> dict[str, Any]:
        """The event's fields and ``type`` (its class name)."""
        makers = _MAKERS.get(type(self)) or _dict_makers(type(self))
        return makers[0](self)

    def stamped(self, seq: int, time: float, v: int, topic: str) -> dict[str, Any]:
        """``to_dict()`` followed by the bus envelope ``seq``, ``time``, ``v``, ``topic`` (one dict)."""
        cls = type(self)
        if cls.to_dict is not BusEvent.to_dict:    # a subclass with its own to_dict keeps it
            return {**self.to_dict(), "seq": seq, "time": time, "v": v, "topic": topic}
        makers = _MAKERS.get(cls) or _dict_makers(cls)
        return makers[1](self, seq, time, v, topic)


@dataclass(frozen=True, slots=True)
class CallEvent(BusEvent):
    """A change of one connection (``device`` in ``call``): the common CSTA event fields."""

    TOPIC: ClassVar[str] = "call"

    call: str                     #: call id, unique per server (survives restarts)
    device: str                   #: the device whose connection changed
    state: str                    #: that connection's state after the event (ConnectionState value)
    calling: str | None = None    #: calling party number (ANI / CLI)
    called: str | None = None     #: called party number (DNIS)
    span: int | None = None       #: trunk span of the call's circuit
    ts: int | None = None         #: trunk timeslot of the call's circuit
    signalling: str = ""          #: "no1" | "ss7" | ""
    direction: str = ""           #: "in" (network -> us) | "out" (us -> network)
    cause: int | None = None      #: Q.850 cause (clearing, failure)
    devices: list[str] = field(default_factory=list)  #: local devices of the call (for authorisation)
    user_data: dict[str, str] = field(default_factory=dict)  #: the call's user data (CRM map) after the event

    def topic(self) -> str:
        if self.span is None:
            return f"call.-.{self.call}"
        return f"call.{self.span}.{self.ts}"


@dataclass(frozen=True, slots=True)
class Originated(CallEvent):
    """A device originated a call (MakeCall / ConsultationCall): a trunk circuit is seized and the
    calling device is ``connected`` (ECMA-269); the far end's progress follows (Delivered, Established)."""


@dataclass(frozen=True, slots=True)
class Offered(CallEvent):
    """An incoming call is offered to a device (routing may still decide where it rings)."""


@dataclass(frozen=True, slots=True)
class Delivered(CallEvent):
    """A device is alerting (once per device): our device that rings for an incoming call (the
    agent's, when the ACD offers the call), the far end for an outgoing one. A route point never
    alerts: the call is Queued there and Diverted to the agent."""


@dataclass(frozen=True, slots=True)
class Diverted(CallEvent):
    """The call left ``device`` (now null there) for ``to`` (ECMA-269 Diverted): the ACD hands a
    queued call to the agents it rings, DeflectCall, or PickupCall (``reason``: acd | deflect |
    pickup). Delivered (or Established, for a pickup) at each new device follows."""

    to: list[str] = field(default_factory=list)
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Established(CallEvent):
    """``device`` answered (once per device): the agent's device of an ACD call, the far end of an
    outgoing call; the call is connected."""


@dataclass(frozen=True, slots=True)
class Held(CallEvent):
    """The device put the call on hold."""


@dataclass(frozen=True, slots=True)
class Retrieved(CallEvent):
    """The device took the call back from hold."""


@dataclass(frozen=True, slots=True)
class Queued(CallEvent):
    """The call waits in a queue for a device (ACD)."""

    queue: str = ""


@dataclass(frozen=True, slots=True)
class Failed(CallEvent):
    """The call could not complete (busy, unallocated, congestion, no circuit...)."""


@dataclass(frozen=True, slots=True)
class Transferred(CallEvent):
    """``device`` transferred: ``old_calls`` were merged into ``call`` and it left."""

    old_calls: list[str] = field(default_factory=list)
    parties: list[str] = field(default_factory=list)   #: devices still in the resulting call


@dataclass(frozen=True, slots=True)
class Conferenced(CallEvent):
    """``device`` joined ``old_calls`` into the conference ``call``."""

    old_calls: list[str] = field(default_factory=list)
    parties: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DigitsDialed(CallEvent):
    """DTMF digits: received from the far end (``sent`` False) or sent by SendDigits (True)."""

    digits: str = ""
    sent: bool = False


@dataclass(frozen=True, slots=True)
class Reattempted(CallEvent):
    """Our outgoing call lost a dual seizure (glare) and was placed again on another circuit (the
    automatic repeat attempt of ITU-T Q.764 2.10.1.4 / Q.12): ``span``/``ts`` and ``device`` are
    the new circuit and trunk device; ``old_*`` the circuit given up; ``cause`` why (41)."""

    old_span: int | None = None
    old_ts: int | None = None
    old_device: str = ""
    attempt: int = 1
    reason: str = ""


@dataclass(frozen=True, slots=True)
class UserDataChanged(CallEvent):
    """The call's user data changed (AttachUserData / UpdateUserData / DeleteUserData, IVR digits):
    ``user_data`` is the whole map after the change, ``changed`` the keys set, ``deleted`` the
    keys removed; ``device`` is the device the request acted for ("" for the IVR)."""

    changed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ConnectionCleared(CallEvent):
    """The device's connection ended (``state`` is null); the call may go on."""


@dataclass(frozen=True, slots=True)
class CallCleared(CallEvent):
    """The whole call ended; ``device`` is the one whose leaving ended it (or "")."""


@dataclass(frozen=True, slots=True)
class SpanState(BusEvent):
    """Availability of a span's circuits changed (blocking, alarms)."""

    TOPIC: ClassVar[str] = "span"

    span: int
    available: int                #: circuits free for calls (not blocked, no alarm)
    total: int                    #: circuits the signalling adapters serve on this span
    alarms: list[str] = field(default_factory=list)
    reason: str = ""

    def topic(self) -> str:
        return f"span.{self.span}"


@dataclass(frozen=True, slots=True)
class ServerStarted(BusEvent):
    """The server (re)started: calls live before this event are gone; take a snapshot."""

    TOPIC: ClassVar[str] = "server"

    node: str
    version: str = ""

    def topic(self) -> str:
        return "server.started"


@dataclass(frozen=True, slots=True)
class ServerReady(BusEvent):
    """Every span is usable (SS7 link aligned and reset, No.1 idle, PRI D channel up): calls
    placed from now on are carried; before it MakeCall is refused with ``not ready``."""

    TOPIC: ClassVar[str] = "server"

    node: str
    spans: list[int] = field(default_factory=list)   #: the spans that are ready
    waited: float = 0.0                              #: model seconds from start to ready

    def topic(self) -> str:
        return "server.ready"


CALL_EVENTS: tuple[type[CallEvent], ...] = (
    Originated, Offered, Delivered, Established, Held, Retrieved, Queued, Failed, Transferred,
    Conferenced, DigitsDialed, ConnectionCleared, CallCleared, Reattempted, Diverted, UserDataChanged,
)
#: Every event type the call model and server publish, by name (the schema's event list).
EVENT_TYPES: dict[str, type[BusEvent]] = {c.__name__: c for c in (*CALL_EVENTS, SpanState, ServerStarted, ServerReady)}
