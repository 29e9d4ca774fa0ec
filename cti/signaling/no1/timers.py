"""No.1 line and register timers as data: name, default, allowed range, clause.

Clause references are to ITU-T Q.421 (digital line signalling), Q.442/Q.476 (register
signalling timing) and the China No.1 specification GF 001-9001 as summarised in
the recommendations; values marked (verify) follow common practice (and libopenr2's defaults)
where the text was not at hand. Every value is configurable within its range.
"""
from __future__ import annotations

from cti.signaling.timers import TimerSpec

_T = TimerSpec

#: Line signalling (CAS on TS16) timers.
LINE_TIMERS: dict[str, TimerSpec] = {t.name: t for t in (
    _T("DEBOUNCE", 0.020, 0.010, 0.040, "Q.421 clause 4 (recognition time 20 +/- 10 ms)",
       "a changed abcd state must persist this long before it counts"),
    _T("T_SEIZE_ACK", 2.0, 0.1, 10.0, "Q.421 clause 5.1 / GF 001-9001 line signalling (verify)",
       "outgoing: seizure sent, waiting for seizure acknowledgement"),
    _T("T_ANSWER", 60.0, 1.0, 600.0, "GF 001-9001 (verify); openr2 r2_answer 60 s",
       "outgoing: called party free (B1), waiting for the answer signal"),
    _T("T_RELEASE", 3.0, 0.2, 30.0, "Q.421 clause 5.2 release guard (verify); openr2 set_call_down 3 s",
       "outgoing: clear-forward sent, waiting for idle (release guard) from the far end"),
    _T("RELEASE_GUARD", 0.1, 0.02, 1.0, "Q.421 clause 5.2 release guard (verify)",
       "incoming: clear-forward recognised, delay before idle is returned"),
    _T("T_BLOCK_DELAY", 0.1, 0.04, 1.0, "Q.421 clause 5.2 (idle must be recognised before blocking)",
       "a block asked for during a call is sent this long after the circuit returns to idle"),
    _T("T_CLEAR_FWD", 60.0, 0.5, 600.0, "GF 001-9001 (verify)",
       "incoming: clear-back or rejection sent, waiting for clear-forward"),
    _T("IDLE_GUARD", 0.1, 0.04, 1.0,
       "Q.421 clause 4 (a state counts after 20 +/- 10 ms) and 5.2 (release guard); as T_BLOCK_DELAY",
       "back in idle, a seizure of ours is held back this long: the far end must recognise our "
       "idle (release guard) before a seizure replaces it; at start, a far seizure found before "
       "any idle counts only if it is still there after this long"),
)}

#: MFC register (compelled) timers.
REGISTER_TIMERS: dict[str, TimerSpec] = {t.name: t for t in (
    _T("T_MF_FWD", 15.0, 0.5, 60.0, "Q.476 / GF 001-9001 compelled cycle (verify); openr2 mf_fwd_safety",
       "outgoing: forward signal on, no backward signal"),
    _T("T_MF_BACK_OFF", 5.0, 0.2, 30.0, "Q.441 clause 3 compelled cycle (verify)",
       "outgoing: forward signal stopped, backward signal does not stop"),
    _T("T_MF_QUIET", 10.0, 0.2, 60.0, "Q.441 clause 3 pulsed signals (verify)",
       "outgoing: no more digits to send, waiting for a pulsed backward signal"),
    _T("T_MF_WAIT", 5.0, 0.2, 60.0, "Q.476 / GF 001-9001 (verify); openr2 mf_back_cycle",
       "incoming: backward signal cycle done, waiting for the next forward signal"),
    _T("T_DNIS_END", 1.5, 0.2, 60.0, "GF 001-9001 (verify); openr2 mf_back_cycle 1.5 s",
       "incoming: a variable-length called number (no numbering-plan length) ends when no next "
       "digit comes within this time; a pulsed A3 then asks for KD"),
    _T("T_MF_FWD_OFF", 5.0, 0.2, 30.0, "Q.441 clause 3 compelled cycle (verify)",
       "incoming: backward signal on, forward signal does not stop"),
    _T("T_PULSE", 0.15, 0.1, 0.3, "Q.441 clause 3 pulsed backward signal 150 +/- 30 ms (verify)",
       "incoming: length of a pulsed backward signal (A3 when the caller stops sending digits)"),
    _T("T_DECISION", 3.0, 0.1, 30.0, "local (the call model's time to pick the B signal)",
       "incoming: KD received, waiting for free / busy / unallocated / congestion"),
)}

ALL_TIMERS: dict[str, TimerSpec] = {**LINE_TIMERS, **REGISTER_TIMERS}


def pick(specs: dict[str, TimerSpec], overrides: dict[str, float] | None) -> dict[str, float]:
    """The overrides that belong to ``specs``."""
    return {k: v for k, v in (overrides or {}).items() if k in specs}
