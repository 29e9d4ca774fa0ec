"""MTP3 (Q.704/Q.707): labels for ITU and China, SLTM/SLTA, load sharing, changeover/changeback."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from cti.signaling.errors import ProtocolError
from cti.signaling.ss7.mtp2.link import CORE as MTP2_CORE, link_class
from cti.signaling.ss7.mtp3 import SI, RoutingLabel, Variant, format_pc, parse_pc
from cti.signaling.ss7.mtp3.linkset import CORE, linkset_class
from cti.signaling.ss7.mtp3.messages import decode_slt, decode_snm

from conftest import kernel_impls, load_impl


@pytest.fixture(params=kernel_impls(CORE))
def make_pair(request):
    """Two linksets back to back, on the compiled MTP2/MTP3 cores (id c) or on the twins (id py)."""
    kind = request.param[0]
    Link = link_class(load_impl((kind, MTP2_CORE)))
    Linkset = linkset_class(load_impl(request.param))

    def make(n=2, variant=Variant.ITU, opc=(1, 2)):
        a = Linkset([Link(name=f"a{i}", emergency=True) for i in range(n)], opc[0], opc[1], variant=variant)
        b = Linkset([Link(name=f"b{i}", emergency=True) for i in range(n)], opc[1], opc[0], variant=variant)
        return a, b
    return make


@given(st.integers(0, 2**14 - 1), st.integers(0, 2**14 - 1), st.integers(0, 15))
def test_itu_label_round_trip(dpc, opc, sls):
    lab = RoutingLabel(dpc, opc, sls)
    data = lab.encode(Variant.ITU)
    assert len(data) == 4 and RoutingLabel.decode(data + b"x", Variant.ITU) == (lab, b"x")


@given(st.integers(0, 2**24 - 1), st.integers(0, 2**24 - 1), st.integers(0, 255))
def test_china_label_round_trip(dpc, opc, sls):
    lab = RoutingLabel(dpc, opc, sls)
    data = lab.encode(Variant.CHINA)
    assert len(data) == 7 and RoutingLabel.decode(data, Variant.CHINA) == (lab, b"")


def test_label_known_bytes_and_ranges():
    # ITU: DPC 1, OPC 2, SLS 3 -> 0x3000_8001 little-endian
    assert RoutingLabel(1, 2, 3).encode(Variant.ITU) == bytes.fromhex("01800030")
    assert RoutingLabel(0x010203, 0x040506, 7).encode(Variant.CHINA) == bytes.fromhex("030201060504 07".replace(" ", ""))
    with pytest.raises(ValueError):
        RoutingLabel(2**14, 1, 0).encode(Variant.ITU)
    with pytest.raises(ProtocolError):
        RoutingLabel.decode(b"\x01\x02", Variant.CHINA)
    assert parse_pc("2-100-1", Variant.ITU) == (2 << 11) | (100 << 3) | 1
    assert format_pc(parse_pc("1-2-3", Variant.CHINA), Variant.CHINA) == "1-2-3"
    with pytest.raises(ValueError):
        parse_pc("8-0-0", Variant.ITU)


@given(st.binary(max_size=40))
def test_management_decoders_only_protocol_errors(data):
    for fn in (decode_snm, decode_slt):
        try:
            fn(data)
        except ProtocolError:
            pass


def run(a, b, t, seconds, step=0.01, cut=()):
    evs_a, evs_b = [], []
    end = t + seconds
    while t < end:
        for i, (la, lb) in enumerate(zip(a.links, b.links)):
            fa, fb = la.data_to_send(t), lb.data_to_send(t)
            if i in cut:
                continue
            for f in fa:
                lb.receive(f, t)
            for f in fb:
                la.receive(f, t)
        evs_a += a.service(t)
        evs_b += b.service(t)
        t = round(t + step, 6)
    return t, evs_a, evs_b


@pytest.mark.parametrize("variant", [Variant.ITU, Variant.CHINA])
def test_linkset_comes_up_after_slt_and_carries_isup(make_pair, variant):
    a, b = make_pair(variant=variant, opc=(0x123, 0x456) if variant is Variant.ITU else (0x0A0B0C, 0x0D0E0F))
    a.start(0.0)
    b.start(0.0)
    t, ea, eb = run(a, b, 0.0, 1.5)
    assert a.available == [True, True] and b.available == [True, True]
    assert [e.kind for e in ea].count("resume") == 1
    for sls in range(16):
        a.send(SI.ISUP, bytes([sls, 0xAA]), sls, t)
    t, ea, eb = run(a, b, t, 0.2)
    got = [e for e in eb if e.kind == "transfer"]
    assert sorted(e.payload[0] for e in got) == list(range(16))
    assert {e.link for e in got} == {0, 1}   # load sharing by SLS
    assert all(e.opc == a.opc and e.si == SI.ISUP for e in got)


def test_changeover_and_changeback_lose_nothing(make_pair):
    a, b = make_pair()
    a.start(0.0)
    b.start(0.0)
    t, _, _ = run(a, b, 0.0, 1.5)
    # link 1 goes dead while messages are in flight
    for k in range(20):
        a.send(SI.ISUP, bytes([k, 1]), 1, t)
    t, ea, eb = run(a, b, t, 1.5, cut=(1,))
    t, ea2, eb2 = run(a, b, t, 2.0, cut=(1,))
    assert a.counters["changeovers"] == 1 and not a.available[1]
    got = [e.payload[0] for e in eb + eb2 if e.kind == "transfer"]
    assert got == list(range(20))
    assert any(e.kind == "link_down" for e in ea)
    # the link heals: it realigns (normal proving: the linkset is up), passes the test, changes back
    t, ea, eb = run(a, b, t, 11.0, step=0.02)
    assert a.available == [True, True] and a.counters["changebacks"] == 1
    a.send(SI.ISUP, b"\x63\x01", 1, t)
    t, ea, eb = run(a, b, t, 0.2)
    tr = [e for e in eb if e.kind == "transfer"]
    assert [e.payload for e in tr] == [b"\x63\x01"] and tr[0].link == 1


def test_single_link_failure_pauses_then_resumes_with_held_traffic(make_pair):
    a, b = make_pair(n=1)
    a.start(0.0)
    b.start(0.0)
    t, _, _ = run(a, b, 0.0, 1.5)
    a.send(SI.ISUP, b"\x01\x02", 0, t)     # never acknowledged: T7 fails the link
    t, ea, _ = run(a, b, t, 1.5, cut=(0,))
    assert "pause" in [e.kind for e in ea] and not a.up
    t, ea, eb = run(a, b, t, 3.0)
    assert a.up and "resume" in [e.kind for e in ea]
    assert [e.payload for e in eb if e.kind == "transfer"] == [b"\x01\x02"]
