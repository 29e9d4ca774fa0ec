"""MTP2 state names (Q.703 clauses 7 and 12), shared by the link control and its in-service core."""
from __future__ import annotations

import enum


class LinkState(str, enum.Enum):
    """Link state control states (Q.703 clause 12, Figure 8)."""

    OUT_OF_SERVICE = "out_of_service"          #: 12.2: sending SIOS
    INITIAL_ALIGNMENT = "initial_alignment"    #: 12.2 / clause 7: IAC running
    ALIGNED_READY = "aligned_ready"            #: 12.2: proving done, T1 running, sending FISU
    IN_SERVICE = "in_service"                  #: 12.2: MSUs flow
    PROCESSOR_OUTAGE = "processor_outage"      #: clause 8: remote processor outage (SIPO received)


class IacState(str, enum.Enum):
    """Initial alignment control states (Q.703 clause 7.3, Figure 9)."""

    IDLE = "idle"
    NOT_ALIGNED = "not_aligned"  #: sending SIO, T2 running
    ALIGNED = "aligned"          #: sending SIN/SIE, T3 running
    PROVING = "proving"          #: sending SIN/SIE, T4 + AERM running


#: :func:`parse` kinds besides an LSSU's status (0..5, Q.703 Table 1).
FISU_KIND = -1
MSU_KIND = -2
#: ``LinkCore._fill`` when the fill-in is a FISU (otherwise an LSSU status 0..5).
FILL_FISU = -1
#: Q.703 clause 2.3.3: the largest SIF of an MSU (272 octets), so SIO + SIF <= 273.
MAX_SIF = 272


class Su(str, enum.Enum):
    """A signal unit received: an event of link state control and initial alignment control."""

    MSU = "rx_msu"
    FISU = "rx_fisu"
    SIO = "rx_sio"      #: status "out of alignment"
    SIN = "rx_sin"      #: status "normal" (proving)
    SIE = "rx_sie"      #: status "emergency" (proving)
    SIOS = "rx_sios"    #: status "out of service"
    SIPO = "rx_sipo"    #: status "processor outage"
    SIB = "rx_sib"      #: status "busy"


class LscEvent(str, enum.Enum):
    """Link state control events besides a received signal unit (Q.703 Figure 8)."""

    START = "start"                                    #: MTP3: start
    STOP = "stop"                                      #: MTP3: stop
    ALIGNMENT_COMPLETE = "alignment_complete"          #: from IAC
    ALIGNMENT_NOT_POSSIBLE = "alignment_not_possible"  #: from IAC
    LINK_FAILURE = "link_failure"                      #: SUERM, T6, T7, abnormal BSN/FIB, line fault
    T1 = "T1"                                          #: T1 expired


class IacEvent(str, enum.Enum):
    """Initial alignment control events besides a received signal unit (Q.703 Figure 9)."""

    START = "start"
    STOP = "stop"
    AERM = "aerm"      #: the alignment error rate monitor's threshold was reached
    T2 = "T2"
    T3 = "T3"
    T4 = "T4"          #: T4 (Pn or Pe) expired: proving done


#: The LSC/IAC event for each parse kind, indexed by ``kind + 2`` (MSU, FISU, SIO..SIB).
KIND_EVENTS = (Su.MSU, Su.FISU, Su.SIO, Su.SIN, Su.SIE, Su.SIOS, Su.SIPO, Su.SIB)
LINK_FAILURE = LscEvent.LINK_FAILURE
