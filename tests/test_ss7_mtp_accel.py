"""MTP accelerators: the compiled cores and their pure-Python twins give the same results
(same frames out, same events, same errors) on random signal units and random traffic."""
from __future__ import annotations

import random

import pytest
from hypothesis import given, strategies as st

from _boardcore import _select
from cti.signaling.errors import DecodeError
from cti.signaling.ss7.mtp2.link import CORE, link_class

from conftest import load_impl


def _both(prefix: str):
    """(compiled, twin) modules; skips when the compiled one was not built."""
    return load_impl(("c", prefix)), load_impl(("py", prefix))


def _parse(mod, data):
    try:
        return mod.parse(data)
    except DecodeError as e:
        return ("DecodeError", str(e))


_FRAMES = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda h, f, li, rest: bytes((h, f, li)) + rest,
              st.integers(0, 255), st.integers(0, 255), st.integers(0, 63), st.binary(max_size=280)),
)


@given(_FRAMES)
def test_parse_agrees_on_random_signal_units(data):
    c, py = _both(CORE)
    assert _parse(c, data) == _parse(py, data)
    assert _parse(c, bytearray(data)) == _parse(py, memoryview(data))


@given(st.integers(0, 127), st.integers(0, 1), st.integers(0, 127), st.integers(0, 1),
       st.integers(0, 255), st.binary(min_size=2, max_size=272))
def test_msu_octets_agree_and_parse_back(bsn, bib, fsn, fib, sio, sif):
    c, py = _both(CORE)
    f = c.msu_octets(bsn, bib, fsn, fib, sio, sif)
    assert f == py.msu_octets(bsn, bib, fsn, fib, sio, sif)
    assert c.parse(f) == ((bib << 7) | bsn, (fib << 7) | fsn, -2, sio, sif)


def test_parse_rejects_non_bytes():
    c, py = _both(CORE)
    for mod in (c, py):
        with pytest.raises(TypeError):
            mod.parse(12)


def _event_tuple(e):
    return (e.kind, round(e.time, 6), e.sio, bytes(e.sif), e.reason)


def _trace_links(core, seed: int, steps: int, loss: float, errors: float) -> list:
    """Two links of ``core`` back to back with random traffic, loss and errored SUs: every frame
    sent, every event, the final counters and states."""
    Link = link_class(core)
    a, b = Link(name="a", emergency=True), Link(name="b", emergency=True)
    rng = random.Random(seed)
    trace: list = []
    t = 0.0
    a.start(t)
    b.start(t)
    for _ in range(steps):
        for src, dst in ((a, b), (b, a)):
            if src.in_service and rng.random() < 0.5:
                for _ in range(rng.randrange(1, 6)):
                    src.send(rng.choice((0x85, 0x83, 0x80)), rng.randbytes(rng.randrange(2, 40)), t)
            for f in src.data_to_send(t):
                trace.append((src.name, f))
                r = rng.random()
                if r < loss:
                    continue
                if r < loss + errors:
                    dst.su_error(t)
                    continue
                dst.receive(f, t)
        for ln in (a, b):
            trace += [(ln.name, _event_tuple(e)) for e in ln.events()]
        if rng.random() < 0.01:
            rng.choice((a, b)).set_local_processor_outage(rng.random() < 0.5, t)
        t = round(t + rng.choice((0.001, 0.005, 0.02, 0.3)), 6)
    for ln in (a, b):
        trace.append((ln.name, ln.state, ln.iac.state, dict(ln.counters), ln.last_accepted_fsn,
                      ln.unacknowledged, ln.timer_deadline(), ln.retrieve()))
    return trace


@pytest.mark.system
@given(st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.02, 0.1]), st.sampled_from([0.0, 0.01]))
def test_links_agree_on_random_traffic_with_loss(seed, loss, errors):
    c, py = _both(CORE)
    assert _trace_links(c, seed, 150, loss, errors) == _trace_links(py, seed, 150, loss, errors)


def test_links_agree_on_a_long_lossy_run():
    c, py = _both(CORE)
    tc = _trace_links(c, 1234, 3000, 0.05, 0.01)
    assert tc == _trace_links(py, 1234, 3000, 0.05, 0.01)
    assert any(isinstance(x[1], tuple) and x[1][0] == "msu" for x in tc)


def test_live_selection_follows_select():
    from cti.signaling.ss7.mtp2 import Mtp2Link, bec
    assert Mtp2Link is link_class(_select.load(CORE))
    assert ("python" if _select.NO_EXTENSIONS or _select.compiled(CORE) is None
                                  else "compiled") == bec.IMPLEMENTATION


# ---- MTP3 -----------------------------------------------------------------------------------
from cti.signaling.ss7.mtp3 import SI, Variant
from cti.signaling.ss7.mtp3.linkset import CORE as MTP3_CORE, linkset_class


def _linksets(kind: str, n: int, variant: Variant, opc=(1, 2)):
    """``kind``: "c" or "py" for both cores, or "c/py" (compiled MTP2, twin MTP3) and so on."""
    k2, _, k3 = kind.partition("/")
    Link = link_class(load_impl((k2, CORE)))
    Linkset = linkset_class(load_impl((k3 or k2, MTP3_CORE)))
    a = Linkset([Link(name=f"a{i}", emergency=True) for i in range(n)], opc[0], opc[1], variant=variant)
    b = Linkset([Link(name=f"b{i}", emergency=True) for i in range(n)], opc[1], opc[0], variant=variant)
    return a, b


def _m3(e):
    return (e.kind, round(e.time, 6), e.si, e.opc, e.dpc, e.sls, bytes(e.payload), e.link, e.reason)


def _trace_linksets(kind: str, seed: int, steps: int, variant: Variant, bind: bool) -> list:
    """Two linksets of 3 links with random traffic, random SLS, links cut and healed, and random
    (often malformed) MSUs injected into the far end's links."""
    opc = (0x123, 0x456) if variant is Variant.ITU else (0x0A0B0C, 0x0D0E0F)
    a, b = _linksets(kind, 3, variant, opc)
    rng = random.Random(seed)
    trace: list = []
    if bind:
        b.bind_user_part(SI.ISUP, lambda payload, now: trace.append(("bound", bytes(payload), now)))
    cut: set[int] = set()
    t = 0.0
    a.start(t)
    b.start(t)
    for _ in range(steps):
        if a.up and rng.random() < 0.6:
            for _ in range(rng.randrange(1, 5)):
                a.send(rng.choice((SI.ISUP, SI.TUP, 9)), rng.randbytes(rng.randrange(1, 30)), rng.randrange(-3, 300), t)
            a.send_each(SI.ISUP, [(rng.randrange(1, 4096), rng.randbytes(4)) for _ in range(rng.randrange(3))], t)
        if rng.random() < 0.02:
            cut ^= {rng.randrange(3)}
        if rng.random() < 0.05:   # a stray MSU: bad label, other NI, other DPC, management garbage
            ln = b.links[rng.randrange(3)]
            ln._events.append(ln.Event("msu", t, rng.randrange(256), rng.randbytes(rng.randrange(0, 12))))
        for i, (la, lb) in enumerate(zip(a.links, b.links)):
            fa, fb = la.data_to_send(t), lb.data_to_send(t)
            if i in cut:
                continue
            for f in fa:
                lb.receive(f, t)
            for f in fb:
                la.receive(f, t)
        trace += [("a",) + _m3(e) for e in a.service(t)]
        trace += [("b",) + _m3(e) for e in b.service(t)]
        trace.append((a.link_for(rng.randrange(-5, 40)), tuple(a.available), tuple(b.available)))
        t = round(t + rng.choice((0.005, 0.02, 0.1, 0.5)), 6)
    trace.append((dict(a.counters), dict(b.counters), a.timer_deadline(), b.timer_deadline()))
    return trace


@pytest.mark.system
@given(st.integers(0, 2**32 - 1), st.sampled_from([Variant.ITU, Variant.CHINA]), st.booleans())
def test_linksets_agree_on_random_traffic_and_failures(seed, variant, bind):
    load_impl(("c", CORE))
    load_impl(("c", MTP3_CORE))
    assert _trace_linksets("c", seed, 120, variant, bind) == _trace_linksets("py", seed, 120, variant, bind)


def test_linksets_agree_on_a_long_run_with_changeovers():
    load_impl(("c", CORE))
    load_impl(("c", MTP3_CORE))
    for variant in (Variant.ITU, Variant.CHINA):
        tc = _trace_linksets("c", 99, 1500, variant, True)
        assert tc == _trace_linksets("py", 99, 1500, variant, True)
        kinds = {x[1] for x in tc if x and x[0] == "a"}
        assert {"link_down", "link_up", "resume"} <= kinds
        assert any(x[0] == "bound" for x in tc)
        assert tc[-1][0]["changeovers"] > 0


@pytest.mark.parametrize("mixed", ["c/py", "py/c"])
def test_mixed_cores_agree(mixed):
    """A compiled MTP3 core over twin links and the reverse behave as the pure ones."""
    load_impl(("c", CORE))
    load_impl(("c", MTP3_CORE))
    for variant in (Variant.ITU, Variant.CHINA):
        assert _trace_linksets(mixed, 7, 400, variant, True) == _trace_linksets("py", 7, 400, variant, True)


@pytest.mark.parametrize("kind", ["c", "py"])
def test_misuse_gives_the_same_errors(kind):
    Link = link_class(load_impl((kind, CORE)))
    ln = Link(name="x")
    for frame in ("abc", None, 12):
        with pytest.raises(TypeError):
            ln.receive(frame, 0.0)
    for sio, sif in ((0x85, b"x"), (0x85, bytes(273)), (256, b"ab"), (-1, b"ab")):
        with pytest.raises(ValueError):
            ln.send(sio, sif, 0.0)
    with pytest.raises(TypeError):
        ln.send(0x85, "text", 0.0)
    a, _ = _linksets(kind, 1, Variant.ITU)
    for si, payload in ((16, b"ab"), (-1, b"ab")):
        with pytest.raises(ValueError):
            a.send(si, payload, 0, 0.0)
    with pytest.raises(TypeError):
        a.send(5, "text", 0, 0.0)
    with pytest.raises(ValueError):
        a.bind_user_part(0, print)


@pytest.mark.parametrize("kind", ["c", "py"])
def test_bound_user_part_keeps_order_behind_pending_events(kind):
    load_impl((kind, MTP3_CORE))
    a, b = _linksets(kind, 1, Variant.ITU)
    got: list = []
    b.bind_user_part(SI.ISUP, lambda payload, now: got.append(payload))
    with pytest.raises(ValueError):
        b.bind_user_part(SI.SNM, got.append)
    t = 0.0
    a.start(t)
    b.start(t)
    seen: list = []
    while not (a.up and b.up):
        for la, lb in zip(a.links, b.links):
            for f in la.data_to_send(t):
                lb.receive(f, t)
            for f in lb.data_to_send(t):
                la.receive(f, t)
        a.service(t)
        seen += b.service(t)
        t = round(t + 0.01, 6)
    a.send(SI.ISUP, b"\x01\x00", 1, t)
    for f in a.links[0].data_to_send(t):
        b.links[0].receive(f, t)
    assert b.service(t) == [] and got == [b"\x01\x00"]
    # a pending link event first: the transfer queues behind it as an event
    b._events.append(b.Event("link_up", t, link=0))
    a.send(SI.ISUP, b"\x02\x00", 1, t)
    for f in a.links[0].data_to_send(t):
        b.links[0].receive(f, t)
    ev = b.service(t)
    assert [e.kind for e in ev] == ["link_up", "transfer"] and ev[1].payload == b"\x02\x00"
    b.bind_user_part(SI.ISUP, None)
    a.send(SI.ISUP, b"\x03\x00", 1, t)
    for f in a.links[0].data_to_send(t):
        b.links[0].receive(f, t)
    assert [e.payload for e in b.service(t)] == [b"\x03\x00"] and len(got) == 1


# ---- SOCK_SEQPACKET transport ---------------------------------------------------------------
import socket

from cti.signaling.ss7.transport import SEQPACKET
from cti.signaling.ss7.mtp2.codec import add_fcs
from conftest import kernel_impls


class _Recorder:
    """A stand-in link: records what the transport hands it, sends what it is given."""

    def __init__(self, out=()):
        self.out, self.got, self.errors = list(out), [], 0

    def data_to_send(self, now):
        out, self.out = self.out, []
        return out

    def receive(self, frame, now):
        self.got.append(bytes(frame))

    def su_error(self, now):
        self.errors += 1
        self.got.append("error")


@pytest.fixture(params=kernel_impls(SEQPACKET))
def Seqpacket(request):
    return load_impl(request.param).SeqpacketTransport


def test_transport_fcs_both_ways_and_bad_datagrams(Seqpacket):
    sa, sb = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    frames = [b"\x80\x80\x00", b"\x81\x82\x01\x03", bytes([1, 2, 63, 0x85]) + bytes(range(200))]
    ta = Seqpacket(sa, _Recorder(frames))
    rb = _Recorder()
    tb = Seqpacket(sb, rb)
    ta.transmit(0.0)
    sa.send(add_fcs(b"\x80\x80\x00")[:-1] + b"\x00")   # FCS error
    sa.send(b"\x80\x80")                               # shorter than SU + FCS
    sa.send(add_fcs(b"\x7f\xff\x00"))
    tb.receive(0.0)
    assert rb.got == frames + ["error", "error", b"\x7f\xff\x00"] and tb.fcs_errors == 2
    # verify_fcs=False (libss7 leaves the FCS octets to hardware): anything of 5+ octets passes
    rc = _Recorder()
    tc = Seqpacket(sb, rc, verify_fcs=False)
    sa.send(b"\x80\x80\x00\xde\xad")
    sa.send(b"\x80\x80")
    tc.receive(0.0)
    assert rc.got == [b"\x80\x80\x00", "error"]
    sa.close()
    tb.receive(0.0)
    assert tb.closed
    sb.close()


def test_transport_many_frames_in_one_round_and_drop_hook(Seqpacket):
    sa, sb = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    frames = [bytes([k & 0x7F, 0x80, 3, 0x85, k & 0xFF, 0]) for k in range(150)]   # > one batch
    ta = Seqpacket(sa, _Recorder(frames), drop=lambda f: f[4] % 7 == 0)
    rb = _Recorder()
    tb = Seqpacket(sb, rb)
    ta.transmit(1.0)
    tb.receive(1.0)
    assert rb.got == [f for f in frames if f[4] % 7]
    assert not ta.closed and not tb.closed and ta.fileno() == sa.fileno()
    sa.close()
    sb.close()


def test_transport_peer_not_reading_loses_frames_then_recovers(Seqpacket):
    sa, sb = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sa.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    ra = _Recorder()
    ta = Seqpacket(sa, ra)
    for _ in range(200):                      # until the socket buffer is full: no error, no hang
        ra.out = [bytes([1, 2, 63, 0x85]) + bytes(270)] * 8
        ta.transmit(0.0)
    assert not ta.closed
    rb = _Recorder()
    Seqpacket(sb, rb).receive(0.0)
    assert 0 < len(rb.got) < 1600
    ra.out = [b"\x80\x80\x00"]
    ta.transmit(0.0)
    rb.got.clear()
    Seqpacket(sb, rb).receive(0.0)
    assert rb.got == [b"\x80\x80\x00"]
    sb.close()
    ra.out = [b"\x80\x80\x00"]
    ta.transmit(0.0)                          # the peer is gone: EPIPE/ECONNRESET closes us
    assert ta.closed
    sa.close()


def test_transport_with_pcap_writes_each_frame(Seqpacket, tmp_path):
    from cti.signaling.ss7.pcap import PcapWriter
    w = PcapWriter(str(tmp_path / "t.pcap"))
    sa, sb = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    frames = [b"\x80\x80\x00", b"\x81\x82\x01\x03"]
    ta = Seqpacket(sa, _Recorder(frames), w)
    rb = _Recorder()
    tb = Seqpacket(sb, rb, w, link_number=1)
    ta.transmit(0.5)
    tb.receive(0.5)
    w.close()
    assert rb.got == frames
    data = (tmp_path / "t.pcap").read_bytes()
    assert all(f in data for f in frames) and len(data) > 24 + 4 * 16
    sa.close()
    sb.close()


@pytest.mark.parametrize("kind", ["c", "py"])
def test_two_stacks_over_a_socketpair_agree_with_memory(kind):
    """Two full links over the transport carry MSUs both ways in order (compiled and twin)."""
    Seq = load_impl((kind, SEQPACKET)).SeqpacketTransport
    Link = link_class(load_impl((kind, CORE)))
    a, b = Link(name="a", emergency=True), Link(name="b", emergency=True)
    sa, sb = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ta, tb = Seq(sa, a), Seq(sb, b)
    a.start(0.0)
    b.start(0.0)
    t = 0.0
    sent = [bytes([k & 0xFF, k >> 8]) + bytes(k % 30) for k in range(400)]
    for step in range(300):
        if a.in_service and sent and step % 3 == 0:
            for m in sent[:7]:
                a.send(0x85, m, t)
            del sent[:7]
        for tr in (ta, tb, ta, tb):
            tr.service(t)
        t = round(t + 0.01, 6)
    got = [e.sif for e in b.events() if e.kind == "msu"]
    assert not sent and len(got) == 400 and got[0] == b"\x00\x00" and got[-1][:2] == bytes([399 & 0xFF, 1])
    sa.close()
    sb.close()
