"""Q.931 call control, user and network side back to back (cti.signaling.pri.pair): calls
both ways with numbers and presentation, overlap sending/receiving, timers T302/T303/T305/
T308/T309/T310/T313/T322, RESTART of a channel and of the interface, glare on a B channel,
STATUS handling, and mutated messages answered per Q.931 5.8 with the link kept up."""
from __future__ import annotations

import pytest

from cti.signaling.engine import check_tables
from cti.signaling.pri import ie as IE
from cti.signaling.pri.calltable import NETWORK_TABLE, USER_TABLE
from cti.signaling.pri.states import N, U
from cti.signaling.pri.message import MT, Message, decode, encode
from cti.signaling.pri.pair import Pair
from cti.signaling.pri.q931 import Q931
from cti.signaling.pri.restart import RESTART_TABLE
from cti.signaling.pri.stack import PriStack
from cti.signaling.pri.variants import VARIANTS, variants_markdown
from cti.signaling.stack import conformance


@pytest.fixture
def p():
    pr = Pair()
    pr.run(0.2)
    assert pr.user.up and pr.network.up
    return pr


def sent(pr, side):
    """Q.931 messages a side sent so far (watched on the link)."""
    return pr.__dict__.setdefault(f"msgs_{side}", [])


def watch(pr):
    for side in ("user", "network"):
        st = getattr(pr, side)

        def spy(data, _s=side):        # each message layer 3 hands to the data link
            if data[:1] == b"\x08":
                sent(pr, _s).append(decode(data))
        st.q931.tap = spy


def test_tables_whole_and_shape():
    assert check_tables([USER_TABLE, NETWORK_TABLE, RESTART_TABLE]) == {}
    assert conformance(PriStack) == [] and conformance(Q931) == []
    assert {s.value for s in USER_TABLE.states()} >= {0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 19, 25}
    assert {s.value for s in NETWORK_TABLE.states()} >= {0, 1, 2, 3, 4, 6, 7, 9, 10, 12, 19, 25}
    assert "etsi" in VARIANTS and "| etsi |" in variants_markdown()


def test_call_user_to_network_en_bloc_with_presentation(p):
    watch(p)
    c = p.user.q931.setup("88001234", p.now, IE.CallingNumber("13800138000", IE.Ton.NATIONAL, 1,
                                                              IE.Presentation.RESTRICTED, 0), channel=5)
    p.step()
    inc = p.last("network", "setup").call
    assert inc.called == "88001234" and inc.channel == 5
    assert (inc.calling.digits, inc.calling.ton, inc.calling.presentation) == ("13800138000", 2, 1)
    assert sent(p, "user")[0].get(IE.SendingComplete) is not None     # ETSI en-bloc
    p.network.q931.proceeding(inc, p.now)
    p.network.q931.alert(inc, p.now, inband=True)
    p.step()
    assert c.state is U.U4_CALL_DELIVERED and p.last("user", "alerting").progress == 8 and c.inband
    p.network.q931.answer(inc, p.now)
    p.step()
    assert c.state is U.U10_ACTIVE and inc.state is N.N10_ACTIVE
    assert [m.mtype for m in sent(p, "user")][-1] == MT.CONNECT_ACKNOWLEDGE
    p.network.q931.release(inc, 16, p.now)          # cleared by the network
    p.step()
    assert c.state == 0 and inc.state == 0 and not p.user.q931.calls and not p.network.q931.calls
    rel = p.last("user", "released")
    assert rel.cause == 16 and rel.remote
    assert [m.mtype for m in sent(p, "network")][-2:] == [MT.DISCONNECT, MT.RELEASE_COMPLETE]


def test_call_network_to_user_cleared_by_user_t313(p):
    c = p.network.q931.setup("6001", p.now, "02088886666")
    p.step()
    inc = p.last("user", "setup").call
    assert inc.state is U.U6_CALL_PRESENT and inc.channel == 31     # the network hunts from the top
    p.user.q931.alert(inc, p.now)
    p.user.q931.answer(inc, p.now)
    assert inc.state is U.U8_CONNECT_REQUEST and inc.m.is_running("T313")
    p.step()
    assert inc.state is U.U10_ACTIVE and "connected" in p.kinds("user") and c.state is N.N10_ACTIVE
    p.user.q931.release(inc, 16, p.now)
    p.step()
    assert p.last("network", "released").cause == 16 and not p.network.q931.calls


def test_reject_busy_and_no_channel(p):
    c = p.user.q931.setup("1", p.now)
    p.step()
    p.network.q931.release(p.last("network", "setup").call, 17, p.now)
    p.step()
    assert p.last("user", "released").cause == 17 and c.state == 0
    assert not p.user.q931.calls and not p.network.q931.calls and not p.network.q931.by_channel
    for ch in p.network.q931.channels:            # every channel busy on the network side
        p.network.q931.by_channel[ch] = c
    p.user.q931.setup("2", p.now, channel=7, exclusive=False)
    p.step()
    assert p.last("user", "released").cause == 34


def test_overlap_sending_and_receiving():
    pr = Pair(network=PriStack(True, overlap_receiving=True, number_length=8))
    pr.run(0.2)
    c = pr.user.q931.setup("88", pr.now, "5000", overlap=True)
    pr.step()
    inc = pr.last("network", "overlap").call
    pr.network.q931.more_info(inc, pr.now)
    pr.step()
    assert c.state is U.U2_OVERLAP_SENDING and inc.state is N.N2_OVERLAP_SENDING
    pr.user.q931.information(c, "0012", pr.now)
    pr.step()
    assert inc.called == "880012" and inc.state is N.N2_OVERLAP_SENDING
    pr.user.q931.information(c, "34", pr.now)         # 8 digits: complete
    pr.step()
    assert inc.state is N.N3_OUTGOING_CALL_PROCEEDING and pr.last("network", "setup").digits == "88001234"
    assert c.state is U.U3_OUTGOING_CALL_PROCEEDING
    # T302: digits stop coming; the number is taken as complete
    c2 = pr.user.q931.setup("77", pr.now, overlap=True)
    pr.step()
    inc2 = pr.last("network", "overlap").call
    pr.network.q931.more_info(inc2, pr.now)
    pr.run(16.0, dt=0.5)
    assert inc2.state is N.N3_OUTGOING_CALL_PROCEEDING and c2.state is U.U3_OUTGOING_CALL_PROCEEDING


def test_t303_repeat_then_cause_102_and_t310(p):
    orig = p.network.link.deliver
    p.network.link.deliver = lambda data, now: None    # layer 3 of the network is deaf
    c = p.user.q931.setup("5", p.now)
    p.run(4.5, dt=0.5)
    assert p.user.q931.counters["setup_tx"] == 2 and c.state is U.U1_CALL_INITIATED
    p.run(4.5, dt=0.5)
    assert c.state == 0 and p.last("user", "released").cause == 102
    p.network.link.deliver = orig
    c = p.user.q931.setup("6", p.now)
    p.step()
    p.network.q931.proceeding(p.last("network", "setup").call, p.now)
    p.step()
    assert c.state is U.U3_OUTGOING_CALL_PROCEEDING
    p.run(31.0, dt=1.0)                               # T310 (30 s): DISCONNECT cause 102
    assert p.last("user", "released").cause == 102 and c.state == 0


def test_t305_t308_when_the_peer_stops_answering(p):
    c = p.user.q931.setup("5", p.now)
    p.step()
    inc = p.last("network", "setup").call
    p.network.q931.answer(inc, p.now)
    p.step()
    watch(p)
    orig = p.network.link.deliver
    p.network.link.deliver = lambda data, now: None    # layer 3 of the network is deaf
    p.user.q931.release(c, 16, p.now)
    p.run(30.5, dt=0.5)
    assert c.state is U.U19_RELEASE_REQUEST              # T305 -> RELEASE, T308 running
    p.run(8.5, dt=0.5)
    assert c.state == 0 and [m.mtype for m in sent(p, "user")].count(MT.RELEASE) == 2
    assert c.channel in p.user.q931.maintenance           # 5.3.4.3: until restarted
    p.network.link.deliver = orig
    p.user.q931.restart_channels((c.channel,), p.now)
    p.step()
    assert c.channel not in p.user.q931.maintenance and "restart_ack" in p.kinds("user")


def test_restart_interface_and_channel_from_the_network(p):
    calls = [p.user.q931.setup(str(i), p.now) for i in range(3)]
    p.step()
    ch = calls[0].channel
    p.network.q931.restart_channels((ch,), p.now)
    p.step()
    assert calls[0].state == 0 and calls[1].state != 0
    assert p.last("user", "restart").channels == (ch,) and "restart_ack" in p.kinds("network")
    p.network.q931.restart_channels(None, p.now)
    p.step()
    assert all(c.state == 0 for c in calls) and not p.user.q931.calls and not p.network.q931.calls
    assert p.last("user", "restart").channels == ()


def test_glare_on_a_b_channel(p):
    ours = p.user.q931.setup("1", p.now, channel=9, exclusive=True)
    theirs = p.network.q931.setup("2", p.now, channel=9, exclusive=True)
    p.step()
    inc = p.last("user", "setup").call                # the network's call keeps TS9
    assert inc.channel == 9 and ours.glare
    assert ours.state == 0 and p.last("user", "released").cause == 44
    assert theirs.channel == 9
    ours2 = p.user.q931.setup("3", p.now, channel=10, exclusive=False)
    p.network.q931.setup("4", p.now, channel=10)
    p.step()
    assert ours2.state == 0 and ours2.glare                 # withdrawn (44), to be placed again above
    assert p.user.q931.counters["glare"] == 2


def test_status_enquiry_and_incompatible_status(p):
    c = p.user.q931.setup("5", p.now)
    p.step()
    inc = p.last("network", "setup").call
    p.network.q931.answer(inc, p.now)
    p.step()
    p.user.q931.status_enquiry(c, p.now)
    p.step()
    assert p.last("user", "status").cause == 30 and c.state is U.U10_ACTIVE
    # the network claims state 4 while we are active: compatible (4 -> 10 by CONNECT)
    p.network.q931.send_status(inc.cref, True, 30, 19)       # 19 is incompatible with 10
    p.step()
    assert p.last("user", "released").cause == 101 and c.state == 0


def _inject(pr, side, raw):
    pr.network.link.send(raw, pr.now) if side == "network" else pr.user.link.send(raw, pr.now)
    pr.step()


def test_mutated_messages_answered_per_5_8_link_stays_up(p):
    watch(p)
    p.network.link.deliver = lambda data, now: None    # only the user side's answers matter
    # SETUP without bearer capability: RELEASE COMPLETE 96
    _inject(p, "network", encode(Message(MT.SETUP, 77, False, [IE.ChannelId((3,))])))
    assert sent(p, "user")[-1].mtype == MT.RELEASE_COMPLETE and sent(p, "user")[-1].get(IE.Cause).value == 96
    # SETUP whose channel identification names TS16: RELEASE COMPLETE 100
    raw = encode(Message(MT.SETUP, 78, False, [IE.BearerCapability()])) + bytes.fromhex("1803a98390")
    _inject(p, "network", raw)
    assert sent(p, "user")[-1].get(IE.Cause).value == 100
    # SETUP with an unknown optional element: accepted, STATUS 99
    raw = encode(Message(MT.SETUP, 79, False, [IE.BearerCapability(), IE.ChannelId((4,))])) + b"\x5f\x01\x00"
    _inject(p, "network", raw)
    assert [m.mtype for m in sent(p, "user")[-1:]] == [MT.STATUS] and sent(p, "user")[-1].get(IE.Cause).value == 99
    assert p.last("user", "setup").call.channel == 4
    # STATUS naming a call we do not have: RELEASE COMPLETE 101
    _inject(p, "network", encode(Message(MT.STATUS, 90, False, [IE.Cause(30), IE.CallState(10)])))
    assert sent(p, "user")[-1].mtype == MT.RELEASE_COMPLETE and sent(p, "user")[-1].get(IE.Cause).value == 101
    # an unknown message type on a call: STATUS 97; a message out of state: STATUS 98
    call = p.last("user", "setup").call
    _inject(p, "network", encode(Message(0x33, call.cref, False, [])))
    assert sent(p, "user")[-1].get(IE.Cause).value == 97
    _inject(p, "network", encode(Message(MT.CONNECT_ACKNOWLEDGE, call.cref, False, [])))
    assert sent(p, "user")[-1].get(IE.Cause).value == 98
    # garbage, a wrong protocol discriminator and a RELEASE for nobody
    _inject(p, "network", b"\x41\x02\x00")
    _inject(p, "network", encode(Message(MT.RELEASE, 91, True, [IE.Cause(16)])))
    assert sent(p, "user")[-1].get(IE.Cause).value == 81
    # DISCONNECT without a cause: RELEASE with cause 96
    _inject(p, "network", encode(Message(MT.DISCONNECT, call.cref, False, [])))
    assert sent(p, "user")[-1].mtype == MT.RELEASE and sent(p, "user")[-1].get(IE.Cause).value == 96
    assert p.user.up and p.network.up and p.user.link.counters["established"] == 1


def test_data_link_failure_t309_keeps_active_calls(p):
    active = p.user.q931.setup("1", p.now)
    ringing = p.user.q931.setup("2", p.now)
    p.step()
    p.network.q931.answer(p.network.q931.by_channel[active.channel], p.now)
    p.step()
    p.user.line_fault(p.now, "LOS")
    p.network.line_fault(p.now, "LOS")
    p.step()
    assert active.state is U.U10_ACTIVE and active.m.is_running("T309") and ringing.state == 0
    p.run(3.0, dt=0.5)                                # the link comes back: STATUS ENQUIRY
    assert p.user.up and not active.m.is_running("T309") and active.state is U.U10_ACTIVE
    p.drop = lambda a, f: True
    p.user.line_fault(p.now, "D-channel lost")
    p.run(91.0, dt=1.0)
    assert active.state == 0 and any(e.kind == "released" and e.cause == 27 for e in p.events["user"])


def test_variants_change_behaviour_as_their_table_says():
    pr = Pair(user=PriStack(False, variant="q931"), network=PriStack(True, variant="q931"))
    pr.run(0.2)
    watch(pr)
    c = pr.user.q931.setup("1", pr.now)
    pr.step()
    assert sent(pr, "user")[0].get(IE.SendingComplete) is None            # Q.931: optional, not sent
    pr.network.q931.answer(pr.last("network", "setup").call, pr.now)
    pr.step()
    assert c.state is U.U10_ACTIVE and MT.CONNECT_ACKNOWLEDGE not in [m.mtype for m in sent(pr, "user")]
    ni2 = PriStack(False, variant="ni2")
    assert ni2.q931.new_machine(c).values["T310"] == 10.0
    with pytest.raises(ValueError, match="variant"):
        PriStack(False, variant="dms250")


def test_display_hlc_and_keypad_reach_the_other_side(p):
    c = p.network.q931.setup("6001", p.now, IE.CallingNumber("5000", 4, 1, 1, 3), display="张三 Zhang San", hlc=1)
    p.step()
    inc = p.last("user", "setup").call
    assert inc.display == "张三 Zhang San" and inc.calling.presentation == 1 and inc.calling.screening == 3
    p.user.q931.answer(inc, p.now)
    p.step()
    p.network.q931.send_message(Message(MT.INFORMATION, c.cref, False, [IE.Keypad("12#")]))
    p.step()
    assert p.last("user", "information").digits == "12#"


def test_t322_status_enquiry_repeated_then_call_cleared(p):
    c = p.user.q931.setup("5", p.now)
    p.step()
    p.network.q931.answer(p.last("network", "setup").call, p.now)
    p.step()
    p.network.link.deliver = lambda data, now: None
    p.user.q931.status_enquiry(c, p.now)
    p.run(4.5, dt=0.5)
    assert c.enquiries == 2 and c.state is U.U10_ACTIVE
    p.run(4.5, dt=0.5)
    assert c.state is U.U19_RELEASE_REQUEST and p.last("user", "released").cause == 41


def test_a_freed_call_record_is_reused_only_once_nothing_holds_it():
    p = Pair()
    p.run(0.1)
    q = p.user.q931

    def cycle(called):
        c = q.setup(called, p.now, channel=3)
        p.step()
        p.network.q931.answer(p.network.q931.by_channel[3], p.now)
        p.step()
        q.release(c, 16, p.now)
        p.step()
        assert c.state == 0
        return c

    held = cycle("1")
    assert len(q._pool) == 1
    c2 = q.setup("2", p.now, channel=3)               # the freed record is held (here, and by events)
    assert c2 is not held and held.cref == 1 and held.called == "1" and held.state == 0
    assert len(q._pool) == 1
    p.step()
    q.release(c2, 16, p.now)
    p.step()
    del held, c2
    p.events = {"user": [], "network": []}            # the layer above lets go of the calls' events
    assert len(q._pool) == 2
    c3 = q.setup("3", p.now, channel=5)               # a record nothing holds: reset and taken again
    assert len(q._pool) == 1
    assert (c3.cref, c3.called, c3.channel, c3.reported, c3.state) == (3, "3", 5, False, U.U1_CALL_INITIATED)
    p.step()
    p.network.q931.answer(p.network.q931.by_channel[5], p.now)
    p.step()
    assert c3.state is U.U10_ACTIVE and c3.m.ctx is c3
    p.user.q931.release(c3, 16, p.now)
    p.step()
    assert c3.state == 0 and p.last("user", "released").call is c3
