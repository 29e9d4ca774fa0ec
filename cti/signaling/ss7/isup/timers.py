"""ISUP timers (Q.764 Annex A, Table A.1) as data."""
from __future__ import annotations

from cti.signaling.timers import TimerSpec

_T = TimerSpec
ISUP_TIMERS: dict[str, TimerSpec] = {t.name: t for t in (
    _T("T1", 15.0, 4.0, 15.0, "Q.764 2.3.1 / Table A.1 T1", "REL sent: repeat REL if no RLC"),
    _T("T5", 300.0, 300.0, 900.0, "Q.764 2.3.1 / Table A.1 T5", "REL sent: give up, send RSC, alert maintenance"),
    _T("T7", 25.0, 20.0, 30.0, "Q.764 2.1.5 / Table A.1 T7", "IAM sent: waiting for ACM/ANM/CON"),
    _T("T9", 90.0, 90.0, 180.0, "Q.764 2.1.7 / Table A.1 T9", "ACM received: waiting for answer"),
    _T("T12", 15.0, 15.0, 60.0, "Q.764 2.8.2 / Table A.1 T12", "BLO sent: repeat if no BLA"),
    _T("T14", 15.0, 15.0, 60.0, "Q.764 2.8.2 / Table A.1 T14", "UBL sent: repeat if no UBA"),
    _T("T16", 15.0, 15.0, 60.0, "Q.764 2.9.3 / Table A.1 T16", "RSC sent: repeat if no RLC"),
    _T("T17", 60.0, 60.0, 900.0, "Q.764 2.9.3 / Table A.1 T17", "RSC repeated after T5/T16: interval"),
    _T("T18", 15.0, 15.0, 60.0, "Q.764 2.8.2 / Table A.1 T18", "CGB sent: repeat if no CGBA"),
    _T("T20", 15.0, 15.0, 60.0, "Q.764 2.8.2 / Table A.1 T20", "CGU sent: repeat if no CGUA"),
    _T("T22", 15.0, 15.0, 60.0, "Q.764 2.9.3 / Table A.1 T22", "GRS sent: repeat if no GRA"),
)}
