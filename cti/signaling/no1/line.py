"""China No.1 / R2 digital line signalling on one circuit (CAS abcd bits on TS16), sans-IO.

Q.421 digital line signalling code as used by China No.1 (digital line
signalling): only bits a,b carry signals, c,d are fixed (ITU 01, China 11).

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
(Q.421 clause 4: recognition time 20 +/- 10 ms), measured from when they were first
received on the line: the card's time when the caller passes it (``receive(data, now,
since)``: a card that debounces CAS itself reports a change only after it lasted 10 ms,
stamped with when it began, so counting from the report would recognise it ~30-50 ms
after it happened), else the time it is handed in. A recognition is dated when the
persistence was complete (``since + DEBOUNCE``), even when the line is told of it at a
later poll, never before an input the line has already taken. Nothing here does I/O: the line has the one sans-IO shape
(:class:`cti.signaling.stack.SansIOStack`): feed :meth:`Line.receive` with the received
abcd and ``now``, send :meth:`Line.data_to_send`, call :meth:`Line.handle_timer` by
:meth:`Line.timer_deadline`, read :meth:`Line.events`.

The whole state machine is :data:`TABLE` on the one engine (:mod:`cti.signaling.engine`):
events are :class:`LineEv` members, the state timers are the table's entry timers, glare is
a guarded row, and a return to idle while the far end already seizes or blocks is a guarded
row too (into ``IN_SEIZED`` / ``BLOCKED_REMOTE``), so no action ever changes the state. The
only filter outside the table is signal recognition (DEBOUNCE), which decides *when* a
received a,b counts, as the HDLC decoder decides when a frame has arrived.
"""
from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cti.signaling.causes import Cause
from cti.signaling.engine import ANY, Machine, Row, Table, UnexpectedEvent
from cti.signaling.errors import LocalProtocolError

from .timers import LINE_TIMERS, pick
from .variants import Variant, get_variant

# a,b bit pairs (Q.421 clause 3)
AB_IDLE = 0b10
AB_SEIZE = 0b00          #: forward: seizure
AB_ACK = 0b11            #: backward: seizure acknowledged / clear-back / blocked
AB_ANSWER = 0b01         #: backward: answered


class LineState(str, enum.Enum):
    """Line states of one circuit (clauses: Q.421 clause 3 code, 5 procedures; GF 001-9001)."""

    IDLE = "idle"                        #: Q.421 3: both ends 10/10
    OUT_SEIZED = "out_seized"            #: Q.421 3: we sent seizure 00 (or hold it back: IDLE_GUARD), awaiting acknowledgement
    OUT_ACKED = "out_acked"              #: Q.421 3: seizure acknowledged 11 (register signalling, before its outcome)
    OUT_ALERTING = "out_alerting"        #: GF 001-9001: B free recognised, awaiting answer 01
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


class LineEv(enum.Enum):
    """Events of the line table: received a,b (after recognition), local requests, timers."""

    RX_00 = "rx 00"                  #: a,b = 00 recognised (forward seizure / backward forced release)
    RX_01 = "rx 01"                  #: a,b = 01 recognised (backward answer)
    RX_10 = "rx 10"                  #: a,b = 10 recognised (idle / clear-forward)
    RX_11 = "rx 11"                  #: a,b = 11 recognised (acknowledgement / clear-back / blocking)
    SEIZE = "seize"
    ANSWER = "answer"
    ALERTED = "alerted"              #: the register exchange said "called party free"
    CLEAR = "clear"
    BLOCK = "block"
    UNBLOCK = "unblock"
    ALARM = "alarm"
    ALARM_CLEAR = "alarm clear"
    T_SEIZE_ACK = "T_SEIZE_ACK"      #: expiry events carry their timer's name
    T_ANSWER = "T_ANSWER"
    T_RELEASE = "T_RELEASE"
    RELEASE_GUARD = "RELEASE_GUARD"
    T_CLEAR_FWD = "T_CLEAR_FWD"
    T_BLOCK_DELAY = "T_BLOCK_DELAY"
    IDLE_GUARD = "IDLE_GUARD"


S = LineState
E = LineEv
RX_EVENTS: tuple[LineEv, ...] = (E.RX_00, E.RX_01, E.RX_10, E.RX_11)
_RX = {0b00: E.RX_00, 0b01: E.RX_01, 0b10: E.RX_10, 0b11: E.RX_11}

#: States in which a call exists on the circuit.
CALL_STATES = frozenset({S.OUT_SEIZED, S.OUT_ACKED, S.OUT_ALERTING, S.OUT_ANSWERED, S.OUT_CLEAR_BACK,
                         S.IN_SEIZED, S.IN_ANSWERED, S.IN_CLEAR_BACK})


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
    """Line signalling of one both-way circuit (a :class:`~cti.signaling.stack.SansIOStack`
    of abcd bits in, abcd bits out, :class:`LineEvent` out)."""

    def __init__(self, variant: Variant | str = "cn", timers: dict[str, float] | None = None,
                 glare: str = "yield", name: str = "line", trace: int = 64,
                 early_answer: str = "release") -> None:
        self.variant = get_variant(variant)
        if glare not in ("yield", "hold"):
            raise ValueError(f"glare must be 'yield' or 'hold', not {glare!r}")
        if early_answer not in ("release", "accept"):
            raise ValueError(f"early_answer must be 'release' or 'accept', not {early_answer!r}")
        self.glare = glare
        #: an answer (a,b = 01) before the register's outcome: "release" (protocol error, cause
        #: 111) or "accept" (lenient: connected, whatever digits were sent)
        self.early_answer = early_answer
        self.machine: Machine[Line] = Machine(TABLE, self, name=name,
                                              timer_values=pick(LINE_TIMERS, timers), trace=trace)
        self._ab_tx = AB_IDLE
        self._raw: int | None = None        # last received a,b
        self._raw_since = 0.0               # when it was first received on the line
        self._t = float("-inf")             # the latest time the line was given
        self._fresh = float("-inf")         # received bits count from no earlier than this (alarm end)
        self.rx: int | None = None          # accepted (recognised) a,b
        #: the far end's idle (a,b = 10) recognised at least once since the line started: a
        #: seizure is the change from idle to 00 (Q.421 3), so 00 seen before any idle is a call
        #: from before our start (a restart, or another node's card taken over), not a new one
        self.idle_seen = False
        self._events: list[LineEvent] = []
        self.block_wanted = False
        self.errors = 0
        self.cause: int = Cause.NORMAL_CLEARING   #: cause of our last clear
        self.idle_since = float("-inf")     #: when the circuit last returned to idle

    # ---- properties ----
    @property
    def state(self) -> LineState:
        st: LineState = self.machine.state
        return st

    @property
    def in_call(self) -> bool:
        return self.machine.state in CALL_STATES

    @property
    def recognising(self) -> bool:
        """Received a,b bits have changed and are not recognised yet (DEBOUNCE running)."""
        return self._raw is not None and self._raw != self.rx

    @property
    def outgoing(self) -> bool:
        return self.state.value.startswith("out_")

    @property
    def seize_at(self) -> float | None:
        """When a seizure held back by IDLE_GUARD goes out (None: none is waiting)."""
        if self.machine.state is not S.OUT_SEIZED:
            return None
        at: float | None = self.machine.running.get("IDLE_GUARD")
        return at

    # ---- the sans-IO shape ----
    def events(self) -> list[LineEvent]:
        """Events since the last call, oldest first."""
        out, self._events = self._events, []
        return out

    def data_to_send(self, now: float) -> int:
        """The abcd bits to transmit now (a level: write it again whenever the wire needs it)."""
        return (self._ab_tx << 2) | (self.variant.cd_bits & 0b11)

    def receive(self, data: int, now: float, since: float | None = None) -> None:
        """The received abcd bits at ``now`` (call on every change, or every block).

        ``since``: when they were first received on the line, if known (the card's
        CasChanged time); recognition counts DEBOUNCE from it (at most ``now``), else from
        ``now``. Ignored when the a,b bits are those already being received."""
        if isinstance(data, bool) or not isinstance(data, int) or not 0 <= data <= 0xF:
            raise ValueError(f"abcd must be an int 0..15, not {data!r}")
        if since is not None and (isinstance(since, bool) or not isinstance(since, (int, float))
                                  or since != since or since in (float("inf"), float("-inf"))):
            raise ValueError(f"since must be a finite time or None, not {since!r}")
        ab = (data >> 2) & 0b11
        if ab != self._raw:
            self._raw = ab
            self._raw_since = now if since is None else min(max(float(since), self._fresh), now)
        self._recognise(now)
        self._told(now)

    def timer_deadline(self) -> float | None:
        d: float | None = self.machine.deadline()
        if self._raw is not None and self._raw != self.rx:
            t = self._raw_since + self.machine.values["DEBOUNCE"]
            d = t if d is None else min(d, t)
        return d

    def handle_timer(self, now: float) -> None:
        self._recognise(now)
        self.machine.handle_timer(now)
        self._told(now)

    def _told(self, now: float) -> None:
        if now > self._t:
            self._t = now

    # ---- requests ----
    def seize(self, now: float) -> None:
        """Start an outgoing call (LocalProtocolError unless idle). Within IDLE_GUARD of the
        circuit's return to idle the seizure is held back until the guard ends (:attr:`seize_at`)."""
        self._local(E.SEIZE, None, now)

    def answer(self, now: float) -> None:
        self._local(E.ANSWER, None, now)

    def alerted(self, now: float) -> None:
        """The register exchange said the called party is free: wait for answer (T_ANSWER)."""
        self._local(E.ALERTED, None, now)

    def clear(self, now: float, cause: int = Cause.NORMAL_CLEARING) -> None:
        """Clear our side: clear-forward (outgoing), clear-back or refusal (incoming)."""
        self.cause = int(cause)
        self._local(E.CLEAR, int(cause), now)

    def block(self, now: float) -> None:
        """Block the circuit (now if idle, else when the call ends)."""
        self.block_wanted = True
        self._told(now)
        if not self.in_call:
            self.machine.fire_if(E.BLOCK, None, now)

    def unblock(self, now: float) -> None:
        self.block_wanted = False
        self._told(now)
        self.machine.fire_if(E.UNBLOCK, None, now)

    def alarm(self, now: float, reason: str = "alarm") -> None:
        """A span alarm began: the call (if any) fails, the circuit is unavailable."""
        self._told(now)
        self.machine.fire(E.ALARM, reason, now)

    def alarm_cleared(self, now: float) -> None:
        self._told(now)
        self.machine.fire(E.ALARM_CLEAR, None, now)

    def _local(self, event: LineEv, message: Any, now: float) -> None:
        if not self.machine.allowed(event, message):
            raise LocalProtocolError(f"{self.machine.name}: cannot {event.value} in state {self.state.value}")
        self._told(now)
        self.machine.fire(event, message, now)

    # ---- signal recognition (Q.421 clause 4) ----
    def _recognise(self, now: float) -> None:
        if self._raw is None or self._raw == self.rx:
            return
        at = self._raw_since + self.machine.values["DEBOUNCE"]
        if at <= now + 1e-9:
            # dated when the persistence was complete, not at the poll that found it; never
            # before an input already taken (time runs one way), and timers due first expire first
            at = min(max(at, self._t if self._t > float("-inf") else now), now)
            self.machine.handle_timer(at)
            if self._raw is None or self._raw == self.rx:
                return
            self.rx = self._raw
            if self._raw == AB_IDLE:
                self.idle_seen = True
            try:
                self.machine.fire(_RX[self._raw], self._raw, at)
            except UnexpectedEvent as exc:   # a table hole: counted and reported, never a crash
                self.errors += 1
                self._emit("error", at, reason=str(exc))

    def _emit(self, kind: str, now: float, cause: int | None = None, reason: str = "") -> None:
        self._events.append(LineEvent(kind, now, cause, reason))

    # ---- guards (named in TABLE): (line, message) -> bool ----
    def far_seizes(self, message: Any) -> bool:
        """The far end already sends seizure 00."""
        return self.rx == AB_SEIZE

    def far_blocks(self, message: Any) -> bool:
        """The far end already sends 11 (blocking, seen from idle)."""
        return self.rx == AB_ACK

    def far_idle(self, message: Any) -> bool:
        """The far end shows idle (or nothing yet): our clear-forward is released at once."""
        return self.rx == AB_IDLE or self.rx is None

    def never_idle(self, message: Any) -> bool:
        """The far end has sent no idle since we started (see :attr:`idle_seen`)."""
        return not self.idle_seen

    def guard_running(self, message: Any) -> bool:
        """IDLE_GUARD runs: a seizure of ours is (or would be) held back, never sent."""
        return bool(self.machine.is_running("IDLE_GUARD"))

    def yields(self, message: Any) -> bool:
        """Our glare rule: the far end's call wins a double seizure."""
        return self.glare == "yield"

    def accepts_early_answer(self, message: Any) -> bool:
        return self.early_answer == "accept"

    def wants_block(self, message: Any) -> bool:
        return self.block_wanted

    def has_call(self, message: Any) -> bool:
        return self.machine.state in CALL_STATES

    # ---- actions (named in TABLE): (line, message, now) ----
    def back_idle(self, message: Any, now: float) -> None:
        """Entered idle from another state (the row starts IDLE_GUARD; IDLE's entry timer
        T_BLOCK_DELAY sends a block asked for during the call)."""
        self.idle_since = now
        self._emit("idle", now)

    def send_seize(self, message: Any, now: float) -> None:
        self._ab_tx = AB_SEIZE

    def hold_seize(self, message: Any, now: float) -> None:
        # Q.421 clauses 4 and 5.2: the idle (release guard) we send must persist long enough for
        # the far end, maybe still waiting in clear-forward, to recognise it before a seizure
        # replaces it; otherwise it never sees the circuit free nor acknowledges the seizure.
        # The seizure goes out when IDLE_GUARD (started on the return to idle) expires.
        pass

    def incoming_seize(self, message: Any, now: float) -> None:
        self._ab_tx = AB_ACK
        self._emit("seized", now)

    def remote_blocked(self, message: Any, now: float) -> None:
        self._emit("blocked", now, reason="blocked by the far end")

    def remote_unblocked(self, message: Any, now: float) -> None:
        self._emit("unblocked", now, reason="unblocked by the far end")

    def unexpected(self, message: Any, now: float) -> None:
        self.errors += 1
        self._emit("error", now, reason=f"unexpected a,b={self.rx:02b} in {self.state.value}")

    def stale_seizure(self, message: Any, now: float) -> None:
        """00 before any idle: perhaps a call of the line's previous owner (a restart, or a card
        taken over from a killed node), in whatever state it was left. Not acknowledged yet: we
        go on sending idle for IDLE_GUARD, which the far end's outgoing side, past its seizure,
        takes as the circuit released (Q.421 6) and answers with clear-forward. A far end still
        seizing when the guard ends is waiting for our acknowledgement: a call, taken then."""
        self._emit("error", now, reason="seizure 00 before any idle: idle held for IDLE_GUARD before it "
                                       "counts (a call from before our start is released)")

    def seize_acked(self, message: Any, now: float) -> None:
        self._emit("seize_ack", now)

    def glare_yield(self, message: Any, now: float) -> None:
        """Q.421 / Q.12: our seizure loses; the trunk may repeat our call on another circuit."""
        self._ab_tx = AB_ACK
        self._emit("glare", now, Cause.TEMPORARY_FAILURE, "double seizure: the far end's call wins")
        self._emit("seized", now)

    def glare_unsent(self, message: Any, now: float) -> None:
        """A far seizure while ours was still held back by IDLE_GUARD: ours was never sent."""
        self._ab_tx = AB_ACK
        self._emit("glare", now, Cause.TEMPORARY_FAILURE,
                   "double seizure during our idle guard (ours not sent): the far end's call wins")
        self._emit("seized", now)

    def blocked_unsent(self, message: Any, now: float) -> None:
        """The far end blocked the circuit while our seizure was still held back by IDLE_GUARD
        (never sent): our call cannot use it."""
        self._emit("failed", now, Cause.TEMPORARY_FAILURE,
                   "blocked by the far end during our idle guard (our seizure not sent)")
        self._emit("blocked", now, reason="blocked by the far end")

    def glare_hold(self, message: Any, now: float) -> None:
        self._emit("error", now, reason="double seizure: holding our seizure")

    def unexpected_clear(self, message: Any, now: float) -> None:
        self.errors += 1
        self._ab_tx = AB_IDLE
        self._emit("failed", now, Cause.PROTOCOL_ERROR, f"unexpected a,b={self.rx:02b} in reply to seizure")

    def seize_ack_timeout(self, message: Any, now: float) -> None:
        self._ab_tx = AB_IDLE
        self._emit("failed", now, Cause.RECOVERY_ON_TIMER_EXPIRY, "T_SEIZE_ACK expired: no seizure acknowledgement")

    def send_clear_forward(self, message: Any, now: float) -> None:
        self._ab_tx = AB_IDLE

    def answered(self, message: Any, now: float) -> None:
        self._emit("answer", now)

    def answer_before_b(self, message: Any, now: float) -> None:
        """GF 001-9001: answer follows the group-B signal; before it the address may be
        incomplete, so the call is not connected: clear-forward with a protocol error."""
        self.errors += 1
        self._ab_tx = AB_IDLE
        self._emit("failed", now, Cause.PROTOCOL_ERROR,
                   "answer (a,b=01) before the register's outcome (group B signal)")

    def reanswer(self, message: Any, now: float) -> None:
        self._emit("reanswer", now)

    def far_went_idle(self, message: Any, now: float) -> None:
        self._ab_tx = AB_IDLE
        self._emit("failed", now, Cause.TEMPORARY_FAILURE, "far end returned to idle without clear-back")

    def forced_release(self, message: Any, now: float) -> None:
        self._ab_tx = AB_IDLE
        self._emit("failed", now, Cause.NORMAL_UNSPECIFIED, "forced release (a,b=00) by the far end")

    def no_answer(self, message: Any, now: float) -> None:
        self._ab_tx = AB_IDLE
        self._emit("failed", now, Cause.NO_ANSWER, "T_ANSWER expired")

    def clear_back(self, message: Any, now: float) -> None:
        self._emit("clear_back", now, Cause.NORMAL_CLEARING, "clear-back")

    def release_timeout(self, message: Any, now: float) -> None:
        self._emit("unavailable", now, Cause.RECOVERY_ON_TIMER_EXPIRY, "T_RELEASE expired: far end not idle")

    def clear_forward(self, message: Any, now: float) -> None:
        self._emit("clear_forward", now, Cause.NORMAL_CLEARING, "clear-forward")

    def send_answer(self, message: Any, now: float) -> None:
        self._ab_tx = AB_ANSWER

    def send_ack(self, message: Any, now: float) -> None:
        """Refusal (before answer), clear-back (after) or blocking: a,b = 11."""
        self._ab_tx = AB_ACK

    def clear_forward_timeout(self, message: Any, now: float) -> None:
        self._emit("unavailable", now, Cause.RECOVERY_ON_TIMER_EXPIRY, "T_CLEAR_FWD expired: no clear-forward")

    def send_idle(self, message: Any, now: float) -> None:
        """Release guard over, unblocking: a,b = 10."""
        self._ab_tx = AB_IDLE

    def recovered(self, message: Any, now: float) -> None:
        self._ab_tx = AB_IDLE
        self._emit("available", now, reason="far end idle again")

    def on_alarm_in_call(self, message: Any, now: float) -> None:
        self._emit("failed", now, Cause.NETWORK_OUT_OF_ORDER, f"span alarm: {message or 'alarm'}")
        self.on_alarm(message, now)

    def on_alarm(self, message: Any, now: float) -> None:
        self._ab_tx = AB_IDLE
        self.rx = None
        self._raw = None
        self._emit("unavailable", now, reason=f"span alarm: {message or 'alarm'}")

    def on_alarm_cleared(self, message: Any, now: float) -> None:
        self._ab_tx = AB_IDLE
        self._fresh = now        # what the card kept through the alarm is no older than its end
        self._emit("available", now, reason="span alarm cleared")


# --------------------------------------------------------------------------- the table

L = Line
_Act = Callable[[Line, Any, float], None]
_IG = ("IDLE_GUARD",)


def _then(*fns: _Act | None) -> _Act:
    """One action that runs ``fns`` in order (its name, for docs, joins theirs with '+')."""
    todo = [f for f in fns if f is not None]

    def run(ctx: Line, message: Any, now: float) -> None:
        for f in todo:
            f(ctx, message, now)
    run.__name__ = run.__qualname__ = "+".join(f.__name__ for f in todo)
    return run


def _to_idle(state: LineState, event: LineEv, action: _Act | None = None, clause: str = "") -> list[Row]:
    """``state`` --event--> idle. Entering idle starts IDLE_GUARD (Q.421 5.2: our idle must be
    recognised before a seizure of ours replaces it); where the far end already seizes or
    blocks, the same row goes on into IN_SEIZED / BLOCKED_REMOTE (Q.421 3: the a,b it sends
    mean that in idle), so nothing is fired from an action."""
    return [
        Row(state, event, S.IN_SEIZED, _then(action, L.back_idle, L.incoming_seize), L.far_seizes,
            start=_IG, clause=clause),
        Row(state, event, S.BLOCKED_REMOTE, _then(action, L.back_idle, L.remote_blocked), L.far_blocks,
            start=_IG, clause=clause),
        Row(state, event, S.IDLE, _then(action, L.back_idle), start=_IG, clause=clause),
    ]


def _clear_out(state: LineState) -> list[Row]:
    """Our clear-forward: released at once when the far end already shows idle (it never
    acknowledged), else wait for its release guard (T_RELEASE)."""
    return [Row(state, E.CLEAR, S.IDLE, _then(L.send_clear_forward, L.back_idle), L.far_idle, start=_IG,
                clause="Q.421 5.2"),
            Row(state, E.CLEAR, S.OUT_CLEAR_FWD, L.send_clear_forward, clause="Q.421 5.2")]


def _stay(state: Any, *events: LineEv) -> list[Row]:
    """Inputs tolerated (or ignored) in ``state``."""
    return [Row(state, e) for e in events]


def _unexpected(state: LineState, *events: LineEv) -> list[Row]:
    return [Row(state, e, None, L.unexpected, clause="Q.421 6") for e in events]


_ROWS: list[Row] = [
    # idle
    Row(S.IDLE, E.SEIZE, S.OUT_SEIZED, L.hold_seize, L.guard_running, clause="Q.421 4, 5.2"),
    Row(S.IDLE, E.SEIZE, S.OUT_SEIZED, L.send_seize, clause="Q.421 3"),
    Row(S.IDLE, E.RX_00, None, L.stale_seizure, L.never_idle, start=_IG,
        clause="Q.421 3 (a seizure is the change from idle), 5.2"),
    Row(S.IDLE, E.RX_00, S.IN_SEIZED, L.incoming_seize, clause="Q.421 3"),
    Row(S.IDLE, E.RX_11, S.BLOCKED_REMOTE, L.remote_blocked, clause="Q.421 3"),
    *_stay(S.IDLE, E.RX_10, E.UNBLOCK, E.CLEAR),
    *_unexpected(S.IDLE, E.RX_01),
    Row(S.IDLE, E.BLOCK, S.BLOCKED_LOCAL, L.send_ack, clause="Q.421 3"),
    Row(S.IDLE, E.T_BLOCK_DELAY, S.BLOCKED_LOCAL, L.send_ack, L.wants_block, clause="Q.421 5.2"),
    Row(S.IDLE, E.T_BLOCK_DELAY),
    Row(S.IDLE, E.IDLE_GUARD, S.IN_SEIZED, L.incoming_seize, L.far_seizes,
        clause="Q.421 3 (still seized once our idle had time to be recognised)"),
    Row(S.IDLE, E.IDLE_GUARD),
    # outgoing: seizure sent (or held back by IDLE_GUARD)
    Row(S.OUT_SEIZED, E.IDLE_GUARD, None, L.send_seize, clause="Q.421 4, 5.2"),
    Row(S.OUT_SEIZED, E.RX_11, S.BLOCKED_REMOTE, L.blocked_unsent, L.guard_running, stop=_IG,
        clause="Q.421 3 (11 from idle: blocking)"),
    Row(S.OUT_SEIZED, E.RX_11, S.OUT_ACKED, L.seize_acked, clause="Q.421 3"),
    *_stay(S.OUT_SEIZED, E.RX_10),
    Row(S.OUT_SEIZED, E.RX_00, S.IN_SEIZED, L.glare_unsent, L.guard_running, stop=_IG, clause="Q.421 / Q.12"),
    Row(S.OUT_SEIZED, E.RX_00, S.IN_SEIZED, L.glare_yield, L.yields, clause="Q.421 / Q.12 glare"),
    Row(S.OUT_SEIZED, E.RX_00, None, L.glare_hold, clause="Q.421 / Q.12 glare"),
    Row(S.OUT_SEIZED, E.RX_01, S.OUT_CLEAR_FWD, L.unexpected_clear, clause="Q.421 6"),
    Row(S.OUT_SEIZED, E.T_SEIZE_ACK, S.IDLE, _then(L.seize_ack_timeout, L.back_idle), L.far_idle, start=_IG,
        clause="Q.421 5.1"),
    Row(S.OUT_SEIZED, E.T_SEIZE_ACK, S.OUT_CLEAR_FWD, L.seize_ack_timeout, clause="Q.421 5.1"),
    *_clear_out(S.OUT_SEIZED),
    # outgoing: acknowledged, register signalling
    *_stay(S.OUT_ACKED, E.RX_11),
    Row(S.OUT_ACKED, E.RX_01, S.OUT_ANSWERED, L.answered, L.accepts_early_answer,
        clause="lenient (early_answer = accept)"),
    Row(S.OUT_ACKED, E.RX_01, S.OUT_CLEAR_FWD, L.answer_before_b,
        clause="GF 001-9001: answer follows the group-B signal"),
    *_to_idle(S.OUT_ACKED, E.RX_10, L.far_went_idle, "Q.421 6"),
    Row(S.OUT_ACKED, E.RX_00, S.OUT_CLEAR_FWD, L.forced_release, clause="GF 001-9001 forced release"),
    Row(S.OUT_ACKED, E.ALERTED, S.OUT_ALERTING),
    *_clear_out(S.OUT_ACKED),
    # outgoing: ringing
    *_stay(S.OUT_ALERTING, E.RX_11, E.ALERTED),
    Row(S.OUT_ALERTING, E.RX_01, S.OUT_ANSWERED, L.answered, clause="Q.421 3"),
    *_to_idle(S.OUT_ALERTING, E.RX_10, L.far_went_idle, "Q.421 6"),
    Row(S.OUT_ALERTING, E.RX_00, S.OUT_CLEAR_FWD, L.forced_release, clause="GF 001-9001 forced release"),
    Row(S.OUT_ALERTING, E.T_ANSWER, S.OUT_CLEAR_FWD, L.no_answer, clause="GF 001-9001"),
    *_clear_out(S.OUT_ALERTING),
    # outgoing: answered
    *_stay(S.OUT_ANSWERED, E.RX_01),
    Row(S.OUT_ANSWERED, E.RX_11, S.OUT_CLEAR_BACK, L.clear_back, clause="Q.421 3"),
    Row(S.OUT_ANSWERED, E.RX_00, S.OUT_CLEAR_BACK, L.clear_back, clause="GF 001-9001"),
    *_to_idle(S.OUT_ANSWERED, E.RX_10, L.far_went_idle, "Q.421 6"),
    *_clear_out(S.OUT_ANSWERED),
    # outgoing: the called party cleared
    Row(S.OUT_CLEAR_BACK, E.RX_01, S.OUT_ANSWERED, L.reanswer, clause="Q.421 3"),
    *_stay(S.OUT_CLEAR_BACK, E.RX_11, E.RX_00),
    *_to_idle(S.OUT_CLEAR_BACK, E.RX_10, L.far_went_idle, "Q.421 6"),
    *_clear_out(S.OUT_CLEAR_BACK),
    # outgoing: clear-forward sent
    *_to_idle(S.OUT_CLEAR_FWD, E.RX_10, None, "Q.421 5.2"),
    *_stay(S.OUT_CLEAR_FWD, E.RX_11, E.RX_01, E.RX_00, E.CLEAR),
    Row(S.OUT_CLEAR_FWD, E.T_RELEASE, S.FAULT, L.release_timeout, clause="Q.421 6"),
    # incoming: seized
    *_stay(S.IN_SEIZED, E.RX_00, E.ALERTED),
    Row(S.IN_SEIZED, E.RX_10, S.IN_RELEASE_GUARD, L.clear_forward, clause="Q.421 5.2"),
    *_unexpected(S.IN_SEIZED, E.RX_11, E.RX_01),
    Row(S.IN_SEIZED, E.ANSWER, S.IN_ANSWERED, L.send_answer, clause="Q.421 3"),
    Row(S.IN_SEIZED, E.CLEAR, S.IN_CLEAR_BACK, L.send_ack, clause="GF 001-9001 refusal"),
    # incoming: answered
    *_stay(S.IN_ANSWERED, E.RX_00, E.ANSWER),
    Row(S.IN_ANSWERED, E.RX_10, S.IN_RELEASE_GUARD, L.clear_forward, clause="Q.421 5.2"),
    *_unexpected(S.IN_ANSWERED, E.RX_11, E.RX_01),
    Row(S.IN_ANSWERED, E.CLEAR, S.IN_CLEAR_BACK, L.send_ack, clause="Q.421 3 clear-back"),
    # incoming: clear-back sent, waiting for clear-forward
    *_stay(S.IN_CLEAR_BACK, E.RX_00, E.CLEAR),
    Row(S.IN_CLEAR_BACK, E.RX_10, S.IN_RELEASE_GUARD, None, clause="Q.421 5.2"),
    *_unexpected(S.IN_CLEAR_BACK, E.RX_11, E.RX_01),
    Row(S.IN_CLEAR_BACK, E.T_CLEAR_FWD, S.FAULT, L.clear_forward_timeout, clause="Q.421 6"),
    # incoming: release guard
    *_stay(S.IN_RELEASE_GUARD, E.RX_10, E.RX_00, E.RX_11, E.RX_01, E.CLEAR),
    *_to_idle(S.IN_RELEASE_GUARD, E.RELEASE_GUARD, L.send_idle, "Q.421 5.2"),
    # blocking
    *_to_idle(S.BLOCKED_LOCAL, E.UNBLOCK, L.send_idle, "Q.421 3"),
    *_stay(S.BLOCKED_LOCAL, E.BLOCK, E.CLEAR, E.RX_10),
    Row(S.BLOCKED_LOCAL, E.RX_11, S.BLOCKED_BOTH, L.remote_blocked, clause="Q.421 3"),
    *_unexpected(S.BLOCKED_LOCAL, E.RX_00, E.RX_01),
    *_to_idle(S.BLOCKED_REMOTE, E.RX_10, L.remote_unblocked, "Q.421 3"),
    *_stay(S.BLOCKED_REMOTE, E.RX_11, E.UNBLOCK, E.CLEAR),
    Row(S.BLOCKED_REMOTE, E.RX_00, S.IN_SEIZED, L.incoming_seize, clause="Q.421 3"),
    *_unexpected(S.BLOCKED_REMOTE, E.RX_01),
    Row(S.BLOCKED_REMOTE, E.BLOCK, S.BLOCKED_BOTH, L.send_ack, clause="Q.421 3"),
    Row(S.BLOCKED_BOTH, E.UNBLOCK, S.BLOCKED_REMOTE, L.send_idle, clause="Q.421 3"),
    *_stay(S.BLOCKED_BOTH, E.BLOCK, E.CLEAR, E.RX_11),
    Row(S.BLOCKED_BOTH, E.RX_10, S.BLOCKED_LOCAL, L.remote_unblocked, clause="Q.421 3"),
    *_unexpected(S.BLOCKED_BOTH, E.RX_00, E.RX_01),
    # abnormal: out of service until the far end shows idle
    *_to_idle(S.FAULT, E.RX_10, L.recovered, "Q.421 6"),
    *_stay(S.FAULT, E.RX_11, E.RX_00, E.RX_01, E.CLEAR, E.BLOCK, E.UNBLOCK),
    # span alarm: received bits mean nothing until it clears
    *_stay(S.ALARM, E.ALARM, E.RX_10, E.RX_11, E.RX_00, E.RX_01, E.CLEAR, E.BLOCK, E.UNBLOCK),
    *_to_idle(S.ALARM, E.ALARM_CLEAR, L.on_alarm_cleared, "G.775 alarm cleared"),
    Row(ANY, E.ALARM, S.ALARM, L.on_alarm_in_call, L.has_call, stop=_IG, clause="G.775 / Q.421 6"),
    Row(ANY, E.ALARM, S.ALARM, L.on_alarm, stop=_IG, clause="G.775 / Q.421 6"),
    *_stay(ANY, E.ALARM_CLEAR, E.IDLE_GUARD),
]

#: The whole line state machine. Entry timers: the state timers of Q.421 / GF 001-9001;
#: IDLE_GUARD is started by every row into idle and runs on past a seizure it holds back.
TABLE = Table(
    "no1-line", S.IDLE, tuple(_ROWS), timers=LINE_TIMERS,
    entry={S.OUT_SEIZED: ("T_SEIZE_ACK",), S.OUT_ALERTING: ("T_ANSWER",), S.OUT_CLEAR_FWD: ("T_RELEASE",),
           S.IN_RELEASE_GUARD: ("RELEASE_GUARD",), S.IN_CLEAR_BACK: ("T_CLEAR_FWD",),
           S.IDLE: ("T_BLOCK_DELAY",)},
    expiry={"T_SEIZE_ACK": E.T_SEIZE_ACK, "T_ANSWER": E.T_ANSWER, "T_RELEASE": E.T_RELEASE,
            "RELEASE_GUARD": E.RELEASE_GUARD, "T_CLEAR_FWD": E.T_CLEAR_FWD,
            "T_BLOCK_DELAY": E.T_BLOCK_DELAY, "IDLE_GUARD": E.IDLE_GUARD},
)
