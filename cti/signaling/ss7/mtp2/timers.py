"""MTP2 timers (Q.703 clause 12.3) and error monitor figures (clause 10) as data."""
from __future__ import annotations

from cti.signaling.timers import TimerSpec

_T = TimerSpec

#: Q.703 clause 12.3 (64 kbit/s links); ranges as the recommendation gives them.
MTP2_TIMERS: dict[str, TimerSpec] = {t.name: t for t in (
    _T("T1", 45.0, 40.0, 50.0, "Q.703 12.3 T1", "alignment ready: waiting for FISU/MSU after proving"),
    _T("T2", 11.5, 5.0, 150.0, "Q.703 12.3 T2", "not aligned: waiting for SIO/SIN/SIE"),
    _T("T3", 1.5, 1.0, 2.0, "Q.703 12.3 T3", "aligned: waiting for SIN/SIE to start proving"),
    _T("T4N", 8.2, 7.5, 9.5, "Q.703 12.3 T4 (Pn)", "normal proving period"),
    _T("T4E", 0.5, 0.4, 0.6, "Q.703 12.3 T4 (Pe)", "emergency proving period"),
    _T("T5", 0.1, 0.08, 0.12, "Q.703 12.3 T5", "interval between SIBs while locally congested"),
    _T("T6", 4.5, 3.0, 6.0, "Q.703 12.3 T6", "remote congestion (SIB received) longer than this: link failure"),
    _T("T7", 1.0, 0.5, 2.0, "Q.703 12.3 T7", "excessive delay of acknowledgement"),
)}

#: Q.703 clause 10.2 SUERM: threshold T, leak one per D signal units.
SUERM_T = 64
SUERM_D = 256
#: Q.703 clause 10.3 AERM thresholds: normal Tin, emergency Tie; M proving attempts (clause 7.3).
AERM_TIN = 4
AERM_TIE = 1
PROVING_ATTEMPTS = 5
