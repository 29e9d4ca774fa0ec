"""Q.931 basic call control per call reference, user side (U0..U25) and network side
(N0..N25), as two tables of the one engine built from one list of rows.

Q.931 numbers its states so that both sides of one call share the number of a phase seen
from the user (U1 "call initiated" is the user that sent SETUP, N1 the network that received
it). The rows below are therefore written once per *role* (:class:`Role`: we originated
the call, or we received it) and mapped to each side's states (:data:`STATE_OF`); the few
rows that differ carry ``side``. The tables :data:`USER_TABLE` and :data:`NETWORK_TABLE` are
the whole machine; :class:`PriCall` (the context) has the actions, which build messages.

Not implemented (documented in docs/pri.md): suspend/resume (U15/U17), call abort N22 as a
state of its own, T301/T304/T306/T307 and the supplementary services.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from collections.abc import Callable

from cti.signaling.engine import ANY, Row, Table

from . import ie as IE
from .message import MT, Message
from .timers import N322, Q931_TIMERS

if TYPE_CHECKING:
    from .q931 import Q931


class U(enum.IntEnum):
    """User-side call states (Q.931 2.1.1)."""

    U0_NULL = 0
    U1_CALL_INITIATED = 1
    U2_OVERLAP_SENDING = 2
    U3_OUTGOING_CALL_PROCEEDING = 3
    U4_CALL_DELIVERED = 4
    U6_CALL_PRESENT = 6
    U7_CALL_RECEIVED = 7
    U8_CONNECT_REQUEST = 8
    U9_INCOMING_CALL_PROCEEDING = 9
    U10_ACTIVE = 10
    U11_DISCONNECT_REQUEST = 11
    U12_DISCONNECT_INDICATION = 12
    U19_RELEASE_REQUEST = 19
    U25_OVERLAP_RECEIVING = 25


class N(enum.IntEnum):
    """Network-side call states (Q.931 2.1.2)."""

    N0_NULL = 0
    N1_CALL_INITIATED = 1
    N2_OVERLAP_SENDING = 2
    N3_OUTGOING_CALL_PROCEEDING = 3
    N4_CALL_DELIVERED = 4
    N6_CALL_PRESENT = 6
    N7_CALL_RECEIVED = 7
    N8_CONNECT_REQUEST = 8
    N9_INCOMING_CALL_PROCEEDING = 9
    N10_ACTIVE = 10
    N11_DISCONNECT_REQUEST = 11
    N12_DISCONNECT_INDICATION = 12
    N19_RELEASE_REQUEST = 19
    N25_OVERLAP_RECEIVING = 25


class Role(enum.Enum):
    """A phase of the call by who did what (mapped to U/N states by :data:`STATE_OF`)."""

    NULL = "null"
    O_INITIATED = "we sent SETUP"
    O_OVERLAP = "SETUP ACK received (we send more digits)"
    O_PROCEEDING = "CALL PROCEEDING received"
    O_DELIVERED = "ALERTING received"
    I_PRESENT = "SETUP received"
    I_OVERLAP = "SETUP ACK sent (digits awaited)"
    I_PROCEEDING = "CALL PROCEEDING sent"
    I_RECEIVED = "ALERTING sent"
    I_CONNECT = "CONNECT sent, CONNECT ACK awaited (user side)"
    ACTIVE = "active"
    DISC_SENT = "DISCONNECT sent"
    REL_SENT = "RELEASE sent"


STATE_OF: dict[str, dict[Role, Any]] = {
    "user": {Role.NULL: U.U0_NULL, Role.O_INITIATED: U.U1_CALL_INITIATED, Role.O_OVERLAP: U.U2_OVERLAP_SENDING,
             Role.O_PROCEEDING: U.U3_OUTGOING_CALL_PROCEEDING, Role.O_DELIVERED: U.U4_CALL_DELIVERED,
             Role.I_PRESENT: U.U6_CALL_PRESENT, Role.I_OVERLAP: U.U25_OVERLAP_RECEIVING,
             Role.I_PROCEEDING: U.U9_INCOMING_CALL_PROCEEDING, Role.I_RECEIVED: U.U7_CALL_RECEIVED,
             Role.I_CONNECT: U.U8_CONNECT_REQUEST, Role.ACTIVE: U.U10_ACTIVE,
             Role.DISC_SENT: U.U11_DISCONNECT_REQUEST, Role.REL_SENT: U.U19_RELEASE_REQUEST},
    "network": {Role.NULL: N.N0_NULL, Role.O_INITIATED: N.N6_CALL_PRESENT, Role.O_OVERLAP: N.N25_OVERLAP_RECEIVING,
                Role.O_PROCEEDING: N.N9_INCOMING_CALL_PROCEEDING, Role.O_DELIVERED: N.N7_CALL_RECEIVED,
                Role.I_PRESENT: N.N1_CALL_INITIATED, Role.I_OVERLAP: N.N2_OVERLAP_SENDING,
                Role.I_PROCEEDING: N.N3_OUTGOING_CALL_PROCEEDING, Role.I_RECEIVED: N.N4_CALL_DELIVERED,
                Role.ACTIVE: N.N10_ACTIVE, Role.DISC_SENT: N.N12_DISCONNECT_INDICATION,
                Role.REL_SENT: N.N19_RELEASE_REQUEST},
}


class Req(enum.Enum):
    """Requests from the layer above (primitives of Q.931 Annex / the adapter)."""

    SETUP = "SETUP-REQ"
    MORE_INFO = "MORE-INFO-REQ"          #: overlap receiving: SETUP ACK
    INFO = "INFO-REQ"                    #: overlap sending: INFORMATION with digits
    PROCEEDING = "PROCEEDING-REQ"
    ALERTING = "ALERTING-REQ"
    PROGRESS = "PROGRESS-REQ"
    SETUP_RESPONSE = "SETUP-RESP"        #: answer: CONNECT
    DISCONNECT = "DISCONNECT-REQ"
    REJECT = "REJECT-REQ"                #: refuse an offered call: RELEASE COMPLETE
    STATUS_ENQUIRY = "STATUS-ENQUIRY-REQ"


class Ev(enum.Enum):
    """Timer expiries and data link changes, as events of the table."""

    T302 = "T302"
    T303 = "T303"
    T305 = "T305"
    T308 = "T308"
    T309 = "T309"
    T310 = "T310"
    T313 = "T313"
    T322 = "T322"
    GLARE = "B channel taken by the network's SETUP"
    DL_FAILURE = "data link failure"
    DL_ESTABLISHED = "data link established"


@dataclass(slots=True)
class CallEvent:
    """What a call tells the layer above."""

    kind: str                  #: setup, more_digits, setup_ack, proceeding, alerting, progress,
    #:                            answered, connected, information, notify, released, status
    call: PriCall
    time: float
    cause: int = 0
    remote: bool = True
    reason: str = ""
    digits: str = ""
    progress: int = 0          #: progress description (8: in-band information available)


class PriCall:
    """One call reference and its machine; the actions of the tables are its methods."""

    def __init__(self, node: Q931, cref: int, ours: bool, now: float) -> None:
        self.node = node
        self.cref = cref
        self.ours = ours                   #: we allocated the call reference (we sent SETUP)
        self.channel: int | None = None    #: E1 timeslot of the B channel
        self.exclusive = True
        self.called = ""
        self.calling: IE.CallingNumber | None = None
        self.complete = True               #: the called number is complete (en-bloc)
        self.cause = 16
        self.reported = False              #: "released" told to the layer above
        self.setups = 0                    #: SETUPs sent (T303)
        self.releases = 0                  #: RELEASEs sent (T308)
        self.enquiries = 0                 #: STATUS ENQUIRYs sent (T322)
        self.first_response = True
        self.started = now
        self.display = ""
        self.inband = False                #: progress indicator 8 seen: tones in band
        #: Q.931 5.8.6 / 5.8.7: cause our RELEASE / RELEASE COMPLETE carries after a bad message
        self.error_cause: int | None = None
        self.called_ton = 0
        self.hlc: int | None = None
        self.glare_channel = 0             #: the channel it lost
        self.glare = False                 #: our outgoing call lost its channel to the peer's SETUP
        self.m = node.new_machine(self)

    @property
    def state(self) -> Any:
        return self.m.state

    def __repr__(self) -> str:
        return f"PriCall(cref={self.cref}{'*' if not self.ours else ''}, ch={self.channel}, {self.m.state.name})"

    # ---- helpers --------------------------------------------------------------------------
    def send(self, mt: MT, *ies: IE.Ie) -> None:
        self.node.send_message(Message(mt, self.cref, not self.ours, list(ies)))

    def event(self, kind: str, now: float, **kw: Any) -> None:
        self.node.call_event(CallEvent(kind, self, now, **kw))

    def channel_ie(self) -> IE.ChannelId:
        assert self.channel is not None
        return IE.ChannelId((self.channel,), self.exclusive)

    def _cause(self, value: int | None = None) -> IE.Cause:
        return IE.Cause(self.cause if value is None else value, self.node.location)

    def _released(self, now: float, cause: int, remote: bool, reason: str) -> None:
        if not self.reported:
            self.reported = True
            self.event("released", now, cause=cause, remote=remote, reason=reason)

    @staticmethod
    def _cause_of(m: Any) -> int:
        c = m.get(IE.Cause) if isinstance(m, Message) else None
        return c.value if c is not None else 16

    def _note_progress(self, m: Any, now: float, kind: str) -> None:
        p = m.get(IE.Progress) if isinstance(m, Message) else None
        if p is not None and p.description in (1, 8):
            self.inband = True
        self.event(kind, now, progress=p.description if p else 0)

    def _take_channel(self, m: Any) -> None:
        ch = m.get(IE.ChannelId) if isinstance(m, Message) else None
        if ch is not None and ch.channels:
            self.node.move_channel(self, ch.channels[0])

    # ---- outgoing call ----------------------------------------------------------------------
    def send_setup(self, m: Any, now: float) -> None:
        self.setups += 1
        self.node.counters["setup_tx"] += 1
        self.send(MT.SETUP, *self.node.setup_ies(self))

    def repeat_setup(self, m: Any, now: float) -> None:
        """T303 first expiry: SETUP again (Q.931 5.1.1)."""
        self.node.counters["t303_repeat"] += 1
        self.send_setup(m, now)

    def setup_failed(self, m: Any, now: float) -> None:
        """T303 second expiry: RELEASE COMPLETE cause 102, the call is over (5.1.1)."""
        self.send(MT.RELEASE_COMPLETE, self._cause(102))
        self._released(now, 102, True, "T303 expired twice: no answer to SETUP")
        self.node.free(self, now)

    def lost_channel(self, m: Any, now: float) -> None:
        """Glare on a B channel, user side: the network's SETUP takes the channel our SETUP
        asked for exclusively; our call is withdrawn (RELEASE COMPLETE 44) so the layer above
        can place it again on another channel (Q.931 5.2.3.1, 5.1.2)."""
        self.send(MT.RELEASE_COMPLETE, self._cause(44))
        self._released(now, 44, True, "B channel taken by the network's call (glare)")
        self.node.free(self, now)

    def setup_acked(self, m: Message, now: float) -> None:
        self._take_channel(m)
        self.event("setup_ack", now)

    def proceeding(self, m: Message, now: float) -> None:
        self._take_channel(m)
        self._note_progress(m, now, "proceeding")

    def alerting(self, m: Message, now: float) -> None:
        self._take_channel(m)
        self._note_progress(m, now, "alerting")

    def progress(self, m: Message, now: float) -> None:
        self._take_channel(m)
        self._note_progress(m, now, "progress")

    def connected(self, m: Message, now: float) -> None:
        """CONNECT received: CONNECT ACK where the side/variant sends one (5.1.8 / 5.2.8)."""
        self._take_channel(m)
        if self.node.network or self.node.variant.user_connect_ack:
            self.send(MT.CONNECT_ACKNOWLEDGE)
        self.event("answered", now)

    def send_info(self, m: Any, now: float) -> None:
        digits, complete = m if isinstance(m, tuple) else (str(m or ""), False)
        self.called += digits
        ies: list[IE.Ie] = [IE.CalledNumber(digits, IE.Ton.UNKNOWN, self.node.variant.plan)] if digits else []
        if complete:
            ies.append(IE.SendingComplete())
        self.send(MT.INFORMATION, *ies)

    # ---- incoming call ----------------------------------------------------------------------
    def offered(self, m: Message, now: float) -> None:
        """SETUP received: en-bloc (Sending complete, or overlap receiving off) or overlap."""
        num = m.get(IE.CalledNumber)
        self.called = num.digits if num else ""
        self.calling = m.get(IE.CallingNumber)
        d = m.get(IE.Display)
        self.display = d.text if d else ""
        self.complete = m.get(IE.SendingComplete) is not None or not self.node.overlap_receiving \
            or self.node.number_complete(self.called)
        self.event("setup" if self.complete else "overlap", now, digits=self.called)

    def send_setup_ack(self, m: Any, now: float) -> None:
        self.send(MT.SETUP_ACKNOWLEDGE, *self._first())

    def _first(self) -> list[IE.Ie]:
        """The channel in our first answer to a SETUP (Q.931 5.2.3.1)."""
        if self.first_response:
            self.first_response = False
            if self.node.network or self.node.variant.channel_id_in_first_response:
                return [IE.ChannelId((self.channel,), True)] if self.channel else []
        return []

    def more_digits(self, m: Message, now: float) -> None:
        """INFORMATION in overlap receiving (5.2.4): digits added; complete with Sending
        complete or the configured number length."""
        num = m.get(IE.CalledNumber)
        digits = num.digits if num else ""
        self.called += digits
        done = m.get(IE.SendingComplete) is not None or self.node.number_complete(self.called)
        self.event("more_digits", now, digits=digits)
        if done:
            self.node.fire(self, Req.PROCEEDING, None, now)
            self.complete = True
            self.event("setup", now, digits=self.called)

    def overlap_timeout(self, m: Any, now: float) -> None:
        """T302 expiry with digits: the number is taken as complete (5.2.4)."""
        self.send(MT.CALL_PROCEEDING, *self._first())
        self.complete = True
        self.event("setup", now, digits=self.called)

    def overlap_incomplete(self, m: Any, now: float) -> None:
        """T302 expiry without a usable number: DISCONNECT cause 28 (5.2.4)."""
        self.cause = 28
        self.send(MT.DISCONNECT, self._cause(28))
        self._released(now, 28, True, "T302 expired: number incomplete")

    def has_digits(self, m: Any) -> bool:
        return bool(self.called)

    def send_proceeding(self, m: Any, now: float) -> None:
        self.send(MT.CALL_PROCEEDING, *self._first())

    def send_alerting(self, m: Any, now: float) -> None:
        extra: list[IE.Ie] = [IE.Progress(8, self.node.location)] if self.node.network and m else []
        self.send(MT.ALERTING, *self._first(), *extra)

    def send_progress(self, m: Any, now: float) -> None:
        self.send(MT.PROGRESS, *self._first(), IE.Progress(int(m or 8), self.node.location))

    def send_connect(self, m: Any, now: float) -> None:
        self.send(MT.CONNECT, *self._first())

    def connect_acked(self, m: Message, now: float) -> None:
        self.event("connected", now)

    def reject(self, m: Any, now: float) -> None:
        """Refuse an offered call: RELEASE COMPLETE with the cause (5.2.5.1)."""
        self.cause = int(m or 21)
        self.send(MT.RELEASE_COMPLETE, self._cause())
        self._released(now, self.cause, False, "call rejected")
        self.node.free(self, now)

    # ---- clearing ---------------------------------------------------------------------------
    def send_disconnect(self, m: Any, now: float) -> None:
        self.cause = int(m or 16)
        extra = [IE.Progress(8, self.node.location)] if self.node.network and self.inband else []
        self.send(MT.DISCONNECT, self._cause(), *extra)

    def timeout_disconnect(self, m: Any, now: float) -> None:
        """T310 / T313 expiry: DISCONNECT cause 102 (5.1.6, 5.2.8)."""
        self.cause = 102
        self.send(MT.DISCONNECT, self._cause(102))
        self._released(now, 102, True, f"{m} expired")

    def remote_disconnect(self, m: Message, now: float) -> None:
        """DISCONNECT received: RELEASE (5.3.4 / 5.3.3)."""
        self.cause = self._cause_of(m)
        self.releases = 1
        self.send(MT.RELEASE, *([self._cause(self.error_cause)] if self.error_cause else []))
        self._released(now, self.cause, True, "DISCONNECT received")

    def disconnect_timeout(self, m: Any, now: float) -> None:
        """T305 expiry: RELEASE with the cause of the DISCONNECT (5.3.3 / 5.3.4)."""
        self.releases = 1
        self.send(MT.RELEASE, self._cause())

    def send_release(self, m: Any, now: float) -> None:
        self.releases = 1
        self.send(MT.RELEASE, self._cause())

    def repeat_release(self, m: Any, now: float) -> None:
        self.releases += 1
        self.send(MT.RELEASE, self._cause())

    def remote_release(self, m: Message, now: float) -> None:
        """RELEASE received: RELEASE COMPLETE; the call reference and channel are free (5.3.4)."""
        self.send(MT.RELEASE_COMPLETE, *([self._cause(self.error_cause)] if self.error_cause else []))
        self._released(now, self._cause_of(m), True, "RELEASE received")
        self.node.free(self, now)

    def released_after_disconnect(self, m: Message, now: float) -> None:
        """RELEASE answering our DISCONNECT: RELEASE COMPLETE; we cleared the call."""
        self.send(MT.RELEASE_COMPLETE)
        self._released(now, self.cause, False, "cleared")
        self.node.free(self, now)

    def release_complete(self, m: Any, now: float) -> None:
        """RELEASE COMPLETE received (or the RELEASE collision of 5.3.5): the call is over."""
        if isinstance(m, Message) and m.mtype == MT.RELEASE_COMPLETE and not self.reported:
            self._released(now, self._cause_of(m), True, "RELEASE COMPLETE received")
        self._released(now, self.cause, False, "released")
        self.node.free(self, now)

    def release_timeout(self, m: Any, now: float) -> None:
        """T308 second expiry: the call reference is released, the channel kept out of service
        until restarted (5.3.4.3: maintenance); reported."""
        self._released(now, self.cause, False, "T308 expired twice")
        self.node.free(self, now, maintenance=True)

    def link_lost(self, m: Any, now: float) -> None:
        """Data link failure outside the active state: cleared internally (5.8.8)."""
        self._released(now, 41, True, "data link failure")
        self.node.free(self, now)

    def t309_expired(self, m: Any, now: float) -> None:
        self._released(now, 27, True, "T309 expired: data link not re-established")
        self.node.free(self, now)

    def link_back(self, m: Any, now: float) -> None:
        """Data link re-established with the call active: STATUS ENQUIRY (5.8.8 / 5.8.10)."""
        self.enquiries = 1
        self.send(MT.STATUS_ENQUIRY)

    # ---- status (5.8.10, 5.8.11) -------------------------------------------------------------
    def send_status_enquiry(self, m: Any, now: float) -> None:
        self.enquiries = 1
        self.send(MT.STATUS_ENQUIRY)

    def repeat_status_enquiry(self, m: Any, now: float) -> None:
        self.enquiries += 1
        self.send(MT.STATUS_ENQUIRY)

    def enquiry_failed(self, m: Any, now: float) -> None:
        self.cause = 41
        self.send(MT.RELEASE, self._cause(41))
        self._released(now, 41, True, "no STATUS after STATUS ENQUIRY")

    def answer_enquiry(self, m: Any, now: float) -> None:
        self.node.send_status(self.cref, not self.ours, 30, int(self.m.state))

    def status_ok(self, m: Message, now: float) -> None:
        self.event("status", now, reason="compatible STATUS", cause=self._cause_of(m))

    def status_peer_null(self, m: Message, now: float) -> None:
        """STATUS with call state 0: our call is cleared internally (5.8.10)."""
        self._released(now, self._cause_of(m), True, "STATUS: the peer has no such call")
        self.node.free(self, now)

    def status_incompatible(self, m: Message, now: float) -> None:
        """STATUS naming a state incompatible with ours: RELEASE cause 101 (5.8.10)."""
        self.cause = 101
        self.node.counters["status_incompatible"] += 1
        self.send(MT.RELEASE, self._cause(101))
        self._released(now, 101, True, "STATUS: call state incompatible")

    def peer_null(self, m: Message) -> bool:
        cs = m.get(IE.CallState)
        return cs is not None and cs.value == 0

    def incompatible(self, m: Message) -> bool:
        cs = m.get(IE.CallState)
        return cs is not None and cs.value not in COMPATIBLE.get(int(self.m.state), {int(self.m.state)})

    def unexpected(self, m: Any, now: float) -> None:
        """A message not compatible with the call state: STATUS cause 98 (5.8.4)."""
        self.node.counters["unexpected"] += 1
        self.node.send_status(self.cref, not self.ours, 98, int(self.m.state))

    def ignore(self, m: Any, now: float) -> None:
        """Messages the state takes without a change (CONNECT ACK in the active state ...)."""

    def notify(self, m: Message, now: float) -> None:
        self.event("notify", now)

    def information(self, m: Message, now: float) -> None:
        k = m.get(IE.Keypad)
        n = m.get(IE.CalledNumber)
        self.event("information", now, digits=(k.text if k else "") + (n.digits if n else ""))

    def t309_idle(self, m: Any) -> bool:
        return not self.m.is_running("T309")

    def setup_left(self, m: Any) -> bool:
        return self.setups < 2

    def release_left(self, m: Any) -> bool:
        return self.releases < 2

    def enquiry_left(self, m: Any) -> bool:
        return self.enquiries < N322


#: our state -> peer states a STATUS may name without trouble (5.8.10: "compatible")
COMPATIBLE: dict[int, set[int]] = {
    1: {1, 6, 2, 25, 3, 9}, 2: {2, 25, 3, 9}, 3: {3, 9, 4, 7}, 4: {4, 7, 8, 10}, 6: {6, 1},
    25: {25, 2, 3, 9}, 9: {9, 3, 4, 7}, 7: {7, 4, 8, 10}, 8: {8, 10}, 10: {10, 8},
    11: {11, 12, 19}, 12: {12, 11, 19}, 19: {19, 11, 12},
}

# ---- the rows, by role -------------------------------------------------------------------------
R = Role
P = PriCall
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


ROLE_ROWS: list[_R] = [
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
    *[_R(s, MT.CONNECT, R.ACTIVE, P.connected, "Q.931 5.1.8")
      for s in (R.O_INITIATED, R.O_OVERLAP, R.O_PROCEEDING, R.O_DELIVERED)],
    *[_R(s, MT.PROGRESS, None, P.progress, "Q.931 5.1.5.1 / 5.1.6 (T310 stopped)", stop=("T310",))
      for s in (R.O_INITIATED, R.O_OVERLAP, R.O_PROCEEDING, R.O_DELIVERED)],
    _R(R.O_OVERLAP, Req.INFO, None, P.send_info, "Q.931 5.1.3 (overlap sending)"),
    _R(R.O_PROCEEDING, Ev.T310, R.DISC_SENT, P.timeout_disconnect, "Q.931 5.1.6 (cause 102)"),
    # incoming call (5.2)
    _R(R.NULL, MT.SETUP, R.I_PRESENT, P.offered, "Q.931 5.2.1"),
    _R(R.I_PRESENT, Req.MORE_INFO, R.I_OVERLAP, P.send_setup_ack, "Q.931 5.2.4 (overlap receiving)"),
    _R(R.I_OVERLAP, MT.INFORMATION, None, P.more_digits, "Q.931 5.2.4 (T302 restarted)", start=("T302",)),
    _R(R.I_OVERLAP, Ev.T302, R.I_PROCEEDING, P.overlap_timeout, "Q.931 5.2.4 (number taken as complete)",
       P.has_digits),
    _R(R.I_OVERLAP, Ev.T302, R.DISC_SENT, P.overlap_incomplete, "Q.931 5.2.4 (cause 28)"),
    *[_R(s, Req.PROCEEDING, R.I_PROCEEDING, P.send_proceeding, "Q.931 5.2.5.2") for s in (R.I_PRESENT, R.I_OVERLAP)],
    *[_R(s, Req.ALERTING, R.I_RECEIVED, P.send_alerting, "Q.931 5.2.5.3")
      for s in (R.I_PRESENT, R.I_OVERLAP, R.I_PROCEEDING)],
    *[_R(s, Req.PROGRESS, None, P.send_progress, "Q.931 5.2.5.3 / 5.5 (in-band information)") for s in _OFFERED],
    *[_R(s, Req.SETUP_RESPONSE, R.I_CONNECT, P.send_connect, "Q.931 5.2.8 (T313)", side="user") for s in _OFFERED],
    *[_R(s, Req.SETUP_RESPONSE, R.ACTIVE, P.send_connect, "Q.931 5.1.8 (network side)", side="network")
      for s in _OFFERED],
    _R(R.I_CONNECT, MT.CONNECT_ACKNOWLEDGE, R.ACTIVE, P.connect_acked, "Q.931 5.2.8"),
    _R(R.I_CONNECT, Ev.T313, R.DISC_SENT, P.timeout_disconnect, "Q.931 5.2.8 (cause 102)"),
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
    *[_R(s, Req.DISCONNECT, R.DISC_SENT, P.send_disconnect, "Q.931 5.3.2 / 5.3.3") for s in _CLEARABLE],
    *[_R(s, MT.DISCONNECT, R.REL_SENT, P.remote_disconnect, "Q.931 5.3.4 / 5.3.3")
      for s in (*_CLEARABLE, R.I_PRESENT)],
    *[_R(s, MT.RELEASE, R.NULL, P.remote_release, "Q.931 5.3.4 / 5.3.5") for s in (*_CLEARABLE, R.I_PRESENT)],
    _R(R.DISC_SENT, MT.RELEASE, R.NULL, P.released_after_disconnect, "Q.931 5.3.3 / 5.3.4"),
    *[_R(s, MT.RELEASE_COMPLETE, R.NULL, P.release_complete, "Q.931 5.3.2 / 5.3.4 / 5.8.3")
      for s in (*_CLEARABLE, R.I_PRESENT, R.DISC_SENT, R.REL_SENT)],
    _R(R.DISC_SENT, Ev.T305, R.REL_SENT, P.disconnect_timeout, "Q.931 5.3.3 / 5.3.4"),
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
    R.O_INITIATED: ("T303",), R.O_PROCEEDING: ("T310",), R.I_OVERLAP: ("T302",), R.I_CONNECT: ("T313",),
    R.DISC_SENT: ("T305",), R.REL_SENT: ("T308",),
}
EXPIRY = {name: Ev[name] for name in ("T302", "T303", "T305", "T308", "T309", "T310", "T313", "T322")}


def build(side: str) -> Table:
    st = STATE_OF[side]
    rows = []
    for r in ROLE_ROWS:
        if r.side and r.side != side:
            continue
        if (r.role is not ANY and r.role not in st) or (r.next is not None and r.next not in st):
            continue
        rows.append(Row(r.role if r.role is ANY else st[r.role], r.event, None if r.next is None else st[r.next],
                        r.action, r.guard, r.start, r.stop, r.clause))
    timers = {n: s for n, s in Q931_TIMERS.items() if n in EXPIRY and (n != "T313" or side == "user")}
    return Table(f"Q.931 {side} side", st[R.NULL], tuple(rows), timers=timers,
                 entry={st[r]: tuple(t for t in ts if t in timers) for r, ts in ENTRY.items() if r in st},
                 expiry={n: e for n, e in EXPIRY.items() if n in timers}, final=frozenset({st[R.NULL]}))


USER_TABLE = build("user")
NETWORK_TABLE = build("network")
