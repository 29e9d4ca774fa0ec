"""ISUP call control (Q.764 clause 2.1-2.5, 2.9.3, 2.9.5): the per-circuit transition table
:data:`CALL_TABLE`, its actions (methods of :class:`Circuit`, called ``(circuit, message,
now)`` by the engine) and :class:`CallControl`, which owns the circuits and the per-message
path (decode, find the circuit, fire the message as an event).

One source, two builds: this module runs as it is (the twin) and setup.py compiles it in
Cython's pure-Python mode with ``control_c.pxd`` as ``control_c`` (aiohttp's reader_c
pattern); the engine's machine is compiled the same way (:mod:`cti.signaling.machine_py`).
Everything that changes a circuit's call state is a row of the table: glare and a seizure
of a blocked circuit are guarded rows, T1/T5/T7/T9/T16/T17 are entry or row timers whose
expiry is an event. Circuit supervision (blocking, group messages, Q.764 2.8/2.9) lives in
:mod:`.supervision`; the user requests and node API in :mod:`.node`.
"""
from __future__ import annotations

from typing import Any

import cython

from _boardcore import _select
from cti.signaling.causes import Cause
from cti.signaling.engine import ANY, Machine, Row, Table
from cti.signaling.errors import DecodeError, LocalProtocolError
from cti.signaling.trunk import IncomingCall

from .call import (BCI_ACM, BCI_CON, BUSY_STATES, IAM_DEFAULTS, CallState, Expiry, IsupEvent,
                   Maint, Req)
from .formats import IsupMessage, MessageType
from .params import CauseInd
from .supervision import SUPERVISION_TABLE
from .timers import ISUP_TIMERS

M = MessageType
S = CallState
_COMPILED = bool(cython.compiled)
if not cython.compiled:  # compiled, control_c.pxd cimports them from iam_c: C calls
    from .iam_py import ReceivedIam, iam_of, read_iam, write_address
#: the class of a circuit's machines: this build types them as the compiled core, so with the
#: twins forced on (tests comparing the two builds in one process) it takes that core all the same
_Machine: Any = Machine
if _COMPILED:
    _machine_c = _select.compiled("cti.signaling.machine")
    if _machine_c is not None:
        _Machine = _machine_c.MachineCore
# the live codec, taken from _select rather than from .codec: _boardcore's import lists the
# accelerated modules' twins, so this module may be imported while .codec itself is loading
_codec = _select.load("cti.signaling.ss7.isup.codec")
decode, encode_message = _codec.decode, _codec.encode_message
_number, _event = _codec.number, _codec.event      # Number(digits), IsupEvent(...) by position
#: builds an IsupEvent from a tuple of its fields in order (the compiled codec's slot writer,
#: called in C by this build; the twin's calls the dataclass)
_ev_codec: Any = (_select.compiled("cti.signaling.ss7.isup.codec") if _COMPILED else None) \
    or _select.twin("cti.signaling.ss7.isup.codec")
_EV = _ev_codec.EVENT_SLOTS
_CAUSES: dict[Any, CauseInd] = {}                                  # cause value -> CauseInd (immutable: one each)
#: octets after the CIC of a message whose encoding depends on its key only (ACM, ANM, CON, RLC,
#: RSC; REL per cause) -> those octets, encoded once by the codec (Circuit.send_same)
_TAILS: dict[Any, bytes] = {}
#: message type code -> ``[(octets after the CIC, type, the message decoded with CIC 0), ...]``
#: of received call control messages. The codec is a pure function of the octets: a body seen
#: before is neither decoded nor checked again; it is found by its type and compared in place
#: (no slice, no hash of a new key). Only messages whose handling reads their parameters, never
#: their CIC; a few bodies per type (REL: one per cause).
_MEMO: list[list[tuple[bytes, Any, Any]] | None] = [None] * 256
_MEMO_TYPES = frozenset((MessageType.ACM, MessageType.ANM, MessageType.CON, MessageType.RLC, MessageType.REL,
                         MessageType.SUS, MessageType.RES))
_MEMO_MAX = 16
_NO_TIMER = float("inf")   #: next_timer when no timer runs


def _cause(value: Any) -> Any:
    ci = _CAUSES.get(value)
    if ci is None:
        ci = _CAUSES[value] = CauseInd(int(value))
    return ci

# enum members as module constants: an Enum class attribute costs a __getattr__ per use
_Cause_NORMAL_CLEARING = Cause.NORMAL_CLEARING
_Cause_NORMAL_UNSPECIFIED = Cause.NORMAL_UNSPECIFIED
_Cause_NO_ANSWER = Cause.NO_ANSWER
_Cause_RECOVERY_ON_TIMER_EXPIRY = Cause.RECOVERY_ON_TIMER_EXPIRY
_Cause_TEMPORARY_FAILURE = Cause.TEMPORARY_FAILURE
_M_ACM = M.ACM
_M_ANM = M.ANM
_M_CON = M.CON
_M_IAM = M.IAM
_M_REL = M.REL
_M_RLC = M.RLC
_M_RSC = M.RSC
_Req_ALERT = Req.ALERT
_Req_ANSWER = Req.ANSWER
_Req_RELEASE = Req.RELEASE
_Req_SETUP = Req.SETUP
_S_IDLE = S.IDLE
#: reason of the ``glare`` and ``released`` events of our call that backed off on dual seizure
GLARE_REASON = "dual seizure (glare), backed off"
_P_ACM: dict[str, Any] = {"backward_call_indicators": BCI_ACM}
_P_CON: dict[str, Any] = {"backward_call_indicators": BCI_CON}
_NONE: dict[str, Any] = {}


class Circuit:
    """One circuit: its call machine (``fsm``), blocking flags, the numbers of its call, and
    its supervision machine (``sup``: T12/T14/T18/T20/T22 on :data:`.supervision.SUPERVISION_TABLE`)."""

    def __init__(self, node: CallControl, cic: int, overrides: dict[str, float], trace: int = 0) -> None:
        self.node = node
        self.cic = cic
        self.cic_octets = bytes((cic & 0xFF, cic >> 8))   # Q.763 1.2: 12 bits, low octet first
        self.ours = node.controls(cic)
        self.local_blocked = False
        self.remote_blocked = False
        self.unequipped = False
        self.reset_pending = False
        self.reported = False
        self.called = ""
        self.calling: str | None = None
        self.cause: Any = 0
        self.extra: dict[str, Any] = {}
        self.sent: dict[Any, bytes] = {}       # key of Circuit.send_same -> the message's octets, CIC included
        self.fsm = _Machine(CALL_TABLE, self, name=f"{node.name}.cic{cic}", trace=trace,
                           timer_values={k: v for k, v in overrides.items() if k in CALL_TABLE.timers})
        self.sup = _Machine(SUPERVISION_TABLE, self, name=f"{node.name}.cic{cic}.sup",
                           timer_values={k: v for k, v in overrides.items() if k in SUPERVISION_TABLE.timers})
        self.sup_running = self.sup.running      # the same dict: read per circuit per service turn

    @property
    def available(self) -> bool:
        return not (self.local_blocked or self.remote_blocked or self.unequipped)

    @property
    def ready(self) -> bool:
        """Idle, available and not waiting for a reset's acknowledgement: a call may start."""
        return self.fsm.state is _S_IDLE and not (self.local_blocked or self.remote_blocked or self.unequipped
                                                 or self.reset_pending)

    def __repr__(self) -> str:
        return f"<Circuit {self.cic} {self.fsm.state.value}>"

    # ---- output helpers ---------------------------------------------------------------------
    def event(self, kind: Any, now: float, cause: Any = 0, remote: bool = True, reason: Any = "") -> None:
        self.node._events.append(_EV.make((kind, self.cic, now, "", None, None, cause, remote, reason)))

    def send(self, mtype: Any, params: dict[str, Any]) -> None:
        self.node._out.append((self.cic, encode_message(mtype, self.cic, params)))

    def send_same(self, key: Any, mtype: Any, params: dict[str, Any]) -> None:
        """A message whose octets after the CIC depend on ``key`` only: encoded by the codec
        once (CIC 0), then sent behind this circuit's CIC (the whole message kept per circuit)."""
        data = self.sent.get(key)
        if data is None:
            tail = _TAILS.get(key)
            if tail is None:
                tail = _TAILS[key] = encode_message(mtype, 0, params)[2:]
            data = self.sent[key] = self.cic_octets + tail
        self.node._out.append((self.cic, data))

    def send_rel_cause(self, cause: Any) -> None:
        """REL with cause indicators ``cause`` (Q.850 value; location and coding 0). Kept per
        circuit under the key 0x100 + cause (the other keys are message types, below 0x100):
        the parameters are built only for the first REL with that cause."""
        key = 0x100 + int(cause)
        data = self.sent.get(key)
        if data is None:
            self.send_same(key, _M_REL, {"cause_indicators": _cause(cause)})
        else:
            self.node._out.append((self.cic, data))

    # ---- guards -----------------------------------------------------------------------------
    def locally_blocked(self, m: Any) -> bool:
        return self.local_blocked

    def controlled(self, m: Any) -> bool:
        """Q.764 2.10.1.4: we control this CIC, so our call survives a dual seizure."""
        return self.ours

    # ---- actions: outgoing call ---------------------------------------------------------------
    def send_iam(self, m: Any, now: float) -> None:
        """Q.764 2.1.1: the IAM (``m``: its octets, encoded by ``setup`` before the transition)."""
        self.node._out.append((self.cic, m))

    def alerting(self, m: Any, now: float) -> None:
        self.event("alerting", now)

    def answered(self, m: Any, now: float) -> None:
        self.event("answered", now)

    def progress(self, m: Any, now: float) -> None:
        self.event("progress", now, reason=f"event {m.get('event_information') if m is not None else ''}")

    def timeout_release(self, m: Any, now: float) -> None:
        """T7 (no ACM) or T9 (no answer) expired (Q.764 2.1.5, 2.1.7): release, told at once."""
        self.cause = _Cause_RECOVERY_ON_TIMER_EXPIRY if m == "T7" else _Cause_NO_ANSWER
        self.send_rel_cause(self.cause)
        self.event("released", now, self.cause, True, f"{m} expired")
        self.reported = True

    # ---- actions: incoming call ---------------------------------------------------------------
    def incoming(self, m: Any, now: float) -> None:
        """Q.764 2.1.2: an IAM; a remotely blocked circuit is unblocked by it (2.8.2.3)."""
        iam: ReceivedIam = m
        self.called = iam.called
        self.calling = iam.calling
        if self.remote_blocked:
            self.remote_blocked = False
            self.node._events.append(IsupEvent("circuit", self.cic, now, available=self.available,
                                               reason="IAM on remotely blocked circuit"))
        node = self.node
        category = iam.category
        if node.circuit_of is not None and self.cic in node.circuit_of:
            # a trunk's node: the fact leaves ISUP as the trunk event itself (no IsupEvent
            # for the trunk adapter to convert: one form and one hop fewer to the call model)
            node._events.append(IncomingCall(node.circuit_of[self.cic], now, self.called, self.calling, category,
                                             "ss7", {}))
        else:
            node._events.append(_EV.make(("setup", self.cic, now, self.called, self.calling, category)))

    def refuse_blocked(self, m: Any, now: float) -> None:
        """Q.764 2.8.2.1: no call on a circuit we blocked: REL cause 41 at once."""
        if self.remote_blocked:
            self.remote_blocked = False
            self.node._events.append(IsupEvent("circuit", self.cic, now, available=self.available,
                                               reason="IAM on remotely blocked circuit"))
        self.cause = _Cause_TEMPORARY_FAILURE
        self.reported = True          # no call was offered: nothing to report at RLC
        self.send_rel_cause(_Cause_TEMPORARY_FAILURE)

    def more_digits(self, m: Any, now: float) -> None:
        n = m.get("subsequent_number") if m is not None else None
        if n:
            d = n.digits.rstrip("F")
            self.called += d
            self.node._events.append(IsupEvent("digits", self.cic, now, called=d))

    def send_acm(self, m: Any, now: float) -> None:
        self.send_same(_M_ACM, _M_ACM, _P_ACM)

    def send_anm(self, m: Any, now: float) -> None:
        self.send_same(_M_ANM, _M_ANM, _NONE)
        self.event("answered", now, 0, False)

    def send_con(self, m: Any, now: float) -> None:
        self.send_same(_M_CON, _M_CON, _P_CON)
        self.event("answered", now, 0, False)

    def suspended(self, m: Any, now: float) -> None:
        self.event("suspended", now)

    def resumed(self, m: Any, now: float) -> None:
        self.event("resumed", now)

    # ---- actions: dual seizure (Q.764 2.10.1.4) ---------------------------------------------------
    def glare_keep(self, m: Any, now: float) -> None:
        """We control the CIC: our call stays, the far end backs off."""
        self.node._counters["glare"] += 1

    def glare_back_off(self, m: Any, now: float) -> None:
        """The far end controls the CIC: our call is reported as ``glare`` (with its numbers and
        category, for the trunk's automatic repeat attempt) and ``released`` (cause 41); the
        incoming call is taken."""
        self.node._counters["glare"] += 1
        category = self.extra.get("category") if self.extra else None
        ev = self.node._events
        ev.append(IsupEvent("glare", self.cic, now, called=self.called, calling=self.calling, category=category,
                            cause=_Cause_TEMPORARY_FAILURE, remote=True, reason=GLARE_REASON))
        ev.append(IsupEvent("released", self.cic, now, cause=_Cause_TEMPORARY_FAILURE, remote=True,
                            reason=GLARE_REASON))
        self.incoming(m, now)

    # ---- actions: release (Q.764 2.3) ---------------------------------------------------------------
    def send_rel(self, m: Any, now: float) -> None:
        self.send_rel_cause(self.cause or _Cause_NORMAL_CLEARING)

    def remote_release(self, m: Any, now: float) -> None:
        """REL received (2.3.1): RLC; a REL whose cause could not be decoded (``m`` None) is
        answered all the same, with cause 31 reported (2.9.5)."""
        ci = m.params.get("cause_indicators") if m is not None else None
        cause = ci.value if ci is not None else int(_Cause_NORMAL_UNSPECIFIED)
        self.send_same(_M_RLC, _M_RLC, _NONE)
        self.event("released", now, cause, True, "REL received")

    def send_rlc(self, m: Any, now: float) -> None:
        self.send_same(_M_RLC, _M_RLC, _NONE)

    def release_complete(self, m: Any, now: float) -> None:
        self.report_local_release(now, "RLC received")

    def release_collision(self, m: Any, now: float) -> None:
        """2.3.1 e): both ends released: RLC, and the release is done."""
        self.send_same(_M_RLC, _M_RLC, _NONE)
        self.report_local_release(now, "REL collision")

    def repeat_rel(self, m: Any, now: float) -> None:
        """T1 expired (2.3.1): REL again (the row restarts T1)."""
        self.send_rel_cause(self.cause or _Cause_NORMAL_CLEARING)

    def give_up_release(self, m: Any, now: float) -> None:
        """T5 expired (2.3.1): reset the circuit (RSC, T17 by the row)."""
        self.send_same(_M_RSC, _M_RSC, _NONE)
        self.report_local_release(now, "T5 expired, circuit reset")

    def report_local_release(self, now: float, reason: Any) -> None:
        if not self.reported:
            self.event("released", now, self.cause or _Cause_NORMAL_CLEARING, False, reason)
        self.reported = False
        self.cause = 0

    # ---- actions: circuit reset (Q.764 2.9.3.1) -------------------------------------------------------
    def send_rsc(self, m: Any, now: float) -> None:
        self.send_same(_M_RSC, _M_RSC, _NONE)

    def send_rsc_call(self, m: Any, now: float) -> None:
        """A reset of a circuit with a call: the call ends (cause 41)."""
        self.send_same(_M_RSC, _M_RSC, _NONE)
        self.event("released", now, _Cause_TEMPORARY_FAILURE, False, "circuit reset")

    def reset_unexpected(self, m: Any, now: float) -> None:
        """Q.764 2.9.5.1: an unexpected message (not REL/RLC) on an idle circuit: the circuit is
        reset (RSC, T16), and the application is told."""
        self.node._counters["unexpected"] += 1
        self.event("unexpected", now, reason=f"{_name(m)} on an idle circuit: circuit reset (Q.764 2.9.5.1)")
        self.send_same(_M_RSC, _M_RSC, _NONE)

    def repeat_rsc(self, m: Any, now: float) -> None:
        self.send_same(_M_RSC, _M_RSC, _NONE)

    def reset_complete(self, m: Any, now: float) -> None:
        self.reported = False
        self.event("reset_done", now)

    def remote_reset(self, m: Any, now: float) -> None:
        """RSC received (2.9.3.1): RLC; a remote blocking is removed (2.9.3.1 b)."""
        self.reported = False
        self.unblock_remote(now, "RSC received")
        self.send_same(_M_RLC, _M_RLC, _NONE)

    def remote_reset_call(self, m: Any, now: float) -> None:
        self.event("released", now, _Cause_TEMPORARY_FAILURE, True, "RSC received")
        self.remote_reset(m, now)

    def cleared(self, m: Any, now: float) -> None:
        """The circuit was cleared by circuit supervision (``m``: the reason)."""
        self.reported = False
        self.unblock_remote(now, str(m))

    def cleared_call(self, m: Any, now: float) -> None:
        self.event("released", now, _Cause_TEMPORARY_FAILURE, True, str(m))
        self.cleared(m, now)

    def unblock_remote(self, now: float, reason: Any) -> None:
        if self.remote_blocked:
            self.remote_blocked = False
            self.node._events.append(IsupEvent("circuit", self.cic, now, available=self.available, reason=reason))


#: (category, NCI, FCI, TMR) -> the IAM's type and mandatory fixed part, encoded once
_IAM_HEADS: dict[tuple[Any, ...], bytes] = {}
_IAM_OUT = bytearray(128)     #: _iam_fast's scratch: the usual IAM is at most 64 octets


def _name(m: Any) -> str:
    if isinstance(m, ReceivedIam):
        return "IAM"
    return m.type.name if isinstance(m, IsupMessage) else str(m)


# ---- the table -------------------------------------------------------------------------------------
_C = Circuit
_CALL = (S.OUT_WAIT_ACM, S.OUT_WAIT_ANM, S.IN_WAIT_ALERT, S.IN_ALERTING, S.ANSWERED, S.SUSPENDED)
_BUSY = tuple(s for s in CallState if s in BUSY_STATES)     # in a stable order (the docs list the rows)
_RESET_TIMERS = ("T16", "T17")
#: call control messages that make no sense on an idle circuit (Q.764 2.9.5.1: reset it)
_UNEXPECTED_ON_IDLE = (M.ACM, M.ANM, M.CON, M.CPG, M.SAM, M.SUS, M.RES)

CALL_TABLE = Table("isup call", S.IDLE, (
    Row(S.IDLE, Req.SETUP, S.OUT_WAIT_ACM, _C.send_iam, clause="Q.764 2.1.1"),
    Row(S.IDLE, M.IAM, S.RELEASING, _C.refuse_blocked, _C.locally_blocked, clause="Q.764 2.8.2.1"),
    Row(S.IDLE, M.IAM, S.IN_WAIT_ALERT, _C.incoming, clause="Q.764 2.1.2"),
    Row(S.IDLE, M.REL, None, _C.send_rlc, clause="Q.764 2.9.5.1 a"),
    Row(S.IDLE, M.RLC, None, None, clause="Q.764 2.9.5.1 b"),
    *(Row(S.IDLE, t, S.RESETTING, _C.reset_unexpected, start=("T16",), clause="Q.764 2.9.5.1")
      for t in _UNEXPECTED_ON_IDLE),
    Row(S.OUT_WAIT_ACM, M.ACM, S.OUT_WAIT_ANM, _C.alerting, clause="Q.764 2.1.4.6"),
    Row(S.OUT_WAIT_ACM, M.CPG, None, _C.progress, clause="Q.764 2.1.5"),
    Row(S.OUT_WAIT_ACM, M.ANM, S.ANSWERED, _C.answered, clause="Q.764 2.1.7"),
    Row(S.OUT_WAIT_ACM, M.CON, S.ANSWERED, _C.answered, clause="Q.764 2.1.7"),
    Row(S.OUT_WAIT_ACM, M.IAM, None, _C.glare_keep, _C.controlled, clause="Q.764 2.10.1.4"),
    Row(S.OUT_WAIT_ACM, M.IAM, S.IN_WAIT_ALERT, _C.glare_back_off, clause="Q.764 2.10.1.4"),
    Row(S.OUT_WAIT_ACM, Expiry.T7, S.RELEASING, _C.timeout_release, clause="Q.764 2.1.5"),
    Row(S.OUT_WAIT_ANM, M.CPG, None, _C.progress, clause="Q.764 2.1.5"),
    Row(S.OUT_WAIT_ANM, M.ANM, S.ANSWERED, _C.answered, clause="Q.764 2.1.7"),
    Row(S.OUT_WAIT_ANM, Expiry.T9, S.RELEASING, _C.timeout_release, clause="Q.764 2.1.7"),
    Row(S.IN_WAIT_ALERT, Req.ALERT, S.IN_ALERTING, _C.send_acm, clause="Q.764 2.1.4"),
    Row(S.IN_WAIT_ALERT, Req.ANSWER, S.ANSWERED, _C.send_con, clause="Q.764 2.1.7"),
    Row(S.IN_WAIT_ALERT, M.SAM, None, _C.more_digits, clause="Q.764 2.1.3"),
    Row(S.IN_ALERTING, Req.ALERT, None, None),
    Row(S.IN_ALERTING, Req.ANSWER, S.ANSWERED, _C.send_anm, clause="Q.764 2.1.7"),
    Row(S.IN_ALERTING, M.SAM, None, _C.more_digits, clause="Q.764 2.1.3"),
    Row(S.ANSWERED, M.ANM, None, None),
    Row(S.ANSWERED, M.SUS, S.SUSPENDED, _C.suspended, clause="Q.764 2.5"),
    Row(S.ANSWERED, M.RES, None, None),
    Row(S.ANSWERED, Req.ANSWER, None, None),
    Row(S.SUSPENDED, M.RES, S.ANSWERED, _C.resumed, clause="Q.764 2.5"),
    Row(S.SUSPENDED, M.SUS, None, None),
    *(Row(s, M.REL, S.IDLE, _C.remote_release, clause="Q.764 2.3.1") for s in _CALL),
    *(Row(s, Req.RELEASE, S.RELEASING, _C.send_rel, clause="Q.764 2.3.1") for s in _CALL),
    Row(S.RELEASING, M.RLC, S.IDLE, _C.release_complete, clause="Q.764 2.3.1"),
    Row(S.RELEASING, M.REL, S.IDLE, _C.release_collision, clause="Q.764 2.3.1 e"),
    Row(S.RELEASING, Expiry.T1, None, _C.repeat_rel, start=("T1",), clause="Q.764 2.3.1"),
    Row(S.RELEASING, Expiry.T5, S.RESETTING, _C.give_up_release, start=("T17",), clause="Q.764 2.3.1"),
    Row(S.RELEASING, Req.RELEASE, None, None),
    Row(S.RESETTING, M.RLC, S.IDLE, _C.reset_complete, stop=_RESET_TIMERS, clause="Q.764 2.9.3.1"),
    Row(S.RESETTING, Expiry.T16, None, _C.repeat_rsc, start=("T17",), clause="Q.764 2.9.3.1"),
    Row(S.RESETTING, Expiry.T17, None, _C.repeat_rsc, start=("T17",), clause="Q.764 2.9.3.1"),
    Row(S.RESETTING, M.REL, None, _C.send_rlc, clause="Q.764 2.9.3.1"),
    *(Row(s, M.RSC, S.IDLE, _C.remote_reset_call, clause="Q.764 2.9.3.1") for s in _BUSY),
    Row(ANY, M.RSC, S.IDLE, _C.remote_reset, stop=_RESET_TIMERS, clause="Q.764 2.9.3.1"),
    *(Row(s, Req.RESET, S.RESETTING, _C.send_rsc_call, start=("T16",), clause="Q.764 2.9.3.1")
      for s in _BUSY),
    Row(ANY, Req.RESET, S.RESETTING, _C.send_rsc, stop=_RESET_TIMERS, start=("T16",), clause="Q.764 2.9.3.1"),
    *(Row(s, Maint.CLEAR, S.IDLE, _C.cleared_call, clause="Q.764 2.9.3.2") for s in _BUSY),
    Row(ANY, Maint.CLEAR, S.IDLE, _C.cleared, stop=_RESET_TIMERS, clause="Q.764 2.9.3.2"),
), timers={k: ISUP_TIMERS[k] for k in ("T1", "T5", "T7", "T9", "T16", "T17")},
    entry={S.OUT_WAIT_ACM: ("T7",), S.OUT_WAIT_ANM: ("T9",), S.RELEASING: ("T1", "T5")},
    expiry={t.value: t for t in Expiry})


class CallControl:
    """Circuits ``cics`` (checked by the node) with timer ``overrides`` (checked too): the
    per-message path. The node (:class:`.node.IsupNode`) adds the requests and supervision.
    ``trace``: transitions each circuit's machine keeps (0: none)."""

    def __init__(self, cics: list[int], opc: int, dpc: int, overrides: dict[str, float], name: str,
                 trace: int = 0) -> None:
        self.opc, self.dpc, self.name = opc, dpc, name
        self._out: list[tuple[int, bytes]] = []
        self._events: list[Any] = []    # IsupEvent, or IncomingCall on a trunk's circuit
        self._rx_count = 0      # received messages, counted in C (``counters`` copies it)
        self.next_timer = _NO_TIMER     # the earliest deadline the last handle_timer walk found
        self._counters: dict[str, int] = {"rx": 0, "tx": 0, "discarded": 0, "cfn_sent": 0, "ucic_sent": 0, "unexpected": 0,
                         "glare": 0}
        self.iam_defaults = dict(IAM_DEFAULTS)
        #: CIC -> the trunk's circuit, set by a trunk adapter: then an incoming call is reported
        #: as :class:`cti.signaling.trunk.IncomingCall` itself, not as an IsupEvent ``setup``
        self.circuit_of: dict[int, Any] | None = None
        self.circuits = {c: Circuit(self, c, overrides, trace) for c in cics}
        self._by_cic = sorted(self.circuits.values(), key=lambda c: c.cic)   # allocation order
        #: message type -> circuit supervision handler (``_rx_<NAME>`` of the node), else the table
        self._handlers = {t: h for t in MessageType if (h := getattr(self, f"_rx_{t.name}", None)) is not None}

    @property
    def counters(self) -> dict[str, int]:
        """Messages received (rx) and sent (tx), discarded, CFN and UCIC sent, unexpected,
        dual seizures (glare): one dict, the received count copied in when read."""
        c = self._counters
        c["rx"] = self._rx_count
        return c

    # ---- outputs ----------------------------------------------------------------------
    def data_to_send(self, now: float) -> list[tuple[int, bytes]]:
        """``(cic, octets)`` of the messages to send (SLS = the CIC's low bits), oldest first."""
        out, self._out = self._out, []
        if out:
            self._counters["tx"] += len(out)
        return out

    def events(self) -> list[Any]:
        ev, self._events = self._events, []
        return ev

    # ---- circuits ---------------------------------------------------------------------------
    def controls(self, cic: Any) -> bool:
        """Q.764 2.9.1.4: the higher point code controls even CICs, the lower odd ones."""
        return bool((cic % 2 == 0) == (self.opc > self.dpc))

    def allocate(self) -> Any:
        """A ready circuit, preferring those we control (fewer dual seizures), lowest CIC first."""
        other = None
        idle = _S_IDLE
        c: Circuit
        for c in self._by_cic:
            if c.fsm.state is idle and not (c.local_blocked or c.remote_blocked or c.unequipped
                                            or c.reset_pending):
                if c.ours:
                    return c.cic
                if other is None:
                    other = c.cic
        return other

    def _circuit(self, cic: Any) -> Circuit:
        return self._get(cic)

    def _get(self, cic: Any) -> Circuit:
        """:meth:`_circuit` for this module's own calls (compiled: a C call, where ``_circuit``
        pays the check for an override in the node's Python subclass)."""
        c = self.circuits.get(cic)
        if c is None:
            raise LocalProtocolError(f"CIC {cic} not configured")
        return c

    # ---- user requests of a call ------------------------------------------------------------------
    def setup(self, called: Any, calling: Any, now: float, cic: Any = None, category: Any = 0x0A,
              **params: Any) -> Any:
        """Send an IAM (Q.764 2.1.1); the CIC used. LocalProtocolError when none is free;
        ValueError/TypeError (nothing changed) when a number or parameter cannot be encoded."""
        if cic is None:
            cic = self.allocate()
            if cic is None:
                raise LocalProtocolError(self._why_none())
        c: Circuit = self._get(cic)
        if not c.available or c.fsm.state is not _S_IDLE:
            raise LocalProtocolError(f"CIC {cic} not free ({c.fsm.state.value}, available={c.available})")
        data = self._iam(cic, called, calling, category, params)
        c.called, c.calling = called, calling
        c.extra = {"category": category, **params} if params or category != 0x0A else _NONE
        self._fire(c, _Req_SETUP, now, data)
        return cic

    def _iam(self, cic: Any, called: Any, calling: Any, category: Any, params: dict[str, Any]) -> bytes:
        """The IAM's octets: the mandatory indicators (node defaults), the numbers, then the
        call's parameters (an explicit ``calling_partys_category`` wins over ``category``).
        The usual IAM (numbers with the default indicators, no other parameter) is written from
        its parts: the type and fixed part encoded by the codec once per set of indicators,
        the numbers' address signals packed here (Q.763 3.9, 3.10; the same octets, tested)."""
        if not params and type(called) is str and (calling is None or type(calling) is str):
            fast: bytes | None = self._iam_fast(cic, called, calling, category)
            if fast is not None:
                return fast
        p = dict(self.iam_defaults)
        p["called_party_number"] = _number(called if called.endswith("F") else called + "F")
        if calling:
            p["calling_party_number"] = _number(calling)
        p["calling_partys_category"] = category
        if params:
            p.update(params)
        data: bytes = encode_message(_M_IAM, cic, p)
        return data

    def _iam_fast(self, cic: Any, called: str, calling: Any, category: Any) -> Any:
        """:meth:`_iam` for numbers only, or None where the codec must encode (and say why)."""
        d: dict[str, Any] = self.iam_defaults
        if len(d) != 4 or type(category) is not int or len(called) > 40 or (calling and len(calling) > 40):
            return None
        key = (category, d.get("nature_of_connection_indicators"), d.get("forward_call_indicators"),
               d.get("transmission_medium_requirement"))
        head = _IAM_HEADS.get(key)
        if head is None:
            if len(_IAM_HEADS) >= 64:
                return None
            p = dict(d)
            p["calling_partys_category"] = category
            p["called_party_number"] = _number("0")
            head = _IAM_HEADS[key] = encode_message(_M_IAM, 0, p)[2:8]   # type + fixed part
        st = 0 if called.endswith("F") else 1        # the ST digit (Q.763 3.9) if not given
        n = len(called) + st
        size = 2 + (n + 1) // 2                       # the called party number's length
        m = len(calling) if calling else 0
        total = 11 + size + (5 + (m + 1) // 2 if m else 0)
        out = _IAM_OUT                                # scratch: written whole below, then copied
        out[0] = cic & 0xFF
        out[1] = cic >> 8
        for k in range(6):
            out[2 + k] = head[k]
        out[8] = 2                                    # pointer to the called party number
        out[9] = size + 2 if m else 0                 # pointer to the optional part
        out[10] = size
        out[11] = ((n & 1) << 7) | 3                  # odd/even, nature: national (significant) number
        out[12] = 0x10                                # ISDN numbering plan
        if not write_address(out, 13, called, st):
            return None
        if m:
            k = 11 + size
            out[k] = 0x0A                             # calling party number (Q.763 3.10)
            out[k + 1] = 2 + (m + 1) // 2
            out[k + 2] = ((m & 1) << 7) | 3
            out[k + 3] = 0x13                         # ISDN plan, presentation allowed, network provided
            if not write_address(out, k + 4, calling, 0):
                return None
            out[total - 1] = 0                        # end of the optional part
        # the first ``total`` octets as bytes: decoding as Latin-1 and encoding back is exact
        # for every octet and, compiled, two C calls (bytes(out[:total]) goes through the
        # slice object and the bytes constructor: twice the cost)
        return out[:total].decode("latin-1").encode("latin-1")

    def _why_none(self) -> str:
        return "no circuit available"

    def alert(self, cic: Any, now: float) -> None:
        self._fire(self._get(cic), _Req_ALERT, now, None)

    def answer(self, cic: Any, now: float) -> None:
        self._fire(self._get(cic), _Req_ANSWER, now, None)

    def release(self, cic: Any, cause: Any, now: float) -> None:
        c: Circuit = self._get(cic)
        c.cause = int(cause)
        if c.fsm.state is _S_IDLE:
            return
        self._fire(c, _Req_RELEASE, now, None)

    def _request(self, c: Circuit, event: Any, now: float, message: Any = None) -> None:
        self._fire(c, event, now, message)

    def _fire(self, c: Circuit, event: Any, now: Any, message: Any) -> None:
        """:meth:`_request` for this module's own calls (a C call when compiled)."""
        if not c.fsm.fire_if(event, message, now):
            raise LocalProtocolError(f"CIC {c.cic}: {event.value} not allowed in {c.fsm.state.value}")

    # ---- timers ---------------------------------------------------------------------------
    def timer_deadline(self) -> Any:
        best = None
        c: Circuit
        for c in self._by_cic:
            if c.fsm.running:
                d = c.fsm.deadline()
                if d is not None and (best is None or d < best):
                    best = d
            if c.sup_running:
                d = c.sup.deadline()
                if d is not None and (best is None or d < best):
                    best = d
        return best

    def handle_timer(self, now: float) -> None:
        """Expire the timers due at ``now``. The same walk leaves in ``next_timer`` the earliest
        deadline still running (inf: none; ``now`` when a timer expired, whose actions may have
        started others): a caller may skip the walk until then while no message was received
        and no request made (a timer starts only so)."""
        c: Circuit
        best = _NO_TIMER
        fired = False
        for c in self._by_cic:
            if c.fsm.running:
                d = c.fsm.deadline()
                if d is not None and d <= now:
                    c.fsm.handle_timer(now)
                    fired = True
                elif d is not None and d < best:
                    best = d
            if c.sup_running:
                d = c.sup.deadline()
                if d is not None and d <= now:
                    c.sup.handle_timer(now)     # expiry events: rows of SUPERVISION_TABLE
                    fired = True
                elif d is not None and d < best:
                    best = d
        self.next_timer = now if fired else best

    # ---- input ------------------------------------------------------------------------------
    def receive(self, data: Any, now: float) -> None:
        """One ISUP message from the adjacent point. Malformed input never raises."""
        self._rx_count += 1
        self._rx(data if type(data) is bytes else bytes(data), now)

    def _rx(self, b: bytes, now: Any) -> None:
        n = len(b)
        msg = None
        seen = _MEMO[b[2]] if n > 2 else None
        if seen is not None:
            for hit in seen:
                tail = hit[0]
                if len(tail) == n - 2 and b.endswith(tail):
                    t = hit[1]
                    msg = hit[2]
                    break
        if msg is None and n > 9 and b[2] == 1:
            msg = read_iam(b)                  # the usual IAM: what call control reads
            t = _M_IAM
        if msg is None:
            try:
                msg = decode(b)
            except DecodeError as e:
                self._malformed(e, b, now)      # the node's rare paths: .node / .supervision
                return
            t = msg.type
            if t is _M_IAM:
                msg = iam_of(msg)
            elif t in _MEMO_TYPES:
                if seen is None:
                    seen = _MEMO[t] = []
                if len(seen) < _MEMO_MAX:
                    seen.append((b[2:], t, decode(b"\0\0" + b[2:])))
        c: Circuit | None = self.circuits.get((b[0] | b[1] << 8) & 0x0FFF)
        if c is None:
            self._unequipped(decode(b), now)
            return
        handler = self._handlers.get(t)
        if handler is not None:
            handler(c, msg, now)
        elif not c.fsm.fire_if(t, msg, now):
            self._unexpected(c, msg, now)

    def _malformed(self, e: DecodeError, data: bytes, now: float) -> None:
        """Octets the codec refused: discarded (the node answers what Q.764 2.9.5 asks)."""
        self._counters["discarded"] += 1

    def _unequipped(self, msg: IsupMessage, now: float) -> None:
        """A message for a CIC we do not have: discarded (the node answers UCIC, Q.764 2.12)."""
        self._counters["discarded"] += 1

    def _unexpected(self, c: Circuit, msg: Any, now: float) -> None:
        """A message the table has no row for in the circuit's state: counted and told."""
        self._counters["unexpected"] += 1
        self._events.append(IsupEvent("unexpected", c.cic, now,
                                      reason=f"{_name(msg)} in {c.fsm.state.value}"))
