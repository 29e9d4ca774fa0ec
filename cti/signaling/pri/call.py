"""One Q.931 call (a call reference): :class:`PriCall` is the context of the call tables
(:mod:`.calltable`); its methods are the tables' actions and guards, which build the messages
(Q.931 5.1-5.3, 5.8) and tell the layer above (:class:`~.states.CallEvent`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import ie as IE
from .message import MT, Message
from .states import COMPATIBLE, CallEvent, Req
from .timers import N322

if TYPE_CHECKING:
    from .q931 import Q931


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
        self.node.send_parts(mt, self.cref, not self.ours, ies)

    def event(self, kind: str, now: float, **kw: Any) -> None:
        self.node.call_event(CallEvent(kind, self, now, **kw))

    def channel_ie(self) -> IE.ChannelId:
        assert self.channel is not None
        return IE.channel(self.channel, self.exclusive)

    def _cause(self, value: int | None = None) -> IE.Cause:
        return IE.cause(self.cause if value is None else value, self.node.location)

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

    def connect_request(self, m: Message, now: float) -> None:
        """Network side, CONNECT received (N8, Q.931 5.2.8): answered; the CONNECT ACKNOWLEDGE
        follows at once (``SETUP_COMPLETE``), which makes the call active."""
        self._take_channel(m)
        self.event("answered", now)
        self.node.fire(self, Req.SETUP_COMPLETE, None, now)

    def send_connect_ack(self, m: Any, now: float) -> None:
        self.send(MT.CONNECT_ACKNOWLEDGE)

    def no_answer(self, m: Any, now: float) -> None:
        """T301 expiry (ALERTING received, no CONNECT): DISCONNECT cause 19 (Q.931 5.1.7)."""
        self.cause = 19
        self.send(MT.DISCONNECT, self._cause(19))
        self._released(now, 19, True, "T301 expired: no answer after ALERTING")

    def send_info(self, m: Any, now: float) -> None:
        digits, complete = m if isinstance(m, tuple) else (str(m or ""), False)
        self.called += digits
        ies: list[IE.Ie] = [IE.CalledNumber(digits, IE.Ton.UNKNOWN, self.node.variant.plan)] if digits else []
        if complete:
            ies.append(IE.SENDING_COMPLETE)
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
                return [IE.channel(self.channel)] if self.channel else []
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
        extra: list[IE.Ie] = [IE.progress(8, self.node.location)] if self.node.network and m else []
        if extra:
            self.inband = True             # the network gives the tones in band from now on
        self.send(MT.ALERTING, *self._first(), *extra)

    def send_progress(self, m: Any, now: float) -> None:
        if self.node.network and int(m or 8) in (1, 8):
            self.inband = True
        self.send(MT.PROGRESS, *self._first(), IE.progress(int(m or 8), self.node.location))

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
        extra = [IE.progress(8, self.node.location)] if self.node.network and self.inband else []
        self.send(MT.DISCONNECT, self._cause(), *extra)

    def timeout_disconnect(self, m: Any, now: float) -> None:
        """T310 / T313 expiry: DISCONNECT cause 102 (5.1.6, 5.2.8)."""
        self.cause = 102
        self.send(MT.DISCONNECT, self._cause(102))
        self._released(now, 102, True, f"{m} expired")

    def remote_disconnect(self, m: Message, now: float) -> None:
        """DISCONNECT received (U12 / N11, 5.3.4 / 5.3.3): the layer above is told and the
        RELEASE request follows at once (in-band information after a DISCONNECT is not
        listened to), which leaves the state."""
        self.cause = self._cause_of(m)
        self._released(now, self.cause, True, "DISCONNECT received")
        self.node.fire(self, Req.RELEASE, None, now)

    def release_after_disconnect(self, m: Any, now: float) -> None:
        """RELEASE after a DISCONNECT received; T308 runs (5.3.4)."""
        self.releases = 1
        self.send(MT.RELEASE, *([self._cause(self.error_cause)] if self.error_cause else []))

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

    def inband_tones(self, m: Any) -> bool:
        """Network side with tones or announcements in band: our DISCONNECT carries progress
        indicator 8 and T306 runs instead of T305 (Q.931 5.3.4.1)."""
        return self.node.network and self.inband

    def t309_idle(self, m: Any) -> bool:
        return not self.m.is_running("T309")

    def setup_left(self, m: Any) -> bool:
        return self.setups < 2

    def release_left(self, m: Any) -> bool:
        return self.releases < 2

    def enquiry_left(self, m: Any) -> bool:
        return self.enquiries < N322


#: our state -> peer states a STATUS may name without trouble (5.8.10: "compatible")
