"""Compelled MFC register signalling (R2 / China No.1), both directions, sans-IO.

Compelled cycle (Q.441 clause 3): the forward register sends a signal and
keeps it on until a backward signal is recognised; it then stops; the backward register
keeps its signal on until the forward signal stops, then stops; the next forward signal
starts when the backward one has ended. Pulsed backward signals (sent without a forward
signal) follow Q.441 too.

:class:`OutgoingRegister` is the forward register of our outgoing call: it sends the called
number (DNIS), answers A requests (next digit, resend, KA + calling number, change to group
B), sends KD and reads the B signal. :class:`IncomingRegister` is the backward register of an
incoming call: it requests digits and the calling number and, once KD arrives, sends the B
signal the call model chose. Signal numbers come from a :class:`~.variants.Variant`.

Both registers have the one sans-IO shape (:class:`cti.signaling.stack.SansIOStack`):
feed detector results with ``receive(signal, now)`` (1..15 on, 0 off); send
``data_to_send(now)`` (the MF signal to generate, 0 = silence); run ``handle_timer`` by
``timer_deadline``; read ``events()``.

Each is a table on the one engine (:mod:`cti.signaling.engine`): :data:`OUT_TABLE` and
:data:`IN_TABLE`. What happens when a signal *ends* depends on what the signal meant (the
compelled cycle's next step, decided when it began): that decision is kept as a
:class:`Plan` and the rows for the end of a signal are guarded by it, so every change of
state is a row. A signal the table does not expect fails the register with a protocol
error through the ``UNEXPECTED`` row.
"""
from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from cti.signaling.causes import Cause
from cti.signaling.engine import ANY, Machine, Row, Table, UnexpectedEvent
from cti.signaling.errors import LocalProtocolError

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


class RegEv(enum.Enum):
    """Events of the register tables."""

    START = "start"              #: seizure acknowledged (outgoing) / made (incoming)
    BACK_ON = "back on"          #: outgoing: a backward signal was recognised
    BACK_OFF = "back off"        #: outgoing: the backward signal ended
    FWD_ON = "fwd on"            #: incoming: a forward signal was recognised
    FWD_OFF = "fwd off"          #: incoming: the forward signal ended
    DECIDE = "decide"            #: incoming: the call model chose the B signal
    ABORT = "abort"              #: line cleared, alarm: stop at once
    UNEXPECTED = "unexpected"    #: an event no row of the current state takes
    T_MF_FWD = "T_MF_FWD"
    T_MF_BACK_OFF = "T_MF_BACK_OFF"
    T_MF_QUIET = "T_MF_QUIET"
    T_MF_WAIT = "T_MF_WAIT"
    T_MF_FWD_OFF = "T_MF_FWD_OFF"
    T_DNIS_END = "T_DNIS_END"
    T_PULSE = "T_PULSE"
    T_DECISION = "T_DECISION"


class Plan(enum.Enum):
    """What follows the end of the signal now on (decided by what it meant)."""

    SEND = "send the next forward signal"
    SEND_KD = "send KD and change to group B"
    QUIET = "nothing to send: wait for a pulsed signal"
    END = "the exchange ended with an outcome"
    FAIL = "the exchange failed"
    NEXT = "wait for the next forward signal"
    TO_KD = "wait for KD"


R = RegState
V = RegEv


@dataclass(frozen=True, slots=True)
class RegisterEvent:
    """``outcome`` (outgoing: the B signal, or an A signal that ends the exchange, was
    recognised; ``done`` follows when it ends), ``done`` (outcome known), ``collected``
    (incoming: numbers and KD in, decide now), ``failed`` (with cause), ``error`` (ignored glitch)."""

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


_TIMER_EVENTS: dict[str, RegEv] = {name: RegEv[name] for name in REGISTER_TIMERS}
FINISHED = frozenset({R.DONE, R.FAILED})


class _Register:
    TABLE: ClassVar[Table]

    def __init__(self, variant: Variant | str, timers: dict[str, float] | None, name: str,
                 trace: int) -> None:
        self.variant = get_variant(variant)
        self.machine: Machine[Any] = Machine(self.TABLE, self, name=name,
                                             timer_values=pick(REGISTER_TIMERS, timers), trace=trace)
        self._tone = 0
        self._events: list[RegisterEvent] = []
        self._signal = 0
        self.plan = Plan.FAIL
        self.outcome = ""
        self.cause: int | None = None
        self._why = ""

    @property
    def state(self) -> RegState:
        st: RegState = self.machine.state
        return st

    @property
    def finished(self) -> bool:
        return self.machine.state in FINISHED

    # ---- the sans-IO shape ----
    def events(self) -> list[RegisterEvent]:
        out, self._events = self._events, []
        return out

    def data_to_send(self, now: float) -> int:
        """The MF signal to send now (1..15), 0 for silence."""
        return self._tone

    def receive(self, data: int, now: float) -> None:
        """A signal was recognised (1..15) or the one on ended (0)."""
        if isinstance(data, bool) or not isinstance(data, int) or not 0 <= data <= 15:
            raise ValueError(f"MF signal must be 0..15, not {data!r}")
        self._signal = data
        self._fire(self._ON if data else self._OFF, data, now)

    def timer_deadline(self) -> float | None:
        d: float | None = self.machine.deadline()
        return d

    def handle_timer(self, now: float) -> None:
        self.machine.handle_timer(now)

    # ---- requests ----
    def start(self, now: float) -> None:
        """Seizure acknowledged: the outgoing register sends its first digit, the incoming
        one waits for it."""
        if self.machine.state is not R.IDLE:
            raise LocalProtocolError(f"register already started ({self.state.value})")
        self._fire(V.START, None, now)

    def abort(self, now: float, reason: str = "aborted") -> None:
        """Stop at once (line cleared, alarm); silent from now on."""
        if not self.finished:
            self._fire(V.ABORT, reason, now)

    _ON: ClassVar[RegEv]
    _OFF: ClassVar[RegEv]

    def _fire(self, event: RegEv, message: Any, now: float) -> None:
        try:
            self.machine.fire(event, message, now)
        except UnexpectedEvent as exc:
            self.machine.fire(V.UNEXPECTED, str(exc), now)

    def _emit(self, kind: str, now: float, **kw: Any) -> None:
        self._events.append(RegisterEvent(kind, now, **kw))

    # ---- guards ----
    @staticmethod
    def plan_is(plan: Plan) -> Callable[[Any, Any], bool]:
        def guard(reg: _Register, message: Any) -> bool:
            return reg.plan is plan
        guard.__name__ = guard.__qualname__ = f"plan_{plan.name.lower()}"
        return guard

    # ---- shared actions ----
    def _end(self, cause: int, reason: str, now: float) -> None:
        self._tone = 0
        self.outcome = "failed"
        self.cause = cause
        self._emit("failed", now, cause=cause, reason=reason)

    def on_abort(self, message: Any, now: float) -> None:
        self._end(Cause.NORMAL_UNSPECIFIED, str(message or "aborted"), now)

    def on_timeout(self, message: Any, now: float) -> None:
        spec = REGISTER_TIMERS[str(message)]
        self._end(Cause.RECOVERY_ON_TIMER_EXPIRY, f"{spec.name} expired ({spec.description})", now)

    def on_unexpected(self, message: Any, now: float) -> None:
        self._end(Cause.PROTOCOL_ERROR, str(message), now)

    def glitch(self, message: Any, now: float) -> None:
        self._emit("error", now, reason=f"ignored signal {self._signal} in {self.state.value}")

    def back_off(self, message: Any, now: float) -> None:
        self._tone = 0


_Act = Callable[[Any, Any, float], None]
_plan = _Register.plan_is
_FINAL = (Row(R.DONE, V.UNEXPECTED), Row(R.FAILED, V.UNEXPECTED),
          Row(ANY, V.ABORT, R.FAILED, _Register.on_abort, clause="line cleared / alarm"),
          Row(ANY, V.UNEXPECTED, R.FAILED, _Register.on_unexpected, clause="Q.441 3 (protocol error)"))


# --------------------------------------------------------------------------- outgoing

class OutgoingRegister(_Register):
    """Forward register of an outgoing call."""

    _ON = V.BACK_ON
    _OFF = V.BACK_OFF

    def __init__(self, dnis: str, ani: str | None = None, *, variant: Variant | str = "cn",
                 ka: int = 1, kd: int = 3, timers: dict[str, float] | None = None,
                 name: str = "mfc-out", trace: int = 64, end_of_digits: bool | None = None) -> None:
        super().__init__(variant, timers, name, trace)
        #: the group I signal sent when the called number is complete and the far end asks for
        #: more (None: none, the far end ends the number itself); ``end_of_digits`` overrides
        #: the variant (China sends none by default; I-15 for a peer known to take it)
        self.end_of_dnis = (self.variant.end_of_dnis if end_of_digits is None
                            else (self.variant.signal_i(Role.END_OF_DIGITS) or 15) if end_of_digits else None)
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
        self._role: Role | None = None
        self.b_signal: int | None = None
        self.sent: list[int] = []  #: every forward signal sent, in order (for tests / traces)

    # actions
    def _send(self, sig: int) -> None:
        self._tone = sig
        self.sent.append(sig)

    def send_first(self, message: Any, now: float) -> None:
        self._i = 1
        self._send(digit_signal(self.dnis[0]))

    def on_group_a(self, message: Any, now: float) -> None:
        self._tone = 0
        sig = self._signal
        role = self.variant.role_a(sig, ani_phase=self._ani_phase)
        v = self.variant
        self.plan = Plan.SEND
        if role is Role.NEXT_DIGIT or (role is Role.NEXT_ANI_DIGIT and not self._ani_phase):
            if self._i < len(self.dnis):
                self._next = digit_signal(self.dnis[self._i])
                self._i += 1
            elif self.end_of_dnis:
                self._next = self.end_of_dnis
            else:
                self.plan = Plan.QUIET
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
            self.plan = Plan.SEND_KD
        elif role is not None and role in OUTCOMES:
            self._result(role, sig, now)
            self.plan = Plan.END
        else:
            self.outcome, self.cause = "failed", Cause.PROTOCOL_ERROR
            self._why = f"group A signal A{sig} has no meaning in variant {v.name}"
            self.plan = Plan.FAIL

    def on_group_b(self, message: Any, now: float) -> None:
        self._tone = 0
        sig = self._signal
        role = self.variant.role_b(sig)
        if role is not None and role in OUTCOMES:
            self._result(role, sig, now)
            self.plan = Plan.END
        else:
            self.outcome, self.cause = "failed", Cause.PROTOCOL_ERROR
            self._why = f"group B signal B{sig} has no meaning in variant {self.variant.name}"
            self.plan = Plan.FAIL

    def _result(self, role: Role, sig: int, now: float) -> None:
        self.outcome = OUTCOMES[role]
        self.cause = OUTCOME_CAUSES[self.outcome]
        self.b_signal = sig
        self._role = role
        # said at once (not when the signal ends): an answer may follow the B signal closely
        self._emit("outcome", now, outcome=self.outcome, cause=self.cause, signal=sig, reason=role.value)

    def send_next(self, message: Any, now: float) -> None:
        self._send(self._next)

    def finish(self, message: Any, now: float) -> None:
        self._tone = 0
        self._emit("done", now, outcome=self.outcome, cause=self.cause, signal=self.b_signal,
                   reason=(self._role or Role.FREE_CHARGE).value)

    def finish_failed(self, message: Any, now: float) -> None:
        self._tone = 0
        self._emit("failed", now, cause=self.cause, reason=self._why or "protocol error")


O = OutgoingRegister  # noqa: E741 (the table's shorthand)


def _off_rows(state: RegState) -> list[Row]:
    """The end of the backward signal: the compelled cycle's next step, as planned when it began."""
    return [
        Row(state, V.BACK_OFF, R.SEND_A, O.send_next, _plan(Plan.SEND), clause="Q.441 3"),
        Row(state, V.BACK_OFF, R.SEND_B, O.send_next, _plan(Plan.SEND_KD), clause="Q.441 3"),
        Row(state, V.BACK_OFF, R.QUIET_A, None, _plan(Plan.QUIET), clause="Q.441 3 pulsed signals"),
        Row(state, V.BACK_OFF, R.DONE, O.finish, _plan(Plan.END), clause="Q.441 3"),
        Row(state, V.BACK_OFF, R.FAILED, O.finish_failed, clause="Q.441 3"),
    ]


#: The forward register (our outgoing call).
OUT_TABLE = Table(
    "no1-mfc-out", R.IDLE, (
        Row(R.IDLE, V.START, R.SEND_A, O.send_first, clause="Q.441 3"),
        Row(R.SEND_A, V.BACK_ON, R.WAIT_A_OFF, O.on_group_a, clause="Q.441 3"),
        Row(R.SEND_A, V.BACK_OFF, None, O.glitch),
        Row(R.SEND_A, V.T_MF_FWD, R.FAILED, O.on_timeout, clause="Q.476"),
        *_off_rows(R.WAIT_A_OFF),
        Row(R.WAIT_A_OFF, V.T_MF_BACK_OFF, R.FAILED, O.on_timeout, clause="Q.441 3"),
        Row(R.QUIET_A, V.BACK_ON, R.WAIT_A_OFF, O.on_group_a, clause="Q.441 3 pulsed signals"),
        Row(R.QUIET_A, V.BACK_OFF, None, O.glitch),
        Row(R.QUIET_A, V.T_MF_QUIET, R.FAILED, O.on_timeout, clause="Q.441 3"),
        Row(R.SEND_B, V.BACK_ON, R.WAIT_B_OFF, O.on_group_b, clause="Q.441 3"),
        Row(R.SEND_B, V.BACK_OFF, None, O.glitch),
        Row(R.SEND_B, V.T_MF_FWD, R.FAILED, O.on_timeout, clause="Q.476"),
        *_off_rows(R.WAIT_B_OFF),
        Row(R.WAIT_B_OFF, V.T_MF_BACK_OFF, R.FAILED, O.on_timeout, clause="Q.441 3"),
        Row(R.DONE, V.BACK_ON, None, O.glitch),
        Row(R.DONE, V.BACK_OFF),
        Row(R.FAILED, V.BACK_ON),
        Row(R.FAILED, V.BACK_OFF),
        *_FINAL,
    ),
    timers=REGISTER_TIMERS,
    entry={R.SEND_A: ("T_MF_FWD",), R.SEND_B: ("T_MF_FWD",), R.WAIT_A_OFF: ("T_MF_BACK_OFF",),
           R.WAIT_B_OFF: ("T_MF_BACK_OFF",), R.QUIET_A: ("T_MF_QUIET",)},
    expiry={n: _TIMER_EVENTS[n] for n in ("T_MF_FWD", "T_MF_BACK_OFF", "T_MF_QUIET")},
    final=FINISHED,
)
OutgoingRegister.TABLE = OUT_TABLE


# --------------------------------------------------------------------------- incoming

OUTCOME_ROLES: dict[str, Role] = {
    "free": Role.FREE_CHARGE, "free_no_charge": Role.FREE_NO_CHARGE, "busy": Role.BUSY,
    "unallocated": Role.UNALLOCATED, "congestion": Role.CONGESTION, "out_of_order": Role.OUT_OF_ORDER,
    "special_info": Role.SPECIAL_INFO,
}


class IncomingRegister(_Register):
    """Backward register of an incoming call.

    The called number is variable-length by default (``dnis_length = 0``): it ends where the
    numbering plan ``dnis_lengths`` (called-number prefix -> digits) says, at an end-of-digits
    signal (I-15), or when the caller stops sending (T_MF_WAIT, then a pulsed A3). A fixed
    ``dnis_length`` ends it after that many digits where no prefix of the plan matches. The
    calling number is asked for (A6 / A5) only with ``ani=True``, after ``ani_after`` digits."""

    _ON = V.FWD_ON
    _OFF = V.FWD_OFF

    def __init__(self, *, variant: Variant | str = "cn", dnis_length: int = 0, ani: bool = False,
                 ani_after: int = 1, ani_max_digits: int = 15, default_b: str = "free",
                 timers: dict[str, float] | None = None, name: str = "mfc-in",
                 dnis_lengths: dict[str, int] | None = None, trace: int = 64) -> None:
        super().__init__(variant, timers, name, trace)
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
        self._expect = "dnis"       # dnis | ka | ani
        self._ani_asked = False
        self.plan = Plan.NEXT
        self._decision: str | None = None
        self._b: int | None = None

    def decide(self, outcome: str, now: float) -> None:
        """The called party's state: free, busy, unallocated, congestion (or out_of_order)."""
        if outcome not in OUTCOME_ROLES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOME_ROLES)}, not {outcome!r}")
        self._decision = outcome
        if not self.finished:
            self._fire(V.DECIDE, outcome, now)

    # guards
    def caller_stopped_dnis(self, message: Any) -> bool:
        """T_MF_WAIT with digits in and none coming: the caller has no more (China sends no
        end-of-pulsing): answer with a pulsed A3."""
        return self.state is R.WAIT_FWD and bool(self.dnis) and self._expect == "dnis"

    def caller_sent_no_ani(self, message: Any) -> bool:
        """T_MF_WAIT after KA while asking for calling-number digits (libopenr2 CN quirk)."""
        return self.state is R.WAIT_FWD and bool(self.dnis) and self._expect != "dnis"

    def number_open(self, message: Any) -> bool:
        """A variable-length called number (no length from the plan or ``dnis_length``) has
        digits and the caller sent no next one within T_DNIS_END: it is complete."""
        return self._expect == "dnis" and bool(self.dnis) and not self._dnis_needed()

    def decided(self, message: Any) -> bool:
        """The call model chose the B signal before KD arrived."""
        return self._decision is not None

    # actions
    def on_group_i(self, message: Any, now: float) -> None:
        sig, v = self._signal, self.variant
        self.plan = Plan.NEXT
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
        self.plan = Plan.TO_KD
        self._back(self.variant.signal_a(Role.ADDRESS_COMPLETE_CHANGE_TO_B))

    def _reject(self, why: str) -> None:
        self.outcome = "congestion"
        self.cause = Cause.INVALID_NUMBER_FORMAT
        self._why = why
        self.plan = Plan.END
        self._back(self.variant.signal_a(Role.CONGESTION))

    def _back(self, sig: int) -> None:
        self._tone = sig

    def pulse_a3(self, message: Any, now: float) -> None:
        self._tone = self.variant.signal_a(Role.ADDRESS_COMPLETE_CHANGE_TO_B)

    def no_ani_pulse_a3(self, message: Any, now: float) -> None:
        """The caller answered A6 with a category but then sent called-number digits to our
        "next calling-number digit" requests (China A1 means both; libopenr2 CN always takes it
        as the next called digit) and stopped: those digits belong to the called number."""
        self.dnis += self.ani or ""
        self.ani = None
        self.ani_absent = True
        self._expect = "dnis"
        self.pulse_a3(message, now)

    def on_kd(self, message: Any, now: float) -> None:
        self.kd = self._signal
        self._tone = 0
        self.ani = self.ani or None
        self._emit("collected", now, dnis=self.dnis, ani=self.ani, ka=self.ka, kd=self.kd)

    def early_decision(self, message: Any, now: float) -> None:
        """Decided before KD: kept (``decided``) until KD arrives."""

    def send_b(self, message: Any, now: float) -> None:
        self._send_b(self._decision or self.default_b)

    def send_default_b(self, message: Any, now: float) -> None:
        self._send_b(self.default_b)

    def _send_b(self, outcome: str) -> None:
        role = OUTCOME_ROLES[outcome]
        try:
            sig = self.variant.signal_b(role)
        except ValueError:
            role = Role.CONGESTION if outcome != "free" else Role.FREE_CHARGE
            sig = self.variant.signal_b(role)
        self._tone = sig
        self.outcome = OUTCOMES[role]
        self.cause = OUTCOME_CAUSES[self.outcome]
        self._b = sig

    def kd_dropped(self, message: Any, now: float) -> None:
        self._tone = 0
        self.outcome, self.cause = "failed", Cause.PROTOCOL_ERROR
        self._emit("failed", now, cause=self.cause, reason="KD ended before the B signal")

    def finish(self, message: Any, now: float) -> None:
        self._tone = 0
        self._emit("done", now, outcome=self.outcome, cause=self.cause, dnis=self.dnis, ani=self.ani,
                   ka=self.ka, kd=self.kd, signal=self._b, reason=self._why)


I = IncomingRegister  # noqa: E741 (the table's shorthand)


def _kd_then_b(reg: IncomingRegister, message: Any, now: float) -> None:
    reg.on_kd(message, now)
    reg.send_b(message, now)


_kd_then_b.__name__ = _kd_then_b.__qualname__ = "on_kd+send_b"

#: The backward register (an incoming call).
IN_TABLE = Table(
    "no1-mfc-in", R.IDLE, (
        Row(R.IDLE, V.START, R.WAIT_FWD, clause="Q.441 3"),
        Row(R.WAIT_FWD, V.FWD_ON, R.BACK_A, I.on_group_i, clause="Q.441 3"),
        Row(R.WAIT_FWD, V.FWD_OFF, None, I.glitch),
        Row(R.WAIT_FWD, V.T_MF_WAIT, R.PULSE_A, I.pulse_a3, I.caller_stopped_dnis,
            clause="GF 001-9001: no end-of-pulsing; pulsed A3"),
        Row(R.WAIT_FWD, V.T_MF_WAIT, R.PULSE_A, I.no_ani_pulse_a3, I.caller_sent_no_ani,
            clause="libopenr2 CN: no calling number after KA"),
        Row(R.WAIT_FWD, V.T_MF_WAIT, R.FAILED, I.on_timeout, clause="Q.476"),
        Row(R.WAIT_FWD, V.T_DNIS_END, R.PULSE_A, I.pulse_a3, I.number_open,
            clause="GF 001-9001: variable-length number ended; pulsed A3"),
        Row(R.WAIT_FWD, V.T_DNIS_END),
        Row(R.WAIT_FWD, V.DECIDE, None, I.early_decision),
        Row(R.BACK_A, V.FWD_OFF, R.WAIT_FWD, I.back_off, _plan(Plan.NEXT), clause="Q.441 3"),
        Row(R.BACK_A, V.FWD_OFF, R.WAIT_KD, I.back_off, _plan(Plan.TO_KD), clause="Q.441 3"),
        Row(R.BACK_A, V.FWD_OFF, R.DONE, I.finish, _plan(Plan.END), clause="Q.441 3"),
        Row(R.BACK_A, V.T_MF_FWD_OFF, R.FAILED, I.on_timeout, clause="Q.441 3"),
        Row(R.BACK_A, V.DECIDE, None, I.early_decision),
        Row(R.PULSE_A, V.T_PULSE, R.WAIT_KD, I.back_off, clause="Q.441 3 pulsed signals"),
        Row(R.PULSE_A, V.FWD_ON, None, I.glitch),
        Row(R.PULSE_A, V.FWD_OFF, None, I.glitch),
        Row(R.PULSE_A, V.DECIDE, None, I.early_decision),
        Row(R.WAIT_KD, V.FWD_ON, R.BACK_B, _kd_then_b, I.decided, clause="Q.441 3"),
        Row(R.WAIT_KD, V.FWD_ON, R.DECIDE, I.on_kd, clause="Q.441 3"),
        Row(R.WAIT_KD, V.FWD_OFF, None, I.glitch),
        Row(R.WAIT_KD, V.T_MF_WAIT, R.FAILED, I.on_timeout, clause="Q.476"),
        Row(R.WAIT_KD, V.DECIDE, None, I.early_decision),
        Row(R.DECIDE, V.DECIDE, R.BACK_B, I.send_b, clause="Q.441 3"),
        Row(R.DECIDE, V.T_DECISION, R.BACK_B, I.send_default_b, clause="local"),
        Row(R.DECIDE, V.FWD_OFF, R.FAILED, I.kd_dropped, clause="Q.441 3"),
        Row(R.BACK_B, V.FWD_OFF, R.DONE, I.finish, clause="Q.441 3"),
        Row(R.BACK_B, V.T_MF_FWD_OFF, R.FAILED, I.on_timeout, clause="Q.441 3"),
        Row(R.BACK_B, V.DECIDE),
        Row(R.DONE, V.FWD_ON, None, I.glitch),
        Row(R.DONE, V.FWD_OFF),
        Row(R.DONE, V.DECIDE),
        Row(R.FAILED, V.FWD_ON),
        Row(R.FAILED, V.FWD_OFF),
        Row(R.FAILED, V.DECIDE),
        *_FINAL,
    ),
    timers=REGISTER_TIMERS,
    entry={R.WAIT_FWD: ("T_MF_WAIT", "T_DNIS_END"), R.WAIT_KD: ("T_MF_WAIT",), R.BACK_A: ("T_MF_FWD_OFF",),
           R.BACK_B: ("T_MF_FWD_OFF",), R.DECIDE: ("T_DECISION",), R.PULSE_A: ("T_PULSE",)},
    expiry={n: _TIMER_EVENTS[n] for n in ("T_MF_WAIT", "T_DNIS_END", "T_MF_FWD_OFF", "T_DECISION", "T_PULSE")},
    final=FINISHED,
)
IncomingRegister.TABLE = IN_TABLE

#: Every table of the No.1 stack (tests check each validates).
TABLES = (OUT_TABLE, IN_TABLE)
