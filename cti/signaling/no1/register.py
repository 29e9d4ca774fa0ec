"""Compelled MFC register signalling (R2 / China No.1), both directions, sans-IO.

Compelled cycle (Q.441 clause 3, STANDARDS.md): the forward register sends a signal and
keeps it on until a backward signal is recognised; it then stops; the backward register
keeps its signal on until the forward signal stops, then stops; the next forward signal
starts when the backward one has ended. Pulsed backward signals (sent without a forward
signal) follow Q.441 too.

:class:`OutgoingRegister` is the forward register of our outgoing call: it sends the called
number (DNIS), answers A requests (next digit, resend, KA + calling number, change to group
B), sends KD and reads the B signal. :class:`IncomingRegister` is the backward register of an
incoming call: it requests digits and the calling number and, once KD arrives, sends the B
signal the call model chose. Signal numbers come from a :class:`~.variants.Variant`.

Feed detector results with ``on_signal(signal, now)`` (1..15 on, 0 off); send ``tone``
(0 = silence); run ``handle_timer`` by ``timer_deadline``; read ``events()``.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from cti.signaling.causes import Cause
from cti.signaling.errors import LocalProtocolError
from cti.signaling.fsm import ANY, TableFSM, UnexpectedEvent
from cti.signaling.timers import Timers

from .timers import REGISTER_TIMERS, pick
from .variants import OUTCOME_CAUSES, OUTCOMES, Role, Variant, get_variant

DIGITS = "1234567890"


def digit_signal(ch: str) -> int:
    """Group I signal of an address digit ('1'..'9' -> 1..9, '0' -> 10)."""
    if len(ch) != 1 or ch not in DIGITS:
        raise ValueError(f"not an address digit: {ch!r}")
    return DIGITS.index(ch) + 1


def signal_digit(sig: int) -> str | None:
    """The address digit of group I signal ``sig`` (None for 11..15)."""
    return DIGITS[sig - 1] if 1 <= sig <= 10 else None


def check_digits(number: str, what: str) -> str:
    if not isinstance(number, str):
        raise TypeError(f"{what} must be a str of digits, not {type(number).__name__}")
    if any(c not in DIGITS for c in number):
        raise ValueError(f"{what} {number!r}: only digits 0-9 can be sent by MFC")
    return number


class RegState(str, enum.Enum):
    """Register states (Q.441 clause 3 compelled cycle; GF 001-9001 register procedures)."""

    IDLE = "idle"
    SEND_A = "send_a"            #: forward group I/II signal on, awaiting a group A signal
    WAIT_A_OFF = "wait_a_off"    #: forward signal stopped, awaiting end of the A signal
    QUIET_A = "quiet_a"          #: nothing left to send, awaiting a pulsed A signal
    SEND_B = "send_b"            #: KD (group II) on, awaiting the group B signal
    WAIT_B_OFF = "wait_b_off"    #: forward signal stopped, awaiting end of the B signal
    WAIT_FWD = "wait_fwd"        #: incoming: awaiting the next group I signal
    BACK_A = "back_a"            #: incoming: group A signal on, awaiting end of the forward signal
    PULSE_A = "pulse_a"          #: incoming: pulsed A signal (no forward signal to answer)
    WAIT_KD = "wait_kd"          #: incoming: awaiting KD (group II)
    DECIDE = "decide"            #: incoming: KD on, awaiting the call model's B decision
    BACK_B = "back_b"            #: incoming: group B signal on, awaiting end of KD
    DONE = "done"                #: exchange complete (outcome known)
    FAILED = "failed"            #: timer, unexpected signal or abort


R = RegState


@dataclass(frozen=True, slots=True)
class RegisterEvent:
    """``done`` (outcome known), ``collected`` (incoming: numbers and KD in, decide now),
    ``failed`` (with cause), ``error`` (ignored glitch)."""

    kind: str
    time: float
    outcome: str = ""
    cause: int | None = None
    reason: str = ""
    dnis: str = ""
    ani: str | None = None
    ka: int | None = None
    kd: int | None = None
    signal: int | None = None


class _Register:
    TABLE: dict = {}
    STATE_TIMERS: dict[RegState, str] = {}

    def __init__(self, variant: Variant | str, timers: dict[str, float] | None, name: str) -> None:
        self.variant = get_variant(variant)
        self.timers = Timers(REGISTER_TIMERS, pick(REGISTER_TIMERS, timers))
        self.fsm: TableFSM[RegState] = TableFSM(name, self.TABLE, R.IDLE, self)
        self.tone = 0
        self._events: list[RegisterEvent] = []
        self._now = 0.0
        self._signal = 0
        self.outcome = ""
        self.cause: int | None = None

    @property
    def state(self) -> RegState:
        return self.fsm.state

    @property
    def finished(self) -> bool:
        return self.fsm.state in (R.DONE, R.FAILED)

    def events(self) -> list[RegisterEvent]:
        out, self._events = self._events, []
        return out

    def timer_deadline(self) -> float | None:
        return self.timers.deadline()

    def handle_timer(self, now: float) -> None:
        for name in self.timers.expired(now):
            self._fire(self._timer_event(name), now)

    def _timer_event(self, name: str) -> str:
        return name

    def start(self, now: float) -> None:
        """Seizure acknowledged: the outgoing register sends its first digit, the incoming
        one waits for it."""
        if self.fsm.state is not R.IDLE:
            raise LocalProtocolError(f"register already started ({self.state.value})")
        self._fire("START", now)

    def _on_signal(self, signal: int, now: float, on: str, off: str, off_states: tuple[RegState, ...]) -> None:
        """Check ``signal`` (0..15) and fire ``on`` (a signal began), ``self._off`` (it ended
        in one of ``off_states``) or ``off`` (it ended elsewhere)."""
        if isinstance(signal, bool) or not isinstance(signal, int) or not 0 <= signal <= 15:
            raise ValueError(f"MF signal must be 0..15, not {signal!r}")
        self._signal = signal
        if signal:
            self._fire(on, now)
        elif self.fsm.state in off_states:
            self._fire(self._off, now)
        else:
            self._fire(off, now)

    def abort(self, now: float, reason: str = "aborted") -> None:
        """Stop at once (line cleared, alarm); silent from now on."""
        if not self.finished:
            self._reason = reason
            self._fire("ABORT", now)

    def _fire(self, event: str, now: float, *args: Any) -> None:
        self._now = now
        before = self.fsm.state
        try:
            self.fsm.fire(event, *args)
        except UnexpectedEvent as exc:
            self._fail(Cause.PROTOCOL_ERROR, str(exc))
            return
        after = self.fsm.state
        if after is not before:
            old = self.STATE_TIMERS.get(before)
            if old:
                self.timers.stop(old)
            new = self.STATE_TIMERS.get(after)
            if new:
                self.timers.start(new, now)

    def _fail(self, cause: int, reason: str) -> None:
        if self.finished:
            return
        self.fsm.state = R.FAILED
        self.fsm.trace.append((None, "FAIL", R.FAILED))
        self.timers.stop_all()
        self.tone = 0
        self.outcome = "failed"
        self.cause = cause
        self._emit("failed", cause=cause, reason=reason)

    def _emit(self, kind: str, **kw: Any) -> None:
        self._events.append(RegisterEvent(kind, self._now, **kw))

    # shared actions
    def on_abort(self) -> None:
        self.timers.stop_all()
        self.tone = 0
        self.outcome = "failed"
        self.cause = Cause.NORMAL_UNSPECIFIED
        self._emit("failed", cause=self.cause, reason=getattr(self, "_reason", "aborted"))

    def on_timeout(self) -> None:
        self.timers.stop_all()
        self.tone = 0
        self.outcome = "failed"
        self.cause = Cause.RECOVERY_ON_TIMER_EXPIRY
        self._emit("failed", cause=self.cause, reason=f"{self.fsm.trace[-1][1]} expired in {self.fsm.trace[-1][0].value}")

    def glitch(self) -> None:
        self._emit("error", reason=f"ignored signal {self._signal} in {self.state.value}")


# --------------------------------------------------------------------------- outgoing

class OutgoingRegister(_Register):
    """Forward register of an outgoing call."""

    TABLE = {
        (R.IDLE, "START"): ("send_first", R.SEND_A),
        (R.SEND_A, "BACK_ON"): ("on_group_a", R.WAIT_A_OFF),
        (R.SEND_A, "BACK_OFF"): ("glitch", None),
        (R.SEND_A, "T_MF_FWD"): ("on_timeout", R.FAILED),
        (R.WAIT_A_OFF, "OFF_SEND"): ("send_next", R.SEND_A),
        (R.WAIT_A_OFF, "OFF_SEND_KD"): ("send_next", R.SEND_B),
        (R.WAIT_A_OFF, "OFF_QUIET"): (None, R.QUIET_A),
        (R.WAIT_A_OFF, "OFF_END"): ("finish", R.DONE),
        (R.WAIT_A_OFF, "OFF_FAIL"): ("finish_failed", R.FAILED),
        (R.WAIT_A_OFF, "T_MF_BACK_OFF"): ("on_timeout", R.FAILED),
        (R.QUIET_A, "BACK_ON"): ("on_group_a", R.WAIT_A_OFF),
        (R.QUIET_A, "BACK_OFF"): ("glitch", None),
        (R.QUIET_A, "T_MF_QUIET"): ("on_timeout", R.FAILED),
        (R.SEND_B, "BACK_ON"): ("on_group_b", R.WAIT_B_OFF),
        (R.SEND_B, "BACK_OFF"): ("glitch", None),
        (R.SEND_B, "T_MF_FWD"): ("on_timeout", R.FAILED),
        (R.WAIT_B_OFF, "OFF_END"): ("finish", R.DONE),
        (R.WAIT_B_OFF, "OFF_FAIL"): ("finish_failed", R.FAILED),
        (R.WAIT_B_OFF, "T_MF_BACK_OFF"): ("on_timeout", R.FAILED),
        (R.DONE, "BACK_ON"): ("glitch", None),
        (R.DONE, "BACK_OFF"): (None, None),
        (R.FAILED, "BACK_ON"): (None, None),
        (R.FAILED, "BACK_OFF"): (None, None),
        (ANY, "ABORT"): ("on_abort", R.FAILED),
    }
    STATE_TIMERS = {R.SEND_A: "T_MF_FWD", R.SEND_B: "T_MF_FWD", R.WAIT_A_OFF: "T_MF_BACK_OFF",
                    R.WAIT_B_OFF: "T_MF_BACK_OFF", R.QUIET_A: "T_MF_QUIET"}

    def __init__(self, dnis: str, ani: str | None = None, *, variant: Variant | str = "cn",
                 ka: int = 1, kd: int = 3, timers: dict[str, float] | None = None,
                 name: str = "mfc-out") -> None:
        super().__init__(variant, timers, name)
        self.dnis = check_digits(dnis, "called number")
        if not self.dnis:
            raise ValueError("called number must not be empty")
        self.ani = check_digits(ani, "calling number") if ani else None
        for what, v in (("ka", ka), ("kd", kd)):
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 15:
                raise ValueError(f"{what} must be a signal 1..15, not {v!r}")
        self.ka, self.kd = ka, kd
        self._i = 0                # next called-number digit to send
        self._j = 0                # next calling-number digit to send
        self._ani_phase = False
        self._next = 0
        self._off = "OFF_FAIL"
        self.b_signal: int | None = None
        self.sent: list[int] = []  #: every forward signal sent, in order (for tests / traces)

    def on_signal(self, signal: int, now: float) -> None:
        """A backward signal was recognised (1..15) or ended (0)."""
        self._on_signal(signal, now, "BACK_ON", "BACK_OFF", (R.WAIT_A_OFF, R.WAIT_B_OFF))

    # actions
    def _send(self, sig: int) -> None:
        self.tone = sig
        self.sent.append(sig)

    def send_first(self) -> None:
        self._i = 1
        self._send(digit_signal(self.dnis[0]))

    def on_group_a(self) -> None:
        self.tone = 0
        sig = self._signal
        role = self.variant.role_a(sig, ani_phase=self._ani_phase)
        v = self.variant
        self._off = "OFF_SEND"
        if role is Role.NEXT_DIGIT or (role is Role.NEXT_ANI_DIGIT and not self._ani_phase):
            if self._i < len(self.dnis):
                self._next = digit_signal(self.dnis[self._i])
                self._i += 1
            elif v.end_of_dnis:
                self._next = v.end_of_dnis
            else:
                self._off = "OFF_QUIET"
        elif role is Role.NEXT_ANI_DIGIT:
            if self.ani and self._j < len(self.ani):
                self._next = digit_signal(self.ani[self._j])
                self._j += 1
            else:
                # calling number sent (or none to send): end of it, or "restricted" where the
                # variant has such a signal and we have no number
                restricted = v.signal_i(Role.ANI_RESTRICTED)
                end = restricted if self.ani is None and restricted is not None else v.end_of_ani
                self._next = end or 15
                self._ani_phase = False
        elif role in (Role.RESEND_FROM_FIRST, Role.RESEND_LAST_BUT_ONE, Role.RESEND_LAST_BUT_TWO,
                      Role.RESEND_LAST_BUT_THREE):
            back = {Role.RESEND_FROM_FIRST: self._i, Role.RESEND_LAST_BUT_ONE: 2,
                    Role.RESEND_LAST_BUT_TWO: 3, Role.RESEND_LAST_BUT_THREE: 4}[role]
            self._i = max(self._i - back, 0)
            self._next = digit_signal(self.dnis[self._i])
            self._i += 1
        elif role is Role.SEND_CATEGORY_AND_ANI:
            self._next = self.ka
            self._ani_phase = True
        elif role is Role.SEND_CATEGORY:
            self._next = self.kd
            self._ani_phase = True
        elif role is Role.ADDRESS_COMPLETE_CHANGE_TO_B:
            self._next = self.kd
            self._ani_phase = False
            self._off = "OFF_SEND_KD"
        elif role in OUTCOMES:
            self._result(role, sig)
            self._off = "OFF_END"
        else:
            self.outcome, self.cause = "failed", Cause.PROTOCOL_ERROR
            self._why = f"group A signal A{sig} has no meaning in variant {v.name}"
            self._off = "OFF_FAIL"

    def on_group_b(self) -> None:
        self.tone = 0
        sig = self._signal
        role = self.variant.role_b(sig)
        if role in OUTCOMES:
            self._result(role, sig)
            self._off = "OFF_END"
        else:
            self.outcome, self.cause = "failed", Cause.PROTOCOL_ERROR
            self._why = f"group B signal B{sig} has no meaning in variant {self.variant.name}"
            self._off = "OFF_FAIL"

    def _result(self, role: Role, sig: int) -> None:
        self.outcome = OUTCOMES[role]
        self.cause = OUTCOME_CAUSES[self.outcome]
        self.b_signal = sig
        self._role = role

    def send_next(self) -> None:
        self._send(self._next)

    def finish(self) -> None:
        self.tone = 0
        self._emit("done", outcome=self.outcome, cause=self.cause, signal=self.b_signal,
                   reason=getattr(self, "_role", Role.FREE_CHARGE).value)

    def finish_failed(self) -> None:
        self.tone = 0
        self._emit("failed", cause=self.cause, reason=getattr(self, "_why", "protocol error"))


# --------------------------------------------------------------------------- incoming

OUTCOME_ROLES: dict[str, Role] = {
    "free": Role.FREE_CHARGE, "free_no_charge": Role.FREE_NO_CHARGE, "busy": Role.BUSY,
    "unallocated": Role.UNALLOCATED, "congestion": Role.CONGESTION, "out_of_order": Role.OUT_OF_ORDER,
    "special_info": Role.SPECIAL_INFO,
}


class IncomingRegister(_Register):
    """Backward register of an incoming call."""

    TABLE = {
        (R.IDLE, "START"): (None, R.WAIT_FWD),
        (R.WAIT_FWD, "FWD_ON"): ("on_group_i", R.BACK_A),
        (R.WAIT_FWD, "FWD_OFF"): ("glitch", None),
        (R.WAIT_FWD, "T_MF_WAIT"): ("on_timeout", R.FAILED),
        (R.WAIT_FWD, "T_MF_WAIT_PULSE"): ("pulse_a3", R.PULSE_A),
        (R.WAIT_FWD, "T_MF_WAIT_NO_ANI"): ("no_ani_pulse_a3", R.PULSE_A),
        (R.WAIT_FWD, "DECIDE"): ("early_decision", None),
        (R.BACK_A, "OFF_NEXT"): ("back_off", R.WAIT_FWD),
        (R.BACK_A, "OFF_TO_KD"): ("back_off", R.WAIT_KD),
        (R.BACK_A, "OFF_END"): ("finish", R.DONE),
        (R.BACK_A, "T_MF_FWD_OFF"): ("on_timeout", R.FAILED),
        (R.BACK_A, "DECIDE"): ("early_decision", None),
        (R.PULSE_A, "T_PULSE"): ("back_off", R.WAIT_KD),
        (R.PULSE_A, "FWD_ON"): ("glitch", None),
        (R.PULSE_A, "FWD_OFF"): ("glitch", None),
        (R.PULSE_A, "DECIDE"): ("early_decision", None),
        (R.WAIT_KD, "FWD_ON"): ("on_kd", R.DECIDE),
        (R.WAIT_KD, "FWD_OFF"): ("glitch", None),
        (R.WAIT_KD, "T_MF_WAIT"): ("on_timeout", R.FAILED),
        (R.WAIT_KD, "DECIDE"): ("early_decision", None),
        (R.DECIDE, "DECIDE"): ("send_b", R.BACK_B),
        (R.DECIDE, "T_DECISION"): ("send_default_b", R.BACK_B),
        (R.DECIDE, "FWD_OFF"): ("kd_dropped", R.FAILED),
        (R.BACK_B, "FWD_OFF"): ("finish", R.DONE),
        (R.BACK_B, "T_MF_FWD_OFF"): ("on_timeout", R.FAILED),
        (R.BACK_B, "DECIDE"): (None, None),
        (R.DONE, "FWD_ON"): ("glitch", None),
        (R.DONE, "FWD_OFF"): (None, None),
        (R.DONE, "DECIDE"): (None, None),
        (R.FAILED, "FWD_ON"): (None, None),
        (R.FAILED, "FWD_OFF"): (None, None),
        (R.FAILED, "DECIDE"): (None, None),
        (ANY, "ABORT"): ("on_abort", R.FAILED),
    }
    STATE_TIMERS = {R.WAIT_FWD: "T_MF_WAIT", R.WAIT_KD: "T_MF_WAIT", R.BACK_A: "T_MF_FWD_OFF",
                    R.BACK_B: "T_MF_FWD_OFF", R.DECIDE: "T_DECISION", R.PULSE_A: "T_PULSE"}

    def __init__(self, *, variant: Variant | str = "cn", dnis_length: int = 4, ani: bool = True,
                 ani_after: int = 1, ani_max_digits: int = 15, default_b: str = "free",
                 timers: dict[str, float] | None = None, name: str = "mfc-in",
                 dnis_lengths: dict[str, int] | None = None) -> None:
        super().__init__(variant, timers, name)
        if default_b not in OUTCOME_ROLES:
            raise ValueError(f"default_b must be one of {', '.join(OUTCOME_ROLES)}")
        self.dnis_length = dnis_length
        #: numbering plan: called-number prefix -> digits (the longest matching prefix wins)
        self.dnis_lengths = dict(dnis_lengths or {})
        self.want_ani = ani
        self.ani_after = max(ani_after, 1) if ani else 0
        self.ani_max = ani_max_digits
        self.default_b = default_b
        self.dnis = ""
        self.ani: str | None = None
        self.ka: int | None = None
        self.kd: int | None = None
        self.ani_restricted = False
        self.ani_absent = False      #: the caller sent no calling number after KA (see no_ani_pulse_a3)
        self._expect = "dnis"       # dnis | ka | category | ani
        self._ani_asked = False
        self._off = "OFF_NEXT"
        self._decision: str | None = None
        self._pending = False        # decided before KD: send B as soon as KD is in

    def on_signal(self, signal: int, now: float) -> None:
        """A forward signal was recognised (1..15) or ended (0)."""
        self._on_signal(signal, now, "FWD_ON", "FWD_OFF", (R.BACK_A,))

    def decide(self, outcome: str, now: float) -> None:
        """The called party's state: free, busy, unallocated, congestion (or out_of_order)."""
        if outcome not in OUTCOME_ROLES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOME_ROLES)}, not {outcome!r}")
        self._decision = outcome
        if not self.finished:
            self._fire("DECIDE", now)

    def _timer_event(self, name: str) -> str:
        if name == "T_MF_WAIT" and self.state is R.WAIT_FWD and self.dnis:
            if self._expect == "dnis":
                return "T_MF_WAIT_PULSE"   # caller has no more digits (China sends no end-of-pulsing)
            return "T_MF_WAIT_NO_ANI"      # caller never sent a calling number (libopenr2 CN quirk)
        return name

    # actions
    def on_group_i(self) -> None:
        sig, v = self._signal, self.variant
        self._off = "OFF_NEXT"
        if self._expect == "ka":
            self.ka = sig
            self._expect = "ani"
            self.ani = ""
            self._back(v.signal_next_ani())
            return
        if self._expect == "ani":
            digit = signal_digit(sig)
            if digit is not None:
                self.ani = (self.ani or "") + digit
            elif sig == v.signal_i(Role.ANI_RESTRICTED):
                self.ani_restricted = True
            if digit is None or len(self.ani or "") >= self.ani_max:
                self._expect = "dnis"   # calling number complete: back to the called number
                self._after_dnis_digit()
            else:
                self._back(v.signal_next_ani())
            return
        digit = signal_digit(sig)
        if digit is not None:
            self.dnis += digit
            self._after_dnis_digit()
        elif sig == 15:   # end of pulsing (ITU I-15; tolerated from China callers too)
            self._change_to_b()
        else:
            self._reject(f"group I signal {sig} is not an address digit")

    def _after_dnis_digit(self) -> None:
        v = self.variant
        if self.want_ani and not self._ani_asked and len(self.dnis) >= self.ani_after:
            self._ani_asked = True
            if v.has_a(Role.SEND_CATEGORY_AND_ANI):
                self._expect = "ka"
                self._back(v.signal_a(Role.SEND_CATEGORY_AND_ANI))
                return
            if v.has_a(Role.SEND_CATEGORY):
                self._expect = "ka"     # ITU: the category (group II) then A5 per ANI digit
                self._back(v.signal_a(Role.SEND_CATEGORY))
                return
        need = self._dnis_needed()
        if need and len(self.dnis) >= need:
            self._change_to_b()
        else:
            self._back(v.signal_a(Role.NEXT_DIGIT))

    def _dnis_needed(self) -> int:
        """Digits the called number has: by its longest prefix in ``dnis_lengths``, else ``dnis_length``."""
        for k in range(len(self.dnis), 0, -1):
            n = self.dnis_lengths.get(self.dnis[:k])
            if n is not None:
                return n
        return self.dnis_length

    def _change_to_b(self) -> None:
        self._off = "OFF_TO_KD"
        self._back(self.variant.signal_a(Role.ADDRESS_COMPLETE_CHANGE_TO_B))

    def _reject(self, why: str) -> None:
        self.outcome = "congestion"
        self.cause = Cause.INVALID_NUMBER_FORMAT
        self._why = why
        self._off = "OFF_END"
        self._back(self.variant.signal_a(Role.CONGESTION))

    def _back(self, sig: int) -> None:
        self.tone = sig

    def back_off(self) -> None:
        self.tone = 0

    def pulse_a3(self) -> None:
        self.tone = self.variant.signal_a(Role.ADDRESS_COMPLETE_CHANGE_TO_B)

    def no_ani_pulse_a3(self) -> None:
        """The caller answered A6 with a category but then sent called-number digits to our
        "next calling-number digit" requests (China A1 means both; libopenr2 CN always takes it
        as the next called digit) and stopped: those digits belong to the called number."""
        self.dnis += self.ani or ""
        self.ani = None
        self.ani_absent = True
        self._expect = "dnis"
        self.pulse_a3()

    def on_kd(self) -> None:
        self.kd = self._signal
        self.tone = 0
        self.ani = self.ani or None
        self._emit("collected", dnis=self.dnis, ani=self.ani, ka=self.ka, kd=self.kd)
        if self._decision is not None:
            # decided before KD arrived: answer at once (table row DECIDE -> send_b)
            self._pending = True

    def early_decision(self) -> None:
        pass  # kept in self._decision until KD arrives

    def send_b(self) -> None:
        self._send_b(self._decision or self.default_b)

    def send_default_b(self) -> None:
        self._send_b(self.default_b)

    def _send_b(self, outcome: str) -> None:
        role = OUTCOME_ROLES[outcome]
        try:
            sig = self.variant.signal_b(role)
        except ValueError:
            role = Role.CONGESTION if outcome != "free" else Role.FREE_CHARGE
            sig = self.variant.signal_b(role)
        self.tone = sig
        self.outcome = OUTCOMES[role]
        self.cause = OUTCOME_CAUSES[self.outcome]
        self._b = sig

    def kd_dropped(self) -> None:
        self.tone = 0
        self.outcome, self.cause = "failed", Cause.PROTOCOL_ERROR
        self._emit("failed", cause=self.cause, reason="KD ended before the B signal")

    def finish(self) -> None:
        self.tone = 0
        self._emit("done", outcome=self.outcome, cause=self.cause, dnis=self.dnis, ani=self.ani,
                   ka=self.ka, kd=self.kd, signal=getattr(self, "_b", None),
                   reason=getattr(self, "_why", ""))

    def _fire(self, event: str, now: float, *args: Any) -> None:
        super()._fire(event, now, *args)
        if self._pending and self.fsm.state is R.DECIDE:
            self._pending = False
            super()._fire("DECIDE", now)
