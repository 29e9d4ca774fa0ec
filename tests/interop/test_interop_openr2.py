"""Interop: our No.1 stack against libopenr2 (variant CN) on one E1 channel.

libopenr2 runs in tests/interop/openr2_peer.c, built here with gcc against the Debian
libopenr2-dev static library; its DAHDI calls are served by the program itself, so CAS bits
and A-law audio travel over pipes to this test in lockstep 20 ms ticks (virtual time on both
sides). openr2's own MF detector/generator talk to our MF kernel. Skipped cleanly when gcc
or libopenr2-dev is missing.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cti.signaling.causes import Cause
from cti.signaling.trunk import Alerting, Answered, IncomingCall, Proceeding, Released

sys.path.insert(0, str(Path(__file__).resolve().parent))
from openr2_harness import OpenR2Call, build

pytestmark = pytest.mark.interop

# openr2_call_disconnect_cause_t
OR2_BUSY, OR2_CONGESTION, OR2_UNALLOCATED, OR2_OUT_OF_ORDER, OR2_NORMAL = 0, 1, 2, 3, 6
CIRCUIT = (0, 1)


@pytest.fixture(scope="module")
def peer_exe(tmp_path_factory):
    exe = build(tmp_path_factory.mktemp("openr2"))
    if isinstance(exe, str):
        pytest.skip(exe)
    return exe


@pytest.fixture
def call(peer_exe):
    calls = []

    def make(config=None, max_ani=10, max_dnis=4, variant="CN"):
        c = OpenR2Call(peer_exe, {"dnis_length": max_dnis, "timers": {"T_MF_WAIT": 1.5}, **(config or {})},
                       max_ani=max_ani, max_dnis=max_dnis, variant=variant)
        calls.append(c)
        c.run(0.1)
        return c

    yield make
    for c in calls:
        c.close()


def of(c, cls):
    return [e for e in c.events if isinstance(e, cls)]


def wait_peer(c, prefix, seconds=6.0):
    c.run(seconds, until=lambda: any(e.startswith(prefix) for e in c.peer_events))
    hits = [e for e in c.peer_events if e.startswith(prefix)]
    assert hits, (prefix, c.peer_events, c.events)
    return hits[-1]


def wait_ours(c, cls, seconds=6.0):
    c.run(seconds, until=lambda: bool(of(c, cls)))
    hits = of(c, cls)
    assert hits, (cls.__name__, c.peer_events, c.events)
    return hits[-1]


def settle_idle(c):
    c.run(2.0, until=lambda: c.trunk.state(CIRCUIT) == ("idle", None) and "end" in c.peer_events)
    assert c.trunk.state(CIRCUIT) == ("idle", None)
    assert c.trunk.idle_circuits() == [CIRCUIT]


# ------------------------------------------------------------------ our calls to openr2

def test_outgoing_dnis_ani_answer_we_clear(call):
    c = call()
    c.trunk.make_call("1234", "5678", c.t)
    offered = wait_peer(c, "offered")
    assert offered.split()[:3] == ["offered", "5678", "1234"]   # openr2 got DNIS and ANI (KA + digits + I-15)
    assert of(c, Proceeding)
    c.command("C")                        # openr2 accepts: B1
    wait_ours(c, Alerting)
    c.command("N")                        # answer: a,b = 01
    wait_ours(c, Answered)
    c.trunk.release(CIRCUIT, Cause.NORMAL_CLEARING, c.t)      # clear-forward
    wait_peer(c, "disconnect")
    settle_idle(c)
    rel = of(c, Released)[-1]
    assert (rel.cause, rel.remote) == (Cause.NORMAL_CLEARING, False)


def test_outgoing_accepted_without_charge_b7(call):
    """openr2 CN accepts "no charge" with the ITU B7 (outside China's four backward tones)."""
    c = call()
    c.trunk.make_call("1234", "5678", c.t)
    wait_peer(c, "offered")
    c.command("C", "1")
    wait_ours(c, Alerting)
    c.command("N")
    wait_ours(c, Answered)
    c.trunk.release(CIRCUIT, Cause.NORMAL_CLEARING, c.t)
    settle_idle(c)


def test_outgoing_openr2_clears_back(call):
    c = call()
    c.trunk.make_call("4321", "88", c.t)
    wait_peer(c, "offered")
    c.command("C")
    wait_ours(c, Alerting)
    c.command("N")
    wait_ours(c, Answered)
    c.command("D", str(OR2_NORMAL))       # called party clears: clear-back
    rel = wait_ours(c, Released)
    assert (rel.cause, rel.remote, rel.reason) == (Cause.NORMAL_CLEARING, True, "clear-back")
    settle_idle(c)


@pytest.mark.parametrize("or2_cause,cause", [(OR2_BUSY, Cause.USER_BUSY),
                                             (OR2_UNALLOCATED, Cause.UNALLOCATED_NUMBER),
                                             (OR2_CONGESTION, Cause.SWITCHING_EQUIPMENT_CONGESTION),
                                             # openr2 CN still sends the ITU B8 "line out of order":
                                             # once a protocol error (111), now out of order (27)
                                             (OR2_OUT_OF_ORDER, Cause.DESTINATION_OUT_OF_ORDER)])
def test_outgoing_rejected_by_openr2(call, or2_cause, cause):
    c = call()
    c.trunk.make_call("2000", "1", c.t)
    wait_peer(c, "offered")
    c.command("D", str(or2_cause))        # openr2 answers KD with B2 / B5 / B4
    rel = wait_ours(c, Released)
    assert (rel.cause, rel.remote) == (cause, True)
    assert not of(c, Alerting)
    settle_idle(c)


def test_outgoing_without_calling_number(call):
    c = call()
    c.trunk.make_call("7777", None, c.t)
    offered = wait_peer(c, "offered")
    assert offered.split()[1:3] == ["-", "7777"]
    c.command("C")
    wait_ours(c, Alerting)
    c.trunk.release(CIRCUIT, Cause.NORMAL_CLEARING, c.t)
    settle_idle(c)


# ------------------------------------------------------------------ openr2's calls to us

def test_incoming_dnis_answer_openr2_clears(call):
    c = call({"ani": True})
    c.command("M", "13800,2001")
    inc = wait_ours(c, IncomingCall)
    assert inc.called == "2001"
    # libopenr2 CN answers A6 with its category, then treats every A1 as "next DNIS digit"
    # and never sends the calling number: we must still get the whole called number.
    assert inc.calling is None
    c.trunk.answer(CIRCUIT, c.t)
    wait_peer(c, "answered")
    assert "accepted 0" in c.peer_events  # B1 (accepted, with charge)
    c.command("D", str(OR2_NORMAL))       # clear-forward
    rel = wait_ours(c, Released)
    assert (rel.cause, rel.remote, rel.reason) == (Cause.NORMAL_CLEARING, True, "clear-forward")
    settle_idle(c)


def test_incoming_we_clear_back(call):
    c = call()
    c.command("M", "139,5555")
    wait_ours(c, IncomingCall)
    c.trunk.answer(CIRCUIT, c.t)
    wait_peer(c, "answered")
    c.trunk.release(CIRCUIT, Cause.NORMAL_CLEARING, c.t)      # clear-back; openr2 clears forward
    wait_peer(c, "disconnect")
    settle_idle(c)
    rel = of(c, Released)[-1]
    assert rel.remote is False


@pytest.mark.parametrize("cause,or2_text", [(Cause.USER_BUSY, "Busy Number"),
                                            (Cause.UNALLOCATED_NUMBER, "Unallocated Number"),
                                            (Cause.SWITCHING_EQUIPMENT_CONGESTION, "Network Congestion")])
def test_incoming_rejected_by_us(call, cause, or2_text):
    c = call()
    c.command("M", "1,3000")
    wait_ours(c, IncomingCall)
    c.trunk.release(CIRCUIT, cause, c.t)   # B2 / B5 / B4
    got = wait_peer(c, "disconnect")
    assert or2_text in got
    settle_idle(c)
    rel = of(c, Released)[-1]
    assert (rel.cause, rel.remote) == (cause, False)


def test_incoming_ani_requested_after_the_called_number(call):
    """Asking for the calling number only once the called number is complete keeps the
    called number unambiguous with libopenr2 CN (it still sends no calling number)."""
    c = call({"ani": True, "ani_after": 4})
    c.command("M", "13800,4444")
    inc = wait_ours(c, IncomingCall)
    assert (inc.called, inc.calling) == ("4444", None)
    c.trunk.release(CIRCUIT, Cause.NORMAL_CLEARING, c.t)
    settle_idle(c)


def test_incoming_without_ani_request(call):
    c = call({"ani": False})
    c.command("M", "13800,6060")
    inc = wait_ours(c, IncomingCall, seconds=3.0)
    assert (inc.called, inc.calling) == ("6060", None)
    assert inc.time < 2.0          # no A6 round and no timeout: quick
    c.trunk.answer(CIRCUIT, c.t)
    wait_peer(c, "answered")
    c.command("D", str(OR2_NORMAL))
    settle_idle(c)


# ------------------------------------------------------------------ ITU R2: the same engine, the ITU table

def test_itu_both_ways_with_ani(call):
    c = call({"variant": "itu", "ani": True}, variant="ITU")
    c.trunk.make_call("1234", "5678", c.t)
    offered = wait_peer(c, "offered")
    assert offered == "offered 5678 1234 National Subscriber"     # A5 category (II-1), A5 per ANI digit
    c.command("C")
    wait_ours(c, Alerting)                                        # ITU B6: free, charge
    c.trunk.release(CIRCUIT, Cause.NORMAL_CLEARING, c.t)
    settle_idle(c)
    c.peer_events.clear()
    c.command("M", "13800,2001")
    inc = wait_ours(c, IncomingCall)
    assert (inc.called, inc.calling) == ("2001", "13800")           # ITU openr2 does send the calling number
    c.trunk.release(CIRCUIT, Cause.USER_BUSY, c.t)                 # ITU B3
    assert "Busy Number" in wait_peer(c, "disconnect")
    settle_idle(c)


# ------------------------------------------------------------------ defaults and set-up time

def _setup_time(c) -> float:
    c.events.clear()
    c.peer_events.clear()
    start = c.t
    c.command("M", "13800,2001")
    inc = wait_ours(c, IncomingCall, seconds=10.0)
    assert (inc.called, inc.calling) == ("2001", None)
    c.trunk.release(CIRCUIT, Cause.NORMAL_CLEARING, c.t)
    settle_idle(c)
    return inc.time - start


def test_default_setup_time_against_openr2(call):
    """openr2 CN calls us with "2001", three calls each way of configuring us; it never sends a
    calling number. Set-up time, seizure to IncomingCall, virtual time (docs/no1.md quotes it):

    * the old defaults (ask for the calling number after the first digit, 4-digit numbers):
      T_MF_WAIT (5 s) on every call;
    * the China defaults (variable-length number ended by T_DNIS_END, ani = "auto"): the first
      call finds out the far end sends no calling number, the next ones do not ask;
    * ani = false and the far end's number length known: at once."""
    old = call({"timers": {}, "ani": True, "ani_after": 1, "dnis_length": 4})
    new = call({"timers": {}, "dnis_length": 0})
    known = call({"timers": {}, "ani": False, "dnis_length": 4})
    times = {name: [_setup_time(c) for _ in range(3)] for name, c in (("old", old), ("new", new), ("known", known))}
    assert all(t > 5.0 for t in times["old"]), times
    assert times["new"][0] > 5.0 and all(1.5 < t < 2.5 for t in times["new"][1:]), times
    assert new.trunk.counters["ani_not_sent"] == 1 and old.trunk.counters["ani_not_sent"] == 3
    assert all(t < 1.0 for t in times["known"]), times
    print("set-up times (s):", {k: [round(t, 2) for t in v] for k, v in times.items()})
