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
