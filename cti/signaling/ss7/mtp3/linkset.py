"""A linkset to one adjacent signalling point (Q.704): discrimination, distribution and routing
of MSUs, load sharing by SLS, changeover/changeback, and the signalling link test (Q.707).

Sans-IO: the transport feeds each :class:`Mtp2Link` in :attr:`Linkset.links` and drains
its ``data_to_send``; :meth:`Linkset.service` then runs MTP3 and returns the
:class:`Mtp3Event` list (``transfer`` for user parts, ``pause``/``resume`` when the
destination becomes unreachable/reachable, ``link_up``/``link_down``).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from cti.signaling.errors import DecodeError
from cti.signaling.timers import TimerSpec, Timers

from ..mtp2 import Mtp2Link
from .label import NI, SI, RoutingLabel, Variant, decode_label, encode_sio
from .messages import H, SltMessage, SnmMessage, decode_slt, decode_snm, encode_slt, encode_snm

_T = TimerSpec
#: Q.704 clause 16.8 and Q.707 clause 5.5.
MTP3_TIMERS: dict[str, TimerSpec] = {t.name: t for t in (
    _T("T2", 1.4, 0.7, 2.0, "Q.704 16.8 T2", "waiting for changeover acknowledgement"),
    _T("T4", 0.8, 0.5, 1.2, "Q.704 16.8 T4", "waiting for changeback acknowledgement (first attempt)"),
    _T("T5", 0.8, 0.5, 1.2, "Q.704 16.8 T5", "waiting for changeback acknowledgement (second attempt)"),
    _T("SLT_T1", 8.0, 4.0, 12.0, "Q.707 5.5 T1", "waiting for SLTA"),
    _T("SLT_T2", 60.0, 30.0, 90.0, "Q.707 5.5 T2", "interval between periodic SLTMs"),
)}

_PATTERN = bytes(range(0x11, 0x11 + 15))  # Q.707 5.2: any pattern; 15 octets echoed


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


class Linkset:
    """Links (SLC = index) between ``opc`` (us) and the adjacent ``dpc``."""

    def __init__(self, links: list[Mtp2Link], opc: int, dpc: int, *, variant: Variant = Variant.ITU,
                 ni: int = NI.NATIONAL, timers: dict[str, float] | None = None, link_test: bool = True,
                 max_held: int = 4096) -> None:
        if not links or len(links) > 16:
            raise ValueError("a linkset has 1..16 links")
        self.links = links
        self.variant = Variant(variant)
        RoutingLabel(dpc, opc, 0).encode(self.variant)   # range check
        self.opc, self.dpc, self.ni = opc, dpc, int(ni)
        self.link_test = link_test
        self.max_held = max_held
        self._overrides = {k: v for k, v in (timers or {}).items() if k in MTP3_TIMERS}
        self.timers = [Timers(MTP3_TIMERS, self._overrides) for _ in links]
        self.available = [False] * len(links)
        self._tested = [False] * len(links)
        self._slt_tries = [0] * len(links)
        self._hold: dict[int, list[tuple[int, bytes]]] = {}   # link -> MSUs waiting for COA/CBA
        self._held_all: deque[tuple[int, bytes]] = deque()    # whole linkset down
        self._diverted: set[int] = set()                      # links whose traffic went elsewhere
        self._events: list[Mtp3Event] = []
        self._heads: dict[tuple[int, int], tuple[int, bytes]] = {}   # (si, sls) -> (SIO, label)
        self._was_up = False
        self.counters = {"discarded": 0, "not_for_us": 0, "changeovers": 0, "changebacks": 0,
                         "retrieved": 0, "slt_failures": 0}

    # ---- user side ------------------------------------------------------------------
    def start(self, now: float) -> None:
        for ln in self.links:   # Q.704 12.2: emergency proving while the linkset is unavailable
            ln.emergency = not self.up
            ln.start(now)

    @property
    def up(self) -> bool:
        """The adjacent point is reachable (MTP-RESUME given, no MTP-PAUSE since)."""
        return any(self.available)

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

    def link_for(self, sls: int) -> int | None:
        """The link carrying ``sls`` now (Q.704 4.2 load sharing), or None."""
        n = len(self.links)
        pref = sls % n
        if self.available[pref] and pref not in self._diverted:
            return pref
        avail = [i for i in range(n) if self.available[i] and i not in self._hold]
        return avail[sls % len(avail)] if avail else None

    # ---- service ----------------------------------------------------------------------
    def service(self, now: float) -> list[Mtp3Event]:
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
                for name in self.timers[i].expired(now):
                    self._timer(i, name, now)
        ev, self._events = self._events, []
        return ev

    def timer_deadline(self) -> float | None:
        ds = [d for d in [t.deadline() for t in self.timers] + [ln.timer_deadline() for ln in self.links]
              if d is not None]
        return min(ds, default=None)

    # ---- routing -----------------------------------------------------------------------
    def _route(self, sio: int, sif: bytes, sls: int, now: float) -> None:
        pref = sls % len(self.links)
        if pref in self._hold:
            self._hold[pref].append((sio, sif))
            return
        i = self.link_for(sls)
        if i is None:
            if len(self._held_all) >= self.max_held:
                self._held_all.popleft()
                self.counters["discarded"] += 1
            self._held_all.append((sio, sif))
            return
        self.links[i].send(sio, sif, now)

    def _send_on(self, i: int, si: int, payload: bytes, slc: int, now: float) -> None:
        label = RoutingLabel(self.dpc, self.opc, slc)
        self.links[i].send(encode_sio(si, self.ni), label.encode(self.variant) + payload, now)

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
        if si > SI.SLTM_SPECIAL:                 # user parts
            self._events.append(Mtp3Event("transfer", now, si, opc, dpc, sls, rest, i))
            return
        label = RoutingLabel(dpc, opc, sls)
        try:
            if si == SI.SNM:
                self._snm(i, label, decode_snm(rest), now)
            else:
                self._slt(i, si, label, decode_slt(rest), now)
        except DecodeError:
            self.counters["discarded"] += 1

    # ---- link availability -----------------------------------------------------------------
    def _link_in_service(self, i: int, now: float) -> None:
        self._slt_tries[i] = 0
        if self.link_test:
            self._send_slt(i, now)
        else:
            self._available(i, now)

    def _available(self, i: int, now: float) -> None:
        if self.available[i]:
            return
        was_up = self.up
        self.available[i] = True
        self._events.append(Mtp3Event("link_up", now, link=i))
        for ln in self.links:
            ln.emergency = False
        if not was_up:   # MTP restart (Q.704 clause 9): traffic restart allowed
            self._send_on(i, SI.SNM, encode_snm(SnmMessage(H.TRA)), 0, now)
            self._diverted.clear()
            self._hold.clear()
            self._events.append(Mtp3Event("resume", now, dpc=self.dpc))
            held, self._held_all = list(self._held_all), deque()
            for sio, sif in held:
                self._route(sio, sif, self._sls_of(sif), now)
        elif i in self._diverted:   # changeback (Q.704 clause 6): CBD on the alternative link
            alt = self.link_for(i)
            self._hold[i] = []
            self.counters["changebacks"] += 1
            if alt is not None and alt != i:
                self._send_on(alt, SI.SNM, encode_snm(SnmMessage(H.CBD, i)), i, now)
                self.timers[i].start("T4", now)
            else:
                self._changeback_done(i, now)

    def _link_down(self, i: int, now: float, reason: str) -> None:
        self._tested[i] = False
        for t in ("SLT_T1", "SLT_T2", "T4", "T5"):
            self.timers[i].stop(t)
        if not self.available[i]:
            return
        self.available[i] = False
        self._events.append(Mtp3Event("link_down", now, link=i, reason=reason))
        if not self.up:
            for ln in self.links:
                ln.emergency = True
            for sio, sif in self.links[i].retrieve():
                self._held_all.append((sio, sif))
            self._events.append(Mtp3Event("pause", now, dpc=self.dpc, reason=reason))
            return
        # changeover (Q.704 clause 5): COO with our last accepted FSN on an alternative link
        self.counters["changeovers"] += 1
        self._diverted.add(i)
        self._hold[i] = []
        alt = self.link_for(i)
        if alt is not None:
            self._send_on(alt, SI.SNM, encode_snm(SnmMessage(H.COO, self.links[i].last_accepted_fsn)), i, now)
        self.timers[i].start("T2", now)

    def _changeover_done(self, i: int, bsnt: int | None, now: float) -> None:
        self.timers[i].stop("T2")
        msgs = self.links[i].retrieve(bsnt)
        self.counters["retrieved"] += len(msgs)
        msgs += self._hold.pop(i, [])
        for sio, sif in msgs:
            self._route(sio, sif, self._sls_of(sif), now)

    def _changeback_done(self, i: int, now: float) -> None:
        self.timers[i].stop("T4")
        self.timers[i].stop("T5")
        self._diverted.discard(i)
        for sio, sif in self._hold.pop(i, []):
            self._route(sio, sif, self._sls_of(sif), now)

    def _sls_of(self, sif: bytes) -> int:
        return RoutingLabel.decode(sif, self.variant)[0].sls

    # ---- network management and link test -------------------------------------------------
    def _snm(self, i: int, label: RoutingLabel, m: SnmMessage, now: float) -> None:
        slc = label.sls & 0x0F
        if slc >= len(self.links):
            self.counters["discarded"] += 1
            return
        if m.heading == H.COO:
            if self.available[slc]:          # the far end saw the failure first
                self.links[slc].stop(now)
                self.links[slc].start(now)
                self._link_down(slc, now, "changeover order received")
            self._send_on(i, SI.SNM, encode_snm(SnmMessage(H.COA, self.links[slc].last_accepted_fsn)), slc, now)
            if slc in self._hold or slc in self._diverted:
                self._changeover_done(slc, m.value, now)
        elif m.heading == H.COA:
            if self.timers[slc].is_running("T2"):
                self._changeover_done(slc, m.value, now)
        elif m.heading == H.CBD:
            self._send_on(i, SI.SNM, encode_snm(SnmMessage(H.CBA, m.value)), slc, now)
        elif m.heading == H.CBA:
            if slc in self._hold and slc in self._diverted:
                self._changeback_done(slc, now)
        elif m.heading == H.TRA:
            self.counters["tra"] = self.counters.get("tra", 0) + 1
        else:
            self.counters["discarded"] += 1

    def _send_slt(self, i: int, now: float) -> None:
        self._send_on(i, SI.SLTM, encode_slt(SltMessage(H.SLTM, _PATTERN)), i, now)
        self.timers[i].start("SLT_T1", now)

    def _slt(self, i: int, si: int, label: RoutingLabel, m: SltMessage, now: float) -> None:
        if m.heading == H.SLTM:   # Q.707 2.2: echo the pattern on the same link
            self._send_on(i, si, encode_slt(SltMessage(H.SLTA, m.pattern)), label.sls & 0x0F, now)
        elif m.heading == H.SLTA and self.timers[i].is_running("SLT_T1"):
            if m.pattern == _PATTERN and label.opc == self.dpc:
                self.timers[i].stop("SLT_T1")
                self._tested[i] = True
                self.timers[i].start("SLT_T2", now)
                self._available(i, now)

    def _timer(self, i: int, name: str, now: float) -> None:
        if name == "T2":       # time-controlled changeover (Q.704 5.6): no retrieval
            self._changeover_done(i, None, now)
        elif name == "T4":     # repeat CBD once (Q.704 6.4)
            alt = self.link_for(i)
            if alt is not None and alt != i:
                self._send_on(alt, SI.SNM, encode_snm(SnmMessage(H.CBD, i)), i, now)
            self.timers[i].start("T5", now)
        elif name == "T5":
            self._changeback_done(i, now)
        elif name == "SLT_T1":
            self._slt_tries[i] += 1
            self.counters["slt_failures"] += 1
            if self._slt_tries[i] < 2:
                self._send_slt(i, now)
            else:                # Q.707 2.2: test failed twice: restart the link
                self.links[i].stop(now)
                self.links[i].start(now)
                self._link_down(i, now, "signalling link test failed")
        elif name == "SLT_T2":
            self._send_slt(i, now)
