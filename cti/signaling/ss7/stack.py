"""One signalling point's SS7 stack toward one adjacent point: MTP2 links + MTP3 linkset + ISUP,
wired together sans-IO. Used by the trunk adapter, the simulated exchange, the benchmark
and the interop tests; transports move the links' frames."""
from __future__ import annotations

from typing import Any
from collections.abc import Callable

from cti.signaling.trunk import IncomingCall

from .config import Ss7Config
from .isup.node import IsupEvent, IsupNode
from .mtp2 import Mtp2Link
from .mtp3 import SI, Linkset, Mtp3Event

#: what the stack reports: ISUP events, and a trunk's incoming calls as IncomingCall itself
StackEvent = IsupEvent | IncomingCall


_ISUP = int(SI.ISUP)


def cic_groups(cics: list[int], size: int = 32) -> list[tuple[int, int]]:
    """Runs of consecutive CICs as (first, count), each at most ``size`` long."""
    out: list[tuple[int, int]] = []
    for c in sorted(cics):
        if out and out[-1][0] + out[-1][1] == c and out[-1][1] < size:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((c, 1))
    return out


class Ss7Stack:
    """Links, linkset and ISUP for ``cics``; :meth:`service` runs them and returns ISUP events."""

    def __init__(self, config: Ss7Config, cics: list[int], name: str = "ss7") -> None:
        self.config = config
        t = config.timers
        self.links = [Mtp2Link(timers=t.get("mtp2"), emergency=config.emergency, name=f"{name}.link{i}")
                      for i in range(len(config.links))]
        self.linkset = Linkset(self.links, config.opc, config.dpc, variant=config.variant, ni=config.ni,
                               timers=t.get("mtp3"), link_test=config.link_test)
        self.isup = IsupNode(cics, config.opc, config.dpc, timers=t.get("isup"), name=f"{name}.isup",
                             transmission_medium=config.transmission_medium)
        self.started = False
        self._isup_requests = True        # a request since ISUP's last timer walk (run)
        self._isup_rx = -1                # ISUP's received count at that walk
        self.mtp3_events: list[Mtp3Event] = []
        self._events: list[StackEvent] = []
        self.bind_isup()

    def bind_isup(self, deliver: Callable[[bytes, float], Any] | None = None) -> None:
        """ISUP messages from the adjacent point go straight to ``deliver(payload, now)``
        (default: the node's ``receive``, bound directly: no Mtp3Event and no wrapper per MSU);
        tests pass a callable that watches the payloads and calls the node."""
        self._isup_deliver = self.isup.receive if deliver is None else deliver
        self.linkset.bind_user_part(_ISUP, self._isup_deliver)

    @property
    def up(self) -> bool:
        return bool(self.linkset.up)

    def start(self, now: float) -> None:
        if not self.started:
            self.started = True
            self.linkset.start(now)

    # ---- the sans-IO shape (cti.signaling.stack.SansIOStack) -------------------------------
    def receive(self, data: tuple[int, bytes], now: float) -> None:
        """``(link index, frame)`` received (FCS checked and stripped), then MTP3 and ISUP run."""
        link, frame = data
        self.links[link].receive(frame, now)
        self._events += self.service(now)

    def data_to_send(self, now: float) -> list[tuple[int, bytes]]:
        """``(link index, frame)`` to transmit now (fill-in included, as each link decides)."""
        return [(i, f) for i, ln in enumerate(self.links) for f in ln.data_to_send(now)]

    def events(self) -> list[StackEvent]:
        ev, self._events = self._events, []
        return ev

    def handle_timer(self, now: float) -> None:
        self._events += self.service(now)

    def service(self, now: float) -> list[StackEvent]:
        """:meth:`run`, then ISUP's events (drained from the node)."""
        self.run(now)
        events: list[StackEvent] = self.isup.events()
        return events

    def run(self, now: float) -> None:
        """Run MTP3 and ISUP after the transports fed the links, and queue ISUP's output for
        the links; ISUP's events stay in the node (``isup.events()``), so an adapter reads
        them where they were made (the trunk does: one hand-off less per call)."""
        if not self.started:
            self.start(now)
        events = self.linkset.service(now)   # ISUP MSUs went to the node already (bind_isup)
        if events:
            self._mtp3_events(events, now)
        isup = self.isup
        # ISUP's timers: one walk over every circuit, so only when one may be due (the walk's
        # next_timer) or may have started since: a message received, a request made (flush)
        if now >= isup.next_timer or self._isup_requests or isup._rx_count != self._isup_rx or isup._out:
            self._isup_requests = False
            self._isup_rx = isup._rx_count
            isup.handle_timer(now)
        self.linkset.send_each(_ISUP, isup.data_to_send(now), now, 0x0F)   # flush()

    def _mtp3_events(self, events: list[Mtp3Event], now: float) -> None:
        for ev in events:
            if ev.kind == "transfer":   # queued behind another event, for another user part...
                if ev.si == _ISUP and ev.opc == self.config.dpc:
                    self._isup_deliver(ev.payload, now)
                elif ev.si != _ISUP and (user := self.linkset.user_part(ev.si)) is not None:
                    user(ev.payload, now)
                elif ev.si != _ISUP:    # Q.704 2.4.2: a user part we do not have: UPU
                    self.linkset.user_part_unavailable(ev.si, ev.opc, now)
                    self.mtp3_events.append(ev)
            else:
                self.mtp3_events.append(ev)
                if ev.kind == "resume" and self.config.reset_at_start:
                    self.reset_all(now)

    def flush(self, now: float) -> None:
        """Hand ISUP's queued messages to MTP3 (SLS = CIC's low 4 bits, Q.764 2.2.2), after a
        request (it may have started a timer: the next :meth:`run` walks ISUP's timers)."""
        self._isup_requests = True
        self.linkset.send_each(_ISUP, self.isup.data_to_send(now), now, 0x0F)

    def reset_all(self, now: float) -> None:
        """Circuit group reset of every CIC (Q.764 2.9.3.2: after an MTP restart/resume)."""
        from .isup.call import CallState
        idle = [c for c, ctl in self.isup.circuits.items() if ctl.fsm.state is CallState.IDLE]
        for first, count in cic_groups(idle):   # calls set up while the route was down survive
            if count == 1:
                self.isup.reset(first, now)
            else:
                self.isup.group_reset(first, count, now)
        self.flush(now)

    def timer_deadline(self) -> float | None:
        ds = [d for d in (self.linkset.timer_deadline(), self.isup.timer_deadline()) if d is not None]
        return min(ds, default=None)
