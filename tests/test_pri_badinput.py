"""Bad input over a live PRI: hypothesis throws mutated Q.931 messages (in good I frames) and
garbage frames at a user and a network side mid-call; each answer is one Q.931 5.8 allows,
nothing raises, the data link stays established and the next call still works."""
from __future__ import annotations

import pytest

from hypothesis import HealthCheck, given, settings, strategies as st

from cti.signaling.pri import ie as IE
from cti.signaling.pri.message import MT, Message, MessageError, decode, encode
from cti.signaling.pri.pair import Pair

#: what a side may send in answer to a bad message (5.8): STATUS, RELEASE COMPLETE, RELEASE,
#: and the ordinary progress of a call the mutation happened to leave valid
ALLOWED_CAUSES = {16, 28, 30, 34, 41, 44, 81, 82, 96, 97, 98, 99, 100, 101, 102}

seed_messages = [
    Message(MT.SETUP, 0x55, False, [IE.BearerCapability(), IE.ChannelId((5,)), IE.CalledNumber("1234"),
                                     IE.CallingNumber("5678", 2, 1, 0, 0), IE.SendingComplete()]),
    Message(MT.CONNECT, 1, True, [IE.ChannelId((1,))]),
    Message(MT.DISCONNECT, 1, True, [IE.Cause(16, 2)]),
    Message(MT.RELEASE, 1, True, [IE.Cause(16)]),
    Message(MT.STATUS, 1, True, [IE.Cause(30), IE.CallState(10)]),
    Message(MT.RESTART, 0, False, [IE.RestartIndicator(0), IE.ChannelId((3,))]),
    Message(MT.ALERTING, 1, True, [IE.Progress(8, 2)]),
    Message(MT.INFORMATION, 1, True, [IE.CalledNumber("9")]),
]


def live_pair():
    pr = Pair()
    pr.run(0.2)
    call = pr.user.q931.setup("100", pr.now, "200", channel=1)
    pr.step()
    inc = pr.network.q931.by_channel[1]
    pr.network.q931.answer(inc, pr.now)
    pr.step()
    assert call.state == 10
    return pr


def answers(pr, side):
    out = []
    getattr(pr, side).q931.tap = out.append          # what layer 3 hands to the data link
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(seed_messages), st.lists(st.tuples(st.integers(0, 60), st.integers(0, 255)), max_size=4),
       st.integers(0, 80), st.sampled_from(["user", "network"]), st.binary(max_size=12))
@pytest.mark.system
def test_mutated_messages_answered_per_5_8(seed, flips, cut, target, garbage):
    pr = live_pair()
    sender = pr.network if target == "user" else pr.user
    said = answers(pr, target)
    raw = bytearray(encode(seed))
    for i, v in flips:
        if i < len(raw):
            raw[i] = v
    raw = bytes(raw[:max(cut, 2)])
    sender.link.send(raw, pr.now)
    if garbage:
        getattr(pr, target).receive(garbage, pr.now)        # a frame no LAPD decoder accepts
    pr.run(0.5, dt=0.1)
    for data in said:
        m = decode(data)
        c = m.get(IE.Cause)
        assert c is None or c.value in ALLOWED_CAUSES, (m, c)
    pr.run(3.0, dt=0.5)                                      # re-established if the garbage asked
    assert pr.user.up and pr.network.up
    # the interface still carries calls (on a channel the mutation left free: a flipped octet may
    # make a valid SETUP for another B channel, such as TS20, whose call is then present)
    ch = next(c for c in pr.user.q931.free_channels() if c not in pr.network.q931.by_channel)
    nxt = pr.user.q931.setup("300", pr.now, channel=ch)
    pr.step()
    assert nxt.state in (1, 3) and pr.network.q931.by_channel.get(ch) is not None


def test_mutated_flood_counts_and_no_exception():
    pr = live_pair()
    said = answers(pr, "user")
    import random
    rnd = random.Random(7)
    for _ in range(300):
        raw = bytearray(encode(rnd.choice(seed_messages)))
        for _ in range(rnd.randint(1, 3)):
            raw[rnd.randrange(len(raw))] = rnd.randrange(256)
        pr.network.link.send(bytes(raw), pr.now)
        pr.step(0.01)
    pr.run(2.0)
    assert pr.user.up and pr.network.up and pr.user.link.counters["established"] == 1
    kinds = set()
    for d in said:
        try:
            kinds.add(decode(d).mtype)
        except MessageError:
            raise AssertionError(d) from None
    assert MT.STATUS in kinds and MT.RELEASE_COMPLETE in kinds


ops = st.lists(st.tuples(st.sampled_from(["setup", "alert", "answer", "release", "proceeding", "progress",
                                          "enquiry", "restart", "time", "fault", "deaf", "hear"]),
                         st.sampled_from(["user", "network"]), st.integers(0, 5), st.floats(0.0, 40.0)),
               max_size=30)


@pytest.mark.system
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_any_sequence_of_requests_timers_and_faults(seq):
    """Requests in any order (refused with LocalProtocolError where the state forbids them),
    timers running out in every state, line faults and a deaf layer 3: no other exception,
    and a RESTART of the interface leaves both sides without calls, the link up."""
    from cti.signaling.errors import LocalProtocolError
    pr = Pair()
    pr.run(0.2)
    made = []
    deaf = {}
    for op, side, k, t in seq:
        st_ = getattr(pr, side)
        q = st_.q931
        calls = list(q.calls.values())
        call = calls[k % len(calls)] if calls else None
        try:
            if op == "setup":
                made.append(q.setup(str(1000 + k), pr.now, "5", overlap=bool(k & 1)))
            elif op == "restart":
                q.restart_channels(None if k == 0 else (k,), pr.now)
            elif op == "time":
                pr.run(t, dt=1.0)
            elif op == "fault":
                st_.line_fault(pr.now, "LOS")
            elif op == "deaf":
                deaf[side] = st_.link.deliver         # layer 3 hears nothing the link delivers
                st_.link.deliver = lambda data, now: None
            elif op == "hear":
                if side in deaf:
                    st_.link.deliver = deaf.pop(side)
            elif op == "release" and call is not None:
                q.release(call, 16, pr.now)
            elif call is not None:
                getattr(q, {"enquiry": "status_enquiry"}.get(op, op))(call, pr.now)
        except LocalProtocolError:
            pass
        pr.step(0.1)
    for side, fn in deaf.items():
        getattr(pr, side).link.deliver = fn
    pr.run(5.0, dt=0.5)
    pr.network.q931.restart_channels(None, pr.now)
    pr.user.q931.restart_channels(None, pr.now)
    pr.run(10.0, dt=0.5)
    assert pr.user.up and pr.network.up
    assert not pr.user.q931.calls and not pr.network.q931.calls
    assert not pr.user.q931.by_channel and not pr.network.q931.by_channel
