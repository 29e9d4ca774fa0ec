"""China No.1 / R2 digital line signalling on one circuit (CAS abcd bits on TS16), sans-IO.

Q.421 digital line signalling code as used by China No.1 (STANDARDS.md "E1 line
signalling"): only bits a,b carry signals, c,d are fixed (ITU 01, China 11).

=====================  ==============  ==============
state                  forward af bf   backward ab bb
=====================  ==============  ==============
idle                   1 0             1 0
seized                 0 0             1 0
seizure acknowledged   0 0             1 1
answered               0 0             0 1
clear-back             0 0             1 1
clear-forward          1 0             0 1 / 1 1
release guard over     1 0             1 0
blocked                1 0             1 1
=====================  ==============  ==============

A circuit is both-way: one :class:`Line` plays the forward (outgoing) or the backward
(incoming) end as the call demands. Received bits count after they persist for DEBOUNCE
(Q.421 clause 4). Nothing here does I/O: feed :meth:`Line.receive` with the received abcd
and ``now``, send :attr:`Line.tx`, call :meth:`Line.handle_timer` by
:meth:`Line.timer_deadline`, read :meth:`Line.events`.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from cti.signaling.causes import Cause
from cti.signaling.errors import LocalProtocolError
from cti.signaling.fsm import ANY, TableFSM, UnexpectedEvent
from cti.signaling.timers import Timers

from .timers import LINE_TIMERS, pick
from .variants import Variant, get_variant

# a,b bit pairs (Q.421 clause 3 / STANDARDS.md)
AB_IDLE = 0b10
AB_SEIZE = 0b00          #: forward: seizure
AB_ACK = 0b11            #: backward: seizure acknowledged / clear-back / blocked
AB_ANSWER = 0b01         #: backward: answered


class LineState(str, enum.Enum):
    """Line states of one circuit (clauses: Q.421 clause 3 code, 5 procedures; GF 001-9001)."""

    IDLE = "idle"                        #: Q.421 3: both ends 10/10
    OUT_SEIZED = "out_seized"            #: Q.421 3: we sent seizure 00, awaiting acknowledgement
    OUT_ACKED = "out_acked"              #: Q.421 3: seizure acknowledged 11 (register signalling)
    OUT_ALERTING = "out_alerting"        #: GF 001-9001: B free received, awaiting answer 01
    OUT_ANSWERED = "out_answered"        #: Q.421 3: answered 01
    OUT_CLEAR_BACK = "out_clear_back"    #: Q.421 3: clear-back 11 received after answer
    OUT_CLEAR_FWD = "out_clear_fwd"      #: Q.421 5.2: clear-forward 10 sent, awaiting release guard
    IN_SEIZED = "in_seized"              #: Q.421 3: seizure recognised, acknowledgement 11 sent
    IN_ANSWERED = "in_answered"          #: Q.421 3: answer 01 sent
    IN_CLEAR_BACK = "in_clear_back"      #: Q.421 3: clear-back 11 sent (or call refused), awaiting clear-forward
    IN_RELEASE_GUARD = "in_release_guard"  #: Q.421 5.2: clear-forward recognised, idle follows
    BLOCKED_LOCAL = "blocked_local"      #: Q.421 3: we send blocking 11 while idle
    BLOCKED_REMOTE = "blocked_remote"    #: Q.421 3: the far end sends blocking 11
    BLOCKED_BOTH = "blocked_both"
    FAULT = "fault"                      #: Q.421 6 abnormal conditions: out of service until far end idle
    ALARM = "alarm"                      #: span alarm (LOS/AIS/LOF...): all circuits unavailable


S = LineState

#: Timer running in each state (started on entry, stopped on exit).
STATE_TIMERS: dict[LineState, str] = {
    S.OUT_SEIZED: "T_SEIZE_ACK",
    S.OUT_ALERTING: "T_ANSWER",
    S.OUT_CLEAR_FWD: "T_RELEASE",
    S.IN_RELEASE_GUARD: "RELEASE_GUARD",
    S.IN_CLEAR_BACK: "T_CLEAR_FWD",
}

#: States in which a call exists on the circuit.
CALL_STATES = frozenset({S.OUT_SEIZED, S.OUT_ACKED, S.OUT_ALERTING, S.OUT_ANSWERED, S.OUT_CLEAR_BACK,
                         S.IN_SEIZED, S.IN_ANSWERED, S.IN_CLEAR_BACK})

_STAY = None
#: (state, event) -> (action, next state). RX_xy: received a,b bits xy after debounce.
TABLE: dict[tuple[object, str], tuple[str | None, LineState | None]] = {
    # idle
    (S.IDLE, "SEIZE"): ("send_seize", S.OUT_SEIZED),
    (S.IDLE, "RX_00"): ("incoming_seize", S.IN_SEIZED),
    (S.IDLE, "RX_11"): ("remote_blocked", S.BLOCKED_REMOTE),
    (S.IDLE, "RX_10"): (None, _STAY),
    (S.IDLE, "RX_01"): ("unexpected", _STAY),
    (S.IDLE, "BLOCK"): ("send_block", S.BLOCKED_LOCAL),
    (S.IDLE, "UNBLOCK"): (None, _STAY),
    (S.IDLE, "CLEAR"): (None, _STAY),
    (S.IDLE, "T_BLOCK_DELAY"): ("send_block", S.BLOCKED_LOCAL),
    # outgoing: seizure sent
    (S.OUT_SEIZED, "RX_11"): ("seize_acked", S.OUT_ACKED),
    (S.OUT_SEIZED, "RX_10"): (None, _STAY),
    (S.OUT_SEIZED, "GLARE_YIELD"): ("glare_yield", S.IN_SEIZED),
    (S.OUT_SEIZED, "GLARE_HOLD"): ("glare_hold", _STAY),
    (S.OUT_SEIZED, "RX_01"): ("unexpected_clear", S.OUT_CLEAR_FWD),
    (S.OUT_SEIZED, "T_SEIZE_ACK"): ("seize_ack_timeout", S.OUT_CLEAR_FWD),
    (S.OUT_SEIZED, "CLEAR"): ("send_clear_forward", S.OUT_CLEAR_FWD),
    # outgoing: acknowledged, register signalling
    (S.OUT_ACKED, "RX_11"): (None, _STAY),
    (S.OUT_ACKED, "RX_01"): ("answered", S.OUT_ANSWERED),
    (S.OUT_ACKED, "RX_10"): ("far_idle", S.IDLE),
    (S.OUT_ACKED, "RX_00"): ("forced_release", S.OUT_CLEAR_FWD),
    (S.OUT_ACKED, "ALERTED"): (None, S.OUT_ALERTING),
    (S.OUT_ACKED, "CLEAR"): ("send_clear_forward", S.OUT_CLEAR_FWD),
    # outgoing: ringing
    (S.OUT_ALERTING, "RX_11"): (None, _STAY),
    (S.OUT_ALERTING, "RX_01"): ("answered", S.OUT_ANSWERED),
    (S.OUT_ALERTING, "RX_10"): ("far_idle", S.IDLE),
    (S.OUT_ALERTING, "RX_00"): ("forced_release", S.OUT_CLEAR_FWD),
    (S.OUT_ALERTING, "ALERTED"): (None, _STAY),
    (S.OUT_ALERTING, "T_ANSWER"): ("no_answer", S.OUT_CLEAR_FWD),
    (S.OUT_ALERTING, "CLEAR"): ("send_clear_forward", S.OUT_CLEAR_FWD),
    # outgoing: answered
    (S.OUT_ANSWERED, "RX_01"): (None, _STAY),
    (S.OUT_ANSWERED, "RX_11"): ("clear_back", S.OUT_CLEAR_BACK),
    (S.OUT_ANSWERED, "RX_00"): ("clear_back", S.OUT_CLEAR_BACK),
    (S.OUT_ANSWERED, "RX_10"): ("far_idle", S.IDLE),
    (S.OUT_ANSWERED, "CLEAR"): ("send_clear_forward", S.OUT_CLEAR_FWD),
    # outgoing: the called party cleared
    (S.OUT_CLEAR_BACK, "RX_01"): ("reanswer", S.OUT_ANSWERED),
    (S.OUT_CLEAR_BACK, "RX_11"): (None, _STAY),
    (S.OUT_CLEAR_BACK, "RX_00"): (None, _STAY),
    (S.OUT_CLEAR_BACK, "RX_10"): ("far_idle", S.IDLE),
    (S.OUT_CLEAR_BACK, "CLEAR"): ("send_clear_forward", S.OUT_CLEAR_FWD),
    # outgoing: clear-forward sent
    (S.OUT_CLEAR_FWD, "RX_10"): ("released", S.IDLE),
    (S.OUT_CLEAR_FWD, "RX_11"): (None, _STAY),
    (S.OUT_CLEAR_FWD, "RX_01"): (None, _STAY),
    (S.OUT_CLEAR_FWD, "RX_00"): (None, _STAY),
    (S.OUT_CLEAR_FWD, "CLEAR"): (None, _STAY),
    (S.OUT_CLEAR_FWD, "T_RELEASE"): ("release_timeout", S.FAULT),
    # incoming: seized
    (S.IN_SEIZED, "RX_00"): (None, _STAY),
    (S.IN_SEIZED, "RX_10"): ("clear_forward", S.IN_RELEASE_GUARD),
    (S.IN_SEIZED, "RX_11"): ("unexpected", _STAY),
    (S.IN_SEIZED, "RX_01"): ("unexpected", _STAY),
    (S.IN_SEIZED, "ANSWER"): ("send_answer", S.IN_ANSWERED),
    (S.IN_SEIZED, "ALERTED"): (None, _STAY),
    (S.IN_SEIZED, "CLEAR"): ("refuse", S.IN_CLEAR_BACK),
    # incoming: answered
    (S.IN_ANSWERED, "RX_00"): (None, _STAY),
    (S.IN_ANSWERED, "RX_10"): ("clear_forward", S.IN_RELEASE_GUARD),
    (S.IN_ANSWERED, "RX_11"): ("unexpected", _STAY),
    (S.IN_ANSWERED, "RX_01"): ("unexpected", _STAY),
    (S.IN_ANSWERED, "ANSWER"): (None, _STAY),
    (S.IN_ANSWERED, "CLEAR"): ("send_clear_back", S.IN_CLEAR_BACK),
    # incoming: clear-back sent, waiting for clear-forward
    (S.IN_CLEAR_BACK, "RX_00"): (None, _STAY),
    (S.IN_CLEAR_BACK, "RX_10"): ("cleared_forward", S.IN_RELEASE_GUARD),
    (S.IN_CLEAR_BACK, "RX_11"): ("unexpected", _STAY),
    (S.IN_CLEAR_BACK, "RX_01"): ("unexpected", _STAY),
    (S.IN_CLEAR_BACK, "CLEAR"): (None, _STAY),
    (S.IN_CLEAR_BACK, "T_CLEAR_FWD"): ("clear_forward_timeout", S.FAULT),
    # incoming: release guard
    (S.IN_RELEASE_GUARD, "RX_10"): (None, _STAY),
    (S.IN_RELEASE_GUARD, "RX_00"): (None, _STAY),
    (S.IN_RELEASE_GUARD, "RX_11"): (None, _STAY),
    (S.IN_RELEASE_GUARD, "RX_01"): (None, _STAY),
    (S.IN_RELEASE_GUARD, "CLEAR"): (None, _STAY),
    (S.IN_RELEASE_GUARD, "RELEASE_GUARD"): ("send_idle", S.IDLE),
    # blocking
    (S.BLOCKED_LOCAL, "UNBLOCK"): ("send_unblock", S.IDLE),
    (S.BLOCKED_LOCAL, "BLOCK"): (None, _STAY),
    (S.BLOCKED_LOCAL, "CLEAR"): (None, _STAY),
    (S.BLOCKED_LOCAL, "RX_11"): ("remote_blocked", S.BLOCKED_BOTH),
    (S.BLOCKED_LOCAL, "RX_10"): (None, _STAY),
    (S.BLOCKED_LOCAL, "RX_00"): ("unexpected", _STAY),
    (S.BLOCKED_LOCAL, "RX_01"): ("unexpected", _STAY),
    (S.BLOCKED_REMOTE, "RX_10"): ("remote_unblocked", S.IDLE),
    (S.BLOCKED_REMOTE, "RX_11"): (None, _STAY),
    (S.BLOCKED_REMOTE, "RX_00"): ("incoming_seize", S.IN_SEIZED),
    (S.BLOCKED_REMOTE, "RX_01"): ("unexpected", _STAY),
    (S.BLOCKED_REMOTE, "BLOCK"): ("send_block", S.BLOCKED_BOTH),
    (S.BLOCKED_REMOTE, "UNBLOCK"): (None, _STAY),
    (S.BLOCKED_REMOTE, "CLEAR"): (None, _STAY),
    (S.BLOCKED_BOTH, "UNBLOCK"): ("send_unblock_keep", S.BLOCKED_REMOTE),
    (S.BLOCKED_BOTH, "BLOCK"): (None, _STAY),
    (S.BLOCKED_BOTH, "CLEAR"): (None, _STAY),
    (S.BLOCKED_BOTH, "RX_10"): ("remote_unblocked", S.BLOCKED_LOCAL),
    (S.BLOCKED_BOTH, "RX_11"): (None, _STAY),
    (S.BLOCKED_BOTH, "RX_00"): ("unexpected", _STAY),
    (S.BLOCKED_BOTH, "RX_01"): ("unexpected", _STAY),
    # abnormal: out of service until the far end shows idle
    (S.FAULT, "RX_10"): ("recovered", S.IDLE),
    (S.FAULT, "RX_11"): (None, _STAY),
    (S.FAULT, "RX_00"): (None, _STAY),
    (S.FAULT, "RX_01"): (None, _STAY),
    (S.FAULT, "CLEAR"): (None, _STAY),
    (S.FAULT, "BLOCK"): (None, _STAY),
    (S.FAULT, "UNBLOCK"): (None, _STAY),
    # span alarm: received bits mean nothing until it clears
    (S.ALARM, "ALARM"): (None, _STAY),
    (S.ALARM, "ALARM_CLEAR"): ("on_alarm_cleared", S.IDLE),
    (S.ALARM, "RX_10"): (None, _STAY),
    (S.ALARM, "RX_11"): (None, _STAY),
    (S.ALARM, "RX_00"): (None, _STAY),
    (S.ALARM, "RX_01"): (None, _STAY),
    (S.ALARM, "CLEAR"): (None, _STAY),
    (S.ALARM, "BLOCK"): (None, _STAY),
    (S.ALARM, "UNBLOCK"): (None, _STAY),
    (ANY, "ALARM"): ("on_alarm", S.ALARM),
    (ANY, "ALARM_CLEAR"): (None, _STAY),
}

RX_EVENTS = ("RX_00", "RX_01", "RX_10", "RX_11")
LOCAL_EVENTS = ("SEIZE", "ANSWER", "CLEAR", "ALERTED", "BLOCK", "UNBLOCK")


@dataclass(frozen=True, slots=True)
class LineEvent:
    """What the line reports upward.

    kinds: ``seized`` (incoming call), ``seize_ack``, ``answer``, ``clear_back`` (called
    party cleared), ``reanswer``, ``clear_forward`` (caller cleared), ``failed`` (the call
    ended abnormally: timer, far end, alarm), ``idle`` (circuit free again), ``blocked`` /
    ``unblocked`` (by the far end), ``unavailable`` / ``available`` (fault, alarm),
    ``glare`` (our seizure lost a double seizure), ``error`` (unexpected signal, ignored).
    """

    kind: str
    time: float
    cause: int | None = None
    reason: str = ""


class Line:
    """Line signalling of one both-way circuit."""

    def __init__(self, variant: Variant | str = "cn", timers: dict[str, float] | None = None,
                 glare: str = "yield", name: str = "line") -> None:
        self.variant = get_variant(variant)
        if glare not in ("yield", "hold"):
            raise ValueError(f"glare must be 'yield' or 'hold', not {glare!r}")
        self.glare = glare
        self.timers = Timers(LINE_TIMERS, pick(LINE_TIMERS, timers))
        self.fsm: TableFSM[LineState] = TableFSM(name, TABLE, S.IDLE, self)
        self._ab_tx = AB_IDLE
        self._raw: int | None = None        # last received a,b
        self._raw_since = 0.0
        self.rx: int | None = None          # accepted (debounced) a,b
        self._events: list[LineEvent] = []
        self._now = 0.0
        self.block_wanted = False
        self.errors = 0
        self.cause: int = Cause.NORMAL_CLEARING   #: cause of our last clear
        self.idle_since = float("-inf")     #: when the circuit last returned to idle
        self._seize_at: float | None = None   # a seizure waiting for IDLE_GUARD to end

    # ---- properties ----
    @property
    def state(self) -> LineState:
        return self.fsm.state

    @property
    def tx(self) -> int:
        """The abcd bits to transmit now."""
        return (self._ab_tx << 2) | (self.variant.cd_bits & 0b11)

    @property
    def in_call(self) -> bool:
        return self.fsm.state in CALL_STATES

    @property
    def outgoing(self) -> bool:
        return self.fsm.state.value.startswith("out_")

    def events(self) -> list[LineEvent]:
        """Events since the last call, oldest first."""
        out, self._events = self._events, []
        return out

    # ---- input ----
    def receive(self, abcd: int, now: float) -> None:
        """The received abcd bits at ``now`` (call on every change, or every block)."""
        if isinstance(abcd, bool) or not isinstance(abcd, int) or not 0 <= abcd <= 0xF:
            raise ValueError(f"abcd must be an int 0..15, not {abcd!r}")
        ab = (abcd >> 2) & 0b11
        if ab != self._raw:
            self._raw = ab
            self._raw_since = now
        self._debounce(now)

    def _debounce(self, now: float) -> None:
        if self._raw is None or self._raw == self.rx:
            return
        if now - self._raw_since >= self.timers.values["DEBOUNCE"] - 1e-9:
            self.rx = self._raw
            self._fire(f"RX_{self._raw >> 1}{self._raw & 1}", now)

    def seize(self, now: float) -> None:
        """Start an outgoing call (LocalProtocolError unless idle). Within IDLE_GUARD of the
        circuit's return to idle the seizure is held back until the guard ends (:attr:`seize_at`)."""
        self._local("SEIZE", now)

    @property
    def seize_at(self) -> float | None:
        """When a seizure held back by IDLE_GUARD goes out (None: none is waiting)."""
        return self._seize_at

    def answer(self, now: float) -> None:
        self._local("ANSWER", now)

    def alerted(self, now: float) -> None:
        """The register exchange said the called party is free: wait for answer (T_ANSWER)."""
        self._local("ALERTED", now)

    def clear(self, now: float, cause: int = Cause.NORMAL_CLEARING) -> None:
        """Clear our side: clear-forward (outgoing), clear-back or refusal (incoming)."""
        self.cause = int(cause)
        self._local("CLEAR", now)

    def block(self, now: float) -> None:
        """Block the circuit (now if idle, else when the call ends)."""
        self.block_wanted = True
        if self.fsm.allowed("BLOCK") and not self.in_call:
            self._fire("BLOCK", now)

    def unblock(self, now: float) -> None:
        self.block_wanted = False
        self.timers.stop("T_BLOCK_DELAY")
        if self.fsm.allowed("UNBLOCK"):
            self._fire("UNBLOCK", now)

    def alarm(self, now: float, reason: str = "alarm") -> None:
        """A span alarm began: the call (if any) fails, the circuit is unavailable."""
        self._alarm_reason = reason
        self._fire("ALARM", now)

    def alarm_cleared(self, now: float) -> None:
        self._fire("ALARM_CLEAR", now)

    def _local(self, event: str, now: float) -> None:
        if not self.fsm.allowed(event):
            raise LocalProtocolError(f"{self.fsm.name}: cannot {event.lower()} in state {self.state.value}")
        self._fire(event, now)

    # ---- timers ----
    def timer_deadline(self) -> float | None:
        d = self.timers.deadline()
        if self._seize_at is not None:
            d = self._seize_at if d is None else min(d, self._seize_at)
        if self._raw is not None and self._raw != self.rx:
            t = self._raw_since + self.timers.values["DEBOUNCE"]
            d = t if d is None else min(d, t)
        return d

    def handle_timer(self, now: float) -> None:
        self._debounce(now)
        if self._seize_at is not None and now >= self._seize_at - 1e-9 and self.fsm.state is S.OUT_SEIZED:
            self._seize_at = None
            self._ab_tx = AB_SEIZE
        for name in self.timers.expired(now):
            if self.fsm.allowed(name):
                self._fire(name, now)

    # ---- engine ----
    def _fire(self, event: str, now: float) -> None:
        self._now = now
        before = self.fsm.state
        if event == "RX_00" and before is S.OUT_SEIZED:
            # a seizure still held back by IDLE_GUARD was never seen: the far end's call is the only one
            event = "GLARE_YIELD" if self.glare == "yield" or self._seize_at is not None else "GLARE_HOLD"
        try:
            self.fsm.fire(event)
        except UnexpectedEvent as exc:   # only reachable for events without a row
            self.errors += 1
            self._emit("error", reason=str(exc))
            return
        if len(self.fsm.trace) > 256:
            del self.fsm.trace[:-64]
        after = self.fsm.state
        if after is not S.OUT_SEIZED:
            self._seize_at = None
        if after is not before:
            old = STATE_TIMERS.get(before)
            if old:
                self.timers.stop(old)
            new = STATE_TIMERS.get(after)
            if new:
                self.timers.start(new, now)
        if after is S.IDLE and before is not S.IDLE:
            self.idle_since = now
            self._emit("idle")
            if self.block_wanted:
                # the far end must see idle (release guard) before blocking follows
                self.timers.start("T_BLOCK_DELAY", now)
            self._settle(now)

    def _settle(self, now: float) -> None:
        """Back in idle: act on what the far end is already sending (seizure, blocking)."""
        if self.fsm.state is S.IDLE and self.rx in (AB_SEIZE, AB_ACK):
            self._fire(f"RX_{self.rx >> 1}{self.rx & 1}", now)

    def _emit(self, kind: str, cause: int | None = None, reason: str = "") -> None:
        self._events.append(LineEvent(kind, self._now, cause, reason))

    # ---- actions (named in TABLE) ----
    def send_seize(self) -> None:
        # Q.421 clauses 4 and 5.2: the idle (release guard) we send must persist long enough for
        # the far end, maybe still waiting in clear-forward, to recognise it before a seizure
        # replaces it; otherwise it never sees the circuit free nor acknowledges the seizure
        guard_end = self.idle_since + self.timers.values["IDLE_GUARD"]
        if self._now < guard_end - 1e-9:
            self._seize_at = guard_end
        else:
            self._ab_tx = AB_SEIZE

    def incoming_seize(self) -> None:
        self._ab_tx = AB_ACK
        self._emit("seized")

    def remote_blocked(self) -> None:
        self._emit("blocked", reason="blocked by the far end")

    def remote_unblocked(self) -> None:
        self._emit("unblocked", reason="unblocked by the far end")

    def unexpected(self) -> None:
        self.errors += 1
        self._emit("error", reason=f"unexpected a,b={self.rx:02b} in {self.state.value}")

    def seize_acked(self) -> None:
        self._emit("seize_ack")

    def glare_yield(self) -> None:
        """Q.421 / Q.12: our seizure loses; the trunk may repeat our call on another circuit."""
        self._ab_tx = AB_ACK
        if self._seize_at is not None:     # still held back by IDLE_GUARD: never sent
            self._emit("glare", Cause.TEMPORARY_FAILURE,
                       "double seizure during our idle guard (ours not sent): the far end's call wins")
        else:
            self._emit("glare", Cause.TEMPORARY_FAILURE, "double seizure: the far end's call wins")
        self._emit("seized")

    def glare_hold(self) -> None:
        self._emit("error", reason="double seizure: holding our seizure")

    def unexpected_clear(self) -> None:
        self.errors += 1
        self._ab_tx = AB_IDLE
        self._emit("failed", Cause.PROTOCOL_ERROR, f"unexpected a,b={self.rx:02b} in reply to seizure")
        self._settle_clear()

    def seize_ack_timeout(self) -> None:
        self._ab_tx = AB_IDLE
        self._emit("failed", Cause.RECOVERY_ON_TIMER_EXPIRY, "T_SEIZE_ACK expired: no seizure acknowledgement")
        self._settle_clear()

    def send_clear_forward(self) -> None:
        self._ab_tx = AB_IDLE
        self._settle_clear()

    def _settle_clear(self) -> None:
        # the far end may already show idle (it never acknowledged): release at once
        if self.rx == AB_IDLE or self.rx is None:
            self.fsm.fire("RX_10")

    def answered(self) -> None:
        self._emit("answer")

    def reanswer(self) -> None:
        self._emit("reanswer")

    def far_idle(self) -> None:
        self._ab_tx = AB_IDLE
        self._emit("failed", Cause.TEMPORARY_FAILURE, "far end returned to idle without clear-back")

    def forced_release(self) -> None:
        self._ab_tx = AB_IDLE
        self._emit("failed", Cause.NORMAL_UNSPECIFIED, "forced release (a,b=00) by the far end")

    def no_answer(self) -> None:
        self._ab_tx = AB_IDLE
        self._emit("failed", Cause.NO_ANSWER, "T_ANSWER expired")

    def clear_back(self) -> None:
        self._emit("clear_back", Cause.NORMAL_CLEARING, "clear-back")

    def released(self) -> None:
        pass  # "idle" is emitted on entering IDLE

    def release_timeout(self) -> None:
        self._emit("unavailable", Cause.RECOVERY_ON_TIMER_EXPIRY, "T_RELEASE expired: far end not idle")

    def clear_forward(self) -> None:
        self._emit("clear_forward", Cause.NORMAL_CLEARING, "clear-forward")

    def cleared_forward(self) -> None:
        pass  # we ended the call already; now the release guard

    def send_answer(self) -> None:
        self._ab_tx = AB_ANSWER

    def refuse(self) -> None:
        self._ab_tx = AB_ACK

    def send_clear_back(self) -> None:
        self._ab_tx = AB_ACK

    def clear_forward_timeout(self) -> None:
        self._emit("unavailable", Cause.RECOVERY_ON_TIMER_EXPIRY, "T_CLEAR_FWD expired: no clear-forward")

    def send_idle(self) -> None:
        self._ab_tx = AB_IDLE

    def send_block(self) -> None:
        self._ab_tx = AB_ACK

    def send_unblock(self) -> None:
        self._ab_tx = AB_IDLE

    def send_unblock_keep(self) -> None:
        self._ab_tx = AB_IDLE

    def recovered(self) -> None:
        self._ab_tx = AB_IDLE
        self._emit("available", reason="far end idle again")

    def on_alarm(self) -> None:
        reason = getattr(self, "_alarm_reason", "alarm")
        if self.fsm.trace and self.fsm.trace[-1][0] in CALL_STATES:
            self._emit("failed", Cause.NETWORK_OUT_OF_ORDER, f"span alarm: {reason}")
        self.timers.stop_all()
        self._ab_tx = AB_IDLE
        self.rx = None
        self._raw = None
        self._emit("unavailable", reason=f"span alarm: {reason}")

    def on_alarm_cleared(self) -> None:
        self._ab_tx = AB_IDLE
        self._emit("available", reason="span alarm cleared")
