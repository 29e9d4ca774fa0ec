"""cti.media.bridge on a simulated board: two circuits joined carry each other's audio octet for
octet; supervision mixes by mode (checked by frequency); hold, move, leave; a circuit is never in
two bridges, whatever sequence of operations is thrown at it (hypothesis)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import drivers
from cti.media.bridge import Bridges
from cti.media.taps import SpanTaps
from simulator.phones import Phone, attach_phones, band_levels, dominant_hz

CALLER, AGENT, BOSS = 1000.0, 600.0, 1400.0


def rig(spans: int = 2):
    board = drivers.open("sim", spans=spans)
    taps = SpanTaps({n: board.span(n) for n in range(spans)})
    bridges = Bridges(taps, lambda c, a: board.span(c[0]).write_audio(c[1], a))

    def tick(now: float) -> None:
        taps.drain()
        bridges.tick()
    board.add_ticker(tick)
    phones = {"caller": Phone("caller", CALLER), "agent": Phone("agent", AGENT), "boss": Phone("boss", BOSS)}
    attach_phones(board, 0, {1: phones["caller"]})
    attach_phones(board, 1, {1: phones["agent"], 30: phones["boss"]})
    return board, bridges, phones


def heard(p: Phone) -> set[float]:
    lv = band_levels(p.heard(0.5), (CALLER, AGENT, BOSS))
    return {f for f, v in lv.items() if v > 0.1}


def test_two_circuits_carry_each_other_octet_for_octet():
    board, bridges, ph = rig()
    bridges.join("c1", (0, 1), (1, 1))
    board.advance(1.0)
    assert heard(ph["caller"]) == {AGENT} and heard(ph["agent"]) == {CALLER} and heard(ph["boss"]) == set()
    # transparent: the block the agent's line delivered is the block the caller's line received
    br = bridges.bridges["c1"]
    assert br.to_a == br.b_rx and br.to_b == br.a_rx
    assert bridges.counters["write_errors"] == 0


@pytest.mark.parametrize("mode, caller_hears, agent_hears", [
    ("monitor", {AGENT}, {CALLER}),
    ("whisper", {AGENT}, {CALLER, BOSS}),
    ("barge", {AGENT, BOSS}, {CALLER, BOSS}),
])
def test_supervision_modes(mode, caller_hears, agent_hears):
    board, bridges, ph = rig()
    bridges.join("c1", (0, 1), (1, 1))
    bridges.supervise("c1", (1, 30), mode)
    board.advance(1.0)
    assert heard(ph["caller"]) == caller_hears
    assert heard(ph["agent"]) == agent_hears
    assert heard(ph["boss"]) == {CALLER, AGENT}
    bridges.unsupervise("c1")
    board.advance(1.0)
    assert heard(ph["caller"]) == {AGENT} and heard(ph["agent"]) == {CALLER} and heard(ph["boss"]) == set()


def test_hold_move_leave():
    board, bridges, ph = rig()
    bridges.join("c1", (0, 1), (1, 1))
    bridges.hold("c1")
    board.advance(1.0)
    assert heard(ph["caller"]) == set() and heard(ph["agent"]) == set()
    bridges.hold("c1", False)
    bridges.move("c1", (1, 30))                       # transfer to the other phone
    board.advance(1.0)
    assert heard(ph["caller"]) == {BOSS} and heard(ph["boss"]) == {CALLER} and heard(ph["agent"]) == set()
    assert bridges.leave("c1") is not None and bridges.leave("c1") is None
    board.advance(1.0)
    assert heard(ph["caller"]) == set() and heard(ph["boss"]) == set()
    assert bridges.taps.listening((0, 1)) == 0 and bridges.taps.listening((1, 30)) == 0


def test_injected_audio_is_mixed_into_a_bridged_circuit_only():
    board, bridges, ph = rig()
    bridges.join("c1", (0, 1), (1, 1))
    from _boardcore import g711
    t = np.arange(160) / 8000.0
    block = g711.alaw_encode((6000 * np.sin(2 * np.pi * 2500.0 * t)).astype(np.int16))
    assert bridges.inject((0, 1), block) is True
    assert bridges.inject((0, 2), block) is False      # not bridged: the caller writes it directly
    board.advance(0.02)
    br = bridges.bridges["c1"]
    assert dominant_hz(g711.alaw_decode(br.to_a)) == pytest.approx(2500.0, abs=60.0)


def test_errors_are_clear():
    board, bridges, ph = rig()
    bridges.join("c1", (0, 1), (1, 1))
    with pytest.raises(ValueError, match="already in bridge"):
        bridges.join("c2", (0, 2), (1, 1))
    with pytest.raises(ValueError, match="exists"):
        bridges.join("c1", (0, 3), (1, 3))
    with pytest.raises(ValueError, match="itself"):
        bridges.join("c3", (0, 4), (0, 4))
    with pytest.raises(ValueError, match="not tapped|no tapped"):
        bridges.join("c4", (0, 5), (5, 5))
    with pytest.raises(ValueError, match="already in bridge"):
        bridges.supervise("c1", (0, 1), "monitor")
    with pytest.raises(ValueError):
        bridges.supervise("c1", (1, 30), "shout")
    with pytest.raises(KeyError):
        bridges.hold("nope")
    bridges.supervise("c1", (1, 30), "monitor")
    with pytest.raises(ValueError, match="supervised"):
        bridges.supervise("c1", (1, 31), "monitor")
    assert "c2" not in bridges.bridges and bridges.owner((0, 2)) is None


OPS = st.lists(st.tuples(st.sampled_from(["join", "leave", "move", "sup", "unsup", "hold", "tick"]),
                         st.integers(0, 3), st.integers(1, 4), st.integers(1, 4)), max_size=40)


@pytest.mark.system
@settings(max_examples=60, deadline=None)
@given(OPS)
def test_no_circuit_is_ever_in_two_bridges(ops):
    board = drivers.open("sim", spans=2)
    taps = SpanTaps({0: board.span(0), 1: board.span(1)})
    writes: list[tuple[int, int]] = []
    bridges = Bridges(taps, lambda c, a: writes.append(c))
    for op, key, x, y in ops:
        try:
            if op == "join":
                bridges.join(key, (0, x), (1, y))
            elif op == "leave":
                bridges.leave(key)
            elif op == "move":
                bridges.move(key, (1, y))
            elif op == "sup":
                bridges.supervise(key, (1, x), "barge")
            elif op == "unsup":
                bridges.unsupervise(key)
            elif op == "hold":
                bridges.hold(key, bool(x % 2))
            else:
                writes.clear()
                bridges.tick()
                live = [c for br in bridges.bridges.values() if not br.held
                        for c in (br.a, br.b, br.supervisor) if c is not None]
                assert sorted(writes) == sorted(live)
        except (ValueError, KeyError):
            pass
        seen: dict = {}
        for k, br in bridges.bridges.items():
            for c in (br.a, br.b, br.supervisor):
                if c is None:
                    continue
                assert c not in seen, f"{c} in {seen[c]} and {k}"
                seen[c] = k
                assert bridges.owner(c) == k and taps.listening(c) == 1
        assert set(bridges._owner) == set(seen)
