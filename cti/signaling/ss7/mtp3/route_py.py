"""MTP3 per-MSU path, pure-Python twin of ``route_c``: message routing with SLS load sharing
(Q.704 clauses 2.3, 4.2), discrimination and distribution to the user parts (clauses 2.3, 2.4),
and the linkset's service loop over its links' events.

:class:`LinksetCore` is the base of :class:`~cti.signaling.ss7.mtp3.linkset.Linkset`; it hands
management messages, link state changes, timer expiries and every unusual route (held,
diverted, no link) to the linkset control's methods.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from collections.abc import Callable, Iterable

from cti.signaling.errors import DecodeError

from .label import RoutingLabel, Variant, decode_label, encode_sio

if TYPE_CHECKING:
    from cti.signaling.engine import Machine

    from ..mtp2.link import LinkControl

_SLTM_SPECIAL = 2     # SI 0..2 are MTP's own (SNM, SLTM); user parts above (Q.704 14.2.1)


@dataclass(slots=True, unsafe_hash=True)   # not frozen: built per message, 6x cheaper
class Mtp3Event:
    kind: str          #: transfer | pause | resume | link_up | link_down
    time: float
    si: int = 0
    opc: int = 0
    dpc: int = 0
    sls: int = 0
    payload: bytes = b""
    link: int = -1
    reason: str = ""


class LinksetCore:
    """Routing, discrimination and distribution of one linkset; ``_route``, ``_management``,
    ``_link_in_service`` and ``_link_down`` come from the linkset control subclass."""

    Event: ClassVar[type[Mtp3Event]] = Mtp3Event
    if TYPE_CHECKING:    # the linkset control's half, which this core calls
        def _route(self, sio: int, sif: bytes, sls: int, now: float) -> None: ...
        def _management(self, i: int, si: int, dpc: int, opc: int, sls: int, rest: bytes,
                        now: float) -> None: ...
        def _link_in_service(self, i: int, now: float) -> None: ...
        def _link_down(self, i: int, now: float, reason: str) -> None: ...

    def __init__(self, links: list[LinkControl], opc: int, dpc: int, variant: Variant, ni: int,
                 timers: list[Machine[Any]]) -> None:
        self.links = links
        self.variant = variant
        self.opc, self.dpc, self.ni = opc, dpc, ni
        self.timers = timers                                  # per link: Timers (MTP3_TIMERS)
        self.available = [False] * len(links)
        self._hold: dict[int, list[tuple[int, bytes]]] = {}   # link -> MSUs waiting for COA/CBA
        self._diverted: set[int] = set()                      # links whose traffic went elsewhere
        self._events: list[Mtp3Event] = []
        self._heads: dict[tuple[int, int], tuple[int, bytes]] = {}   # (si, sls) -> (SIO, label)
        self._users: dict[int, Callable[[bytes, float], Any]] = {}
        self.counters: dict[str, int] = {"discarded": 0, "not_for_us": 0, "changeovers": 0, "changebacks": 0,
                         "retrieved": 0, "slt_failures": 0}

    # ---- user side ------------------------------------------------------------------
    def send(self, si: int, payload: bytes, sls: int, now: float) -> None:
        """MTP-TRANSFER request to the adjacent point; load-shared by ``sls``."""
        key = (si, sls & (0x0F if self.variant is Variant.ITU else 0xFF))
        head = self._heads.get(key)
        if head is None:     # SIO and routing label for this SI and SLS, checked once
            label = RoutingLabel(self.dpc, self.opc, key[1])
            head = self._heads[key] = (encode_sio(si, self.ni), label.encode(self.variant))
        pref = sls % len(self.links)
        if self.available[pref] and not self._hold and not self._diverted:   # _route's usual case
            self.links[pref].send(head[0], head[1] + bytes(payload), now)
        else:
            self._route(head[0], head[1] + bytes(payload), sls, now)

    def send_each(self, si: int, messages: Iterable[tuple[int, bytes]], now: float, sls_mask: int = 0x0F) -> None:
        """:meth:`send` each ``(key, payload)`` of ``messages`` with SLS ``key & sls_mask``
        (ISUP: key = CIC, whose low 4 bits are the SLS, Q.764 2.2.2)."""
        send = self.send
        for key, payload in messages:
            send(si, payload, key & sls_mask, now)

    # ---- service ----------------------------------------------------------------------
    def service(self, now: float) -> list[Mtp3Event]:
        """Run MTP3 over what the links received and the timers due; the events for the users."""
        for i, ln in enumerate(self.links):
            ln.handle_timer(now)
            for ev in ln.events():
                if ev.kind == "msu":
                    self._receive(i, ev.sio, ev.sif, now)
                elif ev.kind == "in_service":
                    self._link_in_service(i, now)
                elif ev.kind in ("out_of_service", "remote_processor_outage"):
                    self._link_down(i, now, ev.reason or ev.kind)
            running = self.timers[i].running
            if running and min(running.values()) <= now:
                self.timers[i].handle_timer(now)     # expiry events: rows of the link's table
        out, self._events = self._events, []
        return out

    # ---- discrimination and distribution (Q.704 clause 2.3, 2.4) --------------------------
    def _receive(self, i: int, sio: int, sif: bytes, now: float) -> None:
        si, ni = sio & 0x0F, (sio >> 6) & 0x03     # decode_sio
        try:
            dpc, opc, sls = decode_label(sif, self.variant)
        except DecodeError:
            self.counters["discarded"] += 1
            return
        if ni != self.ni:
            self.counters["discarded"] += 1
            return
        if dpc != self.opc:
            self.counters["not_for_us"] += 1   # we are not an STP: discard (Q.704 2.3.5)
            return
        rest = sif[self.variant.label_len:]
        if si > _SLTM_SPECIAL:                 # user parts
            deliver = self._users.get(si)
            if deliver is not None and opc == self.dpc and not self._events:
                deliver(rest, now)
            else:
                self._events.append(Mtp3Event("transfer", now, si, opc, dpc, sls, rest, i))
            return
        self._management(i, si, dpc, opc, sls, rest, now)

