"""The capacity bench runs end to end, tiny (no timing is asserted: benchmarks measure, tests
check that what they measure is there and adds up)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import bench_capacity as cap

ROOT = Path(__file__).resolve().parents[1]


def test_lateness_is_lindleys_recursion_over_block_costs():
    # 30 ms blocks on a 20 ms clock fall behind by 10 ms a block; a 10 ms block catches up
    late = cap._lateness([0.03, 0.03, 0.01, 0.005, 0.005])
    assert late == pytest.approx([0.0, 0.01, 0.02, 0.01, 0.0])
    assert cap._lateness([0.019] * 50) == [0.0] * 50


class _Poller:
    def __init__(self) -> None:
        self.waits: list[int] = []

    def poll(self, ms: int) -> list[object]:
        import time
        self.waits.append(ms)
        time.sleep(ms / 1000)
        return []


class _Srv:
    """Blocks of 1 ms of our work each, a far end of 100 ms (cut out of the clock)."""

    def __init__(self, meter: cap.Meter) -> None:
        import time
        self._poller = _Poller()
        self.steps = 0

        def far() -> None:
            time.sleep(0.1)
        self._far = meter.wrap("far", far)

    def step(self, timeout: int) -> None:
        import time
        self.steps += 1
        t = time.perf_counter()
        while time.perf_counter() - t < 0.001:
            pass
        self._far()


def test_the_real_clock_run_paces_blocks_and_cuts_the_far_end_out():
    m = cap.Meter()
    srv = _Srv(m)
    late, turns, stalls = cap.run_real(srv, m, 0.2)
    assert srv.steps == len(late) == len(turns) == len(stalls) == 10
    assert all(0.0 <= s <= t for s, t in zip(stalls, turns))
    assert sorted(turns)[5] < 0.06                 # our 1 ms, not the far end's 100
    # 101 ms a turn on a 20 ms clock would fall 81 ms behind a block (the median block 400 ms
    # late); with the far end's 100 ms cut out each is on time, give or take the host's scheduling
    assert sorted(late)[5] < 0.06
    assert srv._poller.waits and all(w >= 1 for w in srv._poller.waits)


def test_meter_counts_nested_far_end_parts_once():
    import time
    m = cap.Meter()

    def inner() -> None:
        t = time.thread_time()
        while time.thread_time() - t < 0.002:
            pass

    wrapped_inner = m.wrap("inner", inner)
    outer = m.wrap("outer", lambda: wrapped_inner())
    outer()
    assert m.seconds["inner"] == 0.0 and m.seconds["outer"] >= 0.002
    assert m.total == pytest.approx(m.seconds["outer"])


def test_one_tiny_point_runs_the_whole_server_and_reports_every_figure(tmp_path):
    """Three spans (one of each trunk type) filled to the target, half a second measured, in a
    process of its own, with a profile of the window."""
    prof = tmp_path / "p.prof"
    load = cap.Load(spans=3, seconds=0.5, fill=0.5, real=0.5)
    p = cap._point(load, profile=str(prof), timeout=300)
    assert p["types"] == {"no1": 1, "ss7": 1, "pri": 1}
    assert p["circuits"] == 30 + 30 + 30            # No.1 30, SS7 31 less the signalling link, PRI 30
    assert p["stations"] >= 1                        # the contact centre's agents on station timeslots
    assert 0.5 < p["occupancy"] <= 1.0               # the fill reached the spans
    assert p["ours_cpu"] > 0 and p["far_cpu"] > 0
    assert set(p["far_by"]) == {"line (card)", "exchanges", "callers", "phones", "agents"}
    assert p["far_cpu"] == pytest.approx(sum(p["far_by"].values()), rel=1e-6)
    assert p["block_ms"]["p50"] <= p["block_ms"]["p999"] <= p["block_ms"]["max"]
    assert p["events"] > 0 and p["received"] >= p["events"]   # the subscriber got the window's events (and more)
    assert p["rss"] > p["rss0"]
    assert p["progress_blocks"] > 0                  # call-progress heard the busy spans' blocks
    assert p["real_seconds"] == 0.5
    real = p["real_late_ms"]                         # measured on the real clock, beside the derived one
    assert 0.0 <= real["p50"] <= real["p99"] <= real["p999"] <= real["max"]
    assert 0.0 <= p["real_stall_ms"]["p999"] <= p["real_stall_ms"]["max"]
    areas, funcs = cap.where_time_goes(str(prof))
    assert sum(s for _, s in areas) == pytest.approx(1.0)
    assert any(a.startswith("ours:") for a, _ in areas) and funcs


def test_the_point_runner_refuses_a_bad_load():
    bad = json.dumps({"spans": 0})
    out = subprocess.run([sys.executable, "-m", "bench.bench_capacity", "--json", bad], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0


def test_far_end_tickers_run_in_order_timed_once_per_run():
    meter = cap.Meter()
    calls: list[str] = []

    def t(name: str):
        return lambda now: calls.append(name)

    ours, p1, p2, a1, a2, late = t("ours"), t("p1"), t("p2"), t("a1"), t("a2"), t("late")
    labels = {id(p1): "phones", id(p2): "phones", id(a1): "agents", id(a2): "agents"}
    out = cap._far_tickers(meter, [ours, p1, p2, a1, a2, late], labels)
    assert len(out) == 4 and out[0] is ours and out[-1] is late   # ours untouched, one call per run
    for fn in out:
        fn(0.02)
    assert calls == ["ours", "p1", "p2", "a1", "a2", "late"]      # the clock's order kept
    assert set(meter.seconds) == {"phones", "agents"} and meter.total >= 0.0


def test_the_profile_pauses_while_the_far_end_runs():
    import cProfile
    import pstats
    import time

    meter = cap.Meter()

    def far_work() -> int:
        return sum(range(20000))

    def our_work() -> int:
        return sum(range(20000))

    far = meter.wrap("exchanges", far_work)
    prof = cProfile.Profile(time.thread_time)
    meter.profiler = prof
    prof.enable()
    for _ in range(20):
        our_work()
        far()
    prof.disable()
    names = {fn for (_file, _line, fn) in pstats.Stats(prof).stats}   # type: ignore[attr-defined]
    assert "our_work" in names and "far_work" not in names
    assert meter.seconds["exchanges"] > 0.0


def test_block_parts_charge_parts_and_collections_to_their_block():
    import gc
    import time

    from bench.capacity_spikes import BlockParts

    m = cap.Meter()

    def work() -> None:
        t = time.thread_time()
        while time.thread_time() - t < 0.002:
            pass
    far = m.wrap("far", work)

    def ours() -> None:
        work()
        far()                     # far-end time inside one of our parts is not ours
    bp = BlockParts(m)
    part = bp.wrap("trunk x", ours)
    part()                        # before start(): not charged
    bp.start()
    part()
    gc.collect(0)
    bp.end_block(0.004)
    bp.end_block(0.001)
    bp.stop()
    assert bp._gc not in gc.callbacks
    first, second = bp.blocks
    assert 0.0015 < first[1]["trunk x"] < 0.004
    assert "gc gen 0" in first[1] and "gc gen 0" not in second[1]
    assert first[1]["other: the loop, the driver's block"] == pytest.approx(0.004 - first[1]["trunk x"])
    rep = bp.report()
    assert rep["blocks"] == 2 and sum(rep["hist"].values()) == 2
    assert rep["longest"][0]["block"] == 0 and rep["parts"]["trunk x"]["blocks"] == 1


def test_a_tiny_point_with_spikes_charges_each_block_to_its_parts():
    load = cap.Load(spans=3, seconds=0.5, fill=0.5, settle=1.0, real=0.0, subscriber=False, spikes=True)
    p = cap._point(load, timeout=300)
    rep = p["spikes"]
    assert rep["blocks"] == 25 and sum(rep["hist"].values()) == 25
    parts = rep["parts"]
    for name in ("trunk no1", "trunk ss7", "trunk pri", "component contact", "contact: bridges",
                 "contact: recordings", "component call-progress", "bus poll",
                 "other: the loop, the driver's block"):
        assert parts[name]["blocks"] == 25, name
    assert parts["component contact"]["mean_ms"] >= parts["contact: bridges"]["mean_ms"]   # inclusive
    longest = rep["longest"][0]
    assert longest["ms"] == pytest.approx(p["block_ms"]["max"], rel=1e-6)
    assert rep["heap"]["objects"] > 0 and rep["heap"]["full_collection_ms"] > 0
    assert len(rep["per_second_ms"]) == 1
