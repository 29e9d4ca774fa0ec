"""A linkset to one adjacent signalling point (Q.704): discrimination, distribution and routing
of MSUs, load sharing by SLS, changeover/changeback, and the signalling link test (Q.707).

Sans-IO: the transport feeds each :class:`Mtp2Link` in :attr:`Linkset.links` and drains
its ``data_to_send``; :meth:`Linkset.service` then runs MTP3 and returns the
:class:`Mtp3Event` list (``transfer`` for user parts, ``pause``/``resume`` when the
destination becomes unreachable/reachable, ``link_up``/``link_down``). The per-MSU path
(routing, load sharing, discrimination, distribution) is the core of :mod:`.route`
(compiled ``route_c`` or its twin ``route_py``); management and link test live here.
"""
from __future__ import annotations

import enum
from collections import deque
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any
from collections.abc import Callable

from _boardcore import _select
from cti.signaling.errors import DecodeError
from cti.signaling.engine import Machine, Row, Table
from cti.signaling.timers import TimerSpec

from ..mtp2.link import LinkControl
from .label import NI, SI, RoutingLabel, Variant, encode_sio
from .messages import (H, SltMessage, SnmMessage, UpuCause, UpuMessage, decode_slt, decode_snm, decode_upu,
                       encode_slt, encode_snm, encode_upu)

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

#: dotted prefix of the per-MSU core (``route_c`` compiled, ``route_py`` twin)
CORE = "cti.signaling.ss7.mtp3.route"


class LinkMgmt(str, enum.Enum):
    """Events of one link's management machine (:data:`LINK_TABLE`)."""

    CHANGEOVER = "changeover"              #: the link failed: COO (on an alternative link), T2
    CHANGEOVER_DONE = "changeover_done"    #: COO received for it: retrieval (m: BSNT)
    COA = "coa"                            #: COA received (m: BSNT): only while T2 runs
    CHANGEBACK = "changeback"              #: the link is back: CBD on the alternative link, T4
    CHANGEBACK_DONE = "changeback_done"    #: CBA received: traffic back on the link
    SLT = "slt"                            #: signalling link test: SLTM, SLT_T1
    SLTA = "slta"                          #: the SLTA with our pattern: only while SLT_T1 runs
    DOWN = "down"                          #: the link went out of service: its tests stop


class Mtp3Expiry(str, enum.Enum):
    """A link management timer ran out (Q.704 16.8, Q.707 5.5): the engine fires these."""

    T2 = "T2"
    T4 = "T4"
    T5 = "T5"
    SLT_T1 = "SLT_T1"
    SLT_T2 = "SLT_T2"


class LinkCtx:
    """What the actions of :data:`LINK_TABLE` act on: link ``i`` of linkset ``ls``."""

    __slots__ = ("ls", "i")

    def __init__(self, ls: LinksetControl, i: int) -> None:
        self.ls, self.i = ls, i


# ---- actions (ctx, message, now) and guards (ctx, message) of LINK_TABLE -------------------------
def send_coo(c: LinkCtx, alt: Any, now: float) -> None:
    """Q.704 5.2: COO with our last accepted FSN on the alternative link ``alt`` (if any)."""
    if alt is not None:
        c.ls._send_on(alt, SI.SNM, encode_snm(SnmMessage(H.COO, c.ls.links[c.i].last_accepted_fsn)), c.i, now)


def changeover_done(c: LinkCtx, bsnt: Any, now: float) -> None:
    """Q.704 5.4/5.6: retrieval from BSNT (None: time-controlled, nothing retrieved), re-route."""
    c.ls._changeover_work(c.i, bsnt if isinstance(bsnt, int) else None, now)


def send_cbd(c: LinkCtx, m: Any, now: float) -> None:
    """Q.704 6.2: CBD on the alternative link (first attempt, or again once when T4 expires)."""
    alt = c.ls.link_for(c.i)
    if alt is not None and alt != c.i:
        c.ls._send_on(alt, SI.SNM, encode_snm(SnmMessage(H.CBD, c.i)), c.i, now)


def changeback_done(c: LinkCtx, m: Any, now: float) -> None:
    c.ls._changeback_work(c.i, now)


def send_sltm(c: LinkCtx, m: Any, now: float) -> None:
    c.ls._send_on(c.i, SI.SLTM, encode_slt(SltMessage(H.SLTM, _PATTERN)), c.i, now)


def slt_passed(c: LinkCtx, m: Any, now: float) -> None:
    c.ls._tested[c.i] = True
    c.ls._available(c.i, now)


def slt_retry(c: LinkCtx, m: Any, now: float) -> None:
    """Q.707 2.2: no SLTA: count the failure and test once more."""
    c.ls._slt_tries[c.i] += 1
    c.ls.counters["slt_failures"] += 1
    send_sltm(c, m, now)


def slt_failed(c: LinkCtx, m: Any, now: float) -> None:
    """Q.707 2.2: the test failed twice: restart the link."""
    c.ls._slt_tries[c.i] += 1
    c.ls.counters["slt_failures"] += 1
    c.ls.links[c.i].stop(now)
    c.ls.links[c.i].start(now)
    c.ls._link_down(c.i, now, "signalling link test failed")


def _running(timer: str) -> Any:
    def guard(c: LinkCtx, m: Any) -> bool:
        return bool(c.ls.timers[c.i].is_running(timer))
    guard.__name__ = f"{timer}_running"
    return guard


def first_slt_try(c: LinkCtx, m: Any) -> bool:
    return bool(c.ls._slt_tries[c.i] == 0)


class LinkMgmtState(str, enum.Enum):
    ACTIVE = "active"   #: the one state: changeover, changeback and the link test run side by side


_A = LinkMgmtState.ACTIVE
_E = LinkMgmt
#: Management of one link of the linkset: its timers (T2, T4, T5, SLT_T1, SLT_T2) are started
#: and stopped by rows, their expiry is an event, time is passed in. The procedures of a link
#: may overlap (a link test while a changeback is acknowledged), so the running timers are the
#: state and the table has one.
LINK_TABLE = Table("mtp3 link management", _A, (
    Row(_A, _E.CHANGEOVER, None, send_coo, start=("T2",), clause="Q.704 5.2"),
    Row(_A, _E.COA, None, changeover_done, _running("T2"), stop=("T2",), clause="Q.704 5.4"),
    Row(_A, _E.CHANGEOVER_DONE, None, changeover_done, stop=("T2",), clause="Q.704 5.4"),
    Row(_A, Mtp3Expiry.T2, None, changeover_done, clause="Q.704 5.6 (time-controlled changeover)"),
    Row(_A, _E.CHANGEBACK, None, send_cbd, start=("T4",), clause="Q.704 6.2"),
    Row(_A, Mtp3Expiry.T4, None, send_cbd, start=("T5",), clause="Q.704 6.4 (CBD repeated once)"),
    Row(_A, _E.CHANGEBACK_DONE, None, changeback_done, stop=("T4", "T5"), clause="Q.704 6.3"),
    Row(_A, Mtp3Expiry.T5, None, changeback_done, clause="Q.704 6.4"),
    Row(_A, _E.SLT, None, send_sltm, start=("SLT_T1",), clause="Q.707 2.2"),
    Row(_A, _E.SLTA, None, slt_passed, _running("SLT_T1"), stop=("SLT_T1",), start=("SLT_T2",),
        clause="Q.707 2.2"),
    Row(_A, Mtp3Expiry.SLT_T1, None, slt_retry, first_slt_try, start=("SLT_T1",), clause="Q.707 2.2"),
    Row(_A, Mtp3Expiry.SLT_T1, None, slt_failed, clause="Q.707 2.2"),
    Row(_A, Mtp3Expiry.SLT_T2, None, send_sltm, start=("SLT_T1",), clause="Q.707 5.5 (periodic test)"),
    Row(_A, _E.DOWN, None, None, stop=("SLT_T1", "SLT_T2", "T4", "T5"), clause="Q.704 5.1"),
), timers=MTP3_TIMERS, expiry={t.value: t for t in Mtp3Expiry}, final=frozenset({_A}))


if TYPE_CHECKING:    # the checker sees the control on its twin core; at run time it is a mixin
    from .route_py import LinksetCore as _Core
else:
    _Core = object


class LinksetControl(_Core):
    """Links (SLC = index) between ``opc`` (us) and the adjacent ``dpc``: link availability,
    changeover/changeback (Q.704 clauses 5, 6), MTP restart, signalling link test (Q.707);
    mixed with a per-MSU core (:class:`route_py.LinksetCore` or its compiled twin) by
    :func:`linkset_class`."""

    def __init__(self, links: list[LinkControl], opc: int, dpc: int, *, variant: Variant = Variant.ITU,
                 ni: int = NI.NATIONAL, timers: dict[str, float] | None = None, link_test: bool = True,
                 max_held: int = 4096) -> None:
        if not links or len(links) > 16:
            raise ValueError("a linkset has 1..16 links")
        variant = Variant(variant)
        RoutingLabel(dpc, opc, 0).encode(variant)   # range check
        self._overrides = {k: v for k, v in (timers or {}).items() if k in MTP3_TIMERS}
        #: per link: its management machine on LINK_TABLE (the core reads ``running`` and
        #: calls ``handle_timer``)
        machines: list[Machine[LinkCtx]] = [Machine(LINK_TABLE, LinkCtx(self, i), name=f"mtp3.link{i}",
                                                    timer_values=self._overrides) for i in range(len(links))]
        super().__init__(links, opc, dpc, variant, int(ni), machines)
        self.link_test = link_test
        self.max_held = max_held
        self._tested = [False] * len(links)
        self._slt_tries = [0] * len(links)
        self._held_all: deque[tuple[int, bytes]] = deque()    # whole linkset down
        self._was_up = False

    # ---- user side ------------------------------------------------------------------
    def start(self, now: float) -> None:
        for ln in self.links:   # Q.704 12.2: emergency proving while the linkset is unavailable
            ln.emergency = not self.up
            ln.start(now)

    @property
    def up(self) -> bool:
        """The adjacent point is reachable (MTP-RESUME given, no MTP-PAUSE since)."""
        return any(self.available)

    def bind_user_part(self, si: int, deliver: Callable[[bytes, float], Any] | None) -> None:
        """MTP-TRANSFER indications for user part ``si`` from the adjacent point go straight to
        ``deliver(payload, now)`` instead of ``transfer`` events (None unbinds). Order is kept:
        once another event is pending in a :meth:`service` round, later ones queue behind it."""
        if not SI.SLTM_SPECIAL < si <= 15:
            raise ValueError(f"SI {si} is not a user part (3..15)")
        if deliver is None:
            self._users.pop(si, None)
        else:
            self._users[si] = deliver

    def user_part(self, si: int) -> Callable[[bytes, float], Any] | None:
        """What :meth:`bind_user_part` bound to ``si``, or None."""
        return self._users.get(si)

    def user_part_unavailable(self, si: int, opc: int, now: float) -> None:
        """A message from ``opc`` for user part ``si``, which we do not have: tell the sender
        with a UPU, cause "unequipped remote user" (Q.704 2.4.2, 15.17), not silence."""
        self.counters["upu_sent"] = self.counters.get("upu_sent", 0) + 1
        if opc != self.dpc:
            return                       # not from the adjacent point (we are not an STP)
        upu = encode_upu(UpuMessage(self.opc, si, UpuCause.UNEQUIPPED), self.variant.pc_bits)
        self.send(SI.SNM, upu, 0, now)

    def link_for(self, sls: int) -> int | None:
        """The link carrying ``sls`` now (Q.704 4.2 load sharing), or None."""
        n = len(self.links)
        pref = sls % n
        if self.available[pref] and pref not in self._diverted:
            return pref
        avail = [i for i in range(n) if self.available[i] and i not in self._hold]
        return avail[sls % len(avail)] if avail else None

    # ---- service ----------------------------------------------------------------------
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

    # ---- MTP's own messages (Q.704 clause 2.4.1: SI 0 and 1/2) --------------------------------
    def _management(self, i: int, si: int, dpc: int, opc: int, sls: int, rest: bytes, now: float) -> None:
        """An SNM or SLTM/SLTA message for us, received on link ``i`` (the core discriminated it)."""
        label = RoutingLabel(dpc, opc, sls)
        try:
            if si == SI.SNM and rest[:1] == bytes((H.UPU,)):
                upu = decode_upu(rest, self.variant.pc_bits)
                self.counters["upu_received"] = self.counters.get("upu_received", 0) + 1
                self._events.append(self.Event("user_part_unavailable", now, si=upu.upi, opc=opc,
                                               dpc=upu.destination, reason=f"cause {upu.cause}"))
            elif si == SI.SNM:
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
        self._events.append(self.Event("link_up", now, link=i))
        for ln in self.links:
            ln.emergency = False
        if not was_up:   # MTP restart (Q.704 clause 9): traffic restart allowed
            self._send_on(i, SI.SNM, encode_snm(SnmMessage(H.TRA)), 0, now)
            self._diverted.clear()
            self._hold.clear()
            self._events.append(self.Event("resume", now, dpc=self.dpc))
            held, self._held_all = list(self._held_all), deque()
            for sio, sif in held:
                self._route(sio, sif, self._sls_of(sif), now)
        elif i in self._diverted:   # changeback (Q.704 clause 6): CBD on the alternative link
            alt = self.link_for(i)
            self._hold[i] = []
            self.counters["changebacks"] += 1
            if alt is not None and alt != i:
                self.timers[i].fire(LinkMgmt.CHANGEBACK, None, now)
            else:
                self._changeback_done(i, now)

    def _link_down(self, i: int, now: float, reason: str) -> None:
        self._tested[i] = False
        self.timers[i].fire(LinkMgmt.DOWN, None, now)
        if not self.available[i]:
            return
        self.available[i] = False
        self._events.append(self.Event("link_down", now, link=i, reason=reason))
        if not self.up:
            for ln in self.links:
                ln.emergency = True
            for sio, sif in self.links[i].retrieve():
                self._held_all.append((sio, sif))
            self._events.append(self.Event("pause", now, dpc=self.dpc, reason=reason))
            return
        # changeover (Q.704 clause 5): COO with our last accepted FSN on an alternative link
        self.counters["changeovers"] += 1
        self._diverted.add(i)
        self._hold[i] = []
        self.timers[i].fire(LinkMgmt.CHANGEOVER, self.link_for(i), now)

    def _changeover_done(self, i: int, bsnt: int | None, now: float) -> None:
        self.timers[i].fire(LinkMgmt.CHANGEOVER_DONE, bsnt, now)

    def _changeover_work(self, i: int, bsnt: int | None, now: float) -> None:
        msgs = self.links[i].retrieve(bsnt)
        self.counters["retrieved"] += len(msgs)
        msgs += self._hold.pop(i, [])
        for sio, sif in msgs:
            self._route(sio, sif, self._sls_of(sif), now)

    def _changeback_done(self, i: int, now: float) -> None:
        self.timers[i].fire(LinkMgmt.CHANGEBACK_DONE, None, now)

    def _changeback_work(self, i: int, now: float) -> None:
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
            self.timers[slc].fire_if(LinkMgmt.COA, m.value, now)     # only while T2 runs
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
        self.timers[i].fire(LinkMgmt.SLT, None, now)

    def _slt(self, i: int, si: int, label: RoutingLabel, m: SltMessage, now: float) -> None:
        if m.heading == H.SLTM:   # Q.707 2.2: echo the pattern on the same link
            self._send_on(i, si, encode_slt(SltMessage(H.SLTA, m.pattern)), label.sls & 0x0F, now)
        elif m.heading == H.SLTA and m.pattern == _PATTERN and label.opc == self.dpc:
            self.timers[i].fire_if(LinkMgmt.SLTA, m, now)          # only while SLT_T1 runs


@cache
def linkset_class(core: ModuleType) -> type[LinksetControl]:
    """The linkset class built on ``core`` (the compiled ``route_c`` or the twin ``route_py``)."""
    cls: type[LinksetControl] = type("Linkset", (LinksetControl, core.LinksetCore),
                                     {"__module__": __name__, "__doc__": LinksetControl.__doc__,
                                      "Event": core.Mtp3Event})
    return cls


#: The live implementation (compiled core unless BOARDCORE_NO_EXTENSIONS=1 or not built).
Linkset = linkset_class(_select.load(CORE))
if TYPE_CHECKING:
    from .route_py import Mtp3Event as Mtp3Event
else:
    Mtp3Event = Linkset.Event
