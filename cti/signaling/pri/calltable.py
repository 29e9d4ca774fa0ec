"""Q.931 basic call control, user side (U0..U25) and network side (N0..N25), as two tables of
the one engine built from one list of rows.

The rows are written once per *role* (:class:`~.states.Role`: we originated the call, or we
received it) and mapped to each side's states (:data:`~.states.STATE_OF`); the few rows that
differ carry ``side``. :data:`USER_TABLE` and :data:`NETWORK_TABLE` are the whole machine;
:class:`~.call.PriCall` (the context) has the actions: :func:`build` takes its class, and the
tables are built once by the module that defines it (:mod:`.q931_py`, compiled or the twin),
so that the rows name the methods of the live class; ``USER_TABLE`` / ``NETWORK_TABLE`` here
are those.

The transient states are rows too: a DISCONNECT received enters U12 / N11 and the RELEASE
request that follows at once (:data:`~.states.Req.RELEASE`) leaves it; on the network side a
CONNECT received enters N8 and the CONNECT ACKNOWLEDGE (``SETUP_COMPLETE``) leaves it.

Not implemented (documented in docs/pri.md): suspend/resume (U15/U17, with T307/T318/T319),
call abort N22 as a state of its own and the supplementary services.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cti.signaling.engine import ANY, Row, Table

from .message import MT
from .states import STATE_OF, Ev, Req, Role
from .timers import Q931_TIMERS

# ---- the rows, by role -------------------------------------------------------------------------
R = Role
_CLEARABLE = (R.O_INITIATED, R.O_OVERLAP, R.O_PROCEEDING, R.O_DELIVERED, R.I_OVERLAP, R.I_PROCEEDING,
              R.I_RECEIVED, R.I_CONNECT, R.ACTIVE)
_OFFERED = (R.I_PRESENT, R.I_OVERLAP, R.I_PROCEEDING, R.I_RECEIVED)


@dataclass(frozen=True)
class _R:
    role: Role | Any
    event: Any
    next: Role | None
    action: Callable[..., Any] | None
    clause: str
    guard: Callable[..., Any] | None = None
    start: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()
    side: str = ""                       #: "user" / "network" only, "" both


def role_rows(P: Any) -> list[_R]:
    """The rows of both sides by role, with the actions and guards of the call class ``P``."""
    return [
        # outgoing call (5.1)
        _R(R.NULL, Req.SETUP, R.O_INITIATED, P.send_setup, "Q.931 5.1.1"),
        _R(R.O_INITIATED, Ev.T303, None, P.repeat_setup, "Q.931 5.1.1 (first expiry)", P.setup_left, ("T303",)),
        _R(R.O_INITIATED, Ev.T303, R.NULL, P.setup_failed, "Q.931 5.1.1 (second expiry: cause 102)"),
        _R(R.O_INITIATED, MT.SETUP_ACKNOWLEDGE, R.O_OVERLAP, P.setup_acked, "Q.931 5.1.3"),
        _R(R.O_INITIATED, Ev.GLARE, R.NULL, P.lost_channel, "Q.931 5.2.3.1 (glare: the network's call keeps the channel)",
           side="user"),
        *[_R(s, MT.CALL_PROCEEDING, R.O_PROCEEDING, P.proceeding, "Q.931 5.1.5.2 / 5.1.6")
          for s in (R.O_INITIATED, R.O_OVERLAP)],
        *[_R(s, MT.ALERTING, R.O_DELIVERED, P.alerting, "Q.931 5.1.7")
          for s in (R.O_INITIATED, R.O_OVERLAP, R.O_PROCEEDING)],
        *[_R(s, MT.CONNECT, R.ACTIVE, P.connected, "Q.931 5.1.8", side="user")
          for s in (R.O_INITIATED, R.O_OVERLAP, R.O_PROCEEDING, R.O_DELIVERED)],
        *[_R(s, MT.CONNECT, R.O_CONNECT, P.connect_request, "Q.931 5.2.8 (network side: N8 connect request)",
             side="network") for s in (R.O_INITIATED, R.O_OVERLAP, R.O_PROCEEDING, R.O_DELIVERED)],
        _R(R.O_CONNECT, Req.SETUP_COMPLETE, R.ACTIVE, P.send_connect_ack, "Q.931 5.2.8 (CONNECT ACKNOWLEDGE sent)",
           side="network"),
        *[_R(s, MT.PROGRESS, None, P.progress, "Q.931 5.1.5.1 / 5.1.6 (T310 stopped)", stop=("T310",))
          for s in (R.O_INITIATED, R.O_OVERLAP, R.O_PROCEEDING, R.O_DELIVERED)],
        _R(R.O_OVERLAP, Req.INFO, None, P.send_info, "Q.931 5.1.3 (overlap sending, T304 restarted)",
           start=("T304",)),
        _R(R.O_OVERLAP, Ev.T304, R.DISC_SENT, P.timeout_disconnect, "Q.931 5.1.3 (T304 expiry: cause 102)",
           start=("T305",), side="user"),
        _R(R.O_PROCEEDING, Ev.T310, R.DISC_SENT, P.timeout_disconnect, "Q.931 5.1.6 (cause 102)", start=("T305",)),
        _R(R.O_DELIVERED, Ev.T301, R.DISC_SENT, P.no_answer, "Q.931 5.1.7 (T301 expiry: cause 19)", start=("T305",)),
        # incoming call (5.2)
        _R(R.NULL, MT.SETUP, R.I_PRESENT, P.offered, "Q.931 5.2.1"),
        _R(R.I_PRESENT, Req.MORE_INFO, R.I_OVERLAP, P.send_setup_ack, "Q.931 5.2.4 (overlap receiving)"),
        _R(R.I_OVERLAP, MT.INFORMATION, None, P.more_digits, "Q.931 5.2.4 (T302 restarted)", start=("T302",)),
        _R(R.I_OVERLAP, Ev.T302, R.I_PROCEEDING, P.overlap_timeout, "Q.931 5.2.4 (number taken as complete)",
           P.has_digits),
        _R(R.I_OVERLAP, Ev.T302, R.DISC_SENT, P.overlap_incomplete, "Q.931 5.2.4 (cause 28)", start=("T305",)),
        *[_R(s, Req.PROCEEDING, R.I_PROCEEDING, P.send_proceeding, "Q.931 5.2.5.2") for s in (R.I_PRESENT, R.I_OVERLAP)],
        *[_R(s, Req.ALERTING, R.I_RECEIVED, P.send_alerting, "Q.931 5.2.5.3")
          for s in (R.I_PRESENT, R.I_OVERLAP, R.I_PROCEEDING)],
        *[_R(s, Req.PROGRESS, None, P.send_progress, "Q.931 5.2.5.3 / 5.5 (in-band information)") for s in _OFFERED],
        *[_R(s, Req.SETUP_RESPONSE, R.I_CONNECT, P.send_connect, "Q.931 5.2.8 (T313)", side="user") for s in _OFFERED],
        *[_R(s, Req.SETUP_RESPONSE, R.ACTIVE, P.send_connect, "Q.931 5.1.8 (network side)", side="network")
          for s in _OFFERED],
        _R(R.I_CONNECT, MT.CONNECT_ACKNOWLEDGE, R.ACTIVE, P.connect_acked, "Q.931 5.2.8"),
        _R(R.I_CONNECT, Ev.T313, R.DISC_SENT, P.timeout_disconnect, "Q.931 5.2.8 (cause 102)", start=("T305",)),
        *[_R(s, Req.REJECT, R.NULL, P.reject, "Q.931 5.2.5.1 (RELEASE COMPLETE)") for s in (R.I_PRESENT, R.I_OVERLAP)],
        _R(R.ACTIVE, MT.CONNECT_ACKNOWLEDGE, None, P.connect_acked, "Q.931 5.1.8 (network side: optional)"),
        # active (5.8.8: data link failure)
        _R(R.ACTIVE, Ev.DL_FAILURE, None, P.ignore, "Q.931 5.8.8 (T309 started)", P.t309_idle, start=("T309",)),
        _R(R.ACTIVE, Ev.DL_FAILURE, None, P.ignore, "Q.931 5.8.8 (T309 already running)"),
        _R(R.ACTIVE, Ev.DL_ESTABLISHED, None, P.link_back, "Q.931 5.8.8 (T309 stopped, STATUS ENQUIRY)",
           stop=("T309",), start=("T322",)),
        _R(ANY, Ev.T309, R.NULL, P.t309_expired, "Q.931 5.8.8 (cause 27)"),
        _R(R.ACTIVE, MT.INFORMATION, None, P.information, "Q.931 5.1.3 / keypad"),
        # clearing (5.3)
        *[_R(s, Req.DISCONNECT, R.DISC_SENT, P.send_disconnect, "Q.931 5.3.4.1 (tones in band: T306)", P.inband_tones,
             start=("T306",), side="network") for s in _CLEARABLE],
        *[_R(s, Req.DISCONNECT, R.DISC_SENT, P.send_disconnect, "Q.931 5.3.2 / 5.3.3", start=("T305",))
          for s in _CLEARABLE],
        *[_R(s, MT.DISCONNECT, R.DISC_RECEIVED, P.remote_disconnect, "Q.931 5.3.4 / 5.3.3 (U12 / N11)")
          for s in (*_CLEARABLE, R.I_PRESENT, R.O_CONNECT)],
        _R(R.DISC_RECEIVED, Req.RELEASE, R.REL_SENT, P.release_after_disconnect, "Q.931 5.3.4 / 5.3.3 (RELEASE sent)"),
        *[_R(s, MT.RELEASE, R.NULL, P.remote_release, "Q.931 5.3.4 / 5.3.5")
          for s in (*_CLEARABLE, R.I_PRESENT, R.O_CONNECT, R.DISC_RECEIVED)],
        _R(R.DISC_SENT, MT.RELEASE, R.NULL, P.released_after_disconnect, "Q.931 5.3.3 / 5.3.4"),
        *[_R(s, MT.RELEASE_COMPLETE, R.NULL, P.release_complete, "Q.931 5.3.2 / 5.3.4 / 5.8.3")
          for s in (*_CLEARABLE, R.I_PRESENT, R.O_CONNECT, R.DISC_SENT, R.DISC_RECEIVED, R.REL_SENT)],
        _R(R.DISC_SENT, Ev.T305, R.REL_SENT, P.disconnect_timeout, "Q.931 5.3.3 / 5.3.4"),
        _R(R.DISC_SENT, Ev.T306, R.REL_SENT, P.disconnect_timeout, "Q.931 5.3.4.1 (T306: tones stopped, RELEASE)",
           side="network"),
        _R(R.DISC_SENT, MT.DISCONNECT, R.REL_SENT, P.send_release, "Q.931 5.3.5 (clear collision)"),
        _R(R.REL_SENT, MT.RELEASE, R.NULL, P.release_complete, "Q.931 5.3.5 (clear collision)"),
        _R(R.REL_SENT, Ev.T308, None, P.repeat_release, "Q.931 5.3.4 (first expiry)", P.release_left, ("T308",)),
        _R(R.REL_SENT, Ev.T308, R.NULL, P.release_timeout, "Q.931 5.3.4.3 (second expiry)"),
        *[_R(R.REL_SENT, mt, None, P.ignore, "Q.931 5.3.4 (clearing in progress)")
          for mt in (MT.DISCONNECT, MT.STATUS_ENQUIRY, MT.INFORMATION, MT.PROGRESS, MT.ALERTING, MT.CONNECT,
                     MT.CALL_PROCEEDING, MT.CONNECT_ACKNOWLEDGE, MT.NOTIFY, MT.SETUP_ACKNOWLEDGE)],
        # status (5.8.10, 5.8.11) and data link failure in other states
        _R(ANY, MT.STATUS_ENQUIRY, None, P.answer_enquiry, "Q.931 5.8.11 (STATUS cause 30)"),
        _R(ANY, MT.STATUS, R.NULL, P.status_peer_null, "Q.931 5.8.10 (peer in state 0)", P.peer_null, stop=("T322",)),
        _R(ANY, MT.STATUS, R.REL_SENT, P.status_incompatible, "Q.931 5.8.10 (cause 101)", P.incompatible,
           stop=("T322",)),
        _R(ANY, MT.STATUS, None, P.status_ok, "Q.931 5.8.10 (compatible)", stop=("T322",)),
        _R(ANY, Req.STATUS_ENQUIRY, None, P.send_status_enquiry, "Q.931 5.8.10", start=("T322",)),
        _R(ANY, Ev.T322, None, P.repeat_status_enquiry, "Q.931 5.8.10 (repeated)", P.enquiry_left, ("T322",)),
        _R(ANY, Ev.T322, R.REL_SENT, P.enquiry_failed, "Q.931 5.8.10 (no answer: cause 41)"),
        _R(ANY, Ev.DL_FAILURE, R.NULL, P.link_lost, "Q.931 5.8.8 (not active: cleared)"),
        _R(ANY, Ev.DL_ESTABLISHED, None, P.ignore, "Q.931 5.8.8"),
        _R(ANY, MT.NOTIFY, None, P.notify, "Q.931 5.9"),
        *[_R(ANY, mt, None, P.unexpected, "Q.931 5.8.4 (STATUS cause 98)")
          for mt in (MT.SETUP, MT.SETUP_ACKNOWLEDGE, MT.CALL_PROCEEDING, MT.ALERTING, MT.CONNECT, MT.PROGRESS,
                     MT.CONNECT_ACKNOWLEDGE, MT.INFORMATION, MT.DISCONNECT, MT.RESTART, MT.RESTART_ACKNOWLEDGE)],
    ]

#: entry timers per role (Q.931 Tables 9-1 / 9-2)
ENTRY: dict[Role, tuple[str, ...]] = {
    R.O_INITIATED: ("T303",), R.O_OVERLAP: ("T304",), R.O_PROCEEDING: ("T310",), R.O_DELIVERED: ("T301",),
    R.I_OVERLAP: ("T302",), R.I_CONNECT: ("T313",), R.REL_SENT: ("T308",),
}
#: timers the rows entering a role start (which one depends on the row: T305, or T306 with tones
#: in band); every row leaving the role stops them
ROW_STARTED: dict[Role, tuple[str, ...]] = {R.DISC_SENT: ("T305", "T306")}
EXPIRY = {name: Ev[name] for name in ("T301", "T302", "T303", "T304", "T305", "T306", "T308", "T309", "T310",
                                      "T313", "T322")}
#: timers of one side only (Q.931 Table 9-1 network, Table 9-2 user)
SIDE_ONLY = {"T304": "user", "T313": "user", "T306": "network"}


def build(side: str, call_class: Any) -> Table:
    """The table of one side (``"user"`` / ``"network"``) whose actions are ``call_class``'s."""
    st = STATE_OF[side]
    timers = {n: s for n, s in Q931_TIMERS.items() if n in EXPIRY and SIDE_ONLY.get(n, side) == side}
    rows = []
    for r in role_rows(call_class):
        if r.side and r.side != side:
            continue
        if (r.role is not ANY and r.role not in st) or (r.next is not None and r.next not in st):
            continue
        stop = r.stop
        for role, started in ROW_STARTED.items():
            if r.role in (role, ANY) and r.next not in (None, role):
                stop += tuple(t for t in started if t not in stop)
        rows.append(Row(r.role if r.role is ANY else st[r.role], r.event, None if r.next is None else st[r.next],
                        r.action, r.guard, tuple(t for t in r.start if t in timers),
                        tuple(t for t in stop if t in timers), r.clause))
    return Table(f"Q.931 {side} side", st[R.NULL], tuple(rows), timers=timers,
                 entry={st[r]: tuple(t for t in ts if t in timers) for r, ts in ENTRY.items() if r in st},
                 expiry={n: e for n, e in EXPIRY.items() if n in timers}, final=frozenset({st[R.NULL]}))


def __getattr__(name: str) -> Any:
    """``USER_TABLE`` / ``NETWORK_TABLE``: the live build's tables (built where :class:`PriCall`
    is defined; taken from there on first use, which avoids an import cycle)."""
    if name in ("USER_TABLE", "NETWORK_TABLE"):
        from . import q931
        return getattr(q931, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
