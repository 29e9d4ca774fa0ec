"""MTP2 (Q.703): codec, alignment with normal/emergency proving, error correction, failures."""
from __future__ import annotations

import random

import pytest
from hypothesis import given, strategies as st

from cti.signaling.errors import ProtocolError
from cti.signaling.ss7.mtp2 import FISU, LSSU, MSU, LinkState, Mtp2Link, Status, decode, encode, fcs16
from cti.signaling.ss7.mtp2.codec import add_fcs, check_fcs
from cti.signaling.ss7.mtp2.link import CORE, link_class
from conftest import kernel_impls, load_impl


@pytest.fixture(params=kernel_impls(CORE))
def Link(request):
    """Mtp2Link on the compiled in-service core (id c) and on its pure-Python twin (id py)."""
    return link_class(load_impl(request.param))


def pump(a: Mtp2Link, b: Mtp2Link, t0: float, seconds: float, step: float = 0.01, drop=None):
    """Run two links back to back; ``drop(frame_from_a) -> bool`` loses frames a -> b."""
    t = t0
    while t < t0 + seconds:
        for f in a.data_to_send(t):
            if drop is None or not drop(f):
                b.receive(f, t)
        for f in b.data_to_send(t):
            a.receive(f, t)
        t = round(t + step, 6)
    return t


def test_fcs16_check_value():
    assert fcs16(b"123456789") == 0x906E
    assert check_fcs(add_fcs(b"\x7f\xff\x00")) == b"\x7f\xff\x00"
    with pytest.raises(ProtocolError):
        check_fcs(b"\x7f\xff\x00\x00\x00")


@given(st.integers(0, 127), st.integers(0, 1), st.integers(0, 127), st.integers(0, 1),
       st.integers(0, 255), st.binary(min_size=2, max_size=272), st.sampled_from(list(Status)))
def test_codec_round_trip(bsn, bib, fsn, fib, sio, sif, status):
    for su in (FISU(bsn, bib, fsn, fib), LSSU(bsn, bib, fsn, fib, status), MSU(bsn, bib, fsn, fib, sio, sif)):
        assert decode(encode(su)) == su


@given(st.binary(max_size=300))
def test_codec_garbage_raises_protocol_error_only(data):
    try:
        decode(data)
    except ProtocolError:
        pass


def test_li_63_for_long_msu():
    f = encode(MSU(sio=0x85, sif=bytes(100)))
    assert f[2] == 63 and decode(f).sif == bytes(100)
    with pytest.raises(ProtocolError):
        decode(b"\xff\xff\x05\x01")
    with pytest.raises(ValueError):
        encode(MSU(sio=1, sif=b"x"))


def _aligned(Link, emergency=False):
    a, b = Link(name="a", emergency=emergency), Link(name="b")
    a.start(0.0)
    b.start(0.0)
    return a, b


def test_normal_alignment_takes_proving_period(Link):
    a, b = _aligned(Link)
    t = pump(a, b, 0.0, 8.0)
    assert a.state is LinkState.INITIAL_ALIGNMENT
    pump(a, b, t, 1.0)
    assert a.state is b.state is LinkState.IN_SERVICE
    assert [e.kind for e in a.events()] == ["in_service"]


def test_emergency_alignment_is_short_for_both_sides(Link):
    a, b = _aligned(Link, emergency=True)
    pump(a, b, 0.0, 0.8)
    assert a.state is b.state is LinkState.IN_SERVICE


def test_t2_expires_without_far_end(Link):
    a = Link(auto_restart=None)
    a.start(0.0)
    assert a.data_to_send(0.0)[-1] == encode(LSSU(status=Status.SIO))
    a.handle_timer(11.6)
    assert a.state is LinkState.OUT_OF_SERVICE
    ev = a.events()
    assert ev[-1].kind == "out_of_service" and "T2" in ev[-1].reason
    assert decode(a.data_to_send(12.0)[-1]) == LSSU(status=Status.SIOS)


def test_proving_aborted_by_errors_then_alignment_fails_after_five_attempts(Link):
    a, b = Link(auto_restart=None), Link(auto_restart=None)
    a.start(0.0)
    b.start(0.0)
    t = pump(a, b, 0.0, 0.5)
    assert a.iac.state.value == "proving"
    for _ in range(5):
        for _ in range(4):
            a.su_error(t)
    assert a.counters["proving_aborts"] == 5
    assert a.state is LinkState.OUT_OF_SERVICE


def _in_service(Link):
    a, b = _aligned(Link, emergency=True)
    t = pump(a, b, 0.0, 1.0)
    a.events(), b.events()
    return a, b, t


def _msus(link):
    return [bytes(e.sif) for e in link.events() if e.kind == "msu"]


def test_msus_flow_both_ways_in_order(Link):
    a, b, t = _in_service(Link)
    for i in range(300):     # more than 127: sequence numbers wrap
        a.send(0x85, bytes([i % 256, 1, 2]), t)
        b.send(0x85, bytes([i % 256, 9, 9]), t)
        if i % 50 == 49:
            t = pump(a, b, t, 0.1)
    pump(a, b, t, 0.2)
    assert _msus(b) == [bytes([i % 256, 1, 2]) for i in range(300)]
    assert _msus(a) == [bytes([i % 256, 9, 9]) for i in range(300)]
    assert a.in_service and not a._rtb


def test_dropped_msu_is_retransmitted_after_nack(Link):
    a, b, t = _in_service(Link)
    for i in range(5):
        a.send(0x85, bytes([i, 0]), t)
    dropped = []

    def drop(f):
        su = decode(f)
        if isinstance(su, MSU) and su.sif[0] == 2 and not dropped:
            dropped.append(f)
            return True
        return False
    pump(a, b, t, 0.3, drop=drop)
    assert dropped and b.counters["nacks_sent"] == 1 and a.counters["retransmitted"] >= 1
    assert _msus(b) == [bytes([i, 0]) for i in range(5)]
    assert a.in_service


def test_dropped_last_msu_detected_from_fisu_fsn(Link):
    a, b, t = _in_service(Link)
    a.send(0x85, b"\x01\x02", t)
    pump(a, b, t, 0.3, drop=lambda f: isinstance(decode(f), MSU) and a.counters["retransmitted"] == 0)
    assert _msus(b) == [b"\x01\x02"]


def test_t7_fails_the_link_when_acks_never_come(Link):
    a, b, t = _in_service(Link)
    a.send(0x85, b"\x01\x02", t)
    a.data_to_send(t)            # sent, but b never gets anything again
    a.handle_timer(t + 1.1)
    assert a.state is LinkState.OUT_OF_SERVICE
    assert "T7" in a.events()[-1].reason
    msgs = a.retrieve()
    assert msgs == [(0x85, b"\x01\x02")]


def test_sios_from_far_end_fails_link_and_auto_restart_realigns(Link):
    a, b, t = _in_service(Link)
    b.stop(t)
    t = pump(a, b, t, 0.05)
    assert a.state is not LinkState.IN_SERVICE
    assert any(e.kind == "out_of_service" for e in a.events())
    b.start(t)
    pump(a, b, t, 3.0)
    assert a.in_service and b.in_service


def test_processor_outage_both_ways(Link):
    a, b, t = _in_service(Link)
    a.set_local_processor_outage(True, t)
    t = pump(a, b, t, 0.05)
    assert b.state is LinkState.PROCESSOR_OUTAGE
    assert [e.kind for e in b.events()] == ["remote_processor_outage"]
    a.set_local_processor_outage(False, t)
    pump(a, b, t, 0.05)
    assert b.state is LinkState.IN_SERVICE
    assert [e.kind for e in b.events()] == ["remote_processor_recovered"]


def test_suerm_fails_link_on_error_burst(Link):
    a, b, t = _in_service(Link)
    for _ in range(64):
        a.su_error(t)
    assert a.state is LinkState.OUT_OF_SERVICE
    assert "SUERM" in a.events()[-1].reason


def test_garbage_frames_never_raise(Link):
    a, b, t = _in_service(Link)
    rng = random.Random(7)
    for _ in range(200):
        a.receive(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 12))), t)
    assert a.counters["su_errors"] + a.counters["rx"] >= 200


# ---- fill-in on the card (card_fill): repeats the card filtered, applied by count ------------

class _Card:
    """An HDLC channel whose card filtered fill-ins: frames to read, and its repeat count."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.fill_repeats = 0

    def recv_all(self) -> list[bytes]:
        out, self.frames = self.frames, []
        return out


def test_card_fill_sends_the_fill_in_only_when_it_changes(Link):
    """card_fill: no FISU on a clock (the card repeats it), a new one after MSUs (new FSN)."""
    a, b, t = _in_service(Link)
    a.card_fill = True
    first = a.data_to_send(t + 0.02)
    assert [decode(f) for f in first] in ([], [FISU(bsn=a.last_accepted_fsn, bib=a._bib, fsn=a._fsn_last, fib=a._fib)])
    assert a.data_to_send(t + 0.5) == [] and a.data_to_send(t + 5.0) == []
    a.send(3, b"\x01\x02\x03", t + 5.0)
    out = [decode(f) for f in a.data_to_send(t + 5.02)]
    assert isinstance(out[0], MSU) and isinstance(out[-1], FISU) and out[-1].fsn == out[0].fsn
    assert a.data_to_send(t + 5.04) == []


def test_filtered_repeats_count_like_frames_received_one_by_one(Link):
    """n FISUs through the card (one delivered, n - 1 counted) leave the link as n FISUs
    received one by one: rx, SUERM's D-count and Cs alike, the link in service."""
    ref, _b, t = _in_service(Link)
    a, _b2, _t = _in_service(Link)
    fisu = encode(FISU(bsn=ref._fsn_last, bib=ref._fib, fsn=ref.last_accepted_fsn, fib=ref._bib))
    for x in (ref, a):
        x._cs = 5
    n = 1000
    for _ in range(n):
        ref.receive(fisu, t)
    a.card_fill = True
    card = _Card()
    a.fill_repeated(0, t)
    card.frames = [fisu]
    card.fill_repeats = 0
    a.receive_from(card, t)
    card.fill_repeats = n - 1
    a.receive_from(card, t + 0.02)
    assert a.counters["rx"] == ref.counters["rx"]
    assert (a._su_count, a._cs) == (ref._su_count, ref._cs)
    assert a.state is ref.state is LinkState.IN_SERVICE


def test_a_repeated_fisu_with_an_abnormal_bsn_fails_the_link(Link):
    """Q.703 5.3.1: an abnormal BSN received twice fails the link. The second one may be a
    repeat the card filtered: the link sees the last frame again and fails all the same."""
    a, _b, t = _in_service(Link)
    a.card_fill = True
    bad = encode(FISU(bsn=(a._fsn_last + 40) % 128, bib=a._fib, fsn=a.last_accepted_fsn, fib=a._bib))
    card = _Card()
    card.frames = [bad]
    a.receive_from(card, t)
    assert a.state is LinkState.IN_SERVICE
    card.fill_repeats = 7
    a.receive_from(card, t + 0.02)
    assert a.state is LinkState.OUT_OF_SERVICE
    assert "abnormal BSN" in a.events()[-1].reason
