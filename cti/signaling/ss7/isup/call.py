"""ISUP call control per circuit (Q.764 clause 2.1-2.5, 2.9): states and the transition table.

The owner (:class:`cti.signaling.ss7.isup.node.IsupNode`) supplies the actions; events are
local requests (``setup``, ``alert``, ``answer``, ``release``, ``reset``), received message
names (``IAM``, ``ACM``...) and expired timers (``T1``...).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from cti.signaling.fsm import ANY


class CallState(str, enum.Enum):
    IDLE = "idle"                    #: Q.764 2.1: circuit free
    OUT_WAIT_ACM = "out_wait_acm"    #: 2.1.1 / 2.1.5: IAM sent, T7 running
    OUT_WAIT_ANM = "out_wait_anm"    #: 2.1.4 / 2.1.7: ACM received, T9 running
    IN_WAIT_ALERT = "in_wait_alert"  #: 2.1.2: IAM received, the user decides
    IN_ALERTING = "in_alerting"      #: 2.1.4: ACM sent
    ANSWERED = "answered"            #: 2.1.7: conversation
    SUSPENDED = "suspended"          #: 2.5: SUS received
    RELEASING = "releasing"          #: 2.3.1: REL sent, T1 and T5 running
    RESETTING = "resetting"          #: 2.9.3: RSC sent, T16 (T17) running


_C = CallState
_REMOTE_REL = ("_remote_release", _C.IDLE)
_LOCAL_REL = ("_send_rel", _C.RELEASING)

CALL_TABLE: dict[tuple[Any, str], tuple[str | None, Any]] = {
    (_C.IDLE, "setup"): ("_send_iam", _C.OUT_WAIT_ACM),
    (_C.IDLE, "IAM"): ("_incoming", _C.IN_WAIT_ALERT),
    (_C.IDLE, "REL"): ("_send_rlc", None),              # 2.10.8.1: REL on an idle circuit -> RLC
    (_C.IDLE, "RLC"): (None, None),
    (_C.OUT_WAIT_ACM, "ACM"): ("_alerting", _C.OUT_WAIT_ANM),
    (_C.OUT_WAIT_ACM, "CPG"): ("_progress", None),
    (_C.OUT_WAIT_ACM, "ANM"): ("_answered", _C.ANSWERED),
    (_C.OUT_WAIT_ACM, "CON"): ("_answered", _C.ANSWERED),
    (_C.OUT_WAIT_ACM, "IAM"): ("_glare", None),         # 2.9.1.4 dual seizure
    (_C.OUT_WAIT_ACM, "T7"): ("_timeout_release", _C.RELEASING),
    (_C.OUT_WAIT_ANM, "CPG"): ("_progress", None),
    (_C.OUT_WAIT_ANM, "ANM"): ("_answered", _C.ANSWERED),
    (_C.OUT_WAIT_ANM, "T9"): ("_timeout_release", _C.RELEASING),
    (_C.IN_WAIT_ALERT, "alert"): ("_send_acm", _C.IN_ALERTING),
    (_C.IN_WAIT_ALERT, "answer"): ("_send_con", _C.ANSWERED),
    (_C.IN_WAIT_ALERT, "SAM"): ("_more_digits", None),
    (_C.IN_ALERTING, "alert"): (None, None),
    (_C.IN_ALERTING, "answer"): ("_send_anm", _C.ANSWERED),
    (_C.IN_ALERTING, "SAM"): ("_more_digits", None),
    (_C.ANSWERED, "ANM"): (None, None),
    (_C.ANSWERED, "SUS"): ("_suspended", _C.SUSPENDED),
    (_C.ANSWERED, "RES"): (None, None),
    (_C.ANSWERED, "answer"): (None, None),
    (_C.SUSPENDED, "RES"): ("_resumed", _C.ANSWERED),
    (_C.SUSPENDED, "SUS"): (None, None),
    (_C.RELEASING, "RLC"): ("_release_complete", _C.IDLE),
    (_C.RELEASING, "REL"): ("_release_collision", _C.IDLE),   # 2.3.1 e: both ends released
    (_C.RELEASING, "T1"): ("_repeat_rel", None),
    (_C.RELEASING, "T5"): ("_give_up_release", _C.RESETTING),
    (_C.RELEASING, "release"): (None, None),
    (_C.RESETTING, "RLC"): ("_reset_complete", _C.IDLE),
    (_C.RESETTING, "T16"): ("_repeat_rsc", None),
    (_C.RESETTING, "T17"): ("_repeat_rsc", None),
    (_C.RESETTING, "REL"): ("_send_rlc", None),
    **{(s, "REL"): _REMOTE_REL for s in (_C.OUT_WAIT_ACM, _C.OUT_WAIT_ANM, _C.IN_WAIT_ALERT,
                                         _C.IN_ALERTING, _C.ANSWERED, _C.SUSPENDED)},
    **{(s, "release"): _LOCAL_REL for s in (_C.OUT_WAIT_ACM, _C.OUT_WAIT_ANM, _C.IN_WAIT_ALERT,
                                            _C.IN_ALERTING, _C.ANSWERED, _C.SUSPENDED)},
    (ANY, "RSC"): ("_remote_reset", _C.IDLE),        # 2.9.3.1: reset received -> RLC
    (ANY, "reset"): ("_send_rsc", _C.RESETTING),
}

#: The states in which a call exists on the circuit.
BUSY_STATES = frozenset(set(CallState) - {CallState.IDLE, CallState.RESETTING})

#: Timers of circuit supervision (Q.764 2.8, 2.9): their expiry repeats a message (the node's
#: rare path); every other ISUP timer is an event of :data:`CALL_TABLE`.
SUPERVISION_TIMERS = frozenset({"T12", "T14", "T18", "T20", "T22"})

#: Defaults of the mandatory IAM indicators (Q.763 3.35, 3.23, 3.11, 3.54).
IAM_DEFAULTS = {"nature_of_connection_indicators": 0x00,    # no satellite, no continuity check
                "forward_call_indicators": 0x0020,          # national, ISUP all the way, preferred
                "calling_partys_category": 0x0A,            # ordinary subscriber
                "transmission_medium_requirement": 0x03}    # 3.1 kHz audio
#: Backward call indicators for ACM: subscriber free, ordinary, ISUP all the way (Q.763 3.5).
BCI_ACM = 0x0416
BCI_CON = 0x0416


@dataclass(slots=True, unsafe_hash=True)   # not frozen: built per message, 6x cheaper
class IsupEvent:
    """kind: setup | digits | alerting | progress | answered | suspended | resumed | released |
    circuit (availability changed) | reset_done | unexpected."""

    kind: str
    cic: int
    time: float
    called: str = ""
    calling: str | None = None
    category: int | None = None
    cause: int = 0
    remote: bool = True
    reason: str = ""
    available: bool = True
    count: int = 1          #: circuits covered (reset_done after GRA)
