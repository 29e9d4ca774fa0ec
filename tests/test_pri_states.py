"""Q.931 transient states and the timers of Tables 9-1 / 9-2 beyond the basic set: U12 / N11
(DISCONNECT received), N8 (CONNECT received by the network), T301 (no answer after ALERTING),
T304 (overlap sending), T306 (DISCONNECT with tones in band) and T305 beside it. Each row is
seen in a machine's trace; each timer is run to expiry with the clock passed in."""
from __future__ import annotations

from typing import Any

import pytest

from cti.signaling.pri import ie as IE
from cti.signaling.pri.calltable import NETWORK_TABLE, USER_TABLE
from cti.signaling.pri.message import MT, Message, decode, encode
from cti.signaling.pri.pair import Pair
from cti.signaling.pri.q931 import Q931
from cti.signaling.pri.stack import PriStack
from cti.signaling.pri.states import Ev, N, Req, U


def pair(user: dict[str, Any] | None = None, network: dict[str, Any] | None = None) -> Pair:
    pr = Pair(PriStack(False, name="user", trace=32, **(user or {})),
              PriStack(True, name="network", trace=32, **(network or {})))
    pr.run(0.2)
    assert pr.user.up and pr.network.up
    return pr


def steps(call: Any) -> list[tuple[Any, Any, Any]]:
    """(from, event, to) of a call's transitions."""
    return [(a, e, b) for _, a, e, b in call.m.trace]


def released(pr: Pair, side: str) -> Any:
    return pr.last(side, "released")


def test_tables_name_the_new_states_and_timers() -> None:
    assert {U.U12_DISCONNECT_INDICATION} <= set(USER_TABLE.states())
    assert {N.N8_CONNECT_REQUEST, N.N11_DISCONNECT_REQUEST} <= set(NETWORK_TABLE.states())
    assert {"T301", "T304"} <= set(USER_TABLE.timers) and "T306" not in USER_TABLE.timers
    assert {"T301", "T306"} <= set(NETWORK_TABLE.timers) and "T304" not in NETWORK_TABLE.timers
    for name in ("T301", "T304", "T306"):
        spec = (USER_TABLE.timers | NETWORK_TABLE.timers)[name]
        assert spec.clause.startswith("Q.931 Table 9-")


def test_disconnect_received_passes_u12_then_u19() -> None:
    pr = pair()
    c = pr.user.q931.setup("88001234", pr.now, "13800138000", channel=3)
    pr.step()
    inc = pr.last("network", "setup").call
    pr.network.q931.answer(inc, pr.now)
    pr.step()
    assert c.m.state is U.U10_ACTIVE
    pr.network.q931.release(inc, 17, pr.now)
    pr.step()
    assert (U.U10_ACTIVE, MT.DISCONNECT, U.U12_DISCONNECT_INDICATION) in steps(c)
    assert (U.U12_DISCONNECT_INDICATION, Req.RELEASE, U.U19_RELEASE_REQUEST) in steps(c)
    assert c.m.state is U.U0_NULL and released(pr, "user").cause == 17
    assert not pr.user.q931.calls and not pr.network.q931.calls


def test_disconnect_received_by_the_network_passes_n11_then_n19() -> None:
    pr = pair()
    c = pr.user.q931.setup("88001234", pr.now, "13800138000", channel=4)
    pr.step()
    inc = pr.last("network", "setup").call
    pr.network.q931.alert(inc, pr.now)
    pr.step()
    pr.user.q931.release(c, 16, pr.now)
    pr.step()
    assert (N.N4_CALL_DELIVERED, MT.DISCONNECT, N.N11_DISCONNECT_REQUEST) in steps(inc)
    assert (N.N11_DISCONNECT_REQUEST, Req.RELEASE, N.N19_RELEASE_REQUEST) in steps(inc)
    assert inc.m.state is N.N0_NULL and released(pr, "network").cause == 16
    assert released(pr, "user").remote is False


def test_connect_received_by_the_network_passes_n8() -> None:
    pr = pair()
    out = pr.network.q931.setup("6001", pr.now, "88001234", channel=30)
    pr.step()
    inc = pr.last("user", "setup").call
    pr.user.q931.alert(inc, pr.now)
    pr.step()
    pr.user.q931.answer(inc, pr.now)
    pr.step()
    assert (N.N7_CALL_RECEIVED, MT.CONNECT, N.N8_CONNECT_REQUEST) in steps(out)
    assert (N.N8_CONNECT_REQUEST, Req.SETUP_COMPLETE, N.N10_ACTIVE) in steps(out)
    assert out.m.state is N.N10_ACTIVE and inc.m.state is U.U10_ACTIVE     # CONNECT ACK reached the user
    assert "answered" in pr.kinds("network") and "connected" in pr.kinds("user")


@pytest.mark.parametrize("caller", ["user", "network"])
def test_t301_no_answer_after_alerting_clears_with_cause_19(caller: str) -> None:
    pr = pair(user={"timers": {"T301": 200}}, network={"timers": {"T301": 200}})
    callee = "network" if caller == "user" else "user"
    a, b = getattr(pr, caller), getattr(pr, callee)
    c = a.q931.setup("88001234", pr.now, "13800138000", channel=7)
    pr.step()
    inc = pr.last(callee, "setup").call
    b.q931.alert(inc, pr.now)
    pr.step()
    assert c.m.is_running("T301") and c.m.running["T301"] == pytest.approx(pr.now + 200)
    pr.run(199)
    assert c.m.is_running("T301") and "released" not in pr.kinds(caller)
    pr.run(2)
    assert released(pr, caller).cause == 19 and released(pr, callee).cause == 19
    assert not a.q931.calls and not b.q931.calls


def test_t304_overlap_sending_restarted_by_information_then_cause_102() -> None:
    pr = pair(user={"timers": {"T304": 15}}, network={"overlap_receiving": True, "timers": {"T302": 30}})
    c = pr.user.q931.setup("88", pr.now, "13800138000", channel=2, overlap=True)
    pr.step()
    inc = pr.last("network", "overlap").call
    pr.network.q931.more_info(inc, pr.now)
    pr.step()
    assert c.m.state is U.U2_OVERLAP_SENDING and c.m.is_running("T304")
    pr.run(10)
    pr.user.q931.information(c, "00", pr.now)      # T304 restarted: 15 s from here
    pr.step()
    pr.run(12)
    assert c.m.state is U.U2_OVERLAP_SENDING
    pr.run(4)
    assert released(pr, "user").cause == 102
    assert (U.U2_OVERLAP_SENDING, Ev.T304, U.U11_DISCONNECT_REQUEST) in steps(c)
    pr.run(1)
    assert released(pr, "network").cause == 102 and not pr.network.q931.calls


def _offered(q: Q931, now: float) -> Any:
    """A SETUP from the user side handed to a network-side Q931 alone (sans-IO)."""
    q.receive(encode(Message(MT.SETUP, 9, False, [IE.BearerCapability(), IE.ChannelId((5,), True),
                                                  IE.CalledNumber("88001234"), IE.SendingComplete()])), now)
    return q.calls[9]               # (the call reference we did not allocate: no 0x8000)


@pytest.mark.parametrize("inband", [False, True])
def test_t305_or_t306_after_our_disconnect_then_release(inband: bool) -> None:
    q = Q931(network=True, timers={"T305": 20, "T306": 40})
    call = _offered(q, 0.0)
    q.alert(call, 1.0, inband=inband)
    q.data_to_send(1.0)
    q.release(call, 17, 2.0)
    disc = decode(q.data_to_send(2.0)[0])
    assert disc.mtype == MT.DISCONNECT and (disc.get(IE.Progress) is not None) == inband
    assert call.m.state is N.N12_DISCONNECT_INDICATION
    assert call.m.is_running("T306" if inband else "T305")
    assert not call.m.is_running("T305" if inband else "T306")
    q.handle_timer(23.0)
    assert (q.data_to_send(23.0) == []) == inband    # T305 (20 s) has expired, T306 (40 s) not
    q.handle_timer(43.0)
    sent = [decode(b) for b in q.data_to_send(43.0)]
    assert not inband or [m.mtype for m in sent] == [MT.RELEASE]
    assert call.m.state is N.N19_RELEASE_REQUEST and call.m.is_running("T308")
    assert not call.m.is_running("T305") and not call.m.is_running("T306")


def test_release_stops_the_disconnect_timers() -> None:
    q = Q931(network=True)
    call = _offered(q, 0.0)
    q.alert(call, 0.0, inband=True)
    q.release(call, 16, 1.0)
    assert call.m.is_running("T306")
    q.receive(encode(Message(MT.RELEASE, 9, False, [IE.Cause(16)])), 2.0)
    assert call.m.state is N.N0_NULL and not call.m.running and not q.calls
