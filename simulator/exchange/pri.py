"""A simulated public exchange speaking ISDN PRI (network side of Q.921/Q.931) on simulator spans.

It runs this project's own stack (:class:`cti.signaling.pri.trunk.PriTrunk`, ``side =
"network"``) on the far side of the spans (``SimBoard.far_end(n)``, D channel on TS16), and
plays the network exactly as the SS7 exchange does (:class:`Ss7Exchange`, whose trunk-level
behaviour it inherits: subscribers answer / do not answer / are busy / unallocated / congested,
scripted calls to us, clearing from either side, in-band tones), with ALERTING carrying
"in-band information available" so our side listens to the tones.

    ex = PriExchange([board.far_end(2)])
    board.add_ticker(ex.service)
"""
from __future__ import annotations

from typing import Any

from cti.signaling.pri.config import PriConfig
from cti.signaling.pri.trunk import PriTrunk
from cti.signaling.trunk import TrunkError
from drivers.base import Span

from .base import CallRecord, Subscriber
from .ss7 import Ss7Exchange


def mirror(config: dict[str, Any] | None) -> dict[str, Any]:
    """The exchange's config from the trunk's: the other side of the D channel."""
    d = dict(config or {})
    d["side"] = "user" if PriConfig.from_dict(d).network else "network"
    d["repeat_attempts"] = 0     # the simulated exchange does not repeat its calls (records by circuit)
    d.pop("pcap", None)
    return d


class PriExchange(Ss7Exchange):
    """The network side of PRI spans."""

    signalling = "pri"

    def __init__(self, spans: list[Span], subscribers: dict[str, Subscriber] | None = None,
                 default: Subscriber | None = None, config: PriConfig | dict[str, Any] | None = None,
                 transports: list[Any] | None = None, **inband: Any) -> None:
        if not isinstance(config, PriConfig):
            config = PriConfig.from_dict(mirror(config))
        super(Ss7Exchange, self).__init__(spans, subscribers, default, **inband)
        self.config = config  # type: ignore[assignment]
        self.pri = PriTrunk(spans, config, transports=transports)
        self.trunk = self.pri  # type: ignore[assignment]   # the inherited trunk-level behaviour
        self._by_circuit: dict[tuple[int, int], CallRecord] = {}

    def service(self, now: float) -> None:
        self.now = now
        if self.pri.up:                       # not while the D channel is down
            self._start_due(now)
        for ev in self.pri.service(now):
            self.log.append(ev)
            self._on_event(ev, now)
        self._run_timers(now)
        self._service_inband(now)

    @property
    def up(self) -> bool:
        """Every D channel to us is established."""
        return self.pri.up

    def block(self, circuit: tuple[int, int], now: float) -> None:
        raise TrunkError("PRI has no circuit blocking in basic call; use restart()")

    unblock = block

    def restart(self, circuit: tuple[int, int] | None, now: float, span: int = 0) -> None:
        """RESTART of a B channel or of the interface toward us."""
        self.pri.restart(circuit, now, span)
