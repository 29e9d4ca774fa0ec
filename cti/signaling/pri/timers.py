"""Q.921 and Q.931 timers and parameters as data, each with its clause.

Q.921 5.9 (system parameters) for SAPI 0 on a primary rate interface; Q.931 Tables 9-1
(network side) and 9-2 (user side). The defaults are the recommendation's; a variant
(:mod:`.variants`) or the configuration may change them within the ranges below.
"""
from __future__ import annotations

from cti.signaling.timers import TimerSpec

_T = TimerSpec

#: Q.921 5.9: T200/T203 in seconds; N200, N201 and k are counts (the same range-checked form)
Q921_TIMERS: dict[str, TimerSpec] = {t.name: t for t in (
    _T("T200", 1.0, 0.5, 5.0, "Q.921 5.9.1", "acknowledgement of a command (SABME, DISC, I, enquiry) awaited"),
    _T("T203", 10.0, 2.0, 60.0, "Q.921 5.9.8", "longest time without frames before the link is polled"),
    _T("T_REEST", 2.0, 0.5, 60.0, "Q.921 5.5.1.1 (layer 3 establishment request)",
       "PRI keeps its link up: establishment asked again this long after the link was released"),
)}
Q921_PARAMETERS: dict[str, TimerSpec] = {t.name: t for t in (
    _T("N200", 3, 1, 10, "Q.921 5.9.2", "retransmissions of a frame after T200 (count)"),
    _T("N201", 260, 128, 260, "Q.921 5.9.3", "octets of an information field at most (count)"),
    _T("k", 7, 1, 127, "Q.921 5.9.5", "outstanding I frames at most; 7 for SAPI 0 on PRI (count)"),
)}

#: Q.931 Tables 9-1 / 9-2: the basic-call timers (both sides unless the clause says)
Q931_TIMERS: dict[str, TimerSpec] = {t.name: t for t in (
    _T("T301", 180.0, 180.0, 1800.0, "Q.931 Table 9-1/9-2 T301, 5.1.7",
       "ALERTING received: waiting for CONNECT (at least 3 min); expiry clears the call (cause 19)"),
    _T("T302", 15.0, 10.0, 30.0, "Q.931 Table 9-1/9-2 T302, 5.1.3 / 5.2.4",
       "overlap receiving: waiting for INFORMATION (SETUP ACK sent); expiry: complete or clear with cause 28"),
    _T("T303", 4.0, 2.0, 10.0, "Q.931 Table 9-1/9-2 T303, 5.1.1",
       "SETUP sent: first expiry repeats it, the second clears with cause 102"),
    _T("T304", 30.0, 15.0, 60.0, "Q.931 Table 9-2 T304, 5.1.3",
       "user side, overlap sending: SETUP ACK received or INFORMATION sent; expiry clears (cause 102)"),
    _T("T305", 30.0, 4.0, 60.0, "Q.931 Table 9-1/9-2 T305, 5.3.2 / 5.3.3",
       "DISCONNECT sent: expiry sends RELEASE"),
    _T("T306", 30.0, 10.0, 60.0, "Q.931 Table 9-1 T306, 5.3.2 / 5.4",
       "network side, DISCONNECT sent with progress indicator 8 (tones in band): expiry sends RELEASE"),
    _T("T308", 4.0, 2.0, 10.0, "Q.931 Table 9-1/9-2 T308, 5.3.2 / 5.3.3",
       "RELEASE sent: first expiry repeats it, the second frees the call reference and the channel"),
    _T("T309", 90.0, 6.0, 120.0, "Q.931 Table 9-1/9-2 T309, 5.8.8",
       "data link down: calls in the active state survive this long; expiry clears them (cause 27)"),
    _T("T310", 30.0, 10.0, 120.0, "Q.931 Table 9-1/9-2 T310, 5.1.6",
       "CALL PROCEEDING received: waiting for ALERTING, CONNECT, DISCONNECT or PROGRESS; expiry clears (102)"),
    _T("T313", 4.0, 2.0, 10.0, "Q.931 Table 9-2 T313, 5.2.8",
       "user side, CONNECT sent: waiting for CONNECT ACKNOWLEDGE; expiry clears (102)"),
    _T("T316", 120.0, 5.0, 300.0, "Q.931 Table 9-1/9-2 T316, 5.5.1",
       "RESTART sent: expiry repeats it (N316 times) and reports the failure"),
    _T("T322", 4.0, 2.0, 10.0, "Q.931 Table 9-1/9-2 T322, 5.8.10",
       "STATUS ENQUIRY sent: expiry repeats it, then clears the call (cause 41)"),
)}
#: Q.931 5.5.1: RESTART repeated this many times before the failure is reported
N316 = 2
#: Q.931 5.8.10: STATUS ENQUIRY repeated this many times before the call is cleared
N322 = 2
