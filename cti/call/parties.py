"""The parties of a call: :class:`Call` and its :class:`Connection` objects (ECMA-269).

Plain data shared by the model (:mod:`cti.call.model`) and the services
(:mod:`cti.call.services`); nothing here changes a state except through a connection's
:class:`cti.signaling.engine.Machine` over :data:`cti.call.states.CONNECTION`.

Devices: the *local* devices of a call are ours (the called number of an incoming call, a
route point, an agent's station, the device that originated a call); each trunk party is a
*remote* device named ``trunk/<span>/<ts>`` after its circuit, so device ids in a call are
unique. User data (``Call.user_data``) is the call's CRM map (Genesys T-Library attached
data, CSTA correlatorData): small strings that travel with the call.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from cti.signaling.engine import Machine
from cti.signaling.errors import ProtocolError
from cti.signaling.trunk import Circuit, TrunkAdapter, TrunkError

from .states import CONNECTION, LIVE_STATES, ConnectionState

S = ConnectionState
#: what a trunk adapter may raise when it refuses a request (TrunkError per the contract;
#: protocol or value errors from a stack are treated the same, never as a server crash)
ADAPTER_ERRORS = (TrunkError, ProtocolError, ValueError)
#: order in which :meth:`Call.local` prefers a live local connection
_PREFERENCE = {S.CONNECTED: 0, S.HOLD: 1, S.INITIATED: 2, S.ALERTING: 3, S.QUEUED: 4, S.FAIL: 5, S.NULL: 6}


class MediaPath(Protocol):
    """What the model needs from the media layer (in-band digits; bridging for transfers)."""

    def send_digits(self, circuit: Circuit, digits: str, now: float) -> None: ...

    def bridge(self, circuits: list[Circuit]) -> None: ...


def trunk_device(circuit: Circuit) -> str:
    """The device id of the trunk party on ``circuit``."""
    return f"trunk/{circuit[0]}/{circuit[1]}"


@dataclass
class Connection:
    """One device's relationship with one call (ECMA-269 connection)."""

    call: str
    device: str
    local: bool
    circuit: Circuit | None = None
    adapter: TrunkAdapter | None = None
    since: float = 0.0
    offered: bool = False   #: an offered incoming call not yet cleared (CSTA state null, but a party)
    via: str = ""           #: how the call reached this device: "" | "acd" | "deflect" | "pickup"
    fsm: Machine[Connection] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.fsm = Machine(CONNECTION, self, name=f"connection {self.call}/{self.device}")

    @property
    def state(self) -> ConnectionState:
        return self.fsm.state  # type: ignore[no-any-return]

    @property
    def live(self) -> bool:
        return self.offered or self.fsm.state in LIVE_STATES

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "state": self.state.value, "local": self.local,
                "span": self.circuit[0] if self.circuit else None,
                "ts": self.circuit[1] if self.circuit else None}


@dataclass
class Call:
    """A call: its connections and what the CDR needs."""

    id: str
    direction: str
    calling: str | None
    called: str | None
    signalling: str
    created: float
    connections: dict[str, Connection] = field(default_factory=dict)
    answered: float | None = None
    cause: int | None = None
    merged: list[str] = field(default_factory=list)   #: call ids joined into this one
    extra: dict[str, Any] = field(default_factory=dict)
    user_data: dict[str, str] = field(default_factory=dict)   #: the CRM's map (AttachUserData...)
    route_device: str | None = None   #: the route point / queue device that holds the call for the ACD
    answered_by: str | None = None    #: our device that answered (the agent's for an ACD call)
    network_alerted: bool = False     #: the trunk was told that the call rings (ACM / B1 sent)
    network_answered: bool = False    #: the trunk of an incoming call was answered

    def local(self) -> Connection | None:
        """The local connection that stands for us: a live one (connected before held before
        alerting...), else the last local connection the call had."""
        best: Connection | None = None
        last: Connection | None = None
        for c in self.connections.values():
            if not c.local:
                continue
            last = c
            if c.live and (best is None or _PREFERENCE[c.state] < _PREFERENCE[best.state]):
                best = c
        return best or last

    def live(self) -> list[Connection]:
        return [c for c in self.connections.values() if c.live]

    def locals_live(self) -> list[Connection]:
        return [c for c in self.connections.values() if c.local and c.live]

    def remotes(self) -> list[Connection]:
        return [c for c in self.connections.values() if not c.local and c.live]

    def circuit(self) -> Circuit | None:
        """The call's primary circuit (its first trunk party's)."""
        for c in self.connections.values():
            if c.circuit is not None:
                return c.circuit
        return None

    def devices(self) -> set[str]:
        return {c.device for c in self.connections.values()}

    def local_devices(self) -> list[str]:
        """Our devices that took part in the call (kept after they leave: transfers)."""
        seen = [c.device for c in self.connections.values() if c.local]
        return sorted(set(seen) | set(self.extra.get("devices", ())))

    def to_dict(self) -> dict[str, Any]:
        circ = self.circuit()
        return {"call": self.id, "direction": self.direction, "calling": self.calling,
                "called": self.called, "signalling": self.signalling,
                "span": circ[0] if circ else None, "ts": circ[1] if circ else None,
                "created": self.created, "answered": self.answered,
                "connections": [c.to_dict() for c in self.connections.values() if c.live],
                "user_data": dict(self.user_data)}
