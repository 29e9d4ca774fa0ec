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
    assert bec.IMPLEMENTATION == ("python" if _select.NO_EXTENSIONS or _select.compiled(CORE) is None
                                  else "compiled")


# ---- MTP3 -----------------------------------------------------------------------------------
from cti.signaling.ss7.mtp3 import SI, Variant  # noqa: E402
from cti.signaling.ss7.mtp3.linkset import CORE as MTP3_CORE, linkset_class  # noqa: E402


def _linksets(kind: str, n: int, variant: Variant, opc=(1, 2)):
    Link = link_class(load_impl((kind, CORE)))
    Linkset = linkset_class(load_impl((kind, MTP3_CORE)))
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
