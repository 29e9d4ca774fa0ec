"""Q.931 restart procedure (5.5.1) for some B channels or the whole interface, sent by us:
RESTART on the global call reference, T316 / N316 as the table says."""
from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

from cti.signaling.engine import Machine, Row, Table

from . import ie as IE
from .message import GLOBAL_CREF, MT, Message
from .states import InterfaceEvent
from .timers import N316, Q931_TIMERS

if TYPE_CHECKING:
    from .q931 import Q931


class RestartState(enum.Enum):
    NULL = "REST 0"                        #: Q.931 5.5: null (no restart in progress)
    RESTART_REQUEST = "REST 1"             #: RESTART sent, T316 running


class RestartEv(enum.Enum):
    REQUEST = "RESTART-REQ"
    T316 = "T316"


class Restart:
    """Our RESTART (Q.931 5.5.1) for some channels or the interface; T316 / N316 in the table."""

    def __init__(self, node: Q931) -> None:
        self.node = node
        self.channels: tuple[int, ...] = ()
        self.count = 0
        self.m: Machine[Restart] = Machine(RESTART_TABLE, self, timer_values=node.timer_values("T316"))

    def send(self, msg: Any, now: float) -> None:
        self.count += 1
        ies: list[IE.Ie] = [IE.RestartIndicator(IE.RestartClass.INDICATED if self.channels
                                                else IE.RestartClass.SINGLE_INTERFACE)]
        if self.channels:
            ies.append(IE.ChannelId(self.channels, True))
        self.node.send_message(Message(MT.RESTART, GLOBAL_CREF, False, ies))

    def start(self, msg: Any, now: float) -> None:
        self.count = 0
        self.send(msg, now)

    def acked(self, msg: Any, now: float) -> None:
        self.node.restarted(self.channels, now)
        self.node.iface_events.append(InterfaceEvent("restart_ack", now, self.channels))

    def failed(self, msg: Any, now: float) -> None:
        self.node.iface_events.append(InterfaceEvent("restart_failed", now, self.channels,
                                                     f"no RESTART ACKNOWLEDGE after {self.count} RESTART"))

    def left(self, msg: Any) -> bool:
        return self.count < N316

    def ignore(self, msg: Any, now: float) -> None:
        pass


RESTART_TABLE = Table("Q.931 restart (5.5)", RestartState.NULL, (
    Row(RestartState.NULL, RestartEv.REQUEST, RestartState.RESTART_REQUEST, Restart.start, clause="Q.931 5.5.1"),
    Row(RestartState.RESTART_REQUEST, MT.RESTART_ACKNOWLEDGE, RestartState.NULL, Restart.acked, clause="Q.931 5.5.1"),
    Row(RestartState.RESTART_REQUEST, RestartEv.T316, None, Restart.send, guard=Restart.left, start=("T316",),
        clause="Q.931 5.5.1 (repeated)"),
    Row(RestartState.RESTART_REQUEST, RestartEv.T316, RestartState.NULL, Restart.failed,
        clause="Q.931 5.5.1 (N316 reached: maintenance told)"),
    Row(RestartState.NULL, MT.RESTART_ACKNOWLEDGE, None, Restart.ignore, clause="Q.931 5.8.3.2"),
), timers={"T316": Q931_TIMERS["T316"]}, entry={RestartState.RESTART_REQUEST: ("T316",)},
    expiry={"T316": RestartEv.T316})
