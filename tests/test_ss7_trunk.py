"""Ss7Trunk back to back over a SOCK_SEQPACKET socketpair (frame + FCS per datagram):
alignment, group reset, calls both ways, blocking, config validation, pcap that tshark decodes."""
from __future__ import annotations

import shutil
import socket
import subprocess

import pytest

from cti.signaling.ss7.config import Ss7Config
from cti.signaling.ss7.trunk import Ss7Trunk
from cti.signaling.trunk import Alerting, Answered, CircuitState, IncomingCall, Proceeding, Released, TrunkError


def make(variant="itu", pcap=None, **kw):
    sa, sb = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pc = ("1-1-1", "1-1-2") if variant == "itu" else ("10-20-30", "10-20-31")
    ca = Ss7Config.from_dict({"variant": variant, "opc": pc[0], "dpc": pc[1], **kw})
    cb = Ss7Config.from_dict({"variant": variant, "opc": pc[1], "dpc": pc[0], **kw})
    if pcap:
        ca.pcap = str(pcap)          # the pcap setting records socket links as it does board links
    a = Ss7Trunk([], ca, sockets=[sa])
    b = Ss7Trunk([], cb, sockets=[sb])
    return a, b, a.pcap


def run(a, b, t, seconds, step=0.01):
    ea, eb = [], []
    end = t + seconds
    while t < end:
        ea += a.service(t)
        eb += b.service(t)
        t = round(t + step, 6)
    return t, ea, eb


def test_config_from_dict_and_errors():
    c = Ss7Config.from_dict({"variant": "china", "opc": "1-2-3", "dpc": 0x010204, "timers": {"isup": {"T7": 21}}})
    assert c.opc == 0x010203 and c.variant.value == "china"
    assert len(c.circuits(2)) == 60 and 16 not in [ts for _, ts in c.circuits(1).values()]
    for bad in ({"variant": "ansi"}, {"opc": 1, "dpc": 1}, {"opc": 2 ** 14}, {"timers": {"isup": {"T7": 99}}},
                {"cic_map": {"1": [0, 16]}}, {"bogus": 1}, {"links": [{"span": 0, "ts": 1}]}):
        with pytest.raises(ValueError):
            Ss7Config.from_dict(bad)


@pytest.mark.system
@pytest.mark.parametrize("variant", ["itu", "china"])
def test_calls_both_ways_over_socketpair(variant, tmp_path):
    a, b, w = make(variant, tmp_path / "t.pcap")
    t, ea, eb = run(a, b, 0.0, 2.0)
    assert a.stack.up and b.stack.up
    avail = [e for e in ea if isinstance(e, CircuitState) and e.available]
    assert len(avail) == 30                       # every circuit after GRS/GRA
    c = a.make_call("5551234", "88001", t)
    t, ea, eb = run(a, b, t, 0.1)
    assert isinstance(ea[0], Proceeding) and ea[0].circuit == c
    inc = [e for e in eb if isinstance(e, IncomingCall)]
    assert inc and inc[0].called == "5551234" and inc[0].calling == "88001" and inc[0].circuit == c
    b.alert(c, t)
    t, ea, eb = run(a, b, t, 0.1)
    assert [type(e) for e in ea] == [Alerting]
    b.answer(c, t)
    t, ea, eb = run(a, b, t, 0.1)
    assert [type(e) for e in ea] == [Answered]
    b.release(c, 16, t)
    t, ea, eb = run(a, b, t, 0.1)
    assert isinstance(ea[0], Released) and ea[0].cause == 16 and ea[0].remote
    assert isinstance(eb[0], Released) and not eb[0].remote
    # the other way, rejected busy
    c2 = b.make_call("777", None, t)
    t, ea, eb = run(a, b, t, 0.1)
    a.release(c2, 17, t)
    t, ea, eb = run(a, b, t, 0.1)
    assert [(type(e), e.cause) for e in eb if isinstance(e, Released)] == [(Released, 17)]
    # blocking from b makes the circuit unavailable at a
    b.block(c2, t)
    t, ea, eb = run(a, b, t, 0.1)
    assert any(isinstance(e, CircuitState) and not e.available and e.circuit == c2 for e in ea)
    with pytest.raises(TrunkError):
        a.make_call("1", None, t, circuit=c2)
    w.close()
    if shutil.which("tshark"):
        std = "ITU" if variant == "itu" else "Chinese ITU"
        out = subprocess.run(["tshark", "-r", str(tmp_path / "t.pcap"), "-o", f"mtp3.standard:{std}"],
                             capture_output=True, text=True, timeout=60).stdout
        for name in ("GRS", "GRA", "IAM", "ACM", "ANM", "REL", "RLC", "BLO", "BLA"):
            assert f" {name} " in out, name
        mal = subprocess.run(["tshark", "-r", str(tmp_path / "t.pcap"), "-o", f"mtp3.standard:{std}",
                              "-Y", "_ws.malformed || _ws.expert.severity >= warning"],
                             capture_output=True, text=True, timeout=60).stdout
        assert mal.strip() == ""


def test_make_call_errors():
    a, b, _ = make()
    # before: the IAM waited in MTP3 until link-up, where the start-up GRS cleared it (cause 41)
    with pytest.raises(TrunkError) as err:
        a.make_call("123", None, 0.0)
    assert err.value.cause == 41 and "link is not in service" in str(err.value)
    with pytest.raises(TrunkError) as err:
        a.make_call("123", None, 0.0, circuit=a.circuits()[3])
    assert err.value.cause == 41
    t, ea, eb = run(a, b, 0.0, 2.0)
    assert not [e for e in ea if isinstance(e, (Proceeding, Released))]
    assert not any(isinstance(e, IncomingCall) for e in eb)
    c = a.make_call("123", None, t)                # ready now: the call goes through
    t, ea, eb = run(a, b, t, 0.1)
    assert any(isinstance(e, IncomingCall) and e.circuit == c for e in eb)
    with pytest.raises(TrunkError):
        a.make_call("12x", None, 2.0)
    with pytest.raises(TrunkError):
        a.answer((0, 1), 2.0)                      # no call there
    with pytest.raises(TrunkError):
        a.release((5, 1), 16, 2.0)                 # not our circuit


def test_make_call_before_link_up_waits_with_ready_wait():
    a, b, _ = make(ready_wait=5.0)
    c = a.make_call("123", None, 0.0, circuit=(0, 7))   # held: placed once the link is up and reset
    assert c == (0, 7) and not a.stack.isup.counters["tx"]
    t, ea, eb = run(a, b, 0.0, 2.0)
    assert [e.circuit for e in ea if isinstance(e, Proceeding)] == [c]
    assert not any(isinstance(e, Released) for e in ea)
    assert [e.circuit for e in eb if isinstance(e, IncomingCall)] == [c]


def test_make_call_before_link_up_fails_with_cause_41_when_the_link_never_comes():
    sa, _sb = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    a = Ss7Trunk([], Ss7Config.from_dict({"opc": 1, "dpc": 2, "ready_wait": 0.5}), sockets=[sa])
    c = a.make_call("123", None, 0.0)
    ev = []
    t = 0.0
    while t < 1.0:
        ev += a.service(t)
        t = round(t + 0.01, 6)
    rel = [e for e in ev if isinstance(e, Released)]
    assert [(e.circuit, e.cause) for e in rel] == [(c, 41)] and "not in service" in rel[0].reason


def test_malformed_isup_over_the_link_is_answered_and_link_stays_up(tmp_path):
    from cti.signaling.ss7.mtp3 import SI
    a, b, w = make("itu", tmp_path / "bad.pcap")
    t, _, _ = run(a, b, 0.0, 2.0)
    seen = []
    orig = a.stack.isup.receive
    a.stack.bind_isup(lambda data, now: (seen.append(data), orig(data, now)))
    b.stack.linkset.send(SI.ISUP, bytes([1, 0, 0x77, 1, 2]), 1, t)      # unknown message type
    b.stack.linkset.send(SI.ISUP, bytes([2, 0, 0x01, 0xFF]), 2, t)      # truncated IAM
    b.stack.linkset.send(SI.ISUP, bytes([3]), 3, t)                     # shorter than a header
    t, ea, eb = run(a, b, t, 0.3)
    assert len(seen) == 3
    assert a.stack.isup.counters["cfn_sent"] == 1 and a.stack.isup.counters["discarded"] == 2
    assert a.stack.up and b.stack.up and a.stack.links[0].in_service
    c = b.make_call("1", None, t)                                       # and calls still work
    t, ea, eb = run(a, b, t, 0.2)
    assert any(isinstance(e, IncomingCall) and e.circuit == c for e in ea)
    w.close()


def test_incoming_call_leaves_isup_as_the_trunk_event():
    """The IAM becomes the trunk's IncomingCall inside ISUP call control: the trunk reads the
    very object the call model gets from ISUP's events (no IsupEvent converted on the way)."""
    a, b, _ = make()
    t, _, _ = run(a, b, 0.0, 2.0)
    from_stack = []
    events = b.stack.isup.events

    def watched():
        out = events()
        from_stack.extend(out)
        return out
    b.stack.isup.events = watched
    c = a.make_call("5551234", "88001", t)
    t, ea, eb = run(a, b, t, 0.1)
    inc = [e for e in eb if isinstance(e, IncomingCall)]
    assert len(inc) == 1 and inc[0].circuit == c and inc[0].called == "5551234" and inc[0].signalling == "ss7"
    assert any(e is inc[0] for e in from_stack)
    assert not any(getattr(e, "kind", None) == "setup" for e in from_stack)
