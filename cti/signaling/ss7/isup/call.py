"""ISUP call control per circuit (Q.764 clause 2.1-2.5, 2.9): states, events and data.

The transition table itself (:data:`.control_py.CALL_TABLE`) sits beside its actions in
:mod:`.control_py`; its events are the members of :class:`Req` (requests of the user),
:class:`~.formats.MessageType` (a message received) and :class:`Expiry` (a call timer ran
out: the engine fires it), and :class:`Maint` (a circuit cleared by circuit supervision).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass


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


class Req(str, enum.Enum):
    """Requests of the user of a circuit."""

    SETUP = "setup"        #: send an IAM (2.1.1)
    ALERT = "alert"        #: send ACM (2.1.4)
    ANSWER = "answer"      #: send ANM, or CON before alerting (2.1.7)
    RELEASE = "release"    #: send REL (2.3.1)
    RESET = "reset"        #: send RSC (2.9.3.1)


class Expiry(str, enum.Enum):
    """A call control timer ran out (Q.764 Annex A): the engine fires these."""

    T1 = "T1"
    T5 = "T5"
    T7 = "T7"
    T9 = "T9"
    T16 = "T16"
    T17 = "T17"


class Maint(str, enum.Enum):
    """Circuit supervision acting on the call of a circuit."""

    CLEAR = "clear"        #: a group reset (GRS/GRA, 2.9.3.2) or UCIC (2.12) cleared the circuit


#: The states in which a call exists on the circuit.
BUSY_STATES = frozenset(set(CallState) - {CallState.IDLE, CallState.RESETTING})

#: Timers of circuit supervision (Q.764 2.8, 2.9): events of :data:`.supervision.SUPERVISION_TABLE`
#: (each circuit's ``sup`` machine); the call timers are events of :data:`CALL_TABLE`.
SUPERVISION_TIMERS = frozenset({"T12", "T14", "T18", "T20", "T22"})

#: Defaults of the mandatory IAM indicators (Q.763 3.35, 3.23, 3.11, 3.54).
IAM_DEFAULTS = {"nature_of_connection_indicators": 0x00,    # no satellite, no continuity check
                "forward_call_indicators": 0x0020,          # national, ISUP all the way, preferred
                "calling_partys_category": 0x0A,            # ordinary subscriber
                "transmission_medium_requirement": 0x00}    # speech (Q.763 3.54)
#: Transmission medium requirement values (Q.763 3.54): ``Ss7Config.transmission_medium``.
TMR = {"speech": 0x00, "64k_unrestricted": 0x02, "3.1khz": 0x03}
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
