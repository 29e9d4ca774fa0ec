"""Interop with libpri (Debian libpri-dev): libpri at one end of the D channel, our PriTrunk
at the other (our user side against libpri's network side and the reverse), over a
SOCK_SEQPACKET socketpair. Every test writes our side's frames to a pcap (LAPD, link type
177) that tshark must decode without malformed packets or warnings."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pri_harness import Rig, build_peer, check_tshark, missing

from cti.signaling.pri.lapd import Kind, decode as lapd_decode
from cti.signaling.trunk import Alerting, Answered, IncomingCall, Released

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]


@pytest.fixture(scope="module", autouse=True)
def _peer_built():
    why = missing()
    if why:
        pytest.skip(why)
    build_peer()


@pytest.fixture
def rig(tmp_path, request):
    made = []

    def make(side="user", **kw):
        r = Rig(tmp_path / f"{request.node.name}-{len(made)}.pcap", side, **kw)
        made.append(r)
        assert r.run(lambda: r.trunk.up and r.saw("UP"), 10), (r.peer_lines, r.stack.link.state)
        return r
    yield make
    for r in made:
        r.close()
        check_tshark(r.pcap.f.name)


def of(r, kind):
    return [e for e in r.events if isinstance(e, kind)]


@pytest.mark.parametrize("side", ["user", "network"])
def test_link_up_and_tshark_decodes_both_directions(rig, side):
    r = rig(side)
    r.pcap.flush()
    out = check_tshark(r.pcap.f.name)
    if out:
        assert "SABME" in out and "UA" in out


@pytest.mark.parametrize("side", ["user", "network"])
def test_call_from_us_with_numbers_and_presentation_cleared_by_us(rig, side):
    r = rig(side)
    c = r.trunk.make_call("88001234", "13800138000", r.now())
    ch = c[1]
    assert r.run(lambda: r.saw(f"RING {ch} "), 5), r.peer_lines
    called, calling, pres = r.line("RING").split()[2:5]
    assert (called, calling, int(pres) >> 5) == ("88001234", "13800138000", 0)    # presentation allowed
    assert int(pres) & 3 == (3 if side == "network" else 0)      # screening: network provided / user
    r.send(f"proceeding {ch}")
    r.send(f"alert {ch}")
    assert r.run(lambda: of(r, Alerting), 5)
    assert r.trunk.call(c).inband                        # ALERTING said: in-band tones
    r.send(f"answer {ch}")
    assert r.run(lambda: of(r, Answered), 5)
    r.trunk.release(c, 16, r.now())
    assert r.run(lambda: of(r, Released) and r.saw(f"HANGUP_REQ {ch} 16"), 5), r.peer_lines
    rel = of(r, Released)[0]
    assert rel.cause == 16 and not rel.remote and r.trunk.call(c) is None


@pytest.mark.parametrize("side", ["user", "network"])
def test_call_from_libpri_answered_by_us_cleared_by_libpri(rig, side):
    r = rig(side)
    r.send("call 7 6660001 02088886666 32")              # 32: presentation restricted
    assert r.run(lambda: of(r, IncomingCall), 5), r.peer_lines
    inc = of(r, IncomingCall)[0]
    assert (inc.called, inc.calling, inc.circuit) == ("6660001", "02088886666", (0, 7))
    assert inc.extra["presentation"] == 1
    r.trunk.alert(inc.circuit, r.now())
    assert r.run(lambda: r.saw("RINGING 7"), 5)
    r.trunk.answer(inc.circuit, r.now())
    assert r.run(lambda: r.saw("ANSWER 7"), 5)
    r.send("hangup 7 16")
    assert r.run(lambda: of(r, Released), 5)
    assert of(r, Released)[0].cause == 16 and of(r, Released)[0].remote
    assert r.run(lambda: r.saw("HANGUP 7"), 5), r.peer_lines           # our RELEASE reached libpri


def test_progress_in_band_then_busy_from_libpri(rig):
    r = rig("user")
    c = r.trunk.make_call("5551234", None, r.now())
    ch = c[1]
    assert r.run(lambda: r.saw(f"RING {ch}"), 5)
    r.send(f"proceeding {ch}")
    r.send(f"progress {ch}")
    assert r.run(lambda: r.trunk.call(c) is not None and r.trunk.call(c).inband, 5)
    r.send(f"hangup {ch} 17")
    assert r.run(lambda: of(r, Released), 5)
    assert of(r, Released)[0].cause == 17


def test_restart_of_a_channel_both_ways(rig):
    r = rig("user")
    r.send("call 9 100 200 0")
    assert r.run(lambda: of(r, IncomingCall), 5)
    r.send("restart 9")
    assert r.run(lambda: of(r, Released), 5)
    assert of(r, Released)[0].cause == 41 and r.run(lambda: r.saw("RESTART_ACK 9"), 5), r.peer_lines
    r.trunk.restart((0, 12), r.now())
    assert r.run(lambda: r.saw("RESTART 12"), 5), r.peer_lines
    assert r.run(lambda: not r.stack.q931.restarting, 5)


def test_t303_expiry_and_retry_against_a_silent_libpri_user(rig):
    r = rig("network", config={"timers": {"q931": {"T303": 2.0}}})
    c = r.trunk.make_call("6001", "5000", r.now())          # libpri (user side) rings and says nothing
    assert r.run(lambda: r.stack.q931.counters["t303_repeat"] == 1, 5)
    assert r.run(lambda: of(r, Released), 5)
    assert of(r, Released)[0].cause == 102 and r.trunk.call(c) is None
    assert r.stack.q931.counters["setup_tx"] == 2


def test_overlap_dialling_both_ways(rig):
    r = rig("user", overlap=True, config={"overlap_receiving": True, "number_length": 7})
    q = r.stack.q931
    call = q.setup("55", r.now(), "8000", overlap=True)
    ch = call.channel
    assert r.run(lambda: r.saw(f"RING {ch} 55 8000 0 0"), 5), r.peer_lines
    r.send(f"more {ch}")
    assert r.run(lambda: call.state.value == 2, 5)           # U2 overlap sending
    q.information(call, "512", r.now())
    q.information(call, "34", r.now(), complete=True)
    assert r.run(lambda: sum(ln.startswith("INFO") for ln in r.peer_lines) >= 2, 5), r.peer_lines
    got = "".join(ln.split()[2] for ln in r.peer_lines if ln.startswith("INFO"))
    assert got == "51234"
    r.send(f"hangup {ch} 16")
    assert r.run(lambda: call.state.value == 0, 5)
    r.send("call 3 66 - 0 overlap")                           # libpri dials digit by digit
    assert r.run(lambda: r.saw("SETUP_ACK 3"), 5), r.peer_lines
    r.send("info 3 60001")
    assert r.run(lambda: of(r, IncomingCall), 5), r.peer_lines
    assert of(r, IncomingCall)[0].called == "6660001"
    assert r.run(lambda: r.saw("PROCEEDING 3"), 5)


def test_dropped_i_frame_recovered(rig):
    state = {"dropped": 0}

    def drop(frame):
        try:
            f = lapd_decode(frame, False)
        except Exception:
            return False
        if f.kind is Kind.I and f.info[4:5] == b"\x05" and not state["dropped"]:
            state["dropped"] = 1
            return True                                     # lose our first SETUP on the line
        return False
    r = rig("user", drop=drop)
    c1 = r.trunk.make_call("1001", None, r.now())
    r.step()
    c2 = r.trunk.make_call("1002", None, r.now())           # its N(S) shows libpri the gap: REJ
    assert r.run(lambda: r.saw(f"RING {c1[1]} ") and r.saw(f"RING {c2[1]} "), 5), r.peer_lines
    link = r.stack.link
    assert state["dropped"] == 1 and link.counters["retransmitted"] >= 1 and r.trunk.up
